/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rmap: a map from half-open index ranges [start, end) to 64-bit values.
 *
 * Runs are kept sorted and disjoint in one array.  With coalescing on, two
 * touching runs never hold the same value, so the array is the minimal
 * run-length encoding of the map (the property the in-place series asks of
 * its attribute maple tree).  Lookups are O(log n); a store or erase moves
 * at most the tail of the array.  Memory is proportional to the number of
 * runs, never to the span of indices covered.
 *
 * An absent index has no value: callers choose whether "absent" means 0.
 */
#ifndef GMEM_RMAP_H
#define GMEM_RMAP_H

#include <stdbool.h>
#include <stdint.h>

struct gm_alloc;

struct rmap_run {
	uint64_t start;
	uint64_t end;
	uint64_t val;
};

struct rmap {
	struct rmap_run *r_runs;
	uint32_t r_nr;
	uint32_t r_cap;
	bool r_coalesce;
	struct gm_alloc *r_alloc;
};

void rmap_init(struct rmap *m, struct gm_alloc *a, bool coalesce);
void rmap_destroy(struct rmap *m);

/* Set [start, end) to @val, replacing whatever was there.  0 or -ENOMEM. */
int rmap_store(struct rmap *m, uint64_t start, uint64_t end, uint64_t val);
/* Remove [start, end).  0 or -ENOMEM (splitting a run may allocate). */
int rmap_erase(struct rmap *m, uint64_t start, uint64_t end);
/*
 * Make room for @n more runs so that the next stores cannot fail; used
 * before a point of no return.  0 or -ENOMEM.
 */
int rmap_reserve(struct rmap *m, uint32_t n);

/* Value at @idx.  Returns false when absent. */
bool rmap_lookup(const struct rmap *m, uint64_t idx, uint64_t *val);
/*
 * The run holding @idx, or when absent the gap: returns true with the run,
 * false with [*start, *end) set to the gap around @idx.
 */
bool rmap_lookup_run(const struct rmap *m, uint64_t idx,
		     struct rmap_run *run);

/* Index of the first run whose end is above @idx (r_nr when none). */
uint32_t rmap_first_after(const struct rmap *m, uint64_t idx);

/* Is any index of [start, end) present? */
bool rmap_any(const struct rmap *m, uint64_t start, uint64_t end);
/* Number of present indices in [start, end). */
uint64_t rmap_count(const struct rmap *m, uint64_t start, uint64_t end);

static inline uint32_t rmap_nr_runs(const struct rmap *m)
{
	return m->r_nr;
}

static inline bool rmap_empty(const struct rmap *m)
{
	return m->r_nr == 0;
}

/* Runs intersecting [start, end), clipped: for (i = ...; ...) style. */
#define rmap_for_each_run(m, i, run)                                       \
	for ((i) = 0; (i) < (m)->r_nr && ((run) = &(m)->r_runs[i], 1); (i)++)

/* Internal consistency: sorted, disjoint, non-empty, coalesced. */
bool rmap_consistent(const struct rmap *m, const char **why);

#endif /* GMEM_RMAP_H */
