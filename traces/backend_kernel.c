// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel backend: runs trace ops on the real /dev/kvm and guest_memfd.
 *
 * Every trace object (struct trace_obj) gets one handle here:
 *
 *   TOBJ_VM, TOBJ_GMEM  an fd, -1 when the creating op failed or the object
 *                       was closed, so later ops on it fail as the kernel
 *                       fails them for fd -1 (EBADF).
 *   TOBJ_MAP            an address and length plus a state:
 *
 *                 mmap ok            munmap
 *       NONE ----------------> MAPPED --------> UNMAPPED
 *         |
 *         | mmap failed
 *         +-----------------> FAILED
 *
 *                       munmap of UNMAPPED is ok, of FAILED EINVAL (without
 *                       calling munmap); read/write of either is SIGSEGV
 *                       without touching memory.
 *   TOBJ_SLOT           nothing: the slot id and its VM are in the trace_obj.
 *
 * Host accesses run under SIGBUS/SIGSEGV handlers that siglongjmp back to
 * the access through a thread-local jump buffer.  The handlers are installed
 * when the first backend opens and the previous ones restored when the last
 * one closes; a fault while no access is armed goes to the previous handler.
 *
 * Ops that a 6.18 kernel cannot run from userspace (conversion, guest
 * accesses, pins, poison, state queries, model checks) are RES_SKIPPED.
 *
 * Not thread-safe: one thread opens, runs and closes backends.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gmem/uapi.h"
#include "backend.h"
#include "trace.h"

#define KBE_KVM_PATH "/dev/kvm"

enum kbe_map_state {
	KBE_MAP_NONE = 0,	/* no mmap op ran for this object */
	KBE_MAP_MAPPED = 1,
	KBE_MAP_UNMAPPED = 2,
	KBE_MAP_FAILED = 3,
	KBE_MAP_STATE_MAX
};

struct kbe_obj {
	int fd;			/* TOBJ_VM, TOBJ_GMEM; -1 when invalid */
	enum kbe_map_state map_state;	/* TOBJ_MAP */
	uint8_t *addr;
	size_t len;
};

struct backend {
	int kvm_fd;
	size_t page_size;
	size_t nr_objs;
	struct kbe_obj *objs;
};

/* ---- fault catching ---- */

static __thread sigjmp_buf *volatile kbe_jmp;
static unsigned int kbe_sig_users;
static struct sigaction kbe_old_sigbus;
static struct sigaction kbe_old_sigsegv;

static struct sigaction *kbe_old_action(int sig)
{
	return sig == SIGBUS ? &kbe_old_sigbus : &kbe_old_sigsegv;
}

static void kbe_sig_handler(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *env = kbe_jmp;
	struct sigaction *old;

	if (env) {
		kbe_jmp = NULL;
		siglongjmp(*env, sig);
	}

	/*
	 * A fault outside an armed access is a real bug: hand it to whoever
	 * handled the signal before us.  A hardware fault re-raises itself
	 * when we return; a sent signal has to be raised again.
	 */
	old = kbe_old_action(sig);
	if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
		old->sa_sigaction(sig, si, uc);
		return;
	}
	if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN &&
	    old->sa_handler) {
		old->sa_handler(sig);
		return;
	}
	signal(sig, SIG_DFL);
	if (si->si_code <= 0)
		raise(sig);
}

static int kbe_sig_get(void)
{
	struct sigaction sa;
	int ret;

	if (kbe_sig_users)
		goto out;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = kbe_sig_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &kbe_old_sigbus)) {
		ret = -errno;
		goto err_bus;
	}
	if (sigaction(SIGSEGV, &sa, &kbe_old_sigsegv)) {
		ret = -errno;
		goto err_segv;
	}
out:
	kbe_sig_users++;
	return 0;

err_segv:
	sigaction(SIGBUS, &kbe_old_sigbus, NULL);
err_bus:
	return ret;
}

static void kbe_sig_put(void)
{
	if (!kbe_sig_users || --kbe_sig_users)
		return;
	sigaction(SIGSEGV, &kbe_old_sigsegv, NULL);
	sigaction(SIGBUS, &kbe_old_sigbus, NULL);
}

