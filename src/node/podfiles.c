/* podfiles.c - resolv.conf, /etc/hosts and hostname of a pod, as kubelet computes them
 * (see podfiles.h). Lists are small string vectors; every function here is pure. */
#include "node/podfiles.h"

#include "api/object.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/vec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A list of heap strings, a VEC (base/vec.h). */
struct strv {
	char **v;
	size_t len, cap;
};

static void strv_push(struct strv *s, const char *str, size_t len)
{
	*vec_push(s) = xstrndup(str, len);
}

static void strv_clear(struct strv *s)
{
	for (size_t i = 0; i < s->len; i++)
		free(s->v[i]);
	s->len = 0;
}

static void strv_fini(struct strv *s)
{
	strv_clear(s);
	vec_free(s);
}

static bool strv_has(const struct strv *s, const char *str)
{
	for (size_t i = 0; i < s->len; i++)
		if (strcmp(s->v[i], str) == 0)
			return true;
	return false;
}

/* omitDuplicates: appends str unless already present. */
static void strv_add_unique(struct strv *s, const char *str)
{
	if (!strv_has(s, str))
		strv_push(s, str, strlen(str));
}

static size_t opt_name_len(const char *opt)
{
	const char *c = strchr(opt, ':');
	return c ? (size_t)(c - opt) : strlen(opt);
}

/* Options are merged by name ("ndots:5" has name "ndots"): a later one replaces the
 * earlier in place (appendOptions / mergeDNSOptions). */
static void opts_set(struct strv *s, const char *opt)
{
	size_t nl = opt_name_len(opt);
	for (size_t i = 0; i < s->len; i++) {
		if (opt_name_len(s->v[i]) == nl && strncmp(s->v[i], opt, nl) == 0) {
			free(s->v[i]);
			s->v[i] = xstrdup(opt);
			return;
		}
	}
	strv_push(s, opt, strlen(opt));
}

static void warnf(char *warn, size_t warnlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warnf(char *warn, size_t warnlen, const char *fmt, ...)
{
	if (!warn || !warnlen)
		return;
	size_t used = strlen(warn);
	if (used && used + 2 < warnlen) {
		strcpy(warn + used, "; ");
		used += 2;
	}
	if (used >= warnlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(warn + used, warnlen - used, fmt, ap);
	va_end(ap);
}

/* parseResolvConf: nameservers accumulate, the last `search` line wins (a trailing dot
 * dropped, a lone "." skipped), options merge by name. */
static void parse_resolv_conf(const char *text, struct strv *servers, struct strv *searches,
			      struct strv *options)
{
	const char *p = text;
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char *line = xstrndup(p, len);
		p = eol ? eol + 1 : NULL;
		char *save = NULL, *tok = strtok_r(line, " \t\r\f\v", &save);
		if (!tok || tok[0] == '#') {
			free(line);
			continue;
		}
		if (strcmp(tok, "nameserver") == 0) {
			char *v = strtok_r(NULL, " \t\r\f\v", &save);
			if (v)
				strv_push(servers, v, strlen(v));
		} else if (strcmp(tok, "search") == 0) {
			strv_clear(searches);
			for (char *v; (v = strtok_r(NULL, " \t\r\f\v", &save));) {
				if (strcmp(v, ".") == 0)
					continue;
				size_t vl = strlen(v);
				if (vl && v[vl - 1] == '.')
					vl--;
				strv_push(searches, v, vl);
			}
		} else if (strcmp(tok, "options") == 0) {
			for (char *v; (v = strtok_r(NULL, " \t\r\f\v", &save));)
				opts_set(options, v);
		}
		free(line);
	}
}

/* The kubelet's warning that a resolv.conf line was cut: what, then the line applied. */
static void warn_applied(const struct strv *line, const char *what, char *warn, size_t warnlen)
{
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < line->len; i++)
		buf_printf(&b, "%s%s", i ? " " : "", line->v[i]);
	warnf(warn, warnlen, "%s%s", what, b.data ? b.data : "");
	buf_fini(&b);
}

