// SPDX-License-Identifier: GPL-2.0
/*
 * Host mappings: mmap, munmap, madvise, mincore and the page fault path of a
 * guest_memfd VMA.  The checks follow mm/mmap.c do_mmap() and
 * arch/x86/kernel/sys_x86_64.c in the kernel's order, so the errno is the
 * kernel's when several arguments are wrong at once (probe A6).
 *
 * guest_memfd and memfd (shmem, MAP_SHARED) files can be mapped; other
 * files answer as the kernel would up to the point where their ->mmap
 * would run.
 */
#include <signal.h>
#include <string.h>

#include "internal.h"

#define GM_MMAP_BASE 0x00007f0000000000ULL
#define GM_LEGACY_MAP_MASK                                                 \
	(GMEM_MAP_SHARED | GMEM_MAP_PRIVATE | GMEM_MAP_FIXED |              \
	 GMEM_MAP_ANONYMOUS | 0x0100 /* GROWSDOWN */ |                     \
	 0x0800 /* DENYWRITE */ | 0x1000 /* EXECUTABLE */ |               \
	 0x2000 /* LOCKED */ | 0x4000 /* NORESERVE */ | GMEM_MAP_POPULATE | \
	 0x10000 /* NONBLOCK */ | 0x20000 /* STACK */ |                   \
	 0x40000 /* HUGETLB */ | 0x4000000 /* UNINITIALIZED */)

static struct gmem_inode *vma_gmem_inode(const struct gm_vma *vma)
{
	struct gmem_file *f = file_to_gmem(vma->vm_file);

	return f ? f->inode : NULL;
}

/* The inode backing @vma: a guest_memfd's or a memfd's. */
static struct gmem_inode *vma_inode(const struct gm_vma *vma)
{
	if (vma->vm_file->f_kind == GM_FILE_MEMFD)
		return vma->vm_file->private_data;
	return vma_gmem_inode(vma);
}

static uint64_t vma_index(const struct gm_vma *vma, uint64_t addr)
{
	return vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT);
}

static struct gm_vma *find_vma(struct gm_proc *p, uint64_t addr)
{
	struct gm_vma *vma;

	for (vma = p->vmas; vma; vma = vma->next)
		if (addr >= vma->vm_start && addr < vma->vm_end)
			return vma;
	return NULL;
}

/*
 * get_unmapped_area(): the highest gap under the mmap base that fits
 * (top-down), else the lowest gap anywhere in the user range (the kernel's
 * bottom-up fallback).
 */
static int get_unmapped_area(struct gm_proc *p, uint64_t len, uint64_t *out)
{
	uint64_t lo = GM_MMAP_MIN_ADDR, gap_end;
	struct gm_vma *vma;
	bool found = false;

	if (len > GM_TASK_SIZE - GM_MMAP_MIN_ADDR)
		return -ENOMEM;
	for (vma = p->vmas;; vma = vma->next) {
		gap_end = vma ? vma->vm_start : GM_TASK_SIZE;
		if (gap_end > GM_MMAP_BASE)
			gap_end = GM_MMAP_BASE;
		if (gap_end > lo && gap_end - lo >= len) {
			*out = gap_end - len;
			found = true;
		}
		if (!vma)
			break;
		if (vma->vm_end > lo)
			lo = vma->vm_end;
	}
	if (found)
		return 0;
	lo = GM_MMAP_MIN_ADDR;
	for (vma = p->vmas;; vma = vma->next) {
		gap_end = vma ? vma->vm_start : GM_TASK_SIZE;
		if (gap_end > lo && gap_end - lo >= len) {
			*out = lo;
			return 0;
		}
		if (!vma)
			break;
		if (vma->vm_end > lo)
			lo = vma->vm_end;
	}
	return -ENOMEM;
}

static void vma_link(struct gm_proc *p, struct gm_vma *vma)
{
	struct gm_vma **pp;

	for (pp = &p->vmas; *pp && (*pp)->vm_start < vma->vm_start;
	     pp = &(*pp)->next)
		;
	vma->next = *pp;
	*pp = vma;
}

static void vma_free(struct gm_host *h, struct gm_vma *vma)
{
	rmap_destroy(&vma->ptes);
	fput(h, vma->vm_file);
	gm_free(host_alloc(h), vma);
}

static int do_munmap(struct gm_proc *p, uint64_t start, uint64_t end);

