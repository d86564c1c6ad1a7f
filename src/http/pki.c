/* pki.c - the server's CA and serving certificate, made with OpenSSL 3 at first start.
 *
 * Keys are ECDSA P-256 (Go, curl and OpenSSL clients all verify them; small and fast).
 * The CA ("svcplane-ca", 10 years, CA:TRUE, keyCertSign) signs the serving certificate
 * ("svcplane-apiserver", 1 year, serverAuth, subjectAltName from the requested names).
 * Existing CA files are never replaced: a restart keeps the CA so kubeconfigs stay valid.
 * The serving certificate is a derived artefact: it is reissued (new key, same CA) when it
 * is unreadable, does not match its key, was not signed by this CA, expires within 30
 * days, or does not cover every requested name. Files are written to a temporary name,
 * synced and renamed, keys with mode 0600; the key goes first so a crash in between
 * leaves a mismatch that the next start repairs.
 */
#include "http/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"

#define CA_DAYS 3650
#define SERVER_DAYS 365
#define RENEW_BEFORE_DAYS 30

static const char *const default_sans[] = {"localhost", "127.0.0.1", "::1", NULL};

static void ssl_err(char *err, size_t errlen, const char *what)
{
	char why[256] = "unknown error";
	unsigned long e = ERR_peek_last_error();
	if (e)
		ERR_error_string_n(e, why, sizeof(why));
	snprintf(err, errlen, "%s: %s", what, why);
	ERR_clear_error();
}

static bool is_ip(const char *s)
{
	unsigned char tmp[16];
	return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

static bool is_dns_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == '*'))
			return false;
	}
	return true;
}

static int mkdir_p(const char *dir)
{
	char *p = xstrdup(dir);
	int rc = 0;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			rc = -errno;
			goto out;
		}
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		rc = -errno;
out:
	free(p);
	return rc;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static X509 *load_cert(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static EVP_PKEY *load_key(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

/* Writes a key (when key is set) or a certificate to path, atomically. */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert, char *err, size_t errlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	int ok =
	    key ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) : PEM_write_bio_X509(b, cert);
	char *data = NULL;
	long len = BIO_get_mem_data(b, &data);
	int rc = ok && len >= 0 ? file_write_atomic(path, data, (size_t)len, mode) : -EIO;
	if (len > 0)
		OPENSSL_cleanse(data, (size_t)len); /* a private key does not linger in freed memory */
	BIO_free(b);
	if (rc < 0)
		snprintf(err, errlen, "write %s: %s", path, strerror(-rc));
	return rc;
}

static EVP_PKEY *gen_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	if (!e)
		return -EINVAL;
	int ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -EINVAL;
}

static int add_sans(X509 *x, const char *const *sans)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int rc = -EINVAL;
	if (!gens)
		return -ENOMEM;
	for (size_t i = 0; sans[i]; i++) {
		GENERAL_NAME *gn = GENERAL_NAME_new();
		if (!gn)
			goto out;
		if (is_ip(sans[i])) {
			ASN1_OCTET_STRING *ip = a2i_IPADDRESS(sans[i]);
			if (!ip) {
				GENERAL_NAME_free(gn);
				goto out;
			}
			GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
		} else {
			ASN1_IA5STRING *s = ASN1_IA5STRING_new();
			if (!s || !ASN1_STRING_set(s, sans[i], (int)strlen(sans[i]))) {
				ASN1_IA5STRING_free(s);
				GENERAL_NAME_free(gn);
				goto out;
			}
			GENERAL_NAME_set0_value(gn, GEN_DNS, s);
		}
		if (!sk_GENERAL_NAME_push(gens, gn)) {
			GENERAL_NAME_free(gn);
			goto out;
		}
	}
	rc = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1 ? 0 : -EINVAL;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

/* Makes a certificate for key (its public half is enough when issuer is given), signed by
 * issuer_key (self-signed when issuer is NULL). org (may be NULL) is the subject's O,
 * eku "serverAuth" or "clientAuth"; sans NULL for none. */
