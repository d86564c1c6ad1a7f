/* test_print.c - svcplane ctl's printers against kubectl's exact output (cli/print.c). */
#include "cli/internal.h"
#include "api/object.h"
#include "harness/t.h"

#include <stdlib.h>

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *v = json_loads(s, 0, &e);
	if (!v)
		t_fail(__FILE__, __LINE__, "bad JSON in test: %s", e.text);
	return v;
}

TEST(tabify_get_layout)
{
	char *s = cli__tabify("NAME\tTYPE\tAGE\nmy-service\tClusterIP\t5s\ns2\tNodePort\t10d\n", 6, 3);
	ASSERT_STR_EQ(s, "NAME         TYPE        AGE\n"
			 "my-service   ClusterIP   5s\n"
			 "s2           NodePort    10d\n");
	free(s);
	/* minwidth: a short column is still 6 wide; the last cell is never padded. */
	s = cli__tabify("A\tB\nx\ty\n", 6, 3);
	ASSERT_STR_EQ(s, "A     B\nx     y\n");
	free(s);
}

TEST(tabify_blocks_break_on_lines_without_the_column)
{
	/* describe's layout: "Subsets:" has no tab, so it ends the first block; "Port:" lines have a
	 * third cell that forms a block of one line. */
	char *s = cli__tabify("Name:\text\nAnnotations:\t<none>\nSubsets:\n  Addresses:\t198.18.0.42\n"
			      "  NotReadyAddresses:\t<none>\n\nEvents:\t<none>\n",
			      0, 2);
	ASSERT_STR_EQ(s,
		      "Name:         ext\nAnnotations:  <none>\nSubsets:\n  Addresses:          198.18.0.42\n"
		      "  NotReadyAddresses:  <none>\n\nEvents:  <none>\n");
	free(s);
	s = cli__tabify("Port:\thttp\t80/TCP\nTargetPort:\t9090/TCP\nIP:\t\n", 0, 2);
	ASSERT_STR_EQ(s, "Port:        http  80/TCP\nTargetPort:  9090/TCP\nIP:          \n");
	free(s);
	/* UTF-8 counts runes, not bytes. */
	s = cli__tabify("é\tx\nab\ty\n", 0, 1);
	ASSERT_STR_EQ(s, "é  x\nab y\n");
	free(s);
	/* No final newline: the partial last line is written as is. */
	s = cli__tabify("a\tb", 0, 1);
	ASSERT_STR_EQ(s, "a b");
	free(s);
}

TEST(resolve_types_like_kubectl)
{
	const struct api_kind *svc = cli__resolve_type("services");
	ASSERT(svc && !strcmp(svc->kind, "Service"));
	ASSERT(cli__resolve_type("svc") == svc);
	ASSERT(cli__resolve_type("service") == svc);
	ASSERT(cli__resolve_type("Service") == svc);
	ASSERT(cli__resolve_type("SVC") == svc);
	ASSERT(cli__resolve_type("services.v1") == svc);
	ASSERT(!strcmp(cli__resolve_type("ep")->kind, "Endpoints"));
	ASSERT(!strcmp(cli__resolve_type("endpointslices")->kind, "EndpointSlice"));
	ASSERT(!strcmp(cli__resolve_type("endpointslices.discovery.k8s.io")->kind, "EndpointSlice"));
	ASSERT(!strcmp(cli__resolve_type("endpointslice.v1.discovery.k8s.io")->kind, "EndpointSlice"));
	ASSERT(!strcmp(cli__resolve_type("ing")->kind, "Ingress"));
	ASSERT(!strcmp(cli__resolve_type("ns")->kind, "Namespace"));
	ASSERT(!strcmp(cli__resolve_type("no")->kind, "Node"));
	ASSERT(!strcmp(cli__resolve_type("po")->kind, "Pod"));
	ASSERT(cli__resolve_type("foo") == NULL);
	ASSERT(cli__resolve_type("services.networking.k8s.io") == NULL);
	ASSERT(cli__resolve_type("") == NULL);
	char ref[64];
	cli__kind_ref(svc, ref, sizeof(ref));
	ASSERT_STR_EQ(ref, "service");
	cli__kind_ref(cli__resolve_type("ing"), ref, sizeof(ref));
	ASSERT_STR_EQ(ref, "ingress.networking.k8s.io");
	char *p = cli__path(svc, "default", "my-service");
	ASSERT_STR_EQ(p, "/api/v1/namespaces/default/services/my-service");
	free(p);
	p = cli__path(svc, NULL, NULL);
	ASSERT_STR_EQ(p, "/api/v1/services");
	free(p);
	p = cli__path(cli__resolve_type("ns"), "default", "x");
	ASSERT_STR_EQ(p, "/api/v1/namespaces/x");
	free(p);
	p = cli__path(cli__resolve_type("endpointslices"), "prod", NULL);
	ASSERT_STR_EQ(p, "/apis/discovery.k8s.io/v1/namespaces/prod/endpointslices");
	free(p);
}

