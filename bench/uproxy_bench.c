/* uproxy_bench.c - runs the userspace proxy (proxy/uproxy.h) without nftables for
 * bench/uproxy.sh: one TCP service port whose endpoints are the given ADDR:PORT pairs,
 * scheduler SCHED. Prints "port N" (the proxy's listener) and serves until stdin closes.
 * APP_PROTOCOL in the environment becomes the port's appProtocol (http: the listener
 * waits for the client's first bytes, as a Service that declares it gets).
 * Usage: [APP_PROTOCOL=http] uproxy_bench SCHED LOOPS ADDR:PORT... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/uproxy.h"

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: uproxy_bench SCHED LOOPS ADDR:PORT...\n");
		return 2;
	}
	json_t *eps = json_array();
	int port = 0;
	for (int i = 3; i < argc; i++) {
		char *c = strrchr(argv[i], ':');
		if (!c)
			return 2;
		*c = 0;
		port = atoi(c + 1);
		json_array_append_new(eps, json_pack("{s:[s]}", "addresses", argv[i]));
	}
	json_t *svcs = json_pack("[{s:s,s:{s:s,s:s,s:{s:s}},s:{s:s,s:[{s:s,s:i,s:i}]}}]", "kind", "Service",
				 "metadata", "namespace", "bench", "name", "b", "annotations",
				 UPROXY_SCHED_ANNOTATION, argv[1], "spec", "clusterIP", "198.19.0.1", "ports",
				 "name", "t", "port", 80, "targetPort", port);
	const char *ap = getenv("APP_PROTOCOL");
	if (ap && *ap)
		json_object_set_new(
		    json_array_get(json_object_get(json_object_get(json_array_get(svcs, 0), "spec"), "ports"),
				   0),
		    "appProtocol", json_string(ap));
	json_t *slices =
	    json_pack("[{s:s,s:{s:s,s:s,s:{s:s}},s:s,s:o,s:[{s:s,s:i}]}]", "kind", "EndpointSlice",
		      "metadata", "namespace", "bench", "name", "b-1", "labels", "kubernetes.io/service-name",
		      "b", "addressType", "IPv4", "endpoints", eps, "ports", "name", "t", "port", port);
	struct proxy_model m;
	proxy_model_build(svcs, slices, "n1", &m);
	struct uproxy *u;
	struct uproxy_config c = {.loops = atoi(argv[2]), .dry = true};
	char err[256];
	if (uproxy_new(&c, &u, err, sizeof(err)) < 0 ||
	    uproxy_sync(u, &m, svcs, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "uproxy_bench: %s\n", err);
		return 1;
	}
	printf("port %u\n", uproxy_port(u, "bench/b/t/4/tcp", false));
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof(buf)) > 0)
		;
	uproxy_free(u);
	proxy_model_fini(&m);
	json_decref(svcs);
	json_decref(slices);
	return 0;
}
