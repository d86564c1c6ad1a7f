/* selector.c - label and field selectors, parsed and matched the way kube-apiserver does.
 *
 * The label selector parser is a port of k8s.io/apimachinery/pkg/labels (lexer, recursive
 * descent parser, NewRequirement validation), so that errors read word for word like the
 * real server's: "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=,
 * gt, lt". The field selector parser follows pkg/fields: terms split on unescaped commas,
 * sorted, each split on the first of != == =, values unescaped (\, \= \\).
 *
 * A selector is a flat list of requirements, all of which must hold (AND). A selector
 * built from an empty Service spec.selector matches nothing (the `nothing` flag), which
 * is what the endpoints controllers need; a parsed empty string matches everything.
 */
#include "api/selector.h"
#include "api/patch_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/vec.h"

enum sel_op {
	OP_EQ,	       /* = */
	OP_DEQ,	       /* == */
	OP_NEQ,	       /* != */
	OP_IN,	       /* in */
	OP_NOTIN,      /* notin */
	OP_EXISTS,     /* k */
	OP_NOT_EXISTS, /* !k */
	OP_GT,	       /* > */
	OP_LT,	       /* < */
};

struct req {
	char *key; /* label key, or field path for field selectors */
	enum sel_op op;
	VEC(char *) vals; /* sorted, unique (a Go sets.String) */
};

struct api_selector {
	VEC(struct req) reqs;
	bool nothing; /* matches nothing (empty Service selector) */
};

static struct api_selector *sel_new(void)
{
	return xcalloc(1, sizeof(struct api_selector));
}

static struct req *sel_add(struct api_selector *s, const char *key, enum sel_op op)
{
	struct req *r = vec_push(&s->reqs);

	r->key = xstrdup(key);
	r->op = op;
	return r;
}

/* Inserts v into the sorted value set of r (duplicates dropped). */
static void req_add_val(struct req *r, const char *v)
{
	size_t i = 0;

	while (i < r->vals.len && strcmp(r->vals.v[i], v) < 0)
		i++;
	if (i < r->vals.len && strcmp(r->vals.v[i], v) == 0)
		return;
	vec_push(&r->vals);
	memmove(&r->vals.v[i + 1], &r->vals.v[i], (r->vals.len - 1 - i) * sizeof(char *));
	r->vals.v[i] = xstrdup(v);
}

void api_selector_free(struct api_selector *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->reqs.len; i++) {
		free(sel->reqs.v[i].key);
		for (size_t j = 0; j < sel->reqs.v[i].vals.len; j++)
			free(sel->reqs.v[i].vals.v[j]);
		vec_free(&sel->reqs.v[i].vals);
	}
	vec_free(&sel->reqs);
	free(sel);
}

bool api_selector_empty(const struct api_selector *sel)
{
	return sel && !sel->nothing && sel->reqs.len == 0;
}

static int req_cmp(const void *a, const void *b)
{
	return strcmp(((const struct req *)a)->key, ((const struct req *)b)->key);
}

/* Requirements sorted by key, as labels.Parse leaves them. */
static void sort_reqs(struct api_selector *s)
{
	if (s->reqs.len > 1)
		xqsort(s->reqs.v, s->reqs.len, sizeof(*s->reqs.v), req_cmp);
}

/* ---- validation (k8s.io/apimachinery/pkg/util/validation) ---- */

#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QNAME_MSG                                                                                            \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "          \
	"alphanumeric character"
#define QNAME_EXAMPLES                                                                                       \
	" (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '" QNAME_FMT "')"
#define LVALUE_FMT "(" QNAME_FMT ")?"
#define LVALUE_MSG                                                                                           \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "          \
	"'.', and must start and end with an alphanumeric character"
#define LVALUE_EXAMPLES                                                                                      \
	" (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '" LVALUE_FMT "')"
