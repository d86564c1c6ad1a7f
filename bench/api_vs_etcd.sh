#!/usr/bin/env bash
# Figure: creates per second and p50/p99 latency of small objects with 1 and 16 clients,
# svcplane's API (HTTPS, bearer token, validation, SQLite group commit) beside etcd 3.4
# (Debian etcd-server, v3 JSON gateway over plain HTTP), same machine, same payload
# bytes, fresh data dirs under /tmp. One line per case; repeat and quote medians.
#   usage: bench/api_vs_etcd.sh [COUNT]
. "$(dirname "$0")/lib.sh"
COUNT=${1:-5000}
cc -O2 -o build/bench/api_bench bench/api_bench.c -lcurl -lpthread
for clients in 1 16; do
	sp_start "$BD/sp-$clients"
	build/bench/api_bench svcplane "$SP_URL" "$SP_TOKEN" "$SP_CA" "$clients" "$COUNT"
	sp_stop
	etcd_start "$BD/etcd-$clients"
	build/bench/api_bench etcd http://127.0.0.1:23790 - - "$clients" "$COUNT"
	etcd_stop
done
