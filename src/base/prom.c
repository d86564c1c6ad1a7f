/* prom.c - Prometheus text format writers (see prom.h). */
#include "base/prom.h"

void prom_head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_sample(struct buf *b, const char *name, const char *type, const char *help, double v)
{
	prom_head(b, name, type, help);
	buf_printf(b, "%s %.15g\n", name, v);
}

void prom_hist(struct buf *b, const char *name, const char *labels, const double *le,
	       const unsigned long long *cum, size_t n, double sum, unsigned long long count)
{
	const char *sep = *labels ? "," : "";
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, le[i], cum[i]);
	buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, count);
	const char *o = *labels ? "{" : "", *c = *labels ? "}" : "";
	buf_printf(b, "%s_sum%s%s%s %.9f\n", name, o, labels, c, sum);
	buf_printf(b, "%s_count%s%s%s %llu\n", name, o, labels, c, count);
}
