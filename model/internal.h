/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Model internals: the objects behind the public API.
 *
 * Names follow the kernel so a reader can put this next to
 * virt/kvm/guest_memfd.c and virt/kvm/kvm_main.c (docs/kernel-mapping.md
 * has the table).  Fields carry a short prefix where accessors exist.
 *
 * Object graph (arrows are references that keep the target alive):
 *
 *   gm_proc --fd--> gm_file(kind VM)   --> kvm
 *   gm_proc --fd--> gm_file(kind GMEM) --> gmem_file --> kvm
 *   gm_vma -------> gm_file                     \--> gmem_inode
 *   kvm_memory_slot.gmem.file ..> gmem_file   (no reference, cleared on
 *                                              release)
 */
#ifndef GMEM_INTERNAL_H
#define GMEM_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gmem/model.h"
#include "rmap.h"

#ifndef EHWPOISON
#define EHWPOISON 133
#endif
#ifndef EUCLEAN
#define EUCLEAN 117
#endif

#define PAGE_SHIFT GM_PAGE_SHIFT
#define PAGE_SIZE GM_PAGE_SIZE
#define PAGE_ALIGNED(x) (((x) & (PAGE_SIZE - 1)) == 0)

/* x86-64 limits the model shares with the kernel it mirrors */
#define GM_TASK_SIZE 0x00007ffffffff000ULL	/* TASK_SIZE_MAX, 4-level */
#define GM_MMAP_MIN_ADDR 0x10000ULL
#define GM_LLONG_MAX 0x7fffffffffffffffLL
#define KVM_USER_MEM_SLOTS 32764U
#define KVM_MEM_SLOTS_NUM 32767U
#define KVM_MEM_MAX_NR_PAGES ((1ULL << 31) - 1)
#define KVM_NR_ADDRESS_SPACES 1U
#define KVM_MEMSLOT_GMEM_ONLY (1U << 17)	/* kernel-internal slot flag */

/* ---- allocation accounting (alloc.c) ---- */

struct gm_alloc {
	size_t cur;
	size_t peak;
	size_t nr_live;
	size_t nr_allocs;
	unsigned long fail_nth;	/* fail the nth allocation from now */
};

void *gm_zalloc(struct gm_alloc *a, size_t size);
void *gm_realloc(struct gm_alloc *a, void *p, size_t size);
void gm_free(struct gm_alloc *a, void *p);
/* A failure point that allocates nothing here (a kernel preallocation). */
int gm_alloc_may_fail(struct gm_alloc *a);

/* ---- files ---- */

enum gm_file_kind {
	GM_FILE_KVM_DEV = 0,	/* /dev/kvm */
	GM_FILE_VM,		/* anon_inode:kvm-vm */
	GM_FILE_GMEM,		/* anon_inode:[kvm-gmem] */
	GM_FILE_MEMFD,		/* a shmem file */
	GM_FILE_NULL,		/* /dev/null */
	GM_FILE_KIND_MAX
};

/* struct file: one per open, shared by dup()ed fds and by VMAs. */
struct gm_file {
	enum gm_file_kind f_kind;
	unsigned int f_count;	/* fds + VMAs */
	uint64_t f_ino;
	uint64_t f_size;	/* memfd */
	void *private_data;	/* struct kvm or struct gmem_file */
};

/* ---- guest_memfd ---- */

struct gm_page_data;
struct gm_page_slot;

/* index -> page contents (content.c) */
struct gm_page_table {
	struct gm_page_slot *slots;
	uint32_t cap;		/* 0 or a power of two */
	uint32_t nr;
};

