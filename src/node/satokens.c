/* satokens.c - ServiceAccount tokens for the node's pods (see satokens.h). */
#include "node/satokens.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/object.h"
#include "base/log.h"
#include "base/mem.h"
#include "node/bgworker.h"

#define RETRY_S 1

struct tok {
	char *uid, *ns, *pod, *sa;
	enum node_satoken_state state;
	char *token;
	int64_t iat, exp;   /* of token (Unix seconds) */
	int64_t not_before; /* retry no earlier (Unix seconds) */
	struct tok *next;
};

struct node_satokens {
	struct node_bg bg;
	struct tok *list;
};

bool node_satoken_refresh_due(int64_t iat, int64_t exp, int64_t now)
{
	if (now >= exp || exp <= iat)
		return true;
	return now - iat >= (exp - iat) * NODE_SATOKEN_REFRESH_PCT / 100;
}

static void tok_free(struct tok *k)
{
	free(k->uid);
	free(k->ns);
	free(k->pod);
	free(k->sa);
	free(k->token);
	free(k);
}

static bool needs_fetch(const struct tok *k, int64_t now)
{
	if (k->state == NODE_SATOKEN_NONE || now < k->not_before)
		return false;
	return k->state == NODE_SATOKEN_PENDING || node_satoken_refresh_due(k->iat, k->exp, now);
}

/* One GET or POST; the HTTP status (0 on a transport error, logged) and *resp parsed. */
static long call(struct client *cl, const char *method, const char *path, const json_t *body, json_t **resp)
{
	char *b = body ? json_dumps(body, JSON_COMPACT) : NULL, *r = NULL, err[256] = "";
	long status = 0;
	int rc = client_request(cl, method, path, b ? "application/json" : NULL, b, NULL, &status, &r, NULL,
				err, sizeof(err));
	free(b);
	*resp = NULL;
	if (rc < 0) {
		log_warn("agent: %s %s: %s", method, path, err);
		free(r);
		return 0;
	}
	*resp = r ? json_loads(r, 0, NULL) : NULL;
	if (status >= 300 && status != 404)
		log_warn("agent: %s %s: HTTP %ld: %.300s", method, path, status, r ? r : "");
	free(r);
	return status;
}

/* Fetches ns/pod's token as sa. Returns the new state; READY with *token, *iat, *exp. */
static enum node_satoken_state fetch(struct client *cl, const char *ns, const char *pod, const char *uid,
				     const char *sa, bool first, char **token, int64_t *iat, int64_t *exp)
{
	json_t *resp = NULL;
	long st;
	if (first) {
		char *path = xasprintf("/api/v1/namespaces/%s/serviceaccounts/%s", ns, sa);
		st = call(cl, "GET", path, NULL, &resp);
		free(path);
		bool off = st == 200 && json_is_false(json_object_get(resp, "automountServiceAccountToken"));
		json_decref(resp);
		if (st == 404 || off) {
			log_info("agent: pod %s/%s: no ServiceAccount token (%s)", ns, pod,
				 off ? "automountServiceAccountToken is false" : "no such ServiceAccount");
			return NODE_SATOKEN_NONE;
		}
		if (st != 200)
			return NODE_SATOKEN_PENDING;
	}
	char *path = xasprintf("/api/v1/namespaces/%s/serviceaccounts/%s/token", ns, sa);
	json_t *body = json_pack("{s:s, s:s, s:{s:I, s:{s:s, s:s, s:s, s:s}}}", "apiVersion",
				 "authentication.k8s.io/v1", "kind", "TokenRequest", "spec",
				 "expirationSeconds", (json_int_t)NODE_SATOKEN_EXPIRATION_S, "boundObjectRef",
				 "kind", "Pod", "apiVersion", "v1", "name", pod, "uid", uid);
	int64_t now = (int64_t)time(NULL);
	st = call(cl, "POST", path, body, &resp);
	free(path);
	json_decref(body);
	const char *tok = api_str(resp, "status.token");
	int64_t e = api_time_parse(api_str(resp, "status.expirationTimestamp"));
	enum node_satoken_state out = NODE_SATOKEN_PENDING;
	if ((st == 200 || st == 201) && tok && e > now) {
		*token = xstrdup(tok);
		*iat = now;
		*exp = e;
		out = NODE_SATOKEN_READY;
	}
	json_decref(resp);
	return out;
}

