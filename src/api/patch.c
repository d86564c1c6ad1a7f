/* patch.c - JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.
 *
 * All three work on copies: the target is never modified, the result is a new reference.
 *
 * The strategic merge patch is a port of k8s.io/apimachinery/pkg/util/strategicpatch as
 * kube-apiserver runs it (MergeParallelList and IgnoreUnmatchedNulls set), including its
 * list ordering rules: after a merge, items named in the patch (or in $setElementOrder)
 * come in the patch's order and server-only items keep their relative live order,
 * interleaved by mergeSortedSlice. Where the Go code keeps a patch value verbatim (a key
 * absent from the target), we apply the patch to an empty value instead, which drops
 * directives and nulls exactly as kube-apiserver's decode into a typed object does.
 * "$patch: delete" on a map yields {} like the Go code (not an absent key).
 *
 * Types come from api/schema.h: a struct field's merge key and API_F_SET/API_F_REPLACE
 * choose how lists merge; a field the schema does not know merges as a plain map, and its
 * lists are replaced. The JSON patch error texts follow evanphx/json-patch v4, which
 * kube-apiserver uses.
 */
#include "api/patch.h"
#include "api/patch_internal.h"
#include "api/object.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/vec.h"

void api__seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* JSON equality where 80 and 80.0 are the same number (Go decodes both to float64). */
bool api__value_equal(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return json_number_value(a) == json_number_value(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_string(a))
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!api__value_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	if (json_is_object(a)) {
		const char *k;
		json_t *v;
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach((json_t *)a, k, v)
		{
			if (!api__value_equal(v, json_object_get(b, k)))
				return false;
		}
		return true;
	}
	return true; /* true, false, null */
}

/* Writes v the way Go's fmt %v prints a decoded JSON value (map[k:v], [a b], <nil>). */
static void go_fmt(struct buf *b, const json_t *v)
{
	if (!v || json_is_null(v)) {
		buf_puts(b, "<nil>");
	} else if (json_is_string(v)) {
		buf_puts(b, json_string_value(v));
	} else if (json_is_true(v)) {
		buf_puts(b, "true");
	} else if (json_is_false(v)) {
		buf_puts(b, "false");
	} else if (json_is_number(v)) {
		double d = json_number_value(v);
		if (d == (double)(long long)d && d > -1e6 && d < 1e6)
			buf_printf(b, "%lld", (long long)d);
		else
			buf_printf(b, "%g", d);
	} else if (json_is_array(v)) {
		buf_putc(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				buf_putc(b, ' ');
			go_fmt(b, json_array_get(v, i));
		}
		buf_putc(b, ']');
	} else {
		/* Go prints map keys sorted. */
		size_t n;
		const char **keys = api_sorted_keys(v, &n);
		buf_puts(b, "map[");
		for (size_t i = 0; i < n; i++) {
			if (i)
				buf_putc(b, ' ');
			buf_printf(b, "%s:", keys[i]);
			go_fmt(b, json_object_get(v, keys[i]));
		}
		buf_putc(b, ']');
		free(keys);
	}
}

/* ---------------------------------------------------------------------------------- */
/* JSON merge patch                                                                     */

json_t *api_merge_patch(const json_t *target, const json_t *patch)
{
	json_t *result;
	const char *k;
	json_t *v;

	if (!json_is_object(patch))
		return json_deep_copy(patch ? patch : json_null());
	result = json_is_object(target) ? json_deep_copy(target) : json_object();
	json_object_foreach((json_t *)patch, k, v)
	{
		if (json_is_null(v)) {
			json_object_del(result, k);
			continue;
		}
		json_object_set_new(result, k, api_merge_patch(json_object_get(result, k), v));
	}
	return result;
}

/* ---------------------------------------------------------------------------------- */
/* JSON patch                                                                           */

/* A parsed JSON pointer: its unescaped reference tokens, a VEC (base/vec.h). */
struct ptr {
	char **v;
	size_t len, cap;
};

static void ptr_fini(struct ptr *p)
{
	for (size_t i = 0; i < p->len; i++)
		free(p->v[i]);
	vec_free(p);
}

/* Parses a JSON pointer ("" is the whole document). */
static int ptr_parse(const char *s, struct ptr *p)
{
	*p = (struct ptr){0};
	if (*s == '\0')
		return 0;
	if (*s != '/')
		return -EINVAL;
	s++;
	for (;;) {
		const char *end = strchr(s, '/');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		char *t = xmalloc(len + 1), *o = t;
		for (size_t i = 0; i < len; i++) {
			if (s[i] == '~' && i + 1 < len && s[i + 1] == '1') {
				*o++ = '/';
				i++;
			} else if (s[i] == '~' && i + 1 < len && s[i + 1] == '0') {
				*o++ = '~';
				i++;
			} else {
				*o++ = s[i];
			}
		}
		*o = '\0';
		*vec_push(p) = t;
		if (!end)
			break;
		s = end + 1;
	}
	return 0;
}

