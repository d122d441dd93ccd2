// SPDX-License-Identifier: GPL-2.0
/*
 * gmemsim bench: throughput of the model against the real kernel on the
 * same generated trace, measured in one run so the ratio is meaningful, and
 * the model's memory for a sparse 1 TiB guest_memfd.
 *
 * The trace is parsed once; only replay is timed.  Each backend runs the
 * trace BENCH_ROUNDS times and the best round counts (least disturbed by
 * the rest of the machine).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "replay.h"
#include "sim.h"

#define BENCH_ROUNDS 3
#define BENCH_TIB (1ULL << 40)

struct bench_buf {
	char *s;
	size_t len, cap;
};

static int bench_printf(struct bench_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bench_printf(struct bench_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if ((size_t)n < b->cap - b->len) {
			b->len += n;
			return 0;
		}
		b->cap = b->cap ? b->cap * 2 : 1 << 20;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			return -ENOMEM;
	}
}

static uint64_t bench_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Kernel-runnable workloads, without expectations (throughput only):
 *
 * "mixed": host loads and stores (90%) and 4 KiB punches and
 * re-allocations (10%) at random offsets of a 64 MiB guest_memfd, so the
 * folio, PTE and content maps fragment and refill all the time.
 *
 * "simple": host loads and stores only, inside a 2 MiB window that a first
 * pass has made resident; the per-op cost of the model's fast path.
 */
enum bench_kind {
	BENCH_MIXED,
	BENCH_SIMPLE,
};

static int bench_make_trace(struct bench_buf *b, enum bench_kind kind,
			    unsigned long nr_ops, uint64_t seed)
{
	const uint64_t size = kind == BENCH_MIXED ? 64ULL << 20 : 2ULL << 20;
	unsigned long i;
	int ret;

	ret = bench_printf(b, "gmemtrace 1 profile=mainline vm_types=default\n"
			      "vm vm0\n"
			      "gmem g0 vm0 size=64M flags=mmap|init_shared\n"
			      "mmap m0 g0 0+64M\n");
	for (i = 0; !ret && kind == BENCH_SIMPLE && i < size >> 12; i++)
		ret = bench_printf(b, "write m0 %#lx byte=1\n", i << 12);
	for (i = 0; !ret && i < nr_ops; i++) {
		uint64_t r = bench_rand(&seed);
		uint64_t off = (r >> 8) % size;
		unsigned int pick = r % 100;

		if (kind == BENCH_SIMPLE)
			pick %= 90;
		if (pick < 45)
			ret = bench_printf(b, "read m0 %#llx\n",
					   (unsigned long long)off);
		else if (pick < 90)
			ret = bench_printf(b, "write m0 %#llx byte=%u\n",
					   (unsigned long long)off,
					   (unsigned int)(r >> 56));
		else if (pick < 95)
			ret = bench_printf(b,
					   "fallocate g0 %#llx+4K "
					   "mode=keep_size|punch_hole\n",
					   (unsigned long long)(off & ~4095ULL));
		else
			ret = bench_printf(b, "fallocate g0 %#llx+4K\n",
					   (unsigned long long)(off & ~4095ULL));
	}
	return ret;
}

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Best-of-N replay rate in ops/s, or a negative errno. */
static int bench_replay(const struct trace *t, const struct backend_ops *ops,
			double *rate, char *why, size_t why_len)
{
	struct op_result *res;
	double best = 0;
	int round, ret = 0;

	res = calloc(t->nr_ops ? t->nr_ops : 1, sizeof(*res));
	if (!res)
		return -ENOMEM;
	for (round = 0; round < BENCH_ROUNDS; round++) {
		double t0 = bench_now(), dt;

		ret = replay_run(t, ops, NULL, NULL, res, why, why_len);
		dt = bench_now() - t0;
		if (ret)
			break;
		if (dt > 0 && t->nr_ops / dt > best)
			best = t->nr_ops / dt;
	}
	free(res);
	*rate = best;
	return ret;
}

