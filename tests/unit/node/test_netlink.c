/* test_netlink.c - the node networking layer against the real kernel: named
 * namespaces (checked against iproute2), links, addresses and routes made through our
 * netlink client, read back through its dumps, and proved by pinging across them.
 *
 * Everything is built inside namespaces the test creates (svcpt-<pid>-<role>), never
 * in the caller's namespace, so it cannot disturb the host or a cluster.sh harness
 * running beside it; deleting the namespaces deletes every link in them. The names
 * carry our pid, so a run that crashed is swept by the next one (only namespaces whose
 * pid is dead), and an atexit hook cleans up after a failed assertion. Needs root:
 * skipped (visibly) otherwise; CI runs as root.
 */
#include "harness/t.h"

#include "node/announce.h"
#include "node/netlink.h"
#include "node/netns.h"
#include "node/sysctl.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NS_MAX 4

static char ns_names[NS_MAX][40];
static int ns_fds[NS_MAX] = {-1, -1, -1, -1};
static struct node_nl *ns_nl[NS_MAX];
static int cleanup_registered;

/* Releases what the tests hold and deletes their namespaces; safe to call twice. */
static void cleanup(void)
{
	for (int i = 0; i < NS_MAX; i++) {
		node_nl_free(ns_nl[i]);
		ns_nl[i] = NULL;
		if (ns_fds[i] >= 0)
			close(ns_fds[i]);
		ns_fds[i] = -1;
		if (ns_names[i][0])
			node_netns_delete(ns_names[i], NULL, 0);
		ns_names[i][0] = 0;
	}
}

/* Whether pid is a live process; a zombie that init has not reaped yet is dead. */
static int pid_alive(int pid)
{
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return 0;
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *p = strrchr(buf, ')'); /* the state follows the command name */
	return !(p && p[1] == ' ' && p[2] == 'Z');
}

/* Deletes namespaces left by earlier runs of this test whose process is gone. */
static void sweep_stale(void)
{
	char **names;
	size_t n;
	if (node_netns_list(&names, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		int pid;
		if (sscanf(names[i], "svcpt-%d-", &pid) == 1 && pid > 0 && pid != getpid() && !pid_alive(pid))
			node_netns_delete(names[i], NULL, 0);
	}
	node_netns_list_free(names, n);
}

static void need_root(void)
{
	if (geteuid() != 0)
		t_skip("needs root (network namespaces, links); CI runs as root");
	if (!cleanup_registered) {
		atexit(cleanup);
		cleanup_registered = 1;
		sweep_stale();
	}
	cleanup();
}

/* Creates namespace slot i named svcpt-<pid>-role, opens it and a netlink handle in it. */
static void ns_make(int i, const char *role)
{
	char err[256] = "";
	snprintf(ns_names[i], sizeof ns_names[i], "svcpt-%d-%s", (int)getpid(), role);
	int rc = node_netns_create(ns_names[i], err, sizeof err);
	if (rc != 0)
		t_fail(__FILE__, __LINE__, "create netns %s: %d %s", ns_names[i], rc, err);
	ns_fds[i] = node_netns_open(ns_names[i]);
	ASSERT(ns_fds[i] >= 0);
	rc = node_nl_new(ns_fds[i], &ns_nl[i], err, sizeof err);
	if (rc != 0)
		t_fail(__FILE__, __LINE__, "netlink in %s: %d %s", ns_names[i], rc, err);
}

#define NL_OK(nl, call)                                                                                      \
	do {                                                                                                 \
		int nl_rc = (call);                                                                          \
		if (nl_rc != 0)                                                                              \
			t_fail(__FILE__, __LINE__, "%s: %d %s", #call, nl_rc, node_nl_errmsg(nl));           \
	} while (0)

static struct ip_addr ip(const char *s)
{
	struct ip_addr a;
	if (ip_parse(s, &a) != 0)
		t_fail(__FILE__, __LINE__, "bad test address %s", s);
	return a;
}

static struct node_route route(const char *dst, const char *gw, int oif)
{
	struct node_route r = {0};
	if (cidr_parse(dst, &r.dst, NULL, 0) != 0)
		t_fail(__FILE__, __LINE__, "bad test cidr %s", dst);
	if (gw)
		r.gw = ip(gw);
	r.oif = oif;
	return r;
}

/* Pings addr from inside namespace ns with iproute2 and iputils, up to 3 tries. */
static int ping_from(const char *ns, const char *addr)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "ip netns exec %s ping -n -q -c1 -W1 %s >/dev/null 2>&1", ns, addr);
	for (int i = 0; i < 3; i++)
		if (system(cmd) == 0)
			return 0;
	return -1;
}