#define DNS1123_LABEL_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_SUB_FMT DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"
#define DNS1123_SUB_MSG                                                                                      \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "         \
	"'.', and must start and end with an alphanumeric character"

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static bool match_qname(const char *s, size_t len)
{
	if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static bool match_dns1123_subdomain(const char *s, size_t len)
{
	size_t start = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		/* label s[start, i) */
		if (i == start)
			return false;
		for (size_t j = start; j < i; j++) {
			char c = s[j];
			bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
			if (!ok)
				return false;
		}
		if (s[start] == '-' || s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

/* Appends IsQualifiedName's errors to b joined by "; ". Returns true if valid. */
static bool validate_qualified_name(const char *v, struct buf *b)
{
	const char *slash = strchr(v, '/');
	const char *name = v;
	size_t nerr = 0;

	if (slash && strchr(slash + 1, '/')) {
		buf_puts(b, "a qualified name " QNAME_MSG QNAME_EXAMPLES
			    " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
		return false;
	}
	if (slash) {
		size_t plen = (size_t)(slash - v);
		name = slash + 1;
		if (plen == 0) {
			buf_puts(b, "prefix part must be non-empty");
			nerr++;
		} else {
			if (plen > 253) {
				buf_puts(b, "prefix part must be no more than 253 characters");
				nerr++;
			}
			if (!match_dns1123_subdomain(v, plen)) {
				if (nerr++)
					buf_puts(b, "; ");
				buf_puts(
				    b, "prefix part " DNS1123_SUB_MSG
				       " (e.g. 'example.com', regex used for validation is '" DNS1123_SUB_FMT
				       "')");
			}
		}
	}
	if (strlen(name) == 0) {
		if (nerr++)
			buf_puts(b, "; ");
		buf_puts(b, "name part must be non-empty");
	} else if (strlen(name) > 63) {
		if (nerr++)
			buf_puts(b, "; ");
		buf_puts(b, "name part must be no more than 63 characters");
	}
	if (!match_qname(name, strlen(name))) {
		if (nerr++)
			buf_puts(b, "; ");
		buf_puts(b, "name part " QNAME_MSG QNAME_EXAMPLES);
	}
	return nerr == 0;
}

static bool validate_label_value(const char *v, struct buf *b)
{
	size_t len = strlen(v);
	size_t nerr = 0;

	if (len > 63) {
		buf_puts(b, "must be no more than 63 characters");
		nerr++;
	}
	if (len > 0 && !match_qname(v, len)) {
		if (nerr++)
			buf_puts(b, "; ");
		buf_puts(b, LVALUE_MSG LVALUE_EXAMPLES);
	}
	return nerr == 0;
}

/* An aggregate of field errors, printed like utilerrors.NewAggregate(...).Error(). */
struct agg {
	VEC(char *) msgs;
};

static void agg_add(struct agg *a, char *msg_take)
{
	for (size_t i = 0; i < a->msgs.len; i++) {
		if (strcmp(a->msgs.v[i], msg_take) == 0) {
			free(msg_take);
			return;
		}
	}
	*vec_push(&a->msgs) = msg_take;
}

/* field.Invalid(path, value, detail).Error() */
static void agg_invalid(struct agg *a, const char *path, const char *value, const char *detail)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "%s: Invalid value: ", path);
	buf_put_goquoted(&b, value);
	buf_printf(&b, ": %s", detail);
	agg_add(a, buf_take(&b));
}

/* Writes the aggregate into err and frees it; returns -EINVAL if it had errors. */
static int agg_finish(struct agg *a, const char *prefix, char *err, size_t errlen)
{
	struct buf b;
	int rc = 0;

	if (a->msgs.len == 0)
		goto out;
	buf_init(&b);
	buf_puts(&b, prefix);
	if (a->msgs.len > 1)
		buf_putc(&b, '[');
	for (size_t i = 0; i < a->msgs.len; i++) {
		if (i)
			buf_puts(&b, ", ");
		buf_puts(&b, a->msgs.v[i]);
	}
	if (a->msgs.len > 1)
		buf_putc(&b, ']');
	api__seterr(err, errlen, "%s", b.data);
	buf_fini(&b);
	rc = -EINVAL;
out:
	for (size_t i = 0; i < a->msgs.len; i++)
		free(a->msgs.v[i]);
	vec_free(&a->msgs);
	return rc;
}

/* Returns the aggregate's text (a heap string) and empties it. */
static char *agg_take(struct agg *a)
{
	char *msg = xcalloc(1, 16384);

	agg_finish(a, "", msg, 16384);
	return msg;
}

static bool parse_int64(const char *s, long long *out)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0' && !(s[0] == ' ' || s[0] == '\t');
}

/* labels.NewRequirement's checks on a requirement whose key was already validated (the
 * parser validates keys first, with a nil path). key_path is the path used for the key
 * ("key" from matchExpressions, unused by the parser). */
static void check_requirement(struct agg *a, const struct req *r, bool check_key)
{
	struct buf b;

	buf_init(&b);
	if (check_key && !validate_qualified_name(r->key, &b))
		agg_invalid(a, "key", r->key, b.data);
	buf_reset(&b);
	switch (r->op) {
	case OP_IN:
	case OP_NOTIN:
		if (r->vals.len == 0)
			agg_add(a, xstrdup("values: Invalid value: []string{}: for 'in', 'notin' operators, "
					   "values set can't be empty"));
		break;
	case OP_EQ:
	case OP_DEQ:
	case OP_NEQ:
		if (r->vals.len != 1)
			agg_add(a, xstrdup("values: Invalid value: []string{}: exact-match compatibility "
					   "requires one single value"));
		break;
	case OP_GT:
	case OP_LT:
		if (r->vals.len != 1)
			agg_add(a, xstrdup("values: Invalid value: []string{}: for 'Gt', 'Lt' operators, "
					   "exactly one value is required"));
		for (size_t i = 0; i < r->vals.len; i++) {
			long long n;
			if (!parse_int64(r->vals.v[i], &n)) {
				char *p = xasprintf("values[%zu]", i);
				agg_invalid(a, p, r->vals.v[i],
					    "for 'Gt', 'Lt' operators, the value must be an integer");
				free(p);
			}
		}
		break;
	default:
		break;
	}
	for (size_t i = 0; i < r->vals.len; i++) {
		buf_reset(&b);
		if (!validate_label_value(r->vals.v[i], &b)) {
			char *p = xasprintf("values[%zu][%s]", i, r->key);
			agg_invalid(a, p, r->vals.v[i], b.data);
			free(p);
		}
	}
	buf_fini(&b);
}

/* ---- label selector lexer and parser (pkg/labels/selector.go) ---- */

enum tok {
	T_ERROR,
	T_EOS,
	T_CLOSE,
	T_COMMA,
	T_NOT,
	T_DEQ,
	T_EQ,
	T_GT,
	T_ID,
	T_IN,
	T_LT,
	T_NEQ,
	T_NOTIN,
	T_OPEN,
};

struct item {
	enum tok tok;
	char *lit;
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
	return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static enum tok special_tok(const char *s, size_t n)
{
	static const struct {
		const char *s;
		enum tok t;
	} map[] = {{")", T_CLOSE}, {",", T_COMMA}, {"!", T_NOT},  {"==", T_DEQ}, {"=", T_EQ},
		   {">", T_GT},	   {"<", T_LT},	   {"!=", T_NEQ}, {"(", T_OPEN}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].s) == n && memcmp(map[i].s, s, n) == 0)
			return map[i].t;
	return T_ERROR;
}

