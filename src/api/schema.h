/* schema.h - the description of every API kind's fields, written once and used everywhere.
 *
 * One table per Go type of k8s.io/api (ObjectMeta, Service, ServiceSpec, ServicePort, ...)
 * gives each field its JSON name, type, protobuf field number, strategic-merge-patch
 * merge key and a description. From it the project derives, without writing a kind's
 * fields twice: unknown-field detection for fieldValidation=Strict|Warn (api/openapi.c),
 * strategic merge patch keys (api/patch.c), the OpenAPI v3 documents kubectl reads for
 * explain and field validation (api/openapi.c), and the decoder of Kubernetes protobuf
 * request bodies (api/proto.c).
 *
 * Fields the project does not model in depth (a Pod's volumes, affinity, ...) are still
 * listed by name, with type API_ANY, so that Strict validation accepts real manifests and
 * the value is stored verbatim.
 */
#ifndef API_SCHEMA_H
#define API_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum api_type {
	API_STRING,
	API_INT, /* int32/int64 */
	API_BOOL,
	API_OBJECT,	   /* nested struct: see field.schema */
	API_ARRAY,	   /* list: element type in field.elem (and field.schema for objects) */
	API_MAP_STRING,	   /* map[string]string (labels, selector, annotations) */
	API_INT_OR_STRING, /* intstr.IntOrString: JSON number or string */
	API_TIME,	   /* metav1.Time: RFC 3339 string */
	API_QUANTITY,	   /* resource.Quantity: string or number */
	API_ANY,	   /* any JSON value, kept verbatim, not checked */
	API_MAP_ANY,	   /* map[string]<value>: values described by field.schema (objects) or, when
			    * schema is NULL, of type field.elem (API_QUANTITY for resource lists,
			    * API_ANY for anything) */
};

/* Field flags. */
enum {
	API_F_REQUIRED = 1 << 0,    /* listed as required in OpenAPI */
	API_F_POINTER = 1 << 1,	    /* Go pointer/omitempty-less: a zero value in protobuf is meaningful */
	API_F_SET = 1 << 2,	    /* list of primitives merged as a set in SMP (patchStrategy merge) */
	API_F_RETAIN_KEYS = 1 << 3, /* SMP patchStrategy retainKeys */
	API_F_REPLACE = 1 << 4,	    /* SMP: list is replaced whole even though elements are objects */
	API_F_INLINE = 1 << 5,	    /* protobuf nests it, JSON inlines its fields (IngressRuleValue) */
	API_F_INT64 = 1 << 6,	    /* API_INT (or array elem) is an int64 (OpenAPI format int64) */
	API_F_MICROTIME = 1 << 7,   /* API_TIME is a metav1.MicroTime (RFC 3339 with microseconds) */
	API_F_FREEFORM = 1 << 8,    /* API_ANY that is free-form in Kubernetes too (FieldsV1), not a
				     * shortcut: the schema is still complete (see api/openapi.c) */
	API_F_BYTES = 1 << 9,	    /* API_MAP_STRING of []byte values: base64 strings in JSON, raw
				     * bytes in protobuf (Secret.data, ConfigMap.binaryData) */
	API_F_KEEP_EMPTY = 1 << 10, /* a list Go's JSON tag has without omitempty (PodSpec.containers,
				     * EndpointSlice.endpoints): an empty one is kept, not dropped */
	API_F_ATOMIC = 1 << 11,	    /* +mapType=atomic / +listType=atomic where the patch strategy
				     * alone would merge: server-side apply owns and replaces it whole */
};

/* An API_F_INLINE field (e.g. IngressRule's "ingressRuleValue", Probe's "handler",
 * Volume's "volumeSource") is never itself a JSON key: its name is the protobuf one, its
 * proto number the nested message's, and its schema's fields appear directly in the
 * parent JSON object. api_schema_field() looks through inline fields. */

struct api_schema;

