/* flags.c - command-line flags from one table: parsing, messages and help (flags.h). */
#include "base/flags.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/cidr.h"
#include "base/mem.h"

#define HELP_COL 36 /* the column help text starts at */

static bool takes(const struct flag_set *set, const struct flag *r)
{
	return (r->cmds & set->cmd) != 0;
}

static bool has_arg(const struct flag *r)
{
	return r->type != FLAG_TRUE && r->type != FLAG_BOOL && !(r->type == FLAG_FN && !r->meta);
}

void flags_usage(const struct flag_set *set, FILE *out)
{
	fprintf(out, "usage: %s\n", set->synopsis);
	for (const struct flag *r = set->rows; r->name; r++) {
		if (!takes(set, r) || !r->help)
			continue;
		char head[128];
		int n = r->shortc ? snprintf(head, sizeof(head), "  -%c, --%s", r->shortc, r->name)
				  : snprintf(head, sizeof(head), "  --%s", r->name);
		if (n > 0 && (size_t)n < sizeof(head))
			n += snprintf(head + n, sizeof(head) - (size_t)n, "%s%s%s",
				      r->type == FLAG_BOOL ? "[=BOOL]" : "", r->meta ? " " : "",
				      r->meta ? r->meta : "");
		fputs(head, out);
		fprintf(out, "%*s", n < HELP_COL - 1 ? HELP_COL - n : 2, "");
		for (const char *h = r->help; *h;) {
			size_t l = strcspn(h, "\n");
			fwrite(h, 1, l, out);
			fputc('\n', out);
			h += l;
			if (*h == '\n' && *++h)
				fprintf(out, "%*s", HELP_COL, "");
		}
	}
}

static int bad(const struct flag_set *set, const struct flag *r, const char *v)
{
	if (r->what)
		fprintf(stderr, "%s: --%s: %s is not %s\n", set->prog, r->name, v, r->what);
	else if (r->type == FLAG_INT || r->type == FLAG_LLONG)
		fprintf(stderr, "%s: --%s: %s is not a number from %lld to %lld\n", set->prog, r->name, v,
			r->lo, r->hi);
	else if (r->type == FLAG_BOOL)
		fprintf(stderr, "%s: --%s: %s is not true or false\n", set->prog, r->name, v);
	else if (r->type == FLAG_DURATION)
		fprintf(stderr, "%s: --%s: %s is not a duration like 15s\n", set->prog, r->name, v);
	else if (r->type == FLAG_LIST)
		fprintf(stderr, "%s: --%s: %s is not a list of at most %lld values\n", set->prog, r->name, v,
			r->hi);
	else
		fprintf(stderr, "%s: --%s: %s is not valid\n", set->prog, r->name, v);
	return 2;
}

/* Sets r's field from v. Returns 0, or 2 after printing the message. */
static int apply(const struct flag_set *set, const struct flag *r, const char *v, void *conf)
{
	char *p = (char *)conf + r->off;
	switch (r->type) {
	case FLAG_TRUE:
		*(bool *)p = true;
		return 0;
	case FLAG_BOOL:
		if (v && strcmp(v, "true") && strcmp(v, "false"))
			return bad(set, r, v);
		*(bool *)p = !v || !strcmp(v, "true");
		return 0;
	case FLAG_STR:
		if (r->check && !r->check(v))
			return bad(set, r, v);
		*(const char **)p = v;
		return 0;
	case FLAG_INT:
	case FLAG_LLONG: {
		char *end;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		if (!*v || *end || errno || n < r->lo || n > r->hi)
			return bad(set, r, v);
		if (r->type == FLAG_INT)
			*(int *)p = (int)n;
		else
			*(long long *)p = n;
		return 0;
	}
	case FLAG_DURATION: {
		int64_t ms;
		if (flag_duration_ms(v, &ms) < 0 || ms < r->lo)
			return bad(set, r, v);
		*(int64_t *)p = ms;
		return 0;
	}
	case FLAG_LIST: {
		char **l = flag_list_split(v, (int)r->hi);
		bool ok = l != NULL;
		for (size_t i = 0; ok && r->check && l[i]; i++)
			ok = r->check(l[i]);
		if (!ok) {
			flag_list_free(l);
			return bad(set, r, v);
		}
		flag_list_free(*(char ***)p);
		*(char ***)p = l;
		return 0;
	}
	case FLAG_FN:
		return r->set(conf, v) < 0 ? bad(set, r, v) : 0;
	}
	return bad(set, r, v);
}

