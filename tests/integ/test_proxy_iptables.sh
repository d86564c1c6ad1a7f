#!/usr/bin/env bash
# test_proxy.sh with --proxy-mode iptables: the same Services, the same real traffic,
# programmed through kube-proxy's chain layout and iptables-restore.
cd "$(dirname "$0")/../.." || exit 1
PROXY_MODE=iptables exec bash tests/integ/test_proxy.sh
