// SPDX-License-Identifier: GPL-2.0
/*
 * HugeTLB-backed guest_memfd (profile `hugetlb`): huge folios of order 9
 * (2M) or 18 (1G), the host pool and per-file reservation, split/merge
 * ("restructuring") driven by a policy, the vmemmap (HVO) cost of splits,
 * and the order KVM may map a gfn at.
 *
 * Source: the HugeTLB guest_memfd WIP (Ackerley Tng, Vishal Annapurve;
 * branch wip-gmem-conversions-hugetlb-restructuring) and the TDX huge page
 * series v3 (Yan Zhao), inflight-series.md §3 and §6.2.  Everything here is
 * PROPOSED/WIP; docs/policies.md says how to write and port a policy.
 *
 * Folio orders live in the folio map's values (GM_FOLIO_ORDER); a folio's
 * first index is its index aligned down to its order.  A huge page is
 * allocated whole and freed whole (punch must be huge-aligned), so the
 * present indices of a file are a union of whole huge pages.  Within one,
 * every 2M granule has one order: 18, 9 or 0.
 *
 * The policy (policy/gmem_huge_policy.h) decides, per 2M granule of a huge
 * page, the order it wants (->target_order) and whether a merge may happen
 * now (->may_merge);
 * kvm_gmem_huge_restructure() turns the difference into splits and merges,
 * zapping stage-2 before any split (the ordering rule, §6.2.3) and paying
 * the vmemmap restore first (a split that cannot get it fails, §6.2.4).
 */
#include <string.h>

#include "internal.h"
#include "policy/gmem_huge_policy.h"
#include "policy/shim/custom.h"

#define GRANULE_ORDER 9U	/* a 2M block: the unit of hierarchical splits */

static const struct gmem_huge_policy_ops *const gm_huge_policies[] = {
	[GM_POLICY_EAGER] = &gmem_huge_policy_eager,
	[GM_POLICY_HIER] = &gmem_huge_policy_hier,
	[GM_POLICY_LAZY] = &gmem_huge_policy_lazy,
	[GM_POLICY_NOMERGE] = &gmem_huge_policy_nomerge,
};

const char *gm_huge_policy_name(enum gm_huge_policy policy)
{
	if ((unsigned int)policy >= GM_POLICY_MAX)
		return "?";
	return gm_huge_policies[policy]->name;
}

int gm_huge_policy_parse(const char *name, enum gm_huge_policy *policy)
{
	unsigned int i;

	for (i = 0; i < GM_POLICY_MAX; i++) {
		if (!strcmp(name, gm_huge_policies[i]->name)) {
			*policy = i;
			return 0;
		}
	}
	return -EINVAL;
}

bool kvm_gmem_is_hugetlb(const struct gmem_inode *inode)
{
	return inode->huge_order != 0;
}

static unsigned int order_level(unsigned int order)
{
	return order >= 18 ? 2 : order >= 9 ? 1 : 0;
}

static unsigned int pool_index(unsigned int order)
{
	return order >= 18 ? 1 : 0;
}

static uint64_t huge_pages(const struct gmem_inode *inode)
{
	return 1ULL << inode->huge_order;
}

/* ---- creation and the pool ---- */

/*
 * HUGETLB files: a 2M or 1G page size, a size that is a multiple of it,
 * no INIT_SHARED (rejected in the WIP), and every huge page reserved from
 * the host pool up front in a per-file subpool (§3.2 "Allocator").
 */
int kvm_gmem_hugetlb_setup(struct gm_host *h, struct gmem_inode *inode,
			   uint64_t flags)
{
	uint64_t code = (flags & GUEST_MEMFD_HUGETLB_MASK) >>
			GUEST_MEMFD_HUGETLB_SHIFT;
	unsigned int order;
	uint64_t nr;

	if (!(flags & GUEST_MEMFD_FLAG_HUGETLB))
		return code ? -EINVAL : 0;
	/* no size: the default huge page size, as MFD_HUGETLB does */
	if (code == 21 || code == 0)
		order = 9;
	else if (code == 30)
		order = 18;
	else
		return -EINVAL;
	if (flags & GUEST_MEMFD_FLAG_INIT_SHARED)
		return -EINVAL;
	if (inode->i_size & ((PAGE_SIZE << order) - 1))
		return -EINVAL;
	nr = inode->i_size >> (PAGE_SHIFT + order);
	if (h->pool_free[pool_index(order)] < nr)
		return -ENOMEM;	/* hugetlb_reserve_pages() */
	h->pool_free[pool_index(order)] -= nr;
	inode->huge_order = order;
	inode->nr_huge = nr;
	return 0;
}

