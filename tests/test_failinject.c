// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation-failure injection (model.h gm_host_fail_alloc, house-style
 * rule 14): for n = 1, 2, ... the nth allocation of an operation fails.
 * Each operation must then return its normal result or -ENOMEM, leave
 * gm_host_check() clean, and leave nothing behind: a failed create frees
 * what it allocated, a failed bind leaves no slot, a failed attribute
 * change stores nothing (§3.12 step 2 reserves before changing anything).
 * The kernel cannot be made to fail allocations on demand, so the only
 * kernel-derived expectation is "the errno is ENOMEM" (§3.2 step 4,
 * §3.10 step 16, §3.3.1 step 2, §3.12 step 2).
 */
#include <string.h>

#include "test_util.h"

#define GPA0 (1ULL << 32)
#define MAX_N 256

struct fi_op {
	const char *name;
	/* set up the state the op runs in (not under injection) */
	void (*prepare)(void *ctx);
	/* the op: returns its result (0, an fd, ...) */
	long (*run)(void *ctx);
	/* the result the op gives without injection */
	long (*ok)(long r);
	/* undo a successful op (not under injection) */
	void (*undo)(void *ctx, long r);
	/* undo prepare */
	void (*finish)(void *ctx);
	/* the op must allocate: n = 1 must fail */
	bool allocates;
};

static long ok_zero(long r)
{
	return r == 0;
}

static long ok_fd(long r)
{
	return r >= 0;
}

static void fi_round_clean(const struct fi_op *op, void *ctx)
{
	long r;

	if (op->prepare)
		op->prepare(ctx);
	r = op->run(ctx);
	t_check_hosts(op->name, __FILE__, __LINE__);
	if (op->ok(r) && op->undo)
		op->undo(ctx, r);
	if (op->finish)
		op->finish(ctx);
}

/*
 * Run @op with the nth allocation failing until it runs through without
 * meeting the failure.  A failed op may keep capacity inside the objects
 * it worked on, but once those are closed again (finish) the model must
 * hold exactly what it held before: nothing leaks on an error path.  One
 * clean round first makes capacity that lives on in the VM part of the
 * baseline.  Returns the number of failing rounds.
 */
static unsigned int fail_each_allocation(const struct fi_op *op, void *ctx)
{
	unsigned int failed = 0;
	char msg[200];

	fi_round_clean(op, ctx);
	for (unsigned long n = 1; n <= MAX_N; n++) {
		struct gm_mem_stats pre, s0, s1, post;
		long r;
		bool ok;

		gm_host_mem_stats(fx.h, &pre);
		if (op->prepare)
			op->prepare(ctx);
		gm_host_mem_stats(fx.h, &s0);
		gm_host_fail_alloc(fx.h, n);
		r = op->run(ctx);
		gm_host_fail_alloc(fx.h, 0);
		gm_host_mem_stats(fx.h, &s1);
		t_check_hosts(op->name, __FILE__, __LINE__);
		ok = op->ok(r);
		if (!ok && r != -ENOMEM) {
			snprintf(msg, sizeof(msg),
				 "%s with allocation %lu failing: got %s, "
				 "want its result or -ENOMEM",
				 op->name, n, t_errname(r));
			CU_assertImplementation(CU_FALSE, __LINE__, msg,
						__FILE__, "", CU_FALSE);
		}
		if (ok && op->undo)
			op->undo(ctx, r);
		if (op->finish)
			op->finish(ctx);
		gm_host_mem_stats(fx.h, &post);
		if (post.cur_bytes != pre.cur_bytes ||
		    post.nr_live != pre.nr_live) {
			snprintf(msg, sizeof(msg),
				 "%s with allocation %lu failing (%s): %zu "
				 "bytes in %zu allocations afterwards, %zu in "
				 "%zu before",
				 op->name, n, t_errname(r), post.cur_bytes,
				 post.nr_live, pre.cur_bytes, pre.nr_live);
			CU_assertImplementation(CU_FALSE, __LINE__, msg,
						__FILE__, "", CU_FALSE);
		}
		if (!ok && r != -ENOMEM)
			break;
		if (!ok) {
			failed++;
			continue;
		}
		/* the injected failure was not reached: done */
		if (s1.nr_allocs - s0.nr_allocs < n)
			break;
	}
	if (op->allocates && failed == 0) {
		snprintf(msg, sizeof(msg), "%s never failed with -ENOMEM",
			 op->name);
		CU_assertImplementation(CU_FALSE, __LINE__, msg, __FILE__, "",
					CU_FALSE);
	}
	return failed;
}

