// SPDX-License-Identifier: GPL-2.0
/*
 * guest_memfd: the inode (physical storage), the file (one VM's view),
 * fallocate, the host fault handler, bind/unbind, get_pfn and memory
 * failure.  Mirrors virt/kvm/guest_memfd.c of Linux 6.18; see
 * docs/kernel-mapping.md for the function-by-function table.
 *
 * Folio state per index (docs/design.md has the diagram):
 *
 *   ABSENT --allocate--> PRESENT --first fault--> PRESENT|UPTODATE
 *      ^                    |                          |
 *      +-------punch--------+----------punch-----------+
 *   memory failure adds HWPOISON to a present folio; only punch clears it.
 */
#include <string.h>

#include "internal.h"

bool kvm_gmem_supports_mmap(const struct gmem_inode *inode)
{
	return inode->flags & GUEST_MEMFD_FLAG_MMAP;
}

bool kvm_gmem_init_shared(const struct gmem_inode *inode)
{
	return inode->flags & GUEST_MEMFD_FLAG_INIT_SHARED;
}

struct gmem_file *file_to_gmem(struct gm_file *file)
{
	if (!file || file->f_kind != GM_FILE_GMEM)
		return NULL;
	return file->private_data;
}

static uint64_t gmem_nr_pages(const struct gmem_inode *inode)
{
	return inode->i_size >> PAGE_SHIFT;
}

/* ---- folios ---- */

static unsigned int gmem_folio_flags(const struct gmem_inode *inode,
				     uint64_t index)
{
	uint64_t val;

	if (!rmap_lookup(&inode->folios, index, &val))
		return 0;
	return (unsigned int)val;
}

/*
 * kvm_gmem_get_folio(): find or create the folio at @index.  A new folio
 * is present but not uptodate: its contents are undefined until the first
 * user zeroes it.
 */
static int kvm_gmem_get_folio(struct gm_host *h, struct gmem_inode *inode,
			      uint64_t index, unsigned int *flags)
{
	unsigned int f = gmem_folio_flags(inode, index);
	int ret;

	if (!f && kvm_gmem_is_hugetlb(inode)) {
		/* the whole huge folio, from the file's reservation */
		ret = kvm_gmem_huge_alloc(h, inode, index);
		if (ret)
			return ret;
		f = gmem_folio_flags(inode, index);
	} else if (!f) {
		f = GM_FOLIO_PRESENT;
		ret = rmap_store(&inode->folios, index, index + 1, f);
		if (ret)
			return ret;
	}
	*flags = f;
	return 0;
}

/*
 * Zero a folio that is not uptodate and mark it uptodate: the whole folio
 * for a huge one (clear_highpage() of every sub-page).
 */
static int kvm_gmem_mark_uptodate(struct gm_host *h, struct gmem_inode *inode,
				  uint64_t index, unsigned int flags)
{
	unsigned int order = GM_FOLIO_ORDER(flags);
	uint64_t start = index & ~((1ULL << order) - 1);
	uint64_t end = start + (1ULL << order), idx;
	struct rmap_run run;
	int ret;

	/* a huge folio may hold stale sub-pages after a merge: scan it */
	if (flags & GM_FOLIO_UPTODATE && !order)
		return 0;
	for (idx = start; idx < end; idx = run.end) {
		uint64_t e;

		if (!rmap_lookup_run(&inode->folios, idx, &run))
			continue;
		e = run.end < end ? run.end : end;
		if (run.val & GM_FOLIO_UPTODATE)
			continue;
		ret = rmap_store(&inode->folios, idx, e,
				 run.val | GM_FOLIO_UPTODATE);
		if (ret)
			return ret;
		/* a stale folio never held written bytes */
		ret = gm_pages_drop(h, inode, idx, e);
		if (ret)
			return ret;
	}
	return 0;
}

static int gmem_truncate_prepare(struct gmem_inode *inode, uint64_t start,
				 uint64_t end);
static int gmem_truncate_range(struct gm_host *h, struct gmem_inode *inode,
			       uint64_t start, uint64_t end);

/* ---- create ---- */

