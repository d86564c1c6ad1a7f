/* service.c - Service defaulting, validation and allocation planning (see service.h).
 *
 * Each static function names the Kubernetes function it follows, so a reader can hold
 * the two side by side. JSON absent, null and (for plain strings) "" all mean Go's zero
 * value; for Go pointer fields (ipFamilyPolicy, loadBalancerClass, ...) absent and null
 * mean nil and "" is a set, empty value, as the Go decoder makes them.
 */
#include "api/service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"

/* ---- JSON access ---- */

static const json_t *spec_of(const json_t *svc)
{
	return svc ? json_object_get(svc, "spec") : NULL;
}

/* A plain string field: "" when absent, null or not a string. */
static const char *s_str(const json_t *o, const char *key)
{
	const json_t *v = o ? json_object_get(o, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : "";
}

/* A pointer string field: NULL when absent, null or not a string. */
static const char *p_str(const json_t *o, const char *key)
{
	const json_t *v = o ? json_object_get(o, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool is_nil(const json_t *v)
{
	return !v || json_is_null(v);
}

static long long i_val(const json_t *o, const char *key)
{
	const json_t *v = o ? json_object_get(o, key) : NULL;
	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static bool streq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Both NULL, or equal. */
static bool same_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return !a && !b;
	return strcmp(a, b) == 0;
}

static size_t n_arr(const json_t *o, const char *key)
{
	const json_t *v = o ? json_object_get(o, key) : NULL;
	return json_is_array(v) ? json_array_size(v) : 0;
}

static const char *arr_str(const json_t *o, const char *key, size_t i)
{
	const json_t *v = json_array_get(o ? json_object_get(o, key) : NULL, i);
	return json_is_string(v) ? json_string_value(v) : "";
}

/* Go's reflect.DeepEqual on two []string fields, treating nil and empty alike (as
 * Kubernetes' sameClusterIPs and sameIPFamilies do by comparing lengths first). */
static bool same_strs(const json_t *a, const json_t *b, const char *key)
{
	size_t n = n_arr(a, key);
	if (n != n_arr(b, key))
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(arr_str(a, key, i), arr_str(b, key, i)) != 0)
			return false;
	return true;
}

static void set_str(json_t *o, const char *key, const char *v)
{
	json_object_set_new(o, key, json_string(v));
}

static bool is_type(const json_t *spec, const char *t)
{
	return strcmp(s_str(spec, "type"), t) == 0;
}

/* ---- pkg/api/service helpers ---- */

static bool needs_cluster_ip(const json_t *spec)
{
	return !is_type(spec, "ExternalName");
}

static bool needs_node_port(const json_t *spec)
{
	return is_type(spec, "NodePort") || is_type(spec, "LoadBalancer");
}

/* NeedsHealthCheck / needsHCNodePort. */
static bool needs_hc(const json_t *spec)
{
	return is_type(spec, "LoadBalancer") && strcmp(s_str(spec, "externalTrafficPolicy"), "Local") == 0;
}

/* ExternallyAccessible. */
static bool externally_accessible(const json_t *spec)
{
	return is_type(spec, "LoadBalancer") || is_type(spec, "NodePort") ||
	       (is_type(spec, "ClusterIP") && n_arr(spec, "externalIPs") > 0);
}

/* isHeadlessService: clusterIPs is exactly ["None"]. */
static bool is_headless(const json_t *spec)
{
	return n_arr(spec, "clusterIPs") == 1 && strcmp(arr_str(spec, "clusterIPs", 0), "None") == 0;
}

/* shouldAllocateNodePorts (nil allocateLoadBalancerNodePorts counts as true). */
static bool should_alloc_node_ports(const json_t *spec)
{
	if (is_type(spec, "NodePort"))
		return true;
	if (is_type(spec, "LoadBalancer")) {
		const json_t *a = json_object_get(spec, "allocateLoadBalancerNodePorts");
		return !json_is_false(a);
	}
	return false;
}

static int family_of_name(const char *s)
{
	return strcmp(s, "IPv4") == 0 ? 4 : strcmp(s, "IPv6") == 0 ? 6 : 0;
}

static const char *family_name(int f)
{
	return f == 6 ? "IPv6" : "IPv4";
}

/* Index of cfg's range for family f, or -1. */
static int range_for(const struct api_service_config *cfg, int f)
{
	for (int i = 0; cfg && i < cfg->nranges && i < 2; i++)
		if (cfg->ranges[i].net.family == f)
			return i;
	return -1;
}

static int primary_family(const struct api_service_config *cfg)
{
	return cfg && cfg->nranges > 0 ? cfg->ranges[0].net.family : 4;
}

/* ---- error text, as Go prints it ---- */

/* %#v of a []string-like field: `[]string{"a", "b"}`, `[]string{}` or `[]string(nil)`. */
static char *go_strs(const json_t *o, const char *key, const char *type)
{
	const json_t *v = o ? json_object_get(o, key) : NULL;
	struct buf b;
	buf_init(&b);
	buf_puts(&b, type);
	if (!json_is_array(v)) {
		buf_puts(&b, "(nil)");
		return buf_take(&b);
	}
	buf_putc(&b, '{');
	for (size_t i = 0; i < json_array_size(v); i++) {
		if (i)
			buf_puts(&b, ", ");
		buf_put_goquoted(&b, arr_str(o, key, i));
	}
	buf_putc(&b, '}');
	return buf_take(&b);
}

/* %#v of a *string-like field after Kubernetes dereferences it: "x" or null. */
static char *go_ptr_str(const char *s)
{
	struct buf b;
	buf_init(&b);
	if (!s)
		buf_puts(&b, "null");
	else
		buf_put_goquoted(&b, s);
	return buf_take(&b);
}

static void add_cause(struct api_errs *e, const char *reason, const char *field, char *msg_take)
{
	json_array_append_new(
	    e->causes, json_pack("{s:s, s:s, s:s}", "reason", reason, "message", msg_take, "field", field));
	free(msg_take);
}

/* field.Invalid with the value already printed (value_take is freed). */
static void err_invalid_text(struct api_errs *e, const char *field, char *value_take, const char *detail)
{
	add_cause(e, "FieldValueInvalid", field, xasprintf("Invalid value: %s: %s", value_take, detail));
	free(value_take);
}

static void err_invalid_int(struct api_errs *e, const char *field, long long v, const char *detail)
{
	err_invalid_text(e, field, xasprintf("%lld", v), detail);
}

static void err_invalid_str(struct api_errs *e, const char *field, const char *v, const char *detail)
{
	struct buf b;
	buf_init(&b);
	buf_put_goquoted(&b, v);
	err_invalid_text(e, field, buf_take(&b), detail);
}

static void err_not_supported_str(struct api_errs *e, const char *field, const char *v,
				  const char *const *supported)
{
	json_t *j = json_string(v);
	api_err_not_supported(e, field, j, supported);
	json_decref(j);
}

static void err_duplicate_int(struct api_errs *e, const char *field, long long v)
{
	add_cause(e, "FieldValueDuplicate", field, xasprintf("Duplicate value: %lld", v));
}

static void err_duplicate_str(struct api_errs *e, const char *field, const char *v)
{
	json_t *j = json_string(v);
	api_err_duplicate(e, field, j);
	json_decref(j);
}

static bool in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; s && list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static const char MSG_BAD_IP[] = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
static const char MSG_BAD_CIDR[] = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
static const char MSG_PORT_RANGE[] = "must be between 1 and 65535, inclusive";
static const char MSG_ONLY_LB[] = "may only be used when `type` is 'LoadBalancer'";

static const char *const service_types[] = {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort", NULL};
static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};
static const char *const affinities[] = {"ClientIP", "None", NULL};
static const char *const families[] = {"IPv4", "IPv6", NULL};
static const char *const family_policies[] = {"PreferDualStack", "RequireDualStack", "SingleStack", NULL};
static const char *const traffic_policies[] = {"Cluster", "Local", NULL};
static const char *const traffic_distributions[] = {"PreferClose", "PreferSameNode", "PreferSameZone", NULL};
static const char *const ip_modes[] = {"Proxy", "VIP", NULL};

#define ANN_TOPOLOGY_MODE "service.kubernetes.io/topology-mode"
#define ANN_TOPOLOGY_HINTS "service.kubernetes.io/topology-aware-hints"
#define ANN_LB_SOURCE_RANGES "service.beta.kubernetes.io/load-balancer-source-ranges"

/* ---- defaulting ---- */

/* SetDefaults_Service (pkg/apis/core/v1/defaults.go). */
static void set_defaults(json_t *svc, json_t *spec)
{
	if (!*s_str(spec, "sessionAffinity"))
		set_str(spec, "sessionAffinity", "None");
	const char *aff = s_str(spec, "sessionAffinity");
	if (strcmp(aff, "None") == 0) {
		json_object_del(spec, "sessionAffinityConfig");
	} else if (strcmp(aff, "ClientIP") == 0) {
		const json_t *t = api_get(spec, "sessionAffinityConfig.clientIP.timeoutSeconds");
		if (is_nil(t))
			json_object_set_new(spec, "sessionAffinityConfig",
					    json_pack("{s:{s:i}}", "clientIP", "timeoutSeconds", 10800));
	}
	if (!*s_str(spec, "type"))
		set_str(spec, "type", "ClusterIP");
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p)
	{
		if (!json_is_object(p))
			continue;
		if (!*s_str(p, "protocol"))
			set_str(p, "protocol", "TCP");
		json_t *tp = json_object_get(p, "targetPort");
		if (is_nil(tp) || (json_is_integer(tp) && json_integer_value(tp) == 0) ||
		    (json_is_string(tp) && json_string_length(tp) == 0)) {
			json_t *port = json_object_get(p, "port");
			json_object_set_new(p, "targetPort",
					    json_is_integer(port) ? json_copy(port) : json_integer(0));
		}
	}
	if (externally_accessible(spec) && !*s_str(spec, "externalTrafficPolicy"))
		set_str(spec, "externalTrafficPolicy", "Cluster");
	if (is_nil(json_object_get(spec, "internalTrafficPolicy")) &&
	    (is_type(spec, "NodePort") || is_type(spec, "LoadBalancer") || is_type(spec, "ClusterIP")))
		set_str(spec, "internalTrafficPolicy", "Cluster");
	if (is_type(spec, "LoadBalancer")) {
		if (is_nil(json_object_get(spec, "allocateLoadBalancerNodePorts")))
			json_object_set_new(spec, "allocateLoadBalancerNodePorts", json_true());
		/* LoadBalancerIPMode (GA): an ingress point with an IP behaves as a VIP. */
		json_array_foreach(api_get(svc, "status.loadBalancer.ingress"), i, p)
		{
			if (json_is_object(p) && *s_str(p, "ip") && is_nil(json_object_get(p, "ipMode")))
				set_str(p, "ipMode", "VIP");
		}
	}
}

/* patchAllocatedValues (pkg/registry/core/service/storage/storage.go): keep what the
 * server allocated when the client resubmits without it. Node ports are matched by
 * port name, as Kubernetes does, and never reuse a value the new object already has. */
static void patch_allocated(json_t *spec, const json_t *ospec)
{
	if (needs_cluster_ip(ospec) && needs_cluster_ip(spec)) {
		if (!*s_str(spec, "clusterIP") && *s_str(ospec, "clusterIP"))
			set_str(spec, "clusterIP", s_str(ospec, "clusterIP"));
		if (n_arr(spec, "clusterIPs") == 0 && n_arr(ospec, "clusterIPs") > 0)
			json_object_set_new(spec, "clusterIPs",
					    json_deep_copy(json_object_get(ospec, "clusterIPs")));
	}
	if (needs_node_port(ospec) && needs_node_port(spec)) {
		const json_t *oports = json_object_get(ospec, "ports"),
			     *nports = json_object_get(spec, "ports");
		size_t i, j;
		json_t *p, *q;
		json_array_foreach(nports, i, p)
		{
			if (i_val(p, "nodePort") != 0)
				continue;
			/* np[name]: the last old port of that name wins, as in a Go map. */
			long long oldval = 0;
			json_array_foreach(oports, j, q)
			{
				if (strcmp(s_str(q, "name"), s_str(p, "name")) == 0)
					oldval = i_val(q, "nodePort");
			}
			if (oldval == 0)
				continue;
			/* used = old node ports that the new object also lists. */
			bool used = false;
			json_array_foreach(nports, j, q)
			{
				if (i_val(q, "nodePort") == oldval)
					used = true;
			}
			if (!used && json_is_object(p))
				json_object_set_new(p, "nodePort", json_integer(oldval));
		}
	}
	if (needs_hc(ospec) && needs_hc(spec) && i_val(spec, "healthCheckNodePort") == 0 &&
	    i_val(ospec, "healthCheckNodePort") != 0)
		json_object_set_new(spec, "healthCheckNodePort",
				    json_integer(i_val(ospec, "healthCheckNodePort")));
}

/* NormalizeClusterIPs (pkg/registry/core/service/strategy.go). */
static void normalize_cluster_ips(json_t *spec, const json_t *ospec)
{
	const char *cip = s_str(spec, "clusterIP");
	if (!ospec) {
		if (*cip && n_arr(spec, "clusterIPs") == 0)
			json_object_set_new(spec, "clusterIPs", json_pack("[s]", cip));
		return;
	}
	const char *ocip = s_str(ospec, "clusterIP");
	if (n_arr(ospec, "clusterIPs") > 0 && n_arr(spec, "clusterIPs") == 0 && strcmp(ocip, cip) == 0)
		json_object_set_new(spec, "clusterIPs", json_deep_copy(json_object_get(ospec, "clusterIPs")));
	if (strcmp(ocip, cip) != 0) {
		if (*ocip && !*cip) {
			if (same_strs(ospec, spec, "clusterIPs"))
				json_object_del(spec, "clusterIPs");
		} else if (same_strs(ospec, spec, "clusterIPs")) {
			json_object_set_new(spec, "clusterIPs", json_pack("[s]", cip));
		}
	}
}

/* isMatchingPreferDualStackClusterIPFields (alloc.go): a PreferDualStack Service that
 * keeps its IPs and families is left alone when the cluster's stacks change. */
static bool matching_prefer_dual(const json_t *spec, const json_t *ospec)
{
	if (!ospec)
		return false;
	const char *pol = p_str(spec, "ipFamilyPolicy"), *opol = p_str(ospec, "ipFamilyPolicy");
	if (!pol)
		return false;
	if (!streq(s_str(ospec, "type"), s_str(spec, "type")))
		return false;
	if (!is_type(spec, "ClusterIP") && !is_type(spec, "NodePort") && !is_type(spec, "LoadBalancer"))
		return false;
	if (strcmp(pol, "PreferDualStack") != 0)
		return false;
	if (opol && strcmp(opol, "PreferDualStack") != 0)
		return false;
	return same_strs(ospec, spec, "clusterIPs") && same_strs(ospec, spec, "ipFamilies");
}

static void validate_cluster_ips_related(const json_t *spec, struct api_errs *e);

static bool selectorless(const json_t *spec)
{
	const json_t *sel = json_object_get(spec, "selector");
	return !json_is_object(sel) || json_object_size(sel) == 0;
}

static void append_family(json_t *spec, int f)
{
	json_t *fams = json_object_get(spec, "ipFamilies");
	if (!json_is_array(fams)) {
		fams = json_array();
		json_object_set_new(spec, "ipFamilies", fams);
	}
	json_array_append_new(fams, json_string(family_name(f)));
}

static void truncate_to_one(json_t *spec, const char *key)
{
	json_t *a = json_object_get(spec, key);
	while (json_is_array(a) && json_array_size(a) > 1)
		json_array_remove(a, json_array_size(a) - 1);
}

/* The defaulting half of initIPFamilyFields (alloc.go); its error half is stage 1 of
 * api_service_validate. Whenever Kubernetes would fail, this stops without changing
 * more, so validation sees what the client sent. */
static void init_ip_families(json_t *spec, const json_t *ospec, const struct api_service_config *cfg)
{
	if (is_type(spec, "ExternalName") || matching_prefer_dual(spec, ospec))
		return;
	if (!p_str(spec, "ipFamilyPolicy")) {
		if (ospec && p_str(ospec, "ipFamilyPolicy"))
			set_str(spec, "ipFamilyPolicy", p_str(ospec, "ipFamilyPolicy"));
		else if (strcmp(s_str(spec, "clusterIP"), "None") == 0 && selectorless(spec))
			set_str(spec, "ipFamilyPolicy", "RequireDualStack");
		else
			set_str(spec, "ipFamilyPolicy", "SingleStack");
	}
	struct api_errs scratch;
	api_errs_init(&scratch);
	validate_cluster_ips_related(spec, &scratch);
	size_t bad = api_errs_count(&scratch);
	api_errs_fini(&scratch);
	if (bad)
		return;
	bool single = strcmp(p_str(spec, "ipFamilyPolicy"), "SingleStack") == 0;
	if (ospec) {
		if (single) {
			if (same_strs(ospec, spec, "clusterIPs"))
				truncate_to_one(spec, "clusterIPs");
			if (same_strs(ospec, spec, "ipFamilies"))
				truncate_to_one(spec, "ipFamilies");
		} else if ((n_arr(spec, "clusterIPs") &&
			    n_arr(spec, "clusterIPs") < n_arr(ospec, "clusterIPs")) ||
			   (n_arr(spec, "ipFamilies") &&
			    n_arr(spec, "ipFamilies") < n_arr(ospec, "ipFamilies"))) {
			return;
		}
	}
	if (single && (n_arr(spec, "clusterIPs") == 2 || n_arr(spec, "ipFamilies") == 2))
		return;
	size_t nips = n_arr(spec, "clusterIPs");
	for (size_t i = 0; i < nips; i++) {
		struct ip_addr ip;
		if (strcmp(arr_str(spec, "clusterIPs", i), "None") == 0)
			break;
		if (i >= n_arr(spec, "ipFamilies") &&
		    (ip_parse(arr_str(spec, "clusterIPs", i), &ip) < 0 || range_for(cfg, ip.family) < 0))
			return;
	}
	for (size_t i = 0; i < nips; i++) {
		struct ip_addr ip;
		if (strcmp(arr_str(spec, "clusterIPs", i), "None") == 0)
			break;
		if (i >= n_arr(spec, "ipFamilies") && ip_parse(arr_str(spec, "clusterIPs", i), &ip) == 0)
			append_family(spec, ip.family);
	}
	const char *pol = p_str(spec, "ipFamilyPolicy");
	if (strcmp(s_str(spec, "clusterIP"), "None") == 0 && selectorless(spec)) {
		if (n_arr(spec, "ipFamilies") == 0)
			append_family(spec, primary_family(cfg));
		if (n_arr(spec, "ipFamilies") < 2 && strcmp(pol, "SingleStack") != 0)
			append_family(spec, family_of_name(arr_str(spec, "ipFamilies", 0)) == 6 ? 4 : 6);
		return;
	}
	if (strcmp(pol, "RequireDualStack") == 0 && (!cfg || cfg->nranges < 2))
		return;
	for (size_t i = 0; i < n_arr(spec, "ipFamilies"); i++)
		if (range_for(cfg, family_of_name(arr_str(spec, "ipFamilies", i))) < 0)
			return;
	if (n_arr(spec, "ipFamilies") == 0)
		append_family(spec, primary_family(cfg));
	if (strcmp(pol, "SingleStack") != 0 && n_arr(spec, "ipFamilies") == 1 && cfg && cfg->nranges == 2)
		append_family(spec, family_of_name(arr_str(spec, "ipFamilies", 0)) == 6 ? 4 : 6);
}

/* sameNodePorts: the new node ports are a subset of the old ones. */
static bool same_node_ports(const json_t *ospec, const json_t *spec)
{
	size_t i, j;
	json_t *p, *q;
	json_array_foreach(json_object_get(spec, "ports"), i, p)
	{
		long long np = i_val(p, "nodePort");
		if (!np)
			continue;
		bool found = false;
		json_array_foreach(json_object_get(ospec, "ports"), j, q)
		{
			if (i_val(q, "nodePort") == np)
				found = true;
		}
		if (!found)
			return false;
	}
	return true;
}

/* dropTypeDependentFields (strategy.go): wipe what the new type does not use, when the
 * client left it as it was (a changed value is the client's and goes to validation). */
static void drop_type_dependent(json_t *svc, json_t *spec, const json_t *ospec)
{
	if (needs_cluster_ip(ospec) && !needs_cluster_ip(spec)) {
		if (same_strs(ospec, spec, "clusterIPs")) {
			json_object_del(spec, "clusterIP");
			json_object_del(spec, "clusterIPs");
		}
		if (same_strs(ospec, spec, "ipFamilies"))
			json_object_del(spec, "ipFamilies");
		if (same_ptr(p_str(ospec, "ipFamilyPolicy"), p_str(spec, "ipFamilyPolicy")))
			json_object_del(spec, "ipFamilyPolicy");
	}
	if (needs_node_port(ospec) && !needs_node_port(spec) && same_node_ports(ospec, spec)) {
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(spec, "ports"), i, p)
		{
			if (json_is_object(p))
				json_object_del(p, "nodePort");
		}
	}
	if (needs_hc(ospec) && !needs_hc(spec) &&
	    i_val(ospec, "healthCheckNodePort") == i_val(spec, "healthCheckNodePort"))
		json_object_del(spec, "healthCheckNodePort");
	if (is_type(ospec, "LoadBalancer") && !is_type(spec, "LoadBalancer")) {
		const json_t *a = json_object_get(spec, "allocateLoadBalancerNodePorts"),
			     *oa = json_object_get(ospec, "allocateLoadBalancerNodePorts");
		if (json_is_boolean(a) && json_is_boolean(oa) && json_equal(a, oa))
			json_object_del(spec, "allocateLoadBalancerNodePorts");
		if (same_ptr(p_str(ospec, "loadBalancerClass"), p_str(spec, "loadBalancerClass")))
			json_object_del(spec, "loadBalancerClass");
	}
	if (externally_accessible(ospec) && !externally_accessible(spec) &&
	    streq(s_str(ospec, "externalTrafficPolicy"), s_str(spec, "externalTrafficPolicy")))
		json_object_del(spec, "externalTrafficPolicy");
	if (is_type(ospec, "LoadBalancer") && !is_type(spec, "LoadBalancer")) {
		json_t *st = json_object_get(svc, "status");
		if (json_is_object(st))
			json_object_set_new(st, "loadBalancer", json_object());
	}
}