/* Splits s into tokens the way labels.Lexer does; the list ends with T_EOS. */
static struct item *lex_all(const char *s, size_t *nout)
{
	VEC(struct item) items = {0};
	size_t pos = 0, len = strlen(s);

	for (;;) {
		struct item it = {T_EOS, NULL};

		while (pos < len && is_ws(s[pos]))
			pos++;
		/* A NUL inside Go's string never happens here; end of string is the end. */
		if (pos >= len) {
			it.lit = xstrdup("");
		} else if (is_special(s[pos])) {
			size_t start = pos, end = pos;
			enum tok last = T_ERROR;
			while (end < len && is_special(s[end])) {
				enum tok t = special_tok(s + start, end - start + 1);
				if (t != T_ERROR) {
					last = t;
					end++;
					pos = end;
				} else if (last != T_ERROR) {
					break;
				} else {
					end++;
				}
			}
			if (last == T_ERROR) {
				it.tok = T_ERROR;
				it.lit = xasprintf("error expected: keyword found '%.*s'", (int)(end - start),
						   s + start);
				pos = end;
			} else {
				it.tok = last;
				it.lit = xstrndup(s + start, pos - start);
			}
		} else {
			size_t start = pos;
			while (pos < len && !is_special(s[pos]) && !is_ws(s[pos]))
				pos++;
			it.lit = xstrndup(s + start, pos - start);
			if (strcmp(it.lit, "in") == 0)
				it.tok = T_IN;
			else if (strcmp(it.lit, "notin") == 0)
				it.tok = T_NOTIN;
			else
				it.tok = T_ID;
		}
		*vec_push(&items) = it;
		if (it.tok == T_EOS)
			break;
	}
	*nout = items.len;
	return items.v;
}

