# lib_twonode.sh - a two-node cluster for an integration test (sourced after lib.sh):
# the server with its embedded agent in node n1 (198.18.0.11), `svcplane agent` in node n2
# (198.18.0.12), both from tests/integ/cluster.sh, under the machine-wide cluster lock.
# Sets KUBECONFIG, TOKEN, CA, URL, SERVER_PID, AGENT_PID; the EXIT trap kills them, the
# pods' processes and every pid in EXTRA_PIDS, deletes the pod namespaces and takes the
# cluster down. Without root the test is skipped. Also the checks is_out and head_is.
CL=tests/integ/cluster.sh
ROOT=$PWD

if [ "$(id -u)" != 0 ]; then
	echo "skip: needs root (network namespaces); CI runs as root"
	T_SKIP=$((T_SKIP + 1))
	finish
	exit 0
fi
exec 9>/run/svcplane-cluster.lock
flock -w 1800 9 || { fail "got the cluster lock within 30 min"; finish; exit 1; }

AGENT_PID=
EXTRA_PIDS=
teardown() {
	local ns
	for p in $EXTRA_PIDS; do kill "$p" 2>/dev/null; done
	for p in $AGENT_PID $SERVER_PID; do kill -9 "$p" 2>/dev/null; done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^svcp-pod-'); do
		# shellcheck disable=SC2046
		kill -9 $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null
		ip netns delete "$ns" 2>/dev/null
	done
	"$ROOT/$CL" down >/dev/null 2>&1
	cleanup
}
trap teardown EXIT
trap 'exit 1' INT TERM HUP
$CL down >/dev/null 2>&1
$CL up 2 >/dev/null || { fail "cluster up"; finish; exit 1; }

mkdir -p "$T_DIR/data"
(nsenter --net=/run/netns/svcp-n1 "$SVCPLANE" server --data-dir "$T_DIR/data" --secure-port 0 --bind-address 198.18.0.11 \
	--service-cluster-ip-range 198.19.0.0/16 --cluster-cidr 198.18.128.0/17 \
	--node-name n1 --node-ip 198.18.0.11 \
	>"$T_DIR/server.out" 2>>"$T_DIR/server.err" & echo $! >"$T_DIR/server.pid")
SERVER_PID=$(cat "$T_DIR/server.pid")
server_started
if ! grep -q '^kubeconfig:' "$T_DIR/server.out"; then
	fail "server with embedded agent starts" "$(cat "$T_DIR/server.out" "$T_DIR/server.err")"
	finish; exit 1
fi
export KUBECONFIG=$T_DIR/data/kubeconfig
TOKEN=$(cat "$T_DIR/data/token")
CA=$T_DIR/data/pki/ca.crt
URL=$(sed -nE 's/.*ready in .*: (https:\/\/[^ ]+) \(store.*/\1/p' "$T_DIR/server.out" | head -n1)
(nsenter --net=/run/netns/svcp-n2 "$SVCPLANE" agent --kubeconfig "$KUBECONFIG" --node-name n2 --node-ip 198.18.0.12 \
	--data-dir "$T_DIR/agent2" >>"$T_DIR/agent2.out" 2>>"$T_DIR/agent2.err" & echo $! >"$T_DIR/agent2.pid")
AGENT_PID=$(cat "$T_DIR/agent2.pid")
CTL() { "$SVCPLANE" ctl "$@"; }
# is_out NAME WANT CMD...: passes when CMD's stdout is WANT (trailing newlines aside)
is_out() {
	local n=$1 want=$2; shift 2
	local out; out=$("$@" 2>"$T_DIR/stderr")
	if [ "$out" = "$want" ]; then ok "$n"; else fail "$n" "want: $want
got: $out
stderr: $(head -c 500 "$T_DIR/stderr")"; fi
}
# head_is NAME WANT CMD...: passes when CMD's stdout starts with the lines of WANT
head_is() {
	local n=$1 want=$2; shift 2
	local lines; lines=$(printf '%s\n' "$want" | wc -l)
	local out; out=$("$@" 2>"$T_DIR/stderr" | head -n "$lines")
	if [ "$out" = "$want" ]; then ok "$n"; else fail "$n" "want: $want
got: $out
stderr: $(head -c 500 "$T_DIR/stderr")"; fi
}
# apiflat METHOD PATH: the API's answer on one line, the HTTP code at its end
apiflat() { api "$@" | tr -d '\n'; }

ready_nodes() { [ "$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" = 2 ]; }
if wait_for 20 ready_nodes; then ok "2 nodes Ready"; else
	fail "2 nodes Ready" "$(kubectl get nodes -o wide 2>&1; tail -5 "$T_DIR"/agent2.err)"; fi