/* Vmemmap bytes of the folios in [start, end) beyond an unsplit page. */
static uint64_t vmemmap_extra(const struct gmem_inode *inode, uint64_t start,
			      uint64_t end)
{
	uint64_t bytes = 0, huge = 0;
	uint32_t i;

	for (i = rmap_first_after(&inode->folios, start);
	     i < inode->folios.r_nr && inode->folios.r_runs[i].start < end;
	     i++) {
		const struct rmap_run *r = &inode->folios.r_runs[i];
		uint64_t s = r->start > start ? r->start : start;
		uint64_t e = r->end < end ? r->end : end;
		unsigned int o = folio_order(r->val);

		/*
		 * HVO keeps one 4 KiB page of struct pages per huge folio;
		 * an order-0 page needs its own 64-byte struct page
		 * (inflight-series §3.3, DERIVED).
		 */
		/* count each folio once, at the run holding its first page */
		if (o)
			bytes += (((e + (1ULL << o) - 1) >> o) -
				  ((s + (1ULL << o) - 1) >> o)) *
				 PAGE_SIZE;
		else
			bytes += (e - s) * 64;
	}
	/* the baseline counts allocated huge pages only */
	huge = (rmap_count(&inode->folios, start, end) >> inode->huge_order) *
	       PAGE_SIZE;
	return bytes > huge ? bytes - huge : 0;
}

static void vmemmap_account(struct gm_host *h, int64_t delta)
{
	h->huge.vmemmap_bytes += (uint64_t)delta;
	if (h->huge.vmemmap_bytes > h->huge.vmemmap_peak)
		h->huge.vmemmap_peak = h->huge.vmemmap_bytes;
}

/*
 * Whole huge pages of [start, end) leave the file: the split ones are
 * merged back first (their vmemmap is freed) and they return to the
 * file's reservation (§6.2.6, "merges before freeing").
 */
void kvm_gmem_huge_freed(struct gm_host *h, struct gmem_inode *inode,
			 uint64_t start, uint64_t end)
{
	uint32_t i;

	if (!kvm_gmem_is_hugetlb(inode) || start >= end)
		return;
	vmemmap_account(h, -(int64_t)vmemmap_extra(inode, start, end));
	/* the folios a split page is freed as, counted before it returns */
	for (i = rmap_first_after(&inode->folios, start);
	     i < inode->folios.r_nr && inode->folios.r_runs[i].start < end;
	     i++) {
		const struct rmap_run *r = &inode->folios.r_runs[i];
		uint64_t s = r->start > start ? r->start : start;
		uint64_t e = r->end < end ? r->end : end;
		unsigned int o = folio_order(r->val);

		if (o < inode->huge_order)
			h->huge.subfolios_freed +=
				((e + (1ULL << o) - 1) >> o) -
				((s + (1ULL << o) - 1) >> o);
	}
	rmap_erase(&inode->huge_meta, start >> inode->huge_order,
		   (end + huge_pages(inode) - 1) >> inode->huge_order);
}

void kvm_gmem_hugetlb_release(struct gm_host *h, struct gmem_inode *inode)
{
	if (!kvm_gmem_is_hugetlb(inode))
		return;
	kvm_gmem_huge_freed(h, inode, 0, inode->i_size >> PAGE_SHIFT);
	h->pool_free[pool_index(inode->huge_order)] += inode->nr_huge;
	inode->nr_huge = 0;
}

/* ---- policy ---- */

static bool attrs_all(const struct gmem_inode *inode, uint64_t start,
		      uint64_t end, uint64_t val)
{
	struct rmap_run run;

	if (start >= end)
		return true;
	rmap_lookup_run(&inode->attrs, start, &run);
	return run.val == val && run.end >= end;
}

