/* openapi.c - OpenAPI v3 documents generated from api/schema.h, the v2 (swagger 2.0)
 * document rewritten from them (section "OpenAPI v2"; its protobuf is openapi_pb.c), and
 * the unknown-field walk behind fieldValidation=Strict|Warn|Ignore.
 *
 * Documents are built as jansson trees and dumped with sorted keys and no indentation, so
 * the text (and the ?hash= in the index) depends only on the schema tables. Components are
 * named as kube-apiserver names them (io.k8s.api.core.v1.Service, ...); object-valued
 * properties are {"allOf":[{"$ref":...}]} like the real documents, which is also the form
 * kubectl's strategic-merge-patch metadata lookup (PatchMetaFromOpenAPIV3) resolves.
 *
 * Strategic merge patch media type: a kind's PATCH operation lists
 * application/strategic-merge-patch+json only when its schema tree is complete, i.e. has
 * no API_ANY shortcut (see schema_complete()). kubectl 1.29+ computes client-side apply
 * patches from the v3 schemas of kinds that list it, and fails with "warning: error
 * calculating patch from openapi v3 spec: unable to find api field ..." when it has to
 * descend into a property without properties. For kinds that do not list it (Pod, whose
 * volume sources are API_ANY) kubectl falls back to its compiled-in patch metadata, which
 * gives the same patch.
 */
#include "api/openapi.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/object.h"
#include "api/schema_defs.h"
#include "base/buf.h"
#include "base/mem.h"

#define OPENAPI_VERSION "v1.33.0"
#define REF_PREFIX "#/components/schemas/"
#define META "io.k8s.apimachinery.pkg.apis.meta.v1."
#define NAME_TIME META "Time"
#define NAME_MICROTIME META "MicroTime"
#define NAME_PATCH META "Patch"
#define NAME_LIST_META META "ListMeta"
#define NAME_QUANTITY "io.k8s.apimachinery.pkg.api.resource.Quantity"
#define NAME_INT_OR_STRING "io.k8s.apimachinery.pkg.util.intstr.IntOrString"

/* Recursion bound for schema walks (the tables are a few levels deep; this only guards
 * against a table that refers to itself). */
enum { MAX_SCHEMA_DEPTH = 32, MAX_VALUE_DEPTH = 128 };

/* ---------------------------------------------------------------- completeness */

static bool schema_complete_depth(const struct api_schema *s, int depth)
{
	if (!s || depth > MAX_SCHEMA_DEPTH)
		return false;
	for (size_t i = 0; i < s->nfields; i++) {
		const struct api_field *f = &s->fields[i];
		switch (f->type) {
		case API_ANY:
			if (!(f->flags & API_F_FREEFORM))
				return false;
			break;
		case API_OBJECT:
			if (!schema_complete_depth(f->schema, depth + 1))
				return false;
			break;
		case API_ARRAY:
			if (f->elem == API_ANY && !(f->flags & API_F_FREEFORM))
				return false;
			if (f->elem == API_OBJECT && !schema_complete_depth(f->schema, depth + 1))
				return false;
			break;
		case API_MAP_ANY:
			if (f->schema) {
				if (!schema_complete_depth(f->schema, depth + 1))
					return false;
			} else if (f->elem == API_ANY || f->elem == API_OBJECT) {
				return false;
			}
			break;
		default:
			break;
		}
	}
	return true;
}

/* True when every property reachable from s has a real schema, so that kubectl can
 * compute strategic merge patches from the document. */
static bool schema_complete(const struct api_schema *s)
{
	return schema_complete_depth(s, 0);
}

/* ---------------------------------------------------------------- components */

static json_t *ref(const char *name)
{
	char *r = xasprintf(REF_PREFIX "%s", name);
	json_t *v = json_pack("{s:s}", "$ref", r);
	free(r);
	return v;
}

/* {"allOf":[{"$ref":name}]} */
static json_t *all_of(const char *name)
{
	return json_pack("{s:[o]}", "allOf", ref(name));
}

static json_t *gvk_json(const char *group, const char *version, const char *kind)
{
	return json_pack("{s:s,s:s,s:s}", "group", group, "version", version, "kind", kind);
}

struct walk {
	json_t *schemas;		  /* components.schemas being filled */
	const struct api_kind *kinds[16]; /* kinds of this group-version: GVK extensions */
	size_t nkinds;
};

static void add_schema(struct walk *w, const struct api_schema *s, int depth);

