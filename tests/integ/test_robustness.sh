#!/usr/bin/env bash
# Bad input and crashes: malformed bodies, wrong kinds, oversize bodies, invalid names,
# broken HTTP get a clear 4xx, the server keeps running and nothing stored changes; a
# SIGKILL in the middle of a stream of writes loses no acknowledged write.
cd "$(dirname "$0")/../.."
. tests/integ/lib.sh

start_server || { fail "server starts"; finish; exit 1; }

# Bad flags: a clear message, exit 2, nothing created.
badflag() { # badflag NAME PATTERN ARGS...
	local n=$1 pat=$2; shift 2
	local out rc
	out=$("$SVCPLANE" "$@" 2>&1); rc=$?
	if [ "$rc" = 2 ] && printf '%s' "$out" | grep -Eq -- "$pat"; then ok "$n"; else fail "$n" "exit $rc: $out"; fi
}
badflag "bad --service-cluster-ip-range" 'service-cluster-ip-range: 198.19.0.0/33' server --data-dir "$T_DIR/never" --service-cluster-ip-range 198.19.0.0/33
badflag "two IPv4 service ranges" 'not one CIDR or two' server --data-dir "$T_DIR/never" --service-cluster-ip-range 198.19.0.0/16,198.18.0.0/16
badflag "bad --secure-port" 'secure-port: 70000' server --data-dir "$T_DIR/never" --secure-port 70000
badflag "bad --service-node-port-range" 'service-node-port-range' server --data-dir "$T_DIR/never" --service-node-port-range 30000
badflag "bad --bind-address" 'bind-address: nohost' server --data-dir "$T_DIR/never" --bind-address nohost
badflag "bad --max-endpoints-per-slice" 'from 1 to 1000' server --data-dir "$T_DIR/never" --max-endpoints-per-slice 0
badflag "agent --node-ip must be an address" 'node-ip' agent --node-name x --node-ip 198.18.0.5,198.18.0.6
badflag "bad --proxy-mode" 'proxy-mode: ipvs is not one of nftables, iptables, userspace' server --data-dir "$T_DIR/never" --proxy-mode ipvs
badflag "bad --kubelet-port" 'kubelet-port: 0 is not a port number' server --data-dir "$T_DIR/never" --kubelet-port 0
badflag "bad server --node-ip" 'node-ip: 198.18.0.300' server --data-dir "$T_DIR/never" --node-ip 198.18.0.300
badflag "bad --cluster-dns" 'cluster-dns: dns.example' agent --node-name x --node-ip 198.18.0.5 --cluster-dns dns.example
badflag "agent bad --proxy-mode" 'proxy-mode' agent --node-name x --node-ip 198.18.0.5 --proxy-mode kernelspace
badflag "unknown command" 'unknown command' frobnicate
badflag "a flag of another command is refused" "unrecognized option '--listen'" server --data-dir "$T_DIR/never" --listen 127.0.0.1
badflag "a stray argument is refused" 'unexpected argument stray' server --data-dir "$T_DIR/never" stray
badflag "bad --history-revisions" 'history-revisions: 5 is not a number from 100' server --data-dir "$T_DIR/never" --history-revisions 5
badflag "bad --ingress-service-type" 'is not NodeAddress or LoadBalancer' server --data-dir "$T_DIR/never" --ingress-service-type Cloud
badflag "bad --leader-elect-lease-duration" 'lease-duration: 0 is not a positive duration' server --data-dir "$T_DIR/never" --leader-elect-lease-duration 0
badflag "dns --port 0" 'port: 0 is not a port number' dns --port 0
badflag "store migrate without --to" 'are required' store migrate --from "sqlite://$T_DIR/never/x.db"
# --help: exit 0, every flag once (the table's rows), shared rows worded the same.
for cmd in server agent dns "store migrate"; do
	# shellcheck disable=SC2086
	out=$("$SVCPLANE" $cmd --help 2>&1); rc=$?
	dups=$(printf '%s\n' "$out" | grep -oE '^  (-., )?--[a-z0-9-]+' | sort | uniq -d)
	[ "$rc" = 0 ] && [ -z "$dups" ] && printf '%s' "$out" | grep -q -- '--' && ok "svcplane $cmd --help lists each flag once" ||
		fail "svcplane $cmd --help lists each flag once" "rc $rc, twice: $dups"
