/* apply.c - server-side apply and metadata.managedFields, after sigs.k8s.io/structured-merge-diff.
 *
 * A field set is kept in Kubernetes' FieldsV1 form throughout: a JSON tree whose keys are
 * path elements ("f:name" a field or map key, "k:{...}" a list item by its keys, "v:..." a
 * set item) and where a node is a member of the set when it is {} or has a "." child.
 * Operations (insert, member test, intersection, difference) walk those trees.
 *
 * Types come from api/schema.h. A list of objects with a merge key is an associative list
 * ("k:"); a primitive list with API_F_SET is a set ("v:"); any other list is atomic (owned
 * and replaced whole), and so is one flagged API_F_ATOMIC (+listType=atomic upstream
 * though its patch strategy merges, PodStatus.hostIPs). Map fields (labels) are granular
 * unless flagged API_F_ATOMIC (+mapType=atomic: Service and ReplicationController
 * spec.selector, PodSpec.nodeSelector), and structs are granular unless their type is
 * +structType=atomic (api_schema_atomic: LabelSelector, OwnerReference, ...): an atomic
 * value is one leaf of the field set, so one manager owns it and an apply replaces it
 * whole. Fields the schema does not know (API_ANY) are treated as granular objects with
 * atomic lists. The key of a list item is api_list_map_keys(): the merge key plus
 * "protocol" for port lists, with "protocol":"TCP" when the element has none
 * (kube-apiserver's list-map keys for Service and container ports are port+protocol with
 * protocol defaulted, so applied manifests that omit protocol still match the defaulted
 * live items), plus "whenUnsatisfiable" for topologySpreadConstraints.
 *
 * Merge keys may repeat (Node status.addresses: an InternalIP per family; env vars of one
 * name; container ports of one port+protocol). As structured-merge-diff does since
 * v4.4: the items of a repeated key are one atomic value owned as the bare "k:" element
 * (walk_list); an apply that names the key replaces all of them, one that does not keeps
 * them (merge_item); pruning visits every item with the key (remove_path); an applied
 * configuration that repeats a key is refused (applied_dup). Before, every lookup took
 * the first item of a key, so the second one was compared with, merged into or pruned
 * from the first.
 *
 * Apply (Updater.Apply): merge the applied object into live, prune what this manager
 * applied last time and no longer lists unless another manager owns it, then compare live
 * with the result: fields changed or added that another manager owns are conflicts (409)
 * unless force moves them to this manager. Update (Updater.Update): fields changed by the
 * write move to the writer's "Update" entry. Fields never tracked: apiVersion, kind,
 * status, and metadata name, namespace, uid, resourceVersion, generation,
 * creationTimestamp, selfLink, managedFields.
 */
#include "api/patch.h"
#include "api/patch_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/vec.h"

#define PATH_MAX_DEPTH 64

/* ---- types ---- */

enum kind { K_UNKNOWN, K_STRUCT, K_MAP, K_ATOMIC, K_LIST_MAP, K_LIST_SET, K_SCALAR };

struct ty {
	enum kind kind;
	const struct api_schema *schema; /* K_STRUCT fields, K_MAP values, K_LIST_MAP elements */
	const char *merge_key;		 /* K_LIST_MAP */
};

static struct ty ty_of_field(const struct api_field *f)
{
	struct ty t = {K_UNKNOWN, NULL, NULL};

	if (!f)
		return t;
	switch (f->type) {
	case API_OBJECT:
		t.kind = !f->schema ? K_UNKNOWN : api_schema_atomic(f->schema) ? K_ATOMIC : K_STRUCT;
		t.schema = f->schema;
		break;
	case API_MAP_STRING:
		t.kind = f->flags & API_F_ATOMIC ? K_ATOMIC : K_MAP;
		break;
	case API_MAP_ANY:
		t.kind = f->flags & API_F_ATOMIC ? K_ATOMIC : K_MAP;
		t.schema = f->schema;
		break;
	case API_ARRAY:
		if (f->flags & API_F_ATOMIC)
			t.kind = K_ATOMIC;
		else if (f->elem == API_OBJECT && f->merge_key && !(f->flags & API_F_REPLACE)) {
			t.kind = K_LIST_MAP;
			t.schema = f->schema;
			t.merge_key = f->merge_key;
		} else if (f->elem != API_OBJECT && (f->flags & API_F_SET)) {
			t.kind = K_LIST_SET;
		} else {
			t.kind = K_ATOMIC;
		}
		break;
	case API_ANY:
		break;
	default:
		t.kind = K_SCALAR;
		break;
	}
	return t;
}

/* The type of key inside a value of type t (struct, map or unknown object). */
static struct ty ty_child(const struct ty *t, const char *key)
{
	struct ty u = {K_UNKNOWN, NULL, NULL};

	if (t->kind == K_STRUCT)
		return ty_of_field(api_schema_field(t->schema, key));
	if (t->kind == K_MAP && t->schema) {
		u.kind = api_schema_atomic(t->schema) ? K_ATOMIC : K_STRUCT;
		u.schema = t->schema;
	}
	return u;
}

/* The type of an item of a list: an item of an atomic struct type (OwnerReference) is
 * one value, owned as its "k:" element alone. */
static struct ty ty_elem(const struct ty *t)
{
	struct ty u = {!t->schema		      ? K_UNKNOWN
		       : api_schema_atomic(t->schema) ? K_ATOMIC
						      : K_STRUCT,
		       t->schema, NULL};
	return u;
}

/* ---- paths and FieldsV1 sets ---- */