static json_t *scalar_json(enum api_type t, unsigned flags, struct walk *w)
{
	switch (t) {
	case API_STRING:
		return json_pack("{s:s}", "type", "string");
	case API_INT:
		return json_pack("{s:s,s:s}", "type", "integer", "format",
				 (flags & API_F_INT64) ? "int64" : "int32");
	case API_BOOL:
		return json_pack("{s:s}", "type", "boolean");
	case API_TIME:
		json_object_set_new(
		    w->schemas, (flags & API_F_MICROTIME) ? NAME_MICROTIME : NAME_TIME,
		    json_pack("{s:s,s:s,s:s}", "type", "string", "format", "date-time", "description",
			      (flags & API_F_MICROTIME)
				  ? "MicroTime is version of Time with microsecond level precision."
				  : "Time is a wrapper around time.Time which supports correct "
				    "marshaling to YAML and JSON. Wrappers are provided for many "
				    "of the factory methods that the time package offers."));
		return all_of((flags & API_F_MICROTIME) ? NAME_MICROTIME : NAME_TIME);
	case API_QUANTITY:
		json_object_set_new(
		    w->schemas, NAME_QUANTITY,
		    json_pack("{s:[{s:s},{s:s}],s:s}", "oneOf", "type", "string", "type", "number",
			      "description",
			      "Quantity is a fixed-point representation of a number. It provides "
			      "convenient marshaling/unmarshaling in JSON and YAML, in addition to "
			      "String() and AsInt64() accessors. The serialization format is "
			      "<quantity> ::= <signedNumber><suffix>."));
		return all_of(NAME_QUANTITY);
	case API_INT_OR_STRING: {
		json_object_set_new(
		    w->schemas, NAME_INT_OR_STRING,
		    json_pack("{s:s,s:s,s:s}", "type", "string", "format", "int-or-string", "description",
			      "IntOrString is a type that can hold an int32 or a string. When "
			      "used in JSON or YAML marshalling and unmarshalling, it produces "
			      "or consumes the inner type."));
		json_t *v = all_of(NAME_INT_OR_STRING);
		json_object_set_new(v, "x-kubernetes-int-or-string", json_true());
		return v;
	}
	case API_MAP_STRING:
		return json_pack("{s:s,s:{s:s,s:s}}", "type", "object", "additionalProperties", "type",
				 "string", "default", "");
	case API_ANY:
	default:
		return json_pack("{s:s,s:b}", "type", "object", "x-kubernetes-preserve-unknown-fields", 1);
	}
}

/* The schema of one value of element type t (array items, map values). */
static json_t *elem_json(enum api_type t, const struct api_schema *s, unsigned flags, struct walk *w,
			 int depth)
{
	if (t == API_OBJECT && s) {
		add_schema(w, s, depth + 1);
		json_t *v = all_of(s->name);
		json_object_set_new(v, "default", json_object());
		return v;
	}
	json_t *v = scalar_json(t, flags, w);
	if (t == API_STRING)
		json_object_set_new(v, "default", json_string(""));
	return v;
}

/* x-kubernetes-list-type (and list-map-keys) of a list field, as k8s.io/api's +listType
 * markers give them: associative lists by their keys, sets, else atomic. */
static void add_list_type(json_t *p, const struct api_field *f)
{
	const char *keys[3];
	size_t n;

	if (!(f->flags & API_F_ATOMIC) && f->elem == API_OBJECT && f->merge_key &&
	    !(f->flags & API_F_REPLACE)) {
		json_t *a = json_array();
		n = api_list_map_keys(f->merge_key, keys);
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, json_string(keys[i]));
		json_object_set_new(p, "x-kubernetes-list-map-keys", a);
		json_object_set_new(p, "x-kubernetes-list-type", json_string("map"));
	} else if (!(f->flags & API_F_ATOMIC) && f->elem != API_OBJECT && (f->flags & API_F_SET)) {
		json_object_set_new(p, "x-kubernetes-list-type", json_string("set"));
	} else {
		json_object_set_new(p, "x-kubernetes-list-type", json_string("atomic"));
	}
}

/* f of schema owner: Kubernetes' description when there is one, else the table's. */
static json_t *field_json(const struct api_schema *owner, const struct api_field *f, struct walk *w,
			  int depth)
{
	const char *desc = api__doc_find(owner->name, f->name);
	json_t *p;
	if (!desc)
		desc = f->desc;
	switch (f->type) {
	case API_OBJECT:
		add_schema(w, f->schema, depth + 1);
		p = all_of(f->schema->name);
		if (!(f->flags & API_F_POINTER))
			json_object_set_new(p, "default", json_object());
		break;
	case API_ARRAY:
		p = json_pack("{s:s,s:o}", "type", "array", "items",
			      elem_json(f->elem, f->schema, f->flags, w, depth));
		if (f->merge_key) {
			json_object_set_new(p, "x-kubernetes-patch-merge-key", json_string(f->merge_key));
			json_object_set_new(
			    p, "x-kubernetes-patch-strategy",
			    json_string((f->flags & API_F_RETAIN_KEYS) ? "merge,retainKeys" : "merge"));
		} else if (f->flags & API_F_SET) {
			json_object_set_new(p, "x-kubernetes-patch-strategy", json_string("merge"));
		}
		add_list_type(p, f);
		if (f->enums)
			json_object_set_new(json_object_get(p, "items"), "enum", api_json_strv(f->enums));
		break;
	case API_MAP_ANY:
		p = json_pack("{s:s,s:o}", "type", "object", "additionalProperties",
			      f->schema ? elem_json(API_OBJECT, f->schema, f->flags, w, depth)
					: scalar_json(f->elem, f->flags, w));
		break;
	default:
		p = scalar_json(f->type, f->flags, w);
		if (f->enums)
			json_object_set_new(p, "enum", api_json_strv(f->enums));
		break;
	}
	if ((f->type == API_MAP_STRING || f->type == API_MAP_ANY) && (f->flags & API_F_ATOMIC))
		json_object_set_new(p, "x-kubernetes-map-type", json_string("atomic"));
	if (desc && f->enums) {
		/* As openapi-gen writes a +enum field's description (without the values' own
		 * comments): kubectl before 1.30 prints no ENUM: section, so this is where its
		 * explain shows them. */
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "%s\n\nPossible enum values:", desc);
		for (size_t i = 0; f->enums[i]; i++)
			buf_printf(&b, "\n - `\"%s\"`", f->enums[i]);
		json_object_set_new(p, "description", json_stringn(b.data, b.len));
		buf_fini(&b);
	} else if (desc) {
		json_object_set_new(p, "description", json_string(desc));
	}
	return p;
}

