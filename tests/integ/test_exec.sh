#!/usr/bin/env bash
# kubectl exec end to end on a two-node cluster (cluster.sh): the API server's pods/exec
# relays the WebSocket (v5.channel.k8s.io / v4) to the agent of the pod's node
# (node/execsrv.h), which runs the command in the pod's namespaces with the container's
# env and working directory. Real kubectl (the default one, and 1.30-1.32, which speak
# WebSocket): plain, stdin piped (1 MB by hash), stderr apart, exit codes, -it under
# script(1) with a pty, hostname/resolv.conf of the pod, a pod on the other node,
# kubectl cp both ways (10 MB by hash), and the errors: unknown pod, unknown container,
# a command that does not exist.
#
# Processes run in a node with `nsenter --net` (see test_agent.sh for why).
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
. tests/integ/lib_twonode.sh
KDIR=$(dirname "$(readlink -f "$(command -v kubectl)")")

cat >"$T_DIR/pods.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: sh-1}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: none
    workingDir: /tmp
    env: [{name: FOO, value: bar-1}]
    command: [sleep, '600']
---
apiVersion: v1
kind: Pod
metadata: {name: sh-2}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - {name: a, image: none, command: [sleep, '600'], env: [{name: FOO, value: bar-2a}]}
  - {name: b, image: none, command: [sleep, '600'], env: [{name: FOO, value: bar-2b}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: none
    workingDir: @WWW@
    command: [python3, -m, http.server, '8080']
    ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: att-1}
spec:
  nodeName: n2
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: none, stdin: true, tty: true, command: [sh, -c, 'read l; echo got-$l; sleep 1']}
---
apiVersion: v1
kind: Pod
metadata: {name: att-2}
spec:
  nodeName: n1
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: none, stdin: true, tty: true, command: [sh, -c, 'read l; echo got-$l; sleep 1']}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
Y
mkdir -p "$T_DIR/www"
echo hello-from-web >"$T_DIR/www/hello.txt"
head -c 100000000 /dev/urandom >"$T_DIR/www/big.bin"
BIGWEB=$(sha256sum <"$T_DIR/www/big.bin" | cut -d' ' -f1)
sed -i "s|@WWW@|$T_DIR/www|" "$T_DIR/pods.yaml"
check "pods applied" kubectl apply -f "$T_DIR/pods.yaml"
check_ready "pods Ready" 30 sh-1 sh-2 web att-1 att-2

