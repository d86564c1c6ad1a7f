/* masq.c - the masquerade table, applied with libnftables as one atomic batch. */
#include "node/masq.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

#define TABLE "svcplane_masq"

char *node_masq_script(const struct cidr *own, const struct cidr *all, size_t n)
{
	struct buf b;
	buf_init(&b);
	char c[CIDR_STRLEN];
	/* add-then-delete makes the delete succeed whether or not the table exists, and the
	 * whole buffer is one transaction: no moment without the rule. */
	buf_printf(&b, "add table ip " TABLE "\ndelete table ip " TABLE "\ntable ip " TABLE " {\n");
	buf_puts(&b, "  set podcidrs {\n    type ipv4_addr\n    flags interval\n");
	size_t v4 = 0;
	for (size_t i = 0; i < n; i++)
		if (all[i].net.family == 4)
			buf_printf(&b, "%s%s", v4++ ? ", " : "    elements = { ", cidr_format(&all[i], c, sizeof(c)));
	if (v4)
		buf_puts(&b, " }\n");
	buf_puts(&b, "  }\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
	buf_printf(&b, "    ip saddr %s ip daddr != @podcidrs masquerade\n  }\n}\n", cidr_format(own, c, sizeof(c)));
	return buf_take(&b);
}

static int run(const char *script, char *err, size_t errlen)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft) {
		snprintf(err, errlen, "nftables: cannot create a context");
		return -ENOMEM;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	int rc = nft_run_cmd_from_buffer(nft, script);
	if (rc != 0) {
		const char *e = nft_ctx_get_error_buffer(nft);
		snprintf(err, errlen, "nftables: %s", e && *e ? e : "command failed");
		size_t l = strlen(err);
		while (l && (err[l - 1] == '\n' || err[l - 1] == ' '))
			err[--l] = 0;
	}
	nft_ctx_free(nft);
	return rc ? -EIO : 0;
}

int node_masq_sync(const struct cidr *own, const struct cidr *all, size_t n, char *err, size_t errlen)
{
	if (own->net.family != 4) {
		snprintf(err, errlen, "masquerade: only IPv4 pod networks are supported");
		return -ENOTSUP;
	}
	char *s = node_masq_script(own, all, n);
	int rc = run(s, err, errlen);
	free(s);
	return rc;
}

int node_masq_cleanup(char *err, size_t errlen)
{
	return run("add table ip " TABLE "\ndelete table ip " TABLE "\n", err, errlen);
}