static X509 *make_cert_full(EVP_PKEY *key, const char *cn, const char *org, X509 *issuer,
			    EVP_PKEY *issuer_key, long days, const char *eku, const char *const *sans)
{
	X509 *x = X509_new();
	BIGNUM *bn = BN_new();
	unsigned char serial[16];
	if (!x || !bn || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f; /* positive, at most 16 bytes */
	serial[0] |= 0x01; /* and never zero */
	if (!BN_bin2bn(serial, sizeof(serial), bn) || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto fail;
	X509_set_version(x, X509_VERSION_3);
	/* An hour back, for clocks that lag the server's. */
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL))
		goto fail;
	X509_NAME *name = X509_get_subject_name(x);
	if (org &&
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)org, -1, -1, 0))
		goto fail;
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0))
		goto fail;
	if (!X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) ||
	    !X509_set_pubkey(x, key))
		goto fail;

	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	if (!issuer) {
		if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
		    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign") < 0 ||
		    add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0)
			goto fail;
	} else {
		if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
		    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") < 0 ||
		    add_ext(x, &ctx, NID_ext_key_usage, eku) < 0 ||
		    add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0 ||
		    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") < 0 ||
		    (sans && sans[0] && add_sans(x, sans) < 0))
			goto fail;
	}
	if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()))
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, long days,
		       const char *const *sans)
{
	return make_cert_full(key, cn, NULL, issuer, issuer_key, days, "serverAuth", sans);
}

/* True when cert (with key) was signed by ca, is valid for RENEW_BEFORE_DAYS more days and
 * names every entry of sans. */
static bool server_cert_ok(X509 *cert, EVP_PKEY *key, X509 *ca, const char *const *sans)
{
	if (X509_check_private_key(cert, key) != 1)
		return false;
	EVP_PKEY *ca_pub = X509_get0_pubkey(ca);
	if (!ca_pub || X509_verify(cert, ca_pub) != 1)
		return false;
	time_t later = time(NULL) + (time_t)RENEW_BEFORE_DAYS * 86400;
	if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0 ||
	    X509_cmp_time(X509_get0_notAfter(cert), &later) <= 0)
		return false;
	for (size_t i = 0; sans[i]; i++) {
		int ok = is_ip(sans[i]) ? X509_check_ip_asc(cert, sans[i], 0)
					: X509_check_host(cert, sans[i], strlen(sans[i]),
							  X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
							      X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
							  NULL);
		if (ok != 1)
			return false;
	}
	return true;
}

