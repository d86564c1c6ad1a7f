/* audit.c - the audit log: one audit.k8s.io/v1 Event per request, as JSON lines.
 *
 * --audit-policy-file (kube's Policy, YAML or JSON) says at which level each request is
 * logged (auth/audit.c); --audit-log-path is the file ("-" = stderr). Each event is
 * written once, at stage ResponseComplete (ResponseStarted for watches and other
 * streams is not written), with kube's fields: auditID, stage, requestURI, verb (the
 * authorizer's), user, impersonatedUser, sourceIPs, userAgent, objectRef,
 * responseStatus, requestReceivedTimestamp, stageTimestamp, annotations with the
 * authorization decision. Request adds requestObject (a JSON body), RequestResponse adds
 * responseObject (a JSON answer; streams are not copied). Secrets' and TokenRequests'
 * bodies are never written at any level (kube's advice, made a rule here): their events
 * stop at Metadata.
 *
 * Rotation as kube-apiserver's lumberjack: when a line would take the file past
 * --audit-log-maxsize MB, it is renamed <path-without-.log>-<UTC time>.log and a new one
 * opened; at most --audit-log-maxbackup old files are kept (oldest removed). One mutex
 * guards the file; a write is one write(2) of a whole line.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "api/codec.h"
#include "api/object.h"
#include "apiserver/internal.h"
#include "auth/audit.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"

#define MAX_OBJECT_LOGGED (256 * 1024)

struct apiserver_audit {
	pthread_mutex_t mu;
	json_t *policy;
	char *path;
	int fd;
	long long size, max_bytes;
	int max_backups;
};

static int open_log(struct apiserver_audit *au)
{
	if (!strcmp(au->path, "-")) {
		au->fd = STDERR_FILENO;
		return 0;
	}
	au->fd = open(au->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (au->fd < 0)
		return -errno;
	struct stat st;
	au->size = fstat(au->fd, &st) == 0 ? st.st_size : 0;
	return 0;
}

int apiserver__audit_open(struct apiserver *as, char *err, size_t errlen)
{
	const struct apiserver_opts *o = &as->o;
	if (!o->audit_log_path || !*o->audit_log_path)
		return 0;
	if (!o->audit_policy_file || !*o->audit_policy_file) {
		snprintf(err, errlen, "--audit-log-path needs --audit-policy-file");
		return -EINVAL;
	}
	char *text = NULL, perr[256] = "";
	int rrc = file_read(o->audit_policy_file, 1 << 20, &text, NULL);
	if (rrc < 0) {
		snprintf(err, errlen, "--audit-policy-file %s: %s", o->audit_policy_file, strerror(-rrc));
		return -EINVAL;
	}
	json_t *docs = NULL, *p = NULL;
	int rc = api_yaml_decode(text, strlen(text), &docs, perr, sizeof(perr));
	free(text);
	if (rc == 0) {
		/* One document (JSON is YAML too). */
		p = json_array_size(docs) == 1 ? json_incref(json_array_get(docs, 0)) : NULL;
		rc = auth_audit_policy_check(p, perr, sizeof(perr));
	}
	json_decref(docs);
	if (rc < 0) {
		snprintf(err, errlen, "--audit-policy-file %s: %s", o->audit_policy_file, perr);
		json_decref(p);
		return -EINVAL;
	}
	struct apiserver_audit *au = xcalloc(1, sizeof(*au));
	pthread_mutex_init(&au->mu, NULL);
	au->policy = p;
	au->path = xstrdup(o->audit_log_path);
	au->max_bytes = o->audit_log_maxsize_mb > 0 ? (long long)o->audit_log_maxsize_mb * 1024 * 1024 : 0;
	au->max_backups = o->audit_log_maxbackup;
	if ((rc = open_log(au)) < 0) {
		snprintf(err, errlen, "--audit-log-path %s: %s", au->path, strerror(-rc));
		json_decref(p);
		free(au->path);
		free(au);
		return rc;
	}
	as->audit = au;
	return 0;
}

