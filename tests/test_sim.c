// SPDX-License-Identifier: GPL-2.0
/*
 * sim/ suite: the model over real memory (docs/sim.md).
 *
 * Table driven (house-style rule 18): every case runs once per backing type
 * (a 4 KiB memfd; a 2 MiB hugetlb memfd only when the host's 2 MiB pool has
 * free pages -- vm.nr_hugepages is never changed here; `make check-hugetlb`
 * raises it around this suite).  A case that needs a kernel feature the
 * machine lacks (userfaultfd, memfd_create, hugetlb pages) prints
 * "SKIP <case>/<backing>: <reason>" and passes -- except that with
 * GMEMSIM_SIM_HUGETLB=require (set by make check-hugetlb) a hugetlb-2M
 * case that cannot get its huge pages fails, and each one that runs prints
 * "(<case>/hugetlb-2M: ran)".  Expectations that differ between the
 * backings are the real kernel's (6.18), measured and said so at the case.
 *
 * Each case drives the model and the real memory side by side: every host
 * access runs on the model first, and the model's signal decides whether
 * the real fault is resolved (sim_view_access).  The real signal and byte
 * must equal the model's, and the number of resolved faults shows whether
 * the access really faulted.  The backend cases replay small traces on
 * backend_sim_ops and require every expectation to pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "backend.h"
#include "gmem/model.h"
#include "replay.h"
#include "sim.h"
#include "trace.h"

struct sim_bt {
	const char *name;
	bool hugetlb;
};

static const struct sim_bt sim_bts[] = {
	{ "memfd-4K", false },
	{ "hugetlb-2M", true },
};

/* One model gmem + mapping and its real memfd + registered view. */
struct sim_h {
	struct gm_host *h;
	struct gm_proc *p;
	int kvm, vm, gfd;
	uint64_t maddr; /* model address of the mapping */
	uint64_t size, ps;
	struct sim_uffd u;
	struct sim_backing b;
	struct sim_view v;
	bool signals;
};

static void sim_skip(const char *cs, const struct sim_bt *bt, const char *why)
{
	printf("\n  SKIP %s/%s: %s ", cs, bt->name, why);
}

#define SIM_HUGE_FREE "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
#define SIM_NO_POOL "no free 2 MiB hugetlb page (vm.nr_hugepages is 0)"