/* Parses an array index: decimal digits, no sign, no leading zero. */
static bool parse_index(const char *s, size_t *out)
{
	size_t v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return false;
		v = v * 10 + (size_t)(*s - '0');
	}
	*out = v;
	return true;
}

/* The value at tokens [0, n) of doc, or NULL. */
static json_t *ptr_get(json_t *doc, const struct ptr *p, size_t n)
{
	json_t *cur = doc;

	for (size_t i = 0; i < n && cur; i++) {
		size_t idx;
		if (json_is_object(cur))
			cur = json_object_get(cur, p->v[i]);
		else if (json_is_array(cur) && parse_index(p->v[i], &idx))
			cur = json_array_get(cur, idx);
		else
			cur = NULL;
	}
	return cur;
}

/* Adds v_take at the location p in *doc (RFC 6902 "add"). */
static int jp_add(json_t **doc, const struct ptr *p, const char *path, json_t *v_take, const char *opname,
		  char *err, size_t errlen)
{
	json_t *parent;
	const char *last;
	size_t idx;

	if (p->len == 0) {
		json_decref(*doc);
		*doc = v_take;
		return 0;
	}
	parent = ptr_get(*doc, p, p->len - 1);
	last = p->v[p->len - 1];
	if (json_is_object(parent)) {
		json_object_set_new(parent, last, v_take);
		return 0;
	}
	if (json_is_array(parent)) {
		if (strcmp(last, "-") == 0) {
			json_array_append_new(parent, v_take);
			return 0;
		}
		if (!parse_index(last, &idx) || idx > json_array_size(parent)) {
			api__seterr(err, errlen,
				    "Unable to access invalid index: %s: invalid index referenced", last);
			json_decref(v_take);
			return -EINVAL;
		}
		json_array_insert_new(parent, idx, v_take);
		return 0;
	}
	api__seterr(err, errlen, "%s operation does not apply: doc is missing path: \"%s\": missing value",
		    opname, path);
	json_decref(v_take);
	return -EINVAL;
}

/* Removes the value at p from doc; *removed (if not NULL) receives it. */
static int jp_remove(json_t *doc, const struct ptr *p, const char *path, json_t **removed, const char *opname,
		     char *err, size_t errlen)
{
	json_t *parent, *v;
	const char *last;
	size_t idx;

	if (p->len == 0) {
		api__seterr(err, errlen,
			    "%s operation does not apply: doc is missing path: \"%s\": missing value", opname,
			    path);
		return -EINVAL;
	}
	parent = ptr_get(doc, p, p->len - 1);
	last = p->v[p->len - 1];
	if (json_is_object(parent)) {
		v = json_object_get(parent, last);
		if (!v) {
			api__seterr(err, errlen, "Unable to remove nonexistent key: %s: missing value", last);
			return -EINVAL;
		}
		if (removed)
			*removed = json_incref(v);
		json_object_del(parent, last);
		return 0;
	}
	if (json_is_array(parent)) {
		if (!parse_index(last, &idx) || idx >= json_array_size(parent)) {
			api__seterr(err, errlen,
				    "Unable to access invalid index: %s: invalid index referenced", last);
			return -EINVAL;
		}
		if (removed)
			*removed = json_incref(json_array_get(parent, idx));
		json_array_remove(parent, idx);
		return 0;
	}
	api__seterr(err, errlen, "%s operation does not apply: doc is missing path: \"%s\": missing value",
		    opname, path);
	return -EINVAL;
}

