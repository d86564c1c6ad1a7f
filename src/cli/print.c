/* print.c - kubectl's printers without I/O: Go tabwriter layout, tables from the server's
 * meta.k8s.io/v1 Table, -o json, describe layouts, resource type names and error text.
 *
 * Everything here works on JSON already fetched and returns heap strings, so the unit
 * tests compare exact output with what kubectl prints for the same objects.
 */
#include "cli/internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/object.h"
#include "base/mem.h"
#include "base/vec.h"

/* ---- Go text/tabwriter ---- */

struct tw_cell {
	const char *s;
	size_t len;
	int width; /* runes */
};
struct tw_line {
	struct tw_cell *c;
	size_t n;
};
struct tw {
	VEC(struct tw_line) lines;
	int *widths;
	size_t nwidths;
	int minwidth, padding;
	struct buf *out;
};

static int rune_count(const char *s, size_t len)
{
	int n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

static void tw_write_lines(struct tw *t, size_t line0, size_t line1)
{
	for (size_t i = line0; i < line1; i++) {
		const struct tw_line *l = &t->lines.v[i];
		for (size_t j = 0; j < l->n; j++) {
			const struct tw_cell *c = &l->c[j];
			buf_append(t->out, c->s, c->len);
			if (j < t->nwidths)
				for (int k = c->width; k < t->widths[j]; k++)
					buf_putc(t->out, ' ');
		}
		if (i + 1 < t->lines.len)
			buf_putc(t->out, '\n');
	}
}

/* The recursion of Go's Writer.format: each column block gets a width, then its lines are
 * formatted for the next column. */
static void tw_format(struct tw *t, size_t line0, size_t line1)
{
	size_t column = t->nwidths;
	for (size_t this = line0; this < line1; this ++) {
		if (column + 1 >= t->lines.v[this].n)
			continue;
		tw_write_lines(t, line0, this);
		line0 = this;
		int width = t->minwidth;
		for (; this < line1; this ++) {
			const struct tw_line *l = &t->lines.v[this];
			if (column + 1 >= l->n)
				break;
			int w = l->c[column].width + t->padding;
			if (w > width)
				width = w;
		}
		t->widths[t->nwidths++] = width;
		tw_format(t, line0, this);
		t->nwidths--;
		line0 = this; /* the line that ended the block has no cell here: the loop skips it */
	}
	tw_write_lines(t, line0, line1);
}

char *cli__tabify(const char *text, int minwidth, int padding)
{
	struct tw t = {.minwidth = minwidth, .padding = padding};
	size_t maxcells = 1;
	const char *p = text;
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		struct tw_line *l = vec_push(&t.lines);
		size_t ncells = 1;
		for (size_t i = 0; i < len; i++)
			if (p[i] == '\t')
				ncells++;
		l->c = xcalloc(ncells, sizeof(*l->c));
		l->n = ncells;
		if (ncells > maxcells)
			maxcells = ncells;
		const char *s = p;
		for (size_t k = 0; k < ncells; k++) {
			const char *tab = memchr(s, '\t', (size_t)(p + len - s));
			size_t cl = tab ? (size_t)(tab - s) : (size_t)(p + len - s);
			l->c[k] = (struct tw_cell){s, cl, rune_count(s, cl)};
			s += cl + 1;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	t.widths = xcalloc(maxcells + 1, sizeof(int));
	struct buf out;
	buf_init(&out);
	t.out = &out;
	tw_format(&t, 0, t.lines.len);
	for (size_t i = 0; i < t.lines.len; i++)
		free(t.lines.v[i].c);
	vec_free(&t.lines);
	free(t.widths);
	if (!out.data)
		buf_puts(&out, "");
	return buf_take(&out);
}

/* ---- resource types ---- */

static bool ieq(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

static bool kind_matches(const struct api_kind *k, const char *w)
{
	if (ieq(w, k->plural) || ieq(w, k->singular) || ieq(w, k->kind))
		return true;
	for (size_t i = 0; i < 4 && k->short_names[i]; i++)
		if (ieq(w, k->short_names[i]))
			return true;
	return false;
}

const struct api_kind *cli__resolve_type(const char *word)
{
	if (!word || !*word)
		return NULL;
	for (size_t i = 0; i < api_nkinds; i++)
		if (kind_matches(&api_kinds[i], word))
			return &api_kinds[i];
	/* "resource.group" or "resource.version.group" */
	const char *dot = strchr(word, '.');
	if (!dot)
		return NULL;
	char *res = xstrndup(word, (size_t)(dot - word));
	const char *rest = dot + 1;
	const struct api_kind *found = NULL;
	for (size_t i = 0; i < api_nkinds && !found; i++) {
		const struct api_kind *k = &api_kinds[i];
		if (!kind_matches(k, res))
			continue;
		char *vg = xasprintf("%s.%s", k->version, k->group);
		if (ieq(rest, k->group) || ieq(rest, vg) || (!*k->group && ieq(rest, k->version)))
			found = k;
		free(vg);
	}
	free(res);
	return found;
}

void cli__kind_ref(const struct api_kind *k, char *buf, size_t len)
{
	char lower[64];
	size_t i;
	for (i = 0; k->kind[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)k->kind[i]);
	lower[i] = 0;
	if (*k->group)
		snprintf(buf, len, "%s.%s", lower, k->group);
	else
		snprintf(buf, len, "%s", lower);
}

char *cli__path(const struct api_kind *k, const char *ns, const char *name)
{
	struct buf b;
	buf_init(&b);
	if (*k->group)
		buf_printf(&b, "/apis/%s/%s", k->group, k->version);
	else
		buf_printf(&b, "/api/%s", k->version);
	if (k->namespaced && ns) {
		char *e = client_escape(ns);
		buf_printf(&b, "/namespaces/%s", e);
		free(e);
	}
	buf_printf(&b, "/%s", k->plural);
	if (name) {
		char *e = client_escape(name);
		buf_printf(&b, "/%s", e);
		free(e);
	}
	return buf_take(&b);
}

/* ---- tables ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A cell as Go's fmt.Fprint prints the decoded interface{} value. */
static void put_cell(struct buf *b, const json_t *c)
{
	switch (json_typeof(c)) {
	case JSON_STRING:
		buf_puts(b, json_string_value(c));
		break;
	case JSON_INTEGER:
		buf_printf(b, "%lld", (long long)json_integer_value(c));
		break;
	case JSON_REAL:
		buf_printf(b, "%g", json_real_value(c));
		break;
	case JSON_TRUE:
		buf_puts(b, "true");
		break;
	case JSON_FALSE:
		buf_puts(b, "false");
		break;
	case JSON_NULL:
		buf_puts(b, "<nil>");
		break;
	default: {
		char *s = json_dumps(c, JSON_COMPACT | JSON_ENCODE_ANY);
		buf_puts(b, s ? s : "");
		free(s);
	}
	}
}

static void put_upper(struct buf *b, const char *s)
{
	for (; *s; s++)
		buf_putc(b, (char)toupper((unsigned char)*s));
}

/* Whether a Table column prints: priority 0 always, the others with -o wide. */
static bool col_shown(const json_t *col, bool wide)
{
	return wide || json_integer_value(json_object_get(col, "priority")) <= 0;
}

/* The tab before each cell of a line but the first. */
static void put_sep(struct buf *out, bool *first)
{
	if (!*first)
		buf_putc(out, '\t');
	*first = false;
}

size_t cli__table_append(const json_t *table, bool namespaced, const struct cli_table_opts *o,
			 struct buf *out)
{
	const json_t *cols = json_object_get(table, "columnDefinitions");
	const json_t *rows = json_object_get(table, "rows");
	size_t nrows = json_array_size(rows), ncols = json_array_size(cols);
	if (nrows == 0)
		return 0;
	bool ns_col = o->all_namespaces && namespaced;
	size_t name_col = (size_t)-1;
	for (size_t i = 0; i < ncols; i++) {
		const json_t *c = json_array_get(cols, i);
		const char *fmt = api_str(c, "format");
		if (name_col == (size_t)-1 && fmt && !strcmp(fmt, "name"))
			name_col = i;
	}
	if (name_col == (size_t)-1)
		name_col = 0;
	if (!o->no_headers) {
		bool first = true;
		if (ns_col) {
			buf_puts(out, "NAMESPACE");
			first = false;
		}
		for (size_t i = 0; i < ncols; i++) {
			const json_t *c = json_array_get(cols, i);
			if (col_shown(c, o->wide)) {
				put_sep(out, &first);
				put_upper(out, api_str(c, "name") ? api_str(c, "name") : "");
			}
		}
		if (o->show_labels)
			buf_puts(out, first ? "LABELS" : "\tLABELS");
		buf_putc(out, '\n');
	}
	for (size_t r = 0; r < nrows; r++) {
		const json_t *row = json_array_get(rows, r);
		const json_t *cells = json_object_get(row, "cells");
		const json_t *meta = api_get(row, "object.metadata");
		bool first = true;
		if (ns_col) {
			const char *ns = api_str(meta, "namespace");
			buf_puts(out, ns ? ns : "");
			first = false;
		}
		for (size_t i = 0; i < ncols && i < json_array_size(cells); i++) {
			if (!col_shown(json_array_get(cols, i), o->wide))
				continue;
			put_sep(out, &first);
			if (i == name_col && o->kind_prefix)
				buf_printf(out, "%s/", o->kind_prefix);
			put_cell(out, json_array_get(cells, i));
		}
		if (o->show_labels) {
			char *l = api_format_labels(json_object_get(meta, "labels"), ",", "<none>");
			buf_printf(out, "%s%s", first ? "" : "\t", l);
			free(l);
		}
		buf_putc(out, '\n');
	}
	return nrows;
}

/* ---- -o json / yaml helpers ---- */

void cli__strip_managed_fields(json_t *obj)
{
	json_t *items = json_object_get(obj, "items");
	if (json_is_array(items)) {
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it) cli__strip_managed_fields(it);
	}
	json_t *meta = json_object_get(obj, "metadata");
	if (json_is_object(meta))
		json_object_del(meta, "managedFields");
}

char *cli__json_print(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(4) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	struct buf b;
	buf_init(&b);
	/* <, > and & only occur inside strings in JSON text, so replacing them everywhere is
	 * exactly Go's HTML-safe escaping. */
	for (const char *p = s ? s : ""; *p; p++) {
		if (*p == '<')
			buf_puts(&b, "\\u003c");
		else if (*p == '>')
			buf_puts(&b, "\\u003e");
		else if (*p == '&')
			buf_puts(&b, "\\u0026");
		else
			buf_putc(&b, *p);
	}
	buf_putc(&b, '\n');
	free(s);
	return buf_take(&b);
}

/* ---- describe ---- */

static int char_class(unsigned char c)
{
	if (islower(c))
		return 1;
	if (isupper(c))
		return 2;
	if (isdigit(c))
		return 3;
	return 4;
}

char *cli__smart_label(const char *field)
{
	for (const char *p = field; *p; p++)
		if (!isalpha((unsigned char)*p) && *p != '-')
			return xstrdup(field);
	/* camelcase.Split: runs of one character class, an upper-case letter followed by
	 * lower-case ones starting a new word ("HTMLParser" -> "HTML", "Parser"). */
	size_t n = strlen(field);
	char **parts = xcalloc(n + 1, sizeof(*parts));
	size_t np = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		int cls = char_class((unsigned char)field[i]);
		while (j < n && char_class((unsigned char)field[j]) == cls)
			j++;
		parts[np++] = xstrndup(field + i, j - i);
		i = j;
	}
	for (size_t i = 0; i + 1 < np; i++) {
		size_t l = strlen(parts[i]);
		if (isupper((unsigned char)parts[i][0]) && islower((unsigned char)parts[i + 1][0]) && l > 0) {
			char *moved = xasprintf("%c%s", parts[i][l - 1], parts[i + 1]);
			parts[i][l - 1] = 0;
			free(parts[i + 1]);
			parts[i + 1] = moved;
		}
	}
	static const char *const acr[] = {"API", "URL", "UID", "OSB", "GUID"};
	struct buf b;
	buf_init(&b);
	bool first = true;
	for (size_t i = 0; i < np; i++) {
		char *w = parts[i];
		if (!*w || !strcmp(w, "_"))
			continue;
		bool is_acr = false;
		for (size_t k = 0; k < 5; k++)
			is_acr |= ieq(w, acr[k]);
		if (!first)
			buf_putc(&b, ' ');
		first = false;
		for (size_t k = 0; w[k]; k++) {
			char c = w[k];
			buf_putc(&b,
				 is_acr || k == 0 ? (char)toupper((unsigned char)c) : c); /* strings.Title */
		}
	}
	for (size_t i = 0; i < np; i++)
		free(parts[i]);
	free(parts);
	if (!b.data)
		buf_puts(&b, "");
	return buf_take(&b);
}

/* printLabelsMultiline. */
static void put_labels(struct buf *b, const char *title, const json_t *labels)
{
	char *s = api_format_labels(labels, "\n\t", "<none>");
	buf_printf(b, "%s:\t%s\n", title, s);
	free(s);
}

/* printAnnotationsMultiline: last-applied-configuration is skipped, long or multi-line
 * values go on their own lines, shortened to 198 characters. */
static void put_annotations(struct buf *b, const json_t *ann)
{
	buf_puts(b, "Annotations:\t");
	size_t n = json_is_object(ann) ? json_object_size(ann) : 0;
	const char **keys = xcalloc(n + 1, sizeof(*keys));
	size_t m = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)ann, k, v)
	{
		if (strcmp(k, "kubectl.kubernetes.io/last-applied-configuration") != 0)
			keys[m++] = k;
	}
	if (!m) {
		buf_puts(b, "<none>\n");
		free(keys);
		return;
	}
	xqsort(keys, m, sizeof(*keys), cmp_str);
	for (size_t i = 0; i < m; i++) {
		if (i)
			buf_putc(b, '\t');
		const char *raw = json_string_value(json_object_get(ann, keys[i]));
		char *val = xstrdup(raw ? raw : "");
		size_t vl = strlen(val);
		if (vl && val[vl - 1] == '\n')
			val[--vl] = 0;
		if (vl + strlen(keys[i]) + 2 > 200 || strchr(val, '\n')) {
			buf_printf(b, "%s:\n", keys[i]);
			for (char *line = val;;) {
				char *nl = strchr(line, '\n');
				if (nl)
					*nl = 0;
				if (strlen(line) > 198)
					buf_printf(b, "\t  %.198s...\n", line);
				else
					buf_printf(b, "\t  %s\n", line);
				if (!nl)
					break;
				line = nl + 1;
			}
		} else {
			buf_printf(b, "%s: %s\n", keys[i], val);
		}
		free(val);
	}
	free(keys);
}

