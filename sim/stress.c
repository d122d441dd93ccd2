// SPDX-License-Identifier: GPL-2.0
/*
 * gmemsim stress: the in-place profile over real memory, under threads
 * (docs/sim.md, "Stress").
 *
 * One SW_PROTECTED VM with one guest_memfd (MMAP | INIT_SHARED) backed by a
 * memfd, one host view of it registered with userfaultfd, and one memslot
 * over the whole file.  N vCPU threads make host loads and stores through
 * the view and guest loads and stores through the model's stage-2 fault
 * path (then through the memfd alias); M converter threads convert random
 * ranges private or shared and punch holes.
 *
 * Locking.  The model is not thread-safe: stress->lock serialises every
 * model call and every piece of checker state.  It stands in for the
 * kernel's filemap invalidate_lock and mmu_lock together: a model call is
 * atomic, exactly as a conversion is under invalidate_lock held for write
 * and a host fault is under invalidate_lock held for read.  The REAL loads
 * and stores are made without the lock, so threads race real faults: a
 * host fault raises SIGBUS in the faulting thread, whose handler takes the
 * lock, asks the model (gm_host_access) and, when the model allows it,
 * resolves the fault -- and the run of pages around it that the model says
 * a host fault would map (docs/sim.md, "Runs") -- before dropping the lock.  A conversion to private
 * zaps the real PTEs under the lock before the model's store, so no PTE
 * of a private page survives the lock and none can be installed after it.
 *
 * Checks, per access:
 *
 *   private   a host access that succeeded while the model said the page
 *             was private both before and after it, with no conversion of
 *             the page in between, is a violation (and a SIGBUS while the
 *             page was shared throughout is one too);
 *   data      each vCPU owns the byte lanes off % N == id of every page,
 *             so a shadow of every byte written is exact: a load must
 *             return the shadow (SW_PROTECTED preserves contents across
 *             conversions), or 0 when a punch ran during the store or the
 *             load (either side of the punch is correct);
 *   model     gm_host_check() every 100 ms and at the end.
 *
 * The summary is one line on stdout, "stress: N ops, N violations"; the
 * exit status is 1 on any violation.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gmem/model.h"
#include "sim.h"

#define STRESS_PAGE 4096ULL
#define STRESS_MAX_THREADS 64
#define STRESS_MAX_RANGE 64 /* pages per conversion or punch */
#define STRESS_GUEST_RETRIES 1000
#define STRESS_CHECK_MS 100
#define STRESS_MAX_REPORTS 20
#define STRESS_LANES 4 /* bytes per page per vCPU */

const char stress_usage[] =
	"usage: gmemsim stress [--seconds=T] [--vcpus=N] [--converters=M]\n"
	"                      [--seed=S] [--size=BYTES] [--no-zap] [--hugetlb]\n"
	"\n"
	"Profile inplace over real memory (docs/sim.md): one SW_PROTECTED VM,\n"
	"one guest_memfd (mmap|init_shared) backed by a memfd and mapped with\n"
	"userfaultfd; N vCPU threads make host and guest loads and stores on\n"
	"random pages, M converter threads convert random ranges private or\n"
	"shared and punch holes, for T seconds.  Every host fault is decided\n"
	"by the model in the faulting thread.  Checks that no host access\n"
	"succeeds on private memory, no write is lost and the model's\n"
	"invariants hold; ends with 'stress: N ops, N violations' and exits 1\n"
	"on any violation.\n"
	"\n"
	"  -t, --seconds=T     run time (default 10)\n"
	"  -n, --vcpus=N       vCPU threads, 1..32 (default 2)\n"
	"  -m, --converters=M  converter threads, 0..32 (default 2)\n"
	"  -s, --seed=S        seed of the per-thread PRNGs (default 1)\n"
	"      --size=BYTES    guest_memfd size, K/M/G suffix (default 16M)\n"
	"      --no-zap        fault injection: skip the host zap before a\n"
	"                      conversion to private (the checker must fire)\n"
	"      --hugetlb       profile hugetlb: a HugeTLB file of 2 MiB folios\n"
	"                      on a hugetlb memfd (needs free pages in the\n"
	"                      host pool, else SKIP; --size a 2M multiple);\n"
	"                      host accesses are made one at a time\n"
	"  -h, --help          this text\n";

