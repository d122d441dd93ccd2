// SPDX-License-Identifier: GPL-2.0
/*
 * fallocate: probe A4 (every row and the error-order list); selftest L1-L9
 * and I1 (upstream-semantics §4.1); §3.3.
 *
 * Probe A4 was measured on 4 MiB files with gmem flags 0 and flags 3 ("behave
 * identically"); every gmem row here runs on both.
 *
 * Not expressible: "file not writable -> EBADF" (every model fd is O_RDWR,
 * there is no O_PATH reopen, probe A3); the pending-signal EINTR of §3.3.1.
 */
#include <limits.h>

#include "test_util.h"

#define SZ (4 * MiB)
#define ZERO_RANGE GMEM_FALLOC_FL_ZERO_RANGE
#define COLLAPSE GMEM_FALLOC_FL_COLLAPSE_RANGE
#define INSERT GMEM_FALLOC_FL_INSERT_RANGE
#define UNSHARE GMEM_FALLOC_FL_UNSHARE_RANGE
#define NO_HIDE GMEM_FALLOC_FL_NO_HIDE_STALE
#define WRITE_ZEROES GMEM_FALLOC_FL_WRITE_ZEROES

struct fa_case {
	int mode;
	int64_t off;
	int64_t len;
	int want;
	const char *row;
};

static void run_cases(int fd, const struct fa_case *c, unsigned int n,
		      const char *what)
{
	struct t_tally t = { 0 };

	for (unsigned int i = 0; i < n; i++) {
		long r = gm_fallocate(fx.p, fd, c[i].mode, c[i].off, c[i].len);

		check_host(fx.h);
		t_tally_expect(&t, r, c[i].want,
			       "%s: mode %#x off %#llx len %#llx", c[i].row,
			       c[i].mode, (unsigned long long)c[i].off,
			       (unsigned long long)c[i].len);
	}
	TALLY_DONE(&t, what);
}

static void run_on_both_flags(const struct fa_case *c, unsigned int n,
			      const char *what)
{
	static const uint64_t flags[] = { 0, FL_BOTH };

	for (unsigned int i = 0; i < ARRAY_SIZE(flags); i++) {
		int fd = gmem_create(SZ, flags[i]);

		run_cases(fd, c, n, what);
		/* probe A4: the file size never changes, st_blocks stays 0 */
		EXPECT_EQ(fstat_of(fd).size, SZ);
		EXPECT_EQ(fstat_of(fd).blocks, 0);
		GM_OK(gm_close(fx.p, fd));
	}
}

#define RUN(cases, what) run_on_both_flags(cases, ARRAY_SIZE(cases), what)

/* probe A4: mode 0 (no KEEP_SIZE), any range -> EOPNOTSUPP */
static void test_fallocate_mode0_eopnotsupp(void)
{
	static const struct fa_case c[] = {
		{ 0, 0, PAGE, -EOPNOTSUPP, "A4 mode 0" },
		{ 0, 0, SZ, -EOPNOTSUPP, "A4 mode 0" },
		{ 0, PAGE, PAGE, -EOPNOTSUPP, "A4 mode 0" },
		{ 0, SZ, PAGE, -EOPNOTSUPP, "A4 mode 0" },
		{ 0, 1ULL << 40, PAGE, -EOPNOTSUPP, "A4 mode 0" },
	};

	RUN(c, "mode 0");
}

/* probe A4: KEEP_SIZE aligned inside the size -> 0 */
static void test_fallocate_keep_inside_ok(void)
{
	static const struct fa_case c[] = {
		{ KEEP, 0, PAGE, 0, "A4 KEEP inside" },
		{ KEEP, 0, SZ, 0, "A4 KEEP inside" },
		{ KEEP, SZ - PAGE, PAGE, 0, "A4 KEEP inside" },
		{ KEEP, MiB, 2 * MiB, 0, "A4 KEEP inside" },
	};

	RUN(c, "KEEP inside");
}

/* probe A4: KEEP [size, size+4K), straddling EOF, offset 1<<60 -> EINVAL */
static void test_fallocate_keep_past_eof_einval(void)
{
	static const struct fa_case c[] = {
		{ KEEP, SZ, PAGE, -EINVAL, "A4 KEEP at EOF" },
		{ KEEP, SZ - PAGE, 2 * PAGE, -EINVAL, "A4 KEEP straddling" },
		{ KEEP, 0, SZ + PAGE, -EINVAL, "A4 KEEP straddling" },
		{ KEEP, 1LL << 60, PAGE, -EINVAL, "A4 KEEP 1<<60" },
	};

	RUN(c, "KEEP past EOF");
}