done
[ "$("$SVCPLANE" server --help | grep -- '--node-ip')" = "$("$SVCPLANE" agent --help | grep -- '--node-ip')" ] &&
	ok "server and agent describe a shared flag alike" || fail "server and agent describe a shared flag alike"
[ ! -e "$T_DIR/never" ] && ok "bad flags create no data dir" || fail "bad flags create no data dir"
out=$("$SVCPLANE" server --data-dir "$T_DIR/data" --secure-port 0 --insecure-http --bind-address 0.0.0.0 2>&1); rc=$?
[ "$rc" != 0 ] && printf '%s' "$out" | grep -q 'only allowed on a loopback' && ok "plain HTTP refused off loopback" || fail "plain HTTP refused off loopback" "exit $rc: $out"
SVC=/api/v1/namespaces/default/services
api POST $SVC -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"keep"},"spec":{"ports":[{"port":80}]}}' >/dev/null
before=$(api GET $SVC | head -n -1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sorted((i["metadata"]["name"], i["metadata"]["resourceVersion"]) for i in d["items"]))')

# code_is NAME WANT METHOD PATH [curl args]: the HTTP code and a Status body
code_is() {
	local n=$1 want=$2; shift 2
	local out code
	out=$(api "$@")
	code=$(printf '%s' "$out" | tail -n 1)
	if [ "$code" = "$want" ] && printf '%s' "$out" | head -n -1 | grep -q '"kind":"Status"'; then ok "$n"; else fail "$n" "got $code: $out"; fi
}
code_is "malformed JSON: 400" 400 POST $SVC -H 'Content-Type: application/json' -d '{"apiVersion":'
code_is "malformed YAML: 400" 400 POST $SVC -H 'Content-Type: application/yaml' --data-binary $'a: [\n b'
code_is "JSON array body: 400" 400 POST $SVC -H 'Content-Type: application/json' -d '[1,2]'
code_is "wrong kind: 400" 400 POST $SVC -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}'
code_is "wrong apiVersion: 400" 400 POST $SVC -H 'Content-Type: application/json' -d '{"apiVersion":"v2","kind":"Service","metadata":{"name":"x"}}'
code_is "invalid name: 422" 422 POST $SVC -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"Bad_Name"},"spec":{"ports":[{"port":80}]}}'
code_is "unknown field strict: 400" 400 POST "$SVC?fieldValidation=Strict" -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"},"spec":{"portz":[]}}'
code_is "unsupported media type: 415" 415 POST $SVC -H 'Content-Type: text/plain' -d 'hello'
code_is "bad protobuf: 400" 400 POST $SVC -H 'Content-Type: application/vnd.kubernetes.protobuf' --data-binary 'k8s'
head -c 4000000 /dev/zero | tr '\0' 'a' >"$T_DIR/big"
code_is "oversize body: 413" 413 POST $SVC -H 'Content-Type: application/json' --data-binary @"$T_DIR/big"
code_is "bad label selector: 400" 400 GET "$SVC?labelSelector=a%20b"
code_is "bad patch type: 415" 415 PATCH $SVC/keep -H 'Content-Type: application/foo' -d '{}'
code_is "json patch on missing path: 422" 422 PATCH $SVC/keep -H 'Content-Type: application/json-patch+json' -d '[{"op":"remove","path":"/spec/nope"}]'
code_is "namespace mismatch: 400" 400 POST $SVC -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"x","namespace":"kube-system"},"spec":{"ports":[{"port":80}]}}'
code_is "missing namespace: 404" 404 POST /api/v1/namespaces/nope/services -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"},"spec":{"ports":[{"port":80}]}}'
code_is "unknown resource: 404" 404 GET /api/v1/namespaces/default/frobs
code_is "stale update: 409" 409 PUT $SVC/keep -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"keep","resourceVersion":"1"},"spec":{"ports":[{"port":81}]}}'
# Broken HTTP straight onto the TLS socket.
printf 'GARBAGE\r\n\r\n' | timeout 5 openssl s_client -quiet -connect 127.0.0.1:$PORT 2>/dev/null | head -c 200 >"$T_DIR/garbage.out"
grep -q '400' "$T_DIR/garbage.out" && ok "broken HTTP: 400" || fail "broken HTTP: 400" "$(cat "$T_DIR/garbage.out")"
printf 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n' | timeout 5 openssl s_client -quiet -connect 127.0.0.1:$PORT 2>/dev/null | head -c 200 >"$T_DIR/neg.out"
grep -q '400' "$T_DIR/neg.out" && ok "negative Content-Length: 400" || fail "negative Content-Length: 400" "$(cat "$T_DIR/neg.out")"
kill -0 "$SERVER_PID" && ok "server still running after bad input" || fail "server still running after bad input"
after=$(api GET $SVC | head -n -1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sorted((i["metadata"]["name"], i["metadata"]["resourceVersion"]) for i in d["items"]))')
[ "$before" = "$after" ] && ok "nothing stored changed" || fail "nothing stored changed" "$before vs $after"

