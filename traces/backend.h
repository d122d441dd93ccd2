/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A backend runs trace ops: the model, or the real kernel's /dev/kvm.
 *
 * The replayer owns the trace and its objects; a backend keeps one handle
 * per trace object (struct trace_obj index) and turns each op into the
 * system calls or model calls it stands for.  The object rules of the trace
 * contract (a failed or closed name is fd -1, munmap of an unmapped mapping
 * is ok, of a failed one EINVAL, accesses to a mapping that is not there are
 * SIGSEGV) are implemented by every backend alike.
 */
#ifndef GMEM_BACKEND_H
#define GMEM_BACKEND_H

#include "trace.h"

struct backend;

/* What the simulated or real KVM offers; the model is set up to match. */
struct backend_caps {
	unsigned int vm_types;	/* mask of 1U << enum gm_vm_type */
	bool vm_attributes;	/* VM-level KVM_SET_MEMORY_ATTRIBUTES built */
	uint64_t gmem_flags;	/* KVM_CAP_GUEST_MEMFD_FLAGS (system) */
};

struct backend_ops {
	const char *name;
	/*
	 * Make a fresh backend for @t (nothing carries over between traces).
	 * @cfg is the trace header after command-line overrides; @caps, when
	 * non-NULL, says what KVM must offer (the model then ignores the
	 * trace's vm_types, so it matches a real kernel).  Returns 0, or a
	 * negative errno with a one-line reason in @why when the backend
	 * cannot run here (then every op is skipped).
	 */
	int (*open)(const struct trace *t, const struct trace_config *cfg,
		    const struct backend_caps *caps, struct backend **out,
		    char *why, size_t why_len);
	/*
	 * exec() may return before its op has finished (the sim in
	 * threads=concurrent mode queues a prefixed op to its thread), but
	 * every result it was handed must be final when close() returns;
	 * the replayer reads, judges and prints results only after close(),
	 * and keeps the result array alive until then.
	 */
	void (*exec)(struct backend *be, const struct trace *t,
		     const struct trace_op *op, struct op_result *res);
	void (*close)(struct backend *be);
};

extern const struct backend_ops backend_model_ops;
extern const struct backend_ops backend_kernel_ops;
/* the model over real memory: sim/backend_sim.c, docs/sim.md */
extern const struct backend_ops backend_sim_ops;

/*
 * The model backend's process and address of mapping object @obj in the
 * first process (sim/: the model's view of a real mapping's faults).
 * Returns 0, or -ENOENT when @obj is not mapped there.
 */
struct gm_proc;
int backend_model_map(struct backend *be, int obj, struct gm_proc **p,
		      uint64_t *addr);

/*
 * The model backend's process and descriptor of object @obj (a VM for
 * guest faults; -1 when its creating op failed or it was closed), so the
 * sim can run gm_guest_fault_begin()/finish() itself.  Returns 0, or
 * -ENOENT when @obj is not an object of the trace.
 */
int backend_model_vm(struct backend *be, int obj, struct gm_proc **p,
		     int *fd);

/* A `guest` op as the model backend runs it: the fault to start from... */
struct gm_guest_fault;
void backend_model_guest_init(const struct trace_op *op,
			      struct gm_guest_fault *f);
/* ...and its result (@ret: what gm_guest_access() or finish returned). */
void backend_model_guest_result(const struct trace_op *op, int ret,
				const struct gm_guest_fault *f,
				struct op_result *res);
/* Faults again after this many GM_GUEST_RETRY in a row: EAGAIN. */
#define BACKEND_GUEST_MAX_RETRIES 8

/*
 * What the sim backend did so far in this process (docs/sim.md; the same
 * numbers GMEMSIM_SIM_STATS prints), for tests: ops run on trace threads,
 * guest accesses made on real memory, per-vCPU stage-2 cache hits, fills
 * and entries found invalidated, guest faults retried after an
 * invalidation, ops failed because real memory disagreed, and the
 * TDX/SNP content checks (docs/sim.md, "Contents").
 */
struct backend_sim_counters {
	unsigned long thread_ops, guest_real, s2_hits, s2_fills, s2_stale,
		retries, mismatches;
	/* TDX/SNP: pages checked and rewritten after a conversion; bytes
	 * taken from the model by the fallback rule */
	unsigned long converted_pages, adopted;
};
void backend_sim_counters(struct backend_sim_counters *c);

const struct backend_ops *backend_find(const char *name);

/*
 * Query the running kernel (kernel backend only).  Returns 0, or a negative
 * errno with a reason when /dev/kvm or guest_memfd is not usable.
 */
int backend_kernel_probe(struct backend_caps *caps, char *why, size_t len);

#endif /* GMEM_BACKEND_H */