is_out "exec: plain" 'hi there' kubectl exec sh-1 -- echo hi there
is_out "exec: the container's env" 'bar-1' kubectl exec sh-1 -- sh -c 'echo $FOO'
is_out "exec: the container's workingDir" '/tmp' kubectl exec sh-1 -- pwd
is_out "exec: the pod's hostname (UTS namespace)" 'sh-1' kubectl exec sh-1 -- hostname
# the pod's own resolv.conf as the runtime wrote it (state dir), not the node's
RUID=$(kubectl get pod sh-1 -o jsonpath='{.metadata.uid}')
RF=$(find "$T_DIR/data" -path "*$RUID*" -name resolv.conf 2>/dev/null | head -n1)
if [ -n "$RF" ] && [ "$(kubectl exec sh-1 -- cat /etc/resolv.conf)" = "$(cat "$RF")" ]; then ok "exec: the pod's resolv.conf (mount namespace)"
else fail "exec: the pod's resolv.conf (mount namespace)" "file=$RF: $(cat "$RF" 2>&1) got: $(kubectl exec sh-1 -- cat /etc/resolv.conf 2>&1)"; fi
PODIP2=$(kubectl get pod sh-2 -o jsonpath='{.status.podIP}')
expect_out "exec: the pod's network namespace (its IP)" "$PODIP2" kubectl exec sh-2 -c a -- sh -c 'ip -o addr 2>/dev/null || cat /proc/net/fib_trie'
is_out "exec: pod on the other node, -c b" 'bar-2b' kubectl exec sh-2 -c b -- sh -c 'echo $FOO'
is_out "exec: stdin piped" 'abc' sh -c 'echo abc | kubectl exec -i sh-2 -c a -- cat'
head -c 1000000 /dev/urandom >"$T_DIR/in.bin"
WANT=$(sha256sum <"$T_DIR/in.bin" | cut -d' ' -f1)
is_out "exec: 1 MB through stdin, by hash" "$WANT  -" sh -c "kubectl exec -i sh-2 -c a -- sha256sum <'$T_DIR/in.bin'"
is_out "exec: 1 MB back through stdout, by hash" "$WANT" sh -c "kubectl exec -i sh-1 -- cat <'$T_DIR/in.bin' | sha256sum | cut -d' ' -f1"
out=$(kubectl exec sh-1 -- sh -c 'echo out; echo err >&2' 2>"$T_DIR/err")
if [ "$out" = out ] && [ "$(cat "$T_DIR/err")" = err ]; then ok "exec: stdout and stderr apart"; else fail "exec: stdout and stderr apart" "out=$out err=$(cat "$T_DIR/err")"; fi
kubectl exec sh-1 -- sh -c 'exit 3' 2>"$T_DIR/err"; rc=$?
if [ $rc = 3 ] && grep -q 'command terminated with exit code 3' "$T_DIR/err"; then ok "exec: exit code 3"; else fail "exec: exit code 3" "rc=$rc $(cat "$T_DIR/err")"; fi
kubectl exec sh-2 -c a -- false 2>/dev/null; rc=$?
if [ $rc = 1 ]; then ok "exec: exit code 1 on the other node"; else fail "exec: exit code 1 on the other node" "rc=$rc"; fi
expect_fail "exec: a command that does not exist" 'executable file not found' kubectl exec sh-1 -- no-such-cmd-x
expect_fail "exec: unknown pod" 'pods "nope" not found' kubectl exec nope -- true
expect_fail "exec: unknown container" 'container nope is not valid for pod sh-2' kubectl exec sh-2 -c nope -- true
# -it under a pty (script): a shell that reads commands, its tty, an exit code.
if command -v script >/dev/null; then
	out=$(printf 'tty\necho ok-$((1+2))\nexit 5\n' | timeout 60 script -qec "kubectl exec -it sh-1 -- sh" /dev/null 2>&1); rc=$?
	if [ $rc = 5 ] && printf '%s' "$out" | grep -q 'ok-3' && printf '%s' "$out" | grep -q '/dev/pts/'; then
		ok "exec -it: a shell on a pty, exit code 5"; else fail "exec -it: a shell on a pty, exit code 5" "rc=$rc out=$out"; fi
else
	echo "skip exec -it (no script(1))"; T_SKIP=$((T_SKIP + 1))
fi
# 1.27-1.29 speak SPDY/3.1, 1.30+ WebSocket.
for v in 1.27 1.28 1.29 1.30 1.31 1.32; do
	K=$KDIR/kubectl.$v
	[ -x "$K" ] || continue
	is_out "kubectl $v exec: plain" 'v-ok' "$K" exec sh-2 -c a -- echo v-ok
	"$K" exec sh-1 -- sh -c 'exit 7' 2>"$T_DIR/err"; rc=$?
	if [ $rc = 7 ] && grep -q 'command terminated with exit code 7' "$T_DIR/err"; then ok "kubectl $v exec: exit code 7"
	else fail "kubectl $v exec: exit code 7" "rc=$rc $(cat "$T_DIR/err")"; fi
	is_out "kubectl $v exec: stdin piped, 1 MB by hash" "$WANT  -" sh -c "'$K' exec -i sh-2 -c a -- sha256sum <'$T_DIR/in.bin'"
	out=$("$K" exec sh-1 -- sh -c 'echo out; echo err >&2' 2>"$T_DIR/err")
	if [ "$out" = out ] && [ "$(cat "$T_DIR/err")" = err ]; then ok "kubectl $v exec: stdout and stderr apart"; else fail "kubectl $v exec: stdout and stderr apart" "out=$out err=$(cat "$T_DIR/err")"; fi
	if command -v script >/dev/null; then
		out=$(printf 'echo ok-$((2+2))\nexit 4\n' | timeout 60 script -qec "'$K' exec -it sh-2 -c b -- sh" /dev/null 2>&1); rc=$?
		if [ $rc = 4 ] && printf '%s' "$out" | grep -q 'ok-4'; then ok "kubectl $v exec -it: exit code 4"; else fail "kubectl $v exec -it: exit code 4" "rc=$rc out=$out"; fi
	fi