static int __gmem_inode_alloc(struct gm_host *h, uint64_t size,
			      uint64_t flags, struct gmem_inode **out)
{
	struct gmem_inode *inode;

	inode = gm_zalloc(host_alloc(h), sizeof(*inode));
	if (!inode)
		return -ENOMEM;
	inode->i_size = size;
	inode->flags = flags;
	inode->i_ino = h->next_ino++;
	rmap_init(&inode->folios, host_alloc(h), true);
	rmap_init(&inode->pins, host_alloc(h), true);
	rmap_init(&inode->orphan_pins, host_alloc(h), true);
	rmap_init(&inode->attrs, host_alloc(h), true);
	rmap_init(&inode->huge_meta, host_alloc(h), true);
	*out = inode;
	return 0;
}

static int gmem_inode_alloc(struct gm_host *h, uint64_t size, uint64_t flags,
			    struct gmem_inode **out)
{
	int ret = __gmem_inode_alloc(h, size, flags, out);

	if (ret)
		return ret;
	(*out)->next = h->inodes;
	h->inodes = *out;
	return 0;
}

static void __gmem_inode_free(struct gm_host *h, struct gmem_inode *inode)
{
	kvm_gmem_hugetlb_release(h, inode);
	rmap_destroy(&inode->huge_meta);
	rmap_destroy(&inode->folios);
	rmap_destroy(&inode->pins);
	rmap_destroy(&inode->orphan_pins);
	rmap_destroy(&inode->attrs);
	gm_pages_destroy(h, inode);
	gm_free(host_alloc(h), inode);
}

/* Free the inode and every folio once no file uses it. */
void gmem_inode_put(struct gm_host *h, struct gmem_inode *inode)
{
	struct gmem_inode **pp;

	if (inode->gmem_file_list)
		return;
	for (pp = &h->inodes; *pp; pp = &(*pp)->next) {
		if (*pp == inode) {
			*pp = inode->next;
			break;
		}
	}
	__gmem_inode_free(h, inode);
}

/*
 * A memfd (shmem file) as far as the model needs one: the backing of
 * ordinary shared memory, for memslots and for comparisons with
 * guest_memfd.  Every index below i_size is faultable and zero-filled on
 * first touch; the inode is private to its struct file, so the
 * guest_memfd checkers do not see it.
 */
int shmem_inode_create(struct gm_host *h, uint64_t size,
		       struct gmem_inode **out)
{
	return __gmem_inode_alloc(h, size, GUEST_MEMFD_FLAG_MMAP, out);
}

void shmem_inode_free(struct gm_host *h, struct gmem_inode *inode)
{
	__gmem_inode_free(h, inode);
}

/* shmem_fault(): beyond EOF is SIGBUS, everything else is memory. */
int shmem_fault(struct gm_host *h, struct gmem_inode *inode, uint64_t pgoff)
{
	unsigned int flags;
	int ret;

	if (pgoff >= gmem_nr_pages(inode))
		return -EFAULT;
	ret = kvm_gmem_get_folio(h, inode, pgoff, &flags);
	if (ret)
		return ret;
	return kvm_gmem_mark_uptodate(h, inode, pgoff, flags);
}

/* Drop the pages of [start, end) (punch hole, truncate). */
int shmem_truncate_range(struct gm_host *h, struct gmem_inode *inode,
			 uint64_t start, uint64_t end)
{
	int ret = gmem_truncate_prepare(inode, start, end);

	if (ret)
		return ret;
	return gmem_truncate_range(h, inode, start, end);
}

/*
 * kvm_gmem_create(): KVM_CREATE_GUEST_MEMFD after the generic copy-in.
 * The flags are checked against what this VM supports, the size as a
 * signed loff_t that must be positive and page aligned; reserved[] is
 * ignored (probe A2).
 */
