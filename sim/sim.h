/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sim/: the model over real memory (docs/sim.md).
 *
 * Each simulated guest_memfd is backed by a memfd (struct sim_backing): it
 * is created empty (memfd_create, ftruncate, punch the whole file) and has
 * an unregistered alias mapping of the whole file for stores that must not
 * fault.  Each host mapping of the trace is a struct sim_view: a MAP_SHARED
 * mapping of the memfd registered with userfaultfd (MISSING | MINOR, with
 * UFFD_FEATURE_SIGBUS), so every first touch and every touch after a zap
 * raises SIGBUS in the accessing thread.
 *
 * sim_view_access() performs one load or store with a thread-local
 * sigsetjmp buffer armed.  The caller passes the model's decision: when the
 * model allows the access, the SIGBUS handler resolves the fault in place
 * (UFFDIO_CONTINUE when the page is in the memfd's page cache, otherwise
 * UFFDIO_ZEROPAGE, or UFFDIO_COPY of a zero huge page on hugetlb) and
 * returns, so the access is retried; otherwise it jumps back and the access
 * reports the signal.
 */
#ifndef GMEM_SIM_H
#define GMEM_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Larger guest_memfds are not backed by real memory (model answers only). */
#define SIM_MAX_BACKING (64ULL << 30)
#define SIM_HUGE_SIZE (2ULL << 20)

/*
 * How faults reach the model (docs/sim.md, "Fault mechanism"):
 * SIM_HANDLER_SIGBUS: UFFD_FEATURE_SIGBUS, decided in the faulting thread;
 * SIM_HANDLER_THREAD: a handler thread reads the userfaultfd and decides,
 * the faulting thread sleeps in the kernel meanwhile (comparison mode,
 * GMEMSIM_SIM_HANDLER=thread).
 */
enum sim_handler {
	SIM_HANDLER_SIGBUS,
	SIM_HANDLER_THREAD,
};

struct sim_uffd {
	int fd; /* -1 when closed */
	uint64_t features; /* what UFFDIO_API granted */
	enum sim_handler mode;
	bool started; /* SIM_HANDLER_THREAD: thread runs */
	pthread_t thread;
	int stop_fd; /* eventfd that stops the thread, or -1 */
	unsigned long nr_msgs; /* faults the thread read */
};

/*
 * Open a userfaultfd (SYS_userfaultfd with UFFD_USER_MODE_ONLY, else
 * /dev/userfaultfd) and enable SIGBUS mode with shmem (and, when @hugetlb,
 * hugetlbfs) MISSING and MINOR faults.  Returns 0, or a negative errno with
 * a one-line reason in @why.
 */
int sim_uffd_open(struct sim_uffd *u, bool hugetlb, char *why, size_t len);
/*
 * sim_uffd_open() in @mode; sim_uffd_open() takes the mode from
 * GMEMSIM_SIM_HANDLER ("thread", else "sigbus").  SIM_HANDLER_THREAD asks
 * for UFFD_FEATURE_THREAD_ID instead of UFFD_FEATURE_SIGBUS and starts the
 * handler thread; sim_uffd_close() stops and joins it.
 */
int sim_uffd_open_mode(struct sim_uffd *u, bool hugetlb, enum sim_handler mode,
		       char *why, size_t len);
/* The mode GMEMSIM_SIM_HANDLER selects. */
enum sim_handler sim_handler_mode(void);
void sim_uffd_close(struct sim_uffd *u);

struct sim_backing {
	int fd; /* memfd, -1 when none */
	uint64_t size; /* file size (hugetlb: rounded up) */
	uint64_t page_size; /* 4 KiB, or 2 MiB for hugetlb */
	bool hugetlb;
	uint8_t *alias; /* unregistered MAP_SHARED view of the file */
	uint8_t *zero; /* hugetlb: a zero huge page for UFFDIO_COPY */
};

/*
 * Create an empty memfd of @size bytes (hugetlb: MFD_HUGETLB 2 MiB pages).
 * Returns 0 or a negative errno with a reason in @why.
 */
int sim_backing_create(struct sim_backing *b, uint64_t size, bool hugetlb,
		       char *why, size_t len);
void sim_backing_destroy(struct sim_backing *b);
/* fallocate(PUNCH_HOLE | KEEP_SIZE), clamped to the file: 0 or -errno. */
int sim_backing_punch(struct sim_backing *b, uint64_t off, uint64_t len);
/*
 * Store one byte through the alias, load one with pread (no userfaultfd
 * involved; a load never allocates).  0 or a negative errno: on hugetlb a
 * store into a hole the pool cannot back is -ENOSPC, not a SIGBUS.
 */