/*
 * One byte load or store at @p.  Returns 0, or the signal (SIGBUS, SIGSEGV)
 * the access raised; the mask is restored by siglongjmp.
 */
static int kbe_access(volatile uint8_t *p, bool write, uint8_t *byte)
{
	sigjmp_buf env;
	int sig;

	sig = sigsetjmp(env, 1);
	if (sig) {
		kbe_jmp = NULL;
		return sig;
	}
	kbe_jmp = &env;
	if (write)
		*p = *byte;
	else
		*byte = *p;
	kbe_jmp = NULL;
	return 0;
}

/* ---- capabilities ---- */

static int kbe_check_extension(int fd, long cap)
{
	int ret = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return ret < 0 ? 0 : ret;
}

/* x86 KVM_CAP_VM_TYPES bit -> enum gm_vm_type. */
static unsigned int kbe_vm_types_from_kvm(int kvm_mask)
{
	static const struct {
		unsigned int kvm_type;
		enum gm_vm_type type;
	} map[] = {
		{ KVM_X86_DEFAULT_VM, GM_VM_DEFAULT },
		{ KVM_X86_SW_PROTECTED_VM, GM_VM_SW_PROTECTED },
		{ KVM_X86_SNP_VM, GM_VM_SNP },
		{ KVM_X86_TDX_VM, GM_VM_TDX },
	};
	unsigned int types = 0;
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if ((unsigned int)kvm_mask & (1U << map[i].kvm_type))
			types |= 1U << map[i].type;
	return types ? types : 1U << GM_VM_DEFAULT;
}

/*
 * Fill @caps from an open /dev/kvm.  Returns 0, or a negative errno with a
 * reason when guest_memfd is missing or cannot be mapped (the traces need
 * GUEST_MEMFD_FLAG_MMAP); @caps is filled either way.
 */