void apiserver__audit_close(struct apiserver *as)
{
	struct apiserver_audit *au = as->audit;
	if (!au)
		return;
	if (au->fd > STDERR_FILENO)
		close(au->fd);
	json_decref(au->policy);
	free(au->path);
	free(au);
	as->audit = NULL;
}

/* Removes the oldest rotated files beyond max_backups (names sort by time). */
static void prune(struct apiserver_audit *au)
{
	if (au->max_backups <= 0)
		return;
	char *dcopy = xstrdup(au->path), *bcopy = xstrdup(au->path);
	const char *dir = dirname(dcopy), *base = basename(bcopy);
	size_t stem =
	    strlen(base) > 4 && !strcmp(base + strlen(base) - 4, ".log") ? strlen(base) - 4 : strlen(base);
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, alphasort), kept = 0;
	for (int i = n - 1; i >= 0; i--) {
		const char *nm = ents[i]->d_name;
		if (!strncmp(nm, base, stem) && nm[stem] == '-' && strcmp(nm, base) != 0) {
			if (++kept > au->max_backups) {
				char *full = xasprintf("%s/%s", dir, nm);
				unlink(full);
				free(full);
			}
		}
		free(ents[i]);
	}
	free(ents);
	free(dcopy);
	free(bcopy);
}

static void rotate(struct apiserver_audit *au)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char ts[64];
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H-%M-%S", &tm);
	size_t n = strlen(au->path);
	size_t stem = n > 4 && !strcmp(au->path + n - 4, ".log") ? n - 4 : n;
	char *to = xasprintf("%.*s-%s.%03ld.log", (int)stem, au->path, ts, (long)(tv.tv_usec / 1000));
	close(au->fd);
	if (rename(au->path, to) < 0)
		log_warn("audit: rotating %s: %s", au->path, strerror(errno));
	free(to);
	if (open_log(au) < 0)
		log_error("audit: reopening %s: %s", au->path, strerror(errno));
	prune(au);
}

static void write_line(struct apiserver_audit *au, const char *line, size_t len)
{
	pthread_mutex_lock(&au->mu);
	if (au->fd > STDERR_FILENO && au->max_bytes && au->size > 0 &&
	    au->size + (long long)len > au->max_bytes)
		rotate(au);
	if (au->fd >= 0) {
		ssize_t w = write(au->fd, line, len);
		if (w > 0)
			au->size += w;
	}
	pthread_mutex_unlock(&au->mu);
}

enum auth_audit_level apiserver__audit_begin(struct apiserver *as, struct http_conn *c,
					     const struct auth_user *u, const struct auth_attrs *a,
					     struct apiserver_audit_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	if (!as->audit)
		return AUTH_AUDIT_NONE;
	rec->level = auth_audit_level(as->audit->policy, u, a);
	bool secret = a->resource_request && (!a->group || !*a->group) &&
		      (!strcmp(a->resource ? a->resource : "", "secrets") ||
		       (!strcmp(a->resource ? a->resource : "", "serviceaccounts") && a->sub &&
			!strcmp(a->sub, "token")));
	if (secret && rec->level > AUTH_AUDIT_METADATA)
		rec->level = AUTH_AUDIT_METADATA; /* Secret data and tokens are never logged */
	struct timeval tv;
	gettimeofday(&tv, NULL);
	rec->start_us = (long long)tv.tv_sec * 1000000 + tv.tv_usec;
	if (rec->level == AUTH_AUDIT_REQUEST_RESPONSE) {
		buf_init(&rec->response);
		rec->tapped = true;
		http_conn_tap(c, &rec->response, MAX_OBJECT_LOGGED);
	}
	return rec->level;
}

static void micro_time(long long us, char *out, size_t len)
{
	time_t s = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&s, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%06lldZ", base, us % 1000000);
}

/* A JSON or protobuf (kubectl's typed writes) body as JSON, or NULL (neither, too big,
 * or empty). */