/* Free pages in the 2 MiB hugetlb pool (what MFD_HUGE_2MB draws from). */
static long sim_hugepages(void)
{
	long n = 0;
	FILE *f = fopen(SIM_HUGE_FREE, "r");

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

/* GMEMSIM_SIM_HUGETLB=require: a hugetlb-2M case must run, not skip. */
static bool sim_hugetlb_required(void)
{
	const char *e = getenv("GMEMSIM_SIM_HUGETLB");

	return e && !strcmp(e, "require");
}

/* A backing the machine cannot give: skip, or fail when it is required. */
static void sim_unavail(const char *cs, const struct sim_bt *bt,
			const char *why)
{
	if (bt->hugetlb && sim_hugetlb_required()) {
		printf("\n  FAIL %s/%s: %s (GMEMSIM_SIM_HUGETLB=require) ", cs,
		       bt->name, why);
		CU_FAIL("hugetlb backing required but unavailable");
		return;
	}
	sim_skip(cs, bt, why);
}

/* A missing feature (skip) rather than a failure. */
static bool sim_unavailable(int err)
{
	return err == -EPERM || err == -ENOSYS || err == -EOPNOTSUPP ||
	       err == -EINVAL || err == -ENOMEM || err == -EACCES ||
	       err == -ENOENT;
}

static void sim_h_fini(struct sim_h *s)
{
	sim_view_unmap(&s->v);
	sim_backing_destroy(&s->b);
	sim_uffd_close(&s->u);
	if (s->signals)
		sim_signals_put();
	if (s->h)
		gm_host_destroy(s->h);
	memset(s, 0, sizeof(*s));
}

/*
 * Set up a gmem of two backing pages with @gflags on a @type VM under
 * @profile, mapped RW at offset 0, and the real twin.  Returns false (after
 * printing why) when the case must be skipped or failed.
 */
static bool sim_h_init2(struct sim_h *s, const char *cs,
			const struct sim_bt *bt, enum gm_profile profile,
			enum gm_vm_type type, uint64_t gflags, uint64_t size)
{
	struct kvm_create_guest_memfd args;
	struct gm_config cfg;
	char why[256];
	int ret;

	memset(s, 0, sizeof(*s));
	s->u.fd = -1;
	s->b.fd = -1;
	if (bt->hugetlb && sim_hugepages() <= 0) {
		sim_unavail(cs, bt, SIM_NO_POOL);
		return false;
	}
	s->ps = bt->hugetlb ? SIM_HUGE_SIZE : 4096;
	s->size = size ? size : 2 * s->ps;
	ret = sim_uffd_open(&s->u, bt->hugetlb, why, sizeof(why));
	if (ret) {
		if (sim_unavailable(ret))
			sim_unavail(cs, bt, why);
		else
			CU_FAIL_FATAL("sim_uffd_open");
		return false;
	}
	ret = sim_backing_create(&s->b, s->size, bt->hugetlb, why, sizeof(why));
	if (ret) {
		sim_h_fini(s);
		if (sim_unavailable(ret))
			sim_unavail(cs, bt, why);
		else
			CU_FAIL("sim_backing_create");
		return false;
	}
	CU_ASSERT_EQUAL(sim_backing_page_size(&s->b), s->ps);
	ret = sim_view_map(&s->v, &s->b, &s->u, 0, s->size,
			   GMEM_PROT_READ | GMEM_PROT_WRITE, why, sizeof(why));
	if (ret) {
		sim_h_fini(s);
		if (sim_unavailable(ret))
			sim_unavail(cs, bt, why);
		else
			CU_FAIL("sim_view_map");
		return false;
	}
	if (bt->hugetlb) {
		/* hugetlb mmap places views on 2 MiB boundaries */
		CU_ASSERT_EQUAL((uintptr_t)s->v.addr & (SIM_HUGE_SIZE - 1), 0);
		printf("(%s/%s: ran) ", cs, bt->name);
	}
	CU_ASSERT_EQUAL_FATAL(sim_signals_get(), 0);
	s->signals = true;

	gm_config_init(&cfg);
	cfg.profile = profile;
	CU_ASSERT_EQUAL_FATAL(gm_host_create(&cfg, &s->h), 0);
	s->p = gm_host_init_proc(s->h);
	s->kvm = gm_open_kvm(s->p);
	CU_ASSERT_FATAL(s->kvm >= 0);
	s->vm = (int)gm_ioctl(s->p, s->kvm, KVM_CREATE_VM,
			      gm_vm_type_to_kvm(type));
	CU_ASSERT_FATAL(s->vm >= 0);
	memset(&args, 0, sizeof(args));
	args.size = s->size;
	args.flags = gflags;
	s->gfd = (int)gm_ioctl(s->p, s->vm, KVM_CREATE_GUEST_MEMFD,
			       (unsigned long)&args);
	CU_ASSERT_FATAL(s->gfd >= 0);
	CU_ASSERT_EQUAL_FATAL(gm_mmap(s->p, s->size,
				      GMEM_PROT_READ | GMEM_PROT_WRITE,
				      GMEM_MAP_SHARED, s->gfd, 0, &s->maddr),
			      0);
	return true;
}

static bool sim_h_init(struct sim_h *s, const char *cs, const struct sim_bt *bt,
		       enum gm_profile profile, enum gm_vm_type type,
		       uint64_t gflags)
{
	return sim_h_init2(s, cs, bt, profile, type, gflags, 0);
}

/* A shared mainline gmem of @size bytes. */
static bool sim_h_init_size(struct sim_h *s, const char *cs,
			    const struct sim_bt *bt, uint64_t size)
{
	return sim_h_init2(s, cs, bt, GM_PROFILE_MAINLINE, GM_VM_DEFAULT,
			   GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
			   size);
}

/*
 * One host access at @off: the model decides, the real memory follows.
 * Asserts that both raise the same signal and load the same byte; returns
 * the signal and the number of real faults resolved in *nr.
 */
static int sim_h_access(struct sim_h *s, uint64_t off, bool write,
			uint8_t *byte, unsigned int *nr)
{
	struct sim_access_result r;
	uint8_t mb = *byte, rb = *byte;
	int msig = -1;

	CU_ASSERT_EQUAL(gm_host_access(s->p, s->maddr + off,
				       write ? GM_ACCESS_WRITE : GM_ACCESS_READ,
				       &mb, &msig),
			0);
	sim_view_access(&s->v, off, write, &rb, msig == 0, &r);
	CU_ASSERT_EQUAL(r.sig, msig);
	CU_ASSERT_EQUAL(r.resolve_err, 0);
	if (!write && !msig) {
		CU_ASSERT_EQUAL(rb, mb);
		*byte = rb;
	}
	*nr = r.nr_resolved;
	return r.sig;
}

static void sim_h_punch(struct sim_h *s, uint64_t off, uint64_t len)
{
	CU_ASSERT_EQUAL(gm_fallocate(s->p, s->gfd,
				     GMEM_FALLOC_FL_KEEP_SIZE |
					     GMEM_FALLOC_FL_PUNCH_HOLE,
				     (int64_t)off, (int64_t)len),
			0);
	CU_ASSERT_EQUAL(sim_backing_punch(&s->b, off, len), 0);
}

static long sim_h_convert(struct sim_h *s, uint64_t off, uint64_t len,
			  bool private)
{
	struct kvm_memory_attributes2 a;
	long ret;

	memset(&a, 0, sizeof(a));
	a.offset = off;
	a.size = len;
	a.attributes = private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	ret = gm_ioctl(s->p, s->gfd, KVM_SET_MEMORY_ATTRIBUTES2,
		       (unsigned long)&a);
	/* the host unmap comes first, whatever the result */
	CU_ASSERT_EQUAL(sim_view_zap(&s->v, off, len), 0);
	return ret;
}

/* ---- cases ---- */

static void case_first_touch_zero(const struct sim_bt *bt)
{
	struct sim_h s;
	unsigned int nr;
	uint8_t byte = 0xff;

	if (!sim_h_init(&s, "first_touch_zero", bt, GM_PROFILE_MAINLINE,
			GM_VM_DEFAULT,
			GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED))
		return;
	CU_ASSERT_EQUAL(sim_h_access(&s, 123, false, &byte, &nr), 0);
	CU_ASSERT_EQUAL(byte, 0);
	CU_ASSERT_EQUAL(nr, 1); /* a hole: MISSING -> ZEROPAGE / COPY */
	byte = 0xff;
	CU_ASSERT_EQUAL(sim_h_access(&s, 124, false, &byte, &nr), 0);
	CU_ASSERT_EQUAL(byte, 0);
	CU_ASSERT_EQUAL(nr, 0); /* now mapped */
	sim_h_fini(&s);
}

static void case_write_read_back(const struct sim_bt *bt)
{
	struct sim_h s;
	unsigned int nr;
	uint8_t byte;

	if (!sim_h_init(&s, "write_read_back", bt, GM_PROFILE_MAINLINE,
			GM_VM_DEFAULT,
			GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED))
		return;
	byte = 0x5a;
	CU_ASSERT_EQUAL(sim_h_access(&s, s.ps + 17, true, &byte, &nr), 0);
	CU_ASSERT_EQUAL(nr, 1);
	byte = 0;
	CU_ASSERT_EQUAL(sim_h_access(&s, s.ps + 17, false, &byte, &nr), 0);
	CU_ASSERT_EQUAL(byte, 0x5a);
	CU_ASSERT_EQUAL(nr, 0);
	/* the byte is in the file: the unregistered alias sees it */
	byte = 0;
	CU_ASSERT_EQUAL(sim_backing_load(&s.b, s.ps + 17, &byte), 0);
	CU_ASSERT_EQUAL(byte, 0x5a);
	/* a zap keeps the page cache: the next access is a minor fault */
	CU_ASSERT_EQUAL(sim_view_zap(&s.v, 0, s.size), 0);
	byte = 0;
	CU_ASSERT_EQUAL(sim_h_access(&s, s.ps + 17, false, &byte, &nr), 0);
	CU_ASSERT_EQUAL(byte, 0x5a);
	CU_ASSERT_EQUAL(nr, 1); /* CONTINUE */
	sim_h_fini(&s);
}

static void case_punch_read_zero(const struct sim_bt *bt)
{
	struct sim_h s;
	unsigned int nr;
	uint8_t byte;

	if (!sim_h_init(&s, "punch_read_zero", bt, GM_PROFILE_MAINLINE,
			GM_VM_DEFAULT,
			GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED))
		return;
	byte = 0x77;
	CU_ASSERT_EQUAL(sim_h_access(&s, 8, true, &byte, &nr), 0);
	byte = 0x78;
	CU_ASSERT_EQUAL(sim_h_access(&s, s.ps + 8, true, &byte, &nr), 0);
	sim_h_punch(&s, 0, s.ps);
	byte = 0xff;
	CU_ASSERT_EQUAL(sim_h_access(&s, 8, false, &byte, &nr), 0);
	CU_ASSERT_EQUAL(byte, 0);
	CU_ASSERT_EQUAL(nr, 1); /* the punch zapped it: a real fault */
	byte = 0;
	CU_ASSERT_EQUAL(sim_h_access(&s, s.ps + 8, false, &byte, &nr), 0);
	CU_ASSERT_EQUAL(byte, 0x78); /* outside the punch */
	CU_ASSERT_EQUAL(nr, 0);
	sim_h_fini(&s);
}

static void case_private_sigbus(const struct sim_bt *bt)
{
	struct sim_h s;
	unsigned int nr;
	uint8_t byte = 0x11;

	/* mmap without INIT_SHARED: every host fault is SIGBUS (probe A7) */
	if (!sim_h_init(&s, "private_sigbus", bt, GM_PROFILE_MAINLINE,
			GM_VM_DEFAULT, GUEST_MEMFD_FLAG_MMAP))
		return;
	CU_ASSERT_EQUAL(sim_h_access(&s, 0, true, &byte, &nr), SIGBUS);
	CU_ASSERT_EQUAL(nr, 0); /* refused, not resolved */
	CU_ASSERT_EQUAL(sim_h_access(&s, s.ps, false, &byte, &nr), SIGBUS);
	CU_ASSERT_EQUAL(nr, 0);
	/* nothing reached the file */
	byte = 0xff;
	CU_ASSERT_EQUAL(sim_backing_load(&s.b, 0, &byte), 0);
	CU_ASSERT_EQUAL(byte, 0);
	sim_h_fini(&s);
}

/*
 * A missed zap is visible: a resident page does not fault, so an access the
 * model refuses succeeds for real (the backend reports that as EUCLEAN).
 */
static void case_missed_zap_detected(const struct sim_bt *bt)
{
	struct sim_access_result r;
	struct sim_h s;
	unsigned int nr;
	uint8_t byte = 0x33;

	if (!sim_h_init(&s, "missed_zap_detected", bt, GM_PROFILE_MAINLINE,
			GM_VM_DEFAULT,
			GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED))
		return;
	CU_ASSERT_EQUAL(sim_h_access(&s, 0, true, &byte, &nr), 0);
	sim_view_access(&s.v, 0, false, &byte, false, &r);
	CU_ASSERT_EQUAL(r.sig, 0);
	CU_ASSERT_EQUAL(byte, 0x33);
	CU_ASSERT_EQUAL(sim_view_zap(&s.v, 0, s.ps), 0);
	sim_view_access(&s.v, 0, false, &byte, false, &r);
	CU_ASSERT_EQUAL(r.sig, SIGBUS);
	CU_ASSERT_EQUAL(r.nr_resolved, 0);
	/* beyond the view: a SIGSEGV-free refusal is impossible to fake */
	sim_h_fini(&s);
}

static void case_inplace_convert(const struct sim_bt *bt)
{
	struct sim_h s;
	unsigned int nr;
	uint8_t byte;

	if (!sim_h_init(&s, "inplace_convert", bt, GM_PROFILE_INPLACE,
			GM_VM_SW_PROTECTED,
			GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED))
		return;
	byte = 0x42;
	CU_ASSERT_EQUAL(sim_h_access(&s, 64, true, &byte, &nr), 0);
	byte = 0x43;
	CU_ASSERT_EQUAL(sim_h_access(&s, s.ps + 64, true, &byte, &nr), 0);
	CU_ASSERT_EQUAL(sim_h_convert(&s, 0, s.ps, true), 0);
	CU_ASSERT_EQUAL(gm_gmem_state(s.p, s.gfd, 0, s.ps), GM_STATE_PRIVATE);
	/* the real access faults (zapped) and is refused */
	CU_ASSERT_EQUAL(sim_h_access(&s, 64, false, &byte, &nr), SIGBUS);
	CU_ASSERT_EQUAL(nr, 0);
	byte = 0x99;
	CU_ASSERT_EQUAL(sim_h_access(&s, 64, true, &byte, &nr), SIGBUS);
	/* the other page is still shared and resident */
	byte = 0;
	CU_ASSERT_EQUAL(sim_h_access(&s, s.ps + 64, false, &byte, &nr), 0);
	CU_ASSERT_EQUAL(byte, 0x43);
	CU_ASSERT_EQUAL(nr, 0);
	/* back to shared: SW_PROTECTED preserves the contents */
	CU_ASSERT_EQUAL(sim_h_convert(&s, 0, s.ps, false), 0);
	byte = 0;
	CU_ASSERT_EQUAL(sim_h_access(&s, 64, false, &byte, &nr), 0);
	CU_ASSERT_EQUAL(byte, 0x42);
	CU_ASSERT_EQUAL(nr, 1); /* in the page cache: CONTINUE */
	CU_ASSERT_EQUAL(gm_host_check(s.h, stderr), 0);
	sim_h_fini(&s);
}

/*
 * Threads: each worker stores and loads its own pages through the one
 * registered view while a zapper keeps removing the PTEs, so faults are
 * resolved concurrently in several threads' SIGBUS handlers (thread-local
 * jump state).  The model decides every access under a lock.
 */
#define SIM_WORKERS 3
#define SIM_PAGES 24
#define SIM_ITERS 1500

struct sim_thread {
	struct sim_h *s;
	pthread_mutex_t *lock;
	unsigned int id;
	unsigned int seed;
	unsigned long errors, resolved;
	uint8_t shadow[SIM_PAGES];
};

static int sim_stop;

static void *sim_worker(void *arg)
{
	struct sim_thread *w = arg;
	struct sim_access_result r;
	unsigned int i, page;
	uint64_t off;
	uint8_t mb, rb;
	bool write;
	int msig;

	for (i = 0; i < SIM_ITERS; i++) {
		/* one byte (offset 0) of each of this worker's pages */
		page = w->id + SIM_WORKERS * ((unsigned int)rand_r(&w->seed) %
					      (SIM_PAGES / SIM_WORKERS));
		off = (uint64_t)page * 4096;
		write = rand_r(&w->seed) & 1;
		mb = rb = (uint8_t)rand_r(&w->seed);
		pthread_mutex_lock(w->lock);
		msig = -1;
		if (gm_host_access(w->s->p, w->s->maddr + off,
				   write ? GM_ACCESS_WRITE : GM_ACCESS_READ,
				   &mb, &msig))
			w->errors++;
		pthread_mutex_unlock(w->lock);
		sim_view_access(&w->s->v, off, write, &rb, msig == 0, &r);
		w->resolved += r.nr_resolved;
		if (r.sig != msig || r.resolve_err)
			w->errors++;
		if (write && !r.sig)
			w->shadow[page] = rb;
		else if (!r.sig && (rb != mb || rb != w->shadow[page]))
			w->errors++;
	}
	return NULL;
}

static void *sim_zapper(void *arg)
{
	struct sim_h *s = arg;
	unsigned int seed = 7;

	while (!__atomic_load_n(&sim_stop, __ATOMIC_ACQUIRE)) {
		uint64_t page = (unsigned int)rand_r(&seed) % SIM_PAGES;

		sim_view_zap(&s->v, page * 4096,
			     4096 * (1 + (unsigned int)rand_r(&seed) % 8));
		/*
		 * Let the workers retry: a zapper that never pauses can zap
		 * a page between its resolution and the retried access
		 * SIM_MAX_RESOLVE times in a row (seen under TSan: ELOOP).
		 */
		sched_yield();
	}
	return NULL;
}

static void case_threads(const struct sim_bt *bt)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct sim_thread w[SIM_WORKERS];
	pthread_t tw[SIM_WORKERS], tz;
	unsigned long errors = 0, resolved = 0;
	struct sim_h s;
	unsigned int i;

	if (bt->hugetlb) {
		sim_skip("threads", bt, "4 KiB pages only (per-page owners)");
		return;
	}
	if (!sim_h_init_size(&s, "threads", bt, SIM_PAGES * 4096ULL))
		return;
	__atomic_store_n(&sim_stop, 0, __ATOMIC_RELEASE);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tz, NULL, sim_zapper, &s), 0);
	for (i = 0; i < SIM_WORKERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].s = &s;
		w[i].lock = &lock;
		w[i].id = i;
		w[i].seed = 1000 + i;
		CU_ASSERT_EQUAL_FATAL(
			pthread_create(&tw[i], NULL, sim_worker, &w[i]), 0);
	}
	for (i = 0; i < SIM_WORKERS; i++) {
		pthread_join(tw[i], NULL);
		errors += w[i].errors;
		resolved += w[i].resolved;
	}
	__atomic_store_n(&sim_stop, 1, __ATOMIC_RELEASE);
	pthread_join(tz, NULL);
	printf("(%lu faults resolved in %d threads) ", resolved, SIM_WORKERS);
	CU_ASSERT_EQUAL(errors, 0);
	CU_ASSERT(resolved >= SIM_PAGES); /* at least every first touch */
	CU_ASSERT_EQUAL(gm_host_check(s.h, stderr), 0);
	sim_h_fini(&s);
}

