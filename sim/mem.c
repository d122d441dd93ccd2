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
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
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

static void *sim_uffd_thread(void *arg);

enum sim_handler sim_handler_mode(void)
{
	const char *e = getenv("GMEMSIM_SIM_HANDLER");

	return e && !strcmp(e, "thread") ? SIM_HANDLER_THREAD :
					   SIM_HANDLER_SIGBUS;
}

int sim_uffd_open(struct sim_uffd *u, bool hugetlb, char *why, size_t len)
{
	return sim_uffd_open_mode(u, hugetlb, sim_handler_mode(), why, len);
}

int sim_uffd_open_mode(struct sim_uffd *u, bool hugetlb, enum sim_handler mode,
		       char *why, size_t len)
{
	struct uffdio_api api;
	uint64_t want;
	int ret;

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	u->stop_fd = -1;
	u->mode = mode;
	ret = sim_uffd_new(why, len);
	if (ret < 0)
		return ret;
	u->fd = ret;
	want = UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MINOR_SHMEM;
	want |= mode == SIM_HANDLER_THREAD ? UFFD_FEATURE_THREAD_ID :
					     UFFD_FEATURE_SIGBUS;
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
	if (mode != SIM_HANDLER_THREAD)
		return 0;
	u->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->stop_fd < 0) {
		ret = -errno;
		snprintf(why, len, "eventfd: %s", strerror(errno));
		sim_uffd_close(u);
		return ret;
	}
	ret = pthread_create(&u->thread, NULL, sim_uffd_thread, u);
	if (ret) {
		snprintf(why, len, "pthread_create: %s", strerror(ret));
		sim_uffd_close(u);
		return -ret;
	}
	u->started = true;
	return 0;
}