int sim_backing_store(struct sim_backing *b, uint64_t off, uint8_t byte);
int sim_backing_load(const struct sim_backing *b, uint64_t off, uint8_t *byte);
/* Free pages of the host's 2 MiB hugetlb pool (0 when unknown). */
uint64_t sim_huge_free_pages(void);
/* Bytes of memory the backing's file holds (st_blocks), 0 if unknown. */
uint64_t sim_backing_held(const struct sim_backing *b);
/* The same for @len bytes (the sim's bulk copies; a hole reads 0). */
int sim_backing_write(struct sim_backing *b, uint64_t off, const void *buf,
		      size_t len);
int sim_backing_read(const struct sim_backing *b, uint64_t off, void *buf,
		     size_t len);
/*
 * The granule of every real mapping of @b (b->page_size): 4 KiB, or 2 MiB
 * for hugetlb.  A hugetlb page is mapped, zapped, resolved and registered
 * whole; a punch frees whole pages and zeroes the rest in place without
 * unmapping it (docs/sim.md, "Hugetlb backing").
 */
uint64_t sim_backing_page_size(const struct sim_backing *b);

struct sim_view {
	uint8_t *addr; /* NULL when not mapped */
	uint64_t len; /* bytes mapped */
	uint64_t offset; /* file offset of addr */
	int prot;
	int uffd;
	const struct sim_backing *b;
	unsigned int run_pages; /* run window (a power of two); 0: default */
	bool thread; /* its userfaultfd has a handler thread */
};

/*
 * mmap(@len, @prot, MAP_SHARED, memfd, @offset) and register it with @u.
 * Returns 0 or a negative errno with a reason in @why.
 */
int sim_view_map(struct sim_view *v, const struct sim_backing *b,
		 const struct sim_uffd *u, uint64_t offset, uint64_t len,
		 int prot, char *why, size_t why_len);
void sim_view_unmap(struct sim_view *v);
/*
 * Remove the PTEs of file range [off, off+len) in @v (MADV_DONTNEED),
 * rounded out to whole backing pages: on hugetlb a zap of any part of a
 * huge page zaps all of it.  0 or a negative errno.
 */
int sim_view_zap(struct sim_view *v, uint64_t off, uint64_t len);
/*
 * Whether the page at view offset @off has a PTE right now
 * (/proc/self/pagemap present or swapped bit, no access made): 1, 0, or a
 * negative errno.
 */
int sim_view_mapped(const struct sim_view *v, uint64_t off);

/*
 * The SIGBUS/SIGSEGV handlers are process-wide and reference counted: the
 * first get installs them, the last put restores what was there.  A signal
 * that no sim_view_access() expects is passed to the previous handler.
 */
int sim_signals_get(void);
void sim_signals_put(void);

struct sim_access_result {
	int sig; /* 0, SIGBUS or SIGSEGV */
	int resolve_err; /* positive errno of a failed resolution */
	unsigned int nr_resolved; /* faults resolved during the access */
	unsigned int nr_once; /* SIM_FAULT_ONCE pages zapped after it */
};

/*
 * One byte load (write false: *byte is filled) or store of *byte at view
 * offset @off, with sim_signals_get() held.  @allow is the model's
 * decision: resolve faults (true) or report them (false).
 */
void sim_view_access(const struct sim_view *v, uint64_t off, bool write,
		     uint8_t *byte, bool allow, struct sim_access_result *r);

/*
 * A fault decider for sim_view_access_fn(), called in the faulting thread
 * for each fault of the access at view offset @off (@byte: what a store
 * writes): the SIGBUS handler only jumps back to sim_view_access_fn(),
 * which calls this outside signal context, so it may take the caller's
 * lock and allocate.  It asks the model and, when the model allows the
 * access, resolves the fault with sim_view_resolve() before dropping its
 * lock -- so a zap made under the same lock cannot slip between the
 * decision and the resolution.  The access is then made again.
 * Returns 0 (resolved: the access is retried), SIM_FAULT_ONCE (resolved
 * for this access only, below), SIGBUS or SIGSEGV (the access reports that
 * signal), or a negative errno (a failed resolution, reported as
 * resolve_err with SIGBUS).
 *
 * SIM_FAULT_ONCE is for a hugetlb page the model says is mixed (some 4 KiB
 * private): a host mapping of a huge page cannot be partial, so the
 * decider resolves the whole page, and sim_view_access_fn() makes the
 * access and zaps the page again before it returns (r->nr_once), whatever
 * the access gave -- no mixed huge page stays mapped.  The page is mapped
 * only while this thread's access runs (after the decider dropped its
 * lock): another thread touching a private 4 KiB of it in that window
 * would not fault, so host accesses to such a page must be serialized (the
 * replay backend makes them from one thread).
 */