/* kvm_gmem_mmap(): the file's ->mmap. */
static int kvm_gmem_mmap(struct gm_file *file, int flags)
{
	struct gmem_file *f = file->private_data;

	if (!kvm_gmem_supports_mmap(f->inode))
		return -ENODEV;
	/* VM_SHARED|VM_MAYSHARE: MAP_SHARED or MAP_SHARED_VALIDATE */
	if ((flags & GMEM_MAP_TYPE) == GMEM_MAP_PRIVATE)
		return -EINVAL;
	return 0;
}

/*
 * One host fault on @vma at @addr: returns 0 once a PTE maps the page,
 * -EFAULT for SIGBUS, -ENOMEM when the model ran out of memory.
 */
static int handle_mm_fault(struct gm_host *h, struct gm_vma *vma,
			   uint64_t addr)
{
	struct gmem_inode *inode = vma_inode(vma);
	uint64_t index = vma_index(vma, addr);
	int ret;

	if (rmap_lookup(&vma->ptes, index, NULL))
		return 0;
	if (!inode)
		return -EFAULT;
	if (vma->vm_file->f_kind == GM_FILE_MEMFD)
		ret = shmem_fault(h, inode, index);
	else
		ret = kvm_gmem_fault_user_mapping(h, inode, index);
	if (ret)
		return ret;
	return rmap_store(&vma->ptes, index, index + 1, 1);
}

/* Populate [start, end) of @vma; the first failure stops it. */
static int populate_vma_range(struct gm_host *h, struct gm_vma *vma,
			      uint64_t start, uint64_t end, bool write)
{
	uint64_t addr;
	int ret;

	/* faultin_page_range(): bad permissions are EINVAL, SIGBUS EFAULT */
	if (write && !(vma->vm_prot & GMEM_PROT_WRITE))
		return -EINVAL;
	if (!(vma->vm_prot & (GMEM_PROT_READ | GMEM_PROT_WRITE)))
		return -EINVAL;
	for (addr = start; addr < end; addr += PAGE_SIZE) {
		ret = handle_mm_fault(h, vma, addr);
		if (ret)
			return ret == -ENOMEM ? -ENOMEM : -EFAULT;
	}
	return 0;
}