/*
 * The same with @ov's attribute over its range: a to-shared conversion
 * restructures for the attributes it is about to store, before storing
 * them (so that a split that fails leaves them unchanged, §6.2.3).
 */
static bool attrs_all_ov(const struct gmem_inode *inode, uint64_t start,
			 uint64_t end, uint64_t val,
			 const struct gmem_huge_overlay *ov)
{
	uint64_t s, e;

	if (!ov)
		return attrs_all(inode, start, end, val);
	s = ov->start > start ? ov->start : start;
	e = ov->end < end ? ov->end : end;
	if (s >= e)
		return attrs_all(inode, start, end, val);
	return ov->val == val && attrs_all(inode, start, s, val) &&
	       attrs_all(inode, e, end, val);
}

/* ---- the policy interface's accessors (policy/gmem_huge_policy.h) ---- */

unsigned int gmem_huge_page_order(const struct gmem_huge_page *hp)
{
	return hp->inode->huge_order;
}

bool gmem_huge_page_private(const struct gmem_huge_page *hp, pgoff_t index,
			    unsigned int order)
{
	uint64_t start = index & ~((1ULL << order) - 1);

	return attrs_all_ov(hp->inode, start, start + (1ULL << order),
			    KVM_MEMORY_ATTRIBUTE_PRIVATE, hp->ov);
}

u64 gmem_huge_page_clock(const struct gmem_huge_page *hp)
{
	return hp->inode->clock;
}

u64 gmem_huge_page_mergeable_since(struct gmem_huge_page *hp)
{
	uint64_t idx = hp->base >> hp->inode->huge_order, meta = 0;

	rmap_lookup(&hp->inode->huge_meta, idx, &meta);
	if (!(meta & GM_HUGE_PENDING)) {
		meta = (meta & ((1ULL << GM_HUGE_SINCE_SHIFT) - 1)) |
		       GM_HUGE_PENDING |
		       hp->inode->clock << GM_HUGE_SINCE_SHIFT;
		/* the huge page's own run: fits in reserved capacity */
		rmap_store(&hp->inode->huge_meta, idx, idx + 1, meta);
	}
	return meta >> GM_HUGE_SINCE_SHIFT;
}

unsigned int gmem_huge_page_tunable(const struct gmem_huge_page *hp)
{
	return hp->h->cfg.lazy_ops;
}

static const struct gmem_huge_policy_ops *huge_policy(const struct gm_host *h)
{
	return gm_huge_policies[h->cfg.policy];
}

/* ---- restructuring ---- */

static void folio_set_order(struct gmem_inode *inode, uint64_t start,
			    uint64_t end, unsigned int order)
{
	uint64_t idx;
	struct rmap_run run;

	for (idx = start; idx < end; idx = run.end) {
		uint64_t e;

		if (!rmap_lookup_run(&inode->folios, idx, &run))
			continue;
		e = run.end < end ? run.end : end;
		run.val = (run.val & ~(0xffULL << GM_FOLIO_ORDER_SHIFT)) |
			  ((uint64_t)order << GM_FOLIO_ORDER_SHIFT);
		/* same run count or fewer: capacity was reserved */
		rmap_store(&inode->folios, idx, e, run.val);
	}
}

/* Is any sub-page of [start, end) hwpoisoned? */
static bool range_poisoned(const struct gmem_inode *inode, uint64_t start,
			   uint64_t end)
{
	uint32_t i;

	for (i = rmap_first_after(&inode->folios, start);
	     i < inode->folios.r_nr && inode->folios.r_runs[i].start < end;
	     i++)
		if (inode->folios.r_runs[i].val & GM_FOLIO_HWPOISON)
			return true;
	return false;
}

static bool range_mergeable(const struct gmem_inode *inode, uint64_t start,
			    uint64_t end)
{
	/* refcounts must be safe: no pins, and no poisoned sub-page */
	if (rmap_any(&inode->pins, start, end))
		return false;
	if (rmap_count(&inode->folios, start, end) != end - start)
		return false;
	return !range_poisoned(inode, start, end);
}