/*
 * Faults decided at fault time (sim_view_access_fn, what gmemsim stress
 * uses): the callback runs in the faulting thread once per fault, asks the
 * model and resolves; its refusal or error is what the access reports.
 */
struct sim_decider {
	struct sim_h *s;
	unsigned int calls;
	int force; /* nonzero: return this instead of asking the model */
};

static int sim_decide(void *ctx, const struct sim_view *v, uint64_t off,
		      bool write, uint8_t byte)
{
	struct sim_decider *d = ctx;
	int sig = -1, err;

	d->calls++;
	if (d->force)
		return d->force;
	if (gm_host_access(d->s->p, d->s->maddr + off,
			   write ? GM_ACCESS_WRITE : GM_ACCESS_READ, &byte,
			   &sig))
		return -EIO;
	if (sig)
		return sig;
	err = sim_view_resolve(v, off);
	return err ? -err : 0;
}

static void case_decide_at_fault(const struct sim_bt *bt)
{
	struct sim_access_result r;
	struct sim_decider d;
	struct sim_h s;
	uint8_t byte;

	if (!sim_h_init(&s, "decide_at_fault", bt, GM_PROFILE_INPLACE,
			GM_VM_SW_PROTECTED,
			GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED))
		return;
	memset(&d, 0, sizeof(d));
	d.s = &s;
	byte = 0x61;
	sim_view_access_fn(&s.v, 5, true, &byte, sim_decide, &d, &r);
	CU_ASSERT_EQUAL(r.sig, 0);
	CU_ASSERT_EQUAL(r.nr_resolved, 1);
	CU_ASSERT_EQUAL(d.calls, 1);
	/* resident: no fault, no call */
	byte = 0;
	sim_view_access_fn(&s.v, 5, false, &byte, sim_decide, &d, &r);
	CU_ASSERT_EQUAL(r.sig, 0);
	CU_ASSERT_EQUAL(byte, 0x61);
	CU_ASSERT_EQUAL(d.calls, 1);
	/* private: the zap makes it fault, the model refuses */
	CU_ASSERT_EQUAL(sim_h_convert(&s, 0, s.ps, true), 0);
	sim_view_access_fn(&s.v, 5, false, &byte, sim_decide, &d, &r);
	CU_ASSERT_EQUAL(r.sig, SIGBUS);
	CU_ASSERT_EQUAL(r.nr_resolved, 0);
	CU_ASSERT_EQUAL(d.calls, 2);
	/* a failed resolution is reported, not retried */
	CU_ASSERT_EQUAL(sim_h_convert(&s, 0, s.ps, false), 0);
	d.force = -EIO;
	sim_view_access_fn(&s.v, 5, false, &byte, sim_decide, &d, &r);
	CU_ASSERT_EQUAL(r.sig, SIGBUS);
	CU_ASSERT_EQUAL(r.resolve_err, EIO);
	CU_ASSERT_EQUAL(d.calls, 3);
	/* shared again: the old byte comes back (SW_PROTECTED preserves) */
	d.force = 0;
	byte = 0;
	sim_view_access_fn(&s.v, 5, false, &byte, sim_decide, &d, &r);
	CU_ASSERT_EQUAL(r.sig, 0);
	CU_ASSERT_EQUAL(byte, 0x61);
	CU_ASSERT_EQUAL(r.nr_resolved, 1);
	CU_ASSERT_EQUAL(gm_host_check(s.h, stderr), 0);
	sim_h_fini(&s);
}