struct stress {
	/* stands in for invalidate_lock + mmu_lock; see the top comment */
	pthread_mutex_t lock;
	struct gm_host *h;
	struct gm_proc *p;
	int kvm, vm, gfd;
	uint64_t maddr; /* the model's host mapping */
	uint64_t size, nr_pages;
	unsigned int nr_vcpus;
	bool no_zap;
	bool hugetlb; /* --hugetlb: host accesses under the lock */
	struct sim_uffd u;
	struct sim_backing b;
	struct sim_view v;
	/* checker state, under lock */
	uint8_t *shadow; /* the byte each store left */
	uint8_t *maybe0; /* the store raced a punch: 0 is correct too */
	uint32_t *conv_gen; /* conversions that covered each page */
	uint32_t *punch_gen; /* punches that covered each page */
	int stop; /* atomic */
	int reports; /* atomic: violation messages printed */
};

#define STRESS_S2_ENTRIES 64

struct stress_thread {
	struct stress *s;
	pthread_t tid;
	unsigned int id;
	bool vcpu;
	uint64_t rng;
	unsigned long ops, violations;
	unsigned long host_ok, resolved, refused, guest_ok, guest_exit, retries;
	unsigned long conv_err;
	unsigned long conversions; /* KVM_SET_MEMORY_ATTRIBUTES2 that worked */
	/*
	 * The vCPU's stage-2 cache (docs/sim.md, "Stage-2 cache"): a gfn
	 * whose fault completed, valid while the VM's mmu_invalidate_seq and
	 * memslot generation are those of the fill; under the lock.
	 */
	struct stress_s2 {
		bool valid;
		uint64_t gfn, seq, gen;
	} s2[STRESS_S2_ENTRIES];
	unsigned long s2_hits;
	bool locked; /* holds s->lock across a host access (--hugetlb) */
};

