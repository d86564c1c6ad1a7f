#!/usr/bin/env bash
# Terminals end to end on a two-node cluster: `kubectl exec -it`, `kubectl attach -it` and
# `kubectl run -it --rm`, each under a pty of its own driven by tests/integ/ttydrive.py
# as a person would type (kubectl puts that terminal in raw mode and passes keys through).
# Checked: the remote side is a real terminal (tty), it starts at the client's size and
# follows a resize (stty size), Ctrl-C reaches the foreground command (exit 130; sent once
# the command has printed, so it is in the terminal's foreground group), the
# exit code comes back; with the default kubectl (WebSocket) and 1.29 (SPDY). A
# tty: true container runs on a pty its shim holds (node/runtime.c), so an attach sees
# the same terminal, echo included, and resizes it.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
. tests/integ/lib_twonode.sh
DRIVE=tests/integ/ttydrive.py
P='[#$] '

# pod NAME NODE RESTART CONTAINER: a Pod manifest, then "---".
pod() {
	printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  nodeName: %s\n  restartPolicy: %s\n' "$1" "$2" "$3"
	printf '  terminationGracePeriodSeconds: 1\n  containers:\n  - %s\n---\n' "$4"
}
{
	pod sh-t n2 Always "{name: c, image: none, command: [sleep, '600']}"
	pod tty-1 n2 Never '{name: c, image: none, stdin: true, tty: true, command: [sh]}'
	pod tty-2 n1 Never '{name: c, image: none, stdin: true, tty: true, command: [sh]}'
	pod tty-3 n2 Always "{name: c, image: none, tty: true, command: [sh, -c, 'tty; stty size; exec sleep 600']}"
} >"$T_DIR/pods.yaml"
check "pods applied" kubectl apply -f "$T_DIR/pods.yaml"
check_ready "pods Ready" 30 sh-t tty-1 tty-2 tty-3
logs3() { kubectl logs tty-3 | tr -d '\r' | tr '\n' ' '; }
if wait_for 20 sh -c "kubectl logs tty-3 | grep -q '^24 80'"; then ok "tty: true without stdin: a pty of 80x24, output in the log"; else
	fail "tty: true without stdin: a pty of 80x24, output in the log" "$(logs3 2>&1)"; fi

# drive NAME WANT_RC PATTERN STEPS... -- CMD...: runs CMD under ttydrive; passes when it
# exits WANT_RC and the transcript matches PATTERN (extended regex, on one line).
drive() {
	local n=$1 want=$2 pat=$3 out rc; shift 3
	out=$(timeout 300 python3 "$DRIVE" "$@" 2>&1); rc=$?
	if [ "$rc" = "$want" ] && printf '%s' "$out" | tr '\r\n' '  ' | grep -Eq -- "$pat"; then ok "$n"; else
		fail "$n" "rc=$rc (want $want), transcript:
$out"; fi
}

for v in default 1.29; do
	K=kubectl
	[ "$v" = default ] || K=$KDIR/kubectl.$v
	drive "exec -it ($v): a terminal at the client's size, resized, Ctrl-C, exit code 7" 7 'pts/[0-9]+ .*33 101 .*40 120 .*rc=130' \
		33x101 "expect=$P" 'send=tty\r' 'expect=/dev/pts/' "expect=$P" 'send=stty size\r' 'expect=33 101' \
		'resize=40x120' 'poll=stty size\r' 'expect=40 120' "expect=$P" \
		'send=sh -c "echo fg-$((6*7)); exec sleep 100"\r' 'expect=fg-42' 'send=\x03' "expect=$P" \
		'send=echo rc=$?\r' 'expect=rc=130' 'send=exit 7\r' \
		-- "$K" exec -it sh-t -- sh
done

# attach -it to the tty container of each node: its shim's pty, sized by the client.
drive "attach -it (default, WebSocket): the container's terminal, sized and resized" 0 '33 101 .*50 132 .*hi-42' \
	33x101 'send=\r' "expect=$P" 'send=stty size\r' 'expect=33 101' 'resize=50x132' \
	'poll=stty size\r' 'expect=50 132' 'send=echo hi-$((6*7))\r' 'expect=hi-42' 'send=exit\r' \
	-- kubectl attach -it tty-1
drive "attach -it (1.29, SPDY): the same" 0 '33 101 .*50 132 .*hi-43' \
	33x101 'send=\r' "expect=$P" 'send=stty size\r' 'expect=33 101' 'resize=50x132' \
	'poll=stty size\r' 'expect=50 132' 'send=echo hi-$((6*7+1))\r' 'expect=hi-43' 'send=exit\r' \
	-- "$KDIR/kubectl.1.29" attach -it tty-2
done_pod() { [ "$(kubectl get pod "$1" -o jsonpath='{.status.phase}')" = Succeeded ]; }
if wait_for 20 done_pod tty-1; then ok "... exit in the attached shell ends the container"; else
	fail "... exit in the attached shell ends the container" "$(kubectl get pod tty-1 -o yaml 2>&1 | tail -30)"; fi

# run -it --rm: kubectl makes the pod (stdin, tty), waits for it, attaches, deletes it.
drive "run -it --rm: a shell in a new pod, then the pod goes" 0 'run-2.*pod "r1" deleted' \
	33x101 'send=\r' "expect=$P" 'send=echo run-$((1+1))\r' 'expect=run-2' 'send=exit\r' \
	-- kubectl run r1 -it --rm --restart=Never --image=none -- sh
gone() { ! kubectl get pod r1 >/dev/null 2>&1; }
if wait_for 20 gone; then ok "... r1 deleted"; else fail "... r1 deleted" "$(kubectl get pod r1 2>&1)"; fi

finish