/* Model bytes for a 1 TiB file with @nr scattered pages written once. */
static int bench_sparse_memory(unsigned int nr, size_t *bytes)
{
	struct kvm_create_guest_memfd args = {
		.size = BENCH_TIB,
		.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
	};
	struct gm_mem_stats before, after;
	struct gm_config cfg;
	struct gm_host *h;
	struct gm_proc *p;
	uint64_t seed = 1, addr;
	int kvm, vm, gmem, ret, sig;
	unsigned int i;

	gm_config_init(&cfg);
	ret = gm_host_create(&cfg, &h);
	if (ret)
		return ret;
	p = gm_host_init_proc(h);
	gm_host_mem_stats(h, &before);
	kvm = gm_open_kvm(p);
	vm = (int)gm_ioctl(p, kvm, KVM_CREATE_VM, 0);
	gmem = (int)gm_ioctl(p, vm, KVM_CREATE_GUEST_MEMFD,
			     (unsigned long)&args);
	ret = gm_mmap(p, BENCH_TIB, GMEM_PROT_READ | GMEM_PROT_WRITE,
		      GMEM_MAP_SHARED, gmem, 0, &addr);
	for (i = 0; !ret && i < nr; i++) {
		uint64_t page = bench_rand(&seed) % (BENCH_TIB >> 12);
		uint8_t byte = 0x5a;

		ret = gm_host_access(p, addr + (page << 12) + 123,
				     GM_ACCESS_WRITE, &byte, &sig);
	}
	gm_host_mem_stats(h, &after);
	*bytes = after.cur_bytes - before.cur_bytes;
	gm_host_destroy(h);
	return ret;
}

static int bench_workload(enum bench_kind kind, unsigned long nr_ops)
{
	static const char *const names[] = {
		[BENCH_MIXED] = "mixed (45% read, 45% write, 10% 4K "
				"punch/allocate, 64 MiB)",
		[BENCH_SIMPLE] = "simple (50% read, 50% write, resident 2 MiB)",
	};
	double model_rate = 0, kernel_rate = 0;
	struct bench_buf b = { 0 };
	char why[256] = "";
	struct trace *t;
	int ret;

	ret = bench_make_trace(&b, kind, nr_ops, 42);
	if (ret) {
		fprintf(stderr, "bench: cannot build the trace: %s\n",
			strerror(-ret));
		free(b.s);
		return 1;
	}
	t = trace_parse("bench", b.s, b.len);
	free(b.s);
	if (!t || t->nr_errors) {
		fprintf(stderr, "bench: generated trace does not parse\n");
		trace_free(t);
		return 1;
	}
	printf("bench: %s: %zu ops, best of %d rounds\n", names[kind],
	       t->nr_ops, BENCH_ROUNDS);
	ret = bench_replay(t, &backend_model_ops, &model_rate, why,
			   sizeof(why));
	if (ret) {
		fprintf(stderr, "bench: model: %s\n", why);
		trace_free(t);
		return 1;
	}
	printf("bench:   model:  %12.0f ops/s\n", model_rate);
	ret = bench_replay(t, &backend_kernel_ops, &kernel_rate, why,
			   sizeof(why));
	if (ret)
		printf("bench:   kernel: skipped (%s)\n", why);
	else
		printf("bench:   kernel: %12.0f ops/s\n"
		       "bench:   model/kernel: %.1fx\n",
		       kernel_rate, model_rate / kernel_rate);
	trace_free(t);
	return 0;
}

/* ------------------------------------------------------------ fault-in */

/*
 * Host fault-in cost per 4 KiB page over a fresh 64 MiB shared guest_memfd
 * mapping: every page written once, in address order (sequential) or in a
 * random permutation (random), best of BENCH_ROUNDS fresh mappings.
 *
 *   sim      the model's gmem (MMAP | INIT_SHARED) and a memfd view under
 *            userfaultfd; each store goes through sim_view_access_fn() and
 *            each fault asks the model (gm_host_access) and resolves the
 *            run around it (docs/sim.md, "Runs"); with --run=1 semantics
 *            (one page per fault) too, for the per-fault cost
 *   kernel   a real guest_memfd of a default VM on /dev/kvm, mmap()ed and
 *            stored to
 *   memfd    a plain memfd mapping stored to: the stand-in baseline when
 *            /dev/kvm is missing (same run, same machine)
 */
#define BENCH_MAP_SIZE (64ULL << 20)
#define BENCH_MAP_PAGES (BENCH_MAP_SIZE >> 12)

enum bench_order {
	BENCH_SEQ,
	BENCH_RAND,
};

struct bench_fault {
	struct gm_host *h;
	struct gm_proc *p;
	uint64_t maddr;
	struct sim_uffd u;
	struct sim_backing b;
	struct sim_view v;
	unsigned long faults, pages, ioctls;
};

static uint64_t bench_run_query(void *ctx, uint64_t off, uint64_t max)
{
	struct bench_fault *f = ctx;

	return gm_host_fault_run(f->p, f->maddr + off, max);
}

