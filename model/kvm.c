// SPDX-License-Identifier: GPL-2.0
/*
 * KVM: /dev/kvm and VM ioctls, memslots, VM-level memory attributes, MMU
 * invalidation, stage-2 mappings and the guest fault path.  Mirrors
 * virt/kvm/kvm_main.c and arch/x86/kvm/mmu/mmu.c of Linux 6.18; the order of
 * checks is the kernel's (probe A10, upstream-semantics §3.10-§3.17).
 */
#include <string.h>

#include "internal.h"

#define INVALID_GPA UINT64_MAX

/* ---- VM types ---- */

bool kvm_arch_has_private_mem(const struct kvm *kvm)
{
	return kvm->type == GM_VM_SW_PROTECTED || kvm->type == GM_VM_SNP ||
	       kvm->type == GM_VM_TDX;
}

/* TDX keeps private and shared mappings in separate roots. */
static bool kvm_has_mirrored_tdp(const struct kvm *kvm)
{
	return kvm->type == GM_VM_TDX;
}

/* SEV-ES/SNP and TDX VMs have protected state: no read-only memslots. */
static bool kvm_arch_has_readonly_mem(const struct kvm *kvm)
{
	return kvm->type != GM_VM_SNP && kvm->type != GM_VM_TDX;
}

static bool kvm_is_arm64(const struct kvm *kvm)
{
	return kvm->type == GM_VM_PKVM;
}

/*
 * INIT_SHARED is offered system-wide, and per VM where the arch allows it:
 * x86 only for VMs without private memory, arm64 always (weak default).
 */
uint64_t kvm_gmem_get_supported_flags(const struct gm_host *h,
				      const struct kvm *kvm)
{
	uint64_t flags = GUEST_MEMFD_FLAG_MMAP;

	if (h && h->cfg.profile >= GM_PROFILE_HUGETLB)
		flags |= GUEST_MEMFD_FLAG_HUGETLB | GUEST_MEMFD_HUGETLB_MASK;
	/* in-place conversion makes INIT_SHARED legal for CoCo VMs too */
	if (!kvm || kvm_is_arm64(kvm) || !kvm_arch_has_private_mem(kvm) ||
	    kvm_gmem_in_place(h))
		flags |= GUEST_MEMFD_FLAG_INIT_SHARED;
	return flags;
}

static uint64_t kvm_supported_mem_attributes(const struct gm_host *h,
					     const struct kvm *kvm)
{
	/* one attribute mode per module: per-file mode turns this off */
	if (!h->vm_attributes || kvm_gmem_in_place(h))
		return 0;
	if (!kvm || kvm_arch_has_private_mem(kvm))
		return KVM_MEMORY_ATTRIBUTE_PRIVATE;
	return 0;
}

static int kvm_type_from_arg(const struct gm_host *h, unsigned long arg,
			     enum gm_vm_type *type)
{
	unsigned int t;

	for (t = 0; t < GM_VM_TYPE_MAX; t++) {
		if (gm_vm_type_to_kvm(t) != arg)
			continue;
		if (!(h->cfg.vm_types & (1U << t)))
			return -EINVAL;
		*type = t;
		return 0;
	}
	return -EINVAL;
}

static uint64_t kvm_mmu_max_gfn(const struct gm_host *h)
{
	unsigned int bits = h->cfg.max_gpa_bits ? h->cfg.max_gpa_bits : 52;

	if (bits > 63)
		bits = 63;
	return (1ULL << (bits - PAGE_SHIFT)) - 1;
}

/* ---- lifetime ---- */

void kvm_get_kvm(struct kvm *kvm)
{
	kvm->users++;
}

static void kvm_free_memslot(struct gm_host *h, struct kvm_memory_slot *slot)
{
	if (slot->flags & KVM_MEM_GUEST_MEMFD)
		kvm_gmem_unbind(h, slot);
	gm_free(host_alloc(h), slot);
}

static void kvm_destroy_vm(struct gm_host *h, struct kvm *kvm)
{
	struct kvm **pp;
	uint32_t i;

	for (pp = &h->vms; *pp; pp = &(*pp)->next) {
		if (*pp == kvm) {
			*pp = kvm->next;
			break;
		}
	}
	for (i = 0; i < kvm->nr_slots; i++)
		kvm_free_memslot(h, kvm->slots[i]);
	gm_free(host_alloc(h), kvm->slots);
	rmap_destroy(&kvm->slot_gfns);
	rmap_destroy(&kvm->mem_attr);
	rmap_destroy(&kvm->sptes);
	rmap_destroy(&kvm->lpage_inhibit);
	gm_free(host_alloc(h), kvm);
}

void kvm_put_kvm(struct gm_host *h, struct kvm *kvm)
{
	if (--kvm->users == 0)
		kvm_destroy_vm(h, kvm);
}

