// SPDX-License-Identifier: GPL-2.0
/*
 * The model backend: each trace op becomes the model call shaped like the
 * system call or ioctl a VMM would issue (gmem/model.h), in one simulated
 * process that opened /dev/kvm.
 *
 * Object handles follow traces/backend.h: a VM or guest_memfd whose
 * creating op failed, or that was closed, is fd -1; a mapping remembers
 * whether its mmap failed, succeeded or was unmapped since.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "stats.h"

enum map_state {
	MAP_NONE = 0, /* mmap failed */
	MAP_MAPPED,
	MAP_UNMAPPED,
};

struct model_handle {
	int fd; /* VM, gmem: fd or -1 */
	struct gm_proc *proc; /* process (fork); NULL when fork failed */
	enum map_state map; /* mapping */
	uint64_t addr, len;
};

struct backend {
	struct gm_host *host;
	struct gm_proc *proc;
	int kvm_fd;
	struct model_handle *h; /* one per trace object */
	size_t nr;
	enum gm_profile profile;
};

/*
 * hugetlb_pool=SIZE:COUNT[,SIZE:COUNT] and policy=NAME from the header
 * (the parser has checked the pool's syntax).
 */
static int model_huge_config(const struct trace_config *cfg,
			     struct gm_config *mc, char *why, size_t why_len)
{
	const char *s = cfg->hugetlb_pool;

	while (s && *s) {
		unsigned long long count;
		char unit;
		int n = 0;

		if (sscanf(s, "%*u%c:%llu%n", &unit, &count, &n) != 2 || !n)
			break;
		if (!strncmp(s, "2M", 2) || !strncmp(s, "2m", 2))
			mc->hugetlb_pool_2m = count;
		else if (!strncmp(s, "1G", 2) || !strncmp(s, "1g", 2))
			mc->hugetlb_pool_1g = count;
		s += n;
		if (*s == ',')
			s++;
	}
	if (cfg->lazy_ops)
		mc->lazy_ops = cfg->lazy_ops;
	if (cfg->policy[0] &&
	    gm_huge_policy_parse(cfg->policy, &mc->policy)) {
		snprintf(why, why_len,
			 "unknown policy '%s' (eager, hier, lazy, nomerge)",
			 cfg->policy);
		return -EINVAL;
	}
	return 0;
}

static int model_open(const struct trace *t, const struct trace_config *cfg,
		      const struct backend_caps *caps, struct backend **out,
		      char *why, size_t why_len)
{
	struct gm_config mc;
	struct backend *be;
	size_t i;
	int ret;

	be = calloc(1, sizeof(*be));
	if (!be) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	be->nr = t->nr_objs;
	be->h = calloc(be->nr ? be->nr : 1, sizeof(*be->h));
	if (!be->h) {
		snprintf(why, why_len, "out of memory");
		ret = -ENOMEM;
		goto err_free;
	}
	for (i = 0; i < be->nr; i++)
		be->h[i].fd = -1;

	gm_config_init(&mc);
	mc.profile = cfg->profile;
	mc.vm_types = cfg->vm_types;
	ret = model_huge_config(cfg, &mc, why, why_len);
	if (ret)
		goto err_free;
	if (caps) {
		mc.vm_types = caps->vm_types;
		mc.vm_attributes = caps->vm_attributes ? 1 : 0;
	}
	ret = gm_host_create(&mc, &be->host);
	if (ret) {
		snprintf(why, why_len, "gm_host_create: %s", strerror(-ret));
		goto err_free;
	}
	be->profile = mc.profile;
	be->proc = gm_host_init_proc(be->host);
	be->kvm_fd = gm_open_kvm(be->proc);
	if (be->kvm_fd < 0) {
		ret = be->kvm_fd;
		snprintf(why, why_len, "model /dev/kvm: %s", strerror(-ret));
		goto err_destroy;
	}
	*out = be;
	return 0;

err_destroy:
	gm_host_destroy(be->host);
err_free:
	free(be->h);
	free(be);
	return ret;
}

static void model_close(struct backend *be)
{
	if (!be)
		return;
	gm_host_destroy(be->host);
	free(be->h);
	free(be);
}

static void set_errno_result(struct op_result *res, long ret)
{
	if (ret >= 0) {
		res->kind = RES_OK;
	} else {
		res->kind = RES_ERRNO;
		res->err = (int)-ret;
	}
}

static int obj_fd(const struct backend *be, int obj)
{
	if (obj < 0 || (size_t)obj >= be->nr)
		return -1;
	return be->h[obj].fd;
}

static void model_create_fd(struct backend *be, const struct trace_op *op,
			    long ret, struct op_result *res)
{
	set_errno_result(res, ret);
	if (op->obj >= 0 && (size_t)op->obj < be->nr)
		be->h[op->obj].fd = ret >= 0 ? (int)ret : -1;
}

