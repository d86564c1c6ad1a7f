#!/usr/bin/env bash
# The etcd datastore end to end (issue 16): `svcplane server --datastore-endpoint etcd://...`
# on a throwaway single-member etcd (127.0.0.1, free ports), Services applied through real
# kubectl, the keys laid out under --etcd-prefix as kube-apiserver does, a restart of the
# server that keeps every object with the same resourceVersion and cluster IP, no cluster
# IP or node port given twice, store migrate to SQLite and back, and clear errors at start
# for a bad URL or an unreachable etcd.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
. tests/etcd_lib.sh
trap 'etcd_cluster_stop; cleanup' EXIT
ETCDCTL() { ETCDCTL_API=3 etcdctl --endpoints "${ETCD_URL#etcd://}" "$@"; }

etcd_cluster_start "$T_DIR/etcd" 1 || { fail "etcd starts"; finish; exit 1; }
start_server --datastore-endpoint "$ETCD_URL" ||
	{ fail "server starts on etcd"; finish; exit 1; }
ok "server starts on etcd"
expect_out "the server names its store" 'store etcd://127\.0\.0\.1' cat "$T_DIR/server.out"

svcs() { # svcs: name rv clusterIP nodePorts of every Service, sorted
	kubectl get svc -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.metadata.resourceVersion} {.spec.clusterIP} {.spec.ports[*].nodePort}{"\n"}{end}' | sort
}
manifest() { # manifest FROM TO: Services s<FROM>..s<TO>, every third a NodePort
	local i
	for i in $(seq "$1" "$2"); do
		printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: s%d\nspec:\n  type: %s\n  selector: {app: s%d}\n  ports:\n  - port: 80\n---\n' \
			"$i" "$([ $((i % 3)) = 0 ] && echo NodePort || echo ClusterIP)" "$i"
	done
}
manifest 1 30 >"$T_DIR/svcs.yaml"
check "kubectl apply of 30 Services" kubectl apply -f "$T_DIR/svcs.yaml"
expect_out "the Services are in etcd under /registry" '^/registry/core/services/default/s17$' \
	ETCDCTL get --prefix /registry/core/services/ --keys-only
expect_out "their allocation keys too" '^/registry/allocations/nodeport/[0-9]+$' \
	ETCDCTL get --prefix /registry/allocations/ --keys-only
rv_etcd=$(ETCDCTL get /registry/core/services/default/s5 -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["kvs"][0]["mod_revision"])')
expect_out "resourceVersion is etcd's mod revision" "^$rv_etcd\$" kubectl get svc s5 -o jsonpath='{.metadata.resourceVersion}'
check "an update with a stale resourceVersion is a conflict (409)" sh -c "
	kubectl get svc s2 -o json >'$T_DIR/s2.json' &&
	kubectl label svc s2 a=b >/dev/null &&
	! kubectl replace -f '$T_DIR/s2.json' 2>'$T_DIR/conflict.err' &&
	grep -q 'the object has been modified' '$T_DIR/conflict.err'"
kubectl delete svc s30 >/dev/null 2>&1
check "a deleted Service's keys are gone from etcd" sh -c "! ETCDCTL_API=3 etcdctl --endpoints '${ETCD_URL#etcd://}' get /registry/core/services/default/s30 --keys-only | grep -q s30"
rvA=$(api GET /api/v1/namespaces/default/services | head -n -1 | jq -r .metadata.resourceVersion)
kubectl label svc s1 round=one >/dev/null
before=$(svcs)

stop_server
start_server --datastore-endpoint "$ETCD_URL" || { fail "server restarts on etcd"; finish; exit 1; }
after=$(svcs)
check "after a restart every Service is there with the same resourceVersion, IP and node ports" \
	test "$before" = "$after"
expect_out "there are 29 of ours plus kubernetes" '^30$' sh -c "echo '$after' | grep -c default/"
manifest 31 40 >"$T_DIR/more.yaml"
check "kubectl apply of 10 more after the restart" kubectl apply -f "$T_DIR/more.yaml"
all=$(svcs)
check "no cluster IP given twice" sh -c "echo '$all' | awk '{print \$3}' | sort | uniq -d | grep -q . && exit 1 || exit 0"
check "no node port given twice" sh -c "echo '$all' | awk 'NF>3 {print \$4}' | sort | uniq -d | grep -q . && exit 1 || exit 0"
rv0=$(kubectl get svc s1 -o jsonpath='{.metadata.resourceVersion}')
kubectl label --overwrite svc s1 round=two >/dev/null
rv1=$(kubectl get svc s1 -o jsonpath='{.metadata.resourceVersion}')
check "resourceVersions only grow" test "$rv1" -gt "$rv0"

