/* podctx.c - the node agent's shared records and helpers (see podctx.h). */
#include "node/podctx.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"
#include "node/writer.h"

int64_t node__now_ms(void)
{
	return clock_mono_ms();
}

char *node__read_file(const char *path)
{
	char *data = NULL;
	return file_read(path, 1 << 20, &data, NULL) == 0 ? data : NULL;
}

/* ---- pure helpers ---- */

int node_agent_veth_name(const char *uid, char *out, size_t len)
{
	char hex[9];
	int n = 0;
	for (const char *p = uid; *p && n < 8; p++) {
		if (*p == '-')
			continue;
		if (!isxdigit((unsigned char)*p))
			return -EINVAL;
		hex[n++] = (char)tolower((unsigned char)*p);
	}
	if (n < 8 || len < IFNAMSIZ)
		return -EINVAL;
	hex[8] = 0;
	snprintf(out, len, "svcp%s", hex);
	return 0;
}

/* ---- API ---- */

long node__api_do(struct node_agent *a, const char *method, const char *path, const char *ctype,
		  const json_t *body, json_t **resp)
{
	char *b = body ? json_dumps(body, JSON_COMPACT) : NULL, *r = NULL, err[256] = "";
	long status = 0;
	int rc = client_request(a->cl, method, path, b ? ctype : NULL, b, NULL, &status, &r, NULL, err,
				sizeof(err));
	free(b);
	if (rc < 0) {
		log_warn("agent: %s %s: %s", method, path, err);
		return rc;
	}
	if (status >= 300 && status != 404 && status != 409)
		log_warn("agent: %s %s: HTTP %ld: %.300s", method, path, status, r ? r : "");
	if (resp)
		*resp = r ? json_loads(r, 0, NULL) : NULL;
	free(r);
	return status;
}

/* ---- pod network ---- */

void node__pod_names(struct apod *p)
{
	snprintf(p->netns, sizeof(p->netns), "%s%s", NODE_AGENT_NETNS_PREFIX, p->uid);
	if (node_agent_veth_name(p->uid, p->veth, sizeof(p->veth)) < 0)
		p->veth[0] = 0;
}

void node__set_net_err(struct apod *p, char *msg_take)
{
	free(p->net_err);
	free(p->mount_err);
	p->net_err = msg_take;
}

/* ---- pods ---- */

struct apod *node__pod_find(struct node_agent *a, const char *uid)
{
	for (struct apod *p = a->list; p; p = p->next)
		if (!strcmp(p->uid, uid))
			return p;
	return NULL;
}

struct apod *node__pod_new(struct node_agent *a, const char *uid)
{
	struct apod *p = xcalloc(1, sizeof(*p));
	snprintf(p->uid, sizeof(p->uid), "%s", uid);
	p->netns_fd = -1;
	node__pod_names(p);
	p->next = a->list;
	a->list = p;
	return p;
}

void node__probes_free(struct apod *p)
{
	for (size_t i = 0; i < p->probes.len; i++) {
		node_probe_run_free(p->probes.v[i].run);
		node_probe_spec_fini(&p->probes.v[i].spec);
		free(p->probes.v[i].cname);
		free(p->probes.v[i].ev_name);
		free(p->probes.v[i].ev_msg);
		json_decref(p->probes.v[i].ev_obj);
	}
	vec_free(&p->probes);
}

void node__pod_free(struct apod *p)
{
	node__probes_free(p);
	if (p->netns_fd >= 0)
		close(p->netns_fd);
	json_decref(p->pod);
	json_decref(p->svc_env);
	json_decref(p->env_sources);
	free(p->env_fp);
	json_decref(p->vol_plan);
	free(p->vol_fp);
	free(p->vol_dir);
	json_decref(p->last_status);
	free(p->net_err);
	free(p->ns);
	free(p->name);
	free(p);
}

void node__write(struct node_agent *a, const char *key, const char *method, char *path_take,
		 const char *ctype, json_t *body_take)
{
	struct node_write w = {
	    .key = key, .method = method, .ctype = ctype, .path = path_take, .body = body_take};
	node_writer_put(a->writer, &w);
}
