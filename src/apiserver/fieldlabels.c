/* fieldlabels.c - which field selector labels each kind supports, as kube-apiserver's
 * per-kind field label conversion functions (AddFieldLabelConversionFunc in
 * pkg/apis/<group>/v1/conversion.go) accept them: metadata.name and metadata.namespace
 * for every kind, plus the kind's own list. Any other label is kube's 400
 * `field label not supported: <label>`; without this check a selector on an unknown
 * field would silently list nothing.
 */
#include <string.h>

#include "apiserver/internal.h"

struct labels {
	const char *group, *plural;
	const char *const names[12];
};

static const struct labels table[] = {
    {"",
     "pods",
     {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
      "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName", NULL}},
    {"",
     "events",
     {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
      "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
      "reportingComponent", "source", "type", NULL}},
    {"events.k8s.io",
     "events",
     {"regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "regarding.apiVersion",
      "regarding.resourceVersion", "regarding.fieldPath", "reason", "reportingController", "type", NULL}},
    {"", "namespaces", {"status.phase", NULL}},
    {"", "nodes", {"spec.unschedulable", NULL}},
    {"", "secrets", {"type", NULL}},
    {"", "replicationcontrollers", {"status.replicas", NULL}},
    {"apps", "replicasets", {"status.replicas", NULL}},
    {"batch", "jobs", {"status.successful", NULL}},
    {"certificates.k8s.io", "certificatesigningrequests", {"spec.signerName", NULL}},
};

bool apiserver__field_label_ok(const struct api_kind *k, const char *label)
{
	if (!strcmp(label, "metadata.name") || !strcmp(label, "metadata.namespace"))
		return true;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(table[i].group, k->group) || strcmp(table[i].plural, k->plural))
			continue;
		for (const char *const *n = table[i].names; *n; n++)
			if (!strcmp(*n, label))
				return true;
	}
	return false;
}

int apiserver__field_labels_check(const struct api_kind *k, const char *sel, char *bad, size_t badlen)
{
	while (sel && *sel) {
		size_t len = strcspn(sel, ",");
		size_t kl = strcspn(sel, "=!,");
		while (kl && sel[kl - 1] == ' ')
			kl--;
		const char *key = sel;
		while (kl && *key == ' ') {
			key++;
			kl--;
		}
		if (kl) {
			char label[128];
			size_t n = kl < sizeof(label) - 1 ? kl : sizeof(label) - 1;
			memcpy(label, key, n);
			label[n] = 0;
			if (!apiserver__field_label_ok(k, label)) {
				size_t m = n < badlen - 1 ? n : badlen - 1;
				memcpy(bad, label, m);
				bad[m] = 0;
				return -1;
			}
		}
		sel += len;
		if (*sel == ',')
			sel++;
	}
	return 0;
}