/* Zap the stage-2 mappings of [start, end) in every bound VM. */
static void huge_zap(struct gm_host *h, struct gmem_inode *inode,
		     uint64_t start, uint64_t end)
{
	h->huge.zaps++;
	kvm_gmem_invalidate_begin(h, inode, start, end,
				  KVM_FILTER_SHARED | KVM_FILTER_PRIVATE);
	kvm_gmem_invalidate_end(inode, start, end);
}

/* The huge page is mixed again: a deferred merge starts over later. */
static void huge_meta_clear_pending(struct gmem_inode *inode, uint64_t hp)
{
	uint64_t meta;

	if (rmap_lookup(&inode->huge_meta, hp, &meta) &&
	    meta & GM_HUGE_PENDING)
		rmap_store(&inode->huge_meta, hp, hp + 1,
			   meta & ~GM_HUGE_PENDING);
}

static void huge_meta_event(struct gm_host *h, struct gmem_inode *inode,
			    uint64_t hp, uint64_t event)
{
	uint64_t meta = 0;

	rmap_lookup(&inode->huge_meta, hp, &meta);
	if (event == GM_HUGE_LAST_SPLIT && meta & GM_HUGE_LAST_MERGE)
		h->huge.pingpong++;
	meta &= ~(GM_HUGE_LAST_SPLIT | GM_HUGE_LAST_MERGE | GM_HUGE_PENDING);
	rmap_store(&inode->huge_meta, hp, hp + 1, meta | event);
}

/* Count the split of a whole huge folio into the granule orders @plan. */
static void huge_count_split(struct gm_host *h, const struct gmem_inode *inode,
			     const unsigned int *plan, unsigned int nr_g)
{
	unsigned int i, nr_2m = 0, nr_4k = 0;

	for (i = 0; i < nr_g; i++) {
		nr_2m += plan[i] == GRANULE_ORDER;
		nr_4k += plan[i] == 0;
	}
	if (!nr_2m || inode->huge_order == GRANULE_ORDER) {
		h->huge.splits[order_level(inode->huge_order)][0]++;
		return;
	}
	h->huge.splits[order_level(inode->huge_order)][1]++;
	h->huge.splits[1][0] += nr_4k;
}

/*
 * Bring the huge page at @base to the layout the policy wants: split where
 * it wants smaller folios, merge where it wants larger ones and
 * @allow_merge, the policy and the refcounts allow it.  Returns 0, or
 * -ENOMEM when the vmemmap for a split cannot be had (nothing changed).
 */
