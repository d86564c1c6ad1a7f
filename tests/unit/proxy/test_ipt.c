/* test_ipt.c - the iptables backend without root: kube-proxy's chain layout for every
 * Service type and policy against tests/golden/proxy/ipt-full.txt (UPDATE_GOLDEN=1
 * rewrites it), chain names as kube-proxy hashes them, and a one-endpoint change that
 * sends only the chains it touched; node-local DNS NOTRACKed in the raw table; and, on
 * a fake kernel (iptables-restore on PATH refusing one Service), that Service never
 * blocks the others. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"
#include "proxy/ipt.h"
#include "proxy_fixture.h"

static struct proxy_netcfg cfg(void)
{
	struct proxy_netcfg c = {0};
	char e[64];
	cidr_parse("198.18.128.0/17", &c.cluster_cidrs[0], e, sizeof(e));
	c.n_cluster_cidrs = 1;
	c.localhost_nodeports = true;
	ip_parse("198.19.0.10", &c.local_dns[0]);
	c.n_local_dns = 1;
	return c;
}

/* Moves the one endpoint of the fixture's np Service to 198.18.129.33. */
static void move_np_endpoint(json_t *f)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(f, "slices"), i, s)
	{
		if (!strcmp(json_string_value(json_object_get(json_object_get(s, "metadata"), "name")),
			    "np-a"))
			json_string_set(
			    json_array_get(json_object_get(json_array_get(json_object_get(s, "endpoints"), 0),
							   "addresses"),
					   0),
			    "198.18.129.33");
	}
}

TEST(proxy_ipt_golden_full)
{
	json_t *f = proxy_fixture();
	struct proxy_model m;
	proxy_model_build(json_object_get(f, "services"), json_object_get(f, "slices"), "n1", &m);
	struct proxy_netcfg c = cfg();
	char *s4 = proxy_ipt_render(NULL, &m, &c, 4), *s6 = proxy_ipt_render(NULL, &m, &c, 6);
	char *both = xasprintf("# IPv4\n%s# IPv6\n%s", s4, s6);
	proxy_golden("ipt-full.txt", both);
	/* kube-proxy's names: prefix, kind, 16 characters of base32(sha256). */
	ASSERT_STR_CONTAINS(s4, ":KUBE-SVC-");
	ASSERT_STR_CONTAINS(s4, "-m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-");
	ASSERT_STR_CONTAINS(s4, "-m recent --name KUBE-SEP-");
	ASSERT_STR_CONTAINS(s4, "--rcheck --seconds 30 --reap");
	ASSERT_STR_CONTAINS(
	    s4, "default/empty:http has no endpoints\" -d 198.19.0.25/32 -p tcp -m tcp --dport 80 -j REJECT");
	ASSERT(strstr(s4, "extname") == NULL);
	/* Node-local DNS: port 53 to its address is not NATed (raw table NOTRACK); IPv4 only. */
	ASSERT_STR_CONTAINS(s4, "*raw\n:KUBE-LOCAL-DNS - [0:0]\n:KUBE-LOCAL-DNS-OUT - [0:0]\n");
	ASSERT_STR_CONTAINS(s4, "-A KUBE-LOCAL-DNS -d 198.19.0.10/32 -p udp -m udp --dport 53 -j NOTRACK\n");
	ASSERT_STR_CONTAINS(s4,
			    "-A KUBE-LOCAL-DNS-OUT -s 198.19.0.10/32 -p tcp -m tcp --sport 53 -j NOTRACK\n");
	ASSERT(strstr(s6, "NOTRACK") == NULL);
	free(both);
	free(s4);
	free(s6);
	proxy_model_fini(&m);
	json_decref(f);
}

