/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DUPLICATED: kernel types the policies use (include/linux/types.h).
 * Keep in sync; in a port this file is replaced by <linux/types.h>.
 */
#ifndef GMEM_SHIM_DUP_H
#define GMEM_SHIM_DUP_H

#include <stdbool.h>
#include <stdint.h>

typedef uint64_t u64;
typedef unsigned long pgoff_t;

#define PMD_ORDER 9U		/* 2M with 4K pages (x86-64, arm64 4K) */
#define PUD_ORDER 18U		/* 1G */

#endif /* GMEM_SHIM_DUP_H */
