/* status.c - the Node's and the pods' status as the node agent reports them (see
 * status.h): kubelet's conditions, addresses, nodeInfo, and pod phases and IPs.
 */
#include "node/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "api/object.h"
#include "base/log.h"
#include "base/mem.h"
#include "client/informer.h"
#include "node/logsrv.h"
#include "node/runtime.h"

static const char *prev_time(const json_t *prev, const char *type, const char *status)
{
	size_t i;
	json_t *c;
	json_array_foreach(prev, i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		if (t && s && !strcmp(t, type) && !strcmp(s, status))
			return json_string_value(json_object_get(c, "lastTransitionTime"));
	}
	return NULL;
}

json_t *node_agent_pod_conditions(const json_t *prev, bool initialized, bool containers_ready,
				  const char *now)
{
	struct {
		const char *type;
		bool ok;
	} cs[] = {{"PodReadyToStartContainers", initialized},
		  {"Initialized", true},
		  {"Ready", containers_ready},
		  {"ContainersReady", containers_ready},
		  {"PodScheduled", true}};
	json_t *arr = json_array();
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		const char *st = cs[i].ok ? "True" : "False";
		const char *t = prev_time(prev, cs[i].type, st);
		json_t *c = json_pack("{s:s, s:s, s:n, s:s}", "type", cs[i].type, "status", st,
				      "lastProbeTime", "lastTransitionTime", t ? t : now);
		if (!cs[i].ok && (!strcmp(cs[i].type, "Ready") || !strcmp(cs[i].type, "ContainersReady"))) {
			json_object_set_new(c, "reason", json_string("ContainersNotReady"));
		}
		json_array_append_new(arr, c);
	}
	return arr;
}

bool node_agent_node_ready(const json_t *node)
{
	json_t *conds = json_object_get(json_object_get(node, "status"), "conditions");
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		if (t && s && !strcmp(t, "Ready"))
			return !strcmp(s, "True");
	}
	return false;
}

static const char *now_rfc3339(char *buf, size_t len)
{
	return api_now(buf, len);
}

static json_t *node_status(struct node_agent *a, bool ready, const char *reason, const char *message)
{
	char now[40];
	now_rfc3339(now, sizeof(now));
	json_t *cond = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "Ready", "status",
				 ready ? "True" : "False", "lastHeartbeatTime", now, "lastTransitionTime",
				 now, "reason", reason, "message", message);
	/* As a dual-stack kubelet: an InternalIP per family, then the Hostname. */
	json_t *addrs = json_pack("[{s:s, s:s}]", "type", "InternalIP", "address", a->node_ip);
	if (a->node_ip6)
		json_array_append_new(addrs,
				      json_pack("{s:s, s:s}", "type", "InternalIP", "address", a->node_ip6));
	json_array_append_new(addrs, json_pack("{s:s, s:s}", "type", "Hostname", "address", a->node_name));
	return json_pack(
	    "{s:{s:[o], s:o, s:{s:{s:i}}, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}}}", "status",
	    "conditions", cond, "addresses", addrs, "daemonEndpoints", "kubeletEndpoint", "Port",
	    a->logsrv ? node_logsrv_port(a->logsrv) : 0, "nodeInfo", "kubeletVersion", NODE_AGENT_VERSION,
	    "kubeProxyVersion", "", "kernelVersion", a->kernel, "osImage", a->os_image,
	    "containerRuntimeVersion", NODE_AGENT_RUNTIME_VERSION, "operatingSystem", "linux", "architecture",
	    "amd64", "machineID", "", "systemUUID", "", "bootID", "");
}

int node__node_report(struct node_agent *a, bool ready, const char *reason, const char *message, bool sync)
{
	json_t *patch = node_status(a, ready, reason, message);
	json_t *cur = a->nodes ? informer_get(a->nodes, "", a->node_name) : NULL;
	if (cur && node_agent_node_ready(cur) == ready) {
		json_t *conds = json_object_get(json_object_get(cur, "status"), "conditions");
		const char *t = prev_time(conds, "Ready", ready ? "True" : "False");
		if (t) {
			json_t *c = json_array_get(
			    json_object_get(json_object_get(patch, "status"), "conditions"), 0);
			json_object_set_new(c, "lastTransitionTime", json_string(t));
		}
	}
	json_decref(cur);
	char *path = xasprintf("/api/v1/nodes/%s/status", a->node_name);
	if (!sync) {
		node__write(a, "node-status", "PATCH", path, "application/merge-patch+json", patch);
		return 0;
	}
	long st = node__api_do(a, "PATCH", path, "application/merge-patch+json", patch, NULL);
	free(path);
	json_decref(patch);
	return st >= 200 && st < 300 ? 0 : -EIO;
}

int64_t node__node_heartbeat(struct node_agent *a, int64_t now)
{
	if (now >= a->next_hb_ms) {
		node__node_report(a, true, "KubeletReady", "svcplane agent is posting ready status", false);
		a->next_hb_ms = now + (int64_t)a->heartbeat_s * 1000;
	}
	return a->next_hb_ms;
}