struct parser {
	struct item *items;
	size_t n;
	size_t pos;
	char *err; /* heap message on failure */
};

/* In value context the keywords in/notin are identifiers. */
static enum tok p_look(struct parser *p, bool values, const char **lit)
{
	struct item *it = &p->items[p->pos < p->n ? p->pos : p->n - 1];
	enum tok t = it->tok;

	if (values && (t == T_IN || t == T_NOTIN))
		t = T_ID;
	if (lit)
		*lit = it->lit;
	return t;
}

static enum tok p_consume(struct parser *p, bool values, const char **lit)
{
	enum tok t = p_look(p, values, lit);

	if (p->pos < p->n - 1)
		p->pos++;
	return t;
}

static int p_fail(struct parser *p, char *msg_take)
{
	free(p->err);
	p->err = msg_take;
	return -EINVAL;
}

static int parse_values(struct parser *p, struct req *r)
{
	const char *lit;
	enum tok t = p_consume(p, true, &lit);

	if (t != T_OPEN)
		return p_fail(p, xasprintf("found '%s' expected: '('", lit));
	t = p_look(p, true, &lit);
	if (t == T_CLOSE) {
		p_consume(p, true, NULL);
		req_add_val(r, "");
		return 0;
	}
	if (t != T_ID && t != T_COMMA)
		return p_fail(p, xasprintf("found '%s', expected: ',', ')' or identifier", lit));
	/* parseIdentifiersList */
	for (;;) {
		const char *l2;
		t = p_consume(p, true, &lit);
		if (t == T_ID) {
			req_add_val(r, lit);
			enum tok t2 = p_look(p, true, &l2);
			if (t2 == T_COMMA)
				continue;
			if (t2 == T_CLOSE)
				break;
			return p_fail(p, xasprintf("found '%s', expected: ',' or ')'", l2));
		} else if (t == T_COMMA) {
			if (r->vals.len == 0)
				req_add_val(r, "");
			enum tok t2 = p_look(p, true, NULL);
			if (t2 == T_CLOSE) {
				req_add_val(r, "");
				break;
			}
			if (t2 == T_COMMA) {
				p_consume(p, true, NULL);
				req_add_val(r, "");
			}
		} else {
			return p_fail(p, xasprintf("found '%s', expected: ',', or identifier", lit));
		}
	}
	t = p_consume(p, true, &lit);
	if (t != T_CLOSE)
		return p_fail(p, xasprintf("found '%s', expected: ')'", lit));
	return 0;
}