static int have_ping(void)
{
	return system("command -v ping >/dev/null 2>&1") == 0;
}

static const struct node_link *find_link(const struct node_link *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static int has_addr(struct node_nl *nl, int ifindex, const char *addr, int prefix)
{
	struct node_addr *v;
	size_t n;
	struct ip_addr want = ip(addr);
	if (node_addr_list(nl, want.family, &v, &n) != 0)
		return -1;
	int found = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].ifindex == ifindex && v[i].prefix == prefix && ip_cmp(&v[i].ip, &want) == 0)
			found = 1;
	free(v);
	return found;
}

/* Whether the main table has dst (and gw when given). */
static int has_route(struct node_nl *nl, const char *dst, const char *gw, int oif, unsigned char *scope)
{
	struct node_route want = route(dst, gw, oif), *v;
	size_t n;
	if (node_route_list(nl, want.dst.net.family, &v, &n) != 0)
		return -1;
	int found = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].dst.bits != want.dst.bits || ip_cmp(&v[i].dst.net, &want.dst.net) != 0)
			continue;
		if (gw && ip_cmp(&v[i].gw, &want.gw) != 0)
			continue;
		if (oif && v[i].oif != oif)
			continue;
		if (scope)
			*scope = v[i].scope;
		found = 1;
	}
	free(v);
	return found;
}

TEST(node_netns_check_name)
{
	ASSERT_INT_EQ(node_netns_check_name("svcp-n1"), 0);
	ASSERT_INT_EQ(node_netns_check_name(""), -EINVAL);
	ASSERT_INT_EQ(node_netns_check_name("."), -EINVAL);
	ASSERT_INT_EQ(node_netns_check_name(".."), -EINVAL);
	ASSERT_INT_EQ(node_netns_check_name("a/b"), -EINVAL);
	ASSERT_INT_EQ(node_netns_check_name("a b"), -EINVAL);
	ASSERT_INT_EQ(node_netns_check_name(NULL), -EINVAL);
	char longname[300];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	ASSERT_INT_EQ(node_netns_check_name(longname), -EINVAL);
	ASSERT_INT_EQ(node_netns_open("../etc"), -EINVAL);
}

/* Runs inside a namespace: reports the inode of the thread's own network namespace. */
static int ns_inode(void *p)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%ld/ns/net", (long)syscall(SYS_gettid));
	struct stat st;
	if (stat(path, &st) != 0)
		return -errno;
	*(ino_t *)p = st.st_ino;
	return 0;
}