/* formDNSSearchFitsLimits and formDNSNameserversFitsLimits. */
static void fit_limits(struct strv *servers, struct strv *searches, char *warn, size_t warnlen)
{
	if (servers->len > NODE_DNS_MAX_NAMESERVERS) {
		while (servers->len > NODE_DNS_MAX_NAMESERVERS)
			free(servers->v[--servers->len]);
		warn_applied(servers,
			     "Nameserver limits were exceeded, some nameservers have been omitted, the "
			     "applied nameserver line is: ",
			     warn, warnlen);
	}
	bool exceeded = false;
	if (searches->len > NODE_DNS_MAX_SEARCH_PATHS) {
		while (searches->len > NODE_DNS_MAX_SEARCH_PATHS)
			free(searches->v[--searches->len]);
		exceeded = true;
	}
	size_t l = 0;
	for (size_t i = 0; i < searches->len; i++) {
		if (strlen(searches->v[i]) > 253) {
			free(searches->v[i]);
			exceeded = true;
			continue;
		}
		searches->v[l++] = searches->v[i];
	}
	searches->len = l;
	size_t line = 0;
	for (size_t i = 0; i < searches->len; i++)
		line += strlen(searches->v[i]) + (i ? 1 : 0);
	if (line > NODE_DNS_MAX_SEARCH_CHARS) {
		size_t cut = 0;
		while (searches->len && line - cut > NODE_DNS_MAX_SEARCH_CHARS) {
			cut += strlen(searches->v[searches->len - 1]) + 1;
			free(searches->v[--searches->len]);
		}
		exceeded = true;
	}
	if (exceeded) {
		warn_applied(searches,
			     "Search Line limits were exceeded, some search paths have been omitted, "
			     "the applied search line is: ",
			     warn, warnlen);
	}
}

char *node_podfiles_resolv_conf(const json_t *pod, const struct node_dns_opts *o, char *warn, size_t warnlen)
{
	struct strv servers = {0}, searches = {0}, options = {0};
	if (warn && warnlen)
		warn[0] = 0;
	const char *ns = api_str(pod, "metadata.namespace");
	if (!ns || !*ns)
		ns = "default";
	const char *policy = api_str(pod, "spec.dnsPolicy");
	if (!policy || !*policy)
		policy = "ClusterFirst";
	bool host_net = json_is_true(api_get(pod, "spec.hostNetwork"));
	const char *domain = o->cluster_domain ? o->cluster_domain : "";

	if (o->host_resolv_conf)
		parse_resolv_conf(o->host_resolv_conf, &servers, &searches, &options);

	enum { DNS_NONE, DNS_CLUSTER, DNS_HOST } type;
	if (strcmp(policy, "None") == 0) {
		type = DNS_NONE;
	} else if (strcmp(policy, "ClusterFirstWithHostNet") == 0) {
		type = DNS_CLUSTER;
	} else if (strcmp(policy, "ClusterFirst") == 0) {
		type = host_net ? DNS_HOST : DNS_CLUSTER;
	} else if (strcmp(policy, "Default") == 0) {
		type = DNS_HOST;
	} else {
		warnf(warn, warnlen, "invalid DNSPolicy=%s; falling back to ClusterFirst", policy);
		type = DNS_CLUSTER;
	}

	if (type == DNS_NONE) {
		strv_clear(&servers);
		strv_clear(&searches);
		strv_clear(&options);
	} else if (type == DNS_CLUSTER) {
		if (o->cluster_dns && o->cluster_dns[0]) {
			strv_clear(&servers);
			for (const char *const *ip = o->cluster_dns; *ip; ip++)
				strv_push(&servers, *ip, strlen(*ip));
			if (*domain) {
				struct strv s = {0};
				char *a = xasprintf("%s.svc.%s", ns, domain);
				char *b = xasprintf("svc.%s", domain);
				strv_add_unique(&s, a);
				strv_add_unique(&s, b);
				strv_add_unique(&s, domain);
				for (size_t i = 0; i < searches.len; i++)
					strv_add_unique(&s, searches.v[i]);
				free(a);
				free(b);
				strv_fini(&searches);
				searches = s;
			}
			strv_clear(&options);
			strv_push(&options, "ndots:5", 7);
		} else {
			warnf(warn, warnlen,
			      "kubelet does not have ClusterDNS IP configured and cannot create Pod "
			      "using \"ClusterFirst\" policy. Falling back to \"Default\" policy.");
			type = DNS_HOST;
		}
	}
	if (type == DNS_HOST && !o->host_resolv_conf) {
		strv_push(&servers, "127.0.0.1", 9);
		strv_clear(&searches);
		strv_push(&searches, ".", 1);
	}

	const json_t *dc = api_get(pod, "spec.dnsConfig");
	if (json_is_object(dc)) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(dc, "nameservers"), i, v) if (json_is_string(v))
		    strv_add_unique(&servers, json_string_value(v));
		json_array_foreach(json_object_get(dc, "searches"), i, v) if (json_is_string(v))
		    strv_add_unique(&searches, json_string_value(v));
		json_array_foreach(json_object_get(dc, "options"), i, v)
		{
			const char *name = json_string_value(json_object_get(v, "name"));
			const char *val = json_string_value(json_object_get(v, "value"));
			if (!name)
				continue;
			char *opt = val && *val ? xasprintf("%s:%s", name, val) : xstrdup(name);
			opts_set(&options, opt);
			free(opt);
		}
	}
	fit_limits(&servers, &searches, warn, warnlen);

	struct buf b;
	buf_init(&b);
	if (searches.len) {
		buf_puts(&b, "search");
		for (size_t i = 0; i < searches.len; i++)
			buf_printf(&b, " %s", searches.v[i]);
		buf_putc(&b, '\n');
	}
	for (size_t i = 0; i < servers.len; i++)
		buf_printf(&b, "nameserver %s\n", servers.v[i]);
	if (options.len) {
		buf_puts(&b, "options");
		for (size_t i = 0; i < options.len; i++)
			buf_printf(&b, " %s", options.v[i]);
		buf_putc(&b, '\n');
	}
	strv_fini(&servers);
	strv_fini(&searches);
	strv_fini(&options);
	char *out = buf_take(&b);
	return out ? out : xstrdup("");
}