int node__node_register(struct node_agent *a, char *err, size_t errlen)
{
	json_t *node =
	    json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s}}, s:{}}", "apiVersion", "v1", "kind", "Node",
		      "metadata", "name", a->node_name, "labels", "kubernetes.io/hostname", a->node_name,
		      "kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64", "spec");
	long st = -EIO;
	/* The API server may still be starting (an agent started next to it): bounded retry. */
	for (int i = 0; i < 40; i++) {
		st = node__api_do(a, "POST", "/api/v1/nodes", "application/json", node, NULL);
		if (st > 0)
			break;
		usleep(250 * 1000);
	}
	json_decref(node);
	if (st != 201 && st != 200 && st != 409) {
		snprintf(err, errlen, "registering node %s: %s", a->node_name,
			 st < 0 ? "API server unreachable" : "rejected by the API server");
		return -EIO;
	}
	if (node__node_report(a, true, "KubeletReady", "svcplane agent is posting ready status", true) < 0) {
		snprintf(err, errlen, "writing the status of node %s failed", a->node_name);
		return -EIO;
	}
	return 0;
}

void node__host_info(struct node_agent *a)
{
	struct utsname u;
	snprintf(a->kernel, sizeof(a->kernel), "%s", uname(&u) == 0 ? u.release : "unknown");
	snprintf(a->os_image, sizeof(a->os_image), "Linux");
	char *osr = node__read_file("/etc/os-release");
	const char *p = osr ? strstr(osr, "PRETTY_NAME=") : NULL;
	if (p) {
		p += strlen("PRETTY_NAME=");
		if (*p == '"')
			p++;
		size_t n = strcspn(p, "\"\n");
		snprintf(a->os_image, sizeof(a->os_image), "%.*s", (int)n, p);
	}
	free(osr);
}

/* Builds the pod's status; a new object. */
static json_t *pod_status(struct node_agent *a, struct apod *p)
{
	char now[40];
	now_rfc3339(now, sizeof(now));
	json_t *rs = p->running ? node_rt_pod_status(a->rt, p->uid) : NULL;
	json_t *st = json_object();
	json_t *prev = p->last_status ? json_object_get(p->last_status, "conditions")
				      : json_object_get(json_object_get(p->pod, "status"), "conditions");
	bool ready = false;
	if (rs) {
		json_object_update(st, rs);
		json_t *cs = json_object_get(rs, "containerStatuses");
		size_t i;
		json_t *c;
		ready = json_array_size(cs) > 0;
		json_array_foreach(cs, i, c) ready = ready && json_is_true(json_object_get(c, "ready"));
		const char *phase = json_string_value(json_object_get(rs, "phase"));
		if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
			ready = false;
		json_decref(rs);
	} else {
		json_object_set_new(st, "phase", json_string("Pending"));
		json_t *cs = json_array();
		json_t *spec_cs = json_object_get(json_object_get(p->pod, "spec"), "containers");
		size_t i;
		json_t *c;
		json_array_foreach(spec_cs, i, c)
		{
			json_t *w = json_pack("{s:s}", "reason", "ContainerCreating");
			if (p->net_err)
				json_object_set_new(w, "message", json_string(p->net_err));
			json_array_append_new(cs, json_pack("{s:s?, s:s?, s:b, s:b, s:i, s:{s:o}}", "name",
							    api_str(c, "name"), "image", api_str(c, "image"),
							    "ready", 0, "started", 0, "restartCount", 0,
							    "state", "waiting", w));
		}
		json_object_set_new(st, "containerStatuses", cs);
	}
	json_object_set_new(st, "conditions", node_agent_pod_conditions(prev, p->net_ok, ready, now));
	json_object_set_new(st, "hostIP", json_string(a->node_ip));
	json_t *hips = json_pack("[{s:s}]", "ip", a->node_ip);
	if (a->node_ip6)
		json_array_append_new(hips, json_pack("{s:s}", "ip", a->node_ip6));
	json_object_set_new(st, "hostIPs", hips);
	if (p->net_ok) {
		json_object_set_new(st, "podIP", json_string(p->ip));
		json_t *pips = json_pack("[{s:s}]", "ip", p->ip);
		if (p->ip6[0])
			json_array_append_new(pips, json_pack("{s:s}", "ip", p->ip6));
		json_object_set_new(st, "podIPs", pips);
	}
	if (p->start_time[0])
		json_object_set_new(st, "startTime", json_string(p->start_time));
	if (p->net_err && !p->net_ok) {
		json_object_set_new(
		    st, "reason",
		    json_string(strstr(p->net_err, "exhausted") ? "PodCIDRExhausted" : "NetworkNotReady"));
		json_object_set_new(st, "message", json_string(p->net_err));
	} else {
		json_object_set_new(st, "reason", json_null());
		json_object_set_new(st, "message", json_null());
	}
	json_object_set_new(st, "qosClass", json_string("BestEffort"));
	return st;
}

void node__pod_report(struct node_agent *a, struct apod *p)
{
	if (p->gone || p->stopping || !p->pod)
		return;
	/* A re-adopted pod's readiness starts over as Failure (kubelet's initial result);
	 * writing that would flap its endpoints on every agent restart, so an adopted pod's
	 * status waits (a few seconds at most) for the first result of each readiness probe. */
	if (p->hold_ms && node__now_ms() < p->hold_ms) {
		for (size_t i = 0; i < p->probes.len; i++)
			if (p->probes.v[i].kind == NODE_PROBE_READINESS && p->probes.v[i].run_id >= 0 &&
			    !p->probes.v[i].got_result)
				return;
	}
	json_t *st = pod_status(a, p);
	if (p->last_status && json_equal(st, p->last_status)) {
		json_decref(st);
		return;
	}
	char key[80];
	snprintf(key, sizeof(key), "status/%s", p->uid);
	node__write(a, key, "PATCH", xasprintf("/api/v1/namespaces/%s/pods/%s/status", p->ns, p->name),
		    "application/merge-patch+json", json_pack("{s:O}", "status", st));
	json_decref(p->last_status);
	p->last_status = st;
}