/* probe A4: KEEP offset 1 or len 4097 or len 1 -> EINVAL */
static void test_fallocate_keep_unaligned_einval(void)
{
	static const struct fa_case c[] = {
		{ KEEP, 1, PAGE, -EINVAL, "A4 KEEP offset 1" },
		{ KEEP, 0, 4097, -EINVAL, "A4 KEEP len 4097" },
		{ KEEP, 0, 1, -EINVAL, "A4 KEEP len 1" },
	};

	RUN(c, "KEEP unaligned");
}

/* probe A4: PUNCH|KEEP aligned inside -> 0 */
static void test_fallocate_punch_inside_ok(void)
{
	static const struct fa_case c[] = {
		{ PUNCH, 0, PAGE, 0, "A4 PUNCH inside" },
		{ PUNCH, 0, SZ, 0, "A4 PUNCH inside" },
		{ KEEP, 0, SZ, 0, "allocate first" },
		{ PUNCH, PAGE, 2 * PAGE, 0, "A4 PUNCH inside" },
		{ PUNCH, 0, SZ, 0, "A4 PUNCH inside" },
	};

	RUN(c, "PUNCH inside");
}

/* probe A4: PUNCH|KEEP past EOF / straddling / at 1<<40 -> 0 (no EOF check) */
static void test_fallocate_punch_past_eof_ok(void)
{
	static const struct fa_case c[] = {
		{ PUNCH, SZ, PAGE, 0, "A4 PUNCH past EOF" },
		{ PUNCH, 2 * SZ, PAGE, 0, "A4 PUNCH past EOF" },
		{ PUNCH, SZ - PAGE, 2 * PAGE, 0, "A4 PUNCH straddling" },
		{ PUNCH, 0, 2 * SZ, 0, "A4 PUNCH straddling" },
		{ PUNCH, 1LL << 40, PAGE, 0, "A4 PUNCH at 1<<40" },
		{ PUNCH, 1LL << 62, 1LL << 40, 0, "A4 PUNCH far past EOF" },
	};

	RUN(c, "PUNCH past EOF");
}

/* probe A4: PUNCH|KEEP unaligned offset or len -> EINVAL */
static void test_fallocate_punch_unaligned_einval(void)
{
	static const struct fa_case c[] = {
		{ PUNCH, 1, PAGE, -EINVAL, "A4 PUNCH unaligned offset" },
		{ PUNCH, PAGE, 1, -EINVAL, "A4 PUNCH unaligned len" },
		{ PUNCH, PAGE + 512, PAGE, -EINVAL, "A4 PUNCH unaligned" },
		{ PUNCH, SZ + 1, PAGE, -EINVAL, "A4 PUNCH unaligned past EOF" },
	};

	RUN(c, "PUNCH unaligned");
}

/* probe A4: PUNCH without KEEP_SIZE -> EOPNOTSUPP */
static void test_fallocate_punch_without_keep_eopnotsupp(void)
{
	static const struct fa_case c[] = {
		{ GMEM_FALLOC_FL_PUNCH_HOLE, 0, PAGE, -EOPNOTSUPP, "A4" },
		{ GMEM_FALLOC_FL_PUNCH_HOLE, SZ, PAGE, -EOPNOTSUPP, "A4" },
	};

	RUN(c, "PUNCH without KEEP");
}

/*
 * probe A4: ZERO_RANGE, COLLAPSE_RANGE, INSERT_RANGE, UNSHARE_RANGE,
 * NO_HIDE_STALE, WRITE_ZEROES, each with and without KEEP -> EOPNOTSUPP
 */
static void test_fallocate_other_modes_eopnotsupp(void)
{
	static const int modes[] = {
		ZERO_RANGE, COLLAPSE, INSERT, UNSHARE, NO_HIDE, WRITE_ZEROES,
	};
	struct fa_case c[2 * ARRAY_SIZE(modes)];

	for (unsigned int i = 0; i < ARRAY_SIZE(modes); i++) {
		c[2 * i] = (struct fa_case){ modes[i], 0, PAGE, -EOPNOTSUPP,
					     "A4 other mode" };
		c[2 * i + 1] = (struct fa_case){ modes[i] | KEEP, 0, PAGE,
						 -EOPNOTSUPP,
						 "A4 other mode|KEEP" };
	}
	RUN(c, "other modes");
}