struct path {
	char *e[PATH_MAX_DEPTH];
	size_t n;
};

static void path_push(struct path *p, char *e_take)
{
	p->e[p->n++] = e_take;
}

static void path_pop(struct path *p)
{
	free(p->e[--p->n]);
}

static bool node_member(const json_t *node)
{
	return node && (json_object_size(node) == 0 || json_object_get(node, "."));
}

/* Adds the path e[0..n) to set as a member. */
static void set_insert(json_t *set, char *const *e, size_t n)
{
	json_t *node = set;

	for (size_t i = 0; i < n; i++) {
		json_t *child = json_object_get(node, e[i]);
		bool last = i + 1 == n;
		if (!child) {
			child = json_object();
			json_object_set_new(node, e[i], child);
		} else if (!last && json_object_size(child) == 0) {
			/* a member leaf that now gets children keeps its membership */
			json_object_set_new(child, ".", json_object());
		} else if (last && json_object_size(child) > 0 && !json_object_get(child, ".")) {
			json_object_set_new(child, ".", json_object());
		}
		node = child;
	}
}

static bool set_has(const json_t *set, char *const *e, size_t n)
{
	const json_t *node = set;

	for (size_t i = 0; i < n && node; i++)
		node = json_object_get(node, e[i]);
	return n > 0 && node_member(node);
}

/* Removes e[0..n) from the set below node: the whole subtree when recursive, else only
 * the membership. Returns true when node became an empty non-member (to be dropped). */
static bool set_remove_rec(json_t *node, char *const *e, size_t n, bool recursive)
{
	json_t *child = json_object_get(node, e[0]);

	if (!child)
		return false;
	if (n == 1) {
		if (recursive || json_object_size(child) == 0)
			json_object_del(node, e[0]);
		else
			json_object_del(child, ".");
	} else {
		bool was_member = json_object_get(child, ".") != NULL;
		bool empty_leaf = json_object_size(child) == 0;
		if (empty_leaf)
			return false; /* a leaf has no children to remove */
		set_remove_rec(child, e + 1, n - 1, recursive);
		if (json_object_size(child) == 0 && !was_member)
			json_object_del(node, e[0]);
		else if (json_object_size(child) == 1 && was_member && json_object_get(child, "."))
			json_object_del(child, ".");
	}
	return false;
}

static void set_remove(json_t *set, char *const *e, size_t n, bool recursive)
{
	if (n > 0)
		set_remove_rec(set, e, n, recursive);
}

