#!/usr/bin/env bash
# Pod logs end to end on a two-node cluster in namespaces (cluster.sh): the server with its
# embedded agent in node 1, `svcplane agent` in node 2, each with its kubelet-style log
# endpoint (node/logsrv.h) on its node IP. Real `kubectl logs` and `svcplane ctl logs`
# go through the API server's pods/log subresource, which proxies across the namespaces
# to the node that runs the pod. Checks: the whole log, -c, --tail, --limit-bytes (byte
# for byte against the node's file), --since, -f (new lines arrive while following),
# --previous after a container restart, a two-container pod (kubectl's default
# container, the annotation, and the API's own 400 without a container), and the errors:
# a wrong container, a pod that does not exist, bad --tail values (client side and the
# API's 400/422), no previous instance, a node that cannot be reached (a bounded 500),
# and a wrong token straight to an agent's log port (401).
#
# Processes run in a node with `nsenter --net` (see test_agent.sh for why).
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
. tests/integ/lib_twonode.sh
kport() { kubectl get node "$1" -o jsonpath='{.status.daemonEndpoints.kubeletEndpoint.Port}'; }
expect_out "both nodes publish their log port (daemonEndpoints.kubeletEndpoint.Port)" '^10250 10250$' \
	sh -c "echo \$(kubectl get node n1 -o jsonpath='{.status.daemonEndpoints.kubeletEndpoint.Port}') \$(kubectl get node n2 -o jsonpath='{.status.daemonEndpoints.kubeletEndpoint.Port}')"

# ---- pods ----
# A counter (5 lines a second for 2 minutes) on each node; a pod of two containers; the
# same with the default-container annotation; a container that fails once, then runs.
cat >"$T_DIR/pods.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: count-1}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: none
    command: [sh, -c, 'echo hello; i=0; while [ $i -lt 600 ]; do echo line$i; i=$((i+1)); sleep 0.2; done']
---
apiVersion: v1
kind: Pod
metadata: {name: count-2}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: none
    command: [sh, -c, 'echo hello; i=0; while [ $i -lt 600 ]; do echo line$i; i=$((i+1)); sleep 0.2; done']
---
apiVersion: v1
kind: Pod
metadata: {name: two}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - {name: a, image: none, command: [sh, -c, 'echo from-a; exec sleep 600']}
  - {name: b, image: none, command: [sh, -c, 'echo from-b; exec sleep 600']}
---
apiVersion: v1
kind: Pod
metadata:
  name: two-def
  annotations: {kubectl.kubernetes.io/default-container: b}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - {name: a, image: none, command: [sh, -c, 'echo from-a; exec sleep 600']}
  - {name: b, image: none, command: [sh, -c, 'echo from-b; exec sleep 600']}
---
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  nodeName: n2
  restartPolicy: Always
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: none
    command: [sh, -c, 'if [ ! -e @MARK@ ]; then echo first-run; echo oops >&2; touch @MARK@; exit 3; fi; echo second-run; exec sleep 600']
Y
sed -i "s|@MARK@|$T_DIR/crashed-once|g" "$T_DIR/pods.yaml"
check "pods applied" kubectl apply -f "$T_DIR/pods.yaml"
check_ready "pods Ready" 30 count-1 count-2 two two-def crash
restarts() { kubectl get pod crash -o jsonpath='{.status.containerStatuses[0].restartCount}'; }
if wait_for 15 sh -c "[ \"\$(kubectl get pod crash -o jsonpath='{.status.containerStatuses[0].restartCount}')\" -ge 1 ]"; then
	ok "the crash pod restarted once (restartCount $(restarts))"; else fail "the crash pod restarted once" "$(kubectl get pod crash -o yaml | tail -30)"; fi
# a few counter lines in each pod's log
for p in count-1 count-2; do
	wait_for 20 sh -c "kubectl logs $p | grep -q '^line1\$'" || fail "$p logs line1" "$(diag_pod $p)"
done

# ---- kubectl logs ----
for p in count-1 count-2; do
	head_is "kubectl logs $p: the whole log from its node" 'hello
