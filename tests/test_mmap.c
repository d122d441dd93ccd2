// SPDX-License-Identifier: GPL-2.0
/*
 * mmap, host faults, madvise and mincore: probe A5, A6, A7, A8; selftest
 * N1, C1, P1, U1-U3, O1, H1-H4 (upstream-semantics §4.1); §3.5, §3.6, §3.8.
 *
 * Rows not expressible with the model API, and why:
 *  - probe A6/A8 mprotect(PROT_READ|PROT_EXEC) -> EACCES, mprotect RO then
 *    write, mremap (shrink/grow/DONTUNMAP/duplicate), mlock / mlock2,
 *    msync, MADV_GUARD_INSTALL/REMOVE, mbind: no such entry points.
 *  - probe A7 "mremap-grown tail": no mremap (the oversize-mapping tail
 *    row stands for it).
 *  - probe A5 /proc/meminfo Unevictable/Shmem and PAGEMAP_SCAN: no procfs.
 *  - probe A7 SIGBUS si_code (BUS_ADRERR): the model reports the signal
 *    number only.
 *  - selftest B1-B4, A1-A2 (NUMA mbind/get_mempolicy): skipped by the
 *    brief (single-node model, no mbind entry point).
 */
#include <string.h>

#include "test_util.h"

#define MAP_SH GMEM_MAP_SHARED
#define MAP_PRIV GMEM_MAP_PRIVATE

/* probe A6: flags 0 or 2: mmap (shared or private) -> ENODEV; selftest N1 */
static void test_mmap_without_mmap_flag_enodev(void)
{
	static const uint64_t flags[] = { 0, FL_SHARED };
	static const int mflags[] = { MAP_SH, MAP_PRIV,
				      GMEM_MAP_SHARED_VALIDATE };

	for (unsigned int i = 0; i < ARRAY_SIZE(flags); i++) {
		int fd = gmem_create(2 * MiB, flags[i]);

		for (unsigned int j = 0; j < ARRAY_SIZE(mflags); j++) {
			uint64_t a = 0;

			/* selftest N1: PAGE and 4*PAGE */
			GM_ERR(__map(fx.p, PAGE, RW, mflags[j], fd, 0, &a),
			       -ENODEV);
			GM_ERR(__map(fx.p, 4 * PAGE, RW, mflags[j], fd, 0, &a),
			       -ENODEV);
		}
		GM_OK(gm_close(fx.p, fd));
	}
}

/* probe A6: flags 1/3: MAP_PRIVATE (RW or RO) -> EINVAL; selftest C1 */
static void test_mmap_private_einval(void)
{
	static const uint64_t flags[] = { FL_MMAP, FL_BOTH };

	for (unsigned int i = 0; i < ARRAY_SIZE(flags); i++) {
		int fd = gmem_create(2 * MiB, flags[i]);
		uint64_t a = 0;

		GM_ERR(__map(fx.p, 4 * PAGE, RW, MAP_PRIV, fd, 0, &a), -EINVAL);
		GM_ERR(__map(fx.p, 4 * PAGE, GMEM_PROT_READ, MAP_PRIV, fd, 0,
			     &a),
		       -EINVAL);
		GM_OK(gm_close(fx.p, fd));
	}
}

/* probe A6: flags 3: MAP_SHARED, MAP_SHARED_VALIDATE, PROT_NONE -> ok */
static void test_mmap_shared_variants_ok(void)
{
	static const struct {
		int prot;
		int flags;
	} c[] = {
		{ RW, MAP_SH },
		{ RW, GMEM_MAP_SHARED_VALIDATE },
		{ GMEM_PROT_NONE, MAP_SH },
		{ GMEM_PROT_READ, MAP_SH },
	};
	int fd = gmem_create(2 * MiB, FL_BOTH);

	for (unsigned int i = 0; i < ARRAY_SIZE(c); i++) {
		uint64_t a = 0;

		GM_OK(__map(fx.p, 2 * MiB, c[i].prot, c[i].flags, fd, 0, &a));
		CU_ASSERT(a != 0 && (a & (PAGE - 1)) == 0);
		GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	}
	GM_OK(gm_close(fx.p, fd));
}