/*
 * Runs (docs/sim.md, "Runs"): an allowed fault resolves the run of pages
 * around it that the model would map, with ranged ioctls; private pages
 * and pages past a private one stay unmapped, and a zap takes a run back.
 */
struct sim_run_decider {
	struct sim_h *s;
	unsigned int calls;
	uint64_t pages; /* of the last fault */
};

static uint64_t sim_run_q(void *ctx, uint64_t off, uint64_t max)
{
	struct sim_h *s = ctx;

	return gm_host_fault_run(s->p, s->maddr + off, max);
}

static int sim_decide_run(void *ctx, const struct sim_view *v, uint64_t off,
			  bool write, uint8_t byte)
{
	struct sim_run_decider *d = ctx;
	int sig = -1, err;

	d->calls++;
	if (gm_host_access(d->s->p, d->s->maddr + off,
			   write ? GM_ACCESS_WRITE : GM_ACCESS_READ, &byte,
			   &sig))
		return -EIO;
	if (sig)
		return sig;
	err = sim_view_resolve_run(v, off, sim_run_q, d->s, &d->pages, NULL);
	return err ? -err : 0;
}

/* One decided access; returns the signal. */
static int sim_run_access(struct sim_h *s, struct sim_run_decider *d,
			  uint64_t off, bool write, uint8_t *byte)
{
	struct sim_access_result r;

	sim_view_access_fn(&s->v, off, write, byte, sim_decide_run, d, &r);
	CU_ASSERT_EQUAL(r.resolve_err, 0);
	return r.sig;
}

/*
 * Runs are off for hugetlb: a fault resolves its one huge page, even when
 * the model would map the next one too.
 */
static void case_runs_hugetlb(const struct sim_bt *bt)
{
	struct sim_run_decider d;
	struct sim_h s;
	uint8_t byte;

	if (!sim_h_init(&s, "runs", bt, GM_PROFILE_INPLACE, GM_VM_SW_PROTECTED,
			GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED))
		return;
	s.v.run_pages = 512;
	memset(&d, 0, sizeof(d));
	d.s = &s;
	byte = 0x11;
	CU_ASSERT_EQUAL(sim_run_access(&s, &d, 7, true, &byte), 0);
	CU_ASSERT_EQUAL(d.calls, 1);
	CU_ASSERT_EQUAL(d.pages, 1); /* one huge page */
	CU_ASSERT_EQUAL(sim_view_mapped(&s.v, s.ps - 1), 1);
	CU_ASSERT_EQUAL(sim_view_mapped(&s.v, s.ps), 0);
	byte = 0xee;
	CU_ASSERT_EQUAL(sim_run_access(&s, &d, s.ps + 7, false, &byte), 0);
	CU_ASSERT_EQUAL(byte, 0);
	CU_ASSERT_EQUAL(d.calls, 2);
	CU_ASSERT_EQUAL(gm_host_check(s.h, stderr), 0);
	sim_h_fini(&s);
}

static void case_runs(const struct sim_bt *bt)
{
	struct sim_run_decider d;
	struct sim_h s;
	unsigned int i, calls;
	uint8_t byte;
	int msig = -1;

	if (bt->hugetlb) {
		case_runs_hugetlb(bt);
		return;
	}
	if (!sim_h_init2(&s, "runs", bt, GM_PROFILE_INPLACE, GM_VM_SW_PROTECTED,
			 GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
			 16 * 4096))
		return;
	s.v.run_pages = 512; /* whatever GMEMSIM_SIM_RUN says */
	memset(&d, 0, sizeof(d));
	d.s = &s;
	CU_ASSERT_EQUAL(sim_h_convert(&s, 10 * 4096, 2 * 4096, true), 0);
	/* page 3 in the page cache already: CONTINUE within the run */
	byte = 0x33;
	CU_ASSERT_EQUAL(gm_host_access(s.p, s.maddr + 3 * 4096 + 7,
				       GM_ACCESS_WRITE, &byte, &msig),
			0);
	CU_ASSERT_EQUAL(msig, 0);
	CU_ASSERT_EQUAL(sim_backing_store(&s.b, 3 * 4096 + 7, 0x33), 0);

	byte = 0x11;
	CU_ASSERT_EQUAL(sim_run_access(&s, &d, 0, true, &byte), 0);
	CU_ASSERT_EQUAL(d.calls, 1);
	CU_ASSERT_EQUAL(d.pages, 10); /* 0..9: page 10 is private */
	for (i = 1; i < 10; i++) {
		byte = 0xee;
		CU_ASSERT_EQUAL(
			sim_run_access(&s, &d, i * 4096 + 7, false, &byte), 0);
		CU_ASSERT_EQUAL(byte, i == 3 ? 0x33 : 0);
	}
	CU_ASSERT_EQUAL(d.calls, 1); /* all resolved by the first fault */
	CU_ASSERT_EQUAL(sim_run_access(&s, &d, 10 * 4096, false, &byte),
			SIGBUS);
	CU_ASSERT_EQUAL(d.calls, 2);
	/* past the private pages: the run starts at the fault */
	CU_ASSERT_EQUAL(sim_run_access(&s, &d, 12 * 4096, false, &byte), 0);
	CU_ASSERT_EQUAL(d.calls, 3);
	CU_ASSERT_EQUAL(d.pages, 4);
	/* a conversion zaps its range; the run comes back around it */
	CU_ASSERT_EQUAL(sim_h_convert(&s, 5 * 4096, 4096, true), 0);
	CU_ASSERT_EQUAL(sim_run_access(&s, &d, 5 * 4096, false, &byte), SIGBUS);
	CU_ASSERT_EQUAL(sim_h_convert(&s, 5 * 4096, 4096, false), 0);
	calls = d.calls;
	byte = 0xee;
	CU_ASSERT_EQUAL(sim_run_access(&s, &d, 5 * 4096 + 1, false, &byte), 0);
	CU_ASSERT_EQUAL(byte, 0);
	CU_ASSERT_EQUAL(d.calls, calls + 1);
	CU_ASSERT_EQUAL(d.pages, 10); /* 0..9 again, 0..4 already mapped */
	byte = 0;
	CU_ASSERT_EQUAL(sim_run_access(&s, &d, 3 * 4096 + 7, false, &byte), 0);
	CU_ASSERT_EQUAL(byte, 0x33);
	CU_ASSERT_EQUAL(d.calls, calls + 1);
	CU_ASSERT_EQUAL(gm_host_check(s.h, stderr), 0);
	sim_h_fini(&s);
}