TEST(node_netns_lifecycle)
{
	need_root();
	char err[256] = "";
	ns_make(0, "life");
	char name[40];
	snprintf(name, sizeof name, "%s", ns_names[0]);

	/* A second create of the same name fails and leaves the first intact. */
	ASSERT_INT_EQ(node_netns_create(name, err, sizeof err), -EEXIST);
	ASSERT_STR_CONTAINS(err, name);
	ASSERT_INT_EQ(node_netns_create("a/b", err, sizeof err), -EINVAL);

	/* iproute2 sees ours ... */
	char cmd[256];
	snprintf(cmd, sizeof cmd,
		 "ip netns list | grep -qw %s && ip netns exec %s ip link show lo >/dev/null", name, name);
	ASSERT_INT_EQ(system(cmd), 0);
	/* ... and we see iproute2's. */
	snprintf(ns_names[1], sizeof ns_names[1], "svcpt-%d-ipr", (int)getpid());
	snprintf(cmd, sizeof cmd, "ip netns add %s", ns_names[1]);
	ASSERT_INT_EQ(system(cmd), 0);
	char **names;
	size_t n;
	ASSERT_INT_EQ(node_netns_list(&names, &n), 0);
	int seen = 0;
	for (size_t i = 0; i < n; i++)
		seen += strcmp(names[i], name) == 0 || strcmp(names[i], ns_names[1]) == 0;
	node_netns_list_free(names, n);
	ASSERT_INT_EQ(seen, 2);

	/* A function run "inside" sees the namespace's inode, and the caller keeps its own. */
	struct stat st_file, st_self;
	char path[300];
	snprintf(path, sizeof path, "%s/%s", NODE_NETNS_DIR, name);
	ASSERT_INT_EQ(stat(path, &st_file), 0);
	ASSERT_INT_EQ(stat("/proc/thread-self/ns/net", &st_self), 0);
	ino_t inside = 0, outside = 0;
	ASSERT_INT_EQ(node_netns_run(ns_fds[0], ns_inode, &inside), 0);
	ASSERT_INT_EQ(node_netns_run(-1, ns_inode, &outside), 0);
	ASSERT_INT_EQ(inside, st_file.st_ino);
	ASSERT_INT_EQ(outside, st_self.st_ino);
	ASSERT(inside != outside);
	ASSERT_INT_EQ(node_netns_run(-1, ns_inode, &outside), 0);
	ASSERT_INT_EQ(stat("/proc/thread-self/ns/net", &st_file), 0);
	ASSERT_INT_EQ(st_file.st_ino, st_self.st_ino);

	/* Delete: gone for us and for iproute2; a second delete says so. */
	cleanup();
	ASSERT_INT_EQ(node_netns_open(name), -ENOENT);
	ASSERT_INT_EQ(node_netns_delete(name, err, sizeof err), -ENOENT);
	snprintf(cmd, sizeof cmd, "ip netns list | grep -qw %s", name);
	ASSERT(system(cmd) != 0);
}

TEST(node_netlink_errors)
{
	need_root();
	ns_make(0, "err");
	struct node_nl *nl = ns_nl[0];

	ASSERT_INT_EQ(node_link_index(nl, "nosuch0"), -ENODEV);
	ASSERT_STR_CONTAINS(node_nl_errmsg(nl), "nosuch0");
	ASSERT_INT_EQ(node_link_index(nl, "lo"), 1);
	ASSERT_STR_EQ(node_nl_errmsg(nl), "");

	NL_OK(nl, node_link_add_bridge(nl, "br0"));
	ASSERT_INT_EQ(node_link_add_bridge(nl, "br0"), -EEXIST);
	ASSERT_STR_CONTAINS(node_nl_errmsg(nl), "add bridge br0: File exists");
	ASSERT_INT_EQ(node_link_add_bridge(nl, "a-name-far-too-long"), -EINVAL);
	ASSERT_INT_EQ(node_link_add_veth(nl, "v0", "br0", -1), -EEXIST);
	ASSERT_INT_EQ(node_link_set_master(nl, "lo", "nosuch0"), -ENODEV);
	ASSERT_INT_EQ(node_link_set_up(nl, "nosuch0", true), -ENODEV);
	ASSERT_INT_EQ(node_link_del(nl, "nosuch0"), -ENODEV);
	ASSERT_INT_EQ(node_link_set_netns(nl, "br0", -1), -EBADF);

	struct ip_addr a = ip("198.18.140.1");
	ASSERT_INT_EQ(node_addr_add(nl, "br0", &a, 33, 0), -EINVAL);
	ASSERT_INT_EQ(node_addr_add(nl, "nosuch0", &a, 24, 0), -ENODEV);
	ASSERT_INT_EQ(node_addr_del(nl, "br0", &a, 24), -EADDRNOTAVAIL);
	NL_OK(nl, node_addr_add(nl, "br0", &a, 24, 0));
	ASSERT_INT_EQ(node_addr_add(nl, "br0", &a, 24, 0), -EEXIST);
	NL_OK(nl, node_addr_add(nl, "br0", &a, 24, NODE_NL_REPLACE));

	struct node_route r = route("198.18.141.0/24", NULL, 0);
	ASSERT_INT_EQ(node_route_add(nl, &r, 0), -EINVAL); /* neither gw nor oif */
	r.gw = ip("2001:db8::1");
	ASSERT_INT_EQ(node_route_add(nl, &r, 0), -EINVAL); /* family mismatch */
	r.gw = ip("198.18.140.2");
	/* br0 is down, so its subnet is not reachable yet: the kernel refuses the gateway. */
	ASSERT_INT_EQ(node_route_add(nl, &r, 0), -ENETUNREACH);
	ASSERT_STR_CONTAINS(node_nl_errmsg(nl), "198.18.141.0/24 via 198.18.140.2");
	NL_OK(nl, node_link_set_up(nl, "br0", true));
	NL_OK(nl, node_route_add(nl, &r, 0));
	ASSERT_INT_EQ(node_route_add(nl, &r, 0), -EEXIST);
	NL_OK(nl, node_route_add(nl, &r, NODE_NL_REPLACE));
	NL_OK(nl, node_route_del(nl, &r));
	ASSERT_INT_EQ(node_route_del(nl, &r), -ESRCH);
	cleanup();
}