/* probe A6: MAP_SHARED_VALIDATE|MAP_SYNC -> EOPNOTSUPP */
static void test_mmap_map_sync_eopnotsupp(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = 0;

	GM_ERR(__map(fx.p, 2 * MiB, RW,
		     GMEM_MAP_SHARED_VALIDATE | GMEM_MAP_SYNC, fd, 0, &a),
	       -EOPNOTSUPP);
	GM_OK(gm_close(fx.p, fd));
}

/* probe A6: PROT_EXEC at mmap -> EPERM (noexec mount, §3.5 step 0) */
static void test_mmap_prot_exec_eperm(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = 0;

	GM_ERR(__map(fx.p, 2 * MiB, RW | GMEM_PROT_EXEC, MAP_SH, fd, 0, &a),
	       -EPERM);
	GM_ERR(__map(fx.p, 2 * MiB, GMEM_PROT_READ | GMEM_PROT_EXEC, MAP_SH,
		     fd, 0, &a),
	       -EPERM);
	GM_OK(gm_close(fx.p, fd));
}

/* probe A6: offset 1 -> EINVAL */
static void test_mmap_unaligned_offset_einval(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = 0;

	GM_ERR(__map(fx.p, PAGE, RW, MAP_SH, fd, 1, &a), -EINVAL);
	GM_ERR(__map(fx.p, PAGE, RW, MAP_SH, fd, PAGE + 1, &a), -EINVAL);
	GM_OK(gm_close(fx.p, fd));
}

/*
 * probe A6: offset 4096, offset == size, 1 GiB, 1<<62 -> ok; length 4 MiB
 * on a 2 MiB file -> ok: mmap does not check the size (§3.5 step 3)
 */
static void test_mmap_no_size_check(void)
{
	static const uint64_t offs[] = { 4096, 2 * MiB, GiB, 1ULL << 62 };
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(offs); i++) {
		GM_OK(__map(fx.p, 2 * MiB, RW, MAP_SH, fd, offs[i], &a));
		GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	}
	GM_OK(__map(fx.p, 4 * MiB, RW, MAP_SH, fd, 0, &a));
	GM_OK(gm_munmap(fx.p, a, 4 * MiB));
	GM_OK(gm_close(fx.p, fd));
}

/* probe A6: MAP_POPULATE on flags 1 -> ok (errors ignored), nothing populated */
static void test_mmap_populate_flags1_populates_nothing(void)
{
	int fd = gmem_create(2 * MiB, FL_MMAP);
	unsigned char vec[16];
	uint64_t a = 0;

	GM_OK(__map(fx.p, 16 * PAGE, RW, MAP_SH | GMEM_MAP_POPULATE, fd, 0,
		    &a));
	EXPECT_EQ(gmem_info(fd).nr_uptodate, 0);
	memset(vec, 0xff, sizeof(vec));
	GM_OK(gm_mincore(fx.p, a, 16 * PAGE, vec));
	for (unsigned int i = 0; i < 16; i++)
		EXPECT_EQ(vec[i] & 1, 0);
	GM_OK(gm_munmap(fx.p, a, 16 * PAGE));
	GM_OK(gm_close(fx.p, fd));
}

/*
 * probe A7: flags 1 (MMAP only): read or write any page, also after
 * fallocate -> SIGBUS; selftest P1: memset SIGBUSes on the first byte,
 * reading byte 0 SIGBUSes, accessible size 0.
 */