struct gmem_inode {
	uint64_t i_size;
	uint64_t i_ino;
	uint64_t flags;		/* GUEST_MEMFD_FLAG_* */
	struct rmap folios;	/* index -> GM_FOLIO_* (absent: no folio) */
	struct rmap pins;	/* index -> extra references */
	struct rmap orphan_pins;	/* pins on folios punched out */
	struct gm_page_table pages;	/* written page contents */
	/*
	 * Profile inplace: index -> 0 (shared) or KVM_MEMORY_ATTRIBUTE_PRIVATE,
	 * covering exactly [0, i_size >> PAGE_SHIFT) at all times, coalesced.
	 */
	struct rmap attrs;
	uint64_t nr_conversions;
	uint64_t nr_make_shared;
	/* a binding wrapped past EOF (6.18 loff_t overflow in bind) */
	bool bound_past_eof;
	/*
	 * Profile hugetlb: the huge page order (9 or 18; 0 for 4K files),
	 * the huge pages reserved from the host pool at creation, and per
	 * huge page (index >> huge_order) the policy's bookkeeping:
	 * GM_HUGE_LAST_* event bits and, for LAZY, when it became mergeable.
	 */
	unsigned int huge_order;
	uint64_t nr_huge;
	struct rmap huge_meta;
	uint64_t clock;		/* conversions so far (LAZY's time) */
	struct gmem_file *gmem_file_list;
	struct gmem_inode *next;
};

struct gmem_file {
	struct kvm *kvm;
	struct gmem_inode *inode;
	struct gm_file *file;
	struct rmap bindings;	/* index -> struct kvm_memory_slot * */
	struct gmem_file *next;	/* on inode->gmem_file_list */
};

/* ---- KVM ---- */

struct kvm_memory_slot {
	uint32_t id;		/* (u16) slot id */
	uint16_t as_id;
	uint64_t base_gfn;
	uint64_t npages;
	uint32_t flags;
	uint64_t userspace_addr;
	struct {
		struct gmem_file *file;	/* NULL once the file is released */
		uint64_t pgoff;
	} gmem;
};

enum kvm_gfn_range_filter {
	KVM_FILTER_SHARED = (1U << 0),
	KVM_FILTER_PRIVATE = (1U << 1),
};

struct kvm {
	enum gm_vm_type type;
	struct gm_proc *mm;	/* the process that created the VM */
	unsigned int users;	/* VM files + gmem files */
	struct kvm_memory_slot **slots;	/* sorted by id */
	uint32_t nr_slots;
	uint32_t cap_slots;
	struct rmap slot_gfns;	/* gfn -> struct kvm_memory_slot * */
	uint64_t nr_memslot_pages;
	struct rmap mem_attr;	/* gfn -> KVM_MEMORY_ATTRIBUTE_* */
	struct rmap sptes;	/* gfn -> GM_SPTE_* */
	/* TDX: 2M regions (gfn >> 9) a 4K accept inhibited for good */
	struct rmap lpage_inhibit;
	uint64_t mmu_invalidate_seq;
	long mmu_invalidate_in_progress;
	uint64_t mmu_invalidate_range_start;
	uint64_t mmu_invalidate_range_end;
	uint64_t memslots_gen;	/* bumped by every memslot change */
	struct kvm *next;
};

/* ---- processes and mappings ---- */

struct gm_vma {
	uint64_t vm_start;
	uint64_t vm_end;
	uint64_t vm_pgoff;
	int vm_prot;		/* GMEM_PROT_* */
	struct gm_file *vm_file;
	struct rmap ptes;	/* file index -> 1 while a PTE maps it */
	struct gm_vma *next;	/* sorted by vm_start */
};

struct gm_proc {
	struct gm_host *host;
	unsigned int pid;
	struct gm_file **fds;
	unsigned int nr_fds;	/* size of fds[] */
	struct gm_vma *vmas;
	struct gm_proc *next;
};

struct gm_host {
	struct gm_config cfg;
	uint64_t pool_free[2];	/* hugetlb pool: 2M, 1G pages not reserved */
	struct gm_huge_stats huge;	/* counters; pool and mapping filled on
					 * demand */
	bool vm_attributes;	/* KVM_SET_MEMORY_ATTRIBUTES is built */
	struct gm_alloc alloc;
	struct gm_proc *procs;
	unsigned int next_pid;
	struct kvm *vms;
	struct gmem_inode *inodes;
	uint64_t next_ino;
};

static inline struct gm_alloc *host_alloc(struct gm_host *h)
{
	return &h->alloc;
}

