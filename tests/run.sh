#!/usr/bin/env bash
# Runs the whole test suite: unit tests (plain and under ASan+UBSan), fuzz corpus replay,
# and integration tests with the real binary (the ASan+UBSan build, so a memory error
# or leak in the server fails the run) and real kubectl. Every stage prints its own
# "N passed, N failed[, N skipped]" line; this script adds them up and ends with the total.
set -u
cd "$(dirname "$0")/.."
# The ASan stage carries UBSan (-fno-sanitize-recover=undefined in MODE=asan): the first
# report halts the program, with a stack, so no report scrolls by unnoticed.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
jobs=$(nproc 2>/dev/null || echo 2)
total_pass=0 total_fail=0 total_skip=0
log=$(mktemp -d /tmp/svcplane-test.XXXXXX)
trap 'rm -rf "$log"' EXIT

count() { # count STAGE LOGFILE RC: adds the stage's last summary line to the totals
	local line p f s
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
	if [ -z "$line" ]; then
		echo "== $1: no summary line (exit $3); counted as 1 failure"
		total_fail=$((total_fail + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
	s=${s:-0}
	if [ "$3" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
	echo "== $1: $line"
}

stage() { # stage NAME CMD...: runs a stage, shows its output, counts its summary
	local name=$1 rc t0=$SECONDS
	shift
	echo "== $name"
	"$@" 2>&1 | tee "$log/$name.log"
	rc=${PIPESTATUS[0]}
	count "$name" "$log/$name.log" "$rc"
	echo "== $name took $((SECONDS - t0)) s"
}

build() {
	echo "== build ($1)"
	if ! make -s -j"$jobs" MODE="$1" WERROR=1 "build/$1/svcplane" "build/$1/test-unit" >"$log/build-$1.log" 2>&1; then
		cat "$log/build-$1.log"
		echo "== build ($1) failed"
		total_fail=$((total_fail + 1))
		return 1
	fi
}

fuzz_replay() {
	local pass=0 fail=0 n
	for src in tests/fuzz/fuzz_*.c; do
		[ -e "$src" ] || continue
		n=$(basename "$src" .c)
		n=${n#fuzz_}
		if make -s MODE=asan WERROR=1 "build/asan/fuzz-replay-$n" >"$log/fuzz-build-$n.log" 2>&1 &&
			"build/asan/fuzz-replay-$n" "tests/fuzz/corpus/$n"; then
			echo "ok   fuzz-replay $n"
			pass=$((pass + 1))
		else
			cat "$log/fuzz-build-$n.log"
			echo "FAIL fuzz-replay $n"
			fail=$((fail + 1))
		fi
	done
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
}

# uses_cluster SCRIPT: true when the script brings up the namespace cluster (or holds its
# lock, or runs another test script): those run one after the other in the cluster lane.
uses_cluster() {
	grep -qE 'cluster_up|need_cluster|lib_twonode|cluster\.sh|svcplane-cluster\.lock|tests/integ/test_[a-z0-9_]+\.sh' "$1"
}

# integ_lane OUTDIR SCRIPT...: runs the scripts one after the other, each one's output in
# OUTDIR/<name>.out, its exit code in OUTDIR/<name>.rc and its own time (without the
# wait for the shared cluster lock) in OUTDIR/<name>.time; a line as each one ends.
integ_lane() {
	local dir=$1 t n t0 w rc
	shift
	for t in "$@"; do
		n=$(basename "$t" .sh)
		t0=$SECONDS
		# 45 min: up to 30 min waiting for the shared cluster lock (other suites on this
		# machine hold it for their run), then the test itself.
		SVCPLANE=build/asan/svcplane timeout 2700 bash "$t" >"$dir/$n.out" 2>&1
		rc=$?
		echo "$rc" >"$dir/$n.rc"
		w=$(sed -nE 's/^# waited ([0-9]+) s for the cluster lock$/\1/p' "$dir/$n.out" | head -n 1)
		echo "$((SECONDS - t0 - ${w:-0}))" >"$dir/$n.time"
		echo "   done $t ($(cat "$dir/$n.time") s): $(grep -E '^[0-9]+ passed, [0-9]+ failed' "$dir/$n.out" | tail -n 1)"
	done
}

# Two lanes at once: the scripts on the namespace cluster one after the other (they share
# it), and beside them the scripts that start servers of their own on loopback. Outputs
# are shown whole, in name order, once both lanes are done. SVCPLANE_TEST_LANES=1 runs
# everything in one lane.
integ() {
	local pass=0 fail=0 skip=0 line p f s t n rc dir=$log/integ cl=() other=()
	mkdir -p "$dir"
	for t in tests/integ/test_*.sh; do
		[ -e "$t" ] || continue
		if [ "${SVCPLANE_TEST_LANES:-2}" = 1 ] || uses_cluster "$t"; then cl+=("$t"); else other+=("$t"); fi
	done
	echo "-- ${#cl[@]} scripts on the namespace cluster, ${#other[@]} beside them"
	integ_lane "$dir" "${other[@]}" &
	local bg=$!
	integ_lane "$dir" "${cl[@]}"
	wait "$bg"
	: >"$log/integ.times"
	for t in tests/integ/test_*.sh; do
		[ -e "$t" ] || continue
		n=$(basename "$t" .sh)
		echo "-- $t"
		cat "$dir/$n.out"
		echo "$(cat "$dir/$n.time" 2>/dev/null || echo 0) $t" >>"$log/integ.times"
		rc=$(cat "$dir/$n.rc" 2>/dev/null || echo 1)
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$dir/$n.out" | tail -n 1)
		if [ -z "$line" ]; then
			echo "FAIL $t (exit $rc, no summary)"
			fail=$((fail + 1))
			continue
		fi
		p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
		f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
		s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + ${s:-0}))
	done
	# Where the time goes (seconds, lock wait excluded), slowest first: keep the suite
	# well under 15 minutes on two cores.
	echo "-- integration time by script (s):"
	sort -rn "$log/integ.times" | head -n 12 | sed 's/^/   /'
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" = 0 ]
}

# make lint as a stage: the tree formatted as .clang-format says (format drift fails CI).
lint() {
	if make -s lint >"$log/lint.out" 2>&1; then
		echo "ok   clang-format: every .c and .h as .clang-format says"
		echo "1 passed, 0 failed"
	else
		head -n 40 "$log/lint.out"
		echo "FAIL clang-format: run \`make fmt\` (the first differences are above)"
		echo "0 passed, 1 failed"
		return 1
	fi
}

case "${1:-all}" in
integ) # make test-integ: the integration tests alone
	build asan && stage integration integ
	;;
*)
	stage lint lint
	build debug && stage unit build/debug/test-unit
	build asan && stage unit-asan build/asan/test-unit
	# Backend parity: the store's tests again on a throwaway etcd, under ASan+UBSan (fails,
	# never skips, when etcd is missing).
	[ -x build/asan/test-unit ] && stage unit-etcd tests/etcd_run.sh build/asan/test-unit store_
	stage fuzz-replay fuzz_replay
	[ -x build/asan/svcplane ] && stage integration integ
	;;
esac

echo
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" = 0 ]
