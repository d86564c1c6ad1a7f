#!/usr/bin/env bash
# Figure (issue 16): watch fan-out latency. WATCHERS (default 1,000) concurrent watch
# streams on one server, one writer; the time from sending a write to each watcher holding
# its event, p50/p99 over every receipt, and the median/p99 over writes of the time until
# the LAST watcher had it. svcplane on SQLite, svcplane on a 1-member etcd (etcd -> the
# server's watch cache -> 1,000 HTTPS streams), and bare etcd 3.4 with the same number of
# v3 JSON-gateway watches. One line per case and round; quote medians.
#   usage: bench/watch_fanout.sh [WATCHERS] [WRITES] [ROUNDS]
. "$(dirname "$0")/lib.sh"
. tests/etcd_lib.sh
WATCHERS=${1:-1000}
WRITES=${2:-200}
ROUNDS=${3:-3}
cc -O2 -Wall -o build/bench/fanout_bench bench/fanout_bench.c -lcurl -lpthread
ulimit -n 65536 2>/dev/null || true
trap 'etcd_cluster_stop; bench_cleanup' EXIT
for round in $(seq 1 "$ROUNDS"); do
	echo "# round $round"
	sp_start "$BD/sq-$round"
	printf 'sqlite  '
	build/bench/fanout_bench svcplane "$SP_URL" "$SP_TOKEN" "$SP_CA" "$WATCHERS" "$WRITES" || true
	sp_stop
	etcd_cluster_start "$BD/etcd-$round" 1
	sp_start "$BD/sp-$round" --datastore-endpoint "$ETCD_URL"
	printf 'etcd1   '
	build/bench/fanout_bench svcplane "$SP_URL" "$SP_TOKEN" "$SP_CA" "$WATCHERS" "$WRITES" || true
	sp_stop
	printf 'bare    '
	build/bench/fanout_bench etcd "http://127.0.0.1:${ETCD_PORTS[0]}" - - "$WATCHERS" "$WRITES" || true
	etcd_cluster_stop
done
