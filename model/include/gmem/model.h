/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gmemsim model: public API.
 *
 * The model is a deterministic, syscall-free state machine of KVM's
 * guest_memfd and the parts of KVM, the VFS and mm that decide its results.
 * Its entry points are shaped like the system calls and ioctls a VMM issues
 * (file descriptors, struct arguments, negative errno returns) so a trace can
 * be run on the model and on the real kernel side by side.
 *
 * Every object hangs off a struct gm_host the caller owns; there is no global
 * state.  Every function returns 0 (or a non-negative value where the system
 * call returns one) or a negative errno.  Nothing here aborts on input.
 *
 * Host memory accesses do not return errno: they report the signal a real
 * access would raise (0, SIGBUS or SIGSEGV) through an out parameter.
 */
#ifndef GMEM_MODEL_H
#define GMEM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gmem/uapi.h"

#define GM_PAGE_SHIFT 12
#define GM_PAGE_SIZE (1ULL << GM_PAGE_SHIFT)

/* Which kernel semantics the model follows (docs/design.md, "Profiles"). */
enum gm_profile {
	GM_PROFILE_MAINLINE = 0,	/* Linux 6.18 */
	GM_PROFILE_INPLACE,		/* + in-place conversion series v8 */
	GM_PROFILE_HUGETLB,		/* + HugeTLB huge folios (WIP) */
	GM_PROFILE_MAX
};

/* Split/merge policies of the hugetlb profile (docs/policies.md). */
enum gm_huge_policy {
	GM_POLICY_EAGER = 0,	/* WIP: any shared page -> order 0 */
	GM_POLICY_HIER,		/* 1G -> 2M -> 4K only where needed */
	GM_POLICY_LAZY,		/* eager split, merge deferred */
	GM_POLICY_NOMERGE,	/* TDX: splits last until freed */
	GM_POLICY_MAX
};

const char *gm_huge_policy_name(enum gm_huge_policy policy);
int gm_huge_policy_parse(const char *name, enum gm_huge_policy *policy);

/* VM types the simulated KVM can offer. */
enum gm_vm_type {
	GM_VM_DEFAULT = 0,	/* x86 KVM_X86_DEFAULT_VM */
	GM_VM_SW_PROTECTED,	/* x86 KVM_X86_SW_PROTECTED_VM */
	GM_VM_SNP,		/* x86 KVM_X86_SNP_VM */
	GM_VM_TDX,		/* x86 KVM_X86_TDX_VM */
	GM_VM_PKVM,		/* arm64 KVM_VM_TYPE_ARM_PROTECTED */
	GM_VM_TYPE_MAX
};

#define GM_VM_TYPES_ALL ((1U << GM_VM_TYPE_MAX) - 1)

struct gm_config {
	enum gm_profile profile;
	/* Mask of 1U << enum gm_vm_type offered by KVM_CREATE_VM. */
	unsigned int vm_types;
	/*
	 * Whether the VM-level KVM_SET_MEMORY_ATTRIBUTES ioctl is built:
	 * -1 derives it (built iff a type with private memory is offered),
	 * 0 or 1 force it.
	 */
	int vm_attributes;
	/* host MAXPHYADDR bounding memslot GPAs (kvm_mmu_max_gfn); 0: 52 */
	unsigned int max_gpa_bits;
	/* profile hugetlb: host pool of 2M and 1G pages, and the policy */
	unsigned long hugetlb_pool_2m;
	unsigned long hugetlb_pool_1g;
	enum gm_huge_policy policy;
	unsigned int lazy_ops;	/* LAZY: conversions before a merge */
};

void gm_config_init(struct gm_config *cfg);
const char *gm_profile_name(enum gm_profile profile);
int gm_profile_parse(const char *name, enum gm_profile *profile);
const char *gm_vm_type_name(enum gm_vm_type type);
int gm_vm_type_parse(const char *name, enum gm_vm_type *type);
/* KVM_CREATE_VM type argument for a VM type, as the kernel numbers it. */
unsigned long gm_vm_type_to_kvm(enum gm_vm_type type);

struct gm_host;
struct gm_proc;

