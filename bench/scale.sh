#!/usr/bin/env bash
# Figure: resident memory with N Services stored, and time to ready after a restart
# with them (svcplane prints its own ready time; RSS from /proc), beside etcd 3.4's
# RSS holding the same objects.
#   usage: bench/scale.sh [N]
. "$(dirname "$0")/lib.sh"
N=${1:-10000}
cc -O2 -o build/bench/api_bench bench/api_bench.c -lcurl -lpthread
sp_start "$BD/sp"
echo "svcplane empty: ready_ms=$SP_READY_MS rss_kb=$(rss_kb $SP)"
build/bench/api_bench svcplane "$SP_URL" "$SP_TOKEN" "$SP_CA" 16 "$N" >/dev/null
echo "svcplane with $N services: rss_kb=$(rss_kb $SP)"
sp_stop
sp_start "$BD/sp"
curl -s -o /dev/null --cacert "$SP_CA" -H "Authorization: Bearer $SP_TOKEN" "$SP_URL/api/v1/services"
echo "svcplane restart with $N services: ready_ms=$SP_READY_MS rss_kb_after_list=$(rss_kb $SP) $(grep -o 'allocation repair.*' "$BD/sp.err" | tail -n1)"
sp_stop
etcd_start "$BD/etcd"
build/bench/api_bench etcd http://127.0.0.1:23790 - - 16 "$N" >/dev/null
echo "etcd 3.4 with $N objects: rss_kb=$(rss_kb $ET)"
etcd_stop