typedef void (*set_fn)(struct path *p, void *arg);

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Calls fn for each member path, members of a level before the levels below it, keys in
 * sorted order (structured-merge-diff's Set.Iterate). */
static void set_iterate(const json_t *node, struct path *p, set_fn fn, void *arg)
{
	size_t n = json_object_size(node), i = 0;
	const char **keys;
	const char *k;
	json_t *v;

	if (n == 0 || p->n >= PATH_MAX_DEPTH)
		return;
	keys = xcalloc(n, sizeof(char *));
	json_object_foreach((json_t *)node, k, v)
	{
		if (strcmp(k, ".") != 0)
			keys[i++] = k;
	}
	n = i;
	xqsort(keys, n, sizeof(char *), key_cmp);
	for (i = 0; i < n; i++) {
		if (!node_member(json_object_get(node, keys[i])))
			continue;
		path_push(p, xstrdup(keys[i]));
		fn(p, arg);
		path_pop(p);
	}
	for (i = 0; i < n; i++) {
		json_t *child = json_object_get(node, keys[i]);
		if (json_object_size(child) == 0)
			continue;
		path_push(p, xstrdup(keys[i]));
		set_iterate(child, p, fn, arg);
		path_pop(p);
	}
	free(keys);
}

struct setop {
	const json_t *other;
	json_t *out;
	bool recursive;
};

static void intersect_fn(struct path *p, void *arg)
{
	struct setop *o = arg;

	if (set_has(o->other, p->e, p->n))
		set_insert(o->out, p->e, p->n);
}

static json_t *set_intersect(const json_t *a, const json_t *b)
{
	struct setop o = {b, json_object(), false};
	struct path p = {{0}, 0};

	set_iterate(a, &p, intersect_fn, &o);
	return o.out;
}

static void remove_fn(struct path *p, void *arg)
{
	struct setop *o = arg;

	set_remove(o->out, p->e, p->n, o->recursive);
}

/* a -= b (exact members, or whole subtrees when recursive). */
static void set_subtract(json_t *a, const json_t *b, bool recursive)
{
	struct setop o = {NULL, a, recursive};
	struct path p = {{0}, 0};

	set_iterate(b, &p, remove_fn, &o);
}

static void insert_fn(struct path *p, void *arg)
{
	struct setop *o = arg;

	set_insert(o->out, p->e, p->n);
}

static void set_union(json_t *a, const json_t *b)
{
	struct setop o = {NULL, a, false};
	struct path p = {{0}, 0};

	set_iterate(b, &p, insert_fn, &o);
}

/* ---- list item keys ---- */

/* The "k:{...}" element of an associative list item, or NULL when it lacks its key. The
 * keys are api_list_map_keys(); a port list's protocol defaults to TCP. */
static char *item_key(const json_t *item, const struct ty *t)
{
	const char *keys[3];
	size_t nkeys = api_list_map_keys(t->merge_key, keys);
	json_t *k, *mv;
	char *s, *r;

	if (!json_is_object(item) || !(mv = json_object_get(item, t->merge_key)))
		return NULL;
	k = json_object();
	json_object_set(k, t->merge_key, mv);
	for (size_t i = 1; i < nkeys; i++) {
		json_t *v = json_object_get(item, keys[i]);
		if (v)
			json_object_set(k, keys[i], v);
		else if (strcmp(keys[i], "protocol") == 0)
			json_object_set_new(k, keys[i], json_string("TCP"));
	}
	s = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
	r = xasprintf("k:%s", s ? s : "{}");
	free(s);
	json_decref(k);
	return r;
}

static char *set_item_key(const json_t *item)
{
	char *s = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
	char *r = xasprintf("v:%s", s ? s : "null");

	free(s);
	return r;
}

/* True if every item of l has its key (so the list can be handled per item). */
static bool all_keyed(const json_t *l, const struct ty *t)
{
	for (size_t i = 0; i < json_array_size(l); i++) {
		char *k = item_key(json_array_get(l, i), t);
		if (!k)
			return false;
		free(k);
	}
	return true;
}

/* The path element of an item of an associative list or set (NULL: it lacks its key). */
static char *list_key(const json_t *item, const struct ty *t)
{
	return t->kind == K_LIST_SET ? set_item_key(item) : item_key(item, t);
}

static bool item_has_key(const json_t *it, const char *key, const struct ty *t)
{
	char *k = list_key(it, t);
	bool eq = k && strcmp(k, key) == 0;

	free(k);
	return eq;
}

static long find_item(const json_t *l, const char *key, const struct ty *t)
{
	for (size_t i = 0; i < json_array_size(l); i++)
		if (item_has_key(json_array_get(l, i), key, t))
			return (long)i;
	return -1;
}

/* How many items of l have key: more than one makes the key a duplicate. */
static size_t count_items(const json_t *l, const char *key, const struct ty *t)
{
	size_t n = 0;

	for (size_t i = 0; i < json_array_size(l); i++)
		if (item_has_key(json_array_get(l, i), key, t))
			n++;
	return n;
}

/* True if the items with key are the same, in the same order, in l and r. */
static bool same_items(const json_t *l, const json_t *r, const char *key, const struct ty *t)
{
	size_t li = 0, ri = 0, ln = json_array_size(l), rn = json_array_size(r);

	for (;;) {
		while (li < ln && !item_has_key(json_array_get(l, li), key, t))
			li++;
		while (ri < rn && !item_has_key(json_array_get(r, ri), key, t))
			ri++;
		if (li == ln || ri == rn)
			return li == ln && ri == rn;
		if (!api__value_equal(json_array_get(l, li), json_array_get(r, ri)))
			return false;
		li++;
		ri++;
	}
}

/* ---- the walker: field sets and comparisons ---- */

struct walk {
	json_t *changed;      /* Modified ∪ Added (or the field set of rhs) */
	json_t *removed;      /* Removed */
	bool mark_containers; /* a newly added map or list is itself a member (Update) */
};

static bool ignored(const struct path *p, const char *key)
{
	static const char *const top[] = {"apiVersion", "kind", "status"};
	static const char *const meta[] = {"name",	 "namespace",	      "uid",	  "resourceVersion",
					   "generation", "creationTimestamp", "selfLink", "managedFields",
					   "clusterName"};

	if (p->n == 0) {
		for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
			if (strcmp(key, top[i]) == 0)
				return true;
	} else if (p->n == 1 && strcmp(p->e[0], "f:metadata") == 0) {
		for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
			if (strcmp(key, meta[i]) == 0)
				return true;
	}
	return false;
}

static void walk(const json_t *l, const json_t *r, struct ty t, struct path *p, struct walk *w);

static void mark(json_t *set, struct path *p)
{
	if (p->n > 0)
		set_insert(set, p->e, p->n);
}

static bool is_object_kind(const struct ty *t, const json_t *v)
{
	return json_is_object(v) && (t->kind == K_STRUCT || t->kind == K_MAP || t->kind == K_UNKNOWN);
}

static void walk_object(const json_t *l, const json_t *r, const struct ty *t, struct path *p, struct walk *w)
{
	const char *k;
	json_t *v;

	if (l) {
		json_object_foreach((json_t *)l, k, v)
		{
			if (ignored(p, k))
				continue;
			path_push(p, xasprintf("f:%s", k));
			walk(v, r ? json_object_get(r, k) : NULL, ty_child(t, k), p, w);
			path_pop(p);
		}
	}
	if (r) {
		json_object_foreach((json_t *)r, k, v)
		{
			if (ignored(p, k) || (l && json_object_get(l, k)))
				continue;
			path_push(p, xasprintf("f:%s", k));
			walk(NULL, v, ty_child(t, k), p, w);
			/* a map's entries are members themselves (visitMapItems) */
			if (t->kind == K_MAP)
				mark(w->changed, p);
			path_pop(p);
		}
	}
}

/* Items whose key occurs more than once on either side are one atomic value owned as the
 * bare key (structured-merge-diff's duplicate handling): the key is modified when the run
 * of duplicates changes, and going from one item to duplicates (or back) removes the old
 * value and adds the new one. Without this, the second item of a key was compared with
 * the first one of the other side. */
static void walk_list(const json_t *l, const json_t *r, const struct ty *t, struct path *p, struct walk *w)
{
	struct ty et = ty_elem(t);
	json_t *seen = json_object();
	size_t i;
	json_t *v;

	json_array_foreach(r, i, v)
	{
		char *key = list_key(v, t);
		if (!key || json_object_get(seen, key)) {
			free(key);
			continue;
		}
		json_object_set_new(seen, key, json_true());
		size_t nl = count_items(l, key, t), nr = count_items(r, key, t);
		long at = l ? find_item(l, key, t) : -1;
		path_push(p, key);
		if (nl > 1 || nr > 1) {
			if (!same_items(l, r, key, t)) {
				if (nl > 0 && (nl > 1) != (nr > 1))
					mark(w->removed, p);
				mark(w->changed, p);
				if (nr == 1 && t->kind == K_LIST_MAP)
					walk(NULL, v, et, p, w);
			}
		} else {
			if (at < 0)
				mark(w->changed, p);
			if (t->kind == K_LIST_MAP)
				walk(at >= 0 ? json_array_get(l, (size_t)at) : NULL, v, et, p, w);
		}
		path_pop(p);
	}
	json_array_foreach(l, i, v)
	{
		char *key = list_key(v, t);
		if (key && !json_object_get(seen, key) && (!r || find_item(r, key, t) < 0)) {
			json_object_set_new(seen, key, json_true());
			path_push(p, key);
			mark(w->removed, p);
			path_pop(p);
		} else {
			free(key);
		}
	}
	json_decref(seen);
}

/* Compares l (old) with r (new), both possibly absent, at path p of type t. */
static void walk(const json_t *l, const json_t *r, struct ty t, struct path *p, struct walk *w)
{
	if (p->n >= PATH_MAX_DEPTH - 1) {
		if (!api__value_equal(l, r))
			mark(r ? w->changed : w->removed, p);
		return;
	}
	if (!r) {
		if (l)
			mark(w->removed, p);
		return;
	}
	bool lists = t.kind == K_LIST_MAP || t.kind == K_LIST_SET;
	if (json_is_object(r) && is_object_kind(&t, r) && json_object_size(r) > 0) {
		if (l && !json_is_object(l)) {
			mark(w->removed, p);
			l = NULL;
		}
		if (!l && w->mark_containers && t.kind == K_MAP)
			mark(w->changed, p);
		walk_object(l, r, &t, p, w);
		return;
	}
	if (json_is_array(r) && lists && json_array_size(r) > 0 &&
	    (t.kind == K_LIST_SET || (all_keyed(r, &t) && (!json_is_array(l) || all_keyed(l, &t))))) {
		if (l && !json_is_array(l)) {
			mark(w->removed, p);
			l = NULL;
		}
		if (!l && w->mark_containers)
			mark(w->changed, p);
		walk_list(l, r, &t, p, w);
		return;
	}
	/* a leaf: scalar, null, empty object or list, atomic list */
	if (!l || !api__value_equal(l, r))
		mark(w->changed, p);
}

/* The field set of obj (ToFieldSet). */
static json_t *field_set(const json_t *obj, const struct api_schema *schema)
{
	struct walk w = {json_object(), json_object(), false};
	struct path p = {{0}, 0};
	struct ty t = {schema ? K_STRUCT : K_UNKNOWN, schema, NULL};

	walk(NULL, obj, t, &p, &w);
	json_decref(w.removed);
	return w.changed;
}

static void compare(const json_t *l, const json_t *r, const struct api_schema *schema, json_t **changed,
		    json_t **removed)
{
	struct walk w = {json_object(), json_object(), true};
	struct path p = {{0}, 0};
	struct ty t = {schema ? K_STRUCT : K_UNKNOWN, schema, NULL};

	walk(l, r, t, &p, &w);
	*changed = w.changed;
	*removed = w.removed;
}

/* ---- merging the applied object into live ---- */

static json_t *strip_nulls(const json_t *v)
{
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
		{
			if (!json_is_null(x))
				json_object_set_new(o, k, strip_nulls(x));
		}
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) json_array_append_new(a, strip_nulls(x));
		return a;
	}
	return json_deep_copy(v);
}

