#!/usr/bin/env bash
# test_proxy_ipv6.sh with --proxy-mode iptables: the same IPv6 and dual-stack Services
# and traffic, programmed through ip6tables-restore (and iptables-restore for IPv4).
cd "$(dirname "$0")/../.." || exit 1
PROXY_MODE=iptables exec bash tests/integ/test_proxy_ipv6.sh