static int64_t event_time(const json_t *e, const char *field)
{
	const char *t = api_str(e, field);
	if (!t || !*t)
		t = api_str(e, "eventTime");
	return t ? api_time_parse(t) : -1;
}

static int cmp_events(const void *a, const void *b)
{
	int64_t ta = event_time(*(const json_t *const *)a, "lastTimestamp");
	int64_t tb = event_time(*(const json_t *const *)b, "lastTimestamp");
	return ta < tb ? -1 : ta > tb;
}

/* DescribeEvents. */
static void put_events(struct buf *b, const json_t *events, int64_t now)
{
	if (!events)
		return;
	size_t n = json_array_size(events);
	if (!n) {
		buf_puts(b, "Events:\t<none>\n");
		return;
	}
	const json_t **ev = xcalloc(n, sizeof(*ev));
	for (size_t i = 0; i < n; i++)
		ev[i] = json_array_get(events, i);
	xqsort(ev, n, sizeof(*ev), cmp_events);
	buf_puts(b, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
	buf_puts(b, "  ----\t------\t----\t----\t-------\n");
	for (size_t i = 0; i < n; i++) {
		const json_t *e = ev[i];
		char first[32], last[32], interval[96];
		int64_t tf = event_time(e, "firstTimestamp"), tl = event_time(e, "lastTimestamp");
		if (tf < 0)
			snprintf(first, sizeof(first), "<unknown>");
		else
			api_human_duration(now - tf, first, sizeof(first));
		if (tl < 0)
			snprintf(last, sizeof(last), "<unknown>");
		else
			api_human_duration(now - tl, last, sizeof(last));
		long long count = json_integer_value(json_object_get(e, "count"));
		if (count > 1)
			snprintf(interval, sizeof(interval), "%s (x%lld over %s)", last, count, first);
		else
			snprintf(interval, sizeof(interval), "%s", first);
		const char *comp = api_str(e, "source.component"), *host = api_str(e, "source.host");
		const char *msg = api_str(e, "message");
		char *m = xstrdup(msg ? msg : "");
		size_t ml = strlen(m);
		while (ml && isspace((unsigned char)m[ml - 1]))
			m[--ml] = 0;
		const char *ms = m;
		while (isspace((unsigned char)*ms))
			ms++;
		buf_printf(b, "  %s\t%s\t%s\t%s%s%s\t%s\n", api_str(e, "type") ? api_str(e, "type") : "",
			   api_str(e, "reason") ? api_str(e, "reason") : "", interval, comp ? comp : "",
			   host && *host ? ", " : "", host && *host ? host : "", ms);
		free(m);
	}
	free(ev);
}

static const char *str_or(const json_t *o, const char *path, const char *dflt)
{
	const char *s = api_str(o, path);
	return s ? s : dflt;
}

static void join_strings(struct buf *b, const json_t *arr, const char *sep)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		buf_printf(b, "%s%s", i ? sep : "", json_string_value(v) ? json_string_value(v) : "");
	}
}

