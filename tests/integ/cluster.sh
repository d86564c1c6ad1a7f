#!/usr/bin/env bash
# cluster.sh - a test cluster on one machine: N nodes as network namespaces on one bridge.
#
#   tests/integ/cluster.sh up N            build nodes svcp-n1..svcp-nN (1 <= N <= 20)
#   tests/integ/cluster.sh down            remove every node, the bridge, and processes in them
#   tests/integ/cluster.sh exec NODE CMD.. run CMD inside a node (NODE: n2, 2 or svcp-n2)
#   tests/integ/cluster.sh ip NODE [6]     print a node's IPv4 (or IPv6) address
#   tests/integ/cluster.sh status          list the nodes and their addresses
#
# Layout (only the RFC 2544 and documentation ranges, never anything routable):
#
#   root namespace: bridge svcp-br0  198.18.0.1/24  2001:db8::1/64
#     |-- svcp-v1 (veth) ==== eth0 in netns svcp-n1  198.18.0.11/24  2001:db8::11/64
#     |-- svcp-v2 (veth) ==== eth0 in netns svcp-n2  198.18.0.12/24  2001:db8::12/64
#     '-- ...                 eth0 in netns svcp-nI  198.18.0.(10+I)  2001:db8::(10+I)
#
# Each node has lo up, a default route via 198.18.0.1 (and 2001:db8::1), and IPv4/IPv6
# forwarding on, so the pods an agent puts behind it can be routed to (host-gw style,
# pod CIDRs inside 198.18.128.0/17). IPv6 is configured when the kernel has it; `up`
# says which families it set. Node names and addresses are fixed, so one cluster runs
# at a time on a machine; `up` refuses to start over a cluster that is already up
# (unless CLUSTER_FORCE=1, which takes the old one down first).
#
# `down` is idempotent and safe after any failure: it kills every process left inside
# a node namespace (an agent, a server, pods that still share it), deletes the node
# namespaces (which deletes their veths), and the bridge. A test uses it as
#   trap 'tests/integ/cluster.sh down' EXIT
# and `up` itself takes down what it built when a step fails. Every wait is bounded.
# Tests that use the cluster hold an flock on $CLUSTER_LOCK (/run/svcplane-cluster.lock)
# for their whole run, so two of them never share or destroy each other's cluster:
#   exec 9>/run/svcplane-cluster.lock; flock -w 1800 9
set -u
PREFIX=svcp
BR=${PREFIX}-br0
GUARD=${PREFIX}_guard
MAX_NODES=20
# Bounded waits: processes to die, in 0.05 s steps.
KILL_STEPS=100

die() { echo "cluster: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (network namespaces, links)"; }