int kvm_gmem_create(struct gm_proc *p, struct kvm *kvm,
		    const struct kvm_create_guest_memfd *args)
{
	struct gm_host *h = p->host;
	int64_t size = (int64_t)args->size;
	struct gmem_inode *inode;
	struct gmem_file *f;
	struct gm_file *file;
	int fd, err;

	if (args->flags & ~kvm_gmem_get_supported_flags(h, kvm))
		return -EINVAL;
	if (size <= 0 || !PAGE_ALIGNED((uint64_t)size))
		return -EINVAL;

	f = gm_zalloc(host_alloc(h), sizeof(*f));
	if (!f)
		return -ENOMEM;
	err = gmem_inode_alloc(h, (uint64_t)size, args->flags, &inode);
	if (err)
		goto err_gmem;
	err = kvm_gmem_init_attributes(h, inode);
	if (!err)
		err = kvm_gmem_hugetlb_setup(h, inode, args->flags);
	if (err)
		goto err_inode;
	file = gm_file_alloc(h, GM_FILE_GMEM);
	if (!file) {
		err = -ENOMEM;
		goto err_inode;
	}
	file->f_ino = inode->i_ino;
	file->private_data = f;
	f->file = file;
	f->inode = inode;
	f->kvm = kvm;
	rmap_init(&f->bindings, host_alloc(h), true);

	fd = fd_install(p, file);
	if (fd < 0) {
		err = fd;
		goto err_file;
	}
	kvm_get_kvm(kvm);
	f->next = inode->gmem_file_list;
	inode->gmem_file_list = f;
	return fd;

err_file:
	gm_free(host_alloc(h), file);
err_inode:
	gmem_inode_put(h, inode);
err_gmem:
	gm_free(host_alloc(h), f);
	return err;
}

/* ---- invalidation ---- */

/*
 * 6.18 picks the filter from INIT_SHARED (the whole file is one kind); with
 * in-place conversion a file holds both kinds, so both are invalidated
 * (linux-next: "Invalidate both SHARED and PRIVATE mappings").
 */
unsigned int kvm_gmem_get_invalidate_filter(const struct gm_host *h,
					    const struct gmem_inode *inode)
{
	if (kvm_gmem_in_place(h))
		return KVM_FILTER_SHARED | KVM_FILTER_PRIVATE;
	if (kvm_gmem_init_shared(inode))
		return KVM_FILTER_SHARED;
	return KVM_FILTER_PRIVATE;
}

/*
 * Is @index private?  6.18: the host can never fault a file without
 * INIT_SHARED; inplace: the per-file attribute decides, page by page.
 */
bool kvm_gmem_is_private(const struct gm_host *h,
			 const struct gmem_inode *inode, uint64_t index)
{
	uint64_t val = 0;

	if (!kvm_gmem_in_place(h))
		return !kvm_gmem_init_shared(inode);
	rmap_lookup(&inode->attrs, index, &val);
	return val & KVM_MEMORY_ATTRIBUTE_PRIVATE;
}

/* Zap the stage-2 mappings of [start, end) of the file's bound slots. */
static void __kvm_gmem_invalidate_begin(struct gm_host *h,
					struct gmem_file *f, uint64_t start,
					uint64_t end, unsigned int filter)
{
	struct kvm *kvm = f->kvm;
	bool found_memslot = false;
	uint32_t i;

	for (i = rmap_first_after(&f->bindings, start);
	     i < f->bindings.r_nr && f->bindings.r_runs[i].start < end; i++) {
		struct kvm_memory_slot *slot =
			(void *)(uintptr_t)f->bindings.r_runs[i].val;
		uint64_t pgoff = slot->gmem.pgoff;
		uint64_t s = pgoff > start ? pgoff : start;
		uint64_t e = pgoff + slot->npages < end ? pgoff + slot->npages :
							  end;
		uint64_t gfn_start = slot->base_gfn + s - pgoff;
		uint64_t gfn_end = slot->base_gfn + e - pgoff;

		if (!found_memslot) {
			found_memslot = true;
			kvm_mmu_invalidate_begin(kvm);
		}
		kvm_mmu_invalidate_range_add(kvm, gfn_start, gfn_end);
		kvm_mmu_unmap_gfn_range(h, kvm, gfn_start, gfn_end, filter);
	}
}