/* "label:\tA,B\n" of the strings in arr; when arr is empty "label:\t<none>\n" if none_too,
 * else nothing. */
static void put_joined(struct buf *b, const char *label, const json_t *arr, bool none_too)
{
	if (!json_array_size(arr) && !none_too)
		return;
	buf_printf(b, "%s:\t", label);
	if (json_array_size(arr))
		join_strings(b, arr, ",");
	else
		buf_puts(b, "<none>");
	buf_putc(b, '\n');
}

/* "label:\tS\n" of the string at path in obj, when it is set and not empty. */
static void put_set(struct buf *b, const char *label, const json_t *obj, const char *path)
{
	const char *s = api_str(obj, path);
	if (s && *s)
		buf_printf(b, "%s:\t%s\n", label, s);
}

/* The lines every describer opens with: Name, Namespace (unless the kind has none), Labels
 * and Annotations. */
static void put_head(struct buf *b, const json_t *obj, bool namespaced)
{
	buf_printf(b, "Name:\t%s\n", str_or(obj, "metadata.name", ""));
	if (namespaced)
		buf_printf(b, "Namespace:\t%s\n", str_or(obj, "metadata.namespace", ""));
	put_labels(b, "Labels", api_get(obj, "metadata.labels"));
	put_annotations(b, api_get(obj, "metadata.annotations"));
}