int gm_host_create(const struct gm_config *cfg, struct gm_host **out);
void gm_host_destroy(struct gm_host *h);
/* The first process (pid 0) exists from creation on. */
struct gm_proc *gm_host_init_proc(struct gm_host *h);
int gm_proc_fork(struct gm_proc *parent, struct gm_proc **child);
/* Closes every fd and unmaps every mapping; the process is then empty. */
void gm_proc_exit(struct gm_proc *p);
unsigned int gm_proc_pid(const struct gm_proc *p);

/* ---- memory accounting and failure injection ---- */

struct gm_mem_stats {
	size_t cur_bytes;	/* bytes the model holds now */
	size_t peak_bytes;
	size_t nr_live;		/* live allocations */
	size_t nr_allocs;	/* allocations ever made */
};

void gm_host_mem_stats(const struct gm_host *h, struct gm_mem_stats *st);
/*
 * Make the nth allocation from now fail (1 = the next one); 0 disables.
 * Every operation that allocates then fails with -ENOMEM and leaves the
 * model consistent.
 */
void gm_host_fail_alloc(struct gm_host *h, unsigned long nth);

/* ---- consistency ---- */

/*
 * Run every object's consistency check.  Returns 0, or -EUCLEAN after
 * printing the failed rule and the offending object's state to @dump
 * (when non-NULL).
 */
int gm_host_check(struct gm_host *h, FILE *dump);
void gm_host_dump(struct gm_host *h, FILE *out);

/* ---- file descriptors ---- */

int gm_open_kvm(struct gm_proc *p);		/* open("/dev/kvm", O_RDWR) */
int gm_open_null(struct gm_proc *p);		/* open("/dev/null") */
int gm_memfd_create(struct gm_proc *p, uint64_t size);	/* shmem file */
int gm_close(struct gm_proc *p, int fd);
int gm_dup(struct gm_proc *p, int fd);
/* ioctl(2); @arg is an integer or a pointer cast to unsigned long. */
long gm_ioctl(struct gm_proc *p, int fd, unsigned long cmd,
	      unsigned long arg);

/* ---- file operations ---- */

struct gm_stat {
	uint64_t size;
	uint64_t blocks;
	uint64_t blksize;
	uint64_t ino;
	unsigned int mode;
};

long gm_read(struct gm_proc *p, int fd, void *buf, size_t len);
long gm_write(struct gm_proc *p, int fd, const void *buf, size_t len);
long gm_pread(struct gm_proc *p, int fd, void *buf, size_t len, int64_t off);
long gm_pwrite(struct gm_proc *p, int fd, const void *buf, size_t len,
	       int64_t off);
int64_t gm_lseek(struct gm_proc *p, int fd, int64_t off, int whence);
int gm_ftruncate(struct gm_proc *p, int fd, int64_t len);
int gm_fchmod(struct gm_proc *p, int fd, unsigned int mode);
int gm_fsync(struct gm_proc *p, int fd);
int gm_fstat(struct gm_proc *p, int fd, struct gm_stat *st);
int gm_fallocate(struct gm_proc *p, int fd, int mode, int64_t offset,
		 int64_t len);

/* ---- host mappings ---- */

int gm_mmap(struct gm_proc *p, uint64_t len, int prot, int flags, int fd,
	    uint64_t offset, uint64_t *addr);
int gm_munmap(struct gm_proc *p, uint64_t addr, uint64_t len);
int gm_madvise(struct gm_proc *p, uint64_t addr, uint64_t len, int advice);
/* vec gets one byte per page: 1 when the page is resident (uptodate). */
int gm_mincore(struct gm_proc *p, uint64_t addr, uint64_t len,
	       unsigned char *vec);

enum gm_access {
	GM_ACCESS_READ = 0,
	GM_ACCESS_WRITE,
	GM_ACCESS_EXEC,
	GM_ACCESS_MAX
};

/*
 * One host load (READ) or store (WRITE of *byte) at @addr.  Returns 0 with
 * *sig = 0 (done; a load fills *byte), SIGBUS or SIGSEGV.
 */
int gm_host_access(struct gm_proc *p, uint64_t addr, enum gm_access acc,
		   uint8_t *byte, int *sig);

/*
 * Pages from the page of @addr on, in its VMA, that a host fault would map
 * right now: each already has a PTE, or is a guest_memfd page inside the
 * file, shared, not poisoned, with a folio present or a 4 KiB one to
 * allocate.  A dry run of the fault path (no state changes), at most @max;
 * 0 when the page of @addr would not map.  sim/ resolves such runs of real
 * pages per fault (docs/sim.md, "Runs").
 */