static json_t *merge(const json_t *l, const json_t *r, struct ty t);

/* The merge of applied item r into live item li of list l. A key live holds more than once
 * is replaced whole by the applied item, at the first duplicate's place, and the other
 * duplicates go (structured-merge-diff: which duplicate to merge into is not defined);
 * duplicates the applied list does not name are kept as they are. */
static json_t *merge_item(const json_t *l, const json_t *li, const json_t *r, const char *key,
			  const struct ty *t, struct ty et)
{
	if (li && count_items(l, key, t) > 1)
		return strip_nulls(r);
	return merge(li, r, et);
}

/* structured-merge-diff's list merge: live order kept, applied items merged in place,
 * new applied items placed relative to the shared ones. */
static json_t *merge_list(const json_t *l, const json_t *r, const struct ty *t)
{
	size_t ln = json_array_size(l), rn = json_array_size(r), li = 0, ri = 0, si = 0;
	char **lk = xcalloc(ln + 1, sizeof(char *)), **rk = xcalloc(rn + 1, sizeof(char *));
	json_t *out = json_array(), *done = json_object();
	struct ty et = ty_elem(t);
	size_t *shared = xcalloc(rn + 1, sizeof(size_t)), nshared = 0;

	for (size_t i = 0; i < ln; i++)
		lk[i] = t->kind == K_LIST_SET ? set_item_key(json_array_get(l, i))
					      : item_key(json_array_get(l, i), t);
	for (size_t i = 0; i < rn; i++) {
		rk[i] = t->kind == K_LIST_SET ? set_item_key(json_array_get(r, i))
					      : item_key(json_array_get(r, i), t);
		if (find_item(l, rk[i], t) >= 0)
			shared[nshared++] = i;
	}
#define IN_R(key) (find_item(r, (key), t) >= 0)
	while (li < ln || ri < rn) {
		size_t before_l = li, before_r = ri;
		if (li < ln && ri < rn) {
			if (strcmp(lk[li], rk[ri]) == 0) {
				json_object_set_new(done, lk[li], json_true());
				json_array_append_new(out, merge_item(l, json_array_get(l, li),
								      json_array_get(r, ri), rk[ri], t, et));
				if (si < nshared && shared[si] == ri)
					si++;
				li++;
				ri++;
				continue;
			}
			if (IN_R(lk[li]) && si < nshared && strcmp(rk[shared[si]], lk[li]) != 0) {
				li++;
				continue;
			}
		}
		if (li < ln) {
			if (!IN_R(lk[li])) {
				json_array_append_new(out, json_deep_copy(json_array_get(l, li)));
				li++;
				continue;
			}
			if (json_object_get(done, lk[li])) {
				li++;
				continue;
			}
		}
		if (ri < rn) {
			long at = find_item(l, rk[ri], t);
			json_object_set_new(done, rk[ri], json_true());
			json_array_append_new(out,
					      merge_item(l, at >= 0 ? json_array_get(l, (size_t)at) : NULL,
							 json_array_get(r, ri), rk[ri], t, et));
			if (si < nshared && shared[si] == ri)
				si++;
			ri++;
		}
		if (li == before_l && ri == before_r)
			li++; /* cannot happen with unique keys; never loop forever */
	}
#undef IN_R
	for (size_t i = 0; i < ln; i++)
		free(lk[i]);
	for (size_t i = 0; i < rn; i++)
		free(rk[i]);
	free(lk);
	free(rk);
	free(shared);
	json_decref(done);
	return out;
}