/* A describer's text laid out as kubectl's describe does (tabwriter 0, 2); frees b. */
static char *describe_take(struct buf *b)
{
	char *out = cli__tabify(b->data, 0, 2);
	buf_fini(b);
	return out;
}

/* The endpoints formatEndpointSlices has seen so far: the first three listed, all counted. */
struct ep_list {
	struct buf list;
	int count, listed;
	bool more;
};

/* Adds a slice's ready endpoints: as ip:port for port, as addresses alone when port is
 * NULL (a slice without ports). */
static void ep_list_add(struct ep_list *l, const json_t *eps, const json_t *port)
{
	for (size_t j = 0; j < json_array_size(eps); j++) {
		const json_t *ep = json_array_get(eps, j);
		if (l->listed == 3)
			l->more = true;
		if (json_is_false(api_get(ep, "conditions.ready")))
			continue;
		if (!l->more) {
			const char *a =
			    json_string_value(json_array_get(json_object_get(ep, "addresses"), 0));
			const char *sep = l->listed ? "," : "";
			long long pnum = port ? json_integer_value(json_object_get(port, "port")) : 0;
			if (!port)
				buf_printf(&l->list, "%s%s", sep, a ? a : "");
			else if (a && strchr(a, ':'))
				buf_printf(&l->list, "%s[%s]:%lld", sep, a, pnum);
			else
				buf_printf(&l->list, "%s%s:%lld", sep, a ? a : "", pnum);
			l->listed++;
		}
		l->count++;
	}
}

