// SPDX-License-Identifier: GPL-2.0
/*
 * Memory failure and extra folio references: upstream-semantics §3.16 and
 * §5 invariant 4 (no kernel oracle here: the probe machine is built
 * without CONFIG_MEMORY_FAILURE); probe A9 (GUP on gmem mappings) for
 * pins; §3.12 and §3.6 for gm_gmem_state.
 *
 * Not expressible: the BUS_MCEERR si_code of the host SIGBUS (the model
 * reports the signal number only); vmsplice / O_DIRECT / io_uring as such
 * (gm_gmem_pin stands for every GUP path of probe A9).
 */
#include "test_util.h"

#define GPA0 (1ULL << 32)
#define GFN0 (GPA0 >> 12)

/* probe A9: GUP on a flags-1 (no INIT_SHARED) gmem -> EFAULT */
static void test_pin_private_gmem_efault(void)
{
	int g = gmem_create(2 * MiB, FL_MMAP);

	GM_ERR(gm_gmem_pin(fx.p, g, 0), -EFAULT);
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, PAGE));
	GM_ERR(gm_gmem_pin(fx.p, g, 0), -EFAULT);
	EXPECT_EQ(gmem_info(g).nr_pins, 0);
	GM_OK(gm_close(fx.p, g));
}

/* gm_gmem_unpin of a folio that holds no pin -> EINVAL */
static void test_unpin_without_pin_einval(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);

	GM_ERR(gm_gmem_unpin(fx.p, g, 0), -EINVAL);
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, PAGE));
	GM_ERR(gm_gmem_unpin(fx.p, g, 0), -EINVAL);
	GM_OK(gm_gmem_pin(fx.p, g, 0));
	GM_OK(gm_gmem_unpin(fx.p, g, 0));
	GM_ERR(gm_gmem_unpin(fx.p, g, 0), -EINVAL);
	GM_OK(gm_close(fx.p, g));
}

/*
 * probe A9: on flags 3 GUP works (long-term pins included) and faults the
 * page in like a host access (§3.6: zero-filled, uptodate).
 */
static void test_pin_shared_gmem_counts(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);

	GM_OK(gm_gmem_pin(fx.p, g, 3 * PAGE));
	GM_OK(gm_gmem_pin(fx.p, g, 3 * PAGE));
	EXPECT_EQ(gmem_info(g).nr_pins, 2);
	EXPECT_EQ(folio_flags(g, 3), GM_FOLIO_PRESENT | GM_FOLIO_UPTODATE);
	GM_OK(gm_gmem_unpin(fx.p, g, 3 * PAGE));
	GM_OK(gm_gmem_unpin(fx.p, g, 3 * PAGE));
	EXPECT_EQ(gmem_info(g).nr_pins, 0);
	GM_OK(gm_close(fx.p, g));
}

/* §3.6 step 1 / probe A9: GUP at or past EOF (fault SIGBUS) -> EFAULT */
static void test_pin_past_eof_efault(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);

	GM_ERR(gm_gmem_pin(fx.p, g, 2 * MiB), -EFAULT);
	GM_ERR(gm_gmem_pin(fx.p, g, 1ULL << 40), -EFAULT);
	EXPECT_EQ(gmem_info(g).nr_pins, 0);
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.3.2 + the model's nr_pins ("extra references, incl. on removed
 * folios"): a punch removes the folio from the file while the pin keeps
 * its reference; the pin is still dropped normally.
 */
static void test_pin_survives_punch(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(g, 2 * MiB, 0);

	EXPECT_FILL(fx.p, a, 4, 0x27);
	GM_OK(gm_gmem_pin(fx.p, g, 0));
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, PAGE));
	EXPECT_EQ(gmem_info(g).nr_present, 0);
	EXPECT_EQ(gmem_info(g).nr_pins, 1);
	GM_OK(gm_gmem_unpin(fx.p, g, 0));
	EXPECT_EQ(gmem_info(g).nr_pins, 0);
	/* the file gets a fresh zero page at index 0 */
	EXPECT_BYTES(fx.p, a, 4, 0);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.16: memory failure marks the folio HWPOISON and does not truncate
 * it; a host access -> SIGBUS; the neighbours are unaffected.
 */
static void test_poison_host_sigbus(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(g, 2 * MiB, 0);

	EXPECT_FILL(fx.p, a, 3 * PAGE, 0x5e);
	GM_OK(gm_gmem_poison(fx.p, g, PAGE));
	EXPECT_EQ(folio_flags(g, 1),
		  GM_FOLIO_PRESENT | GM_FOLIO_UPTODATE | GM_FOLIO_HWPOISON);
	EXPECT_EQ(gmem_info(g).nr_poisoned, 1);
	EXPECT_EQ(gmem_info(g).nr_present, 3);
	EXPECT_SIG(fx.p, a + PAGE, GM_ACCESS_READ, SIGBUS);
	EXPECT_SIG(fx.p, a + PAGE + 100, GM_ACCESS_WRITE, SIGBUS);
	EXPECT_BYTES(fx.p, a, PAGE, 0x5e);
	EXPECT_BYTES(fx.p, a + 2 * PAGE, PAGE, 0x5e);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.16: the poisoned folio stays until a punch removes it; then the index
 * is allocatable again and reads a fresh 0x00 page.
 */
static void test_poison_punch_clears(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(g, 2 * MiB, 0);

	EXPECT_FILL(fx.p, a, 16, 0x5e);
	GM_OK(gm_gmem_poison(fx.p, g, 0));
	/* an allocate over it leaves it in place */
	GM_OK(gm_fallocate(fx.p, g, KEEP, 0, 2 * PAGE));
	EXPECT_EQ(gmem_info(g).nr_poisoned, 1);
	EXPECT_SIG(fx.p, a, GM_ACCESS_READ, SIGBUS);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, 0, PAGE));
	EXPECT_EQ(gmem_info(g).nr_poisoned, 0);
	EXPECT_EQ(folio_flags(g, 0), 0);
	EXPECT_BYTES(fx.p, a, 16, 0);
	EXPECT_EQ(folio_flags(g, 0), GM_FOLIO_PRESENT | GM_FOLIO_UPTODATE);
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.16: memory failure zaps the stage-2 mapping of the index in every
 * bound VM; a later guest fault -> get_pfn -EHWPOISON (§3.14 step 5),
 * KVM_RUN fails with EHWPOISON; after a punch the guest reads 0x00.
 */