/* splitmix64: per-thread, seeded from --seed and the thread's number. */
static uint64_t stress_rand(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void stress_violation(struct stress_thread *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void stress_violation(struct stress_thread *t, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	t->violations++;
	if (__atomic_fetch_add(&t->s->reports, 1, __ATOMIC_RELAXED) >=
	    STRESS_MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "stress: %s %u: violation: %s\n",
		t->vcpu ? "vcpu" : "converter", t->id, msg);
}

/* ---------------------------------------------------------------- vCPUs */

/* The model's run of mappable pages from @off (sim_run_fn), under lock. */
static uint64_t stress_run_query(void *ctx, uint64_t off, uint64_t max)
{
	struct stress *s = ctx;

	return gm_host_fault_run(s->p, s->maddr + off, max);
}

/*
 * The SIGBUS handler's decision for a host fault (sim_fault_fn): the
 * model's host fault path under the lock, and the real resolution before
 * the lock is dropped.
 */
static int stress_fault(void *ctx, const struct sim_view *v, uint64_t off,
			bool write, uint8_t byte)
{
	struct stress_thread *t = ctx;
	struct stress *s = t->s;
	int ret, sig = -1, err = 0;
	bool once = false;

	if (!t->locked)
		pthread_mutex_lock(&s->lock);
	ret = gm_host_access(s->p, s->maddr + off,
			     write ? GM_ACCESS_WRITE : GM_ACCESS_READ, &byte,
			     &sig);
	if (!ret && !sig)
		err = sim_view_resolve_run(v, off, stress_run_query, s, NULL,
					   NULL);
	/* a huge page the model would not map whole: this access only */
	if (!ret && !sig && !err && s->hugetlb) {
		uint64_t ps = sim_backing_page_size(&s->b);

		once = gm_host_fault_run(s->p, s->maddr + (off & ~(ps - 1)),
					 ps / STRESS_PAGE) != ps / STRESS_PAGE;
	}
	if (!t->locked)
		pthread_mutex_unlock(&s->lock);
	if (ret)
		return ret;
	if (sig)
		return sig;
	if (err)
		return -err;
	return once ? SIM_FAULT_ONCE : 0;
}

/* What the checker knows of one byte and its page, taken under the lock. */
struct stress_snap {
	int state; /* enum gm_share_state of the page */
	uint32_t conv_gen, punch_gen;
	uint8_t shadow;
	bool maybe0;
};

static void stress_snap(struct stress *s, uint64_t off, struct stress_snap *n)
{
	uint64_t pg = off / STRESS_PAGE;

	n->state = gm_gmem_state(s->p, s->gfd, pg * STRESS_PAGE, STRESS_PAGE);
	n->conv_gen = s->conv_gen[pg];
	n->punch_gen = s->punch_gen[pg];
	n->shadow = s->shadow[off];
	n->maybe0 = s->maybe0[off];
}

/*
 * Data check and shadow update for a completed access, under the lock.
 * @a: before the access; @b: after it.  Only this thread stores to @off,
 * so the shadow changes in between only by a punch (to 0).
 */
static void stress_data(struct stress_thread *t, uint64_t off, bool write,
			uint8_t byte, const struct stress_snap *a,
			const struct stress_snap *b, const char *how)
{
	struct stress *s = t->s;
	bool punched = a->punch_gen != b->punch_gen;

	if (write) {
		s->shadow[off] = byte;
		s->maybe0[off] = punched;
		return;
	}
	if (byte == a->shadow || ((a->maybe0 || punched) && !byte)) {
		if (!punched) {
			/* settled: the next load must give this byte */
			s->shadow[off] = byte;
			s->maybe0[off] = false;
		}
		return;
	}
	stress_violation(t, "%s load at %#llx: got %#x, wrote %#x%s%s", how,
			 (unsigned long long)off, byte, a->shadow,
			 a->maybe0 ? " (or 0: raced a punch)" : "",
			 punched ? " (or 0: punched now)" : "");
}

static void stress_host(struct stress_thread *t, uint64_t off, bool write)
{
	struct stress *s = t->s;
	struct sim_access_result r;
	struct stress_snap a, b;
	uint8_t byte = write ? (uint8_t)stress_rand(&t->rng) : 0;

	pthread_mutex_lock(&s->lock);
	stress_snap(s, off, &a);
	/*
	 * The real access, no lock held: faults go to stress_fault().  With
	 * hugetlb the lock stays held, so a mixed huge page mapped for this
	 * access is zapped again before any other access can use it.
	 */
	t->locked = s->hugetlb;
	if (!t->locked)
		pthread_mutex_unlock(&s->lock);
	sim_view_access_fn(&s->v, off, write, &byte, stress_fault, t, &r);
	if (!t->locked)
		pthread_mutex_lock(&s->lock);
	t->locked = false;
	stress_snap(s, off, &b);
	t->resolved += r.nr_resolved;
	if (r.resolve_err) {
		stress_violation(t, "host %s at %#llx: resolve failed: %s",
				 write ? "store" : "load",
				 (unsigned long long)off,
				 strerror(r.resolve_err));
	} else if (r.sig == SIGSEGV) {
		stress_violation(t, "host %s at %#llx: SIGSEGV",
				 write ? "store" : "load",
				 (unsigned long long)off);
	} else if (!r.sig && a.state == GM_STATE_PRIVATE &&
		   b.state == GM_STATE_PRIVATE && a.conv_gen == b.conv_gen) {
		stress_violation(t,
				 "host %s at %#llx succeeded on private memory",
				 write ? "store" : "load",
				 (unsigned long long)off);
	} else if (r.sig == SIGBUS && a.state == GM_STATE_SHARED &&
		   b.state == GM_STATE_SHARED && a.conv_gen == b.conv_gen) {
		stress_violation(t, "host %s at %#llx: SIGBUS on shared memory",
				 write ? "store" : "load",
				 (unsigned long long)off);
	} else if (r.sig) {
		t->refused++;
	} else {
		t->host_ok++;
		stress_data(t, off, write, byte, &a, &b, "host");
	}
	pthread_mutex_unlock(&s->lock);
}

/*
 * A guest store through the alias.  It fails only when a hugetlb page
 * cannot be allocated (the host pool ran out): the store did not land, so
 * it is a violation and the shadow keeps the old byte.
 */
static int stress_store(struct stress_thread *t, uint64_t off, uint8_t byte)
{
	int ret = sim_backing_store(&t->s->b, off, byte);

	if (ret)
		stress_violation(t, "guest store at %#llx: real store: %s",
				 (unsigned long long)off, strerror(-ret));
	return ret;
}

/*
 * A guest load through the alias (the stage-2 view).  hugetlb: pread, so a
 * hole neither takes a huge page nor raises SIGBUS on an empty pool.
 */
static void stress_alias_load(struct stress *s, uint64_t off, uint8_t *byte)
{
	if (!s->b.hugetlb) {
		*byte = ((volatile uint8_t *)s->b.alias)[off];
		return;
	}
	if (sim_backing_load(&s->b, off, byte))
		*byte = 0;
}

/* The vCPU's cache entry for the gfn of @off, or NULL; under the lock. */
static struct stress_s2 *stress_s2_entry(struct stress_thread *t, uint64_t off,
					 struct gm_vm_info *info)
{
	uint64_t gfn = off / STRESS_PAGE;
	struct stress_s2 *e = &t->s2[gfn % STRESS_S2_ENTRIES];

	if (gm_vm_info(t->s->p, t->s->vm, info))
		return NULL;
	return e;
}

static void stress_s2_fill(struct stress_thread *t, uint64_t off)
{
	struct gm_vm_info info;
	struct stress_s2 *e = stress_s2_entry(t, off, &info);

	if (!e)
		return;
	e->valid = true;
	e->gfn = off / STRESS_PAGE;
	e->seq = info.mmu_invalidate_seq;
	e->gen = info.memslots_gen;
}

/*
 * A guest access whose gfn the vCPU has mapped since the last
 * invalidation of the VM: like a hit in KVM's SPTEs, it does not fault --
 * the access is made through the alias at once, under the lock so no zap
 * slips between the check and the access (a store is also given to the
 * model, which keeps the page's bytes).  The model must still have the
 * mapping (else it zapped it without an invalidation: a violation).
 * Returns false on a miss (the caller faults).
 */
static bool stress_s2_hit(struct stress_thread *t, uint64_t off, bool write,
			  uint8_t byte)
{
	struct stress *s = t->s;
	struct stress_snap a;
	struct gm_vm_info info;
	struct stress_s2 *e;
	unsigned int flags = 0;

	pthread_mutex_lock(&s->lock);
	e = stress_s2_entry(t, off, &info);
	if (!e || !e->valid || e->gfn != off / STRESS_PAGE ||
	    e->seq != info.mmu_invalidate_seq || e->gen != info.memslots_gen) {
		if (e)
			e->valid = false;
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	if (gm_vm_stage2_flags(s->p, s->vm, off / STRESS_PAGE, &flags) ||
	    !(flags & GM_SPTE_PRESENT))
		stress_violation(t,
				 "guest access at %#llx: stage-2 cache entry "
				 "valid but the model has no mapping (zapped "
				 "without an invalidation)",
				 (unsigned long long)off);
	stress_snap(s, off, &a);
	if (write) {
		struct gm_guest_fault f;

		/*
		 * The model keeps the page's bytes: it takes the store too
		 * (its own fault path, which must agree with the entry).
		 */
		memset(&f, 0, sizeof(f));
		f.gpa = off;
		f.access = GM_ACCESS_WRITE;
		f.intent = GM_INTENT_DEFAULT;
		f.byte = byte;
		if (gm_guest_access(s->p, s->vm, &f) ||
		    f.outcome != GM_GUEST_OK)
			stress_violation(t,
					 "guest store at %#llx: stage-2 cache "
					 "hit, but the model's fault gave "
					 "outcome %d",
					 (unsigned long long)off, f.outcome);
		if (stress_store(t, off, byte)) {
			pthread_mutex_unlock(&s->lock);
			return true;
		}
	} else {
		stress_alias_load(s, off, &byte);
	}
	stress_data(t, off, write, byte, &a, &a, "guest");
	t->s2_hits++;
	t->guest_ok++;
	pthread_mutex_unlock(&s->lock);
	return true;
}

/*
 * A guest access: the model's stage-2 fault path in two steps (begin,
 * finish) with the lock dropped in between, so a conversion or punch of
 * another thread can invalidate it (GM_GUEST_RETRY: fault again, as KVM
 * does on mmu_invalidate_retry).  A completed access is then made on the
 * memfd through the alias -- the stage-2 view -- without the lock.
 */
static void stress_guest(struct stress_thread *t, uint64_t off, bool write)
{
	struct stress *s = t->s;
	struct gm_guest_fault f;
	struct stress_snap a, b;
	unsigned int tries = 0;
	uint64_t x = stress_rand(&t->rng);
	uint8_t byte = (uint8_t)(x >> 8);
	int ret;

	memset(&a, 0, sizeof(a));
	if (x % 8 && stress_s2_hit(t, off, write, byte))
		return;
	do {
		memset(&f, 0, sizeof(f));
		f.gpa = off;
		f.access = write ? GM_ACCESS_WRITE : GM_ACCESS_READ;
		/* mostly what the attributes say; sometimes a wrong intent */
		f.intent = x % 8       ? GM_INTENT_DEFAULT :
			   (x & 0x100) ? GM_INTENT_PRIVATE :
					 GM_INTENT_SHARED;
		f.byte = byte;
		pthread_mutex_lock(&s->lock);
		ret = gm_guest_fault_begin(s->p, s->vm, &f);
		pthread_mutex_unlock(&s->lock);
		if (ret)
			break;
		pthread_mutex_lock(&s->lock);
		ret = gm_guest_fault_finish(s->p, s->vm, &f);
		if (!ret && f.outcome == GM_GUEST_OK) {
			stress_snap(s, off, &a);
			stress_s2_fill(t, off);
		}
		pthread_mutex_unlock(&s->lock);
		if (ret || f.outcome != GM_GUEST_RETRY)
			break;
		t->retries++;
	} while (++tries < STRESS_GUEST_RETRIES);
	if (ret) {
		stress_violation(t, "guest access at %#llx: %s",
				 (unsigned long long)off, strerror(-ret));
		return;
	}
	switch (f.outcome) {
	case GM_GUEST_OK:
		break;
	case GM_GUEST_EXIT:
		/* KVM_EXIT_MEMORY_FAULT: the intent disagreed; fine */
		t->guest_exit++;
		return;
	case GM_GUEST_RETRY:
		return; /* starved by invalidations; counted as retries */
	default:
		stress_violation(t, "guest access at %#llx: outcome %d err %d",
				 (unsigned long long)off, f.outcome, f.err);
		return;
	}
	t->guest_ok++;
	if (write && stress_store(t, off, byte))
		return;
	if (!write)
		stress_alias_load(s, off, &byte);
	pthread_mutex_lock(&s->lock);
	stress_snap(s, off, &b);
	stress_data(t, off, write, byte, &a, &b, "guest");
	pthread_mutex_unlock(&s->lock);
}

static void *stress_vcpu(void *arg)
{
	struct stress_thread *t = arg;
	struct stress *s = t->s;
	uint64_t x, off;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		x = stress_rand(&t->rng);
		/*
		 * One of this vCPU's STRESS_LANES bytes of a random page: few
		 * enough that loads mostly find bytes stored before.
		 */
		off = (x % s->nr_pages) * STRESS_PAGE +
		      ((x >> 32) % STRESS_LANES) * s->nr_vcpus + t->id;
		switch ((x >> 60) & 3) {
		case 0:
			stress_host(t, off, false);
			break;
		case 1:
			stress_host(t, off, true);
			break;
		case 2:
			stress_guest(t, off, false);
			break;
		default:
			stress_guest(t, off, true);
			break;
		}
		t->ops++;
	}
	return NULL;
}

/* ----------------------------------------------------------- converters */

static void stress_convert(struct stress_thread *t, uint64_t pg, uint64_t n,
			   bool private)
{
	struct stress *s = t->s;
	struct kvm_memory_attributes2 a;
	uint64_t i;
	long ret;

	memset(&a, 0, sizeof(a));
	a.offset = pg * STRESS_PAGE;
	a.size = n * STRESS_PAGE;
	a.attributes = private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	pthread_mutex_lock(&s->lock);
	/*
	 * The series unmaps the host first, before the refcount check, and
	 * never maps back: zap the real PTEs before the model's store, under
	 * the lock the fault handlers take.
	 */
	if (!(private && s->no_zap))
		sim_view_zap(&s->v, a.offset, a.size);
	ret = gm_ioctl(s->p, s->gfd, KVM_SET_MEMORY_ATTRIBUTES2,
		       (unsigned long)&a);
	if (ret)
		t->conv_err++;
	else
		t->conversions++;
	for (i = pg; i < pg + n; i++)
		s->conv_gen[i]++;
	pthread_mutex_unlock(&s->lock);
}

static void stress_punch(struct stress_thread *t, uint64_t pg, uint64_t n)
{
	struct stress *s = t->s;
	uint64_t off = pg * STRESS_PAGE, len = n * STRESS_PAGE, i;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = gm_fallocate(s->p, s->gfd,
			   GMEM_FALLOC_FL_KEEP_SIZE | GMEM_FALLOC_FL_PUNCH_HOLE,
			   (int64_t)off, (int64_t)len);
	if (!ret) {
		/* frees, zeroes and zaps every mapping of the range */
		ret = sim_backing_punch(&s->b, off, len);
		/* hugetlbfs keeps a partly punched huge page mapped */
		if (!ret && s->hugetlb)
			sim_view_zap(&s->v, off, len);
		if (ret)
			stress_violation(t, "real punch %#llx+%#llx: %s",
					 (unsigned long long)off,
					 (unsigned long long)len,
					 strerror(-ret));
		memset(s->shadow + off, 0, len);
		memset(s->maybe0 + off, 0, len);
		for (i = pg; i < pg + n; i++)
			s->punch_gen[i]++;
	} else {
		t->conv_err++;
	}
	pthread_mutex_unlock(&s->lock);
}

static void *stress_converter(void *arg)
{
	struct stress_thread *t = arg;
	struct stress *s = t->s;
	uint64_t x, pg, n;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		x = stress_rand(&t->rng);
		pg = x % s->nr_pages;
		n = 1 + (x >> 32) % STRESS_MAX_RANGE;
		if (n > s->nr_pages - pg)
			n = s->nr_pages - pg;
		switch ((x >> 58) % 5) {
		case 0:
		case 1:
			stress_convert(t, pg, n, true);
			break;
		case 2:
		case 3:
			stress_convert(t, pg, n, false);
			break;
		default:
			stress_punch(t, pg, n);
			break;
		}
		t->ops++;
		/* let the vCPUs at the lock: a mutex is not fair */
		sched_yield();
	}
	return NULL;
}

/* ---------------------------------------------------------------- setup */

static int stress_model(struct stress *s, char *why, size_t len)
{
	struct kvm_userspace_memory_region2 r;
	struct kvm_create_guest_memfd args;
	struct gm_config cfg;
	long ret;

	gm_config_init(&cfg);
	cfg.profile = GM_PROFILE_INPLACE;
	if (s->hugetlb) {
		cfg.profile = GM_PROFILE_HUGETLB;
		cfg.hugetlb_pool_2m = s->size / SIM_HUGE_SIZE;
	}
	ret = gm_host_create(&cfg, &s->h);
	if (ret) {
		snprintf(why, len, "gm_host_create: %s", strerror((int)-ret));
		return (int)ret;
	}
	s->p = gm_host_init_proc(s->h);
	s->kvm = gm_open_kvm(s->p);
	ret = s->kvm < 0 ? s->kvm :
			   gm_ioctl(s->p, s->kvm, KVM_CREATE_VM,
				    gm_vm_type_to_kvm(GM_VM_SW_PROTECTED));
	if (ret < 0) {
		snprintf(why, len, "model KVM_CREATE_VM: %s",
			 strerror((int)-ret));
		return (int)ret;
	}
	s->vm = (int)ret;
	memset(&args, 0, sizeof(args));
	args.size = s->size;
	args.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	/* HugeTLB files cannot be INIT_SHARED: created private (§3.2) */
	if (s->hugetlb)
		args.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_HUGETLB |
			     GUEST_MEMFD_HUGETLB_2MB;
	ret = gm_ioctl(s->p, s->vm, KVM_CREATE_GUEST_MEMFD,
		       (unsigned long)&args);
	if (ret < 0) {
		snprintf(why, len, "model KVM_CREATE_GUEST_MEMFD: %s",
			 strerror((int)-ret));
		return (int)ret;
	}
	s->gfd = (int)ret;
	if (s->hugetlb) {
		/* start all shared, like INIT_SHARED */
		struct kvm_memory_attributes2 a;

		memset(&a, 0, sizeof(a));
		a.size = s->size;
		ret = gm_ioctl(s->p, s->gfd, KVM_SET_MEMORY_ATTRIBUTES2,
			       (unsigned long)&a);
		if (ret) {
			snprintf(why, len, "model shared conversion: %s",
				 strerror((int)-ret));
			return (int)ret;
		}
	}
	ret = gm_mmap(s->p, s->size, GMEM_PROT_READ | GMEM_PROT_WRITE,
		      GMEM_MAP_SHARED, s->gfd, 0, &s->maddr);
	if (ret) {
		snprintf(why, len, "model mmap: %s", strerror((int)-ret));
		return (int)ret;
	}
	/* gpa == file offset: one memslot over the whole file */
	memset(&r, 0, sizeof(r));
	r.slot = 0;
	r.flags = KVM_MEM_GUEST_MEMFD;
	r.guest_phys_addr = 0;
	r.memory_size = s->size;
	r.guest_memfd_offset = 0;
	r.guest_memfd = (__u32)s->gfd;
	ret = gm_ioctl(s->p, s->vm, KVM_SET_USER_MEMORY_REGION2,
		       (unsigned long)&r);
	if (ret) {
		snprintf(why, len, "model memslot: %s", strerror((int)-ret));
		return (int)ret;
	}
	return 0;
}

/* Real memory; a negative errno means "unavailable here" (a skip). */
static int stress_real(struct stress *s, char *why, size_t len)
{
	int ret;

	if (s->hugetlb && sim_huge_free_pages() < s->size / SIM_HUGE_SIZE) {
		snprintf(why, len,
			 "fewer than %llu free 2 MiB hugetlb pages "
			 "(hugepages-2048kB/free_hugepages)",
			 (unsigned long long)(s->size / SIM_HUGE_SIZE));
		return -ENOMEM;
	}
	ret = sim_uffd_open(&s->u, s->hugetlb, why, len);
	if (ret)
		return ret;
	ret = sim_backing_create(&s->b, s->size, s->hugetlb, why, len);
	if (ret)
		return ret;
	return sim_view_map(&s->v, &s->b, &s->u, 0, s->size,
			    GMEM_PROT_READ | GMEM_PROT_WRITE, why, len);
}

static void stress_fini(struct stress *s)
{
	sim_view_unmap(&s->v);
	sim_backing_destroy(&s->b);
	sim_uffd_close(&s->u);
	if (s->h)
		gm_host_destroy(s->h);
	free(s->shadow);
	free(s->maybe0);
	free(s->conv_gen);
	free(s->punch_gen);
	pthread_mutex_destroy(&s->lock);
}

/* One gm_host_check() under the lock: 0, or 1 violation. */
static unsigned long stress_check(struct stress *s)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = gm_host_check(s->h, stderr);
	pthread_mutex_unlock(&s->lock);
	if (!ret)
		return 0;
	if (__atomic_fetch_add(&s->reports, 1, __ATOMIC_RELAXED) <
	    STRESS_MAX_REPORTS)
		fprintf(stderr, "stress: violation: gm_host_check: %s\n",
			strerror(-ret));
	return 1;
}