/* Adds the properties of s (and of its inline sub-schemas) to props, required names to req. */
static void add_properties(const struct api_schema *s, json_t *props, json_t *req, struct walk *w, int depth)
{
	if (depth > MAX_SCHEMA_DEPTH)
		return;
	for (size_t i = 0; i < s->nfields; i++) {
		const struct api_field *f = &s->fields[i];
		if (f->flags & API_F_INLINE) {
			add_properties(f->schema, props, req, w, depth + 1);
			continue;
		}
		json_object_set_new(props, f->name, field_json(s, f, w, depth));
		if (f->flags & API_F_REQUIRED)
			json_array_append_new(req, json_string(f->name));
	}
}

static void add_schema(struct walk *w, const struct api_schema *s, int depth)
{
	if (!s || depth > MAX_SCHEMA_DEPTH || json_object_get(w->schemas, s->name))
		return;
	const char *desc = api__doc_find(s->name, "");
	json_t *obj = json_pack("{s:s,s:s}", "description",
				desc	  ? desc
				: s->desc ? s->desc
					  : "",
				"type", "object");
	/* Reserve the name before descending, so a schema that refers to itself stops here. */
	json_object_set(w->schemas, s->name, obj);
	json_t *props = json_object(), *req = json_array();
	add_properties(s, props, req, w, depth);
	json_object_set_new(obj, "properties", props);
	if (api_schema_atomic(s))
		json_object_set_new(obj, "x-kubernetes-map-type", json_string("atomic"));
	if (json_array_size(req))
		json_object_set(obj, "required", req);
	json_decref(req);
	for (size_t i = 0; i < w->nkinds; i++) {
		const struct api_kind *k = w->kinds[i];
		if (k->schema == s)
			json_object_set_new(obj, "x-kubernetes-group-version-kind",
					    json_pack("[o]", gvk_json(k->group, k->version, k->kind)));
	}
	json_decref(obj);
}

/* The <Kind>List schema, written out here rather than tabled: it is the same for every
 * kind. */
static void add_list_schema(struct walk *w, const struct api__gv *gv, const struct api_kind *k)
{
	if (!json_object_get(w->schemas, NAME_LIST_META))
		json_object_set_new(
		    w->schemas, NAME_LIST_META,
		    json_pack("{s:s,s:s,s:{s:{s:s,s:s},s:{s:s,s:s},s:{s:s,s:s,s:s},s:{s:s,s:s}}}",
			      "description",
			      "ListMeta describes metadata that synthetic resources must have, "
			      "including lists and various status objects.",
			      "type", "object", "properties", "continue", "type", "string", "description",
			      "continue may be set if the user set a limit on the number of items "
			      "returned, and indicates that the server has more data available.",
			      "resourceVersion", "type", "string", "description",
			      "String that identifies the server's internal version of this object "
			      "that can be used by clients to determine when objects have changed.",
			      "remainingItemCount", "type", "integer", "format", "int64", "description",
			      "remainingItemCount is the number of subsequent items in the list which "
			      "are not included in this list response.",
			      "selfLink", "type", "string", "description",
			      "Deprecated: selfLink is a legacy read-only field that is no longer "
			      "populated by the system."));
	char *name = xasprintf("%s.%sList", gv->prefix, k->kind);
	char *kind = xasprintf("%sList", k->kind);
	char *desc = xasprintf("%sList is a list of %s objects.", k->kind, k->kind);
	const struct api_field *av = api_schema_field(k->schema, "apiVersion");
	const struct api_field *kd = api_schema_field(k->schema, "kind");
	json_t *items = json_pack("{s:s,s:o,s:s}", "type", "array", "items", all_of(k->schema->name),
				  "description", "List of objects.");
	json_object_set_new(json_object_get(items, "items"), "default", json_object());
	json_t *list =
	    json_pack("{s:s,s:s,s:{s:{s:s,s:s?},s:o,s:{s:s,s:s?},s:o},s:[s],s:[o]}", "description", desc,
		      "type", "object", "properties", "apiVersion", "type", "string", "description",
		      av ? av->desc : NULL, "items", items, "kind", "type", "string", "description",
		      kd ? kd->desc : NULL, "metadata", all_of(NAME_LIST_META), "required", "items",
		      "x-kubernetes-group-version-kind", gvk_json(k->group, k->version, kind));
	json_object_set_new(json_object_get(json_object_get(list, "properties"), "metadata"), "default",
			    json_object());
	json_object_set_new(w->schemas, name, list);
	free(desc);
	free(kind);
	free(name);
}