static void model_vm(struct backend *be, const struct trace_op *op,
		     struct op_result *res)
{
	long ret = gm_ioctl(be->proc, be->kvm_fd, KVM_CREATE_VM,
			    (unsigned long)op->u.vm.type);

	model_create_fd(be, op, ret, res);
}

static void model_gmem(struct backend *be, const struct trace_op *op,
		       struct op_result *res)
{
	struct kvm_create_guest_memfd args;
	long ret;

	memset(&args, 0, sizeof(args));
	args.size = op->u.gmem.size;
	args.flags = op->u.gmem.flags;
	/*
	 * huge=2M|1G: the page size, encoded like MFD_HUGE_* (PROPOSED); the
	 * profiles without HugeTLB ignore the key, as the kernel backend does.
	 */
	if (be->profile < GM_PROFILE_HUGETLB)
		;
	else if (op->u.gmem.huge == (2ULL << 20))
		args.flags |= GUEST_MEMFD_HUGETLB_2MB;
	else if (op->u.gmem.huge == (1ULL << 30))
		args.flags |= GUEST_MEMFD_HUGETLB_1GB;
	ret = gm_ioctl(be->proc, obj_fd(be, op->obj2), KVM_CREATE_GUEST_MEMFD,
		       (unsigned long)&args);
	model_create_fd(be, op, ret, res);
}

static void model_close_obj(struct backend *be, const struct trace_op *op,
			    struct op_result *res)
{
	set_errno_result(res, gm_close(be->proc, obj_fd(be, op->obj)));
	if (op->obj >= 0 && (size_t)op->obj < be->nr)
		be->h[op->obj].fd = -1;
}

/*
 * The process an op runs in: proc=P, or the first one.  NULL when P's
 * fork failed (the op then answers ESRCH).
 */
static struct gm_proc *op_proc(const struct backend *be,
			       const struct trace_op *op)
{
	if (op->proc < 0 || (size_t)op->proc >= be->nr)
		return be->proc;
	return be->h[op->proc].proc;
}

static void model_fork(struct backend *be, const struct trace_op *op,
		       struct op_result *res)
{
	struct gm_proc *parent = be->proc, *child = NULL;

	if (op->obj2 >= 0 && (size_t)op->obj2 < be->nr)
		parent = be->h[op->obj2].proc;
	if (!parent) {
		res->kind = RES_ERRNO;
		res->err = ESRCH;
		return;
	}
	set_errno_result(res, gm_proc_fork(parent, &child));
	be->h[op->obj].proc = child;
}

static void model_mmap(struct backend *be, const struct trace_op *op,
		       struct op_result *res)
{
	struct model_handle *m = &be->h[op->obj];
	uint64_t addr = 0;
	int ret;

	if (!op_proc(be, op)) {
		m->map = MAP_NONE;
		res->kind = RES_ERRNO;
		res->err = ESRCH;
		return;
	}
	ret = gm_mmap(op_proc(be, op), op->u.mmap.len, op->u.mmap.prot,
		      op->u.mmap.flags, obj_fd(be, op->obj2), op->u.mmap.offset,
		      &addr);
	set_errno_result(res, ret);
	if (ret) {
		m->map = MAP_NONE;
		return;
	}
	m->map = MAP_MAPPED;
	m->addr = addr;
	m->len = op->u.mmap.len;
}

static void model_munmap(struct backend *be, const struct trace_op *op,
			 struct op_result *res)
{
	struct model_handle *m = &be->h[op->obj];

	/* in another process: its copy of the mapping (fork) goes */
	if (op->proc != TRACE_NO_OBJ) {
		if (!op_proc(be, op)) {
			res->kind = RES_ERRNO;
			res->err = ESRCH;
		} else if (m->map == MAP_NONE) {
			res->kind = RES_ERRNO;
			res->err = EINVAL;
		} else {
			set_errno_result(res, gm_munmap(op_proc(be, op),
							m->addr, m->len));
		}
		return;
	}
	switch (m->map) {
	case MAP_NONE:
		res->kind = RES_ERRNO;
		res->err = EINVAL;
		return;
	case MAP_UNMAPPED:
		res->kind = RES_OK;
		return;
	case MAP_MAPPED:
		break;
	}
	set_errno_result(res, gm_munmap(be->proc, m->addr, m->len));
	if (res->kind == RES_OK)
		m->map = MAP_UNMAPPED;
}

static void model_access(struct backend *be, const struct trace_op *op,
			 struct op_result *res)
{
	const struct model_handle *m = &be->h[op->obj];
	bool write = op->code == TOP_WRITE;
	uint8_t byte = op->u.access.byte;
	int sig = 0, ret;