/* sim_fault_fn: the model decides, then the run is resolved. */
static int bench_fault_fn(void *ctx, const struct sim_view *v, uint64_t off,
			  bool write, uint8_t byte)
{
	struct bench_fault *f = ctx;
	unsigned int ioctls = 0;
	uint64_t pages = 0;
	int ret, sig = 0, err;

	ret = gm_host_access(f->p, f->maddr + off,
			     write ? GM_ACCESS_WRITE : GM_ACCESS_READ, &byte,
			     &sig);
	if (ret)
		return ret;
	if (sig)
		return sig;
	err = sim_view_resolve_run(v, off, bench_run_query, f, &pages,
				   &ioctls);
	__atomic_add_fetch(&f->faults, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&f->pages, pages, __ATOMIC_RELAXED);
	__atomic_add_fetch(&f->ioctls, ioctls, __ATOMIC_RELAXED);
	return err ? -err : 0;
}

static void bench_fault_fini(struct bench_fault *f)
{
	sim_view_unmap(&f->v);
	sim_backing_destroy(&f->b);
	sim_uffd_close(&f->u);
	if (f->h)
		gm_host_destroy(f->h);
	f->h = NULL;
}

static int bench_fault_init(struct bench_fault *f, enum sim_handler mode,
			    unsigned int run, char *why, size_t len)
{
	struct kvm_create_guest_memfd args = {
		.size = BENCH_MAP_SIZE,
		.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
	};
	struct gm_config cfg;
	int kvm, vm, gmem, ret;

	memset(f, 0, sizeof(*f));
	f->u.fd = -1;
	f->b.fd = -1;
	gm_config_init(&cfg);
	ret = gm_host_create(&cfg, &f->h);
	if (ret) {
		snprintf(why, len, "gm_host_create: %s", strerror(-ret));
		return ret;
	}
	f->p = gm_host_init_proc(f->h);
	kvm = gm_open_kvm(f->p);
	vm = (int)gm_ioctl(f->p, kvm, KVM_CREATE_VM, 0);
	gmem = (int)gm_ioctl(f->p, vm, KVM_CREATE_GUEST_MEMFD,
			     (unsigned long)&args);
	ret = gmem < 0 ? gmem :
			 gm_mmap(f->p, BENCH_MAP_SIZE,
				 GMEM_PROT_READ | GMEM_PROT_WRITE,
				 GMEM_MAP_SHARED, gmem, 0, &f->maddr);
	if (ret) {
		snprintf(why, len, "model gmem/mmap: %s", strerror(-ret));
		goto err;
	}
	ret = sim_uffd_open_mode(&f->u, false, mode, why, len);
	if (!ret)
		ret = sim_backing_create(&f->b, BENCH_MAP_SIZE, false, why,
					 len);
	if (!ret)
		ret = sim_view_map(&f->v, &f->b, &f->u, 0, BENCH_MAP_SIZE,
				   PROT_READ | PROT_WRITE, why, len);
	if (ret)
		goto err;
	f->v.run_pages = run;
	return 0;
err:
	bench_fault_fini(f);
	return ret;
}

