#!/usr/bin/env bash
# Figure: watch event latency, from sending a create to the ADDED event arriving on an
# open watch stream, svcplane (HTTPS watch) on SQLite and on a 1-member etcd (the event goes
# etcd -> the server's watch cache -> the HTTPS watch) beside etcd 3.4 (v3 JSON watch), one writer.
#   usage: bench/watch_latency.sh [COUNT]
. "$(dirname "$0")/lib.sh"
COUNT=${1:-2000}
cc -O2 -o build/bench/watch_bench bench/watch_bench.c -lcurl -lpthread
sp_start "$BD/sp"
build/bench/watch_bench svcplane "$SP_URL" "$SP_TOKEN" "$SP_CA" "$COUNT" || true
sp_stop
. tests/etcd_lib.sh
trap 'etcd_cluster_stop; bench_cleanup' EXIT
etcd_cluster_start "$BD/etcd-sp" 1
sp_start "$BD/sp-etcd" --datastore-endpoint "$ETCD_URL"
printf 'on etcd: '
build/bench/watch_bench svcplane "$SP_URL" "$SP_TOKEN" "$SP_CA" "$COUNT" || true
sp_stop
etcd_cluster_stop
etcd_start "$BD/etcd"
build/bench/watch_bench etcd http://127.0.0.1:23790 - - "$COUNT" || true
etcd_stop