/* ---------------------------------------------------------------- paths */

static json_t *query_param(const char *name, const char *type, const char *desc)
{
	return json_pack("{s:s,s:s,s:s,s:{s:s,s:b}}", "name", name, "in", "query", "description", desc,
			 "schema", "type", type, "uniqueItems", 1);
}

/* The query parameters the paths use, in Kubernetes' words; the last row
 * (resourceVersionMatch) also stands for any name not listed. */
static const struct {
	const char *name, *type, *desc;
} query_params[] = {
    {"pretty", "string",
     "If 'true', then the output is pretty printed. Defaults to 'false' "
     "unless the user-agent indicates a browser or command-line HTTP tool "
     "(curl and wget)."},
    {"dryRun", "string",
     "When present, indicates that modifications should not be persisted. "
     "An invalid or unrecognized dryRun directive will result in an error "
     "response and no further processing of the request. Valid values are: "
     "- All: all dry run stages will be processed"},
    {"fieldManager", "string",
     "fieldManager is a name associated with the actor or entity that is "
     "making these changes. The value must be less than or 128 characters "
     "long, and only contain printable characters, as defined by "
     "https://golang.org/pkg/unicode/#IsPrint."},
    {"fieldValidation", "string",
     "fieldValidation instructs the server on how to handle objects in the "
     "request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid "
     "values are: - Ignore: This will ignore any unknown fields that are "
     "silently dropped from the object, and will ignore all but the last "
     "duplicate field that the decoder encounters. - Warn: This will send a "
     "warning via the standard warning response header for each unknown "
     "field that is dropped from the object, and for each duplicate field "
     "that is encountered. - Strict: This will fail the request with a "
     "BadRequest error if any unknown fields would be dropped from the "
     "object, or if any duplicate fields are present. The error returned "
     "from the server will contain all unknown and duplicate fields "
     "encountered."},
    {"force", "boolean",
     "Force is going to \"force\" Apply requests. It means user will "
     "re-acquire conflicting fields owned by other people. Force flag must "
     "be unset for non-apply patch requests."},
    {"gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted."},
    {"propagationPolicy", "string",
     "Whether and how garbage collection will be performed: 'Orphan', "
     "'Background' or 'Foreground'."},
    {"watch", "boolean",
     "Watch for changes to the described resources and return them "
     "as a stream of add, update, and remove notifications."},
    {"allowWatchBookmarks", "boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."},
    {"sendInitialEvents", "boolean", "sendInitialEvents=true may be set together with watch=true."},
    {"limit", "integer", "limit is a maximum number of responses to return for a list call."},
    {"timeoutSeconds", "integer", "Timeout for the list/watch call."},
    {"labelSelector", "string",
     "A selector to restrict the list of returned objects by their labels. "
     "Defaults to everything."},
    {"fieldSelector", "string",
     "A selector to restrict the list of returned objects by their fields. "
     "Defaults to everything."},
    {"continue", "string",
     "The continue option should be set when retrieving more results from "
     "the server."},
    {"resourceVersion", "string",
     "resourceVersion sets a constraint on what resource versions a request "
     "may be served from."},
    {"resourceVersionMatch", "string",
     "resourceVersionMatch determines how resourceVersion "
     "is applied to list calls."},
};

static json_t *param(const char *name)
{
	size_t n = sizeof(query_params) / sizeof(query_params[0]), i = 0;
	while (i < n - 1 && strcmp(name, query_params[i].name) != 0)
		i++;
	return query_param(name, query_params[i].type, query_params[i].desc);
}

static json_t *params(const char *const *names)
{
	json_t *a = json_array();
	for (size_t i = 0; names[i]; i++)
		json_array_append_new(a, param(names[i]));
	return a;
}

static json_t *path_param(const char *name, const char *desc)
{
	return json_pack("{s:s,s:s,s:s,s:b,s:{s:s,s:b}}", "name", name, "in", "path", "description", desc,
			 "required", 1, "schema", "type", "string", "uniqueItems", 1);
}

static json_t *json_content(const char *schema_name)
{
	json_t *c = json_object();
	static const char *const types[] = {"application/json", "application/yaml",
					    "application/vnd.kubernetes.protobuf"};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		json_object_set_new(c, types[i], json_pack("{s:o}", "schema", ref(schema_name)));
	return c;
}

static json_t *responses(const char *schema_name, const char *const *codes)
{
	json_t *r = json_object();
	for (size_t i = 0; codes[i]; i++)
		json_object_set_new(r, codes[i],
				    json_pack("{s:s,s:o}", "description",
					      strcmp(codes[i], "201") == 0   ? "Created"
					      : strcmp(codes[i], "202") == 0 ? "Accepted"
									     : "OK",
					      "content", json_content(schema_name)));
	json_object_set_new(r, "401", json_pack("{s:s}", "description", "Unauthorized"));
	return r;
}