done
# kubectl cp (tar through exec) both ways, 10 MB by hash.
head -c 10000000 /dev/urandom >"$T_DIR/big.bin"
BIG=$(sha256sum <"$T_DIR/big.bin" | cut -d' ' -f1)
mkdir -p "$T_DIR/pod2dir"
is_out "cp to the pod (other node), 10 MB by hash" "$BIG" sh -c "kubectl cp '$T_DIR/big.bin' sh-2:'$T_DIR/pod2dir/copied.bin' -c a >/dev/null && sha256sum <'$T_DIR/pod2dir/copied.bin' | cut -d' ' -f1"
is_out "cp from the pod, 10 MB by hash" "$BIG" sh -c "kubectl cp sh-1:'$T_DIR/big.bin' '$T_DIR/back.bin' >/dev/null 2>&1; sha256sum <'$T_DIR/back.bin' | cut -d' ' -f1"
if [ -x "$KDIR/kubectl.1.27" ]; then
	is_out "kubectl 1.27 cp to the pod (SPDY), 10 MB by hash" "$BIG" sh -c "'$KDIR/kubectl.1.27' cp '$T_DIR/big.bin' sh-1:'$T_DIR/pod2dir/c27.bin' >/dev/null && sha256sum <'$T_DIR/pod2dir/c27.bin' | cut -d' ' -f1"
	is_out "kubectl 1.27 cp from the pod (SPDY), 10 MB by hash" "$BIG" sh -c "'$KDIR/kubectl.1.27' cp sh-2:'$T_DIR/big.bin' '$T_DIR/back27.bin' -c a >/dev/null 2>&1; sha256sum <'$T_DIR/back27.bin' | cut -d' ' -f1"
fi

# ---- attach: a container with stdin: true reads what the client sends; its output
# (from its log) comes back; the attach ends when the container does.
out=$(echo hello-1 | timeout 60 kubectl attach -i att-1 -c c 2>"$T_DIR/err"); rc=$?
if [ $rc = 0 ] && printf '%s' "$out" | grep -q 'got-hello-1'; then ok "attach -i (WebSocket, other node): input in, output out, ends with the container"
else fail "attach -i (WebSocket, other node)" "rc=$rc out=$out err=$(cat "$T_DIR/err")"; fi
if [ -x "$KDIR/kubectl.1.29" ]; then
	out=$(echo hello-2 | timeout 60 "$KDIR/kubectl.1.29" attach -i att-2 -c c 2>"$T_DIR/err"); rc=$?
	if [ $rc = 0 ] && printf '%s' "$out" | grep -q 'got-hello-2'; then ok "attach -i (kubectl 1.29, SPDY)"
	else fail "attach -i (kubectl 1.29, SPDY)" "rc=$rc out=$out err=$(cat "$T_DIR/err")"; fi
fi
wait_for 30 sh -c "kubectl get pod att-1 -o jsonpath='{.status.phase}' | grep -q Succeeded"
expect_fail "attach to a completed pod: 400 (kubectl)" 'cannot attach a container in a completed pod; current phase is Succeeded' kubectl attach att-1 -c c
expect_out "attach to a completed pod: 400 (API)" 'cannot attach a container in a completed pod; current phase is Succeeded.*400$' apiflat POST '/api/v1/namespaces/default/pods/att-1/attach?stdin=true&stdout=true'
expect_out "exec without an upgrade: the node's 400" 'exec needs an upgrade.*"reason":"BadRequest".*400$' apiflat POST '/api/v1/namespaces/default/pods/sh-1/exec?command=true&stdout=true'

