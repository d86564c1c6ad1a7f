/* schema_defs.h - private to api/: the schema tables shared between schema_*.c files,
 * the group-versions the API serves, and the macros the tables are written with.
 *
 * Every table mirrors one Go type of k8s.io/api or k8s.io/apimachinery: fields in the
 * Go struct's order, JSON names from the json tags, protobuf numbers from
 * generated.proto, merge keys and strategies from the patchMergeKey/patchStrategy tags.
 * Tables are const and linked statically; nothing here allocates.
 */
#ifndef API_SCHEMA_DEFS_H
#define API_SCHEMA_DEFS_H

#include <stddef.h>

#include "api/schema.h"

/* A served group-version: "" for core. */
struct api__gv {
	const char *group;
	const char *version;
	const char *api_version; /* "v1", "discovery.k8s.io/v1" */
	const char *path;	 /* "api/v1", "apis/discovery.k8s.io/v1" (OpenAPI v3 index key) */
	const char *prefix;	 /* OpenAPI component prefix: "io.k8s.api.core.v1" */
};

extern const struct api__gv api__gvs[];
extern const size_t api__ngvs;

/* Returns the served group-version or NULL. */
const struct api__gv *api__gv_find(const char *group, const char *version);

/* apimachinery meta/v1 (schema_meta.c); api_schema_object_meta is in schema.h. */
extern const struct api_schema api__schema_label_selector;
extern const struct api_schema api__schema_condition;
extern const struct api_schema api__schema_owner_reference;
extern const struct api_schema api__schema_managed_fields_entry;

/* core/v1 (schema_core.c). */
extern const struct api_schema api__schema_object_reference;
extern const struct api_schema api__schema_typed_local_object_reference;
extern const struct api_schema api__schema_namespace;
extern const struct api_schema api__schema_node;
extern const struct api_schema api__schema_service;
extern const struct api_schema api__schema_endpoints;
extern const struct api_schema api__schema_pod;
extern const struct api_schema api__schema_event;
extern const struct api_schema api__schema_pod_template_spec;
extern const struct api_schema api__schema_local_object_reference;

/* Workloads, ConfigMap, Secret, ServiceAccount (schema_workloads.c). */
extern const struct api_schema api__schema_config_map;
extern const struct api_schema api__schema_secret;
extern const struct api_schema api__schema_service_account;
extern const struct api_schema api__schema_replication_controller;
extern const struct api_schema api__schema_replica_set;
extern const struct api_schema api__schema_deployment;
extern const struct api_schema api__schema_stateful_set;
extern const struct api_schema api__schema_daemon_set;
extern const struct api_schema api__schema_controller_revision;
extern const struct api_schema api__schema_scale;

/* discovery/v1 and networking/v1 (schema_net.c). */
extern const struct api_schema api__schema_endpoint_slice;
extern const struct api_schema api__schema_ingress;
extern const struct api_schema api__schema_ingress_class;
extern const struct api_schema api__schema_ingress_ext_v1beta1;
extern const struct api_schema api__schema_ingress_net_v1beta1;

/* coordination/v1 (schema_coord.c). */
extern const struct api_schema api__schema_lease;

/* Kubernetes' own descriptions of the tables' types (field "") and fields, generated from
 * k8s.io/api by scripts/gen_schema_docs.py (schema_docs.c), sorted by schema then field. */
struct api__doc {
	const char *schema, *field, *desc;
};
extern const struct api__doc api__docs[];
extern const size_t api__ndocs;
/* The description of field ("" for the type itself) of the OpenAPI schema named schema, or
 * NULL when Kubernetes has none (api/openapi.c then uses the table's). */
const char *api__doc_find(const char *schema, const char *field);

/* rbac.authorization.k8s.io/v1 (schema_rbac.c). */
extern const struct api_schema api__schema_role;
extern const struct api_schema api__schema_cluster_role;
extern const struct api_schema api__schema_role_binding;
extern const struct api_schema api__schema_cluster_role_binding;
/* Bodies that are decoded but never stored (authorization.k8s.io/v1 self reviews), for the
 * protobuf decoder: the schema of that kind, or NULL. */
const struct api_schema *api__review_schema(const char *api_version, const char *kind);

/* Table-writing macros. Arguments: JSON name, [sub-schema, [merge key,]] protobuf number,
 * flags, description. */
#define API__N(a) (sizeof(a) / sizeof((a)[0]))

