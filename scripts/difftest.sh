#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# difftest.sh [-k] [-p PROFILE] GMEMSIM SEEDS OPS DIR [BATCH]
#
# Differential campaign: for seeds 1..SEEDS, generate
# `GMEMSIM gen random --seed S --ops OPS` into DIR/seeds-FIRST-LAST/ (BATCH
# traces per directory, default 500) and run `GMEMSIM diff` over each batch.
# With -p PROFILE the traces are `gen random --profile=PROFILE` (model-only
# ops, `check -> ok` after every op) and each batch is replayed on the
# model instead: an invariant campaign.
# A batch that fails is kept for inspection; passing batches are deleted
# unless -k is given.  With more than one batch, a total line follows:
#     difftest: N passed, N failed, N skipped
# (replay counts expectations, diff counts traces).
# Exits non-zero when any batch failed or its summary line is missing.
set -euo pipefail

keep=0 profile=""
while [ "$#" -gt 0 ]; do
	case "$1" in
	-k) keep=1; shift ;;
	-p) profile=${2:-}; shift 2 ;;
	*) break ;;
	esac
done
if [ "$#" -lt 4 ] || [ "$#" -gt 5 ]; then
	echo "usage: $0 [-k] [-p PROFILE] GMEMSIM SEEDS OPS DIR [BATCH]" >&2
	exit 2
fi
if [ -n "$profile" ]; then
	gen_extra=(--profile="$profile") run=replay
else
	gen_extra=() run=diff
fi
gmemsim=$1 seeds=$2 ops=$3 dir=$4 batch=${5:-500}

for n in "$seeds" "$ops" "$batch"; do
	case "$n" in
	'' | *[!0-9]*) echo "$0: not a number: '$n'" >&2; exit 2 ;;
	esac
done
[ "$batch" -gt 0 ] || { echo "$0: BATCH must be > 0" >&2; exit 2; }

mkdir -p "$dir"
passed=0 failed=0 skipped=0 bad_batches=0 batches=0
re="^$run: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped\$"

for ((first = 1; first <= seeds; first += batch)); do
	last=$((first + batch - 1))
	[ "$last" -le "$seeds" ] || last=$seeds
	bdir=$(printf '%s/seeds-%05d-%05d' "$dir" "$first" "$last")
	rm -rf "$bdir"
	mkdir -p "$bdir"
	echo "difftest: seeds $first..$last, $ops ops each -> $bdir"
	for ((s = first; s <= last; s++)); do
		f=$(printf '%s/seed-%05d.trace' "$bdir" "$s")
		if ! "$gmemsim" gen random --seed "$s" --ops "$ops" \
			"${gen_extra[@]}" >"$f"; then
			echo "difftest: '$gmemsim gen random --seed $s --ops $ops' failed" >&2
			exit 1
		fi
	done

	log="$bdir/$run.log"
	rc=0
	"$gmemsim" "$run" "$bdir"/seed-*.trace >"$log" 2>&1 || rc=$?
	grep -v "^$run: " "$log" | head -n 20 || true
	grep -E "$re" "$log" || true
	batches=$((batches + 1))
	line=$(grep -E "$re" "$log" | tail -n 1 || true)
	if [[ "$line" =~ $re ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
		skipped=$((skipped + BASH_REMATCH[3]))
	else
		echo "difftest: no '$run: N passed, N failed, N skipped' line from seeds $first..$last" >&2
		rc=1
	fi
	if [ "$rc" -ne 0 ]; then
		bad_batches=$((bad_batches + 1))
		echo "difftest: seeds $first..$last FAILED (exit $rc); traces kept in $bdir" >&2
	elif [ "$keep" -eq 0 ]; then
		rm -rf "$bdir"
	fi
done

if [ "$batches" -gt 1 ]; then
	echo "difftest: $passed passed, $failed failed, $skipped skipped"
fi
[ "$bad_batches" -eq 0 ]