TEST(node_sysctl)
{
	need_root();
	ns_make(0, "sys");
	ns_make(1, "sys2");
	char v[64];
	ASSERT_INT_EQ(node_sysctl_read(ns_fds[0], "net.ipv4.ip_forward", v, sizeof v), 0);
	ASSERT_STR_EQ(v, "0");
	char err[256] = "";
	int rc = node_sysctl_enable_forwarding(ns_fds[0], err, sizeof err);
	if (rc != 0)
		t_fail(__FILE__, __LINE__, "enable forwarding: %d %s", rc, err);
	ASSERT_INT_EQ(node_sysctl_read(ns_fds[0], "net/ipv4/ip_forward", v, sizeof v), 0);
	ASSERT_STR_EQ(v, "1");
	/* Per namespace: another fresh namespace is untouched. */
	ASSERT_INT_EQ(node_sysctl_read(ns_fds[1], "net.ipv4.ip_forward", v, sizeof v), 0);
	ASSERT_STR_EQ(v, "0");
	ASSERT_INT_EQ(node_sysctl_write(ns_fds[1], "net.ipv4.conf.lo.rp_filter", "2"), 0);
	ASSERT_INT_EQ(node_sysctl_read(ns_fds[1], "net.ipv4.conf.lo.rp_filter", v, sizeof v), 0);
	ASSERT_STR_EQ(v, "2");
	ASSERT_INT_EQ(node_sysctl_write(ns_fds[0], "net.no.such.knob", "1"), -ENOENT);
	ASSERT_INT_EQ(node_sysctl_read(-1, "net.no.such.knob", v, sizeof v), -ENOENT);
	ASSERT_INT_EQ(node_sysctl_write(-1, "../../etc/passwd", "x"), -EINVAL);
	ASSERT_INT_EQ(node_sysctl_write(-1, "", "x"), -EINVAL);
	cleanup();
}

/* The topology, all of it made by our code:
 *
 *   netns A                 netns hub                         netns B
 *   eth0 198.18.130.2 --- va ~ br0 198.18.130.1
 *        2001:db8:130::2        2001:db8:130::1
 *                               vb 198.18.131.1 ------------- vbp 198.18.131.2
 *                                  2001:db8:131::1                2001:db8:131::2
 *
 * A's eth0 is created directly in A (veth peer by netns fd); vbp is created in hub and
 * then moved to B. hub forwards; A has default routes via br0, B a route to A's subnet
 * via vb. Pings A -> B prove links, addresses, routes and forwarding at once. */
