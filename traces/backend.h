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

const struct backend_ops *backend_find(const char *name);

/*
 * Query the running kernel (kernel backend only).  Returns 0, or a negative
 * errno with a reason when /dev/kvm or guest_memfd is not usable.
 */
int backend_kernel_probe(struct backend_caps *caps, char *why, size_t len);

#endif /* GMEM_BACKEND_H */
