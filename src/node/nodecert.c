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

/* Has the API server sign a certificate for the key in key_path (made when missing,
 * 0600): what is "serving-certificate" (for addrs) or "client-certificate" (addrs NULL).
 * *pem is the heap PEM. Returns 0 or a negative code with err. */
static int sign(struct client *cl, const char *node_name, const char *what, const char *key_path,
		const char *const *addrs, char **pem, size_t *pem_len, char *err, size_t errlen)
{
	char *csr = NULL, *cn = xasprintf("system:node:%s", node_name), *body = NULL, *path = NULL,
	     *resp = NULL;
	*pem = NULL;
	int rc = pki_make_csr(key_path, cn, &csr, err, errlen);
	if (rc < 0)
		goto out;
	json_t *req = json_pack("{s:s}", "csr", csr);
	if (addrs) {
		json_t *a = json_array();
		for (size_t i = 0; addrs[i]; i++)
			json_array_append_new(a, json_string(addrs[i]));
		json_object_set_new(req, "addresses", a);
	}
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	char *esc = client_escape(node_name);
	path = xasprintf("/svcplane/v1/nodes/%s/%s", esc, what);
	free(esc);
	long status = 0;
	size_t resp_len = 0;
	char cerr[256] = "";
	rc = client_request(cl, "POST", path, "application/json", body, NULL, &status, &resp, &resp_len, cerr,
			    sizeof(cerr));
	if (rc < 0 || status != 201 || !resp || strncmp(resp, "-----BEGIN CERTIFICATE-----", 27) != 0) {
		snprintf(err, errlen, "the API server did not sign the node's %s: %s", what,
			 rc < 0 ? cerr
			 : resp ? resp
				: "no answer");
		rc = rc < 0 ? rc : status == 404 ? -ENOENT : -EACCES;
		goto out;
	}
	*pem = resp;
	*pem_len = resp_len;
	resp = NULL;
	rc = 0;
out:
	free(resp);
	free(path);
	free(body);
	free(csr);
	free(cn);
	return rc;
}

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
		snprintf(
		    err, errlen,
		    "no cluster CA in the agent's configuration (--ca-file or certificate-authority-data)");
		return -EINVAL;
	}
	char *key = xasprintf("%s/kubelet.key", pki_dir), *crt = xasprintf("%s/kubelet.crt", pki_dir);
	char *cap = xasprintf("%s/client-ca.crt", pki_dir), *pem = NULL;
	size_t pem_len = 0;
	int rc = sign(cl, node_name, "serving-certificate", key, addrs, &pem, &pem_len, err, errlen);
	if (rc == 0 && ((rc = file_write_atomic(crt, pem, pem_len, 0644)) < 0 ||
			(rc = file_write_atomic(cap, ca, ca_len, 0644)) < 0))
		snprintf(err, errlen, "writing %s: %s", pki_dir, strerror(-rc));
	free(pem);
	free(cap);
	free(crt);
	free(key);
	free(ca);
	return rc;
}

int node_client_cert_obtain(struct client *cl, const char *node_name, const char *pki_dir, char *err,
			    size_t errlen)
{
	if (mkdir(pki_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", pki_dir, strerror(errno));
		return -errno;
	}
	char *key = xasprintf("%s/%s.key", pki_dir, NODE_CLIENT_CERT),
	     *crt = xasprintf("%s/%s.crt", pki_dir, NODE_CLIENT_CERT);
	char *pem = NULL;
	size_t pem_len = 0;
	int rc = sign(cl, node_name, "client-certificate", key, NULL, &pem, &pem_len, err, errlen);
	if (rc == 0 && (rc = file_write_atomic(crt, pem, pem_len, 0600)) < 0)
		snprintf(err, errlen, "writing %s: %s", crt, strerror(-rc));
	free(pem);
	free(crt);
	free(key);
	return rc;
}

int node_cert_logsrv_start(struct client *cl, const struct client_config *cfg, const char *node_name,
			   const char *ip, const char *ip6, int port, const char *log_dir,
			   const char *pki_dir, struct node_logsrv **out, char *err, size_t errlen)
{
	*out = NULL;
	const char *addrs[3] = {ip, ip6, NULL};
	int rc = node_cert_obtain(cl, cfg, node_name, addrs, pki_dir, err, errlen);
	if (rc < 0)
		return rc;
	char *crt = xasprintf("%s/kubelet.crt", pki_dir), *key = xasprintf("%s/kubelet.key", pki_dir);
	char *cap = xasprintf("%s/client-ca.crt", pki_dir);
	struct node_logsrv_opts lo = {.bind_address = ip,
				      .port = port,
				      .log_dir = log_dir,
				      .pki_dir = pki_dir,
				      .token = cfg->token,
				      .cert_file = crt,
				      .key_file = key,
				      .client_ca_file = cap};
	rc = node_logsrv_start(&lo, out, err, errlen);
	free(crt);
	free(key);
	free(cap);
	return rc;
}

int node_identity_take(struct client **cl, struct client_config *cfg, const char *node_name,
		       const char *pki_dir)
{
	char err[512] = "";
	int rc = node_client_cert_obtain(*cl, node_name, pki_dir, err, sizeof(err));
	if (rc < 0) {
		log_warn("agent: no node credential, going on with the join credential: %s", err);
		return rc;
	}
	free(cfg->cert_file);
	free(cfg->key_file);
	cfg->cert_file = xasprintf("%s/%s.crt", pki_dir, NODE_CLIENT_CERT);
	cfg->key_file = xasprintf("%s/%s.key", pki_dir, NODE_CLIENT_CERT);
	free(cfg->token);
	cfg->token = NULL;
	client_free(*cl);
	*cl = client_new(cfg, 10000);
	log_info("agent: using the node credential system:node:%s (%s)", node_name, cfg->cert_file);
	return 0;
}