static int parse_requirement(struct parser *p, struct api_selector *s)
{
	const char *lit, *key;
	enum tok t = p_consume(p, true, &lit);
	bool not_exists = false;
	struct req *r;
	struct buf b;
	struct agg a = {0};
	int rc;

	if (t == T_NOT) {
		not_exists = true;
		t = p_consume(p, true, &lit);
	}
	if (t != T_ID)
		return p_fail(p, xasprintf("found '%s', expected: identifier", lit));
	key = lit;
	buf_init(&b);
	if (!validate_qualified_name(key, &b)) {
		agg_invalid(&a, "<nil>", key, b.data);
		buf_fini(&b);
		return p_fail(p, agg_take(&a));
	}
	buf_fini(&b);
	/* parseKeyAndInferOperator: "!k" is DoesNotExist whatever follows (then the caller
	 * complains about the next token); "k" alone is Exists. */
	t = p_look(p, true, NULL);
	if (not_exists || t == T_EOS || t == T_COMMA) {
		sel_add(s, key, not_exists ? OP_NOT_EXISTS : OP_EXISTS);
		return 0;
	}
	t = p_consume(p, false, &lit);
	enum sel_op op;
	switch (t) {
	case T_IN:
		op = OP_IN;
		break;
	case T_EQ:
		op = OP_EQ;
		break;
	case T_DEQ:
		op = OP_DEQ;
		break;
	case T_GT:
		op = OP_GT;
		break;
	case T_LT:
		op = OP_LT;
		break;
	case T_NOTIN:
		op = OP_NOTIN;
		break;
	case T_NEQ:
		op = OP_NEQ;
		break;
	default:
		return p_fail(p, xasprintf("found '%s', expected: in, notin, =, ==, !=, gt, lt", lit));
	}
	r = sel_add(s, key, op);
	if (op == OP_IN || op == OP_NOTIN) {
		rc = parse_values(p, r);
		if (rc < 0)
			return rc;
	} else {
		t = p_look(p, true, NULL);
		if (t == T_EOS || t == T_COMMA) {
			req_add_val(r, "");
		} else {
			t = p_consume(p, true, &lit);
			if (t != T_ID)
				return p_fail(p, xasprintf("found '%s', expected: identifier", lit));
			req_add_val(r, lit);
		}
	}
	check_requirement(&a, r, false);
	if (a.msgs.len)
		return p_fail(p, agg_take(&a));
	return 0;
}

int api_label_selector_parse(const char *s, struct api_selector **out, char *err, size_t errlen)
{
	struct parser p = {0};
	struct api_selector *sel = sel_new();
	int rc = 0;

	*out = NULL;
	p.items = lex_all(s ? s : "", &p.n);
	for (;;) {
		const char *lit;
		enum tok t = p_look(&p, true, &lit);
		if (t == T_EOS)
			break;
		if (t != T_ID && t != T_NOT) {
			api__seterr(err, errlen, "found '%s', expected: !, identifier, or 'end of string'",
				    lit);
			rc = -EINVAL;
			goto out;
		}
		rc = parse_requirement(&p, sel);
		if (rc < 0) {
			api__seterr(err, errlen, "unable to parse requirement: %s", p.err ? p.err : "");
			goto out;
		}
		t = p_consume(&p, true, &lit);
		if (t == T_EOS)
			break;
		if (t != T_COMMA) {
			api__seterr(err, errlen, "found '%s', expected: ',' or 'end of string'", lit);
			rc = -EINVAL;
			goto out;
		}
		const char *l2;
		enum tok t2 = p_look(&p, true, &l2);
		if (t2 != T_ID && t2 != T_NOT) {
			api__seterr(err, errlen, "found '%s', expected: identifier after ','", l2);
			rc = -EINVAL;
			goto out;
		}
	}
	sort_reqs(sel);
	*out = sel;
	sel = NULL;
out:
	api_selector_free(sel);
	for (size_t i = 0; i < p.n; i++)
		free(p.items[i].lit);
	free(p.items);
	free(p.err);
	return rc;
}

struct api_selector *api_selector_from_map(const json_t *map)
{
	struct api_selector *sel = sel_new();
	const char *k;
	json_t *v;

	if (!json_is_object(map) || json_object_size(map) == 0) {
		sel->nothing = true;
		return sel;
	}
	json_object_foreach((json_t *)map, k, v)
	{
		struct req *r = sel_add(sel, k, OP_EQ);
		req_add_val(r, json_is_string(v) ? json_string_value(v) : "");
	}
	sort_reqs(sel);
	return sel;
}

