/* internal.h - what the files of the API server share: the server struct, the request
 * context, and response helpers. Not for use outside src/apiserver/. */
#ifndef APISERVER_INTERNAL_H
#define APISERVER_INTERNAL_H

#include <jansson.h>
#include <openssl/types.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "api/schema.h"
#include "api/service.h"
#include "api/selector.h"
#include "auth/audit.h"
#include "auth/node.h"
#include "auth/rbac.h"
#include "base/buf.h"
#include "base/cidr.h"
#include "base/vec.h"
#include "base/worker.h"
#include "apiserver/apiserver.h"
#include "http/http.h"
#include "store/store.h"

struct apiserver {
	struct apiserver_opts o;
	char *data_dir;
	char *kubeconfig;
	struct store *store;
	struct httpd *httpd;
	char token[128];
	struct api_service_config svc_cfg;
	/* The start-up check of stored records (bootstrap.c). */
	pthread_t check_thread;
	pthread_mutex_t ns_mu; /* stopping, and the certificate rotation below */
	bool stopping;
	/* Serving certificate rotation (certs.c), under ns_mu. */
	pthread_t cert_thread;
	pthread_cond_t cert_cond;
	char *cert_names; /* the names the certificate was last ensured for, comma-joined */
	int large_lists;  /* large lists being served (resource.c), atomic */
	/* The compiled RBAC objects (authz.c), under rbac_mu. */
	pthread_mutex_t rbac_mu;
	struct apiserver_rbac *rbac;
	bool rbac_stale;
	struct apiserver_audit *audit; /* audit.c; NULL without --audit-log-path */
	/* ServiceAccount token signing (satoken.c). */
	EVP_PKEY *sa_key;
	char *sa_kid, *sa_issuer;
	/* The kubernetes Service's endpoints (kubesvc.c): the reconciler thread, and this
	 * server's advertised address, port and record's last mod_rev. */
	struct worker kubesvc_w;
	bool kubesvc_running;
	char kubesvc_addr[IP_STRLEN];
	int kubesvc_port;
	int64_t kubesvc_rev;
};

/* One API request, parsed from the path and query. */
struct rq {
	struct apiserver *as;
	struct http_conn *c;
	struct http_req *r;
	const struct api_kind *k;    /* the stored kind: every store access and rule uses it */
	const struct api_kind *view; /* a deprecated version the client speaks (NULL: k's own) */
	char *ns;		     /* namespace from the path, or NULL */
	char *name;		     /* object name from the path, or NULL */
	char *sub;		     /* subresource ("status"), or NULL */
	bool table;		     /* Accept asks for as=Table */
	int include_object;
	bool dry_run;
	char *field_manager;
	struct buf *warnings;	      /* "Warning: ..." header lines */
	const struct auth_user *user; /* who asks (authz.c), borrowed */
};

/* The cluster's identity (identity.c): takes the CA, its key and the ServiceAccount key
 * from the datastore's sealed bootstrap record into <data-dir>/pki, or stores this
 * server's there when the cluster has none. Returns 0, -EACCES when the admin token does
 * not open the record (err says so; nothing was written), or another negative code. Blocks
 * (PBKDF2, file and store writes). */
int apiserver__identity_ensure(struct apiserver *as, char *err, size_t errlen);
/* Splits a path at '/' in place into at most max segments; returns how many, or -1 when
 * there are more. */
int apiserver__split(char *path, char **seg, int max);
/* Stores o (borrowed) at key unless something is there: 0 (also when it was), or a
 * negative code. For objects made at start-up. */
int apiserver__create_missing(struct apiserver *as, const char *key, const json_t *o);
/* Stores o (borrowed, as JSON) at key on store_txn's condition expect_mod_rev (0: absent;
 * > 0: unchanged since that revision): 0 or store_txn's code. *rev (may be NULL) gets the
 * revision of the write. */
int apiserver__store_put(struct apiserver *as, const char *key, const json_t *o, int64_t expect_mod_rev,
			 int64_t *rev);
/* Sends obj as JSON with status; adds the request's warnings. Takes obj's reference. */
void apiserver__send_json(struct rq *q, int status, json_t *obj_take);
/* The request's Warning header lines so far ("" when none), for a response's head. */
const char *apiserver__warnings(const struct rq *q);
/* Sends a Status failure for code (base/err.h) with message and optional details (may be
 * NULL; its reference is taken). */
void apiserver__send_status(struct http_conn *c, int code, const char *message, json_t *details_take);
/* Status for an object-level error: `services "x" not found` etc. */
void apiserver__send_obj_error(struct rq *q, int code, const char *name);

