// SPDX-License-Identifier: GPL-2.0
/*
 * The sim backend: every trace op runs on the model first (backend_model),
 * then its effect is mirrored on real memory (docs/sim.md):
 *
 *   gmem      a memfd of the same size (none above SIM_MAX_BACKING)
 *   mmap      a MAP_SHARED mapping of it, registered with userfaultfd
 *   read      a real load; the model's answer decides every fault; the
 *   write     byte loaded must equal the model's, else the op fails EUCLEAN
 *   punch     fallocate(PUNCH_HOLE) on the memfd
 *   convert   MADV_DONTNEED of the range in every mapping (either result,
 *             either direction: the model unmaps before its refcount check)
 *   poison    MADV_DONTNEED of the page
 *   guest     a write the model performed is stored into the memfd; on a
 *             vCPU thread through its stage-2 cache (sim_guest())
 *
 * Forked processes (fork, exit, proc=P) have no real process: the sim
 * tracks which processes hold each mapping, so a store in a child that
 * holds the mapping lands in the memfd and a load there is checked against
 * the memfd.  An access in a child at an address the child does not hold
 * under that name reaches whatever the child has there (the model knows);
 * the sim then marks the child's files "unsynced" and a later mismatching
 * load on them takes the model's byte (docs/sim.md, "Processes").
 *
 * Everything else (vm, memslot, attributes, pin, state, check, barrier)
 * returns the model's result.
 *
 * Trace threads: an op with an @tN (or @NAME) prefix runs -- model call
 * and mirroring -- on a pthread of its own for that trace thread, created
 * on first use (up to SIM_MAX_VCPUS; more run inline after every thread
 * caught up).  A `guest` op without a prefix runs on a default vCPU
 * thread of its own.  In `ordered` mode (the default) the replayer hands
 * each op over and waits for it, so results keep the trace's order.  In `concurrent` mode (header
 * threads=concurrent, or --threads=concurrent) prefixed ops are queued to
 * their thread and run concurrently; an op without a prefix, a `barrier`
 * and close() first wait until every queue is drained.  One mutex (the
 * big lock, be->lock) serialises every model call and all sim state, as
 * in `gmemsim stress`; a guest fault drops it between
 * gm_guest_fault_begin() and gm_guest_fault_finish(), so another thread's
 * conversion, punch or memslot update can invalidate it (GM_GUEST_RETRY,
 * faulted again as KVM does on mmu_invalidate_retry).  Real loads and
 * stores are made under the lock.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "gmem/model.h"
#include "sim.h"

struct sim_range {
	uint64_t start, end;
};

/* Processes the sim tracks; more forks are all "unsynced". */
#define SIM_MAX_PROCS 64

struct sim_obj {
	/* TOBJ_PROC: bit in procs masks, or -1 (fork failed / too many) */
	int pslot;
	/* TOBJ_VM; TOBJ_GMEM: the type of the VM it was created on */
	enum gm_vm_type vm_type;
	/* TOBJ_GMEM */
	bool backed;
	bool transforms; /* conversions change contents (TDX, SNP) */
	struct sim_backing b;
	bool unsynced; /* a store the sim could not place */
	struct sim_range *conv; /* ranges converted since creation */
	size_t nr_conv, cap_conv;
	/* TOBJ_MAP */
	bool mapped; /* v is a real mapping */
	int gmem; /* backed gmem mapped, or TRACE_NO_OBJ */
	uint64_t map_offset, map_len;
	uint64_t procs; /* processes holding it (bit 0: the first) */
	struct sim_view v;
	/* TOBJ_SLOT */
	bool slot_live;
	int slot_gmem;
	uint64_t slot_gpa, slot_size, slot_offset;
};

/*
 * Process-wide counters, printed at exit when GMEMSIM_SIM_STATS is set
 * (docs/sim.md): how much of a run really touched memory.
 */
static struct {
	unsigned long gmems, huge_gmems, once, converted_pages, unbacked, views,
		real, resolved, refused, model_only, adopted, zaps, punches,
		mismatches, vcpu_ops, vcpus, run_pages, ioctls, s2_hits,
		s2_fills, s2_stale, retries, guest_real;
} sim_stats;

static void sim_stats_print(void)
{
	fprintf(stderr,
		"sim: %lu gmem (%lu on 2 MiB hugetlb pages, %lu without real "
		"memory), %lu views, "
		"%lu real accesses (%lu faults resolved: %lu pages in "
		"runs, %lu ioctls, %lu mixed huge pages zapped again; "
		"%lu refused), "
		"%lu model-only accesses, %lu pages converted by TDX/SNP, "
		"%lu bytes adopted, %lu zaps, "
		"%lu punches, %lu mismatches, %lu prefixed ops on %lu "
		"threads, %lu guest accesses on real memory (stage-2 cache: "
		"%lu hits, %lu fills, %lu invalidated; %lu fault retries)\n",
		sim_stats.gmems, sim_stats.huge_gmems, sim_stats.unbacked,
		sim_stats.views, sim_stats.real, sim_stats.resolved,
		sim_stats.run_pages, sim_stats.ioctls, sim_stats.once,
		sim_stats.refused, sim_stats.model_only,
		sim_stats.converted_pages, sim_stats.adopted, sim_stats.zaps,
		sim_stats.punches, sim_stats.mismatches, sim_stats.vcpu_ops,
		sim_stats.vcpus, sim_stats.guest_real, sim_stats.s2_hits,
		sim_stats.s2_fills, sim_stats.s2_stale, sim_stats.retries);
}

/* Trace threads per trace; ops of further trace threads run inline. */
#define SIM_MAX_VCPUS 16

/*
 * The thread a `guest` op without a prefix runs on: a vCPU of its own
 * (with its own stage-2 cache), so every guest access is made by a vCPU
 * thread.  Trace thread ids are >= 0 and < 0x20000.
 */
#define SIM_VCPU_DEFAULT 0x7fffffff
/* thread slots: SIM_MAX_VCPUS trace threads, then the default vCPU */
#define SIM_NR_THREADS (SIM_MAX_VCPUS + 1)

/*
 * The per-vCPU stage-2 cache (docs/sim.md, "Stage-2 cache"): a completed
 * guest access installs gfn -> (gmem, page file offset) of the VM, tagged
 * with the VM's mmu_invalidate_seq and memslot generation at the time; a
 * later access of that gfn on the same vCPU with both unchanged is a hit
 * and goes through the memfd alias at the cached offset (the memslot walk
 * is still made, as a cross-check).  Any invalidation of the VM (conversion, punch, attribute
 * update, MMU notifier) bumps the sequence and any memslot update the
 * generation, so both drop the entry, as a zap drops KVM's SPTE.
 * Direct-mapped by gfn; touched only under the big lock.
 */
