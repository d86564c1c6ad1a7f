#!/usr/bin/env bash
# etcd_run.sh - starts a throwaway single-member etcd on 127.0.0.1 (free ports, a tmp data dir),
# runs a command with SVCPLANE_TEST_ETCD=etcd://127.0.0.1:PORT, and kills etcd at the end.
#   tests/etcd_run.sh build/debug/test-unit store_
# Fails (exit 1, a summary line counting one failure) when etcd is missing or does not start:
# deps.sh installs etcd-server, and the etcd parity run must never skip silently.
set -u
. "$(dirname "$0")/etcd_lib.sh"
dir=$(mktemp -d /tmp/svcplane-etcd.XXXXXX)
trap 'etcd_cluster_stop; rm -rf "$dir"' EXIT
if ! etcd_cluster_start "$dir" 1; then
	echo "0 passed, 1 failed"
	exit 1
fi
SVCPLANE_TEST_ETCD=$ETCD_URL "$@"