# ---- port-forward: to a pod on the other node (web, on n2), 1.31+ over the WebSocket
# tunnel, 1.29 over SPDY; an HTTP request and 100 MB by hash; then svc/NAME.
EXTRA_PIDS=
pf_start() { # pf_start KUBECTL TARGET PORT: runs port-forward on a random local port, sets LPORT
	local out=$T_DIR/pf.$RANDOM
	"$1" port-forward "$2" ":$3" >"$out" 2>&1 &
	EXTRA_PIDS="$EXTRA_PIDS $!"
	LPORT=
	wait_for 20 grep -q 'Forwarding from 127.0.0.1:' "$out" || return 1
	LPORT=$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+) .*/\1/p' "$out" | head -n1)
}
pf_stop() { for p in $EXTRA_PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; EXTRA_PIDS=; }
wait_for 20 kubectl exec web -- python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8080/hello.txt")' || fail "web serves" "$(diag_pod web)"
for v in default 1.29; do
	K=kubectl; [ $v = default ] || K=$KDIR/kubectl.$v
	[ -x "$(command -v "$K")" ] || continue
	if pf_start "$K" pod/web 8080; then
		is_out "port-forward ($v) to a pod on the other node: HTTP" 'hello-from-web' curl -sS --max-time 30 "http://127.0.0.1:$LPORT/hello.txt"
		is_out "port-forward ($v): 100 MB by hash" "$BIGWEB" sh -c "curl -sS --max-time 300 http://127.0.0.1:$LPORT/big.bin | sha256sum | cut -d' ' -f1"
		# several connections at once
		is_out "port-forward ($v): 4 connections at once" '4' sh -c "for i in 1 2 3 4; do curl -sS --max-time 30 http://127.0.0.1:$LPORT/hello.txt & done | grep -c hello-from-web"
	else
		fail "port-forward ($v) starts" "$(cat "$T_DIR"/pf.* 2>/dev/null | tail -5)"
	fi
	pf_stop
done
if pf_start kubectl svc/web 80; then
	is_out "port-forward svc/NAME (service port 80 -> pod 8080)" 'hello-from-web' curl -sS --max-time 30 "http://127.0.0.1:$LPORT/hello.txt"
else
	fail "port-forward svc/web starts" "$(cat "$T_DIR"/pf.* 2>/dev/null | tail -5)"
fi
pf_stop

# ---- the proxy subresources through `kubectl proxy` ----
kubectl create service clusterip empty --tcp=80:8080 >/dev/null 2>&1
kubectl proxy --port=0 >"$T_DIR/kproxy.out" 2>&1 &
EXTRA_PIDS="$EXTRA_PIDS $!"
if wait_for 20 grep -q 'Starting to serve on' "$T_DIR/kproxy.out"; then
	KP=$(sed -nE 's/.*Starting to serve on 127\.0\.0\.1:([0-9]+).*/\1/p' "$T_DIR/kproxy.out")
	P=http://127.0.0.1:$KP/api/v1
	wait_for 20 sh -c "curl -sf --max-time 10 $P/namespaces/default/services/web:80/proxy/hello.txt"
	is_out "kubectl proxy: services/web:80/proxy (pod on the other node)" 'hello-from-web' curl -sS --max-time 30 "$P/namespaces/default/services/web:80/proxy/hello.txt"
	is_out "kubectl proxy: services/http:web:80/proxy, 100 MB by hash" "$BIGWEB" sh -c "curl -sS --max-time 300 $P/namespaces/default/services/http:web:80/proxy/big.bin | sha256sum | cut -d' ' -f1"
	is_out "kubectl proxy: pods/web:8080/proxy" 'hello-from-web' curl -sS --max-time 30 "$P/namespaces/default/pods/web:8080/proxy/hello.txt"
	is_out "kubectl proxy: the target's status (404) comes back" '404' curl -sS -o /dev/null -w '%{http_code}' --max-time 30 "$P/namespaces/default/services/web/proxy/nope"
	expect_out "kubectl proxy: nodes/n2/proxy reaches the node's kubelet port (pod logs)" 'GET /hello.txt' curl -sS --max-time 30 "$P/nodes/n2/proxy/containerLogs/default/web/c"
	expect_out "services/empty/proxy: 503 no endpoints available" '503 .*no endpoints available for service \\"empty\\"' sh -c "curl -sS --max-time 30 -w '%{http_code} ' $P/namespaces/default/services/empty:80/proxy/ | tr -d '\n' | awk '{print \$NF, \$0}'"
	expect_out "services/nope/proxy: 404" '^404$' curl -sS -o /dev/null -w '%{http_code}' --max-time 30 "$P/namespaces/default/services/nope/proxy/"
else
	fail "kubectl proxy starts" "$(cat "$T_DIR/kproxy.out")"
fi
pf_stop

finish
