// SPDX-License-Identifier: GPL-2.0
/*
 * sim/ real memory: memfd backings, userfaultfd-registered views, and
 * single-byte accesses whose faults are resolved (or refused) in the
 * faulting thread's SIGBUS handler (docs/sim.md, "Fault mechanism").
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sim.h"

#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << 26)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

/* ---------------------------------------------------------- userfaultfd */

static int sim_uffd_new(char *why, size_t len)
{
	int fd, dev, err;

#ifdef SYS_userfaultfd
	fd = (int)syscall(SYS_userfaultfd,
			  UFFD_USER_MODE_ONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		return fd;
	err = errno;
#else
	err = ENOSYS;
#endif
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		snprintf(why, len, "userfaultfd: %s; /dev/userfaultfd: %s",
			 strerror(err), strerror(errno));
		return -err;
	}
	fd = ioctl(dev, USERFAULTFD_IOC_NEW,
		   UFFD_USER_MODE_ONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int ioc_err = errno;

		snprintf(why, len, "userfaultfd: %s; USERFAULTFD_IOC_NEW: %s",
			 strerror(err), strerror(ioc_err));
		fd = -ioc_err;
	}
	close(dev);
	return fd;
}

int sim_uffd_open(struct sim_uffd *u, bool hugetlb, char *why, size_t len)
{
	struct uffdio_api api;
	uint64_t want;
	int ret;

	u->fd = -1;
	u->features = 0;
	ret = sim_uffd_new(why, len);
	if (ret < 0)
		return ret;
	u->fd = ret;
	want = UFFD_FEATURE_SIGBUS | UFFD_FEATURE_MISSING_SHMEM |
	       UFFD_FEATURE_MINOR_SHMEM;
	if (hugetlb)
		want |= UFFD_FEATURE_MISSING_HUGETLBFS |
			UFFD_FEATURE_MINOR_HUGETLBFS;
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = want;
	if (ioctl(u->fd, UFFDIO_API, &api)) {
		ret = -errno;
		snprintf(why, len, "UFFDIO_API features %#llx: %s",
			 (unsigned long long)want, strerror(errno));
		sim_uffd_close(u);
		return ret;
	}
	if ((api.features & want) != want) {
		snprintf(why, len, "UFFDIO_API lacks features %#llx",
			 (unsigned long long)(want & ~api.features));
		sim_uffd_close(u);
		return -EOPNOTSUPP;
	}
	u->features = api.features;
	return 0;
}

void sim_uffd_close(struct sim_uffd *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

/* -------------------------------------------------------------- backing */

int sim_backing_create(struct sim_backing *b, uint64_t size, bool hugetlb,
		       char *why, size_t len)
{
	unsigned int flags = MFD_CLOEXEC;
	int ret;

	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->page_size = hugetlb ? SIM_HUGE_SIZE : 4096;
	b->hugetlb = hugetlb;
	if (!size || size > SIM_MAX_BACKING) {
		snprintf(why, len, "size %#llx outside (0, %#llx]",
			 (unsigned long long)size,
			 (unsigned long long)SIM_MAX_BACKING);
		return -EFBIG;
	}
	b->size = (size + b->page_size - 1) & ~(b->page_size - 1);
	if (hugetlb)
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	b->fd = memfd_create("gmemsim-sim", flags);
	if (b->fd < 0) {
		ret = -errno;
		snprintf(why, len, "memfd_create%s: %s",
			 hugetlb ? "(MFD_HUGETLB)" : "", strerror(errno));
		return ret;
	}
	/* house-style rule 19: size it, then punch it so it starts empty */
	if (ftruncate(b->fd, (off_t)b->size) ||
	    fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      (off_t)b->size)) {
		ret = -errno;
		snprintf(why, len, "memfd ftruncate/punch %#llx: %s",
			 (unsigned long long)b->size, strerror(errno));
		goto err;
	}
	b->alias = mmap(NULL, b->size, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_NORESERVE, b->fd, 0);
	if (b->alias == MAP_FAILED) {
		b->alias = NULL;
		ret = -errno;
		snprintf(why, len, "memfd alias mmap: %s", strerror(errno));
		goto err;
	}
	if (hugetlb) {
		b->zero = mmap(NULL, SIM_HUGE_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b->zero == MAP_FAILED) {
			b->zero = NULL;
			ret = -errno;
			snprintf(why, len, "zero page: %s", strerror(errno));
			goto err;
		}
	}
	return 0;
err:
	sim_backing_destroy(b);
	return ret;
}