static void test_fault_private_sigbus(void)
{
	int fd = gmem_create(4 * PAGE, FL_MMAP);
	uint64_t a = map_shared(fd, 4 * PAGE, 0);
	uint64_t where = ~0ULL;

	CU_ASSERT(t_fill(fx.p, a, 4 * PAGE, 0xaa, &where) == SIGBUS);
	EXPECT_EQ(where, a);
	EXPECT_SIG(fx.p, a, GM_ACCESS_READ, SIGBUS);
	for (uint64_t pg = 0; pg < 4; pg++) {
		EXPECT_SIG(fx.p, a + pg * PAGE, GM_ACCESS_READ, SIGBUS);
		EXPECT_SIG(fx.p, a + pg * PAGE + 7, GM_ACCESS_WRITE, SIGBUS);
	}
	GM_OK(gm_fallocate(fx.p, fd, KEEP, 0, 4 * PAGE));
	for (uint64_t pg = 0; pg < 4; pg++) {
		EXPECT_SIG(fx.p, a + pg * PAGE, GM_ACCESS_READ, SIGBUS);
		EXPECT_SIG(fx.p, a + pg * PAGE, GM_ACCESS_WRITE, SIGBUS);
	}
	EXPECT_EQ(gmem_info(fd).nr_uptodate, 0);
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, fd));
}

/* probe A7: flags 1: MADV_POPULATE_READ/WRITE -> EFAULT */
static void test_fault_private_populate_efault(void)
{
	int fd = gmem_create(2 * MiB, FL_MMAP);
	uint64_t a = map_shared(fd, 2 * MiB, 0);

	GM_ERR(gm_madvise(fx.p, a, 2 * MiB, GMEM_MADV_POPULATE_READ), -EFAULT);
	GM_ERR(gm_madvise(fx.p, a, 2 * MiB, GMEM_MADV_POPULATE_WRITE),
	       -EFAULT);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_close(fx.p, fd));
}

/* probe A7: flags 3: read of a fresh page -> 0x00 (allocated and zeroed) */
static void test_fault_fresh_page_reads_zero(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(fd, 2 * MiB, 0);
	uint8_t v = 0x5a;

	CU_ASSERT(t_load(fx.p, a + 3 * PAGE + 17, &v) == 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(folio_flags(fd, 3), GM_FOLIO_PRESENT | GM_FOLIO_UPTODATE);
	EXPECT_EQ(gmem_info(fd).nr_present, 1);
	EXPECT_BYTES(fx.p, a + 3 * PAGE, PAGE, 0);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_close(fx.p, fd));
}

/* §2.2, §3.6 step 5: a host fault zero-fills a fallocated (stale) folio */
static void test_fault_after_fallocate_reads_zero(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(fd, 2 * MiB, 0);

	GM_OK(gm_fallocate(fx.p, fd, KEEP, 0, 2 * PAGE));
	EXPECT_EQ(folio_flags(fd, 1), GM_FOLIO_PRESENT);
	EXPECT_BYTES(fx.p, a + PAGE, PAGE, 0);
	EXPECT_EQ(folio_flags(fd, 1), GM_FOLIO_PRESENT | GM_FOLIO_UPTODATE);
	EXPECT_EQ(folio_flags(fd, 0), GM_FOLIO_PRESENT);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_close(fx.p, fd));
}

/* probe A7: flags 3: two mappings of the same gmem are coherent */
static void test_fault_two_mappings_coherent(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(fd, 2 * MiB, 0);
	uint64_t b = map_shared(fd, MiB, MiB);
	uint8_t v = 0;

	CU_ASSERT(a != b);
	CU_ASSERT(t_store(fx.p, a + MiB + 5, 0x42) == 0);
	CU_ASSERT(t_load(fx.p, b + 5, &v) == 0);
	EXPECT_EQ(v, 0x42);
	CU_ASSERT(t_store(fx.p, b + PAGE, 0x43) == 0);
	CU_ASSERT(t_load(fx.p, a + MiB + PAGE, &v) == 0);
	EXPECT_EQ(v, 0x43);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_munmap(fx.p, b, MiB));
	GM_OK(gm_close(fx.p, fd));
}

/*
 * probe A7: a touch at or past EOF (mapping at offset >= size, tail of an
 * oversize mapping) -> SIGBUS; selftest O1: 16*PAGE map of a 4*PAGE file,
 * memset SIGBUSes at 4*PAGE, bytes [0, 4*PAGE) read 0xaa.
 */