void sim_uffd_close(struct sim_uffd *u)
{
	uint64_t one = 1;

	if (u->started) {
		if (write(u->stop_fd, &one, sizeof(one)) != sizeof(one))
			perror("sim: eventfd write");
		pthread_join(u->thread, NULL);
		u->started = false;
	}
	if (u->stop_fd >= 0)
		close(u->stop_fd);
	u->stop_fd = -1;
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

uint64_t sim_backing_page_size(const struct sim_backing *b)
{
	return b->page_size;
}

int sim_backing_store(struct sim_backing *b, uint64_t off, uint8_t byte)
{
	if (!b->alias || off >= b->size)
		return -EINVAL;
	/*
	 * hugetlb: the alias is MAP_NORESERVE, so a store into a hole that
	 * the pool cannot back raises SIGBUS, which no armed access expects
	 * (the process would die).  fallocate() of the huge page first turns
	 * that into -ENOSPC; on a page already in the page cache it only
	 * looks it up (~1.6 us here).  hugetlbfs has no write_iter (pwrite
	 * is EINVAL).
	 */
	if (b->hugetlb &&
	    fallocate(b->fd, FALLOC_FL_KEEP_SIZE,
		      (off_t)(off & ~(b->page_size - 1)), (off_t)b->page_size))
		return -errno;
	((volatile uint8_t *)b->alias)[off] = byte;
	return 0;
}

int sim_backing_load(const struct sim_backing *b, uint64_t off, uint8_t *byte)
{
	if (!b->alias || off >= b->size)
		return -EINVAL;
	/*
	 * pread never allocates: a hole reads 0.  hugetlbfs has a read_iter
	 * too (measured on 6.18: a hole reads 0 and free_hugepages does not
	 * move), whereas a load through the alias would allocate a huge page
	 * for a hole -- or raise SIGBUS with an empty pool.
	 */
	if (pread(b->fd, byte, 1, (off_t)off) != 1)
		return -EIO;
	return 0;
}

uint64_t sim_huge_free_pages(void)
{
	unsigned long long n = 0;
	FILE *f;

	f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
		  "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

uint64_t sim_backing_held(const struct sim_backing *b)
{
	struct stat st;

	if (b->fd < 0 || fstat(b->fd, &st))
		return 0;
	return (uint64_t)st.st_blocks * 512;
}

int sim_backing_write(struct sim_backing *b, uint64_t off, const void *buf,
		      size_t len)
{
	if (!b->alias || off > b->size || len > b->size - off)
		return -EINVAL;
	/* as sim_backing_store(): allocate hugetlb pages before the store */
	if (b->hugetlb && len &&
	    fallocate(b->fd, FALLOC_FL_KEEP_SIZE,
		      (off_t)(off & ~(b->page_size - 1)),
		      (off_t)(((off + len + b->page_size - 1) &
			       ~(b->page_size - 1)) -
			      (off & ~(b->page_size - 1)))))
		return -errno;
	memcpy(b->alias + off, buf, len);
	return 0;
}

int sim_backing_read(const struct sim_backing *b, uint64_t off, void *buf,
		     size_t len)
{
	if (!b->alias || off > b->size || len > b->size - off)
		return -EINVAL;
	/* pread: a hole reads 0 and nothing is allocated */
	if (pread(b->fd, buf, len, (off_t)off) != (ssize_t)len)
		return -EIO;
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
	v->thread = u->mode == SIM_HANDLER_THREAD;
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

/*
 * MADV_DONTNEED of file range [off, off+len) in @v, rounded out to the
 * backing's pages.  hugetlb needs that (measured on 6.18): DONTNEED of a
 * range that starts inside a huge page fails EINVAL, and one that ends
 * inside it is rounded down -- [0, 4K) returns 0 and unmaps nothing.
 * Zapping the whole huge page is safe: its next access faults again and
 * the model decides.
 */
static int sim_zap(const struct sim_view *v, uint64_t off, uint64_t len)
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

int sim_view_zap(struct sim_view *v, uint64_t off, uint64_t len)
{
	return sim_zap(v, off, len);
}

int sim_view_mapped(const struct sim_view *v, uint64_t off)
{
	long ps = sysconf(_SC_PAGESIZE);
	uintptr_t addr;
	uint64_t ent;
	ssize_t n;
	int fd;

	if (!v->addr || off >= v->len)
		return -EFAULT;
	if (ps <= 0)
		ps = 4096;
	addr = (uintptr_t)v->addr + off;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, &ent, sizeof(ent),
		  (off_t)(addr / (uintptr_t)ps * sizeof(ent)));
	close(fd);
	if (n != (ssize_t)sizeof(ent))
		return n < 0 ? -errno : -EIO;
	/* bit 63: present; bit 62: swapped (shmem pages can be) */
	return (ent >> 62) & 3 ? 1 : 0;
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
	bool once; /* SIM_FAULT_ONCE: zap once_off after the access */
	uint64_t once_off;
	unsigned int nr_resolved;
	int resolve_err;
	/* SIM_HANDLER_THREAD: the access as the handler thread sees it */
	pid_t tid;
	uintptr_t addr; /* the byte the access touches */
	uintptr_t page; /* its backing page */
	int thread_sig; /* the refusal the handler thread sent */
	struct sim_jump *next; /* sim_wait_list */
};

/* The access this thread is performing, or NULL (house-style rule 20). */
static __thread struct sim_jump *sim_jump_cur;

static pthread_mutex_t sim_sig_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int sim_sig_users;
static struct sigaction sim_old_bus, sim_old_segv;

/* Accesses under way on SIM_HANDLER_THREAD views, by thread id. */
static pthread_mutex_t sim_wait_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_jump *sim_wait_list;

/* si_value of the SIGBUS the handler thread sends to refuse a fault. */
#define SIM_REFUSE_MAGIC 0x51b05

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
	/* hugetlb has no ZEROPAGE; COPY and CONTINUE work on 2 MiB only */
	memset(&cp, 0, sizeof(cp));
	cp.dst = page;
	cp.src = (uintptr_t)v->b->zero;
	cp.len = ps;
	if (!ioctl(v->uffd, UFFDIO_COPY, &cp) || errno == EAGAIN)
		return 0;
	if (errno != EEXIST)
		return errno;
	/*
	 * EEXIST: the page came into the page cache (a racing fault), or it
	 * is mapped -- or the pool had no page: hugetlb_mfill_atomic_pte()
	 * reports a failed allocation as EEXIST when the page table exists
	 * (measured on 6.18 with an exhausted pool).  CONTINUE tells them
	 * apart; treating it as done would retry the fault until ELOOP.
	 */
	memset(&c, 0, sizeof(c));
	c.range.start = page;
	c.range.len = ps;
	if (sim_ioctl_ok(ioctl(v->uffd, UFFDIO_CONTINUE, &c)))
		return 0;
	return errno == EFAULT || errno == ENOENT ? ENOMEM : errno;
}

/* ------------------------------------------------------------------ runs */

static pthread_once_t sim_run_once = PTHREAD_ONCE_INIT;
static unsigned int sim_run_cap = SIM_RUN_PAGES;

static void sim_run_init(void)
{
	const char *e = getenv("GMEMSIM_SIM_RUN");
	unsigned long n;
	char *end;

	if (!e || !*e)
		return;
	n = strtoul(e, &end, 0);
	if (*end || !n || n > SIM_RUN_MAX)
		return;
	/* a power of two: windows are aligned to it */
	while (n & (n - 1))
		n &= n - 1;
	sim_run_cap = (unsigned int)n;
}

unsigned int sim_run_pages(void)
{
	pthread_once(&sim_run_once, sim_run_init);
	return sim_run_cap;
}

/*
 * Which ioctl the last stretch of this thread needed: a fresh mapping is
 * all holes, so ZEROPAGE first saves the failing CONTINUE per run.
 */
static __thread bool sim_hint_hole;

/*
 * Resolve [page, page+len) of @v with ranged ioctls (4 KiB backings): one
 * UFFDIO_CONTINUE per stretch of pages in the page cache, one
 * UFFDIO_ZEROPAGE per stretch of holes; a page already mapped (EEXIST from
 * both) is skipped.  Either ioctl stops at the first page of the other kind
 * and reports how far it got.
 */
static int sim_resolve_span(const struct sim_view *v, uintptr_t page,
			    uint64_t len, unsigned int *nr_ioctls)
{
	uintptr_t pos = page, end = page + len;
	bool hole = sim_hint_hole;
	unsigned int stuck = 0;
	struct uffdio_continue c;
	struct uffdio_zeropage z;
	int64_t done;
	int ret, err;

	while (pos < end) {
		if (stuck > SIM_MAX_RESOLVE)
			return EAGAIN;
		(*nr_ioctls)++;
		if (hole) {
			memset(&z, 0, sizeof(z));
			z.range.start = pos;
			z.range.len = end - pos;
			ret = ioctl(v->uffd, UFFDIO_ZEROPAGE, &z);
			done = z.zeropage;
		} else {
			memset(&c, 0, sizeof(c));
			c.range.start = pos;
			c.range.len = end - pos;
			ret = ioctl(v->uffd, UFFDIO_CONTINUE, &c);
			done = c.mapped;
		}
		if (!ret) {
			sim_hint_hole = hole;
			return 0;
		}
		err = errno;
		if (done > 0) {
			/* stopped at a page of the other kind (or mapped) */
			pos += (uint64_t)done;
			sim_hint_hole = hole;
			hole = !hole;
			stuck = 0;
			continue;
		}
		if (err == EAGAIN) {
			stuck++; /* the mm changed: again */
			continue;
		}
		if (!hole && err == EEXIST) {
			pos += 4096; /* a PTE is there already */
			continue;
		}
		if (hole ? err != EEXIST : err != EFAULT && err != ENOENT)
			return err;
		/* ZEROPAGE: in the page cache (or mapped); CONTINUE: a hole */
		hole = !hole;
		stuck++;
	}
	return 0;
}

int sim_view_resolve_range(const struct sim_view *v, uint64_t off, uint64_t len,
			   unsigned int *nr_ioctls)
{
	uint64_t ps, start, end, o;
	unsigned int dummy = 0;
	int err;

	if (!nr_ioctls)
		nr_ioctls = &dummy;
	if (!v->addr || off >= v->len || !len)
		return EFAULT;
	ps = v->b->page_size;
	start = off & ~(ps - 1);
	end = len > v->len - off ? v->len : off + len;
	end = (end + ps - 1) & ~(ps - 1);
	if (v->offset + end > v->b->size) /* beyond EOF: nothing to map */
		end = v->b->size > v->offset ? v->b->size - v->offset : 0;
	if (start >= end)
		return EFAULT;
	if (!v->b->hugetlb)
		return sim_resolve_span(v, (uintptr_t)v->addr + start,
					end - start, nr_ioctls);
	for (o = start; o < end; o += ps) {
		(*nr_ioctls)++;
		err = sim_resolve_addr(v, (uintptr_t)v->addr + o);
		if (err)
			return err;
	}
	return 0;
}

int sim_view_resolve_run(const struct sim_view *v, uint64_t off, sim_run_fn run,
			 void *ctx, uint64_t *nr_pages, unsigned int *nr_ioctls)
{
	uint64_t ps = 4096, cap, page, lo, hi, n, start;

	if (!v->addr || off >= v->len)
		return EFAULT;
	if (nr_pages)
		*nr_pages = 0;
	cap = v->run_pages ? v->run_pages : sim_run_pages();
	if (v->b->hugetlb || cap <= 1 || !run) {
		if (nr_pages)
			*nr_pages = 1;
		if (nr_ioctls)
			(*nr_ioctls)++;
		return sim_view_resolve(v, off);
	}
	page = off & ~(ps - 1);
	/* the cap-aligned window of file offsets around the fault */
	lo = ((v->offset + page) & ~(cap * ps - 1));
	lo = lo > v->offset ? lo - v->offset : 0;
	hi = lo + cap * ps;
	if (hi > v->len)
		hi = v->len;
	/* backwards: usually the run from the window's start covers it */
	n = run(ctx, lo, (page - lo) / ps + 1);
	if (lo + n * ps > page) {
		start = lo;
	} else {
		for (start = page; start > lo && run(ctx, start - ps, 1) == 1;
		     start -= ps)
			;
	}
	/* forwards from the faulting page (the model allowed that one) */
	n = run(ctx, page, (hi - page) / ps);
	if (!n)
		n = 1;
	if (nr_pages)
		*nr_pages = (page - start) / ps + n;
	return sim_view_resolve_range(v, start, page + n * ps - start,
				      nr_ioctls);
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

	if (sig == SIGBUS && si->si_code == SI_QUEUE &&
	    si->si_pid == getpid()) {
		/*
		 * Queued by our handler thread: a refusal of this thread's
		 * fault.  Never a fault of its own, so never chained (the
		 * default action would kill the process): a refusal that
		 * arrives after the access is over is stale and ignored.
		 */
		if (si->si_value.sival_int != SIM_REFUSE_MAGIC || !j ||
		    !__atomic_load_n(&j->thread_sig, __ATOMIC_ACQUIRE)) {
			errno = saved;
			return;
		}
		sig = j->thread_sig;
		sim_jump_cur = NULL;
		siglongjmp(j->jb, sig);
	}
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
	/*
	 * SA_NODEFER with an empty sa_mask: entering the handler leaves the
	 * signal mask alone, so siglongjmp() out of it needs no mask restore
	 * and sim_access() arms with sigsetjmp(jb, 0) -- no sigprocmask()
	 * system call per access.
	 */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
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

/* ------------------------------------------------ handler-thread mode */

static void sim_wake(int uffd, uintptr_t page, uint64_t len)
{
	struct uffdio_range r = { .start = page, .len = len };

	ioctl(uffd, UFFDIO_WAKE, &r);
}

/* Refuse thread @tid's fault: it jumps back from its access with @sig. */
static void sim_refuse(pid_t tid, struct sim_jump *j, int sig)
{
	siginfo_t si;

	if (j)
		__atomic_store_n(&j->thread_sig, sig, __ATOMIC_RELEASE);
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = j ? SIM_REFUSE_MAGIC : 0;
	syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, SIGBUS, &si);
}

/*
 * One fault message in the handler thread: find the access of thread
 * @tid, decide as sim_handler() and sim_access() would in that thread
 * (the callback, or the caller's decision), then resolve and wake, or
 * refuse with a queued SIGBUS.  A message for a page the thread is no
 * longer accessing is stale (another thread's resolution woke it): drop.
 */
static void sim_thread_fault(struct sim_uffd *u, pid_t tid, uintptr_t addr)
{
	const struct sim_view *v;
	struct sim_jump *j;
	uintptr_t page;
	uint64_t ps;
	int err;

	pthread_mutex_lock(&sim_wait_lock);
	for (j = sim_wait_list; j && j->tid != tid; j = j->next)
		;
	if (!j) {
		/*
		 * No armed access: the message is stale -- another message's
		 * resolution woke the thread, whose access then completed and
		 * unregistered before this one was read (up to 16 are read
		 * at once).  Drop it; a wake is harmless if nobody waits.
		 * (Every access to a registered view is armed, so there is
		 * no unarmed fault to refuse.)
		 */
		sim_wake(u->fd, addr & ~0xfffULL, 4096);
		goto out;
	}
	v = j->view;
	/*
	 * Compare whole backing pages: a hugetlb fault is reported at the
	 * huge page's address (hugetlb_handle_userfault() passes haddr; we
	 * do not ask for UFFD_FEATURE_EXACT_ADDRESS), not at the 4 KiB page
	 * of the access.  The fault is then this access's own, so it is
	 * decided and resolved at the access's byte, not at the message's
	 * page address (the model must see the right offset).
	 */
	ps = v->b->page_size;
	page = addr & ~(uintptr_t)(ps - 1);
	if (j->page != page || addr < (uintptr_t)v->addr ||
	    addr >= (uintptr_t)v->addr + v->len)
		goto out;
	addr = j->addr;
	if (j->fn) {
		if (j->nr_resolved >= SIM_MAX_DECIDE) {
			j->resolve_err = ELOOP;
			sim_refuse(tid, j, SIGBUS);
			goto out;
		}
		err = j->fn(j->ctx, v, addr - (uintptr_t)v->addr, j->write,
			    j->byte);
		if (err == SIM_FAULT_ONCE) {
			/* the faulting thread zaps it after its access */
			j->once = true;
			j->once_off = addr - (uintptr_t)v->addr;
			err = 0;
		}
		if (err > 0) {
			sim_refuse(tid, j, err);
			goto out;
		}
		if (err < 0) {
			j->resolve_err = -err;
			sim_refuse(tid, j, SIGBUS);
			goto out;
		}
	} else if (!j->allow || j->nr_resolved >= SIM_MAX_RESOLVE) {
		if (j->allow)
			j->resolve_err = ELOOP;
		sim_refuse(tid, j, SIGBUS);
		goto out;
	} else {
		err = sim_resolve_addr(v, addr);
		if (err) {
			j->resolve_err = err;
			sim_refuse(tid, j, SIGBUS);
			goto out;
		}
	}
	j->nr_resolved++;
	/* EEXIST (another thread mapped it) resolves without a wake-up */
	sim_wake(u->fd, page, ps);
out:
	pthread_mutex_unlock(&sim_wait_lock);
}

static void *sim_uffd_thread(void *arg)
{
	struct sim_uffd *u = arg;
	struct uffd_msg msg[16];
	struct pollfd pfd[2];
	ssize_t n, i;

	for (;;) {
		pfd[0].fd = u->fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = u->stop_fd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		n = read(u->fd, msg, sizeof(msg));
		if (n <= 0)
			continue; /* EAGAIN: someone else's wake-up */
		for (i = 0; i < n / (ssize_t)sizeof(msg[0]); i++) {
			if (msg[i].event != UFFD_EVENT_PAGEFAULT)
				continue;
			__atomic_add_fetch(&u->nr_msgs, 1, __ATOMIC_RELAXED);
			sim_thread_fault(
				u, (pid_t)msg[i].arg.pagefault.feat.ptid,
				(uintptr_t)msg[i].arg.pagefault.address);
		}
	}
	return NULL;
}

static void sim_wait_add(struct sim_jump *j)
{
	pthread_mutex_lock(&sim_wait_lock);
	j->next = sim_wait_list;
	sim_wait_list = j;
	pthread_mutex_unlock(&sim_wait_lock);
}

static void sim_wait_del(struct sim_jump *j)
{
	struct sim_jump **pp;

	pthread_mutex_lock(&sim_wait_lock);
	for (pp = &sim_wait_list; *pp && *pp != j; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = j->next;
	pthread_mutex_unlock(&sim_wait_lock);
}

/*
 * After a jump out of the handler: SA_NODEFER left the mask alone, but a
 * sanitizer runtime that wraps the handler (TSan) may block the signal
 * while it runs, so unblock both -- a system call on the fault path only.
 */
static void sim_unblock(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGBUS);
	sigaddset(&set, SIGSEGV);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/*
 * SIM_FAULT_ONCE: the page at view offset @off was resolved for one access
 * only; whatever the access gave, zap it now so that no such page (a huge
 * page the model says is mixed) stays mapped.
 */
static void sim_access_once(const struct sim_view *v, uint64_t off,
			    struct sim_access_result *r)
{
	int err = sim_zap(v, v->offset + off, 1);

	r->nr_once = 1;
	if (err && !r->resolve_err)
		r->resolve_err = -err;
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
	if (v->thread) {
		j.tid = (pid_t)syscall(SYS_gettid);
		j.addr = (uintptr_t)p;
		j.page = (uintptr_t)p & ~(uintptr_t)(v->b->page_size - 1);
		sim_wait_add(&j);
	}
again:
	sig = sigsetjmp(j.jb, 0); /* SA_NODEFER: the mask is unchanged */
	if (sig)
		sim_unblock(); /* in case a sanitizer's handler masked it */
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

		if (err == SIM_FAULT_ONCE) {
			/* resolved for this access only: zapped below */
			vj->once = true;
			vj->once_off = vj->fault_off;
			err = 0;
		}
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
	if (v->thread)
		sim_wait_del(&j);
	/* the handler wrote these behind the compiler's back */
	r->sig = sig;
	r->resolve_err = ((volatile struct sim_jump *)&j)->resolve_err;
	r->nr_resolved = ((volatile struct sim_jump *)&j)->nr_resolved;
	if (((volatile struct sim_jump *)&j)->once)
		sim_access_once(v, ((volatile struct sim_jump *)&j)->once_off,
				r);
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
