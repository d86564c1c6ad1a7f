/* encconfig.c - kube-apiserver's --encryption-provider-config: an
 * apiserver.config.k8s.io/v1 EncryptionConfiguration (YAML or JSON) turned into the
 * store's encryption rules (store.h). Resources are "secrets", "configmaps" or
 * "<plural>.<group>" of the kinds this server serves; providers aesgcm and aescbc (keys:
 * name + base64 secret of 16, 24 or 32 bytes) and identity. The first key of the first
 * provider encrypts new writes; every listed key still reads. kms and secretbox are
 * refused (not implemented), as are wildcards. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/base64.h"
#include "api/codec.h"
#include "api/object.h"
#include "api/schema.h"
#include "apiserver/internal.h"
#include "base/file.h"
#include "base/mem.h"

static int prefix_of(const char *res, char *out, size_t len)
{
	const char *dot = strchr(res, '.');
	char plural[128], group[128];
	snprintf(plural, sizeof(plural), "%.*s", dot ? (int)(dot - res) : (int)strlen(res), res);
	snprintf(group, sizeof(group), "%s", dot ? dot + 1 : "");
	for (size_t i = 0; i < api_nkinds; i++) {
		const struct api_kind *k = &api_kinds[i];
		if (!strcmp(k->plural, plural) && !strcmp(k->group, group)) {
			int w = snprintf(out, len, "/registry/%s/%s/", k->group[0] ? k->group : "core",
					 k->plural);
			return w > 0 && (size_t)w < len ? 0 : -ENOENT;
		}
	}
	return -ENOENT;
}

static int add_keys(struct store_enc_rule *r, enum store_enc_kind kind, const json_t *conf, const char *where,
		    char *err, size_t errlen)
{
	size_t i;
	json_t *k;
	json_t *keys = json_object_get(conf, "keys");
	if (json_array_size(keys) == 0) {
		snprintf(err, errlen, "%s.keys: Required value", where);
		return -EINVAL;
	}
	json_array_foreach(keys, i, k)
	{
		const char *name = api_str(k, "name"), *secret = api_str(k, "secret");
		unsigned char *raw = NULL;
		size_t n = 0;
		if (!name || !*name || strlen(name) >= sizeof(r->providers[0].name) || strchr(name, ':')) {
			snprintf(err, errlen,
				 "%s.keys[%zu].name: Invalid value: a name without ':' is required", where,
				 i);
			return -EINVAL;
		}
		if (!secret || api_base64_decode(secret, &raw, &n) < 0 || (n != 16 && n != 24 && n != 32)) {
			free(raw);
			snprintf(err, errlen,
				 "%s.keys[%zu].secret: Invalid value: must be base64 of 16, 24 or 32 bytes",
				 where, i);
			return -EINVAL;
		}
		if (r->nproviders == sizeof(r->providers) / sizeof(r->providers[0])) {
			free(raw);
			snprintf(err, errlen, "%s: too many keys (at most 8 per resource)", where);
			return -EINVAL;
		}
		struct store_enc_provider *p = &r->providers[r->nproviders++];
		p->kind = kind;
		snprintf(p->name, sizeof(p->name), "%s", name);
		memcpy(p->key, raw, n);
		p->key_len = n;
		free(raw);
	}
	return 0;
}

int apiserver_encryption_load(const char *path, struct store_encryption *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	char *text = NULL;
	int rrc = file_read(path, 1 << 20, &text, NULL);
	if (rrc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rrc));
		return -EINVAL;
	}
	size_t len = strlen(text);
	json_t *docs = NULL;
	char perr[256] = "";
	int rc = api_yaml_decode(text, len, &docs, perr, sizeof(perr));
	free(text);
	json_t *c = rc == 0 && json_array_size(docs) == 1 ? json_array_get(docs, 0) : NULL;
	const char *kind = api_str(c, "kind"), *av = api_str(c, "apiVersion");
	if (!c || !kind || strcmp(kind, "EncryptionConfiguration") || !av ||
	    strcmp(av, "apiserver.config.k8s.io/v1")) {
		snprintf(err, errlen, "%s: not an apiserver.config.k8s.io/v1 EncryptionConfiguration%s%s",
			 path, perr[0] ? ": " : "", perr);
		json_decref(docs);
		return -EINVAL;
	}
	rc = 0;
	size_t i, j, m;
	json_t *res, *name, *prov;
	json_array_foreach(json_object_get(c, "resources"), i, res)
	{
		json_t *names = json_object_get(res, "resources"), *provs = json_object_get(res, "providers");
		if (json_array_size(provs) == 0) {
			snprintf(err, errlen, "resources[%zu].providers: Required value", i);
			rc = -EINVAL;
			goto out;
		}
		json_array_foreach(names, j, name)
		{
			if (out->nrules == sizeof(out->rules) / sizeof(out->rules[0])) {
				snprintf(err, errlen, "resources: at most 8 resources may be encrypted");
				rc = -EINVAL;
				goto out;
			}
			struct store_enc_rule *r = &out->rules[out->nrules];
			memset(r, 0, sizeof(*r));
			const char *rn = json_string_value(name);
			if (!rn || prefix_of(rn, r->prefix, sizeof(r->prefix)) < 0) {
				snprintf(
				    err, errlen,
				    "resources[%zu].resources[%zu]: Unsupported value: \"%s\": a resource this "
				    "server serves (\"secrets\", \"configmaps\", \"<plural>.<group>\")",
				    i, j, rn ? rn : "");
				rc = -EINVAL;
				goto out;
			}
			json_array_foreach(provs, m, prov)
			{
				char where[96];
				json_t *conf;
				snprintf(where, sizeof(where), "resources[%zu].providers[%zu]", i, m);
				if ((conf = json_object_get(prov, "aesgcm")))
					rc = add_keys(r, STORE_ENC_AESGCM, conf, where, err, errlen);
				else if ((conf = json_object_get(prov, "aescbc")))
					rc = add_keys(r, STORE_ENC_AESCBC, conf, where, err, errlen);
				else if (json_object_get(prov, "identity") && r->nproviders < 8)
					r->providers[r->nproviders++].kind = STORE_ENC_IDENTITY;
				else {
					snprintf(err, errlen,
						 "%s: only aesgcm, aescbc and identity are supported", where);
					rc = -EINVAL;
				}
				if (rc < 0)
					goto out;
			}
			out->nrules++;
		}
	}
out:
	json_decref(docs);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}