static int __kvm_gmem_huge_restructure(struct gm_host *h,
				       struct gmem_inode *inode, uint64_t base,
				       bool allow_merge,
				       const struct gmem_huge_overlay *ov,
				       bool fresh)
{
	const struct gmem_huge_policy_ops *ops = huge_policy(h);
	struct gmem_huge_page hp = { h, inode, base, ov };
	const uint64_t n = huge_pages(inode);
	const uint64_t gn = n < (1ULL << GRANULE_ORDER) ? n :
						      1ULL << GRANULE_ORDER;
	uint64_t g, before, after, val;
	/* one entry per 2M granule: at most 512 (a 1G page) */
	unsigned int cur, want, plan[1U << (18 - GRANULE_ORDER)];
	unsigned int nr_g = (unsigned int)(n / gn), i;
	bool split = false, merge = false, asked = false, may = false;
	int ret;

	if (!rmap_lookup(&inode->folios, base, &val))
		return 0;	/* not allocated */
	if (ops->target_order(&hp, base) < inode->huge_order)
		huge_meta_clear_pending(inode, base >> inode->huge_order);

	/* the new order of each 2M granule */
	for (i = 0, g = base; i < nr_g; i++, g += gn) {
		rmap_lookup(&inode->folios, g, &val);
		cur = folio_order(val);
		want = ops->target_order(&hp, g);
		plan[i] = cur;
		if (want < cur) {
			plan[i] = want;
			split = true;
			continue;
		}
		if (want == cur || !allow_merge)
			continue;
		/* a merge: the policy decides when, the refcounts whether */
		if (!asked) {
			may = ops->may_merge(&hp);
			asked = true;
		}
		if (may && range_mergeable(inode, g & ~((1ULL << want) - 1),
					   (g & ~((1ULL << want) - 1)) +
						   (1ULL << want))) {
			plan[i] = want;
			merge = true;
		}
	}
	if (!split && !merge)
		return 0;
	/*
	 * A merge into the huge folio is decided over the whole huge page
	 * (same answer for every granule), so no granule is left behind.
	 */
	before = vmemmap_extra(inode, base, base + n);
	/* each granule's new order splits at most two runs */
	ret = rmap_reserve(&inode->folios, 2 * nr_g + 4);
	if (!ret && split)
		/* the vmemmap restore is the split's allocation (§6.2.4) */
		ret = gm_alloc_may_fail(host_alloc(h));
	if (ret)
		return ret;
	if (split && !fresh) {
		/* §6.2.3: no stage-2 leaf may outlive the folio it maps */
		huge_zap(h, inode, base, base + n);
	}
	for (i = 0, g = base; i < nr_g; i++, g += gn) {
		rmap_lookup(&inode->folios, g, &val);
		cur = folio_order(val);
		if (plan[i] == cur)
			continue;
		/*
		 * One huge folio counts once: straight to 4K, or (hier) into
		 * 2M folios of which some go on to 4K; 2M folios count each.
		 */
		if (plan[i] < cur && cur < inode->huge_order)
			h->huge.splits[order_level(cur)]
				      [order_level(plan[i])]++;
		else if (plan[i] < cur && g == base)
			huge_count_split(h, inode, plan, nr_g);
		if (plan[i] > cur &&
		    (plan[i] < inode->huge_order || g == base))
			h->huge.merges[order_level(cur)]
				      [order_level(plan[i])]++;
		folio_set_order(inode, g, g + gn, plan[i]);
	}
	after = vmemmap_extra(inode, base, base + n);
	vmemmap_account(h, (int64_t)(after - before));
	huge_meta_event(h, inode, base >> inode->huge_order,
			split ? GM_HUGE_LAST_SPLIT : GM_HUGE_LAST_MERGE);
	return 0;
}

int kvm_gmem_huge_restructure(struct gm_host *h, struct gmem_inode *inode,
			      uint64_t base, bool allow_merge,
			      const struct gmem_huge_overlay *ov)
{
	return __kvm_gmem_huge_restructure(h, inode, base, allow_merge, ov,
					   false);
}

/*
 * Allocate the whole huge folio around @index from the file's reservation
 * and give it the layout the policy wants: a huge range that is not
 * entirely private is split at once ("fresh folio split", §3.2).
 */
int kvm_gmem_huge_alloc(struct gm_host *h, struct gmem_inode *inode,
			uint64_t index)
{
	const uint64_t n = huge_pages(inode);
	uint64_t base = index & ~(n - 1);
	int ret;

	if (rmap_any(&inode->folios, base, base + n))
		return 0;
	ret = rmap_store(&inode->folios, base, base + n,
			 GM_FOLIO_PRESENT |
				 ((uint64_t)inode->huge_order
				  << GM_FOLIO_ORDER_SHIFT));
	if (ret)
		return ret;
	/* nothing maps a folio just allocated: no zap (fresh split) */
	ret = __kvm_gmem_huge_restructure(h, inode, base, false, NULL, true);
	if (ret)
		rmap_erase(&inode->folios, base, base + n);
	return ret;
}

/*
 * Punch hole on a HugeTLB file: huge-aligned only, and the pages must be
 * mergeable (no pins) before they can go back (§6.2.6).
 */
int kvm_gmem_huge_punch_prepare(struct gm_host *h, struct gmem_inode *inode,
				int64_t offset, int64_t len)
{
	uint64_t mask = (PAGE_SIZE << inode->huge_order) - 1;
	uint64_t start = (uint64_t)offset >> PAGE_SHIFT;
	uint64_t end = ((uint64_t)offset + (uint64_t)len) >> PAGE_SHIFT;

	if (((uint64_t)offset & mask) || ((uint64_t)len & mask))
		return -EINVAL;
	if (rmap_any(&inode->pins, start, end)) {
		h->huge.eagain++;
		return -EAGAIN;
	}
	return 0;
}