static int jp_one(json_t **doc, const json_t *op, size_t max_copy, size_t *copied, char *err, size_t errlen)
{
	const char *kind = json_string_value(json_object_get(op, "op"));
	const char *path = json_string_value(json_object_get(op, "path"));
	const char *from = json_string_value(json_object_get(op, "from"));
	json_t *value = json_object_get(op, "value");
	struct ptr p = {0}, f = {0};
	json_t *v = NULL;
	int rc = -EINVAL;

	if (!json_is_object(op)) {
		api__seterr(err, errlen, "invalid JSON patch operation: not an object");
		goto out;
	}
	if (!kind) {
		api__seterr(err, errlen, "Unexpected kind: unknown: unknown object type");
		goto out;
	}
	if (!path) {
		api__seterr(err, errlen, "%s operation is missing path: missing value", kind);
		goto out;
	}
	if (ptr_parse(path, &p) < 0) {
		api__seterr(err, errlen, "invalid JSON pointer: \"%s\"", path);
		goto out;
	}
	if (strcmp(kind, "add") == 0) {
		if (!value) {
			api__seterr(err, errlen, "add operation failed to decode value: missing value");
			goto out;
		}
		rc = jp_add(doc, &p, path, json_deep_copy(value), "add", err, errlen);
	} else if (strcmp(kind, "remove") == 0) {
		rc = jp_remove(*doc, &p, path, NULL, "remove", err, errlen);
	} else if (strcmp(kind, "replace") == 0) {
		if (!value) {
			api__seterr(err, errlen, "replace operation failed to decode value: missing value");
			goto out;
		}
		if (p.len == 0) {
			json_decref(*doc);
			*doc = json_deep_copy(value);
			rc = 0;
			goto out;
		}
		json_t *parent = ptr_get(*doc, &p, p.len - 1);
		if (!json_is_object(parent) && !json_is_array(parent)) {
			api__seterr(
			    err, errlen,
			    "replace operation does not apply: doc is missing path: %s: missing value", path);
			goto out;
		}
		if (!ptr_get(*doc, &p, p.len)) {
			api__seterr(err, errlen,
				    "replace operation does not apply: doc is missing key: %s: missing value",
				    path);
			goto out;
		}
		rc = jp_remove(*doc, &p, path, NULL, "replace", err, errlen);
		if (rc == 0)
			rc = jp_add(doc, &p, path, json_deep_copy(value), "replace", err, errlen);
	} else if (strcmp(kind, "move") == 0 || strcmp(kind, "copy") == 0) {
		bool move = kind[0] == 'm';
		if (!from || ptr_parse(from, &f) < 0) {
			api__seterr(err, errlen, "%s operation is missing from: missing value", kind);
			goto out;
		}
		if (!ptr_get(*doc, &f, f.len)) {
			api__seterr(
			    err, errlen,
			    "%s operation does not apply: doc is missing from path: %s: missing value", kind,
			    from);
			goto out;
		}
		if (move) {
			if (strncmp(path, from, strlen(from)) == 0 && path[strlen(from)] == '/') {
				api__seterr(
				    err, errlen,
				    "move operation does not apply: from path is a prefix of path: %s", path);
				goto out;
			}
			rc = jp_remove(*doc, &f, from, &v, "move", err, errlen);
			if (rc < 0)
				goto out;
		} else {
			json_t *src = ptr_get(*doc, &f, f.len);
			if (max_copy) {
				size_t left = max_copy - *copied;
				size_t sz = api_json_size_max(src, left);
				if (sz > left) {
					api__seterr(
					    err, errlen,
					    "Unable to complete the copy, the accumulated size increase of copy is "
					    "more than %zu, exceeding the limit %zu",
					    *copied + sz, max_copy);
					rc = -E2BIG;
					goto out;
				}
				*copied += sz;
			}
			v = json_deep_copy(src);
		}
		if (p.len > 0 && !json_is_object(ptr_get(*doc, &p, p.len - 1)) &&
		    !json_is_array(ptr_get(*doc, &p, p.len - 1))) {
			api__seterr(
			    err, errlen,
			    "%s operation does not apply: doc is missing destination path: %s: missing value",
			    kind, path);
			rc = -EINVAL;
			goto out;
		}
		rc = jp_add(doc, &p, path, v, kind, err, errlen);
		v = NULL;
	} else if (strcmp(kind, "test") == 0) {
		json_t *cur = ptr_get(*doc, &p, p.len);
		if ((!cur && (!value || json_is_null(value))) || api__value_equal(cur, value)) {
			rc = 0;
		} else {
			api__seterr(err, errlen, "testing value %s failed: test failed", path);
			rc = -EINVAL;
		}
	} else {
		api__seterr(err, errlen, "Unexpected kind: %s: unknown object type", kind);
	}
out:
	json_decref(v);
	ptr_fini(&p);
	ptr_fini(&f);
	return rc;
}

int api_json_patch(const json_t *target, const json_t *ops, json_t **out, char *err, size_t errlen)
{
	return api_json_patch_limit(target, ops, 0, out, err, errlen);
}