static const char *svc_table =
    "{\"kind\":\"Table\",\"columnDefinitions\":["
    "{\"name\":\"Name\",\"format\":\"name\",\"priority\":0},{\"name\":\"Type\",\"priority\":0},"
    "{\"name\":\"Cluster-IP\",\"priority\":0},{\"name\":\"Port(s)\",\"priority\":0},"
    "{\"name\":\"Age\",\"priority\":0},{\"name\":\"Selector\",\"priority\":1}],"
    "\"rows\":[{\"cells\":[\"web\",\"ClusterIP\",\"198.19.0.10\",\"80/TCP\",\"5m\",\"app=web\"],"
    "\"object\":{\"metadata\":{\"name\":\"web\",\"namespace\":\"prod\",\"labels\":{\"z\":\"1\",\"a\":\"b\"}}}"
    "},"
    "{\"cells\":[\"db\",\"ClusterIP\",\"None\",\"5432/TCP\",\"2d\",\"<none>\"],"
    "\"object\":{\"metadata\":{\"name\":\"db\",\"namespace\":\"default\"}}}]}";

static char *render(const char *table, bool namespaced, struct cli_table_opts o)
{
	json_t *t = J(table);
	struct buf b;
	buf_init(&b);
	cli__table_append(t, namespaced, &o, &b);
	char *s = cli__tabify(b.data ? b.data : "", 6, 3);
	buf_fini(&b);
	json_decref(t);
	return s;
}

TEST(table_columns_wide_namespace_labels_kind)
{
	char *s = render(svc_table, true, (struct cli_table_opts){0});
	ASSERT_STR_EQ(s, "NAME   TYPE        CLUSTER-IP    PORT(S)    AGE\n"
			 "web    ClusterIP   198.19.0.10   80/TCP     5m\n"
			 "db     ClusterIP   None          5432/TCP   2d\n");
	free(s);
	s = render(svc_table, true,
		   (struct cli_table_opts){.wide = true, .all_namespaces = true, .show_labels = true});
	ASSERT_STR_EQ(s, "NAMESPACE   NAME   TYPE        CLUSTER-IP    PORT(S)    AGE   SELECTOR   LABELS\n"
			 "prod        web    ClusterIP   198.19.0.10   80/TCP     5m    app=web    a=b,z=1\n"
			 "default     db     ClusterIP   None          5432/TCP   2d    <none>     <none>\n");
	free(s);
	/* Cluster-scoped kinds get no NAMESPACE column even with -A. */
	s = render(
	    svc_table, false,
	    (struct cli_table_opts){.all_namespaces = true, .no_headers = true, .kind_prefix = "service"});
	ASSERT_STR_EQ(s, "service/web   ClusterIP   198.19.0.10   80/TCP     5m\n"
			 "service/db    ClusterIP   None          5432/TCP   2d\n");
	free(s);
	/* No rows: nothing at all, not even the header. */
	json_t *t = J("{\"columnDefinitions\":[{\"name\":\"Name\"}],\"rows\":[]}");
	struct buf b;
	buf_init(&b);
	struct cli_table_opts o = {0};
	ASSERT_INT_EQ(cli__table_append(t, true, &o, &b), 0);
	ASSERT(b.len == 0);
	buf_fini(&b);
	json_decref(t);
	/* Non-string cells print as Go's fmt does. */
	s = render("{\"columnDefinitions\":[{\"name\":\"Name\",\"format\":\"name\"},{\"name\":\"Restarts\"},{"
		   "\"name\":\"Ok\"}],"
		   "\"rows\":[{\"cells\":[\"p\",3,true]}]}",
		   true, (struct cli_table_opts){0});
	ASSERT_STR_EQ(s, "NAME   RESTARTS   OK\np      3          true\n");
	free(s);
}

