#!/usr/bin/env bash
# Watch semantics and collection verbs over raw HTTP: timeoutSeconds ends the stream,
# bookmarks carry the revision, selectors turn changes into ADDED/DELETED, a revision
# older than the history window gets an in-stream ERROR 410 Expired, and
# deletecollection deletes what the selector matches and nothing else.
cd "$(dirname "$0")/../.."
. tests/integ/lib.sh
start_server --history-revisions 100 || { fail "server starts"; finish; exit 1; }
SVC=/api/v1/namespaces/default/services
mk() { api POST $SVC -H 'Content-Type: application/json' -d "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$1\",\"labels\":{\"tier\":\"$2\"}},\"spec\":{\"ports\":[{\"port\":80}]}}" >/dev/null; }
rv=$(api GET $SVC | head -n -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')

# timeoutSeconds ends the stream by itself; events after rv arrive in order. The writes
# come first: a watch from rv replays them from history, so nothing depends on timing.
mk w1 a; mk w2 b
start=$(date +%s%N)
out=$(api GET "$SVC?watch=true&resourceVersion=$rv&timeoutSeconds=2")
took=$(( ($(date +%s%N) - start) / 1000000 ))
types=$(printf '%s' "$out" | head -n -1 | python3 -c 'import json,sys; print(" ".join(json.loads(l)["type"]+":"+json.loads(l)["object"]["metadata"]["name"] for l in sys.stdin if l.strip()))')
[ "$types" = "ADDED:w1 ADDED:w2" ] && ok "watch from a revision: events in order" || fail "watch from a revision: events in order" "$types"
# Not before 2 s, and by itself: curl's own limit (api: --max-time 10) would end it at 10 s.
[ "$took" -ge 1800 ] && [ "$took" -lt 9500 ] && ok "timeoutSeconds ends the stream (${took} ms)" || fail "timeoutSeconds ends the stream" "$took ms"

# A label selector: leaving the selection is DELETED, entering it ADDED.
rv=$(api GET $SVC | head -n -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
api PATCH $SVC/w1 -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"tier":"b"}}}' >/dev/null
api PATCH $SVC/w2 -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"tier":"a"}}}' >/dev/null
out=$(api GET "$SVC?watch=true&resourceVersion=$rv&timeoutSeconds=2&labelSelector=tier%3Da")
types=$(printf '%s' "$out" | head -n -1 | python3 -c 'import json,sys; print(" ".join(json.loads(l)["type"]+":"+json.loads(l)["object"]["metadata"]["name"] for l in sys.stdin if l.strip()))')
[ "$types" = "DELETED:w1 ADDED:w2" ] && ok "selector: leaving is DELETED, entering is ADDED" || fail "selector: leaving is DELETED, entering is ADDED" "$types"

# resourceVersion 0: synthetic ADDED for what exists.
out=$(api GET "$SVC?watch=true&resourceVersion=0&timeoutSeconds=1&fieldSelector=metadata.name%3Dw2")
printf '%s' "$out" | grep -q '"type":"ADDED".*"name":"w2"' && ok "rv=0 starts with ADDED of existing objects" || fail "rv=0 starts with ADDED of existing objects" "$out"

# History window of 100 revisions: older revisions are Expired (410) in the stream.
for i in $(seq 1 130); do mk "h$i" c; done
out=$(api GET "$SVC?watch=true&resourceVersion=2&timeoutSeconds=1")
printf '%s' "$out" | grep -q '"type":"ERROR".*"reason":"Expired".*"code":410' && ok "compacted revision: ERROR 410 Expired" || fail "compacted revision: ERROR 410 Expired" "$out"
out=$(api GET "$SVC?limit=1&continue=$(python3 -c 'import base64,json; print(base64.urlsafe_b64encode(json.dumps({"v":"meta.k8s.io/v1","rv":2,"start":"/registry/core/services/default/a"}).encode()).decode().rstrip("="))')")
printf '%s' "$out" | tail -n 1 | grep -q 410 && ok "expired continue token: 410" || fail "expired continue token: 410" "$out"

# deletecollection with a selector.
out=$(api DELETE "$SVC?labelSelector=tier%3Dc")
code=$(printf '%s' "$out" | tail -n 1)
left=$(api GET "$SVC?labelSelector=tier%3Dc" | head -n -1 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
others=$(api GET "$SVC" | head -n -1 | python3 -c 'import json,sys; print(sorted(i["metadata"]["name"] for i in json.load(sys.stdin)["items"]))')
[ "$code" = 200 ] && [ "$left" = 0 ] && [ "$others" = "['kubernetes', 'w1', 'w2']" ] && ok "deletecollection deletes the selection only" || fail "deletecollection deletes the selection only" "$code $left $others"
expect_out "kubectl delete --all" 'service "w1" deleted' kubectl delete svc -l tier
finish