# A second server on the same etcd: what a client writes through one it reads through the
# other at once (the second server's cache catches up before answering). It joins with the
# first server's token: the cluster's identity is sealed with it (test_identity.sh).
mkdir -p "$T_DIR/data2"
("$SVCPLANE" server --data-dir "$T_DIR/data2" --secure-port 0 --disable-agent --token-file "$T_DIR/data/token" \
	--service-cluster-ip-range 198.19.0.0/16 --cluster-cidr 198.18.128.0/17 \
	--datastore-endpoint "$ETCD_URL" >"$T_DIR/server2.out" 2>>"$T_DIR/server.err" & echo $! >"$T_DIR/server2.pid")
SERVER2_PID=$(cat "$T_DIR/server2.pid")
trap 'kill -9 $SERVER2_PID 2>/dev/null; etcd_cluster_stop; cleanup' EXIT
K2="kubectl --kubeconfig $T_DIR/data2/kubeconfig"
if wait_for 60 grep -q '^kubeconfig:' "$T_DIR/server2.out"; then
	ok "a second server starts on the same etcd"
	bad=""
	for i in $(seq 1 15); do
		kubectl create service clusterip rw$i --tcp=80:80 >/dev/null 2>&1 || bad="$bad create-rw$i"
		$K2 get svc rw$i >/dev/null 2>&1 || bad="$bad get-rw$i"
		kubectl get svc rw$i -o json >"$T_DIR/rw.json" 2>/dev/null
		$K2 replace -f "$T_DIR/rw.json" >/dev/null 2>&1 || bad="$bad replace-rw$i"
	done
	check "writes through one server are read and updated through the other at once" test -z "$bad"
	a=$(kubectl get svc -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}')
	b=$($K2 get svc -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}')
	check "both servers list the same Services at the same resourceVersions" test "$a" = "$b"
else
	fail "a second server starts on the same etcd" "$(cat "$T_DIR/server2.out" "$T_DIR/server.err" | tail -20)"
fi
kill "$SERVER2_PID" 2>/dev/null

# A watch from a resourceVersion before the restart replays what came after it (the new
# server's cache starts at the restart: the events come from etcd's history).
check "the list's resourceVersion is a number" test "$rvA" -gt 0
expect_out "a watch from a resourceVersion before the restart sees the changes after it" '^\{"type":"MODIFIED".*"round":"one"' \
	timeout 20 curl -sN --max-time 5 --cacert "$CA" -H "Authorization: Bearer $TOKEN" \
	"$URL/api/v1/namespaces/default/services?watch=1&resourceVersion=$rvA"
stop_server

# Migration to SQLite and back keeps every key and value.
check "store migrate etcd -> sqlite" "$SVCPLANE" store migrate --from "$ETCD_URL" --to "sqlite://$T_DIR/mig.db"
expect_fail "migrate refuses a non-empty destination" 'not empty' \
	"$SVCPLANE" store migrate --from "$ETCD_URL" --to "sqlite://$T_DIR/mig.db"
check "store migrate sqlite -> etcd (other prefix)" "$SVCPLANE" store migrate --from "sqlite://$T_DIR/mig.db" \
	--to "$ETCD_URL" --to-etcd-prefix /copy
a=$(ETCDCTL get --prefix /registry/ | sed -n 'n;p' | sort | md5sum)
b=$(ETCDCTL get --prefix /copy/ | sed -n 'n;p' | sort | md5sum)
check "the copy holds the same values" test "$a" = "$b"

