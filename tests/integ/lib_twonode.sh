# lib_twonode.sh - a two-node cluster for an integration test (sourced after lib.sh):
# the server with its embedded agent in node n1 (198.18.0.11), `svcplane agent` in node n2
# (198.18.0.12), both from lib.sh's cluster_up and cluster_agent (the machine-wide cluster
# lock, a skip without root, cluster_down at exit, which also kills every pid in
# EXTRA_PIDS). Sets what cluster_up sets and AGENT_PID. Also the checks is_out and head_is.
EXTRA_PIDS=
cluster_up 2
cluster_agent 2
AGENT_PID=${AGENT_PIDS[2]}
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

check_nodes_ready 2 20