TEST(proxy_ipt_change_sends_only_changed_chains)
{
	json_t *f = proxy_fixture();
	struct proxy_netcfg c = cfg();
	struct proxy_ipt *t = proxy_ipt_new(NULL, true);
	struct proxy_model m;
	proxy_model_build(json_object_get(f, "services"), json_object_get(f, "slices"), "n1", &m);
	size_t rules, chains;
	char err[256];
	ASSERT_INT_EQ(proxy_ipt_sync(t, &m, &c, &rules, &chains, err, sizeof(err)), 0);
	ASSERT(rules > 40);
	/* kubeproxy_sync_proxy_rules_iptables_total{ip_family, table}: the same rules by table. */
	size_t by_table = 0;
	for (int fam = 4; fam <= 6; fam += 2)
		by_table += proxy_ipt_rules(t, fam, "nat") + proxy_ipt_rules(t, fam, "filter") +
			    proxy_ipt_rules(t, fam, "raw");
	ASSERT_INT_EQ(by_table, rules);
	ASSERT(proxy_ipt_rules(t, 4, "nat") > 0);
	ASSERT_INT_EQ(proxy_ipt_rules(t, 4, "mangle"), 0);
	proxy_model_fini(&m);
	/* np's one endpoint moves: its SVC chain, a new SEP, the old SEP deleted. */
	move_np_endpoint(f);
	proxy_model_build(json_object_get(f, "services"), json_object_get(f, "slices"), "n1", &m);
	ASSERT_INT_EQ(proxy_ipt_sync(t, &m, &c, &rules, &chains, err, sizeof(err)), 0);
	const char *in = proxy_ipt_last_input(t);
	proxy_golden("ipt-change-endpoint.txt", in);
	ASSERT(strstr(in, "KUBE-SERVICES") == NULL); /* untouched */
	ASSERT_STR_CONTAINS(in, "-X KUBE-SEP-");
	proxy_model_fini(&m);
	proxy_ipt_free(t);
	json_decref(f);
}

/* A fake kernel in dir: iptables-restore and ip6tables-restore that refuse any input
 * holding the text in dir/refuse (as iptables-nft refuses a whole restore that declares
 * a chain whose name a base chain holds: CHAIN_USER_ADD failed, exit 4) and append the
 * inputs they accept to dir/accepted; iptables and ip6tables (the jumps' -C and -I) that succeed. */
static void fake_kernel(const char *dir)
{
	const char *tools[] = {"iptables-restore", "ip6tables-restore", "iptables", "ip6tables"};
	for (int i = 0; i < 4; i++) {
		char *path = xasprintf("%s/%s", dir, tools[i]);
		char *sh =
		    i < 2 ? xasprintf(
				"#!/bin/sh\nin=$(cat)\n"
				"if [ -s %s/refuse ] && printf '%%s' \"$in\" | grep -qF -f %s/refuse; then\n"
				"  echo 'line 4: CHAIN_USER_ADD failed (File exists): fake' >&2; exit 4\nfi\n"
				"printf '%%s\\n' \"$in\" >>%s/accepted\n",
				dir, dir, dir)
			  : xstrdup("#!/bin/sh\nexit 0\n");
		ASSERT_INT_EQ(file_write_atomic(path, sh, strlen(sh), 0755), 0);
		free(sh);
		free(path);
	}
}

static char *slurp(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name), *s = NULL;
	size_t len;
	if (file_read(path, 64 << 20, &s, &len) < 0)
		s = xstrdup("");
	unlink(path);
	free(path);
	return s;
}