int api_json_patch_limit(const json_t *target, const json_t *ops, size_t max_copy, json_t **out, char *err,
			 size_t errlen)
{
	json_t *doc;
	size_t i, copied = 0;
	json_t *op;
	int rc = 0;

	*out = NULL;
	if (!json_is_array(ops)) {
		api__seterr(err, errlen,
			    "json: cannot unmarshal object into Go value of type jsonpatch.Patch");
		return -EINVAL;
	}
	if (max_copy && json_array_size(ops) > API_JSON_PATCH_MAX_OPS) {
		api__seterr(err, errlen, "The allowed maximum operations in a JSON patch is %d, got %zu",
			    API_JSON_PATCH_MAX_OPS, json_array_size(ops));
		return -E2BIG;
	}
	doc = json_deep_copy(target ? target : json_null());
	json_array_foreach(ops, i, op)
	{
		rc = jp_one(&doc, op, max_copy, &copied, err, errlen);
		if (rc < 0)
			goto out;
	}
	*out = doc;
	doc = NULL;
out:
	json_decref(doc);
	return rc;
}

/* ---------------------------------------------------------------------------------- */
/* Strategic merge patch                                                                */

#define DIRECTIVE "$patch"
#define RETAIN_KEYS "$retainKeys"
#define SET_ORDER "$setElementOrder/"
#define DELETE_PRIMITIVE "$deleteFromPrimitiveList/"

/* What the schema says about the value at some position of the document. */
struct node {
	const struct api_schema *schema; /* a struct: named fields */
	const struct api_schema *values; /* is_map: each value is an object of this schema */
	bool is_map;			 /* a map (labels, or map[string]Object) */
};

/* What the schema says about one key of a map or struct. */
struct finfo {
	struct node child;     /* objects: the value; lists: each element */
	const char *merge_key; /* list of objects merged by this key */
	bool merge_list;       /* patchStrategy merge */
	bool replace;	       /* patchStrategy replace */
};

static struct finfo field_info(const struct node *n, const char *key)
{
	struct finfo fi = {{0}};
	const struct api_field *f;

	if (n->is_map) {
		fi.child.schema = n->values;
		return fi;
	}
	f = api_schema_field(n->schema, key);
	if (!f)
		return fi;
	fi.replace = (f->flags & API_F_REPLACE) != 0;
	switch (f->type) {
	case API_OBJECT:
		fi.child.schema = f->schema;
		break;
	case API_MAP_STRING:
		fi.child.is_map = true;
		break;
	case API_MAP_ANY:
		fi.child.is_map = true;
		fi.child.values = f->schema;
		break;
	case API_ARRAY:
		fi.child.schema = f->elem == API_OBJECT ? f->schema : NULL;
		if (f->elem == API_OBJECT) {
			fi.merge_key = f->merge_key;
			fi.merge_list = f->merge_key && !fi.replace;
		} else {
			fi.merge_list = (f->flags & API_F_SET) && !fi.replace;
		}
		break;
	default:
		break;
	}
	return fi;
}

struct smp {
	char *err;
	size_t errlen;
};

static json_t *smp_map(json_t *orig_take, const json_t *patch, const struct node *n, struct smp *c);

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* The patch value applied to nothing: directives and nulls dropped. */
static json_t *smp_clean(const json_t *pv, const struct node *n, struct smp *c)
{
	if (json_is_object(pv))
		return smp_map(NULL, pv, n, c);
	if (json_is_array(pv)) {
		json_t *out = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(pv, i, v)
		{
			if (json_is_object(v)) {
				const char *d = json_string_value(json_object_get(v, DIRECTIVE));
				if (d)
					continue; /* delete of nothing, or replace marker */
				json_t *x = smp_map(NULL, v, n, c);
				if (!x) {
					json_decref(out);
					return NULL;
				}
				json_array_append_new(out, x);
			} else {
				json_array_append_new(out, json_deep_copy(v));
			}
		}
		return out;
	}
	return json_deep_copy(pv);
}

static int err_no_merge_key(struct smp *c, const json_t *m, const char *key)
{
	struct buf b;

	buf_init(&b);
	go_fmt(&b, m);
	api__seterr(c->err, c->errlen, "map: %s does not contain declared merge key: %s", b.data, key);
	buf_fini(&b);
	return -EINVAL;
}

static int err_bad_patch_type(struct smp *c, const json_t *t, const json_t *m)
{
	struct buf b, bt;

	buf_init(&b);
	buf_init(&bt);
	go_fmt(&b, m);
	go_fmt(&bt, t);
	api__seterr(c->err, c->errlen, "unknown patch type: %s in map: %s", bt.data, b.data);
	buf_fini(&b);
	buf_fini(&bt);
	return -EINVAL;
}

/* Index of the item of l matching v (by merge key for maps, by value otherwise), or -1.
 * Like Go's index(), a missing merge key compares as nil. */
