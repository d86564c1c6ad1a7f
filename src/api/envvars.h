/* envvars.h - the Service environment variables kubelet puts in every container
 * (k8s.io/kubernetes pkg/kubelet/envvars/envvars.go FromServices, and the choice of
 * Services in pkg/kubelet/kubelet_pods.go getServiceEnvVarMap).
 *
 * Which Services count, for a pod in namespace NS:
 *   - the master Service `kubernetes` in namespace `default`, always, even with
 *     enableServiceLinks: false;
 *   - every Service in NS, only when enableServiceLinks is true (the default);
 *   - nothing from other namespaces;
 *   - only Services whose spec.clusterIP is set and is not "None", so headless and
 *     ExternalName Services add nothing;
 *   - one Service per name: a Service of NS named `kubernetes` replaces the master one.
 * The caller may pass every Service it knows (or the usual pre-filtered list: the pod's
 * namespace plus default/kubernetes); the rule above is applied here either way.
 *
 * For each Service, with NAME the Service name upper-cased and '-' and '.' turned into
 * '_' (and a leading '_' if it then starts with a digit), and IP its spec.clusterIP:
 *     NAME_SERVICE_HOST=IP
 *     NAME_SERVICE_PORT=<first port>
 *     NAME_SERVICE_PORT_<PORTNAME>=<port>          for each named port
 *     NAME_PORT=<proto>://IP:<first port>          Docker links
 *     NAME_PORT_<port>_<PROTO>=<proto>://IP:<port> for each port, then _PROTO, _PORT, _ADDR
 * with IPv6 addresses in brackets inside the URLs, as Go's net.JoinHostPort writes them.
 * kubelet holds these in a map, so its order is unspecified; here Services come in
 * name order and each Service's variables in FromServices' order. Variables the
 * container defines itself win over these; that merge is the caller's.
 */
#ifndef API_ENVVARS_H
#define API_ENVVARS_H

#include <jansson.h>
#include <stdbool.h>

/* Returns a new JSON array of {"name": ..., "value": ...} (the caller owns it) for a pod
 * in pod_namespace, given services (a JSON array of Service objects, borrowed; NULL is
 * an empty list) and the pod's spec.enableServiceLinks. Never NULL. */
json_t *api_envvars_from_services(const json_t *services, const char *pod_namespace,
				  bool enable_service_links);

/* kubelet's makeEnvVariableName: "redis-master" -> "REDIS_MASTER". Caller frees. */
char *api_envvar_name(const char *service_name);

#endif
