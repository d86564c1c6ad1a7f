#!/usr/bin/env bash
# Figure (issue 19): memory of concurrent whole lists. With N Services stored (10,000:
# ~30 MB as JSON), ROUNDS rounds of C concurrent GET /api/v1/services (unpaged, as the
# attack); peak RSS during each round (sampled every 20 ms) and RSS after it, and how many
# lists answered 200 / 429. Release build, loopback, bounded.
#   usage: bench/list_rss.sh [N] [C] [ROUNDS] [BINARY]
. "$(dirname "$0")/lib.sh"
N=${1:-10000} C=${2:-16} ROUNDS=${3:-4}
BIN=${4:-build/release/svcplane}
cc -O2 -o build/bench/api_bench bench/api_bench.c -lcurl -lpthread
mkdir -p "$BD/sp"
"$BIN" server --data-dir "$BD/sp" --secure-port 0 --disable-agent --service-cluster-ip-range 198.19.0.0/16 \
	--cluster-cidr 198.18.128.0/17 >"$BD/sp.out" 2>"$BD/sp.err" &
SP=$!
for _ in $(seq 1 200); do grep -q kubeconfig "$BD/sp.out" 2>/dev/null && break; sleep 0.05; done
URL=https://127.0.0.1:$(sed -nE 's/.*:([0-9]+) \(store.*/\1/p' "$BD/sp.out")
TOKEN=$(cat "$BD/sp/token") CA=$BD/sp/pki/ca.crt
build/bench/api_bench svcplane "$URL" "$TOKEN" "$CA" 16 "$N" >/dev/null
echo "binary=$BIN services=$N clients=$C rss_kb_before=$(rss_kb $SP)"
for r in $(seq 1 "$ROUNDS"); do
	peak=0
	for i in $(seq 1 "$C"); do
		curl -s --max-time 300 --cacert "$CA" -H "Authorization: Bearer $TOKEN" -o /dev/null -w '%{http_code}\n' \
			"$URL/api/v1/services" >"$BD/code.$i" &
	done
	while [ "$(jobs -rp | wc -l)" -gt 1 ]; do # the server is one of the jobs
		v=$(rss_kb $SP || echo 0); if [ "${v:-0}" -gt "$peak" ]; then peak=$v; fi
		sleep 0.02
	done
	ok=$(cat "$BD"/code.* | grep -c "^200$" || true) tm=$(cat "$BD"/code.* | grep -c "^429$" || true)
	sleep 1
	echo "round $r: peak_rss_kb=$peak rss_kb_after=$(rss_kb $SP) ok=$ok too_many=$tm"
done