uint64_t gm_host_fault_run(struct gm_proc *p, uint64_t addr, uint64_t max);

/* ---- guest accesses (KVM's stage-2 fault path) ---- */

enum gm_intent {
	GM_INTENT_DEFAULT = -1,	/* what the attributes say */
	GM_INTENT_SHARED = 0,
	GM_INTENT_PRIVATE = 1,
};

#define GM_ACCEPT_NONE 0
#define GM_ACCEPT_4K 1
#define GM_ACCEPT_2M 2

enum gm_guest_outcome {
	GM_GUEST_OK = 0,	/* mapped; the access completed */
	GM_GUEST_EXIT,		/* KVM_EXIT_MEMORY_FAULT (routing) */
	GM_GUEST_MMIO,		/* emulated MMIO exit (no memslot, shared) */
	GM_GUEST_ERROR,		/* get_pfn/hva error: KVM_RUN fails with err */
	GM_GUEST_RETRY,		/* raced an invalidation: fault again */
};

struct gm_guest_fault {
	/* in */
	uint64_t gpa;
	enum gm_access access;
	enum gm_intent intent;
	uint8_t byte;		/* value stored by a WRITE */
	/*
	 * TDX: the level the guest accepts the page at (0: none, else
	 * GM_ACCEPT_*).  Accepting below what KVM could map inhibits larger
	 * mappings of that range for good (TDX huge pages v3).
	 */
	unsigned int accept;
	/* out */
	enum gm_guest_outcome outcome;
	int err;		/* positive errno for GM_GUEST_ERROR/EXIT */
	uint64_t exit_flags;	/* KVM_MEMORY_EXIT_FLAG_* for EXIT */
	int order;		/* mapping order used for OK */
	uint8_t value;		/* byte read (READ) for OK */
	/* private to the model: snapshot between begin and finish */
	uint64_t __mmu_seq;
	uint64_t __memslots_gen;
	uint64_t __pfn_index;
	void *__inode;
	unsigned int __kind;
	bool __begun;
};

/*
 * A guest access at f->gpa by a vCPU of the VM behind @vm_fd, as one step
 * (begin + finish).  Returns 0 when the fault path ran (the outcome is in
 * f->outcome) or a negative errno for a bad call (EBADF, EIO from another
 * process).
 */
int gm_guest_access(struct gm_proc *p, int vm_fd, struct gm_guest_fault *f);
/*
 * The same split in two, for interleavings: begin snapshots the
 * invalidation sequence and resolves the pfn; finish installs the stage-2
 * mapping and performs the access, or reports GM_GUEST_RETRY when an
 * invalidation ran in between.
 */
int gm_guest_fault_begin(struct gm_proc *p, int vm_fd,
			 struct gm_guest_fault *f);
int gm_guest_fault_finish(struct gm_proc *p, int vm_fd,
			  struct gm_guest_fault *f);

/* ---- guest_memfd operations without a uAPI of their own ---- */

/* Take / drop an extra folio reference at @offset (GUP, vmsplice). */
int gm_gmem_pin(struct gm_proc *p, int fd, uint64_t offset);
int gm_gmem_unpin(struct gm_proc *p, int fd, uint64_t offset);
/* memory_failure() on the folio at @offset. */
int gm_gmem_poison(struct gm_proc *p, int fd, uint64_t offset);

enum gm_share_state {
	GM_STATE_SHARED = 0,
	GM_STATE_PRIVATE,
	GM_STATE_MIXED,
};

/* Host shareability of [offset, offset+len): an enum gm_share_state. */
int gm_gmem_state(struct gm_proc *p, int fd, uint64_t offset, uint64_t len);
/*
 * The @len bytes the file holds from @offset, as the model keeps them,
 * without any side effect (no fault, no allocation, no attribute check):
 * holes read 0.  For observers such as sim/ that check real memory against
 * the model.  Returns 0, -EBADF, or -EINVAL (not a guest_memfd, or the
 * range is not inside the file).
 */
int gm_gmem_peek(struct gm_proc *p, int fd, uint64_t offset, void *buf,
		 size_t len);

/* ---- huge pages (profile hugetlb) ---- */

/* Orders are counted by index: 0 = 4K, 1 = 2M, 2 = 1G. */
#define GM_HUGE_LEVELS 3

