/* nodecert.c - see nodecert.h: the key and certificate request are made here, the API
 * server signs, and the files land in the agent's pki directory (temporary name, fsync,
 * rename, so a crash leaves the old files or the new ones). */
#include "node/nodecert.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"
#include "http/pki.h"

int node_cert_obtain(struct client *cl, const struct client_config *cfg, const char *node_name,
		     const char *const *addrs, const char *pki_dir, char *err, size_t errlen)
{
	if (mkdir(pki_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", pki_dir, strerror(errno));
		return -errno;
	}
	/* The CA that signs our certificate also signs the API server's client certificate. */
	char *ca = NULL;
	size_t ca_len = 0;
	if (cfg->ca_pem && cfg->ca_pem_len) {
		ca = xmalloc(cfg->ca_pem_len);
		memcpy(ca, cfg->ca_pem, cfg->ca_pem_len);
		ca_len = cfg->ca_pem_len;
	} else if (cfg->ca_file) {
		if (file_read(cfg->ca_file, 1 << 20, &ca, &ca_len) < 0) /* a CA bundle is never this big */
			ca = NULL;
	}
	if (!ca || !ca_len) {
		free(ca);
		snprintf(err, errlen, "no cluster CA in the agent's configuration (--ca-file or certificate-authority-data)");
		return -EINVAL;
	}
	char *key = xasprintf("%s/kubelet.key", pki_dir), *crt = xasprintf("%s/kubelet.crt", pki_dir);
	char *cap = xasprintf("%s/client-ca.crt", pki_dir), *csr = NULL, *cn = xasprintf("system:node:%s", node_name);
	char *path = NULL, *body = NULL, *resp = NULL;
	int rc = pki_make_csr(key, cn, &csr, err, errlen);
	if (rc < 0)
		goto out;
	json_t *a = json_array();
	for (size_t i = 0; addrs[i]; i++)
		json_array_append_new(a, json_string(addrs[i]));
	json_t *req = json_pack("{s:s, s:o}", "csr", csr, "addresses", a);
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	char *esc = client_escape(node_name);
	path = xasprintf("/svcplane/v1/nodes/%s/serving-certificate", esc);
	free(esc);
	long status = 0;
	size_t resp_len = 0;
	char cerr[256] = "";
	rc = client_request(cl, "POST", path, "application/json", body, NULL, &status, &resp, &resp_len, cerr, sizeof(cerr));
	if (rc < 0 || status != 201 || !resp || strncmp(resp, "-----BEGIN CERTIFICATE-----", 27) != 0) {
		snprintf(err, errlen, "the API server did not sign the node's serving certificate: %s",
			 rc < 0 ? cerr : resp ? resp : "no answer");
		rc = rc < 0 ? rc : -EACCES;
		goto out;
	}
	if ((rc = file_write_atomic(crt, resp, resp_len, 0644)) < 0 || (rc = file_write_atomic(cap, ca, ca_len, 0644)) < 0) {
		snprintf(err, errlen, "writing %s: %s", pki_dir, strerror(-rc));
		goto out;
	}
	rc = 0;
out:
	free(resp);
	free(path);
	free(body);
	free(csr);
	free(cn);
	free(cap);
	free(crt);
	free(key);
	free(ca);
	return rc;
}

int node_cert_logsrv_start(struct client *cl, const struct client_config *cfg, const char *node_name, const char *ip,
			   const char *ip6, int port, const char *log_dir, const char *pki_dir,
			   struct node_logsrv **out, char *err, size_t errlen)
{
	*out = NULL;
	const char *addrs[3] = {ip, ip6, NULL};
	int rc = node_cert_obtain(cl, cfg, node_name, addrs, pki_dir, err, errlen);
	if (rc < 0)
		return rc;
	char *crt = xasprintf("%s/kubelet.crt", pki_dir), *key = xasprintf("%s/kubelet.key", pki_dir);
	char *cap = xasprintf("%s/client-ca.crt", pki_dir);
	struct node_logsrv_opts lo = {.bind_address = ip, .port = port, .log_dir = log_dir, .pki_dir = pki_dir,
				      .token = cfg->token, .cert_file = crt, .key_file = key, .client_ca_file = cap};
	rc = node_logsrv_start(&lo, out, err, errlen);
	free(crt);
	free(key);
	free(cap);
	return rc;
}