	if (!op_proc(be, op)) {
		res->kind = RES_ERRNO;
		res->err = ESRCH;
		return;
	}
	/* the mapping's address; in a child it is what fork copied */
	if (m->map == MAP_NONE ||
	    (m->map == MAP_UNMAPPED && op->proc == TRACE_NO_OBJ)) {
		res->kind = RES_SIGSEGV;
		return;
	}
	ret = gm_host_access(op_proc(be, op), m->addr + op->u.access.offset,
			     write ? GM_ACCESS_WRITE : GM_ACCESS_READ, &byte,
			     &sig);
	if (ret) {
		set_errno_result(res, ret);
		return;
	}
	if (sig == SIGBUS) {
		res->kind = RES_SIGBUS;
	} else if (sig == SIGSEGV) {
		res->kind = RES_SIGSEGV;
	} else if (sig) {
		res->kind = RES_ERRNO;
		res->err = EFAULT;
	} else {
		res->kind = RES_OK;
		if (!write) {
			res->keys |= RKEY_BYTE;
			res->byte = byte;
		}
	}
}

static void model_memslot(struct backend *be, const struct trace *t,
			  const struct trace_op *op, struct op_result *res)
{
	const struct trace_obj *slot = &t->objs[op->obj];
	struct kvm_userspace_memory_region2 r;
	bool delete = op->code == TOP_MEMSLOT_DELETE;

	memset(&r, 0, sizeof(r));
	r.slot = slot->slot_id;
	if (!delete) {
		r.flags = op->u.memslot.flags;
		r.guest_phys_addr = op->u.memslot.gpa;
		r.memory_size = op->u.memslot.size;
		r.userspace_addr = 0;
		r.guest_memfd_offset = op->u.memslot.offset;
		r.guest_memfd = (__u32)(op->u.memslot.has_gmem ?
						obj_fd(be, op->obj2) :
						TRACE_MEMSLOT_NO_GMEM_FD);
	}
	set_errno_result(res, gm_ioctl(be->proc, obj_fd(be, slot->vm),
				       KVM_SET_USER_MEMORY_REGION2,
				       (unsigned long)&r));
}

static void model_attributes(struct backend *be, const struct trace_op *op,
			     struct op_result *res)
{
	struct kvm_memory_attributes a;

	memset(&a, 0, sizeof(a));
	a.address = op->u.range.offset;
	a.size = op->u.range.len;
	a.attributes = op->u.range.private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	set_errno_result(res, gm_ioctl(be->proc, obj_fd(be, op->obj),
				       KVM_SET_MEMORY_ATTRIBUTES,
				       (unsigned long)&a));
}

/*
 * The in-place series' KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd fd.
 * In the mainline profile the model answers ENOTTY on a guest_memfd (as
 * 6.18 does) and EBADF on fd -1.
 */
static void model_convert(struct backend *be, const struct trace_op *op,
			  struct op_result *res)
{
	struct kvm_memory_attributes2 a;
	long ret;

	memset(&a, 0, sizeof(a));
	a.offset = op->u.range.offset;
	a.size = op->u.range.len;
	a.attributes = op->u.range.private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	ret = gm_ioctl(be->proc, obj_fd(be, op->obj),
		       KVM_SET_MEMORY_ATTRIBUTES2, (unsigned long)&a);
	set_errno_result(res, ret);
	if (ret == -EAGAIN || ret == -ENOMEM) {
		res->keys |= RKEY_ERROR_OFFSET;
		res->error_offset = a.error_offset;
	}
}

/* A single-threaded replay never races an invalidation; retry a bit. */
void backend_model_guest_init(const struct trace_op *op,
			      struct gm_guest_fault *f)
{
	memset(f, 0, sizeof(*f));
	f->gpa = op->u.guest.gpa;
	f->access = op->u.guest.access;
	f->intent = op->u.guest.intent;
	f->byte = op->u.guest.byte;
	f->accept = op->u.guest.accept;
}

void backend_model_guest_result(const struct trace_op *op, int ret,
				const struct gm_guest_fault *f,
				struct op_result *res)
{
	if (ret) {
		set_errno_result(res, ret);
		return;
	}
	switch (f->outcome) {
	case GM_GUEST_OK:
		res->kind = RES_OK;
		res->keys |= RKEY_ORDER;
		res->order = f->order;
		if (op->u.guest.access == GM_ACCESS_READ) {
			res->keys |= RKEY_BYTE;
			res->byte = f->value;
		}
		break;
	case GM_GUEST_EXIT:
		res->kind = RES_EXIT;
		break;
	case GM_GUEST_MMIO:
		res->kind = RES_MMIO;
		break;
	case GM_GUEST_ERROR:
		res->kind = RES_ERRNO;
		res->err = f->err ? f->err : EFAULT;
		break;
	case GM_GUEST_RETRY:
	default:
		res->kind = RES_ERRNO;
		res->err = EAGAIN;
		break;
	}
}

