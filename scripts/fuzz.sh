#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# fuzz.sh TARGET DICT SECONDS OUTDIR SEED...
#
# One AFL++ campaign on an afl-clang-fast -fsanitize=fuzzer TARGET: the SEED
# traces are copied into OUTDIR/seeds, OUTDIR/out is started afresh, and
# afl-fuzz runs for SECONDS with DICT.  Prints a summary from fuzzer_stats and
# exits non-zero when afl-fuzz fails or any crash was saved.
set -euo pipefail

if [ "$#" -lt 5 ]; then
	echo "usage: $0 TARGET DICT SECONDS OUTDIR SEED..." >&2
	exit 2
fi
target=$1 dict=$2 seconds=$3 outdir=$4
shift 4

case "$seconds" in
'' | *[!0-9]* | 0) echo "$0: FUZZ_SECONDS must be a positive integer, not '$seconds'" >&2; exit 2 ;;
esac

seeds="$outdir/seeds"
out="$outdir/out"
rm -rf "$seeds" "$out"
mkdir -p "$seeds"
for f in "$@"; do
	# traces/corpus/a.trace -> traces_corpus_a.trace (names stay unique)
	cp "$f" "$seeds/$(printf '%s' "$f" | tr '/' '_')"
done

export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_UI=1 AFL_NO_AFFINITY=1
log="$outdir/afl-fuzz.log"
echo "afl-fuzz -i $seeds -o $out -x $dict -V $seconds -- $target (log: $log)"
if ! afl-fuzz -i "$seeds" -o "$out" -x "$dict" -V "$seconds" -- "$target" \
	</dev/null >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "fuzz: afl-fuzz failed; full log in $log" >&2
	exit 1
fi

echo "==> fuzz [3/3] summary"
stats="$out/default/fuzzer_stats"
if [ ! -f "$stats" ]; then
	echo "fuzz: no $stats: afl-fuzz did not run" >&2
	exit 1
fi
stat() { sed -n "s/^$1 *: *//p" "$stats" | head -n 1; }
crashes=$(find "$out/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
hangs=$(find "$out/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
echo "fuzz: $(stat execs_done) execs in $(stat run_time)s ($(stat execs_per_sec)/s)," \
	"corpus $(stat corpus_count), stability $(stat stability)," \
	"crashes $crashes, hangs $hangs"
if [ "$crashes" -gt 0 ]; then
	echo "fuzz: $crashes crashing input(s) in $out/default/crashes/;" \
		"reproduce with: make build/asan/fuzz-replay && build/asan/fuzz-replay FILE" >&2
	exit 1
fi
