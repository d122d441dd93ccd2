// SPDX-License-Identifier: GPL-2.0
/*
 * rmap: sorted, disjoint runs [start, end) -> value.  See rmap.h.
 */
#include <string.h>

#include "internal.h"

#define RMAP_MIN_CAP 4U

void rmap_init(struct rmap *m, struct gm_alloc *a, bool coalesce)
{
	m->r_runs = NULL;
	m->r_nr = 0;
	m->r_cap = 0;
	m->r_coalesce = coalesce;
	m->r_alloc = a;
}

void rmap_destroy(struct rmap *m)
{
	gm_free(m->r_alloc, m->r_runs);
	m->r_runs = NULL;
	m->r_nr = 0;
	m->r_cap = 0;
}

int rmap_reserve(struct rmap *m, uint32_t n)
{
	struct rmap_run *runs;
	uint64_t want = (uint64_t)m->r_nr + n;
	uint64_t cap = m->r_cap ? m->r_cap : RMAP_MIN_CAP;

	if (want <= m->r_cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if (cap > UINT32_MAX / 2)
		return -ENOMEM;
	runs = gm_realloc(m->r_alloc, m->r_runs, cap * sizeof(*runs));
	if (!runs)
		return -ENOMEM;
	m->r_runs = runs;
	m->r_cap = (uint32_t)cap;
	return 0;
}

uint32_t rmap_first_after(const struct rmap *m, uint64_t idx)
{
	uint32_t lo = 0, hi = m->r_nr;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (m->r_runs[mid].end > idx)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* First run at or after @from whose start is >= @idx. */
static uint32_t rmap_first_start_at(const struct rmap *m, uint32_t from,
				    uint64_t idx)
{
	uint32_t lo = from, hi = m->r_nr;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (m->r_runs[mid].start >= idx)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * Replace runs [i, j) with the @k runs in @repl.  Capacity must have been
 * reserved by the caller.
 */
static void rmap_splice(struct rmap *m, uint32_t i, uint32_t j,
			const struct rmap_run *repl, uint32_t k)
{
	uint32_t tail = m->r_nr - j;

	if (tail && i + k != j)
		memmove(&m->r_runs[i + k], &m->r_runs[j],
			tail * sizeof(*m->r_runs));
	if (k)
		memcpy(&m->r_runs[i], repl, k * sizeof(*repl));
	m->r_nr = i + k + tail;
}

static int __rmap_update(struct rmap *m, uint64_t start, uint64_t end,
			 bool store, uint64_t val)
{
	struct rmap_run repl[3];
	struct rmap_run mid = { start, end, val };
	bool has_left = false, has_right = false;
	struct rmap_run left, right;
	uint32_t i, j, k = 0;
	int ret;

	if (start >= end)
		return 0;
	i = rmap_first_after(m, start);
	j = rmap_first_start_at(m, i, end);
	if (i < j && m->r_runs[i].start < start) {
		left = m->r_runs[i];
		left.end = start;
		has_left = true;
	}
	if (i < j && m->r_runs[j - 1].end > end) {
		right = m->r_runs[j - 1];
		right.start = end;
		has_right = true;
	}
	if (store && m->r_coalesce) {
		if (has_left && left.val == val) {
			mid.start = left.start;
			has_left = false;
		} else if (!has_left && i > 0 && m->r_runs[i - 1].end == start &&
			   m->r_runs[i - 1].val == val) {
			i--;
			mid.start = m->r_runs[i].start;
		}
		if (has_right && right.val == val) {
			mid.end = right.end;
			has_right = false;
		} else if (!has_right && j < m->r_nr &&
			   m->r_runs[j].start == end && m->r_runs[j].val == val) {
			mid.end = m->r_runs[j].end;
			j++;
		}
	}
	if (has_left)
		repl[k++] = left;
	if (store)
		repl[k++] = mid;
	if (has_right)
		repl[k++] = right;
	if (k > j - i) {
		ret = rmap_reserve(m, k - (j - i));
		if (ret)
			return ret;
	}
	rmap_splice(m, i, j, repl, k);
	return 0;
}

int rmap_store(struct rmap *m, uint64_t start, uint64_t end, uint64_t val)
{
	return __rmap_update(m, start, end, true, val);
}

int rmap_erase(struct rmap *m, uint64_t start, uint64_t end)
{
	return __rmap_update(m, start, end, false, 0);
}

bool rmap_lookup_run(const struct rmap *m, uint64_t idx,
		     struct rmap_run *run)
{
	uint32_t i = rmap_first_after(m, idx);

	if (i < m->r_nr && m->r_runs[i].start <= idx) {
		*run = m->r_runs[i];
		return true;
	}
	run->start = i > 0 ? m->r_runs[i - 1].end : 0;
	run->end = i < m->r_nr ? m->r_runs[i].start : UINT64_MAX;
	run->val = 0;
	return false;
}

bool rmap_lookup(const struct rmap *m, uint64_t idx, uint64_t *val)
{
	struct rmap_run run;

	if (!rmap_lookup_run(m, idx, &run))
		return false;
	if (val)
		*val = run.val;
	return true;
}

bool rmap_any(const struct rmap *m, uint64_t start, uint64_t end)
{
	uint32_t i = rmap_first_after(m, start);

	return start < end && i < m->r_nr && m->r_runs[i].start < end;
}

uint64_t rmap_count(const struct rmap *m, uint64_t start, uint64_t end)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = rmap_first_after(m, start);
	     i < m->r_nr && m->r_runs[i].start < end; i++) {
		uint64_t s = m->r_runs[i].start > start ? m->r_runs[i].start :
							  start;
		uint64_t e = m->r_runs[i].end < end ? m->r_runs[i].end : end;

		n += e - s;
	}
	return n;
}

bool rmap_consistent(const struct rmap *m, const char **why)
{
	uint32_t i;

	if (m->r_nr > m->r_cap) {
		*why = "more runs than capacity";
		return false;
	}
	for (i = 0; i < m->r_nr; i++) {
		const struct rmap_run *r = &m->r_runs[i];

		if (r->start >= r->end) {
			*why = "empty or inverted run";
			return false;
		}
		if (i == 0)
			continue;
		if (r[-1].end > r->start) {
			*why = "runs overlap or are unsorted";
			return false;
		}
		if (m->r_coalesce && r[-1].end == r->start &&
		    r[-1].val == r->val) {
			*why = "touching runs with equal values not coalesced";
			return false;
		}
	}
	return true;
}
