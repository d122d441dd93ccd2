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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "replay.h"

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
				"the model's memory for a sparse 1 TiB file\n");
			return 2;
		}
	}
	if (bench_workload(BENCH_MIXED, nr_ops) ||
	    bench_workload(BENCH_SIMPLE, nr_ops))
		return 1;
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