static long list_index(const json_t *l, const json_t *v, const char *mkey)
{
	const json_t *want = mkey ? json_object_get(v, mkey) : v;

	for (size_t i = 0; i < json_array_size(l); i++) {
		const json_t *it = json_array_get(l, i);
		const json_t *have = mkey ? (json_is_object(it) ? json_object_get(it, mkey) : NULL) : it;
		if (api__value_equal(want, have))
			return (long)i;
	}
	return -1;
}

static bool is_delete_item(const json_t *v)
{
	const char *d = json_string_value(json_object_get(v, DIRECTIVE));
	return d && strcmp(d, "delete") == 0;
}

/* normalizeSliceOrder: sorts `sort` (an array we own) by the order of items in `order`;
 * with a merge key, $patch: delete items go last. Go's sort.SliceStable runs insertion
 * sort on lists this short, with a comparator that calls unknown items "less". */
static int slice_order(json_t *sort, const json_t *order, const char *mkey, struct smp *c)
{
	size_t n = json_array_size(sort);
	json_t **a, *dels = json_array();

	if (mkey) {
		for (size_t i = 0; i < n; i++) {
			json_t *it = json_array_get(sort, i);
			if (!json_object_get(it, mkey) || !json_is_object(it)) {
				json_decref(dels);
				return err_no_merge_key(c, it, mkey);
			}
		}
		for (size_t i = 0; i < json_array_size(order); i++) {
			json_t *it = json_array_get(order, i);
			if (!json_is_object(it) || !json_object_get(it, mkey)) {
				json_decref(dels);
				return err_no_merge_key(c, it, mkey);
			}
		}
	}
	a = xcalloc(n ? n : 1, sizeof(json_t *));
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *it = json_array_get(sort, i);
		if (mkey && is_delete_item(it))
			json_array_append(dels, it);
		else
			a[m++] = json_incref(it);
	}
	for (size_t i = 1; i < m; i++) {
		for (size_t j = i; j > 0; j--) {
			long ii = list_index(order, a[j], mkey), ij = list_index(order, a[j - 1], mkey);
			bool less = (ii >= 0 && ij >= 0) ? ii < ij : true;
			if (!less)
				break;
			json_t *t = a[j];
			a[j] = a[j - 1];
			a[j - 1] = t;
		}
	}
	json_array_clear(sort);
	for (size_t i = 0; i < m; i++)
		json_array_append_new(sort, a[i]);
	json_array_extend(sort, dels);
	json_decref(dels);
	free(a);
	return 0;
}

/* normalizeElementOrder + mergeSortedSlice: returns a new array. Takes patch_items and
 * server_only. */
static json_t *element_order(json_t *patch_items, json_t *server_only, const json_t *patch_order,
			     const json_t *server_order, const char *mkey, struct smp *c)
{
	json_t *out = NULL;
	size_t i = 0, j = 0, nl, nr;

	if (slice_order(patch_items, patch_order, mkey, c) < 0 ||
	    slice_order(server_only, server_order, mkey, c) < 0)
		goto out;
	nl = json_array_size(server_only);
	nr = json_array_size(patch_items);
	out = json_array();
	while (i < nl || j < nr) {
		json_t *l = i < nl ? json_array_get(server_only, i) : NULL;
		json_t *r = j < nr ? json_array_get(patch_items, j) : NULL;
		if (!r) {
			json_array_append(out, l);
			i++;
		} else if (!l) {
			json_array_append(out, r);
			j++;
		} else {
			long li = list_index(server_order, l, mkey), ri = list_index(server_order, r, mkey);
			if (li >= 0 && ri >= 0 && li < ri) {
				json_array_append(out, l);
				i++;
			} else {
				json_array_append(out, r);
				j++;
			}
		}
	}
out:
	json_decref(patch_items);
	json_decref(server_only);
	return out;
}

/* Splits merged into items present in `by` and the rest (two new arrays). */
static int partition(const json_t *merged, const json_t *by, const char *mkey, json_t **in, json_t **rest,
		     struct smp *c)
{
	*in = json_array();
	*rest = json_array();
	for (size_t i = 0; i < json_array_size(merged); i++) {
		json_t *v = json_array_get(merged, i);
		if (mkey && (!json_is_object(v) || !json_object_get(v, mkey))) {
			json_decref(*in);
			json_decref(*rest);
			return err_no_merge_key(c, v, mkey);
		}
		json_array_append(list_index(by, v, mkey) >= 0 ? *in : *rest, v);
	}
	return 0;
}