void sim_backing_destroy(struct sim_backing *b)
{
	if (b->alias)
		munmap(b->alias, b->size);
	if (b->zero)
		munmap(b->zero, SIM_HUGE_SIZE);
	if (b->fd >= 0)
		close(b->fd);
	b->alias = NULL;
	b->zero = NULL;
	b->fd = -1;
}

int sim_backing_punch(struct sim_backing *b, uint64_t off, uint64_t len)
{
	if (b->fd < 0 || off >= b->size || !len)
		return 0;
	if (len > b->size - off)
		len = b->size - off;
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len))
		return -errno;
	return 0;
}

int sim_backing_store(struct sim_backing *b, uint64_t off, uint8_t byte)
{
	if (!b->alias || off >= b->size)
		return -EINVAL;
	((volatile uint8_t *)b->alias)[off] = byte;
	return 0;
}

int sim_backing_load(const struct sim_backing *b, uint64_t off, uint8_t *byte)
{
	if (!b->alias || off >= b->size)
		return -EINVAL;
	/* pread does not allocate a hole; hugetlbfs has no read_iter */
	if (!b->hugetlb) {
		if (pread(b->fd, byte, 1, (off_t)off) != 1)
			return -EIO;
		return 0;
	}
	*byte = ((volatile uint8_t *)b->alias)[off];
	return 0;
}

/* ----------------------------------------------------------------- views */

int sim_view_map(struct sim_view *v, const struct sim_backing *b,
		 const struct sim_uffd *u, uint64_t offset, uint64_t len,
		 int prot, char *why, size_t why_len)
{
	struct uffdio_register reg;
	uint64_t maplen;
	void *addr;
	int ret;

	memset(v, 0, sizeof(*v));
	v->uffd = u->fd;
	if (b->fd < 0 || !len || len > SIM_MAX_BACKING ||
	    offset > SIM_MAX_BACKING || (offset & (b->page_size - 1))) {
		snprintf(why, why_len, "mapping %#llx+%#llx not simulated",
			 (unsigned long long)offset, (unsigned long long)len);
		return -EINVAL;
	}
	maplen = (len + b->page_size - 1) & ~(b->page_size - 1);
	addr = mmap(NULL, maplen, prot & (PROT_READ | PROT_WRITE),
		    MAP_SHARED | MAP_NORESERVE, b->fd, (off_t)offset);
	if (addr == MAP_FAILED) {
		ret = -errno;
		snprintf(why, why_len, "mmap: %s", strerror(errno));
		return ret;
	}
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)addr;
	reg.range.len = maplen;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR;
	if (ioctl(u->fd, UFFDIO_REGISTER, &reg)) {
		ret = -errno;
		snprintf(why, why_len, "UFFDIO_REGISTER: %s", strerror(errno));
		munmap(addr, maplen);
		return ret;
	}
	v->addr = addr;
	v->len = maplen;
	v->offset = offset;
	v->prot = prot;
	v->b = b;
	return 0;
}

void sim_view_unmap(struct sim_view *v)
{
	/* munmap drops the userfaultfd registration with the VMA */
	if (v->addr)
		munmap(v->addr, v->len);
	v->addr = NULL;
}

int sim_view_zap(struct sim_view *v, uint64_t off, uint64_t len)
{
	uint64_t ps, start, end;

	if (!v->addr || !len)
		return 0;
	ps = v->b->page_size;
	start = off > v->offset ? off : v->offset;
	end = off + len < off ? UINT64_MAX : off + len;
	if (end > v->offset + v->len)
		end = v->offset + v->len;
	if (start >= end)
		return 0;
	start &= ~(ps - 1);
	end = (end + ps - 1) & ~(ps - 1);
	if (madvise(v->addr + (start - v->offset), end - start, MADV_DONTNEED))
		return -errno;
	return 0;
}