line0
line1' kubectl logs $p
done
head_is "kubectl logs -c c" 'hello
line0' kubectl logs count-2 -c c
head_is "kubectl logs pod/NAME" 'hello' kubectl logs pod/count-1
tail2() { local out; out=$("$@") || return 1; [ "$(printf '%s\n' "$out" | wc -l)" = 2 ] && printf '%s\n' "$out" | grep -Eqx 'line[0-9]+' && [ "$(printf '%s\n' "$out" | grep -Ec '^line[0-9]+$')" = 2 ]; }
check "kubectl logs --tail=2: two counter lines" tail2 kubectl logs count-2 --tail=2
is_out "kubectl logs --tail=0: nothing" '' kubectl logs count-2 --tail=0
is_out "kubectl logs --limit-bytes=5" 'hello' kubectl logs count-2 --limit-bytes=5
head_is "kubectl logs --since=1h: everything" 'hello
line0' kubectl logs count-1 --since=1h
is_out "kubectl logs --since-time in the future: nothing" '' kubectl logs count-1 --since-time=2999-01-01T00:00:00Z
head_is "kubectl logs --timestamps is accepted (the node has no times to add)" 'hello' kubectl logs count-1 --timestamps
# Byte for byte against the node's own file (node 2's agent keeps it under its data dir).
UID2=$(kubectl get pod count-2 -o jsonpath='{.metadata.uid}')
F2=$T_DIR/agent2/logs/default_count-2_$UID2/c/0.log
same_bytes() { # same_bytes N CMD...: the command's stdout is the first N bytes of $F2
	local n=$1 rc=0; shift
	"$@" >"$T_DIR/got" 2>"$T_DIR/got.err" || rc=$?
	head -c "$n" "$F2" >"$T_DIR/want"
	[ $rc = 0 ] && cmp -s "$T_DIR/got" "$T_DIR/want" && return 0
	echo "exit $rc; got $(wc -c <"$T_DIR/got") bytes, want $(wc -c <"$T_DIR/want"); stderr: $(head -c 600 "$T_DIR/got.err")"
	cmp "$T_DIR/got" "$T_DIR/want"
	return 1
}
# The limit must cut: the count pod has to have written more than 100 bytes first (on a
# fast run it may not have yet, and then the node rightly returns all it has).
log_over_100() { [ "$(stat -c %s "$F2" 2>/dev/null || echo 0)" -gt 100 ]; }
if [ -f "$F2" ] && wait_for 30 log_over_100; then
	check "kubectl logs --limit-bytes=100: the node's bytes exactly" same_bytes 100 kubectl logs count-2 --limit-bytes=100
	check "ctl logs --limit-bytes 100: the node's bytes exactly" same_bytes 100 "$SVCPLANE" ctl logs count-2 --limit-bytes 100
else
	fail "node 2 keeps a log of over 100 bytes at $F2" "$(find "$T_DIR/agent2/logs" | head; ls -l "$F2" 2>&1)"
fi

# -f: lines written while following arrive (5 a second; 3 s of follow).
follows() { # follows CMD...: the followed output goes past the last line there was before
	local before after
	before=$("$@" 2>/dev/null | sed -n 's/^line//p' | tail -n1)
	after=$(timeout 3 "$@" -f 2>/dev/null | sed -n 's/^line//p' | tail -n1)
	[ -n "$before" ] && [ -n "$after" ] && [ "$after" -ge $((before + 5)) ] || { echo "before=$before after=$after"; return 1; }
}
check "kubectl logs -f streams new lines (pod on node 2)" follows kubectl logs count-2
check "kubectl logs -f streams new lines (pod on node 1)" follows kubectl logs count-1

is_out "kubectl logs --previous: the instance before the restart (stdout and stderr)" 'first-run
oops' kubectl logs crash --previous
is_out "kubectl logs: the current instance after the restart" 'second-run' kubectl logs crash
expect_fail "kubectl logs --previous without a restart: kubelet's message" \
	'previous terminated container "c" in pod "count-1" not found' kubectl logs count-1 --previous

# Two containers: kubectl takes the first (and says so), or the annotated one.
is_out "kubectl logs, two containers: the first one" 'from-a' kubectl logs two
expect_out "kubectl logs, two containers: says which it took" 'Defaulted container "a" out of: a, b' sh -c 'kubectl logs two 2>&1 >/dev/null'
is_out "kubectl logs -c b" 'from-b' kubectl logs two -c b
is_out "kubectl logs: the default-container annotation" 'from-b' kubectl logs two-def

# Errors.
expect_fail "kubectl logs: a wrong container" 'container nope is not valid for pod count-1' kubectl logs count-1 -c nope
expect_fail "kubectl logs: a pod that does not exist" 'pods "nope" not found' kubectl logs nope
expect_fail "kubectl logs --tail=abc is refused" 'invalid argument "abc" for "--tail"' kubectl logs count-1 --tail=abc