/* One operation; verb is "read", "patch", ...; what is "Service", "ServiceStatus", ... */
static json_t *operation(const struct api__gv *gv, const struct api_kind *k, const char *verb,
			 const char *action, const char *what, const char *desc)
{
	char *id = xasprintf("%s%s%s", verb, k->namespaced ? "Namespaced" : "", what);
	/* Tags as kube-apiserver writes them: "core_v1", "discovery_v1", "networking_v1". */
	size_t glen = strcspn(gv->group, ".");
	char *tag = gv->group[0] ? xasprintf("%.*s_%s", (int)glen, gv->group, gv->version)
				 : xasprintf("core_%s", gv->version);
	json_t *op = json_pack("{s:s,s:s,s:[s],s:s,s:o}", "operationId", id, "description", desc, "tags", tag,
			       "x-kubernetes-action", action, "x-kubernetes-group-version-kind",
			       gvk_json(k->group, k->version, k->kind));
	free(tag);
	free(id);
	return op;
}

/* The item path's operations (get, put, patch, delete) or the status path's (get, put,
 * patch). */
static json_t *item_path(const struct api__gv *gv, const struct api_kind *k, bool status, bool smp)
{
	const char *kname = k->schema->name;
	char *what = xasprintf("%s%s", k->kind, status ? "Status" : "");
	char *d;
	json_t *item = json_object();

	d = xasprintf("read %sthe specified %s", status ? "status of " : "", k->kind);
	json_t *get = operation(gv, k, "read", "get", what, d);
	free(d);
	json_object_set_new(get, "responses", responses(kname, (const char *const[]){"200", NULL}));
	json_object_set_new(get, "parameters", params((const char *const[]){"pretty", NULL}));
	json_object_set_new(item, "get", get);

	d = xasprintf("replace %sthe specified %s", status ? "status of " : "", k->kind);
	json_t *put = operation(gv, k, "replace", "put", what, d);
	free(d);
	json_object_set_new(put, "requestBody",
			    json_pack("{s:o,s:b}", "content", json_content(kname), "required", 1));
	json_object_set_new(put, "responses", responses(kname, (const char *const[]){"200", "201", NULL}));
	json_object_set_new(
	    put, "parameters",
	    params((const char *const[]){"dryRun", "fieldManager", "fieldValidation", "pretty", NULL}));
	json_object_set_new(item, "put", put);

	d = xasprintf("partially update %sthe specified %s", status ? "status of " : "", k->kind);
	json_t *patch = operation(gv, k, "patch", "patch", what, d);
	free(d);
	json_t *content = json_object();
	static const char *const patch_types[] = {
	    "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
	    "application/strategic-merge-patch+json"};
	for (size_t i = 0; i < sizeof(patch_types) / sizeof(patch_types[0]); i++) {
		if (!smp && strcmp(patch_types[i], "application/strategic-merge-patch+json") == 0)
			continue;
		json_object_set_new(content, patch_types[i], json_pack("{s:o}", "schema", ref(NAME_PATCH)));
	}
	json_object_set_new(patch, "requestBody", json_pack("{s:o,s:b}", "content", content, "required", 1));
	json_object_set_new(patch, "responses", responses(kname, (const char *const[]){"200", "201", NULL}));
	json_object_set_new(patch, "parameters",
			    params((const char *const[]){"dryRun", "fieldManager", "fieldValidation", "force",
							 "pretty", NULL}));
	json_object_set_new(item, "patch", patch);

	if (!status) {
		d = xasprintf("delete %s", k->kind);
		json_t *del = operation(gv, k, "delete", "delete", what, d);
		free(d);
		json_object_set_new(del, "responses",
				    responses(kname, (const char *const[]){"200", "202", NULL}));
		json_object_set_new(del, "parameters",
				    params((const char *const[]){"dryRun", "gracePeriodSeconds",
								 "propagationPolicy", "pretty", NULL}));
		json_object_set_new(item, "delete", del);
	}

	char *pd = xasprintf("name of the %s", k->kind);
	json_t *pp = json_pack("[o]", path_param("name", pd));
	free(pd);
	if (k->namespaced)
		json_array_append_new(pp, path_param("namespace",
						     "object name and auth scope, such as for teams and "
						     "projects"));
	json_object_set_new(item, "parameters", pp);
	free(what);
	return item;
}

static const char *const list_params[] = {"allowWatchBookmarks",
					  "continue",
					  "fieldSelector",
					  "labelSelector",
					  "limit",
					  "pretty",
					  "resourceVersion",
					  "resourceVersionMatch",
					  "sendInitialEvents",
					  "timeoutSeconds",
					  "watch",
					  NULL};

