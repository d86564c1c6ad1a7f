#!/usr/bin/env bash
# Every kubectl from 1.27 to 1.33 (the versioned binaries beside the default one) runs the
# everyday commands of issue 12 against a two-node cluster, smoke-level: apply, get,
# describe, diff, explain, logs, exec (plain, stdin piped, exit code), cp both ways by
# hash, port-forward to a pod on the other node, auth can-i, auth whoami, get --raw
# /metrics, scale, delete. Older binaries speak SPDY for streams, newer ones WebSocket;
# each one must work.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
. tests/integ/lib_twonode.sh

cat >"$T_DIR/base.yaml" <<Y
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeName: n2
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: none, workingDir: $T_DIR/www, command: [python3, -m, http.server, '8080'], ports: [{containerPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: sh-v}
spec:
  nodeName: n1
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: none, command: [sh, -c, 'echo started-sh-v; exec sleep 600']}
Y
mkdir -p "$T_DIR/www" "$T_DIR/pod"
echo hello-from-web >"$T_DIR/www/hello.txt"
head -c 300000 /dev/urandom >"$T_DIR/small.bin"
SMALL=$(sha256sum <"$T_DIR/small.bin" | cut -d' ' -f1)
check "pods applied" kubectl apply -f "$T_DIR/base.yaml"
check_ready "pods Ready" 30 web sh-v

PF_PID=
pf_stop() { [ -n "$PF_PID" ] && { kill "$PF_PID" 2>/dev/null; wait "$PF_PID" 2>/dev/null; }; PF_PID=; }
EXTRA_PIDS=
for v in 1.27 1.28 1.29 1.30 1.31 1.32 1.33; do
	K=$KDIR/kubectl.$v
	if [ ! -x "$K" ]; then echo "skip kubectl $v (not installed)"; T_SKIP=$((T_SKIP + 1)); continue; fi
	n=${v/./}
	cat >"$T_DIR/svc$n.yaml" <<Y
apiVersion: v1
kind: Service
metadata: {name: v$n, labels: {}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d$n}
spec:
  replicas: 0
  selector: {matchLabels: {app: d$n}}
  template:
    metadata: {labels: {app: d$n}}
    spec:
      containers: [{name: c, image: none, command: [sleep, '600']}]
Y
	check "$v: apply" "$K" apply -f "$T_DIR/svc$n.yaml"
	expect_out "$v: get -o wide" "^v$n +ClusterIP +198\.19\." "$K" get svc "v$n" -o wide --no-headers
	expect_out "$v: describe" 'Endpoints: +198\.18\.' "$K" describe svc "v$n"
	check "$v: diff of the applied manifest is clean" "$K" diff -f "$T_DIR/svc$n.yaml"
	expect_out "$v: explain" 'FIELD: +type <string>' "$K" explain service.spec.type
	expect_out "$v: logs" 'started-sh-v' "$K" logs sh-v
	is_out "$v: exec" "hi-$v" "$K" exec sh-v -- echo "hi-$v"
	is_out "$v: exec -i, stdin piped" 'piped' sh -c "echo piped | '$K' exec -i web -- cat"
	"$K" exec sh-v -- sh -c 'exit 4' 2>/dev/null; rc=$?
	if [ $rc = 4 ]; then ok "$v: exec exit code"; else fail "$v: exec exit code" "rc=$rc"; fi
	is_out "$v: cp into a pod on the other node, by hash" "$SMALL" sh -c "'$K' cp '$T_DIR/small.bin' web:'$T_DIR/pod/in$n.bin' >/dev/null && sha256sum <'$T_DIR/pod/in$n.bin' | cut -d' ' -f1"
	is_out "$v: cp out of the pod, by hash" "$SMALL" sh -c "'$K' cp web:'$T_DIR/small.bin' '$T_DIR/out$n.bin' >/dev/null 2>&1; sha256sum <'$T_DIR/out$n.bin' | cut -d' ' -f1"
	"$K" port-forward pod/web :8080 >"$T_DIR/pf$n" 2>&1 &
	PF_PID=$!
	EXTRA_PIDS="$EXTRA_PIDS $PF_PID"
	if wait_for 20 grep -q 'Forwarding from 127.0.0.1:' "$T_DIR/pf$n"; then
		LPORT=$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+) .*/\1/p' "$T_DIR/pf$n" | head -n1)
		is_out "$v: port-forward to the pod on the other node" 'hello-from-web' curl -sS --max-time 30 "http://127.0.0.1:$LPORT/hello.txt"
	else
		fail "$v: port-forward starts" "$(tail -5 "$T_DIR/pf$n")"
	fi
	pf_stop
	is_out "$v: auth can-i" 'yes' "$K" auth can-i create pods
	expect_out "$v: auth whoami" 'system:admin' "$K" auth whoami
	expect_out "$v: get --raw /metrics" '^apiserver_request_total\{' sh -c "'$K' get --raw /metrics | grep -m1 '^apiserver_request_total'"
	check "$v: scale" "$K" scale deploy "d$n" --replicas=1
	check "$v: delete" "$K" delete -f "$T_DIR/svc$n.yaml" --wait=false
done

finish
