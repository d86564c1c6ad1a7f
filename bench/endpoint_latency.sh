#!/usr/bin/env bash
# Figures of issue 4: time from a pod status write to the updated EndpointSlice (and the
# legacy Endpoints object) reaching a watcher, p50/p99, with SERVICES Services of PODS pods
# each; and the objects and bytes written per single-pod change on a BIG-endpoint Service.
#   usage: bench/endpoint_latency.sh [SERVICES] [PODS] [SAMPLES] [BIG]
. "$(dirname "$0")/lib.sh"
SERVICES=${1:-1000} PODS=${2:-10} SAMPLES=${3:-300} BIG=${4:-5000}
sp_start "$BD/sp"
[ -n "$SP_TOKEN" ] || { echo "server did not start:"; cat "$BD/sp.err"; exit 1; }
echo "svcplane ready_ms=$SP_READY_MS rss_kb=$(rss_kb $SP) (--max-endpoints-per-slice default 100)"
rc=0
SP_TOKEN=$SP_TOKEN timeout 1500 python3 bench/endpoint_latency.py "$SP_URL" "$SP_CA" --services "$SERVICES" --pods "$PODS" \
	--samples "$SAMPLES" --big "$BIG" || rc=$?
echo "svcplane after: rss_kb=$(rss_kb $SP)"
sp_stop
W=$(grep -c '^W ' "$BD/sp.err" || true) E=$(grep -c '^E ' "$BD/sp.err" || true)
echo "server log: $W warnings, $E errors"
grep -E '^(W|E) ' "$BD/sp.err" | sed -E 's/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -n 10
exit $rc