static json_t *collection_path(const struct api__gv *gv, const struct api_kind *k, const char *list_name,
			       bool all_namespaces)
{
	json_t *coll = json_object();
	char *d = xasprintf("list or watch objects of kind %s", k->kind);
	char *what = xasprintf("%s%s", k->kind, all_namespaces ? "ForAllNamespaces" : "");
	json_t *list;
	if (all_namespaces) {
		/* listServiceForAllNamespaces: never "Namespaced". */
		char *id = xasprintf("list%s", what);
		list = operation(gv, k, "list", "list", what, d);
		json_object_set_new(list, "operationId", json_string(id));
		free(id);
	} else {
		list = operation(gv, k, "list", "list", what, d);
	}
	free(d);
	json_object_set_new(list, "responses", responses(list_name, (const char *const[]){"200", NULL}));
	json_object_set_new(list, "parameters", params(list_params));
	json_object_set_new(coll, "get", list);
	if (!all_namespaces) {
		d = xasprintf("create a %s", k->kind);
		json_t *post = operation(gv, k, "create", "post", what, d);
		free(d);
		json_object_set_new(
		    post, "requestBody",
		    json_pack("{s:o,s:b}", "content", json_content(k->schema->name), "required", 1));
		json_object_set_new(
		    post, "responses",
		    responses(k->schema->name, (const char *const[]){"200", "201", "202", NULL}));
		json_object_set_new(post, "parameters",
				    params((const char *const[]){"dryRun", "fieldManager", "fieldValidation",
								 "pretty", NULL}));
		json_object_set_new(coll, "post", post);
		if (k->namespaced)
			json_object_set_new(
			    coll, "parameters",
			    json_pack("[o]", path_param("namespace", "object name and auth scope, "
								     "such as for teams and projects")));
	}
	free(what);
	return coll;
}

/* ---------------------------------------------------------------- documents */

static char *dump(const json_t *doc)
{
	char *s = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);
	if (!s)
		abort(); /* only on out of memory: every value here is valid */
	char *r = xstrdup(s);
	free(s);
	return r;
}

static json_t *build_doc(const struct api__gv *gv)
{
	struct walk w = {.schemas = json_object()};
	for (size_t i = 0; i < api_nkinds && w.nkinds < sizeof(w.kinds) / sizeof(w.kinds[0]); i++)
		if (strcmp(api_kinds[i].group, gv->group) == 0 &&
		    strcmp(api_kinds[i].version, gv->version) == 0)
			w.kinds[w.nkinds++] = &api_kinds[i];

	json_t *paths = json_object();
	char *base = gv->group[0] ? xasprintf("/apis/%s/%s", gv->group, gv->version)
				  : xasprintf("/api/%s", gv->version);
	for (size_t i = 0; i < w.nkinds; i++) {
		const struct api_kind *k = w.kinds[i];
		add_schema(&w, k->schema, 0);
		add_list_schema(&w, gv, k);
		bool smp = schema_complete(k->schema);
		char *list_name = xasprintf("%s.%sList", gv->prefix, k->kind);
		char *coll = k->namespaced ? xasprintf("%s/namespaces/{namespace}/%s", base, k->plural)
					   : xasprintf("%s/%s", base, k->plural);
		char *item = xasprintf("%s/{name}", coll);
		json_object_set_new(paths, coll, collection_path(gv, k, list_name, false));
		json_object_set_new(paths, item, item_path(gv, k, false, smp));
		if (k->has_status) {
			char *st = xasprintf("%s/status", item);
			json_object_set_new(paths, st, item_path(gv, k, true, smp));
			free(st);
		}
		if (k->namespaced) {
			char *all = xasprintf("%s/%s", base, k->plural);
			json_object_set_new(paths, all, collection_path(gv, k, list_name, true));
			free(all);
		}
		free(item);
		free(coll);
		free(list_name);
	}
	free(base);
	json_object_set_new(w.schemas, NAME_PATCH,
			    json_pack("{s:s,s:s}", "description",
				      "Patch is provided to give a concrete name and type to the "
				      "Kubernetes PATCH request body.",
				      "type", "object"));
	return json_pack("{s:s,s:{s:s,s:s},s:o,s:{s:o}}", "openapi", "3.0.0", "info", "title", "Kubernetes",
			 "version", OPENAPI_VERSION, "paths", paths, "components", "schemas", w.schemas);
}

char *api_openapi_v3_doc(const char *gv_path)
{
	if (!gv_path)
		return NULL;
	while (*gv_path == '/')
		gv_path++;
	for (size_t i = 0; i < api__ngvs; i++) {
		if (strcmp(api__gvs[i].path, gv_path) != 0)
			continue;
		json_t *doc = build_doc(&api__gvs[i]);
		char *s = dump(doc);
		json_decref(doc);
		return s;
	}
	return NULL;
}

/* FNV-1a 64: the hash only has to change when the text does (kubectl caches per URL). */
uint64_t api_openapi_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