/* Returns the merge of applied value r into live value l (a new reference). */
static json_t *merge(const json_t *l, const json_t *r, struct ty t)
{
	if (!l || json_is_null(l))
		return strip_nulls(r);
	if (json_is_object(l) && json_is_object(r) && is_object_kind(&t, r)) {
		json_t *out = json_deep_copy(l);
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)r, k, v)
		{
			if (json_is_null(v))
				json_object_del(out, k);
			else
				json_object_set_new(out, k, merge(json_object_get(l, k), v, ty_child(&t, k)));
		}
		return out;
	}
	if (json_is_array(l) && json_is_array(r) &&
	    (t.kind == K_LIST_SET || (t.kind == K_LIST_MAP && all_keyed(l, &t) && all_keyed(r, &t))))
		return merge_list(l, r, &t);
	return strip_nulls(r);
}

/* Removes the value at e[0..n) from obj; containers left empty that are maps or lists
 * are dropped too (Go's omitempty), empty structs are kept. Returns true when obj itself
 * became an empty map or list. */
static bool remove_path(json_t *obj, char *const *e, size_t n, struct ty t)
{
	if (json_is_object(obj) && strncmp(e[0], "f:", 2) == 0) {
		const char *k = e[0] + 2;
		json_t *child = json_object_get(obj, k);
		if (!child)
			return false;
		if (n == 1) {
			json_object_del(obj, k);
		} else {
			struct ty ct = ty_child(&t, k);
			if (remove_path(child, e + 1, n - 1, ct))
				json_object_del(obj, k);
		}
		return t.kind == K_MAP && json_object_size(obj) == 0;
	}
	if (json_is_array(obj) && (t.kind == K_LIST_MAP || t.kind == K_LIST_SET)) {
		/* every item with the key: duplicates are one value (structured-merge-diff's
		 * removeItemsWithSchema visits each of them) */
		struct ty et = ty_elem(&t);
		bool found = false;
		for (size_t i = 0; i < json_array_size(obj);) {
			if (!item_has_key(json_array_get(obj, i), e[0], &t)) {
				i++;
				continue;
			}
			found = true;
			if (n == 1) {
				json_array_remove(obj, i);
			} else {
				remove_path(json_array_get(obj, i), e + 1, n - 1, et);
				i++;
			}
		}
		return found && json_array_size(obj) == 0;
	}
	return false;
}

struct prune {
	json_t *obj;
	const struct api_schema *schema;
};

static void prune_fn(struct path *p, void *arg)
{
	struct prune *pr = arg;
	struct ty t = {pr->schema ? K_STRUCT : K_UNKNOWN, pr->schema, NULL};

	remove_path(pr->obj, p->e, p->n, t);
}

/* ---- managedFields entries ---- */

struct entry {
	char *manager;
	char *operation;
	char *api_version;
	char *time;
	char *subresource;
	json_t *set;
};

struct entries {
	struct entry *v;
	size_t len, cap; /* a VEC (base/vec.h) */
};