/* probe A4: KEEP|0x100 (unknown bit), mode -1 -> EOPNOTSUPP */
static void test_fallocate_unknown_mode_bits_eopnotsupp(void)
{
	static const struct fa_case c[] = {
		{ KEEP | 0x100, 0, PAGE, -EOPNOTSUPP, "A4 KEEP|0x100" },
		{ -1, 0, PAGE, -EOPNOTSUPP, "A4 mode -1" },
		{ PUNCH | 0x100, 0, PAGE, -EOPNOTSUPP, "A4 PUNCH|0x100" },
	};

	RUN(c, "unknown mode bits");
}

/* probe A4: len 0, len -4096, offset -4096 -> EINVAL */
static void test_fallocate_bad_offset_len_einval(void)
{
	static const struct fa_case c[] = {
		{ KEEP, 0, 0, -EINVAL, "A4 len 0" },
		{ KEEP, 0, -4096, -EINVAL, "A4 len -4096" },
		{ KEEP, -4096, PAGE, -EINVAL, "A4 offset -4096" },
		{ PUNCH, 0, 0, -EINVAL, "A4 len 0" },
		{ PUNCH, 0, -4096, -EINVAL, "A4 len -4096" },
		{ PUNCH, -4096, PAGE, -EINVAL, "A4 offset -4096" },
	};

	RUN(c, "bad offset/len");
}

/* probe A4: offset+len overflows (LLONG_MAX-4095, 8192) -> EFBIG */
static void test_fallocate_overflow_efbig(void)
{
	static const struct fa_case c[] = {
		{ KEEP, LLONG_MAX - 4095, 8192, -EFBIG, "A4 overflow" },
		{ PUNCH, LLONG_MAX - 4095, 8192, -EFBIG, "A4 overflow" },
		{ KEEP, LLONG_MAX, LLONG_MAX, -EFBIG, "A4 overflow" },
	};

	RUN(c, "overflow");
}

/*
 * probe A4 error order: (1) VFS offset<0 || len<=0 -> EINVAL first, also
 * with an unknown mode bit; (2) unknown bits / PUNCH without KEEP ->
 * EOPNOTSUPP, even unaligned; (3) overflow -> EFBIG, even unaligned;
 * (4) gmem: no KEEP -> EOPNOTSUPP, then alignment -> EINVAL, then (allocate
 * only) offset+len > size -> EINVAL.
 */
static void test_fallocate_error_order(void)
{
	static const struct fa_case c[] = {
		{ 0x100, 0, 0, -EINVAL, "A4 order 1: mode 0x100 len 0" },
		{ -1, -4096, PAGE, -EINVAL, "A4 order 1: mode -1 offset <0" },
		{ ZERO_RANGE, 0, -1, -EINVAL, "A4 order 1: ZERO_RANGE len<0" },
		{ GMEM_FALLOC_FL_PUNCH_HOLE, 1, PAGE, -EOPNOTSUPP,
		  "A4 order 2: PUNCH w/o KEEP, offset 1" },
		{ GMEM_FALLOC_FL_PUNCH_HOLE, 0, 1, -EOPNOTSUPP,
		  "A4 order 2: PUNCH w/o KEEP, len 1" },
		{ KEEP | 0x100, 1, 1, -EOPNOTSUPP,
		  "A4 order 2: unknown bit, unaligned" },
		{ GMEM_FALLOC_FL_PUNCH_HOLE, LLONG_MAX - 4095, 8192,
		  -EOPNOTSUPP, "A4 order 2 before 3: PUNCH w/o KEEP overflow" },
		{ KEEP, LLONG_MAX - 4095, 8193, -EFBIG,
		  "A4 order 3: overflow, unaligned len" },
		{ PUNCH, LLONG_MAX - 4094, 8192, -EFBIG,
		  "A4 order 3: overflow, unaligned offset" },
		{ 0, LLONG_MAX - 4095, 8192, -EFBIG,
		  "A4 order 3 before 4: mode 0 overflow" },
		{ 0, 1, PAGE, -EOPNOTSUPP, "A4 order 4: mode 0 offset 1" },
		{ 0, 0, 1, -EOPNOTSUPP, "A4 order 4: mode 0 len 1" },
		{ KEEP, SZ + 1, PAGE, -EINVAL, "A4 order 4: unaligned past EOF" },
		{ KEEP, SZ, PAGE, -EINVAL, "A4 order 4: aligned past EOF" },
	};

	RUN(c, "error order");
}

