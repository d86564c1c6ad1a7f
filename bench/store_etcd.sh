#!/usr/bin/env bash
# Figure (issue 16): creates per second and p50/p99 latency of small Services with 1 and 16
# clients through svcplane's API on SQLite, on a 1-member etcd and on a 3-member etcd (three
# etcd 3.4 processes on 127.0.0.1 ports), beside bare etcd puts of the same bytes on the
# same 1- and 3-member clusters (v3 JSON gateway). Same machine, fresh data dirs under /tmp.
# One line per case (api_bench's output); repeat and quote medians.
#   usage: bench/store_etcd.sh [COUNT] [ROUNDS]
. "$(dirname "$0")/lib.sh"
. tests/etcd_lib.sh
COUNT=${1:-2000}
ROUNDS=${2:-1}
cc -O2 -o build/bench/api_bench bench/api_bench.c -lcurl -lpthread
trap 'etcd_cluster_stop; bench_cleanup' EXIT
for round in $(seq 1 "$ROUNDS"); do
	for clients in 1 16; do
		echo "# round $round, $clients clients"
		sp_start "$BD/sq-$round-$clients"
		printf 'sqlite   '
		build/bench/api_bench svcplane "$SP_URL" "$SP_TOKEN" "$SP_CA" "$clients" "$COUNT"
		sp_stop
		for members in 1 3; do
			etcd_cluster_start "$BD/etcd-$round-$clients-$members" "$members"
			sp_start "$BD/sp-$round-$clients-$members" --datastore-endpoint "$ETCD_URL"
			printf 'etcd%d    ' "$members"
			build/bench/api_bench svcplane "$SP_URL" "$SP_TOKEN" "$SP_CA" "$clients" "$COUNT"
			sp_stop
			printf 'bare%d    ' "$members"
			build/bench/api_bench etcd "http://127.0.0.1:${ETCD_PORTS[0]}" - - "$clients" "$COUNT"
			etcd_cluster_stop
		done
	done
done