static void test_fault_overflow_sigbus(void)
{
	int fd = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(fd, 16 * PAGE, 0);
	uint64_t b, where = 0;

	CU_ASSERT(t_fill(fx.p, a, 16 * PAGE, 0xaa, &where) == SIGBUS);
	EXPECT_EQ(where, a + 4 * PAGE);
	EXPECT_SIG(fx.p, a + 4 * PAGE, GM_ACCESS_READ, SIGBUS);
	EXPECT_SIG(fx.p, a + 15 * PAGE, GM_ACCESS_READ, SIGBUS);
	EXPECT_BYTES(fx.p, a, 4 * PAGE, 0xaa);
	/* a mapping that starts at EOF */
	b = map_shared(fd, 2 * PAGE, 4 * PAGE);
	EXPECT_SIG(fx.p, b, GM_ACCESS_READ, SIGBUS);
	EXPECT_SIG(fx.p, b + PAGE, GM_ACCESS_WRITE, SIGBUS);
	GM_OK(gm_munmap(fx.p, b, 2 * PAGE));
	GM_OK(gm_munmap(fx.p, a, 16 * PAGE));
	GM_OK(gm_close(fx.p, fd));
}

/*
 * selftest U1-U3: memset 0xaa reads back; PUNCH [0, PAGE) -> 0 and that
 * page reads 0x00, the rest 0xaa; memset the first page again -> all 0xaa.
 */
static void test_mmap_supported(void)
{
	int fd = gmem_create(4 * PAGE, FL_BOTH);
	uint64_t a = map_shared(fd, 4 * PAGE, 0);

	EXPECT_FILL(fx.p, a, 4 * PAGE, 0xaa);
	EXPECT_BYTES(fx.p, a, 4 * PAGE, 0xaa);		/* U1 */
	GM_OK(gm_fallocate(fx.p, fd, PUNCH, 0, PAGE));	/* U2 */
	EXPECT_BYTES(fx.p, a, PAGE, 0x00);
	EXPECT_BYTES(fx.p, a + PAGE, 3 * PAGE, 0xaa);
	EXPECT_FILL(fx.p, a, PAGE, 0xaa);		/* U3 */
	EXPECT_BYTES(fx.p, a, 4 * PAGE, 0xaa);
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, fd));
}

/*
 * probe A7: PUNCH|KEEP on a mapped, written page -> 0; the page is zapped
 * from every mapping; the next access sees a fresh 0x00 page.
 */
static void test_punch_zaps_every_mapping(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(fd, 2 * MiB, 0);
	uint64_t b = map_shared(fd, 2 * MiB, 0);
	unsigned char vec[2];

	EXPECT_FILL(fx.p, a + PAGE, PAGE, 0x31);
	EXPECT_BYTES(fx.p, b + PAGE, PAGE, 0x31);
	GM_OK(gm_fallocate(fx.p, fd, PUNCH, PAGE, PAGE));
	EXPECT_EQ(folio_flags(fd, 1), 0);
	GM_OK(gm_mincore(fx.p, b, 2 * PAGE, vec));
	EXPECT_EQ(vec[1] & 1, 0);
	EXPECT_BYTES(fx.p, b + PAGE, PAGE, 0);
	EXPECT_BYTES(fx.p, a + PAGE, PAGE, 0);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_munmap(fx.p, b, 2 * MiB));
	GM_OK(gm_close(fx.p, fd));
}

/* probe A7: MADV_DONTNEED -> 0; data survives (only the PTEs go); §3.8 */
static void test_madv_dontneed_keeps_data(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(fd, 2 * MiB, 0);

	EXPECT_FILL(fx.p, a, 2 * PAGE, 0x66);
	GM_OK(gm_madvise(fx.p, a, 2 * MiB, GMEM_MADV_DONTNEED));
	EXPECT_EQ(gmem_info(fd).nr_uptodate, 2);
	EXPECT_BYTES(fx.p, a, 2 * PAGE, 0x66);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_close(fx.p, fd));
}