# limit/continue paging gives every object exactly once.
for i in $(seq 1 7); do api POST $SVC -H 'Content-Type: application/json' -d "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"page-$i\"},\"spec\":{\"ports\":[{\"port\":80}]}}" >/dev/null; done
names=$(python3 - "$URL" "$TOKEN" "$CA" <<'PY'
import json, ssl, sys, urllib.request, urllib.parse
url, tok, ca = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
names, cont = [], None
for _ in range(20):
    q = "limit=3" + ("&continue=" + urllib.parse.quote(cont) if cont else "")
    req = urllib.request.Request(url + "/api/v1/namespaces/default/services?" + q, headers={"Authorization": "Bearer " + tok})
    d = json.load(urllib.request.urlopen(req, context=ctx))
    names += [i["metadata"]["name"] for i in d["items"]]
    cont = d["metadata"].get("continue")
    if not cont: break
print(" ".join(names))
PY
)
[ "$names" = "keep kubernetes page-1 page-2 page-3 page-4 page-5 page-6 page-7" ] && ok "limit/continue pages" || fail "limit/continue pages" "$names"

# SIGKILL in the middle of a stream of writes: every acknowledged create survives.
python3 - "$URL" "$TOKEN" "$CA" "$T_DIR/acked" <<'PY' &
import json, ssl, sys, time, urllib.request
url, tok, ca, out = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
deadline = time.time() + 20
with open(out, "w") as f:
    for i in range(100000):
        if time.time() > deadline: break
        body = json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "crash-%d" % i}, "spec": {"ports": [{"port": 80}]}}).encode()
        req = urllib.request.Request(url + "/api/v1/namespaces/default/services", data=body, method="POST",
                                     headers={"Authorization": "Bearer " + tok, "Content-Type": "application/json"})
        try:
            r = urllib.request.urlopen(req, context=ctx, timeout=5)
            if r.status == 201:
                f.write("crash-%d\n" % i); f.flush()
        except Exception:
            break
PY
WRITER=$!
# Kill it mid-stream: once some writes were acknowledged (bounded wait, not a sleep).
acked_some() { [ "$(wc -l <"$T_DIR/acked" 2>/dev/null || echo 0)" -ge 20 ]; }
wait_for 20 acked_some
stop_server KILL
wait $WRITER 2>/dev/null
acked=$(wc -l <"$T_DIR/acked")
start_server || fail "restart after SIGKILL"
have=$(api GET "$SVC" | head -n -1 | python3 -c 'import json,sys; print("\n".join(i["metadata"]["name"] for i in json.load(sys.stdin)["items"]))')
missing=0
while read -r n; do printf '%s\n' "$have" | grep -qx "$n" || missing=$((missing + 1)); done <"$T_DIR/acked"
[ "$acked" -gt 10 ] && [ "$missing" = 0 ] && ok "SIGKILL: all $acked acknowledged creates survived" || fail "SIGKILL durability" "acked=$acked missing=$missing"
finish