static void test_poison_guest_ehwpoison(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);
	struct gm_guest_fault f;
	uint64_t seq0;

	bind_slot(0, GPA0, 2 * MiB, g, 0);
	f = guest(fx.p, fx.vm, GPA0 + PAGE, GM_ACCESS_WRITE, GM_INTENT_DEFAULT,
		  0x31);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	CU_ASSERT(stage2(fx.p, fx.vm, GFN0 + 1) & GM_SPTE_PRESENT);
	seq0 = vm_info(fx.p, fx.vm).mmu_invalidate_seq;
	GM_OK(gm_gmem_poison(fx.p, g, PAGE));
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 1), 0);
	/* invalidate-start/end around the zap of a bound index */
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_seq, seq0 + 1);
	EXPECT_EQ(vm_info(fx.p, fx.vm).mmu_invalidate_in_progress, 0);
	f = guest(fx.p, fx.vm, GPA0 + PAGE, GM_ACCESS_READ, GM_INTENT_DEFAULT,
		  0);
	EXPECT_OUTCOME(f, GM_GUEST_ERROR);
	EXPECT_EQ(f.err, EHWPOISON);
	EXPECT_EQ(stage2(fx.p, fx.vm, GFN0 + 1), 0);
	/* other pages of the slot still work */
	EXPECT_OUTCOME(guest(fx.p, fx.vm, GPA0, GM_ACCESS_READ,
			     GM_INTENT_DEFAULT, 0),
		       GM_GUEST_OK);
	GM_OK(gm_fallocate(fx.p, g, PUNCH, PAGE, PAGE));
	f = guest(fx.p, fx.vm, GPA0 + PAGE, GM_ACCESS_READ, GM_INTENT_DEFAULT,
		  0);
	EXPECT_OUTCOME(f, GM_GUEST_OK);
	EXPECT_EQ(f.value, 0);
	delete_slot(0);
	GM_OK(gm_close(fx.p, g));
}

/* §5 invariant 4: a poisoned folio is never newly mapped (host, any VMA) */
static void test_poison_blocks_new_mappings(void)
{
	int g = gmem_create(2 * MiB, FL_BOTH);
	uint64_t a = map_shared(g, 2 * MiB, 0);
	uint64_t b;
	unsigned char vec[1];

	EXPECT_FILL(fx.p, a, 1, 0x10);
	GM_OK(gm_gmem_poison(fx.p, g, 0));
	b = map_shared(g, PAGE, 0);
	EXPECT_SIG(fx.p, b, GM_ACCESS_READ, SIGBUS);
	GM_OK(gm_madvise(fx.p, a, PAGE, GMEM_MADV_DONTNEED));
	EXPECT_SIG(fx.p, a, GM_ACCESS_READ, SIGBUS);
	GM_OK(gm_mincore(fx.p, b, PAGE, vec));
	GM_OK(gm_munmap(fx.p, b, PAGE));
	GM_OK(gm_munmap(fx.p, a, 2 * MiB));
	GM_OK(gm_close(fx.p, g));
}

/*
 * §3.12 (upstream has no per-index shareability: it is the whole-file
 * INIT_SHARED bit): gm_gmem_state is SHARED for flags 3, PRIVATE for flags
 * 0 and 1, for any range.
 */
static void test_gmem_state_follows_init_shared(void)
{
	static const struct {
		uint64_t flags;
		int state;
	} c[] = {
		{ 0, GM_STATE_PRIVATE },
		{ FL_MMAP, GM_STATE_PRIVATE },
		{ FL_BOTH, GM_STATE_SHARED },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(c); i++) {
		int g = gmem_create(2 * MiB, c[i].flags);

		GM_VAL(gm_gmem_state(fx.p, g, 0, 2 * MiB), c[i].state);
		GM_VAL(gm_gmem_state(fx.p, g, PAGE, PAGE), c[i].state);
		GM_OK(gm_fallocate(fx.p, g, KEEP, 0, PAGE));
		GM_VAL(gm_gmem_state(fx.p, g, 0, PAGE), c[i].state);
		GM_OK(gm_close(fx.p, g));
	}
}

CU_TestInfo poison_pin_tests[] = {
	{ "test_pin_private_gmem_efault", test_pin_private_gmem_efault },
	{ "test_unpin_without_pin_einval", test_unpin_without_pin_einval },
	{ "test_pin_shared_gmem_counts", test_pin_shared_gmem_counts },
	{ "test_pin_past_eof_efault", test_pin_past_eof_efault },
	{ "test_pin_survives_punch", test_pin_survives_punch },
	{ "test_poison_host_sigbus", test_poison_host_sigbus },
	{ "test_poison_punch_clears", test_poison_punch_clears },
	{ "test_poison_guest_ehwpoison", test_poison_guest_ehwpoison },
	{ "test_poison_blocks_new_mappings", test_poison_blocks_new_mappings },
	{ "test_gmem_state_follows_init_shared",
	  test_gmem_state_follows_init_shared },
	CU_TEST_INFO_NULL,
};
