// SPDX-License-Identifier: GPL-2.0
/*
 * In-place shared<->private conversion on the guest_memfd (profile
 * `inplace`): the per-file attribute map and KVM_SET_MEMORY_ATTRIBUTES2.
 *
 * Source: Ackerley Tng's in-place conversion series, v8 (2026-06-18), as
 * queued in linux-next (inflight-series.md §2, §6.1); every rule below names
 * the item of §6.1 it implements.
 *
 * Conversion of [start, end) to @target, all under the exclusive
 * invalidate_lock in the kernel (atomic here):
 *
 *   validate --EINVAL--> fail, nothing touched                  (§6.1.2)
 *      |
 *   already @target? --yes--> return 0, nothing touched          (§6.1.3)
 *      |
 *   preallocate the attribute store --ENOMEM--> fail,
 *      |                            error_offset = start         (§6.1.4)
 *   [to private] unmap host PTEs in every process,
 *      |         refcount check (+1 LRU drain retry)
 *      |         --EAGAIN--> fail, error_offset = first bad page,
 *      |                     unmap not rolled back              (§6.1.5)
 *   invalidate begin on every VM bound to the inode: zap both
 *      |   kinds of stage-2 mapping                             (§6.1.6)
 *   [to shared] arch make-shared hook on populated pages        (§6.1.6)
 *   platform content effect (preserve / zero / scramble)        (§6.1.9)
 *      |
 *   store the attribute (cannot fail), invalidate end -> 0
 *
 * The whole request is all-or-nothing (§6.1.10, 4K series).
 */
#include <string.h>

#include "internal.h"

bool kvm_gmem_in_place(const struct gm_host *h)
{
	return h->cfg.profile >= GM_PROFILE_INPLACE;
}

/* Every index starts shared with INIT_SHARED, private otherwise (§6.1.1). */
int kvm_gmem_init_attributes(struct gm_host *h, struct gmem_inode *inode)
{
	uint64_t val = kvm_gmem_init_shared(inode) ?
			       0 :
			       KVM_MEMORY_ATTRIBUTE_PRIVATE;

	if (!kvm_gmem_in_place(h))
		return 0;
	return rmap_store(&inode->attrs, 0, inode->i_size >> PAGE_SHIFT, val);
}

static bool kvm_gmem_range_is(const struct gmem_inode *inode, uint64_t start,
			      uint64_t end, uint64_t val)
{
	struct rmap_run run;

	rmap_lookup_run(&inode->attrs, start, &run);
	return run.val == val && run.end >= end;
}

/*
 * The refcount safety check: a folio may change hands only when nobody
 * but the page cache (and the checker) holds it.  Extra references in the
 * model are pins (GUP, vmsplice, IOMMU); host mappings were unmapped just
 * before.  Returns the first offending index, or @end.
 */
static uint64_t kvm_gmem_first_unsafe(const struct gmem_inode *inode,
				      uint64_t start, uint64_t end)
{
	uint32_t i = rmap_first_after(&inode->pins, start);

	if (i < inode->pins.r_nr && inode->pins.r_runs[i].start < end)
		return inode->pins.r_runs[i].start > start ?
			       inode->pins.r_runs[i].start :
			       start;
	return end;
}

/* The VM type whose platform semantics apply to this file's pages. */
static enum gm_vm_type gmem_platform(const struct gmem_inode *inode)
{
	const struct gmem_file *f = inode->gmem_file_list;

	return f && f->kvm ? f->kvm->type : GM_VM_DEFAULT;
}

/*
 * Apply @fn to each part of [start, end) whose attribute is not @target
 * yet: pages already at the target are not converted and keep their
 * contents.
 */