# ---- the API itself ----
expect_out "API: no container for a two-container pod is 400 with kube's message" \
	'"message":"a container name must be specified for pod two, choose one of: \[a b\]","reason":"BadRequest".*400$' \
	apiflat GET /api/v1/namespaces/default/pods/two/log
expect_out "API: a wrong container is 400" '"message":"container nope is not valid for pod count-1".*400$' \
	apiflat GET '/api/v1/namespaces/default/pods/count-1/log?container=nope'
expect_out "API: tailLines=-1 is 422 Invalid" 'PodLogOptions \\"count-1\\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0.*422$' \
	apiflat GET '/api/v1/namespaces/default/pods/count-1/log?tailLines=-1'
expect_out "API: tailLines=abc is 400" 'parsing \\"abc\\": invalid syntax.*400$' \
	apiflat GET '/api/v1/namespaces/default/pods/count-1/log?tailLines=abc'
expect_out "API: limitBytes=0 is 422" 'limitBytes: Invalid value: 0: must be greater than 0.*422$' \
	apiflat GET '/api/v1/namespaces/default/pods/count-1/log?limitBytes=0'
expect_out "API: a pod that does not exist is 404" 'pods \\"nope\\" not found.*404$' \
	apiflat GET /api/v1/namespaces/default/pods/nope/log
expect_out "API: POST on pods/log is 405" '405$' apiflat POST /api/v1/namespaces/default/pods/count-1/log
expect_out "API: tailLines=1&container=c, straight" '^line[0-9]+200$' apiflat GET '/api/v1/namespaces/default/pods/count-2/log?container=c&tailLines=1'
expect_out "discovery lists pods/log with verb get" '"name":"pods/log"[^}]*"verbs":\["get"\]' apiflat GET /api/v1

# ---- svcplane ctl logs ----
head_is "ctl logs: the whole log (node 1)" 'hello
line0
line1' CTL logs count-1
head_is "ctl logs: the whole log (node 2)" 'hello
line0' CTL logs count-2
head_is "ctl logs -c c" 'hello' CTL logs count-2 -c c
check "ctl logs --tail 2: two counter lines" tail2 "$SVCPLANE" ctl logs count-2 --tail 2
is_out "ctl logs --limit-bytes 5" 'hello' CTL logs count-1 --limit-bytes 5
head_is "ctl logs --since 1h" 'hello' CTL logs count-1 --since 1h
is_out "ctl logs --since-time in the future: nothing" '' CTL logs count-1 --since-time 2999-01-01T00:00:00Z
check "ctl logs -f streams new lines" follows "$SVCPLANE" ctl logs count-2
is_out "ctl logs --previous" 'first-run
oops' CTL logs crash --previous
head_is "ctl logs -p (short flag) with -n" 'first-run' CTL logs -n default crash -p
is_out "ctl logs, two containers: the first one" 'from-a' CTL logs two
expect_out "ctl logs, two containers: says which it took" 'Defaulted container "a" out of: a, b' sh -c "'$SVCPLANE' ctl logs two 2>&1 >/dev/null"
is_out "ctl logs: the default-container annotation" 'from-b' CTL logs two-def
is_out "ctl logs POD CONTAINER" 'from-b' CTL logs two b
expect_fail "ctl logs: a wrong container" 'Error from server \(BadRequest\): container nope is not valid for pod count-1' CTL logs count-1 -c nope
expect_fail "ctl logs: a pod that does not exist" 'Error from server \(NotFound\): pods "nope" not found' CTL logs nope
expect_fail "ctl logs --tail abc is refused" 'invalid argument "abc" for "--tail" flag' CTL logs count-1 --tail abc
expect_fail "ctl logs --tail -2 is refused" '--tail must be greater than or equal to -1' CTL logs count-1 --tail -2
expect_fail "ctl logs --previous without a restart" 'previous terminated container "c" in pod "count-1" not found' CTL logs count-1 --previous

