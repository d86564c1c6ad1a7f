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

# 3. Authentication on the request head: an anonymous request announcing a 3 MiB body,
# or a chunked one, gets its 401 before sending a byte of body, and the connection closes.
cat >"$T_DIR/raw.py" <<'PY'
import socket, ssl, sys, time
port, ca, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
tok = sys.argv[4] if len(sys.argv) > 4 else ""
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30), server_hostname="127.0.0.1")
auth = "Authorization: Bearer %s\r\n" % tok if tok else ""
path = "/api/v1/namespaces/default/services"
if mode == "cl":
    s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\nContent-Length: 3145728\r\n\r\n" % (path, auth)).encode())
elif mode == "chunked":
    s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" % (path, auth)).encode())
    if tok:  # a whole Service in 1-byte chunks, then the padding of a big annotation
        body = b'{"apiVersion":"v1","kind":"Service","metadata":{"name":"chunky","annotations":{"a":"' + b"x" * 200000 + b'"}},"spec":{"ports":[{"port":80}]}}'
        s.sendall(b"".join(b"1\r\n" + body[i:i+1] + b"\r\n" for i in range(len(body))) + b"0\r\n\r\n")
t0 = time.time()
data = b""
while True:
    try:
        d = s.recv(65536)
    except (ConnectionResetError, ssl.SSLError):
        break
    if not d:
        break
    data += d
    if not tok and b"\r\n\r\n" in data and data.split(b"\r\n\r\n", 1)[1].endswith(b"}"):
        # read on: the server must close the connection after its 401
        pass
    if tok and b"\r\n\r\n" in data:
        head, rest = data.split(b"\r\n\r\n", 1)
        cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
        if cl and len(rest) >= int(cl[0].split(b":")[1]):
            break
print(data.split(b"\r\n", 1)[0].decode(errors="replace"), "closed" if not tok else "", "%.1fs" % (time.time() - t0))
PY
expect_out "anonymous 3 MiB Content-Length: 401 before the body, then close" '^HTTP/1.1 401 Unauthorized closed' python3 "$T_DIR/raw.py" $PORT "$CA" cl
expect_out "anonymous chunked body: 401 before the body, then close" '^HTTP/1.1 401 Unauthorized closed' python3 "$T_DIR/raw.py" $PORT "$CA" chunked
expect_out "authenticated 1-byte chunks are decoded (linear decoder)" '^HTTP/1.1 201 Created' python3 "$T_DIR/raw.py" $PORT "$CA" chunked "$TOKEN"

# 7. Health and version answer GET and HEAD only: 405 otherwise, nothing logged.
for m in POST PUT PATCH DELETE OPTIONS; do
	code=$(curl -sS --max-time 10 --cacert "$CA" -X $m -o /dev/null -w '%{http_code}' "$URL/version")
	[ "$code" = 405 ] || break
	code=$(curl -sS --max-time 10 --cacert "$CA" -X $m -o /dev/null -w '%{http_code}' "$URL/healthz")
	[ "$code" = 405 ] || break
done
[ "$code" = 405 ] && ok "other methods on /version and /healthz: 405" || fail "other methods on /version and /healthz: 405" "$m: $code"
expect_out "HEAD /version: 200" '^200$' curl -sS --max-time 10 --cacert "$CA" -I -o /dev/null -w '%{http_code}' "$URL/version"
grep -q 'no response' "$T_DIR/server.err" && fail "no 'no response' error lines" "$(grep 'no response' "$T_DIR/server.err" | head -3)" || ok "no 'no response' error lines"

# 9. A Service without spec once passed NULL to qsort (UBSan halted the ASan build).
code_is "POST of a bare Service: 422, server alive" 422 'spec.ports: Required value' POST $SVC -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Service"}'
kill -0 "$SERVER_PID" && ok "server alive after the bare Service" || fail "server alive after the bare Service"