#define SIM_S2_ENTRIES 64

struct sim_s2_entry {
	bool valid;
	int vm; /* VM object */
	uint64_t gfn;
	uint64_t seq, gen; /* mmu_invalidate_seq, memslots_gen at fill */
	int gmem; /* backed gmem object */
	uint64_t foff; /* file offset of the gfn's page */
};

/* An op queued for a trace thread. */
struct sim_work {
	const struct trace *t;
	const struct trace_op *op;
	struct op_result *res;
};

/* One pthread per trace thread, fed by a queue (under be->qlock). */
struct sim_vcpu {
	int id; /* trace thread id (op->thread) */
	bool started;
	pthread_t tid;
	struct backend *be;
	pthread_cond_t cond; /* work queued, or quit */
	struct sim_work *q;
	size_t q_head, q_tail, q_cap;
	/* stage-2 cache: under be->lock */
	struct sim_s2_entry s2[SIM_S2_ENTRIES];
};

struct backend {
	struct backend *model;
	bool real; /* userfaultfd and signal handlers ready */
	bool concurrent; /* threads=concurrent */
	/*
	 * Fault injection (GMEMSIM_SIM_S2_KEEP=1): stage-2 cache entries
	 * survive invalidations and memslot updates, so a stale one must be
	 * caught by the checks (tests/test_sim_threads.c).
	 */
	bool s2_keep;
	struct sim_uffd uffd;
	/*
	 * Profile hugetlb: `gmem ... huge=2M` gets a hugetlb memfd when the
	 * host pool has the pages; its views register with a userfaultfd
	 * opened with the hugetlbfs features (opened on first use).
	 */
	bool hugetlb;
	struct sim_uffd uffd_huge;
	bool uffd_huge_tried;
	struct sim_obj *o;
	size_t nr;
	const char *file;
	unsigned int nr_pslots; /* process slots in use (0: the first) */
	/*
	 * The big lock: every model call and all sim state.  @inflight
	 * counts guest faults between begin and finish (lock dropped); a
	 * close or exit waits for none, as a VM's vCPUs hold it alive.
	 */
	pthread_mutex_t lock;
	pthread_cond_t no_inflight;
	unsigned int inflight;
	/* the trace threads' queues */
	pthread_mutex_t qlock;
	pthread_cond_t drained; /* a queue became empty */
	bool quit;
	struct sim_vcpu *vcpus; /* SIM_NR_THREADS, allocated on first use */
	bool warned_threads; /* said once that threads ran out */
};

static void sim_note_once(const char *why)
{
	static bool said;

	if (said)
		return;
	said = true;
	fprintf(stderr,
		"sim: no real memory (%s); ops return the model's results\n",
		why);
}

void backend_sim_counters(struct backend_sim_counters *c)
{
	c->thread_ops = sim_stats.vcpu_ops;
	c->guest_real = sim_stats.guest_real;
	c->s2_hits = sim_stats.s2_hits;
	c->s2_fills = sim_stats.s2_fills;
	c->s2_stale = sim_stats.s2_stale;
	c->retries = sim_stats.retries;
	c->mismatches = sim_stats.mismatches;
	c->converted_pages = sim_stats.converted_pages;
	c->adopted = sim_stats.adopted;
}

static bool sim_cfg_concurrent(const struct trace_config *cfg)
{
	return cfg && cfg->concurrent;
}

static void sim_locks_destroy(struct backend *be)
{
	pthread_cond_destroy(&be->drained);
	pthread_mutex_destroy(&be->qlock);
	pthread_cond_destroy(&be->no_inflight);
	pthread_mutex_destroy(&be->lock);
}

static int sim_open(const struct trace *t, const struct trace_config *cfg,
		    const struct backend_caps *caps, struct backend **out,
		    char *why, size_t why_len)
{
	struct backend *be;
	char reason[256];
	size_t i;
	int ret;

	be = calloc(1, sizeof(*be));
	if (!be) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	be->uffd.fd = -1;
	be->uffd_huge.fd = -1;
	be->hugetlb = cfg && cfg->profile == GM_PROFILE_HUGETLB;
	be->file = t->file;
	be->nr = t->nr_objs;
	be->o = calloc(be->nr ? be->nr : 1, sizeof(*be->o));
	if (!be->o) {
		snprintf(why, why_len, "out of memory");
		free(be);
		return -ENOMEM;
	}
	for (i = 0; i < be->nr; i++) {
		be->o[i].b.fd = -1;
		be->o[i].gmem = TRACE_NO_OBJ;
		be->o[i].slot_gmem = TRACE_NO_OBJ;
		be->o[i].pslot = -1;
	}
	be->nr_pslots = 1;
	be->concurrent = sim_cfg_concurrent(cfg);
	be->s2_keep = getenv("GMEMSIM_SIM_S2_KEEP") &&
		      !strcmp(getenv("GMEMSIM_SIM_S2_KEEP"), "1");
	pthread_mutex_init(&be->lock, NULL);
	pthread_cond_init(&be->no_inflight, NULL);
	pthread_mutex_init(&be->qlock, NULL);
	pthread_cond_init(&be->drained, NULL);
	ret = backend_model_ops.open(t, cfg, caps, &be->model, why, why_len);
	if (ret) {
		sim_locks_destroy(be);
		free(be->o);
		free(be);
		return ret;
	}
	reason[0] = '\0';
	ret = sim_uffd_open(&be->uffd, false, reason, sizeof(reason));
	if (!ret) {
		ret = sim_signals_get();
		if (ret) {
			snprintf(reason, sizeof(reason), "sigaction: %s",
				 strerror(-ret));
			sim_uffd_close(&be->uffd);
		}
	}
	if (ret)
		sim_note_once(reason);
	be->real = !ret;
	if (getenv("GMEMSIM_SIM_STATS")) {
		static bool registered;

		if (!registered && !atexit(sim_stats_print))
			registered = true;
	}
	*out = be;
	return 0;
}

/* Wait until every trace thread has run all the ops queued to it. */
static void sim_vcpus_drain(struct backend *be)
{
	unsigned int i;
	bool busy;

	if (!be->vcpus)
		return;
	pthread_mutex_lock(&be->qlock);
	for (;;) {
		busy = false;
		for (i = 0; i < SIM_NR_THREADS && !busy; i++)
			busy = be->vcpus[i].started &&
			       be->vcpus[i].q_head != be->vcpus[i].q_tail;
		if (!busy)
			break;
		pthread_cond_wait(&be->drained, &be->qlock);
	}
	pthread_mutex_unlock(&be->qlock);
}

