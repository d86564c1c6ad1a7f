#!/usr/bin/env bash
# etcd_run.sh - starts a throwaway single-member etcd on 127.0.0.1 (free ports, a tmp data dir),
# runs a command with SVCPLANE_TEST_ETCD=etcd://127.0.0.1:PORT, and kills etcd at the end.
#   tests/etcd_run.sh build/debug/test-unit store_
# Refuses (exit 1, a summary line counting one failure) when etcd is missing: deps.sh
# installs etcd-server, and the etcd parity run must never skip silently.
set -u
if ! command -v etcd >/dev/null 2>&1; then
	echo "etcd_run: etcd not installed (scripts/deps.sh test installs etcd-server)"
	echo "0 passed, 1 failed"
	exit 1
fi
dir=$(mktemp -d /tmp/svcplane-etcd.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
for attempt in 1 2 3; do
	cport=$(free_port)
	pport=$(free_port)
	etcd --name t --data-dir "$dir/data" \
		--listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
		--listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
		--initial-cluster "t=http://127.0.0.1:$pport" >"$dir/etcd.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 300); do
		curl -sf -m 1 "http://127.0.0.1:$cport/health" 2>/dev/null | grep -q true && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if curl -sf -m 1 "http://127.0.0.1:$cport/health" 2>/dev/null | grep -q true; then
		break
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	rm -rf "$dir/data"
done
if [ -z "$pid" ]; then
	echo "etcd_run: etcd did not start; its log:"
	tail -n 20 "$dir/etcd.log" 2>/dev/null
	echo "0 passed, 1 failed"
	exit 1
fi
SVCPLANE_TEST_ETCD="etcd://127.0.0.1:$cport" "$@"