/*
 * A first touch in the middle of a page, not in its first 4 KiB: the
 * SIGBUS address is the exact byte (measured), the handler resolves the
 * page that holds it -- on hugetlb the whole 2 MiB, which is then mapped
 * from its first byte to its last -- and the handler-thread mode (in
 * thread_mode) finds the access although a hugetlb fault message carries
 * the huge page's address, not the 4 KiB page's.
 */
static void case_fault_mid_page(const struct sim_bt *bt)
{
	struct sim_h s;
	unsigned int nr;
	uint64_t mid;
	uint8_t byte;

	if (!sim_h_init(&s, "fault_mid_page", bt, GM_PROFILE_MAINLINE,
			GM_VM_DEFAULT,
			GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED))
		return;
	mid = s.ps + s.ps / 2 + 0x456;
	byte = 0x6c;
	CU_ASSERT_EQUAL(sim_h_access(&s, mid, true, &byte, &nr), 0);
	CU_ASSERT_EQUAL(nr, 1);
	CU_ASSERT_EQUAL(sim_view_mapped(&s.v, s.ps), 1);
	CU_ASSERT_EQUAL(sim_view_mapped(&s.v, 2 * s.ps - 1), 1);
	CU_ASSERT_EQUAL(sim_view_mapped(&s.v, s.ps - 1), 0);
	byte = 0xee;
	CU_ASSERT_EQUAL(sim_h_access(&s, s.ps + 5, false, &byte, &nr), 0);
	CU_ASSERT_EQUAL(byte, 0);
	CU_ASSERT_EQUAL(nr, 0); /* the same page: no fault */
	byte = 0;
	CU_ASSERT_EQUAL(sim_backing_load(&s.b, mid, &byte), 0);
	CU_ASSERT_EQUAL(byte, 0x6c);
	sim_h_fini(&s);
}

/*
 * sim_view_zap() rounds out to the backing's page.  Two 2 MiB pages on
 * both backings:
 *
 *   file  0    4K   8K            2M            4M
 *         |a   |b   |              |c            |
 *              [zap]
 *
 * memfd-4K: only b's page goes.  hugetlb-2M: the whole first huge page
 * goes (a and b), c stays.  The raw madvise() it replaces does not do
 * that on hugetlb (measured on 6.18): DONTNEED from 4K is EINVAL, and
 * DONTNEED of [0, 4K) returns 0 but unmaps nothing (the end is rounded
 * down).
 */
static void case_zap_rounds_out(const struct sim_bt *bt)
{
	struct sim_h s;
	unsigned int nr;
	uint8_t byte;

	if (!sim_h_init_size(&s, "zap_rounds_out", bt, 2 * SIM_HUGE_SIZE))
		return;
	byte = 0x0a;
	CU_ASSERT_EQUAL(sim_h_access(&s, 0x10, true, &byte, &nr), 0);
	byte = 0x0b;
	CU_ASSERT_EQUAL(sim_h_access(&s, 0x1010, true, &byte, &nr), 0);
	CU_ASSERT_EQUAL(nr, bt->hugetlb ? 0 : 1);
	byte = 0x0c;
	CU_ASSERT_EQUAL(
		sim_h_access(&s, SIM_HUGE_SIZE + 0x10, true, &byte, &nr), 0);
	if (bt->hugetlb) {
		errno = 0;
		CU_ASSERT_EQUAL(
			madvise(s.v.addr + 0x1000, 0x1000, MADV_DONTNEED), -1);
		CU_ASSERT_EQUAL(errno, EINVAL);
		CU_ASSERT_EQUAL(madvise(s.v.addr, 0x1000, MADV_DONTNEED), 0);
		CU_ASSERT_EQUAL(sim_view_mapped(&s.v, 0x10), 1); /* kept */
	}
	CU_ASSERT_EQUAL(sim_view_zap(&s.v, 0x1000, 0x1000), 0);
	CU_ASSERT_EQUAL(sim_view_mapped(&s.v, 0x1010), 0);
	CU_ASSERT_EQUAL(sim_view_mapped(&s.v, 0x10), bt->hugetlb ? 0 : 1);
	CU_ASSERT_EQUAL(sim_view_mapped(&s.v, SIM_HUGE_SIZE + 0x10), 1);
	byte = 0;
	CU_ASSERT_EQUAL(sim_h_access(&s, 0x10, false, &byte, &nr), 0);
	CU_ASSERT_EQUAL(byte, 0x0a);
	CU_ASSERT_EQUAL(nr, bt->hugetlb ? 1 : 0);
	/* an aligned start and a short length: still the whole page */
	CU_ASSERT_EQUAL(sim_view_zap(&s.v, 0, 1), 0);
	CU_ASSERT_EQUAL(sim_view_mapped(&s.v, 0x10), 0);
	CU_ASSERT_EQUAL(sim_view_mapped(&s.v, SIM_HUGE_SIZE + 0x10), 1);
	byte = 0;
	CU_ASSERT_EQUAL(sim_h_access(&s, 0x1010, false, &byte, &nr), 0);
	CU_ASSERT_EQUAL(byte, 0x0b);
	CU_ASSERT_EQUAL(nr, 1);
	sim_h_fini(&s);
}

/*
 * A punch that covers only part of a page (measured on 6.18):
 * hugetlbfs zeroes the partial range in place and keeps the huge page,
 * mapped -- the next access does not fault -- and frees (and unmaps) only
 * huge pages the punch covers whole; shmem frees and unmaps each 4 KiB
 * page.  Either way every punched byte reads 0 and the rest is kept, which
 * is what the model says.
 *
 *   file  0    4K   8K      2M-4K  2M  2M+4K 2M+8K
 *         |a   |b   |c  ...  | d   | e  | f   |
 *              [punch]       [  punch  ]
 */
static void case_punch_partial(const struct sim_bt *bt)
{
	static const struct {
		uint64_t off;
		uint8_t byte, after; /* after the punches */
	} w[] = {
		{ 0x10, 0xa1, 0xa1 },
		{ 0x1010, 0xb2, 0 },
		{ 0x2010, 0xc3, 0xc3 },
		{ SIM_HUGE_SIZE - 0x800, 0xd4, 0 },
		{ SIM_HUGE_SIZE + 0x800, 0xe5, 0 },
		{ SIM_HUGE_SIZE + 0x1800, 0xf6, 0xf6 },
	};
	struct sim_h s;
	unsigned int nr;
	uint8_t byte;
	size_t i;

	if (!sim_h_init_size(&s, "punch_partial", bt, 2 * SIM_HUGE_SIZE))
		return;
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		byte = w[i].byte;
		CU_ASSERT_EQUAL(sim_h_access(&s, w[i].off, true, &byte, &nr),
				0);
	}
	sim_h_punch(&s, 0x1000, 0x1000);
	sim_h_punch(&s, SIM_HUGE_SIZE - 0x1000, 0x2000);
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		bool punched = !w[i].after;

		CU_ASSERT_EQUAL(sim_view_mapped(&s.v, w[i].off),
				bt->hugetlb || !punched);
		byte = 0xee;
		CU_ASSERT_EQUAL(sim_h_access(&s, w[i].off, false, &byte, &nr),
				0);
		CU_ASSERT_EQUAL(byte, w[i].after);
		CU_ASSERT_EQUAL(nr, punched && !bt->hugetlb ? 1 : 0);
	}
	CU_ASSERT_EQUAL(gm_host_check(s.h, stderr), 0);
	sim_h_fini(&s);
}

