/* prober.c - the node agent's probe part: readiness, liveness and startup probes of
 * every running container, run as non-blocking checks (node/probe.h) whose fds join the
 * agent's poll, their results handed to the runtime's ready/started fields, kubelet's
 * Unhealthy events, and a container restart on a failed liveness or startup probe.
 *
 * Each check gets the container's process context from the runtime
 * (node_rt_container_proc), never from /proc. Nothing here waits on the API: events go
 * through the writer thread.
 */
#include "node/prober.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "base/log.h"
#include "base/mem.h"
#include "node/runtime.h"
#include "node/writer.h"

void node__probes_init(struct apod *p)
{
	json_t *cs = json_object_get(json_object_get(p->pod, "spec"), "containers");
	size_t i;
	json_t *c;
	node__probes_free(p);
	json_array_foreach(cs, i, c)
	{
		static const struct {
			const char *field;
			enum node_probe_kind kind;
		} kinds[] = {{"startupProbe", NODE_PROBE_STARTUP},
			     {"readinessProbe", NODE_PROBE_READINESS},
			     {"livenessProbe", NODE_PROBE_LIVENESS}};
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			json_t *pr = json_object_get(c, kinds[k].field);
			if (!json_is_object(pr))
				continue;
			struct aprobe ap = {.kind = kinds[k].kind, .run_id = -1};
			char err[256];
			if (node_probe_spec_parse(pr, c, &ap.spec, err, sizeof(err)) < 0) {
				log_warn("agent: pod %s/%s: %s: %s", p->ns, p->name, kinds[k].field, err);
				continue;
			}
			ap.cname = xstrdup(api_str(c, "name") ? api_str(c, "name") : "");
			node_probe_sm_init(&ap.sm, ap.kind, &ap.spec);
			*vec_push(&p->probes) = ap;
		}
	}
}

static const char *probe_kind_name(enum node_probe_kind k)
{
	return k == NODE_PROBE_READINESS ? "Readiness" : k == NODE_PROBE_LIVENESS ? "Liveness" : "Startup";
}

/* The published result of cname's probe of kind: Success when it has none (a container
 * without a startup probe has started, one without a readiness probe is ready). */
static bool probe_passes(const struct apod *p, const char *cname, enum node_probe_kind kind)
{
	for (size_t i = 0; i < p->probes.len; i++)
		if (p->probes.v[i].kind == kind && !strcmp(p->probes.v[i].cname, cname))
			return p->probes.v[i].sm.result == NODE_PROBE_SUCCESS;
	return true;
}

/* Hands the container's readiness and startup results to the runtime (status fields). */
static void probe_flags_sync(struct node_agent *a, const struct apod *p, const char *cname)
{
	node_rt_container_set_probe(a->rt, p->uid, cname, probe_passes(p, cname, NODE_PROBE_READINESS),
				    probe_passes(p, cname, NODE_PROBE_STARTUP));
}

/* Whether the runtime's state says cname had started (a re-adopted container whose
 * startup probe succeeded before the agent restarted: as kubelet, not probed again). */
static bool rt_container_started(struct node_agent *a, const struct apod *p, const char *cname)
{
	json_t *st = node_rt_pod_status(a->rt, p->uid);
	size_t i;
	json_t *c;
	bool started = false;
	json_array_foreach(json_object_get(st, "containerStatuses"), i, c)
	{
		if (!strcmp(api_str(c, "name") ?: "", cname))
			started = json_is_true(json_object_get(c, "started"));
	}
	json_decref(st);
	return started;
}

void node__event_post(struct node_agent *a, json_t *ev_take)
{
	char key[400];
	snprintf(key, sizeof(key), "event/%s", api_str(ev_take, "metadata.name") ?: "");
	node__write(a, key, "POST",
		    xasprintf("/api/v1/namespaces/%s/events", api_str(ev_take, "metadata.namespace")), NULL,
		    ev_take);
}

/* kubelet's events about a pod's container: reason, type and message. */
static void pod_event(struct node_agent *a, const struct apod *p, const char *cname, const char *type,
		      const char *reason, const char *msg)
{
	if (!p->pod)
		return;
	char *fp = xasprintf("spec.containers{%s}", cname);
	node__event_post(a, api_event_new(p->pod, "Pod", fp, "kubelet", a->node_name, type, reason, msg));
	free(fp);
}

/* A failed probe run: Warning Unhealthy "<Kind> probe failed: <msg>" as kubelet records
 * it. Repeats of the same message bump the event's count (a merge patch) instead of
 * making new events, at most one write per AGENT_EVENT_MIN_MS per probe; msg NULL flushes
 * a pending count. Writes are queued (the event's name is ours, from api_event_new); a
 * count patch that finds the event deleted re-creates it with the count (writer.h). */