TEST(proxy_ipt_refused_service_never_blocks_the_others)
{
	char tmpl[] = "/tmp/svcplane-fakeipt.XXXXXX";
	char *dir = mkdtemp(tmpl);
	ASSERT(dir != NULL);
	fake_kernel(dir);
	json_t *f = proxy_fixture();
	struct proxy_netcfg c = cfg();
	struct proxy_model m;
	proxy_model_build(json_object_get(f, "services"), json_object_get(f, "slices"), "n1", &m);
	/* As when a base chain holds the name of the sticky Service's KUBE-SVC chain: every
	 * input that declares it is refused (to make it, or to delete it). */
	char *full = proxy_ipt_render(NULL, &m, &c, 4);
	const char *at = strstr(full, "--comment \"default/sticky:http cluster IP\"");
	ASSERT(at != NULL);
	at = strstr(at, "-j KUBE-SVC-");
	ASSERT(at != NULL);
	char *squat = xasprintf(":%.*s ", (int)strcspn(at + 3, "\n"), at + 3);
	free(full);
	char *refuse = xasprintf("%s/refuse", dir);
	ASSERT_INT_EQ(file_write_atomic(refuse, squat, strlen(squat), 0644), 0);
	char *old_path = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	char *path = xasprintf("%s:%s", dir, old_path);
	setenv("PATH", path, 1);
	struct proxy_ipt *t = proxy_ipt_new(NULL, false);
	size_t rules, chains;
	char err[512];
	/* The kernel refuses the sticky Service: every other one is programmed all the same. */
	ASSERT_INT_EQ(proxy_ipt_sync(t, &m, &c, &rules, &chains, err, sizeof(err)), -EIO);
	ASSERT_INT_EQ(proxy_ipt_failed(t), 1);
	ASSERT_STR_CONTAINS(err, "1 of ");
	ASSERT_STR_CONTAINS(err, "CHAIN_USER_ADD failed");
	char *acc = slurp(dir, "accepted");
	ASSERT_STR_CONTAINS(acc, "--comment \"default/np:http cluster IP\"");
	ASSERT_STR_CONTAINS(acc, "--comment \"default/web:http cluster IP\"");
	ASSERT_STR_CONTAINS(acc, "-A KUBE-NODEPORTS -m comment --comment \"default/np:http\"");
	ASSERT(strstr(acc, "default/sticky") == NULL);
	free(acc);
	ASSERT(rules > 40);
	proxy_model_fini(&m);

	/* Still refused, a later change of another Service goes through. */
	move_np_endpoint(f);
	proxy_model_build(json_object_get(f, "services"), json_object_get(f, "slices"), "n1", &m);
	ASSERT_INT_EQ(proxy_ipt_sync(t, &m, &c, &rules, &chains, err, sizeof(err)), -EIO);
	ASSERT_INT_EQ(proxy_ipt_failed(t), 1);
	acc = slurp(dir, "accepted");
	ASSERT_STR_CONTAINS(acc, "--to-destination 198.18.129.33:");
	ASSERT(strstr(acc, "default/sticky") == NULL);
	free(acc);

	/* Once the kernel takes it, the next sync programs the sticky Service alone: the
	 * others were programmed already. */
	unlink(refuse);
	ASSERT_INT_EQ(proxy_ipt_sync(t, &m, &c, &rules, &chains, err, sizeof(err)), 0);
	ASSERT_INT_EQ(proxy_ipt_failed(t), 0);
	acc = slurp(dir, "accepted");
	ASSERT_STR_CONTAINS(acc, "--comment \"default/sticky:http cluster IP\"");
	ASSERT_STR_CONTAINS(acc, "--rcheck --seconds 30 --reap");
	ASSERT(strstr(acc, "198.18.129.33") == NULL);
	free(acc);
	ASSERT_INT_EQ(proxy_ipt_sync(t, &m, &c, &rules, &chains, err, sizeof(err)), 0);
	acc = slurp(dir, "accepted");
	ASSERT_STR_EQ(acc, ""); /* nothing changed, nothing sent */
	free(acc);

	proxy_model_fini(&m);
	proxy_ipt_free(t);
	json_decref(f);
	setenv("PATH", old_path, 1);
	const char *tools[] = {"iptables-restore", "ip6tables-restore", "iptables", "ip6tables"};
	for (int k = 0; k < 4; k++) {
		char *p = xasprintf("%s/%s", dir, tools[k]);
		unlink(p);
		free(p);
	}
	rmdir(dir);
	free(path);
	free(old_path);
	free(refuse);
	free(squat);
}
