#!/usr/bin/env bash
# bench/proxy.sh - the Service proxy's figures (bench/RESULTS.md): nftables backend vs the
# iptables backend (kube-proxy's layout through iptables-restore), each in a network
# namespace of its own: program 1,000 and 10,000 Services x 10 endpoints, one-endpoint
# changes at that size (p50/p99), connection rate and connect() latency through 1 and
# N Services, memory, and (nftables) the first sync of a new backend against the kernel's
# table, as after an agent restart.  Usage: bench/proxy.sh [N...]   (default: 1000 10000)
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "proxy bench: needs root (network namespaces)"; exit 0; }
make -s MODE=release build/release/libsvcplane.a
BIN=$(mktemp /tmp/proxy_bench.XXXXXX)
NS=svcp-bench-$$
trap 'ip netns delete $NS 2>/dev/null; rm -f "$BIN"' EXIT
gcc -std=gnu17 -D_GNU_SOURCE -O2 -Isrc -o "$BIN" bench/proxy_bench.c build/release/libsvcplane.a \
	$(pkg-config --cflags --libs jansson libnftables libnftnl libnetfilter_conntrack libmnl openssl) -pthread -lm
[ $# -gt 0 ] || set -- 1000 10000
for n in "$@"; do
	for mode in nftables iptables; do
		ip netns add $NS
		changes=200
		[ "$mode" = iptables ] && [ "$n" -ge 10000 ] && changes=20
		ip netns exec $NS timeout 1200 "$BIN" $mode "$n" $changes 5000 || echo "$mode $n: failed"
		ip netns delete $NS
	done
done