/* formatEndpointSlices for the port named port_name: ready addresses as ip:port, at most
 * three and then "+ N more...". */
static void put_slice_endpoints(struct buf *b, const json_t *slices, const char *port_name)
{
	size_t ns = json_array_size(slices);
	if (!ns) {
		buf_puts(b, "<none>");
		return;
	}
	struct ep_list l = {0};
	buf_init(&l.list);
	for (size_t i = 0; i < ns; i++) {
		const json_t *s = json_array_get(slices, i);
		const json_t *ports = json_object_get(s, "ports"), *eps = json_object_get(s, "endpoints");
		if (json_array_size(ports) == 0) {
			ep_list_add(&l, eps, NULL);
			continue;
		}
		for (size_t p = 0; p < json_array_size(ports); p++) {
			const json_t *port = json_array_get(ports, p);
			if (strcmp(str_or(port, "name", ""), port_name) == 0)
				ep_list_add(&l, eps, port);
		}
	}
	if (l.list.data)
		buf_puts(b, l.list.data);
	if (l.more)
		buf_printf(b, " + %d more...", l.count - 3);
	buf_fini(&l.list);
}

char *cli__describe_service(const json_t *svc, const json_t *slices, const json_t *events, int64_t now)
{
	struct buf b;
	buf_init(&b);
	const json_t *spec = json_object_get(svc, "spec");
	put_head(&b, svc, true);
	const json_t *sel = json_object_get(spec, "selector");
	if (json_is_object(sel) && json_object_size(sel)) {
		char *s = api_format_labels(sel, ",", "<none>");
		buf_printf(&b, "Selector:\t%s\n", s);
		free(s);
	} else {
		buf_puts(&b, "Selector:\t<none>\n");
	}
	buf_printf(&b, "Type:\t%s\n", str_or(spec, "type", ""));
	if (api_str(spec, "ipFamilyPolicy"))
		buf_printf(&b, "IP Family Policy:\t%s\n", api_str(spec, "ipFamilyPolicy"));
	put_joined(&b, "IP Families", json_object_get(spec, "ipFamilies"), true);
	buf_printf(&b, "IP:\t%s\n", str_or(spec, "clusterIP", ""));
	put_joined(&b, "IPs", json_object_get(spec, "clusterIPs"), true);
	put_joined(&b, "External IPs", json_object_get(spec, "externalIPs"), false);
	put_set(&b, "Desired LoadBalancer IP", spec, "loadBalancerIP");
	put_set(&b, "External Name", spec, "externalName");
	const json_t *ing = api_get(svc, "status.loadBalancer.ingress");
	if (json_array_size(ing)) {
		buf_puts(&b, "LoadBalancer Ingress:\t");
		for (size_t i = 0; i < json_array_size(ing); i++) {
			const json_t *e = json_array_get(ing, i);
			if (i)
				buf_puts(&b, ", ");
			const char *ip = api_str(e, "ip");
			if (ip && *ip) {
				buf_puts(&b, ip);
				if (api_str(e, "ipMode"))
					buf_printf(&b, " (%s)", api_str(e, "ipMode"));
			} else {
				buf_puts(&b, str_or(e, "hostname", ""));
			}
		}
		buf_putc(&b, '\n');
	}
	const json_t *ports = json_object_get(spec, "ports");
	for (size_t i = 0; i < json_array_size(ports); i++) {
		const json_t *sp = json_array_get(ports, i);
		const char *pname = str_or(sp, "name", "");
		const char *name = *pname ? pname : "<unset>";
		const char *proto = str_or(sp, "protocol", "");
		buf_printf(&b, "Port:\t%s\t%lld/%s\n", name,
			   (long long)json_integer_value(json_object_get(sp, "port")), proto);
		const json_t *tp = json_object_get(sp, "targetPort");
		if (json_is_string(tp))
			buf_printf(&b, "TargetPort:\t%s/%s\n", json_string_value(tp), proto);
		else
			buf_printf(&b, "TargetPort:\t%lld/%s\n", (long long)json_integer_value(tp), proto);
		long long np = json_integer_value(json_object_get(sp, "nodePort"));
		if (np)
			buf_printf(&b, "NodePort:\t%s\t%lld/%s\n", name, np, proto);
		buf_puts(&b, "Endpoints:\t");
		put_slice_endpoints(&b, slices, pname);
		buf_putc(&b, '\n');
	}
	buf_printf(&b, "Session Affinity:\t%s\n", str_or(spec, "sessionAffinity", ""));
	put_set(&b, "External Traffic Policy", spec, "externalTrafficPolicy");
	if (api_str(spec, "internalTrafficPolicy"))
		buf_printf(&b, "Internal Traffic Policy:\t%s\n", api_str(spec, "internalTrafficPolicy"));
	long long hc = json_integer_value(json_object_get(spec, "healthCheckNodePort"));
	if (hc)
		buf_printf(&b, "HealthCheck NodePort:\t%lld\n", hc);
	put_joined(&b, "LoadBalancer Source Ranges", json_object_get(spec, "loadBalancerSourceRanges"),
		   false);
	put_set(&b, "Traffic Distribution", spec, "trafficDistribution");
	put_events(&b, events, now);
	return describe_take(&b);
}

