#!/usr/bin/env bash
# The attacks of issue 19 against the real server, as regression tests (docs/SECURITY.md
# lists them with their outcomes): patches that grow the object, annotation values that
# are not strings, a store holding an object too big or not decodable, work before
# authentication, health/version methods, list resourceVersion semantics, file modes.
cd "$(dirname "$0")/../.."
. tests/integ/lib.sh

start_server || { fail "server starts"; finish; exit 1; }
SVC=/api/v1/namespaces/default/services
code_is() { # code_is NAME WANT PATTERN METHOD PATH [curl args]: HTTP code and a body matching PATTERN
	local n=$1 want=$2 pat=$3; shift 3
	local out code
	out=$(api "$@")
	code=$(printf '%s' "$out" | tail -n 1)
	if [ "$code" = "$want" ] && printf '%s' "$out" | head -n -1 | grep -Eq -- "$pat"; then ok "$n"; else fail "$n" "got $code: $(printf '%s' "$out" | head -c 600)"; fi
}

# 1. The issue's 2.5 KB JSON patch: one 1000-byte annotation, then 40 copies of the map
# into itself (each doubles the object). Answered 413 at once; nothing stored changes.
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
patch=$(python3 -c '
import json
ops=[{"op":"add","path":"/metadata/annotations","value":{"a":"x"*1000}}]
ops+=[{"op":"copy","from":"/metadata/annotations","path":"/metadata/annotations/a%d"%i} for i in range(40)]
print(json.dumps(ops))')
rv0=$(api GET $SVC/kubernetes | head -n -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
rss0=$(rss)
code_is "copy-doubling JSON patch: 413" 413 'exceeding the limit 3145728.*RequestEntityTooLarge' \
	PATCH $SVC/kubernetes -H 'Content-Type: application/json-patch+json' --data-binary "$patch"
rss1=$(rss)
[ $((rss1 - rss0)) -lt 200000 ] && ok "copy-doubling patch grew RSS by less than 200 MB ($(((rss1 - rss0) / 1024)) MB)" ||
	fail "copy-doubling patch grew RSS by less than 200 MB" "$rss0 -> $rss1 kB"
# 14 copies made a 16 MB Service before: now over the object limit, 413, not stored.
patch14=$(python3 -c '
import json
ops=[{"op":"add","path":"/metadata/annotations","value":{"a":"x"*1000}}]
ops+=[{"op":"copy","from":"/metadata/annotations","path":"/metadata/annotations/a%d"%i} for i in range(14)]
print(json.dumps(ops))')
code_is "14-copy JSON patch: 413" 413 'RequestEntityTooLarge' \
	PATCH $SVC/kubernetes -H 'Content-Type: application/json-patch+json' --data-binary "$patch14"
# Annotations over 256 KiB in all (Kubernetes' limit on them): 422 Too long.
python3 -c '
import json
print(json.dumps([{"op":"add","path":"/metadata/annotations","value":{"a%d" % i: "x"*30000 for i in range(9)}}]))' >"$T_DIR/p9"
code_is "annotations over 256 KiB by JSON patch: 422 Too long" 422 'metadata.annotations: Too long: may not be more than 262144 bytes' \
	PATCH $SVC/kubernetes -H 'Content-Type: application/json-patch+json' --data-binary @"$T_DIR/p9"
rv1=$(api GET $SVC/kubernetes | head -n -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
[ "$rv0" = "$rv1" ] && ok "refused patches stored nothing" || fail "refused patches stored nothing" "$rv0 -> $rv1"
python3 -c 'import json; print(json.dumps([{"op":"test","path":"/kind","value":"Service"}]*10001))' >"$T_DIR/ops"
code_is "10001 JSON patch operations: 413" 413 'maximum operations in a JSON patch is 10000' \
	PATCH $SVC/kubernetes -H 'Content-Type: application/json-patch+json' --data-binary @"$T_DIR/ops"
python3 -c 'print("{\"metadata\":{\"annotations\":{\"a\":\"" + "x"*300000 + "\"}}}")' >"$T_DIR/big"
code_is "merge patch with 300 KB annotation: 422" 422 'Too long' \
	PATCH $SVC/kubernetes -H 'Content-Type: application/merge-patch+json' --data-binary @"$T_DIR/big"

# 2. Annotation values must be strings (kubectl describe could not decode them).
code_is "annotation values not strings: 422" 422 'metadata.annotations.a: Invalid value.*must be a string' \
	POST $SVC -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"ann","annotations":{"a":{"b":"c"},"n":5}},"spec":{"ports":[{"port":80}]}}'
code_is "annotation value made a map by merge patch: 422" 422 'must be a string' \
	PATCH $SVC/kubernetes -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"annotations":{"a":{"b":"c"}}}}'
code_is "bad annotation key: 422" 422 'metadata.annotations: Invalid value: ..a b' \
	POST $SVC -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"ann","annotations":{"a b":"c"}},"spec":{"ports":[{"port":80}]}}'
code_is "upper-case annotation key accepted: 201" 201 '"Example.com/Key":"v"' \
	POST $SVC -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"ann","annotations":{"Example.com/Key":"v"}},"spec":{"ports":[{"port":80}]}}'

# A store that holds an object too big to serve and one that is not JSON (written there
# before this fix, or by hand): the server starts, names both keys, and serves the rest.
stop_server
db=$T_DIR/data/state.db
python3 - "$db" <<'PY'
import sqlite3, sys, json
db = sqlite3.connect(sys.argv[1])
rev = db.execute("SELECT v FROM meta WHERE k='rev'").fetchone()[0]
huge = json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "huge", "namespace": "default",
       "annotations": {"a%d" % i: "x" * 1000 for i in range(20000)}}, "spec": {"ports": [{"port": 80}]}})
for key, val in (("/registry/core/services/default/huge", huge), ("/registry/core/services/default/junk", "{not json")):
    rev += 1
    db.execute("INSERT INTO log(rev, key, create_rev, version, deleted, prev_id, prev_rev, value) VALUES(?,?,?,?,?,?,?,?)",
               (rev, key, rev, 1, 0, 0, 0, val.encode()))
db.execute("UPDATE meta SET v=? WHERE k='rev'", (rev,))
db.commit()
PY
start_server || fail "server starts with a 20 MB and a corrupt object in the store"
if [ -n "$SERVER_PID" ]; then
	ok "server starts with a 20 MB and a corrupt object in the store"
	grep -q 'store: /registry/core/services/default/huge holds [0-9]* bytes, more than the 3145728' "$T_DIR/server.err" &&
		grep -q 'store: /registry/core/services/default/junk is not a JSON object' "$T_DIR/server.err" &&
		ok "start-up names the bad keys" || fail "start-up names the bad keys" "$(tail -20 "$T_DIR/server.err")"
	expect_out "the rest is served" 'ann' kubectl get svc -o name
	code_is "the bad object can be deleted by name" 200 'Success|"name":"huge"' DELETE $SVC/huge
fi
finish
