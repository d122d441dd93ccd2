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

struct gm_page_slot {
	uint64_t index;
	struct gm_page_data *pd;	/* NULL: empty slot */
};

/*
 * The pages with data form an open-addressing hash table (linear probing,
 * backward-shift deletion, load factor at most 1/2): a host or guest access
 * finds its page in O(1) whatever the size of the file.
 */
static uint32_t gm_page_hash(const struct gm_page_table *t, uint64_t index)
{
	return (uint32_t)((index * 0x9e3779b97f4a7c15ULL) >> 32) &
	       (t->cap - 1);
}

static struct gm_page_slot *gm_page_slot(const struct gm_page_table *t,
					 uint64_t index)
{
	uint32_t i;

	if (!t->nr)
		return NULL;
	for (i = gm_page_hash(t, index);; i = (i + 1) & (t->cap - 1)) {
		if (!t->slots[i].pd)
			return NULL;
		if (t->slots[i].index == index)
			return &t->slots[i];
	}
}

static struct gm_page_data *gm_page_lookup(struct gmem_inode *inode,
					   uint64_t index)
{
	struct gm_page_slot *slot = gm_page_slot(&inode->pages, index);

	return slot ? slot->pd : NULL;
}

static void gm_page_table_put(struct gm_page_table *t, uint64_t index,
			      struct gm_page_data *pd)
{
	uint32_t i;

	for (i = gm_page_hash(t, index); t->slots[i].pd;
	     i = (i + 1) & (t->cap - 1))
		;
	t->slots[i].index = index;
	t->slots[i].pd = pd;
	t->nr++;
}

static int gm_page_table_insert(struct gm_host *h, struct gm_page_table *t,
				uint64_t index, struct gm_page_data *pd)
{
	if ((t->nr + 1) * 2 > t->cap) {
		struct gm_page_table nt = { .cap = t->cap ? t->cap * 2 : 64 };
		uint32_t i;

		if (nt.cap > (1U << 31))
			return -ENOMEM;
		nt.slots = gm_zalloc(host_alloc(h), nt.cap * sizeof(*nt.slots));
		if (!nt.slots)
			return -ENOMEM;
		for (i = 0; i < t->cap; i++)
			if (t->slots[i].pd)
				gm_page_table_put(&nt, t->slots[i].index,
						  t->slots[i].pd);
		gm_free(host_alloc(h), t->slots);
		*t = nt;
	}
	gm_page_table_put(t, index, pd);
	return 0;
}

