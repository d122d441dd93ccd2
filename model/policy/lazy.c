// SPDX-License-Identifier: GPL-2.0
/*
 * lazy: eager splits, deferred merges (inflight-series §3.6 algorithm C).
 * A huge page that became private again merges only after the file has
 * seen a tunable number of further conversions, so a page that flips
 * shared and private repeatedly does not split and merge each time.
 */
#include "gmem_huge_policy.h"
#include "shim/stubs.h"

static unsigned int lazy_target_order(const struct gmem_huge_page *hp,
				      pgoff_t index)
{
	unsigned int order = gmem_huge_page_order(hp);

	return gmem_huge_page_private(hp, index, order) ? order : 0;
}

static bool lazy_may_merge(struct gmem_huge_page *hp)
{
	u64 since = gmem_huge_page_mergeable_since(hp);

	return gmem_huge_page_clock(hp) - since >= gmem_huge_page_tunable(hp);
}

const struct gmem_huge_policy_ops gmem_huge_policy_lazy = {
	.name = "lazy",
	.target_order = lazy_target_order,
	.may_merge = lazy_may_merge,
};
