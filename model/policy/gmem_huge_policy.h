/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Split/merge policies for HugeTLB-backed guest_memfd: the one interface.
 *
 * PROPOSED.  A policy decides, for one huge page (2M or 1G) of a file, the
 * folio order each of its 2M blocks should have given which pages are
 * private, and whether a merge back into a huge folio may happen now.
 * Everything else — zapping stage-2 before a split, paying the vmemmap
 * restore, refcount safety before a merge, statistics — is the caller's
 * (model/huge.c here, virt/kvm/guest_memfd.c in a port).
 *
 * Policies see a huge page only through the gmem_huge_page_*() accessors
 * below and use kernel types and names, so that moving one into virt/kvm
 * is a change of includes: model/policy/shim/ supplies the kernel types
 * (dup.h), the model's accessors (custom.h) and no-op kernel helpers
 * (stubs.h).  docs/policies.md shows how to write and port one.
 */
#ifndef GMEM_HUGE_POLICY_H
#define GMEM_HUGE_POLICY_H

#include "shim/dup.h"

/* One huge page being restructured; opaque to policies. */
struct gmem_huge_page;

/* The huge page's order: 9 (2M) or 18 (1G). */
unsigned int gmem_huge_page_order(const struct gmem_huge_page *hp);
/*
 * Is the naturally aligned block of 1 << @order pages holding @index (an
 * index of the file) entirely private, counting a conversion in flight?
 */
bool gmem_huge_page_private(const struct gmem_huge_page *hp, pgoff_t index,
			    unsigned int order);
/* Conversions on the file so far: a policy's notion of time. */
u64 gmem_huge_page_clock(const struct gmem_huge_page *hp);
/*
 * When this huge page became eligible to merge (the clock of the first
 * call since it last split or merged).
 */
u64 gmem_huge_page_mergeable_since(struct gmem_huge_page *hp);
/* The policy's tunable (LAZY: conversions to wait before a merge). */
unsigned int gmem_huge_page_tunable(const struct gmem_huge_page *hp);

struct gmem_huge_policy_ops {
	const char *name;
	/*
	 * The order wanted for the folio holding @index: the huge order, 9
	 * (a 2M block of a 1G page) or 0.  A folio larger than the private
	 * range it covers is never wanted (inflight-series §6.2.1).
	 */
	unsigned int (*target_order)(const struct gmem_huge_page *hp,
				     pgoff_t index);
	/*
	 * May a merge toward target_order() happen now?  A deferring policy
	 * answers false and is asked again after later conversions.
	 */
	bool (*may_merge)(struct gmem_huge_page *hp);
};

extern const struct gmem_huge_policy_ops gmem_huge_policy_eager;
extern const struct gmem_huge_policy_ops gmem_huge_policy_hier;
extern const struct gmem_huge_policy_ops gmem_huge_policy_lazy;
extern const struct gmem_huge_policy_ops gmem_huge_policy_nomerge;

#endif /* GMEM_HUGE_POLICY_H */
