/* SPDX-License-Identifier: GPL-2.0 */
/* gmemsim bench: model vs kernel throughput and sparse memory cost. */
#ifndef GMEM_BENCH_H
#define GMEM_BENCH_H

/* The `gmemsim bench` subcommand; argv[0] is "bench".  Exit status. */
int bench_main(int argc, char **argv);

#endif /* GMEM_BENCH_H */