/* Go's deduplicateScalars, which moves the last item into a duplicate's place. */
static void dedup_scalars(json_t *s)
{
	size_t len = json_array_size(s);

	if (len == 0)
		return;
	size_t last = len - 1;
	for (size_t i = 0; i < last; i++) {
		for (size_t j = i + 1; j <= last; j++) {
			if (api__value_equal(json_array_get(s, i), json_array_get(s, j))) {
				json_array_set(s, j, json_array_get(s, last));
				json_array_remove(s, last);
				last--;
				j--;
			}
		}
	}
}

/* mergeSlice: original_take is ours; returns the merged list or NULL. */
static json_t *smp_slice(json_t *orig_take, const json_t *patch, const struct finfo *fi, bool delete_list,
			 struct smp *c)
{
	json_t *orig = orig_take, *merged = NULL, *plain = NULL, *in, *rest, *out = NULL;
	bool objects = false, replace = false;
	size_t i;
	json_t *v;

	if (json_array_size(orig) == 0 && json_array_size(patch) == 0)
		return orig;
	/* All elements must be of one kind (Go compares their reflect types). */
	{
		int kind = -1;
		for (int pass = 0; pass < 2; pass++) {
			const json_t *l = pass ? patch : orig;
			json_array_foreach(l, i, v)
			{
				int k = json_is_object(v)   ? 0
					: json_is_array(v)  ? 1
					: json_is_string(v) ? 2
					: json_is_number(v) ? 3
							    : 4;
				if (k == 1) {
					api__seterr(c->err, c->errlen, "lists of lists are not supported");
					goto fail;
				}
				if (kind >= 0 && k != kind) {
					api__seterr(c->err, c->errlen,
						    "list element types are not identical");
					goto fail;
				}
				kind = k;
			}
		}
		objects = kind == 0;
	}
	if (!objects) {
		if (delete_list) {
			out = json_array();
			json_array_foreach(orig, i, v)
			{
				if (list_index(patch, v, NULL) < 0)
					json_array_append(out, v);
			}
			json_decref(orig);
			return out;
		}
		merged = json_deep_copy(orig);
		json_array_extend(merged, (json_t *)patch);
		dedup_scalars(merged);
		if (partition(merged, patch, NULL, &in, &rest, c) < 0)
			goto fail;
		out = element_order(in, rest, patch, orig, NULL, c);
		json_decref(merged);
		json_decref(orig);
		return out;
	}
	if (!fi->merge_key) {
		api__seterr(c->err, c->errlen, "cannot merge lists without merge key for type map");
		goto fail;
	}
	/* mergeSliceWithSpecialElements */
	plain = json_array();
	json_array_foreach(patch, i, v)
	{
		json_t *d = json_object_get(v, DIRECTIVE);
		if (!d) {
			json_array_append(plain, v);
			continue;
		}
		const char *ds = json_string_value(d);
		if (ds && strcmp(ds, "delete") == 0) {
			json_t *mv = json_object_get(v, fi->merge_key);
			if (!mv) {
				err_no_merge_key(c, v, fi->merge_key);
				goto fail;
			}
			for (size_t j = 0; j < json_array_size(orig);) {
				json_t *it = json_array_get(orig, j);
				if (!json_is_object(it)) {
					api__seterr(c->err, c->errlen, "value for key %zu is not a map.", j);
					goto fail;
				}
				if (api__value_equal(json_object_get(it, fi->merge_key), mv))
					json_array_remove(orig, j);
				else
					j++;
			}
		} else if (ds && strcmp(ds, "replace") == 0) {
			replace = true;
		} else if (ds && strcmp(ds, "merge") == 0) {
			api__seterr(c->err, c->errlen, "merging lists cannot yet be specified in the patch");
			goto fail;
		} else {
			err_bad_patch_type(c, d, v);
			goto fail;
		}
	}
	if (replace) {
		json_decref(orig);
		orig = json_array();
		json_array_foreach(plain, i, v)
		{
			json_t *x = smp_clean(v, &fi->child, c);
			if (!x)
				goto fail;
			json_array_append_new(orig, x);
		}
		json_array_clear(plain);
	}
	/* mergeSliceWithoutSpecialElements */
	merged = json_deep_copy(orig);
	json_array_foreach(plain, i, v)
	{
		json_t *mv = json_object_get(v, fi->merge_key);
		if (!mv) {
			err_no_merge_key(c, v, fi->merge_key);
			goto fail;
		}
		long at = -1;
		for (size_t j = 0; j < json_array_size(merged); j++) {
			json_t *it = json_array_get(merged, j);
			if (!json_is_object(it)) {
				api__seterr(c->err, c->errlen, "value for key %zu is not a map.", j);
				goto fail;
			}
			if (api__value_equal(json_object_get(it, fi->merge_key), mv)) {
				at = (long)j;
				break;
			}
		}
		json_t *x = at >= 0
				? smp_map(json_incref(json_array_get(merged, (size_t)at)), v, &fi->child, c)
				: smp_clean(v, &fi->child, c);
		if (!x)
			goto fail;
		if (at >= 0)
			json_array_set_new(merged, (size_t)at, x);
		else
			json_array_append_new(merged, x);
	}
	if (partition(merged, plain, fi->merge_key, &in, &rest, c) < 0)
		goto fail;
	out = element_order(in, rest, plain, orig, fi->merge_key, c);
fail:
	json_decref(merged);
	json_decref(plain);
	json_decref(orig);
	return out;
}