void api_service_default(json_t *svc, const json_t *old, const struct api_service_config *cfg)
{
	if (!json_is_object(svc))
		return;
	json_t *spec = api_obj(svc, "spec");
	const json_t *ospec = spec_of(old);
	if (!json_is_object(ospec))
		ospec = NULL;
	set_defaults(svc, spec);
	if (ospec)
		patch_allocated(spec, ospec);
	normalize_cluster_ips(spec, ospec);
	init_ip_families(spec, ospec, cfg);
	if (ospec)
		drop_type_dependent(svc, spec, ospec);
}

/* ---- validation ---- */

/* ValidateServiceClusterIPsRelatedFields (validation.go). */
static void validate_cluster_ips_related(const json_t *spec, struct api_errs *e)
{
	if (is_type(spec, "ExternalName"))
		return;
	size_t nips = n_arr(spec, "clusterIPs");
	if (*s_str(spec, "clusterIP")) {
		if (nips == 0)
			api_err_required(e, "spec.clusterIPs", NULL);
		else if (strcmp(arr_str(spec, "clusterIPs", 0), s_str(spec, "clusterIP")) != 0)
			err_invalid_text(e, "spec.clusterIPs", go_strs(spec, "clusterIPs", "[]string"),
					 "first value must match `clusterIP`");
	} else if (nips) {
		err_invalid_text(e, "spec.clusterIPs", go_strs(spec, "clusterIPs", "[]string"),
				 "must be empty when `clusterIP` is not specified");
	}
	for (size_t i = 0; i < n_arr(spec, "ipFamilies"); i++) {
		const char *f = arr_str(spec, "ipFamilies", i);
		char *p = xasprintf("spec.ipFamilies[%zu]", i);
		if (!in_list(f, families))
			err_not_supported_str(e, p, f, families);
		for (size_t j = 0; j < i; j++)
			if (strcmp(arr_str(spec, "ipFamilies", j), f) == 0) {
				err_duplicate_str(e, p, f);
				break;
			}
		free(p);
	}
	const char *pol = p_str(spec, "ipFamilyPolicy");
	if (pol && !in_list(pol, family_policies))
		err_not_supported_str(e, "spec.ipFamilyPolicy", pol, family_policies);
	bool bad_ips = false;
	for (size_t i = 0; i < nips; i++) {
		const char *ip = arr_str(spec, "clusterIPs", i);
		if (i == 0 && strcmp(ip, "None") == 0) {
			if (nips > 1) {
				bad_ips = true;
				err_invalid_text(e, "spec.clusterIPs",
						 go_strs(spec, "clusterIPs", "[]string"),
						 "'None' must be the first and only value");
			}
			continue;
		}
		if (api_ip_family(ip) == 0) {
			bad_ips = true;
			char *p = xasprintf("spec.clusterIPs[%zu]", i);
			err_invalid_str(e, p, ip, MSG_BAD_IP);
			free(p);
		}
	}
	if (nips > 2)
		err_invalid_text(e, "spec.clusterIPs", go_strs(spec, "clusterIPs", "[]string"),
				 "may only hold up to 2 values");
	if (bad_ips)
		return;
	if (nips > 1) {
		bool v4 = false, v6 = false;
		for (size_t i = 0; i < nips; i++) {
			if (api_ip_family(arr_str(spec, "clusterIPs", i)) == 6)
				v6 = true;
			else
				v4 = true;
		}
		if (!(v4 && v6))
			err_invalid_text(e, "spec.clusterIPs", go_strs(spec, "clusterIPs", "[]string"),
					 "may specify no more than one IP for each IP family");
	}
	if (!is_headless(spec)) {
		size_t nf = n_arr(spec, "ipFamilies");
		for (size_t i = 0; i < nips && i < nf; i++) {
			const char *ip = arr_str(spec, "clusterIPs", i), *f = arr_str(spec, "ipFamilies", i);
			bool is6 = api_ip_family(ip) == 6;
			char *p = NULL, *msg = NULL;
			if (strcmp(f, "IPv4") == 0 && is6)
				msg =
				    xasprintf("expected an IPv4 value as indicated by `ipFamilies[%zu]`", i);
			else if (strcmp(f, "IPv6") == 0 && !is6)
				msg =
				    xasprintf("expected an IPv6 value as indicated by `ipFamilies[%zu]`", i);
			if (msg) {
				p = xasprintf("spec.clusterIPs[%zu]", i);
				err_invalid_str(e, p, ip, msg);
			}
			free(p);
			free(msg);
		}
	}
}

