// SPDX-License-Identifier: GPL-2.0
/*
 * sim_threads suite: trace threads on the sim backend (docs/sim.md,
 * "Trace threads" and "Stage-2 cache").
 *
 * Each case replays a small trace on backend_sim_ops and requires every
 * expectation to pass.  The expectations follow the in-place conversion
 * series (../shared/spec/inflight-series.md): a host access to a private
 * page of a guest_memfd is SIGBUS, a SW_PROTECTED VM keeps a page's bytes
 * across conversions, a vCPU access whose intent does not match the
 * attributes exits to userspace (KVM_EXIT_MEMORY_FAULT).  The counters of
 * backend_sim_counters() show what ran where: ops on trace threads, guest
 * accesses on real memory, stage-2 cache hits and invalidations.  Without
 * userfaultfd the sim runs model-only; the cases then print SKIP.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "backend.h"
#include "replay.h"
#include "sim.h"
#include "trace.h"

/* Can the sim use real memory here?  Else print why and skip. */
static bool st_usable(const char *name)
{
	struct sim_uffd u;
	char why[256];

	if (sim_uffd_open(&u, false, why, sizeof(why))) {
		printf("\n  SKIP %s: %s ", name, why);
		return false;
	}
	sim_uffd_close(&u);
	return true;
}

/*
 * Replay @text on the sim; returns the number of failed expectations
 * (-1 when the trace does not parse) and adds the counters' growth to
 * @delta.
 */
static long st_replay(const char *name, const char *text, unsigned long *passed,
		      struct backend_sim_counters *delta)
{
	struct backend_sim_counters a, b;
	struct replay_stats st;
	struct replay_opts o;
	struct trace *t;

	t = trace_parse(name, text, strlen(text));
	if (!t)
		return -1;
	if (t->nr_errors) {
		trace_free(t);
		return -1;
	}
	memset(&st, 0, sizeof(st));
	memset(&o, 0, sizeof(o));
	o.out = stderr;
	backend_sim_counters(&a);
	replay_trace(t, &backend_sim_ops, &o, &st);
	backend_sim_counters(&b);
	trace_free(t);
	if (passed)
		*passed = st.passed;
	if (delta) {
		delta->thread_ops += b.thread_ops - a.thread_ops;
		delta->guest_real += b.guest_real - a.guest_real;
		delta->s2_hits += b.s2_hits - a.s2_hits;
		delta->s2_fills += b.s2_fills - a.s2_fills;
		delta->s2_stale += b.s2_stale - a.s2_stale;
		delta->retries += b.retries - a.retries;
		delta->mismatches += b.mismatches - a.mismatches;
		delta->converted_pages += b.converted_pages - a.converted_pages;
		delta->adopted += b.adopted - a.adopted;
	}
	return (long)st.failed + (long)st.skipped;
}

#define ST_HEADER                                                       \
	"gmemtrace 1 profile=inplace vm_types=default,sw_protected%s\n" \
	"vm sp type=sw_protected -> ok\n"                               \
	"gmem g sp size=64K flags=mmap|init_shared -> ok\n"             \
	"mmap m g 0+64K -> ok\n"                                        \
	"memslot s sp gpa=4G size=64K gmem=g offset=0 -> ok\n"

/*
 * Ordered mode: every prefixed op -- host accesses and conversions too --
 * runs on its trace thread, and results keep the trace's order.  A host
 * load on thread 1 of a page that thread 2 made private faults SIGBUS in
 * thread 1.
 */
static void test_ordered_ops_on_threads(void)
{
	struct backend_sim_counters d = { 0 };
	unsigned long passed = 0;
	char text[2048];

	if (!st_usable("ordered_ops_on_threads"))
		return;
	snprintf(text, sizeof(text),
		 ST_HEADER "@t1 write m 0x10 byte=0x21 -> ok\n"
			   "@t0 guest sp 0x100000010 r -> ok byte=0x21\n"
			   "@t2 convert g 0+4K private -> ok\n"
			   "@t1 read m 0x10 -> SIGBUS\n"
			   "@t0 guest sp 0x100000010 r -> ok byte=0x21\n"
			   "@t0 guest sp 0x100000010 r shared -> exit\n"
			   "@t2 convert g 0+4K shared -> ok\n"
			   "@t1 read m 0x10 -> ok byte=0x21\n"
			   "@t0 guest sp 0x100000010 w byte=0x22 -> ok\n"
			   "read m 0x10 -> ok byte=0x22\n"
			   "check -> ok\n",
		 "");
	CU_ASSERT_EQUAL(st_replay("st_ordered", text, &passed, &d), 0);
	CU_ASSERT_EQUAL(passed, 15);
	CU_ASSERT_EQUAL(d.thread_ops, 9);
	/* guest loads and the store reached the memfd through the alias */
	CU_ASSERT_EQUAL(d.guest_real, 3);
	CU_ASSERT_EQUAL(d.mismatches, 0);
}