# A 3-member etcd. First SIGSTOP the member the server's cache watches through (it stops
# answering but keeps its connections open): within the keepalive's bound (probe every
# 2 s, 3 s deadline: about 6 s; asserted with slack at 20 s) writes go on and a watch
# through the server sees them; then SIGCONT. Then SIGKILL the member the server talks
# to; the server moves to another member, its cache resumes, and writes and reads go on.
etcd_cluster_stop
watched() { # the index in ETCD_PORTS of the member the cache's watch streams from
	local port i
	port=$(sed -nE 's|.*etcd watch streams from https?://127\.0\.0\.1:([0-9]+) .*|\1|p' "$T_DIR/server.err" | tail -n1)
	for i in "${!ETCD_PORTS[@]}"; do [ "${ETCD_PORTS[$i]}" = "$port" ] && echo "$i"; done
}
create_svc() { # create_svc NAME: creates (retrying a write that may have landed), 0 when there
	local try out
	for try in 1 2 3 4 5 6; do
		out=$(kubectl --request-timeout=20s create service clusterip "$1" --tcp=80:80 2>&1) && return 0
		echo "$out" | grep -q AlreadyExists && return 0
		sleep 0.5
	done
	echo "$out"
	return 1
}
if etcd_cluster_start "$T_DIR/etcd3" 3; then
	start_server --datastore-endpoint "$ETCD_URL" || { fail "server starts on 3-member etcd"; finish; exit 1; }
	for i in 1 2 3; do kubectl create service clusterip m$i --tcp=80:80 >/dev/null; done
	W=$(watched)
	check "the server names the member its cache watches through" test -n "$W"
	(kubectl get svc --watch-only -o name >"$T_DIR/stopwatch.out" 2>&1 & echo $! >"$T_DIR/stopwatch.pid")
	sleep 1 # the watch is open before the member stops (a watch opened later sees m4 anyway)
	t0=$(date +%s.%N)
	kill -STOP "${ETCD_PIDS[$W]}"
	check "with the watched member stopped (SIGSTOP), a write through the server succeeds" create_svc m4
	t1=$(date +%s.%N)
	dt=$(awk "BEGIN{printf \"%.1f\", $t1 - $t0}")
	echo "     (acknowledged $dt s after SIGSTOP; keepalive bound ~6 s)"
	check "... within 20 s" awk "BEGIN{exit !($dt <= 20)}"
	check "a watch through the server sees it" wait_for 10 grep -q 'service/m4' "$T_DIR/stopwatch.out"
	expect_out "the server noticed the silent member" 'did not answer within 3000 ms' cat "$T_DIR/server.err"
	check "its cache's watch moved to another member" sh -c "[ -n '$(watched)' ] && [ '$(watched)' != '$W' ]"
	check "reads go on" kubectl get svc m1
	kill -CONT "${ETCD_PIDS[$W]}"
	kill "$(cat "$T_DIR/stopwatch.pid")" 2>/dev/null
	check "after SIGCONT the member is healthy again" wait_for 30 curl -sf -m 2 "http://127.0.0.1:${ETCD_PORTS[$W]}/health"
	K=$(watched)
	{ kill -9 "${ETCD_PIDS[$K]}" && wait "${ETCD_PIDS[$K]}"; } 2>/dev/null
	created=0
	for i in $(seq 5 13); do
		create_svc m$i >/dev/null && created=$((created + 1))
	done
	check "after a member is killed, writes go on through the others" test "$created" = 9
	expect_out "the server's cache resumed its watch on another member" 'resuming after revision' cat "$T_DIR/server.err"
	expect_out "every Service is there" '^13$' sh -c "kubectl get svc -o name | grep -c 'service/m'"
	check "no cluster IP given twice" sh -c "kubectl get svc -o jsonpath='{range .items[*]}{.spec.clusterIP}{\"\\n\"}{end}' | sort | uniq -d | grep -q . && exit 1 || exit 0"
	stop_server
else
	fail "a 3-member etcd starts"
fi

# etcd with TLS and client certificates: the server speaks https with --etcd-cafile,
# --etcd-certfile and --etcd-keyfile, and is refused without a client certificate.
etcd_cluster_stop
if etcd_tls_files "$T_DIR/tls" && etcd_cluster_start "$T_DIR/etcd-tls" 1 "$T_DIR/tls"; then
	start_server --datastore-endpoint "$ETCD_URL" --etcd-cafile "$T_DIR/tls/ca.crt" \
		--etcd-certfile "$T_DIR/tls/client.crt" --etcd-keyfile "$T_DIR/tls/client.key" ||
		{ fail "server starts on etcd with TLS"; finish; exit 1; }
	check "a Service through a server on etcd with TLS" kubectl create service clusterip tls1 --tcp=80:80
	expect_out "it is in etcd" 'tls1' sh -c "ETCDCTL_API=3 etcdctl --endpoints https://${ETCD_URL#etcd://} \
		--cacert '$T_DIR/tls/ca.crt' --cert '$T_DIR/tls/client.crt' --key '$T_DIR/tls/client.key' \
		get --prefix /registry/core/services/default/tls1 --keys-only"
	stop_server
	expect_fail "without a client certificate etcd refuses the server" 'etcd did not answer' \
		timeout 30 "$SVCPLANE" server --data-dir "$T_DIR/bad" --secure-port 0 --disable-agent \
		--datastore-endpoint "$ETCD_URL" --etcd-cafile "$T_DIR/tls/ca.crt"
	expect_fail "--etcd-certfile without --etcd-keyfile is refused" 'go together' \
		timeout 30 "$SVCPLANE" server --data-dir "$T_DIR/bad" --secure-port 0 --disable-agent \
		--datastore-endpoint "$ETCD_URL" --etcd-certfile "$T_DIR/tls/client.crt"
else
	fail "etcd starts with TLS"
fi

expect_fail "an unreachable etcd is a clear error at start" 'etcd did not answer.*127\.0\.0\.1:1' \
	timeout 30 "$SVCPLANE" server --data-dir "$T_DIR/bad" --secure-port 0 --disable-agent \
	--datastore-endpoint etcd://127.0.0.1:1
expect_fail "a bad etcd URL is a clear error at start" 'bad port' \
	timeout 30 "$SVCPLANE" server --data-dir "$T_DIR/bad" --secure-port 0 --disable-agent \
	--datastore-endpoint etcd://127.0.0.1:99999
expect_fail "a bad --etcd-compaction-interval is refused" 'not a duration' \
	"$SVCPLANE" server --data-dir "$T_DIR/bad" --etcd-compaction-interval 5x
finish