static void model_guest(struct backend *be, const struct trace_op *op,
			struct op_result *res)
{
	struct gm_guest_fault f;
	int ret, tries = 0;

	do {
		backend_model_guest_init(op, &f);
		ret = gm_guest_access(be->proc, obj_fd(be, op->obj), &f);
	} while (!ret && f.outcome == GM_GUEST_RETRY &&
		 ++tries < BACKEND_GUEST_MAX_RETRIES);
	backend_model_guest_result(op, ret, &f, res);
}

static void model_state(struct backend *be, const struct trace_op *op,
			struct op_result *res)
{
	int ret = gm_gmem_state(be->proc, obj_fd(be, op->obj),
				op->u.range.offset, op->u.range.len);

	switch (ret) {
	case GM_STATE_SHARED:
		res->kind = RES_SHARED;
		break;
	case GM_STATE_PRIVATE:
		res->kind = RES_PRIVATE;
		break;
	case GM_STATE_MIXED:
		res->kind = RES_MIXED;
		break;
	default:
		set_errno_result(res, ret < 0 ? ret : -EINVAL);
		break;
	}
}

static void model_exec(struct backend *be, const struct trace *t,
		       const struct trace_op *op, struct op_result *res)
{
	int fd;

	memset(res, 0, sizeof(*res));
	if (op->code != TOP_ERROR && op->code != TOP_CHECK &&
	    op->code != TOP_BARRIER &&
	    (op->obj < 0 || (size_t)op->obj >= be->nr)) {
		res->kind = RES_SKIPPED;
		res->skip_reason = "op without an object";
		return;
	}
	switch (op->code) {
	case TOP_VM:
		model_vm(be, op, res);
		break;
	case TOP_GMEM:
		model_gmem(be, op, res);
		break;
	case TOP_CLOSE:
		model_close_obj(be, op, res);
		break;
	case TOP_FALLOCATE:
		set_errno_result(res,
				 gm_fallocate(be->proc, obj_fd(be, op->obj),
					      (int)op->u.fallocate.mode,
					      (int64_t)op->u.fallocate.offset,
					      (int64_t)op->u.fallocate.len));
		break;
	case TOP_MMAP:
		model_mmap(be, op, res);
		break;
	case TOP_MUNMAP:
		model_munmap(be, op, res);
		break;
	case TOP_READ:
	case TOP_WRITE:
		model_access(be, op, res);
		break;
	case TOP_MEMSLOT:
	case TOP_MEMSLOT_DELETE:
		model_memslot(be, t, op, res);
		break;
	case TOP_ATTRIBUTES:
		model_attributes(be, op, res);
		break;
	case TOP_CONVERT:
		model_convert(be, op, res);
		break;
	case TOP_GUEST:
		model_guest(be, op, res);
		break;
	case TOP_PIN:
	case TOP_UNPIN:
	case TOP_POISON:
		fd = obj_fd(be, op->obj);
		set_errno_result(
			res,
			op->code == TOP_PIN ?
				gm_gmem_pin(be->proc, fd, op->u.page.offset) :
			op->code == TOP_UNPIN ?
				gm_gmem_unpin(be->proc, fd, op->u.page.offset) :
				gm_gmem_poison(be->proc, fd,
					       op->u.page.offset));
		break;
	case TOP_STATE:
		model_state(be, op, res);
		break;
	case TOP_CHECK:
		set_errno_result(res, gm_host_check(be->host, stderr));
		break;
	case TOP_BARRIER:
		/* single-threaded: every op before it has completed */
		res->kind = RES_OK;
		break;
	case TOP_FORK:
		model_fork(be, op, res);
		break;
	case TOP_EXIT:
		if (be->h[op->obj].proc)
			gm_proc_exit(be->h[op->obj].proc);
		res->kind = RES_OK;
		break;
	case TOP_ERROR:
	default:
		res->kind = RES_SKIPPED;
		res->skip_reason = "parse error";
		break;
	}
}

int backend_model_map(struct backend *be, int obj, struct gm_proc **p,
		      uint64_t *addr)
{
	if (!be || obj < 0 || (size_t)obj >= be->nr ||
	    be->h[obj].map != MAP_MAPPED)
		return -ENOENT;
	*p = be->proc;
	*addr = be->h[obj].addr;
	return 0;
}

int backend_model_vm(struct backend *be, int obj, struct gm_proc **p,
		     int *fd)
{
	if (!be || obj < 0 || (size_t)obj >= be->nr)
		return -ENOENT;
	*p = be->proc;
	*fd = be->h[obj].fd;
	return 0;
}

const struct backend_ops backend_model_ops = {
	.name = "model",
	.open = model_open,
	.exec = model_exec,
	.close = model_close,
};

void backend_model_huge_stats(struct backend *be, struct gm_huge_stats *st)
{
	gm_host_huge_stats(be->host, st);
}
