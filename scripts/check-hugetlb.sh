#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# check-hugetlb.sh GMEMTEST [GMEMSIM]
#
# `make check-hugetlb`: run the sim/ code paths for hugetlb backings
# (memfd_create(MFD_HUGETLB | MFD_HUGE_2MB), docs/sim.md "Hugetlb backing")
# on real 2 MiB huge pages.  Without a hugetlb pool those paths never run:
# the CUnit sim suite skips its hugetlb-2M cases when the pool is empty.
#
# THIS CHANGES A SYSTEM SETTING FOR THE DURATION OF THE RUN, so it is not
# part of `make test` (which never changes system settings):
#
#   1. needs root and a writable
#      /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages, else prints
#      "check-hugetlb: skipped (reason)" and exits 0;
#   2. saves nr_hugepages, raises it to saved + N (N = CHECK_HUGETLB_PAGES,
#      default 64) and checks that free_hugepages really grew (a fragmented
#      host may give fewer pages or none: none is a skip, after restoring);
#   3. runs the CUnit sim suite (GMEMTEST -s sim) with
#      GMEMSIM_SIM_HUGETLB=require, so a hugetlb-2M case that cannot get
#      its huge pages fails instead of skipping;
#   4. when GMEMSIM is given and exists: GMEMSIM_SIM_STATS=1 GMEMSIM
#      replay --backend=sim over the corpus and the regress traces (the
#      hugetlb-profile ones get real huge pages), printing the replay
#      summary and the sim's stats line; then GMEMSIM stress --hugetlb
#      for 5 s, which must report no violation;
#   5. always (trap on EXIT, INT and TERM) writes the saved value back and
#      checks that it reads back; prints before/after.  A failed restore is
#      a failure of the run.
#
# THP settings are not touched.  Exit status: 0 when every step passed (or
# the check was skipped), 1 otherwise.
set -euo pipefail

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
	echo "usage: $0 GMEMTEST [GMEMSIM]" >&2
	exit 2
fi
gmemtest=$1
gmemsim=${2:-}
hdir=/sys/kernel/mm/hugepages/hugepages-2048kB
nr_file=$hdir/nr_hugepages
free_file=$hdir/free_hugepages
want=${CHECK_HUGETLB_PAGES:-64}

skip()
{
	echo "check-hugetlb: skipped ($*)"
	exit 0
}