static void sim_vcpus_stop(struct backend *be)
{
	struct sim_vcpu *c;
	unsigned int i;

	if (!be->vcpus)
		return;
	pthread_mutex_lock(&be->qlock);
	be->quit = true;
	for (i = 0; i < SIM_NR_THREADS; i++)
		if (be->vcpus[i].started)
			pthread_cond_broadcast(&be->vcpus[i].cond);
	pthread_mutex_unlock(&be->qlock);
	for (i = 0; i < SIM_NR_THREADS; i++) {
		c = &be->vcpus[i];
		if (!c->started)
			continue;
		pthread_join(c->tid, NULL);
		pthread_cond_destroy(&c->cond);
		free(c->q);
	}
	free(be->vcpus);
	be->vcpus = NULL;
}

static void sim_close(struct backend *be)
{
	size_t i;

	if (!be)
		return;
	sim_vcpus_drain(be);
	sim_vcpus_stop(be);
	for (i = 0; i < be->nr; i++) {
		sim_view_unmap(&be->o[i].v);
		sim_backing_destroy(&be->o[i].b);
		free(be->o[i].conv);
	}
	if (be->real) {
		sim_uffd_close(&be->uffd);
		if (be->uffd_huge.fd >= 0)
			sim_uffd_close(&be->uffd_huge);
		sim_signals_put();
	}
	backend_model_ops.close(be->model);
	sim_locks_destroy(be);
	free(be->o);
	free(be);
}

static struct sim_obj *sim_obj(struct backend *be, int obj)
{
	if (obj < 0 || (size_t)obj >= be->nr)
		return NULL;
	return &be->o[obj];
}

static struct sim_obj *sim_gmem(struct backend *be, int obj)
{
	struct sim_obj *g = sim_obj(be, obj);

	return g && g->backed ? g : NULL;
}