static int kbe_caps_query(int kvm_fd, struct backend_caps *caps, char *why,
			  size_t len)
{
	int ver;

	caps->vm_types = kbe_vm_types_from_kvm(
		kbe_check_extension(kvm_fd, KVM_CAP_VM_TYPES));
	caps->vm_attributes =
		kbe_check_extension(kvm_fd, KVM_CAP_MEMORY_ATTRIBUTES) != 0;
	caps->gmem_flags = (unsigned int)kbe_check_extension(
		kvm_fd, KVM_CAP_GUEST_MEMFD_FLAGS);

	ver = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		snprintf(why, len, "KVM_GET_API_VERSION is %d, expected %d",
			 ver, KVM_API_VERSION);
		return -EPROTO;
	}
	if (kbe_check_extension(kvm_fd, KVM_CAP_GUEST_MEMFD) <= 0) {
		snprintf(why, len, "KVM_CAP_GUEST_MEMFD not supported");
		return -EOPNOTSUPP;
	}
	if (!kbe_check_extension(kvm_fd, KVM_CAP_USER_MEMORY2)) {
		snprintf(why, len, "KVM_CAP_USER_MEMORY2 not supported");
		return -EOPNOTSUPP;
	}
	if (!(caps->gmem_flags & GUEST_MEMFD_FLAG_MMAP)) {
		snprintf(why, len, "KVM_CAP_GUEST_MEMFD_FLAGS lacks MMAP");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int kbe_kvm_open(char *why, size_t len)
{
	int fd = open(KBE_KVM_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		int err = errno;

		snprintf(why, len, "%s: %s", KBE_KVM_PATH, strerror(err));
		return -err;
	}
	return fd;
}

int backend_kernel_probe(struct backend_caps *caps, char *why, size_t len)
{
	int kvm_fd, ret;

	memset(caps, 0, sizeof(*caps));
	caps->vm_types = 1U << GM_VM_DEFAULT;

	kvm_fd = kbe_kvm_open(why, len);
	if (kvm_fd < 0)
		return kvm_fd;
	ret = kbe_caps_query(kvm_fd, caps, why, len);
	close(kvm_fd);
	return ret;
}

/* ---- open / close ---- */

static void kbe_release(struct backend *be)
{
	size_t i;

	/* Mappings first: they hold gmem files, which hold VMs. */
	for (i = 0; i < be->nr_objs; i++) {
		struct kbe_obj *o = &be->objs[i];

		if (o->map_state == KBE_MAP_MAPPED) {
			munmap(o->addr, o->len);
			o->map_state = KBE_MAP_UNMAPPED;
		}
	}
	for (i = 0; i < be->nr_objs; i++) {
		struct kbe_obj *o = &be->objs[i];

		if (o->fd >= 0) {
			close(o->fd);
			o->fd = -1;
		}
	}
}

static int kbe_open(const struct trace *t, const struct trace_config *cfg,
		    const struct backend_caps *caps, struct backend **out,
		    char *why, size_t why_len)
{
	struct backend_caps kcaps;
	struct backend *be;
	long page_size;
	size_t i;
	int ret;

	(void)caps;	/* the kernel offers what it offers */
	*out = NULL;

	page_size = sysconf(_SC_PAGESIZE);
	if (page_size <= 0)
		page_size = 4096;
	if (cfg && cfg->page_size && cfg->page_size != (uint64_t)page_size) {
		snprintf(why, why_len,
			 "trace wants page_size=%llu, host pages are %ld",
			 (unsigned long long)cfg->page_size, page_size);
		return -EINVAL;
	}

	be = calloc(1, sizeof(*be));
	if (!be) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	be->page_size = (size_t)page_size;
	be->nr_objs = t ? t->nr_objs : 0;
	be->objs = calloc(be->nr_objs ? be->nr_objs : 1, sizeof(*be->objs));
	if (!be->objs) {
		snprintf(why, why_len, "out of memory");
		ret = -ENOMEM;
		goto err_objs;
	}
	for (i = 0; i < be->nr_objs; i++)
		be->objs[i].fd = -1;

	be->kvm_fd = kbe_kvm_open(why, why_len);
	if (be->kvm_fd < 0) {
		ret = be->kvm_fd;
		goto err_kvm;
	}
	ret = kbe_caps_query(be->kvm_fd, &kcaps, why, why_len);
	if (ret)
		goto err_caps;

	ret = kbe_sig_get();
	if (ret) {
		snprintf(why, why_len, "sigaction: %s", strerror(-ret));
		goto err_caps;
	}

	*out = be;
	return 0;

err_caps:
	close(be->kvm_fd);
err_kvm:
	free(be->objs);
err_objs:
	free(be);
	return ret;
}

static void kbe_close(struct backend *be)
{
	if (!be)
		return;
	kbe_release(be);
	close(be->kvm_fd);
	kbe_sig_put();
	free(be->objs);
	free(be);
}

/* ---- ops ---- */

static struct kbe_obj *kbe_obj(struct backend *be, int idx)
{
	if (idx < 0 || (size_t)idx >= be->nr_objs)
		return NULL;
	return &be->objs[idx];
}

/* The fd an object stands for: -1 when failed, closed or not an fd. */
static int kbe_fd(struct backend *be, int idx)
{
	struct kbe_obj *o = kbe_obj(be, idx);

	return o ? o->fd : -1;
}

static void res_ok(struct op_result *res)
{
	res->kind = RES_OK;
}

static void res_errno(struct op_result *res, int err)
{
	res->kind = RES_ERRNO;
	res->err = err;
}

/* Result of a system call returning -1/errno on failure. */
static void res_sys(struct op_result *res, long ret)
{
	if (ret < 0)
		res_errno(res, errno);
	else
		res_ok(res);
}

static void res_skip(struct op_result *res, const char *why)
{
	res->kind = RES_SKIPPED;
	res->skip_reason = why;
}

static void kbe_op_vm(struct backend *be, const struct trace_op *op,
		      struct op_result *res)
{
	struct kbe_obj *o = kbe_obj(be, op->obj);
	int fd;

	fd = ioctl(be->kvm_fd, KVM_CREATE_VM, (unsigned long)op->u.vm.type);
	if (fd < 0) {
		res_errno(res, errno);
		return;
	}
	if (!o) {
		close(fd);
		res_skip(res, "vm op without an object");
		return;
	}
	o->fd = fd;
	res_ok(res);
}

static void kbe_op_gmem(struct backend *be, const struct trace_op *op,
			struct op_result *res)
{
	struct kbe_obj *o = kbe_obj(be, op->obj);
	struct kvm_create_guest_memfd args;
	int fd;

	/*
	 * Raw flags, also for huge= and flag bits of later profiles: 6.18
	 * rejects what it does not know with EINVAL.
	 */
	memset(&args, 0, sizeof(args));
	args.size = op->u.gmem.size;
	args.flags = op->u.gmem.flags;
	fd = ioctl(kbe_fd(be, op->obj2), KVM_CREATE_GUEST_MEMFD, &args);
	if (fd < 0) {
		res_errno(res, errno);
		return;
	}
	if (!o) {
		close(fd);
		res_skip(res, "gmem op without an object");
		return;
	}
	/* The gmem fd is not CLOEXEC (A2); keep it out of any child. */
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	o->fd = fd;
	res_ok(res);
}

static void kbe_op_close(struct backend *be, const struct trace_op *op,
			 struct op_result *res)
{
	struct kbe_obj *o = kbe_obj(be, op->obj);
	int fd = o ? o->fd : -1;

	if (o)
		o->fd = -1;
	/* close(-1) is EBADF, as for any name that stands for fd -1. */
	res_sys(res, close(fd));
}

static void kbe_op_fallocate(struct backend *be, const struct trace_op *op,
			     struct op_result *res)
{
	res_sys(res, fallocate(kbe_fd(be, op->obj), (int)op->u.fallocate.mode,
			       (off_t)op->u.fallocate.offset,
			       (off_t)op->u.fallocate.len));
}

static void kbe_op_mmap(struct backend *be, const struct trace_op *op,
			struct op_result *res)
{
	struct kbe_obj *o = kbe_obj(be, op->obj);
	void *addr;

	if (!o) {
		res_skip(res, "mmap op without an object");
		return;
	}
	/* With a NULL hint these would map over the replayer itself. */
	if (op->u.mmap.flags & GMEM_MAP_FIXED) {
		res_skip(res, "MAP_FIXED is not replayed on the real kernel");
		return;
	}
	addr = mmap(NULL, (size_t)op->u.mmap.len, op->u.mmap.prot,
		    op->u.mmap.flags, kbe_fd(be, op->obj2),
		    (off_t)op->u.mmap.offset);
	if (addr == MAP_FAILED) {
		o->map_state = KBE_MAP_FAILED;
		res_errno(res, errno);
		return;
	}
	o->addr = addr;
	o->len = (size_t)op->u.mmap.len;
	o->map_state = KBE_MAP_MAPPED;
	res_ok(res);
}

static void kbe_op_munmap(struct backend *be, const struct trace_op *op,
			  struct op_result *res)
{
	struct kbe_obj *o = kbe_obj(be, op->obj);

	if (!o || o->map_state == KBE_MAP_FAILED ||
	    o->map_state == KBE_MAP_NONE) {
		res_errno(res, EINVAL);
		return;
	}
	if (o->map_state == KBE_MAP_UNMAPPED) {
		res_ok(res);
		return;
	}
	if (munmap(o->addr, o->len)) {
		res_errno(res, errno);
		return;
	}
	o->map_state = KBE_MAP_UNMAPPED;
	res_ok(res);
}

static void kbe_op_access(struct backend *be, const struct trace_op *op,
			  bool write, struct op_result *res)
{
	struct kbe_obj *o = kbe_obj(be, op->obj);
	uint64_t span;
	uint8_t byte;
	int sig;

	if (!o || o->map_state != KBE_MAP_MAPPED) {
		res->kind = RES_SIGSEGV;
		return;
	}
	/* The parser checks this; never touch memory the trace did not map. */
	span = ((uint64_t)o->len + be->page_size - 1) &
	       ~(uint64_t)(be->page_size - 1);
	if (op->u.access.offset >= span) {
		res_skip(res, "access outside the mapping");
		return;
	}

	byte = op->u.access.byte;
	sig = kbe_access(o->addr + op->u.access.offset, write, &byte);
	if (sig == SIGBUS) {
		res->kind = RES_SIGBUS;
		return;
	}
	if (sig) {
		res->kind = RES_SIGSEGV;
		return;
	}
	res_ok(res);
	if (!write) {
		res->keys |= RKEY_BYTE;
		res->byte = byte;
	}
}

static void kbe_op_memslot(struct backend *be, const struct trace *t,
			   const struct trace_op *op, bool delete,
			   struct op_result *res)
{
	const struct trace_obj *slot;
	struct kvm_userspace_memory_region2 r;
	int vm_fd;

	if (op->obj < 0 || (size_t)op->obj >= be->nr_objs ||
	    (size_t)op->obj >= t->nr_objs) {
		res_skip(res, "memslot op without an object");
		return;
	}
	slot = &t->objs[op->obj];
	vm_fd = kbe_fd(be, slot->vm);

	memset(&r, 0, sizeof(r));
	r.slot = slot->slot_id;
	if (!delete) {
		int gmem_fd = op->u.memslot.has_gmem ?
				      kbe_fd(be, op->obj2) : -1;

		r.flags = op->u.memslot.flags;
		r.guest_phys_addr = op->u.memslot.gpa;
		r.memory_size = op->u.memslot.size;
		r.guest_memfd_offset = op->u.memslot.offset;
		/* fd -1 is 0xffffffff: EBADF when GUEST_MEMFD is set. */
		r.guest_memfd = (uint32_t)gmem_fd;
	}
	res_sys(res, ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION2, &r));
}