static void put_indent(struct buf *b, int level)
{
	for (int i = 0; i < level; i++)
		buf_puts(b, "  ");
}

static bool skipped(const char *expr)
{
	static const char *const skip[] = {".metadata.managedFields", ".metadata.name", ".metadata.namespace",
					   ".metadata.labels", ".metadata.annotations"};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (!strcmp(expr, skip[i]))
			return true;
	return false;
}

/* printUnstructuredContent. */
static void put_unstructured(struct buf *b, int level, const json_t *content, const char *prefix)
{
	size_t n;
	const char **keys = api_sorted_keys(content, &n);
	for (size_t i = 0; i < n; i++) {
		const json_t *val = json_object_get(content, keys[i]);
		char *expr = xasprintf("%s.%s", prefix, keys[i]);
		if (skipped(expr)) {
			free(expr);
			continue;
		}
		char *label = cli__smart_label(keys[i]);
		put_indent(b, level);
		if (json_is_object(val)) {
			buf_printf(b, "%s:\n", label);
			put_unstructured(b, level + 1, val, expr);
		} else if (json_is_array(val)) {
			buf_printf(b, "%s:\n", label);
			for (size_t j = 0; j < json_array_size(val); j++) {
				const json_t *c = json_array_get(val, j);
				if (json_is_object(c)) {
					put_unstructured(b, level + 1, c, expr);
				} else {
					put_indent(b, level + 1);
					put_cell(b, c);
					buf_putc(b, '\n');
				}
			}
		} else {
			buf_printf(b, "%s:\t", label);
			put_cell(b, val);
			buf_putc(b, '\n');
		}
		free(label);
		free(expr);
	}
	free(keys);
}