/* probe A7: MADV_REMOVE -> 0; works like a punch hole (data gone, 0x00) */
static void test_madv_remove_punches(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(fd, 2 * MiB, 0);

	EXPECT_FILL(fx.p, a, 3 * PAGE, 0x66);
	GM_OK(gm_madvise(fx.p, a + PAGE, PAGE, GMEM_MADV_REMOVE));
	EXPECT_EQ(folio_flags(fd, 1), 0);
	EXPECT_EQ(gmem_info(fd).nr_present, 2);
	EXPECT_BYTES(fx.p, a, PAGE, 0x66);
	EXPECT_BYTES(fx.p, a + PAGE, PAGE, 0x00);
	EXPECT_BYTES(fx.p, a + 2 * PAGE, PAGE, 0x66);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_close(fx.p, fd));
}

/* probe A7: fallocate(KEEP) over a page that holds data -> 0, data kept */
static void test_fallocate_keeps_written_data(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(fd, 2 * MiB, 0);

	EXPECT_FILL(fx.p, a, PAGE, 0x77);
	GM_OK(gm_fallocate(fx.p, fd, KEEP, 0, 2 * MiB));
	EXPECT_BYTES(fx.p, a, PAGE, 0x77);
	EXPECT_EQ(folio_flags(fd, 0), GM_FOLIO_PRESENT | GM_FOLIO_UPTODATE);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_close(fx.p, fd));
}

/*
 * probe A7: MADV_POPULATE_READ over [0, 4 MiB) of a 2 MiB file -> EFAULT,
 * but the in-file part is populated.
 */
static void test_madv_populate_past_eof_efault(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(fd, 4 * MiB, 0);

	GM_ERR(gm_madvise(fx.p, a, 4 * MiB, GMEM_MADV_POPULATE_READ), -EFAULT);
	EXPECT_EQ(gmem_info(fd).nr_uptodate, 512);
	GM_OK(gm_munmap(fx.p, a, 4 * MiB));
	GM_OK(gm_close(fx.p, fd));
}

/*
 * probe A5: mincore shows only uptodate folios: fallocate pages 1-2 ->
 * 00000000; a write fault on page 5 -> 00000100; after a punch -> 0.
 */
static void test_mincore_shows_uptodate(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(fd, 8 * PAGE, 0);
	unsigned char vec[8];

	GM_OK(gm_fallocate(fx.p, fd, KEEP, PAGE, 2 * PAGE));
	GM_OK(gm_mincore(fx.p, a, 8 * PAGE, vec));
	for (unsigned int i = 0; i < 8; i++)
		EXPECT_EQ(vec[i] & 1, 0);
	CU_ASSERT(t_store(fx.p, a + 5 * PAGE, 1) == 0);
	GM_OK(gm_mincore(fx.p, a, 8 * PAGE, vec));
	for (unsigned int i = 0; i < 8; i++)
		EXPECT_EQ(vec[i] & 1, i == 5);
	GM_OK(gm_fallocate(fx.p, fd, PUNCH, 5 * PAGE, PAGE));
	GM_OK(gm_mincore(fx.p, a, 8 * PAGE, vec));
	EXPECT_EQ(vec[5] & 1, 0);
	GM_OK(gm_munmap(fx.p, a, 8 * PAGE));
	GM_OK(gm_close(fx.p, fd));
}

/* probe A5: after MAP_POPULATE / MADV_POPULATE_* every page shows 1 */
static void test_mincore_after_populate(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	unsigned char vec[16];
	uint64_t a = 0, b;

	GM_OK(__map(fx.p, 8 * PAGE, RW, MAP_SH | GMEM_MAP_POPULATE, fd, 0,
		    &a));
	GM_OK(gm_mincore(fx.p, a, 8 * PAGE, vec));
	for (unsigned int i = 0; i < 8; i++)
		EXPECT_EQ(vec[i] & 1, 1);
	b = map_shared(fd, 16 * PAGE, 16 * PAGE);
	GM_OK(gm_madvise(fx.p, b, 8 * PAGE, GMEM_MADV_POPULATE_WRITE));
	GM_OK(gm_madvise(fx.p, b + 8 * PAGE, 8 * PAGE,
			 GMEM_MADV_POPULATE_READ));
	GM_OK(gm_mincore(fx.p, b, 16 * PAGE, vec));
	for (unsigned int i = 0; i < 16; i++)
		EXPECT_EQ(vec[i] & 1, 1);
	EXPECT_BYTES(fx.p, b, 16 * PAGE, 0);
	GM_OK(gm_munmap(fx.p, a, 8 * PAGE));
	GM_OK(gm_munmap(fx.p, b, 16 * PAGE));
	GM_OK(gm_close(fx.p, fd));
}