static void kbe_op_attributes(struct backend *be, const struct trace_op *op,
			      struct op_result *res)
{
	struct kvm_memory_attributes attrs;

	memset(&attrs, 0, sizeof(attrs));
	attrs.address = op->u.range.offset;
	attrs.size = op->u.range.len;
	attrs.attributes = op->u.range.private ?
				   KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	res_sys(res, ioctl(kbe_fd(be, op->obj), KVM_SET_MEMORY_ATTRIBUTES,
			   &attrs));
}

static void kbe_exec(struct backend *be, const struct trace *t,
		     const struct trace_op *op, struct op_result *res)
{
	memset(res, 0, sizeof(*res));

	/* processes are model-only: the backend runs in one process */
	if (op->code == TOP_FORK || op->code == TOP_EXIT ||
	    op->proc != TRACE_NO_OBJ) {
		res->kind = RES_SKIPPED;
		res->skip_reason = "processes (fork, proc=) are model-only";
		return;
	}
	switch (op->code) {
	case TOP_VM:
		kbe_op_vm(be, op, res);
		break;
	case TOP_GMEM:
		kbe_op_gmem(be, op, res);
		break;
	case TOP_CLOSE:
		kbe_op_close(be, op, res);
		break;
	case TOP_FALLOCATE:
		kbe_op_fallocate(be, op, res);
		break;
	case TOP_MMAP:
		kbe_op_mmap(be, op, res);
		break;
	case TOP_MUNMAP:
		kbe_op_munmap(be, op, res);
		break;
	case TOP_READ:
		kbe_op_access(be, op, false, res);
		break;
	case TOP_WRITE:
		kbe_op_access(be, op, true, res);
		break;
	case TOP_MEMSLOT:
		kbe_op_memslot(be, t, op, false, res);
		break;
	case TOP_MEMSLOT_DELETE:
		kbe_op_memslot(be, t, op, true, res);
		break;
	case TOP_ATTRIBUTES:
		kbe_op_attributes(be, op, res);
		break;
	case TOP_CONVERT:
		res_skip(res, "6.18 has no in-place conversion");
		break;
	case TOP_GUEST:
		res_skip(res, "cannot run a guest on this host");
		break;
	case TOP_PIN:
	case TOP_UNPIN:
		res_skip(res, "no userspace pin of a gmem folio by offset");
		break;
	case TOP_POISON:
		res_skip(res, "no memory failure injection on this kernel");
		break;
	case TOP_STATE:
		res_skip(res, "6.18 has no per-file shared/private state");
		break;
	case TOP_CHECK:
		res_skip(res, "model invariants do not apply to the kernel");
		break;
	case TOP_BARRIER:
		/* one thread: every op before it has completed */
		res->kind = RES_OK;
		break;
	case TOP_ERROR:
	default:
		res_skip(res, "not an op the kernel backend runs");
		break;
	}
}

const struct backend_ops backend_kernel_ops = {
	.name = "kernel",
	.open = kbe_open,
	.exec = kbe_exec,
	.close = kbe_close,
};
