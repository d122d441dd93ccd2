// SPDX-License-Identifier: GPL-2.0
/*
 * Huge page metrics (profile hugetlb): `gmemsim replay --stats[=json]` and
 * `gmemsim compare --policies=... TRACE...`, the side-by-side table a
 * designer reads to choose a split/merge policy (inflight-series §3.7).
 *
 * A trace runs on the model backend op by op; after every op the mapping
 * levels are sampled so the fraction of guest memory mapped at 1G/2M/4K is
 * a time series, summarised as its mean and final value.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "stats.h"

static const char *const level_names[GM_HUGE_LEVELS] = { "4K", "2M", "1G" };

void stats_init(struct trace_stats *ts)
{
	memset(ts, 0, sizeof(*ts));
}

/* One sample of the mapping levels after an op. */
static void stats_sample(struct trace_stats *ts, const struct gm_huge_stats *s)
{
	uint64_t total = s->mapped[0] + s->mapped[1] + s->mapped[2];
	uint64_t eligible = s->mappable[0] + s->mappable[1] + s->mappable[2];
	unsigned int l;

	if (eligible) {
		for (l = 0; l < GM_HUGE_LEVELS; l++)
			ts->mappable_frac_sum[l] +=
				(double)s->mappable[l] / eligible;
		ts->mappable_samples++;
	}
	if (!total)
		return;
	for (l = 0; l < GM_HUGE_LEVELS; l++)
		ts->mapped_frac_sum[l] += (double)s->mapped[l] / total;
	ts->samples++;
}

int stats_run_trace(const struct trace *t, const struct trace_config *cfg,
		    struct trace_stats *ts, FILE *series)
{
	struct gm_huge_stats s;
	struct op_result res;
	struct backend *be;
	char why[256] = "";
	size_t i;
	int ret;

	ret = backend_model_ops.open(t, cfg, NULL, &be, why, sizeof(why));
	if (ret) {
		fprintf(stderr, "%s: model: %s\n", t->file, why);
		return ret;
	}
	for (i = 0; i < t->nr_ops; i++) {
		if (t->ops[i].code == TOP_ERROR)
			continue;
		backend_model_ops.exec(be, t, &t->ops[i], &res);
		backend_model_huge_stats(be, &s);
		stats_sample(ts, &s);
		if (series)
			fprintf(series,
				"%s:%u mapped %llu %llu %llu mappable %llu %llu "
				"%llu\n",
				t->file, t->ops[i].line,
				(unsigned long long)s.mapped[0],
				(unsigned long long)s.mapped[1],
				(unsigned long long)s.mapped[2],
				(unsigned long long)s.mappable[0],
				(unsigned long long)s.mappable[1],
				(unsigned long long)s.mappable[2]);
	}
	backend_model_huge_stats(be, &s);
	backend_model_ops.close(be);
	ts->last = s;
	for (i = 0; i < GM_HUGE_LEVELS * GM_HUGE_LEVELS; i++) {
		ts->sum.splits[i / GM_HUGE_LEVELS][i % GM_HUGE_LEVELS] +=
			s.splits[i / GM_HUGE_LEVELS][i % GM_HUGE_LEVELS];
		ts->sum.merges[i / GM_HUGE_LEVELS][i % GM_HUGE_LEVELS] +=
			s.merges[i / GM_HUGE_LEVELS][i % GM_HUGE_LEVELS];
	}
	ts->sum.pingpong += s.pingpong;
	ts->sum.zaps += s.zaps;
	ts->sum.eagain += s.eagain;
	ts->sum.vmemmap_bytes += s.vmemmap_bytes;
	if (s.vmemmap_peak > ts->sum.vmemmap_peak)
		ts->sum.vmemmap_peak = s.vmemmap_peak;
	ts->sum.attr_runs += s.attr_runs;
	ts->sum.subfolios_freed += s.subfolios_freed;
	ts->sum.demotes += s.demotes;
	for (i = 0; i < GM_HUGE_LEVELS; i++)
		ts->sum.mappable[i] += s.mappable[i];
	for (i = 0; i < 2; i++)
		ts->sum.pool_in_use[i] += s.pool_in_use[i];
	for (i = 0; i < GM_HUGE_LEVELS; i++)
		ts->sum.mapped[i] += s.mapped[i];
	ts->traces++;
	return 0;
}

static uint64_t sum_matrix(const uint64_t m[GM_HUGE_LEVELS][GM_HUGE_LEVELS])
{
	uint64_t n = 0;
	unsigned int a, b;

	for (a = 0; a < GM_HUGE_LEVELS; a++)
		for (b = 0; b < GM_HUGE_LEVELS; b++)
			n += m[a][b];
	return n;
}

static double mean_frac(const struct trace_stats *ts, unsigned int level)
{
	return ts->samples ? ts->mapped_frac_sum[level] / ts->samples : 0;
}

