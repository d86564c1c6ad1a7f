/* podfiles.h - the contents of a pod's /etc/resolv.conf and /etc/hosts, and its hostname,
 * computed exactly as kubelet does (pure: no I/O; the runtime writes and bind-mounts them).
 *
 * resolv.conf follows k8s.io/kubernetes pkg/kubelet/network/dns/dns.go GetPodDNS, written
 * in the layout containerd's CRI plugin uses (parseDNSOptions): one `search` line, one
 * `nameserver` line per server, one `options` line, each only when non-empty.
 *
 *   dnsPolicy                 servers                 searches                          options
 *   ClusterFirst              cluster DNS IPs         <ns>.svc.D svc.D D + host's       ndots:5
 *   ClusterFirst+hostNetwork  as Default
 *   ClusterFirstWithHostNet   as ClusterFirst
 *   Default                   host's                  host's                            host's
 *   None                      (empty)                 (empty)                           (empty)
 *
 * then dnsConfig is appended to any of these: nameservers and searches appended with
 * duplicates dropped, options merged by name (dnsConfig wins). Finally kubelet's limits:
 * at most 3 nameservers, 32 search paths, no path longer than 253 characters, and a search
 * line of at most 2048 characters (paths cut from the end). kubelet merges options through a
 * Go map, so its order is unspecified; here an option keeps the place of its first
 * appearance. A ClusterFirst pod on a node without cluster DNS falls back to Default, and a
 * node without a host resolv.conf (kubelet --resolv-conf="") gives Default pods
 * `nameserver 127.0.0.1` and `search .`; both are reported as warnings, which kubelet
 * turns into events (MissingClusterDNS, DNSConfigForming).
 *
 * /etc/hosts follows kubelet_pods.go managedHostsFileContent: the header, the localhost
 * lines, one line per pod IP (`IP<TAB>host.<sub>.<ns>.svc.D<TAB>host` when the pod has a
 * subdomain, else `IP<TAB>host`), then the hostAliases block. hostNetwork pods get the
 * node's hosts file under a "(host network)" header instead.
 */
#ifndef NODE_PODFILES_H
#define NODE_PODFILES_H

#include <jansson.h>
#include <stddef.h>

/* Node-level DNS settings (kubelet's --cluster-domain, --cluster-dns, --resolv-conf). */
struct node_dns_opts {
	const char *cluster_domain;	/* "cluster.local"; NULL or "" for none */
	const char *const *cluster_dns; /* NULL-terminated list of IPs; NULL for none */
	const char *host_resolv_conf;	/* the host's resolv.conf text; NULL = --resolv-conf="" */
};

/* Kubelet's limits (pkg/apis/core/validation). */
enum {
	NODE_DNS_MAX_NAMESERVERS = 3,
	NODE_DNS_MAX_SEARCH_PATHS = 32,
	NODE_DNS_MAX_SEARCH_CHARS = 2048,
};

/* Returns the pod's resolv.conf text (heap; the caller frees it) for pod (a Pod object,
 * borrowed) under opts. Never NULL. When kubelet would record a warning event (limits
 * exceeded, missing cluster DNS, unknown dnsPolicy), its message goes into warn (may be
 * NULL; "" when none). Does not block. */
char *node_podfiles_resolv_conf(const json_t *pod, const struct node_dns_opts *opts, char *warn,
				size_t warnlen);

/* kubelet's GeneratePodHostNameAndDomain + GetNodenameForKernel. On success returns 0 and
 * sets *hostname (spec.hostname or metadata.name, cut to 63 characters without a trailing
 * '-' or '.'), *domain ("<subdomain>.<ns>.svc.<cluster domain>", or "" without subdomain)
 * and *kernel_name (what sethostname gets: the hostname, or hostname.domain with
 * setHostnameAsFQDN); all three heap strings the caller frees. Returns -EINVAL with
 * kubelet's message in err when hostname/subdomain are not DNS labels or the FQDN is longer
 * than 64 characters; nothing is allocated then. */
int node_podfiles_hostname(const json_t *pod, const char *cluster_domain, char **hostname, char **domain,
			   char **kernel_name, char *err, size_t errlen);

/* Returns the pod's /etc/hosts text (heap; caller frees). pod_ips is a NULL-terminated
 * list (NULL = none); hostname and domain come from node_podfiles_hostname(); host_hosts
 * is the node's /etc/hosts text, used only for hostNetwork pods (NULL = empty). */
char *node_podfiles_hosts(const json_t *pod, const char *const *pod_ips, const char *hostname,
			  const char *domain, const char *host_hosts);

#endif