static void entries_fini(struct entries *es)
{
	for (size_t i = 0; i < es->len; i++) {
		free(es->v[i].manager);
		free(es->v[i].operation);
		free(es->v[i].api_version);
		free(es->v[i].time);
		free(es->v[i].subresource);
		json_decref(es->v[i].set);
	}
	vec_free(es);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static struct entry *entries_add(struct entries *es, const char *manager, const char *op,
				 const char *api_version)
{
	struct entry *e = vec_push(es);

	e->manager = xstrdup(manager);
	e->operation = xstrdup(op);
	e->api_version = dup_or_null(api_version);
	e->set = json_object();
	return e;
}

static void entries_parse(struct entries *es, const json_t *obj)
{
	const json_t *mf = json_object_get(json_object_get(obj, "metadata"), "managedFields");
	size_t i;
	json_t *v;

	json_array_foreach(mf, i, v)
	{
		const char *m = json_string_value(json_object_get(v, "manager"));
		const char *op = json_string_value(json_object_get(v, "operation"));
		const json_t *f = json_object_get(v, "fieldsV1");
		if (!json_is_object(v))
			continue;
		struct entry *e = entries_add(es, m ? m : "", op ? op : "Update",
					      json_string_value(json_object_get(v, "apiVersion")));
		e->time = dup_or_null(json_string_value(json_object_get(v, "time")));
		e->subresource = dup_or_null(json_string_value(json_object_get(v, "subresource")));
		if (json_is_object(f)) {
			json_decref(e->set);
			e->set = json_deep_copy(f);
		}
	}
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The entry that identifies (manager, operation[, apiVersion for Update]), or NULL. */
static struct entry *entries_find(struct entries *es, const char *manager, const char *op,
				  const char *api_version)
{
	for (size_t i = 0; i < es->len; i++) {
		struct entry *e = &es->v[i];
		if (e->subresource || strcmp(e->manager, manager) != 0 || strcmp(e->operation, op) != 0)
			continue;
		if (strcmp(op, "Update") == 0 && !str_eq(e->api_version, api_version))
			continue;
		return e;
	}
	return NULL;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *p = a, *q = b;
	int c;

	if ((c = strcmp(p->operation, q->operation)) != 0)
		return c;
	if ((c = strcmp(p->time ? p->time : "", q->time ? q->time : "")) != 0)
		return c;
	if ((c = strcmp(p->manager, q->manager)) != 0)
		return c;
	if ((c = strcmp(p->api_version ? p->api_version : "", q->api_version ? q->api_version : "")) != 0)
		return c;
	return strcmp(p->subresource ? p->subresource : "", q->subresource ? q->subresource : "");
}

/* Writes the non-empty entries, sorted like kube-apiserver, into obj's metadata. */
static void entries_store(struct entries *es, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata"), *arr = json_array();

	xqsort(es->v, es->len, sizeof(*es->v), entry_cmp);
	for (size_t i = 0; i < es->len; i++) {
		struct entry *e = &es->v[i];
		json_t *o;
		if (json_object_size(e->set) == 0)
			continue;
		o = json_object();
		json_object_set_new(o, "manager", json_string(e->manager));
		json_object_set_new(o, "operation", json_string(e->operation));
		if (e->api_version)
			json_object_set_new(o, "apiVersion", json_string(e->api_version));
		if (e->time)
			json_object_set_new(o, "time", json_string(e->time));
		json_object_set_new(o, "fieldsType", json_string("FieldsV1"));
		json_object_set(o, "fieldsV1", e->set);
		if (e->subresource)
			json_object_set_new(o, "subresource", json_string(e->subresource));
		json_array_append_new(arr, o);
	}
	if (!json_is_object(meta)) {
		meta = json_object();
		json_object_set_new(obj, "metadata", meta);
	}
	if (json_array_size(arr) > 0)
		json_object_set(meta, "managedFields", arr);
	else
		json_object_del(meta, "managedFields");
	json_decref(arr);
}

/* ---- conflict messages ---- */

/* ".spec.ports[port=80,protocol=\"TCP\"].targetPort" for a FieldsV1 path. */
static void path_string(struct buf *b, const struct path *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const char *e = p->e[i];
		if (strncmp(e, "f:", 2) == 0) {
			buf_printf(b, ".%s", e + 2);
		} else if (strncmp(e, "v:", 2) == 0) {
			buf_printf(b, "[=%s]", e + 2);
		} else if (strncmp(e, "i:", 2) == 0) {
			buf_printf(b, "[%s]", e + 2);
		} else if (strncmp(e, "k:", 2) == 0) {
			json_t *k = json_loads(e + 2, 0, NULL);
			const char **keys;
			size_t n = json_object_size(k), j = 0;
			const char *name;
			json_t *v;
			keys = xcalloc(n + 1, sizeof(char *));
			json_object_foreach(k, name, v) keys[j++] = name;
			xqsort(keys, n, sizeof(char *), key_cmp);
			buf_putc(b, '[');
			for (j = 0; j < n; j++) {
				char *s =
				    json_dumps(json_object_get(k, keys[j]), JSON_COMPACT | JSON_ENCODE_ANY);
				buf_printf(b, "%s%s=%s", j ? "," : "", keys[j], s ? s : "");
				free(s);
			}
			buf_putc(b, ']');
			free(keys);
			json_decref(k);
		}
	}
}

/* printManager: "\"name\"" for appliers, "\"name\" using v1" for updaters. */
static char *manager_label(const struct entry *e)
{
	if (strcmp(e->operation, "Update") == 0)
		return xasprintf("\"%s\" using %s", e->manager, e->api_version ? e->api_version : "");
	return xasprintf("\"%s\"", e->manager);
}

/* The manager key structured-merge-diff sorts conflicts by (BuildManagerIdentifier). */
static char *manager_identity(const struct entry *e)
{
	if (strcmp(e->operation, "Apply") == 0)
		return xasprintf("{\"manager\":\"%s\",\"operation\":\"%s\"}", e->manager, e->operation);
	return xasprintf("{\"manager\":\"%s\",\"operation\":\"%s\",\"apiVersion\":\"%s\"}", e->manager,
			 e->operation, e->api_version ? e->api_version : "");
}

struct conflicts {
	json_t *paths;	/* array of path strings, all managers */
	json_t *causes; /* StatusCause objects */
	struct buf lines;
	const struct entry *e;
};

static void conflict_fn(struct path *p, void *arg)
{
	struct conflicts *c = arg;
	struct buf b;
	char *label = manager_label(c->e);
	json_t *cause;

	buf_init(&b);
	path_string(&b, p);
	json_array_append_new(c->paths, json_string(b.data ? b.data : ""));
	cause = json_object();
	json_object_set_new(cause, "reason", json_string("FieldManagerConflict"));
	char *msg = xasprintf("conflict with %s", label);
	json_object_set_new(cause, "message", json_string(msg));
	free(msg);
	json_object_set_new(cause, "field", json_string(b.data ? b.data : ""));
	json_array_append_new(c->causes, cause);
	buf_printf(&c->lines, "\n- %s", b.data ? b.data : "");
	buf_fini(&b);
	free(label);
}

/* ---- apply ---- */

/* Finds a key that an associative list or set of the applied configuration v holds more
 * than once: structured-merge-diff refuses such a configuration ("duplicate entries for
 * key"), since there is no telling which live item each one stands for. Returns true and
 * writes the message when it finds one. */
static bool applied_dup(const json_t *v, struct ty t, struct path *p, char *err, size_t errlen)
{
	if (p->n >= PATH_MAX_DEPTH - 1)
		return false;
	if (json_is_object(v) && is_object_kind(&t, v)) {
		const char *k;
		json_t *c;
		json_object_foreach((json_t *)v, k, c)
		{
			if (ignored(p, k))
				continue;
			path_push(p, xasprintf("f:%s", k));
			bool dup = applied_dup(c, ty_child(&t, k), p, err, errlen);
			path_pop(p);
			if (dup)
				return true;
		}
		return false;
	}
	if (!json_is_array(v) || !(t.kind == K_LIST_SET || (t.kind == K_LIST_MAP && all_keyed(v, &t))))
		return false;
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *it = json_array_get(v, i);
		char *key = list_key(it, &t);
		bool dup = count_items(v, key, &t) > 1;
		struct path kp = {{0}, 0};
		if (dup) {
			struct buf a, b;
			buf_init(&a);
			buf_init(&b);
			path_string(&a, p);
			path_push(&kp, key);
			path_string(&b, &kp);
			path_pop(&kp);
			api__seterr(err, errlen, "%s: duplicate entries for key %s", a.data ? a.data : "",
				    b.data ? b.data : "");
			buf_fini(&a);
			buf_fini(&b);
			return true;
		}
		if (t.kind == K_LIST_MAP) {
			path_push(p, key);
			dup = applied_dup(it, ty_elem(&t), p, err, errlen);
			path_pop(p);
			if (dup)
				return true;
		} else {
			free(key);
		}
	}
	return false;
}