/* validatePatchWithSetOrderList */
static int check_set_order(const json_t *plist, const json_t *order, const char *mkey, struct smp *c)
{
	json_t *nondel;
	size_t pi = 0, oi = 0, np;
	int rc = 0;

	if (json_array_size(order) == 0 || json_array_size(plist) == 0)
		return 0;
	nondel = json_array();
	for (size_t i = 0; i < json_array_size(plist); i++) {
		json_t *v = json_array_get(plist, i);
		if (mkey && !json_is_object(v)) {
			api__seterr(c->err, c->errlen, "invalid patch format of setElementOrder list");
			rc = -EINVAL;
			goto out;
		}
		if (!mkey || !is_delete_item(v))
			json_array_append(nondel, v);
	}
	np = json_array_size(nondel);
	while (pi < np && oi < json_array_size(order)) {
		json_t *pv = json_array_get(nondel, pi), *ov = json_array_get(order, oi);
		if (json_is_object(pv) && json_object_get(pv, DIRECTIVE)) {
			pi++;
			continue;
		}
		bool eq;
		if (mkey) {
			if (!json_is_object(ov) || !json_object_get(ov, mkey)) {
				rc = err_no_merge_key(c, ov, mkey);
				goto out;
			}
			if (!json_object_get(pv, mkey)) {
				rc = err_no_merge_key(c, pv, mkey);
				goto out;
			}
			eq = api__value_equal(json_object_get(pv, mkey), json_object_get(ov, mkey));
		} else {
			eq = api__value_equal(pv, ov);
		}
		if (eq)
			pi++;
		oi++;
	}
	if (pi < np && oi >= json_array_size(order)) {
		struct buf a, b;
		buf_init(&a);
		buf_init(&b);
		go_fmt(&a, plist);
		go_fmt(&b, order);
		api__seterr(c->err, c->errlen, "The order in patch list:\n%s\n doesn't match %s list:\n%s\n",
			    a.data, SET_ORDER, b.data);
		buf_fini(&a);
		buf_fini(&b);
		rc = -EINVAL;
	}
out:
	json_decref(nondel);
	return rc;
}

/* mergePatchIntoOriginal for one "$setElementOrder/<key>" entry. */
static int smp_set_order(json_t *orig, const json_t *patch, const char *key, const json_t *order,
			 const struct node *n, struct smp *c)
{
	struct finfo fi = field_info(n, key);
	json_t *olist = json_object_get(orig, key), *merged, *in, *rest, *out;
	const json_t *plist = json_object_get(patch, key);
	const char *mkey = NULL;

	if (!json_is_array(order)) {
		api__seterr(c->err, c->errlen, "invalid patch format of setElementOrder list");
		return -EINVAL;
	}
	if ((olist && !json_is_array(olist)) || (plist && !json_is_array(plist))) {
		api__seterr(c->err, c->errlen, "expected a []interface {}, but received a %s",
			    json_is_object(olist ? olist : plist) ? "map[string]interface {}" : "non-list");
		return -EINVAL;
	}
	/* Only lists of maps are partitioned by merge key. */
	if (json_is_object(json_array_get(olist, 0)) || json_is_object(json_array_get(plist, 0)))
		mkey = fi.merge_key;
	if (check_set_order(plist, order, mkey, c) < 0)
		return -EINVAL;
	if (!olist && !plist)
		return 0;
	if (!plist) {
		merged = json_incref(olist);
	} else if (fi.merge_list) {
		merged = smp_slice(olist ? json_deep_copy(olist) : json_array(), plist, &fi, false, c);
	} else {
		merged = smp_clean(plist, &fi.child, c);
	}
	if (!merged)
		return -EINVAL;
	if (partition(merged, order, mkey, &in, &rest, c) < 0) {
		json_decref(merged);
		return -EINVAL;
	}
	out = element_order(in, rest, order, olist ? olist : json_array(), mkey, c);
	json_decref(merged);
	if (!out)
		return -EINVAL;
	json_object_set_new(orig, key, out);
	return 0;
}