static double mean_mappable(const struct trace_stats *ts, unsigned int level)
{
	return ts->mappable_samples ?
		       ts->mappable_frac_sum[level] / ts->mappable_samples :
		       0;
}

void stats_print(FILE *out, const struct trace_stats *ts, bool json)
{
	const struct gm_huge_stats *s = &ts->sum;
	unsigned int a, b;

	if (json) {
		fprintf(out, "{\"traces\": %lu, \"splits\": {", ts->traces);
		for (a = 0; a < GM_HUGE_LEVELS; a++)
			for (b = 0; b < a; b++)
				fprintf(out, "%s\"%s->%s\": %llu",
					a == 1 && b == 0 ? "" : ", ",
					level_names[a], level_names[b],
					(unsigned long long)s->splits[a][b]);
		fprintf(out, "}, \"merges\": {");
		for (a = 0; a < GM_HUGE_LEVELS; a++)
			for (b = a + 1; b < GM_HUGE_LEVELS; b++)
				fprintf(out, "%s\"%s->%s\": %llu",
					a == 0 && b == 1 ? "" : ", ",
					level_names[a], level_names[b],
					(unsigned long long)s->merges[a][b]);
		fprintf(out,
			"}, \"pingpong\": %llu, \"vmemmap_bytes\": %llu, "
			"\"vmemmap_peak\": %llu, \"zaps\": %llu, "
			"\"eagain\": %llu, \"attr_runs\": %llu, "
			"\"pool_in_use\": {\"2M\": %llu, \"1G\": %llu}, "
			"\"mapped_pages\": {\"4K\": %llu, \"2M\": %llu, "
			"\"1G\": %llu}, \"mapped_mean\": {\"4K\": %.4f, "
			"\"2M\": %.4f, \"1G\": %.4f}, \"mappable_mean\": "
			"{\"4K\": %.4f, \"2M\": %.4f, \"1G\": %.4f}, "
			"\"subfolios_freed\": %llu, \"demotes\": %llu}\n",
			(unsigned long long)s->pingpong,
			(unsigned long long)s->vmemmap_bytes,
			(unsigned long long)s->vmemmap_peak,
			(unsigned long long)s->zaps,
			(unsigned long long)s->eagain,
			(unsigned long long)s->attr_runs,
			(unsigned long long)s->pool_in_use[0],
			(unsigned long long)s->pool_in_use[1],
			(unsigned long long)s->mapped[0],
			(unsigned long long)s->mapped[1],
			(unsigned long long)s->mapped[2], mean_frac(ts, 0),
			mean_frac(ts, 1), mean_frac(ts, 2),
			mean_mappable(ts, 0), mean_mappable(ts, 1),
			mean_mappable(ts, 2),
			(unsigned long long)s->subfolios_freed,
			(unsigned long long)s->demotes);
		return;
	}
	fprintf(out, "stats: %lu trace(s)\n", ts->traces);
	for (a = 0; a < GM_HUGE_LEVELS; a++)
		for (b = 0; b < a; b++)
			fprintf(out, "  splits %s->%s: %llu\n", level_names[a],
				level_names[b],
				(unsigned long long)s->splits[a][b]);
	for (a = 0; a < GM_HUGE_LEVELS; a++)
		for (b = a + 1; b < GM_HUGE_LEVELS; b++)
			fprintf(out, "  merges %s->%s: %llu\n", level_names[a],
				level_names[b],
				(unsigned long long)s->merges[a][b]);
	fprintf(out,
		"  ping-pong: %llu\n  vmemmap restored: %llu bytes now, "
		"%llu peak\n  stage-2 zaps for splits: %llu\n  EAGAIN: %llu\n"
		"  attribute runs: %llu\n  pool pages in use: 2M %llu, "
		"1G %llu\n  mapped now (4K pages): 4K %llu, 2M %llu, 1G %llu\n"
		"  mapped over time (mean fraction): 4K %.3f, 2M %.3f, "
		"1G %.3f\n"
		"  mappable over time (mean fraction of private pages): "
		"4K %.3f, 2M %.3f, 1G %.3f\n"
		"  sub-folios freed with their huge page: %llu\n"
		"  TDX demotes (4K accept): %llu\n",
		(unsigned long long)s->pingpong,
		(unsigned long long)s->vmemmap_bytes,
		(unsigned long long)s->vmemmap_peak,
		(unsigned long long)s->zaps, (unsigned long long)s->eagain,
		(unsigned long long)s->attr_runs,
		(unsigned long long)s->pool_in_use[0],
		(unsigned long long)s->pool_in_use[1],
		(unsigned long long)s->mapped[0],
		(unsigned long long)s->mapped[1],
		(unsigned long long)s->mapped[2], mean_frac(ts, 0),
		mean_frac(ts, 1), mean_frac(ts, 2), mean_mappable(ts, 0),
		mean_mappable(ts, 1), mean_mappable(ts, 2),
		(unsigned long long)s->subfolios_freed,
		(unsigned long long)s->demotes);
}