/* ---- KVM_CREATE_GUEST_MEMFD ---- */

static long run_create_gmem(void *ctx)
{
	(void)ctx;
	return __gmem_create(fx.p, fx.vm, 2 * MiB, FL_BOTH);
}

static void undo_close(void *ctx, long r)
{
	(void)ctx;
	GM_OK(gm_close(fx.p, (int)r));
}

static void test_failinject_create_gmem(void)
{
	static const struct fi_op op = {
		.name = "KVM_CREATE_GUEST_MEMFD",
		.run = run_create_gmem,
		.ok = ok_fd,
		.undo = undo_close,
		.allocates = true,
	};

	fail_each_allocation(&op, NULL);
}

/* ---- KVM_CREATE_VM ---- */

static long run_create_vm(void *ctx)
{
	(void)ctx;
	return gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
			gm_vm_type_to_kvm(GM_VM_SW_PROTECTED));
}

static void test_failinject_create_vm(void)
{
	static const struct fi_op op = {
		.name = "KVM_CREATE_VM",
		.run = run_create_vm,
		.ok = ok_fd,
		.undo = undo_close,
		.allocates = true,
	};

	fail_each_allocation(&op, NULL);
}

/* ---- bind (KVM_SET_USER_MEMORY_REGION2) ---- */

struct bind_ctx {
	int g;
};

static void prep_gmem(void *ctx)
{
	struct bind_ctx *c = ctx;

	c->g = gmem_create(8 * MiB, FL_BOTH);
}

static void finish_gmem(void *ctx)
{
	struct bind_ctx *c = ctx;

	/* a failed bind left no slot and no binding */
	EXPECT_EQ(vm_info(fx.p, fx.vm).nr_memslots, 0);
	EXPECT_EQ(gmem_info(c->g).nr_bindings, 0);
	GM_OK(gm_close(fx.p, c->g));
}

static long run_bind(void *ctx)
{
	struct bind_ctx *c = ctx;

	return __set_region2(fx.p, fx.vm, 0, KVM_MEM_GUEST_MEMFD, GPA0,
			     4 * MiB, 0, c->g, 2 * MiB);
}

static void undo_bind(void *ctx, long r)
{
	(void)ctx;
	(void)r;
	delete_slot(0);
}

static void test_failinject_bind(void)
{
	static const struct fi_op op = {
		.name = "bind",
		.prepare = prep_gmem,
		.run = run_bind,
		.ok = ok_zero,
		.undo = undo_bind,
		.finish = finish_gmem,
		.allocates = true,
	};
	struct bind_ctx c;

	fail_each_allocation(&op, &c);
}

/* ---- fallocate over a fragmented range ---- */

struct fa_ctx {
	int g;
	uint64_t a;
};

static void prep_fragmented(void *ctx)
{
	struct fa_ctx *c = ctx;

	c->g = gmem_create(8 * MiB, FL_BOTH);
	c->a = map_shared(c->g, 8 * MiB, 0);
	/* every other page uptodate: many runs to split and merge */
	for (uint64_t i = 0; i < 64; i += 2)
		CU_ASSERT(t_store(fx.p, c->a + i * PAGE, 1) == 0);
}

static void finish_fragmented(void *ctx)
{
	struct fa_ctx *c = ctx;

	GM_OK(gm_munmap(fx.p, c->a, 8 * MiB));
	GM_OK(gm_close(fx.p, c->g));
}

static long run_fallocate(void *ctx)
{
	struct fa_ctx *c = ctx;

	return gm_fallocate(fx.p, c->g, KEEP, PAGE, 128 * PAGE);
}

static long run_punch(void *ctx)
{
	struct fa_ctx *c = ctx;

	return gm_fallocate(fx.p, c->g, PUNCH, 3 * PAGE, 7 * PAGE);
}