/* LAZY: one more conversion on the file; merge what has waited enough. */
void kvm_gmem_huge_tick(struct gm_host *h, struct gmem_inode *inode)
{
	uint32_t i;

	if (!kvm_gmem_is_hugetlb(inode))
		return;
	inode->clock++;
	if (h->cfg.policy != GM_POLICY_LAZY)
		return;
	for (i = 0; i < inode->huge_meta.r_nr; i++) {
		const struct rmap_run *r = &inode->huge_meta.r_runs[i];
		uint64_t hp;

		if (!(r->val & GM_HUGE_PENDING))
			continue;
		for (hp = r->start; hp < r->end; hp++)
			kvm_gmem_huge_restructure(h, inode,
						  hp << inode->huge_order, true,
						  NULL);
	}
}

/* ---- stage-2 mapping level ---- */

/*
 * The largest order KVM may map @gfn at (§6.2.2): no larger than the folio,
 * a naturally aligned block that is uniformly private and wholly inside
 * the memslot, with base_gfn and the guest_memfd offset congruent, and at
 * most 2M on TDX.  Shared faults map 4K.
 */
unsigned int kvm_gmem_max_mapping_order(struct gm_host *h, struct kvm *kvm,
					struct kvm_memory_slot *slot,
					uint64_t gfn, bool is_private)
{
	struct gmem_inode *inode;
	uint64_t idx, val = 0;
	unsigned int o;

	(void)h;
	if (!is_private || !slot->gmem.file)
		return 0;
	inode = slot->gmem.file->inode;
	if (!kvm_gmem_is_hugetlb(inode))
		return 0;
	idx = gfn - slot->base_gfn + slot->gmem.pgoff;
	rmap_lookup(&inode->folios, idx, &val);
	o = folio_order(val);
	if (kvm->type == GM_VM_TDX && o > 9)
		o = 9;	/* TDX S-EPT leaves are at most 2M (§3.5) */
	/* a 4K accept inhibited 2M mappings of this range for good */
	if (rmap_lookup(&kvm->lpage_inhibit, gfn >> 9, NULL))
		o = 0;
	while (o) {
		uint64_t n = 1ULL << o;
		uint64_t gb = gfn & ~(n - 1), ib = idx & ~(n - 1);

		if (!((slot->base_gfn ^ slot->gmem.pgoff) & (n - 1)) &&
		    gb >= slot->base_gfn &&
		    gb + n <= slot->base_gfn + slot->npages &&
		    attrs_all(inode, ib, ib + n,
			      KVM_MEMORY_ATTRIBUTE_PRIVATE) &&
		    !range_poisoned(inode, ib, ib + n))
			break;
		o = o > 9 ? 9 : 0;
	}
	return o;
}

/* ---- checks and statistics ---- */

static bool huge_folio_uniform(const struct gmem_inode *inode, uint64_t base,
			       unsigned int order)
{
	uint64_t end = base + (1ULL << order);
	uint32_t i;

	for (i = rmap_first_after(&inode->folios, base);
	     i < inode->folios.r_nr && inode->folios.r_runs[i].start < end;
	     i++)
		if (folio_order(inode->folios.r_runs[i].val) != order)
			return false;
	return true;
}

/*
 * §6.2 invariants of one file: folio orders are 0, 9 or the huge order and
 * naturally aligned; a huge folio covers only private pages; present
 * indices are whole huge pages.
 */