struct api_field {
	const char *name; /* JSON name */
	enum api_type type;
	enum api_type elem;		 /* API_ARRAY: element type */
	const struct api_schema *schema; /* API_OBJECT, API_ARRAY of objects, API_MAP_ANY values */
	const char *merge_key;		 /* API_ARRAY of objects: SMP patchMergeKey, NULL = replace */
	unsigned proto;			 /* protobuf field number, 0 = not in protobuf */
	unsigned flags;
	const char *desc;
	const char *const *enums; /* API_STRING (or array of strings) of a +enum Go type: its
				   * values, NULL-terminated, for OpenAPI's "enum" (kubectl
				   * explain's ENUM:); NULL = any string */
};

struct api_schema {
	const char *name; /* OpenAPI component name, e.g. "io.k8s.api.core.v1.ServiceSpec" */
	const char *desc;
	const struct api_field *fields;
	size_t nfields;
};

/* A served resource kind. */
struct api_kind {
	const char *group;	    /* "" for core */
	const char *version;	    /* "v1" */
	const char *kind;	    /* "Service" */
	const char *plural;	    /* "services" */
	const char *singular;	    /* "service" */
	const char *short_names[4]; /* NULL-terminated */
	const char *categories[2];  /* NULL-terminated */
	bool namespaced;
	bool has_status;		 /* has the status subresource */
	const struct api_schema *schema; /* top-level object schema */
	/* Non-NULL for a deprecated version served as a view of another version's stored
	 * objects (api_kind_storage): the text of the Warning every response carries. */
	const char *deprecation;
};

/* All kinds the API serves, in discovery order, and their count. */
extern const struct api_kind api_kinds[];
extern const size_t api_nkinds;

/* Returns the kind served at group/version/plural, or NULL. */
const struct api_kind *api_kind_by_plural(const char *group, const char *version, const char *plural);
/* Returns the kind for apiVersion ("v1", "discovery.k8s.io/v1") and kind, or NULL. */
const struct api_kind *api_kind_by_gvk(const char *api_version, const char *kind);
/* The kind whose objects back k in the store: k itself, or for a deprecated version
 * (k->deprecation) the served version of the same kind (v1 Ingress for extensions/v1beta1
 * and networking.k8s.io/v1beta1). Convert with api_kind_convert_in/out (api/kinds.h). */
const struct api_kind *api_kind_storage(const struct api_kind *k);
/* "v1" for core, "group/version" otherwise; points into static storage. */
const char *api_kind_api_version(const struct api_kind *k);

/* Looks up a field by JSON name in a schema, also among the fields of its inline
 * (API_F_INLINE) sub-schemas; NULL when the schema has no such field. Never returns an
 * inline field itself. */
const struct api_field *api_schema_field(const struct api_schema *s, const char *name);

/* True for the types k8s.io/api marks +structType=atomic (LabelSelector, OwnerReference,
 * ObjectReference, ...): server-side apply owns and replaces such a value whole, and the
 * OpenAPI documents mark it x-kubernetes-map-type: atomic. */
bool api_schema_atomic(const struct api_schema *s);

/* The x-kubernetes-list-map-keys of an associative list whose patch merge key is
 * merge_key: the merge key, then "protocol" for port lists (port, containerPort) and
 * "whenUnsatisfiable" for topologySpreadConstraints, as k8s.io/api's +listMapKey markers
 * say. Fills keys (at least 3 slots, static strings) and returns how many. */
size_t api_list_map_keys(const char *merge_key, const char *keys[3]);

/* Drops the empty maps and lists of obj (of schema s) that Go's omitempty leaves out of
 * Kubernetes' JSON: an object written with `labels: {}` or `externalIPs: []` is stored and
 * returned without them, as kube-apiserver (which keeps protobuf, where empty is absent)
 * returns it. Empty structs (`resources: {}`), fields without omitempty
 * (API_F_KEEP_EMPTY) and values of API_ANY fields (`emptyDir: {}`) are kept. */
void api_drop_empty(const struct api_schema *s, json_t *obj);

/* Well-known schemas shared by kinds. */
extern const struct api_schema api_schema_object_meta;

#endif