# ---- the node endpoint itself ----
for n in 1 2; do
	ip=198.18.0.1$n
	port=$(kport n$n)
	pod=count-$n
	code=$(curl -sk --max-time 10 -o "$T_DIR/resp" -w '%{http_code}' -H "Authorization: Bearer wrong-token" \
		"https://$ip:${port:-10250}/containerLogs/default/$pod/c")
	if [ "$code" = 401 ]; then ok "node $n's log port: a wrong token is 401"; else fail "node $n's log port: a wrong token is 401" "code $code: $(cat "$T_DIR/resp")"; fi
	code=$(curl -sk --max-time 10 -o "$T_DIR/resp" -w '%{http_code}' "https://$ip:${port:-10250}/containerLogs/default/$pod/c")
	if [ "$code" = 401 ]; then ok "node $n's log port: no token is 401"; else fail "node $n's log port: no token is 401" "code $code"; fi
	code=$(curl -sk --max-time 10 -o "$T_DIR/resp" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		"https://$ip:${port:-10250}/containerLogs/default/$pod/c?limitBytes=5")
	if [ "$code/$(cat "$T_DIR/resp")" = 200/hello ]; then ok "node $n's log port: the right token reads the log"; else
		fail "node $n's log port: the right token reads the log" "code $code: $(cat "$T_DIR/resp")"; fi
done

# ---- -f on a container that exits: the follow ends with it, as kubelet's does ----
cat >"$T_DIR/finite.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: finite}
spec:
  nodeName: n2
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: none, command: [sh, -c, 'echo start; sleep 2; echo done']}]
Y
check "a pod that exits after 2 s applied" kubectl apply -f "$T_DIR/finite.yaml"
running() { [ "$(kubectl get pod finite -o jsonpath='{.status.phase}')" = Running ] || [ "$(kubectl get pod finite -o jsonpath='{.status.phase}')" = Succeeded ]; }
wait_for 20 running
t0=$(date +%s)
out=$(timeout 15 kubectl logs -f finite 2>&1); rc=$?
if [ "$rc" = 0 ] && [ "$out" = "start
done" ] && [ $(( $(date +%s) - t0 )) -lt 10 ]; then ok "kubectl logs -f ends when the container exits"; else
	fail "kubectl logs -f ends when the container exits" "rc=$rc out=$out"; fi
expect_out "and the pod Succeeded" '^Succeeded$' kubectl get pod finite -o jsonpath='{.status.phase}'

# ---- a node that cannot be reached: a bounded 500 ----
cat >"$T_DIR/ghost.yaml" <<'Y'
apiVersion: v1
kind: Node
metadata: {name: ghost}
---
apiVersion: v1
kind: Pod
metadata: {name: on-ghost}
spec:
  nodeName: ghost
  containers: [{name: c, image: none, command: [sleep, "600"]}]
Y
check "a Node without an agent, and a pod bound to it" kubectl apply -f "$T_DIR/ghost.yaml"
# Port 1 on the server's own loopback: nothing listens, the connection is refused at once.
kubectl patch node ghost --subresource=status --type=merge \
	-p '{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":1}}}}' >/dev/null 2>&1
start=$(date +%s)
expect_fail "logs from an unreachable node: Go's dial error" \
	'Get "https://127.0.0.1:1/containerLogs/default/on-ghost/c": dial tcp 127.0.0.1:1: connect: connection refused' \
	timeout 20 kubectl logs on-ghost
if [ $(($(date +%s) - start)) -le 10 ]; then ok "...and quickly"; else fail "...and quickly" "took $(($(date +%s) - start)) s"; fi
kubectl delete pod on-ghost --wait=false >/dev/null 2>&1
kubectl delete node ghost --wait=false >/dev/null 2>&1

# A server that stops while a follow goes through it ends the stream and exits (its
# sanitizer report, leaks included, is checked by finish).
timeout 60 kubectl logs -f count-2 >"$T_DIR/follow.out" 2>&1 &
FPID=$!
wait_for 20 test -s "$T_DIR/follow.out" # the follow is streaming
kill -TERM "$SERVER_PID"
stopped() { ! kill -0 "$SERVER_PID" 2>/dev/null; }
if wait_for 20 stopped; then ok "the server stops while a follow goes through it"; else
	fail "the server stops while a follow goes through it" "$(tail -5 "$T_DIR/server.err")"; fi
follow_done() { ! kill -0 "$FPID" 2>/dev/null; }
if wait_for 10 follow_done; then ok "...and the follow ends"; else fail "...and the follow ends"; kill "$FPID" 2>/dev/null; fi
wait "$FPID" 2>/dev/null
SERVER_PID=

# The agent's sanitizer reports fail the script too (finish reads server.err).
cat "$T_DIR/agent2.err" >>"$T_DIR/server.err" 2>/dev/null
finish
