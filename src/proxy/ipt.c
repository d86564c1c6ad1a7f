/* ipt.c - the iptables backend (see ipt.h). */
#include "proxy/ipt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

struct proxy_ipt {
	char *prefix;
	bool dry;
	char *last;
};

struct proxy_ipt *proxy_ipt_new(const char *prefix, bool dry)
{
	struct proxy_ipt *t = xcalloc(1, sizeof(*t));
	t->prefix = xstrdup(prefix ? prefix : "KUBE");
	t->dry = dry;
	return t;
}

void proxy_ipt_free(struct proxy_ipt *t)
{
	if (!t)
		return;
	free(t->prefix);
	free(t->last);
	free(t);
}

char *proxy_ipt_render(const char *prefix, const struct proxy_model *m, const struct proxy_netcfg *c, int fam)
{
	return xstrdup("");
}

int proxy_ipt_sync(struct proxy_ipt *t, const struct proxy_model *m, const struct proxy_netcfg *c,
		   size_t *rules, size_t *chains, char *err, size_t errlen)
{
	*rules = *chains = 0;
	snprintf(err, errlen, "iptables backend: not yet");
	return -ENOTSUP;
}

const char *proxy_ipt_last_input(const struct proxy_ipt *t)
{
	return t->last ? t->last : "";
}

int proxy_ipt_cleanup(const char *prefix, char *err, size_t errlen)
{
	return 0;
}