int gm_mmap(struct gm_proc *p, uint64_t len, int prot, int flags, int fd,
	    uint64_t offset, uint64_t *addr)
{
	uint64_t hint = addr ? *addr : 0;
	struct gm_host *h = p->host;
	struct gm_file *file;
	struct gm_vma *vma;
	uint64_t pgoff, start;
	int ret;

	if (addr)
		*addr = 0;
	/* sys_mmap() on x86-64 checks the offset before anything else */
	if (!PAGE_ALIGNED(offset))
		return -EINVAL;
	pgoff = offset >> PAGE_SHIFT;
	if (flags & GMEM_MAP_ANONYMOUS)
		return -EINVAL;	/* the model maps files only */
	file = fget(p, fd);
	if (!file)
		return -EBADF;
	/* MAP_HUGETLB on a file that is not hugetlbfs */
	if (flags & 0x40000)
		return -EINVAL;

	/* do_mmap() */
	if (!len)
		return -EINVAL;
	if (len > UINT64_MAX - (PAGE_SIZE - 1))
		return -ENOMEM;
	len = (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	if (pgoff + (len >> PAGE_SHIFT) < pgoff)
		return -EOVERFLOW;
	if (flags & GMEM_MAP_FIXED) {
		/* the caller's address, replacing what is mapped there */
		if (hint > GM_TASK_SIZE - len || len > GM_TASK_SIZE)
			return -ENOMEM;
		if (!PAGE_ALIGNED(hint))
			return -EINVAL;
		start = hint;	/* root passes security_mmap_addr() */
	} else {
		ret = get_unmapped_area(p, len, &start);
		if (ret)
			return ret;
	}

	/* file_mmap_ok(): every mappable kind here is a regular file */
	if (file->f_kind == GM_FILE_GMEM || file->f_kind == GM_FILE_MEMFD) {
		uint64_t maxsize = (uint64_t)GM_LLONG_MAX;

		if (len > maxsize || pgoff > (maxsize - len) >> PAGE_SHIFT)
			return -EOVERFLOW;
	}
	switch (flags & GMEM_MAP_TYPE) {
	case GMEM_MAP_SHARED:
		flags &= GM_LEGACY_MAP_MASK;
		/* fallthrough */
	case GMEM_MAP_SHARED_VALIDATE:
		if (flags & ~GM_LEGACY_MAP_MASK)
			return -EOPNOTSUPP;	/* no MAP_SYNC support */
		/* fallthrough */
	case GMEM_MAP_PRIVATE:
		/* the guest_memfd mount is noexec */
		if (prot & GMEM_PROT_EXEC && file->f_kind == GM_FILE_GMEM)
			return -EPERM;
		if (file->f_kind != GM_FILE_GMEM &&
		    file->f_kind != GM_FILE_MEMFD)
			return -ENODEV;	/* no ->mmap */
		break;
	default:
		return -EINVAL;
	}
	/* mmap_region(): the file's ->mmap decides last */
	if (file->f_kind == GM_FILE_GMEM) {
		ret = kvm_gmem_mmap(file, flags);
		if (ret)
			return ret;
	} else if ((flags & GMEM_MAP_TYPE) == GMEM_MAP_PRIVATE) {
		return -EOPNOTSUPP;	/* model: no copy-on-write memory */
	}
	if (flags & GMEM_MAP_FIXED) {
		ret = do_munmap(p, start, start + len);
		if (ret)
			return ret;
	}

	vma = gm_zalloc(host_alloc(h), sizeof(*vma));
	if (!vma)
		return -ENOMEM;
	vma->vm_start = start;
	vma->vm_end = start + len;
	vma->vm_pgoff = pgoff;
	vma->vm_prot = prot & (GMEM_PROT_READ | GMEM_PROT_WRITE |
			       GMEM_PROT_EXEC);
	vma->vm_file = file;
	rmap_init(&vma->ptes, host_alloc(h), true);
	get_file(file);
	vma_link(p, vma);
	if (addr)
		*addr = start;
	/* MAP_POPULATE: errors are ignored (probe A6) */
	if (flags & GMEM_MAP_POPULATE)
		populate_vma_range(h, vma, vma->vm_start, vma->vm_end,
				   vma->vm_prot & GMEM_PROT_WRITE);
	return 0;
}

/* Split @vma at @addr; the new upper part follows it in the list. */
static int split_vma(struct gm_host *h, struct gm_vma *vma, uint64_t addr)
{
	struct gm_vma *new;
	uint64_t split_index = vma_index(vma, addr);
	uint32_t i;
	int ret;

	new = gm_zalloc(host_alloc(h), sizeof(*new));
	if (!new)
		return -ENOMEM;
	*new = *vma;
	new->vm_start = addr;
	new->vm_pgoff = split_index;
	rmap_init(&new->ptes, host_alloc(h), true);
	for (i = rmap_first_after(&vma->ptes, split_index);
	     i < vma->ptes.r_nr; i++) {
		struct rmap_run *r = &vma->ptes.r_runs[i];
		uint64_t s = r->start > split_index ? r->start : split_index;

		ret = rmap_store(&new->ptes, s, r->end, r->val);
		if (ret)
			goto err_ptes;
	}
	ret = rmap_erase(&vma->ptes, split_index, UINT64_MAX);
	if (ret)
		goto err_ptes;
	vma->vm_end = addr;
	get_file(new->vm_file);
	vma->next = new;
	return 0;

err_ptes:
	rmap_destroy(&new->ptes);
	gm_free(host_alloc(h), new);
	return ret;
}

/*
 * KVM's mmu notifier: an HVA range of this process went away; zap the
 * stage-2 mappings of memslots whose userspace range overlaps it.
 */
static void kvm_mmu_notifier_invalidate(struct gm_proc *p, uint64_t start,
					uint64_t end)
{
	struct kvm *kvm;
	uint32_t i;

	for (kvm = p->host->vms; kvm; kvm = kvm->next) {
		bool begun = false;

		if (kvm->mm != p)
			continue;
		for (i = 0; i < kvm->nr_slots; i++) {
			struct kvm_memory_slot *slot = kvm->slots[i];
			uint64_t hva = slot->userspace_addr;
			uint64_t hva_end = hva + (slot->npages << PAGE_SHIFT);
			uint64_t s, e;

			if (hva_end <= start || hva >= end)
				continue;
			s = hva > start ? hva : start;
			e = hva_end < end ? hva_end : end;
			if (!begun) {
				kvm_mmu_invalidate_begin(kvm);
				begun = true;
			}
			s = slot->base_gfn + ((s - hva) >> PAGE_SHIFT);
			e = slot->base_gfn + ((e - hva + PAGE_SIZE - 1) >>
					      PAGE_SHIFT);
			kvm_mmu_invalidate_range_add(kvm, s, e);
			kvm_mmu_unmap_gfn_range(p->host, kvm, s, e,
						KVM_FILTER_SHARED);
		}
		if (begun)
			kvm_mmu_invalidate_end(kvm);
	}
}

static int do_munmap(struct gm_proc *p, uint64_t start, uint64_t end)
{
	struct gm_host *h = p->host;
	struct gm_vma **pp, *vma;
	int ret;

	/* split the VMAs straddling either end first; nothing freed yet */
	vma = find_vma(p, start);
	if (vma && vma->vm_start < start) {
		ret = split_vma(h, vma, start);
		if (ret)
			return ret;
	}
	vma = find_vma(p, end - 1);
	if (vma && vma->vm_end > end) {
		ret = split_vma(h, vma, end);
		if (ret)
			return ret;
	}
	kvm_mmu_notifier_invalidate(p, start, end);
	for (pp = &p->vmas; *pp;) {
		vma = *pp;
		if (vma->vm_start >= start && vma->vm_end <= end) {
			*pp = vma->next;
			vma_free(h, vma);
			continue;
		}
		pp = &vma->next;
	}
	return 0;
}

int gm_munmap(struct gm_proc *p, uint64_t addr, uint64_t len)
{
	if (!PAGE_ALIGNED(addr) || addr > GM_TASK_SIZE)
		return -EINVAL;
	if (!len || len > GM_TASK_SIZE - addr)
		return -EINVAL;
	len = (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	if (len > GM_TASK_SIZE - addr)
		return -EINVAL;
	return do_munmap(p, addr, addr + len);
}

/*
 * dup_mmap() for fork: the child gets every mapping at the same address.
 * Shared file mappings copy no PTEs (the child refaults the same pages).
 */
int gm_proc_dup_mmap(struct gm_proc *parent, struct gm_proc *child)
{
	struct gm_host *h = parent->host;
	struct gm_vma *vma, *new, **tail = &child->vmas;

	for (vma = parent->vmas; vma; vma = vma->next) {
		new = gm_zalloc(host_alloc(h), sizeof(*new));
		if (!new)
			return -ENOMEM;
		*new = *vma;
		new->next = NULL;
		rmap_init(&new->ptes, host_alloc(h), true);
		get_file(new->vm_file);
		*tail = new;
		tail = &new->next;
	}
	return 0;
}

void gm_proc_unmap_all(struct gm_proc *p)
{
	struct gm_vma *vma;

	while ((vma = p->vmas)) {
		p->vmas = vma->next;
		kvm_mmu_notifier_invalidate(p, vma->vm_start, vma->vm_end);
		vma_free(p->host, vma);
	}
}

/*
 * unmap_mapping_range(): drop the PTEs of file indices [start, end) of
 * @inode in every process.  Zapping a VMA's range runs the mmu notifiers,
 * so KVM drops stage-2 mappings made through those addresses too.
 */
void unmap_mapping_range(struct gm_host *h, struct gmem_inode *inode,
			 uint64_t start, uint64_t end)
{
	struct gm_proc *p;
	struct gm_vma *vma;

	for (p = h->procs; p; p = p->next) {
		for (vma = p->vmas; vma; vma = vma->next) {
			uint64_t nr = (vma->vm_end - vma->vm_start) >>
				      PAGE_SHIFT;
			uint64_t s, e;

			if (vma_inode(vma) != inode)
				continue;
			s = start > vma->vm_pgoff ? start : vma->vm_pgoff;
			e = end < vma->vm_pgoff + nr ? end : vma->vm_pgoff + nr;
			if (s >= e)
				continue;
			kvm_mmu_notifier_invalidate(
				p, vma->vm_start + ((s - vma->vm_pgoff) << PAGE_SHIFT),
				vma->vm_start + ((e - vma->vm_pgoff) << PAGE_SHIFT));
			/*
			 * A PTE run is clipped to one VMA's index span, and an
			 * erase inside a run splits it; the reservation keeps
			 * this path from failing.
			 */
			if (rmap_reserve(&vma->ptes, 1) == 0)
				rmap_erase(&vma->ptes, start, end);
			else
				rmap_destroy(&vma->ptes);
		}
	}
}

/* Apply @fn to each VMA piece of [start, end); -ENOMEM for a hole. */
static int madvise_walk(struct gm_proc *p, uint64_t start, uint64_t end,
			int advice)
{
	struct gm_host *h = p->host;
	uint64_t addr = start;
	bool hole = false;
	int ret;

	while (addr < end) {
		struct gm_vma *vma = find_vma(p, addr);
		uint64_t s, e;

		if (!vma) {
			struct gm_vma *it;
			uint64_t next = end;

			hole = true;
			for (it = p->vmas; it; it = it->next)
				if (it->vm_start > addr && it->vm_start < next)
					next = it->vm_start;
			addr = next;
			continue;
		}
		s = addr;
		e = vma->vm_end < end ? vma->vm_end : end;
		switch (advice) {
		case GMEM_MADV_DONTNEED:
			kvm_mmu_notifier_invalidate(p, s, e);
			ret = rmap_erase(&vma->ptes, vma_index(vma, s),
					 vma_index(vma, e));
			if (ret)
				return ret;
			break;
		case GMEM_MADV_REMOVE: {
			struct gmem_file *f = file_to_gmem(vma->vm_file);

			/* shared and may-write: every VMA here (O_RDWR) */
			if (vma->vm_file->f_kind == GM_FILE_MEMFD) {
				ret = shmem_truncate_range(
					h, vma_inode(vma), vma_index(vma, s),
					vma_index(vma, e));
				if (ret)
					return ret;
				break;
			}
			if (!f)
				return -EINVAL;
			ret = kvm_gmem_fallocate(h, vma->vm_file,
						 GMEM_FALLOC_FL_KEEP_SIZE |
						 GMEM_FALLOC_FL_PUNCH_HOLE,
						 (int64_t)(vma_index(vma, s) <<
							   PAGE_SHIFT),
						 (int64_t)(e - s));
			if (ret)
				return ret;
			break;
		}
		case GMEM_MADV_POPULATE_READ:
		case GMEM_MADV_POPULATE_WRITE:
			ret = populate_vma_range(
				h, vma, s, e,
				advice == GMEM_MADV_POPULATE_WRITE);
			if (ret)
				return ret;
			break;
		default:
			break;
		}
		addr = e;
	}
	return hole ? -ENOMEM : 0;
}

int gm_madvise(struct gm_proc *p, uint64_t addr, uint64_t len, int advice)
{
	uint64_t end;

	switch (advice) {
	case GMEM_MADV_NORMAL:
	case GMEM_MADV_RANDOM:
	case GMEM_MADV_SEQUENTIAL:
	case GMEM_MADV_WILLNEED:
	case GMEM_MADV_DONTNEED:
	case GMEM_MADV_REMOVE:
	case GMEM_MADV_DONTFORK:
	case GMEM_MADV_DOFORK:
	case GMEM_MADV_MERGEABLE:
	case GMEM_MADV_UNMERGEABLE:
	case GMEM_MADV_HUGEPAGE:
	case GMEM_MADV_NOHUGEPAGE:
	case GMEM_MADV_DONTDUMP:
	case GMEM_MADV_DODUMP:
	case GMEM_MADV_KEEPONFORK:
	case GMEM_MADV_COLD:
	case GMEM_MADV_PAGEOUT:
	case GMEM_MADV_POPULATE_READ:
	case GMEM_MADV_POPULATE_WRITE:
	case GMEM_MADV_FREE:
	case GMEM_MADV_WIPEONFORK:
	case GMEM_MADV_COLLAPSE:
		break;
	default:
		return -EINVAL;
	}
	if (!PAGE_ALIGNED(addr))
		return -EINVAL;
	if (len > UINT64_MAX - (PAGE_SIZE - 1))
		return -EINVAL;
	len = (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	end = addr + len;
	if (end < addr)
		return -EINVAL;
	if (end == addr)
		return 0;
	/*
	 * Advice that needs an anonymous or THP-eligible VMA fails on every
	 * guest_memfd mapping (probe A8; selftest H3 for COLLAPSE).
	 */
	if (advice == GMEM_MADV_FREE || advice == GMEM_MADV_WIPEONFORK ||
	    advice == GMEM_MADV_COLLAPSE) {
		if (!find_vma(p, addr))
			return -ENOMEM;
		return -EINVAL;
	}
	return madvise_walk(p, addr, end, advice);
}

int gm_mincore(struct gm_proc *p, uint64_t addr, uint64_t len,
	       unsigned char *vec)
{
	uint64_t a, end, n;

	if (!PAGE_ALIGNED(addr))
		return -EINVAL;
	if (addr > GM_TASK_SIZE || len > GM_TASK_SIZE - addr)
		return -ENOMEM;
	if (!vec)
		return -EFAULT;
	len = (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	end = addr + len;
	for (a = addr, n = 0; a < end; a += PAGE_SIZE, n++) {
		struct gm_vma *vma = find_vma(p, a);
		struct gmem_inode *inode;
		uint64_t index, val;

		if (!vma)
			return -ENOMEM;
		inode = vma_inode(vma);
		index = vma_index(vma, a);
		vec[n] = 0;
		if (rmap_lookup(&vma->ptes, index, NULL))
			vec[n] = 1;
		else if (inode && rmap_lookup(&inode->folios, index, &val))
			vec[n] = !!(val & GM_FOLIO_UPTODATE);
	}
	return 0;
}

/*
 * Fault in the page at @addr for an access of kind @acc, as a user access
 * or GUP would.  Returns 0 with *sig = 0 and the backing guest_memfd page
 * in *inode / *index, or with *sig = SIGSEGV or SIGBUS; -ENOMEM when the
 * model ran out of memory.
 */
int fault_in_user_page(struct gm_proc *p, uint64_t addr, enum gm_access acc,
		       int *sig, struct gmem_inode **inode, uint64_t *index)
{
	struct gm_vma *vma;
	int need, ret;

	*sig = SIGSEGV;
	vma = find_vma(p, addr);
	if (!vma)
		return 0;	/* SEGV_MAPERR */
	need = acc == GM_ACCESS_WRITE ? GMEM_PROT_WRITE :
	       acc == GM_ACCESS_EXEC  ? GMEM_PROT_EXEC :
					GMEM_PROT_READ;
	/* x86: a writable mapping is readable too */
	if (!(vma->vm_prot & need) &&
	    !(need == GMEM_PROT_READ && vma->vm_prot & GMEM_PROT_WRITE))
		return 0;	/* SEGV_ACCERR */
	ret = handle_mm_fault(p->host, vma, addr);
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		*sig = SIGBUS;
		return 0;
	}
	*sig = 0;
	*inode = vma_inode(vma);
	*index = vma_index(vma, addr);
	return 0;
}

int gm_host_access(struct gm_proc *p, uint64_t addr, enum gm_access acc,
		   uint8_t *byte, int *sig)
{
	unsigned int off = (unsigned int)(addr & (PAGE_SIZE - 1));
	struct gmem_inode *inode;
	uint64_t index;
	int ret;

	if (!byte || !sig || (unsigned int)acc >= GM_ACCESS_MAX)
		return -EINVAL;
	ret = fault_in_user_page(p, addr, acc, sig, &inode, &index);
	if (ret || *sig)
		return ret;
	if (acc == GM_ACCESS_WRITE)
		return gm_page_write(p->host, inode, index, off, *byte);
	*byte = gm_page_read(inode, index, off);
	return 0;
}

uint64_t gm_host_fault_run(struct gm_proc *p, uint64_t addr, uint64_t max)
{
	struct gmem_inode *inode;
	struct gm_vma *vma;
	uint64_t n;

	addr &= ~(uint64_t)(PAGE_SIZE - 1);
	vma = find_vma(p, addr);
	if (!vma || !(vma->vm_prot & (GMEM_PROT_READ | GMEM_PROT_WRITE)))
		return 0;
	inode = vma_gmem_inode(vma);
	for (n = 0; n < max && addr < vma->vm_end; n++, addr += PAGE_SIZE) {
		uint64_t index = vma_index(vma, addr);

		if (rmap_lookup(&vma->ptes, index, NULL))
			continue;
		if (!inode || !kvm_gmem_fault_would_map(p->host, inode, index))
			break;
	}
	return n;
}

/* Used by the checker: is a PTE for @index of @inode present anywhere? */
bool gm_inode_host_mapped(struct gm_host *h, struct gmem_inode *inode,
			  uint64_t index)
{
	struct gm_proc *p;
	struct gm_vma *vma;

	for (p = h->procs; p; p = p->next)
		for (vma = p->vmas; vma; vma = vma->next)
			if (vma_gmem_inode(vma) == inode &&
			    rmap_lookup(&vma->ptes, index, NULL))
				return true;
	return false;
}
