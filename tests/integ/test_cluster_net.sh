#!/usr/bin/env bash
# The one-machine cluster harness (tests/integ/cluster.sh) and the node netlink code on
# it, without svcplane: three nodes come up, reach each other and the bridge over IPv4
# (and IPv6 where the kernel has it); a tiny program built from src/node/ reads the
# state iproute2 made, adds a host-gw route to another node's pod range and an address
# there, and the route carries traffic; then `down` removes everything, even a node
# left half-built with a process inside, and a second `down` is harmless.
cd "$(dirname "$0")/../.." || exit 1
. tests/integ/lib.sh
CL=tests/integ/cluster.sh
ROOT=$PWD

# One cluster per machine at a time: hold the harness lock for the whole run.
need_cluster
trap '"$ROOT/$CL" down >/dev/null 2>&1; cleanup' EXIT
trap 'exit 1' INT TERM HUP

# Whatever a crashed earlier run left behind goes first (we hold the lock).
$CL down >/dev/null 2>&1

# The checker: our netlink client, run against the cluster's namespaces.
cat >"$T_DIR/nlcheck.c" <<'EOF'
#include "node/netlink.h"
#include "node/netns.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* nlcheck NETNS show | addr-add DEV IP/LEN | route-add DST GW | route-del DST GW */
int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int fd = node_netns_open(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "open netns %s: %s\n", argv[1], strerror(-fd));
		return 1;
	}
	char err[256];
	struct node_nl *nl;
	if (node_nl_new(fd, &nl, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	int rc = 0;
	if (strcmp(argv[2], "show") == 0) {
		struct node_link *l;
		struct node_addr *a;
		size_t nl_, na;
		rc = node_link_list(nl, &l, &nl_);
		if (rc == 0)
			rc = node_addr_list(nl, 0, &a, &na);
		if (rc == 0) {
			for (size_t i = 0; i < nl_; i++) {
				printf("link %s kind=%s %s\n", l[i].name, l[i].kind[0] ? l[i].kind : "-",
				       (l[i].flags & IFF_UP) ? "up" : "down");
				for (size_t j = 0; j < na; j++) {
					char s[IP_STRLEN];
					if (a[j].ifindex == l[i].index)
						printf("addr %s %s/%d\n", l[i].name, ip_format(&a[j].ip, s, sizeof s),
						       a[j].prefix);
				}
			}
			free(l);
			free(a);
		}
	} else if (strcmp(argv[2], "addr-add") == 0 && argc == 5) {
		struct ip_addr ip;
		char *slash = strchr(argv[4], '/');
		if (!slash)
			return 2;
		*slash = 0;
		if (ip_parse(argv[4], &ip) != 0)
			return 2;
		rc = node_addr_add(nl, argv[3], &ip, atoi(slash + 1), 0);
	} else if ((strcmp(argv[2], "route-add") == 0 || strcmp(argv[2], "route-del") == 0) && argc == 5) {
		struct node_route r = {0};
		if (cidr_parse(argv[3], &r.dst, err, sizeof err) != 0 || ip_parse(argv[4], &r.gw) != 0)
			return 2;
		rc = argv[2][6] == 'a' ? node_route_add(nl, &r, 0) : node_route_del(nl, &r);
	} else {
		rc = -22;
	}
	if (rc != 0)
		fprintf(stderr, "%s\n", node_nl_errmsg(nl));
	node_nl_free(nl);
	close(fd);
	return rc ? 1 : 0;
}
EOF
NL=$T_DIR/nlcheck
check "build the netlink checker from src/node" \
	${CC:-cc} -std=gnu17 -D_GNU_SOURCE -Wall -Werror -Isrc -o "$NL" "$T_DIR/nlcheck.c" \
	src/node/netlink.c src/node/netns.c src/node/sysctl.c src/base/cidr.c src/base/mem.c -lmnl -pthread

expect_out "cluster up 3" 'cluster: 3 node\(s\) up' $CL up 3
expect_fail "a second up is refused while one is up" 'already up' $CL up 2
expect_out "three nodes listed" 'svcp-n1 198\.18\.0\.11/24.*svcp-n2 198\.18\.0\.12/24.*svcp-n3 198\.18\.0\.13/24' \
	sh -c "$CL status | tr '\n' ' '"
expect_out "ip helper" '^198\.18\.0\.12$' $CL ip n2
check "ip_forward on inside a node" sh -c "[ \"\$($CL exec n2 cat /proc/sys/net/ipv4/ip_forward)\" = 1 ]"
check "loopback up inside a node" $CL exec svcp-n3 ping -n -q -c1 -W1 127.0.0.1

# pingq NAME NODE ADDR: passes when NODE pings ADDR (bounded: 3 tries of 1 s)
pingq() {
	local n=$1 node=$2 addr=$3 try
	for try in 1 2 3; do
		[ "$try" -gt 1 ] && sleep 0.1
		$CL exec "$node" ping -n -q -c1 -W1 "$addr" >/dev/null 2>&1 && { ok "$n"; return 0; }
	done
	fail "$n" "$($CL exec "$node" ping -n -c1 -W1 "$addr" 2>&1)"
}
for p in "1 2" "1 3" "2 3" "3 1"; do
	set -- $p
	pingq "IPv4 n$1 -> n$2" "n$1" "198.18.0.$((10 + $2))"
done
pingq "IPv4 n2 -> bridge in the root namespace" n2 198.18.0.1
if [ "$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null)" = 0 ]; then
	for p in "1 2" "2 3" "3 1"; do
		set -- $p
		pingq "IPv6 n$1 -> n$2" "n$1" "2001:db8::$((10 + $2))"
	done
else
	echo "skip IPv6 between nodes: IPv6 is disabled on this host"
	T_SKIP=$((T_SKIP + 1))
fi

# Our dumps read what iproute2 built.
expect_out "netlink dump sees the node's eth0 and address" 'link eth0 kind=veth up addr eth0 198\.18\.0\.11/24' \
	sh -c "$NL svcp-n1 show | tr '\n' ' '"
# host-gw: n2 owns 198.18.129.0/24 (an address of it on lo); n1 routes it via n2's node IP.
check "address on n2 through netlink" "$NL" svcp-n2 addr-add lo 198.18.129.1/32
check "route to n2's pod range through netlink" "$NL" svcp-n1 route-add 198.18.129.0/24 198.18.0.12
expect_out "iproute2 sees the route" 'via 198\.18\.0\.12 dev eth0' ip -n svcp-n1 route show 198.18.129.0/24
pingq "traffic follows the host-gw route" n1 198.18.129.1
expect_fail "a duplicate route is refused with a reason" 'add route 198\.18\.129\.0/24 via 198\.18\.0\.12: File exists' \
	"$NL" svcp-n1 route-add 198.18.129.0/24 198.18.0.12
if [ "$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null)" = 0 ]; then
	check "IPv6 address on n2 through netlink" "$NL" svcp-n2 addr-add lo 2001:db8:129::1/128
	check "IPv6 route to n2's pod range through netlink" "$NL" svcp-n1 route-add 2001:db8:129::/64 2001:db8::12
	pingq "IPv6 traffic follows the host-gw route" n1 2001:db8:129::1
fi
check "route removed through netlink" "$NL" svcp-n1 route-del 198.18.129.0/24 198.18.0.12
check "without the route the pod range is unreachable" \
	sh -c "! $CL exec n1 ping -n -q -c1 -W1 198.18.129.1 >/dev/null 2>&1"

# down: removes everything, including a process left in a node and a half-built node.
# Started as grandchildren, so the shell keeps no job for them (no "Killed" noise).
($CL exec n2 sleep 600 >/dev/null 2>&1 & echo $! >"$T_DIR/left1")
ip netns add svcp-n7
(ip netns exec svcp-n7 sleep 600 >/dev/null 2>&1 & echo $! >"$T_DIR/left2")
left1=$(cat "$T_DIR/left1") left2=$(cat "$T_DIR/left2")
# Both are inside their namespaces before `down` runs.
has_pids() { [ -n "$(ip netns pids "$1" 2>/dev/null)" ]; }
wait_for 10 has_pids svcp-n2 && wait_for 10 has_pids svcp-n7 || fail "left-behind processes started" "$(ip netns pids svcp-n2; ip netns pids svcp-n7)"
check "cluster down" $CL down
check "no node namespace left" sh -c "! ip netns list | grep -E '^svcp-n[0-9]+'"
check "no bridge or veth left" sh -c "! ip -o link show | grep -E ': svcp-(br0|v[0-9]+)[@:]'"
# gone PID: the process has exited (a zombie waiting for init to reap it counts), bounded 2 s
gone() {
	local _
	for _ in $(seq 1 40); do
		[ -e "/proc/$1" ] || return 0
		grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
gone_both() { gone "$left1" && gone "$left2"; }
check "no process left in a node" gone_both
check "down again is harmless" $CL down
finish