/* --------------------------------------------------------------- signals */

struct sim_jump {
	sigjmp_buf jb;
	const struct sim_view *view;
	bool allow;
	bool write;
	uint8_t byte; /* the byte a store writes */
	sim_fault_fn fn; /* decides each fault (sim_view_access_fn) */
	void *ctx;
	uint64_t fault_off; /* view offset of the fault to decide */
	unsigned int nr_resolved;
	int resolve_err;
};

/* The access this thread is performing, or NULL (house-style rule 20). */
static __thread struct sim_jump *sim_jump_cur;

static pthread_mutex_t sim_sig_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int sim_sig_users;
static struct sigaction sim_old_bus, sim_old_segv;

/* sigsetjmp value: a fault for the sim_fault_fn (not a signal number). */
#define SIM_JUMP_DECIDE 0x100

/*
 * Faults resolved per access before giving up (a fault that comes back).
 * A decided access (sim_view_access_fn) may lose its page to zaps made
 * under the caller's lock between each resolution and the retry -- a
 * livelock under load, not an error -- so it gets more tries.
 */
#define SIM_MAX_DECIDE 1024
#define SIM_MAX_RESOLVE 16

static int sim_ioctl_ok(int ret)
{
	/* EEXIST: already mapped; EAGAIN: the mm changed, fault again */
	return !ret || errno == EEXIST || errno == EAGAIN;
}

/* Resolve the fault at @addr of @v in place; 0 or a positive errno. */
static int sim_resolve_addr(const struct sim_view *v, uintptr_t addr)
{
	uint64_t ps = v->b->page_size;
	uintptr_t page = addr & ~(uintptr_t)(ps - 1);
	struct uffdio_continue c;
	struct uffdio_zeropage z;
	struct uffdio_copy cp;

	if (v->offset + (page - (uintptr_t)v->addr) >= v->b->size)
		return EFAULT; /* beyond EOF: nothing to map */
	memset(&c, 0, sizeof(c));
	c.range.start = page;
	c.range.len = ps;
	if (sim_ioctl_ok(ioctl(v->uffd, UFFDIO_CONTINUE, &c)))
		return 0;
	if (errno != EFAULT && errno != ENOENT)
		return errno;
	/* a hole: not in the page cache */
	if (!v->b->hugetlb) {
		memset(&z, 0, sizeof(z));
		z.range.start = page;
		z.range.len = ps;
		if (sim_ioctl_ok(ioctl(v->uffd, UFFDIO_ZEROPAGE, &z)))
			return 0;
		return errno;
	}
	memset(&cp, 0, sizeof(cp));
	cp.dst = page;
	cp.src = (uintptr_t)v->b->zero;
	cp.len = ps;
	if (sim_ioctl_ok(ioctl(v->uffd, UFFDIO_COPY, &cp)))
		return 0;
	return errno;
}

static void sim_chain(int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *old = sig == SIGBUS ? &sim_old_bus :
						      &sim_old_segv;

	if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
		old->sa_sigaction(sig, si, uc);
		return;
	}
	if (old->sa_handler == SIG_DFL || old->sa_handler == SIG_IGN) {
		/* the faulting access runs again and takes the default */
		signal(sig, SIG_DFL);
		return;
	}
	old->sa_handler(sig);
}