# 10. The data directory and the store are the owner's only, whatever they were before.
chmod 0755 "$T_DIR/data"; chmod 0644 "$T_DIR/data/state.db"
# 8. list honours resourceVersion and resourceVersionMatch as kube-apiserver does.
api POST $SVC -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"rv1"},"spec":{"ports":[{"port":80}]}}' >/dev/null
cur=$(api GET $SVC | head -n -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
api POST $SVC -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"rv2"},"spec":{"ports":[{"port":80}]}}' >/dev/null
names_at() { api GET "$SVC?$1" | head -n -1 | python3 -c 'import json,sys; print(" ".join(sorted(i["metadata"]["name"] for i in json.load(sys.stdin)["items"])))'; }
n_exact=$(names_at "resourceVersion=$cur&resourceVersionMatch=Exact")
n_now=$(names_at "resourceVersion=$cur&resourceVersionMatch=NotOlderThan")
case "$n_exact" in *rv1*rv2* | *rv2*) fail "Exact lists the state at that revision" "$n_exact" ;; *rv1*) ok "Exact lists the state at that revision" ;; *) fail "Exact lists the state at that revision" "$n_exact" ;; esac
case "$n_now" in *rv2*) ok "NotOlderThan lists the current state" ;; *) fail "NotOlderThan lists the current state" "$n_now" ;; esac
code_is "resourceVersion=abc: 400" 400 'resourceVersion: Invalid value: ..abc..: strconv.ParseUint' GET "$SVC?resourceVersion=abc"
code_is "future resourceVersion: 504 Too large resource version" 504 'Too large resource version: 99999999, current: [0-9]+.*ResourceVersionTooLarge' GET "$SVC?resourceVersion=99999999"
expect_out "future resourceVersion: Retry-After" '^Retry-After: 1' sh -c "curl -sS -D - -o /dev/null --max-time 10 --cacert '$CA' -H 'Authorization: Bearer $TOKEN' '$URL$SVC?resourceVersion=99999999&resourceVersionMatch=Exact' | tr -d '\r'"
code_is "resourceVersionMatch without resourceVersion: 422" 422 'resourceVersionMatch is forbidden unless resourceVersion is provided' GET "$SVC?resourceVersionMatch=Exact"
code_is "resourceVersionMatch=Exact with 0: 422" 422 'forbidden for resourceVersion' GET "$SVC?resourceVersion=0&resourceVersionMatch=Exact"
code_is "resourceVersionMatch=Sometimes: 422" 422 'Unsupported value: ..Sometimes' GET "$SVC?resourceVersion=1&resourceVersionMatch=Sometimes"
# 5. A whole list is streamed item by item (chunked), and says the same as pages of it.
hdr=$(curl -sS --max-time 10 --cacert "$CA" -H "Authorization: Bearer $TOKEN" -D - -o "$T_DIR/whole.json" "$URL/api/v1/services" | tr -d '\r')
printf '%s' "$hdr" | grep -qi '^Transfer-Encoding: chunked' && ok "a whole list is streamed (chunked)" || fail "a whole list is streamed (chunked)" "$hdr"
whole=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["kind"], d["metadata"]["resourceVersion"] != "", sorted(i["metadata"]["name"] for i in d["items"]), all(i["kind"] == "Service" for i in d["items"]))' "$T_DIR/whole.json")
paged=$(kubectl get svc -A --chunk-size=2 -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sorted(i["metadata"]["name"] for i in d["items"]))')
case "$whole" in "ServiceList True $paged True") ok "the streamed list equals the paged one" ;; *) fail "the streamed list equals the paged one" "$whole vs $paged" ;; esac
code_is "a streamed list honours selectors" 200 '"items":\[\{[^]]*"name":"kubernetes"' GET "/api/v1/services?fieldSelector=metadata.name%3Dkubernetes"

# 11. The serving certificate names the kubernetes Service's cluster IP and the host's addresses.
sans=$(echo | timeout 10 openssl s_client -connect 127.0.0.1:$PORT 2>/dev/null | openssl x509 -noout -ext subjectAltName 2>/dev/null)
printf '%s' "$sans" | grep -q 'IP Address:198.19.0.1\b' && printf '%s' "$sans" | grep -q 'DNS:kubernetes.default.svc.cluster.local' &&
	ok "certificate names the kubernetes Service IP and FQDN" || fail "certificate names the kubernetes Service IP and FQDN" "$sans"
hostip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')
if [ -n "$hostip" ]; then
	printf '%s' "$sans" | grep -q "IP Address:$hostip\b" && ok "certificate names the host address $hostip" || fail "certificate names the host address $hostip" "$sans"
fi