static void probe_event(struct node_agent *a, const struct apod *p, struct aprobe *pr, const char *msg)
{
	int64_t now = node__now_ms();
	if (msg) {
		char *full =
		    xasprintf("%s probe failed: %s", probe_kind_name(pr->kind), *msg ? msg : "unknown");
		if (pr->ev_name && pr->ev_msg && !strcmp(pr->ev_msg, full)) {
			pr->ev_pending++;
			free(full);
		} else {
			free(pr->ev_name);
			free(pr->ev_msg);
			json_decref(pr->ev_obj);
			pr->ev_msg = full;
			pr->ev_count = 1;
			pr->ev_pending = 0;
			pr->ev_ms = now;
			char *fp = xasprintf("spec.containers{%s}", pr->cname);
			pr->ev_obj = api_event_new(p->pod, "Pod", fp, "kubelet", a->node_name, "Warning",
						   "Unhealthy", full);
			free(fp);
			pr->ev_name = xstrdup(api_str(pr->ev_obj, "metadata.name") ?: "");
			node__event_post(a, json_deep_copy(pr->ev_obj));
			return;
		}
	}
	if (!pr->ev_name || !pr->ev_pending || now - pr->ev_ms < AGENT_EVENT_MIN_MS)
		return;
	char ts[40], key[400];
	pr->ev_count += pr->ev_pending;
	pr->ev_pending = 0;
	pr->ev_ms = now;
	api_now(ts, sizeof(ts));
	json_object_set_new(pr->ev_obj, "count", json_integer(pr->ev_count));
	json_object_set_new(pr->ev_obj, "lastTimestamp", json_string(ts));
	snprintf(key, sizeof(key), "event/%s", pr->ev_name);
	struct node_write w = {
	    .key = key,
	    .method = "PATCH",
	    .ctype = "application/merge-patch+json",
	    .path = xasprintf("/api/v1/namespaces/%s/events/%s", p->ns, pr->ev_name),
	    .body = json_pack("{s:i, s:s}", "count", pr->ev_count, "lastTimestamp", ts),
	    .create_path = xasprintf("/api/v1/namespaces/%s/events", p->ns),
	    .create_body = json_deep_copy(pr->ev_obj),
	};
	node_writer_put(a->writer, &w);
}

/* Advances the pod's probes; returns the earliest deadline they need (ms, monotonic). */
int64_t node__probes_step(struct node_agent *a, struct apod *p, struct pollfd *fds, size_t *nfds, size_t cap)
{
	int64_t next = INT64_MAX, now = node__now_ms();
	if (!p->running || p->stopping)
		return next;
	/* Startup probes come first in p->probes (node__probes_init), so a container's "started"
	 * is settled before its readiness and liveness probes ask for it. */
	for (size_t i = 0; i < p->probes.len; i++) {
		struct aprobe *pr = &p->probes.v[i];
		struct node_rt_proc proc;
		(void)node_rt_container_proc(a->rt, p->uid, pr->cname, &proc);
		int run_id = proc.run_id;
		pid_t pid = proc.pid;
		if (pid > 0 && run_id != pr->run_id) {
			bool adopted = pr->run_id < 0 && p->hold_ms;
			pr->run_id = run_id;
			pr->got_result = false;
			node_probe_run_free(pr->run);
			pr->run = NULL;
			node_probe_sm_container_started(&pr->sm, now);
			if (pr->kind == NODE_PROBE_STARTUP && adopted &&
			    rt_container_started(a, p, pr->cname)) {
				pr->sm.result = NODE_PROBE_SUCCESS;
				pr->got_result = true;
			}
			probe_flags_sync(a, p, pr->cname);
		} else if (pid <= 0 && pr->sm.running) {
			node_probe_run_free(pr->run);
			pr->run = NULL;
			node_probe_sm_container_stopped(&pr->sm);
		}
		bool started = probe_passes(p, pr->cname, NODE_PROBE_STARTUP);
		if (pid > 0 && !pr->run && node_probe_sm_due(&pr->sm, started, now)) {
			struct node_probe_target t = {
			    .pod_ip = p->ip, .pid = pid, .env = proc.env, .cwd = proc.cwd, .exe = proc.exe};
			int rc = node_probe_run_start(&pr->spec, &t, now, &pr->run);
			if (rc < 0) {
				/* A local failure (fork, socket): kubelet's Unknown, retried next period. */
				log_warn("agent: pod %s/%s container %s %s probe could not start: %s", p->ns,
					 p->name, pr->cname, probe_kind_name(pr->kind), strerror(-rc));
				pr->run = NULL;
			}
			pr->run_start = now;
		}
		if (pr->run && node_probe_run_advance(pr->run, node__now_ms())) {
			const char *msg = NULL;
			enum node_probe_result r = node_probe_run_result(pr->run, &msg);
			pr->got_result = true;
			if (r == NODE_PROBE_FAILURE)
				probe_event(a, p, pr, msg ? msg : "");
			if (node_probe_sm_record(&pr->sm, r, pr->run_start)) {
				log_info("agent: pod %s/%s container %s %s probe: %s%s%s", p->ns, p->name,
					 pr->cname, probe_kind_name(pr->kind),
					 pr->sm.result == NODE_PROBE_SUCCESS ? "success" : "failure",
					 msg && *msg ? ": " : "", msg ? msg : "");
				probe_flags_sync(a, p, pr->cname);
				if (pr->kind != NODE_PROBE_READINESS && pr->sm.result == NODE_PROBE_FAILURE) {
					char *m = xasprintf(
					    "Container %s failed %s probe, will be restarted", pr->cname,
					    pr->kind == NODE_PROBE_LIVENESS ? "liveness" : "startup");
					pod_event(a, p, pr->cname, "Normal", "Killing", m);
					free(m);
					node_rt_container_kill(a->rt, p->uid, pr->cname, -1);
				}
			}
			node_probe_run_free(pr->run);
			pr->run = NULL;
		}
		probe_event(a, p, pr, NULL);
		if (pr->ev_pending && pr->ev_ms + AGENT_EVENT_MIN_MS < next)
			next = pr->ev_ms + AGENT_EVENT_MIN_MS;
		if (pr->run) {
			short ev = 0;
			int fd = node_probe_run_fd(pr->run, &ev);
			if (fd >= 0 && *nfds < cap)
				fds[(*nfds)++] = (struct pollfd){.fd = fd, .events = ev};
			int64_t dl = node_probe_run_deadline(pr->run);
			if (dl < next)
				next = dl;
			if (fd < 0 && now + 10 < next)
				next = now + 10;
		} else {
			int64_t n = node_probe_sm_next_ms(&pr->sm);
			if (n < next)
				next = n;
		}
	}
	return next;
}
