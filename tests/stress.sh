#!/usr/bin/env bash
# stress.sh - make test-stress: the whole suite (`make test`) RUNS times in a row (default
# 3) from a fresh clone of HEAD, while `stress-ng --cpu CPUS` (default 2) keeps the
# machine's cores busy. Proves the suite's waits are conditions with generous bounds,
# not timings that only hold on an idle machine. Not part of `make test` (it takes three
# times as long and more).
#
# Environment: STRESS_RUNS (3), STRESS_CPUS (2), STRESS_CLONE (1: clone HEAD into a
# temporary dir and test there, as a new user would; 0: test this tree as it is).
# Logs: build/test-stress/run-N.log. Exit 0 only when every run ends "N passed, 0 failed".
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
RUNS=${STRESS_RUNS:-3}
CPUS=${STRESS_CPUS:-2}
LOG=$ROOT/build/test-stress
mkdir -p "$LOG"
command -v stress-ng >/dev/null || { echo "stress-ng is not installed (scripts/deps.sh test)"; exit 1; }

WORK=$ROOT
CLONE=
STRESS_PID=
finish() {
	[ -n "$STRESS_PID" ] && kill "$STRESS_PID" 2>/dev/null && wait "$STRESS_PID" 2>/dev/null
	[ -n "$CLONE" ] && rm -rf "$CLONE"
}
trap finish EXIT
trap 'exit 1' INT TERM HUP

if [ "${STRESS_CLONE:-1}" = 1 ]; then
	CLONE=$(mktemp -d /tmp/svcplane-stress.XXXXXX)
	git clone -q "$ROOT" "$CLONE/src" || { echo "git clone failed"; exit 1; }
	WORK=$CLONE/src
	echo "testing a fresh clone of $(git -C "$ROOT" rev-parse --short HEAD) in $WORK"
fi

# Bounded: stress-ng ends by itself after 4 hours even if this script is killed -9.
stress-ng --cpu "$CPUS" --timeout 4h --quiet &
STRESS_PID=$!
echo "stress-ng --cpu $CPUS running (pid $STRESS_PID)"

failed=0
for i in $(seq 1 "$RUNS"); do
	start=$SECONDS
	make -C "$WORK" -s test >"$LOG/run-$i.log" 2>&1
	rc=$?
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOG/run-$i.log" | tail -n 1)
	echo "run $i/$RUNS: exit $rc, $((SECONDS - start)) s: $last"
	if [ $rc != 0 ] || ! printf '%s' "$last" | grep -Eq '^[0-9]+ passed, 0 failed'; then
		[ -n "$last" ] || tail -n 5 "$LOG/run-$i.log" | sed 's/^/    /'
		failed=$((failed + 1))
		grep -E '^(FAIL|  tests/)' "$LOG/run-$i.log" | head -n 20 | sed 's/^/    /'
	fi
done
echo "$((RUNS - failed)) of $RUNS runs passed under stress-ng --cpu $CPUS (logs in $LOG)"
[ $failed = 0 ]
