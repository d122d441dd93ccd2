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
 * vCPU threads: a `guest` op with an @tN (or @NAME) prefix runs -- model
 * call and mirroring -- on a pthread of its own for that trace thread,
 * created on first use (up to SIM_MAX_VCPUS; more run inline).  The
 * replayer hands the op over and waits for it, so results keep the trace's
 * order; `barrier` is then already satisfied when it runs.
 */
#include <errno.h>
#include <pthread.h>
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
	/* TOBJ_VM */
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
	unsigned long gmems, unbacked, views, real, resolved, refused,
		model_only, adopted, zaps, punches, mismatches, vcpu_ops, vcpus,
		run_pages, ioctls, s2_hits, s2_fills, s2_zaps;
} sim_stats;

static void sim_stats_print(void)
{
	fprintf(stderr,
		"sim: %lu gmem (%lu without real memory), %lu views, "
		"%lu real accesses (%lu faults resolved: %lu pages in "
		"runs, %lu ioctls; %lu refused), "
		"%lu model-only accesses, %lu bytes adopted, %lu zaps, "
		"%lu punches, %lu mismatches, %lu guest ops on %lu vCPU "
		"threads (stage-2 cache: %lu hits, %lu fills, %lu zaps)\n",
		sim_stats.gmems, sim_stats.unbacked, sim_stats.views,
		sim_stats.real, sim_stats.resolved, sim_stats.run_pages,
		sim_stats.ioctls, sim_stats.refused, sim_stats.model_only,
		sim_stats.adopted, sim_stats.zaps, sim_stats.punches,
		sim_stats.mismatches, sim_stats.vcpu_ops, sim_stats.vcpus,
		sim_stats.s2_hits, sim_stats.s2_fills, sim_stats.s2_zaps);
}

/* vCPU threads per trace; ops of further trace threads run inline. */
#define SIM_MAX_VCPUS 16

/*
 * The per-vCPU stage-2 cache (docs/sim.md, "Stage-2 cache"): a completed
 * guest access installs gfn -> (gmem, page file offset) of the VM; a later
 * guest access of that gfn on the same vCPU goes through the memfd alias at
 * the cached offset without looking up the memslot.  Direct-mapped by gfn.
 */
#define SIM_S2_ENTRIES 64

struct sim_s2_entry {
	bool valid;
	int vm; /* VM object */
	uint64_t gfn;
	int gmem; /* backed gmem object */
	uint64_t foff; /* file offset of the gfn's page */
};

/* One pthread per trace thread that runs guest ops (synchronous handoff). */
struct sim_vcpu {
	int id; /* trace thread id (op->thread) */
	bool started;
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* under lock */
	bool busy, quit;
	struct backend *be;
	const struct trace *t;
	const struct trace_op *op;
	struct op_result *res;
	/* stage-2 cache: used by the thread, zapped under lock when idle */
	struct sim_s2_entry s2[SIM_S2_ENTRIES];
	unsigned int nr_s2; /* valid entries */
};