int kvm_gmem_huge_check(struct gm_host *h, struct gmem_inode *inode,
			const char **why, uint64_t *bad)
{
	const uint64_t n = huge_pages(inode);
	uint32_t i;

	(void)h;
	for (i = 0; i < inode->folios.r_nr; i++) {
		const struct rmap_run *r = &inode->folios.r_runs[i];
		unsigned int o = folio_order(r->val);
		uint64_t mask = (1ULL << o) - 1;

		*bad = r->start;
		if (!kvm_gmem_is_hugetlb(inode)) {
			if (o) {
				*why = "huge folio in a 4K file";
				return -EUCLEAN;
			}
			continue;
		}
		if ((o && o != 9 && o != inode->huge_order) ||
		    o > inode->huge_order) {
			*why = "folio order not 0, 2M or the huge order";
			return -EUCLEAN;
		}
		/* per-page flags split runs, never a folio's order */
		if (o && rmap_count(&inode->folios, r->start & ~mask,
				    (r->start & ~mask) + mask + 1) != mask + 1) {
			*why = "huge folio partly present";
			return -EUCLEAN;
		}
		if (o && !huge_folio_uniform(inode, r->start & ~mask, o)) {
			*why = "pages of one folio disagree on its order";
			return -EUCLEAN;
		}
		if (o && !attrs_all(inode, r->start, r->end,
				    KVM_MEMORY_ATTRIBUTE_PRIVATE)) {
			*why = "huge folio spans shared pages";
			return -EUCLEAN;
		}
		if ((i == 0 || inode->folios.r_runs[i - 1].end != r->start) &&
		    (r->start & (n - 1))) {
			*why = "huge page partly present";
			return -EUCLEAN;
		}
		if ((i + 1 == inode->folios.r_nr ||
		     inode->folios.r_runs[i + 1].start != r->end) &&
		    (r->end & (n - 1))) {
			*why = "huge page partly present";
			return -EUCLEAN;
		}
	}
	return 0;
}

/*
 * Private guest pages of HugeTLB-backed slots by the level KVM could map
 * them at now (folio, private range, congruence, caps, inhibits), 2M at a
 * time: "eligible for huge mappings" in §3.7.
 */
static void huge_count_mappable(struct gm_host *h, struct kvm *kvm,
				struct gm_huge_stats *st)
{
	uint32_t i;

	for (i = 0; i < kvm->nr_slots; i++) {
		struct kvm_memory_slot *slot = kvm->slots[i];
		uint64_t gfn, end = slot->base_gfn + slot->npages;
		struct gmem_inode *inode;

		if (!slot->gmem.file)
			continue;
		inode = slot->gmem.file->inode;
		if (!kvm_gmem_is_hugetlb(inode))
			continue;
		for (gfn = slot->base_gfn; gfn < end;) {
			uint64_t idx = gfn - slot->base_gfn + slot->gmem.pgoff;
			uint64_t next = ((gfn >> 9) + 1) << 9, val = 0;
			unsigned int o;

			if (next > end)
				next = end;
			if (!rmap_lookup(&inode->folios, idx, &val) ||
			    !attrs_all(inode, idx, idx + 1,
				       KVM_MEMORY_ATTRIBUTE_PRIVATE)) {
				gfn = next;
				continue;
			}
			o = kvm_gmem_max_mapping_order(h, kvm, slot, gfn, true);
			st->mappable[order_level(o)] += o ? next - gfn : 1;
			gfn = o ? next : gfn + 1;
		}
	}
}

void gm_host_huge_stats(struct gm_host *h, struct gm_huge_stats *st)
{
	struct gmem_inode *inode;
	struct kvm *kvm;
	uint32_t i;

	*st = h->huge;
	st->pool_total[0] = h->cfg.hugetlb_pool_2m;
	st->pool_total[1] = h->cfg.hugetlb_pool_1g;
	for (inode = h->inodes; inode; inode = inode->next) {
		st->attr_runs += rmap_nr_runs(&inode->attrs);
		if (!kvm_gmem_is_hugetlb(inode))
			continue;
		st->pool_reserved[pool_index(inode->huge_order)] +=
			inode->nr_huge;
		st->pool_in_use[pool_index(inode->huge_order)] +=
			rmap_count(&inode->folios, 0, UINT64_MAX) >>
			inode->huge_order;
	}
	for (kvm = h->vms; kvm; kvm = kvm->next)
		huge_count_mappable(h, kvm, st);
	for (kvm = h->vms; kvm; kvm = kvm->next)
		for (i = 0; i < kvm->sptes.r_nr; i++)
			st->mapped[order_level(GM_SPTE_ORDER(
				kvm->sptes.r_runs[i].val))] +=
				kvm->sptes.r_runs[i].end -
				kvm->sptes.r_runs[i].start;
}