void kvm_gmem_invalidate_begin(struct gm_host *h, struct gmem_inode *inode,
			       uint64_t start, uint64_t end,
			       unsigned int filter)
{
	struct gmem_file *f;

	for (f = inode->gmem_file_list; f; f = f->next)
		__kvm_gmem_invalidate_begin(h, f, start, end, filter);
}

static void __kvm_gmem_invalidate_end(struct gmem_file *f, uint64_t start,
				      uint64_t end)
{
	if (rmap_any(&f->bindings, start, end))
		kvm_mmu_invalidate_end(f->kvm);
}

void kvm_gmem_invalidate_end(struct gmem_inode *inode, uint64_t start,
			     uint64_t end)
{
	struct gmem_file *f;

	for (f = inode->gmem_file_list; f; f = f->next)
		__kvm_gmem_invalidate_end(f, start, end);
}

/* ---- fallocate ---- */

/*
 * Reserve everything gmem_truncate_range() may allocate so that it cannot
 * fail half way (the kernel's truncation cannot fail): each erase splits
 * at most one run, each orphaned pin adds at most two.
 */
static int gmem_truncate_prepare(struct gmem_inode *inode, uint64_t start,
				 uint64_t end)
{
	uint64_t npinned = rmap_count(&inode->pins, start, end);
	int ret;

	if (npinned > UINT32_MAX / 4)
		return -ENOMEM;
	ret = rmap_reserve(&inode->folios, 1);
	if (!ret)
		ret = rmap_reserve(&inode->pins, 1);
	if (!ret && npinned)
		ret = rmap_reserve(&inode->orphan_pins, 2 * (uint32_t)npinned);
	return ret;
}

/*
 * truncate_inode_pages_range() for whole pages: unmap every host PTE, then
 * drop the folios and their contents.  Pins on a removed folio keep it
 * alive outside the page cache (orphaned) until unpinned.  Cannot fail
 * after gmem_truncate_prepare().
 */
static int gmem_truncate_range(struct gm_host *h, struct gmem_inode *inode,
			       uint64_t start, uint64_t end)
{
	uint32_t i;

	unmap_mapping_range(h, inode, start, end);
	for (i = rmap_first_after(&inode->pins, start);
	     i < inode->pins.r_nr && inode->pins.r_runs[i].start < end; i++) {
		struct rmap_run *r = &inode->pins.r_runs[i];
		uint64_t s = r->start > start ? r->start : start;
		uint64_t e = r->end < end ? r->end : end;
		uint64_t idx;

		for (idx = s; idx < e; idx++) {
			uint64_t old = 0;

			rmap_lookup(&inode->orphan_pins, idx, &old);
			rmap_store(&inode->orphan_pins, idx, idx + 1,
				   old + r->val);
		}
	}
	rmap_erase(&inode->pins, start, end);
	kvm_gmem_huge_freed(h, inode, start, end);
	rmap_erase(&inode->folios, start, end);
	return gm_pages_drop(h, inode, start, end);
}

int kvm_gmem_punch_hole(struct gm_host *h, struct gmem_inode *inode,
			int64_t offset, int64_t len)
{
	uint64_t start = (uint64_t)offset >> PAGE_SHIFT;
	uint64_t end = ((uint64_t)offset + (uint64_t)len) >> PAGE_SHIFT;
	int ret;

	ret = gmem_truncate_prepare(inode, start, end);
	if (ret)
		return ret;

	kvm_gmem_invalidate_begin(h, inode, start, end,
				  kvm_gmem_get_invalidate_filter(h, inode));
	ret = gmem_truncate_range(h, inode, start, end);
	kvm_gmem_invalidate_end(inode, start, end);
	return ret;
}