/* Stage 1: the errors of initIPFamilyFields (alloc.go). */
static void stage_families(const json_t *spec, const json_t *ospec, const struct api_service_config *cfg,
			   struct api_errs *e)
{
	size_t before = api_errs_count(e);
	validate_cluster_ips_related(spec, e);
	if (api_errs_count(e) > before)
		return;
	const char *pol = p_str(spec, "ipFamilyPolicy");
	bool single = pol && strcmp(pol, "SingleStack") == 0;
	char *polv = go_ptr_str(pol);
	if (ospec && !single) {
		if (n_arr(spec, "clusterIPs") && n_arr(spec, "clusterIPs") < n_arr(ospec, "clusterIPs"))
			err_invalid_text(e, "spec.ipFamilyPolicy", xstrdup(polv),
					 "must be 'SingleStack' to release the secondary cluster IP");
		if (n_arr(spec, "ipFamilies") && n_arr(spec, "ipFamilies") < n_arr(ospec, "ipFamilies"))
			err_invalid_text(e, "spec.ipFamilyPolicy", xstrdup(polv),
					 "must be 'SingleStack' to release the secondary IP family");
	}
	if (single && n_arr(spec, "clusterIPs") == 2)
		err_invalid_text(e, "spec.ipFamilyPolicy", xstrdup(polv),
				 "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs "
				 "are specified");
	if (single && n_arr(spec, "ipFamilies") == 2)
		err_invalid_text(e, "spec.ipFamilyPolicy", xstrdup(polv),
				 "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families "
				 "are specified");
	for (size_t i = 0; i < n_arr(spec, "clusterIPs"); i++) {
		const char *ip = arr_str(spec, "clusterIPs", i);
		if (strcmp(ip, "None") == 0)
			break;
		int f = api_ip_family(ip);
		if (i >= n_arr(spec, "ipFamilies") && range_for(cfg, f) < 0) {
			char *p = xasprintf("spec.clusterIPs[%zu]", i);
			char *msg = xasprintf("%s is not configured on this cluster", family_name(f));
			err_invalid_text(e, p, go_strs(spec, "clusterIPs", "[]string"), msg);
			free(msg);
			free(p);
		}
	}
	if (api_errs_count(e) > before)
		goto out;
	if (strcmp(s_str(spec, "clusterIP"), "None") == 0 && selectorless(spec))
		goto out;
	if (pol && strcmp(pol, "RequireDualStack") == 0 && (!cfg || cfg->nranges < 2))
		err_invalid_text(e, "spec.ipFamilyPolicy", xstrdup(polv),
				 "this cluster is not configured for dual-stack services");
	for (size_t i = 0; i < n_arr(spec, "ipFamilies"); i++) {
		const char *f = arr_str(spec, "ipFamilies", i);
		if (range_for(cfg, family_of_name(f)) < 0) {
			char *p = xasprintf("spec.ipFamilies[%zu]", i);
			err_invalid_str(e, p, f, "not configured on this cluster");
			free(p);
		}
	}
out:
	free(polv);
}