static void test_failinject_fallocate(void)
{
	static const struct fi_op op = {
		.name = "fallocate(KEEP_SIZE)",
		.prepare = prep_fragmented,
		.run = run_fallocate,
		.ok = ok_zero,
		.finish = finish_fragmented,
	};
	struct fa_ctx c;

	/* §3.3.1 step 2: pages allocated before the failure may stay */
	prep_fragmented(&c);
	finish_fragmented(&c);
	for (unsigned long n = 1; n <= MAX_N; n++) {
		struct gm_mem_stats pre, s0, s1, post;
		long r;

		gm_host_mem_stats(fx.h, &pre);
		prep_fragmented(&c);
		gm_host_mem_stats(fx.h, &s0);
		gm_host_fail_alloc(fx.h, n);
		r = run_fallocate(&c);
		gm_host_fail_alloc(fx.h, 0);
		gm_host_mem_stats(fx.h, &s1);
		CU_ASSERT(r == 0 || r == -ENOMEM);
		t_check_hosts(op.name, __FILE__, __LINE__);
		/* the written pages keep their data whatever happened */
		EXPECT_BYTES(fx.p, c.a + 2 * PAGE, 1, 1);
		/* and a retry completes the allocation */
		GM_OK(gm_fallocate(fx.p, c.g, KEEP, PAGE, 128 * PAGE));
		EXPECT_EQ(gmem_info(c.g).nr_present, 129);
		finish_fragmented(&c);
		gm_host_mem_stats(fx.h, &post);
		EXPECT_EQ(post.cur_bytes, pre.cur_bytes);
		if (r == 0 && s1.nr_allocs - s0.nr_allocs < n)
			break;
	}
}

static void test_failinject_punch(void)
{
	static const struct fi_op op = {
		.name = "fallocate(PUNCH_HOLE)",
		.prepare = prep_fragmented,
		.run = run_punch,
		.ok = ok_zero,
		.finish = finish_fragmented,
	};
	struct fa_ctx c;

	fail_each_allocation(&op, &c);
}

/* ---- mmap ---- */

static long run_mmap(void *ctx)
{
	struct fa_ctx *c = ctx;

	return gm_mmap(fx.p, 2 * MiB, RW, GMEM_MAP_SHARED, c->g, 0, &c->a);
}

static void prep_plain_gmem(void *ctx)
{
	struct fa_ctx *c = ctx;

	c->g = gmem_create(2 * MiB, FL_BOTH);
	c->a = 0;
}

static void undo_mmap(void *ctx, long r)
{
	struct fa_ctx *c = ctx;

	(void)r;
	GM_OK(gm_munmap(fx.p, c->a, 2 * MiB));
}

static void finish_plain_gmem(void *ctx)
{
	struct fa_ctx *c = ctx;

	/* nothing holds the file but the fd */
	EXPECT_EQ(gmem_info(c->g).file_refs, 1);
	GM_OK(gm_close(fx.p, c->g));
}

static void test_failinject_mmap(void)
{
	static const struct fi_op op = {
		.name = "mmap",
		.prepare = prep_plain_gmem,
		.run = run_mmap,
		.ok = ok_zero,
		.undo = undo_mmap,
		.finish = finish_plain_gmem,
		.allocates = true,
	};
	struct fa_ctx c;

	fail_each_allocation(&op, &c);
}

/* ---- host fault ---- */

static void test_failinject_host_fault(void)
{
	for (unsigned long n = 1; n <= MAX_N; n++) {
		struct gm_mem_stats s0, s1;
		int g = gmem_create(2 * MiB, FL_BOTH);
		uint64_t a = map_shared(g, 2 * MiB, 0);
		uint8_t b = 0x7e;
		int sig = -1;
		long r;

		gm_host_mem_stats(fx.h, &s0);
		gm_host_fail_alloc(fx.h, n);
		r = gm_host_access(fx.p, a + 5 * PAGE, GM_ACCESS_WRITE, &b,
				   &sig);
		gm_host_fail_alloc(fx.h, 0);
		gm_host_mem_stats(fx.h, &s1);
		t_check_hosts("host write fault", __FILE__, __LINE__);
		CU_ASSERT(r == 0 || r == -ENOMEM);
		if (r == 0)
			CU_ASSERT(sig == 0 || sig == SIGBUS);
		/* a retry without injection completes */
		EXPECT_FILL(fx.p, a + 5 * PAGE, 1, 0x7e);
		EXPECT_BYTES(fx.p, a + 5 * PAGE, 1, 0x7e);
		GM_OK(gm_munmap(fx.p, a, 2 * MiB));
		GM_OK(gm_close(fx.p, g));
		if (r == 0 && sig == 0 && s1.nr_allocs - s0.nr_allocs < n)
			break;
	}
}

/* ---- guest fault ---- */