/* host.c */
struct gm_file *fget(struct gm_proc *p, int fd);
int fd_install(struct gm_proc *p, struct gm_file *file);
struct gm_file *gm_file_alloc(struct gm_host *h, enum gm_file_kind kind);
void fput(struct gm_host *h, struct gm_file *file);
void get_file(struct gm_file *file);

/* content.c */
int gm_page_write(struct gm_host *h, struct gmem_inode *inode,
		  uint64_t index, unsigned int off, uint8_t val);
uint8_t gm_page_read(struct gmem_inode *inode, uint64_t index,
		     unsigned int off);
void gm_page_read_range(struct gmem_inode *inode, uint64_t index,
			unsigned int off, uint8_t *out, unsigned int len);
int gm_pages_drop(struct gm_host *h, struct gmem_inode *inode,
		  uint64_t start, uint64_t end);
void gm_pages_destroy(struct gm_host *h, struct gmem_inode *inode);
uint32_t gm_pages_nr(const struct gmem_inode *inode);
int gm_page_prepare_dense(struct gm_host *h, struct gmem_inode *inode,
			  uint64_t index);
int gm_page_scramble(struct gm_host *h, struct gmem_inode *inode,
		     uint64_t index, uint64_t epoch);
bool gm_pages_find_stale(const struct gmem_inode *inode, uint64_t *bad);

/* gmem.c */
int kvm_gmem_create(struct gm_proc *p, struct kvm *kvm,
		    const struct kvm_create_guest_memfd *args);
int kvm_gmem_fallocate(struct gm_host *h, struct gm_file *file, int mode,
		       int64_t offset, int64_t len);
void kvm_gmem_release(struct gm_host *h, struct gmem_file *f);
int kvm_gmem_fault_user_mapping(struct gm_host *h, struct gmem_inode *inode,
				uint64_t pgoff);
bool kvm_gmem_fault_would_map(const struct gm_host *h,
			      const struct gmem_inode *inode, uint64_t pgoff);
int kvm_gmem_bind(struct gm_proc *p, struct kvm *kvm,
		  struct kvm_memory_slot *slot, unsigned int fd,
		  int64_t offset);
void kvm_gmem_unbind(struct gm_host *h, struct kvm_memory_slot *slot);
int kvm_gmem_get_pfn(struct gm_host *h, struct kvm *kvm,
		     struct kvm_memory_slot *slot, uint64_t gfn,
		     uint64_t *index);
int kvm_gmem_punch_hole(struct gm_host *h, struct gmem_inode *inode,
			int64_t offset, int64_t len);
struct gmem_file *file_to_gmem(struct gm_file *file);
bool kvm_gmem_supports_mmap(const struct gmem_inode *inode);
bool kvm_gmem_init_shared(const struct gmem_inode *inode);
bool kvm_gmem_is_private(const struct gm_host *h,
			 const struct gmem_inode *inode, uint64_t index);
unsigned int kvm_gmem_get_invalidate_filter(const struct gm_host *h,
					    const struct gmem_inode *inode);
void kvm_gmem_invalidate_begin(struct gm_host *h, struct gmem_inode *inode,
			       uint64_t start, uint64_t end,
			       unsigned int filter);
void kvm_gmem_invalidate_end(struct gmem_inode *inode, uint64_t start,
			     uint64_t end);

/* convert.c (profile inplace) */
long kvm_gmem_ioctl(struct gm_proc *p, struct gm_file *file,
		    unsigned long cmd, unsigned long arg);
int kvm_gmem_init_attributes(struct gm_host *h, struct gmem_inode *inode);
bool kvm_gmem_in_place(const struct gm_host *h);
void gmem_inode_put(struct gm_host *h, struct gmem_inode *inode);
int shmem_inode_create(struct gm_host *h, uint64_t size,
		       struct gmem_inode **out);
void shmem_inode_free(struct gm_host *h, struct gmem_inode *inode);
int shmem_fault(struct gm_host *h, struct gmem_inode *inode, uint64_t pgoff);
int shmem_truncate_range(struct gm_host *h, struct gmem_inode *inode,
			 uint64_t start, uint64_t end);