/* probe A5: flags 1 (no INIT_SHARED): fallocate page 0, mincore stays 0 */
static void test_mincore_flags1_never_uptodate(void)
{
	int fd = gmem_create(2 * MiB, FL_MMAP);
	uint64_t a = map_shared(fd, 4 * PAGE, 0);
	unsigned char vec[4];

	GM_OK(gm_fallocate(fx.p, fd, KEEP, 0, PAGE));
	EXPECT_SIG(fx.p, a, GM_ACCESS_WRITE, SIGBUS);
	GM_OK(gm_mincore(fx.p, a, 4 * PAGE, vec));
	for (unsigned int i = 0; i < 4; i++)
		EXPECT_EQ(vec[i] & 1, 0);
	GM_OK(gm_munmap(fx.p, a, 4 * PAGE));
	GM_OK(gm_close(fx.p, fd));
}

/* probe A8: madvise results on a flags-3 mapping */
static void test_madvise_table(void)
{
	static const struct {
		int advice;
		int want;
	} c[] = {
		{ GMEM_MADV_NORMAL, 0 },	{ GMEM_MADV_RANDOM, 0 },
		{ GMEM_MADV_SEQUENTIAL, 0 },	{ GMEM_MADV_WILLNEED, 0 },
		{ GMEM_MADV_DONTNEED, 0 },	{ GMEM_MADV_FREE, -EINVAL },
		{ GMEM_MADV_DONTFORK, 0 },	{ GMEM_MADV_DOFORK, 0 },
		{ GMEM_MADV_KEEPONFORK, 0 },	{ GMEM_MADV_WIPEONFORK, -EINVAL },
		{ GMEM_MADV_MERGEABLE, 0 },	{ GMEM_MADV_UNMERGEABLE, 0 },
		{ GMEM_MADV_DONTDUMP, 0 },	{ GMEM_MADV_DODUMP, 0 },
		{ GMEM_MADV_HUGEPAGE, 0 },	{ GMEM_MADV_NOHUGEPAGE, 0 },
		{ GMEM_MADV_COLLAPSE, -EINVAL },
		{ GMEM_MADV_COLD, 0 },		{ GMEM_MADV_PAGEOUT, 0 },
		{ GMEM_MADV_POPULATE_READ, 0 },
		{ GMEM_MADV_POPULATE_WRITE, 0 },
		{ GMEM_MADV_REMOVE, 0 },
	};
	struct t_tally t = { 0 };
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(fd, 2 * MiB, 0);

	for (unsigned int i = 0; i < ARRAY_SIZE(c); i++) {
		long r = gm_madvise(fx.p, a, 2 * MiB, c[i].advice);

		check_host(fx.h);
		t_tally_expect(&t, r, c[i].want, "advice %d", c[i].advice);
	}
	TALLY_DONE(&t, "probe A8 madvise");
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_close(fx.p, fd));
}

/* probe A8: COLD / PAGEOUT -> 0, data kept (unevictable) */
static void test_madv_pageout_keeps_data(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(fd, 2 * MiB, 0);

	EXPECT_FILL(fx.p, a, PAGE, 0x19);
	GM_OK(gm_madvise(fx.p, a, 2 * MiB, GMEM_MADV_COLD));
	GM_OK(gm_madvise(fx.p, a, 2 * MiB, GMEM_MADV_PAGEOUT));
	EXPECT_BYTES(fx.p, a, PAGE, 0x19);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_close(fx.p, fd));
}