static void test_failinject_guest_fault(void)
{
	for (unsigned long n = 1; n <= MAX_N; n++) {
		struct gm_mem_stats s0, s1;
		struct gm_guest_fault f;
		int g = gmem_create(2 * MiB, FL_BOTH);
		long r;

		bind_slot(0, GPA0, 2 * MiB, g, 0);
		memset(&f, 0, sizeof(f));
		f.gpa = GPA0 + 3 * PAGE;
		f.access = GM_ACCESS_WRITE;
		f.intent = GM_INTENT_DEFAULT;
		f.byte = 0x3a;
		gm_host_mem_stats(fx.h, &s0);
		gm_host_fail_alloc(fx.h, n);
		r = gm_guest_access(fx.p, fx.vm, &f);
		gm_host_fail_alloc(fx.h, 0);
		gm_host_mem_stats(fx.h, &s1);
		t_check_hosts("guest write fault", __FILE__, __LINE__);
		CU_ASSERT(r == 0 || r == -ENOMEM);
		if (r == 0)
			CU_ASSERT(f.outcome == GM_GUEST_OK ||
				  f.outcome == GM_GUEST_RETRY ||
				  (f.outcome == GM_GUEST_ERROR &&
				   f.err == ENOMEM));
		/* a retry without injection completes */
		f = guest(fx.p, fx.vm, GPA0 + 3 * PAGE, GM_ACCESS_WRITE,
			  GM_INTENT_DEFAULT, 0x3a);
		EXPECT_OUTCOME(f, GM_GUEST_OK);
		delete_slot(0);
		GM_OK(gm_close(fx.p, g));
		if (r == 0 && s1.nr_allocs - s0.nr_allocs < n)
			break;
	}
}

/* ---- KVM_SET_MEMORY_ATTRIBUTES on a SW_PROTECTED VM ---- */

static void test_failinject_attributes(void)
{
	int vm = GM_FD(gm_ioctl(fx.p, fx.kvm, KVM_CREATE_VM,
				gm_vm_type_to_kvm(GM_VM_SW_PROTECTED)));
	int g = GM_FD(__gmem_create(fx.p, vm, 2 * MiB, 0));
	bool failed = false;

	GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 2 * MiB,
			    0, g, 0));
	/* fragment the attributes so that the change must split runs */
	for (uint64_t i = 0; i < 16; i += 2)
		GM_OK(__set_attrs(fx.p, vm, GPA0 + i * PAGE, PAGE,
				  KVM_MEMORY_ATTRIBUTE_PRIVATE, 0));
	for (unsigned long n = 1; n <= MAX_N; n++) {
		struct gm_mem_stats s0, s1;
		long r;

		gm_host_mem_stats(fx.h, &s0);
		gm_host_fail_alloc(fx.h, n);
		r = __set_attrs(fx.p, vm, GPA0 + 3 * PAGE, 7 * PAGE,
				KVM_MEMORY_ATTRIBUTE_PRIVATE, 0);
		gm_host_fail_alloc(fx.h, 0);
		gm_host_mem_stats(fx.h, &s1);
		t_check_hosts("KVM_SET_MEMORY_ATTRIBUTES", __FILE__, __LINE__);
		CU_ASSERT(r == 0 || r == -ENOMEM);
		if (r == -ENOMEM) {
			failed = true;
			/* nothing changed: gfn 3 is still shared */
			EXPECT_EQ(attrs_of(fx.p, vm, (GPA0 >> 12) + 3), 0);
		}
		/* back to the fragmented state */
		GM_OK(__set_attrs(fx.p, vm, GPA0, 16 * PAGE, 0, 0));
		for (uint64_t i = 0; i < 16; i += 2)
			GM_OK(__set_attrs(fx.p, vm, GPA0 + i * PAGE, PAGE,
					  KVM_MEMORY_ATTRIBUTE_PRIVATE, 0));
		if (r == 0 && s1.nr_allocs - s0.nr_allocs < n)
			break;
	}
	(void)failed;
	GM_OK(__set_region2(fx.p, vm, 0, KVM_MEM_GUEST_MEMFD, 0, 0, 0, -1, 0));
	GM_OK(gm_close(fx.p, g));
	GM_OK(gm_close(fx.p, vm));
}

/* ---- dup ---- */

static long run_dup(void *ctx)
{
	struct fa_ctx *c = ctx;

	return gm_dup(fx.p, c->g);
}

static void test_failinject_dup(void)
{
	static const struct fi_op op = {
		.name = "dup",
		.prepare = prep_plain_gmem,
		.run = run_dup,
		.ok = ok_fd,
		.undo = undo_close,
		.finish = finish_plain_gmem,
	};
	struct fa_ctx c;

	fail_each_allocation(&op, &c);
}