static double stress_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int stress_usage_error(const char *fmt, const char *arg)
{
	fputs("gmemsim: stress: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	fputs(stress_usage, stderr);
	return 2;
}

static bool stress_parse_u64(const char *arg, uint64_t *out, bool suffix)
{
	unsigned long long v;
	char *end;

	if (!*arg || *arg == '-')
		return false;
	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno)
		return false;
	if (suffix && *end) {
		unsigned int shift = *end == 'K' || *end == 'k' ? 10 :
				     *end == 'M' || *end == 'm' ? 20 :
				     *end == 'G' || *end == 'g' ? 30 :
								  0;

		if (!shift || end[1] || v > (UINT64_MAX >> shift))
			return false;
		v <<= shift;
		end++;
	}
	if (*end)
		return false;
	*out = v;
	return true;
}

int stress_run(const struct stress_opts *o, struct stress_report *r)
{
	unsigned long ops = 0, violations = 0, conv_ops = 0, checks = 0;
	struct stress_thread *th = NULL;
	unsigned int i, nr, started = 0;
	double start, next_check;
	struct stress s;
	char why[256];
	int ret;

	memset(r, 0, sizeof(*r));
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	s.u.fd = -1;
	s.b.fd = -1;
	s.size = o->size;
	s.nr_pages = o->size / STRESS_PAGE;
	s.nr_vcpus = o->vcpus;
	s.no_zap = o->no_zap;
	s.hugetlb = o->hugetlb;
	s.shadow = calloc(o->size, 1);
	s.maybe0 = calloc(o->size, 1);
	s.conv_gen = calloc(s.nr_pages, sizeof(*s.conv_gen));
	s.punch_gen = calloc(s.nr_pages, sizeof(*s.punch_gen));
	nr = o->vcpus + o->converters;
	th = calloc(nr, sizeof(*th));
	if (!s.shadow || !s.maybe0 || !s.conv_gen || !s.punch_gen || !th) {
		fprintf(stderr, "gmemsim: stress: out of memory\n");
		ret = -ENOMEM;
		goto out;
	}
	ret = stress_model(&s, why, sizeof(why));
	if (ret) {
		fprintf(stderr, "gmemsim: stress: %s\n", why);
		goto out;
	}
	ret = stress_real(&s, why, sizeof(why));
	if (ret) {
		/* no userfaultfd or memfd here: nothing real to stress */
		r->skipped = true;
		snprintf(r->why, sizeof(r->why), "%s", why);
		ret = 0;
		goto out;
	}
	ret = sim_signals_get();
	if (ret) {
		fprintf(stderr, "gmemsim: stress: sigaction: %s\n",
			strerror(-ret));
		goto out;
	}

	for (i = 0; i < nr; i++) {
		th[i].s = &s;
		th[i].vcpu = i < o->vcpus;
		th[i].id = th[i].vcpu ? i : i - o->vcpus;
		th[i].rng = o->seed * 0x100000001b3ULL + i;
		ret = pthread_create(
			&th[i].tid, NULL,
			th[i].vcpu ? stress_vcpu : stress_converter, &th[i]);
		if (ret) {
			fprintf(stderr, "gmemsim: stress: pthread_create: %s\n",
				strerror(ret));
			violations++;
			break;
		}
		started++;
	}
	start = stress_now();
	next_check = start + STRESS_CHECK_MS / 1000.0;
	while (started == nr && stress_now() - start < o->seconds) {
		usleep(10000);
		if (stress_now() >= next_check) {
			violations += stress_check(&s);
			checks++;
			next_check += STRESS_CHECK_MS / 1000.0;
		}
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < started; i++)
		pthread_join(th[i].tid, NULL);
	violations += stress_check(&s);
	checks++;
	sim_signals_put();

	r->seconds = stress_now() - start;
	for (i = 0; i < started; i++) {
		ops += th[i].ops;
		if (!th[i].vcpu)
			conv_ops += th[i].ops;
		r->host_ok += th[i].host_ok;
		violations += th[i].violations;
		r->resolved += th[i].resolved;
		r->refused += th[i].refused;
		r->guest_ok += th[i].guest_ok;
		r->guest_exit += th[i].guest_exit;
		r->retries += th[i].retries;
		r->s2_hits += th[i].s2_hits;
		r->conv_err += th[i].conv_err;
		r->conversions += th[i].conversions;
	}
	ops += checks;
	r->ops = ops;
	r->violations = violations;
	r->conv_ops = conv_ops;
	r->checks = checks;
	ret = 0;
out:
	free(th);
	stress_fini(&s);
	return ret;
}