char *cli__describe_generic(const json_t *obj, const json_t *events, int64_t now)
{
	struct buf b;
	buf_init(&b);
	put_head(&b, obj, true);
	put_unstructured(&b, 0, obj, "");
	put_events(&b, events, now);
	return describe_take(&b);
}

char *cli__describe_namespace(const json_t *ns)
{
	struct buf b;
	buf_init(&b);
	put_head(&b, ns, false);
	buf_printf(&b, "Status:\t%s\n", str_or(ns, "status.phase", ""));
	return describe_take(&b);
}

static void put_ips(struct buf *b, const json_t *addrs)
{
	size_t n = json_array_size(addrs);
	if (!n) {
		buf_puts(b, "<none>");
		return;
	}
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s%s", i ? "," : "", str_or(json_array_get(addrs, i), "ip", ""));
}

char *cli__describe_endpoints(const json_t *ep, const json_t *events, int64_t now)
{
	struct buf b;
	buf_init(&b);
	put_head(&b, ep, true);
	buf_puts(&b, "Subsets:\n");
	const json_t *subsets = json_object_get(ep, "subsets");
	for (size_t i = 0; i < json_array_size(subsets); i++) {
		const json_t *ss = json_array_get(subsets, i);
		buf_puts(&b, "  Addresses:\t");
		put_ips(&b, json_object_get(ss, "addresses"));
		buf_puts(&b, "\n  NotReadyAddresses:\t");
		put_ips(&b, json_object_get(ss, "notReadyAddresses"));
		buf_putc(&b, '\n');
		const json_t *ports = json_object_get(ss, "ports");
		if (json_array_size(ports)) {
			buf_puts(&b, "  Ports:\n    Name\tPort\tProtocol\n    ----\t----\t--------\n");
			for (size_t j = 0; j < json_array_size(ports); j++) {
				const json_t *p = json_array_get(ports, j);
				const char *name = str_or(p, "name", "");
				buf_printf(&b, "    %s\t%lld\t%s\n", *name ? name : "<unset>",
					   (long long)json_integer_value(json_object_get(p, "port")),
					   str_or(p, "protocol", ""));
			}
		}
		buf_putc(&b, '\n');
	}
	put_events(&b, events, now);
	return describe_take(&b);
}

