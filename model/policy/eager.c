// SPDX-License-Identifier: GPL-2.0
/*
 * eager: the WIP's policy (inflight-series §3.2, algorithm A of §3.6).
 * Any shared page splits the whole huge folio to order 0; a to-private
 * conversion merges it back as soon as the whole huge page is private.
 */
#include "gmem_huge_policy.h"
#include "shim/stubs.h"

static unsigned int eager_target_order(const struct gmem_huge_page *hp,
				       pgoff_t index)
{
	unsigned int order = gmem_huge_page_order(hp);

	return gmem_huge_page_private(hp, index, order) ? order : 0;
}

static bool eager_may_merge(struct gmem_huge_page *hp)
{
	(void)hp;
	return true;
}

const struct gmem_huge_policy_ops gmem_huge_policy_eager = {
	.name = "eager",
	.target_order = eager_target_order,
	.may_merge = eager_may_merge,
};