TEST(node_netlink_topology)
{
	need_root();
	if (!have_ping())
		t_fail(__FILE__, __LINE__, "ping is not installed (iputils-ping, scripts/deps.sh test)");
	ns_make(0, "hub");
	ns_make(1, "a");
	ns_make(2, "b");
	struct node_nl *hub = ns_nl[0], *na = ns_nl[1], *nb = ns_nl[2];
	char err[256] = "";
	int rc = node_sysctl_enable_forwarding(ns_fds[0], err, sizeof err);
	if (rc != 0)
		t_fail(__FILE__, __LINE__, "enable forwarding: %d %s", rc, err);

	/* hub: the bridge and both veths */
	NL_OK(hub, node_link_add_bridge(hub, "br0"));
	NL_OK(hub, node_link_add_veth(hub, "va", "eth0", ns_fds[1]));
	NL_OK(hub, node_link_add_veth(hub, "vb", "vbp", -1));
	NL_OK(hub, node_link_set_netns(hub, "vbp", ns_fds[2]));
	NL_OK(hub, node_link_set_master(hub, "va", "br0"));
	NL_OK(hub, node_link_set_mtu(hub, "va", 1400));
	static const char *const up[] = {"br0", "va", "vb", "lo"};
	for (size_t i = 0; i < sizeof up / sizeof up[0]; i++)
		NL_OK(hub, node_link_set_up(hub, up[i], true));
	struct ip_addr a;
	a = ip("198.18.130.1");
	NL_OK(hub, node_addr_add(hub, "br0", &a, 24, 0));
	a = ip("2001:db8:130::1");
	NL_OK(hub, node_addr_add(hub, "br0", &a, 64, 0));
	a = ip("198.18.131.1");
	NL_OK(hub, node_addr_add(hub, "vb", &a, 24, 0));
	a = ip("2001:db8:131::1");
	NL_OK(hub, node_addr_add(hub, "vb", &a, 64, 0));

	/* A */
	NL_OK(na, node_link_set_up(na, "lo", true));
	NL_OK(na, node_link_set_up(na, "eth0", true));
	a = ip("198.18.130.2");
	NL_OK(na, node_addr_add(na, "eth0", &a, 24, 0));
	a = ip("2001:db8:130::2");
	NL_OK(na, node_addr_add(na, "eth0", &a, 64, 0));
	int a_eth0 = node_link_index(na, "eth0");
	ASSERT(a_eth0 > 0);
	struct node_route r4 = route("0.0.0.0/0", "198.18.130.1", 0);
	NL_OK(na, node_route_add(na, &r4, 0));
	struct node_route r6 = route("::/0", "2001:db8:130::1", a_eth0);
	NL_OK(na, node_route_add(na, &r6, 0));

	/* B */
	NL_OK(nb, node_link_set_up(nb, "lo", true));
	NL_OK(nb, node_link_set_up(nb, "vbp", true));
	a = ip("198.18.131.2");
	NL_OK(nb, node_addr_add(nb, "vbp", &a, 24, 0));
	a = ip("2001:db8:131::2");
	NL_OK(nb, node_addr_add(nb, "vbp", &a, 64, 0));
	int b_vbp = node_link_index(nb, "vbp");
	ASSERT(b_vbp > 0);
	struct node_route rb4 = route("198.18.130.0/24", "198.18.131.1", b_vbp);
	NL_OK(nb, node_route_add(nb, &rb4, 0));
	struct node_route rb6 = route("2001:db8:130::/64", "2001:db8:131::1", 0);
	NL_OK(nb, node_route_add(nb, &rb6, 0));

	/* hub: an on-link route on a device, no gateway (scope link). */
	int hub_vb = node_link_index(hub, "vb");
	ASSERT(hub_vb > 0);
	struct node_route rdev = route("198.18.132.0/24", NULL, hub_vb);
	NL_OK(hub, node_route_add(hub, &rdev, 0));

	/* Read back through the dumps. */
	struct node_link *links;
	size_t nlinks;
	NL_OK(hub, node_link_list(hub, &links, &nlinks));
	const struct node_link *br = find_link(links, nlinks, "br0"), *va = find_link(links, nlinks, "va");
	ASSERT(br && va && find_link(links, nlinks, "vb") && !find_link(links, nlinks, "vbp"));
	ASSERT_STR_EQ(br->kind, "bridge");
	ASSERT_STR_EQ(va->kind, "veth");
	ASSERT_INT_EQ(va->master, br->index);
	ASSERT_INT_EQ(va->mtu, 1400);
	ASSERT(br->flags & IFF_UP);
	ASSERT(va->mac[0] || va->mac[1] || va->mac[5]);
	free(links);
	struct node_link l;
	NL_OK(na, node_link_get(na, "eth0", &l));
	ASSERT_STR_EQ(l.kind, "veth");
	ASSERT_INT_EQ(l.index, a_eth0);
	ASSERT(l.flags & IFF_UP);
	ASSERT_INT_EQ(has_addr(na, a_eth0, "198.18.130.2", 24), 1);
	ASSERT_INT_EQ(has_addr(na, a_eth0, "2001:db8:130::2", 64), 1);
	ASSERT_INT_EQ(has_addr(nb, b_vbp, "198.18.131.2", 24), 1);
	ASSERT_INT_EQ(has_route(na, "0.0.0.0/0", "198.18.130.1", a_eth0, NULL), 1);
	ASSERT_INT_EQ(has_route(na, "::/0", "2001:db8:130::1", a_eth0, NULL), 1);
	ASSERT_INT_EQ(has_route(nb, "198.18.130.0/24", "198.18.131.1", b_vbp, NULL), 1);
	unsigned char scope = 0;
	ASSERT_INT_EQ(has_route(hub, "198.18.132.0/24", NULL, hub_vb, &scope), 1);
	ASSERT_INT_EQ(scope, RT_SCOPE_LINK);
	/* iproute2 reads the same state. */
	char cmd[256];
	snprintf(cmd, sizeof cmd, "ip -n %s route show 198.18.130.0/24 | grep -q 'via 198.18.131.1 dev vbp'",
		 ns_names[2]);
	ASSERT_INT_EQ(system(cmd), 0);

	/* Traffic: on-link, then routed through hub, both ways, IPv4 and IPv6. */
	ASSERT_INT_EQ(ping_from(ns_names[1], "198.18.130.1"), 0);
	ASSERT_INT_EQ(ping_from(ns_names[1], "198.18.131.2"), 0);
	ASSERT_INT_EQ(ping_from(ns_names[2], "198.18.130.2"), 0);
	ASSERT_INT_EQ(ping_from(ns_names[1], "2001:db8:130::1"), 0);
	ASSERT_INT_EQ(ping_from(ns_names[1], "2001:db8:131::2"), 0);

	/* Take it apart again: without B's route, A's pings to B get no answer. */
	NL_OK(nb, node_route_del(nb, &rb4));
	ASSERT_INT_EQ(has_route(nb, "198.18.130.0/24", NULL, 0, NULL), 0);
	snprintf(cmd, sizeof cmd, "ip netns exec %s ping -n -q -c1 -W1 198.18.131.2 >/dev/null 2>&1",
		 ns_names[1]);
	ASSERT(system(cmd) != 0);
	NL_OK(hub, node_route_del(hub, &rdev));
	a = ip("198.18.130.2");
	NL_OK(na, node_addr_del(na, "eth0", &a, 24));
	ASSERT_INT_EQ(has_addr(na, a_eth0, "198.18.130.2", 24), 0);
	NL_OK(hub, node_link_set_master(hub, "va", NULL));
	NL_OK(hub, node_link_get(hub, "va", &l));
	ASSERT_INT_EQ(l.master, 0);
	NL_OK(hub, node_link_set_up(hub, "va", false));
	NL_OK(hub, node_link_get(hub, "va", &l));
	ASSERT(!(l.flags & IFF_UP));
	/* Deleting one end of a veth deletes its peer in the other namespace. */
	NL_OK(hub, node_link_del(hub, "va"));
	ASSERT_INT_EQ(node_link_index(na, "eth0"), -ENODEV);
	NL_OK(hub, node_link_del(hub, "br0"));
	ASSERT_INT_EQ(node_link_index(hub, "br0"), -ENODEV);

	cleanup();
	for (int i = 0; i < 3; i++) {
		char name[64];
		snprintf(name, sizeof name, "svcpt-%d-%s", (int)getpid(),
			 i == 0	  ? "hub"
			 : i == 1 ? "a"
				  : "b");
		ASSERT_INT_EQ(node_netns_open(name), -ENOENT);
	}
}