int flags_parse(const struct flag_set *set, int argc, char **argv, void *conf)
{
	size_t nrows = 0;
	while (set->rows[nrows].name)
		nrows++;
	struct option *opts = xcalloc(nrows + 2, sizeof(*opts));
	char shorts[64] = "h";
	size_t no = 0, ns = 1;
	for (size_t i = 0; i < nrows; i++) {
		const struct flag *r = &set->rows[i];
		if (!takes(set, r))
			continue;
		opts[no++] = (struct option){r->name,
					     r->type == FLAG_BOOL ? optional_argument
					     : has_arg(r)	  ? required_argument
								  : no_argument,
					     NULL, 256 + (int)i};
		if (r->shortc && ns + 2 < sizeof(shorts)) {
			shorts[ns++] = r->shortc;
			if (has_arg(r))
				shorts[ns++] = ':';
		}
	}
	opts[no++] = (struct option){"help", no_argument, NULL, 'h'};
	int c, rc = -1;
	optind = 0; /* GNU: a full reset, so a process may parse twice (the unit tests) */
	while (rc < 0 && (c = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		const struct flag *r = NULL;
		if (c >= 256)
			r = &set->rows[c - 256];
		for (size_t i = 0; !r && c != 'h' && c != '?' && i < nrows; i++)
			if (set->rows[i].shortc == c && takes(set, &set->rows[i]))
				r = &set->rows[i];
		if (c == 'h') {
			flags_usage(set, stdout);
			rc = 0;
		} else if (!r) {
			flags_usage(set, stderr);
			rc = 2;
		} else if (apply(set, r, optarg, conf) != 0) {
			rc = 2;
		}
	}
	if (rc < 0 && optind < argc) {
		fprintf(stderr, "%s: unexpected argument %s\n", set->prog, argv[optind]);
		rc = 2;
	}
	free(opts);
	return rc;
}

void flags_fini(const struct flag_set *set, void *conf)
{
	for (const struct flag *r = set->rows; r->name; r++) {
		if (r->type != FLAG_LIST || !takes(set, r))
			continue;
		char ***p = (char ***)((char *)conf + r->off);
		flag_list_free(*p);
		*p = NULL;
	}
}

int flag_duration_ms(const char *s, int64_t *ms)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	int64_t total = 0;
	if (!strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		char *end;
		errno = 0;
		long long n = strtoll(s, &end, 10);
		if (end == s || n < 0 || errno || n > 1000000000LL)
			return -EINVAL;
		size_t i;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t ul = strlen(units[i].unit);
			if (!strncmp(end, units[i].unit, ul) && !(ul == 1 && end[1] == 's')) {
				total += n * units[i].ms;
				s = end + ul;
				break;
			}
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
	}
	*ms = total;
	return 0;
}

char **flag_list_split(const char *s, int max)
{
	char **v = xcalloc((size_t)max + 1, sizeof(char *));
	int n = 0;
	const char *p = s;
	for (;;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == 0 || n == max) {
			flag_list_free(v);
			return NULL;
		}
		v[n++] = xstrndup(p, l);
		if (!c)
			break;
		p = c + 1;
	}
	return v;
}

void flag_list_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

bool flag_is_ip(const char *v)
{
	struct ip_addr a;
	return ip_parse(v, &a) == 0;
}

bool flag_is_cidr(const char *v)
{
	struct cidr c;
	return cidr_parse(v, &c, NULL, 0) == 0;
}

/* One value, or two of different families, each parsed by parse into its family. */
static bool is_pair(const char *v, int (*family)(const char *s))
{
	char **l = flag_list_split(v, 2);
	int f0 = l ? family(l[0]) : -1, f1 = l && l[1] ? family(l[1]) : 0;
	flag_list_free(l);
	return f0 > 0 && f1 >= 0 && f0 != f1;
}

static int ip_family(const char *s)
{
	struct ip_addr a;
	return ip_parse(s, &a) == 0 ? a.family : -1;
}

static int cidr_family(const char *s)
{
	struct cidr c;
	return cidr_parse(s, &c, NULL, 0) == 0 ? c.net.family : -1;
}

bool flag_is_ip_pair(const char *v)
{
	return is_pair(v, ip_family);
}

bool flag_is_cidr_pair(const char *v)
{
	return is_pair(v, cidr_family);
}

bool flag_is_port_range(const char *v)
{
	int a, b;
	char extra;
	return sscanf(v, "%d-%d%c", &a, &b, &extra) == 2 && a >= 1 && b <= 65535 && a <= b;
}
