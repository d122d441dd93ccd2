// SPDX-License-Identifier: GPL-2.0
/*
 * hier: hierarchical split (inflight-series §3.6 algorithm B; RFC v2's
 * future work, LPC "non-uniform split").  A 1G page splits into 2M folios
 * and only the 2M blocks holding shared pages go to order 0; blocks merge
 * back upward as soon as they are private again.
 */
#include "gmem_huge_policy.h"
#include "shim/stubs.h"

static unsigned int hier_target_order(const struct gmem_huge_page *hp,
				      pgoff_t index)
{
	unsigned int order = gmem_huge_page_order(hp);

	if (gmem_huge_page_private(hp, index, order))
		return order;
	if (order > PMD_ORDER && gmem_huge_page_private(hp, index, PMD_ORDER))
		return PMD_ORDER;
	return 0;
}

static bool hier_may_merge(struct gmem_huge_page *hp)
{
	(void)hp;
	return true;
}

const struct gmem_huge_policy_ops gmem_huge_policy_hier = {
	.name = "hier",
	.target_order = hier_target_order,
	.may_merge = hier_may_merge,
};