/* selftest L1-L9 on a 4*PAGE file, every flags set */
static void test_fallocate_selftest_l_rows(void)
{
	static const struct fa_case c[] = {
		{ KEEP, 0, 4 * PAGE, 0, "L1" },
		{ PUNCH, PAGE - 1, PAGE, -EINVAL, "L2" },
		{ KEEP, 4 * PAGE, PAGE, -EINVAL, "L3" },
		{ KEEP, 5 * PAGE, PAGE, -EINVAL, "L4" },
		{ PUNCH, 4 * PAGE, PAGE, 0, "L5" },
		{ PUNCH, 5 * PAGE, PAGE, 0, "L6" },
		{ PUNCH, PAGE, PAGE - 1, -EINVAL, "L7" },
		{ PUNCH, PAGE, PAGE, 0, "L8" },
		{ KEEP, PAGE, PAGE, 0, "L9" },
	};
	static const uint64_t flags[] = { 0, FL_MMAP, FL_BOTH };

	for (unsigned int i = 0; i < ARRAY_SIZE(flags); i++) {
		int fd = gmem_create(4 * PAGE, flags[i]);

		run_cases(fd, c, ARRAY_SIZE(c), "selftest L rows");
		GM_OK(gm_close(fx.p, fd));
	}
}

/* selftest I1: invalid punch (offset, len) pairs -> EINVAL each */
static void test_fallocate_selftest_invalid_punch(void)
{
	static const struct fa_case c[] = {
		{ PUNCH, 0, 1, -EINVAL, "I1" },
		{ PUNCH, 0, PAGE - 1, -EINVAL, "I1" },
		{ PUNCH, 0, PAGE + 1, -EINVAL, "I1" },
		{ PUNCH, 1, 1, -EINVAL, "I1" },
		{ PUNCH, 1, PAGE - 1, -EINVAL, "I1" },
		{ PUNCH, 1, PAGE, -EINVAL, "I1" },
		{ PUNCH, 1, PAGE + 1, -EINVAL, "I1" },
		{ PUNCH, PAGE, 1, -EINVAL, "I1" },
		{ PUNCH, PAGE, PAGE - 1, -EINVAL, "I1" },
		{ PUNCH, PAGE, PAGE + 1, -EINVAL, "I1" },
	};
	static const uint64_t flags[] = { 0, FL_MMAP, FL_BOTH };

	for (unsigned int i = 0; i < ARRAY_SIZE(flags); i++) {
		int fd = gmem_create(4 * PAGE, flags[i]);

		run_cases(fd, c, ARRAY_SIZE(c), "selftest I1");
		GM_OK(gm_close(fx.p, fd));
	}
}

/*
 * §3.3.1: allocation creates folios that are present but not uptodate
 * (PRESENT_STALE, §2.2); probe A5: they stay invisible to mincore.
 */
static void test_fallocate_allocates_stale_folios(void)
{
	int fd = gmem_create(SZ, FL_BOTH);
	struct gm_gmem_info i;

	GM_OK(gm_fallocate(fx.p, fd, KEEP, PAGE, 2 * PAGE));
	i = gmem_info(fd);
	EXPECT_EQ(i.nr_present, 2);
	EXPECT_EQ(i.nr_uptodate, 0);
	EXPECT_EQ(folio_flags(fd, 0), 0);
	EXPECT_EQ(folio_flags(fd, 1), GM_FOLIO_PRESENT);
	EXPECT_EQ(folio_flags(fd, 2), GM_FOLIO_PRESENT);
	EXPECT_EQ(folio_flags(fd, 3), 0);
	/* allocating again leaves the folios alone */
	GM_OK(gm_fallocate(fx.p, fd, KEEP, 0, 4 * PAGE));
	EXPECT_EQ(gmem_info(fd).nr_present, 4);
	GM_OK(gm_close(fx.p, fd));
}

/* §3.3.2: punch removes the folios of the range (-> ABSENT) and only them */
static void test_fallocate_punch_removes_folios(void)
{
	int fd = gmem_create(SZ, 0);

	GM_OK(gm_fallocate(fx.p, fd, KEEP, 0, 8 * PAGE));
	GM_OK(gm_fallocate(fx.p, fd, PUNCH, 2 * PAGE, 3 * PAGE));
	EXPECT_EQ(gmem_info(fd).nr_present, 5);
	for (uint64_t idx = 0; idx < 8; idx++)
		EXPECT_EQ(folio_flags(fd, idx),
			  idx >= 2 && idx < 5 ? 0 : GM_FOLIO_PRESENT);
	GM_OK(gm_fallocate(fx.p, fd, PUNCH, 0, SZ));
	EXPECT_EQ(gmem_info(fd).nr_present, 0);
	GM_OK(gm_close(fx.p, fd));
}

