/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared fixtures and assertion helpers for the CUnit suites.
 *
 * Every expectation in the suites comes from the kernel: the measured
 * tables of real-kernel-probe.md (cited as "probe A4" etc.), the upstream
 * selftests (cited by their row in upstream-semantics.md §4, e.g.
 * "selftest L3") or, where the kernel cannot be run here, the reading of
 * the kernel source in upstream-semantics.md (cited by section, "§3.12").
 *
 * Conventions (house-style §6 rules 3, 8, 15, 16, 22):
 *  - GM_OK / GM_ERR / GM_FD / GM_VAL evaluate one model call, assert its
 *    result and then run gm_host_check() on every live host, so the
 *    consistency check follows every mutation.
 *  - __name helpers return the raw result; name helpers assert it.
 *  - Each suite runs with a fixture (struct fixture fx): a host, its first
 *    process, an open /dev/kvm and one VM.  The teardown closes everything
 *    and checks that the model holds no more memory than it did right after
 *    the host was made.
 */
#ifndef GMEM_TEST_UTIL_H
#define GMEM_TEST_UTIL_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <CUnit/CUnit.h>

#include "gmem/model.h"

#define PAGE GM_PAGE_SIZE
#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

#define FL_MMAP GUEST_MEMFD_FLAG_MMAP
#define FL_SHARED GUEST_MEMFD_FLAG_INIT_SHARED
#define FL_BOTH (GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED)

#define KEEP GMEM_FALLOC_FL_KEEP_SIZE
#define PUNCH (GMEM_FALLOC_FL_KEEP_SIZE | GMEM_FALLOC_FL_PUNCH_HOLE)

#define RW (GMEM_PROT_READ | GMEM_PROT_WRITE)

/* Where tests put the (never dereferenced) userspace_addr of a slot. */
#define UADDR_ANON 0x100000000ULL

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fixture ---- */

#define FX_MAX_PROCS 8

struct fixture {
	struct gm_host *h;
	struct gm_proc *p;	/* the host's first process */
	int kvm;		/* /dev/kvm fd */
	int vm;			/* the VM, or -1 once a test closed it */
	enum gm_vm_type type;
	struct gm_config cfg;
	/* model memory right after the host was made (fd table warmed) */
	struct gm_mem_stats base;
	/* processes forked by the test, exited by the teardown */
	struct gm_proc *procs[FX_MAX_PROCS];
	unsigned int nr_procs;
	/* skip the "frees what it made" check (the test forked) */
	bool no_leak_check;
};

extern struct fixture fx;

/*
 * Make the fixture: a host with @cfg, /dev/kvm, one VM of @type.
 * Returns 0 or a negative errno (asserted by the setup functions).
 */
int fx_init(const struct gm_config *cfg, enum gm_vm_type type);
void fx_fini(void);

/*
 * CU_SetUpFunc variants:
 *  - kernel: the probe machine (probe A1): only the DEFAULT type offered,
 *    no VM attributes ioctl; a DEFAULT VM.
 *  - all: every VM type offered (gm_config_init default); a DEFAULT VM.
 *  - swprot: every VM type offered; a SW_PROTECTED VM.
 */
void fx_setup_kernel(void);
void fx_setup_all(void);
void fx_setup_swprot(void);
void fx_teardown(void);
/*
 * Profile inplace (inflight-series §2): every VM type offered, the
 * in-place conversion series on; a SW_PROTECTED VM (the VM type of
 * guest_memfd_conversions_test, §2.8).
 */
void fx_setup_inplace(void);

/*
 * Profile hugetlb (inflight-series §3, §6.2): every VM type offered, the
 * HugeTLB WIP on top of in-place conversion, a host pool of
 * T_HUGETLB_POOL_2M 2M pages and T_HUGETLB_POOL_1G 1G pages, policy eager,
 * lazy_ops 8 (the gm_config_init default); a SW_PROTECTED VM.
 */
#define T_HUGETLB_POOL_2M 16
#define T_HUGETLB_POOL_1G 4
void t_config_hugetlb(struct gm_config *cfg);
void fx_setup_hugetlb(void);
/*
 * Remake the fixture inside a test: close everything (with the teardown's
 * checks), then a new host with @cfg and a VM of @type.  Fatal on failure.
 */
void fx_reinit(const struct gm_config *cfg, enum gm_vm_type type);

/* Fork the fixture's first process; the teardown exits the child. */
struct gm_proc *fx_fork(void);

/* ---- hosts outside the fixture ---- */

/* A second host with its own first process; registered for checks. */
struct gm_host *t_host_create(const struct gm_config *cfg);
void t_host_destroy(struct gm_host *h);
void t_config_kernel(struct gm_config *cfg);

/* ---- consistency ---- */

/* Assert gm_host_check() == 0 on every live host (rule 8). */
void t_check_hosts(const char *what, const char *file, int line);
#define check_host(h) t_check_one((h), __FILE__, __LINE__)
void t_check_one(struct gm_host *h, const char *file, int line);

/* ---- result assertions ---- */