int stress_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 't' },
		{ "vcpus", required_argument, NULL, 'n' },
		{ "converters", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'S' },
		{ "no-zap", no_argument, NULL, 'Z' },
		{ "hugetlb", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t seconds = 10, vcpus = 2, convs = 2, seed = 1,
		 size = 16ULL << 20;
	struct stress_report r;
	struct stress_opts o;
	bool no_zap = false, hugetlb = false;
	int c, ret;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "t:n:m:s:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 't':
			if (!stress_parse_u64(optarg, &seconds, false) ||
			    seconds > 86400)
				return stress_usage_error("bad --seconds '%s'",
							  optarg);
			break;
		case 'n':
			if (!stress_parse_u64(optarg, &vcpus, false) ||
			    !vcpus || vcpus > STRESS_MAX_THREADS / 2)
				return stress_usage_error("bad --vcpus '%s'",
							  optarg);
			break;
		case 'm':
			if (!stress_parse_u64(optarg, &convs, false) ||
			    convs > STRESS_MAX_THREADS / 2)
				return stress_usage_error(
					"bad --converters '%s'", optarg);
			break;
		case 's':
			if (!stress_parse_u64(optarg, &seed, false))
				return stress_usage_error("bad --seed '%s'",
							  optarg);
			break;
		case 'S':
			if (!stress_parse_u64(optarg, &size, true) ||
			    size < STRESS_PAGE || size > (1ULL << 30) ||
			    size % STRESS_PAGE)
				return stress_usage_error(
					"bad --size '%s' (4K..1G, 4K multiple)",
					optarg);
			break;
		case 'Z':
			no_zap = true;
			break;
		case 'H':
			hugetlb = true;
			break;
		case 'h':
			fputs(stress_usage, stdout);
			return 0;
		default:
			return stress_usage_error("bad option '%s'",
						  argv[optind - 1]);
		}
	}
	if (optind < argc)
		return stress_usage_error("unexpected argument '%s'",
					  argv[optind]);
	if (hugetlb && size % SIM_HUGE_SIZE)
		return stress_usage_error("--hugetlb needs a --size that is a "
					  "2M multiple%s",
					  "");

	memset(&o, 0, sizeof(o));
	o.seconds = (double)seconds;
	o.vcpus = (unsigned int)vcpus;
	o.converters = (unsigned int)convs;
	o.seed = seed;
	o.size = size;
	o.no_zap = no_zap;
	o.hugetlb = hugetlb;
	ret = stress_run(&o, &r);
	if (ret < 0)
		return 1;
	if (r.skipped) {
		fprintf(stderr, "gmemsim: stress: SKIP: %s\n", r.why);
		printf("stress: 0 ops, 0 violations\n");
		return 0;
	}
	fprintf(stderr,
		"stress: seed %llu, %u vcpus, %u converters, %llu s, %llu "
		"KiB%s%s: "
		"%lu host accesses done (%lu faults resolved, %lu refused), "
		"%lu guest accesses done (%lu from the stage-2 cache, %lu "
		"exits, %lu retries), "
		"%lu conversions/punches (%lu refused), %lu checks\n",
		(unsigned long long)seed, (unsigned int)vcpus,
		(unsigned int)convs, (unsigned long long)seconds,
		(unsigned long long)(size >> 10), no_zap ? ", no zap" : "",
		hugetlb ? ", hugetlb 2M" : "", r.host_ok, r.resolved, r.refused,
		r.guest_ok, r.s2_hits, r.guest_exit, r.retries, r.conv_ops,
		r.conv_err, r.checks);
	printf("stress: %lu ops, %lu violations\n", r.ops, r.violations);
	return r.violations ? 1 : 0;
}