int node_podfiles_hostname(const json_t *pod, const char *cluster_domain, char **hostname, char **domain,
			   char **kernel_name, char *err, size_t errlen)
{
	const char *name = api_str(pod, "metadata.name");
	const char *ns = api_str(pod, "metadata.namespace");
	const char *h = api_str(pod, "spec.hostname");
	const char *sub = api_str(pod, "spec.subdomain");
	const char *msg;
	if (!name)
		name = "";
	if (!ns || !*ns)
		ns = "default";
	if (h && *h) {
		if ((msg = api_check_dns1123_label(h))) {
			snprintf(err, errlen, "pod Hostname \"%s\" is not a valid DNS label: %s", h, msg);
			return -EINVAL;
		}
	} else {
		h = name;
	}
	/* truncatePodHostnameIfNeeded: at most 63 characters, no trailing '-' or '.'. */
	size_t hl = strlen(h);
	if (hl > 63) {
		hl = 63;
		while (hl && (h[hl - 1] == '-' || h[hl - 1] == '.'))
			hl--;
		if (!hl) {
			snprintf(err, errlen, "hostname for pod \"%s\" was invalid: \"%s\"", name, h);
			return -EINVAL;
		}
	}
	char *dom;
	if (sub && *sub) {
		if ((msg = api_check_dns1123_label(sub))) {
			snprintf(err, errlen, "pod Subdomain \"%s\" is not a valid DNS label: %s", sub, msg);
			return -EINVAL;
		}
		dom = xasprintf("%s.%s.svc.%s", sub, ns, cluster_domain ? cluster_domain : "");
	} else {
		dom = xstrdup("");
	}
	char *host = xstrndup(h, hl);
	char *kname;
	if (*dom && json_is_true(api_get(pod, "spec.setHostnameAsFQDN"))) {
		kname = xasprintf("%s.%s", host, dom);
		if (strlen(kname) > 64) {
			snprintf(err, errlen,
				 "failed to construct FQDN from pod hostname and cluster domain, FQDN %s is "
				 "too long (64 characters is the max, %zu characters requested)",
				 kname, strlen(kname));
			free(kname);
			free(host);
			free(dom);
			return -EINVAL;
		}
	} else {
		kname = xstrdup(host);
	}
	*hostname = host;
	*domain = dom;
	*kernel_name = kname;
	return 0;
}

static void host_aliases(struct buf *b, const json_t *pod)
{
	const json_t *aliases = api_get(pod, "spec.hostAliases");
	if (!json_array_size(aliases))
		return;
	buf_puts(b, "\n# Entries added by HostAliases.\n");
	size_t i, j;
	json_t *a, *h;
	json_array_foreach(aliases, i, a)
	{
		const char *ip = json_string_value(json_object_get(a, "ip"));
		buf_puts(b, ip ? ip : "");
		buf_putc(b, '\t');
		json_array_foreach(json_object_get(a, "hostnames"), j, h)
		{
			if (j)
				buf_putc(b, '\t');
			buf_puts(b, json_string_value(h) ? json_string_value(h) : "");
		}
		buf_putc(b, '\n');
	}
}

char *node_podfiles_hosts(const json_t *pod, const char *const *pod_ips, const char *hostname,
			  const char *domain, const char *host_hosts)
{
	struct buf b;
	buf_init(&b);
	if (json_is_true(api_get(pod, "spec.hostNetwork"))) {
		buf_puts(&b, "# Kubernetes-managed hosts file (host network).\n");
		buf_puts(&b, host_hosts ? host_hosts : "");
		host_aliases(&b, pod);
		return buf_take(&b);
	}
	buf_puts(&b, "# Kubernetes-managed hosts file.\n"
		     "127.0.0.1\tlocalhost\n"
		     "::1\tlocalhost ip6-localhost ip6-loopback\n"
		     "fe00::0\tip6-localnet\n"
		     "fe00::0\tip6-mcastprefix\n"
		     "fe00::1\tip6-allnodes\n"
		     "fe00::2\tip6-allrouters\n");
	for (const char *const *ip = pod_ips; ip && *ip; ip++) {
		if (domain && *domain)
			buf_printf(&b, "%s\t%s.%s\t%s\n", *ip, hostname, domain, hostname);
		else
			buf_printf(&b, "%s\t%s\n", *ip, hostname);
	}
	host_aliases(&b, pod);
	return buf_take(&b);
}