/*
 * probe A4, memfd (shmem) column, for comparison: the same calls that fail
 * on guest_memfd succeed on a memfd (mode 0, KEEP past EOF, unaligned
 * punch); the VFS-level failures are shared.
 */
static void test_fallocate_memfd_column(void)
{
	static const struct fa_case c[] = {
		{ 0, 0, PAGE, 0, "A4 memfd mode 0" },
		{ KEEP, 0, PAGE, 0, "A4 memfd KEEP inside" },
		{ KEEP, SZ, PAGE, 0, "A4 memfd KEEP at EOF" },
		{ KEEP, 1, PAGE, 0, "A4 memfd KEEP offset 1" },
		{ KEEP, 0, 1, 0, "A4 memfd KEEP len 1" },
		{ PUNCH, 0, PAGE, 0, "A4 memfd PUNCH inside" },
		{ PUNCH, 1LL << 40, PAGE, 0, "A4 memfd PUNCH at 1<<40" },
		{ PUNCH, 1, PAGE, 0, "A4 memfd PUNCH unaligned" },
		{ GMEM_FALLOC_FL_PUNCH_HOLE, 0, PAGE, -EOPNOTSUPP,
		  "A4 memfd PUNCH w/o KEEP" },
		{ ZERO_RANGE, 0, PAGE, -EOPNOTSUPP, "A4 memfd ZERO_RANGE" },
		{ KEEP | 0x100, 0, PAGE, -EOPNOTSUPP, "A4 memfd unknown bit" },
		{ KEEP, 0, 0, -EINVAL, "A4 memfd len 0" },
		{ KEEP, -4096, PAGE, -EINVAL, "A4 memfd offset -4096" },
		{ KEEP, LLONG_MAX - 4095, 8192, -EFBIG, "A4 memfd overflow" },
	};
	int fd = GM_FD(gm_memfd_create(fx.p, SZ));

	run_cases(fd, c, ARRAY_SIZE(c), "memfd column");
	GM_OK(gm_close(fx.p, fd));
}

/* [VFS] fallocate on an fd that is not open -> EBADF */
static void test_fallocate_bad_fd_ebadf(void)
{
	GM_ERR(gm_fallocate(fx.p, 999, KEEP, 0, PAGE), -EBADF);
	GM_ERR(gm_fallocate(fx.p, -1, KEEP, 0, PAGE), -EBADF);
}

CU_TestInfo fallocate_tests[] = {
	{ "test_fallocate_mode0_eopnotsupp", test_fallocate_mode0_eopnotsupp },
	{ "test_fallocate_keep_inside_ok", test_fallocate_keep_inside_ok },
	{ "test_fallocate_keep_past_eof_einval",
	  test_fallocate_keep_past_eof_einval },
	{ "test_fallocate_keep_unaligned_einval",
	  test_fallocate_keep_unaligned_einval },
	{ "test_fallocate_punch_inside_ok", test_fallocate_punch_inside_ok },
	{ "test_fallocate_punch_past_eof_ok",
	  test_fallocate_punch_past_eof_ok },
	{ "test_fallocate_punch_unaligned_einval",
	  test_fallocate_punch_unaligned_einval },
	{ "test_fallocate_punch_without_keep_eopnotsupp",
	  test_fallocate_punch_without_keep_eopnotsupp },
	{ "test_fallocate_other_modes_eopnotsupp",
	  test_fallocate_other_modes_eopnotsupp },
	{ "test_fallocate_unknown_mode_bits_eopnotsupp",
	  test_fallocate_unknown_mode_bits_eopnotsupp },
	{ "test_fallocate_bad_offset_len_einval",
	  test_fallocate_bad_offset_len_einval },
	{ "test_fallocate_overflow_efbig", test_fallocate_overflow_efbig },
	{ "test_fallocate_error_order", test_fallocate_error_order },
	{ "test_fallocate_selftest_l_rows", test_fallocate_selftest_l_rows },
	{ "test_fallocate_selftest_invalid_punch",
	  test_fallocate_selftest_invalid_punch },
	{ "test_fallocate_allocates_stale_folios",
	  test_fallocate_allocates_stale_folios },
	{ "test_fallocate_punch_removes_folios",
	  test_fallocate_punch_removes_folios },
	{ "test_fallocate_memfd_column", test_fallocate_memfd_column },
	{ "test_fallocate_bad_fd_ebadf", test_fallocate_bad_fd_ebadf },
	CU_TEST_INFO_NULL,
};