static void *worker_main(void *arg)
{
	struct node_satokens *t = arg;
	pthread_mutex_lock(&t->bg.w.mu);
	while (!worker_stopping(&t->bg.w)) {
		int64_t now = (int64_t)time(NULL);
		struct tok *k = t->list;
		while (k && !needs_fetch(k, now))
			k = k->next;
		if (!k) {
			node_bg_wait_ms(&t->bg, 1000);
			continue;
		}
		char *uid = xstrdup(k->uid), *ns = xstrdup(k->ns), *pod = xstrdup(k->pod),
		     *sa = xstrdup(k->sa);
		bool first = k->state == NODE_SATOKEN_PENDING && !k->token;
		pthread_mutex_unlock(&t->bg.w.mu);
		char *token = NULL;
		int64_t iat = 0, exp = 0;
		enum node_satoken_state st = fetch(t->bg.cl, ns, pod, uid, sa, first, &token, &iat, &exp);
		pthread_mutex_lock(&t->bg.w.mu);
		for (k = t->list; k && strcmp(k->uid, uid); k = k->next) {
		}
		bool changed = false;
		if (k && st == NODE_SATOKEN_READY) {
			free(k->token);
			k->token = token;
			token = NULL;
			k->iat = iat;
			k->exp = exp;
			k->state = st;
			changed = true;
		} else if (k && st == NODE_SATOKEN_NONE) {
			k->state = st;
			changed = true;
		} else if (k) {
			k->not_before =
			    (int64_t)time(NULL) + RETRY_S; /* a READY token stays until it expires */
		}
		free(token);
		free(uid);
		free(ns);
		free(pod);
		free(sa);
		if (changed)
			node_bg_wake(&t->bg);
	}
	pthread_mutex_unlock(&t->bg.w.mu);
	return NULL;
}

struct node_satokens *node_satokens_start(const struct client_config *cfg, void (*wake)(void *ud), void *ud,
					  char *err, size_t errlen)
{
	return node_bg_new(sizeof(struct node_satokens), cfg, worker_main, "ServiceAccount token worker",
			   wake, ud, err, errlen);
}

enum node_satoken_state node_satokens_get(struct node_satokens *t, const char *uid, const char *ns,
					  const char *pod, const char *sa, char **token)
{
	*token = NULL;
	pthread_mutex_lock(&t->bg.w.mu);
	struct tok *k = t->list;
	while (k && strcmp(k->uid, uid))
		k = k->next;
	if (!k) {
		k = xcalloc(1, sizeof(*k));
		k->uid = xstrdup(uid);
		k->ns = xstrdup(ns);
		k->pod = xstrdup(pod);
		k->sa = xstrdup(sa);
		k->next = t->list;
		t->list = k;
		pthread_cond_signal(&t->bg.w.cv);
	}
	enum node_satoken_state st = k->state;
	if (st == NODE_SATOKEN_READY)
		*token = xstrdup(k->token);
	pthread_mutex_unlock(&t->bg.w.mu);
	return st;
}

void node_satokens_forget(struct node_satokens *t, const char *uid)
{
	pthread_mutex_lock(&t->bg.w.mu);
	for (struct tok **pp = &t->list; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->uid, uid)) {
			struct tok *k = *pp;
			*pp = k->next;
			tok_free(k);
			break;
		}
	}
	pthread_mutex_unlock(&t->bg.w.mu);
}

void node_satokens_stop(struct node_satokens *t)
{
	if (!t)
		return;
	node_bg_stop(&t->bg);
	while (t->list) {
		struct tok *k = t->list;
		t->list = k->next;
		tok_free(k);
	}
	free(t);
}