struct gm_huge_stats {
	uint64_t splits[GM_HUGE_LEVELS][GM_HUGE_LEVELS];	/* [from][to] */
	uint64_t merges[GM_HUGE_LEVELS][GM_HUGE_LEVELS];	/* [from][to] */
	uint64_t pingpong;	/* a split after a merge of the same page */
	uint64_t vmemmap_bytes;	/* restored by splits, now */
	uint64_t vmemmap_peak;
	uint64_t zaps;		/* stage-2 zaps before splits */
	uint64_t eagain;	/* conversions and punches refused */
	uint64_t pool_total[2];	/* 2M, 1G */
	uint64_t pool_reserved[2];
	uint64_t pool_in_use[2];
	uint64_t mapped[GM_HUGE_LEVELS];	/* stage-2 pages mapped at */
	/* private guest pages KVM could map at each level right now */
	uint64_t mappable[GM_HUGE_LEVELS];
	uint64_t subfolios_freed;	/* folios freed with their huge page */
	uint64_t demotes;	/* TDX: huge leaves split by a 4K accept */
	uint64_t attr_runs;
};

void gm_host_huge_stats(struct gm_host *h, struct gm_huge_stats *st);

/* ---- introspection for tests and tools ---- */

#define GM_FOLIO_PRESENT (1U << 0)
#define GM_FOLIO_UPTODATE (1U << 1)
#define GM_FOLIO_HWPOISON (1U << 2)
/* the folio's order, in bits 8..15 of the flags */
#define GM_FOLIO_ORDER_SHIFT 8
#define GM_FOLIO_ORDER(flags) (((flags) >> GM_FOLIO_ORDER_SHIFT) & 0xff)

struct gm_gmem_info {
	uint64_t size;
	uint64_t flags;
	uint64_t ino;
	uint64_t nr_present;	/* folios in the page cache */
	uint64_t nr_uptodate;
	uint64_t nr_poisoned;
	uint64_t nr_pins;	/* extra references, incl. on removed folios */
	uint64_t nr_bindings;	/* memslots bound through this file */
	unsigned int nr_files;	/* gmem files on the inode */
	unsigned int file_refs;	/* references to this file: fds + VMAs */
	bool vm_alive;
	/* per-file shared/private state (profile inplace) */
	uint64_t nr_attr_runs;	/* runs of equal attributes: fragmentation */
	uint64_t nr_private;	/* private pages */
	uint64_t nr_conversions;	/* conversions that changed something */
	uint64_t nr_make_shared;	/* pages given to the arch make-shared hook */
};

int gm_gmem_info(struct gm_proc *p, int fd, struct gm_gmem_info *info);
/* GM_FOLIO_* bits of the folio at @index (0 when absent). */
int gm_gmem_folio_flags(struct gm_proc *p, int fd, uint64_t index,
			unsigned int *flags);

#define GM_SPTE_PRESENT (1U << 0)
#define GM_SPTE_PRIVATE (1U << 1)
#define GM_SPTE_GMEM (1U << 2)	/* pfn from guest_memfd, else from hva */
#define GM_SPTE_WRITABLE (1U << 3)
/* the mapping's order (stage-2 leaf size), in bits 8..15 */
#define GM_SPTE_ORDER_SHIFT 8
#define GM_SPTE_ORDER(flags) (((flags) >> GM_SPTE_ORDER_SHIFT) & 0xff)

struct gm_vm_info {
	enum gm_vm_type type;
	unsigned int nr_memslots;
	uint64_t nr_stage2_pages;
	uint64_t mmu_invalidate_seq;
	long mmu_invalidate_in_progress;
	uint64_t memslots_gen;	/* bumped by every memslot update */
	uint64_t nr_attr_runs;
	unsigned int refs;	/* VM fds + gmem files */
};

int gm_vm_info(struct gm_proc *p, int vm_fd, struct gm_vm_info *info);
/* GM_SPTE_* bits of the stage-2 mapping of @gfn (0 when none). */
int gm_vm_stage2_flags(struct gm_proc *p, int vm_fd, uint64_t gfn,
		       unsigned int *flags);
/* Memory attributes of @gfn as KVM_MEMORY_ATTRIBUTE_* bits. */
int gm_vm_attributes(struct gm_proc *p, int vm_fd, uint64_t gfn,
		     uint64_t *attrs);

#endif /* GMEM_MODEL_H */
