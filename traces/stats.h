/* SPDX-License-Identifier: GPL-2.0 */
/* Huge page metrics: replay --stats and the compare command (stats.c). */
#ifndef GMEM_STATS_H
#define GMEM_STATS_H

#include <stdbool.h>
#include <stdio.h>

#include "backend.h"

struct trace_stats {
	struct gm_huge_stats sum;	/* summed over traces (peak: max) */
	struct gm_huge_stats last;	/* the last trace's */
	double mapped_frac_sum[GM_HUGE_LEVELS];
	unsigned long samples;	/* ops sampled for the time series */
	double mappable_frac_sum[GM_HUGE_LEVELS];
	unsigned long mappable_samples;
	unsigned long traces;
};

void stats_init(struct trace_stats *ts);
/*
 * Replay @t on the model with @cfg, sampling the metrics after every op
 * (and printing "FILE:LINE mapped 4K 2M 1G mappable 4K 2M 1G" to @series
 * when non-NULL); add the totals to @ts.  0 or a negative errno.
 */
int stats_run_trace(const struct trace *t, const struct trace_config *cfg,
		    struct trace_stats *ts, FILE *series);
void stats_print(FILE *out, const struct trace_stats *ts, bool json);
/* `gmemsim compare`; argv[0] is "compare".  Exit status. */
int compare_main(int argc, char **argv);

/* The model backend's huge page metrics (backend_model.c). */
void backend_model_huge_stats(struct backend *be, struct gm_huge_stats *st);

#endif /* GMEM_STATS_H */
