/* certs.c - the names the API server's serving certificate covers, and its rotation.
 *
 * kube-apiserver's certificate names every way a client reaches it: localhost, the
 * kubernetes Service's DNS names, the Service's cluster IP (the first address of each
 * service range: pods reach the API there), the advertise and bind addresses, and the
 * node's own addresses (agents on other nodes dial those). The node's addresses can
 * change while the server runs (DHCP, an added interface): a thread looks every
 * CERT_CHECK_S seconds, and when the set changed it has pki_ensure reissue the
 * certificate from the same CA (only if it no longer covers them) and swaps it into the
 * listener; connections already open keep the old one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "apiserver/internal.h"
#include "base/buf.h"
#include "base/cidr.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/vec.h"
#include "http/pki.h"

#define CERT_CHECK_S 30

/* Names in the order added, each once: a VEC (base/vec.h) of heap strings. */
struct names {
	char **v;
	size_t len, cap;
};

static void add(struct names *v, const char *s)
{
	for (size_t i = 0; i < v->len; i++)
		if (!strcmp(v->v[i], s))
			return;
	*vec_push(v) = xstrdup(s);
}

char **apiserver__sans(const struct apiserver *as)
{
	struct names v = {0};
	static const char *const fixed[] = {"localhost",  "127.0.0.1",		"::1",
					    "kubernetes", "kubernetes.default", "kubernetes.default.svc"};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		add(&v, fixed[i]);
	const char *dom =
	    as->o.cluster_domain && *as->o.cluster_domain ? as->o.cluster_domain : "cluster.local";
	char *fq = xasprintf("kubernetes.default.svc.%s", dom);
	add(&v, fq);
	free(fq);
	for (int i = 0; i < as->svc_cfg.nranges; i++) {
		struct ip_addr ip;
		char txt[IP_STRLEN];
		if (cidr_first_usable(&as->svc_cfg.ranges[i], &ip) == 0)
			add(&v, ip_format(&ip, txt, sizeof(txt)));
	}
	const char *bind = as->o.bind_address;
	if (bind && strcmp(bind, "0.0.0.0") && strcmp(bind, "::"))
		add(&v, bind);
	if (as->o.advertise_address && *as->o.advertise_address)
		add(&v, as->o.advertise_address);
	/* The node's addresses: global ones of every interface that is up. */
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) == 0) {
		for (struct ifaddrs *f = ifs; f; f = f->ifa_next) {
			char txt[INET6_ADDRSTRLEN];
			if (!f->ifa_addr)
				continue;
			if (f->ifa_addr->sa_family == AF_INET) {
				inet_ntop(AF_INET, &((struct sockaddr_in *)f->ifa_addr)->sin_addr, txt,
					  sizeof(txt));
			} else if (f->ifa_addr->sa_family == AF_INET6) {
				const struct in6_addr *a6 = &((struct sockaddr_in6 *)f->ifa_addr)->sin6_addr;
				if (IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_MULTICAST(a6))
					continue;
				inet_ntop(AF_INET6, a6, txt, sizeof(txt));
			} else {
				continue;
			}
			add(&v, txt);
		}
		freeifaddrs(ifs);
	}
	*vec_push(&v) = NULL; /* the terminator */
	return v.v;
}

void apiserver__sans_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static char *joined(char **v)
{
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; v[i]; i++)
		buf_printf(&b, "%s,", v[i]);
	return buf_take(&b);
}

int apiserver__certs_ensure(struct apiserver *as, char *err, size_t errlen)
{
	char **sans = apiserver__sans(as);
	char *pkidir = xasprintf("%s/pki", as->data_dir);
	int rc = pki_ensure(pkidir, (const char *const *)sans, err, errlen);
	/* The identity this server shows the nodes' log endpoints, never the admin token. */
	if (rc == 0)
		rc = pki_ensure_client(pkidir, APISERVER_KUBELET_CLIENT, "kube-apiserver-kubelet-client",
				       "system:masters", err, errlen);
	if (rc == 0) {
		free(as->cert_names);
		as->cert_names = joined(sans);
	}
	free(pkidir);
	apiserver__sans_free(sans);
	return rc;
}