/*
 * selftest H1-H4 (collapse): gmem of PMD size mapped MAP_FIXED|MAP_SHARED
 * at a PMD-aligned address; reading every page succeeds; MADV_HUGEPAGE ->
 * 0; MADV_COLLAPSE -> EINVAL; MADV_DONTNEED then read byte 0 -> ok.
 */
static void test_collapse(void)
{
	const uint64_t pmd = 2 * MiB;
	int fd = gmem_create(pmd, FL_BOTH);
	uint64_t probe = map_shared(fd, 2 * pmd, 0);
	uint64_t aligned = (probe + pmd - 1) & ~(pmd - 1);
	uint64_t a = aligned;
	uint8_t v = 0xee;

	GM_OK(gm_munmap(fx.p, probe, 2 * pmd));
	GM_OK(__map(fx.p, pmd, RW, MAP_SH | GMEM_MAP_FIXED, fd, 0, &a));
	EXPECT_EQ(a, aligned);
	for (uint64_t off = 0; off < pmd; off += PAGE)		/* H1 */
		CU_ASSERT(t_load(fx.p, a + off, &v) == 0);
	GM_OK(gm_madvise(fx.p, a, pmd, GMEM_MADV_HUGEPAGE));	/* H2 */
	GM_ERR(gm_madvise(fx.p, a, pmd, GMEM_MADV_COLLAPSE), -EINVAL);	/* H3 */
	GM_OK(gm_madvise(fx.p, a, pmd, GMEM_MADV_DONTNEED));	/* H4 */
	CU_ASSERT(t_load(fx.p, a, &v) == 0);
	EXPECT_EQ(v, 0);
	GM_OK(gm_munmap(fx.p, a, pmd));
	GM_OK(gm_close(fx.p, fd));
}

/* probe A7: fork: the child sees the parent's data and vice versa (shared) */
static void test_fork_mapping_is_shared(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(fd, 2 * MiB, 0);
	struct gm_proc *c;
	uint8_t v = 0;

	CU_ASSERT(t_store(fx.p, a + 10, 0x77) == 0);
	c = fx_fork();
	/* the child inherits the MAP_SHARED VMA at the same address */
	EXPECT_EQ(t_load(c, a + 10, &v), 0);
	EXPECT_EQ(v, 0x77);
	EXPECT_EQ(t_store(c, a + PAGE, 0x55), 0);
	EXPECT_EQ(t_load(fx.p, a + PAGE, &v), 0);
	EXPECT_EQ(v, 0x55);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_close(fx.p, fd));
}

/* [mm] munmap removes the mapping: a later access -> SIGSEGV */
static void test_munmap_then_access_sigsegv(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(fd, 2 * MiB, 0);

	EXPECT_FILL(fx.p, a, 16, 0x12);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	EXPECT_SIG(fx.p, a, GM_ACCESS_READ, SIGSEGV);
	EXPECT_SIG(fx.p, a, GM_ACCESS_WRITE, SIGSEGV);
	/* the data stays in the file */
	EXPECT_EQ(gmem_info(fd).nr_uptodate, 1);
	GM_OK(gm_close(fx.p, fd));
}

/* [mm] a PROT_READ mapping: load ok, store -> SIGSEGV; PROT_NONE: both */
static void test_prot_read_and_none(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t r = 0, n = 0;
	uint8_t v;

	GM_OK(__map(fx.p, PAGE, GMEM_PROT_READ, MAP_SH, fd, 0, &r));
	GM_OK(__map(fx.p, PAGE, GMEM_PROT_NONE, MAP_SH, fd, 0, &n));
	CU_ASSERT(t_load(fx.p, r, &v) == 0);
	EXPECT_SIG(fx.p, r, GM_ACCESS_WRITE, SIGSEGV);
	EXPECT_SIG(fx.p, n, GM_ACCESS_READ, SIGSEGV);
	EXPECT_SIG(fx.p, n, GM_ACCESS_WRITE, SIGSEGV);
	GM_OK(gm_munmap(fx.p, r, PAGE));
	GM_OK(gm_munmap(fx.p, n, PAGE));
	GM_OK(gm_close(fx.p, fd));
}