static int kvm_gmem_for_each_changing(
	struct gm_host *h, struct gmem_inode *inode, uint64_t start,
	uint64_t end, uint64_t target,
	int (*fn)(struct gm_host *h, struct gmem_inode *inode, uint64_t s,
		  uint64_t e))
{
	struct rmap_run run;
	uint64_t idx, e;
	int ret;

	for (idx = start; idx < end; idx = run.end) {
		rmap_lookup_run(&inode->attrs, idx, &run);
		e = run.end < end ? run.end : end;
		if (run.val == target)
			continue;
		ret = fn(h, inode, idx, e);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Call @fn(h, inode, index) for every uptodate (populated) page of
 * [start, end); stop at the first error.
 */
static int for_each_uptodate_page(struct gm_host *h, struct gmem_inode *inode,
				  uint64_t start, uint64_t end,
				  int (*fn)(struct gm_host *h,
					    struct gmem_inode *inode,
					    uint64_t index))
{
	uint32_t i;
	int ret;

	for (i = rmap_first_after(&inode->folios, start);
	     i < inode->folios.r_nr && inode->folios.r_runs[i].start < end;
	     i++) {
		const struct rmap_run *r = &inode->folios.r_runs[i];
		uint64_t s = r->start > start ? r->start : start;
		uint64_t e = r->end < end ? r->end : end;
		uint64_t idx;

		if (!(r->val & GM_FOLIO_UPTODATE))
			continue;
		for (idx = s; idx < e; idx++) {
			ret = fn(h, inode, idx);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int tdx_page_clear(struct gm_host *h, struct gmem_inode *inode,
			  uint64_t index)
{
	return gm_pages_drop(h, inode, index, index + 1);
}

static int snp_page_scramble(struct gm_host *h, struct gmem_inode *inode,
			     uint64_t index)
{
	return gm_page_scramble(h, inode, index, inode->nr_conversions);
}

/*
 * What the platform does to the contents of populated pages on conversion
 * (§6.1.9; issue 4 item 5): SW_PROTECTED and pKVM preserve them; TDX hands
 * back zeroed pages on to-shared (page removal clears them) and after the
 * guest re-accepts on to-private; SNP exposes ciphertext, modelled as a
 * pseudo-random pattern per (page, offset, conversion) that never equals
 * the old byte (gm_page_scramble()).
 */
static int __kvm_gmem_platform_convert(struct gm_host *h,
				       struct gmem_inode *inode, uint64_t start,
				       uint64_t end)
{
	switch (gmem_platform(inode)) {
	case GM_VM_TDX:
		return for_each_uptodate_page(h, inode, start, end,
					      tdx_page_clear);
	case GM_VM_SNP:
		return for_each_uptodate_page(h, inode, start, end,
					      snp_page_scramble);
	default:
		return 0;
	}
}

/*
 * Allocate what the platform effect will need before the point of no
 * return: SNP scrambles whole pages, so every populated page in the range
 * gets its full buffer now (contents unchanged if this fails half way).
 */
static int __kvm_gmem_platform_prepare(struct gm_host *h,
				       struct gmem_inode *inode, uint64_t start,
				       uint64_t end)
{
	if (gmem_platform(inode) != GM_VM_SNP)
		return 0;
	return for_each_uptodate_page(h, inode, start, end,
				      gm_page_prepare_dense);
}

/* The arch make-shared hook (SNP: RMP back to hypervisor-owned). */
static int kvm_arch_gmem_make_shared(struct gm_host *h,
				     struct gmem_inode *inode, uint64_t start,
				     uint64_t end)
{
	(void)h;
	inode->nr_make_shared += rmap_count(&inode->folios, start, end);
	return 0;
}

/*
 * Convert [start, end) all-or-nothing: the whole request in the 4K series,
 * one huge page's batch in the HugeTLB WIP (then folios are split before
 * the store and merged after it, §6.2.3 and §6.2.5).
 */
static int __kvm_gmem_convert(struct gm_host *h, struct gmem_inode *inode,
			      struct kvm_memory_attributes2 *a,
			      uint64_t start, uint64_t end, uint64_t target)
{
	bool to_private = target & KVM_MEMORY_ATTRIBUTE_PRIVATE;
	struct gmem_huge_overlay ov = { start, end, target };
	uint64_t bad, base = 0;
	int ret;

	/* §6.1.4: the only allocation; past it nothing can fail but EAGAIN */
	ret = gm_alloc_may_fail(host_alloc(h));
	if (!ret)
		ret = rmap_reserve(&inode->attrs, 2);
	if (!ret)
		ret = kvm_gmem_for_each_changing(h, inode, start, end, target,
						 __kvm_gmem_platform_prepare);
	/* HugeTLB: what splitting and merging will store, reserved now */
	if (!ret && kvm_gmem_is_hugetlb(inode))
		ret = rmap_reserve(&inode->folios,
				   2 * (1U << (inode->huge_order - 9)) + 4);
	if (!ret && kvm_gmem_is_hugetlb(inode))
		ret = rmap_reserve(&inode->huge_meta, 2);
	if (ret) {
		a->error_offset = start << PAGE_SHIFT;
		return ret;
	}

	if (to_private) {
		/* §6.1.5: revoke host access first, in every process */
		unmap_mapping_range(h, inode, start, end);
		/* one LRU drain and a recheck: pins survive it */
		bad = kvm_gmem_first_unsafe(inode, start, end);
		if (bad < end)
			bad = kvm_gmem_first_unsafe(inode, start, end);
		if (bad < end) {
			a->error_offset = bad << PAGE_SHIFT;
			if (a->error_offset < a->offset)
				a->error_offset = a->offset;
			h->huge.eagain++;
			return -EAGAIN;
		}
	}

	/* §6.1.6: zap both kinds of stage-2 mapping in every bound VM */
	kvm_gmem_invalidate_begin(h, inode, start, end,
				  KVM_FILTER_SHARED | KVM_FILTER_PRIVATE);
	if (kvm_gmem_is_hugetlb(inode)) {
		base = start & ~((1ULL << inode->huge_order) - 1);
		/* split for the new attributes before storing them */
		ret = kvm_gmem_huge_restructure(h, inode, base, false, &ov);
		if (ret) {
			kvm_gmem_invalidate_end(inode, start, end);
			a->error_offset = start << PAGE_SHIFT;
			return ret;
		}
	}
	if (!to_private)
		kvm_gmem_for_each_changing(h, inode, start, end, target,
					   kvm_arch_gmem_make_shared);
	/* prepared above: cannot fail */
	kvm_gmem_for_each_changing(h, inode, start, end, target,
				   __kvm_gmem_platform_convert);
	rmap_store(&inode->attrs, start, end, target);
	inode->nr_conversions++;
	if (kvm_gmem_is_hugetlb(inode)) {
		/* merging allocates nothing: it cannot fail */
		kvm_gmem_huge_restructure(h, inode, base, to_private, NULL);
		kvm_gmem_huge_tick(h, inode);
	}
	kvm_gmem_invalidate_end(inode, start, end);
	return 0;
}

static int kvm_gmem_convert(struct gm_host *h, struct gmem_file *f,
			    struct kvm_memory_attributes2 *a)
{
	struct gmem_inode *inode = f->inode;
	uint64_t start = a->offset >> PAGE_SHIFT;
	uint64_t end = (a->offset + a->size) >> PAGE_SHIFT;
	uint64_t target = a->attributes, s, e;
	unsigned int i;
	int ret;

	/* §6.1.2: every check before any side effect */
	if (a->flags)
		return -EINVAL;
	for (i = 0; i < sizeof(a->reserved) / sizeof(a->reserved[0]); i++)
		if (a->reserved[i])
			return -EINVAL;
	if (a->attributes & ~kvm_gmem_supported_attributes(h, f->kvm))
		return -EINVAL;
	if (!a->size || a->offset + a->size < a->offset)
		return -EINVAL;
	if (!PAGE_ALIGNED(a->offset) || !PAGE_ALIGNED(a->size))
		return -EINVAL;
	if (a->offset + a->size > inode->i_size)
		return -EINVAL;

	/* §6.1.3: nothing to do, nothing touched */
	if (kvm_gmem_range_is(inode, start, end, target))
		return 0;
	if (!kvm_gmem_is_hugetlb(inode))
		return __kvm_gmem_convert(h, inode, a, start, end, target);

	/*
	 * HugeTLB WIP (§3.2, §6.1.10): one huge page at a time; a failed
	 * batch leaves the earlier ones converted.
	 */
	for (s = start; s < end; s = e) {
		uint64_t n = 1ULL << inode->huge_order;

		e = ((s & ~(n - 1)) + n) < end ? (s & ~(n - 1)) + n : end;
		if (kvm_gmem_range_is(inode, s, e, target))
			continue;
		ret = __kvm_gmem_convert(h, inode, a, s, e, target);
		if (ret)
			return ret;
	}
	return 0;
}

long kvm_gmem_ioctl(struct gm_proc *p, struct gm_file *file,
		    unsigned long cmd, unsigned long arg)
{
	struct gmem_file *f = file->private_data;

	/* VM-attribute mode (6.18): the guest_memfd has no ioctls (§6.1.11) */
	if (!kvm_gmem_in_place(p->host))
		return -ENOTTY;
	switch (cmd) {
	case KVM_SET_MEMORY_ATTRIBUTES2:
		if (!arg)
			return -EFAULT;
		return kvm_gmem_convert(p->host, f,
					(struct kvm_memory_attributes2 *)arg);
	default:
		return -ENOTTY;
	}
}