case "$want" in
'' | *[!0-9]*) echo "check-hugetlb: CHECK_HUGETLB_PAGES=$want is not a number" >&2; exit 2 ;;
esac
[ "$want" -gt 0 ] || { echo "check-hugetlb: CHECK_HUGETLB_PAGES must be > 0" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || skip "needs root to resize the hugetlb pool; run as root: make check-hugetlb"
[ -e "$nr_file" ] || skip "$nr_file does not exist (no 2 MiB hugetlb support)"
[ -w "$nr_file" ] || skip "$nr_file is not writable"
[ -x "$gmemtest" ] || { echo "check-hugetlb: $gmemtest is not built" >&2; exit 2; }

# One run at a time: a second run would save the first one's raised value.
# The lock lives in /run (root only), not in a world-writable directory
# where another user could hold it.
lock=/run/gmemsim-check-hugetlb.lock
[ -d /run ] && [ -w /run ] || lock="${TMPDIR:-/tmp}/gmemsim-check-hugetlb.lock"
exec 9>"$lock"
flock -n 9 || skip "another check-hugetlb run holds $lock"

saved=$(<"$nr_file")
free_before=$(<"$free_file")
restored=0

restore()
{
	local now

	[ "$restored" -eq 0 ] || return 0
	restored=1
	if ! echo "$saved" >"$nr_file"; then
		echo "check-hugetlb: FAILED to write $saved back to $nr_file" >&2
		return 1
	fi
	now=$(<"$nr_file")
	echo "check-hugetlb: nr_hugepages restored: before=$saved after=$now (free $(<"$free_file"))"
	if [ "$now" != "$saved" ]; then
		echo "check-hugetlb: FAILED: nr_hugepages reads $now, not $saved" >&2
		return 1
	fi
}

# shellcheck disable=SC2317 # called from the trap
on_exit()
{
	local rc=$?

	# ignore further INT/TERM: a second Ctrl-C must not skip the restore
	trap '' INT TERM
	trap - EXIT
	restore || rc=1
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

target=$((saved + want))
echo "check-hugetlb: nr_hugepages=$saved (free $free_before), raising to $target"
if ! echo "$target" >"$nr_file" 2>/dev/null; then
	restore
	skip "writing $target to $nr_file failed"
fi
got=$(<"$nr_file")
free_after=$(<"$free_file")
echo "check-hugetlb: nr_hugepages=$got (free $free_after): $((free_after - free_before)) of $want pages added"
if [ "$free_after" -le "$free_before" ]; then
	restore
	skip "the kernel added no free 2 MiB page (memory fragmented or short)"
fi

rc=0

echo "==> check-hugetlb [1/3] CUnit sim suite with a hugetlb pool: $gmemtest -s sim"
out=$(mktemp)
if GMEMSIM_SIM_HUGETLB=require "$gmemtest" -s sim 2>&1 | tee "$out"; then
	:
else
	rc=1
fi
# Say which hugetlb-2M cases did not run, so a silent skip is visible.
if grep -q 'SKIP [a-z_]*/hugetlb-2M: ' "$out"; then
	echo "check-hugetlb: hugetlb-2M cases skipped by design:"
	grep -o 'SKIP [a-z_]*/hugetlb-2M: .*' "$out" |
		sed -e 's/ *\(passed\|FAILED\)\? *$//' -e 's/^/  /'
fi
ran=$(grep -o '[a-z_]*/hugetlb-2M: ran' "$out" | wc -l)
echo "check-hugetlb: $ran hugetlb-2M cases ran on real huge pages"
if [ "$ran" -eq 0 ]; then
	echo "check-hugetlb: FAILED: no hugetlb-2M case ran" >&2
	rc=1
fi
rm -f "$out"

# Step 2: the corpus and regress traces on the sim backend, whose huge=2M
# files of the hugetlb profile now get hugetlb memfds from the raised pool
# (docs/sim.md, "Hugetlb backing"); the stats line counts them.
shopt -s nullglob
traces=(traces/corpus/*.trace traces/regress/*.trace)
shopt -u nullglob
if [ -z "$gmemsim" ] || [ ! -x "$gmemsim" ]; then
	echo "==> check-hugetlb [2/3] sim replay of the corpus: skipped (${gmemsim:-gmemsim} not built)"
elif [ "${#traces[@]}" -eq 0 ]; then
	echo "==> check-hugetlb [2/3] sim replay of the corpus: skipped (no traces/corpus/*.trace)"
else
	echo "==> check-hugetlb [2/3] sim replay of ${#traces[@]} corpus and regress traces: GMEMSIM_SIM_STATS=1 $gmemsim replay --backend=sim traces/corpus/*.trace traces/regress/*.trace"
	out=$(mktemp)
	if GMEMSIM_SIM_STATS=1 "$gmemsim" replay --backend=sim "${traces[@]}" >"$out" 2>&1; then
		:
	else
		rc=1
	fi
	# failed expectations (one line each), then the summary and stats
	grep -v '^replay: \|^sim: ' "$out" | head -n 40 || true
	grep '^replay: \|^sim: ' "$out" || {
		echo "check-hugetlb: FAILED: no replay summary line" >&2
		rc=1
	}
	rm -f "$out"
fi

# Step 3: gmemsim stress on a HugeTLB file backed by real 2 MiB pages
# (host accesses one at a time, conversions and punches racing the vCPUs'
# faults): no violation allowed.
if [ -n "$gmemsim" ] && [ -x "$gmemsim" ]; then
	echo "==> check-hugetlb [3/3] $gmemsim stress --hugetlb --seconds 5 --vcpus 2 --converters 2 --size 32M"
	out=$(mktemp)
	if ! "$gmemsim" stress --hugetlb --seconds 5 --vcpus 2 --converters 2 \
		--size 32M >"$out" 2>&1; then
		rc=1
	fi
	cat "$out"
	if grep -q 'SKIP' "$out"; then
		echo "check-hugetlb: FAILED: stress --hugetlb skipped with the pool raised" >&2
		rc=1
	fi
	rm -f "$out"
fi

if [ "$rc" -eq 0 ]; then
	echo "check-hugetlb: all steps passed"
else
	echo "check-hugetlb: FAILED" >&2
fi
exit "$rc"
