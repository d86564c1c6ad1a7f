/* test_service.c - Service defaulting, validation and allocation (api/service.h), checked
 * against kube-apiserver's messages and field paths.
 *
 * Objects are written as JSON with single quotes (turned into double quotes before
 * parsing) to keep the tables readable. Every address comes from 198.18.0.0/15 or
 * 2001:db8::/32: the Service range is 198.19.0.0/16 and, for dual-stack, 2001:db8:1::/108.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/service.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "harness/t.h"

enum { V4, DUAL, V6DUAL, V4EXT };

static struct api_service_config config(int kind)
{
	struct api_service_config c = {.node_port_min = 30000, .node_port_max = 32767};
	cidr_parse("198.19.0.0/16", &c.ranges[0], NULL, 0);
	c.nranges = 1;
	if (kind == DUAL) {
		cidr_parse("2001:db8:1::/108", &c.ranges[1], NULL, 0);
		c.nranges = 2;
	} else if (kind == V6DUAL) {
		cidr_parse("2001:db8:1::/108", &c.ranges[0], NULL, 0);
		cidr_parse("198.19.0.0/16", &c.ranges[1], NULL, 0);
		c.nranges = 2;
	}
	c.allow_external_ips = kind == V4EXT;
	return c;
}

static json_t *jq(const char *text)
{
	char *s = xstrdup(text);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t err;
	json_t *j = json_loads(s, 0, &err);
	free(s);
	if (!j)
		t_fail(__FILE__, __LINE__, "bad test JSON (%s): %s", err.text, text);
	return j;
}

/* "field: message" per cause, joined by newlines; "" when there is none. */
static char *errs_text(const struct api_errs *e)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "");
	size_t i;
	json_t *c;
	json_array_foreach(e->causes, i, c)
	{
		buf_printf(&b, "%s%s: %s", i ? "\n" : "", json_string_value(json_object_get(c, "field")),
			   json_string_value(json_object_get(c, "message")));
	}
	return buf_take(&b);
}

/* Defaults then validates svc (old: the stored object, or NULL); returns errs_text. */
static char *run_json(json_t *svc, const json_t *old, int kind)
{
	struct api_service_config c = config(kind);
	api_service_default(svc, old, &c);
	struct api_errs e;
	api_errs_init(&e);
	api_service_validate(svc, old, &c, &e);
	char *out = errs_text(&e);
	/* The admission rule comes next and answers 403, as the API server does. */
	if (!out[0] && api_service_external_ips_denied(svc, old, &c)) {
		free(out);
		out = xstrdup("403 Forbidden: " API_SERVICE_EXTERNAL_IPS_DENIED);
	}
	api_errs_fini(&e);
	return out;
}

static char *run(const char *svc, const char *old, int kind)
{
	json_t *s = jq(svc), *o = old ? jq(old) : NULL;
	char *out = run_json(s, o, kind);
	json_decref(s);
	json_decref(o);
	return out;
}

/* want "" (accepted), an exact text, or a prefix ending in '*'. */
static void expect(const char *file, int line, const char *name, const char *got, const char *want)
{
	size_t n = strlen(want);
	bool ok = n && want[n - 1] == '*' ? strncmp(got, want, n - 1) == 0 : strcmp(got, want) == 0;
	if (!ok)
		t_fail(file, line, "case %s:\n  got:  %s\n  want: %s", name, got[0] ? got : "(accepted)",
		       want[0] ? want : "(accepted)");
}

#define M "'metadata':{'name':'web','namespace':'ns1'}"
#define P80 "'ports':[{'port':80,'targetPort':8080}]"

struct vcase {
	const char *name; /* the rule of research note 5.6 it exercises */
	int kind;
	const char *svc;
	const char *want;
};