TEST(labels_and_json_printing)
{
	json_t *l = J("{\"tier\":\"frontend\",\"app\":\"MyApp\"}");
	char *s = api_format_labels(l, ",", "<none>");
	ASSERT_STR_EQ(s, "app=MyApp,tier=frontend");
	free(s);
	json_decref(l);
	s = api_format_labels(NULL, ",", "<none>");
	ASSERT_STR_EQ(s, "<none>");
	free(s);
	json_t *o = J("{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\",\"managedFields\":[{}],"
		      "\"annotations\":{\"x\":\"<a&b>\"}},"
		      "\"spec\":{\"ports\":[],\"selector\":{}}}");
	cli__strip_managed_fields(o);
	s = cli__json_print(o);
	ASSERT_STR_EQ(s, "{\n"
			 "    \"kind\": \"Service\",\n"
			 "    \"metadata\": {\n"
			 "        \"annotations\": {\n"
			 "            \"x\": \"\\u003ca\\u0026b\\u003e\"\n"
			 "        },\n"
			 "        \"name\": \"a\"\n"
			 "    },\n"
			 "    \"spec\": {\n"
			 "        \"ports\": [],\n"
			 "        \"selector\": {}\n"
			 "    }\n"
			 "}\n");
	free(s);
	json_decref(o);
	json_t *list = J("{\"items\":[{\"metadata\":{\"name\":\"a\",\"managedFields\":[]}}]}");
	cli__strip_managed_fields(list);
	ASSERT(api_get(json_array_get(json_object_get(list, "items"), 0), "metadata.managedFields") == NULL);
	json_decref(list);
}

