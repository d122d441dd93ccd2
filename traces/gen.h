/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Random trace generator (gmemsim gen random).
 */
#ifndef GMEM_GEN_H
#define GMEM_GEN_H

#include <stdint.h>
#include <stdio.h>

/*
 * Print a random trace of @nr_ops ops to @out, the same text for the same
 * @seed (own PRNG, no libc randomness).  @profile names the header profile
 * (NULL: mainline).  The ops are those the kernel backend runs, mostly on
 * valid objects with arguments biased to boundaries; no expectations.
 * Returns 0, or -EIO when writing failed.
 */
int trace_gen_random(FILE *out, uint64_t seed, unsigned long nr_ops,
		     const char *profile);

#endif /* GMEM_GEN_H */
