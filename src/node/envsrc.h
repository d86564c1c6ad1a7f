/* envsrc.h - the objects a pod's environment reads besides itself: ConfigMaps and
 * Secrets (env[].valueFrom.configMapKeyRef/secretKeyRef, envFrom) and the node's
 * allocatable CPU and memory (resourceFieldRef of an unset limit), gathered once per pod
 * start into one JSON "sources" object and read from there by the runtime.
 *
 * Sources: {"configmaps": {name: {key: value} | null}, "secrets": {name: {key: decoded
 * value} | null}, "allocatable": {"cpu": cores, "memory": bytes}}; null = the object does
 * not exist. Secret values are decoded here and live only in memory: never logged,
 * never written to disk by this code. Pure except for the lookup callback.
 */
#ifndef NODE_ENVSRC_H
#define NODE_ENVSRC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Returns a new reference to the ConfigMap (kind "configmaps") or Secret ("secrets")
 * ns/name, or NULL when there is none. */
typedef json_t *(*node_envsrc_get_fn)(void *ud, const char *kind, const char *ns, const char *name);

/* The sources pod needs (every container and init container), or NULL when it needs
 * none. cpus and mem_bytes are the node's allocatable. A new object. */
json_t *node_envsrc_collect(const json_t *pod, node_envsrc_get_fn get, void *ud, long cpus,
			    long long mem_bytes);

/* The value of an env var's valueFrom of kind configMapKeyRef, secretKeyRef or
 * resourceFieldRef, for container of pod: 1 with *out (heap) set; 0 when it sets nothing
 * (an optional missing source, as kubelet); -ENOTSUP for another kind; -ENOENT with
 * kubelet's message in err (`configmap "x" not found`, `couldn't find key k in ConfigMap
 * ns/x`) for a required one that is missing, -EINVAL for a bad resourceFieldRef. */
int node_envsrc_value(const json_t *sources, const json_t *pod, const json_t *container,
		      const json_t *value_from, char **out, char *err, size_t errlen);

/* The variables of a container's envFrom, in order: a new JSON array of [name, value];
 * NULL with the message in err when a required source is missing. */
json_t *node_envsrc_env_from(const json_t *sources, const json_t *pod, const json_t *container, char *err,
			     size_t errlen);

/* Adds the base64 values of map (Secret.data, ConfigMap.binaryData) to data, decoded;
 * values that are not valid base64 or not text are left out. */
void node_envsrc_decode_into(json_t *data, const json_t *map);

/* Parses a resource.Quantity ("500m", "128Mi", "1.5", "2e3") into base units; -EINVAL
 * when malformed. */
int node_quantity_parse(const char *s, double *out);

#endif
