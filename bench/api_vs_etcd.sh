#!/usr/bin/env bash
# Figure: creates per second and p50/p99 latency of small objects with 1 and 16 clients,
# svcplane's API (HTTPS, bearer token, SQLite group commit) beside etcd 3.4 (Debian
# etcd-server, v3 JSON gateway over plain HTTP), same machine, same payload bytes, each
# on a fresh data dir under /tmp. Prints one line per case; quote medians of repeated runs.
#   usage: bench/api_vs_etcd.sh [COUNT]
set -eu
cd "$(dirname "$0")/.."
COUNT=${1:-5000}
dpkg -s etcd-server >/dev/null 2>&1 || apt-get install -y -q etcd-server >/dev/null
make -s MODE=release build/release/svcplane
mkdir -p build/bench
cc -O2 -o build/bench/api_bench bench/api_bench.c -lcurl -lpthread
D=$(mktemp -d /tmp/svcplane-bench.XXXXXX)
cleanup() { kill -9 ${SP:-} ${ET:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT

for clients in 1 16; do
	rm -rf "$D/sp"; mkdir -p "$D/sp"
	build/release/svcplane server --data-dir "$D/sp" --secure-port 0 --service-cluster-ip-range 198.19.0.0/16 \
		--cluster-cidr 198.18.128.0/17 >"$D/sp.out" 2>"$D/sp.err" &
	SP=$!
	for i in $(seq 1 100); do grep -q kubeconfig "$D/sp.out" && break; sleep 0.05; done
	port=$(sed -nE 's/.*:([0-9]+) \(store.*/\1/p' "$D/sp.out")
	build/bench/api_bench svcplane "https://127.0.0.1:$port" "$(cat "$D/sp/token")" "$D/sp/pki/ca.crt" "$clients" "$COUNT"
	kill $SP; wait $SP 2>/dev/null || true

	rm -rf "$D/etcd"
	etcd --data-dir "$D/etcd" --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
		--listen-peer-urls http://127.0.0.1:23800 >"$D/etcd.log" 2>&1 &
	ET=$!
	for i in $(seq 1 100); do curl -s http://127.0.0.1:23790/health | grep -q true && break; sleep 0.1; done
	build/bench/api_bench etcd http://127.0.0.1:23790 - - "$clients" "$COUNT"
	kill $ET; wait $ET 2>/dev/null || true
done