/* Checks one requested cluster IP against its family's range (ipallocator Allocate). */
static bool check_requested_ip(const json_t *spec, const char *ip, const struct api_service_config *cfg,
			       struct api_errs *e)
{
	struct ip_addr a;
	if (!*ip || ip_parse(ip, &a) < 0)
		return true;
	int r = range_for(cfg, a.family);
	if (r < 0)
		return true; /* reported in stage 1 */
	if (cidr_is_usable(&cfg->ranges[r], &a))
		return true;
	char as[IP_STRLEN], rs[CIDR_STRLEN];
	ip_format(&a, as, sizeof as);
	cidr_format(&cfg->ranges[r], rs, sizeof rs);
	char *msg = xasprintf(
	    "failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of "
	    "valid IPs is %s",
	    ip, as, rs);
	err_invalid_text(e, "spec.clusterIPs", go_strs(spec, "clusterIPs", "[]string"), msg);
	free(msg);
	return false;
}

/* Stage 2: requested cluster IPs outside the range (allocClusterIPs, updateClusterIPs). */
static void stage_ips(const json_t *spec, const json_t *ospec, const struct api_service_config *cfg,
		      struct api_errs *e)
{
	if (is_type(spec, "ExternalName"))
		return;
	bool all = !ospec || is_type(ospec, "ExternalName");
	if (ospec && !all) {
		if (matching_prefer_dual(spec, ospec))
			return;
		if (n_arr(ospec, "clusterIPs") > 0 && strcmp(arr_str(ospec, "clusterIPs", 0), "None") == 0)
			return;
		/* Only an upgrade to dual-stack allocates (the secondary) on update. */
		if (n_arr(ospec, "ipFamilies") == 1 && n_arr(spec, "ipFamilies") == 2 &&
		    n_arr(spec, "clusterIPs") > 1)
			check_requested_ip(spec, arr_str(spec, "clusterIPs", 1), cfg, e);
		return;
	}
	if (is_headless(spec))
		return;
	size_t nf = n_arr(spec, "ipFamilies");
	for (size_t i = 0; i < nf && i < n_arr(spec, "clusterIPs"); i++)
		if (!check_requested_ip(spec, arr_str(spec, "clusterIPs", i), cfg, e))
			return;
}

static bool port_in_range(long long p, const struct api_service_config *cfg)
{
	return p >= cfg->node_port_min && p <= cfg->node_port_max;
}