static int kvm_dev_ioctl_create_vm(struct gm_proc *p, unsigned long arg)
{
	struct gm_host *h = p->host;
	enum gm_vm_type type;
	struct gm_file *file;
	struct kvm *kvm;
	int fd, ret;

	ret = kvm_type_from_arg(h, arg, &type);
	if (ret)
		return ret;
	kvm = gm_zalloc(host_alloc(h), sizeof(*kvm));
	if (!kvm)
		return -ENOMEM;
	kvm->type = type;
	kvm->mm = p;
	kvm->users = 1;
	kvm->mmu_invalidate_range_start = INVALID_GPA;
	kvm->mmu_invalidate_range_end = INVALID_GPA;
	rmap_init(&kvm->slot_gfns, host_alloc(h), true);
	rmap_init(&kvm->mem_attr, host_alloc(h), true);
	rmap_init(&kvm->sptes, host_alloc(h), true);
	rmap_init(&kvm->lpage_inhibit, host_alloc(h), true);
	file = gm_file_alloc(h, GM_FILE_VM);
	if (!file) {
		ret = -ENOMEM;
		goto err_kvm;
	}
	file->private_data = kvm;
	fd = fd_install(p, file);
	if (fd < 0) {
		ret = fd;
		goto err_file;
	}
	kvm->next = h->vms;
	h->vms = kvm;
	return fd;

err_file:
	gm_free(host_alloc(h), file);
err_kvm:
	gm_free(host_alloc(h), kvm);
	return ret;
}

static long kvm_check_extension(struct gm_host *h, struct kvm *kvm,
				unsigned long cap)
{
	unsigned int t, mask = 0;

	switch (cap) {
	case KVM_CAP_USER_MEMORY2:
	case KVM_CAP_MEMORY_FAULT_INFO:
	case KVM_CAP_GUEST_MEMFD:
		return 1;
	case KVM_CAP_READONLY_MEM:
		return kvm ? kvm_arch_has_readonly_mem(kvm) : 1;
	case KVM_CAP_NR_MEMSLOTS:
		return KVM_USER_MEM_SLOTS;
	case KVM_CAP_MULTI_ADDRESS_SPACE:
		return 0;	/* probe A1: no SMM address space */
	case KVM_CAP_MEMORY_ATTRIBUTES:
		return (long)kvm_supported_mem_attributes(h, kvm);
	case KVM_CAP_GUEST_MEMFD_FLAGS:
		return (long)kvm_gmem_get_supported_flags(h, kvm);
	case KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES:
		return (long)kvm_gmem_supported_attributes(h, kvm);
	case KVM_CAP_VM_TYPES:
		for (t = 0; t < GM_VM_TYPE_MAX; t++)
			if (t != GM_VM_PKVM && h->cfg.vm_types & (1U << t))
				mask |= 1U << gm_vm_type_to_kvm(t);
		return mask;
	default:
		return 0;
	}
}

long kvm_dev_ioctl(struct gm_proc *p, struct gm_file *file,
		   unsigned long cmd, unsigned long arg)
{
	(void)file;
	switch (cmd) {
	case KVM_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return KVM_API_VERSION;
	case KVM_CREATE_VM:
		return kvm_dev_ioctl_create_vm(p, arg);
	case KVM_CHECK_EXTENSION:
		return kvm_check_extension(p->host, NULL, arg);
	default:
		/* kvm_arch_dev_ioctl() on x86 */
		return -EINVAL;
	}
}

/* ---- MMU invalidation and stage-2 ---- */

void kvm_mmu_invalidate_begin(struct kvm *kvm)
{
	kvm->mmu_invalidate_in_progress++;
	if (kvm->mmu_invalidate_in_progress == 1) {
		kvm->mmu_invalidate_range_start = INVALID_GPA;
		kvm->mmu_invalidate_range_end = INVALID_GPA;
	}
}

void kvm_mmu_invalidate_range_add(struct kvm *kvm, uint64_t start,
				  uint64_t end)
{
	if (kvm->mmu_invalidate_range_start == INVALID_GPA) {
		kvm->mmu_invalidate_range_start = start;
		kvm->mmu_invalidate_range_end = end;
		return;
	}
	if (start < kvm->mmu_invalidate_range_start)
		kvm->mmu_invalidate_range_start = start;
	if (end > kvm->mmu_invalidate_range_end)
		kvm->mmu_invalidate_range_end = end;
}

void kvm_mmu_invalidate_end(struct kvm *kvm)
{
	kvm->mmu_invalidate_seq++;
	kvm->mmu_invalidate_in_progress--;
}

static bool mmu_invalidate_retry_gfn(const struct kvm *kvm, uint64_t mmu_seq,
				     uint64_t gfn)
{
	if (kvm->mmu_invalidate_in_progress &&
	    gfn >= kvm->mmu_invalidate_range_start &&
	    gfn < kvm->mmu_invalidate_range_end)
		return true;
	return kvm->mmu_invalidate_seq != mmu_seq;
}