TEST(node_announce_packets)
{
	const unsigned char mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	struct ip_addr a4 = ip("198.18.201.3"), a6 = ip("2001:db8:201::3");
	unsigned char arp[28], na[32];
	node_announce_garp(arp, mac, &a4);
	static const unsigned char want_arp[28] = {0,	 1,    8,    0,	   6,	4,  0,	 1, 0x02, 0x11,
						   0x22, 0x33, 0x44, 0x55, 198, 18, 201, 3, 0,	  0,
						   0,	 0,    0,    0,	   198, 18, 201, 3};
	ASSERT(memcmp(arp, want_arp, 28) == 0);
	node_announce_na(na, mac, &a6);
	ASSERT_INT_EQ(na[0], 136);  /* Neighbor Advertisement */
	ASSERT_INT_EQ(na[4], 0x20); /* Override, not Solicited, not Router */
	ASSERT(memcmp(na + 8, a6.b, 16) == 0);
	ASSERT_INT_EQ(na[24], 2); /* target link-layer address option, 8 bytes */
	ASSERT_INT_EQ(na[25], 1);
	ASSERT(memcmp(na + 26, mac, 6) == 0);
	ASSERT_INT_EQ(node_announce(-1, "eth0", &a6, NULL), -EINVAL); /* families checked */
}