static char *not_in_port_range(const struct api_service_config *cfg)
{
	return xasprintf("provided port is not in the valid range. The range of valid ports is %d-%d",
			 cfg->node_port_min, cfg->node_port_max);
}

/* findRequestedNodePort: the first nodePort requested for this port number. */
static long long requested_node_port(const json_t *ports, long long port)
{
	size_t i;
	json_t *p;
	json_array_foreach(ports, i, p)
	{
		if (i_val(p, "port") == port && i_val(p, "nodePort") != 0)
			return i_val(p, "nodePort");
	}
	return 0;
}

/* Reports a requested node port out of range, or already taken by this same Service. */
static bool reserve_port(long long np, size_t index, long long *taken, size_t *ntaken,
			 const struct api_service_config *cfg, struct api_errs *e)
{
	char *p = xasprintf("spec.ports[%zu].nodePort", index);
	bool ok = true;
	if (!port_in_range(np, cfg)) {
		char *msg = not_in_port_range(cfg);
		err_invalid_int(e, p, np, msg);
		free(msg);
		ok = false;
	} else {
		for (size_t k = 0; k < *ntaken; k++)
			if (taken[k] == np) {
				err_invalid_int(e, p, np, "provided port is already allocated");
				ok = false;
				break;
			}
		if (ok)
			taken[(*ntaken)++] = np;
	}
	free(p);
	return ok;
}

/* Stage 3: requested node ports and health-check node port (initNodePorts,
 * updateNodePorts, allocHealthCheckNodePort, updateHealthCheckNodePort). */
static void stage_ports(const json_t *spec, const json_t *ospec, const struct api_service_config *cfg,
			struct api_errs *e)
{
	size_t before = api_errs_count(e);
	const json_t *ports = json_object_get(spec, "ports");
	size_t n = json_array_size(ports);
	long long *taken = xcalloc(n + 1, sizeof *taken);
	size_t ntaken = 0;
	if (needs_node_port(spec) && !ospec) {
		/* svcPortToNodePort: port number -> node port (-1: picked dynamically). */
		long long *pk = xcalloc(n + 1, sizeof *pk), *pv = xcalloc(n + 1, sizeof *pv);
		size_t npk = 0;
		for (size_t i = 0; i < n; i++) {
			const json_t *p = json_array_get(ports, i);
			long long port = i_val(p, "port"), np = i_val(p, "nodePort");
			if (np == 0 && !should_alloc_node_ports(spec))
				continue;
			long long got = 0;
			for (size_t k = 0; k < npk; k++)
				if (pk[k] == port)
					got = pv[k];
			if (got == 0) {
				long long req = requested_node_port(ports, port);
				if (req && !reserve_port(req, i, taken, &ntaken, cfg, e))
					break;
				pk[npk] = port;
				pv[npk++] = req ? req : -1;
			} else if (np != 0 && np != got) {
				if (!reserve_port(np, i, taken, &ntaken, cfg, e))
					break;
			}
		}
		free(pk);
		free(pv);
	} else if (needs_node_port(spec)) {
		const json_t *oports = json_object_get(ospec, "ports");
		for (size_t i = 0; i < n; i++) {
			long long np = i_val(json_array_get(ports, i), "nodePort");
			if (np == 0)
				continue;
			bool had = false;
			for (size_t j = 0; j < json_array_size(oports); j++)
				if (i_val(json_array_get(oports, j), "nodePort") == np)
					had = true;
			bool again = false;
			for (size_t k = 0; k < ntaken; k++)
				if (taken[k] == np)
					again = true;
			if (had || again)
				continue;
			if (!reserve_port(np, i, taken, &ntaken, cfg, e))
				break;
		}
	}
	free(taken);
	if (api_errs_count(e) > before)
		return;
	long long hc = i_val(spec, "healthCheckNodePort");
	if (needs_hc(spec) && hc != 0 && !(ospec && needs_hc(ospec)) && !port_in_range(hc, cfg)) {
		char *range = not_in_port_range(cfg);
		char *msg =
		    xasprintf("failed to allocate requested HealthCheck NodePort %lld: %s", hc, range);
		err_invalid_int(e, "spec.healthCheckNodePort", hc, msg);
		free(msg);
		free(range);
	}
}

/* validateUpgradeDowngradeClusterIPs. */
static void validate_updown_ips(const json_t *spec, const json_t *ospec, struct api_errs *e)
{
	if (is_type(spec, "ExternalName") || is_type(ospec, "ExternalName"))
		return;
	if (is_headless(ospec) && is_headless(spec))
		return;
	size_t on = n_arr(ospec, "clusterIPs"), nn = n_arr(spec, "clusterIPs");
	if (on == nn) {
		for (size_t i = 0; i < on; i++)
			if (strcmp(arr_str(ospec, "clusterIPs", i), arr_str(spec, "clusterIPs", i)) != 0) {
				char *p = xasprintf("spec.clusterIPs[%zu]", i);
				err_invalid_text(e, p, go_strs(spec, "clusterIPs", "[]string"),
						 "may not change once set");
				free(p);
			}
	} else if (on > nn) {
		if (nn == 0)
			err_invalid_text(e, "spec.clusterIPs[0]", go_strs(spec, "clusterIPs", "[]string"),
					 "primary clusterIP can not be unset");
		if (nn > 0 && strcmp(arr_str(spec, "clusterIPs", 0), arr_str(ospec, "clusterIPs", 0)) != 0)
			err_invalid_text(e, "spec.clusterIPs[0]", go_strs(spec, "clusterIPs", "[]string"),
					 "may not change once set");
		const char *pol = p_str(spec, "ipFamilyPolicy");
		if (nn == 1 && !(pol && strcmp(pol, "SingleStack") == 0))
			err_invalid_text(
			    e, "spec.ipFamilyPolicy", go_ptr_str(pol),
			    "must be set to 'SingleStack' when releasing the secondary clusterIP");
	} else if (on > 0 && strcmp(arr_str(spec, "clusterIPs", 0), arr_str(ospec, "clusterIPs", 0)) != 0) {
		err_invalid_text(e, "spec.clusterIPs[0]", go_strs(spec, "clusterIPs", "[]string"),
				 "may not change once set");
	}
}

/* validateUpgradeDowngradeIPFamilies (with Kubernetes' choice of printed values). */
static void validate_updown_families(const json_t *spec, const json_t *ospec, struct api_errs *e)
{
	if (is_type(spec, "ExternalName") || is_type(ospec, "ExternalName"))
		return;
	if (is_headless(spec) || is_headless(ospec))
		return;
	size_t on = n_arr(ospec, "ipFamilies"), nn = n_arr(spec, "ipFamilies");
	if (on == nn) {
		for (size_t i = 0; i < on; i++)
			if (strcmp(arr_str(ospec, "ipFamilies", i), arr_str(spec, "ipFamilies", i)) != 0)
				err_invalid_text(e, "spec.ipFamilies[0]",
						 go_strs(spec, "ipFamilies", "[]core.IPFamily"),
						 "may not change once set");
	} else if (on > nn) {
		if (n_arr(spec, "clusterIPs") == 0)
			err_invalid_text(e, "spec.ipFamilies[0]",
					 go_strs(spec, "ipFamilies", "[]core.IPFamily"),
					 "primary ipFamily can not be unset");
		if (nn > 0 && strcmp(arr_str(spec, "ipFamilies", 0), arr_str(ospec, "ipFamilies", 0)) != 0)
			err_invalid_text(e, "spec.ipFamilies[0]", go_strs(spec, "clusterIPs", "[]string"),
					 "may not change once set");
		const char *pol = p_str(spec, "ipFamilyPolicy");
		if (nn == 1 && !(pol && strcmp(pol, "SingleStack") == 0))
			err_invalid_text(
			    e, "spec.ipFamilyPolicy", go_ptr_str(pol),
			    "must be set to 'SingleStack' when releasing the secondary ipFamily");
	} else if (on > 0 && nn > 0 &&
		   strcmp(arr_str(spec, "ipFamilies", 0), arr_str(ospec, "ipFamilies", 0)) != 0) {
		err_invalid_text(e, "spec.ipFamilies[0]", go_strs(spec, "clusterIPs", "[]string"),
				 "may not change once set");
	}
}