int api_selector_from_label_selector(const json_t *ls, struct api_selector **out, char *err, size_t errlen)
{
	struct api_selector *sel;
	struct agg a = {0};
	const json_t *ml, *me;
	const char *k;
	json_t *v;
	size_t i;
	int rc = 0;

	*out = NULL;
	sel = sel_new();
	if (!json_is_object(ls)) {
		sel->nothing = true; /* LabelSelectorAsSelector(nil) is labels.Nothing() */
		*out = sel;
		return 0;
	}
	ml = json_object_get(ls, "matchLabels");
	me = json_object_get(ls, "matchExpressions");
	if (json_is_object(ml)) {
		json_object_foreach((json_t *)ml, k, v)
		{
			struct req *r = sel_add(sel, k, OP_EQ);
			req_add_val(r, json_is_string(v) ? json_string_value(v) : "");
			check_requirement(&a, r, true);
			if (a.msgs.len) {
				rc = agg_finish(&a, "", err, errlen);
				goto out;
			}
		}
	}
	json_array_foreach(me, i, v)
	{
		const char *key = json_string_value(json_object_get(v, "key"));
		const char *opname = json_string_value(json_object_get(v, "operator"));
		const json_t *vals = json_object_get(v, "values");
		enum sel_op op;
		size_t j;
		json_t *jv;

		if (!opname)
			opname = "";
		if (strcmp(opname, "In") == 0)
			op = OP_IN;
		else if (strcmp(opname, "NotIn") == 0)
			op = OP_NOTIN;
		else if (strcmp(opname, "Exists") == 0)
			op = OP_EXISTS;
		else if (strcmp(opname, "DoesNotExist") == 0)
			op = OP_NOT_EXISTS;
		else {
			api__seterr(err, errlen, "\"%s\" is not a valid label selector operator", opname);
			rc = -EINVAL;
			goto out;
		}
		struct req *r = sel_add(sel, key ? key : "", op);
		json_array_foreach(vals, j, jv)
		    req_add_val(r, json_is_string(jv) ? json_string_value(jv) : "");
		check_requirement(&a, r, true);
		if ((op == OP_EXISTS || op == OP_NOT_EXISTS) && r->vals.len)
			agg_add(&a, xstrdup("values: Invalid value: []string{}: values set must be empty for "
					    "exists and does not exist"));
		if (a.msgs.len) {
			rc = agg_finish(&a, "", err, errlen);
			goto out;
		}
	}
	sort_reqs(sel);
	*out = sel;
	sel = NULL;
out:
	api_selector_free(sel);
	return rc;
}

static bool req_has(const struct req *r, const char *v)
{
	for (size_t i = 0; i < r->vals.len; i++)
		if (strcmp(r->vals.v[i], v) == 0)
			return true;
	return false;
}

bool api_label_selector_match(const struct api_selector *sel, const json_t *labels)
{
	if (!sel || sel->nothing)
		return false;
	for (size_t i = 0; i < sel->reqs.len; i++) {
		const struct req *r = &sel->reqs.v[i];
		const json_t *jv = json_is_object(labels) ? json_object_get(labels, r->key) : NULL;
		const char *v = jv ? (json_is_string(jv) ? json_string_value(jv) : "") : NULL;
		long long lv, rv;

		switch (r->op) {
		case OP_EQ:
		case OP_DEQ:
		case OP_IN:
			if (!v || !req_has(r, v))
				return false;
			break;
		case OP_NEQ:
		case OP_NOTIN:
			if (v && req_has(r, v))
				return false;
			break;
		case OP_EXISTS:
			if (!v)
				return false;
			break;
		case OP_NOT_EXISTS:
			if (v)
				return false;
			break;
		case OP_GT:
		case OP_LT:
			if (!v || r->vals.len != 1 || !parse_int64(v, &lv) || !parse_int64(r->vals.v[0], &rv))
				return false;
			if (r->op == OP_GT ? !(lv > rv) : !(lv < rv))
				return false;
			break;
		}
	}
	return true;
}

/* ---- field selectors (pkg/fields/selector.go) ---- */

