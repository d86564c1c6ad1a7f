# lib.sh - helpers for integration tests: start/stop a real svcplane server on a free
# port in a temporary data dir, run real kubectl against it, count checks.
# Every test script sources this, calls checks, and ends with `finish`.
set -u
SVCPLANE=${SVCPLANE:-build/debug/svcplane}
SVCPLANE=$(readlink -f "$SVCPLANE")
T_PASS=0 T_FAIL=0 T_SKIP=0
T_DIR=$(mktemp -d /tmp/svcplane-integ.XXXXXX)
export HOME=$T_DIR/home
mkdir -p "$HOME"
SERVER_PID=
KDIR=$(dirname "$(readlink -f "$(command -v kubectl)")")

cleanup() {
	[ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null
	# Pods run on after their agent (re-adoption); any still running this run's files
	# (a pod whose netns went away is out of reach of `ip netns pids`) goes too.
	pkill -9 -f "$T_DIR/" 2>/dev/null
	wait 2>/dev/null
	# Mounts an agent made under this run's folder (pods' volume tmpfs) outlive an agent
	# killed with -9: unmount them (deepest first) so nothing of this run stays mounted.
	local m
	for m in $(awk -v d="$T_DIR/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo 2>/dev/null | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	rm -rf "$T_DIR"
}
trap cleanup EXIT

ok() { echo "ok   $1"; T_PASS=$((T_PASS + 1)); }
fail() { echo "FAIL $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | head -n 80 | sed 's/^/     /'; T_FAIL=$((T_FAIL + 1)); }

# diag_pod POD... (names, or "-l selector"): what a person needs when a pod check fails,
# for fail's second argument: each pod as `kubectl describe` shows it, cut to its status,
# container states, conditions and events, then the tail of every server and agent log
# of this run.
diag_pod() {
	local p f
	while [ $# -gt 0 ]; do
		p=$1; shift
		if [ "$p" = -l ]; then p="-l $1"; shift; fi
		# shellcheck disable=SC2086
		kubectl describe pod $p 2>&1 | grep -E '^(Name|Node|Status|Reason|Message|IP):|^ +(State|Reason|Message|Exit Code|Ready|Restart Count|Last State):|^ +(Ready|ContainersReady) |^Events:|^ +(Normal|Warning) ' | head -n 40
	done
	for f in "$T_DIR"/*.err; do
		[ -s "$f" ] && { echo "--- tail of $(basename "$f")"; tail -n 8 "$f"; }
	done
}

# server_started [OUT [PID]]: waits until a server prints its kubeconfig line to OUT
# ($T_DIR/server.out), for 20 s x T_WAIT_SCALE at most (60 s by default: the ASan build
# makes its PKI at first start, slowly on a busy machine); a server PID that dies ends the
# wait at once.
server_started() {
	local out=${1:-$T_DIR/server.out} pid=${2:-} end=$((SECONDS + 20 * ${T_WAIT_SCALE:-3}))
	while [ $SECONDS -lt $end ]; do
		grep -q '^kubeconfig:' "$out" 2>/dev/null && return 0
		[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && break
		sleep 0.05
	done
	grep -q '^kubeconfig:' "$out" 2>/dev/null
}

# server_env HOST: for the server with its data in $T_DIR/data, once started: sets PORT (from
# $T_DIR/server.out), URL (https://HOST:PORT), KUBECONFIG (exported), TOKEN and CA.
server_env() {
	PORT=$(sed -nE 's/.*:([0-9]+) \(store.*/\1/p' "$T_DIR/server.out" | head -n1)
	URL=https://$1:$PORT
	export KUBECONFIG=$T_DIR/data/kubeconfig
	TOKEN=$(cat "$T_DIR/data/token")
	CA=$T_DIR/data/pki/ca.crt
}

# wait_for SECONDS CMD...: polls CMD (quietly, every 0.2 s) until it succeeds; returns 1
# once SECONDS x T_WAIT_SCALE (default 3) have passed. Bounds are generous on purpose:
# they only matter when something is broken, and the suite must pass on a busy machine
# (make test-stress). A wait is for a condition, never a fixed sleep.
wait_for() {
	local end=$((SECONDS + $1 * ${T_WAIT_SCALE:-3})); shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}

# check_ready NAME SECONDS POD...: passes when every POD (names, or "-l selector") is
# Ready within SECONDS x T_WAIT_SCALE; a failure shows kubectl's answer and diag_pod.
check_ready() {
	local n=$1 s=$2 out; shift 2
	if out=$(kubectl wait --for=condition=Ready pod "$@" --timeout="$((s * ${T_WAIT_SCALE:-3}))s" 2>&1); then
		ok "$n"; return 0
	fi
	fail "$n" "$out
$(kubectl get pods -o wide 2>&1)
$(diag_pod "$@")"
	return 1
}

# check NAME CMD...: passes when CMD exits 0
check() { local n=$1; shift; local out; if out=$("$@" 2>&1); then ok "$n"; else fail "$n" "$out"; fi; }
# expect_out NAME PATTERN CMD...: passes when CMD's combined output matches the extended regex
expect_out() {
	local n=$1 pat=$2; shift 2
	local out; out=$("$@" 2>&1)
	if printf '%s' "$out" | grep -Eq -- "$pat"; then ok "$n"; else fail "$n" "want /$pat/, got: $out"; fi
}
# expect_fail NAME PATTERN CMD...: passes when CMD fails and its output matches
expect_fail() {
	local n=$1 pat=$2; shift 2
	local out rc; out=$("$@" 2>&1); rc=$?
	if [ $rc != 0 ] && printf '%s' "$out" | grep -Eq -- "$pat"; then ok "$n"; else fail "$n" "exit $rc, want /$pat/, got: $out"; fi
}

# start_server [extra flags]: starts the server on a free port with data in $T_DIR/data
start_server() {
	mkdir -p "$T_DIR/data"
	: >"$T_DIR/server.out"
	# Started as a grandchild, so the shell keeps no job for it (no "Killed" noise).
	("$SVCPLANE" server --data-dir "$T_DIR/data" --secure-port 0 \
		--service-cluster-ip-range 198.19.0.0/16 --cluster-cidr 198.18.128.0/17 --disable-agent "$@" \
		>"$T_DIR/server.out" 2>>"$T_DIR/server.err" & echo $! >"$T_DIR/server.pid")
	SERVER_PID=$(cat "$T_DIR/server.pid")
	server_started "$T_DIR/server.out" "$SERVER_PID" && { server_env 127.0.0.1; return 0; }
	echo "server did not start:"; cat "$T_DIR/server.out" "$T_DIR/server.err"
	return 1
}

stop_server() { # stop_server [signal]
	[ -n "$SERVER_PID" ] || return 0
	kill "-${1:-TERM}" "$SERVER_PID" 2>/dev/null
	local end=$((SECONDS + 60))
	while [ $SECONDS -lt $end ]; do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.05; done
	SERVER_PID=
}

# api METHOD PATH [curl args...]: authenticated request, prints body then the HTTP code on the last line
api() {
	local m=$1 p=$2; shift 2
	curl -sS --max-time 10 --cacert "$CA" -H "Authorization: Bearer $TOKEN" -X "$m" -w '\n%{http_code}' "$@" "$URL$p"
}

# need_cluster: a test that builds the namespace cluster skips without root (counted),
# then holds the machine's cluster lock for the rest of its run (see cluster.sh).
need_cluster() {
	if [ "$(id -u)" != 0 ]; then
		echo "skip: needs root (network namespaces); CI runs as root"
		T_SKIP=$((T_SKIP + 1))
		finish
		exit 0
	fi
	exec 9>/run/svcplane-cluster.lock
	local t0=$SECONDS
	flock -w 1800 9 || { fail "got the cluster lock within 30 min"; finish; exit 1; }
	# tests/run.sh takes this wait out of the script's time.
	[ $((SECONDS - t0)) -gt 0 ] && echo "# waited $((SECONDS - t0)) s for the cluster lock"
	return 0
}

# ---- a cluster of nodes in network namespaces (tests/integ/cluster.sh) ----
#
# A test brings its cluster up with these helpers, never by hand: cluster_up (or
# cluster_nodes, then cluster_server), cluster_agent for each further node, cluster_client
# for a client outside the cluster, cluster_spawn for anything else that runs in a node.
# cluster_down, the EXIT trap, takes everything down again; a test with more to stop
# defines cluster_down_hook or lists pids in EXTRA_PIDS.

# cluster_up N [server flags...]: cluster_nodes N, then cluster_server with the flags.
cluster_up() {
	local n=$1
	shift
	cluster_nodes "$n"
	cluster_server "$@"
}

# cluster_nodes N: skips the test without root (CI runs as root); takes the machine-wide
# cluster lock (fd 9 on /run/svcplane-cluster.lock, up to 30 min), so tests of parallel
# suites serialize; brings up N nodes (bridge svcp-br0 198.18.0.1). Sets CL, ROOT and
# CLUSTER_UP (cluster.sh's output). The EXIT trap is cluster_down, and INT, TERM and HUP
# end the test through it. Ends the test on a failure.
cluster_nodes() {
	CL=tests/integ/cluster.sh
	ROOT=$PWD
	need_cluster
	trap cluster_down EXIT
	trap 'exit 1' INT TERM HUP
	$CL down >/dev/null 2>&1
	CLUSTER_UP=$($CL up "$1") || { fail "cluster up"; finish; exit 1; }
}

# cluster_spawn I OUT ERR CMD...: runs CMD in node nI with `nsenter --net` (not `ip netns
# exec`: an agent must share the host's mount namespace, or the pod namespaces it mounts
# under /run/netns would be lost to a restarted agent), as a grandchild so the shell keeps
# no job for it (no "Killed" noise); stdout is appended to OUT, stderr to ERR. Sets
# SPAWNED_PID. cluster.sh down kills whatever is still running in a node.
cluster_spawn() {
	local i=$1 out=$2 err=$3
	shift 3
	SPAWNED_PID=$(nsenter --net=/run/netns/svcp-n"$i" "$@" >>"$out" 2>>"$err" & echo $!)
}

# cluster_server_in I DIR OUT [server flags...]: starts `svcplane server` in node nI
# (bound to 198.18.0.(10+I)) with data in DIR, the test ranges and the flags given (a
# later flag wins); stdout to OUT (emptied first), stderr appended to $T_DIR/server.err,
# where finish looks for sanitizer reports. Sets SPAWNED_PID. Returns 1 when the server
# does not print its kubeconfig line (server_started).
cluster_server_in() {
	local i=$1 dir=$2 out=$3
	shift 3
	mkdir -p "$dir"
	: >"$out"
	cluster_spawn "$i" "$out" "$T_DIR/server.err" "$SVCPLANE" server --data-dir "$dir" \
		--bind-address "198.18.0.$((10 + i))" --service-cluster-ip-range 198.19.0.0/16 \
		--cluster-cidr 198.18.128.0/17 "$@"
	server_started "$out" "$SPAWNED_PID"
}

# cluster_server [server flags...]: starts the server with its embedded agent in n1
# (198.18.0.11, a free port, data in $T_DIR/data) with the test ranges and the flags given
# (a later flag wins). Sets SERVER_PID, PORT, URL, KUBECONFIG, TOKEN, CA. Ends the test on
# a failure.
cluster_server() {
	cluster_server_in 1 "$T_DIR/data" "$T_DIR/server.out" --secure-port 0 \
		--node-name n1 --node-ip 198.18.0.11 "$@"
	local rc=$?
	SERVER_PID=$SPAWNED_PID
	if [ $rc != 0 ]; then
		fail "server with embedded agent starts" "$(cat "$T_DIR/server.out" "$T_DIR/server.err")"
		finish
		exit 1
	fi
	server_env 198.18.0.11
}

# cluster_agent I [agent flags...]: starts `svcplane agent` in node nI (198.18.0.1I) with
# the admin kubeconfig (not when the flags give --server: then they say how to reach and
# trust the API), data in $T_DIR/agentI, logs appended to $T_DIR/agentI.{out,err}; its pid
# goes to AGENT_PIDS[I] (cluster_down kills it).
AGENT_PIDS=()
cluster_agent() {
	local i=$1 auth=(--kubeconfig "${KUBECONFIG:-}")
	shift
	case " $* " in *" --server "*) auth=() ;; esac
	cluster_spawn "$i" "$T_DIR/agent$i.out" "$T_DIR/agent$i.err" "$SVCPLANE" agent "${auth[@]}" \
		--node-name "n$i" --node-ip "198.18.0.$((10 + i))" --data-dir "$T_DIR/agent$i" "$@"
	AGENT_PIDS[$i]=$SPAWNED_PID
}

# nodes_ready N [kubectl flags...]: true when exactly N nodes are Ready.
nodes_ready() {
	local n=$1
	shift
	[ "$(kubectl "$@" get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" = "$n" ]
}

# check_nodes_ready N SECONDS: passes ("N nodes Ready") when N nodes are Ready within
# SECONDS x T_WAIT_SCALE; a failure shows the nodes and the tail of each agent's log.
check_nodes_ready() {
	if wait_for "$2" nodes_ready "$1"; then ok "$1 nodes Ready"; else
		fail "$1 nodes Ready" "$(kubectl get nodes -o wide 2>&1; tail -n 5 "$T_DIR"/agent*.err 2>&1)"
	fi
}

# cluster_netns NS: a namespace of the test's own beside the nodes: deletes one left by an
# earlier run; cluster_down deletes it.
CLUSTER_NETNS=()
cluster_netns() {
	ip netns delete "$1" 2>/dev/null
	CLUSTER_NETNS+=("$1")
}

# cluster_client NS VETH IPV4 [IPV6]: a client outside the cluster (client_ns_up) in
# namespace NS (cluster_netns); cx CMD... runs CMD in it. Ends the test on a failure.
cluster_client() {
	CLIENT_NS=$1
	cluster_netns "$1"
	client_ns_up "$@" || { fail "client namespace up"; finish; exit 1; }
}
cx() { ip netns exec "$CLIENT_NS" "$@"; }

# cluster_down: runs the test's cluster_down_hook (when it defines one), kills the pids in
# EXTRA_PIDS, deletes the cluster_netns namespaces, kills the agents, the server and every
# pod process, deletes the pod namespaces, takes the cluster down and cleans up this run's
# files. The EXIT trap of cluster_nodes.
cluster_down() {
	local p ns
	declare -F cluster_down_hook >/dev/null && cluster_down_hook
	for p in ${EXTRA_PIDS:-}; do kill "$p" 2>/dev/null; done
	for ns in "${CLUSTER_NETNS[@]}"; do ip netns delete "$ns" 2>/dev/null; done
	for p in "${AGENT_PIDS[@]}" $SERVER_PID; do kill -9 "$p" 2>/dev/null; done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^svcp-pod-'); do
		# shellcheck disable=SC2046
		kill -9 $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null
		ip netns delete "$ns" 2>/dev/null
	done
	"$ROOT/$CL" down >/dev/null 2>&1
	cleanup
}

finish() {
	# A sanitizer report or a crash in any server run of this script is a failure.
	if grep -qE 'AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|LeakSanitizer' "$T_DIR/server.err" 2>/dev/null; then
		fail "server ran clean under the sanitizers" "$(grep -E -A15 'Sanitizer|runtime error' "$T_DIR/server.err" | head -40)"
	fi
	echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	[ "$T_FAIL" = 0 ]
}

# --- helpers of the Service proxy tests (test_proxy*.sh) ---

# echo_pod NAME NODE LABELS [readiness file]: a Pod manifest (then "---") pinned to NODE,
# labels "{app: LABELS}", running tests/integ/echo_backend.py NAME (HTTP 8080, UDP 5353,
# answering "NAME <peer>"; BACKEND_PY names another script); with a file, Ready only while
# that file exists.
echo_pod() {
	local probe=""
	[ -n "${4:-}" ] && probe="    readinessProbe: {exec: {command: [cat, $4]}, periodSeconds: 1, failureThreshold: 1}"
	cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: $3}}
spec:
  nodeName: $2
  containers:
  - name: c
    image: python
    command: [python3, ${BACKEND_PY:-$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/echo_backend.py}, $1]
$probe
---
Y
}

# client_ns_up NS VETH IPV4 [IPV6]: a client outside the cluster, its own namespace on
# the cluster bridge (cluster.sh's svcp-br0) with eth0 holding the given /24 and /64.
client_ns_up() {
	ip netns add "$1" &&
		ip link add "$2" type veth peer name eth0 netns "$1" &&
		ip link set "$2" master svcp-br0 up &&
		ip -n "$1" addr add "$3/24" dev eth0 &&
		{ [ -z "${4:-}" ] || ip -n "$1" addr add "$4/64" dev eth0 nodad; } &&
		ip -n "$1" link set eth0 up && ip -n "$1" link set lo up
}

# proxy_tools: puts curl1 (curl -gsS with a 3 s bound, as a program: ip netns exec runs
# programs, not functions) on PATH.
proxy_tools() {
	mkdir -p "$T_DIR/bin"
	printf '#!/bin/sh\nexec curl -gsS --max-time 3 "$@"\n' >"$T_DIR/bin/curl1"
	chmod +x "$T_DIR/bin/curl1"
	export PATH=$T_DIR/bin:$PATH
}

# names N CMD...: runs CMD N times, prints the distinct first words (backend names) seen.
names() { local n=$1 i; shift; for i in $(seq 1 "$n"); do "$@" 2>/dev/null | awk '{print $1}'; done | sort -u | tr '\n' ' '; }