typedef int (*sim_fault_fn)(void *ctx, const struct sim_view *v, uint64_t off,
			    bool write, uint8_t byte);
/* A sim_fault_fn return: resolved for this access only (see above). */
#define SIM_FAULT_ONCE 1

/* sim_view_access() with every fault decided by @fn at fault time. */
void sim_view_access_fn(const struct sim_view *v, uint64_t off, bool write,
			uint8_t *byte, sim_fault_fn fn, void *ctx,
			struct sim_access_result *r);
/* Resolve a fault at view offset @off in place: 0 or a positive errno. */
int sim_view_resolve(const struct sim_view *v, uint64_t off);

/*
 * Runs (docs/sim.md, "Runs"): a fault the model allows resolves the whole
 * contiguous run of pages around it that the model says a host fault would
 * map, within the SIM_RUN_PAGES-aligned window of file offsets that holds
 * the fault (the same view, so the same VMA and file), with one ranged
 * UFFDIO_CONTINUE or UFFDIO_ZEROPAGE per stretch of pages that are in the
 * page cache or holes.  GMEMSIM_SIM_RUN=N sets the window (a power of two
 * up to SIM_RUN_MAX pages; 1 resolves the faulting page only).
 */
#define SIM_RUN_PAGES 512
#define SIM_RUN_MAX 4096

/* The window in pages (GMEMSIM_SIM_RUN, else SIM_RUN_PAGES). */
unsigned int sim_run_pages(void);

/*
 * The model's side of a run: how many pages from view offset @off on (at
 * most @max) a host fault would map right now -- no state changes
 * (gm_host_fault_run()).  Called with the caller's lock held.
 */
typedef uint64_t (*sim_run_fn)(void *ctx, uint64_t off, uint64_t max);

/*
 * Resolve view range [off, off+len), rounded out to pages and clipped to
 * the view and the file, with ranged ioctls; pages already mapped are
 * skipped.  0 or a positive errno; *nr_ioctls (may be NULL) counts calls.
 */
int sim_view_resolve_range(const struct sim_view *v, uint64_t off,
			   uint64_t len, unsigned int *nr_ioctls);

/*
 * Resolve the fault at view offset @off, which the model allowed, and the
 * run around it that @run allows (see above).  0 or a positive errno;
 * *nr_pages (may be NULL): pages in the run.
 */
int sim_view_resolve_run(const struct sim_view *v, uint64_t off,
			 sim_run_fn run, void *ctx, uint64_t *nr_pages,
			 unsigned int *nr_ioctls);

/*
 * gmemsim stress (sim/stress.c, docs/sim.md "Stress"): vCPU and converter
 * threads over one in-place guest_memfd; argv[0] is "stress".  Returns the
 * exit status.
 */
int stress_main(int argc, char **argv);

struct stress_opts {
	double seconds;
	unsigned int vcpus, converters; /* 1..32, 0..32 */
	uint64_t seed, size; /* size: 4 KiB multiple, up to 1 GiB */
	bool no_zap;
	/*
	 * Profile hugetlb: the guest_memfd is a HugeTLB file of 2 MiB
	 * folios backed by a hugetlb memfd (size: a 2 MiB multiple; skipped
	 * without free pages in the host pool).  Host accesses are then made
	 * under the lock, one at a time: a huge page the model has made
	 * mixed may be mapped only while one access runs (docs/sim.md).
	 */
	bool hugetlb;
};

struct stress_report {
	bool skipped; /* no userfaultfd or memfd: why says so */
	char why[256];
	double seconds; /* measured run time */
	unsigned long ops, violations, checks;
	unsigned long host_ok, resolved, refused;
	unsigned long guest_ok, guest_exit, retries;
	unsigned long s2_hits; /* guest accesses served by a stage-2 cache */
	unsigned long conv_ops, conv_err; /* conversions + punches */
	unsigned long conversions; /* attribute changes that succeeded */
};

/*
 * The stress run itself, without output on success: 0 with *r filled
 * (r->skipped when real memory is unavailable), or a negative errno (set
 * up failed; a message is on stderr).  Starts and joins its threads, and
 * takes and puts the sim's signal handlers.
 */
int stress_run(const struct stress_opts *o, struct stress_report *r);
extern const char stress_usage[];

#endif /* GMEM_SIM_H */