TEST(smart_label_and_event_age)
{
	static const char *const cases[][2] = {
	    {"creationTimestamp", "Creation Timestamp"},
	    {"apiVersion", "API Version"},
	    {"uid", "UID"},
	    {"resourceVersion", "Resource Version"},
	    {"HTMLParser", "HTML Parser"},
	    {"spec", "Spec"},
	    {"kubernetes.io/name", "kubernetes.io/name"},
	    {"ports2", "ports2"},
	    {"hostIP", "Host IP"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = cli__smart_label(cases[i][0]);
		ASSERT_STR_EQ(s, cases[i][1]);
		free(s);
	}
	/* describe's event ages are kubectl's duration.HumanDuration (translateTimestampSince):
	 * 84 s is "84s", not "1m" (a difference make test-stress found). */
	char buf[32];
	api_human_duration(84, buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "84s");
	api_human_duration(190, buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "3m10s");
}

TEST(describe_service_matches_kubectl)
{
	json_t *svc =
	    J("{\"metadata\":{\"name\":\"my-service\",\"namespace\":\"default\",\"labels\":{\"tier\":"
	      "\"frontend\",\"env\":\"test\"},"
	      "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\",\"a\":\"b\"}},"
	      "\"spec\":{\"type\":\"NodePort\",\"selector\":{\"app\":\"MyApp\"},\"ipFamilyPolicy\":"
	      "\"SingleStack\","
	      "\"ipFamilies\":[\"IPv4\"],\"clusterIP\":\"198.19.0.10\",\"clusterIPs\":[\"198.19.0.10\"],"
	      "\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":9376,"
	      "\"nodePort\":30036},"
	      "{\"name\":\"metrics\",\"port\":9100,\"protocol\":\"TCP\",\"targetPort\":\"metrics\","
	      "\"nodePort\":30037}],"
	      "\"sessionAffinity\":\"None\",\"externalTrafficPolicy\":\"Cluster\",\"internalTrafficPolicy\":"
	      "\"Cluster\"},"
	      "\"status\":{\"loadBalancer\":{}}}");
	json_t *slices =
	    J("[{\"ports\":[{\"name\":\"http\",\"port\":9376},{\"name\":\"metrics\",\"port\":9100}],"
	      "\"endpoints\":[{\"addresses\":[\"198.18.128.5\"],\"conditions\":{\"ready\":true}},"
	      "{\"addresses\":[\"198.18.128.6\"],\"conditions\":{\"ready\":false}},"
	      "{\"addresses\":[\"198.18.128.7\"]}]}]");
	json_t *events = json_array();
	char *s = cli__describe_service(svc, slices, events, 0);
	ASSERT_STR_EQ(s, "Name:                     my-service\n"
			 "Namespace:                default\n"
			 "Labels:                   env=test\n"
			 "                          tier=frontend\n"
			 "Annotations:              a: b\n"
			 "Selector:                 app=MyApp\n"
			 "Type:                     NodePort\n"
			 "IP Family Policy:         SingleStack\n"
			 "IP Families:              IPv4\n"
			 "IP:                       198.19.0.10\n"
			 "IPs:                      198.19.0.10\n"
			 "Port:                     http  80/TCP\n"
			 "TargetPort:               9376/TCP\n"
			 "NodePort:                 http  30036/TCP\n"
			 "Endpoints:                198.18.128.5:9376,198.18.128.7:9376\n"
			 "Port:                     metrics  9100/TCP\n"
			 "TargetPort:               metrics/TCP\n"
			 "NodePort:                 metrics  30037/TCP\n"
			 "Endpoints:                198.18.128.5:9100,198.18.128.7:9100\n"
			 "Session Affinity:         None\n"
			 "External Traffic Policy:  Cluster\n"
			 "Internal Traffic Policy:  Cluster\n"
			 "Events:                   <none>\n");
	free(s);
	/* No slices at all: <none>; ExternalName; LoadBalancer ingress. */
	json_t *ext =
	    J("{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"spec\":{\"type\":\"LoadBalancer\","
	      "\"externalName\":\"my.database.example.com\",\"sessionAffinity\":\"None\","
	      "\"ports\":[{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":80}]},"
	      "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.18.0.200\",\"ipMode\":\"VIP\"},{"
	      "\"hostname\":\"lb.example\"}]}}}");
	s = cli__describe_service(ext, NULL, NULL, 0);
	ASSERT_STR_EQ(s, "Name:                  db\n"
			 "Namespace:             prod\n"
			 "Labels:                <none>\n"
			 "Annotations:           <none>\n"
			 "Selector:              <none>\n"
			 "Type:                  LoadBalancer\n"
			 "IP Families:           <none>\n"
			 "IP:                    \n"
			 "IPs:                   <none>\n"
			 "External Name:         my.database.example.com\n"
			 "LoadBalancer Ingress:  198.18.0.200 (VIP), lb.example\n"
			 "Port:                  <unset>  80/TCP\n"
			 "TargetPort:            80/TCP\n"
			 "Endpoints:             <none>\n"
			 "Session Affinity:      None\n");
	free(s);
	json_decref(ext);
	/* More than three endpoints: "+ N more...". */
	json_t *many =
	    J("[{\"ports\":[{\"name\":\"http\",\"port\":80}],\"endpoints\":[{\"addresses\":[\"198.18.0.1\"]},"
	      "{\"addresses\":[\"198.18.0.2\"]},{\"addresses\":[\"198.18.0.3\"]},{\"addresses\":[\"198.18.0."
	      "4\"]},"
	      "{\"addresses\":[\"2001:db8::5\"]}]}]");
	s = cli__describe_service(svc, many, NULL, 0);
	ASSERT_STR_CONTAINS(
	    s, "Endpoints:                198.18.0.1:80,198.18.0.2:80,198.18.0.3:80 + 2 more...\n");
	/* A slice without the port name: nothing (not <none>), as kubectl prints. */
	ASSERT_STR_CONTAINS(s, "NodePort:                 metrics  30037/TCP\nEndpoints:                \n");
	free(s);
	/* A slice without ports lists bare addresses (under every port); an IPv6 address is
	 * bracketed before :port; a not-ready endpoint is left out. */
	json_t *mixed = J("[{\"endpoints\":[{\"addresses\":[\"198.18.0.9\"]}]},{\"ports\":[{\"name\":"
			  "\"http\",\"port\":80}],\"endpoints\":[{\"addresses\":[\"2001:db8::7\"]},{"
			  "\"addresses\":[\"198.18.0.8\"],\"conditions\":{\"ready\":false}}]}]");
	s = cli__describe_service(svc, mixed, NULL, 0);
	ASSERT_STR_CONTAINS(s, "Endpoints:                198.18.0.9,[2001:db8::7]:80\n");
	ASSERT_STR_CONTAINS(
	    s, "NodePort:                 metrics  30037/TCP\nEndpoints:                198.18.0.9\n");
	free(s);
	json_decref(mixed);
	json_decref(many);
	json_decref(svc);
	json_decref(slices);
	json_decref(events);
}

