#!/usr/bin/env bash
# Installs the Debian packages that building and testing svcplane need, when missing.
# Called by the Makefile before every build; a no-op when everything is present.
set -eu
pkgs_build="gcc clang make pkg-config libsqlite3-dev libjansson-dev libyaml-dev libssl-dev libcurl4-openssl-dev libmnl-dev libnftables-dev libnftnl-dev libnetfilter-conntrack-dev zlib1g-dev"
pkgs_test="curl etcd-server etcd-client sqlite3 iproute2 iputils-ping nftables procps openssl python3 libclang-rt-14-dev socat conntrack iptables stress-ng bind9-dnsutils dnsmasq-base jq clang-format"
# Peers and load generators of the benches (bench/uproxy.sh): `scripts/deps.sh bench`.
pkgs_bench="haproxy wrk iperf3"
want="$pkgs_build"
[ "${1:-}" = "test" ] && want="$want $pkgs_test"
[ "${1:-}" = "bench" ] && want="$want $pkgs_test $pkgs_bench"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
	apt-get update -q >/dev/null 2>&1
	apt-get install -y -q --no-install-recommends $missing >/dev/null
}
