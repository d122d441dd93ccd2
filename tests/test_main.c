// SPDX-License-Identifier: GPL-2.0
/*
 * CUnit registry and runner for the gmemsim model suites.
 *
 * Suites are registered from CU_SuiteInfo tables (six fields: name, init,
 * cleanup, setup, teardown, tests; house-style rule 22).  The per-test
 * setup makes the fixture (test_util.h): "kernel" suites run on the probe
 * machine's configuration (only the DEFAULT VM type, no attributes ioctl),
 * "all" suites on a KVM offering every VM type, "swprot" suites on a
 * SW_PROTECTED VM.
 *
 * Usage: gmtests [-s SUITE_SUBSTRING]
 * Exit status: 0 when no test failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "test_util.h"

extern CU_TestInfo sim_tests[]; /* tests/test_sim.c */
extern CU_TestInfo sim_threads_tests[]; /* tests/test_sim_threads.c */

static CU_SuiteInfo suites[] = {
	{ "create", NULL, NULL, fx_setup_kernel, fx_teardown, create_tests },
	{ "create_all_types", NULL, NULL, fx_setup_all, fx_teardown,
	  create_all_tests },
	{ "fileops", NULL, NULL, fx_setup_kernel, fx_teardown, fileops_tests },
	{ "fallocate", NULL, NULL, fx_setup_kernel, fx_teardown,
	  fallocate_tests },
	{ "mmap", NULL, NULL, fx_setup_kernel, fx_teardown, mmap_tests },
	{ "memslot", NULL, NULL, fx_setup_kernel, fx_teardown, memslot_tests },
	{ "memslot_sw_protected", NULL, NULL, fx_setup_swprot, fx_teardown,
	  memslot_swprot_tests },
	{ "attributes_kernel", NULL, NULL, fx_setup_kernel, fx_teardown,
	  attributes_kernel_tests },
	{ "attributes_sw_protected", NULL, NULL, fx_setup_swprot, fx_teardown,
	  attributes_tests },
	{ "guest", NULL, NULL, fx_setup_kernel, fx_teardown, guest_tests },
	{ "guest_sw_protected", NULL, NULL, fx_setup_swprot, fx_teardown,
	  guest_swprot_tests },
	{ "lifetime", NULL, NULL, fx_setup_kernel, fx_teardown,
	  lifetime_tests },
	{ "poison_pin", NULL, NULL, fx_setup_kernel, fx_teardown,
	  poison_pin_tests },
	{ "memory", NULL, NULL, fx_setup_kernel, fx_teardown, memory_tests },
	{ "failinject", NULL, NULL, fx_setup_all, fx_teardown,
	  failinject_tests },
	{ "robust", NULL, NULL, fx_setup_all, fx_teardown, robust_tests },
	{ "inplace", NULL, NULL, fx_setup_inplace, fx_teardown,
	  inplace_tests },
	{ "check", NULL, NULL, fx_setup_all, fx_teardown, check_tests },
	{ "check_inplace", NULL, NULL, fx_setup_inplace, fx_teardown,
	  check_inplace_tests },
	{ "tdx_snp", NULL, NULL, fx_setup_all, fx_teardown, tdx_snp_tests },
	{ "memslot_more", NULL, NULL, fx_setup_all, fx_teardown,
	  memslot_more_tests },
	{ "mm_more", NULL, NULL, fx_setup_kernel, fx_teardown, mm_more_tests },
	{ "host_more", NULL, NULL, fx_setup_kernel, fx_teardown,
	  host_more_tests },
	{ "content", NULL, NULL, fx_setup_kernel, fx_teardown, content_tests },
	{ "hugetlb", NULL, NULL, fx_setup_hugetlb, fx_teardown,
	  hugetlb_tests },
	{ "sim", NULL, NULL, NULL, NULL, sim_tests },
	{ "sim_threads", NULL, NULL, NULL, NULL, sim_threads_tests },
	CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
	const char *filter = NULL;
	unsigned int failed;
	CU_pSuite s;

	if (argc == 3 && strcmp(argv[1], "-s") == 0) {
		filter = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [-s SUITE_SUBSTRING]\n", argv[0]);
		return 2;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		fprintf(stderr, "suite registration: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 2;
	}
	if (filter) {
		for (s = CU_get_registry()->pSuite; s; s = s->pNext)
			if (!strstr(s->pName, filter))
				CU_set_suite_active(s, CU_FALSE);
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed != 0;
}