/* Empty slot @i, shifting later entries of its probe run back. */
static void gm_page_table_delete(struct gm_page_table *t, uint32_t i)
{
	uint32_t mask = t->cap - 1, j = i, k;

	for (;;) {
		j = (j + 1) & mask;
		if (!t->slots[j].pd)
			break;
		k = gm_page_hash(t, t->slots[j].index);
		/* move j back to i unless its home lies in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t->slots[i] = t->slots[j];
		i = j;
	}
	t->slots[i].pd = NULL;
	t->nr--;
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

/* Bytes [off, off + len) of page @index (all inside the page). */
void gm_page_read_range(struct gmem_inode *inode, uint64_t index,
			unsigned int off, uint8_t *out, unsigned int len)
{
	struct gm_page_data *pd = gm_page_lookup(inode, index);
	unsigned int i;

	memset(out, 0, len);
	if (!pd)
		return;
	if (pd->full) {
		memcpy(out, pd->full + off, len);
		return;
	}
	for (i = 0; i < pd->nr; i++)
		if (pd->bytes[i].off >= off && pd->bytes[i].off - off < len)
			out[pd->bytes[i].off - off] = pd->bytes[i].val;
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
		ret = gm_page_table_insert(h, &inode->pages, index, pd);
		if (ret) {
			gm_free(host_alloc(h), pd);
			return ret;
		}
	}
	return gm_page_set(h, pd, off, val);
}

/*
 * SNP-style ciphertext: each byte becomes a pseudo-random function of
 * (index, offset, epoch), flipped in its top bit where it would equal the
 * old value, so no byte keeps its value across a conversion and a page
 * converted twice does not come back.
 */
static uint8_t gm_scramble_byte(uint64_t index, unsigned int off,
				uint64_t epoch, uint8_t old)
{
	uint64_t z = (index << 12 | off) ^ (epoch * 0x9e3779b97f4a7c15ULL);
	uint8_t b;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	b = (uint8_t)(z ^ (z >> 31));
	return b == old ? b ^ 0x80 : b;
}

/* Give @index a full 4 KiB buffer (contents unchanged); 0 or -ENOMEM. */
int gm_page_prepare_dense(struct gm_host *h, struct gmem_inode *inode,
			  uint64_t index)
{
	struct gm_page_data *pd = gm_page_lookup(inode, index);
	int ret;

	if (!pd) {
		pd = gm_zalloc(host_alloc(h), sizeof(*pd));
		if (!pd)
			return -ENOMEM;
		ret = gm_page_table_insert(h, &inode->pages, index, pd);
		if (ret) {
			gm_free(host_alloc(h), pd);
			return ret;
		}
	}
	if (!pd->full)
		return gm_page_densify(h, pd);
	return 0;
}

int gm_page_scramble(struct gm_host *h, struct gmem_inode *inode,
		     uint64_t index, uint64_t epoch)
{
	struct gm_page_data *pd;
	unsigned int off;
	int ret;

	ret = gm_page_prepare_dense(h, inode, index);
	if (ret)
		return ret;
	pd = gm_page_lookup(inode, index);
	for (off = 0; off < PAGE_SIZE; off++)
		pd->full[off] = gm_scramble_byte(index, off, epoch,
						 pd->full[off]);
	return 0;
}

/* The pages of [start, end) read as zero again (their folios are gone). */
int gm_pages_drop(struct gm_host *h, struct gmem_inode *inode,
		  uint64_t start, uint64_t end)
{
	struct gm_page_table *t = &inode->pages;
	uint64_t idx;
	uint32_t i;

	if (!t->nr || start >= end)
		return 0;
	if (end - start <= t->nr) {
		for (idx = start; idx < end; idx++) {
			struct gm_page_slot *slot = gm_page_slot(t, idx);

			if (!slot)
				continue;
			gm_page_free(h, slot->pd);
			gm_page_table_delete(t, (uint32_t)(slot - t->slots));
		}
		return 0;
	}
	/* a deletion may shift another entry into slot i: look again */
	for (i = 0; i < t->cap;) {
		struct gm_page_slot *slot = &t->slots[i];

		if (slot->pd && slot->index >= start && slot->index < end) {
			gm_page_free(h, slot->pd);
			gm_page_table_delete(t, i);
			continue;
		}
		i++;
	}
	return 0;
}

void gm_pages_destroy(struct gm_host *h, struct gmem_inode *inode)
{
	gm_pages_drop(h, inode, 0, UINT64_MAX);
	gm_free(host_alloc(h), inode->pages.slots);
	inode->pages.slots = NULL;
	inode->pages.cap = 0;
}

uint32_t gm_pages_nr(const struct gmem_inode *inode)
{
	return inode->pages.nr;
}

/* Find a page with data whose folio is not uptodate; false if none. */
bool gm_pages_find_stale(const struct gmem_inode *inode, uint64_t *bad)
{
	const struct gm_page_table *t = &inode->pages;
	uint32_t i;

	for (i = 0; i < t->cap; i++) {
		uint64_t val = 0;

		if (!t->slots[i].pd)
			continue;
		rmap_lookup(&inode->folios, t->slots[i].index, &val);
		if (!(val & GM_FOLIO_UPTODATE)) {
			*bad = t->slots[i].index;
			return true;
		}
	}
	return false;
}