/*
 * An empty pool (hugetlb only, and only under make check-hugetlb, whose
 * pool this is: GMEMSIM_SIM_HUGETLB=require).  The backing and views are
 * MAP_NORESERVE, so nothing is reserved up front.  A store through the
 * alias into a page the pool cannot back is -ENOSPC (not a SIGBUS that
 * would kill the process), a load of it reads 0 without allocating, and a
 * fault the model allows fails to resolve with ENOMEM -- the kernel's
 * UFFDIO_COPY reports the failed allocation as EEXIST (measured on 6.18),
 * which must not be taken for "already mapped" and retried until ELOOP.
 */
#define SIM_POOL_MAX 256

static void case_pool_exhausted(const struct sim_bt *bt)
{
	struct sim_access_result r;
	struct sim_uffd u;
	struct sim_backing b;
	struct sim_view v;
	char why[256];
	long nfree, nfree_left;
	uint64_t i, n;
	uint8_t byte;
	int ret = 0;

	if (!bt->hugetlb) {
		sim_skip("pool_exhausted", bt, "a hugetlb pool only");
		return;
	}
	if (!sim_hugetlb_required()) {
		/* the pool may be the host's, used by others: leave it be */
		sim_skip("pool_exhausted", bt,
			 "uses up the pool: make check-hugetlb only");
		return;
	}
	nfree = sim_hugepages();
	if (nfree <= 0) {
		sim_unavail("pool_exhausted", bt, SIM_NO_POOL);
		return;
	}
	if (nfree > SIM_POOL_MAX) {
		sim_skip("pool_exhausted", bt, "pool too large to use up");
		return;
	}
	n = (uint64_t)nfree + 1;
	CU_ASSERT_EQUAL_FATAL(sim_uffd_open(&u, true, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL_FATAL(sim_backing_create(&b, n * SIM_HUGE_SIZE, true,
						 why, sizeof(why)),
			      0);
	CU_ASSERT_EQUAL_FATAL(sim_view_map(&v, &b, &u, 0, n * SIM_HUGE_SIZE,
					   GMEM_PROT_READ | GMEM_PROT_WRITE,
					   why, sizeof(why)),
			      0);
	CU_ASSERT_EQUAL_FATAL(sim_signals_get(), 0);
	printf("(pool_exhausted/%s: ran, %ld free pages) ", bt->name, nfree);
	for (i = 0; i < n; i++) {
		ret = sim_backing_store(&b, i * SIM_HUGE_SIZE + 9, 0x99);
		if (ret)
			break;
	}
	CU_ASSERT(i < n); /* the pool ran out */
	CU_ASSERT_EQUAL(ret, -ENOSPC);
	if (i < n) {
		nfree_left = sim_hugepages(); /* 0, or others' reservations */
		byte = 0xee;
		CU_ASSERT_EQUAL(
			sim_backing_load(&b, i * SIM_HUGE_SIZE + 9, &byte), 0);
		CU_ASSERT_EQUAL(byte, 0);
		CU_ASSERT_EQUAL(sim_hugepages(), nfree_left); /* took none */
		byte = 0x5;
		sim_view_access(&v, i * SIM_HUGE_SIZE + 9, true, &byte, true,
				&r);
		CU_ASSERT_EQUAL(r.sig, SIGBUS);
		CU_ASSERT_EQUAL(r.resolve_err, ENOMEM);
		CU_ASSERT_EQUAL(r.nr_resolved, 0);
	}
	if (i > 0) {
		/* a page the pool did give: in the page cache, CONTINUE */
		byte = 0;
		sim_view_access(&v, 9, false, &byte, true, &r);
		CU_ASSERT_EQUAL(r.sig, 0);
		CU_ASSERT_EQUAL(byte, 0x99);
		CU_ASSERT_EQUAL(r.nr_resolved, 1);
	}
	sim_signals_put();
	sim_view_unmap(&v);
	sim_backing_destroy(&b);
	sim_uffd_close(&u);
	CU_ASSERT_EQUAL(sim_hugepages(), nfree); /* all given back */
}

/*
 * A huge page the model says is mixed (docs/sim.md "Hugetlb backing"): a
 * host mapping of a hugetlb page cannot be partial, so an allowed access
 * in a mixed 2 MiB page resolves all of it, is made, and the page is zapped
 * again at once -- no mixed huge page stays mapped, and an access to the
 * private 4 KiB still faults and is refused.
 *
 *   file  0    4K   8K          64K               2M               4M
 *         |    |PRIV|            |w (+0x10)       |shared           |
 *
 * First the sequence by hand (the decider resolves, the caller zaps with
 * sim_view_zap() of the one byte, which rounds out), then with the decider
 * returning SIM_FAULT_ONCE (sim_view_access_fn() zaps).  On memfd-4K no
 * page is mixed: the same accesses leave the shared page mapped.
 */
struct sim_mixed_decider {
	struct sim_h *s;
	bool once; /* return SIM_FAULT_ONCE for a mixed page */
	unsigned int calls, mixed;
};

static int sim_decide_mixed(void *ctx, const struct sim_view *v, uint64_t off,
			    bool write, uint8_t byte)
{
	struct sim_mixed_decider *d = ctx;
	uint64_t ps = sim_backing_page_size(v->b);
	uint64_t page = (v->offset + off) & ~(ps - 1);
	int sig = -1, err;
	bool mixed;

	d->calls++;
	if (gm_host_access(d->s->p, d->s->maddr + off,
			   write ? GM_ACCESS_WRITE : GM_ACCESS_READ, &byte,
			   &sig))
		return -EIO;
	if (sig)
		return sig;
	mixed = gm_gmem_state(d->s->p, d->s->gfd, page, ps) == GM_STATE_MIXED;
	d->mixed += mixed;
	err = sim_view_resolve(v, off);
	if (err)
		return -err;
	return mixed && d->once ? SIM_FAULT_ONCE : 0;
}

static void case_mixed_huge_page(const struct sim_bt *bt)
{
	const uint64_t w = 0x10010, priv = 0x1010;
	int msig = -1;
	struct sim_access_result r;
	struct sim_mixed_decider d;
	unsigned int nr, pass;
	struct sim_h s;
	uint8_t byte;
	int hl = bt->hugetlb;

	if (!sim_h_init2(&s, "mixed_huge_page", bt, GM_PROFILE_INPLACE,
			 GM_VM_SW_PROTECTED,
			 GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
			 2 * SIM_HUGE_SIZE))
		return;
	memset(&d, 0, sizeof(d));
	d.s = &s;
	byte = 0x21;
	CU_ASSERT_EQUAL(sim_h_access(&s, priv, true, &byte, &nr), 0);
	CU_ASSERT_EQUAL(sim_h_convert(&s, 0x1000, 0x1000, true), 0);
	CU_ASSERT_EQUAL(gm_gmem_state(s.p, s.gfd, 0, s.ps),
			hl ? GM_STATE_MIXED : GM_STATE_SHARED);
	CU_ASSERT_EQUAL(sim_view_mapped(&s.v, priv), 0);

	for (pass = 0; pass < 2; pass++) {
		unsigned int calls = d.calls, mixed = d.mixed;

		d.once = pass == 1;
		/* a shared 4 KiB of the mixed page: resolved and made */
		byte = 0x64;
		sim_view_access_fn(&s.v, w, true, &byte, sim_decide_mixed, &d,
				   &r);
		CU_ASSERT_EQUAL(r.sig, 0);
		CU_ASSERT_EQUAL(r.resolve_err, 0);
		CU_ASSERT_EQUAL(r.nr_resolved, 1); /* zapped: it faulted */
		CU_ASSERT_EQUAL(d.calls, calls + 1);
		CU_ASSERT_EQUAL(d.mixed, mixed + hl);
		CU_ASSERT_EQUAL(r.nr_once, hl && d.once ? 1 : 0);
		if (hl && !d.once) /* zapped right away by the caller */
			CU_ASSERT_EQUAL(sim_view_zap(&s.v, w, 1), 0);
		/* no mixed huge page stays mapped; a 4 KiB one does */
		CU_ASSERT_EQUAL(sim_view_mapped(&s.v, w), !hl);
		CU_ASSERT_EQUAL(sim_view_mapped(&s.v, priv), 0);
		CU_ASSERT_EQUAL(sim_view_mapped(&s.v, 0), 0);
		byte = 0;
		CU_ASSERT_EQUAL(sim_backing_load(&s.b, w, &byte), 0);
		CU_ASSERT_EQUAL(byte, 0x64); /* the store landed */
		/* ...at the byte the model was asked about (thread mode) */
		byte = 0;
		CU_ASSERT_EQUAL(gm_host_access(s.p, s.maddr + w, GM_ACCESS_READ,
					       &byte, &msig),
				0);
		CU_ASSERT_EQUAL(msig, 0);
		CU_ASSERT_EQUAL(byte, 0x64);
		/* the private 4 KiB: faults, the model refuses */
		byte = 0xee;
		sim_view_access_fn(&s.v, priv, false, &byte, sim_decide_mixed,
				   &d, &r);
		CU_ASSERT_EQUAL(r.sig, SIGBUS);
		CU_ASSERT_EQUAL(r.resolve_err, 0);
		CU_ASSERT_EQUAL(r.nr_resolved, 0);
		CU_ASSERT_EQUAL(r.nr_once, 0);
		CU_ASSERT_EQUAL(d.calls, calls + 2);
		CU_ASSERT_EQUAL(sim_view_mapped(&s.v, priv), 0);
		CU_ASSERT_EQUAL(sim_view_mapped(&s.v, w), !hl);
		if (!hl) /* the next pass must fault again */
			CU_ASSERT_EQUAL(sim_view_zap(&s.v, w, 1), 0);
	}
	/* the private bytes were never touched (SW_PROTECTED keeps them) */
	byte = 0;
	CU_ASSERT_EQUAL(sim_backing_load(&s.b, priv, &byte), 0);
	CU_ASSERT_EQUAL(byte, 0x21);
	/* a huge page that is not mixed stays mapped */
	byte = 0xee;
	sim_view_access_fn(&s.v, SIM_HUGE_SIZE + 5, false, &byte,
			   sim_decide_mixed, &d, &r);
	CU_ASSERT_EQUAL(r.sig, 0);
	CU_ASSERT_EQUAL(byte, 0);
	CU_ASSERT_EQUAL(r.nr_once, 0);
	CU_ASSERT_EQUAL(sim_view_mapped(&s.v, SIM_HUGE_SIZE + 5), 1);
	CU_ASSERT_EQUAL(gm_host_check(s.h, stderr), 0);
	sim_h_fini(&s);
}

/* ---- the table: case x backing type ---- */

#define SIM_CASE(fn)                                                       \
	static void test_##fn(void)                                        \
	{                                                                  \
		size_t i;                                                  \
                                                                           \
		for (i = 0; i < sizeof(sim_bts) / sizeof(sim_bts[0]); i++) \
			case_##fn(&sim_bts[i]);                            \
	}

SIM_CASE(first_touch_zero)
SIM_CASE(write_read_back)
SIM_CASE(punch_read_zero)
SIM_CASE(private_sigbus)
SIM_CASE(missed_zap_detected)
SIM_CASE(inplace_convert)
SIM_CASE(threads)
SIM_CASE(decide_at_fault)
SIM_CASE(runs)
SIM_CASE(fault_mid_page)
SIM_CASE(zap_rounds_out)
SIM_CASE(punch_partial)
SIM_CASE(pool_exhausted)
SIM_CASE(mixed_huge_page)

/*
 * The handler-thread fault mode (GMEMSIM_SIM_HANDLER=thread): the same
 * cases with every fault read and decided by the userfaultfd's thread.
 */
static void test_thread_mode(void)
{
	const char *old = getenv("GMEMSIM_SIM_HANDLER");
	char *saved = old ? strdup(old) : NULL;

	CU_ASSERT_EQUAL_FATAL(setenv("GMEMSIM_SIM_HANDLER", "thread", 1), 0);
	test_first_touch_zero();
	test_private_sigbus();
	test_decide_at_fault();
	test_runs();
	test_fault_mid_page();
	test_mixed_huge_page();
	if (saved)
		setenv("GMEMSIM_SIM_HANDLER", saved, 1);
	else
		unsetenv("GMEMSIM_SIM_HANDLER");
	free(saved);
}

/* ---- backend_sim_ops over traces ---- */

/* Open file descriptors of this process (every fd the sim opens closes). */
static int sim_nr_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static void sim_replay_text(const char *name, const char *text,
			    unsigned long want_passed)
{
	int fds;

	struct replay_stats st;
	struct replay_opts o;
	struct trace *t;
	struct sim_uffd u;
	char why[256];
	int ret;

	ret = sim_uffd_open(&u, false, why, sizeof(why));
	if (ret) {
		if (!sim_unavailable(ret))
			CU_FAIL("sim_uffd_open");
		printf("\n  SKIP %s: %s ", name, why);
		return;
	}
	sim_uffd_close(&u);
	fds = sim_nr_fds();
	t = trace_parse(name, text, strlen(text));
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(t->nr_errors, 0);
	memset(&st, 0, sizeof(st));
	memset(&o, 0, sizeof(o));
	o.out = stderr;
	CU_ASSERT_EQUAL(replay_trace(t, &backend_sim_ops, &o, &st), 0);
	CU_ASSERT_EQUAL(st.failed, 0);
	CU_ASSERT_EQUAL(st.skipped, 0);
	CU_ASSERT_EQUAL(st.passed, want_passed);
	CU_ASSERT_EQUAL(sim_nr_fds(), fds);
	trace_free(t);
}

static void test_backend_shared_private(void)
{
	sim_replay_text(
		"sim_shared_private",
		"gmemtrace 1\n"
		"vm v\n"
		"gmem g v size=16K flags=mmap|init_shared -> ok\n"
		"mmap m g 0+16K -> ok\n"
		"read m 0x10 -> ok byte=0x00\n"
		"write m 0x1010 byte=0x5a -> ok\n"
		"read m 0x1010 -> ok byte=0x5a\n"
		"fallocate g 0x1000+4K mode=keep_size|punch_hole -> ok\n"
		"read m 0x1010 -> ok byte=0x00\n"
		"gmem p v size=8K flags=mmap -> ok\n"
		"mmap mp p 0+8K -> ok\n"
		"read mp 0 -> SIGBUS\n"
		"write mp 0x1000 byte=1 -> SIGBUS\n"
		"mmap big p 0+16K -> ok\n"
		"read big 0x3000 -> SIGBUS\n"
		"munmap m -> ok\n"
		"read m 0 -> SIGSEGV\n"
		"check -> ok\n",
		16);
}

static void test_backend_inplace(void)
{
	sim_replay_text(
		"sim_inplace",
		"gmemtrace 1 profile=inplace vm_types=default,sw_protected,tdx\n"
		"vm sp type=sw_protected -> ok\n"
		"gmem g sp size=16K flags=mmap|init_shared -> ok\n"
		"mmap m g 0+16K -> ok\n"
		"write m 0 byte=0x42 -> ok\n"
		"convert g 0+4K private -> ok\n"
		"read m 0 -> SIGBUS\n"
		"write m 0 byte=0x1 -> SIGBUS\n"
		"convert g 0+4K shared -> ok\n"
		"read m 0 -> ok byte=0x42\n"
		"fork c -> ok\n"
		"write m 0x2000 byte=0x24 proc=c -> ok\n"
		"read m 0x2000 -> ok byte=0x24\n"
		"memslot s sp gpa=4G size=16K gmem=g offset=0 -> ok\n"
		"convert g 0x3000+4K private -> ok\n"
		"guest sp 0x100003000 w byte=0x77 -> ok\n"
		"convert g 0x3000+4K shared -> ok\n"
		"read m 0x3000 -> ok byte=0x77\n"
		"vm td type=tdx -> ok\n"
		"gmem gt td size=8K flags=mmap|init_shared -> ok\n"
		"mmap mt gt 0+8K -> ok\n"
		"write mt 0 byte=0x55 -> ok\n"
		"convert gt 0+4K private -> ok\n"
		"convert gt 0+4K shared -> ok\n"
		"read mt 0 -> ok\n"
		"check -> ok\n",
		25);
}

/*
 * gmemsim stress in-process, one second on a small file: clean as built,
 * and the checker fires when the zap before a conversion to private is
 * skipped (--no-zap).  The summary lines go to stdout.
 */
static void test_stress(void)
{
	char *ok[] = { "stress", "--seconds", "1", "--size", "256K", NULL };
	char *bad[] = { "stress", "--seconds", "1", "--size",
			"256K",	  "--no-zap",  NULL };
	struct sim_uffd u;
	char why[256];
	int ret;

	ret = sim_uffd_open(&u, false, why, sizeof(why));
	if (ret) {
		printf("\n  SKIP stress: %s ", why);
		return;
	}
	sim_uffd_close(&u);
	printf("\n  ");
	fflush(stdout);
	CU_ASSERT_EQUAL(stress_main(5, ok), 0);
	printf("  (fault injection --no-zap: the violations below are "
	       "expected)\n  ");
	fflush(stdout);
	CU_ASSERT_EQUAL(stress_main(6, bad), 1);
	fflush(stdout);
}

/*
 * gmemsim stress --hugetlb: profile hugetlb on a hugetlb memfd, one second
 * on 8 MiB (4 huge pages), must be clean.  Without free 2 MiB pages
 * stress_run() reports a skip, which is a SKIP here (a failure under
 * GMEMSIM_SIM_HUGETLB=require).
 */
static void test_stress_hugetlb(void)
{
	const struct sim_bt *bt = &sim_bts[1];
	struct stress_report r;
	struct stress_opts o;

	memset(&o, 0, sizeof(o));
	o.seconds = 1;
	o.vcpus = 2;
	o.converters = 2;
	o.seed = 1;
	o.size = 8ULL << 20;
	o.hugetlb = true;
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL_FATAL(stress_run(&o, &r), 0);
	if (r.skipped) {
		sim_unavail("stress_hugetlb", bt, r.why);
		return;
	}
	printf("(stress_hugetlb/hugetlb-2M: ran: %lu ops, %lu host, %lu "
	       "guest) ",
	       r.ops, r.host_ok, r.guest_ok);
	CU_ASSERT_EQUAL(r.violations, 0);
	CU_ASSERT(r.host_ok + r.refused > 0);
	CU_ASSERT(r.guest_ok > 0);
	CU_ASSERT(r.conversions > 0);
}

/* @tN guest ops run on vCPU pthreads; barrier is a no-op that passes. */
static void test_backend_vcpus(void)
{
	sim_replay_text(
		"sim_vcpus",
		"gmemtrace 1 profile=inplace vm_types=default,sw_protected\n"
		"vm sp type=sw_protected -> ok\n"
		"gmem g sp size=16K flags=mmap|init_shared -> ok\n"
		"mmap m g 0+16K -> ok\n"
		"memslot s sp gpa=4G size=16K gmem=g offset=0 -> ok\n"
		"@t0 guest sp 0x100000010 w byte=0x31 -> ok\n"
		"@t1 guest sp 0x100001010 w byte=0x32 -> ok\n"
		"@vcpu guest sp 0x100002010 w byte=0x33 -> ok\n"
		"barrier -> ok\n"
		"@t1 guest sp 0x100000010 r -> ok byte=0x31\n"
		"read m 0x10 -> ok byte=0x31\n"
		"read m 0x1010 -> ok byte=0x32\n"
		"read m 0x2010 -> ok byte=0x33\n"
		"convert g 0x1000+4K private -> ok\n"
		"@t0 guest sp 0x100001010 r -> ok byte=0x32\n"
		"read m 0x1010 -> SIGBUS\n"
		"@t1 barrier -> ok\n"
		"check -> ok\n",
		17);
}

/*
 * The per-vCPU stage-2 cache: a second guest access of a gfn is served from
 * the cache (a load is checked through the alias), and a memslot rebind
 * drops it -- a stale entry would make the last read fail EUCLEAN.
 */
static void test_backend_s2_cache(void)
{
	sim_replay_text(
		"sim_s2_cache",
		"gmemtrace 1 profile=inplace vm_types=default,sw_protected\n"
		"vm sp type=sw_protected -> ok\n"
		"gmem g sp size=16K flags=mmap|init_shared -> ok\n"
		"mmap m g 0+16K -> ok\n"
		"memslot s sp gpa=4G size=16K gmem=g offset=0 -> ok\n"
		"@t0 guest sp 0x100000010 w byte=0x31 -> ok\n"
		"@t0 guest sp 0x100000010 r -> ok byte=0x31\n"
		"@t0 guest sp 0x100000010 w byte=0x32 -> ok\n"
		"read m 0x10 -> ok byte=0x32\n"
		"write m 0x1010 byte=0x44 -> ok\n"
		"@t0 guest sp 0x100000010 r -> ok byte=0x32\n"
		"memslot_delete s -> ok\n"
		"memslot s2 sp gpa=4G size=8K gmem=g offset=4K -> ok\n"
		"@t0 guest sp 0x100000010 r -> ok byte=0x44\n"
		"check -> ok\n",
		14);
}

CU_TestInfo sim_tests[] = {
	{ "first_touch_zero", test_first_touch_zero },
	{ "write_read_back", test_write_read_back },
	{ "punch_read_zero", test_punch_read_zero },
	{ "private_sigbus", test_private_sigbus },
	{ "missed_zap_detected", test_missed_zap_detected },
	{ "inplace_convert", test_inplace_convert },
	{ "threads", test_threads },
	{ "decide_at_fault", test_decide_at_fault },
	{ "runs", test_runs },
	{ "fault_mid_page", test_fault_mid_page },
	{ "zap_rounds_out", test_zap_rounds_out },
	{ "punch_partial", test_punch_partial },
	{ "pool_exhausted", test_pool_exhausted },
	{ "mixed_huge_page", test_mixed_huge_page },
	{ "thread_mode", test_thread_mode },
	{ "stress", test_stress },
	{ "stress_hugetlb", test_stress_hugetlb },
	{ "backend_shared_private", test_backend_shared_private },
	{ "backend_inplace", test_backend_inplace },
	{ "backend_vcpus", test_backend_vcpus },
	{ "backend_s2_cache", test_backend_s2_cache },
	CU_TEST_INFO_NULL,
};