/* The neighbour entry `ip -n ns neigh show ip dev dev` prints, "" when none. */
static void neigh_show(const char *ns, const char *addr, const char *dev, char *out, size_t len)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "ip -n %s neigh show %s dev %s 2>/dev/null", ns, addr, dev);
	FILE *f = popen(cmd, "r");
	size_t n = f ? fread(out, 1, len - 1, f) : 0;
	out[n] = 0;
	if (f)
		pclose(f);
}

static void mac_of(const char *ns, const char *dev, char *out, size_t len)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "ip netns exec %s cat /sys/class/net/%s/address 2>/dev/null", ns, dev);
	FILE *f = popen(cmd, "r");
	size_t n = f ? fread(out, 1, len - 1, f) : 0;
	out[n] = 0;
	if (n && out[n - 1] == '\n')
		out[n - 1] = 0;
	if (f)
		pclose(f);
}

/* Issue 9: a pod IP handed to a new pod (new MAC) is reachable at once. A node with a
 * bridge, pod A and pod B; A and the node talk to B, then B is replaced by a pod with B's
 * IP and a new MAC. node_neigh_del clears the node's entry; node_announce (gratuitous
 * ARP + unsolicited NA) rewrites A's. */
TEST(node_neigh_del_and_announce)
{
	need_root();
	if (!have_ping())
		t_skip("ping (iputils-ping) not installed");
	ns_make(0, "nbnode");
	ns_make(1, "nba");
	ns_make(2, "nbb");
	struct node_nl *node = ns_nl[0];
	NL_OK(node, node_link_add_bridge(node, "br0"));
	/* A fixed bridge MAC: a bridge that takes its ports' lowest MAC changes it when that
	 * port goes, and the kernel then flushes the bridge's neighbours by itself, which
	 * would hide what this test is about. */
	const unsigned char br_mac[6] = {0x02, 0, 0, 0, 0xc9, 0x01};
	NL_OK(node, node_link_set_mac(node, "br0", br_mac));
	char seen_br[64];
	mac_of(ns_names[0], "br0", seen_br, sizeof seen_br);
	ASSERT_STR_EQ(seen_br, "02:00:00:00:c9:01");
	struct ip_addr gw = ip("198.18.201.1"), gw6 = ip("2001:db8:201::1");
	NL_OK(node, node_addr_add(node, "br0", &gw, 24, 0));
	NL_OK(node, node_addr_add(node, "br0", &gw6, 64, 0));
	NL_OK(node, node_link_set_up(node, "br0", true));
	const char *pod_ip[] = {NULL, "198.18.201.2", "198.18.201.3"};
	const char *pod_ip6[] = {NULL, "2001:db8:201::2", "2001:db8:201::3"};
	const char *veth[] = {NULL, "vnba", "vnbb"};
	for (int i = 1; i <= 2; i++) {
		NL_OK(node, node_link_add_veth(node, veth[i], "eth0", ns_fds[i]));
		NL_OK(node, node_link_set_master(node, veth[i], "br0"));
		NL_OK(node, node_link_set_up(node, veth[i], true));
		struct ip_addr a = ip(pod_ip[i]), a6 = ip(pod_ip6[i]);
		NL_OK(ns_nl[i], node_addr_add(ns_nl[i], "eth0", &a, 24, 0));
		NL_OK(ns_nl[i], node_addr_add(ns_nl[i], "eth0", &a6, 64, 0));
		NL_OK(ns_nl[i], node_link_set_up(ns_nl[i], "eth0", true));
	}
	ASSERT(ping_from(ns_names[1], pod_ip[2]) == 0);
	ASSERT(ping_from(ns_names[1], pod_ip6[2]) == 0);
	ASSERT(ping_from(ns_names[0], pod_ip[2]) == 0);
	ASSERT(ping_from(ns_names[0], pod_ip6[2]) == 0);
	char old_mac[64], new_mac[64], seen[512];
	mac_of(ns_names[2], "eth0", old_mac, sizeof old_mac);
	neigh_show(ns_names[1], pod_ip[2], "eth0", seen, sizeof seen);
	ASSERT_STR_CONTAINS(seen, old_mac);

	/* B goes away; a new pod gets B's addresses and a new MAC. */
	NL_OK(node, node_link_del(node, "vnbb"));
	NL_OK(node, node_link_add_veth(node, "vnbb", "eth0", ns_fds[2]));
	NL_OK(node, node_link_set_master(node, "vnbb", "br0"));
	NL_OK(node, node_link_set_up(node, "vnbb", true));
	struct ip_addr b = ip(pod_ip[2]), b6 = ip(pod_ip6[2]);
	NL_OK(ns_nl[2], node_addr_add(ns_nl[2], "eth0", &b, 24, 0));
	NL_OK(ns_nl[2], node_addr_add(ns_nl[2], "eth0", &b6, 64, 0));
	NL_OK(ns_nl[2], node_link_set_up(ns_nl[2], "eth0", true));
	mac_of(ns_names[2], "eth0", new_mac, sizeof new_mac);
	ASSERT(strcmp(old_mac, new_mac) != 0);

	/* The node forgets the old MAC: both families, and a second delete says ENOENT. */
	NL_OK(node, node_neigh_del(node, "br0", &b));
	NL_OK(node, node_neigh_del(node, "br0", &b6));
	ASSERT_INT_EQ(node_neigh_del(node, "br0", &b), -ENOENT);
	ASSERT_STR_CONTAINS(node_nl_errmsg(node), "delete neighbour 198.18.201.3 dev br0");
	ASSERT_INT_EQ(node_neigh_del(node, "no-such-dev", &b), -ENODEV);
	neigh_show(ns_names[0], pod_ip[2], "br0", seen, sizeof seen);
	ASSERT_STR_EQ(seen, "");

	/* Pod A still has the old MAC until the new pod announces itself. The first
	 * announcement may go out before the veth's carrier reached the bridge (dropped),
	 * which is why the agent repeats it: so does this bounded loop. */
	bool v4 = false, v6 = false;
	for (int i = 0; i < 50 && !(v4 && v6); i++) {
		int rc = node_announce(ns_fds[2], "eth0", &b, &b6);
		ASSERT(rc == 0 || rc == -ENETDOWN || rc == -ENXIO);
		struct timespec ts = {0, 100 * 1000000};
		nanosleep(&ts, NULL);
		neigh_show(ns_names[1], pod_ip[2], "eth0", seen, sizeof seen);
		v4 = strstr(seen, new_mac) != NULL;
		neigh_show(ns_names[1], pod_ip6[2], "eth0", seen, sizeof seen);
		v6 = strstr(seen, new_mac) != NULL;
	}
	ASSERT(v4);
	ASSERT(v6);
	ASSERT(ping_from(ns_names[1], pod_ip[2]) == 0);
	ASSERT(ping_from(ns_names[0], pod_ip[2]) == 0);
	cleanup();
}