char *api_openapi_v3_index(void)
{
	json_t *paths = json_object();
	for (size_t i = 0; i < api__ngvs; i++) {
		char *doc = api_openapi_v3_doc(api__gvs[i].path);
		char *url = xasprintf("/openapi/v3/%s?hash=%016llX", api__gvs[i].path,
				      (unsigned long long)api_openapi_hash(doc, strlen(doc)));
		json_object_set_new(paths, api__gvs[i].path, json_pack("{s:s}", "serverRelativeURL", url));
		free(url);
		free(doc);
	}
	json_t *idx = json_pack("{s:o}", "paths", paths);
	char *s = dump(idx);
	json_decref(idx);
	return s;
}

/* ---------------------------------------------------------------- OpenAPI v2 */

/* The v2 (swagger 2.0) document is the v3 documents of every group-version, built by the
 * walker above and rewritten into v2's shape, so both versions come from the same tables
 * and the same code. The rewrites, as kube-apiserver's swagger.json has them:
 *   - "#/components/schemas/X" refs become "#/definitions/X", and {"allOf":[{"$ref"}]}
 *     a bare "$ref" beside the property's description;
 *   - "default" values are dropped (v2 definitions carry none);
 *   - Quantity's oneOf becomes type string, x-kubernetes-int-or-string is dropped;
 *   - a free-form value ({type: object, x-kubernetes-preserve-unknown-fields}) becomes a
 *     schema without type, which kubectl's v2 model parses as Arbitrary (accepts anything,
 *     a list too: API_ANY fields are not always objects);
 *   - an operation's parameters carry type/uniqueItems themselves, its requestBody becomes
 *     the "body" parameter with consumes, and responses carry "schema" directly. */

#define V2_REF_PREFIX "#/definitions/"

static void v2_ref_rewrite(json_t *s)
{
	const char *r = json_string_value(json_object_get(s, "$ref"));
	if (r && strncmp(r, REF_PREFIX, strlen(REF_PREFIX)) == 0) {
		char *n = xasprintf(V2_REF_PREFIX "%s", r + strlen(REF_PREFIX));
		json_object_set_new(s, "$ref", json_string(n));
		free(n);
	}
}

static void v2_schema(json_t *s, int depth)
{
	if (!json_is_object(s) || depth > MAX_VALUE_DEPTH)
		return;
	json_t *all = json_object_get(s, "allOf");
	if (json_array_size(all) == 1 && json_object_get(json_array_get(all, 0), "$ref")) {
		json_object_set(s, "$ref", json_object_get(json_array_get(all, 0), "$ref"));
		json_object_del(s, "allOf");
	}
	v2_ref_rewrite(s);
	json_object_del(s, "default");
	json_object_del(s, "x-kubernetes-int-or-string");
	if (json_object_get(s, "oneOf")) {
		json_object_del(s, "oneOf");
		json_object_set_new(s, "type", json_string("string"));
	}
	if (json_is_true(json_object_get(s, "x-kubernetes-preserve-unknown-fields"))) {
		json_object_del(s, "x-kubernetes-preserve-unknown-fields");
		json_object_del(s, "type");
	}
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(s, "properties"), key, v) v2_schema(v, depth + 1);
	v2_schema(json_object_get(s, "items"), depth + 1);
	v2_schema(json_object_get(s, "additionalProperties"), depth + 1);
}

/* v3 parameters ({name, in, description, schema: {type, uniqueItems}}) in place. */
static void v2_params(json_t *params)
{
	size_t i;
	json_t *p;
	json_array_foreach(params, i, p)
	{
		json_t *sch = json_object_get(p, "schema");
		if (sch) {
			json_object_update(p, sch);
			json_object_del(p, "schema");
		}
	}
}

static json_t *v2_content_schema(json_t *content)
{
	json_t *s = json_deep_copy(json_object_get(json_object_get(content, "application/json"), "schema"));
	if (!s) /* a PATCH body: the first (only) patch media type's schema */
		s = json_deep_copy(
		    json_object_get(json_object_iter_value(json_object_iter(content)), "schema"));
	v2_schema(s, 0);
	return s;
}

static void v2_operation(json_t *op)
{
	json_t *params = json_object_get(op, "parameters");
	if (!params) {
		params = json_array();
		json_object_set_new(op, "parameters", params);
	}
	v2_params(params);
	json_t *body = json_object_get(op, "requestBody");
	json_t *consumes = json_array();
	if (body) {
		json_t *content = json_object_get(body, "content");
		const char *mt;
		json_t *v;
		json_object_foreach(content, mt, v)
		{
			if (strcmp(mt, "application/json") == 0 || strcmp(mt, "application/yaml") == 0 ||
			    strcmp(mt, "application/vnd.kubernetes.protobuf") == 0)
				continue;
			json_array_append_new(consumes, json_string(mt));
		}
		/* kube-apiserver puts the body first. */
		json_array_insert_new(params, 0,
				      json_pack("{s:s,s:s,s:b,s:o}", "name", "body", "in", "body", "required",
						1, "schema", v2_content_schema(content)));
		json_object_del(op, "requestBody");
	}
	if (!json_array_size(consumes))
		json_array_append_new(consumes, json_string("*/*"));
	json_object_set_new(op, "consumes", consumes);
	json_object_set_new(op, "produces",
			    json_pack("[s,s,s]", "application/json", "application/yaml",
				      "application/vnd.kubernetes.protobuf"));
	json_object_set_new(op, "schemes", json_pack("[s]", "https"));
	const char *code;
	json_t *resp;
	json_object_foreach(json_object_get(op, "responses"), code, resp)
	{
		json_t *content = json_object_get(resp, "content");
		if (content) {
			json_object_set_new(resp, "schema", v2_content_schema(content));
			json_object_del(resp, "content");
		}
	}
}

