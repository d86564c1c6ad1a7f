# lib.sh - shared by the bench scripts: build, start/stop svcplane and etcd on loopback.
set -eu
cd "$(dirname "$0")/.."
make -s MODE=release build/release/svcplane
mkdir -p build/bench
BD=$(mktemp -d /tmp/svcplane-bench.XXXXXX)
SP= ET=
bench_cleanup() { { [ -n "$SP" ] && kill -9 $SP; [ -n "$ET" ] && kill -9 $ET; wait; } 2>/dev/null; rm -rf "$BD"; }
trap bench_cleanup EXIT

sp_start() { # sp_start DATADIR [server flags...]: sets SP, SP_URL, SP_TOKEN, SP_CA, SP_READY_MS
	local d=$1
	shift
	mkdir -p "$d"
	build/release/svcplane server --data-dir "$d" --secure-port 0 --disable-agent --service-cluster-ip-range 198.19.0.0/16 \
		--cluster-cidr 198.18.128.0/17 "$@" >"$d.out" 2>"$d.err" &
	SP=$!
	for _ in $(seq 1 200); do grep -q kubeconfig "$d.out" 2>/dev/null && break; sleep 0.05; done
	SP_URL=https://127.0.0.1:$(sed -nE 's/.*:([0-9]+) \(store.*/\1/p' "$d.out")
	SP_TOKEN=$(cat "$d/token") SP_CA=$d/pki/ca.crt
	SP_READY_MS=$(sed -nE 's/.*ready in ([0-9.]+) ms.*/\1/p' "$d.out")
}
sp_stop() { { kill $SP; wait $SP; } 2>/dev/null || true; SP=; }

etcd_start() { # etcd_start DATADIR
	dpkg -s etcd-server >/dev/null 2>&1 || apt-get install -y -q etcd-server >/dev/null
	etcd --data-dir "$1" --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
		--listen-peer-urls http://127.0.0.1:23800 >"$1.log" 2>&1 &
	ET=$!
	for _ in $(seq 1 100); do curl -s http://127.0.0.1:23790/health | grep -q true && break; sleep 0.1; done
}
etcd_stop() { { kill $ET; wait $ET; } 2>/dev/null || true; ET=; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