/*
 * Concurrent mode, deterministic by construction: vCPU threads 0 and 1
 * each store and load their own page while thread 2 converts a third page
 * back and forth; every result holds in any interleaving.  After the
 * barrier the host sees each thread's last store.
 */
static void test_concurrent_disjoint(void)
{
	struct backend_sim_counters d = { 0 };
	unsigned long passed = 0, want;
	size_t len, cap = 64 * 1024;
	char *text;
	int i;

	if (!st_usable("concurrent_disjoint"))
		return;
	text = malloc(cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	len = (size_t)snprintf(text, cap, ST_HEADER, " threads=concurrent");
	for (i = 0; i < 100; i++)
		len += (size_t)snprintf(
			text + len, cap - len,
			"@t0 guest sp 0x100000010 w byte=%d -> ok\n"
			"@t0 guest sp 0x100000010 r -> ok byte=%d\n"
			"@t1 guest sp 0x100001020 w byte=%d -> ok\n"
			"@t1 guest sp 0x100001020 r -> ok byte=%d\n"
			"@t2 convert g 0x2000+4K %s -> ok\n",
			i + 1, i + 1, 200 - i, 200 - i,
			i % 2 ? "shared" : "private");
	len += (size_t)snprintf(text + len, cap - len,
				"barrier -> ok\n"
				"read m 0x10 -> ok byte=100\n"
				"read m 0x1020 -> ok byte=101\n"
				"state g 0x2000+4K -> shared\n"
				"check -> ok\n");
	CU_ASSERT_FATAL(len < cap);
	want = 4 + 500 + 5;
	CU_ASSERT_EQUAL(st_replay("st_disjoint", text, &passed, &d), 0);
	CU_ASSERT_EQUAL(passed, want);
	CU_ASSERT_EQUAL(d.thread_ops, 500);
	CU_ASSERT_EQUAL(d.guest_real, 400);
	CU_ASSERT_EQUAL(d.mismatches, 0);
	free(text);
}

/*
 * Concurrent mode, racing: thread 0 loads, with a shared intent, the page
 * thread 2 converts.  Each load either completes with the page's bytes
 * (kept across conversions on SW_PROTECTED) or exits when the page is
 * private at that moment: the expectation lists both.  Faults that raced
 * an invalidation were retried (counted, not asserted: it depends on the
 * scheduler).
 */
static void test_concurrent_race(void)
{
	struct backend_sim_counters d = { 0 };
	unsigned long passed = 0;
	size_t len, cap = 64 * 1024;
	char *text;
	int i;

	if (!st_usable("concurrent_race"))
		return;
	text = malloc(cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	len = (size_t)snprintf(text, cap,
			       ST_HEADER "write m 0x2030 byte=0x33 -> ok\n",
			       " threads=concurrent");
	for (i = 0; i < 200; i++)
		len += (size_t)snprintf(
			text + len, cap - len,
			"@t0 guest sp 0x100002030 r shared -> ok byte=0x33 | "
			"exit\n"
			"@t1 guest sp 0x100002030 r -> ok byte=0x33\n"
			"@t2 convert g 0x2000+4K %s -> ok\n",
			i % 2 ? "shared" : "private");
	len += (size_t)snprintf(text + len, cap - len,
				"barrier -> ok\n"
				"read m 0x2030 -> ok byte=0x33\n"
				"check -> ok\n");
	CU_ASSERT_FATAL(len < cap);
	CU_ASSERT_EQUAL(st_replay("st_race", text, &passed, &d), 0);
	CU_ASSERT_EQUAL(passed, 5 + 600 + 3);
	CU_ASSERT_EQUAL(d.mismatches, 0);
	printf("(%lu retries) ", d.retries);
	free(text);
}

/*
 * The stage-2 cache follows the VM's invalidation sequence: a host store
 * (no invalidation) keeps the entry, so the next load hits; a conversion
 * of another page bumps mmu_invalidate_seq and drops it; a memslot update
 * bumps the generation and drops it.
 */
static void test_s2_cache_seq(void)
{
	struct backend_sim_counters d = { 0 };
	unsigned long passed = 0;
	char text[2048];

	if (!st_usable("s2_cache_seq"))
		return;
	snprintf(text, sizeof(text),
		 ST_HEADER
		 "@t0 guest sp 0x100000010 w byte=0x31 -> ok\n" /* fill */
		 "write m 0x1010 byte=0x44 -> ok\n"
		 "@t0 guest sp 0x100000010 r -> ok byte=0x31\n" /* hit */
		 "convert g 0x3000+4K private -> ok\n"
		 "@t0 guest sp 0x100000010 r -> ok byte=0x31\n" /* stale */
		 "@t0 guest sp 0x100000010 r -> ok byte=0x31\n" /* hit */
		 "memslot_delete s -> ok\n"
		 "memslot s2 sp gpa=4G size=8K gmem=g offset=4K -> ok\n"
		 "@t0 guest sp 0x100000010 r -> ok byte=0x44\n" /* stale */
		 "check -> ok\n",
		 "");
	CU_ASSERT_EQUAL(st_replay("st_s2_seq", text, &passed, &d), 0);
	CU_ASSERT_EQUAL(passed, 14);
	CU_ASSERT_EQUAL(d.s2_hits, 2);
	CU_ASSERT_EQUAL(d.s2_stale, 2);
	CU_ASSERT_EQUAL(d.s2_fills, 3);
	CU_ASSERT_EQUAL(d.mismatches, 0);
}

/*
 * Fault injection: with GMEMSIM_SIM_S2_KEEP=1 cache entries survive
 * invalidations.  After the memslot moves the gfn to another file page the
 * stale entry must be caught (the load fails EUCLEAN), and after a
 * conversion zapped the model's mapping the entry must be reported as a
 * mapping the model no longer has.
 */
static void test_s2_missed_invalidation(void)
{
	struct backend_sim_counters d = { 0 };
	unsigned long passed = 0;
	char text[2048];
	long failed;

	if (!st_usable("s2_missed_invalidation"))
		return;
	snprintf(text, sizeof(text),
		 ST_HEADER
		 "write m 0x1010 byte=0x44 -> ok\n"
		 "@t0 guest sp 0x100000010 w byte=0x31 -> ok\n"
		 "memslot_delete s -> ok\n"
		 "memslot s2 sp gpa=4G size=8K gmem=g offset=4K -> ok\n"
		 "@t0 guest sp 0x100000010 r -> ok byte=0x44\n"
		 "@t0 guest sp 0x100001010 r -> ok byte=0x00\n"
		 "convert g 0x2000+4K private -> ok\n"
		 "convert g 0x2000+4K shared -> ok\n"
		 "@t0 guest sp 0x100001010 r -> ok byte=0x00\n",
		 "");
	setenv("GMEMSIM_SIM_S2_KEEP", "1", 1);
	failed = st_replay("st_s2_keep", text, &passed, &d);
	unsetenv("GMEMSIM_SIM_S2_KEEP");
	CU_ASSERT_EQUAL(failed, 2);
	CU_ASSERT_EQUAL(passed, 11);
	CU_ASSERT_EQUAL(d.mismatches, 2);
}

/*
 * TDX and SNP change the bytes of a page whose attribute changes, and only
 * those (inflight-series.md §6.1.9, §6.1.3): after each real conversion
 * the sim checks the platform rule on the memfd's old bytes and takes the
 * model's, so later loads are exact -- no byte is adopted.  TDX: a
 * converted page reads zero (the model's content rule; the trace does not
 * assert SNP's ciphertext, which is undefined).
 */
static void test_tdx_snp_contents(void)
{
	struct backend_sim_counters d = { 0 };
	unsigned long passed = 0;
	char text[2048];

	if (!st_usable("tdx_snp_contents"))
		return;
	snprintf(text, sizeof(text),
		 "gmemtrace 1 profile=inplace vm_types=tdx,snp\n"
		 "vm td type=tdx -> ok\n"
		 "gmem t td size=16K flags=mmap|init_shared -> ok\n"
		 "mmap mt t 0+16K -> ok\n"
		 "write mt 0x10 byte=0x11 -> ok\n"
		 "write mt 0x1010 byte=0x12 -> ok\n"
		 "convert t 0+4K shared -> ok\n" /* no-op */
		 "read mt 0x10 -> ok byte=0x11\n"
		 "convert t 0+8K private -> ok\n"
		 "convert t 0+4K shared -> ok\n"
		 "read mt 0x10 -> ok byte=0x00\n"
		 "vm sn type=snp -> ok\n"
		 "gmem n sn size=16K flags=mmap|init_shared -> ok\n"
		 "mmap mn n 0+16K -> ok\n"
		 "write mn 0x20 byte=0x21 -> ok\n"
		 "convert n 0+4K private -> ok\n"
		 "convert n 0+4K shared -> ok\n"
		 "read mn 0x20 -> ok\n"
		 "read mn 0x1020 -> ok byte=0x00\n"
		 "check -> ok\n");
	CU_ASSERT_EQUAL(st_replay("st_tdx_snp", text, &passed, &d), 0);
	CU_ASSERT_EQUAL(passed, 19);
	/* TDX: pages 0 and 1 zeroed once; SNP: page 0 scrambled twice */
	CU_ASSERT_EQUAL(d.converted_pages, 4);
	CU_ASSERT_EQUAL(d.adopted, 0);
	CU_ASSERT_EQUAL(d.mismatches, 0);
}

CU_TestInfo sim_threads_tests[] = {
	{ "ordered_ops_on_threads", test_ordered_ops_on_threads },
	{ "concurrent_disjoint", test_concurrent_disjoint },
	{ "concurrent_race", test_concurrent_race },
	{ "s2_cache_seq", test_s2_cache_seq },
	{ "s2_missed_invalidation", test_s2_missed_invalidation },
	{ "tdx_snp_contents", test_tdx_snp_contents },
	CU_TEST_INFO_NULL,
};