static void sim_fail(struct backend *be, const struct trace_op *op,
		     struct op_result *res, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The real memory disagrees with the model: the op fails with EUCLEAN. */
static void sim_fail(struct backend *be, const struct trace_op *op,
		     struct op_result *res, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sim_stats.mismatches++;
	fprintf(stderr, "%s:%u: sim: %s: %s\n", be->file ? be->file : "-",
		op->line, trace_opcode_name(op->code), msg);
	memset(res, 0, sizeof(*res));
	res->kind = RES_ERRNO;
	res->err = EUCLEAN;
}

/* The procs-mask bit of process object @proc (TRACE_NO_OBJ: the first). */
static uint64_t sim_proc_bit(struct backend *be, int proc)
{
	struct sim_obj *p;

	if (proc == TRACE_NO_OBJ)
		return 1;
	p = sim_obj(be, proc);
	return p && p->pslot >= 0 ? 1ULL << p->pslot : 0;
}

static void sim_fork(struct backend *be, const struct trace_op *op)
{
	struct sim_obj *c = sim_obj(be, op->obj);
	uint64_t parent = sim_proc_bit(be, op->obj2), child;
	size_t i;

	if (!c || be->nr_pslots >= SIM_MAX_PROCS)
		return;
	c->pslot = (int)be->nr_pslots++;
	child = 1ULL << c->pslot;
	/* the child holds what the parent held, at the same addresses */
	for (i = 0; i < be->nr; i++)
		if (be->o[i].procs & parent)
			be->o[i].procs |= child;
}

static void sim_exit(struct backend *be, const struct trace_op *op)
{
	uint64_t bit = sim_proc_bit(be, op->obj);
	size_t i;

	for (i = 0; i < be->nr; i++)
		be->o[i].procs &= ~bit;
}

/*
 * A store in process @proc landed where the sim cannot tell: every file
 * that process maps may have changed behind the real memory.
 */
static void sim_unsync(struct backend *be, int proc)
{
	uint64_t bit = sim_proc_bit(be, proc);
	struct sim_obj *g;
	size_t i;

	for (i = 0; i < be->nr; i++) {
		if (!bit || (be->o[i].procs & bit)) {
			g = sim_gmem(be, be->o[i].gmem);
			if (g)
				g->unsynced = true;
		}
	}
}

/*
 * A HugeTLB guest_memfd of the hugetlb profile with 2 MiB folios is backed
 * by a hugetlb memfd when the host pool has a free page for every 2 MiB of
 * it and of the trace's earlier hugetlb backings (pages are taken on first
 * touch, and other processes share the pool, so this is a best effort; a
 * store the pool cannot take fails the op) and the hugetlbfs userfaultfd
 * features are there.  Anything else -- 1 GiB folios (no 1 GiB pool
 * here), an empty pool -- gets a 4 KiB memfd, the model still tracking
 * the folio orders (docs/sim.md, "Hugetlb backing").
 */
/*
 * 2 MiB pages the trace's hugetlb backings may still take from the pool:
 * their size less what they already hold (those left free_hugepages).
 */
static uint64_t sim_huge_promised(struct backend *be)
{
	uint64_t n = 0, pages, held;
	size_t i;

	for (i = 0; i < be->nr; i++) {
		const struct sim_backing *b = &be->o[i].b;

		if (!be->o[i].backed || !b->hugetlb)
			continue;
		pages = b->size / SIM_HUGE_SIZE;
		held = sim_backing_held(b) / SIM_HUGE_SIZE;
		n += held < pages ? pages - held : 0;
	}
	return n;
}

static bool sim_gmem_wants_huge(struct backend *be, const struct trace_op *op)
{
	uint64_t need = (op->u.gmem.size + SIM_HUGE_SIZE - 1) / SIM_HUGE_SIZE;
	char why[256];

	if (!be->hugetlb || op->u.gmem.huge != SIM_HUGE_SIZE ||
	    op->u.gmem.size > SIM_MAX_BACKING ||
	    sim_huge_free_pages() < sim_huge_promised(be) + need)
		return false;
	if (!be->uffd_huge_tried) {
		be->uffd_huge_tried = true;
		if (sim_uffd_open(&be->uffd_huge, true, why, sizeof(why)))
			be->uffd_huge.fd = -1;
	}
	return be->uffd_huge.fd >= 0;
}

static void sim_gmem_create(struct backend *be, const struct trace_op *op)
{
	struct sim_obj *g = sim_obj(be, op->obj), *vm = sim_obj(be, op->obj2);
	char why[256];
	bool huge;

	if (!g)
		return;
	sim_stats.gmems++;
	huge = sim_gmem_wants_huge(be, op);
	if (huge && !sim_backing_create(&g->b, op->u.gmem.size, true, why,
					sizeof(why))) {
		sim_stats.huge_gmems++;
	} else if (sim_backing_create(&g->b, op->u.gmem.size, false, why,
				      sizeof(why))) {
		sim_stats.unbacked++;
		return; /* too large or no memory: the model's answers */
	}
	g->backed = true;
	g->vm_type = vm ? vm->vm_type : GM_VM_DEFAULT;
	g->transforms = vm &&
			(vm->vm_type == GM_VM_TDX || vm->vm_type == GM_VM_SNP);
}

static void sim_mmap(struct backend *be, const struct trace_op *op)
{
	struct sim_obj *m = sim_obj(be, op->obj);
	struct sim_obj *g = sim_gmem(be, op->obj2);
	char why[256];

	if (!m || !g)
		return;
	m->gmem = op->obj2;
	m->map_offset = op->u.mmap.offset;
	/* a mapping covers whole pages: the tail of its last one too */
	m->map_len = op->u.mmap.len > UINT64_MAX - 0xfff ?
			     op->u.mmap.len :
			     (op->u.mmap.len + 0xfff) & ~0xfffULL;
	m->procs = sim_proc_bit(be, op->proc);
	if (op->proc != TRACE_NO_OBJ)
		return; /* another process's mapping: no real view */
	if (sim_view_map(&m->v, &g->b,
			 g->b.hugetlb ? &be->uffd_huge : &be->uffd,
			 op->u.mmap.offset, m->map_len, op->u.mmap.prot, why,
			 sizeof(why)))
		return;
	m->mapped = true;
	sim_stats.views++;
}

static void sim_munmap(struct backend *be, const struct trace_op *op)
{
	struct sim_obj *m = sim_obj(be, op->obj);

	if (!m)
		return;
	m->procs &= ~sim_proc_bit(be, op->proc);
	if (op->proc != TRACE_NO_OBJ || !m->mapped)
		return;
	sim_view_unmap(&m->v);
	m->mapped = false;
}

static bool sim_converted(const struct sim_obj *g, uint64_t off)
{
	size_t i;

	for (i = 0; i < g->nr_conv; i++)
		if (off >= g->conv[i].start && off < g->conv[i].end)
			return true;
	return false;
}

static void sim_check_byte(struct backend *be, const struct trace_op *op,
			   struct op_result *res, struct sim_obj *g,
			   uint64_t foff, uint8_t byte);

/*
 * A store the sim makes for the model through the alias.  It fails only
 * when a hugetlb backing's page cannot be allocated (the host pool ran
 * out after the file was created): real memory cannot follow the model.
 */
static void sim_store(struct backend *be, const struct trace_op *op,
		      struct op_result *res, struct sim_obj *g, uint64_t foff,
		      uint8_t byte)
{
	int err = sim_backing_store(&g->b, foff, byte);

	if (err)
		sim_fail(be, op, res, "store at file offset %#llx: %s",
			 (unsigned long long)foff, strerror(-err));
}

/*
 * An access without a real view: in a forked process (proc=P), or on a
 * mapping the sim could not map.  The store lands in the shared file and a
 * load must see the file's byte.
 */
static void sim_access_file(struct backend *be, const struct trace_op *op,
			    struct op_result *res)
{
	struct sim_obj *m = sim_obj(be, op->obj), *g;
	uint64_t foff;
	uint8_t byte;

	if (!m || res->kind != RES_OK)
		return;
	if (!(m->procs & sim_proc_bit(be, op->proc))) {
		/* another mapping at that address in that process */
		if (op->code == TOP_WRITE)
			sim_unsync(be, op->proc);
		return;
	}
	g = sim_gmem(be, m->gmem);
	if (!g || op->u.access.offset >= m->map_len)
		return;
	foff = m->map_offset + op->u.access.offset;
	sim_stats.model_only++;
	if (op->code == TOP_WRITE) {
		sim_store(be, op, res, g, foff, op->u.access.byte);
		return;
	}
	if (!sim_backing_load(&g->b, foff, &byte))
		sim_check_byte(be, op, res, g, foff, byte);
}

/*
 * The fault decision of one real access (sim_fault_fn): the model has
 * already run the op, so @allow is its answer.  An allowed fault resolves
 * the run of pages around it that the model says a host fault would map
 * (docs/sim.md, "Runs"); a refused one reports SIGBUS unresolved.
 */
struct sim_decide {
	bool allow;
	bool run; /* p and maddr are the model's view of the mapping */
	struct gm_proc *p;
	uint64_t maddr;
};

static uint64_t sim_run_query(void *ctx, uint64_t off, uint64_t max)
{
	struct sim_decide *d = ctx;

	return gm_host_fault_run(d->p, d->maddr + off, max);
}

/*
 * A hugetlb view maps whole 2 MiB pages.  A page of it is "mixed" unless
 * the model would map every 4 KiB of it on a host fault right now (all in
 * the mapping, in the file, shared, not poisoned): then it is resolved for
 * this one access and zapped again (SIM_FAULT_ONCE), so a private or
 * poisoned 4 KiB never stays reachable (docs/sim.md, "Hugetlb backing").
 */
static bool sim_huge_mixed(struct sim_decide *d, const struct sim_view *v,
			   uint64_t off)
{
	uint64_t ps = sim_backing_page_size(v->b), start = off & ~(ps - 1);

	if (!v->b->hugetlb)
		return false;
	if (!d->run)
		return true;
	return gm_host_fault_run(d->p, d->maddr + start, ps >> 12) != ps >> 12;
}

static int sim_decide(void *ctx, const struct sim_view *v, uint64_t off,
		      bool write, uint8_t byte)
{
	struct sim_decide *d = ctx;
	unsigned int ioctls = 0;
	uint64_t pages = 0;
	int err;

	(void)write;
	(void)byte;
	if (!d->allow)
		return SIGBUS;
	err = sim_view_resolve_run(v, off, d->run ? sim_run_query : NULL, d,
				   &pages, &ioctls);
	sim_stats.run_pages += pages;
	sim_stats.ioctls += ioctls;
	if (err)
		return -err;
	return sim_huge_mixed(d, v, off) ? SIM_FAULT_ONCE : 0;
}

static void sim_access(struct backend *be, const struct trace_op *op,
		       struct op_result *res)
{
	struct sim_obj *m = sim_obj(be, op->obj), *g;
	bool write = op->code == TOP_WRITE;
	uint8_t byte = op->u.access.byte;
	struct sim_access_result r;
	uint64_t off = op->u.access.offset;
	struct sim_decide d;
	bool allow;

	if (!m)
		return;
	/* a hugetlb view is rounded up to 2 MiB: the mapping's length rules */
	if (!m->mapped || off >= m->v.len || off >= m->map_len) {
		sim_access_file(be, op, res);
		return;
	}
	switch (res->kind) {
	case RES_OK:
		allow = true;
		break;
	case RES_SIGBUS:
	case RES_SIGSEGV:
		allow = false;
		break;
	default:
		return;
	}
	g = &be->o[m->gmem];
	d.allow = allow;
	d.run = !backend_model_map(be->model, op->obj, &d.p, &d.maddr);
	sim_view_access_fn(&m->v, off, write, &byte, sim_decide, &d, &r);
	sim_stats.real++;
	sim_stats.resolved += r.nr_resolved;
	sim_stats.once += r.nr_once;
	if (!allow && r.sig)
		sim_stats.refused++;
	if (allow && r.sig) {
		sim_fail(be, op, res, "model ok, real %s (resolve: %s)",
			 r.sig == SIGBUS ? "SIGBUS" : "SIGSEGV",
			 r.resolve_err ? strerror(r.resolve_err) : "none");
		return;
	}
	if (!allow) {
		int want = res->kind == RES_SIGBUS ? SIGBUS : SIGSEGV;

		if (r.sig != want)
			sim_fail(be, op, res, "model %s, real %s",
				 result_kind_name(res->kind),
				 r.sig == SIGBUS  ? "SIGBUS" :
				 r.sig == SIGSEGV ? "SIGSEGV" :
						    "access succeeded");
		return;
	}
	if (!write)
		sim_check_byte(be, op, res, g, m->v.offset + off, byte);
}

/*
 * A load the model answered: @byte is what real memory holds at file
 * offset @foff of @g.
 */
static void sim_check_byte(struct backend *be, const struct trace_op *op,
			   struct op_result *res, struct sim_obj *g,
			   uint64_t foff, uint8_t byte)
{
	if (!(res->keys & RKEY_BYTE) || byte == res->byte)
		return;
	if (g->unsynced || (g->transforms && sim_converted(g, foff))) {
		/*
		 * TDX zeroes and SNP scrambles a converted page; the model
		 * owns those bytes, so the real page takes the model's byte
		 * (docs/sim.md, "Contents").
		 */
		sim_backing_store(&g->b, foff, res->byte);
		sim_stats.adopted++;
		return;
	}
	sim_fail(be, op, res, "model byte=0x%02x, real byte=0x%02x", res->byte,
		 byte);
}

/* Zap [off, off+len) of gmem @gobj in every real mapping of it. */
static void sim_zap(struct backend *be, int gobj, uint64_t off, uint64_t len)
{
	size_t i;

	for (i = 0; i < be->nr; i++)
		if (be->o[i].mapped && be->o[i].gmem == gobj &&
		    !sim_view_zap(&be->o[i].v, off, len))
			sim_stats.zaps++;
}

/*
 * TDX and SNP change the bytes of a page whose attribute a conversion
 * changes (inflight-series.md §6.1.9): TDX hands back zeroed pages, SNP
 * exposes ciphertext; a no-op (the page already had that attribute)
 * changes nothing (§6.1.3).  Before such a conversion the sim takes each
 * page's state from the model (sim_convert_before()); after it, every page
 * of the range is checked against what the platform must have done -- the
 * memfd still holds the bytes from before: a page that changed state must
 * read all zero on TDX, and on SNP must no longer hold the same bytes if
 * it held any nonzero one; a page that kept its state must hold the same
 * bytes -- and then takes the model's bytes (gm_gmem_peek(), no side
 * effect), so later loads are checked exactly.  A file with stores the
 * sim could not place ("unsynced") and ranges above this size keep the
 * fallback rule: a load in the range that differs from the memfd takes
 * the model's byte ("Contents").
 */
#define SIM_CONVERT_CHECK_MAX (256ULL << 20)

/* Each page's enum gm_share_state before @op, or NULL (fallback). */
static int8_t *sim_convert_before(struct backend *be, const struct trace_op *op)
{
	struct sim_obj *g = sim_gmem(be, op->obj);
	uint64_t off = op->u.range.offset, len = op->u.range.len, i;
	struct gm_proc *p;
	int8_t *st;
	int fd, r;

	if (!be->real || !g || !g->transforms || g->unsynced || !len ||
	    len > SIM_CONVERT_CHECK_MAX || (off | len) & 0xfff ||
	    off + len < off || off + len > g->b.size ||
	    backend_model_vm(be->model, op->obj, &p, &fd))
		return NULL;
	st = malloc(len >> 12);
	if (!st)
		return NULL;
	for (i = 0; i < len >> 12; i++) {
		r = gm_gmem_state(p, fd, off + (i << 12), 4096);
		if (r < 0) {
			free(st);
			return NULL;
		}
		st[i] = (int8_t)r;
	}
	return st;
}

static int sim_convert_contents(struct backend *be, const struct trace_op *op,
				struct op_result *res, struct sim_obj *g,
				const int8_t *before)
{
	static const uint8_t zero[4096];
	uint64_t off = op->u.range.offset, i;
	uint8_t old[4096], now[4096];
	const char *why, *first = NULL;
	uint64_t first_pg = 0;
	struct gm_proc *p;
	bool tdx, changed;
	int fd, r;

	if (backend_model_vm(be->model, op->obj, &p, &fd))
		return -1;
	tdx = g->vm_type == GM_VM_TDX;
	for (i = 0; i < op->u.range.len >> 12; i++) {
		uint64_t pg = off + (i << 12);

		r = gm_gmem_state(p, fd, pg, 4096);
		if (r < 0 || sim_backing_read(&g->b, pg, old, sizeof(old)) ||
		    gm_gmem_peek(p, fd, pg, now, sizeof(now)))
			return -1;
		changed = r != before[i];
		why = NULL;
		if (sim_converted(g, pg))
			; /* stale since a fallback conversion: just sync */
		else if (!changed && memcmp(old, now, sizeof(old)))
			why = "a page that kept its attribute changed its bytes";
		else if (changed && tdx && memcmp(now, zero, sizeof(now)))
			why = "TDX: a converted page is not zero";
		else if (changed && !tdx && memcmp(old, zero, sizeof(old)) &&
			 !memcmp(old, now, sizeof(old)))
			why = "SNP: a converted page keeps its bytes";
		if (why && !first) {
			first = why;
			first_pg = pg;
		}
		if (!memcmp(old, now, sizeof(old)))
			continue;
		/* every page takes the model's bytes, even after a failure */
		sim_stats.converted_pages++;
		if (tdx && !memcmp(now, zero, sizeof(now)))
			r = sim_backing_punch(&g->b, pg, sizeof(old));
		else
			r = sim_backing_write(&g->b, pg, now, sizeof(now));
		if (r)
			return -1;
	}
	if (first)
		sim_fail(be, op, res, "%s (file offset %#llx)", first,
			 (unsigned long long)first_pg);
	return 0;
}

/* Drop the fallback ranges that lie inside [off, off + len): synced. */
static void sim_conv_trim(struct sim_obj *g, uint64_t off, uint64_t len)
{
	uint64_t end = off + len < off ? UINT64_MAX : off + len;
	size_t i, n = 0;

	for (i = 0; i < g->nr_conv; i++)
		if (g->conv[i].start < off || g->conv[i].end > end)
			g->conv[n++] = g->conv[i];
	g->nr_conv = n;
}

/*
 * After a conversion (the range was zapped before it, sim_exec_here()):
 * on a TDX or SNP file check and sync the contents.  A failed conversion is
 * checked too: in the hugetlb profile it may have converted whole huge
 * pages before the one that failed.  Without a snapshot (@before NULL)
 * the range falls back to adopting the model's bytes on later loads.
 */
static void sim_convert(struct backend *be, const struct trace_op *op,
			struct op_result *res, const int8_t *before)
{
	struct sim_obj *g = sim_gmem(be, op->obj);
	uint64_t off = op->u.range.offset, len = op->u.range.len;
	struct sim_range *n;

	if (!g || !g->transforms || !len)
		return;
	if (before && !sim_convert_contents(be, op, res, g, before)) {
		sim_conv_trim(g, off, len);
		return;
	}
	/*
	 * Fallback: only a conversion that may have changed something (it
	 * succeeded, or failed part way: EAGAIN on a refcount, ENOMEM on a
	 * split) makes its range lenient.
	 */
	if (res->kind != RES_OK &&
	    !(res->kind == RES_ERRNO &&
	      (res->err == EAGAIN || res->err == ENOMEM)))
		return;
	if (g->nr_conv == g->cap_conv) {
		size_t cap = g->cap_conv ? 2 * g->cap_conv : 8;

		n = realloc(g->conv, cap * sizeof(*n));
		if (!n)
			return;
		g->conv = n;
		g->cap_conv = cap;
	}
	g->conv[g->nr_conv].start = off;
	g->conv[g->nr_conv].end = off + len < off ? UINT64_MAX : off + len;
	g->nr_conv++;
}

static void sim_punch(struct backend *be, const struct trace_op *op)
{
	struct sim_obj *g = sim_gmem(be, op->obj);

	if (!g || !(op->u.fallocate.mode & GMEM_FALLOC_FL_PUNCH_HOLE))
		return;
	/* frees the pages and zaps every mapping of them */
	sim_stats.punches++;
	sim_backing_punch(&g->b, op->u.fallocate.offset, op->u.fallocate.len);
	/*
	 * hugetlbfs zeroes a partly punched huge page in place and leaves
	 * it mapped; zap it (rounded out) so the next access faults and the
	 * model decides it, as after a punch of a 4 KiB memfd.
	 */
	if (g->b.hugetlb)
		sim_zap(be, op->obj, op->u.fallocate.offset,
			op->u.fallocate.len);
}

/* KVM's slot identity is (VM, slot id); a new binding replaces the old. */
static void sim_memslot(struct backend *be, const struct trace *t,
			const struct trace_op *op)
{
	const struct trace_obj *slot = &t->objs[op->obj];
	struct sim_obj *s = &be->o[op->obj];
	size_t i;

	for (i = 0; i < be->nr && i < t->nr_objs; i++)
		if (t->objs[i].kind == TOBJ_SLOT && be->o[i].slot_live &&
		    t->objs[i].vm == slot->vm &&
		    t->objs[i].slot_id == slot->slot_id)
			be->o[i].slot_live = false;
	if (op->code == TOP_MEMSLOT_DELETE || !op->u.memslot.size)
		return;
	s->slot_live = true;
	s->slot_gpa = op->u.memslot.gpa;
	s->slot_size = op->u.memslot.size;
	s->slot_offset = op->u.memslot.offset;
	s->slot_gmem = op->u.memslot.has_gmem ? op->obj2 : TRACE_NO_OBJ;
}

/*
 * The memfd page gpa @gpa of VM @vm maps through a live memslot with a
 * backed gmem: true with *gobj and *foff (file offset of the byte).
 */
static bool sim_slot_lookup(struct backend *be, const struct trace *t, int vm,
			    uint64_t gpa, int *gobj, uint64_t *foff)
{
	size_t i;

	for (i = 0; i < be->nr && i < t->nr_objs; i++) {
		const struct sim_obj *s = &be->o[i];

		if (t->objs[i].kind != TOBJ_SLOT || !s->slot_live ||
		    t->objs[i].vm != vm || gpa < s->slot_gpa ||
		    gpa - s->slot_gpa >= s->slot_size)
			continue;
		if (!sim_gmem(be, s->slot_gmem))
			return false;
		*gobj = s->slot_gmem;
		*foff = s->slot_offset + (gpa - s->slot_gpa);
		return true;
	}
	return false;
}

/*
 * The stage-2 cache entry of @gfn of VM @op->obj on vCPU @c that is still
 * valid -- same VM object (each `vm` op is a new trace object), no
 * invalidation and no memslot update since it was filled -- or NULL.  A stale entry (either moved) counts as
 * invalidated and is dropped.
 */
static struct sim_s2_entry *sim_s2_lookup(struct backend *be,
					  const struct trace_op *op,
					  struct sim_vcpu *c,
					  const struct gm_vm_info *info)
{
	uint64_t gfn = op->u.guest.gpa >> 12;
	struct sim_obj *vm = sim_obj(be, op->obj);
	struct sim_s2_entry *e;

	if (!c || !vm)
		return NULL;
	e = &c->s2[gfn % SIM_S2_ENTRIES];
	if (!e->valid || e->vm != op->obj || e->gfn != gfn)
		return NULL;
	if (be->s2_keep || (e->seq == info->mmu_invalidate_seq &&
			    e->gen == info->memslots_gen))
		return e;
	e->valid = false;
	sim_stats.s2_stale++;
	return NULL;
}

/*
 * Before the fault: a valid cache entry stands for a stage-2 mapping the
 * model still has.  If the model has none, it zapped the gfn without
 * bumping mmu_invalidate_seq or the memslot generation -- an invalidation
 * a real vCPU would have missed.
 */
static bool sim_s2_missed_zap(struct backend *be, const struct trace_op *op,
			      struct sim_vcpu *c, struct gm_proc *p, int fd)
{
	uint64_t gfn = op->u.guest.gpa >> 12;
	struct gm_vm_info info;
	unsigned int flags = 0;

	if (!c || gm_vm_info(p, fd, &info) || !sim_s2_lookup(be, op, c, &info))
		return false;
	if (gm_vm_stage2_flags(p, fd, gfn, &flags))
		return false;
	return (flags & (GM_SPTE_PRESENT | GM_SPTE_GMEM)) !=
	       (GM_SPTE_PRESENT | GM_SPTE_GMEM);
}

/*
 * A guest access the model completed (finish returned OK), on vCPU @c
 * (NULL: the replayer's thread, no cache).  Only a page the model mapped
 * from guest_memfd (GM_SPTE_GMEM) is reached on real memory -- an hva
 * fault's page belongs to whatever the slot's userspace address maps.  The
 * page is reached through the backing's alias (the stage-2 view): a store
 * lands there, a load reads the real byte, which must be the model's.  On
 * a vCPU a valid stage-2 cache entry gives the page; it is checked against
 * the memslot walk (a mismatch is a mapping the model changed without an
 * invalidation).  A miss walks the memslots and fills
 * the entry.
 */
static void sim_guest(struct backend *be, const struct trace *t,
		      const struct trace_op *op, struct op_result *res,
		      struct sim_vcpu *c, struct gm_proc *p, int fd)
{
	bool write = op->u.guest.access == GM_ACCESS_WRITE;
	uint64_t gpa = op->u.guest.gpa, gfn = gpa >> 12, foff = 0;
	struct sim_obj *g, *vm = sim_obj(be, op->obj);
	struct sim_s2_entry *e = NULL;
	struct gm_vm_info info;
	unsigned int flags = 0;
	int gobj = TRACE_NO_OBJ;
	uint8_t byte;

	if (gm_vm_stage2_flags(p, fd, gfn, &flags) || !(flags & GM_SPTE_GMEM))
		return;
	if (!sim_slot_lookup(be, t, op->obj, gpa, &gobj, &foff))
		return; /* a gmem without real memory */
	if (gm_vm_info(p, fd, &info))
		return;
	e = sim_s2_lookup(be, op, c, &info);
	if (e) {
		sim_stats.s2_hits++;
		if (gobj != e->gmem || (foff & ~0xfffULL) != e->foff) {
			sim_fail(be, op, res,
				 "stale stage-2 cache: gfn %#llx cached at "
				 "gmem %d offset %#llx, memslots say gmem %d "
				 "offset %#llx, and no invalidation ran",
				 (unsigned long long)gfn, e->gmem,
				 (unsigned long long)e->foff, gobj,
				 (unsigned long long)(foff & ~0xfffULL));
			return;
		}
		foff = e->foff + (gpa & 0xfff);
	} else if (c && vm) {
		e = &c->s2[gfn % SIM_S2_ENTRIES];
		e->valid = true;
		e->vm = op->obj;
		e->gfn = gfn;
		e->seq = info.mmu_invalidate_seq;
		e->gen = info.memslots_gen;
		e->gmem = gobj;
		e->foff = foff & ~0xfffULL;
		sim_stats.s2_fills++;
	}
	g = sim_gmem(be, gobj);
	sim_stats.guest_real++;
	if (write)
		sim_store(be, op, res, g, foff, op->u.guest.byte);
	else if (!sim_backing_load(&g->b, foff, &byte))
		sim_check_byte(be, op, res, g, foff, byte);
}

/*
 * Concurrent mode: KVM faults again for as long as invalidations keep
 * racing it; under a converter thread that is a livelock to ride out, not
 * an error, so the bound is high (ordered mode keeps the model's).
 */
#define SIM_GUEST_MAX_RETRIES 1024

/*
 * A `guest` op: the model's stage-2 fault in two steps, with the big lock
 * dropped in between (called and returning with it held), retried on
 * GM_GUEST_RETRY like backend_model's gm_guest_access() loop, so in
 * ordered mode the results are the model backend's.
 */
static void sim_guest_op(struct backend *be, const struct trace *t,
			 const struct trace_op *op, struct op_result *res,
			 struct sim_vcpu *c)
{
	struct gm_guest_fault f;
	bool missed_zap;
	struct gm_proc *p;
	int fd, ret, tries = 0;

	if (!be->real || backend_model_vm(be->model, op->obj, &p, &fd)) {
		backend_model_ops.exec(be->model, t, op, res);
		return;
	}
	memset(res, 0, sizeof(*res));
	missed_zap = sim_s2_missed_zap(be, op, c, p, fd);
	for (;;) {
		backend_model_guest_init(op, &f);
		ret = gm_guest_fault_begin(p, fd, &f);
		if (ret)
			break;
		if (f.outcome == GM_GUEST_OK) {
			be->inflight++;
			pthread_mutex_unlock(&be->lock);
			if (be->concurrent)
				sched_yield();
			pthread_mutex_lock(&be->lock);
			if (!--be->inflight)
				pthread_cond_broadcast(&be->no_inflight);
		}
		ret = gm_guest_fault_finish(p, fd, &f);
		if (ret || f.outcome != GM_GUEST_RETRY ||
		    ++tries >= (be->concurrent ? SIM_GUEST_MAX_RETRIES :
						 BACKEND_GUEST_MAX_RETRIES))
			break;
		sim_stats.retries++;
	}
	backend_model_guest_result(op, ret, &f, res);
	if (res->kind != RES_OK)
		return;
	if (missed_zap) {
		sim_fail(be, op, res,
			 "stage-2 cache entry of gfn %#llx still valid but "
			 "the model has no mapping: zapped without an "
			 "invalidation",
			 (unsigned long long)(op->u.guest.gpa >> 12));
		return;
	}
	sim_guest(be, t, op, res, c, p, fd);
}

static void sim_exec_here(struct backend *be, const struct trace *t,
			  const struct trace_op *op, struct op_result *res,
			  struct sim_vcpu *c)
{
	struct sim_obj *o;

	if (op->code == TOP_GUEST) {
		sim_guest_op(be, t, op, res, c);
		return;
	}
	if (op->code == TOP_CONVERT && op->proc == TRACE_NO_OBJ) {
		int8_t *before = sim_convert_before(be, op);

		/*
		 * The series unmaps the host before its refcount check and
		 * does not undo it on failure: zap first (an extra zap is
		 * harmless, the next access faults and the model decides).
		 */
		if (be->real)
			sim_zap(be, op->obj, op->u.range.offset,
				op->u.range.len);
		backend_model_ops.exec(be->model, t, op, res);
		if (be->real && res->kind != RES_SKIPPED)
			sim_convert(be, op, res, before);
		free(before);
		return;
	}
	backend_model_ops.exec(be->model, t, op, res);
	if (!be->real || res->kind == RES_SKIPPED)
		return;
	if (op->proc != TRACE_NO_OBJ) {
		if (op->code == TOP_MMAP && res->kind == RES_OK)
			sim_mmap(be, op);
		else if (op->code == TOP_MUNMAP && res->kind == RES_OK)
			sim_munmap(be, op);
		else if (op->code == TOP_READ || op->code == TOP_WRITE)
			sim_access_file(be, op, res);
		return;
	}
	switch (op->code) {
	case TOP_VM:
		o = sim_obj(be, op->obj);
		if (o && res->kind == RES_OK)
			o->vm_type = op->u.vm.vm_type;
		break;
	case TOP_GMEM:
		if (res->kind == RES_OK)
			sim_gmem_create(be, op);
		break;
	case TOP_MMAP:
		if (res->kind == RES_OK)
			sim_mmap(be, op);
		break;
	case TOP_MUNMAP:
		if (res->kind == RES_OK)
			sim_munmap(be, op);
		break;
	case TOP_READ:
	case TOP_WRITE:
		sim_access(be, op, res);
		break;
	case TOP_FALLOCATE:
		if (res->kind == RES_OK)
			sim_punch(be, op);
		break;
	case TOP_POISON:
		if (res->kind == RES_OK)
			sim_zap(be, op->obj, op->u.page.offset, 1);
		break;
	case TOP_MEMSLOT:
	case TOP_MEMSLOT_DELETE:
		if (res->kind == RES_OK && op->obj >= 0 &&
		    (size_t)op->obj < be->nr)
			sim_memslot(be, t, op);
		break;
	case TOP_FORK:
		if (res->kind == RES_OK)
			sim_fork(be, op);
		break;
	case TOP_EXIT:
		sim_exit(be, op);
		break;
	default:
		break;
	}
}

/*
 * Run @op under the big lock.  A close or a process exit first waits for
 * guest faults in flight (between begin and finish): a vCPU keeps its VM
 * and the guest_memfd page it resolved alive until its fault is done.
 */
static void sim_exec_locked(struct backend *be, const struct trace *t,
			    const struct trace_op *op, struct op_result *res,
			    struct sim_vcpu *c)
{
	pthread_mutex_lock(&be->lock);
	if (op->code == TOP_CLOSE || op->code == TOP_EXIT)
		while (be->inflight)
			pthread_cond_wait(&be->no_inflight, &be->lock);
	sim_exec_here(be, t, op, res, c);
	if (c && c->id != SIM_VCPU_DEFAULT)
		sim_stats.vcpu_ops++;
	pthread_mutex_unlock(&be->lock);
}

static void *sim_vcpu_main(void *arg)
{
	struct sim_vcpu *c = arg;
	struct backend *be = c->be;
	struct sim_work w;

	pthread_mutex_lock(&be->qlock);
	for (;;) {
		while (c->q_head == c->q_tail && !be->quit)
			pthread_cond_wait(&c->cond, &be->qlock);
		if (c->q_head == c->q_tail)
			break; /* quit, nothing left */
		w = c->q[c->q_head];
		pthread_mutex_unlock(&be->qlock);
		sim_exec_locked(be, w.t, w.op, w.res, c);
		pthread_mutex_lock(&be->qlock);
		if (++c->q_head == c->q_tail) {
			c->q_head = c->q_tail = 0;
			pthread_cond_broadcast(&be->drained);
		}
	}
	pthread_mutex_unlock(&be->qlock);
	return NULL;
}

/* The thread of trace thread @id, started on first use, or NULL. */
static struct sim_vcpu *sim_vcpu_get(struct backend *be, int id)
{
	unsigned int i, first = 0, last = SIM_MAX_VCPUS;
	struct sim_vcpu *c;

	if (!be->vcpus) {
		be->vcpus = calloc(SIM_NR_THREADS, sizeof(*be->vcpus));
		if (!be->vcpus)
			return NULL;
	}
	/* the default vCPU has a slot of its own */
	if (id == SIM_VCPU_DEFAULT) {
		first = SIM_MAX_VCPUS;
		last = SIM_NR_THREADS;
	}
	for (i = first; i < last; i++) {
		c = &be->vcpus[i];
		if (c->started && c->id == id)
			return c;
		if (c->started)
			continue;
		c->id = id;
		c->be = be;
		pthread_cond_init(&c->cond, NULL);
		if (pthread_create(&c->tid, NULL, sim_vcpu_main, c)) {
			pthread_cond_destroy(&c->cond);
			return NULL;
		}
		c->started = true;
		sim_stats.vcpus++;
		return c;
	}
	if (!be->warned_threads) {
		be->warned_threads = true;
		fprintf(stderr,
			"%s: sim: more than %d trace threads; the ops of the "
			"others run on the replayer's thread, after every "
			"thread caught up\n",
			be->file ? be->file : "-", SIM_MAX_VCPUS);
	}
	return NULL;
}

/* Queue @op to thread @c; with @wait, until it ran. */
static int sim_vcpu_queue(struct backend *be, struct sim_vcpu *c,
			  const struct trace *t, const struct trace_op *op,
			  struct op_result *res, bool wait)
{
	struct sim_work *q;

	pthread_mutex_lock(&be->qlock);
	if (c->q_tail == c->q_cap) {
		size_t cap = c->q_cap ? 2 * c->q_cap : 16;

		q = realloc(c->q, cap * sizeof(*q));
		if (!q) {
			pthread_mutex_unlock(&be->qlock);
			return -ENOMEM;
		}
		c->q = q;
		c->q_cap = cap;
	}
	c->q[c->q_tail].t = t;
	c->q[c->q_tail].op = op;
	c->q[c->q_tail].res = res;
	c->q_tail++;
	pthread_cond_broadcast(&c->cond);
	if (wait)
		while (c->q_head != c->q_tail)
			pthread_cond_wait(&be->drained, &be->qlock);
	pthread_mutex_unlock(&be->qlock);
	return 0;
}

static void sim_exec(struct backend *be, const struct trace *t,
		     const struct trace_op *op, struct op_result *res)
{
	struct sim_vcpu *c = NULL;

	if (op->thread >= 0 && op->code != TOP_BARRIER) {
		c = sim_vcpu_get(be, op->thread);
		if (c && !sim_vcpu_queue(be, c, t, op, res, !be->concurrent))
			return;
	}
	/* unprefixed ops and barriers: every thread catches up first */
	sim_vcpus_drain(be);
	if (op->code == TOP_GUEST) {
		c = sim_vcpu_get(be, SIM_VCPU_DEFAULT);
		if (c && !sim_vcpu_queue(be, c, t, op, res, true))
			return;
	}
	sim_exec_locked(be, t, op, res, NULL);
}

const struct backend_ops backend_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.exec = sim_exec,
	.close = sim_close,
};
