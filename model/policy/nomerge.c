// SPDX-License-Identifier: GPL-2.0
/*
 * nomerge: TDX (inflight-series §3.5, §3.6 algorithm D).  Promotion needs
 * every 4K leaf uniformly accepted, so a split is permanent until the huge
 * page is freed (punched) and faulted in again whole.
 */
#include "gmem_huge_policy.h"
#include "shim/stubs.h"

static unsigned int nomerge_target_order(const struct gmem_huge_page *hp,
					 pgoff_t index)
{
	unsigned int order = gmem_huge_page_order(hp);

	return gmem_huge_page_private(hp, index, order) ? order : 0;
}

static bool nomerge_may_merge(struct gmem_huge_page *hp)
{
	(void)hp;
	return false;
}

const struct gmem_huge_policy_ops gmem_huge_policy_nomerge = {
	.name = "nomerge",
	.target_order = nomerge_target_order,
	.may_merge = nomerge_may_merge,
};