/*
 * Zap the stage-2 mappings of [start, end).  The filter matters only where
 * private and shared mappings live in separate roots (TDX); elsewhere every
 * mapping in the range goes.  Returns true when anything was zapped.
 */
bool kvm_mmu_unmap_gfn_range(struct gm_host *h, struct kvm *kvm,
			     uint64_t start, uint64_t end,
			     unsigned int filter)
{
	bool zapped = false;
	uint64_t s, val;
	uint32_t i;

	(void)h;
	if (start >= end)
		return false;
	/* a huge leaf goes whole: widen to the leaves at both ends */
	if (rmap_lookup(&kvm->sptes, start, &val))
		start &= ~((1ULL << GM_SPTE_ORDER(val)) - 1);
	if (rmap_lookup(&kvm->sptes, end - 1, &val))
		end = ((end - 1) | ((1ULL << GM_SPTE_ORDER(val)) - 1)) + 1;
	if (!kvm_has_mirrored_tdp(kvm) ||
	    filter == (KVM_FILTER_SHARED | KVM_FILTER_PRIVATE)) {
		zapped = rmap_any(&kvm->sptes, start, end);
		/* a clipped erase may split a run; drop it whole if so */
		if (zapped && rmap_erase(&kvm->sptes, start, end))
			rmap_destroy(&kvm->sptes);
		return zapped;
	}
	for (i = rmap_first_after(&kvm->sptes, start);
	     i < kvm->sptes.r_nr && kvm->sptes.r_runs[i].start < end;) {
		struct rmap_run r = kvm->sptes.r_runs[i];
		bool private = r.val & GM_SPTE_PRIVATE;
		unsigned int kind = private ? KVM_FILTER_PRIVATE :
					      KVM_FILTER_SHARED;

		if (!(kind & filter)) {
			i++;
			continue;
		}
		zapped = true;
		s = r.start > start ? r.start : start;
		if (rmap_erase(&kvm->sptes, s, r.end < end ? r.end : end)) {
			rmap_destroy(&kvm->sptes);
			break;
		}
		/* past what is left of the run below @start */
		i = rmap_first_after(&kvm->sptes, s);
	}
	return zapped;
}

/* ---- memslots ---- */