static int unescape_value(const char *s, size_t len, char **out, char *err, size_t errlen)
{
	struct buf b;
	bool slash = false;

	buf_init(&b);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (slash) {
			if (c != '\\' && c != ',' && c != '=') {
				api__seterr(err, errlen,
					    "invalid field selector: invalid escape sequence: \\%c", c);
				buf_fini(&b);
				return -EINVAL;
			}
			buf_putc(&b, c);
			slash = false;
			continue;
		}
		if (c == '\\') {
			slash = true;
		} else if (c == ',' || c == '=') {
			/* Go prints the rune with %v: its code point. */
			api__seterr(err, errlen, "invalid field selector: unescaped character in value: %d",
				    c);
			buf_fini(&b);
			return -EINVAL;
		} else {
			buf_putc(&b, c);
		}
	}
	if (slash) {
		api__seterr(err, errlen, "invalid field selector: invalid escape sequence: \\");
		buf_fini(&b);
		return -EINVAL;
	}
	*out = b.data ? buf_take(&b) : xstrdup("");
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int api_field_selector_parse(const char *s, struct api_selector **out, char *err, size_t errlen)
{
	struct api_selector *sel = sel_new();
	VEC(char *) terms = {0};
	size_t start = 0, len;
	bool slash = false;
	int rc = 0;

	*out = NULL;
	s = s ? s : "";
	len = strlen(s);
	if (len > 0) {
		for (size_t i = 0; i <= len; i++) {
			if (i < len) {
				if (slash) {
					slash = false;
					continue;
				}
				if (s[i] == '\\') {
					slash = true;
					continue;
				}
				if (s[i] != ',')
					continue;
			}
			*vec_push(&terms) = xstrndup(s + start, i - start);
			start = i + 1;
		}
	}
	if (terms.len > 1)
		xqsort(terms.v, terms.len, sizeof(char *), str_cmp);
	for (size_t t = 0; t < terms.len; t++) {
		const char *part = terms.v[t];
		size_t plen = strlen(part), i;
		enum sel_op op = OP_EQ;
		size_t oplen = 0;
		char *val = NULL;

		if (plen == 0)
			continue;
		for (i = 0; i < plen; i++) {
			if (strncmp(part + i, "!=", 2) == 0) {
				op = OP_NEQ;
				oplen = 2;
			} else if (strncmp(part + i, "==", 2) == 0) {
				op = OP_DEQ;
				oplen = 2;
			} else if (part[i] == '=') {
				op = OP_EQ;
				oplen = 1;
			}
			if (oplen)
				break;
		}
		if (!oplen) {
			api__seterr(err, errlen, "invalid selector: '%s'; can't understand '%s'", s, part);
			rc = -EINVAL;
			goto out;
		}
		rc = unescape_value(part + i + oplen, plen - i - oplen, &val, err, errlen);
		if (rc < 0)
			goto out;
		char *field = xstrndup(part, i);
		struct req *r = sel_add(sel, field, op);
		free(field);
		req_add_val(r, val);
		free(val);
	}
	*out = sel;
	sel = NULL;
out:
	for (size_t t = 0; t < terms.len; t++)
		free(terms.v[t]);
	vec_free(&terms);
	api_selector_free(sel);
	return rc;
}

/* The text a field compares as: strings verbatim, numbers and booleans as JSON, absent
 * and other values as "". Returns a heap string. */
static char *field_text(const json_t *obj, const char *path)
{
	const json_t *cur = obj;
	const char *p = path;

	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char *k = xstrndup(p, n);
		cur = json_is_object(cur) ? json_object_get(cur, k) : NULL;
		free(k);
		p = dot ? dot + 1 : p + n;
	}
	if (!cur)
		return xstrdup("");
	if (json_is_string(cur))
		return xstrdup(json_string_value(cur));
	if (json_is_integer(cur))
		return xasprintf("%lld", (long long)json_integer_value(cur));
	if (json_is_real(cur) || json_is_boolean(cur)) {
		char *s = json_dumps(cur, JSON_ENCODE_ANY | JSON_COMPACT);
		char *r = xstrdup(s ? s : "");
		free(s);
		return r;
	}
	return xstrdup("");
}

bool api_field_selector_match(const struct api_selector *sel, const json_t *obj)
{
	if (!sel || sel->nothing)
		return false;
	for (size_t i = 0; i < sel->reqs.len; i++) {
		const struct req *r = &sel->reqs.v[i];
		char *v = field_text(obj, r->key);
		bool eq = r->vals.len == 1 && strcmp(v, r->vals.v[0]) == 0;
		free(v);
		if (r->op == OP_NEQ ? eq : !eq)
			return false;
	}
	return true;
}

bool api_field_selector_single_eq(const struct api_selector *sel, const char *path, const char **value)
{
	if (!sel || sel->nothing || sel->reqs.len != 1)
		return false;
	if (sel->reqs.v[0].op != OP_EQ && sel->reqs.v[0].op != OP_DEQ)
		return false;
	if (strcmp(sel->reqs.v[0].key, path) != 0 || sel->reqs.v[0].vals.len != 1)
		return false;
	if (value)
		*value = sel->reqs.v[0].vals.v[0];
	return true;
}