int pki_ensure(const char *dir, const char *const *sans, char *err, size_t errlen)
{
	char dummy[1];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	if (!dir || !*dir) {
		snprintf(err, errlen, "no certificate directory");
		return -EINVAL;
	}
	if (!sans || !sans[0])
		sans = default_sans;
	for (size_t i = 0; sans[i]; i++) {
		if (!is_ip(sans[i]) && !is_dns_name(sans[i])) {
			snprintf(err, errlen, "bad certificate name \"%s\": not an IP address or DNS name",
				 sans[i]);
			return -EINVAL;
		}
	}
	int rc = mkdir_p(dir);
	if (rc < 0) {
		snprintf(err, errlen, "create %s: %s", dir, strerror(-rc));
		return rc;
	}
	char *ca_crt = xasprintf("%s/ca.crt", dir), *ca_key = xasprintf("%s/ca.key", dir);
	char *srv_crt = xasprintf("%s/server.crt", dir), *srv_key = xasprintf("%s/server.key", dir);
	X509 *ca = NULL, *srv = NULL;
	EVP_PKEY *cak = NULL, *srvk = NULL;

	bool have_crt = exists(ca_crt), have_key = exists(ca_key);
	if (have_crt && have_key) {
		if (!(ca = load_cert(ca_crt)) || !(cak = load_key(ca_key))) {
			ssl_err(err, errlen, "cannot read the CA in ca.crt / ca.key");
			rc = -EBADMSG;
			goto out;
		}
		if (X509_check_private_key(ca, cak) != 1) {
			snprintf(err, errlen, "%s does not belong to %s", ca_key, ca_crt);
			ERR_clear_error();
			rc = -EINVAL;
			goto out;
		}
	} else if (!have_crt && !have_key) {
		if (!(cak = gen_key()) || !(ca = make_cert(cak, "svcplane-ca", NULL, NULL, CA_DAYS, NULL))) {
			ssl_err(err, errlen, "cannot make the CA");
			rc = -EIO;
			goto out;
		}
		if ((rc = write_pem(ca_key, 0600, cak, NULL, err, errlen)) < 0 ||
		    (rc = write_pem(ca_crt, 0644, NULL, ca, err, errlen)) < 0)
			goto out;
	} else {
		snprintf(err, errlen, "found only one of %s and %s; restore the other or remove both", ca_crt,
			 ca_key);
		rc = -EINVAL;
		goto out;
	}

	srv = load_cert(srv_crt);
	srvk = srv ? load_key(srv_key) : NULL;
	ERR_clear_error();
	if (srv && srvk && server_cert_ok(srv, srvk, ca, sans)) {
		rc = 0;
		goto out;
	}
	ERR_clear_error();
	X509_free(srv);
	EVP_PKEY_free(srvk);
	srv = NULL;
	if (!(srvk = gen_key()) ||
	    !(srv = make_cert(srvk, "svcplane-apiserver", ca, cak, SERVER_DAYS, sans))) {
		ssl_err(err, errlen, "cannot make the serving certificate");
		rc = -EIO;
		goto out;
	}
	if ((rc = write_pem(srv_key, 0600, srvk, NULL, err, errlen)) < 0 ||
	    (rc = write_pem(srv_crt, 0644, NULL, srv, err, errlen)) < 0)
		goto out;
	rc = 0;
out:
	EVP_PKEY_free(srvk);
	X509_free(srv);
	EVP_PKEY_free(cak);
	X509_free(ca);
	free(srv_key);
	free(srv_crt);
	free(ca_key);
	free(ca_crt);
	return rc;
}

int pki_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	if (!out || nbytes > INT_MAX / 2)
		return -EINVAL;
	unsigned char *tmp = xmalloc(nbytes);
	if (nbytes && RAND_bytes(tmp, (int)nbytes) != 1) {
		free(tmp);
		return -EIO;
	}
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[tmp[i] >> 4];
		out[2 * i + 1] = hex[tmp[i] & 15];
	}
	out[2 * nbytes] = 0;
	OPENSSL_cleanse(tmp, nbytes);
	free(tmp);
	return 0;
}

/* Loads the CA of dir (ca.crt, ca.key). */
static int load_ca(const char *dir, X509 **ca, EVP_PKEY **cak, char *err, size_t errlen)
{
	char *crt = xasprintf("%s/ca.crt", dir), *key = xasprintf("%s/ca.key", dir);
	*ca = load_cert(crt);
	*cak = *ca ? load_key(key) : NULL;
	int rc = 0;
	if (!*ca || !*cak) {
		ssl_err(err, errlen, "cannot read the CA in ca.crt / ca.key");
		X509_free(*ca);
		EVP_PKEY_free(*cak);
		*ca = NULL;
		*cak = NULL;
		rc = -EBADMSG;
	}
	free(crt);
	free(key);
	return rc;
}

int pki_ensure_client(const char *dir, const char *base, const char *cn, const char *org, char *err,
		      size_t errlen)
{
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *cak = NULL, *key = NULL;
	char *crt_path = xasprintf("%s/%s.crt", dir, base), *key_path = xasprintf("%s/%s.key", dir, base);
	int rc = load_ca(dir, &ca, &cak, err, errlen);
	if (rc < 0)
		goto out;
	cert = load_cert(crt_path);
	key = cert ? load_key(key_path) : NULL;
	ERR_clear_error();
	static const char *const none[] = {NULL};
	if (cert && key && server_cert_ok(cert, key, ca, none)) {
		X509_NAME *n = X509_get_subject_name(cert);
		char got[256] = "";
		X509_NAME_get_text_by_NID(n, NID_commonName, got, sizeof(got));
		if (!strcmp(got, cn))
			goto out;
	}
	ERR_clear_error();
	X509_free(cert);
	EVP_PKEY_free(key);
	cert = NULL;
	if (!(key = gen_key()) ||
	    !(cert = make_cert_full(key, cn, org, ca, cak, SERVER_DAYS, "clientAuth", NULL))) {
		ssl_err(err, errlen, "cannot make the client certificate");
		rc = -EIO;
		goto out;
	}
	if ((rc = write_pem(key_path, 0600, key, NULL, err, errlen)) < 0 ||
	    (rc = write_pem(crt_path, 0644, NULL, cert, err, errlen)) < 0)
		goto out;
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	X509_free(ca);
	EVP_PKEY_free(cak);
	free(crt_path);
	free(key_path);
	return rc;
}

