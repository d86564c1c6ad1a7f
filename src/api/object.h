/* object.h - helpers over API objects held as JSON (jansson): metadata access, names,
 * times, uids, and the field-error list that validation fills.
 *
 * Objects travel through the server as json_t trees, as unstructured objects do in
 * Kubernetes; api/schema.h says which fields exist, api/kinds.c gives each kind its
 * defaulting and validation. Field errors use Kubernetes' wording so that kubectl prints
 * them exactly as it does against kube-apiserver.
 */
#ifndef API_OBJECT_H
#define API_OBJECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Borrowed string at a dotted path ("metadata.name"), or NULL. */
const char *api_str(const json_t *obj, const char *path);
/* Borrowed JSON at a dotted path, or NULL. */
json_t *api_get(const json_t *obj, const char *path);
/* Returns obj[key], creating an empty object there when missing (or not an object). */
json_t *api_obj(json_t *obj, const char *key);
/* The keys of obj (borrowed from it) in byte order, in a new array the caller frees, with
 * NULL after the last; *n (may be NULL) gets their count. Not an object: no keys. */
const char **api_sorted_keys(const json_t *obj, size_t *n);
/* Go's labels.FormatLabels with a separator: the string members of labels as k=v in key
 * order, joined by sep; none when there are none. A new string. */
char *api_format_labels(const json_t *labels, const char *sep, const char *none);
/* A new JSON array of the strings of v, a NULL-terminated list. */
json_t *api_json_strv(const char *const *v);
/* The first object in the array arr whose string at path equals value (borrowed), or NULL;
 * *index (may be NULL) gets its place. */
json_t *api_array_find(const json_t *arr, const char *path, const char *value, size_t *index);
/* The first entry of obj's status.conditions whose type is `type` (borrowed), or NULL. */
const json_t *api_condition(const json_t *obj, const char *type);
/* The condition api_condition finds has status "True". */
bool api_condition_true(const json_t *obj, const char *type);

/* Current wall time as RFC 3339 ("2026-11-22T03:04:05Z"); buf has at least 32 bytes. */
const char *api_now(char *buf, size_t len);
/* Now as a metav1.MicroTime ("2026-12-06T23:30:00.123456Z", as Lease times); buf has at
 * least 32 bytes. Returns buf. */
const char *api_now_micro(char *buf, size_t len);
/* Parses RFC 3339 (seconds, optional fraction, Z or offset) into Unix seconds; -1 if bad. */
int64_t api_time_parse(const char *s);
/* kubectl's HumanDuration ("45s", "3m10s", "5h", "12d"). */
void api_human_duration(int64_t seconds, char *buf, size_t len);
/* A random RFC 4122 version-4 UUID; buf has at least 37 bytes. */
void api_uuid(char *buf, size_t len);

/* A core/v1 Event about obj (kind and apiVersion "v1" given, as involvedObject), as
 * client-go's recorder makes it: name "<obj name>.<hex of now in ns>", in obj's
 * namespace ("default" when none), count 1, first/lastTimestamp now, source
 * {component, host}. fieldPath (may be NULL) names the part of obj, e.g.
 * "spec.containers{web}". host may be NULL. A new object. */
json_t *api_event_new(const json_t *obj, const char *kind, const char *field_path, const char *component,
		      const char *host, const char *type, const char *reason, const char *message);

/* Field errors: causes is a JSON array of {"reason","message","field"} as in a Status. */
struct api_errs {
	json_t *causes;
};
void api_errs_init(struct api_errs *e);
void api_errs_fini(struct api_errs *e);
size_t api_errs_count(const struct api_errs *e);
/* "Required value" (detail may be NULL). */
void api_err_required(struct api_errs *e, const char *field, const char *detail);
/* "Invalid value: <value as Go %#v would print it>: detail". value may be NULL (prints ""). */
void api_err_invalid(struct api_errs *e, const char *field, const json_t *value, const char *detail);
/* The same with the value already written as Go's %#v would (e.g. "[]networking.IngressRule(nil)"). */
void api_err_invalid_text(struct api_errs *e, const char *field, const char *value_text, const char *detail);
/* "Unsupported value: "X": supported values: "a", "b"" (supported NULL-terminated). */
void api_err_not_supported(struct api_errs *e, const char *field, const json_t *value,
			   const char *const *supported);
void api_err_forbidden(struct api_errs *e, const char *field, const char *detail);
void api_err_duplicate(struct api_errs *e, const char *field, const json_t *value);
void api_err_too_long(struct api_errs *e, const char *field, size_t max);

/* Name rules: each returns NULL when s is valid, else Kubernetes' message. */
const char *api_check_dns1123_label(const char *s);
const char *api_check_dns1123_subdomain(const char *s);
const char *api_check_dns1035_label(const char *s);
const char *api_check_iana_svc_name(const char *s);
/* Validates label keys and values of a labels map at field (e.g. "metadata.labels"). */
void api_validate_labels(const json_t *labels, const char *field, struct api_errs *e);
/* ValidateAnnotations of Kubernetes: a map of strings, keys qualified names (compared in
 * lower case), keys and values together at most API_ANNOTATIONS_MAX bytes. */
#define API_ANNOTATIONS_MAX (256 * 1024)
void api_validate_annotations(const json_t *ann, const char *field, struct api_errs *e);
/* The size of v as compact JSON, counted without encoding it; the walk stops as soon as
 * the count passes limit (and returns a value above limit), so its cost is bounded by
 * limit, not by the size of v (a tree that shares subtrees can be huge). */
size_t api_json_size_max(const json_t *v, size_t limit);
/* Validates a qualified name (label key / annotation key / finalizer); returns a message or NULL. */
const char *api_check_qualified_name(const char *s);
/* ValidateNonSpecialIP of Kubernetes: ip must be a valid address and not unspecified,
 * loopback, link-local unicast or link-local multicast; errors go on field. */
void api_validate_non_special_ip(const char *ip, const char *field, struct api_errs *e);
/* Validates IP text; returns 4 or 6 for the family, 0 when not an IP. */
int api_ip_family(const char *s);

/* An informer projection (informer_set_transform) for EndpointSlices read by the agent:
 * drops each endpoint's conditions that hold the value an absent one means (ready true;
 * serving true while ready; terminating false), and the conditions object left empty. The
 * API's nil semantics (and kube-proxy's reading) make absent ready and serving true and
 * absent terminating false, and every slice reader of the agent (proxy, DNS, Ingress
 * proxy, LoadBalancer announcer) reads them so: one conditions object per endpoint is
 * ~0.4 KB of tree, a third of a 10-endpoint slice. It also drops what none of them reads:
 * each endpoint's targetRef (another ~0.5 KB: the controller names every endpoint's Pod)
 * and deprecatedTopology, and metadata.uid, creationTimestamp, generation and
 * ownerReferences. A new reader of another of these fields must be added here. Not for
 * controllers: they compare slices they write field by field. */
void api_endpointslice_compact(json_t *slice);
#define API_ENDPOINTSLICE_COMPACT_TAG "compact-conditions"

#endif
