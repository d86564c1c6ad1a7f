/* masq.c - the masquerade table, applied with libnftables as one atomic batch. */
#include "node/masq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "proxy/nft.h"

#define TABLE "svcplane_masq"

/* The old IPv4-only table goes in the same transaction. */
#define DROP_OLD "add table ip " TABLE "\ndelete table ip " TABLE "\n"

static void set_of(struct buf *b, const char *name, int fam, const struct cidr *all, size_t n)
{
	char c[CIDR_STRLEN];
	size_t k = 0;
	buf_printf(b, "  set %s {\n    type %s\n    flags interval\n", name,
		   fam == 4 ? "ipv4_addr" : "ipv6_addr");
	for (size_t i = 0; i < n; i++)
		if (all[i].net.family == fam)
			buf_printf(b, "%s%s", k++ ? ", " : "    elements = { ",
				   cidr_format(&all[i], c, sizeof(c)));
	if (k)
		buf_puts(b, " }\n");
	buf_puts(b, "  }\n");
}

char *node_masq_script(const struct cidr *own, size_t nown, const struct cidr *all, size_t n)
{
	struct buf b;
	buf_init(&b);
	char c[CIDR_STRLEN];
	/* add-then-delete makes the delete succeed whether or not the table exists, and the
	 * whole buffer is one transaction: no moment without the rule. */
	buf_printf(&b, DROP_OLD "add table inet " TABLE "\ndelete table inet " TABLE "\ntable inet " TABLE
				" {\n");
	set_of(&b, "podcidrs", 4, all, n);
	set_of(&b, "podcidrs6", 6, all, n);
	buf_puts(&b,
		 "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
	for (size_t i = 0; i < nown; i++) {
		if (own[i].net.family == 4)
			buf_printf(&b, "    ip saddr %s ip daddr != @podcidrs masquerade\n",
				   cidr_format(&own[i], c, sizeof(c)));
		else
			buf_printf(&b, "    ip6 saddr %s ip6 daddr != @podcidrs6 masquerade\n",
				   cidr_format(&own[i], c, sizeof(c)));
	}
	buf_puts(&b, "  }\n}\n");
	return buf_take(&b);
}

/* One libnftables transaction (shared with the Service proxy). */
static int run(const char *script, char *err, size_t errlen)
{
	return proxy_nft_run(script, err, errlen);
}

int node_masq_sync(const struct cidr *own, size_t nown, const struct cidr *all, size_t n, char *err,
		   size_t errlen)
{
	char *s = node_masq_script(own, nown, all, n);
	int rc = run(s, err, errlen);
	free(s);
	return rc;
}

int node_masq_cleanup(char *err, size_t errlen)
{
	return run(DROP_OLD "add table inet " TABLE "\ndelete table inet " TABLE "\n", err, errlen);
}