int pki_sign_csr(const char *dir, const char *csr_pem, size_t csr_len, const char *cn, const char *org,
		 const char *const *sans, char **cert_pem, char *err, size_t errlen)
{
	*cert_pem = NULL;
	for (size_t i = 0; sans && sans[i]; i++)
		if (!is_ip(sans[i]) && !is_dns_name(sans[i])) {
			snprintf(err, errlen, "bad certificate name \"%s\": not an IP address or DNS name",
				 sans[i]);
			return -EINVAL;
		}
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *cak = NULL;
	X509_REQ *req = NULL;
	BIO *in = BIO_new_mem_buf(csr_pem, csr_len > INT_MAX ? INT_MAX : (int)csr_len), *out = NULL;
	int rc = load_ca(dir, &ca, &cak, err, errlen);
	if (rc < 0)
		goto done;
	req = in ? PEM_read_bio_X509_REQ(in, NULL, NULL, NULL) : NULL;
	EVP_PKEY *pub = req ? X509_REQ_get0_pubkey(req) : NULL;
	/* The request must be signed by the key it carries: whoever asks holds that key. */
	if (!pub || X509_REQ_verify(req, pub) != 1) {
		snprintf(err, errlen, "not a PEM certificate request signed by its own key");
		ERR_clear_error();
		rc = -EBADMSG;
		goto done;
	}
	if (!(cert = make_cert_full(pub, cn, org, ca, cak, SERVER_DAYS, sans ? "serverAuth" : "clientAuth",
				    sans))) {
		ssl_err(err, errlen, "cannot sign the certificate");
		rc = -EIO;
		goto done;
	}
	out = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	if (!out || !PEM_write_bio_X509(out, cert) || (n = BIO_get_mem_data(out, &data)) <= 0) {
		ssl_err(err, errlen, "cannot encode the certificate");
		rc = -EIO;
		goto done;
	}
	*cert_pem = xstrndup(data, (size_t)n);
	rc = 0;
done:
	BIO_free(in);
	BIO_free(out);
	X509_REQ_free(req);
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(cak);
	return rc;
}

int pki_make_csr(const char *key_path, const char *cn, char **csr_pem, char *err, size_t errlen)
{
	*csr_pem = NULL;
	EVP_PKEY *key = load_key(key_path);
	ERR_clear_error();
	int rc = 0;
	if (!key) {
		if (!(key = gen_key())) {
			ssl_err(err, errlen, "cannot make a key");
			return -EIO;
		}
		if ((rc = write_pem(key_path, 0600, key, NULL, err, errlen)) < 0) {
			EVP_PKEY_free(key);
			return rc;
		}
	}
	X509_REQ *req = X509_REQ_new();
	BIO *out = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	if (!req || !out || !X509_REQ_set_version(req, 0) ||
	    !X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_REQ_set_pubkey(req, key) || !X509_REQ_sign(req, key, EVP_sha256()) ||
	    !PEM_write_bio_X509_REQ(out, req) || (n = BIO_get_mem_data(out, &data)) <= 0) {
		ssl_err(err, errlen, "cannot make the certificate request");
		rc = -EIO;
	} else {
		*csr_pem = xstrndup(data, (size_t)n);
	}
	BIO_free(out);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return rc;
}

EVP_PKEY *pki_key_ensure(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *k = load_key(path);
	if (k)
		return k;
	if (!(k = gen_key())) {
		ssl_err(err, errlen, "cannot generate a key");
		return NULL;
	}
	if (write_pem(path, 0600, k, NULL, err, errlen) < 0) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}