int api_server_side_apply_causes(const json_t *live, const json_t *applied, const struct api_schema *schema,
				 const char *manager, const char *api_version, const char *now, bool force,
				 json_t **out, json_t **causes, char *err, size_t errlen)
{
	struct ty top = {schema ? K_STRUCT : K_UNKNOWN, schema, NULL};
	struct entries es = {0};
	json_t *cfg = NULL, *merged = NULL, *applied_set = NULL, *last = NULL, *others = NULL;
	json_t *changed = NULL, *removed = NULL, *stripped_live = NULL;
	json_t **csets = NULL;
	struct entry *mine;
	size_t nconf = 0;
	int rc = 0;

	*out = NULL;
	if (causes)
		*causes = NULL;
	if (!json_is_object(applied) || (live && !json_is_object(live))) {
		api__seterr(err, errlen, "invalid apply configuration: not a JSON object");
		return -EINVAL;
	}
	cfg = json_deep_copy(applied);
	json_object_del(json_object_get(cfg, "metadata"), "managedFields");
	{
		struct path p = {{0}, 0};
		if (applied_dup(cfg, top, &p, err, errlen)) {
			rc = -EINVAL;
			goto out;
		}
	}
	applied_set = field_set(cfg, schema);

	if (!live) {
		merged = strip_nulls(cfg);
		mine = entries_add(&es, manager, "Apply", api_version);
		mine->time = dup_or_null(now);
		json_decref(mine->set);
		mine->set = json_incref(applied_set);
		entries_store(&es, merged);
		*out = merged;
		merged = NULL;
		goto out;
	}

	entries_parse(&es, live);
	stripped_live = json_deep_copy(live);
	json_object_del(json_object_get(stripped_live, "metadata"), "managedFields");
	merged = merge(stripped_live, cfg, top);

	/* prune: what this manager applied last time, no longer applies and nobody else owns */
	mine = entries_find(&es, manager, "Apply", NULL);
	last = mine ? json_deep_copy(mine->set) : json_object();
	others = json_object();
	for (size_t i = 0; i < es.len; i++)
		if (&es.v[i] != mine)
			set_union(others, es.v[i].set);
	set_subtract(last, applied_set, false);
	set_subtract(last, others, false);
	{
		struct prune pr = {merged, schema};
		struct path p = {{0}, 0};
		set_iterate(last, &p, prune_fn, &pr);
	}

	/* conflicts: fields this apply changes that another manager owns */
	compare(stripped_live, merged, schema, &changed, &removed);
	csets = xcalloc(es.len + 1, sizeof(json_t *));
	for (size_t i = 0; i < es.len; i++) {
		if (&es.v[i] == mine)
			continue;
		csets[i] = set_intersect(es.v[i].set, changed);
		if (json_object_size(csets[i]) > 0)
			nconf++;
	}
	if (nconf && !force) {
		struct conflicts c = {json_array(), json_array(), {0}, NULL};
		struct buf msg;
		size_t *order = xcalloc(es.len + 1, sizeof(size_t)), no = 0;
		for (size_t i = 0; i < es.len; i++)
			if (csets[i] && json_object_size(csets[i]) > 0)
				order[no++] = i;
		/* managers sorted by their encoded identity, like getConflictMessage */
		for (size_t a = 1; a < no; a++) {
			for (size_t b = a; b > 0; b--) {
				char *x = manager_identity(&es.v[order[b]]),
				     *y = manager_identity(&es.v[order[b - 1]]);
				bool less = strcmp(x, y) < 0;
				free(x);
				free(y);
				if (!less)
					break;
				size_t t = order[b];
				order[b] = order[b - 1];
				order[b - 1] = t;
			}
		}
		buf_init(&msg);
		buf_init(&c.lines);
		for (size_t a = 0; a < no; a++) {
			struct path p = {{0}, 0};
			char *label = manager_label(&es.v[order[a]]);
			c.e = &es.v[order[a]];
			if (a)
				buf_putc(&c.lines, '\n');
			buf_printf(&c.lines, "conflicts with %s:", label);
			set_iterate(csets[order[a]], &p, conflict_fn, &c);
			free(label);
		}
		if (json_array_size(c.paths) == 1) {
			char *label = manager_label(&es.v[order[0]]);
			buf_printf(&msg, "Apply failed with 1 conflict: conflict with %s: %s", label,
				   json_string_value(json_array_get(c.paths, 0)));
			free(label);
		} else {
			buf_printf(&msg, "Apply failed with %zu conflicts: %s", json_array_size(c.paths),
				   c.lines.data);
		}
		api__seterr(err, errlen, "%s", msg.data);
		buf_fini(&msg);
		buf_fini(&c.lines);
		free(order);
		if (causes)
			*causes = c.causes;
		else
			json_decref(c.causes);
		/* the paths array is what api_server_side_apply hands out */
		json_decref(c.paths);
		rc = -EBUSY;
		goto out;
	}
	for (size_t i = 0; i < es.len; i++) {
		if (&es.v[i] == mine)
			continue;
		if (csets[i])
			set_subtract(es.v[i].set, csets[i], false);
		set_subtract(es.v[i].set, removed, true);
	}
	if (!mine) {
		mine = entries_add(&es, manager, "Apply", api_version);
	} else if (json_object_size(changed) == 0 && json_object_size(removed) == 0 &&
		   api__value_equal(mine->set, applied_set) && str_eq(mine->api_version, api_version)) {
		now = mine->time; /* a no-op apply keeps the entry as it was */
	}
	free(mine->api_version);
	mine->api_version = dup_or_null(api_version);
	{
		char *t = dup_or_null(now);
		free(mine->time);
		mine->time = t;
	}
	json_decref(mine->set);
	mine->set = json_incref(applied_set);
	entries_store(&es, merged);
	*out = merged;
	merged = NULL;
out:
	if (csets)
		for (size_t i = 0; i < es.len; i++)
			json_decref(csets[i]);
	free(csets);
	entries_fini(&es);
	json_decref(changed);
	json_decref(removed);
	json_decref(others);
	json_decref(last);
	json_decref(merged);
	json_decref(stripped_live);
	json_decref(applied_set);
	json_decref(cfg);
	return rc;
}