/* ---- errors ---- */

void cli__errs_add_api(struct cli_errs *e, const struct client_apierr *a_take)
{
	*vec_push(e) = (struct cli_err){.api = true, .a = *a_take};
}

void cli__errs_add(struct cli_errs *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0)
		m = xstrdup("error");
	va_end(ap);
	*vec_push(e) = (struct cli_err){.api = false, .msg = m};
}

void cli__errs_fini(struct cli_errs *e)
{
	for (size_t i = 0; i < e->len; i++) {
		if (e->v[i].api)
			client_apierr_fini(&e->v[i].a);
		free(e->v[i].msg);
	}
	vec_free(e);
}

/* StandardErrorMessage for an API error. */
static void put_standard(struct buf *b, const struct client_apierr *a)
{
	if (!strcmp(a->reason, "Unauthorized"))
		buf_printf(b, "error: You must be logged in to the server (%s)", a->message);
	else if (*a->reason)
		buf_printf(b, "Error from server (%s): %s", a->reason, a->message);
	else
		buf_printf(b, "Error from server: %s", a->message);
}

char *cli__errs_format(const struct cli_errs *e)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "");
	if (e->len == 1) {
		const struct cli_err *x = &e->v[0];
		if (x->api && x->a.code == 422 && !strcmp(x->a.reason, "Invalid")) {
			const json_t *d = x->a.details;
			if (!d) {
				buf_puts(&b, "The request is invalid");
				if (*x->a.message)
					buf_printf(&b, ": %s", x->a.message);
				buf_putc(&b, '\n');
				return buf_take(&b);
			}
			const char *kind = str_or(d, "kind", ""), *name = str_or(d, "name", "");
			const json_t *causes = json_object_get(d, "causes");
			if (*kind || *name)
				buf_printf(&b, "The %s \"%s\" is invalid", kind, name);
			else
				buf_puts(&b, "The request is invalid");
			size_t nc = json_array_size(causes);
			if (nc == 1) {
				const json_t *c = json_array_get(causes, 0);
				buf_printf(&b, ": %s: %s\n", str_or(c, "field", ""),
					   str_or(c, "message", ""));
			} else if (nc > 1) {
				buf_puts(&b, ": \n");
				for (size_t i = 0; i < nc; i++) {
					const json_t *c = json_array_get(causes, i);
					buf_printf(&b, "* %s: %s\n", str_or(c, "field", ""),
						   str_or(c, "message", ""));
				}
			} else {
				buf_putc(&b, '\n');
			}
			return buf_take(&b);
		}
		if (x->api)
			put_standard(&b, &x->a);
		else
			buf_printf(&b, "%s%s", strncmp(x->msg, "error: ", 7) ? "error: " : "", x->msg);
		buf_putc(&b, '\n');
		return buf_take(&b);
	}
	for (size_t i = 0; i < e->len; i++) {
		if (e->v[i].api)
			put_standard(&b, &e->v[i].a);
		else
			buf_puts(&b, e->v[i].msg);
		buf_putc(&b, '\n');
	}
	return buf_take(&b);
}