static int kvm_gmem_allocate(struct gm_host *h, struct gmem_inode *inode,
			     int64_t offset, int64_t len)
{
	uint64_t start, end, idx;
	struct rmap_run run;
	int ret;

	/* the guest_memfd is immutable in size */
	if ((uint64_t)offset + (uint64_t)len > inode->i_size)
		return -EINVAL;

	start = (uint64_t)offset >> PAGE_SHIFT;
	end = ((uint64_t)offset + (uint64_t)len) >> PAGE_SHIFT;
	if (kvm_gmem_is_hugetlb(inode)) {
		/* whole huge pages, like hugetlbfs (probe B6) */
		uint64_t n = 1ULL << inode->huge_order;

		for (idx = start & ~(n - 1); idx < end; idx += n) {
			ret = kvm_gmem_huge_alloc(h, inode, idx);
			if (ret)
				return ret;
		}
		return 0;
	}
	/* fill every hole in [start, end); present folios are untouched */
	for (idx = start; idx < end; idx = run.end) {
		if (rmap_lookup_run(&inode->folios, idx, &run))
			continue;
		if (run.end > end)
			run.end = end;
		ret = rmap_store(&inode->folios, idx, run.end,
				 GM_FOLIO_PRESENT);
		if (ret)
			return ret;
	}
	return 0;
}