struct backend {
	struct backend *model;
	bool real; /* userfaultfd and signal handlers ready */
	struct sim_uffd uffd;
	struct sim_obj *o;
	size_t nr;
	const char *file;
	unsigned int nr_pslots; /* process slots in use (0: the first) */
	struct sim_vcpu *vcpus; /* SIM_MAX_VCPUS, allocated on first use */
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
	ret = backend_model_ops.open(t, cfg, caps, &be->model, why, why_len);
	if (ret) {
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

static void sim_vcpus_stop(struct backend *be)
{
	struct sim_vcpu *c;
	unsigned int i;

	if (!be->vcpus)
		return;
	for (i = 0; i < SIM_MAX_VCPUS; i++) {
		c = &be->vcpus[i];
		if (!c->started)
			continue;
		pthread_mutex_lock(&c->lock);
		c->quit = true;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->tid, NULL);
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
	}
	free(be->vcpus);
	be->vcpus = NULL;
}

static void sim_close(struct backend *be)
{
	size_t i;

	if (!be)
		return;
	sim_vcpus_stop(be);
	for (i = 0; i < be->nr; i++) {
		sim_view_unmap(&be->o[i].v);
		sim_backing_destroy(&be->o[i].b);
		free(be->o[i].conv);
	}
	if (be->real) {
		sim_uffd_close(&be->uffd);
		sim_signals_put();
	}
	backend_model_ops.close(be->model);
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

static void sim_gmem_create(struct backend *be, const struct trace_op *op)
{
	struct sim_obj *g = sim_obj(be, op->obj), *vm = sim_obj(be, op->obj2);
	char why[256];

	if (!g)
		return;
	sim_stats.gmems++;
	if (sim_backing_create(&g->b, op->u.gmem.size, false, why,
			       sizeof(why))) {
		sim_stats.unbacked++;
		return; /* too large or no memory: the model's answers */
	}
	g->backed = true;
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
	m->map_len = op->u.mmap.len;
	m->procs = sim_proc_bit(be, op->proc);
	if (op->proc != TRACE_NO_OBJ)
		return; /* another process's mapping: no real view */
	if (sim_view_map(&m->v, &g->b, &be->uffd, op->u.mmap.offset,
			 op->u.mmap.len, op->u.mmap.prot, why, sizeof(why)))
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
		sim_backing_store(&g->b, foff, op->u.access.byte);
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
	return err ? -err : 0;
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
	if (!m->mapped || off >= m->v.len) {
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

static void sim_convert(struct backend *be, const struct trace_op *op,
			const struct op_result *res)
{
	struct sim_obj *g = sim_gmem(be, op->obj);
	uint64_t off = op->u.range.offset, len = op->u.range.len;
	struct sim_range *n;

	if (!g)
		return;
	sim_zap(be, op->obj, off, len);
	if (res->kind != RES_OK || !g->transforms || !len)
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
 * A guest access the model completed, on vCPU @c (NULL: inline).  A store
 * lands in the memfd through the alias (the stage-2 view).  On a vCPU, the
 * gfn's page is looked up in the vCPU's stage-2 cache first: a hit reaches
 * the page at the cached offset without the memslot walk -- a load then
 * reads the real byte, which must be the model's -- and is checked against
 * the memslots (a stale entry means a zap did not reach the cache); a miss
 * walks the memslots and installs the entry.
 */
static void sim_guest(struct backend *be, const struct trace *t,
		      const struct trace_op *op, struct op_result *res,
		      struct sim_vcpu *c)
{
	bool write = op->u.guest.access == GM_ACCESS_WRITE;
	uint64_t gpa = op->u.guest.gpa, gfn = gpa >> 12, foff = 0;
	struct sim_s2_entry *e = NULL;
	int gobj = TRACE_NO_OBJ;
	struct sim_obj *g;
	bool mapped;
	uint8_t byte;

	mapped = sim_slot_lookup(be, t, op->obj, gpa, &gobj, &foff);
	if (c)
		e = &c->s2[gfn % SIM_S2_ENTRIES];
	if (e && e->valid && e->vm == op->obj && e->gfn == gfn) {
		sim_stats.s2_hits++;
		if (!mapped || gobj != e->gmem ||
		    (foff & ~0xfffULL) != e->foff) {
			sim_fail(be, op, res,
				 "stale stage-2 cache: gfn %#llx cached at "
				 "gmem %d offset %#llx, memslots say %s",
				 (unsigned long long)gfn, e->gmem,
				 (unsigned long long)e->foff,
				 mapped ? "another page" : "no backed page");
			return;
		}
		g = sim_gmem(be, e->gmem);
		foff = e->foff + (gpa & 0xfff);
		if (write)
			sim_backing_store(&g->b, foff, op->u.guest.byte);
		else if (!sim_backing_load(&g->b, foff, &byte))
			sim_check_byte(be, op, res, g, foff, byte);
		return;
	}
	if (!mapped)
		return;
	g = sim_gmem(be, gobj);
	if (write)
		sim_backing_store(&g->b, foff, op->u.guest.byte);
	if (!e)
		return;
	if (!e->valid)
		c->nr_s2++;
	e->valid = true;
	e->vm = op->obj;
	e->gfn = gfn;
	e->gmem = gobj;
	e->foff = foff & ~0xfffULL;
	sim_stats.s2_fills++;
}

static void sim_exec_here(struct backend *be, const struct trace *t,
			  const struct trace_op *op, struct op_result *res,
			  struct sim_vcpu *c)
{
	struct sim_obj *o;

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
	case TOP_CONVERT:
		sim_convert(be, op, res);
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
	case TOP_GUEST:
		if (res->kind == RES_OK)
			sim_guest(be, t, op, res, c);
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

static void *sim_vcpu_main(void *arg)
{
	struct sim_vcpu *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->busy && !c->quit)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->quit)
			break;
		pthread_mutex_unlock(&c->lock);
		sim_exec_here(c->be, c->t, c->op, c->res, c);
		pthread_mutex_lock(&c->lock);
		c->busy = false;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* The vCPU thread of trace thread @id, started on first use, or NULL. */
static struct sim_vcpu *sim_vcpu_get(struct backend *be, int id)
{
	struct sim_vcpu *c;
	unsigned int i;

	if (!be->vcpus) {
		be->vcpus = calloc(SIM_MAX_VCPUS, sizeof(*be->vcpus));
		if (!be->vcpus)
			return NULL;
	}
	for (i = 0; i < SIM_MAX_VCPUS; i++) {
		c = &be->vcpus[i];
		if (c->started && c->id == id)
			return c;
		if (c->started)
			continue;
		c->id = id;
		c->be = be;
		pthread_mutex_init(&c->lock, NULL);
		pthread_cond_init(&c->cond, NULL);
		if (pthread_create(&c->tid, NULL, sim_vcpu_main, c)) {
			pthread_cond_destroy(&c->cond);
			pthread_mutex_destroy(&c->lock);
			return NULL;
		}
		c->started = true;
		sim_stats.vcpus++;
		return c;
	}
	return NULL;
}

/*
 * Ops that leave the model's stage-2 state alone: every other op may zap
 * (convert, punch, memslots, attributes, poison, close, munmap, exit, host
 * accesses that break COW...), so it drops every vCPU's stage-2 cache.
 */
static bool sim_keeps_stage2(enum trace_opcode code)
{
	switch (code) {
	case TOP_GUEST:
	case TOP_STATE:
	case TOP_CHECK:
	case TOP_BARRIER:
		return true;
	default:
		return false;
	}
}

/* Drop the stage-2 cache of every vCPU thread (all idle: handoff). */
static void sim_s2_zap_all(struct backend *be)
{
	struct sim_vcpu *c;
	unsigned int i;

	if (!be->vcpus)
		return;
	for (i = 0; i < SIM_MAX_VCPUS; i++) {
		c = &be->vcpus[i];
		if (!c->started)
			continue;
		pthread_mutex_lock(&c->lock);
		if (c->nr_s2) {
			memset(c->s2, 0, sizeof(c->s2));
			c->nr_s2 = 0;
			sim_stats.s2_zaps++;
		}
		pthread_mutex_unlock(&c->lock);
	}
}

static void sim_exec(struct backend *be, const struct trace *t,
		     const struct trace_op *op, struct op_result *res)
{
	struct sim_vcpu *c = NULL;

	if (op->code == TOP_GUEST && op->thread >= 0)
		c = sim_vcpu_get(be, op->thread);
	if (!c) {
		sim_exec_here(be, t, op, res, NULL);
		if (!sim_keeps_stage2(op->code))
			sim_s2_zap_all(be);
		return;
	}
	/* hand the op to its vCPU thread and wait: trace order is kept */
	pthread_mutex_lock(&c->lock);
	c->t = t;
	c->op = op;
	c->res = res;
	c->busy = true;
	pthread_cond_broadcast(&c->cond);
	while (c->busy)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	sim_stats.vcpu_ops++;
}

const struct backend_ops backend_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.exec = sim_exec,
	.close = sim_close,
};