int api_server_side_apply(const json_t *live, const json_t *applied, const struct api_schema *schema,
			  const char *manager, const char *api_version, const char *now, bool force,
			  json_t **out, json_t **conflicts, char *err, size_t errlen)
{
	json_t *causes = NULL;
	int rc;

	if (conflicts)
		*conflicts = NULL;
	rc = api_server_side_apply_causes(live, applied, schema, manager, api_version, now, force, out,
					  &causes, err, errlen);
	if (rc == -EBUSY && conflicts) {
		size_t i;
		json_t *c;
		*conflicts = json_array();
		json_array_foreach(causes, i, c) json_array_append(*conflicts, json_object_get(c, "field"));
	}
	json_decref(causes);
	return rc;
}

void api_managed_fields_update(const json_t *old, json_t *updated, const struct api_schema *schema,
			       const char *manager, const char *api_version, const char *now)
{
	struct entries es = {0};
	json_t *changed = NULL, *removed = NULL, *o = NULL, *u = NULL, *empty = NULL;
	struct entry *mine;

	if (!json_is_object(updated))
		return;
	entries_parse(&es, old ? old : updated);
	if (old) {
		o = json_deep_copy(old);
		json_object_del(json_object_get(o, "metadata"), "managedFields");
	}
	u = json_deep_copy(updated);
	json_object_del(json_object_get(u, "metadata"), "managedFields");
	empty = json_object();
	compare(o ? o : empty, u, schema, &changed, &removed);

	mine = entries_find(&es, manager, "Update", api_version);
	for (size_t i = 0; i < es.len; i++) {
		if (&es.v[i] == mine)
			continue;
		set_subtract(es.v[i].set, changed, false);
		set_subtract(es.v[i].set, removed, true);
	}
	if (json_object_size(changed) > 0 || mine) {
		if (!mine)
			mine = entries_add(&es, manager, "Update", api_version);
		set_subtract(mine->set, removed, true);
		set_union(mine->set, changed);
		if (json_object_size(changed) > 0 || !mine->time) {
			free(mine->time);
			mine->time = dup_or_null(now);
		}
	}
	entries_store(&es, updated);
	entries_fini(&es);
	json_decref(changed);
	json_decref(removed);
	json_decref(empty);
	json_decref(u);
	json_decref(o);
}