TEST(describe_events_and_generic)
{
	json_t *obj = J("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-0\","
			"\"namespace\":\"default\","
			"\"uid\":\"u1\",\"managedFields\":[{}]},\"spec\":{\"containers\":[{\"name\":\"web\","
			"\"args\":[\"a\",\"b\"]}],"
			"\"hostNetwork\":false}}");
	int64_t now = api_time_parse("2026-01-01T01:00:00Z");
	json_t *events =
	    J("[{\"type\":\"Normal\",\"reason\":\"Started\",\"message\":\" started \\n\",\"count\":3,"
	      "\"firstTimestamp\":\"2026-01-01T00:00:00Z\",\"lastTimestamp\":\"2026-01-01T00:59:00Z\","
	      "\"source\":{\"component\":\"svcplane\",\"host\":\"node-1\"}}]");
	char *s = cli__describe_generic(obj, events, now);
	ASSERT_STR_EQ(s, "Name:         web-0\n"
			 "Namespace:    default\n"
			 "Labels:       <none>\n"
			 "Annotations:  <none>\n"
			 "API Version:  v1\n"
			 "Kind:         Pod\n"
			 "Metadata:\n"
			 "  UID:  u1\n"
			 "Spec:\n"
			 "  Containers:\n"
			 "    Args:\n"
			 "      a\n"
			 "      b\n"
			 "    Name:        web\n"
			 "  Host Network:  false\n"
			 "Events:\n"
			 "  Type    Reason   Age                From              Message\n"
			 "  ----    ------   ----               ----              -------\n"
			 "  Normal  Started  60s (x3 over 60m)  svcplane, node-1  started\n");
	free(s);
	json_decref(obj);
	json_decref(events);
	json_t *ep = J("{\"metadata\":{\"name\":\"ext\",\"namespace\":\"prod\"},\"subsets\":[{\"addresses\":["
		       "{\"ip\":\"198.18.0.42\"}],"
		       "\"ports\":[{\"port\":9376,\"protocol\":\"TCP\"}]}]}");
	json_t *none = json_array();
	s = cli__describe_endpoints(ep, none, 0);
	ASSERT_STR_EQ(s, "Name:         ext\n"
			 "Namespace:    prod\n"
			 "Labels:       <none>\n"
			 "Annotations:  <none>\n"
			 "Subsets:\n"
			 "  Addresses:          198.18.0.42\n"
			 "  NotReadyAddresses:  <none>\n"
			 "  Ports:\n"
			 "    Name     Port  Protocol\n"
			 "    ----     ----  --------\n"
			 "    <unset>  9376  TCP\n"
			 "\n"
			 "Events:  <none>\n");
	free(s);
	json_decref(ep);
	json_decref(none);
}