static struct kvm_memory_slot *id_to_memslot(struct kvm *kvm, uint32_t id,
					     uint32_t *pos)
{
	uint32_t lo = 0, hi = kvm->nr_slots;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (kvm->slots[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	if (lo < kvm->nr_slots && kvm->slots[lo]->id == id)
		return kvm->slots[lo];
	return NULL;
}

static struct kvm_memory_slot *gfn_to_memslot(struct kvm *kvm, uint64_t gfn)
{
	uint64_t val;

	if (!rmap_lookup(&kvm->slot_gfns, gfn, &val))
		return NULL;
	return (struct kvm_memory_slot *)(uintptr_t)val;
}

static bool kvm_check_memslot_overlap(struct kvm *kvm, uint32_t id,
				      uint64_t start, uint64_t end)
{
	uint32_t i;

	for (i = rmap_first_after(&kvm->slot_gfns, start);
	     i < kvm->slot_gfns.r_nr && kvm->slot_gfns.r_runs[i].start < end;
	     i++) {
		struct kvm_memory_slot *s =
			(void *)(uintptr_t)kvm->slot_gfns.r_runs[i].val;

		if (s->id != id)
			return true;
	}
	return false;
}

static int check_memory_region_flags(const struct kvm *kvm,
				     const struct kvm_userspace_memory_region2 *mem)
{
	uint32_t valid_flags = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_GUEST_MEMFD;

	if (mem->flags & KVM_MEM_GUEST_MEMFD)
		valid_flags &= ~KVM_MEM_LOG_DIRTY_PAGES;
	if (kvm_arch_has_readonly_mem(kvm) &&
	    !(mem->flags & KVM_MEM_GUEST_MEMFD))
		valid_flags |= KVM_MEM_READONLY;
	if (mem->flags & ~valid_flags)
		return -EINVAL;
	return 0;
}

/* Zap every stage-2 mapping of @slot (kvm_arch_flush_shadow_memslot). */
static void kvm_flush_shadow_memslot(struct gm_host *h, struct kvm *kvm,
				     struct kvm_memory_slot *slot)
{
	kvm_mmu_unmap_gfn_range(h, kvm, slot->base_gfn,
				slot->base_gfn + slot->npages,
				KVM_FILTER_SHARED | KVM_FILTER_PRIVATE);
}

static int kvm_delete_memslot(struct gm_host *h, struct kvm *kvm,
			      struct kvm_memory_slot *old, uint32_t pos)
{
	/* one slot owns one run: erasing it never allocates */
	rmap_erase(&kvm->slot_gfns, old->base_gfn,
		   old->base_gfn + old->npages);
	kvm_flush_shadow_memslot(h, kvm, old);
	if (kvm->nr_slots - pos - 1)
		memmove(&kvm->slots[pos], &kvm->slots[pos + 1],
			(kvm->nr_slots - pos - 1) * sizeof(*kvm->slots));
	kvm->nr_slots--;
	kvm->nr_memslot_pages -= old->npages;
	kvm->memslots_gen++;
	kvm_free_memslot(h, old);
	return 0;
}

static int kvm_insert_memslot(struct gm_host *h, struct kvm *kvm,
			      struct kvm_memory_slot *new, uint32_t pos)
{
	struct kvm_memory_slot **slots;
	int ret;

	if (kvm->nr_slots == kvm->cap_slots) {
		uint32_t cap = kvm->cap_slots ? kvm->cap_slots * 2 : 8;

		slots = gm_realloc(host_alloc(h), kvm->slots,
				   cap * sizeof(*slots));
		if (!slots)
			return -ENOMEM;
		kvm->slots = slots;
		kvm->cap_slots = cap;
	}
	ret = rmap_store(&kvm->slot_gfns, new->base_gfn,
			 new->base_gfn + new->npages, (uintptr_t)new);
	if (ret)
		return ret;
	if (kvm->nr_slots - pos)
		memmove(&kvm->slots[pos + 1], &kvm->slots[pos],
			(kvm->nr_slots - pos) * sizeof(*kvm->slots));
	kvm->slots[pos] = new;
	kvm->nr_slots++;
	kvm->nr_memslot_pages += new->npages;
	kvm->memslots_gen++;
	return 0;
}

/* A MOVE or FLAGS_ONLY change of a slot without guest_memfd. */
static int kvm_modify_memslot(struct gm_host *h, struct kvm *kvm,
			      struct kvm_memory_slot *old, uint64_t base_gfn,
			      uint32_t flags)
{
	int ret;

	if (base_gfn != old->base_gfn) {
		ret = rmap_reserve(&kvm->slot_gfns, 1);
		if (ret)
			return ret;
		rmap_erase(&kvm->slot_gfns, old->base_gfn,
			   old->base_gfn + old->npages);
		kvm_flush_shadow_memslot(h, kvm, old);
		old->base_gfn = base_gfn;
		/* cannot fail: the run just freed a slot of the array */
		rmap_store(&kvm->slot_gfns, base_gfn, base_gfn + old->npages,
			   (uintptr_t)old);
	}
	old->flags = flags;
	kvm->memslots_gen++;
	return 0;
}

static int kvm_set_memory_region(struct gm_proc *p, struct kvm *kvm,
				 const struct kvm_userspace_memory_region2 *mem)
{
	struct gm_host *h = p->host;
	struct kvm_memory_slot *old, *new;
	uint16_t as_id = mem->slot >> 16;
	uint16_t id = (uint16_t)mem->slot;
	uint64_t base_gfn, npages;
	uint32_t pos;
	int r;

	r = check_memory_region_flags(kvm, mem);
	if (r)
		return r;
	/* general sanity checks, all EINVAL */
	if (!PAGE_ALIGNED(mem->memory_size))
		return -EINVAL;
	if (!PAGE_ALIGNED(mem->guest_phys_addr))
		return -EINVAL;
	/* access_ok(): the whole user range below the user address limit */
	if (!PAGE_ALIGNED(mem->userspace_addr) ||
	    mem->userspace_addr + mem->memory_size < mem->userspace_addr ||
	    mem->userspace_addr + mem->memory_size > GM_TASK_SIZE)
		return -EINVAL;
	if (mem->flags & KVM_MEM_GUEST_MEMFD &&
	    (!PAGE_ALIGNED(mem->guest_memfd_offset) ||
	     mem->guest_memfd_offset + mem->memory_size <
		     mem->guest_memfd_offset))
		return -EINVAL;
	if (as_id >= KVM_NR_ADDRESS_SPACES || id >= KVM_MEM_SLOTS_NUM)
		return -EINVAL;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return -EINVAL;
	if (id < KVM_USER_MEM_SLOTS &&
	    (mem->memory_size >> PAGE_SHIFT) > KVM_MEM_MAX_NR_PAGES)
		return -EINVAL;

	old = id_to_memslot(kvm, id, &pos);
	if (!mem->memory_size) {
		if (!old || !old->npages)
			return -EINVAL;
		return kvm_delete_memslot(h, kvm, old, pos);
	}
	base_gfn = mem->guest_phys_addr >> PAGE_SHIFT;
	npages = mem->memory_size >> PAGE_SHIFT;
	if (old) {
		/* guest_memfd slots are immutable; they can only be deleted */
		if (mem->flags & KVM_MEM_GUEST_MEMFD)
			return -EINVAL;
		if (mem->userspace_addr != old->userspace_addr ||
		    npages != old->npages ||
		    ((mem->flags ^ old->flags) &
		     (KVM_MEM_READONLY | KVM_MEM_GUEST_MEMFD)))
			return -EINVAL;
		if (base_gfn == old->base_gfn &&
		    mem->flags == (old->flags & 0xffff))
			return 0;
		if (base_gfn != old->base_gfn &&
		    kvm_check_memslot_overlap(kvm, id, base_gfn,
					      base_gfn + npages))
			return -EEXIST;
		if (base_gfn != old->base_gfn &&
		    base_gfn + npages - 1 > kvm_mmu_max_gfn(h))
			return -EINVAL;
		return kvm_modify_memslot(h, kvm, old, base_gfn, mem->flags);
	}
	if (kvm->nr_memslot_pages + npages < kvm->nr_memslot_pages)
		return -EINVAL;
	if (kvm_check_memslot_overlap(kvm, id, base_gfn, base_gfn + npages))
		return -EEXIST;

	new = gm_zalloc(host_alloc(h), sizeof(*new));
	if (!new)
		return -ENOMEM;
	new->id = id;
	new->as_id = as_id;
	new->base_gfn = base_gfn;
	new->npages = npages;
	new->flags = mem->flags;
	new->userspace_addr = mem->userspace_addr;
	if (mem->flags & KVM_MEM_GUEST_MEMFD) {
		r = kvm_gmem_bind(p, kvm, new, mem->guest_memfd,
				  (int64_t)mem->guest_memfd_offset);
		if (r)
			goto out;
	}
	/* kvm_arch_prepare_memory_region() */
	if (kvm_is_arm64(kvm)) {
		/* the default 40-bit IPA space (KVM_VM_TYPE_ARM_IPA_SIZE 0) */
		if (base_gfn + npages > (1ULL << (40 - PAGE_SHIFT))) {
			r = -EFAULT;
			goto out_unbind;
		}
		if (mem->flags & KVM_MEM_GUEST_MEMFD &&
		    !(new->flags & KVM_MEMSLOT_GMEM_ONLY)) {
			r = -EINVAL;
			goto out_unbind;
		}
	} else if (base_gfn + npages - 1 > kvm_mmu_max_gfn(h)) {
		r = -EINVAL;
		goto out_unbind;
	}
	r = kvm_insert_memslot(h, kvm, new, pos);
	if (r)
		goto out_unbind;
	return 0;

out_unbind:
	if (mem->flags & KVM_MEM_GUEST_MEMFD)
		kvm_gmem_unbind(h, new);
out:
	gm_free(host_alloc(h), new);
	return r;
}

/* ---- VM-level memory attributes ---- */

static bool kvm_range_has_memory_attributes(struct kvm *kvm, uint64_t start,
					    uint64_t end, uint64_t attrs)
{
	struct rmap_run run;
	uint64_t idx;

	for (idx = start; idx < end; idx = run.end) {
		bool present = rmap_lookup_run(&kvm->mem_attr, idx, &run);

		if ((present ? run.val : 0) != attrs)
			return false;
	}
	return true;
}

/*
 * kvm_mem_is_private(): the VM-level attribute in 6.18; with in-place
 * conversion the static call looks through the memslot at the guest_memfd
 * (memslot -> file -> index).
 */
bool kvm_gfn_is_private(const struct gm_host *h, struct kvm *kvm,
			uint64_t gfn)
{
	struct kvm_memory_slot *slot;
	uint64_t val;

	if (kvm_gmem_in_place(h)) {
		if (!rmap_lookup(&kvm->slot_gfns, gfn, &val))
			return false;
		slot = (struct kvm_memory_slot *)(uintptr_t)val;
		if (!(slot->flags & KVM_MEM_GUEST_MEMFD) || !slot->gmem.file)
			return false;
		return kvm_gmem_is_private(h, slot->gmem.file->inode,
					   gfn - slot->base_gfn +
						   slot->gmem.pgoff);
	}
	if (!h->vm_attributes)
		return false;
	return rmap_lookup(&kvm->mem_attr, gfn, &val) &&
	       (val & KVM_MEMORY_ATTRIBUTE_PRIVATE);
}

/*
 * Attributes the guest_memfd ioctl accepts for files of @kvm: PRIVATE
 * only where the VM really has private memory (x86 CoCo types, arm64
 * protected VMs), and nothing outside per-file mode.
 */
uint64_t kvm_gmem_supported_attributes(const struct gm_host *h,
				       const struct kvm *kvm)
{
	if (!kvm_gmem_in_place(h))
		return 0;
	if (!kvm || kvm_arch_has_private_mem(kvm) || kvm_is_arm64(kvm))
		return KVM_MEMORY_ATTRIBUTE_PRIVATE;
	return 0;
}

static int kvm_vm_set_mem_attributes(struct gm_host *h, struct kvm *kvm,
				     uint64_t start, uint64_t end,
				     uint64_t attributes)
{
	unsigned int filter;
	bool begun = false;
	uint32_t i;
	int r;

	if (kvm_range_has_memory_attributes(kvm, start, end, attributes))
		return 0;
	/* reserve ahead so the store below cannot fail half way */
	r = rmap_reserve(&kvm->mem_attr, 2);
	if (r)
		return r;

	/* x86 pre-hook: unmap the old kind of mapping */
	filter = attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE ?
			 KVM_FILTER_SHARED :
			 KVM_FILTER_PRIVATE;
	for (i = rmap_first_after(&kvm->slot_gfns, start);
	     i < kvm->slot_gfns.r_nr && kvm->slot_gfns.r_runs[i].start < end;
	     i++) {
		struct rmap_run *r = &kvm->slot_gfns.r_runs[i];
		uint64_t s = r->start > start ? r->start : start;
		uint64_t e = r->end < end ? r->end : end;

		if (!begun) {
			kvm_mmu_invalidate_begin(kvm);
			begun = true;
		}
		kvm_mmu_invalidate_range_add(kvm, s, e);
		kvm_mmu_unmap_gfn_range(h, kvm, s, e, filter);
	}
	if (attributes)
		rmap_store(&kvm->mem_attr, start, end, attributes);
	else
		rmap_erase(&kvm->mem_attr, start, end);
	if (begun)
		kvm_mmu_invalidate_end(kvm);
	return 0;
}

static int kvm_vm_ioctl_set_mem_attributes(struct gm_host *h, struct kvm *kvm,
					   const struct kvm_memory_attributes *a)
{
	if (a->flags)
		return -EINVAL;
	if (a->attributes & ~kvm_supported_mem_attributes(h, kvm))
		return -EINVAL;
	if (a->size == 0 || a->address + a->size < a->address)
		return -EINVAL;
	if (!PAGE_ALIGNED(a->address) || !PAGE_ALIGNED(a->size))
		return -EINVAL;
	return kvm_vm_set_mem_attributes(h, kvm, a->address >> PAGE_SHIFT,
					 (a->address + a->size) >> PAGE_SHIFT,
					 a->attributes);
}

/* ---- VM ioctls ---- */

long kvm_vm_ioctl(struct gm_proc *p, struct gm_file *file, unsigned long cmd,
		  unsigned long arg)
{
	struct kvm_userspace_memory_region2 mem;
	struct kvm *kvm = file->private_data;
	struct gm_host *h = p->host;

	/* VM ioctls are tied to the mm that created the VM (probe A2) */
	if (kvm->mm != p)
		return -EIO;
	switch (cmd) {
	case KVM_CHECK_EXTENSION:
		return kvm_check_extension(h, kvm, arg);
	case KVM_CREATE_GUEST_MEMFD:
		if (!arg)
			return -EFAULT;
		return kvm_gmem_create(p, kvm,
				       (const struct kvm_create_guest_memfd *)arg);
	case KVM_SET_USER_MEMORY_REGION:
	case KVM_SET_USER_MEMORY_REGION2:
		if (!arg)
			return -EFAULT;
		memset(&mem, 0, sizeof(mem));
		if (cmd == KVM_SET_USER_MEMORY_REGION) {
			memcpy(&mem, (const void *)arg,
			       sizeof(struct kvm_userspace_memory_region));
			if (mem.flags &
			    ~(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY))
				return -EINVAL;
		} else {
			memcpy(&mem, (const void *)arg, sizeof(mem));
		}
		/* kvm_vm_ioctl_set_memory_region() */
		if ((uint16_t)mem.slot >= KVM_USER_MEM_SLOTS)
			return -EINVAL;
		return kvm_set_memory_region(p, kvm, &mem);
	case KVM_SET_MEMORY_ATTRIBUTES:
		/* x86 only; per-file mode turns it off */
		if (!h->vm_attributes || kvm_gmem_in_place(h) ||
		    kvm_is_arm64(kvm))
			return -ENOTTY;
		if (!arg)
			return -EFAULT;
		return kvm_vm_ioctl_set_mem_attributes(
			h, kvm, (const struct kvm_memory_attributes *)arg);
	default:
		return -ENOTTY;
	}
}

/* ---- guest faults ---- */

/*
 * TDX huge pages v3 (inflight-series §3.5): a guest ACCEPT at 4K inhibits
 * 2M mappings of that 2M range for good (the sticky GUEST_INHIBIT bit of
 * the memslot's large-page info), and a 2M leaf already mapped there is
 * demoted (split) first.  Only private accesses on TDX VMs accept.
 */
static int kvm_tdx_accept(struct gm_host *h, struct kvm *kvm, uint64_t gfn,
			  unsigned int accept, bool is_private)
{
	uint64_t region = gfn >> 9, val;
	int ret;

	if (kvm->type != GM_VM_TDX || !is_private || accept != GM_ACCEPT_4K)
		return 0;
	if (rmap_lookup(&kvm->lpage_inhibit, region, NULL))
		return 0;
	ret = rmap_store(&kvm->lpage_inhibit, region, region + 1, 1);
	if (ret)
		return ret;
	if (rmap_lookup(&kvm->sptes, gfn, &val) && GM_SPTE_ORDER(val)) {
		h->huge.demotes++;
		kvm_mmu_invalidate_begin(kvm);
		kvm_mmu_invalidate_range_add(kvm, region << 9, (region + 1) << 9);
		kvm_mmu_unmap_gfn_range(h, kvm, region << 9, (region + 1) << 9,
					KVM_FILTER_PRIVATE);
		kvm_mmu_invalidate_end(kvm);
	}
	return 0;
}

/* Can a vCPU of @kvm take a private fault at all? */
static bool kvm_vm_faults_private(const struct gm_host *h,
				  const struct kvm *kvm)
{
	return kvm_arch_has_private_mem(kvm) ||
	       (kvm_gmem_supported_attributes(h, kvm) &
		KVM_MEMORY_ATTRIBUTE_PRIVATE);
}

static struct kvm *vm_fd_to_kvm(struct gm_proc *p, int vm_fd, int *err)
{
	struct gm_file *file = fget(p, vm_fd);
	struct kvm *kvm;

	if (!file) {
		*err = -EBADF;
		return NULL;
	}
	if (file->f_kind != GM_FILE_VM) {
		*err = -ENOTTY;
		return NULL;
	}
	kvm = file->private_data;
	if (kvm->mm != p) {
		*err = -EIO;
		return NULL;
	}
	return kvm;
}

static void guest_fault_exit(struct gm_guest_fault *f, bool is_private)
{
	f->outcome = GM_GUEST_EXIT;
	f->err = EFAULT;
	f->exit_flags = is_private ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0;
}

static void guest_fault_error(struct gm_guest_fault *f, int err)
{
	f->outcome = GM_GUEST_ERROR;
	f->err = -err;
}

/*
 * The hva path: fault the page in through the VM process's mapping (GUP)
 * and remember which guest_memfd page backs it.
 */
static int kvm_faultin_hva(struct gm_proc *p, struct kvm_memory_slot *slot,
			   struct gm_guest_fault *f, uint64_t gfn)
{
	uint64_t hva = slot->userspace_addr +
		       ((gfn - slot->base_gfn) << PAGE_SHIFT);
	struct gmem_inode *inode = NULL;
	uint64_t index = 0;
	int sig, ret;

	ret = fault_in_user_page(p, hva,
				 f->access == GM_ACCESS_WRITE ?
					 GM_ACCESS_WRITE :
					 GM_ACCESS_READ,
				 &sig, &inode, &index);
	if (ret)
		return ret;
	if (sig || !inode)
		return -EFAULT;
	f->__inode = inode;
	f->__pfn_index = index;
	return 0;
}

int gm_guest_fault_begin(struct gm_proc *p, int vm_fd,
			 struct gm_guest_fault *f)
{
	struct gm_host *h = p->host;
	struct kvm_memory_slot *slot;
	bool is_private, attr_private;
	struct kvm *kvm;
	uint64_t gfn, index;
	int err = 0, r;

	kvm = vm_fd_to_kvm(p, vm_fd, &err);
	if (!kvm)
		return err;
	if ((unsigned int)f->access >= GM_ACCESS_MAX)
		return -EINVAL;
	f->__begun = true;
	f->outcome = GM_GUEST_OK;
	f->err = 0;
	f->exit_flags = 0;
	f->order = 0;
	f->value = 0;
	f->__inode = NULL;
	f->__kind = 0;
	gfn = f->gpa >> PAGE_SHIFT;
	attr_private = kvm_gfn_is_private(h, kvm, gfn);
	/*
	 * Without an explicit intent the access is what the hardware would
	 * report: private where the attributes say so, but never on a VM
	 * that cannot fault private memory (x86 DEFAULT_VM).
	 */
	if (f->intent == GM_INTENT_DEFAULT)
		is_private = attr_private && kvm_vm_faults_private(h, kvm);
	else
		is_private = f->intent == GM_INTENT_PRIVATE;
	f->__mmu_seq = kvm->mmu_invalidate_seq;
	f->__memslots_gen = kvm->memslots_gen;

	/* kvm_mmu_faultin_pfn() */
	if (is_private != attr_private) {
		guest_fault_exit(f, is_private);
		return 0;
	}
	slot = gfn_to_memslot(kvm, gfn);
	if (!slot) {
		if (is_private)
			guest_fault_exit(f, true);
		else
			f->outcome = GM_GUEST_MMIO;
		return 0;
	}
	/* in-place conversion: always fault from guest_memfd */
	if (is_private || slot->flags & KVM_MEMSLOT_GMEM_ONLY ||
	    (kvm_gmem_in_place(h) && slot->flags & KVM_MEM_GUEST_MEMFD)) {
		if (!(slot->flags & KVM_MEM_GUEST_MEMFD)) {
			guest_fault_exit(f, is_private);
			return 0;
		}
		r = kvm_gmem_get_pfn(h, kvm, slot, gfn, &index);
		if (r) {
			guest_fault_error(f, r);
			return 0;
		}
		f->__inode = slot->gmem.file->inode;
		f->__pfn_index = index;
		r = kvm_tdx_accept(h, kvm, gfn, f->accept, is_private);
		if (r) {
			guest_fault_error(f, r);
			return 0;
		}
		f->order = (int)kvm_gmem_max_mapping_order(h, kvm, slot, gfn,
							   is_private);
		f->__kind = GM_SPTE_PRESENT | GM_SPTE_GMEM | GM_SPTE_WRITABLE |
			    (is_private ? GM_SPTE_PRIVATE : 0);
		return 0;
	}
	/* shared fault through userspace_addr */
	if (f->access == GM_ACCESS_WRITE && slot->flags & KVM_MEM_READONLY) {
		f->outcome = GM_GUEST_MMIO;
		return 0;
	}
	r = kvm_faultin_hva(p, slot, f, gfn);
	if (r) {
		guest_fault_error(f, r);
		return 0;
	}
	f->__kind = GM_SPTE_PRESENT |
		    (slot->flags & KVM_MEM_READONLY ? 0 : GM_SPTE_WRITABLE);
	return 0;
}

int gm_guest_fault_finish(struct gm_proc *p, int vm_fd,
			  struct gm_guest_fault *f)
{
	struct gm_host *h = p->host;
	struct gmem_inode *inode;
	struct kvm *kvm;
	unsigned int off;
	uint64_t gfn;
	int err = 0, r;

	kvm = vm_fd_to_kvm(p, vm_fd, &err);
	if (!kvm)
		return err;
	if (!f->__begun)
		return -EINVAL;
	f->__begun = false;
	if (f->outcome != GM_GUEST_OK)
		return 0;
	gfn = f->gpa >> PAGE_SHIFT;
	if (mmu_invalidate_retry_gfn(kvm, f->__mmu_seq, gfn) ||
	    kvm->memslots_gen != f->__memslots_gen) {
		f->outcome = GM_GUEST_RETRY;
		return 0;
	}
	/* a huge leaf covers its whole naturally aligned block */
	r = rmap_store(&kvm->sptes, gfn & ~((1ULL << f->order) - 1),
		       (gfn | ((1ULL << f->order) - 1)) + 1,
		       f->__kind |
			       ((uint64_t)f->order << GM_SPTE_ORDER_SHIFT));
	if (r)
		return r;
	inode = f->__inode;
	off = (unsigned int)(f->gpa & (PAGE_SIZE - 1));
	if (f->access == GM_ACCESS_WRITE)
		return gm_page_write(h, inode, f->__pfn_index, off, f->byte);
	f->value = gm_page_read(inode, f->__pfn_index, off);
	return 0;
}

int gm_guest_access(struct gm_proc *p, int vm_fd, struct gm_guest_fault *f)
{
	int r = gm_guest_fault_begin(p, vm_fd, f);

	if (r)
		return r;
	return gm_guest_fault_finish(p, vm_fd, f);
}

/* ---- introspection ---- */

int gm_vm_info(struct gm_proc *p, int vm_fd, struct gm_vm_info *info)
{
	struct gm_file *file = fget(p, vm_fd);
	struct kvm *kvm;

	if (!file)
		return -EBADF;
	if (file->f_kind != GM_FILE_VM)
		return -EINVAL;
	kvm = file->private_data;
	memset(info, 0, sizeof(*info));
	info->type = kvm->type;
	info->nr_memslots = kvm->nr_slots;
	info->nr_stage2_pages = rmap_count(&kvm->sptes, 0, UINT64_MAX);
	info->mmu_invalidate_seq = kvm->mmu_invalidate_seq;
	info->mmu_invalidate_in_progress = kvm->mmu_invalidate_in_progress;
	info->memslots_gen = kvm->memslots_gen;
	info->nr_attr_runs = rmap_nr_runs(&kvm->mem_attr);
	info->refs = kvm->users;
	return 0;
}

int gm_vm_stage2_flags(struct gm_proc *p, int vm_fd, uint64_t gfn,
		       unsigned int *flags)
{
	struct gm_file *file = fget(p, vm_fd);
	struct kvm *kvm;
	uint64_t val;

	if (!file)
		return -EBADF;
	if (file->f_kind != GM_FILE_VM)
		return -EINVAL;
	kvm = file->private_data;
	*flags = rmap_lookup(&kvm->sptes, gfn, &val) ? (unsigned int)val : 0;
	return 0;
}

int gm_vm_attributes(struct gm_proc *p, int vm_fd, uint64_t gfn,
		     uint64_t *attrs)
{
	struct gm_file *file = fget(p, vm_fd);
	struct kvm *kvm;

	if (!file)
		return -EBADF;
	if (file->f_kind != GM_FILE_VM)
		return -EINVAL;
	kvm = file->private_data;
	*attrs = 0;
	rmap_lookup(&kvm->mem_attr, gfn, attrs);
	return 0;
}