# 6. The API server never sends the admin token to a node: it shows its client
# certificate and verifies the node's against the cluster CA. The issue's attack: a Node
# whose status names 127.0.0.1 and the port of an impostor with its own certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_DIR/imp.key" -out "$T_DIR/imp.crt" \
	-days 1 -subj /CN=impostor -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
cat >"$T_DIR/imp.py" <<'PY'
import socket, ssl, sys, threading, time
d = sys.argv[1]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(d + "/imp.crt", d + "/imp.key")
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(8)
open(d + "/imp.port", "w").write(str(ls.getsockname()[1]))
ls.settimeout(1)
end = time.time() + 60
log = open(d + "/imp.log", "ab", buffering=0)
while time.time() < end:
    try:
        c, _ = ls.accept()
    except socket.timeout:
        continue
    try:
        s = ctx.wrap_socket(c, server_side=True)
        s.settimeout(5)
        log.write(b"HANDSHAKE\n" + s.recv(65536))
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nstolen")
        s.close()
    except Exception as e:
        log.write(("tls failed: %s\n" % e).encode())
PY
python3 "$T_DIR/imp.py" "$T_DIR" &
IMP=$!
for i in $(seq 1 100); do [ -s "$T_DIR/imp.port" ] && break; sleep 0.05; done
api POST /api/v1/nodes -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Node","metadata":{"name":"evil"}}' >/dev/null
api PATCH /api/v1/nodes/evil/status -H 'Content-Type: application/merge-patch+json' \
	-d "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"127.0.0.1\"}],\"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":$(cat "$T_DIR/imp.port")}}}}" >/dev/null
api POST /api/v1/namespaces/default/pods -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"victim"},"spec":{"nodeName":"evil","containers":[{"name":"c","image":"x","command":["true"]}]}}' >/dev/null
out=$(api GET /api/v1/namespaces/default/pods/victim/log)
code=$(printf '%s' "$out" | tail -n 1)
[ "$code" = 500 ] && ! printf '%s' "$out" | grep -q stolen && ok "logs from an impostor node: refused (its certificate is not the cluster's)" ||
	fail "logs from an impostor node: refused (its certificate is not the cluster's)" "$out"
if grep -qa "Bearer" "$T_DIR/imp.log" 2>/dev/null; then fail "the impostor never sees the admin token" "$(cat "$T_DIR/imp.log")"; else ok "the impostor never sees the admin token"; fi
kill $IMP 2>/dev/null; wait $IMP 2>/dev/null

# The signer of node serving certificates: token required, a CSR signed by its key, the
# node's names only; the result chains to the cluster CA with CN system:node:<name>.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_DIR/n.key" -out "$T_DIR/n.csr" -subj /CN=whatever >/dev/null 2>&1
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "addresses": ["198.18.0.12"]}))' "$T_DIR/n.csr" >"$T_DIR/csr.json"
code=$(curl -sS --max-time 10 --cacert "$CA" -o /dev/null -w '%{http_code}' -X POST --data-binary @"$T_DIR/csr.json" "$URL/svcplane/v1/nodes/n9/serving-certificate")
[ "$code" = 401 ] && ok "node certificate signer: no token, 401" || fail "node certificate signer: no token, 401" "$code"
api POST /svcplane/v1/nodes/n9/serving-certificate -H 'Content-Type: application/json' --data-binary @"$T_DIR/csr.json" | head -n -1 >"$T_DIR/n.crt"
if openssl verify -CAfile "$CA" "$T_DIR/n.crt" >/dev/null 2>&1 && openssl x509 -in "$T_DIR/n.crt" -noout -subject -ext subjectAltName |
	tr '\n' ' ' | grep -Eq 'CN *= *system:node:n9.*DNS:n9.*IP Address:198.18.0.12'; then
	ok "node certificate signer: signed by the cluster CA for the node's names"
else
	fail "node certificate signer: signed by the cluster CA for the node's names" "$(openssl x509 -in "$T_DIR/n.crt" -noout -text 2>&1 | head -20)"
fi
code_is "node certificate signer: a broken CSR is 400" 400 'certificate request' POST /svcplane/v1/nodes/n9/serving-certificate \
	-H 'Content-Type: application/json' -d '{"csr":"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n","addresses":["198.18.0.12"]}'