static const char usage_compare[] =
	"usage: gmemsim compare [--policies=P,P...] TRACE...\n"
	"\n"
	"Replay each TRACE (profile hugetlb) on the model once per policy and\n"
	"print the huge page metrics side by side.  Policies: eager, hier,\n"
	"lazy, nomerge (default: all four).\n";

int compare_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policies", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum gm_huge_policy pol[GM_POLICY_MAX];
	struct trace_stats ts[GM_POLICY_MAX];
	char list[128] = "eager,hier,lazy,nomerge", *tok, *save;
	unsigned int np = 0, p;
	int c, i, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			snprintf(list, sizeof(list), "%s", optarg);
			break;
		case 'h':
			fputs(usage_compare, stdout);
			return 0;
		default:
			fputs(usage_compare, stderr);
			return 2;
		}
	}
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (np == GM_POLICY_MAX || gm_huge_policy_parse(tok, &pol[np])) {
			fprintf(stderr, "compare: unknown policy '%s'\n", tok);
			return 2;
		}
		stats_init(&ts[np]);
		np++;
	}
	if (optind >= argc || !np) {
		fputs(usage_compare, stderr);
		return 2;
	}
	for (i = optind; i < argc; i++) {
		struct trace *t = trace_parse_file(argv[i], &err);

		if (!t) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(-err));
			return 1;
		}
		for (p = 0; p < np; p++) {
			struct trace_config cfg = t->cfg;

			snprintf(cfg.policy, sizeof(cfg.policy), "%s",
				 gm_huge_policy_name(pol[p]));
			if (cfg.profile < GM_PROFILE_HUGETLB)
				cfg.profile = GM_PROFILE_HUGETLB;
			if (stats_run_trace(t, &cfg, &ts[p], NULL)) {
				trace_free(t);
				return 1;
			}
		}
		trace_free(t);
	}

	printf("%-34s", "metric");
	for (p = 0; p < np; p++)
		printf(" %12s", gm_huge_policy_name(pol[p]));
	putchar('\n');
#define ROW(label, expr)                                                  \
	do {                                                              \
		printf("%-34s", label);                                   \
		for (p = 0; p < np; p++)                                  \
			printf(" %12llu", (unsigned long long)(expr));   \
		putchar('\n');                                            \
	} while (0)
#define ROWF(label, expr)                                                 \
	do {                                                              \
		printf("%-34s", label);                                   \
		for (p = 0; p < np; p++)                                  \
			printf(" %12.3f", (double)(expr));               \
		putchar('\n');                                            \
	} while (0)
	ROW("splits (all)", sum_matrix(ts[p].sum.splits));
	ROW("  1G->4K", ts[p].sum.splits[2][0]);
	ROW("  1G->2M", ts[p].sum.splits[2][1]);
	ROW("  2M->4K", ts[p].sum.splits[1][0]);
	ROW("merges (all)", sum_matrix(ts[p].sum.merges));
	ROW("  4K->2M", ts[p].sum.merges[0][1]);
	ROW("  4K->1G", ts[p].sum.merges[0][2]);
	ROW("  2M->1G", ts[p].sum.merges[1][2]);
	ROW("split/merge ping-pong", ts[p].sum.pingpong);
	ROW("vmemmap restored, end (bytes)", ts[p].sum.vmemmap_bytes);
	ROW("vmemmap restored, peak (bytes)", ts[p].sum.vmemmap_peak);
	ROW("stage-2 zaps for splits", ts[p].sum.zaps);
	ROW("EAGAIN", ts[p].sum.eagain);
	ROW("attribute runs, end", ts[p].sum.attr_runs);
	ROW("pool 2M pages in use, end", ts[p].sum.pool_in_use[0]);
	ROW("pool 1G pages in use, end", ts[p].sum.pool_in_use[1]);
	ROW("guest pages mapped at 4K, end", ts[p].sum.mapped[0]);
	ROW("guest pages mapped at 2M, end", ts[p].sum.mapped[1]);
	ROW("guest pages mapped at 1G, end", ts[p].sum.mapped[2]);
	ROWF("mapped at 4K, mean fraction", mean_frac(&ts[p], 0));
	ROWF("mapped at 2M, mean fraction", mean_frac(&ts[p], 1));
	ROWF("mapped at 1G, mean fraction", mean_frac(&ts[p], 2));
	ROWF("mappable at 4K, mean fraction", mean_mappable(&ts[p], 0));
	ROWF("mappable at 2M, mean fraction", mean_mappable(&ts[p], 1));
	ROWF("mappable at 1G, mean fraction", mean_mappable(&ts[p], 2));
	ROW("sub-folios freed", ts[p].sum.subfolios_freed);
	ROW("TDX demotes (4K accept)", ts[p].sum.demotes);
#undef ROW
#undef ROWF
	return 0;
}