void *apiserver__certs_watch(void *arg)
{
	struct apiserver *as = arg;
	pthread_mutex_lock(&as->ns_mu);
	while (!as->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += CERT_CHECK_S;
		pthread_cond_timedwait(&as->cert_cond, &as->ns_mu, &ts);
		if (as->stopping)
			break;
		pthread_mutex_unlock(&as->ns_mu);
		char **sans = apiserver__sans(as);
		char *now = joined(sans);
		apiserver__sans_free(sans);
		if (!as->cert_names || strcmp(now, as->cert_names) != 0) {
			char err[256] = "";
			int rc = apiserver__certs_ensure(as, err, sizeof(err));
			char *crt = xasprintf("%s/pki/server.crt", as->data_dir),
			     *key = xasprintf("%s/pki/server.key", as->data_dir);
			if (rc == 0)
				rc = httpd_reload_cert(as->httpd, crt, key, err, sizeof(err));
			if (rc == 0)
				log_info("serving certificate now covers %s", now);
			else
				log_error("serving certificate for %s: %s", now, err);
			free(crt);
			free(key);
		}
		free(now);
		pthread_mutex_lock(&as->ns_mu);
	}
	pthread_mutex_unlock(&as->ns_mu);
	return NULL;
}

/* POST /svcplane/v1/nodes/{name}/serving-certificate with {"csr":"<PEM>","addresses":[...]},
 * and POST /svcplane/v1/nodes/{name}/client-certificate with {"csr":"<PEM>"}. Who may ask
 * is decided before (authz.c): the join credential (the admin token), or the node itself
 * (renewal). kube's way is a certificates.k8s.io/v1 CertificateSigningRequest (signers
 * kubernetes.io/kubelet-serving and kube-apiserver-client-kubelet) approved by a
 * controller and signed by kube-controller-manager: three moving parts for what one call
 * does here. The serving certificate lets the API server verify a node's log endpoint
 * (VERIFYHOST on the address the Node names), so it never sends a credential an impostor
 * could replay; the client certificate is the node's own identity towards the API
 * (clientAuth only, so a serving certificate is never accepted as a client one). Both are
 * CN system:node:<name>, O system:nodes, as kubelet's. */
void apiserver__sign_node_cert(struct apiserver *as, struct http_conn *c, struct http_req *r,
			       const char *node, bool client)
{
	if (strcmp(r->method, "POST") != 0) {
		apiserver__send_status(c, ERR_METHOD,
				       "the server does not allow this method on the requested resource",
				       json_object());
		return;
	}
	if (as->o.insecure_http) {
		apiserver__send_status(c, -EINVAL, "this server runs plain HTTP and has no CA", NULL);
		return;
	}
	json_t *req = json_loadb(r->body, r->body_len, 0, NULL);
	const char *csr = json_string_value(json_object_get(req, "csr"));
	json_t *addrs = json_object_get(req, "addresses");
	if (!csr ||
	    (!client &&
	     (!json_is_array(addrs) || json_array_size(addrs) == 0 || json_array_size(addrs) > 16)) ||
	    api_check_dns1123_subdomain(node)) {
		json_decref(req);
		apiserver__send_status(
		    c, -EBADMSG, "want {\"csr\": PEM, \"addresses\": [1 to 16 IPs or names]} and a node name",
		    NULL);
		return;
	}
	const char *sans[18];
	size_t n = 0;
	sans[n++] = node;
	size_t i;
	json_t *v;
	json_array_foreach(addrs, i, v)
	{
		if (!json_is_string(v)) {
			json_decref(req);
			apiserver__send_status(c, -EBADMSG, "addresses must be strings", NULL);
			return;
		}
		sans[n++] = json_string_value(v);
	}
	sans[n] = NULL;
	char *pkidir = xasprintf("%s/pki", as->data_dir), *cn = xasprintf("system:node:%s", node),
	     *pem = NULL, err[256] = "";
	int rc = pki_sign_csr(pkidir, csr, strlen(csr), cn, "system:nodes", client ? NULL : sans, &pem, err,
			      sizeof(err));
	if (rc < 0) {
		apiserver__send_status(c, rc == -EIO ? -EIO : -EBADMSG, err, NULL);
	} else {
		log_info("signed the %s certificate of node %s", client ? "client" : "serving", node);
		http_send(c, 201, "application/x-pem-file", "", pem, strlen(pem));
	}
	free(pem);
	free(cn);
	free(pkidir);
	json_decref(req);
}