static json_t *smp_map(json_t *orig_take, const json_t *patch, const struct node *n, struct smp *c)
{
	json_t *orig = orig_take, *handled = json_object(), *d, *result = NULL;
	const char *k;
	json_t *pv;

	d = json_object_get(patch, DIRECTIVE);
	if (d) {
		const char *ds = json_string_value(d);
		if (ds && strcmp(ds, "replace") == 0) {
			json_t *p2 = json_deep_copy(patch);
			json_object_del(p2, DIRECTIVE);
			result = smp_map(NULL, p2, n, c);
			json_decref(p2);
		} else if (ds && strcmp(ds, "delete") == 0) {
			result = json_object();
		} else {
			err_bad_patch_type(c, d, patch);
		}
		goto out;
	}
	if (!orig)
		orig = json_object();
	/* applyRetainKeysDirective */
	json_t *rk = json_object_get(patch, RETAIN_KEYS);
	if (rk) {
		if (!json_is_array(rk)) {
			api__seterr(c->err, c->errlen, "invalid patch format of retainKeys");
			goto out;
		}
		json_object_foreach((json_t *)patch, k, pv)
		{
			if (json_is_null(pv) || has_prefix(k, DELETE_PRIMITIVE) || has_prefix(k, SET_ORDER) ||
			    strcmp(k, RETAIN_KEYS) == 0)
				continue;
			json_t *ks = json_string(k);
			bool found = list_index(rk, ks, NULL) >= 0;
			json_decref(ks);
			if (!found) {
				api__seterr(c->err, c->errlen, "invalid patch format of retainKeys");
				goto out;
			}
		}
		void *tmp;
		json_object_foreach_safe(orig, tmp, k, pv)
		{
			json_t *ks = json_string(k);
			if (list_index(rk, ks, NULL) < 0)
				json_object_del(orig, k);
			json_decref(ks);
		}
	}
	/* mergePatchIntoOriginal: $setElementOrder lists and the lists they order. */
	json_object_foreach((json_t *)patch, k, pv)
	{
		if (!has_prefix(k, SET_ORDER))
			continue;
		const char *key = k + strlen(SET_ORDER);
		if (!*key) {
			api__seterr(c->err, c->errlen, "invalid patch format of setElementOrder list");
			goto out;
		}
		if (smp_set_order(orig, patch, key, pv, n, c) < 0)
			goto out;
		json_object_set_new(handled, key, json_true());
	}
	json_object_foreach((json_t *)patch, k, pv)
	{
		bool delete_list = false;
		const char *key = k;
		json_t *ov, *nv;
		struct finfo fi;

		if (strcmp(k, RETAIN_KEYS) == 0 || has_prefix(k, SET_ORDER) || json_object_get(handled, k))
			continue;
		if (has_prefix(k, DELETE_PRIMITIVE)) {
			key = k + strlen(DELETE_PRIMITIVE);
			delete_list = true;
			if (!*key) {
				api__seterr(c->err, c->errlen, "invalid patch format of primitive list");
				goto out;
			}
		}
		fi = field_info(n, key);
		if (json_is_null(pv)) {
			json_object_del(orig, key);
			continue;
		}
		ov = json_object_get(orig, key);
		if (!ov) {
			if (delete_list)
				continue;
			nv = smp_clean(pv, &fi.child, c);
		} else if (json_is_object(ov) && json_is_object(pv)) {
			nv = fi.replace ? smp_clean(pv, &fi.child, c)
					: smp_map(json_incref(ov), pv, &fi.child, c);
		} else if (json_is_array(ov) && json_is_array(pv)) {
			if (fi.merge_list)
				nv = smp_slice(json_deep_copy(ov), pv, &fi, delete_list, c);
			else
				nv = smp_clean(pv, &fi.child, c);
		} else {
			nv = smp_clean(pv, &fi.child, c);
		}
		if (!nv)
			goto out;
		json_object_set_new(orig, key, nv);
	}
	result = json_incref(orig);
out:
	json_decref(handled);
	json_decref(orig);
	return result;
}

int api_strategic_merge_patch(const json_t *target, const json_t *patch, const struct api_schema *schema,
			      json_t **out, char *err, size_t errlen)
{
	struct smp c = {err, errlen};
	struct node n = {schema, NULL, false};
	json_t *res;

	*out = NULL;
	if (!json_is_object(patch) || (target && !json_is_object(target))) {
		api__seterr(err, errlen, "invalid JSON document");
		return -EINVAL;
	}
	res = smp_map(target ? json_deep_copy(target) : NULL, patch, &n, &c);
	if (!res)
		return -EINVAL;
	*out = res;
	return 0;
}