/* Store key of an object, and the prefix of a collection (ns NULL = all namespaces). */
char *apiserver__key(const struct api_kind *k, const char *ns, const char *name);
char *apiserver__prefix(const struct api_kind *k, const char *ns);
/* "services" or "ingresses.networking.k8s.io" (the qualified resource in messages). */
char *apiserver__qualified(const struct api_kind *k);
/* v as compact JSON and a newline: one line of a watch stream or the audit log. Heap
 * string; *len is its length. */
char *apiserver__json_line(const json_t *v, size_t *len);
/* Parses a stored record into an object with resourceVersion set; NULL if corrupt. */
json_t *apiserver__decode_kv(const struct store_kv *kv, int64_t rev_override);
/* The same for a record served in a list or a watch: NULL also when the record is larger
 * than an object may be (apiserver__max_object), so one bad record never costs a list its
 * memory or an informer its sync. The record can still be read and deleted by name. */
json_t *apiserver__decode_listed(const struct apiserver *as, const struct store_kv *kv, int64_t rev_override);
/* The most bytes one object may have: the request body limit (3 MiB by default). */
size_t apiserver__max_object(const struct apiserver *as);
/* At start-up (on its own thread, apiserver__startup_check): names every stored object that cannot be decoded
 * or is over the limit (logged as errors; they are left out of lists and watches). Returns how many. */
size_t apiserver__check_stored(struct apiserver *as);

/* Label and field selectors of a list, watch or deletecollection. */
struct filter {
	struct api_selector *labels, *fields;
};
/* Parses labelSelector/fieldSelector; answers 400 itself and returns < 0 when malformed. */
int apiserver__filter_parse(struct rq *q, struct filter *f);
bool apiserver__filter_match(const struct filter *f, const json_t *o);
void apiserver__filter_fini(struct filter *f);
/* Sets kind and apiVersion of o to k's. */
void apiserver__set_type(const struct api_kind *k, json_t *o);
/* The kind the client speaks: q->view or q->k. */
static inline const struct api_kind *apiserver__wire(const struct rq *q)
{
	return q->view ? q->view : q->k;
}
/* Makes a stored object (of q->k) what the client asked for: converted to q->view, kind
 * and apiVersion set. */
void apiserver__out(struct rq *q, json_t *o);
/* A Table of items (JSON array of objects) with the kind's columns. */
json_t *apiserver__to_table(struct rq *q, json_t *items, const char *rv, const char *cont);

/* Verbs (resource.c). */
void apiserver__get(struct rq *q);
void apiserver__list(struct rq *q);
void apiserver__create(struct rq *q);
void apiserver__update(struct rq *q);
void apiserver__patch(struct rq *q);
void apiserver__delete(struct rq *q);
void apiserver__delete_collection(struct rq *q);
/* pods/{name}/log (podlog.c): proxies to the node's log endpoint; answers every outcome
 * itself. Blocks for as long as the node streams (follow) or until the client leaves. */
void apiserver__pod_log(struct rq *q);
/* {name}/scale of the scalable kinds (scale.c): GET, PUT, PATCH of an autoscaling/v1
 * Scale; answers every outcome itself. */
void apiserver__scale(struct rq *q);
/* Helpers of podlog.c shared with stream.c; each answers the request itself on failure:
 * the pod q names (NULL after a 404/500 answer); the container named want, or the only one
 * (NULL after a 400); the node's kubelet address and port (-1 after an answer). */
json_t *apiserver__pod_read(struct rq *q);
char *apiserver__pod_container(struct rq *q, const json_t *pod, const char *want);
int apiserver__node_location(struct rq *q, const char *node_name, char **addr_out, int *port_out);
/* Sets url and the TLS of a connection to a node's kubelet port on a CURL handle: the
 * cluster CA verifies the node, the server shows its kubelet client certificate. */
void apiserver__kubelet_curl(struct rq *q, void *curl, const char *url);
/* pods/{name}/exec and pods/{name}/portforward (stream.c): upgrades and relays the
 * connection to the node's exec or port-forward endpoint with the server's kubelet client
 * certificate; blocks for the session. */
void apiserver__pod_exec(struct rq *q, bool portforward);
/* /metrics (metrics.c): begin/end bracket one request (verb as kube names it: GET, LIST,
 * WATCH, CREATE, UPDATE, PATCH, DELETE, DELETECOLLECTION, CONNECT; resource and
 * subresource from the kind table or ""); serve answers GET /metrics. Thread-safe. */
struct apiserver_metric {
	char verb[16], res[64], sub[16];
	double start;
	bool mutating;
	atomic_long *lr;
};
void apiserver__metrics_begin(struct apiserver_metric *m, const char *verb, const char *resource,
			      const char *subresource);