/*
 * A whole scenario with the nth allocation failing, for every n it makes:
 * every call returns its normal result or -ENOMEM, the model stays
 * consistent after each, and closing what was made returns the model to
 * its memory before the scenario.
 */
static void scenario(void)
{
	struct kvm_create_guest_memfd cg = { .size = 4 * MiB, .flags = FL_BOTH };
	struct gm_guest_fault f;
	uint64_t a = 0;
	long g, d, r;
	uint8_t b = 9;
	int sig;

	g = gm_ioctl(fx.p, fx.vm, KVM_CREATE_GUEST_MEMFD, (unsigned long)&cg);
	GM_SANE_FD(g);
	if (g < 0)
		return;
	d = gm_dup(fx.p, (int)g);
	GM_SANE_FD(d);
	r = __set_region2(fx.p, fx.vm, 0, KVM_MEM_GUEST_MEMFD, GPA0, 2 * MiB,
			  0, (int)g, 0);
	GM_SANE(r);
	GM_SANE(gm_fallocate(fx.p, (int)g, KEEP, 0, 16 * PAGE));
	if (gm_mmap(fx.p, 4 * MiB, RW, GMEM_MAP_SHARED, (int)g, 0, &a) == 0) {
		t_check_hosts("mmap", __FILE__, __LINE__);
		GM_SANE(gm_host_access(fx.p, a + PAGE, GM_ACCESS_WRITE, &b,
				       &sig));
		GM_SANE(gm_host_access(fx.p, a + 20 * PAGE, GM_ACCESS_WRITE,
				       &b, &sig));
	}
	memset(&f, 0, sizeof(f));
	f.gpa = GPA0 + 2 * PAGE;
	f.access = GM_ACCESS_WRITE;
	f.intent = GM_INTENT_DEFAULT;
	GM_SANE(gm_guest_access(fx.p, fx.vm, &f));
	GM_SANE(gm_fallocate(fx.p, (int)g, PUNCH, PAGE, 3 * PAGE));
	if (r == 0)
		GM_SANE(__set_region2(fx.p, fx.vm, 0, KVM_MEM_GUEST_MEMFD, 0,
				      0, 0, -1, 0));
	if (a)
		GM_SANE(gm_munmap(fx.p, a, 4 * MiB));
	if (d >= 0)
		GM_OK(gm_close(fx.p, (int)d));
	GM_OK(gm_close(fx.p, (int)g));
}

static void test_failinject_scenario(void)
{
	struct gm_mem_stats s0, s1, s;
	unsigned long total;

	/* a dry run warms the host up and counts the allocations */
	scenario();
	gm_host_mem_stats(fx.h, &s0);
	scenario();
	gm_host_mem_stats(fx.h, &s1);
	total = s1.nr_allocs - s0.nr_allocs;
	EXPECT_EQ(s1.cur_bytes, s0.cur_bytes);
	CU_ASSERT(total > 0);
	for (unsigned long n = 1; n <= total; n++) {
		gm_host_fail_alloc(fx.h, n);
		scenario();
		gm_host_fail_alloc(fx.h, 0);
		check_host(fx.h);
		gm_host_mem_stats(fx.h, &s);
		if (s.cur_bytes != s0.cur_bytes) {
			char msg[160];

			snprintf(msg, sizeof(msg),
				 "scenario with allocation %lu failing left "
				 "%zu bytes (was %zu)",
				 n, s.cur_bytes, s0.cur_bytes);
			CU_assertImplementation(CU_FALSE, __LINE__, msg,
						__FILE__, "", CU_FALSE);
			break;
		}
	}
}

CU_TestInfo failinject_tests[] = {
	{ "test_failinject_create_gmem", test_failinject_create_gmem },
	{ "test_failinject_create_vm", test_failinject_create_vm },
	{ "test_failinject_bind", test_failinject_bind },
	{ "test_failinject_fallocate", test_failinject_fallocate },
	{ "test_failinject_punch", test_failinject_punch },
	{ "test_failinject_mmap", test_failinject_mmap },
	{ "test_failinject_host_fault", test_failinject_host_fault },
	{ "test_failinject_guest_fault", test_failinject_guest_fault },
	{ "test_failinject_attributes", test_failinject_attributes },
	{ "test_failinject_dup", test_failinject_dup },
	{ "test_failinject_scenario", test_failinject_scenario },
	CU_TEST_INFO_NULL,
};