static const char *const v2_methods[] = {"get", "put", "post", "delete", "patch", NULL};

/* The whole v2 document as a jansson tree. */
static json_t *build_v2_doc(void)
{
	json_t *defs = json_object(), *paths = json_object();
	for (size_t i = 0; i < api__ngvs; i++) {
		json_t *d = build_doc(&api__gvs[i]);
		json_object_update_missing(defs,
					   json_object_get(json_object_get(d, "components"), "schemas"));
		json_object_update_missing(paths, json_object_get(d, "paths"));
		json_decref(d);
	}
	const char *key;
	json_t *v;
	json_object_foreach(defs, key, v) v2_schema(v, 0);
	json_object_foreach(paths, key, v)
	{
		for (size_t m = 0; v2_methods[m]; m++)
			if (json_object_get(v, v2_methods[m]))
				v2_operation(json_object_get(v, v2_methods[m]));
		v2_params(json_object_get(v, "parameters"));
	}
	return json_pack("{s:s,s:{s:s,s:s},s:o,s:o}", "swagger", "2.0", "info", "title", "Kubernetes",
			 "version", OPENAPI_VERSION, "paths", paths, "definitions", defs);
}

char *api_openapi_v2_doc(void)
{
	json_t *doc = build_v2_doc();
	char *s = dump(doc);
	json_decref(doc);
	return s;
}

int api_openapi_v2_proto(struct buf *out)
{
	json_t *doc = build_v2_doc();
	int rc = api_openapi_v2_encode(doc, out);
	json_decref(doc);
	return rc;
}

/* ---------------------------------------------------------------- unknown fields */

static size_t walk_object(json_t *obj, const struct api_schema *s, struct buf *path, json_t *unknown,
			  bool drop, int depth);

static size_t walk_value(json_t *v, const struct api_field *f, struct buf *path, json_t *unknown, bool drop,
			 int depth)
{
	size_t n = 0;
	size_t mark = path->len;
	if (depth > MAX_VALUE_DEPTH)
		return 0;
	switch (f->type) {
	case API_OBJECT:
		n = walk_object(v, f->schema, path, unknown, drop, depth + 1);
		break;
	case API_ARRAY:
		if (f->elem != API_OBJECT || !f->schema || !json_is_array(v))
			break;
		for (size_t i = 0; i < json_array_size(v); i++) {
			buf_printf(path, "[%zu]", i);
			n += walk_object(json_array_get(v, i), f->schema, path, unknown, drop, depth + 1);
			path->len = mark;
			path->data[mark] = 0;
		}
		break;
	case API_MAP_ANY: {
		if (!f->schema || !json_is_object(v))
			break;
		const char *key;
		json_t *val;
		json_object_foreach(v, key, val)
		{
			buf_putc(path, '.');
			buf_puts(path, key);
			n += walk_object(val, f->schema, path, unknown, drop, depth + 1);
			path->len = mark;
			path->data[mark] = 0;
		}
		break;
	}
	default:
		break;
	}
	return n;
}

/* Walks obj's keys in document order (jansson keeps insertion order), as Kubernetes'
 * strict decoder does, so the reported paths come out in the same order. */
static size_t walk_object(json_t *obj, const struct api_schema *s, struct buf *path, json_t *unknown,
			  bool drop, int depth)
{
	if (!s || !json_is_object(obj) || depth > MAX_VALUE_DEPTH)
		return 0;
	size_t n = 0, mark = path->len;
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(obj, tmp, key, v)
	{
		buf_putc(path, '.');
		buf_puts(path, key);
		const struct api_field *f = api_schema_field(s, key);
		if (!f) {
			n++;
			if (unknown)
				json_array_append_new(unknown, json_string(path->data));
			if (drop)
				json_object_del(obj, key);
		} else {
			n += walk_value(v, f, path, unknown, drop, depth);
		}
		path->len = mark;
		path->data[mark] = 0;
	}
	return n;
}

size_t api_unknown_fields(const json_t *obj, const struct api_schema *schema, json_t *unknown)
{
	struct buf path;
	buf_init(&path);
	buf_reserve(&path, 64);
	/* Read-only walk: drop == false never modifies obj, jansson's iterators just lack const. */
	size_t n = walk_object((json_t *)obj, schema, &path, unknown, false, 0);
	buf_fini(&path);
	return n;
}

void api_drop_unknown_fields(json_t *obj, const struct api_schema *schema)
{
	struct buf path;
	buf_init(&path);
	buf_reserve(&path, 64);
	walk_object(obj, schema, &path, NULL, true, 0);
	buf_fini(&path);
}