void apiserver__metrics_end(struct apiserver_metric *m, int code);
void apiserver__metrics_serve(struct http_conn *c);
/* services|pods|nodes/{name}/proxy/... (proxy.c): answers every outcome itself. */
void apiserver__proxy(struct rq *q);
/* Field selector labels kube supports for kind k (fieldlabels.c); check finds the first
 * label of a fieldSelector string that is not (copied into bad): -1, else 0. */
bool apiserver__field_label_ok(const struct api_kind *k, const char *label);
int apiserver__field_labels_check(const struct api_kind *k, const char *sel, char *bad, size_t badlen);
/* The self-review APIs (authreview.c), answered for user u: answers and returns true when
 * r is one of them. */
bool apiserver__auth_review(struct apiserver *as, struct http_conn *c, struct http_req *r,
			    const struct auth_user *u);

/* Authentication and authorization (authz.c). authenticate fills u (auth_user_fini it)
 * from the verified client certificate or the admin token: 0, or ERR_UNAUTHORIZED. */
int apiserver__authenticate(struct apiserver *as, const struct http_conn *c, const struct http_req *r,
			    struct auth_user *u);
/* Applies Impersonate-User/-Group: 0 (u replaced when asked), or -EACCES after answering 403. */
int apiserver__impersonate(struct apiserver *as, struct http_conn *c, const struct http_req *r,
			   struct auth_user *u);
/* The decision on a for u: system:masters allowed; a node identity by the Node
 * authorizer (auth/node.h), which may deny outright (NodeRestriction: reason is then the
 * whole message after "is forbidden: "); then RBAC (AUTH_NO_OPINION = not allowed, reason
 * empty). Thread-safe; may read the store (the pod a node names). */
enum auth_decision apiserver__decide(struct apiserver *as, const struct auth_user *u,
				     const struct auth_attrs *a, char *reason, size_t reasonlen);
/* apiserver__decide == AUTH_ALLOW. reason may be NULL with reasonlen 0. */
bool apiserver__allowed(struct apiserver *as, const struct auth_user *u, const struct auth_attrs *a,
			char *reason, size_t reasonlen);
/* kube's request attributes of r; strings point into x (fini frees). */
struct apiserver_attrs {
	struct auth_attrs a;
	char verb[24];
	char *buf;
	char *fsel; /* the fieldSelector query parameter (a.field_selector) */
};
void apiserver__request_attrs(const struct http_req *r, struct apiserver_attrs *x);
void apiserver__attrs_fini(struct apiserver_attrs *x);
/* Answers 403 with kube's message for a denied request (restricted: reason is the
 * NodeRestriction sentence, used as is). */
void apiserver__send_forbidden(struct http_conn *c, const struct auth_user *u, const struct auth_attrs *a,
			       const char *reason, bool restricted);
/* Marks the compiled RBAC set stale (after a write to an RBAC object); frees it at stop. */
void apiserver__rbac_dirty(struct apiserver *as);
void apiserver__rbac_fini(struct apiserver *as);
/* The escalation check of RBAC writes on the final object (after validation): true to go
 * on; false after answering 403 as kube does. Not RBAC kinds: true. */
bool apiserver__admit(struct rq *q, const char *name, const json_t *obj);
/* ServiceAccount tokens (satoken.c): the signing key at start (made when missing), the
 * bearer check of a JWT (0 with u filled, or ERR_UNAUTHORIZED), and the TokenRequest
 * subresource serviceaccounts/{name}/token (answers every outcome itself). */
int apiserver__sa_init(struct apiserver *as, char *err, size_t errlen);
void apiserver__sa_fini(struct apiserver *as);
int apiserver__sa_authenticate(struct apiserver *as, const char *token, struct auth_user *u);
/* A bootstrap token (see satoken.c): 0 with u filled, or ERR_UNAUTHORIZED. */
int apiserver__bootstrap_authenticate(struct apiserver *as, const char *token, struct auth_user *u);
void apiserver__token_request(struct rq *q);
/* The audit log (audit.c): open/close at start/stop (nothing without an audit log path;
 * -EINVAL with err for a bad policy); begin picks the level of a request (and starts
 * copying the answer for RequestResponse), end writes its event. impersonator is the
 * original requester when u is impersonated, else NULL. Thread-safe. */
struct apiserver_audit_rec {
	int level;
	long long start_us;
	bool tapped;
	struct buf response;
};
int apiserver__audit_open(struct apiserver *as, char *err, size_t errlen);
void apiserver__audit_close(struct apiserver *as);
enum auth_audit_level apiserver__audit_begin(struct apiserver *as, struct http_conn *c,
					     const struct auth_user *u, const struct auth_attrs *a,
					     struct apiserver_audit_rec *rec);