/* §2.1, §3.5: exec is impossible: an EXEC access to a gmem page SIGSEGVs */
static void test_exec_access_sigsegv(void)
{
	int fd = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(fd, PAGE, 0);

	EXPECT_SIG(fx.p, a, GM_ACCESS_EXEC, SIGSEGV);
	GM_OK(gm_munmap(fx.p, a, PAGE));
	GM_OK(gm_close(fx.p, fd));
}

/*
 * probe B2/B3 (memfd MAP_SHARED registers and faults like shmem), A10 ("v1
 * plain slot with uaddr = a gmem mmap" and its memfd comparison): a memfd
 * maps MAP_SHARED and its stores read back.
 */
static void test_mmap_memfd_ok(void)
{
	int mfd = GM_FD(gm_memfd_create(fx.p, 2 * MiB));
	uint64_t a = 0;

	GM_OK(__map(fx.p, 2 * MiB, RW, MAP_SH, mfd, 0, &a));
	if (a) {
		EXPECT_FILL(fx.p, a + PAGE, 8, 0x33);
		EXPECT_BYTES(fx.p, a + PAGE, 8, 0x33);
		EXPECT_BYTES(fx.p, a, 8, 0);
		GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	}
	GM_OK(gm_close(fx.p, mfd));
}

CU_TestInfo mmap_tests[] = {
	{ "test_mmap_without_mmap_flag_enodev",
	  test_mmap_without_mmap_flag_enodev },
	{ "test_mmap_private_einval", test_mmap_private_einval },
	{ "test_mmap_shared_variants_ok", test_mmap_shared_variants_ok },
	{ "test_mmap_map_sync_eopnotsupp", test_mmap_map_sync_eopnotsupp },
	{ "test_mmap_prot_exec_eperm", test_mmap_prot_exec_eperm },
	{ "test_mmap_unaligned_offset_einval",
	  test_mmap_unaligned_offset_einval },
	{ "test_mmap_no_size_check", test_mmap_no_size_check },
	{ "test_mmap_populate_flags1_populates_nothing",
	  test_mmap_populate_flags1_populates_nothing },
	{ "test_fault_private_sigbus", test_fault_private_sigbus },
	{ "test_fault_private_populate_efault",
	  test_fault_private_populate_efault },
	{ "test_fault_fresh_page_reads_zero", test_fault_fresh_page_reads_zero },
	{ "test_fault_after_fallocate_reads_zero",
	  test_fault_after_fallocate_reads_zero },
	{ "test_fault_two_mappings_coherent", test_fault_two_mappings_coherent },
	{ "test_fault_overflow_sigbus", test_fault_overflow_sigbus },
	{ "test_mmap_supported", test_mmap_supported },
	{ "test_punch_zaps_every_mapping", test_punch_zaps_every_mapping },
	{ "test_madv_dontneed_keeps_data", test_madv_dontneed_keeps_data },
	{ "test_madv_remove_punches", test_madv_remove_punches },
	{ "test_fallocate_keeps_written_data",
	  test_fallocate_keeps_written_data },
	{ "test_madv_populate_past_eof_efault",
	  test_madv_populate_past_eof_efault },
	{ "test_mincore_shows_uptodate", test_mincore_shows_uptodate },
	{ "test_mincore_after_populate", test_mincore_after_populate },
	{ "test_mincore_flags1_never_uptodate",
	  test_mincore_flags1_never_uptodate },
	{ "test_madvise_table", test_madvise_table },
	{ "test_madv_pageout_keeps_data", test_madv_pageout_keeps_data },
	{ "test_collapse", test_collapse },
	{ "test_fork_mapping_is_shared", test_fork_mapping_is_shared },
	{ "test_munmap_then_access_sigsegv", test_munmap_then_access_sigsegv },
	{ "test_prot_read_and_none", test_prot_read_and_none },
	{ "test_exec_access_sigsegv", test_exec_access_sigsegv },
	{ "test_mmap_memfd_ok", test_mmap_memfd_ok },
	CU_TEST_INFO_NULL,
};
