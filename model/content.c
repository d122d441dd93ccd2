// SPDX-License-Identifier: GPL-2.0
/*
 * Page contents, kept sparsely.
 *
 * An uptodate page without an entry here reads as zeroes, which is what the
 * kernel's clear_highpage() on first use leaves.  A written page records its
 * non-zero bytes as (offset, value) pairs until it holds GM_PAGE_SPARSE_MAX
 * of them; only then does it get a full 4 KiB buffer.  So a 1 TiB file with
 * a few bytes written per touched page costs bytes per page, not pages.
 */
#include <string.h>

#include "internal.h"

#define GM_PAGE_SPARSE_MAX 64U

struct gm_page_byte {
	uint16_t off;
	uint8_t val;
};

struct gm_page_data {
	uint16_t nr;		/* entries in bytes[] (sparse form) */
	uint16_t cap;
	struct gm_page_byte *bytes;	/* sorted by off */
	uint8_t *full;		/* PAGE_SIZE bytes once dense */
};

static struct gm_page_data *gm_page_lookup(struct gmem_inode *inode,
					   uint64_t index)
{
	uint64_t val;

	if (!rmap_lookup(&inode->pages, index, &val))
		return NULL;
	return (struct gm_page_data *)(uintptr_t)val;
}

static void gm_page_free(struct gm_host *h, struct gm_page_data *pd)
{
	gm_free(host_alloc(h), pd->bytes);
	gm_free(host_alloc(h), pd->full);
	gm_free(host_alloc(h), pd);
}

uint8_t gm_page_read(struct gmem_inode *inode, uint64_t index,
		     unsigned int off)
{
	struct gm_page_data *pd = gm_page_lookup(inode, index);
	unsigned int lo, hi;

	if (!pd)
		return 0;
	if (pd->full)
		return pd->full[off];
	lo = 0;
	hi = pd->nr;
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (pd->bytes[mid].off == off)
			return pd->bytes[mid].val;
		if (pd->bytes[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int gm_page_densify(struct gm_host *h, struct gm_page_data *pd)
{
	unsigned int i;

	pd->full = gm_zalloc(host_alloc(h), PAGE_SIZE);
	if (!pd->full)
		return -ENOMEM;
	for (i = 0; i < pd->nr; i++)
		pd->full[pd->bytes[i].off] = pd->bytes[i].val;
	gm_free(host_alloc(h), pd->bytes);
	pd->bytes = NULL;
	pd->nr = 0;
	pd->cap = 0;
	return 0;
}

static int gm_page_set(struct gm_host *h, struct gm_page_data *pd,
		       unsigned int off, uint8_t val)
{
	struct gm_page_byte *bytes;
	unsigned int i;

	if (pd->full) {
		pd->full[off] = val;
		return 0;
	}
	for (i = 0; i < pd->nr && pd->bytes[i].off < off; i++)
		;
	if (i < pd->nr && pd->bytes[i].off == off) {
		if (val) {
			pd->bytes[i].val = val;
			return 0;
		}
		memmove(&pd->bytes[i], &pd->bytes[i + 1],
			(pd->nr - i - 1) * sizeof(*pd->bytes));
		pd->nr--;
		return 0;
	}
	if (!val)
		return 0;
	if (pd->nr == GM_PAGE_SPARSE_MAX) {
		int ret = gm_page_densify(h, pd);

		if (ret)
			return ret;
		pd->full[off] = val;
		return 0;
	}
	if (pd->nr == pd->cap) {
		unsigned int cap = pd->cap ? pd->cap * 2 : 4;

		bytes = gm_realloc(host_alloc(h), pd->bytes,
				   cap * sizeof(*bytes));
		if (!bytes)
			return -ENOMEM;
		pd->bytes = bytes;
		pd->cap = cap;
	}
	memmove(&pd->bytes[i + 1], &pd->bytes[i],
		(pd->nr - i) * sizeof(*pd->bytes));
	pd->bytes[i].off = off;
	pd->bytes[i].val = val;
	pd->nr++;
	return 0;
}

int gm_page_write(struct gm_host *h, struct gmem_inode *inode,
		  uint64_t index, unsigned int off, uint8_t val)
{
	struct gm_page_data *pd = gm_page_lookup(inode, index);
	int ret;

	if (!pd) {
		if (!val)
			return 0;
		pd = gm_zalloc(host_alloc(h), sizeof(*pd));
		if (!pd)
			return -ENOMEM;
		ret = rmap_store(&inode->pages, index, index + 1,
				 (uintptr_t)pd);
		if (ret) {
			gm_free(host_alloc(h), pd);
			return ret;
		}
	}
	return gm_page_set(h, pd, off, val);
}

/* The pages of [start, end) read as zero again (their folios are gone). */
int gm_pages_drop(struct gm_host *h, struct gmem_inode *inode,
		  uint64_t start, uint64_t end)
{
	uint32_t i;

	for (i = rmap_first_after(&inode->pages, start);
	     i < inode->pages.r_nr && inode->pages.r_runs[i].start < end;
	     i++)
		gm_page_free(h, (struct gm_page_data *)(uintptr_t)
					inode->pages.r_runs[i].val);
	/* every run is one page, so this never splits a run */
	return rmap_erase(&inode->pages, start, end);
}

void gm_pages_destroy(struct gm_host *h, struct gmem_inode *inode)
{
	gm_pages_drop(h, inode, 0, UINT64_MAX);
	rmap_destroy(&inode->pages);
}