void apiserver__audit_end(struct apiserver *as, struct http_conn *c, const struct http_req *r,
			  const struct auth_user *u, const struct auth_user *impersonator,
			  const struct auth_attrs *a, const char *decision, struct apiserver_audit_rec *rec);
/* Creates the default ClusterRoles and ClusterRoleBindings that are missing (rbacroles.c). */
int apiserver__bootstrap_rbac(struct apiserver *as);
/* Rules u holds in namespace ns (SelfSubjectRulesReview), new reference. */
json_t *apiserver__user_rules(struct apiserver *as, const struct auth_user *u, const char *ns);
/* watch.c */
void apiserver__watch(struct rq *q);
/* discovery.c: answers /api, /apis, /api/v1, /apis/g/v, /version, /openapi/...; false if
 * the path is not one of them. */
bool apiserver__discovery(struct apiserver *as, struct http_conn *c, struct http_req *r);
/* Bootstrap objects and the start-up check (bootstrap.c). */
int apiserver__bootstrap(struct apiserver *as);
/* After the listener is up: repair allocations, create the kubernetes and kube-dns
 * Services, and start keeping the kubernetes Service's endpoints (kubesvc.c). */
int apiserver__bootstrap_services(struct apiserver *as, int port);
/* Writes this server's record (mlease.h) and the kubernetes Service's endpoints, then
 * starts the thread that renews and reconciles them. 0 or a store error. Blocks on store
 * writes. */
int apiserver__kubesvc_start(struct apiserver *as, int port);
/* Stops that thread, deletes this server's record and rewrites the endpoints without it
 * (unless it was the last). A no-op when not started or already stopped. Blocks on store
 * writes. */
void apiserver__kubesvc_stop(struct apiserver *as);
/* Thread body: runs apiserver__check_stored(arg) and returns. */
void *apiserver__startup_check(void *arg);
/* Service allocation (services.c). A plan is the extra store ops that commit a Service's
 * cluster IPs and node ports together with the Service itself. */
struct svc_plan {
	VEC(struct store_op) ops; /* keys owned by the plan */
	VEC(bool) picked;	  /* picked.v[i]: ops.v[i] was picked freely (a lost race may pick again) */
	char *owner;		  /* value of the PUT ops */
};
int apiserver__svc_config(const struct apiserver_opts *o, struct api_service_config *cfg, char *err,
			  size_t errlen);
/* Defaults and validates svc (old: stored object on update, NULL on create), allocates
 * what it needs (writing clusterIP(s)/nodePorts into svc) and plans the allocation keys.
 * Returns 0; ERR_INVALID with e filled; -EACCES / -EEXIST / ERR_FULL with msg. */
int apiserver__svc_plan(struct apiserver *as, json_t *svc, const json_t *old, struct svc_plan *plan,
			struct api_errs *e, char *msg, size_t msglen);
/* A plan that releases everything svc holds (delete). */
void apiserver__svc_release_ops(const json_t *svc, struct svc_plan *plan);
void apiserver__svc_plan_fini(struct svc_plan *p);
/* The ops of one store transaction: first, then the plan's (borrowed). Heap array of
 * *n = 1 + the plan's ops; the caller frees the array only. */
struct store_op *apiserver__svc_plan_txn(const struct svc_plan *p, struct store_op first, size_t *n);
int apiserver__svc_repair(struct apiserver *as);

/* Certificates (certs.c). The names the serving certificate must cover (NULL-terminated,
 * heap; free with apiserver__sans_free): localhost, the kubernetes Service's names and
 * first IP of each service range, bind/advertise addresses, the host's addresses. */
char **apiserver__sans(const struct apiserver *as);
void apiserver__sans_free(char **v);
/* Ensures CA and serving certificate in <data-dir>/pki for apiserver__sans(). Blocks. */
int apiserver__certs_ensure(struct apiserver *as, char *err, size_t errlen);
/* File base name (in <data-dir>/pki) of the client certificate shown to nodes. */
#define APISERVER_KUBELET_CLIENT "apiserver-kubelet-client"

/* The nice value of the threads of authenticated connections (requests and watch
 * streams): a write's path from request to commit to watch event runs before the
 * machine's batch work, as the agent's proxy threads do (PROXY_NICE). The store's writer
 * thread runs at the same value (store/sqlite.c). */
#define APISERVER_NICE (-10)
/* The node certificate signer (see certs.c): the serving certificate, or with client the
 * node's client certificate; answers the request itself. */
void apiserver__sign_node_cert(struct apiserver *as, struct http_conn *c, struct http_req *r,
			       const char *node, bool client);
/* Thread: re-checks the names every 30 s and swaps in a reissued certificate. */
void *apiserver__certs_watch(void *arg);

/* Deletes one stored object now (used by the allocation repair). */
int apiserver__delete_key(struct apiserver *as, const char *key);

#endif