static void bench_order_fill(uint32_t *order, enum bench_order o)
{
	uint64_t seed = 7;
	uint32_t i, j, x;

	for (i = 0; i < BENCH_MAP_PAGES; i++)
		order[i] = i;
	if (o == BENCH_SEQ)
		return;
	for (i = BENCH_MAP_PAGES - 1; i > 0; i--) {
		j = (uint32_t)(bench_rand(&seed) % (i + 1));
		x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
}

struct bench_fault_res {
	double ns_page; /* best round, ns per 4 KiB page */
	unsigned long faults, pages, ioctls; /* of the best round */
};

/* Sim fault-in: 0, or a negative errno with @why (a skip). */
static int bench_fault_sim(const uint32_t *order, enum sim_handler mode,
			   unsigned int run, struct bench_fault_res *res,
			   char *why, size_t len)
{
	struct sim_access_result r;
	struct bench_fault f;
	int round, ret = 0;
	uint32_t i;

	res->ns_page = 0;
	ret = sim_signals_get();
	if (ret) {
		snprintf(why, len, "sigaction: %s", strerror(-ret));
		return ret;
	}
	for (round = 0; round < BENCH_ROUNDS; round++) {
		double t0, dt;

		ret = bench_fault_init(&f, mode, run, why, len);
		if (ret)
			break;
		t0 = bench_now();
		for (i = 0; i < BENCH_MAP_PAGES; i++) {
			uint8_t byte = 0xa5;

			sim_view_access_fn(&f.v, (uint64_t)order[i] << 12,
					   true, &byte, bench_fault_fn, &f, &r);
			if (r.sig) {
				snprintf(why, len,
					 "page %u: signal %d (resolve: %s)",
					 order[i], r.sig,
					 strerror(r.resolve_err));
				ret = -EIO;
				break;
			}
		}
		dt = bench_now() - t0;
		if (!ret && (!res->ns_page ||
			     dt * 1e9 / BENCH_MAP_PAGES < res->ns_page)) {
			res->ns_page = dt * 1e9 / BENCH_MAP_PAGES;
			res->faults = f.faults;
			res->pages = f.pages;
			res->ioctls = f.ioctls;
		}
		bench_fault_fini(&f);
		if (ret)
			break;
	}
	sim_signals_put();
	return ret;
}

/* Store to every page of @map in @order: ns per page. */
static double bench_touch(uint8_t *map, const uint32_t *order)
{
	double t0 = bench_now();
	uint32_t i;

	for (i = 0; i < BENCH_MAP_PAGES; i++)
		((volatile uint8_t *)map)[(uint64_t)order[i] << 12] = 0xa5;
	return (bench_now() - t0) * 1e9 / BENCH_MAP_PAGES;
}

/* A real guest_memfd (kernel) or a plain memfd: best ns/page, or -errno. */
static int bench_fault_real(bool kernel, const uint32_t *order, double *ns,
			    char *why, size_t len)
{
	struct kvm_create_guest_memfd args = {
		.size = BENCH_MAP_SIZE,
		.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
	};
	int kvm = -1, vm = -1, fd = -1, round, ret = 0;
	void *map;
	double t;

	*ns = 0;
	if (kernel) {
		kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (kvm < 0) {
			ret = -errno;
			snprintf(why, len, "/dev/kvm: %s", strerror(errno));
			return ret;
		}
		vm = ioctl(kvm, KVM_CREATE_VM, 0);
		if (vm < 0) {
			ret = -errno;
			snprintf(why, len, "KVM_CREATE_VM: %s",
				 strerror(errno));
			goto out;
		}
	}
	for (round = 0; round < BENCH_ROUNDS; round++) {
		if (kernel) {
			fd = ioctl(vm, KVM_CREATE_GUEST_MEMFD, &args);
		} else {
			fd = memfd_create("gmemsim-bench", MFD_CLOEXEC);
			if (fd >= 0 && ftruncate(fd, BENCH_MAP_SIZE)) {
				close(fd);
				fd = -1;
			}
		}
		if (fd < 0) {
			ret = -errno;
			snprintf(why, len, "%s: %s",
				 kernel ? "KVM_CREATE_GUEST_MEMFD(MMAP|"
					  "INIT_SHARED)" :
					  "memfd_create/ftruncate",
				 strerror(errno));
			goto out;
		}
		map = mmap(NULL, BENCH_MAP_SIZE, PROT_READ | PROT_WRITE,
			   MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			ret = -errno;
			snprintf(why, len, "mmap: %s", strerror(errno));
			close(fd);
			goto out;
		}
		t = bench_touch(map, order);
		if (!*ns || t < *ns)
			*ns = t;
		munmap(map, BENCH_MAP_SIZE);
		close(fd);
	}
out:
	if (vm >= 0)
		close(vm);
	if (kvm >= 0)
		close(kvm);
	return ret;
}

static const char *const bench_order_names[] = {
	[BENCH_SEQ] = "sequential",
	[BENCH_RAND] = "random",
};

static const char *const bench_mode_names[] = {
	[SIM_HANDLER_SIGBUS] = "sigbus",
	[SIM_HANDLER_THREAD] = "thread",
};

static int bench_faultin(void)
{
	static const double target[] = { [BENCH_SEQ] = 1.0, [BENCH_RAND] = 3.0 };
	struct bench_fault_res sim, one;
	double kern, plain;
	uint32_t *order;
	char why[256];
	int o, m, ret;

	order = malloc(BENCH_MAP_PAGES * sizeof(*order));
	if (!order)
		return -ENOMEM;
	printf("bench: host fault-in per 4 KiB, fresh 64 MiB shared "
	       "guest_memfd mapping, every page stored once, best of %d\n",
	       BENCH_ROUNDS);
	for (o = BENCH_SEQ; o <= BENCH_RAND; o++) {
		bench_order_fill(order, o);
		ret = bench_fault_sim(order, SIM_HANDLER_SIGBUS, 0, &sim, why,
				      sizeof(why));
		if (ret) {
			printf("bench:   %s: sim: skipped (%s)\n",
			       bench_order_names[o], why);
			continue;
		}
		printf("bench:   %s: sim (sigbus, runs of %u): %8.0f ns/page "
		       "(%lu faults, %lu pages resolved, %lu ioctls)\n",
		       bench_order_names[o], sim_run_pages(), sim.ns_page,
		       sim.faults, sim.pages, sim.ioctls);
		for (m = SIM_HANDLER_SIGBUS; m <= SIM_HANDLER_THREAD; m++) {
			ret = bench_fault_sim(order, m, 1, &one, why,
					      sizeof(why));
			if (ret)
				printf("bench:   %s: sim (%s, one page per "
				       "fault): skipped (%s)\n",
				       bench_order_names[o],
				       bench_mode_names[m], why);
			else
				printf("bench:   %s: sim (%s, one page per "
				       "fault): %8.0f ns/page (%lu faults)\n",
				       bench_order_names[o],
				       bench_mode_names[m], one.ns_page,
				       one.faults);
		}
		ret = bench_fault_real(false, order, &plain, why, sizeof(why));
		if (ret)
			printf("bench:   %s: memfd: skipped (%s)\n",
			       bench_order_names[o], why);
		else
			printf("bench:   %s: memfd: %8.0f ns/page\n",
			       bench_order_names[o], plain);
		ret = bench_fault_real(true, order, &kern, why, sizeof(why));
		if (ret) {
			printf("bench:   %s: kernel: skipped (%s)\n",
			       bench_order_names[o], why);
			if (plain > 0)
				printf("bench:   %s: sim/memfd: %.2fx "
				       "(STAND-IN baseline, not guest_memfd; "
				       "target for sim/kernel <= %.0fx)\n",
				       bench_order_names[o],
				       sim.ns_page / plain, target[o]);
		} else {
			printf("bench:   %s: kernel: %8.0f ns/page\n"
			       "bench:   %s: sim/kernel: %.2fx (target <= "
			       "%.0fx)\n",
			       bench_order_names[o], kern,
			       bench_order_names[o], sim.ns_page / kern,
			       target[o]);
		}
	}
	free(order);
	return 0;
}

/* Conversions per second under a running `gmemsim stress`. */
static int bench_stress(void)
{
	struct stress_opts o = {
		.seconds = 2,
		.vcpus = 2,
		.converters = 2,
		.seed = 1,
		.size = 16ULL << 20,
	};
	struct stress_report r;
	int ret;

	ret = stress_run(&o, &r);
	if (ret)
		return ret;
	if (r.skipped) {
		printf("bench: conversions under stress: skipped (%s)\n",
		       r.why);
		return 0;
	}
	printf("bench: conversions under stress (2 vCPU + 2 converter "
	       "threads, 16 MiB, %.1f s): %.0f conversions/s (%.0f "
	       "conversions+punches/s, %.0f host accesses/s, %lu "
	       "violations)\n",
	       r.seconds, r.conversions / r.seconds, r.conv_ops / r.seconds,
	       (r.host_ok + r.refused) / r.seconds, r.violations);
	return r.violations ? -EUCLEAN : 0;
}

int bench_main(int argc, char **argv)
{
	unsigned long nr_ops = 1000000;
	size_t bytes = 0;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--ops=", 6)) {
			nr_ops = strtoul(argv[i] + 6, NULL, 0);
		} else {
			fprintf(stderr,
				"usage: gmemsim bench [--ops=N]\n"
				"  replays generated traces of N ops "
				"(default 1000000) on the model and on the\n"
				"  kernel, prints ops/s and their ratio, and "
				"the model's memory for a sparse 1 TiB file;\n"
				"  then host fault-in ns/page on the sim "
				"(both fault modes) vs a real guest_memfd\n"
				"  (else a plain memfd, labelled), and "
				"conversions/s under a 2 s stress\n");
			return 2;
		}
	}
	if (bench_workload(BENCH_MIXED, nr_ops) ||
	    bench_workload(BENCH_SIMPLE, nr_ops))
		return 1;
	ret = bench_faultin();
	if (ret) {
		fprintf(stderr, "bench: fault-in: %s\n", strerror(-ret));
		return 1;
	}
	ret = bench_stress();
	if (ret) {
		fprintf(stderr, "bench: stress: %s\n", strerror(-ret));
		return 1;
	}
	ret = bench_sparse_memory(1000, &bytes);
	if (ret) {
		fprintf(stderr, "bench: sparse memory: %s\n", strerror(-ret));
		return 1;
	}
	printf("bench: model memory, 1 TiB guest_memfd with 1000 scattered "
	       "pages written once: %zu bytes (%.1f KiB)\n",
	       bytes, bytes / 1024.0);
	return 0;
}