static void sim_handler(int sig, siginfo_t *si, void *uc)
{
	struct sim_jump *j = sim_jump_cur;
	const struct sim_view *v;
	uintptr_t addr = (uintptr_t)si->si_addr;
	int saved = errno, err;

	if (!j) {
		sim_chain(sig, si, uc);
		errno = saved;
		return;
	}
	v = j->view;
	if (sig == SIGBUS && j->fn && addr >= (uintptr_t)v->addr &&
	    addr < (uintptr_t)v->addr + v->len) {
		if (j->nr_resolved >= SIM_MAX_DECIDE) {
			j->resolve_err = ELOOP;
		} else {
			/*
			 * Only async-signal-safe work here: jump back to
			 * sim_access(), which asks the callback (it may
			 * lock and allocate) and retries the access.
			 */
			j->fault_off = addr - (uintptr_t)v->addr;
			sig = SIM_JUMP_DECIDE;
		}
	} else if (sig == SIGBUS && j->allow && addr >= (uintptr_t)v->addr &&
		   addr < (uintptr_t)v->addr + v->len) {
		if (j->nr_resolved >= SIM_MAX_RESOLVE) {
			j->resolve_err = ELOOP;
		} else {
			err = sim_resolve_addr(v, addr);
			if (!err) {
				j->nr_resolved++;
				errno = saved;
				return; /* the access is retried */
			}
			j->resolve_err = err;
		}
	}
	sim_jump_cur = NULL;
	siglongjmp(j->jb, sig);
}

int sim_signals_get(void)
{
	struct sigaction sa;
	int ret = 0;

	pthread_mutex_lock(&sim_sig_lock);
	if (sim_sig_users++)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sim_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &sim_old_bus)) {
		ret = -errno;
		sim_sig_users--;
		goto out;
	}
	if (sigaction(SIGSEGV, &sa, &sim_old_segv)) {
		ret = -errno;
		sigaction(SIGBUS, &sim_old_bus, NULL);
		sim_sig_users--;
	}
out:
	pthread_mutex_unlock(&sim_sig_lock);
	return ret;
}

void sim_signals_put(void)
{
	pthread_mutex_lock(&sim_sig_lock);
	if (sim_sig_users && !--sim_sig_users) {
		sigaction(SIGSEGV, &sim_old_segv, NULL);
		sigaction(SIGBUS, &sim_old_bus, NULL);
	}
	pthread_mutex_unlock(&sim_sig_lock);
}

int sim_view_resolve(const struct sim_view *v, uint64_t off)
{
	if (!v->addr || off >= v->len)
		return EFAULT;
	return sim_resolve_addr(v, (uintptr_t)v->addr + off);
}

static void sim_access(const struct sim_view *v, uint64_t off, bool write,
		       uint8_t *byte, bool allow, sim_fault_fn fn, void *ctx,
		       struct sim_access_result *r)
{
	struct sim_jump j;
	volatile uint8_t *p = (volatile uint8_t *)v->addr + off;
	int sig;

	memset(r, 0, sizeof(*r));
	memset(&j, 0, sizeof(j));
	j.view = v;
	j.allow = allow;
	j.write = write;
	j.byte = *byte;
	j.fn = fn;
	j.ctx = ctx;
again:
	sig = sigsetjmp(j.jb, 1);
	if (!sig) {
		sim_jump_cur = &j;
		if (write)
			*p = *byte;
		else
			*byte = *p;
		sim_jump_cur = NULL;
	} else if (sig == SIM_JUMP_DECIDE) {
		/* the faulting thread decides, outside the signal handler */
		volatile struct sim_jump *vj = &j;
		int err = fn(ctx, v, vj->fault_off, write, vj->byte);

		if (!err) {
			vj->nr_resolved++;
			goto again; /* the access is retried */
		}
		sig = SIGBUS;
		if (err < 0)
			vj->resolve_err = -err;
		else
			sig = err;
	}
	/* the handler wrote these behind the compiler's back */
	r->sig = sig;
	r->resolve_err = ((volatile struct sim_jump *)&j)->resolve_err;
	r->nr_resolved = ((volatile struct sim_jump *)&j)->nr_resolved;
}

void sim_view_access(const struct sim_view *v, uint64_t off, bool write,
		     uint8_t *byte, bool allow, struct sim_access_result *r)
{
	sim_access(v, off, write, byte, allow, NULL, NULL, r);
}

void sim_view_access_fn(const struct sim_view *v, uint64_t off, bool write,
			uint8_t *byte, sim_fault_fn fn, void *ctx,
			struct sim_access_result *r)
{
	sim_access(v, off, write, byte, false, fn, ctx, r);
}