# node_index NODE: prints I for n3 / 3 / svcp-n3, fails otherwise.
node_index() {
	local n=${1#"$PREFIX"-}
	n=${n#n}
	case $n in '' | *[!0-9]*) return 1 ;; esac
	[ "$n" -ge 1 ] && [ "$n" -le $MAX_NODES ] || return 1
	echo $((10#$n))
}

node_ns() { echo "$PREFIX-n$1"; }
node_ip4() { echo "198.18.0.$((10 + $1))"; }
node_ip6() { echo "2001:db8::$((10 + $1))"; }

have_ipv6() { [ -e /proc/sys/net/ipv6/conf/all/disable_ipv6 ] && [ "$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6)" = 0 ]; }

# The node namespaces that exist now, whoever made them (a half-built cluster too).
list_nodes() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$PREFIX-n[0-9]+\$" | sort -V || true; }

kill_in_ns() { # kill_in_ns NS: SIGKILL every process whose network namespace is NS, bounded wait
	local ns=$1 pids i
	for i in $(seq 1 $KILL_STEPS); do
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		[ -z "${pids// /}" ] && return 0
		# shellcheck disable=SC2086
		kill -9 $pids 2>/dev/null
		sleep 0.05
	done
	echo "cluster: processes still in $ns after $((KILL_STEPS / 20)) s: $pids" >&2
	return 1
}

cmd_down() {
	need_root
	local ns rc=0 l
	for ns in $(list_nodes); do
		kill_in_ns "$ns" || rc=1
		ip netns delete "$ns" 2>/dev/null || { [ -e "/run/netns/$ns" ] && rc=1; }
	done
	# Root-side veth ends normally vanish with their peers; remove any stray one.
	for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^$PREFIX-v[0-9]+\$"); do
		ip link del "$l" 2>/dev/null
	done
	if ip link show "$BR" >/dev/null 2>&1; then
		ip link del "$BR" 2>/dev/null || rc=1
	fi
	nft delete table inet "$GUARD" 2>/dev/null
	[ -z "$(list_nodes)" ] || rc=1
	return $rc
}

# in_node I CMD...: runs CMD in node I's namespace
in_node() { local i=$1; shift; ip netns exec "$(node_ns "$i")" "$@"; }

up_node() { # up_node I V6: builds one node; fails on the first step that fails
	local i=$1 v6=$2 ns veth
	ns=$(node_ns "$i")
	veth=$PREFIX-v$i
	ip netns add "$ns" || return 1
	# The node side is made directly inside the node, so no eth0 ever exists in the root namespace.
	ip link add "$veth" type veth peer name eth0 netns "$ns" || return 1
	ip link set "$veth" master "$BR" up || return 1
	in_node "$i" ip link set lo up || return 1
	in_node "$i" ip addr add "$(node_ip4 "$i")/24" dev eth0 || return 1
	in_node "$i" ip link set eth0 up || return 1
	in_node "$i" ip route add default via 198.18.0.1 dev eth0 || return 1
	in_node "$i" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward' || return 1
	if [ "$v6" = 1 ]; then
		in_node "$i" ip addr add "$(node_ip6 "$i")/64" dev eth0 nodad || return 1
		in_node "$i" ip -6 route add default via 2001:db8::1 dev eth0 || return 1
		in_node "$i" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding' || return 1
	fi
	# Bridged pod traffic passes through the node's netfilter rules (kube-proxy's
	# expectation); the knob exists only where br_netfilter is loaded.
	# shellcheck disable=SC2016 # expanded by the inner shell
	in_node "$i" sh -c 'f=/proc/sys/net/bridge/bridge-nf-call-iptables; [ ! -e $f ] || echo 1 > $f' || return 1
}

# guard_up: nothing from the cluster leaves for an address outside the test ranges, even
# if the host forwards (a node's DNS forwarder would otherwise follow the host's
# resolv.conf): forwarded packets from the bridge to anything but 198.18.0.0/15 and
# 2001:db8::/32 are rejected at once (bridged traffic between nodes is not touched).
guard_up() {
	command -v nft >/dev/null || return 0
	nft -f - <<EOF
table inet $GUARD {
	chain forward {
		type filter hook forward priority -10; policy accept;
		iifname "$BR" oifname != "$BR" ip daddr != 198.18.0.0/15 reject with icmpx admin-prohibited
		iifname "$BR" oifname != "$BR" ip6 daddr != 2001:db8::/32 reject with icmpx admin-prohibited
	}
}
EOF
}

cmd_up() {
	need_root
	local n=${1:-}
	case $n in '' | *[!0-9]*) die "usage: cluster.sh up N (1..$MAX_NODES)" ;; esac
	if [ "$n" -lt 1 ] || [ "$n" -gt $MAX_NODES ]; then die "N must be 1..$MAX_NODES"; fi
	command -v ip >/dev/null || die "ip (iproute2) is not installed"
	if [ -n "$(list_nodes)" ] || ip link show "$BR" >/dev/null 2>&1; then
		[ "${CLUSTER_FORCE:-0}" = 1 ] || die "a cluster is already up (cluster.sh down, or CLUSTER_FORCE=1)"
		cmd_down || die "could not take the old cluster down"
	fi
	local v6=0 i
	have_ipv6 && v6=1
	{
		ip link add "$BR" type bridge &&
			ip addr add 198.18.0.1/24 dev "$BR" &&
			{ [ $v6 = 0 ] || ip addr add 2001:db8::1/64 dev "$BR" nodad; } &&
			ip link set "$BR" up
	} || { cmd_down; die "could not create bridge $BR"; }
	guard_up || { cmd_down; die "could not install the $GUARD table"; }
	for i in $(seq 1 "$n"); do
		up_node "$i" "$v6" || { cmd_down; die "could not build node $(node_ns "$i")"; }
	done
	echo "cluster: $n node(s) up on $BR (IPv4$([ $v6 = 1 ] && echo ' + IPv6'))"
}

cmd_status() {
	local ns
	for ns in $(list_nodes); do
		echo "$ns $(ip -n "$ns" -o addr show dev eth0 2>/dev/null | awk '$3 ~ /inet/ {printf "%s ", $4}')"
	done
}

case ${1:-} in
up) shift; cmd_up "$@" ;;
down) cmd_down ;;
exec)
	[ $# -ge 3 ] || die "usage: cluster.sh exec NODE CMD..."
	i=$(node_index "$2") || die "bad node name: $2"
	shift 2
	[ -e "/run/netns/$(node_ns "$i")" ] || die "node $(node_ns "$i") is not up"
	exec ip netns exec "$(node_ns "$i")" "$@"
	;;
ip)
	[ $# -ge 2 ] || die "usage: cluster.sh ip NODE [4|6]"
	i=$(node_index "$2") || die "bad node name: $2"
	if [ "${3:-4}" = 6 ]; then node_ip6 "$i"; else node_ip4 "$i"; fi
	;;
status) cmd_status ;;
*)
	sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