/* validateServicePort. */
static void validate_port(const json_t *ports, size_t i, struct api_errs *e)
{
	char *f;
	const json_t *p = json_array_get(ports, i);
	const char *name = s_str(p, "name");
	if (json_array_size(ports) > 1 && !*name) {
		f = xasprintf("spec.ports[%zu].name", i);
		api_err_required(e, f, NULL);
		free(f);
	} else if (*name) {
		const char *m = api_check_dns1123_label(name);
		f = xasprintf("spec.ports[%zu].name", i);
		if (m)
			err_invalid_str(e, f, name, m);
		for (size_t j = 0; j < i; j++)
			if (strcmp(s_str(json_array_get(ports, j), "name"), name) == 0) {
				err_duplicate_str(e, f, name);
				break;
			}
		free(f);
	}
	f = xasprintf("spec.ports[%zu].port", i);
	const json_t *port = json_object_get(p, "port");
	if (!json_is_integer(port))
		err_invalid_int(e, f, 0, MSG_PORT_RANGE);
	else if (json_integer_value(port) < 1 || json_integer_value(port) > 65535)
		err_invalid_int(e, f, json_integer_value(port), MSG_PORT_RANGE);
	free(f);
	const char *proto = s_str(p, "protocol");
	f = xasprintf("spec.ports[%zu].protocol", i);
	if (!*proto)
		api_err_required(e, f, NULL);
	else if (!in_list(proto, protocols))
		err_not_supported_str(e, f, proto, protocols);
	free(f);
	const json_t *tp = json_object_get(p, "targetPort");
	f = xasprintf("spec.ports[%zu].targetPort", i);
	if (json_is_integer(tp)) {
		if (json_integer_value(tp) < 1 || json_integer_value(tp) > 65535)
			err_invalid_int(e, f, json_integer_value(tp), MSG_PORT_RANGE);
	} else if (json_is_string(tp)) {
		const char *m = api_check_iana_svc_name(json_string_value(tp));
		if (m)
			err_invalid_str(e, f, json_string_value(tp), m);
	} else {
		err_invalid_int(e, f, 0, MSG_PORT_RANGE);
	}
	free(f);
	const char *ap = p_str(p, "appProtocol");
	if (ap) {
		const char *m = api_check_qualified_name(ap);
		if (m) {
			f = xasprintf("spec.ports[%zu].appProtocol", i);
			err_invalid_str(e, f, ap, m);
			free(f);
		}
	}
}

/* ValidateNonSpecialIP. */
static bool valid_cidr(const char *s)
{
	struct cidr c;
	return cidr_parse(s, &c, NULL, 0) == 0;
}

static char *trim_dup(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r' ||
		     s[n - 1] == '\v' || s[n - 1] == '\f'))
		n--;
	return xstrndup(s, n);
}

/* The %#v of the core.ServicePort key Kubernetes reports for a duplicate port. */
static char *go_service_port_key(const char *proto, long long port)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "core.ServicePort{Name:\"\", Protocol:");
	buf_put_goquoted(&b, proto);
	buf_printf(&b,
		   ", AppProtocol:(*string)(nil), Port:%lld, TargetPort:intstr.IntOrString{Type:0, IntVal:0, "
		   "StrVal:\"\"}, NodePort:0}",
		   port);
	return buf_take(&b);
}