static json_t *json_body(const char *data, size_t len)
{
	if (!data || !len || len > MAX_OBJECT_LOGGED)
		return NULL;
	json_t *o = NULL;
	char err[128];
	if (len >= 4 && !memcmp(data, "k8s\0", 4)) {
		if (api_proto_decode((const unsigned char *)data, len, &o, err, sizeof(err)) < 0)
			return NULL;
	} else {
		o = json_loadb(data, len, 0, NULL);
	}
	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void apiserver__audit_end(struct apiserver *as, struct http_conn *c, const struct http_req *r,
			  const struct auth_user *u, const struct auth_user *impersonator,
			  const struct auth_attrs *a, const char *decision, struct apiserver_audit_rec *rec)
{
	if (rec->tapped)
		http_conn_tap(c, NULL, 0);
	if (!as->audit || rec->level == AUTH_AUDIT_NONE) {
		if (rec->tapped)
			buf_fini(&rec->response);
		return;
	}
	char id[40], t0[48], t1[48];
	api_uuid(id, sizeof(id));
	struct timeval tv;
	gettimeofday(&tv, NULL);
	micro_time(rec->start_us, t0, sizeof(t0));
	micro_time((long long)tv.tv_sec * 1000000 + tv.tv_usec, t1, sizeof(t1));
	char ip[64];
	snprintf(ip, sizeof(ip), "%s", http_conn_peer(c));
	char *colon = strrchr(ip, ':');
	if (colon)
		*colon = 0;
	if (ip[0] == '[') {
		memmove(ip, ip + 1, strlen(ip));
		char *rb = strchr(ip, ']');
		if (rb)
			*rb = 0;
	}
	const char *ua = http_req_header(r, "User-Agent");
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:o}, s:[s], s:{s:i}, s:s, s:s}",
			       "kind", "Event", "apiVersion", "audit.k8s.io/v1", "level",
			       auth_audit_level_name(rec->level), "auditID", id, "stage", "ResponseComplete",
			       "requestURI", r->target, "verb", a->verb, "user", "username", u->name,
			       "groups", auth_user_groups_json(u), "sourceIPs", ip, "responseStatus", "code",
			       http_conn_status(c), "requestReceivedTimestamp", t0, "stageTimestamp", t1);
	if (ua)
		json_object_set_new(ev, "userAgent", json_string(ua));
	if (impersonator) {
		json_object_set_new(
		    ev, "impersonatedUser",
		    json_pack("{s:s, s:o}", "username", u->name, "groups", auth_user_groups_json(u)));
		json_object_set_new(ev, "user",
				    json_pack("{s:s, s:o}", "username", impersonator->name, "groups",
					      auth_user_groups_json(impersonator)));
	}
	if (a->resource_request) {
		json_t *ref = json_pack("{s:s}", "resource", a->resource ? a->resource : "");
		if (a->ns && *a->ns)
			json_object_set_new(ref, "namespace", json_string(a->ns));
		if (a->name && *a->name) {
			json_object_set_new(ref, "name", json_string(a->name));
		} else if (!strcmp(a->verb, "create") && r->body_len) {
			/* As kube-apiserver's LogRequestObject: a create names its object at
			 * every level from Metadata up. */
			json_t *obj = json_body(r->body, r->body_len);
			const char *name =
			    json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
			if (name && *name)
				json_object_set_new(ref, "name", json_string(name));
			json_decref(obj);
		}
		if (a->group && *a->group)
			json_object_set_new(ref, "apiGroup", json_string(a->group));
		if (a->sub && *a->sub)
			json_object_set_new(ref, "subresource", json_string(a->sub));
		json_object_set_new(ev, "objectRef", ref);
	}
	if (decision)
		json_object_set_new(ev, "annotations",
				    json_pack("{s:s}", "authorization.k8s.io/decision", decision));
	if (rec->level >= AUTH_AUDIT_REQUEST) {
		json_t *req = json_body(r->body, r->body_len);
		if (req)
			json_object_set_new(ev, "requestObject", req);
	}
	if (rec->level == AUTH_AUDIT_REQUEST_RESPONSE) {
		json_t *resp = json_body(rec->response.data, rec->response.len);
		if (resp)
			json_object_set_new(ev, "responseObject", resp);
	}
	if (rec->tapped)
		buf_fini(&rec->response);
	size_t n;
	char *line = apiserver__json_line(ev, &n);
	json_decref(ev);
	write_line(as->audit, line, n);
	free(line);
}