#define API__SCHEMA(linkage, var, sname, sdesc, ...)                                                         \
	static const struct api_field var##_fields[] = {__VA_ARGS__};                                        \
	linkage const struct api_schema var = {sname, sdesc, var##_fields, API__N(var##_fields)}

#define FSTR(n, p, fl, d)                                                                                    \
	{                                                                                                    \
		.name = n, .type = API_STRING, .proto = p, .flags = fl, .desc = d                            \
	}
/* A string of a +enum type, e: API__ENUM("A", "B") in OpenAPI's (sorted) order. */
#define API__ENUM(...) ((const char *const[]){__VA_ARGS__, NULL})
#define FENUM(n, e, p, fl, d)                                                                                \
	{                                                                                                    \
		.name = n, .type = API_STRING, .proto = p, .flags = fl, .desc = d, .enums = e                \
	}
#define FENUMS(n, e, p, fl, d)                                                                               \
	{                                                                                                    \
		.name = n, .type = API_ARRAY, .elem = API_STRING, .proto = p, .flags = fl, .desc = d,        \
		.enums = e                                                                                   \
	}
#define FINT(n, p, fl, d)                                                                                    \
	{                                                                                                    \
		.name = n, .type = API_INT, .proto = p, .flags = fl, .desc = d                               \
	}
#define FBOOL(n, p, fl, d)                                                                                   \
	{                                                                                                    \
		.name = n, .type = API_BOOL, .proto = p, .flags = fl, .desc = d                              \
	}
#define FTIME(n, p, fl, d)                                                                                   \
	{                                                                                                    \
		.name = n, .type = API_TIME, .proto = p, .flags = fl, .desc = d                              \
	}
#define FIOS(n, p, fl, d)                                                                                    \
	{                                                                                                    \
		.name = n, .type = API_INT_OR_STRING, .proto = p, .flags = fl, .desc = d                     \
	}
#define FQTY(n, p, fl, d)                                                                                    \
	{                                                                                                    \
		.name = n, .type = API_QUANTITY, .proto = p, .flags = fl, .desc = d                          \
	}
#define FANY(n, p, fl, d)                                                                                    \
	{                                                                                                    \
		.name = n, .type = API_ANY, .proto = p, .flags = fl, .desc = d                               \
	}
#define FMAP(n, p, fl, d)                                                                                    \
	{                                                                                                    \
		.name = n, .type = API_MAP_STRING, .proto = p, .flags = fl, .desc = d                        \
	}
#define FQMAP(n, p, fl, d)                                                                                   \
	{                                                                                                    \
		.name = n, .type = API_MAP_ANY, .elem = API_QUANTITY, .proto = p, .flags = fl, .desc = d     \
	}
#define FOBJ(n, s, p, fl, d)                                                                                 \
	{                                                                                                    \
		.name = n, .type = API_OBJECT, .schema = &(s), .proto = p, .flags = fl, .desc = d            \
	}
#define FINL(n, s, p)                                                                                        \
	{                                                                                                    \
		.name = n, .type = API_OBJECT, .schema = &(s), .proto = p, .flags = API_F_INLINE             \
	}
#define FLIST(n, s, key, p, fl, d)                                                                           \
	{                                                                                                    \
		.name = n, .type = API_ARRAY, .elem = API_OBJECT, .schema = &(s), .merge_key = key,          \
		.proto = p, .flags = fl, .desc = d                                                           \
	}
#define FSTRS(n, p, fl, d)                                                                                   \
	{                                                                                                    \
		.name = n, .type = API_ARRAY, .elem = API_STRING, .proto = p, .flags = fl, .desc = d         \
	}
#define FINTS(n, p, fl, d)                                                                                   \
	{                                                                                                    \
		.name = n, .type = API_ARRAY, .elem = API_INT, .proto = p, .flags = fl, .desc = d            \
	}
#define FANYS(n, p, fl, d)                                                                                   \
	{                                                                                                    \
		.name = n, .type = API_ARRAY, .elem = API_ANY, .proto = p, .flags = fl, .desc = d            \
	}

/* Flag shorthands for the tables. */
#define REQ API_F_REQUIRED
#define PTR API_F_POINTER
#define SET API_F_SET
#define I64 API_F_INT64

/* The fields every top-level kind starts with. */
#define API__TYPE_META                                                                                       \
	FSTR("apiVersion", 0, 0,                                                                             \
	     "APIVersion defines the versioned schema of this representation of an object. "                 \
	     "Servers should convert recognized schemas to the latest internal value, and may "              \
	     "reject unrecognized values. More info: "                                                       \
	     "https://git.k8s.io/community/contributors/devel/sig-architecture/"                             \
	     "api-conventions.md#resources"),                                                                \
	    FSTR("kind", 0, 0,                                                                               \
		 "Kind is a string value representing the REST resource this object represents. "            \
		 "Servers may infer this from the endpoint the client submits requests to. Cannot "          \
		 "be updated. In CamelCase. More info: "                                                     \
		 "https://git.k8s.io/community/contributors/devel/sig-architecture/"                         \
		 "api-conventions.md#types-kinds")

#define API__OBJECT_META(p, fl)                                                                              \
	FOBJ("metadata", api_schema_object_meta, p, fl,                                                      \
	     "Standard object's metadata. More info: "                                                       \
	     "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")

#endif