[ "$(stat -c %a "$T_DIR/data/pki/apiserver-kubelet-client.key")" = 600 ] &&
	openssl x509 -in "$T_DIR/data/pki/apiserver-kubelet-client.crt" -noout -subject | grep -q 'O *= *system:masters, CN *= *kube-apiserver-kubelet-client' &&
	ok "the server's kubelet client certificate: CN kube-apiserver-kubelet-client, O system:masters, key 0600" ||
	fail "the server's kubelet client certificate" "$(openssl x509 -in "$T_DIR/data/pki/apiserver-kubelet-client.crt" -noout -subject 2>&1)"

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
start_server --history-revisions 100 || fail "server starts with a 20 MB and a corrupt object in the store"
modes=$(stat -c '%n %a' "$T_DIR/data" "$T_DIR/data"/state.db* | sed "s|$T_DIR/||")
if printf '%s\n' "$modes" | awk '$1 == "data" && $2 != "700" {b=1} $1 != "data" && $2 != "600" {b=1} END {exit b}'; then
	ok "data dir 0700, state.db and its -wal/-shm 0600 after a restart"
else
	fail "data dir 0700, state.db and its -wal/-shm 0600 after a restart" "$modes"
fi
if [ -n "$SERVER_PID" ]; then
	ok "server starts with a 20 MB and a corrupt object in the store"
	for i in $(seq 1 200); do grep -q 'default/junk is not a JSON object' "$T_DIR/server.err" && break; sleep 0.1; done
	grep -q 'store: /registry/core/services/default/huge holds [0-9]* bytes, more than the 3145728' "$T_DIR/server.err" &&
		grep -q 'store: /registry/core/services/default/junk is not a JSON object' "$T_DIR/server.err" &&
		ok "start-up names the bad keys" || fail "start-up names the bad keys" "$(tail -20 "$T_DIR/server.err")"
	expect_out "the rest is served" 'ann' kubectl get svc -o name
	code_is "the bad object can be deleted by name" 200 'Success|"name":"huge"' DELETE $SVC/huge
	# 8 again: a compacted revision asked for Exact is 410 Gone (history kept: 100 revisions).
	for i in $(seq 1 130); do api PATCH $SVC/ann -H 'Content-Type: application/merge-patch+json' -d "{\"metadata\":{\"labels\":{\"n\":\"$i\"}}}" >/dev/null; done
	code_is "compacted resourceVersion with Exact: 410" 410 'The resourceVersion for the provided list is too old' GET "$SVC?resourceVersion=2&resourceVersionMatch=Exact"
fi

# 11 again: an address added to the node while the server runs is in the certificate
# within a check period (30 s). In a network namespace of this test's own.
NS=svcp-hard-$$
if ip netns add $NS 2>/dev/null; then
	trap 'ip netns del $NS 2>/dev/null; cleanup' EXIT
	ip -n $NS link set lo up
	stop_server
	mkdir -p "$T_DIR/ns"
	(ip netns exec $NS "$SVCPLANE" server --data-dir "$T_DIR/ns" --secure-port 0 --service-cluster-ip-range 198.19.0.0/16 \
		--cluster-cidr 198.18.128.0/17 --disable-agent >"$T_DIR/ns.out" 2>>"$T_DIR/server.err" & echo $! >"$T_DIR/ns.pid")
	SERVER_PID=$(cat "$T_DIR/ns.pid")
	for i in $(seq 1 200); do grep -q '^kubeconfig:' "$T_DIR/ns.out" && break; sleep 0.05; done
	NPORT=$(sed -nE 's/.*:([0-9]+) \(store.*/\1/p' "$T_DIR/ns.out" | head -n1)
	ip -n $NS addr add 198.18.77.1/32 dev lo
	got=
	for i in $(seq 1 90); do # up to 90 s against the 30 s check period
		if echo | ip netns exec $NS timeout 5 openssl s_client -connect 127.0.0.1:$NPORT 2>/dev/null |
			openssl x509 -noout -ext subjectAltName 2>/dev/null | grep -q 'IP Address:198.18.77.1\b'; then got=1; break; fi
		sleep 1
	done
	[ -n "$got" ] && ok "an address added while running is in the certificate (rotated)" ||
		fail "an address added while running is in the certificate (rotated)" "$(tail -5 "$T_DIR/server.err")"
	stop_server
else
	fail "network namespace for the rotation test" "ip netns add failed (needs root)"
fi
finish