static struct client_apierr apierr(long code, const char *body)
{
	struct client_apierr a;
	client_apierr_decode(code, body, &a);
	return a;
}

TEST(errors_worded_like_kubectl)
{
	struct cli_errs e = {0};
	char *s = cli__errs_format(&e);
	ASSERT_STR_EQ(s, "");
	free(s);
	struct client_apierr a = apierr(
	    404, "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"services \\\"x\\\" not found\","
		 "\"reason\":\"NotFound\",\"code\":404}");
	cli__errs_add_api(&e, &a);
	s = cli__errs_format(&e);
	ASSERT_STR_EQ(s, "Error from server (NotFound): services \"x\" not found\n");
	free(s);
	cli__errs_add(&e, "the server doesn't have a resource type \"foo\"");
	s = cli__errs_format(&e);
	ASSERT_STR_EQ(s, "Error from server (NotFound): services \"x\" not found\nthe server doesn't have a "
			 "resource type \"foo\"\n");
	free(s);
	cli__errs_fini(&e);
	cli__errs_add(&e, "boom");
	s = cli__errs_format(&e);
	ASSERT_STR_EQ(s, "error: boom\n");
	free(s);
	cli__errs_fini(&e);
	const char *invalid = "{\"kind\":\"Status\",\"message\":\"Service \\\"bad\\\" is invalid: "
			      "[...]\",\"reason\":\"Invalid\","
			      "\"code\":422,\"details\":{\"name\":\"bad\",\"kind\":\"Service\",\"causes\":["
			      "{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: 0: must be "
			      "between 1 and 65535, inclusive\","
			      "\"field\":\"spec.ports[0].port\"},{\"reason\":\"FieldValueRequired\","
			      "\"message\":\"Required value\","
			      "\"field\":\"spec.ports[0].name\"}]}}";
	a = apierr(422, invalid);
	cli__errs_add_api(&e, &a);
	s = cli__errs_format(&e);
	ASSERT_STR_EQ(s, "The Service \"bad\" is invalid: \n"
			 "* spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive\n"
			 "* spec.ports[0].name: Required value\n");
	free(s);
	cli__errs_fini(&e);
	a = apierr(
	    401,
	    "{\"kind\":\"Status\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}");
	cli__errs_add_api(&e, &a);
	s = cli__errs_format(&e);
	ASSERT_STR_EQ(s, "error: You must be logged in to the server (Unauthorized)\n");
	free(s);
	cli__errs_fini(&e);
	/* Bodies that are not a Status get client-go's wording. */
	a = apierr(404, "404 page not found");
	ASSERT_STR_EQ(a.reason, "NotFound");
	ASSERT_STR_EQ(a.message, "the server could not find the requested resource");
	client_apierr_fini(&a);
	a = apierr(502, "bad gateway");
	ASSERT_STR_EQ(a.reason, "InternalError");
	ASSERT_STR_EQ(a.message,
		      "an error on the server (\"bad gateway\") has prevented the request from succeeding");
	client_apierr_fini(&a);
}