static const struct vcase create_cases[] = {
    /* SV-1: metadata.name is a DNS-1035 label. */
    {"SV-1 ok", V4, "{" M ",'spec':{" P80 "}}", ""},
    {"SV-1 leading digit", V4, "{'metadata':{'name':'1web'},'spec':{" P80 "}}",
     "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric "
     "characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. "
     "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"},
    {"SV-1 missing", V4, "{'metadata':{},'spec':{" P80 "}}",
     "metadata.name: Required value: name or generateName is required"},
    /* SV-2: type. */
    {"SV-2 ok NodePort", V4, "{" M ",'spec':{'type':'NodePort'," P80 "}}", ""},
    {"SV-2 unsupported", V4, "{" M ",'spec':{'type':'Foo'," P80 "}}",
     "spec.type: Unsupported value: \"Foo\": supported values: \"ClusterIP\", \"ExternalName\", "
     "\"LoadBalancer\", \"NodePort\""},
    /* SV-3: ports required unless headless or ExternalName. */
    {"SV-3 ok headless", V4, "{" M ",'spec':{'clusterIP':'None','selector':{'app':'web'}}}", ""},
    {"SV-3 ok ExternalName", V4, "{" M ",'spec':{'type':'ExternalName','externalName':'db.example.com'}}",
     ""},
    {"SV-3 missing", V4, "{" M ",'spec':{'selector':{'app':'web'}}}", "spec.ports: Required value"},
    /* SV-4: port names. */
    {"SV-4 ok two named", V4,
     "{" M ",'spec':{'ports':[{'name':'http','port':80},{'name':'https','port':443}]}}", ""},
    {"SV-4 name required", V4, "{" M ",'spec':{'ports':[{'name':'http','port':80},{'port':443}]}}",
     "spec.ports[1].name: Required value"},
    {"SV-4 bad name", V4, "{" M ",'spec':{'ports':[{'name':'HTTP','port':80}]}}",
     "spec.ports[0].name: Invalid value: \"HTTP\": a lowercase RFC 1123 label must consist of*"},
    {"SV-4 duplicate name", V4,
     "{" M ",'spec':{'ports':[{'name':'http','port':80},{'name':'http','port':81}]}}",
     "spec.ports[1].name: Duplicate value: \"http\""},
    /* SV-5: port, protocol, targetPort, appProtocol. */
    {"SV-5 ok named target", V4,
     "{" M ",'spec':{'ports':[{'port':80,'targetPort':'http','appProtocol':'kubernetes.io/h2c'}]}}", ""},
    {"SV-5 port range", V4, "{" M ",'spec':{'ports':[{'port':70000,'targetPort':8080}]}}",
     "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"},
    {"SV-5 protocol", V4, "{" M ",'spec':{'ports':[{'port':80,'protocol':'HTTP'}]}}",
     "spec.ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""},
    {"SV-5 targetPort number", V4, "{" M ",'spec':{'ports':[{'port':80,'targetPort':70000}]}}",
     "spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive"},
    {"SV-5 targetPort name", V4, "{" M ",'spec':{'ports':[{'port':80,'targetPort':'Web_Port'}]}}",
     "spec.ports[0].targetPort: Invalid value: \"Web_Port\": must contain only alpha-numeric characters "
     "(a-z, "
     "0-9), and hyphens (-)"},
    {"SV-5 appProtocol", V4, "{" M ",'spec':{'ports':[{'port':80,'appProtocol':'bad proto!'}]}}",
     "spec.ports[0].appProtocol: Invalid value: \"bad proto!\": name part must consist of alphanumeric*"},
    /* SV-6: uniqueness and node ports. */
    {"SV-6 ok same port two protocols", V4,
     "{" M ",'spec':{'ports':[{'name':'dns','port':53,'protocol':'UDP'},{'name':'dns-tcp','port':53,'"
     "protocol':'TCP'}]}}",
     ""},
    {"SV-6 duplicate port", V4, "{" M ",'spec':{'ports':[{'name':'a','port':80},{'name':'b','port':80}]}}",
     "spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", "
     "AppProtocol:(*string)(nil), "
     "Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}"},
    {"SV-6 nodePort on ClusterIP", V4, "{" M ",'spec':{'ports':[{'port':80,'nodePort':30080}]}}",
     "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"},
    {"SV-6 ok nodePort", V4, "{" M ",'spec':{'type':'NodePort','ports':[{'port':80,'nodePort':30080}]}}", ""},
    {"SV-6 nodePort outside range", V4,
     "{" M ",'spec':{'type':'NodePort','ports':[{'port':80,'nodePort':8080}]}}",
     "spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of "
     "valid "
     "ports is 30000-32767"},
    {"SV-6 ok shared nodePort TCP+UDP", V4,
     "{" M ",'spec':{'type':'NodePort','ports':[{'name':'dns','port':53,'protocol':'UDP','nodePort':30053},"
     "{'name':'dns-tcp','port':53,'protocol':'TCP','nodePort':30053}]}}",
     ""},
    {"SV-6 nodePort twice in one Service", V4,
     "{" M ",'spec':{'type':'NodePort','ports':[{'name':'a','port':80,'nodePort':30080},{'name':'b','port':"
     "81,'nodePort':30080}]}}",
     "spec.ports[1].nodePort: Invalid value: 30080: provided port is already allocated"},
    /* SV-7: mixed protocols on a LoadBalancer. */
    {"SV-7 ok mixed LB", V4,
     "{" M ",'spec':{'type':'LoadBalancer','ports':[{'name':'a','port':53,'protocol':'UDP'},{'name':'b','"
     "port':53,'protocol':'TCP'}]}}",
     ""},
    /* SV-8: NodePort and LoadBalancer may not be headless. */
    {"SV-8 NodePort headless", V4,
     "{" M ",'spec':{'type':'NodePort','clusterIP':'None','selector':{'app':'web'}," P80 "}}",
     "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services"},
    {"SV-8 LoadBalancer headless", V4,
     "{" M ",'spec':{'type':'LoadBalancer','clusterIP':'None','selector':{'app':'web'}," P80 "}}",
     "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for LoadBalancer services"},
    /* SV-9: ExternalName. */
    {"SV-9 ok trailing dot", V4, "{" M ",'spec':{'type':'ExternalName','externalName':'db.example.com.'}}",
     ""},
    {"SV-9 required", V4, "{" M ",'spec':{'type':'ExternalName'}}", "spec.externalName: Required value"},
    {"SV-9 only one dot trimmed", V4,
     "{" M ",'spec':{'type':'ExternalName','externalName':'db.example.com..'}}",
     "spec.externalName: Invalid value: \"db.example.com.\": a lowercase RFC 1123 subdomain must consist "
     "of*"},
    {"SV-9 clusterIP forbidden", V4,
     "{" M ",'spec':{'type':'ExternalName','externalName':'db.example.com','clusterIP':'198.19.0.5'}}",
     "spec.clusterIPs: Forbidden: may not be set for ExternalName services"},
    {"SV-9 ipFamilies forbidden", V4,
     "{" M ",'spec':{'type':'ExternalName','externalName':'db.example.com','ipFamilies':['IPv4']}}",
     "spec.ipFamilies: Forbidden: may not be set for ExternalName services"},
    {"SV-9 ipFamilyPolicy forbidden", V4,
     "{" M ",'spec':{'type':'ExternalName','externalName':'db.example.com','ipFamilyPolicy':'SingleStack'}}",
     "spec.ipFamilyPolicy: Forbidden: may not be set for ExternalName services"},
    /* SV-10: selector. */
    {"SV-10 bad selector key", V4, "{" M ",'spec':{'selector':{'bad key':'x'}," P80 "}}",
     "spec.selector: Invalid value: \"bad key\": name part must consist of alphanumeric characters*"},
    /* SV-11: session affinity. */
    {"SV-11 ok ClientIP", V4, "{" M ",'spec':{'sessionAffinity':'ClientIP'," P80 "}}", ""},
    {"SV-11 ok None drops config", V4,
     "{" M ",'spec':{'sessionAffinity':'None','sessionAffinityConfig':{'clientIP':{'timeoutSeconds':5}}," P80
     "}}",
     ""},
    {"SV-11 unsupported", V4, "{" M ",'spec':{'sessionAffinity':'Sticky'," P80 "}}",
     "spec.sessionAffinity: Unsupported value: \"Sticky\": supported values: \"ClientIP\", \"None\""},
    {"SV-11 timeout 0", V4,
     "{" M
     ",'spec':{'sessionAffinity':'ClientIP','sessionAffinityConfig':{'clientIP':{'timeoutSeconds':0}}," P80
     "}}",
     "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and less "
     "than "
     "86400"},
    {"SV-11 timeout too big", V4,
     "{" M ",'spec':{'sessionAffinity':'ClientIP','sessionAffinityConfig':{'clientIP':{'timeoutSeconds':"
     "86401}}," P80 "}}",
     "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be greater than 0 and "
     "less "
     "than 86400"},
    /* SV-12: clusterIP / clusterIPs. */
    {"SV-12 ok requested", V4, "{" M ",'spec':{'clusterIP':'198.19.0.10'," P80 "}}", ""},
    {"SV-12 not an IP", V4, "{" M ",'spec':{'clusterIP':'banana'," P80 "}}",
     "spec.clusterIPs[0]: Invalid value: \"banana\": must be a valid IP address, (e.g. 10.9.8.7 or "
     "2001:db8::ffff)"},
    {"SV-12 first must match", V4,
     "{" M ",'spec':{'clusterIP':'198.19.0.10','clusterIPs':['198.19.0.11']," P80 "}}",
     "spec.clusterIPs: Invalid value: []string{\"198.19.0.11\"}: first value must match `clusterIP`"},
    {"SV-12 clusterIPs without clusterIP", V4, "{" M ",'spec':{'clusterIPs':['198.19.0.11']," P80 "}}",
     "spec.clusterIPs: Invalid value: []string{\"198.19.0.11\"}: must be empty when `clusterIP` is not "
     "specified"},
    {"SV-12 None first and only", DUAL,
     "{" M
     ",'spec':{'clusterIP':'None','clusterIPs':['None','198.19.0.1'],'ipFamilyPolicy':'PreferDualStack'," P80
     "}}",
     "spec.clusterIPs: Invalid value: []string{\"None\", \"198.19.0.1\"}: 'None' must be the first and only "
     "value"},
    {"SV-12 one IP per family", DUAL,
     "{" M ",'spec':{'clusterIP':'198.19.0.10','clusterIPs':['198.19.0.10','198.19.0.11'],'ipFamilyPolicy':'"
     "PreferDualStack'," P80 "}}",
     "spec.clusterIPs: Invalid value: []string{\"198.19.0.10\", \"198.19.0.11\"}: may specify no more than "
     "one IP "
     "for each IP family"},
    {"SV-12 at most two", DUAL,
     "{" M ",'spec':{'clusterIP':'198.19.0.10','clusterIPs':['198.19.0.10','2001:db8:1::a','198.19.0.11'],"
     "'ipFamilyPolicy':'PreferDualStack'," P80 "}}",
     "spec.clusterIPs: Invalid value: []string{\"198.19.0.10\", \"2001:db8:1::a\", \"198.19.0.11\"}: may "
     "only hold "
     "up to 2 values"},
    {"SV-12 ok dual requested", DUAL,
     "{" M ",'spec':{'clusterIP':'198.19.0.10','clusterIPs':['198.19.0.10','2001:db8:1::a'],'ipFamilyPolicy':"
     "'RequireDualStack'," P80 "}}",
     ""},
    /* SV-13: ipFamilies, ipFamilyPolicy, ranges. */
    {"SV-13 ok PreferDualStack", DUAL, "{" M ",'spec':{'ipFamilyPolicy':'PreferDualStack'," P80 "}}", ""},
    {"SV-13 ok PreferDualStack on single stack", V4,
     "{" M ",'spec':{'ipFamilyPolicy':'PreferDualStack'," P80 "}}", ""},
    {"SV-13 unsupported family", DUAL, "{" M ",'spec':{'ipFamilies':['IPv5']," P80 "}}",
     "spec.ipFamilies[0]: Unsupported value: \"IPv5\": supported values: \"IPv4\", \"IPv6\""},
    {"SV-13 duplicate family", DUAL,
     "{" M ",'spec':{'ipFamilyPolicy':'PreferDualStack','ipFamilies':['IPv4','IPv4']," P80 "}}",
     "spec.ipFamilies[1]: Duplicate value: \"IPv4\""},
    {"SV-13 unsupported policy", V4, "{" M ",'spec':{'ipFamilyPolicy':'DualStack'," P80 "}}",
     "spec.ipFamilyPolicy: Unsupported value: \"DualStack\": supported values: \"PreferDualStack\", "
     "\"RequireDualStack\", \"SingleStack\""},
    {"SV-13 family mismatch", DUAL,
     "{" M ",'spec':{'clusterIP':'198.19.0.10','ipFamilies':['IPv6']," P80 "}}",
     "spec.clusterIPs[0]: Invalid value: \"198.19.0.10\": expected an IPv6 value as indicated by "
     "`ipFamilies[0]`"},
    {"SV-13 RequireDualStack on single stack", V4,
     "{" M ",'spec':{'ipFamilyPolicy':'RequireDualStack'," P80 "}}",
     "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": this cluster is not configured for "
     "dual-stack "
     "services"},
    {"SV-13 family not configured", V4, "{" M ",'spec':{'ipFamilies':['IPv6']," P80 "}}",
     "spec.ipFamilies[0]: Invalid value: \"IPv6\": not configured on this cluster"},
    {"SV-13 IP family not configured", V4, "{" M ",'spec':{'clusterIP':'2001:db8:1::5'," P80 "}}",
     "spec.clusterIPs[0]: Invalid value: []string{\"2001:db8:1::5\"}: IPv6 is not configured on this "
     "cluster"},
    {"SV-13 SingleStack with two families", DUAL,
     "{" M ",'spec':{'ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4','IPv6']," P80 "}}",
     "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' or 'PreferDualStack' "
     "when "
     "multiple IP families are specified"},
    {"SV-13 outside the range", V4, "{" M ",'spec':{'clusterIP':'198.18.0.1'," P80 "}}",
     "spec.clusterIPs: Invalid value: []string{\"198.18.0.1\"}: failed to allocate IP 198.18.0.1: the "
     "provided IP "
     "(198.18.0.1) is not in the valid range. The range of valid IPs is 198.19.0.0/16"},
    {"SV-13 network address", V4, "{" M ",'spec':{'clusterIP':'198.19.0.0'," P80 "}}",
     "spec.clusterIPs: Invalid value: []string{\"198.19.0.0\"}: failed to allocate IP 198.19.0.0: the "
     "provided IP "
     "(198.19.0.0) is not in the valid range. The range of valid IPs is 198.19.0.0/16"},
    {"SV-13 IPv6 outside the range", DUAL,
     "{" M ",'spec':{'clusterIP':'2001:db8:2::1','ipFamilies':['IPv6']," P80 "}}",
     "spec.clusterIPs: Invalid value: []string{\"2001:db8:2::1\"}: failed to allocate IP 2001:db8:2::1: the "
     "provided IP (2001:db8:2::1) is not in the valid range. The range of valid IPs is 2001:db8:1::/108"},
    /* SV-15: externalIPs. */
    {"SV-15 ok allowed", V4EXT, "{" M ",'spec':{'externalIPs':['198.18.5.5']," P80 "}}", ""},
    {"SV-15 denied by admission", V4, "{" M ",'spec':{'externalIPs':['198.18.5.5']," P80 "}}",
     "403 Forbidden: Use of external IPs is denied by admission control"},
    {"SV-15 not an IP", V4EXT, "{" M ",'spec':{'externalIPs':['nope']," P80 "}}",
     "spec.externalIPs[0]: Invalid value: \"nope\": must be a valid IP address, (e.g. 10.9.8.7 or "
     "2001:db8::ffff)"},
    {"SV-15 loopback", V4EXT, "{" M ",'spec':{'externalIPs':['127.0.0.1']," P80 "}}",
     "spec.externalIPs[0]: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, "
     "::1/128)"},
    {"SV-15 unspecified", V4EXT, "{" M ",'spec':{'externalIPs':['0.0.0.0']," P80 "}}",
     "spec.externalIPs[0]: Invalid value: \"0.0.0.0\": may not be unspecified (0.0.0.0)"},
    {"SV-15 link-local", V4EXT, "{" M ",'spec':{'externalIPs':['fe80::1']," P80 "}}",
     "spec.externalIPs[0]: Invalid value: \"fe80::1\": may not be in the link-local range (169.254.0.0/16, "
     "fe80::/10)"},
    {"SV-15 link-local multicast", V4EXT, "{" M ",'spec':{'externalIPs':['224.0.0.1']," P80 "}}",
     "spec.externalIPs[0]: Invalid value: \"224.0.0.1\": may not be in the link-local multicast range "
     "(224.0.0.0/24, ff02::/10)"},
    /* SV-16: loadBalancerSourceRanges. */
    {"SV-16 ok", V4,
     "{" M
     ",'spec':{'type':'LoadBalancer','loadBalancerSourceRanges':['198.18.0.0/15',' 2001:db8::/32 ']," P80
     "}}",
     ""},
    {"SV-16 not LoadBalancer", V4, "{" M ",'spec':{'loadBalancerSourceRanges':['198.18.0.0/15']," P80 "}}",
     "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'"},
    {"SV-16 bad CIDR", V4,
     "{" M ",'spec':{'type':'LoadBalancer','loadBalancerSourceRanges':['198.18.0.0/33']," P80 "}}",
     "spec.LoadBalancerSourceRanges[0]: Invalid value: \"198.18.0.0/33\": must be a valid CIDR value, (e.g. "
     "10.9.8.0/24 or 2001:db8::/64)"},
    {"SV-16 annotation", V4,
     "{'metadata':{'name':'web','annotations':{'service.beta.kubernetes.io/load-balancer-source-ranges':"
     "'198.18.0.0/15, nope'}},'spec':{'type':'LoadBalancer'," P80 "}}",
     "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: Invalid value: \"nope\": "
     "must "
     "be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"},
    /* SV-17: allocateLoadBalancerNodePorts. */
    {"SV-17 ok false", V4,
     "{" M ",'spec':{'type':'LoadBalancer','allocateLoadBalancerNodePorts':false," P80 "}}", ""},
    {"SV-17 not LoadBalancer", V4, "{" M ",'spec':{'allocateLoadBalancerNodePorts':false," P80 "}}",
     "spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is 'LoadBalancer'"},
    /* SV-18: loadBalancerClass. */
    {"SV-18 ok", V4, "{" M ",'spec':{'type':'LoadBalancer','loadBalancerClass':'example.com/lb'," P80 "}}",
     ""},
    {"SV-18 not LoadBalancer", V4, "{" M ",'spec':{'loadBalancerClass':'example.com/lb'," P80 "}}",
     "spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'"},
    {"SV-18 bad name", V4, "{" M ",'spec':{'type':'LoadBalancer','loadBalancerClass':'bad class!'," P80 "}}",
     "spec.loadBalancerClass: Invalid value: \"bad class!\": name part must consist of*"},
    /* SV-19: externalTrafficPolicy. */
    {"SV-19 ok Local", V4, "{" M ",'spec':{'type':'NodePort','externalTrafficPolicy':'Local'," P80 "}}", ""},
    {"SV-19 ok externalIPs", V4EXT,
     "{" M ",'spec':{'externalIPs':['198.18.5.5'],'externalTrafficPolicy':'Local'," P80 "}}", ""},
    {"SV-19 not external", V4, "{" M ",'spec':{'externalTrafficPolicy':'Local'," P80 "}}",
     "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set for externally-accessible "
     "services"},
    {"SV-19 unsupported", V4, "{" M ",'spec':{'type':'NodePort','externalTrafficPolicy':'Global'," P80 "}}",
     "spec.externalTrafficPolicy: Unsupported value: \"Global\": supported values: \"Cluster\", \"Local\""},
    /* SV-20: healthCheckNodePort. */
    {"SV-20 ok requested", V4,
     "{" M ",'spec':{'type':'LoadBalancer','externalTrafficPolicy':'Local','healthCheckNodePort':30100," P80
     "}}",
     ""},
    {"SV-20 ok allocated later", V4,
     "{" M ",'spec':{'type':'LoadBalancer','externalTrafficPolicy':'Local'," P80 "}}", ""},
    {"SV-20 not needed", V4, "{" M ",'spec':{'type':'NodePort','healthCheckNodePort':30100," P80 "}}",
     "spec.healthCheckNodePort: Invalid value: 30100: may only be set when `type` is 'LoadBalancer' and "
     "`externalTrafficPolicy` is 'Local'"},
    {"SV-20 outside range", V4,
     "{" M ",'spec':{'type':'LoadBalancer','externalTrafficPolicy':'Local','healthCheckNodePort':80," P80
     "}}",
     "spec.healthCheckNodePort: Invalid value: 80: failed to allocate requested HealthCheck NodePort 80: "
     "provided "
     "port is not in the valid range. The range of valid ports is 30000-32767"},
    /* SV-21: internalTrafficPolicy. */
    {"SV-21 ok Local", V4, "{" M ",'spec':{'internalTrafficPolicy':'Local'," P80 "}}", ""},
    {"SV-21 unsupported", V4, "{" M ",'spec':{'internalTrafficPolicy':'Node'," P80 "}}",
     "spec.internalTrafficPolicy: Unsupported value: \"Node\": supported values: \"Cluster\", \"Local\""},
    /* SV-22: trafficDistribution. */
    {"SV-22 ok PreferClose", V4, "{" M ",'spec':{'trafficDistribution':'PreferClose'," P80 "}}", ""},
    {"SV-22 ok PreferSameZone", V4, "{" M ",'spec':{'trafficDistribution':'PreferSameZone'," P80 "}}", ""},
    {"SV-22 unsupported", V4, "{" M ",'spec':{'trafficDistribution':'Nearest'," P80 "}}",
     "spec.trafficDistribution: Unsupported value: \"Nearest\": supported values: \"PreferClose\", "
     "\"PreferSameNode\", \"PreferSameZone\""},
    /* SV-23: topology annotations. */
    {"SV-23 ok equal", V4,
     "{'metadata':{'name':'web','annotations':{'service.kubernetes.io/topology-mode':'Auto',"
     "'service.kubernetes.io/topology-aware-hints':'Auto'}},'spec':{" P80 "}}",
     ""},
    {"SV-23 mismatch", V4,
     "{'metadata':{'name':'web','annotations':{'service.kubernetes.io/topology-mode':'Auto',"
     "'service.kubernetes.io/topology-aware-hints':'Disabled'}},'spec':{" P80 "}}",
     "metadata.annotations[service.kubernetes.io/topology-mode]: Invalid value: \"Auto\": must match "
     "annotations[service.kubernetes.io/topology-aware-hints] when both are specified"},
};

TEST(svc_validate_create_table)
{
	for (size_t i = 0; i < sizeof create_cases / sizeof create_cases[0]; i++) {
		const struct vcase *c = &create_cases[i];
		char *got = run(c->svc, NULL, c->kind);
		expect(__FILE__, __LINE__, c->name, got, c->want);
		free(got);
	}
}

/* Rules that defaulting always satisfies, seen by validating a raw object. */
TEST(svc_validate_required_without_defaults)
{
	struct api_service_config c = config(V4);
	struct api_errs e;
	api_errs_init(&e);
	json_t *s = jq("{" M ",'spec':{'ports':[{'port':80,'targetPort':80}]}}");
	api_service_validate(s, NULL, &c, &e);
	char *got = errs_text(&e);
	ASSERT_STR_EQ(got, "spec.ports[0].protocol: Required value\n"
			   "spec.sessionAffinity: Required value\n"
			   "spec.type: Required value");
	free(got);
	json_decref(s);
	api_errs_fini(&e);

	api_errs_init(&e);
	s = jq("{" M ",'spec':{'type':'LoadBalancer','sessionAffinity':'None','ports':[{'port':80,'protocol':"
	       "'TCP','targetPort':80}]}}");
	api_service_validate(s, NULL, &c, &e);
	got = errs_text(&e);
	ASSERT_STR_EQ(got, "allocateLoadBalancerNodePorts: Required value\n"
			   "spec.externalTrafficPolicy: Required value\n"
			   "spec.internalTrafficPolicy: Required value");
	free(got);
	json_decref(s);
	api_errs_fini(&e);

	api_errs_init(&e);
	s = jq("{" M ",'spec':{'type':'ClusterIP','sessionAffinity':'None','internalTrafficPolicy':'Cluster',"
	       "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':5}},'ports':[{'port':80,'protocol':'"
	       "TCP','targetPort':80}]}}");
	api_service_validate(s, NULL, &c, &e);
	got = errs_text(&e);
	ASSERT_STR_EQ(got,
		      "spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None");
	free(got);
	json_decref(s);
	api_errs_fini(&e);

	api_errs_init(&e);
	s = jq("{" M
	       ",'spec':{'type':'ClusterIP','sessionAffinity':'ClientIP','internalTrafficPolicy':'Cluster',"
	       "'ports':[{'port':80,'protocol':'TCP','targetPort':80}]}}");
	api_service_validate(s, NULL, &c, &e);
	got = errs_text(&e);
	ASSERT_STR_EQ(got,
		      "spec.sessionAffinityConfig: Required value: when session affinity type is ClientIP");
	free(got);
	json_decref(s);
	api_errs_fini(&e);
}

/* ---- defaulting: every Service manifest of the seed notes ---- */

struct dcase {
	const char *name;
	const char *svc;
	const char *spec; /* the whole spec after defaulting */
	const char *want; /* validation result */
};

static const struct dcase seed_cases[] = {
    {"seed 000 my-service",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'my-service'},'spec':{'selector':{'app':'MyApp'}"
     ","
     "'ports':[{'protocol':'TCP','port':80,'targetPort':9376}]}}",
     "{'selector':{'app':'MyApp'},'ports':[{'protocol':'TCP','port':80,'targetPort':9376}],'type':'ClusterIP'"
     ","
     "'sessionAffinity':'None','internalTrafficPolicy':'Cluster','ipFamilyPolicy':'SingleStack','ipFamilies':"
     "['IPv4']}",
     ""},
    {"seed 000 without selector",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'my-service'},'spec':{'ports':[{'protocol':'TCP'"
     ",'port':80,"
     "'targetPort':9376}]}}",
     "{'ports':[{'protocol':'TCP','port':80,'targetPort':9376}],'type':'ClusterIP','sessionAffinity':'None',"
     "'internalTrafficPolicy':'Cluster','ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4']}",
     ""},
    {"seed 000 multi-port",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'my-service'},'spec':{'selector':{'app':'MyApp'}"
     ","
     "'ports':[{'name':'http','protocol':'TCP','port':80,'targetPort':9376},{'name':'https','protocol':'TCP',"
     "'port':443,"
     "'targetPort':9377}]}}",
     "{'selector':{'app':'MyApp'},'ports':[{'name':'http','protocol':'TCP','port':80,'targetPort':9376},{'"
     "name':'https',"
     "'protocol':'TCP','port':443,'targetPort':9377}],'type':'ClusterIP','sessionAffinity':'None',"
     "'internalTrafficPolicy':'Cluster','ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4']}",
     ""},
    {"seed 000 ExternalName",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'my-service','namespace':'prod'},'spec':{'type':"
     "'ExternalName',"
     "'externalName':'my.database.example.com'}}",
     "{'type':'ExternalName','externalName':'my.database.example.com','sessionAffinity':'None'}", ""},
    {"seed 001 NodePort",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'my-nodeport-service'},'spec':{'selector':{'app'"
     ":'my-app'},"
     "'type':'NodePort','ports':[{'name':'http','port':80,'targetPort':80,'nodePort':30036,'protocol':'TCP'}]"
     "}}",
     "{'selector':{'app':'my-app'},'type':'NodePort','ports':[{'name':'http','port':80,'targetPort':80,'"
     "nodePort':30036,"
     "'protocol':'TCP'}],'sessionAffinity':'None','externalTrafficPolicy':'Cluster','internalTrafficPolicy':'"
     "Cluster',"
     "'ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4']}",
     ""},
    {"seed 001 LoadBalancer",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'db-mariadb-slave-lb'},'spec':{'ports':[{'name':"
     "'mysql',"
     "'port':3306,'protocol':'TCP','targetPort':'mysql'}],'selector':{'app':'mariadb','component':'slave','"
     "release':'db'},"
     "'sessionAffinity':'None','type':'LoadBalancer'}}",
     "{'ports':[{'name':'mysql','port':3306,'protocol':'TCP','targetPort':'mysql'}],'selector':{'app':'"
     "mariadb',"
     "'component':'slave','release':'db'},'sessionAffinity':'None','type':'LoadBalancer','"
     "externalTrafficPolicy':'Cluster',"
     "'internalTrafficPolicy':'Cluster','allocateLoadBalancerNodePorts':true,'ipFamilyPolicy':'SingleStack',"
     "'ipFamilies':['IPv4']}",
     ""},
    {"seed 002 NodePort",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'my-service'},'spec':{'type':'NodePort','"
     "selector':{'app':'MyApp'},"
     "'ports':[{'port':80,'targetPort':80,'nodePort':30007}]}}",
     "{'type':'NodePort','selector':{'app':'MyApp'},'ports':[{'port':80,'targetPort':80,'nodePort':30007,'"
     "protocol':'TCP'}],"
     "'sessionAffinity':'None','externalTrafficPolicy':'Cluster','internalTrafficPolicy':'Cluster',"
     "'ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4']}",
     ""},
    {"seed 002 headless",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'my-service'},'spec':{'selector':{'app':'MyApp'}"
     ","
     "'clusterIP':'None','ports':[{'protocol':'TCP','port':80,'targetPort':9376}]}}",
     "{'selector':{'app':'MyApp'},'clusterIP':'None','clusterIPs':['None'],'ports':[{'protocol':'TCP','port':"
     "80,"
     "'targetPort':9376}],'type':'ClusterIP','sessionAffinity':'None','internalTrafficPolicy':'Cluster',"
     "'ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4']}",
     ""},
    {"seed 002 ExternalName into another namespace",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'my-service'},'spec':{'externalName':"
     "'my-another-service.another_namespace.svc.cluster.local','ports':[{'port':80,'protocol':'TCP','"
     "targetPort':9376}],"
     "'sessionAffinity':'None','type':'ExternalName'}}",
     "{'externalName':'my-another-service.another_namespace.svc.cluster.local','ports':[{'port':80,'protocol'"
     ":'TCP',"
     "'targetPort':9376}],'sessionAffinity':'None','type':'ExternalName'}",
     /* '_' is not allowed in a DNS name: the seed's example is refused, as kube-apiserver does. */
     "spec.externalName: Invalid value: \"my-another-service.another_namespace.svc.cluster.local\": a "
     "lowercase RFC "
     "1123 subdomain must consist of*"},
    {"seed 002 endpoints by hand",
     "{'kind':'Service','apiVersion':'v1','metadata':{'name':'my-service'},'spec':{'ports':[{'name':'my-srv',"
     "'protocol':'TCP',"
     "'port':80,'targetPort':9376}]}}",
     "{'ports':[{'name':'my-srv','protocol':'TCP','port':80,'targetPort':9376}],'type':'ClusterIP','"
     "sessionAffinity':'None',"
     "'internalTrafficPolicy':'Cluster','ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4']}",
     ""},
    {"seed 002 ClientIP NodePort",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'my-service'},'spec':{'selector':{'app':'my-"
     "service'},"
     "'sessionAffinity':'ClientIP','sessionAffinityConfig':{'clientIP':{'timeoutSeconds':1800}},'type':'"
     "NodePort',"
     "'ports':[{'port':80,'targetPort':80,'nodePort':30080}]}}",
     "{'selector':{'app':'my-service'},'sessionAffinity':'ClientIP','sessionAffinityConfig':{'clientIP':{'"
     "timeoutSeconds':1800}},"
     "'type':'NodePort','ports':[{'port':80,'targetPort':80,'nodePort':30080,'protocol':'TCP'}],"
     "'externalTrafficPolicy':'Cluster','internalTrafficPolicy':'Cluster','ipFamilyPolicy':'SingleStack','"
     "ipFamilies':['IPv4']}",
     ""},
    {"seed 003 multi-port",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'my-service'},'spec':{'selector':{'app':'MyApp'}"
     ","
     "'ports':[{'name':'http','protocol':'TCP','port':80,'targetPort':9376},{'name':'https','protocol':'TCP',"
     "'port':443,"
     "'targetPort':9377}]}}",
     "{'selector':{'app':'MyApp'},'ports':[{'name':'http','protocol':'TCP','port':80,'targetPort':9376},{'"
     "name':'https',"
     "'protocol':'TCP','port':443,'targetPort':9377}],'type':'ClusterIP','sessionAffinity':'None',"
     "'internalTrafficPolicy':'Cluster','ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4']}",
     ""},
    {"seed 004 kubia ClientIP",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'kubia'},'spec':{'sessionAffinity':'ClientIP','"
     "ports':[{'port':80,"
     "'targetPort':8080}],'selector':{'app':'kubia'}}}",
     "{'sessionAffinity':'ClientIP','sessionAffinityConfig':{'clientIP':{'timeoutSeconds':10800}},'ports':[{'"
     "port':80,"
     "'targetPort':8080,'protocol':'TCP'}],'selector':{'app':'kubia'},'type':'ClusterIP','"
     "internalTrafficPolicy':'Cluster',"
     "'ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4']}",
     ""},
    {"seed 004 named targetPort",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'kubia'},'spec':{'ports':[{'name':'http','port':"
     "80,"
     "'targetPort':'http'},{'name':'https','port':443,'targetPort':8443}],'selector':{'app':'kubia'}}}",
     "{'ports':[{'name':'http','port':80,'targetPort':'http','protocol':'TCP'},{'name':'https','port':443,'"
     "targetPort':8443,"
     "'protocol':'TCP'}],'selector':{'app':'kubia'},'type':'ClusterIP','sessionAffinity':'None',"
     "'internalTrafficPolicy':'Cluster','ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4']}",
     ""},
    {"seed 004 kubia-headless",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'kubia-headless'},'spec':{'clusterIP':'None','"
     "ports':[{'port':80,"
     "'targetPort':8080}],'selector':{'app':'kubia'}}}",
     "{'clusterIP':'None','clusterIPs':['None'],'ports':[{'port':80,'targetPort':8080,'protocol':'TCP'}],"
     "'selector':{'app':'kubia'},'type':'ClusterIP','sessionAffinity':'None','internalTrafficPolicy':'"
     "Cluster',"
     "'ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4']}",
     ""},
    {"seed 004 external-service",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'external-service'},'spec':{'type':'"
     "ExternalName',"
     "'externalName':'someapi.somecompany.com','ports':[{'port':80}]}}",
     "{'type':'ExternalName','externalName':'someapi.somecompany.com','ports':[{'port':80,'protocol':'TCP','"
     "targetPort':80}],"
     "'sessionAffinity':'None'}",
     ""},
    {"seed 004 kubia-nodeport",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'kubia-nodeport'},'spec':{'type':'NodePort','"
     "ports':[{'port':80,"
     "'targetPort':8080,'nodePort':30123}],'selector':{'app':'kubia'}}}",
     "{'type':'NodePort','ports':[{'port':80,'targetPort':8080,'nodePort':30123,'protocol':'TCP'}],'selector'"
     ":{'app':'kubia'},"
     "'sessionAffinity':'None','externalTrafficPolicy':'Cluster','internalTrafficPolicy':'Cluster',"
     "'ipFamilyPolicy':'SingleStack','ipFamilies':['IPv4']}",
     ""},
    {"seed 004 externalTrafficPolicy Local",
     "{'apiVersion':'v1','kind':'Service','metadata':{'name':'kubia-nodeport'},'spec':{'type':'NodePort',"
     "'externalTrafficPolicy':'Local','ports':[{'port':80,'targetPort':8080}],'selector':{'app':'kubia'}}}",
     "{'type':'NodePort','externalTrafficPolicy':'Local','ports':[{'port':80,'targetPort':8080,'protocol':'"
     "TCP'}],"
     "'selector':{'app':'kubia'},'sessionAffinity':'None','internalTrafficPolicy':'Cluster','ipFamilyPolicy':"
     "'SingleStack',"
     "'ipFamilies':['IPv4']}",
     ""},
};

static void check_spec(const char *name, const json_t *svc, const char *want_spec)
{
	json_t *want = jq(want_spec);
	const json_t *got = json_object_get(svc, "spec");
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT),
		     *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
		json_decref(want);
		t_fail(__FILE__, __LINE__, "case %s:\n  got:  %s\n  want: %s", name, g, w);
	}
	json_decref(want);
}

TEST(svc_default_seed_manifests)
{
	for (size_t i = 0; i < sizeof seed_cases / sizeof seed_cases[0]; i++) {
		const struct dcase *c = &seed_cases[i];
		json_t *s = jq(c->svc);
		char *got = run_json(s, NULL, V4);
		check_spec(c->name, s, c->spec);
		expect(__FILE__, __LINE__, c->name, got, c->want);
		free(got);
		json_decref(s);
	}
}

TEST(svc_default_families)
{
	struct api_service_config dual = config(DUAL), v6 = config(V6DUAL), v4 = config(V4);
	json_t *s = jq("{" M ",'spec':{'ipFamilyPolicy':'PreferDualStack'," P80 "}}");
	api_service_default(s, NULL, &dual);
	check_spec("prefer dual", s,
		   "{'ipFamilyPolicy':'PreferDualStack','ipFamilies':['IPv4','IPv6'],'ports':[{'port':80,'"
		   "targetPort':8080,"
		   "'protocol':'TCP'}],'type':'ClusterIP','sessionAffinity':'None','internalTrafficPolicy':'"
		   "Cluster'}");
	json_decref(s);
	/* The primary family follows the first configured range. */
	s = jq("{" M ",'spec':{" P80 "}}");
	api_service_default(s, NULL, &v6);
	ASSERT_STR_EQ(json_string_value(json_array_get(api_get(s, "spec.ipFamilies"), 0)), "IPv6");
	ASSERT_INT_EQ(json_array_size(api_get(s, "spec.ipFamilies")), 1);
	json_decref(s);
	/* PreferDualStack on a single-stack cluster stays single. */
	s = jq("{" M ",'spec':{'ipFamilyPolicy':'PreferDualStack'," P80 "}}");
	api_service_default(s, NULL, &v4);
	ASSERT_INT_EQ(json_array_size(api_get(s, "spec.ipFamilies")), 1);
	json_decref(s);
	/* The family of a requested IP is inferred. */
	s = jq("{" M ",'spec':{'clusterIP':'2001:db8:1::a'," P80 "}}");
	api_service_default(s, NULL, &dual);
	ASSERT_STR_EQ(json_string_value(json_array_get(api_get(s, "spec.ipFamilies"), 0)), "IPv6");
	ASSERT_STR_EQ(api_str(s, "spec.ipFamilyPolicy"), "SingleStack");
	json_decref(s);
	/* Headless without selector: RequireDualStack and both families, even single-stack. */
	s = jq("{" M ",'spec':{'clusterIP':'None'}}");
	api_service_default(s, NULL, &v4);
	check_spec("headless selectorless", s,
		   "{'clusterIP':'None','clusterIPs':['None'],'ipFamilyPolicy':'RequireDualStack','"
		   "ipFamilies':['IPv4','IPv6'],"
		   "'type':'ClusterIP','sessionAffinity':'None','internalTrafficPolicy':'Cluster'}");
	struct api_errs e;
	api_errs_init(&e);
	api_service_validate(s, NULL, &v4, &e);
	ASSERT_INT_EQ(api_errs_count(&e), 0);
	api_errs_fini(&e);
	json_decref(s);
	/* LoadBalancer status: an ingress IP is a VIP unless told otherwise. */
	s = jq("{" M ",'spec':{'type':'LoadBalancer'," P80
	       "},'status':{'loadBalancer':{'ingress':[{'ip':'198.18.0.50'},"
	       "{'hostname':'lb.example.com'},{'ip':'198.18.0.51','ipMode':'Proxy'}]}}}");
	api_service_default(s, NULL, &v4);
	ASSERT_STR_EQ(api_str(json_array_get(api_get(s, "status.loadBalancer.ingress"), 0), "ipMode"), "VIP");
	ASSERT(!api_get(json_array_get(api_get(s, "status.loadBalancer.ingress"), 1), "ipMode"));
	ASSERT_STR_EQ(api_str(json_array_get(api_get(s, "status.loadBalancer.ingress"), 2), "ipMode"),
		      "Proxy");
	json_decref(s);
}

/* ---- updates and type transitions ---- */

#define STORED_CIP                                                                                           \
	"{" M ",'spec':{'type':'ClusterIP','clusterIP':'198.19.0.10','clusterIPs':['198.19.0.10'],"          \
	"'ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack','internalTrafficPolicy':'Cluster','"           \
	"sessionAffinity':'None',"                                                                           \
	"'selector':{'app':'web'},'ports':[{'port':80,'protocol':'TCP','targetPort':8080}]}}"

TEST(svc_update_apply_without_cluster_ip_keeps_it)
{
	json_t *old = jq(STORED_CIP);
	json_t *s = jq("{" M ",'spec':{'selector':{'app':'web'},'ports':[{'port':80,'targetPort':8081}]}}");
	char *got = run_json(s, old, V4);
	ASSERT_STR_EQ(got, "");
	ASSERT_STR_EQ(api_str(s, "spec.clusterIP"), "198.19.0.10");
	ASSERT_STR_EQ(json_string_value(json_array_get(api_get(s, "spec.clusterIPs"), 0)), "198.19.0.10");
	ASSERT_STR_EQ(json_string_value(json_array_get(api_get(s, "spec.ipFamilies"), 0)), "IPv4");
	free(got);
	json_decref(s);
	json_decref(old);
}

TEST(svc_update_cluster_ip_may_not_change)
{
	char *got = run("{" M ",'spec':{'clusterIP':'198.19.0.11','selector':{'app':'web'},'ports':[{'port':"
			"80,'targetPort':8080}]}}",
			STORED_CIP, V4);
	ASSERT_STR_EQ(
	    got, "spec.clusterIPs[0]: Invalid value: []string{\"198.19.0.11\"}: may not change once set");
	free(got);
	/* Changing only clusterIPs is caught the same way. */
	got = run("{" M
		  ",'spec':{'clusterIP':'198.19.0.10','clusterIPs':['198.19.0.12'],'ports':[{'port':80}]}}",
		  STORED_CIP, V4);
	ASSERT_STR_EQ(
	    got,
	    "spec.clusterIPs: Invalid value: []string{\"198.19.0.12\"}: first value must match `clusterIP`");
	free(got);
}

TEST(svc_update_cluster_ip_to_external_name_and_back)
{
	/* kubectl apply: the stored object, with the manifest's type and externalName. */
	json_t *old = jq(STORED_CIP);
	json_t *s = json_deep_copy(old);
	json_t *spec = json_object_get(s, "spec");
	json_object_set_new(spec, "type", json_string("ExternalName"));
	json_object_set_new(spec, "externalName", json_string("db.example.com"));
	char *got = run_json(s, old, V4);
	ASSERT_STR_EQ(got, "");
	free(got);
	check_spec("to ExternalName", s,
		   "{'type':'ExternalName','externalName':'db.example.com','internalTrafficPolicy':'Cluster',"
		   "'sessionAffinity':'None','selector':{'app':'web'},'ports':[{'port':80,'protocol':'TCP','"
		   "targetPort':8080}]}");
	struct api_service_config c = config(V4);
	struct api_service_needs n;
	api_service_needs(s, &c, &n);
	ASSERT_INT_EQ(n.nips, 0);
	api_service_needs_fini(&n);

	/* And back: ExternalName to ClusterIP gets families and a fresh IP to allocate. */
	json_t *back = json_deep_copy(s);
	spec = json_object_get(back, "spec");
	json_object_set_new(spec, "type", json_string("ClusterIP"));
	json_object_del(spec, "externalName");
	got = run_json(back, s, V4);
	ASSERT_STR_EQ(got, "");
	free(got);
	ASSERT_STR_EQ(api_str(back, "spec.ipFamilyPolicy"), "SingleStack");
	ASSERT_STR_EQ(json_string_value(json_array_get(api_get(back, "spec.ipFamilies"), 0)), "IPv4");
	ASSERT(!api_get(back, "spec.clusterIP"));
	api_service_needs(back, &c, &n);
	ASSERT_INT_EQ(n.nips, 1);
	ASSERT(n.ips[0].any);
	ASSERT_INT_EQ(n.ips[0].family, 4);
	api_service_needs_fini(&n);
	/* Back to ClusterIP asking for an address outside the range is refused. */
	json_t *bad = json_deep_copy(s);
	spec = json_object_get(bad, "spec");
	json_object_set_new(spec, "type", json_string("ClusterIP"));
	json_object_set_new(spec, "clusterIP", json_string("198.18.9.9"));
	json_object_del(spec, "externalName");
	got = run_json(bad, s, V4);
	ASSERT_STR_CONTAINS(
	    got,
	    "spec.clusterIPs: Invalid value: []string{\"198.18.9.9\"}: failed to allocate IP 198.18.9.9");
	free(got);
	json_decref(bad);
	json_decref(back);
	json_decref(s);
	json_decref(old);
}

#define STORED_NP                                                                                            \
	"{" M ",'spec':{'type':'NodePort','clusterIP':'198.19.0.10','clusterIPs':['198.19.0.10'],"           \
	"'ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack','internalTrafficPolicy':'Cluster','"           \
	"sessionAffinity':'None',"                                                                           \
	"'externalTrafficPolicy':'Cluster','ports':[{'name':'http','port':80,'protocol':'TCP','targetPort':" \
	"8080,'nodePort':30080}]}}"

TEST(svc_update_node_port_to_cluster_ip_drops_node_ports)
{
	json_t *old = jq(STORED_NP);
	json_t *s = json_deep_copy(old);
	json_object_set_new(json_object_get(s, "spec"), "type", json_string("ClusterIP"));
	char *got = run_json(s, old, V4);
	ASSERT_STR_EQ(got, "");
	free(got);
	ASSERT(!api_get(json_array_get(api_get(s, "spec.ports"), 0), "nodePort"));
	ASSERT(!api_get(s, "spec.externalTrafficPolicy"));
	ASSERT_STR_EQ(api_str(s, "spec.clusterIP"), "198.19.0.10");
	json_decref(s);
	/* A node port the client changed in the same request is its own, and refused. */
	s = json_deep_copy(old);
	json_object_set_new(json_object_get(s, "spec"), "type", json_string("ClusterIP"));
	json_object_set_new(json_array_get(api_get(s, "spec.ports"), 0), "nodePort", json_integer(30099));
	got = run_json(s, old, V4);
	ASSERT_STR_EQ(got, "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'");
	free(got);
	json_decref(s);
	json_decref(old);
}

TEST(svc_update_keeps_node_ports_by_name)
{
	json_t *old = jq(STORED_NP);
	json_t *s =
	    jq("{" M ",'spec':{'type':'NodePort','ports':[{'name':'http','port':80,'targetPort':8080},"
	       "{'name':'admin','port':81}]}}");
	char *got = run_json(s, old, V4);
	ASSERT_STR_EQ(got, "");
	free(got);
	ASSERT_INT_EQ(json_integer_value(api_get(json_array_get(api_get(s, "spec.ports"), 0), "nodePort")),
		      30080);
	ASSERT(!api_get(json_array_get(api_get(s, "spec.ports"), 1), "nodePort"));
	json_decref(s);
	/* A renamed port is a new port: no node port carried over. */
	s = jq("{" M ",'spec':{'type':'NodePort','ports':[{'name':'web','port':80,'targetPort':8080}]}}");
	got = run_json(s, old, V4);
	ASSERT_STR_EQ(got, "");
	free(got);
	ASSERT(!api_get(json_array_get(api_get(s, "spec.ports"), 0), "nodePort"));
	json_decref(s);
	/* A value the new object already uses elsewhere is not reused. */
	s = jq("{" M ",'spec':{'type':'NodePort','ports':[{'name':'http','port':80},{'name':'other','port':"
	       "81,'nodePort':30080}]}}");
	got = run_json(s, old, V4);
	ASSERT_STR_EQ(got, "");
	free(got);
	ASSERT(!api_get(json_array_get(api_get(s, "spec.ports"), 0), "nodePort"));
	json_decref(s);
	json_decref(old);
}

TEST(svc_update_duplicate_node_port)
{
	const char *old =
	    "{" M ",'spec':{'type':'NodePort','clusterIP':'198.19.0.10','clusterIPs':['198.19.0.10'],"
	    "'ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack','ports':[{'name':'a','port':80,'protocol':'"
	    "TCP',"
	    "'nodePort':30080},{'name':'b','port':81,'protocol':'TCP','nodePort':30081}]}}";
	char *got = run("{" M ",'spec':{'type':'NodePort','ports':[{'name':'a','port':80,'nodePort':30080},"
			"{'name':'b','port':81,'nodePort':30080}]}}",
			old, V4);
	ASSERT_STR_EQ(got, "spec.ports[1].nodePort: Duplicate value: 30080");
	free(got);
	/* A new node port outside the range on update. */
	got = run("{" M ",'spec':{'type':'NodePort','ports':[{'name':'a','port':80,'nodePort':30080},"
		  "{'name':'b','port':81,'nodePort':40000}]}}",
		  old, V4);
	ASSERT_STR_EQ(
	    got, "spec.ports[1].nodePort: Invalid value: 40000: provided port is not in the valid range. The "
		 "range of valid ports is 30000-32767");
	free(got);
}

#define STORED_LB                                                                                            \
	"{" M ",'spec':{'type':'LoadBalancer','clusterIP':'198.19.0.10','clusterIPs':['198.19.0.10'],"       \
	"'ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack','internalTrafficPolicy':'Cluster','"           \
	"sessionAffinity':'None',"                                                                           \
	"'externalTrafficPolicy':'Local','healthCheckNodePort':30100,'allocateLoadBalancerNodePorts':true,"  \
	"'loadBalancerClass':'example.com/"                                                                  \
	"lb','ports':[{'port':80,'protocol':'TCP','targetPort':8080,'nodePort':30080}]},"                    \
	"'status':{'loadBalancer':{'ingress':[{'ip':'198.18.0.50','ipMode':'VIP'}]}}}"

TEST(svc_update_load_balancer_fields)
{
	json_t *old = jq(STORED_LB);
	/* PUT without healthCheckNodePort keeps it. */
	json_t *s = jq("{" M ",'spec':{'type':'LoadBalancer','externalTrafficPolicy':'Local','"
		       "loadBalancerClass':'example.com/lb',"
		       "'ports':[{'port':80,'targetPort':8080}]}}");
	char *got = run_json(s, old, V4);
	ASSERT_STR_EQ(got, "");
	free(got);
	ASSERT_INT_EQ(json_integer_value(api_get(s, "spec.healthCheckNodePort")), 30100);
	ASSERT_INT_EQ(json_integer_value(api_get(json_array_get(api_get(s, "spec.ports"), 0), "nodePort")),
		      30080);
	json_decref(s);
	/* healthCheckNodePort and loadBalancerClass are immutable while they apply. */
	got =
	    run("{" M
		",'spec':{'type':'LoadBalancer','externalTrafficPolicy':'Local','healthCheckNodePort':30101,"
		"'loadBalancerClass':'example.com/other','ports':[{'port':80,'targetPort':8080}]}}",
		STORED_LB, V4);
	ASSERT_STR_EQ(
	    got, "spec.loadBalancerClass: Invalid value: \"example.com/other\": may not change once set\n"
		 "spec.healthCheckNodePort: Forbidden: field is immutable");
	free(got);
	/* Leaving LoadBalancer: class, allocateLoadBalancerNodePorts, healthCheckNodePort,
	 * node ports and status are wiped. */
	s = json_deep_copy(old);
	json_object_set_new(json_object_get(s, "spec"), "type", json_string("ClusterIP"));
	got = run_json(s, old, V4);
	ASSERT_STR_EQ(got, "");
	free(got);
	ASSERT(!api_get(s, "spec.loadBalancerClass"));
	ASSERT(!api_get(s, "spec.allocateLoadBalancerNodePorts"));
	ASSERT(!api_get(s, "spec.healthCheckNodePort"));
	ASSERT(!api_get(s, "spec.externalTrafficPolicy"));
	ASSERT(!api_get(json_array_get(api_get(s, "spec.ports"), 0), "nodePort"));
	ASSERT_INT_EQ(json_object_size(api_get(s, "status.loadBalancer")), 0);
	json_decref(s);
	/* Local -> Cluster on a LoadBalancer drops the health-check port. */
	s = json_deep_copy(old);
	json_object_set_new(json_object_get(s, "spec"), "externalTrafficPolicy", json_string("Cluster"));
	got = run_json(s, old, V4);
	ASSERT_STR_EQ(got, "");
	free(got);
	ASSERT(!api_get(s, "spec.healthCheckNodePort"));
	json_decref(s);
	json_decref(old);
}

TEST(svc_update_external_ips_admission)
{
	const char *old =
	    "{" M ",'spec':{'clusterIP':'198.19.0.10','clusterIPs':['198.19.0.10'],'ipFamilies':['IPv4'],"
	    "'ipFamilyPolicy':'SingleStack','externalIPs':['198.18.5.5'],'externalTrafficPolicy':'Cluster',"
	    "'ports':[{'port':80}]}}";
	/* Keeping the externalIPs a Service already has is allowed; adding one is not. */
	char *got = run("{" M ",'spec':{'externalIPs':['198.18.5.5'],'ports':[{'port':80}]}}", old, V4);
	ASSERT_STR_EQ(got, "");
	free(got);
	got =
	    run("{" M ",'spec':{'externalIPs':['198.18.5.5','198.18.5.6'],'ports':[{'port':80}]}}", old, V4);
	ASSERT_STR_EQ(got, "403 Forbidden: Use of external IPs is denied by admission control");
	free(got);
	json_t *s = jq("{" M ",'spec':{'externalIPs':['198.18.5.6']}}"), *o = jq(old);
	struct api_service_config c = config(V4);
	ASSERT(api_service_external_ips_denied(s, o, &c));
	ASSERT(api_service_external_ips_denied(s, NULL, &c));
	c.allow_external_ips = true;
	ASSERT(!api_service_external_ips_denied(s, NULL, &c));
	json_decref(s);
	json_decref(o);
}

#define STORED_DUAL                                                                                          \
	"{" M ",'spec':{'type':'ClusterIP','clusterIP':'198.19.0.10','clusterIPs':['198.19.0.10','2001:db8:" \
	"1::a'],"                                                                                            \
	"'ipFamilies':['IPv4','IPv6'],'ipFamilyPolicy':'PreferDualStack','internalTrafficPolicy':'Cluster'," \
	"'sessionAffinity':'None','ports':[{'port':80,'protocol':'TCP','targetPort':80}]}}"

TEST(svc_update_dual_stack_upgrade_and_downgrade)
{
	/* Upgrade: a single-stack Service asks for PreferDualStack and gets a second family. */
	json_t *old = jq(STORED_CIP);
	json_t *s = json_deep_copy(old);
	json_object_set_new(json_object_get(s, "spec"), "ipFamilyPolicy", json_string("PreferDualStack"));
	char *got = run_json(s, old, DUAL);
	ASSERT_STR_EQ(got, "");
	free(got);
	ASSERT_INT_EQ(json_array_size(api_get(s, "spec.ipFamilies")), 2);
	struct api_service_config c = config(DUAL);
	struct api_service_needs n;
	api_service_needs(s, &c, &n);
	ASSERT_INT_EQ(n.nips, 2);
	ASSERT(!n.ips[0].any);
	ASSERT(n.ips[1].any);
	ASSERT_INT_EQ(n.ips[1].family, 6);
	ASSERT_INT_EQ(n.ips[1].range, 1);
	api_service_needs_fini(&n);
	json_decref(s);
	json_decref(old);

	/* Downgrade without SingleStack is refused. */
	got =
	    run("{" M ",'spec':{'clusterIP':'198.19.0.10','clusterIPs':['198.19.0.10'],'ipFamilies':['IPv4'],"
		"'ipFamilyPolicy':'PreferDualStack','ports':[{'port':80}]}}",
		STORED_DUAL, DUAL);
	ASSERT_STR_EQ(
	    got,
	    "spec.ipFamilyPolicy: Invalid value: \"PreferDualStack\": must be 'SingleStack' to release the "
	    "secondary cluster IP\n"
	    "spec.ipFamilyPolicy: Invalid value: \"PreferDualStack\": must be 'SingleStack' to release the "
	    "secondary IP family");
	free(got);
	/* Downgrade by switching the policy to SingleStack trims IPs and families. */
	old = jq(STORED_DUAL);
	s = json_deep_copy(old);
	json_object_set_new(json_object_get(s, "spec"), "ipFamilyPolicy", json_string("SingleStack"));
	got = run_json(s, old, DUAL);
	ASSERT_STR_EQ(got, "");
	free(got);
	ASSERT_INT_EQ(json_array_size(api_get(s, "spec.clusterIPs")), 1);
	ASSERT_INT_EQ(json_array_size(api_get(s, "spec.ipFamilies")), 1);
	json_decref(s);
	/* The primary family may not change. */
	s = json_deep_copy(old);
	json_t *spec = json_object_get(s, "spec");
	json_object_set_new(spec, "clusterIP", json_string("2001:db8:1::a"));
	json_object_set_new(spec, "clusterIPs", json_pack("[s,s]", "2001:db8:1::a", "198.19.0.10"));
	json_object_set_new(spec, "ipFamilies", json_pack("[s,s]", "IPv6", "IPv4"));
	got = run_json(s, old, DUAL);
	ASSERT_STR_EQ(
	    got,
	    "spec.clusterIPs[0]: Invalid value: []string{\"2001:db8:1::a\", \"198.19.0.10\"}: may not change "
	    "once set\n"
	    "spec.clusterIPs[1]: Invalid value: []string{\"2001:db8:1::a\", \"198.19.0.10\"}: may not change "
	    "once set\n"
	    "spec.ipFamilies[0]: Invalid value: []core.IPFamily{\"IPv6\", \"IPv4\"}: may not change once "
	    "set\n"
	    "spec.ipFamilies[0]: Invalid value: []core.IPFamily{\"IPv6\", \"IPv4\"}: may not change once "
	    "set");
	free(got);
	json_decref(s);
	json_decref(old);
}

TEST(svc_validate_status)
{
	struct api_service_config c = config(V4);
	struct {
		const char *svc, *want;
	} cases[] = {
	    {"{" M
	     ",'spec':{'type':'LoadBalancer'},'status':{'loadBalancer':{'ingress':[{'ip':'198.18.0.50'},"
	     "{'hostname':'lb.example.com'}]}}}",
	     ""},
	    {"{" M ",'spec':{'type':'LoadBalancer'},'status':{'loadBalancer':{'ingress':[{'ip':'nope','"
	     "ipMode':'VIP'}]}}}",
	     "status.loadBalancer.ingress[0].ip: Invalid value: \"nope\": must be a valid IP address, (e.g. "
	     "10.9.8.7 or "
	     "2001:db8::ffff)"},
	    {"{" M ",'spec':{'type':'LoadBalancer'},'status':{'loadBalancer':{'ingress':[{'hostname':'198.18."
	     "0.50'}]}}}",
	     "status.loadBalancer.ingress[0].hostname: Invalid value: \"198.18.0.50\": must be a DNS name, "
	     "not an IP "
	     "address"},
	    {"{" M ",'spec':{'type':'LoadBalancer'},'status':{'loadBalancer':{'ingress':[{'hostname':'Bad_"
	     "Host'}]}}}",
	     "status.loadBalancer.ingress[0].hostname: Invalid value: \"Bad_Host\": a lowercase RFC 1123 "
	     "subdomain*"},
	    {"{" M ",'spec':{'type':'LoadBalancer'},'status':{'loadBalancer':{'ingress':[{'ip':'198.18.0.50',"
	     "'ipMode':'Direct'}]}}}",
	     "status.loadBalancer.ingress[0].ipMode: Unsupported value: \"Direct\": supported values: "
	     "\"Proxy\", \"VIP\""},
	    {"{" M ",'spec':{'type':'LoadBalancer'},'status':{'loadBalancer':{'ingress':[{'hostname':'lb."
	     "example.com','ipMode':'VIP'}]}}}",
	     "status.loadBalancer.ingress[0].ipMode: Forbidden: may not be specified when `ip` is not set"},
	    {"{" M
	     ",'spec':{'type':'ClusterIP'},'status':{'loadBalancer':{'ingress':[{'ip':'198.18.0.50'}]}}}",
	     "status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is 'LoadBalancer'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *s = jq(cases[i].svc);
		api_service_default(s, NULL, &c);
		struct api_errs e;
		api_errs_init(&e);
		api_service_validate_status(s, NULL, &e);
		char *got = errs_text(&e);
		expect(__FILE__, __LINE__, cases[i].svc, got, cases[i].want);
		free(got);
		api_errs_fini(&e);
		json_decref(s);
	}
	/* Without defaulting, an IP without ipMode is refused. */
	json_t *s = jq(
	    "{" M
	    ",'spec':{'type':'LoadBalancer'},'status':{'loadBalancer':{'ingress':[{'ip':'198.18.0.50'}]}}}");
	struct api_errs e;
	api_errs_init(&e);
	api_service_validate_status(s, NULL, &e);
	char *got = errs_text(&e);
	ASSERT_STR_EQ(
	    got, "status.loadBalancer.ingress[0].ipMode: Required value: must be specified when `ip` is set");
	free(got);
	api_errs_fini(&e);
	json_decref(s);
}

/* ---- allocation ---- */

struct used_ips {
	struct ip_addr a[300];
	size_t n;
};

static bool ip_used(const struct ip_addr *ip, void *ud)
{
	struct used_ips *u = ud;
	for (size_t i = 0; i < u->n; i++)
		if (ip_cmp(&u->a[i], ip) == 0)
			return true;
	return false;
}

static uint64_t offset_of(const struct cidr *c, const struct ip_addr *ip)
{
	uint64_t off = 0;
	if (cidr_offset(c, ip, &off) < 0)
		t_fail(__FILE__, __LINE__, "address outside the range");
	return off;
}

TEST(svc_pick_ip_exhaustion_small_range)
{
	struct cidr c;
	cidr_parse("198.19.0.0/28", &c, NULL, 0); /* 16 addresses: no static band, 14 usable */
	struct used_ips u = {.n = 0};
	for (int i = 0; i < 14; i++) {
		struct ip_addr ip;
		ASSERT_INT_EQ(api_service_pick_ip(&c, ip_used, &u, (uint64_t)i * 7919, &ip), 0);
		ASSERT(cidr_is_usable(&c, &ip));
		ASSERT(!ip_used(&ip, &u));
		u.a[u.n++] = ip;
	}
	struct ip_addr ip;
	ASSERT_INT_EQ(api_service_pick_ip(&c, ip_used, &u, 1, &ip), ERR_FULL);
	struct cidr tiny;
	cidr_parse("198.19.0.0/31", &tiny, NULL, 0);
	ASSERT_INT_EQ(api_service_pick_ip(&tiny, NULL, NULL, 1, &ip), ERR_FULL);
}

TEST(svc_pick_ip_static_band_honoured)
{
	struct cidr c;
	cidr_parse("198.19.0.0/24", &c, NULL, 0); /* 256/16 = 16: offsets 1..16 are the static band */
	struct used_ips u = {.n = 0};
	for (int i = 0; i < 254; i++) {
		struct ip_addr ip;
		ASSERT_INT_EQ(api_service_pick_ip(&c, ip_used, &u, (uint64_t)i, &ip), 0);
		uint64_t off = offset_of(&c, &ip);
		if (i < 238)
			ASSERT(off >= 17 && off <= 254);
		else
			ASSERT(off >= 1 && off <= 16);
		ASSERT(!ip_used(&ip, &u));
		u.a[u.n++] = ip;
	}
	struct ip_addr ip;
	ASSERT_INT_EQ(api_service_pick_ip(&c, ip_used, &u, 99, &ip), ERR_FULL);
	/* The band is capped at 256 for big ranges. */
	struct cidr big;
	cidr_parse("198.19.0.0/16", &big, NULL, 0);
	for (uint64_t seed = 0; seed < 64; seed++) {
		ASSERT_INT_EQ(api_service_pick_ip(&big, NULL, NULL, seed, &ip), 0);
		ASSERT(offset_of(&big, &ip) > 256);
	}
}

TEST(svc_pick_ip_skips_used_and_is_deterministic)
{
	struct cidr c;
	cidr_parse("198.19.0.0/24", &c, NULL, 0);
	struct used_ips u = {.n = 0};
	/* Every upper-band address but .200 is taken. */
	for (uint64_t off = 17; off <= 254; off++) {
		if (off == 200)
			continue;
		cidr_nth(&c, off, &u.a[u.n++]);
	}
	struct ip_addr ip, again;
	char buf[IP_STRLEN];
	ASSERT_INT_EQ(api_service_pick_ip(&c, ip_used, &u, 12345, &ip), 0);
	ASSERT_STR_EQ(ip_format(&ip, buf, sizeof buf), "198.19.0.200");
	ASSERT_INT_EQ(api_service_pick_ip(&c, NULL, NULL, 42, &ip), 0);
	ASSERT_INT_EQ(api_service_pick_ip(&c, NULL, NULL, 42, &again), 0);
	ASSERT_INT_EQ(ip_cmp(&ip, &again), 0);
}

TEST(svc_pick_ip_ipv6)
{
	struct cidr c, big;
	cidr_parse("2001:db8:1::/108", &c, NULL, 0);
	cidr_parse("2001:db8:1::/64", &big, NULL, 0);
	struct used_ips u = {.n = 0};
	for (uint64_t seed = 0; seed < 32; seed++) {
		struct ip_addr ip;
		ASSERT_INT_EQ(api_service_pick_ip(&c, ip_used, &u, seed, &ip), 0);
		ASSERT_INT_EQ(ip.family, 6);
		ASSERT(cidr_is_usable(&c, &ip));
		ASSERT(offset_of(&c, &ip) > 256);
		ASSERT(!ip_used(&ip, &u));
		u.a[u.n++] = ip;
		ASSERT_INT_EQ(api_service_pick_ip(&big, NULL, NULL, seed, &ip), 0);
		ASSERT(cidr_is_usable(&big, &ip));
	}
	/* A /120 has 255 usable addresses and a 16-address static band. */
	struct cidr small;
	cidr_parse("2001:db8:1::/120", &small, NULL, 0);
	struct used_ips all = {.n = 0};
	for (int i = 0; i < 255; i++) {
		struct ip_addr ip;
		ASSERT_INT_EQ(api_service_pick_ip(&small, ip_used, &all, (uint64_t)i, &ip), 0);
		all.a[all.n++] = ip;
	}
	struct ip_addr ip;
	ASSERT_INT_EQ(api_service_pick_ip(&small, ip_used, &all, 0, &ip), ERR_FULL);
}

struct used_ports {
	int p[3000];
	size_t n;
};

static bool port_used(int port, void *ud)
{
	struct used_ports *u = ud;
	for (size_t i = 0; i < u->n; i++)
		if (u->p[i] == port)
			return true;
	return false;
}

TEST(svc_pick_node_port_bands_and_exhaustion)
{
	int port;
	/* Default range: the static band is 30000-30085 (2768/32 = 86 ports). */
	for (uint64_t seed = 0; seed < 200; seed++) {
		ASSERT_INT_EQ(api_service_pick_node_port(30000, 32767, NULL, NULL, seed, &port), 0);
		ASSERT(port >= 30086 && port <= 32767);
	}
	/* 100 ports: band of 16 (30000-30015) used only once the rest is gone. */
	static struct used_ports u;
	u.n = 0;
	for (int i = 0; i < 100; i++) {
		ASSERT_INT_EQ(api_service_pick_node_port(30000, 30099, port_used, &u, (uint64_t)i, &port), 0);
		if (i < 84)
			ASSERT(port >= 30016 && port <= 30099);
		else
			ASSERT(port >= 30000 && port <= 30015);
		ASSERT(!port_used(port, &u));
		u.p[u.n++] = port;
	}
	ASSERT_INT_EQ(api_service_pick_node_port(30000, 30099, port_used, &u, 5, &port), ERR_FULL);
	/* 10 ports: no static band. */
	u.n = 0;
	for (int i = 0; i < 10; i++) {
		ASSERT_INT_EQ(api_service_pick_node_port(30000, 30009, port_used, &u, (uint64_t)i, &port), 0);
		u.p[u.n++] = port;
	}
	ASSERT_INT_EQ(api_service_pick_node_port(30000, 30009, port_used, &u, 0, &port), ERR_FULL);
	ASSERT_INT_EQ(api_service_pick_node_port(30010, 30000, NULL, NULL, 0, &port), -EINVAL);
}

TEST(svc_well_known_ips)
{
	struct cidr v4, v6, tiny;
	cidr_parse("198.19.0.0/16", &v4, NULL, 0);
	cidr_parse("2001:db8:1::/108", &v6, NULL, 0);
	cidr_parse("198.19.0.0/30", &tiny, NULL, 0);
	struct ip_addr ip;
	char buf[IP_STRLEN];
	ASSERT_INT_EQ(api_service_well_known_ip(&v4, 1, &ip), 0);
	ASSERT_STR_EQ(ip_format(&ip, buf, sizeof buf), "198.19.0.1");
	ASSERT_INT_EQ(api_service_well_known_ip(&v4, 10, &ip), 0);
	ASSERT_STR_EQ(ip_format(&ip, buf, sizeof buf), "198.19.0.10");
	ASSERT_INT_EQ(api_service_well_known_ip(&v6, 10, &ip), 0);
	ASSERT_STR_EQ(ip_format(&ip, buf, sizeof buf), "2001:db8:1::a");
	ASSERT_INT_EQ(api_service_well_known_ip(&tiny, 10, &ip), -ERANGE);
	ASSERT_INT_EQ(api_service_well_known_ip(&tiny, 3, &ip), -ERANGE); /* broadcast */
	ASSERT_INT_EQ(api_service_well_known_ip(&v4, 0, &ip), -ERANGE);	  /* network */
}

TEST(svc_needs)
{
	struct api_service_config c = config(DUAL);
	struct api_service_needs n;
	/* NodePort: ports sharing a number share a node port; requested ones are kept. */
	json_t *s = jq(
	    "{" M ",'spec':{'type':'NodePort','ipFamilyPolicy':'RequireDualStack','clusterIP':'198.19.0.10',"
	    "'ports':[{'name':'dns','port':53,'protocol':'UDP'},{'name':'dns-tcp','port':53,'protocol':'TCP'}"
	    ","
	    "{'name':'metrics','port':9153,'nodePort':30153}]}}");
	api_service_default(s, NULL, &c);
	api_service_needs(s, &c, &n);
	ASSERT_INT_EQ(n.nips, 2);
	ASSERT(!n.ips[0].any);
	char buf[IP_STRLEN];
	ASSERT_STR_EQ(ip_format(&n.ips[0].ip, buf, sizeof buf), "198.19.0.10");
	ASSERT(n.ips[1].any);
	ASSERT_INT_EQ(n.ips[1].family, 6);
	ASSERT_INT_EQ(n.nports, 3);
	ASSERT_INT_EQ(n.ports[0].index, 0);
	ASSERT_INT_EQ(n.ports[0].node_port, 0);
	ASSERT_INT_EQ(n.ports[0].same_as, -1);
	ASSERT_INT_EQ(n.ports[1].index, 1);
	ASSERT_INT_EQ(n.ports[1].same_as, 0);
	ASSERT_INT_EQ(n.ports[2].node_port, 30153);
	ASSERT(!n.health_check);
	api_service_needs_fini(&n);
	json_decref(s);
	/* LoadBalancer without node-port allocation keeps only requested ones, and a
	 * Local one needs a health-check port. */
	s = jq("{" M ",'spec':{'type':'LoadBalancer','allocateLoadBalancerNodePorts':false,'"
	       "externalTrafficPolicy':'Local',"
	       "'ports':[{'name':'a','port':80},{'name':'b','port':81,'nodePort':30081}]}}");
	api_service_default(s, NULL, &c);
	api_service_needs(s, &c, &n);
	ASSERT_INT_EQ(n.nips, 1);
	ASSERT_INT_EQ(n.nports, 1);
	ASSERT_INT_EQ(n.ports[0].index, 1);
	ASSERT_INT_EQ(n.ports[0].node_port, 30081);
	ASSERT(n.health_check);
	ASSERT_INT_EQ(n.health_check_node_port, 0);
	api_service_needs_fini(&n);
	json_decref(s);
	/* Headless: nothing. */
	s = jq("{" M ",'spec':{'clusterIP':'None','selector':{'app':'web'}," P80 "}}");
	api_service_default(s, NULL, &c);
	api_service_needs(s, &c, &n);
	ASSERT_INT_EQ(n.nips, 0);
	ASSERT_INT_EQ(n.nports, 0);
	api_service_needs_fini(&n);
	json_decref(s);
}

TEST(svc_allocation_error_messages)
{
	struct api_errs e;
	api_errs_init(&e);
	json_t *s = jq("{" M ",'spec':{'clusterIP':'198.19.0.10','clusterIPs':['198.19.0.10']}}");
	api_service_err_ip_taken(&e, s, "198.19.0.10");
	api_service_err_port_taken(&e, 1, 30080);
	char *got = errs_text(&e);
	ASSERT_STR_EQ(
	    got,
	    "spec.clusterIPs: Invalid value: []string{\"198.19.0.10\"}: failed to allocate IP 198.19.0.10: "
	    "provided IP is already allocated\n"
	    "spec.ports[1].nodePort: Invalid value: 30080: provided port is already allocated");
	ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(e.causes, 0), "reason")),
		      "FieldValueInvalid");
	free(got);
	json_decref(s);
	api_errs_fini(&e);
}

/* Stages stop on their own errors, not on errors the caller had already collected. */
TEST(svc_validate_appends_to_existing_errors)
{
	struct api_service_config c = config(V4);
	struct api_errs e;
	api_errs_init(&e);
	api_err_required(&e, "metadata.namespace", NULL);
	json_t *s =
	    jq("{" M
	       ",'spec':{'type':'LoadBalancer','externalTrafficPolicy':'Local','healthCheckNodePort':80," P80
	       "}}");
	api_service_default(s, NULL, &c);
	api_service_validate(s, NULL, &c, &e);
	char *got = errs_text(&e);
	ASSERT_STR_EQ(got,
		      "metadata.namespace: Required value\n"
		      "spec.healthCheckNodePort: Invalid value: 80: failed to allocate requested HealthCheck "
		      "NodePort 80: provided port is not in the valid range. The range of valid ports is "
		      "30000-32767");
	free(got);
	api_errs_fini(&e);
	json_decref(s);
}
