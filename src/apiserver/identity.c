/* identity.c - the cluster's one identity at start-up: take the CA, its key and the
 * ServiceAccount signing key from the datastore's sealed bootstrap record, or, on the
 * cluster's first server, put this server's there (clusterid.h says how it is sealed).
 *
 * Runs before the serving certificate and the ServiceAccount key are loaded, so they are
 * read from the files this step wrote. When the datastore's CA differs from the one in
 * <data-dir>/pki (a server joining a cluster, or a data dir from elsewhere), the local CA
 * files are replaced and the certificates it signed are removed, to be issued again from
 * the cluster's CA. A token that does not open the record stops the start before any file
 * or record is written.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/object.h"
#include "apiserver/clusterid.h"
#include "apiserver/internal.h"
#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"
#include "http/pki.h"

#define PEM_MAX (1024 * 1024)

static const char *const files[] = {"ca.crt", "ca.key", "sa.key"};

/* Writes the record's files into dir when its CA is not the one there. */
static int adopt(const char *dir, const json_t *plain, char *err, size_t errlen)
{
	char *path = xasprintf("%s/ca.crt", dir), *have = NULL;
	bool same = file_read(path, PEM_MAX, &have, NULL) == 0 &&
		    !strcmp(have, json_string_value(json_object_get(plain, "ca.crt")));
	free(have);
	free(path);
	if (same)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		const char *pem = json_string_value(json_object_get(plain, files[i]));
		if (!pem)
			continue; /* a record without sa.key: this server keeps its own */
		path = xasprintf("%s/%s", dir, files[i]);
		int rc = file_write_atomic(path, pem, strlen(pem), 0600);
		if (rc < 0) {
			snprintf(err, errlen, "writing %s: %s", path, strerror(-rc));
			free(path);
			return rc;
		}
		free(path);
	}
	/* Certificates signed by the CA this server had: issued again from the cluster's. */
	static const char *const issued[] = {"server.crt", "server.key", APISERVER_KUBELET_CLIENT ".crt",
					     APISERVER_KUBELET_CLIENT ".key"};
	for (size_t i = 0; i < 4; i++) {
		path = xasprintf("%s/%s", dir, issued[i]);
		unlink(path);
		free(path);
	}
	log_info("cluster identity: took the cluster's CA and ServiceAccount key from the datastore");
	return 0;
}

/* The record's plaintext from this server's files (the CA and the SA key made first). */
static json_t *local_identity(struct apiserver *as, const char *dir, char *err, size_t errlen)
{
	char *ca = xasprintf("%s/ca.crt", dir);
	struct stat sb;
	bool have_ca = stat(ca, &sb) == 0;
	free(ca);
	if (!have_ca && pki_ensure(dir, NULL, err, errlen) < 0)
		return NULL;
	char *sap = xasprintf("%s/sa.key", dir);
	EVP_PKEY *k = pki_key_ensure(sap, err, errlen);
	free(sap);
	if (!k)
		return NULL;
	EVP_PKEY_free(k);
	char th[80];
	apiserver_token_hash(as->token, th, sizeof(th));
	json_t *plain = json_pack("{s:s}", "tokenHash", th);
	for (size_t i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s", dir, files[i]), *pem = NULL;
		int rc = file_read(p, PEM_MAX, &pem, NULL);
		if (rc < 0) {
			snprintf(err, errlen, "reading %s: %s", p, strerror(-rc));
			free(p);
			json_decref(plain);
			return NULL;
		}
		json_object_set_new(plain, files[i], json_string(pem));
		OPENSSL_cleanse(pem, strlen(pem));
		free(pem);
		free(p);
	}
	return plain;
}

int apiserver__identity_ensure(struct apiserver *as, char *err, size_t errlen)
{
	char *dir = xasprintf("%s/pki", as->data_dir);
	int rc = 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		struct store_kv *kv = NULL;
		rc = store_get(as->store, APISERVER_BOOTSTRAP_KEY, &kv);
		if (rc < 0 && rc != -ENOENT) {
			snprintf(err, errlen, "reading %s: %s", APISERVER_BOOTSTRAP_KEY, strerror(-rc));
			goto out;
		}
		if (rc == 0 && kv) {
			json_t *plain = NULL;
			char oerr[400] = "";
			rc = apiserver_bootstrap_open(as->token, kv->value, kv->value_len, &plain, oerr,
						      sizeof(oerr));
			store_kv_unref(kv);
			if (rc < 0) {
				snprintf(err, errlen, "cluster identity: %s; nothing was changed", oerr);
				goto out;
			}
			rc = adopt(dir, plain, err, errlen);
			json_decref(plain);
			goto out;
		}
		/* The cluster's first server: seal this server's identity into the store. */
		json_t *plain = local_identity(as, dir, err, errlen);
		if (!plain) {
			rc = -EIO;
			goto out;
		}
		unsigned char salt[16], nonce[12];
		char *rec = NULL;
		if (RAND_bytes(salt, sizeof(salt)) == 1 && RAND_bytes(nonce, sizeof(nonce)) == 1)
			rec = apiserver_bootstrap_seal(as->token, plain, salt, nonce,
						       APISERVER_BOOTSTRAP_ITERATIONS);
		json_decref(plain);
		if (!rec) {
			snprintf(err, errlen, "cluster identity: sealing the bootstrap record failed");
			rc = -EIO;
			goto out;
		}
		struct store_op op = {.kind = STORE_PUT,
				      .key = APISERVER_BOOTSTRAP_KEY,
				      .value = rec,
				      .value_len = strlen(rec),
				      .expect_mod_rev = 0};
		int64_t rev;
		size_t failed;
		struct store_result res = {0};
		rc = store_txn(as->store, &op, 1, &res, &rev, &failed);
		store_kv_unref(res.kv);
		free(rec);
		if (rc == 0) {
			log_info(
			    "cluster identity: stored this server's CA in the datastore (sealed with the token)");
			goto out;
		}
		if (rc != -EEXIST) {
			snprintf(err, errlen, "storing %s: %s", APISERVER_BOOTSTRAP_KEY, err_str(rc));
			goto out;
		}
		/* another server was first: take its identity */
	}
	snprintf(err, errlen, "cluster identity: %s keeps changing", APISERVER_BOOTSTRAP_KEY);
	rc = -EAGAIN;
out:
	free(dir);
	return rc;
}
