// SPDX-License-Identifier: GPL-2.0
/*
 * Counted allocator: every byte the model holds goes through here, so a test
 * can assert what a workload costs, and a test can make the nth allocation
 * fail to reach the -ENOMEM paths deterministically (like the kmem_cache
 * shim of tools/testing/shared).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Keeps the payload 16-byte aligned. */
struct gm_alloc_hdr {
	size_t size;
	size_t pad;
};

static bool gm_alloc_should_fail(struct gm_alloc *a)
{
	if (!a->fail_nth)
		return false;
	if (--a->fail_nth)
		return false;
	return true;
}

static void gm_alloc_account(struct gm_alloc *a, size_t old, size_t size)
{
	a->cur = a->cur - old + size;
	if (a->cur > a->peak)
		a->peak = a->cur;
}

int gm_alloc_may_fail(struct gm_alloc *a)
{
	return gm_alloc_should_fail(a) ? -ENOMEM : 0;
}

void *gm_zalloc(struct gm_alloc *a, size_t size)
{
	struct gm_alloc_hdr *hdr;

	if (size > SIZE_MAX / 2 || gm_alloc_should_fail(a))
		return NULL;
	hdr = calloc(1, sizeof(*hdr) + size);
	if (!hdr)
		return NULL;
	hdr->size = size;
	gm_alloc_account(a, 0, size);
	a->nr_live++;
	a->nr_allocs++;
	return hdr + 1;
}

void *gm_realloc(struct gm_alloc *a, void *p, size_t size)
{
	struct gm_alloc_hdr *hdr, *nhdr;
	size_t old;

	if (!p)
		return gm_zalloc(a, size);
	if (size > SIZE_MAX / 2 || gm_alloc_should_fail(a))
		return NULL;
	hdr = (struct gm_alloc_hdr *)p - 1;
	old = hdr->size;
	nhdr = realloc(hdr, sizeof(*nhdr) + size);
	if (!nhdr)
		return NULL;
	if (size > old)
		memset((char *)(nhdr + 1) + old, 0, size - old);
	nhdr->size = size;
	gm_alloc_account(a, old, size);
	a->nr_allocs++;
	return nhdr + 1;
}

void gm_free(struct gm_alloc *a, void *p)
{
	struct gm_alloc_hdr *hdr;

	if (!p)
		return;
	hdr = (struct gm_alloc_hdr *)p - 1;
	gm_alloc_account(a, hdr->size, 0);
	a->nr_live--;
	free(hdr);
}