/* validateClientIPAffinityConfig. */
static void validate_client_ip_affinity(const json_t *spec, struct api_errs *e)
{
	const char *when = "when session affinity type is ClientIP";
	const json_t *cfg = json_object_get(spec, "sessionAffinityConfig");
	if (is_nil(cfg)) {
		api_err_required(e, "spec.sessionAffinityConfig", when);
		return;
	}
	const json_t *cip = json_object_get(cfg, "clientIP");
	if (is_nil(cip)) {
		api_err_required(e, "spec.sessionAffinityConfig.clientIP", when);
		return;
	}
	const json_t *t = json_object_get(cip, "timeoutSeconds");
	if (is_nil(t)) {
		api_err_required(e, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", when);
		return;
	}
	if (!json_is_integer(t) || json_integer_value(t) <= 0 || json_integer_value(t) > 86400)
		api_err_invalid(e, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", t,
				"must be greater than 0 and less than 86400");
}

/* ValidateService (validation.go). */
static void validate_service(const json_t *svc, const json_t *ospec, struct api_errs *e)
{
	const json_t *spec = spec_of(svc);
	const json_t *meta = json_object_get(svc, "metadata");
	const json_t *ann = json_object_get(meta, "annotations");
	const char *name = s_str(meta, "name");
	if (!*name) {
		api_err_required(e, "metadata.name", "name or generateName is required");
	} else {
		const char *m = api_check_dns1035_label(name);
		if (m)
			err_invalid_str(e, "metadata.name", name, m);
	}
	const char *tmode = p_str(ann, ANN_TOPOLOGY_MODE), *thints = p_str(ann, ANN_TOPOLOGY_HINTS);
	if (tmode && thints && strcmp(tmode, thints) != 0)
		err_invalid_str(e, "metadata.annotations[" ANN_TOPOLOGY_MODE "]", tmode,
				"must match annotations[" ANN_TOPOLOGY_HINTS "] when both are specified");

	const char *type = s_str(spec, "type");
	bool headless = is_headless(spec);
	size_t nports = n_arr(spec, "ports");
	if (nports == 0 && !headless && strcmp(type, "ExternalName") != 0)
		api_err_required(e, "spec.ports", NULL);
	if (strcmp(type, "LoadBalancer") == 0 && headless) {
		err_invalid_str(e, "spec.clusterIPs[0]", "None",
				"may not be set to 'None' for LoadBalancer services");
	} else if (strcmp(type, "NodePort") == 0 && headless) {
		err_invalid_str(e, "spec.clusterIPs[0]", "None",
				"may not be set to 'None' for NodePort services");
	} else if (strcmp(type, "ExternalName") == 0) {
		if (n_arr(spec, "clusterIPs") > 0)
			api_err_forbidden(e, "spec.clusterIPs", "may not be set for ExternalName services");
		if (n_arr(spec, "ipFamilies") > 0)
			api_err_forbidden(e, "spec.ipFamilies", "may not be set for ExternalName services");
		if (!is_nil(json_object_get(spec, "ipFamilyPolicy")))
			api_err_forbidden(e, "spec.ipFamilyPolicy",
					  "may not be set for ExternalName services");
		const char *en = s_str(spec, "externalName");
		size_t len = strlen(en);
		char *cname = xstrndup(en, len && en[len - 1] == '.' ? len - 1 : len);
		if (*cname) {
			const char *m = api_check_dns1123_subdomain(cname);
			if (m)
				err_invalid_str(e, "spec.externalName", cname, m);
		} else {
			api_err_required(e, "spec.externalName", NULL);
		}
		free(cname);
	}

	const json_t *ports = json_object_get(spec, "ports");
	for (size_t i = 0; i < nports; i++)
		validate_port(ports, i, e);

	const json_t *sel = json_object_get(spec, "selector");
	if (!is_nil(sel))
		api_validate_labels(sel, "spec.selector", e);

	const char *aff = s_str(spec, "sessionAffinity");
	if (!*aff)
		api_err_required(e, "spec.sessionAffinity", NULL);
	else if (!in_list(aff, affinities))
		err_not_supported_str(e, "spec.sessionAffinity", aff, affinities);
	if (strcmp(aff, "ClientIP") == 0)
		validate_client_ip_affinity(spec, e);
	else if (strcmp(aff, "None") == 0 && !is_nil(json_object_get(spec, "sessionAffinityConfig")))
		api_err_forbidden(e, "spec.sessionAffinityConfig",
				  "must not be set when session affinity is None");

	validate_cluster_ips_related(spec, e);

	for (size_t i = 0; i < n_arr(spec, "externalIPs"); i++) {
		const char *ip = arr_str(spec, "externalIPs", i);
		char *f = xasprintf("spec.externalIPs[%zu]", i);
		if (api_ip_family(ip) == 0)
			err_invalid_str(e, f, ip, MSG_BAD_IP);
		else
			api_validate_non_special_ip(ip, f, e);
		free(f);
	}

	if (!*type)
		api_err_required(e, "spec.type", NULL);
	else if (!in_list(type, service_types))
		err_not_supported_str(e, "spec.type", type, service_types);

	if (strcmp(type, "ClusterIP") == 0) {
		for (size_t i = 0; i < nports; i++)
			if (i_val(json_array_get(ports, i), "nodePort") != 0) {
				char *f = xasprintf("spec.ports[%zu].nodePort", i);
				api_err_forbidden(e, f, "may not be used when `type` is 'ClusterIP'");
				free(f);
			}
	}
	for (size_t i = 0; i < nports; i++) {
		const json_t *p = json_array_get(ports, i);
		long long np = i_val(p, "nodePort");
		if (!np)
			continue;
		for (size_t j = 0; j < i; j++) {
			const json_t *q = json_array_get(ports, j);
			if (i_val(q, "nodePort") == np &&
			    strcmp(s_str(q, "protocol"), s_str(p, "protocol")) == 0) {
				char *f = xasprintf("spec.ports[%zu].nodePort", i);
				err_duplicate_int(e, f, np);
				free(f);
				break;
			}
		}
	}
	for (size_t i = 0; i < nports; i++) {
		const json_t *p = json_array_get(ports, i);
		for (size_t j = 0; j < i; j++) {
			const json_t *q = json_array_get(ports, j);
			if (i_val(q, "port") == i_val(p, "port") &&
			    strcmp(s_str(q, "protocol"), s_str(p, "protocol")) == 0) {
				char *f = xasprintf("spec.ports[%zu]", i);
				char *key = go_service_port_key(s_str(p, "protocol"), i_val(p, "port"));
				add_cause(e, "FieldValueDuplicate", f, xasprintf("Duplicate value: %s", key));
				free(key);
				free(f);
				break;
			}
		}
	}

	size_t nsr = n_arr(spec, "loadBalancerSourceRanges");
	const char *sr_ann = p_str(ann, ANN_LB_SOURCE_RANGES);
	if (nsr > 0) {
		if (strcmp(type, "LoadBalancer") != 0)
			api_err_forbidden(e, "spec.LoadBalancerSourceRanges", MSG_ONLY_LB);
		for (size_t i = 0; i < nsr; i++) {
			const char *v = arr_str(spec, "loadBalancerSourceRanges", i);
			char *t = trim_dup(v, strlen(v));
			if (!valid_cidr(t)) {
				char *f = xasprintf("spec.LoadBalancerSourceRanges[%zu]", i);
				err_invalid_str(e, f, t, MSG_BAD_CIDR);
				free(f);
			}
			free(t);
		}
	} else if (sr_ann) {
		const char *f = "metadata.annotations[" ANN_LB_SOURCE_RANGES "]";
		if (strcmp(type, "LoadBalancer") != 0)
			api_err_forbidden(e, f, MSG_ONLY_LB);
		char *all = trim_dup(sr_ann, strlen(sr_ann));
		for (const char *p = all; *all;) {
			const char *comma = strchr(p, ',');
			size_t n = comma ? (size_t)(comma - p) : strlen(p);
			char *t = trim_dup(p, n);
			if (!valid_cidr(t))
				err_invalid_str(e, f, t, MSG_BAD_CIDR);
			free(t);
			if (!comma)
				break;
			p = comma + 1;
		}
		free(all);
	}

	const json_t *alloc = json_object_get(spec, "allocateLoadBalancerNodePorts");
	if (!is_nil(alloc) && strcmp(type, "LoadBalancer") != 0)
		api_err_forbidden(e, "spec.allocateLoadBalancerNodePorts", MSG_ONLY_LB);
	if (strcmp(type, "LoadBalancer") == 0 && is_nil(alloc))
		api_err_required(e, "allocateLoadBalancerNodePorts", NULL);

	/* validateLoadBalancerClassField (the update half is in api_service_validate). */
	const char *lbc = p_str(spec, "loadBalancerClass");
	if (lbc && strcmp(type, "LoadBalancer") == 0) {
		const char *m = api_check_qualified_name(lbc);
		if (m)
			err_invalid_str(e, "spec.loadBalancerClass", lbc, m);
	} else if (lbc) {
		api_err_forbidden(e, "spec.loadBalancerClass", MSG_ONLY_LB);
	}

	/* validateServiceExternalTrafficPolicy. */
	const char *etp = s_str(spec, "externalTrafficPolicy");
	if (!externally_accessible(spec)) {
		if (*etp)
			err_invalid_str(e, "spec.externalTrafficPolicy", etp,
					"may only be set for externally-accessible services");
	} else if (!*etp) {
		api_err_required(e, "spec.externalTrafficPolicy", NULL);
	} else if (!in_list(etp, traffic_policies)) {
		err_not_supported_str(e, "spec.externalTrafficPolicy", etp, traffic_policies);
	}
	long long hc = i_val(spec, "healthCheckNodePort");
	if (!needs_hc(spec)) {
		if (hc != 0)
			err_invalid_int(
			    e, "spec.healthCheckNodePort", hc,
			    "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is "
			    "'Local'");
	} else if (hc == 0) {
		/* Kubernetes allocates before it validates, so its Required error here never
		 * shows on a normal write; here validation comes first and 0 means "allocate
		 * one" (api_service_needs lists it). */
	} else if (hc < 1 || hc > 65535) {
		err_invalid_int(e, "spec.healthCheckNodePort", hc, MSG_PORT_RANGE);
	}

	/* validateServiceInternalTrafficFieldsValue. */
	const char *itp = p_str(spec, "internalTrafficPolicy");
	if (!itp && (strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0 ||
		     strcmp(type, "ClusterIP") == 0))
		api_err_required(e, "spec.internalTrafficPolicy", NULL);
	if (itp && !in_list(itp, traffic_policies))
		err_not_supported_str(e, "spec.internalTrafficPolicy", itp, traffic_policies);

	/* validateServiceTrafficDistribution. */
	const char *td = p_str(spec, "trafficDistribution");
	if (td && !in_list(td, traffic_distributions))
		err_not_supported_str(e, "spec.trafficDistribution", td, traffic_distributions);
	(void)ospec;
}

bool api_service_external_ips_denied(const json_t *svc, const json_t *old,
				     const struct api_service_config *cfg)
{
	const json_t *spec = spec_of(svc), *ospec = spec_of(old);
	if ((cfg && cfg->allow_external_ips) || n_arr(spec, "externalIPs") == 0)
		return false;
	if (!old)
		return true;
	for (size_t i = 0; i < n_arr(spec, "externalIPs"); i++) {
		bool found = false;
		for (size_t j = 0; j < n_arr(ospec, "externalIPs"); j++)
			if (strcmp(arr_str(spec, "externalIPs", i), arr_str(ospec, "externalIPs", j)) == 0)
				found = true;
		if (!found)
			return true;
	}
	return false;
}

void api_service_validate(const json_t *svc, const json_t *old, const struct api_service_config *cfg,
			  struct api_errs *e)
{
	static const struct api_service_config none = {
	    .nranges = 0, .node_port_min = 30000, .node_port_max = 32767};
	if (!cfg)
		cfg = &none;
	const json_t *spec = spec_of(svc), *ospec = old ? spec_of(old) : NULL;
	if (!json_is_object(spec)) {
		api_err_required(e, "spec", NULL);
		return;
	}
	size_t before = api_errs_count(e);
	if (!is_type(spec, "ExternalName") && !matching_prefer_dual(spec, ospec)) {
		stage_families(spec, ospec, cfg, e);
		if (api_errs_count(e) > before)
			return;
	}
	stage_ips(spec, ospec, cfg, e);
	if (api_errs_count(e) > before)
		return;
	stage_ports(spec, ospec, cfg, e);
	if (api_errs_count(e) > before)
		return;
	if (ospec) {
		validate_updown_ips(spec, ospec, e);
		validate_updown_families(spec, ospec, e);
		if (is_type(ospec, "LoadBalancer") && is_type(spec, "LoadBalancer") &&
		    !same_ptr(p_str(ospec, "loadBalancerClass"), p_str(spec, "loadBalancerClass")))
			err_invalid_text(e, "spec.loadBalancerClass",
					 go_ptr_str(p_str(spec, "loadBalancerClass")),
					 "may not change once set");
		if (needs_hc(ospec) && needs_hc(spec) &&
		    i_val(ospec, "healthCheckNodePort") != i_val(spec, "healthCheckNodePort"))
			api_err_forbidden(e, "spec.healthCheckNodePort", "field is immutable");
	}
	validate_service(svc, ospec, e);
}

/* ValidateLoadBalancerStatus (AllowServiceLBStatusOnNonLB off, LoadBalancerIPMode on). */
void api_service_validate_status(const json_t *svc, const json_t *old, struct api_errs *e)
{
	(void)old;
	const json_t *ing = api_get(svc, "status.loadBalancer.ingress");
	size_t n = json_is_array(ing) ? json_array_size(ing) : 0;
	if (n && !is_type(spec_of(svc), "LoadBalancer")) {
		api_err_forbidden(e, "status.loadBalancer.ingress",
				  "may only be used when `spec.type` is 'LoadBalancer'");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *g = json_array_get(ing, i);
		const char *ip = s_str(g, "ip"), *host = s_str(g, "hostname"), *mode = p_str(g, "ipMode");
		char *f;
		if (*ip && api_ip_family(ip) == 0) {
			f = xasprintf("status.loadBalancer.ingress[%zu].ip", i);
			err_invalid_str(e, f, ip, MSG_BAD_IP);
			free(f);
		}
		f = xasprintf("status.loadBalancer.ingress[%zu].ipMode", i);
		if (!mode && *ip)
			api_err_required(e, f, "must be specified when `ip` is set");
		else if (mode && !*ip)
			api_err_forbidden(e, f, "may not be specified when `ip` is not set");
		else if (mode && !in_list(mode, ip_modes))
			err_not_supported_str(e, f, mode, ip_modes);
		free(f);
		if (*host) {
			f = xasprintf("status.loadBalancer.ingress[%zu].hostname", i);
			const char *m = api_check_dns1123_subdomain(host);
			if (m)
				err_invalid_str(e, f, host, m);
			if (api_ip_family(host))
				err_invalid_str(e, f, host, "must be a DNS name, not an IP address");
			free(f);
		}
	}
}

/* ---- allocation ---- */

void api_service_needs(const json_t *svc, const struct api_service_config *cfg, struct api_service_needs *out)
{
	memset(out, 0, sizeof *out);
	const json_t *spec = spec_of(svc);
	if (!json_is_object(spec))
		return;
	if (!is_type(spec, "ExternalName") && !is_headless(spec)) {
		for (size_t i = 0; i < n_arr(spec, "ipFamilies") && out->nips < 2; i++) {
			int f = family_of_name(arr_str(spec, "ipFamilies", i));
			int r = range_for(cfg, f);
			if (r < 0)
				continue;
			struct api_service_ip_need *n = &out->ips[out->nips++];
			n->family = f;
			n->range = r;
			n->any = true;
			const char *ip = i < n_arr(spec, "clusterIPs") ? arr_str(spec, "clusterIPs", i) : "";
			if (*ip && ip_parse(ip, &n->ip) == 0 && n->ip.family == f)
				n->any = false;
			else
				memset(&n->ip, 0, sizeof n->ip);
		}
	}
	if (needs_node_port(spec)) {
		const json_t *ports = json_object_get(spec, "ports");
		size_t n = json_array_size(ports);
		out->ports = n ? xcalloc(n, sizeof *out->ports) : NULL;
		for (size_t i = 0; i < n; i++) {
			const json_t *p = json_array_get(ports, i);
			long long port = i_val(p, "port"), np = i_val(p, "nodePort");
			if (np == 0 && !should_alloc_node_ports(spec))
				continue;
			struct api_service_port_need *need = &out->ports[out->nports];
			need->index = i;
			need->same_as = -1;
			/* The first earlier need for the same port number that owns its value. */
			int first = -1;
			for (size_t k = 0; k < out->nports && first < 0; k++)
				if (out->ports[k].same_as < 0 &&
				    i_val(json_array_get(ports, out->ports[k].index), "port") == port)
					first = (int)k;
			if (first < 0) {
				need->node_port = (int)requested_node_port(ports, port);
			} else {
				int owned = out->ports[first].node_port;
				if (np == 0 || np == owned)
					need->same_as = first;
				else
					need->node_port = (int)np;
			}
			out->nports++;
		}
	}
	if (needs_hc(spec)) {
		out->health_check = true;
		out->health_check_node_port = (int)i_val(spec, "healthCheckNodePort");
	}
}

void api_service_needs_fini(struct api_service_needs *n)
{
	free(n->ports);
	n->ports = NULL;
	n->nports = 0;
}

/* splitmix64: spreads a caller's seed over 64 bits. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The k-th index of a walk over [0, n) that starts at start and wraps around. */
static uint64_t walk(uint64_t start, uint64_t k, uint64_t n)
{
	return k < n - start ? start + k : k - (n - start);
}

/* calculateRangeOffset: min(max(lo, size/step), hi), 0 when size <= lo. */
static uint64_t static_band(uint64_t size, uint64_t lo, uint64_t step, uint64_t hi)
{
	if (size <= lo)
		return 0;
	uint64_t off = size / step;
	return off < lo ? lo : off > hi ? hi : off;
}

int api_service_pick_ip(const struct cidr *range, bool (*used)(const struct ip_addr *ip, void *ud), void *ud,
			uint64_t seed, struct ip_addr *out)
{
	uint64_t n = cidr_usable(range);
	uint64_t off = static_band(cidr_size(range), 16, 16, 256);
	if (off > n)
		off = n;
	/* Usable addresses are offsets 1..n; the static band is 1..off. */
	struct {
		uint64_t first, count, seed;
	} bands[2] = {{1 + off, n - off, mix(seed)}, {1, off, mix(seed ^ 0x5bd1e995)}};
	for (int b = 0; b < 2; b++) {
		uint64_t cnt = bands[b].count;
		if (!cnt)
			continue;
		uint64_t start = bands[b].seed % cnt;
		for (uint64_t k = 0; k < cnt; k++) {
			struct ip_addr ip;
			if (cidr_nth(range, bands[b].first + walk(start, k, cnt), &ip) < 0)
				break;
			if (!used || !used(&ip, ud)) {
				*out = ip;
				return 0;
			}
		}
	}
	return ERR_FULL;
}

int api_service_pick_node_port(int min, int max, bool (*used)(int port, void *ud), void *ud, uint64_t seed,
			       int *out)
{
	if (min > max || min < 0)
		return -EINVAL;
	uint64_t size = (uint64_t)(max - min) + 1;
	uint64_t off = static_band(size, 16, 32, 128);
	struct {
		uint64_t first, count, seed;
	} bands[2] = {{(uint64_t)min + off, size - off, mix(seed)},
		      {(uint64_t)min, off, mix(seed ^ 0x5bd1e995)}};
	for (int b = 0; b < 2; b++) {
		uint64_t cnt = bands[b].count;
		if (!cnt)
			continue;
		uint64_t start = bands[b].seed % cnt;
		for (uint64_t k = 0; k < cnt; k++) {
			int port = (int)(bands[b].first + walk(start, k, cnt));
			if (!used || !used(port, ud)) {
				*out = port;
				return 0;
			}
		}
	}
	return ERR_FULL;
}

int api_service_well_known_ip(const struct cidr *range, uint64_t n, struct ip_addr *out)
{
	struct ip_addr ip;
	if (cidr_nth(range, n, &ip) < 0 || !cidr_is_usable(range, &ip))
		return -ERANGE;
	*out = ip;
	return 0;
}

void api_service_err_ip_taken(struct api_errs *e, const json_t *svc, const char *ip)
{
	char *msg = xasprintf("failed to allocate IP %s: provided IP is already allocated", ip);
	err_invalid_text(e, "spec.clusterIPs", go_strs(spec_of(svc), "clusterIPs", "[]string"), msg);
	free(msg);
}

void api_service_err_port_taken(struct api_errs *e, size_t index, int node_port)
{
	char *f = xasprintf("spec.ports[%zu].nodePort", index);
	err_invalid_int(e, f, node_port, "provided port is already allocated");
	free(f);
}