int kvm_gmem_fallocate(struct gm_host *h, struct gm_file *file, int mode,
		       int64_t offset, int64_t len)
{
	struct gmem_file *f = file->private_data;

	if (!(mode & GMEM_FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (mode & ~(GMEM_FALLOC_FL_KEEP_SIZE | GMEM_FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if (!PAGE_ALIGNED((uint64_t)offset) || !PAGE_ALIGNED((uint64_t)len))
		return -EINVAL;
	if (mode & GMEM_FALLOC_FL_PUNCH_HOLE) {
		if (kvm_gmem_is_hugetlb(f->inode)) {
			int ret = kvm_gmem_huge_punch_prepare(h, f->inode,
							      offset, len);

			if (ret)
				return ret;
		}
		return kvm_gmem_punch_hole(h, f->inode, offset, len);
	}
	return kvm_gmem_allocate(h, f->inode, offset, len);
}

/* ---- release ---- */

/*
 * kvm_gmem_release(): the last reference to the file is gone (no fd, no
 * VMA).  Slots bound through it lose their file, its stage-2 mappings are
 * zapped, and the VM reference is dropped.  Folios stay with the inode.
 */
void kvm_gmem_release(struct gm_host *h, struct gmem_file *f)
{
	struct gmem_inode *inode = f->inode;
	struct kvm *kvm = f->kvm;
	struct gmem_file **pp;
	uint32_t i;

	for (i = 0; i < f->bindings.r_nr; i++) {
		struct kvm_memory_slot *slot =
			(void *)(uintptr_t)f->bindings.r_runs[i].val;

		slot->gmem.file = NULL;
	}
	__kvm_gmem_invalidate_begin(h, f, 0, UINT64_MAX,
				    kvm_gmem_get_invalidate_filter(h, inode));
	__kvm_gmem_invalidate_end(f, 0, UINT64_MAX);

	for (pp = &inode->gmem_file_list; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	rmap_destroy(&f->bindings);
	gm_free(host_alloc(h), f);
	gmem_inode_put(h, inode);
	kvm_put_kvm(h, kvm);
}

/* ---- host faults ---- */

/*
 * kvm_gmem_fault_user_mapping(): a host fault at file index @pgoff.
 * Returns 0 when the page can be mapped, -EFAULT for SIGBUS (the VM_FAULT
 * code) and -ENOMEM for OOM.  Core mm refuses a hwpoisoned page after the
 * handler returned it (SIGBUS, BUS_MCEERR_AR).
 */
int kvm_gmem_fault_user_mapping(struct gm_host *h, struct gmem_inode *inode,
				uint64_t pgoff)
{
	unsigned int flags;
	int ret;

	if (pgoff >= gmem_nr_pages(inode))
		return -EFAULT;
	if (kvm_gmem_is_private(h, inode, pgoff))
		return -EFAULT;
	ret = kvm_gmem_get_folio(h, inode, pgoff, &flags);
	if (ret)
		return ret;
	ret = kvm_gmem_mark_uptodate(h, inode, pgoff, flags);
	if (ret)
		return ret;
	if (flags & GM_FOLIO_HWPOISON)
		return -EFAULT;
	return 0;
}

/*
 * Would kvm_gmem_fault_user_mapping() at @pgoff succeed?  A dry run with
 * no side effect: inside the file, shared, and a folio that is present and
 * not poisoned, or absent and a 4 KiB allocation (a huge folio comes from a
 * pool that may be empty: no).  For sim/ resolving whole runs per fault.
 */
bool kvm_gmem_fault_would_map(const struct gm_host *h,
			      const struct gmem_inode *inode, uint64_t pgoff)
{
	unsigned int f;

	if (pgoff >= gmem_nr_pages(inode))
		return false;
	if (kvm_gmem_is_private(h, inode, pgoff))
		return false;
	f = gmem_folio_flags(inode, pgoff);
	if (!f)
		return !kvm_gmem_is_hugetlb(inode);
	return !(f & GM_FOLIO_HWPOISON);
}

/* ---- memslot binding ---- */

int kvm_gmem_bind(struct gm_proc *p, struct kvm *kvm,
		  struct kvm_memory_slot *slot, unsigned int fd,
		  int64_t offset)
{
	struct gm_file *file = fget(p, (int)fd);
	uint64_t size = slot->npages << PAGE_SHIFT;
	struct gmem_inode *inode;
	struct gmem_file *f;
	uint64_t start, end;
	int ret;

	if (fd > INT32_MAX || !file)
		return -EBADF;
	f = file_to_gmem(file);
	if (!f || f->kvm != kvm)
		return -EINVAL;
	inode = f->inode;
	/*
	 * 6.18 adds offset and size as signed loff_t, so a sum past
	 * LLONG_MAX wraps negative and passes; the series' base (post-7.0,
	 * uoff_t offset) compares them unsigned and refuses it.
	 */
	if (offset < 0 || !PAGE_ALIGNED((uint64_t)offset))
		return -EINVAL;
	if (kvm_gmem_in_place(p->host) ?
		    (uint64_t)offset + size > inode->i_size :
		    (int64_t)((uint64_t)offset + size) > (int64_t)inode->i_size)
		return -EINVAL;

	start = (uint64_t)offset >> PAGE_SHIFT;
	end = start + slot->npages;
	if (rmap_any(&f->bindings, start, end))
		return -EINVAL;	/* 6.18; EEXIST after 7.0 */
	ret = rmap_store(&f->bindings, start, end, (uintptr_t)slot);
	if (ret)
		return ret;
	if (end > gmem_nr_pages(inode))
		inode->bound_past_eof = true;
	slot->gmem.file = f;
	slot->gmem.pgoff = start;
	if (kvm_gmem_supports_mmap(inode))
		slot->flags |= KVM_MEMSLOT_GMEM_ONLY;
	return 0;
}

void kvm_gmem_unbind(struct gm_host *h, struct kvm_memory_slot *slot)
{
	struct gmem_file *f = slot->gmem.file;

	(void)h;
	if (!f)
		return;
	/*
	 * Erasing exactly one slot's run never splits a run: each slot owns
	 * one run, and touching runs of two slots never coalesce.
	 */
	rmap_erase(&f->bindings, slot->gmem.pgoff,
		   slot->gmem.pgoff + slot->npages);
	slot->gmem.file = NULL;
}

/* ---- get_pfn ---- */

/*
 * kvm_gmem_get_pfn(): the folio backing @gfn of @slot, zeroed on first use.
 * Returns 0 with the file index in *index, or -EFAULT (file released),
 * -EIO (binding mismatch), -EHWPOISON, -ENOMEM.
 */
int kvm_gmem_get_pfn(struct gm_host *h, struct kvm *kvm,
		     struct kvm_memory_slot *slot, uint64_t gfn,
		     uint64_t *index)
{
	struct gmem_file *f = slot->gmem.file;
	unsigned int flags;
	uint64_t idx, val;
	int ret;

	(void)kvm;
	if (!f)
		return -EFAULT;
	idx = gfn - slot->base_gfn + slot->gmem.pgoff;
	if (!rmap_lookup(&f->bindings, idx, &val) ||
	    val != (uintptr_t)slot)
		return -EIO;
	ret = kvm_gmem_get_folio(h, f->inode, idx, &flags);
	if (ret)
		return ret;
	if (flags & GM_FOLIO_HWPOISON)
		return -EHWPOISON;
	ret = kvm_gmem_mark_uptodate(h, f->inode, idx, flags);
	if (ret)
		return ret;
	*index = idx;
	return 0;
}

/* ---- memory failure ---- */

/*
 * memory_failure() on a guest_memfd folio: user mappings are unmapped
 * (hwpoison_user_mappings), then ->error_remove_folio zaps the stage-2
 * mappings and leaves the folio in place (MF_DELAYED).
 */
int gm_gmem_poison(struct gm_proc *p, int fd, uint64_t offset)
{
	struct gmem_file *f = file_to_gmem(fget(p, fd));
	struct gm_host *h = p->host;
	struct gmem_inode *inode;
	uint64_t index;
	unsigned int flags;
	int ret;

	if (!fget(p, fd))
		return -EBADF;
	if (!f)
		return -EINVAL;
	inode = f->inode;
	if (offset >= inode->i_size)
		return -EINVAL;
	index = offset >> PAGE_SHIFT;
	flags = gmem_folio_flags(inode, index);
	if (!flags)
		return -ENOENT;
	if (flags & GM_FOLIO_HWPOISON)
		return -EHWPOISON;
	ret = rmap_store(&inode->folios, index, index + 1,
			 flags | GM_FOLIO_HWPOISON);
	if (ret)
		return ret;
	unmap_mapping_range(h, inode, index, index + 1);
	kvm_gmem_invalidate_begin(h, inode, index, index + 1,
				  kvm_gmem_get_invalidate_filter(h, inode));
	kvm_gmem_invalidate_end(inode, index, index + 1);
	return 0;
}

/* ---- pins ---- */

/*
 * A pin is what GUP through a host mapping takes (vmsplice, O_DIRECT,
 * io_uring): the page must be host-faultable, so without INIT_SHARED (or
 * past EOF, or hwpoisoned) it fails with EFAULT as in probe A9.
 */
int gm_gmem_pin(struct gm_proc *p, int fd, uint64_t offset)
{
	struct gmem_file *f = file_to_gmem(fget(p, fd));
	struct gmem_inode *inode;
	uint64_t index, old = 0;
	int ret;

	if (!fget(p, fd))
		return -EBADF;
	if (!f)
		return -EINVAL;
	inode = f->inode;
	if (!kvm_gmem_supports_mmap(inode))
		return -EFAULT;	/* nothing to GUP through */
	index = offset >> PAGE_SHIFT;
	ret = kvm_gmem_fault_user_mapping(p->host, inode, index);
	if (ret)
		return ret;
	rmap_lookup(&inode->pins, index, &old);
	return rmap_store(&inode->pins, index, index + 1, old + 1);
}

int gm_gmem_unpin(struct gm_proc *p, int fd, uint64_t offset)
{
	struct gmem_file *f = file_to_gmem(fget(p, fd));
	struct gmem_inode *inode;
	uint64_t index, old = 0;
	struct rmap *map;

	if (!fget(p, fd))
		return -EBADF;
	if (!f)
		return -EINVAL;
	inode = f->inode;
	index = offset >> PAGE_SHIFT;
	/* the oldest reference goes first: one on a punched-out folio */
	map = &inode->orphan_pins;
	if (!rmap_lookup(map, index, &old)) {
		map = &inode->pins;
		if (!rmap_lookup(map, index, &old))
			return -EINVAL;
	}
	if (old == 1)
		return rmap_erase(map, index, index + 1);
	return rmap_store(map, index, index + 1, old - 1);
}

/* ---- queries ---- */

/*
 * Upstream 6.18 has one shareability for the whole file: INIT_SHARED
 * makes every index host-faultable (shared), otherwise all are private.
 */
int gm_gmem_state(struct gm_proc *p, int fd, uint64_t offset, uint64_t len)
{
	struct gmem_file *f = file_to_gmem(fget(p, fd));

	if (!fget(p, fd))
		return -EBADF;
	if (!f)
		return -EINVAL;
	if (!len || offset + len < offset || offset + len > f->inode->i_size ||
	    !PAGE_ALIGNED(offset) || !PAGE_ALIGNED(len))
		return -EINVAL;
	if (kvm_gmem_in_place(p->host)) {
		uint64_t start = offset >> PAGE_SHIFT;
		uint64_t end = (offset + len) >> PAGE_SHIFT;
		struct rmap_run run;

		rmap_lookup_run(&f->inode->attrs, start, &run);
		if (run.end < end)
			return GM_STATE_MIXED;
		return run.val ? GM_STATE_PRIVATE : GM_STATE_SHARED;
	}
	return kvm_gmem_init_shared(f->inode) ? GM_STATE_SHARED :
						GM_STATE_PRIVATE;
}

int gm_gmem_peek(struct gm_proc *p, int fd, uint64_t offset, void *buf,
		 size_t len)
{
	struct gm_file *file = fget(p, fd);
	struct gmem_file *f = file_to_gmem(file);
	uint8_t *out = buf;

	if (!file)
		return -EBADF;
	if (!f || offset + len < offset || offset + len > f->inode->i_size)
		return -EINVAL;
	while (len) {
		unsigned int off = (unsigned int)(offset & (PAGE_SIZE - 1));
		unsigned int n = PAGE_SIZE - off;

		if (n > len)
			n = (unsigned int)len;
		gm_page_read_range(f->inode, offset >> PAGE_SHIFT, off, out, n);
		out += n;
		offset += n;
		len -= n;
	}
	return 0;
}

int gm_gmem_info(struct gm_proc *p, int fd, struct gm_gmem_info *info)
{
	struct gmem_file *f = file_to_gmem(fget(p, fd));
	struct gmem_inode *inode;
	struct gmem_file *it;
	uint32_t i;

	if (!fget(p, fd))
		return -EBADF;
	if (!f)
		return -EINVAL;
	inode = f->inode;
	memset(info, 0, sizeof(*info));
	info->size = inode->i_size;
	info->flags = inode->flags;
	info->ino = inode->i_ino;
	for (i = 0; i < inode->folios.r_nr; i++) {
		const struct rmap_run *r = &inode->folios.r_runs[i];
		uint64_t n = r->end - r->start;

		info->nr_present += n;
		if (r->val & GM_FOLIO_UPTODATE)
			info->nr_uptodate += n;
		if (r->val & GM_FOLIO_HWPOISON)
			info->nr_poisoned += n;
	}
	for (i = 0; i < inode->pins.r_nr; i++)
		info->nr_pins += (inode->pins.r_runs[i].end -
				  inode->pins.r_runs[i].start) *
				 inode->pins.r_runs[i].val;
	for (i = 0; i < inode->orphan_pins.r_nr; i++)
		info->nr_pins += (inode->orphan_pins.r_runs[i].end -
				  inode->orphan_pins.r_runs[i].start) *
				 inode->orphan_pins.r_runs[i].val;
	info->nr_bindings = f->bindings.r_nr;
	for (it = inode->gmem_file_list; it; it = it->next)
		info->nr_files++;
	info->file_refs = f->file->f_count;
	info->vm_alive = f->kvm != NULL;
	info->nr_attr_runs = rmap_nr_runs(&inode->attrs);
	for (i = 0; i < inode->attrs.r_nr; i++)
		if (inode->attrs.r_runs[i].val)
			info->nr_private += inode->attrs.r_runs[i].end -
					    inode->attrs.r_runs[i].start;
	info->nr_conversions = inode->nr_conversions;
	info->nr_make_shared = inode->nr_make_shared;
	return 0;
}

int gm_gmem_folio_flags(struct gm_proc *p, int fd, uint64_t index,
			unsigned int *flags)
{
	struct gmem_file *f = file_to_gmem(fget(p, fd));

	if (!fget(p, fd))
		return -EBADF;
	if (!f)
		return -EINVAL;
	*flags = gmem_folio_flags(f->inode, index);
	return 0;
}