/* mm.c */
void unmap_mapping_range(struct gm_host *h, struct gmem_inode *inode,
			 uint64_t start, uint64_t end);
void gm_proc_unmap_all(struct gm_proc *p);
int gm_proc_dup_mmap(struct gm_proc *parent, struct gm_proc *child);
int fault_in_user_page(struct gm_proc *p, uint64_t addr, enum gm_access acc,
		       int *sig, struct gmem_inode **inode, uint64_t *index);
bool gm_inode_host_mapped(struct gm_host *h, struct gmem_inode *inode,
			  uint64_t index);

/* kvm.c */
long kvm_dev_ioctl(struct gm_proc *p, struct gm_file *file,
		   unsigned long cmd, unsigned long arg);
long kvm_vm_ioctl(struct gm_proc *p, struct gm_file *file,
		  unsigned long cmd, unsigned long arg);
void kvm_get_kvm(struct kvm *kvm);
void kvm_put_kvm(struct gm_host *h, struct kvm *kvm);
uint64_t kvm_gmem_get_supported_flags(const struct gm_host *h,
				      const struct kvm *kvm);
bool kvm_arch_has_private_mem(const struct kvm *kvm);
bool kvm_gfn_is_private(const struct gm_host *h, struct kvm *kvm,
			uint64_t gfn);
uint64_t kvm_gmem_supported_attributes(const struct gm_host *h,
				       const struct kvm *kvm);
void kvm_mmu_invalidate_begin(struct kvm *kvm);
void kvm_mmu_invalidate_range_add(struct kvm *kvm, uint64_t start,
				  uint64_t end);
void kvm_mmu_invalidate_end(struct kvm *kvm);
bool kvm_mmu_unmap_gfn_range(struct gm_host *h, struct kvm *kvm,
			     uint64_t start, uint64_t end,
			     unsigned int filter);

/* huge.c (profile hugetlb) */
#define GM_HUGE_LAST_SPLIT (1ULL << 0)
#define GM_HUGE_LAST_MERGE (1ULL << 1)
#define GM_HUGE_PENDING (1ULL << 2)	/* LAZY: merge deferred */
#define GM_HUGE_SINCE_SHIFT 8

static inline unsigned int folio_order(uint64_t val)
{
	return GM_FOLIO_ORDER(val);
}

bool kvm_gmem_is_hugetlb(const struct gmem_inode *inode);
int kvm_gmem_hugetlb_setup(struct gm_host *h, struct gmem_inode *inode,
			   uint64_t flags);
void kvm_gmem_hugetlb_release(struct gm_host *h, struct gmem_inode *inode);
int kvm_gmem_huge_alloc(struct gm_host *h, struct gmem_inode *inode,
			uint64_t index);
struct gmem_huge_overlay {
	uint64_t start, end;	/* indices about to get @val */
	uint64_t val;
};

int kvm_gmem_huge_restructure(struct gm_host *h, struct gmem_inode *inode,
			      uint64_t base, bool allow_merge,
			      const struct gmem_huge_overlay *ov);
int kvm_gmem_huge_punch_prepare(struct gm_host *h, struct gmem_inode *inode,
				int64_t offset, int64_t len);
void kvm_gmem_huge_freed(struct gm_host *h, struct gmem_inode *inode,
			 uint64_t start, uint64_t end);
void kvm_gmem_huge_tick(struct gm_host *h, struct gmem_inode *inode);
unsigned int kvm_gmem_max_mapping_order(struct gm_host *h, struct kvm *kvm,
					struct kvm_memory_slot *slot,
					uint64_t gfn, bool is_private);
int kvm_gmem_huge_check(struct gm_host *h, struct gmem_inode *inode,
			const char **why, uint64_t *bad);

/* check.c */
int gm_inode_check(struct gm_host *h, struct gmem_inode *inode, FILE *dump);
int gm_kvm_check(struct gm_host *h, struct kvm *kvm, FILE *dump);
int gm_proc_check(struct gm_host *h, struct gm_proc *p, FILE *dump);

#endif /* GMEM_INTERNAL_H */
