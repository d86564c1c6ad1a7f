/* table.c - Table columns and cells per kind, matching kube-apiserver's printers so that
 * kubectl get prints the same columns against svcplane as against Kubernetes. */
#include "apiserver/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "api/workloads.h"
#include "base/buf.h"
#include "base/mem.h"

struct col {
	const char *name, *type, *format, *desc;
	int priority;
};

#define NAME_COL                                                                                                                                                                                                                                                                                                                                                                                             \
	{                                                                                                                                                                                                                                                                                                                                                                                                    \
		"Name", "string", "name",                                                                                                                                                                                                                                                                                                                                                                    \
		    "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names", \
		    0                                                                                                                                                                                                                                                                                                                                                                                        \
	}
#define AGE_COL                                                                                                                                                                                                                                                                                                                                                                                                                                       \
	{                                                                                                                                                                                                                                                                                                                                                                                                                                             \
		"Age", "string", "",                                                                                                                                                                                                                                                                                                                                                                                                                  \
		    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata", \
		    0                                                                                                                                                                                                                                                                                                                                                                                                                                 \
	}

static const struct col ns_cols[] = {
    NAME_COL, {"Status", "string", "", "The status of the namespace", 0}, AGE_COL};
static const struct col svc_cols[] = {
    NAME_COL,
    {"Type", "string", "", "The type of service", 0},
    {"Cluster-IP", "string", "", "The cluster ip of service", 0},
    {"External-IP", "string", "", "The external ip of service", 0},
    {"Port(s)", "string", "", "The ports of service", 0},
    AGE_COL,
    {"Selector", "string", "",
     "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/",
     1},
};
static const struct col ep_cols[] = {
    NAME_COL, {"Endpoints", "string", "", "Endpoints of the service", 0}, AGE_COL};
static const struct col pod_cols[] = {
    NAME_COL,
    {"Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0},
    {"Status", "string", "", "The aggregate status of the containers in this pod.", 0},
    {"Restarts", "string", "",
     "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
     0},
    AGE_COL,
    {"IP", "string", "",
     "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1},
    {"Node", "string", "",
     "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.",
     1},
    {"Nominated Node", "string", "",
     "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
     1},
    {"Readiness Gates", "string", "",
     "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
     1},
};
static const struct col node_cols[] = {
    NAME_COL,
    {"Status", "string", "", "The status of the node", 0},
    {"Roles", "string", "", "The roles of the node", 0},
    AGE_COL,
    {"Version", "string", "", "Kubelet Version reported by the node.", 0},
    {"Internal-IP", "string", "",
     "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses",
     1},
    {"External-IP", "string", "",
     "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses",
     1},
    {"OS-Image", "string", "",
     "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1},
    {"Kernel-Version", "string", "",
     "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1},
    {"Container-Runtime", "string", "",
     "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
     1},
};
static const struct col ev_cols[] = {
    {"Last Seen", "string", "", "Time when this Event was last seen", 0},
    {"Type", "string", "", "Type of this event (Normal, Warning), new types could be added in the future", 0},
    {"Reason", "string", "",
     "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
     0},
    {"Object", "string", "", "The object that this event is about. Mapped from event.involvedObject", 0},
    {"Subobject", "string", "",
     "The subobject that this event is about. Mapped from event.involvedObject.fieldPath", 1},
    {"Source", "string", "",
     "The component reporting this event. Should be a short machine understandable string.", 1},
    {"Message", "string", "", "A human-readable description of the status of this operation.", 0},
    {"First Seen", "string", "",
     "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", 1},
    {"Count", "string", "", "The number of times this event has occurred.", 1},
    {"Name", "string", "name", "Name must be unique within a namespace.", 1},
};
static const struct col slice_cols[] = {
    NAME_COL,
    {"AddressType", "string", "",
     "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name. [DEPRECATED]",
     0},
    {"Ports", "string", "",
     "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. Each slice may include a maximum of 100 ports. Services always have at least 1 port, so EndpointSlices generated by the EndpointSlice controller will likewise always have at least 1 port. EndpointSlices used for other purposes may have an empty ports list.",
     0},
    {"Endpoints", "string", "",
     "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.",
     0},
    AGE_COL,
};
static const struct col ing_cols[] = {
    NAME_COL,
    {"Class", "string", "", "The name of the IngressClass resource that should be used by this Ingress", 0},
    {"Hosts", "string", "", "Hosts that incoming requests are matched against before the ingress rule", 0},
    {"Address", "string", "", "Address is a list containing ingress points for the load-balancer", 0},
    {"Ports", "string", "", "Ports of TLS configurations that open", 0},
    AGE_COL,
};
static const struct col lease_cols[] = {
    NAME_COL,
    {"Holder", "string", "", "holderIdentity contains the identity of the holder of a current lease.", 0},
    AGE_COL,
};
static const struct col ingc_cols[] = {
    NAME_COL,
    {"Controller", "string", "", "Controller that is responsible for handling this class", 0},
    {"Parameters", "string", "", "A reference to a resource with additional parameters", 0},
    AGE_COL,
};

/* Workloads, ConfigMaps, Secrets, ServiceAccounts (printers.go AddHandlers). */
#define CONTAINERS_COL                                                                                       \
	{                                                                                                    \
		"Containers", "string", "", "Names of each container in the template.", 1                    \
	}
#define IMAGES_COL                                                                                           \
	{                                                                                                    \
		"Images", "string", "", "Images referenced by each container in the template.", 1            \
	}
#define SELECTOR_COL(d)                                                                                      \
	{                                                                                                    \
		"Selector", "string", "", d, 1                                                               \
	}
static const struct col rc_cols[] = {
    NAME_COL,
    {"Desired", "integer", "",
     "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
     0},
    {"Current", "integer", "",
     "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
     0},
    {"Ready", "integer", "", "The number of ready replicas for this replication controller.", 0},
    AGE_COL,
    CONTAINERS_COL,
    IMAGES_COL,
    SELECTOR_COL(
	"Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"),
};
static const struct col rs_cols[] = {
    NAME_COL,
    {"Desired", "integer", "",
     "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
     0},
    {"Current", "integer", "",
     "Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
     0},
    {"Ready", "integer", "",
     "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.", 0},
    AGE_COL,
    CONTAINERS_COL,
    IMAGES_COL,
    SELECTOR_COL(
	"Selector is a label query over pods that should match the replica count. Label keys and values that must match in order to be controlled by this replica set. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"),
};
static const struct col deploy_cols[] = {
    NAME_COL,
    {"Ready", "string", "", "Number of the pod with ready state", 0},
    {"Up-to-date", "string", "",
     "Total number of non-terminating pods targeted by this deployment that have the desired template spec.",
     0},
    {"Available", "string", "",
     "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.",
     0},
    AGE_COL,
    CONTAINERS_COL,
    IMAGES_COL,
    SELECTOR_COL(
	"Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment. It must match the pod template's labels."),
};
static const struct col sts_cols[] = {
    NAME_COL,	{"Ready", "string", "", "Number of the pod with ready state", 0}, AGE_COL, CONTAINERS_COL,
    IMAGES_COL,
};
static const struct col ds_cols[] = {
    NAME_COL,
    {"Desired", "integer", "",
     "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
     0},
    {"Current", "integer", "",
     "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
     0},
    {"Ready", "integer", "",
     "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.",
     0},
    {"Up-to-date", "integer", "", "The total number of nodes that are running updated daemon pod", 0},
    {"Available", "integer", "",
     "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
     0},
    {"Node Selector", "string", "",
     "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
     0},
    AGE_COL,
    CONTAINERS_COL,
    IMAGES_COL,
    SELECTOR_COL(
	"A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"),
};
static const struct col cm_cols[] = {
    NAME_COL,
    {"Data", "string", "",
     "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
     0},
    AGE_COL};
static const struct col secret_cols[] = {
    NAME_COL,
    {"Type", "string", "",
     "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
     0},
    {"Data", "string", "",
     "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
     0},
    AGE_COL,
};
static const struct col sa_cols[] = {
    NAME_COL,
    {"Secrets", "string", "",
     "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret",
     0},
    AGE_COL};
static const struct col cr_cols[] = {
    NAME_COL,
    {"Controller", "string", "", "Controller of the object", 0},
    {"Revision", "string", "", "Revision indicates the revision of the state represented by Data.", 0},
    AGE_COL,
};
static const struct col default_cols[] = {NAME_COL, AGE_COL};

static const struct col *cols_for(const struct api_kind *k, size_t *n)
{
#define RET(a)                                                                                               \
	do {                                                                                                 \
		*n = sizeof(a) / sizeof(a[0]);                                                               \
		return a;                                                                                    \
	} while (0)
	const char *kind = k->kind;
	if (!strcmp(kind, "Namespace"))
		RET(ns_cols);
	if (!strcmp(kind, "Service"))
		RET(svc_cols);
	if (!strcmp(kind, "Endpoints"))
		RET(ep_cols);
	if (!strcmp(kind, "Pod"))
		RET(pod_cols);
	if (!strcmp(kind, "Node"))
		RET(node_cols);
	if (!strcmp(kind, "Event"))
		RET(ev_cols);
	if (!strcmp(kind, "EndpointSlice"))
		RET(slice_cols);
	if (!strcmp(kind, "Ingress"))
		RET(ing_cols);
	if (!strcmp(kind, "IngressClass"))
		RET(ingc_cols);
	if (!strcmp(kind, "Lease"))
		RET(lease_cols);
	if (!strcmp(kind, "ReplicationController"))
		RET(rc_cols);
	if (!strcmp(kind, "ReplicaSet"))
		RET(rs_cols);
	if (!strcmp(kind, "Deployment"))
		RET(deploy_cols);
	if (!strcmp(kind, "StatefulSet"))
		RET(sts_cols);
	if (!strcmp(kind, "DaemonSet"))
		RET(ds_cols);
	if (!strcmp(kind, "ConfigMap"))
		RET(cm_cols);
	if (!strcmp(kind, "Secret"))
		RET(secret_cols);
	if (!strcmp(kind, "ServiceAccount"))
		RET(sa_cols);
	if (!strcmp(kind, "ControllerRevision"))
		RET(cr_cols);
	RET(default_cols);
#undef RET
}

json_t *table_columns(const struct api_kind *k)
{
	size_t n;
	const struct col *c = cols_for(k, &n);
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", c[i].name, "type",
						   c[i].type, "format", c[i].format, "description", c[i].desc,
						   "priority", c[i].priority));
	return a;
}

int table_include_object(const char *s)
{
	if (!s || !*s)
		return 1;
	if (!strcmp(s, "None"))
		return 0;
	if (!strcmp(s, "Object"))
		return 2;
	return 1;
}

static char *age(const json_t *obj, const char *path, int64_t now)
{
	int64_t t = api_time_parse(api_str(obj, path));
	if (t < 0)
		return xstrdup("<unknown>");
	char b[32];
	api_human_duration(now - t, b, sizeof(b));
	return xstrdup(b);
}

static void svc_cells(json_t *cells, const json_t *o)
{
	const json_t *spec = json_object_get(o, "spec");
	const char *type = api_str(spec, "type") ?: "ClusterIP";
	const char *cip = api_str(spec, "clusterIP");
	json_array_append_new(cells, json_string(type));
	json_array_append_new(cells, json_string(cip && *cip ? cip : "<none>"));
	/* External-IP: loadBalancer ingress + externalIPs, or the external name. */
	struct buf b;
	buf_init(&b);
	if (!strcmp(type, "ExternalName")) {
		buf_puts(&b, api_str(spec, "externalName") ?: "<none>");
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(api_get(o, "status.loadBalancer.ingress"), i, v)
		{
			const char *a = api_str(v, "ip");
			if (!a || !*a)
				a = api_str(v, "hostname");
			if (a && *a)
				buf_printf(&b, "%s%s", b.len ? "," : "", a);
		}
		json_array_foreach(json_object_get(spec, "externalIPs"), i, v)
		{
			if (json_is_string(v))
				buf_printf(&b, "%s%s", b.len ? "," : "", json_string_value(v));
		}
		if (!b.len)
			buf_puts(&b, !strcmp(type, "LoadBalancer") ? "<pending>" : "<none>");
	}
	json_array_append_new(cells, json_string(b.data));
	buf_reset(&b);
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p)
	{
		if (b.len)
			buf_putc(&b, ',');
		json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
		if (np)
			buf_printf(&b, "%lld:%lld/%s",
				   (long long)json_integer_value(json_object_get(p, "port")), (long long)np,
				   api_str(p, "protocol") ?: "TCP");
		else
			buf_printf(&b, "%lld/%s", (long long)json_integer_value(json_object_get(p, "port")),
				   api_str(p, "protocol") ?: "TCP");
	}
	json_array_append_new(cells, json_string(b.len ? b.data : "<none>"));
	buf_fini(&b);
}

/* kubectl's "a,b,c + N more..." cells: the first three items joined by commas, then how
 * many more there were. */
struct capped {
	struct buf b;
	int count;
};

/* Counts one more item: true when it is among the first three (the caller writes it to
 * c->b; the comma before it is there), false when it only counts. */
static bool capped_next(struct capped *c)
{
	if (c->count++ >= 3)
		return false;
	if (c->b.len)
		buf_putc(&c->b, ',');
	return true;
}

/* Appends the cell (none when no item was written) and empties c. */
static void capped_cell(json_t *cells, struct capped *c, const char *none)
{
	if (c->count > 3)
		buf_printf(&c->b, " + %d more...", c->count - 3);
	json_array_append_new(cells, json_string(c->b.len ? c->b.data : none));
	buf_fini(&c->b);
	c->count = 0;
}

static void ep_cells(json_t *cells, const json_t *o)
{
	/* formatEndpoints: up to 3 ip:port, then " + N more..." */
	struct capped c = {0};
	size_t i, j, k;
	json_t *s, *a, *p;
	json_array_foreach(json_object_get(o, "subsets"), i, s)
	{
		json_t *ports = json_object_get(s, "ports");
		json_array_foreach(json_object_get(s, "addresses"), j, a)
		{
			const char *ip = api_str(a, "ip") ?: "";
			if (json_array_size(ports) == 0 && capped_next(&c))
				buf_puts(&c.b, ip);
			json_array_foreach(ports, k, p)
			{
				bool v6 = strchr(ip, ':') != NULL;
				if (capped_next(&c))
					buf_printf(&c.b, "%s%s%s:%lld", v6 ? "[" : "", ip, v6 ? "]" : "",
						   (long long)json_integer_value(json_object_get(p, "port")));
			}
		}
	}
	capped_cell(cells, &c, "<none>");
}

static void pod_cells(json_t *cells, const json_t *o, int64_t now)
{
	json_t *cs = api_get(o, "status.containerStatuses");
	size_t total = json_array_size(api_get(o, "spec.containers")), ready = 0;
	long long restarts = 0;
	size_t i;
	json_t *c;
	json_array_foreach(cs, i, c)
	{
		if (json_is_true(json_object_get(c, "ready")))
			ready++;
		restarts += json_integer_value(json_object_get(c, "restartCount"));
	}
	char b[64];
	snprintf(b, sizeof(b), "%zu/%zu", ready, total);
	json_array_append_new(cells, json_string(b));
	const char *reason = api_str(o, "status.reason");
	const char *phase = api_str(o, "status.phase") ?: "Pending";
	const char *st = reason && *reason ? reason : phase;
	/* A waiting or terminated container reason wins, as kubectl shows CrashLoopBackOff etc. */
	json_array_foreach(cs, i, c)
	{
		const char *w = api_str(c, "state.waiting.reason");
		const char *t = api_str(c, "state.terminated.reason");
		if (w && *w)
			st = w;
		else if (t && *t && strcmp(phase, "Running") != 0)
			st = t;
	}
	if (api_str(o, "metadata.deletionTimestamp"))
		st = "Terminating";
	json_array_append_new(cells, json_string(st));
	json_array_append_new(cells, json_integer(restarts));
	json_array_append_new(cells, json_string(""));
	(void)now;
	const char *ip = api_str(o, "status.podIP");
	json_array_append_new(cells, json_string(ip && *ip ? ip : "<none>"));
	const char *node = api_str(o, "spec.nodeName");
	json_array_append_new(cells, json_string(node && *node ? node : "<none>"));
	const char *nom = api_str(o, "status.nominatedNodeName");
	json_array_append_new(cells, json_string(nom && *nom ? nom : "<none>"));
	json_array_append_new(cells, json_string("<none>"));
}

static void node_cells(json_t *cells, const json_t *o)
{
	const char *status = "Unknown";
	size_t i;
	json_t *c;
	json_array_foreach(api_get(o, "status.conditions"), i, c)
	{
		if (!strcmp(api_str(c, "type") ?: "", "Ready"))
			status = !strcmp(api_str(c, "status") ?: "", "True") ? "Ready" : "NotReady";
	}
	char st[64];
	snprintf(st, sizeof(st), "%s%s", status,
		 json_is_true(api_get(o, "spec.unschedulable")) ? ",SchedulingDisabled" : "");
	json_array_append_new(cells, json_string(st));
	struct buf roles;
	buf_init(&roles);
	const char *k;
	json_t *v;
	json_object_foreach(api_get(o, "metadata.labels"), k, v)
	{
		if (!strncmp(k, "node-role.kubernetes.io/", 24) && k[24])
			buf_printf(&roles, "%s%s", roles.len ? "," : "", k + 24);
	}
	json_array_append_new(cells, json_string(roles.len ? roles.data : "<none>"));
	buf_fini(&roles);
	json_array_append_new(cells, json_string("")); /* age filled by caller position */
	const char *ver = api_str(o, "status.nodeInfo.kubeletVersion");
	json_array_append_new(cells, json_string(ver && *ver ? ver : ""));
	const char *iip = NULL, *eip = NULL;
	json_t *a;
	json_array_foreach(api_get(o, "status.addresses"), i, a)
	{
		const char *t = api_str(a, "type") ?: "";
		if (!strcmp(t, "InternalIP") && !iip)
			iip = api_str(a, "address");
		if (!strcmp(t, "ExternalIP") && !eip)
			eip = api_str(a, "address");
	}
	json_array_append_new(cells, json_string(iip ?: "<none>"));
	json_array_append_new(cells, json_string(eip ?: "<none>"));
	const char *os = api_str(o, "status.nodeInfo.osImage");
	const char *kv = api_str(o, "status.nodeInfo.kernelVersion");
	const char *cr = api_str(o, "status.nodeInfo.containerRuntimeVersion");
	json_array_append_new(cells, json_string(os && *os ? os : "<unknown>"));
	json_array_append_new(cells, json_string(kv && *kv ? kv : "<unknown>"));
	json_array_append_new(cells, json_string(cr && *cr ? cr : "<unknown>"));
}

static void slice_cells(json_t *cells, const json_t *o)
{
	json_array_append_new(cells, json_string(api_str(o, "addressType") ?: ""));
	struct capped c = {0};
	size_t i, j;
	json_t *p, *e, *a;
	json_array_foreach(json_object_get(o, "ports"), i, p)
	{
		if (capped_next(&c))
			buf_printf(&c.b, "%lld", (long long)json_integer_value(json_object_get(p, "port")));
	}
	capped_cell(cells, &c, "<unset>");
	json_array_foreach(json_object_get(o, "endpoints"), i, e)
	{
		json_array_foreach(json_object_get(e, "addresses"), j, a)
		{
			if (capped_next(&c))
				buf_puts(&c.b, json_string_value(a) ?: "");
		}
	}
	capped_cell(cells, &c, "<unset>");
}

static void ing_cells(json_t *cells, const json_t *o)
{
	const char *cls = api_str(o, "spec.ingressClassName");
	json_array_append_new(cells, json_string(cls && *cls ? cls : "<none>"));
	struct buf b;
	buf_init(&b);
	size_t i;
	json_t *r;
	json_array_foreach(api_get(o, "spec.rules"), i, r)
	{
		const char *h = api_str(r, "host");
		buf_printf(&b, "%s%s", b.len ? "," : "", h && *h ? h : "*");
	}
	json_array_append_new(cells, json_string(b.len ? b.data : "*"));
	buf_reset(&b);
	json_array_foreach(api_get(o, "status.loadBalancer.ingress"), i, r)
	{
		const char *a = api_str(r, "ip");
		if (!a || !*a)
			a = api_str(r, "hostname");
		if (a && *a)
			buf_printf(&b, "%s%s", b.len ? "," : "", a);
	}
	json_array_append_new(cells, json_string(b.data ? b.data : ""));
	json_array_append_new(cells, json_string(json_array_size(api_get(o, "spec.tls")) ? "80, 443" : "80"));
	buf_fini(&b);
}

static void ev_cells(json_t *cells, const json_t *o, int64_t now)
{
	const char *last = api_str(o, "lastTimestamp");
	char *ls = age(o, last && *last ? "lastTimestamp" : "eventTime", now);
	json_array_append_new(cells, json_string(ls));
	free(ls);
	json_array_append_new(cells, json_string(api_str(o, "type") ?: ""));
	json_array_append_new(cells, json_string(api_str(o, "reason") ?: ""));
	char *obj = xasprintf("%s/%s", api_str(o, "involvedObject.kind") ?: "",
			      api_str(o, "involvedObject.name") ?: "");
	for (char *p = obj; *p && *p != '/'; p++)
		*p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
	json_array_append_new(cells, json_string(obj));
	free(obj);
	json_array_append_new(cells, json_string(api_str(o, "involvedObject.fieldPath") ?: ""));
	json_array_append_new(cells, json_string(api_str(o, "source.component") ?: ""));
	json_array_append_new(cells, json_string(api_str(o, "message") ?: ""));
	char *fs = age(o, "firstTimestamp", now);
	json_array_append_new(cells, json_string(fs));
	free(fs);
	json_array_append_new(cells, json_integer(json_integer_value(json_object_get(o, "count"))));
	json_array_append_new(cells, json_string(api_str(o, "metadata.name") ?: ""));
}

static json_int_t ival(const json_t *o, const char *path)
{
	return json_integer_value(api_get(o, path));
}

/* "web,sidecar" and "nginx:1.25,busybox": the template's containers and images. */
static void template_cells(json_t *cells, const json_t *o)
{
	struct buf names, images;
	buf_init(&names);
	buf_init(&images);
	buf_printf(&names, "%s", "");
	buf_printf(&images, "%s", "");
	size_t i;
	json_t *c;
	json_array_foreach(api_get(o, "spec.template.spec.containers"), i, c)
	{
		buf_printf(&names, "%s%s", i ? "," : "", api_str(c, "name") ?: "");
		buf_printf(&images, "%s%s", i ? "," : "", api_str(c, "image") ?: "");
	}
	char *n = buf_take(&names), *im = buf_take(&images);
	json_array_append_new(cells, json_string(n));
	json_array_append_new(cells, json_string(im));
	free(n);
	free(im);
}

static void selector_cell(json_t *cells, const struct api_kind *k, const json_t *o)
{
	json_t *ls = api_workload_selector(k, o);
	char *s = ls ? api_label_selector_string(ls) : xstrdup("<none>");
	json_decref(ls);
	json_array_append_new(cells, json_string(*s ? s : "<none>"));
	free(s);
}

/* Cells after Name of the workload kinds and of ConfigMap, Secret, ServiceAccount and
 * ControllerRevision; false for other kinds. */
static bool workload_cells(json_t *cells, const struct api_kind *k, const json_t *o, const char *age_s)
{
	const char *kind = k->kind;
	char b[64];
	if (!strcmp(kind, "ReplicationController") || !strcmp(kind, "ReplicaSet")) {
		json_array_append_new(cells, json_integer(ival(o, "spec.replicas")));
		json_array_append_new(cells, json_integer(ival(o, "status.replicas")));
		json_array_append_new(cells, json_integer(ival(o, "status.readyReplicas")));
		json_array_append_new(cells, json_string(age_s));
		template_cells(cells, o);
		selector_cell(cells, k, o);
	} else if (!strcmp(kind, "Deployment")) {
		snprintf(b, sizeof(b), "%lld/%lld", (long long)ival(o, "status.readyReplicas"),
			 (long long)ival(o, "spec.replicas"));
		json_array_append_new(cells, json_string(b));
		json_array_append_new(cells, json_integer(ival(o, "status.updatedReplicas")));
		json_array_append_new(cells, json_integer(ival(o, "status.availableReplicas")));
		json_array_append_new(cells, json_string(age_s));
		template_cells(cells, o);
		selector_cell(cells, k, o);
	} else if (!strcmp(kind, "StatefulSet")) {
		snprintf(b, sizeof(b), "%lld/%lld", (long long)ival(o, "status.readyReplicas"),
			 (long long)ival(o, "spec.replicas"));
		json_array_append_new(cells, json_string(b));
		json_array_append_new(cells, json_string(age_s));
		template_cells(cells, o);
	} else if (!strcmp(kind, "DaemonSet")) {
		static const char *const f[] = {"status.desiredNumberScheduled",
						"status.currentNumberScheduled", "status.numberReady",
						"status.updatedNumberScheduled", "status.numberAvailable"};
		for (size_t i = 0; i < 5; i++)
			json_array_append_new(cells, json_integer(ival(o, f[i])));
		char *ns = api_format_labels(api_get(o, "spec.template.spec.nodeSelector"), ",", "<none>");
		json_array_append_new(cells, json_string(ns));
		free(ns);
		json_array_append_new(cells, json_string(age_s));
		template_cells(cells, o);
		selector_cell(cells, k, o);
	} else if (!strcmp(kind, "ConfigMap")) {
		json_array_append_new(
		    cells, json_integer((json_int_t)(json_object_size(json_object_get(o, "data")) +
						     json_object_size(json_object_get(o, "binaryData")))));
		json_array_append_new(cells, json_string(age_s));
	} else if (!strcmp(kind, "Secret")) {
		json_array_append_new(cells, json_string(api_str(o, "type") ?: ""));
		json_array_append_new(cells,
				      json_integer((json_int_t)json_object_size(json_object_get(o, "data"))));
		json_array_append_new(cells, json_string(age_s));
	} else if (!strcmp(kind, "ServiceAccount")) {
		json_array_append_new(
		    cells, json_integer((json_int_t)json_array_size(json_object_get(o, "secrets"))));
		json_array_append_new(cells, json_string(age_s));
	} else if (!strcmp(kind, "ControllerRevision")) {
		const char *ctrl = "<none>";
		char *cs = NULL;
		size_t i;
		json_t *r;
		json_array_foreach(api_get(o, "metadata.ownerReferences"), i, r)
		{
			if (json_is_true(json_object_get(r, "controller"))) {
				const char *av = api_str(r, "apiVersion") ?: "";
				const char *slash = strchr(av, '/');
				int glen = slash ? (int)(slash - av) : 0;
				char *lk = xstrdup(api_str(r, "kind") ?: "");
				for (char *p = lk; *p; p++)
					*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
				cs = glen ? xasprintf("%s.%.*s/%s", lk, glen, av, api_str(r, "name") ?: "")
					  : xasprintf("%s/%s", lk, api_str(r, "name") ?: "");
				free(lk);
				ctrl = cs;
				break;
			}
		}
		json_array_append_new(cells, json_string(ctrl));
		free(cs);
		snprintf(b, sizeof(b), "%lld", (long long)ival(o, "revision"));
		json_array_append_new(cells, json_integer(ival(o, "revision")));
		json_array_append_new(cells, json_string(age_s));
	} else {
		return false;
	}
	return true;
}

json_t *table_row(const struct api_kind *k, const json_t *obj, int include_object, int64_t now)
{
	json_t *cells = json_array();
	const char *kind = k->kind;
	char *a = age(obj, "metadata.creationTimestamp", now);
	if (strcmp(kind, "Event") != 0)
		json_array_append_new(cells, json_string(api_str(obj, "metadata.name") ?: ""));
	if (!strcmp(kind, "Namespace")) {
		json_array_append_new(cells, json_string(api_str(obj, "status.phase") ?: "Active"));
		json_array_append_new(cells, json_string(a));
	} else if (!strcmp(kind, "Service")) {
		svc_cells(cells, obj);
		json_array_append_new(cells, json_string(a));
		char *sel = api_format_labels(api_get(obj, "spec.selector"), ",", "<none>");
		json_array_append_new(cells, json_string(sel));
		free(sel);
	} else if (!strcmp(kind, "Endpoints")) {
		ep_cells(cells, obj);
		json_array_append_new(cells, json_string(a));
	} else if (!strcmp(kind, "Pod")) {
		pod_cells(cells, obj, now);
		json_array_set_new(cells, 4, json_string(a));
	} else if (!strcmp(kind, "Node")) {
		node_cells(cells, obj);
		json_array_set_new(cells, 3, json_string(a));
	} else if (!strcmp(kind, "Event")) {
		ev_cells(cells, obj, now);
	} else if (!strcmp(kind, "EndpointSlice")) {
		slice_cells(cells, obj);
		json_array_append_new(cells, json_string(a));
	} else if (!strcmp(kind, "Ingress")) {
		ing_cells(cells, obj);
		json_array_append_new(cells, json_string(a));
	} else if (!strcmp(kind, "IngressClass")) {
		json_array_append_new(cells, json_string(api_str(obj, "spec.controller") ?: ""));
		json_t *p = api_get(obj, "spec.parameters");
		char *ps = p ? xasprintf("%s/%s", api_str(p, "kind") ?: "", api_str(p, "name") ?: "")
			     : xstrdup("<none>");
		json_array_append_new(cells, json_string(ps));
		free(ps);
		json_array_append_new(cells, json_string(a));
	} else if (!strcmp(kind, "Lease")) {
		json_array_append_new(cells, json_string(api_str(obj, "spec.holderIdentity") ?: ""));
		json_array_append_new(cells, json_string(a));
	} else if (!workload_cells(cells, k, obj, a)) {
		json_array_append_new(cells, json_string(a));
	}
	free(a);
	json_t *row = json_pack("{s:o}", "cells", cells);
	if (include_object == 2) {
		json_object_set(row, "object", (json_t *)obj);
	} else if (include_object == 1) {
		json_t *meta = json_deep_copy(json_object_get(obj, "metadata"));
		if (meta)
			json_object_del(meta, "managedFields");
		json_object_set_new(row, "object",
				    json_pack("{s:s, s:s, s:o}", "kind", "PartialObjectMetadata",
					      "apiVersion", "meta.k8s.io/v1", "metadata",
					      meta ? meta : json_object()));
	}
	return row;
}