long t_expect_ret(long got, long want, const char *expr, const char *file,
		  int line, bool fatal);
long t_expect_fd(long got, const char *expr, const char *file, int line,
		 bool fatal);
/* got == want, printing both on failure (no host check). */
void t_expect_u64(uint64_t got, uint64_t want, const char *expr,
		  const char *file, int line);
/* got is 0 or a negative errno (any), or >= 0 when @fd_ok. */
void t_expect_sane(long got, bool fd_ok, const char *expr, const char *file,
		   int line);

/* expr returns 0 */
#define GM_OK(expr)                                                        \
	t_expect_ret((long)(expr), 0, #expr, __FILE__, __LINE__, false)
/* expr returns exactly @err (a negative errno) */
#define GM_ERR(expr, err)                                                  \
	t_expect_ret((long)(expr), (long)(err), #expr, __FILE__, __LINE__, \
		     false)
/* expr returns exactly @val */
#define GM_VAL(expr, val)                                                  \
	t_expect_ret((long)(expr), (long)(val), #expr, __FILE__, __LINE__, \
		     false)
/* expr returns an fd (>= 0); fatal, the test cannot go on without it */
#define GM_FD(expr)                                                        \
	((int)t_expect_fd((long)(expr), #expr, __FILE__, __LINE__, true))
/* expr returns 0; fatal */
#define GM_OK_FATAL(expr)                                                  \
	t_expect_ret((long)(expr), 0, #expr, __FILE__, __LINE__, true)
/* expr returns 0 or any negative errno */
#define GM_SANE(expr)                                                      \
	t_expect_sane((long)(expr), false, #expr, __FILE__, __LINE__)
/* expr returns >= 0 or any negative errno */
#define GM_SANE_FD(expr)                                                   \
	t_expect_sane((long)(expr), true, #expr, __FILE__, __LINE__)
/* plain value comparison, printing both sides */
#define EXPECT_EQ(got, want)                                               \
	t_expect_u64((uint64_t)(got), (uint64_t)(want), #got " == " #want,    \
		     __FILE__, __LINE__)

/*
 * Tally for loops over many cases: count mismatches and report once with
 * the first offending case, instead of one CUnit failure per iteration.
 */
struct t_tally {
	unsigned long runs;
	unsigned long bad;
	char first[256];
};

void t_tally_expect(struct t_tally *t, long got, long want, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));
#define TALLY_DONE(t, what) t_tally_done((t), (what), __FILE__, __LINE__)
void t_tally_done(struct t_tally *t, const char *what, const char *file,
		  int line);

const char *t_errname(long err);

/* ---- model call helpers ---- */

/* KVM_CREATE_GUEST_MEMFD on @vm; raw result (fd or -errno). */
long __gmem_create(struct gm_proc *p, int vm, uint64_t size, uint64_t flags);
/* The same on the fixture, asserted (fatal) to give an fd. */
int gmem_create(uint64_t size, uint64_t flags);

/* KVM_SET_USER_MEMORY_REGION2; raw result. */
long __set_region2(struct gm_proc *p, int vm, uint32_t slot, uint32_t flags,
		   uint64_t gpa, uint64_t size, uint64_t uaddr, int gfd,
		   uint64_t off);
/* A KVM_MEM_GUEST_MEMFD slot on the fixture VM, asserted. */
void bind_slot(uint32_t slot, uint64_t gpa, uint64_t size, int gfd,
	       uint64_t off);
/* Delete a slot (memory_size 0) on the fixture VM, asserted. */
void delete_slot(uint32_t slot);
/* KVM_SET_USER_MEMORY_REGION (v1); raw result. */
long __set_region1(struct gm_proc *p, int vm, uint32_t slot, uint32_t flags,
		   uint64_t gpa, uint64_t size, uint64_t uaddr);
/* KVM_SET_MEMORY_ATTRIBUTES; raw result. */
long __set_attrs(struct gm_proc *p, int vm, uint64_t addr, uint64_t size,
		 uint64_t attrs, uint64_t flags);
/* KVM_CHECK_EXTENSION; raw result. */
long check_ext(struct gm_proc *p, int fd, long cap);

/* MAP_SHARED RW mapping of @fd at @off on the fixture process (fatal). */
uint64_t map_shared(int fd, uint64_t len, uint64_t off);
long __map(struct gm_proc *p, uint64_t len, int prot, int flags, int fd,
	   uint64_t off, uint64_t *addr);

/*
 * Ordinary host memory to back a plain (or hybrid) memslot's
 * userspace_addr.  The model maps only guest_memfd files (mm.c), so this
 * is a MAP_SHARED mapping of a flags-3 guest_memfd of a DEFAULT VM of its
 * own: probe A10 "a gmem mmap can back a normal slot", probe A9 "shared
 * (INIT_SHARED) gmem pages are ordinary GUP-able pages".
 */
struct hva_backing {
	int vm;
	int gmem;
	uint64_t addr;
	uint64_t len;
};

void hva_backing_make(struct hva_backing *b, uint64_t len);
void hva_backing_free(struct hva_backing *b);

/* ---- host accesses ---- */

/* One load; returns the signal (0, SIGBUS, SIGSEGV); *val gets the byte. */
int t_load(struct gm_proc *p, uint64_t addr, uint8_t *val);
/* One store; returns the signal. */
int t_store(struct gm_proc *p, uint64_t addr, uint8_t val);
/*
 * Store @val to every byte of [addr, addr+len) and stop at the first
 * signal; returns it, with its address in *where (when non-NULL).
 */
int t_fill(struct gm_proc *p, uint64_t addr, uint64_t len, uint8_t val,
	   uint64_t *where);
/*
 * Load every byte of [addr, addr+len); returns the first signal (0 when
 * none).  *bad counts bytes that differ from @val, *first_bad is the first.
 */
int t_verify(struct gm_proc *p, uint64_t addr, uint64_t len, uint8_t val,
	     uint64_t *bad, uint64_t *first_bad);
/* Asserted forms: the whole range holds @val / takes @val. */
#define EXPECT_FILL(p, addr, len, val)                                     \
	t_expect_fill((p), (addr), (len), (val), __FILE__, __LINE__)
#define EXPECT_BYTES(p, addr, len, val)                                    \
	t_expect_bytes((p), (addr), (len), (val), __FILE__, __LINE__)
#define EXPECT_SIG(p, addr, acc, sig)                                      \
	t_expect_sig((p), (addr), (acc), (sig), __FILE__, __LINE__)
void t_expect_fill(struct gm_proc *p, uint64_t addr, uint64_t len,
		   uint8_t val, const char *file, int line);
void t_expect_bytes(struct gm_proc *p, uint64_t addr, uint64_t len,
		    uint8_t val, const char *file, int line);
void t_expect_sig(struct gm_proc *p, uint64_t addr, enum gm_access acc,
		  int sig, const char *file, int line);

/* ---- guest accesses ---- */

/*
 * One guest access by the fixture VM (asserting the call itself returned
 * 0); the outcome is in the returned struct.
 */
struct gm_guest_fault guest(struct gm_proc *p, int vm, uint64_t gpa,
			    enum gm_access acc, enum gm_intent intent,
			    uint8_t byte);
#define EXPECT_OUTCOME(f, out)                                             \
	t_expect_u64((f).outcome, (out), #f ".outcome == " #out, __FILE__,    \
		     __LINE__)

/* ---- introspection helpers ---- */

struct gm_gmem_info gmem_info(int fd);
struct gm_vm_info vm_info(struct gm_proc *p, int vm);
unsigned int stage2(struct gm_proc *p, int vm, uint64_t gfn);
unsigned int folio_flags(int fd, uint64_t index);
uint64_t attrs_of(struct gm_proc *p, int vm, uint64_t gfn);
struct gm_stat fstat_of(int fd);
size_t mem_cur(struct gm_host *h);

/* ---- profile inplace (inflight-series §2.3) ---- */

/*
 * KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd @gfd: [offset, +size) to
 * @attrs (KVM_MEMORY_ATTRIBUTE_PRIVATE or 0); raw result.  *error_offset
 * (when non-NULL) gets the struct's out field.
 */
long __gmem_convert(struct gm_proc *p, int gfd, uint64_t offset,
		    uint64_t size, uint64_t attrs, uint64_t *error_offset);
/* The same on the fixture process, asserted to return 0. */
void gmem_convert(int gfd, uint64_t offset, uint64_t size, uint64_t attrs);

/*
 * White-box (the model has no public PTE query, and mincore reports
 * uptodate folios, probe A5): does a host PTE map @addr in @p?
 */
bool t_pte_present(struct gm_proc *p, uint64_t addr);

/* ---- suites ---- */

extern CU_TestInfo create_tests[];
extern CU_TestInfo create_all_tests[];
extern CU_TestInfo fileops_tests[];
extern CU_TestInfo fallocate_tests[];
extern CU_TestInfo mmap_tests[];
extern CU_TestInfo memslot_tests[];
extern CU_TestInfo memslot_swprot_tests[];
extern CU_TestInfo attributes_kernel_tests[];
extern CU_TestInfo attributes_tests[];
extern CU_TestInfo guest_tests[];
extern CU_TestInfo guest_swprot_tests[];
extern CU_TestInfo lifetime_tests[];
extern CU_TestInfo poison_pin_tests[];
extern CU_TestInfo memory_tests[];
extern CU_TestInfo failinject_tests[];
extern CU_TestInfo robust_tests[];
extern CU_TestInfo inplace_tests[];
extern CU_TestInfo check_tests[];
extern CU_TestInfo check_inplace_tests[];
extern CU_TestInfo tdx_snp_tests[];
extern CU_TestInfo memslot_more_tests[];
extern CU_TestInfo mm_more_tests[];
extern CU_TestInfo host_more_tests[];
extern CU_TestInfo content_tests[];
extern CU_TestInfo hugetlb_tests[];

#endif /* GMEM_TEST_UTIL_H */
