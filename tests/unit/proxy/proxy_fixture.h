/* proxy_fixture.h - loads tests/golden/proxy/cluster.json (Services and EndpointSlices of
 * every type and policy) for the proxy's unit tests. */
#ifndef TESTS_PROXY_FIXTURE_H
#define TESTS_PROXY_FIXTURE_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/mem.h"
#include "harness/t.h"

static inline json_t *proxy_fixture(void)
{
	json_error_t e;
	json_t *o = json_load_file("tests/golden/proxy/cluster.json", 0, &e);
	if (!o)
		t_fail(__FILE__, __LINE__,
		       "tests/golden/proxy/cluster.json: %s (run from the repository root)", e.text);
	return o;
}

/* Compares got with tests/golden/proxy/<name> (UPDATE_GOLDEN=1 rewrites it first) and
 * fails at the first differing line. */
static inline void proxy_golden(const char *name, const char *got)
{
	char path[256];
	snprintf(path, sizeof(path), "tests/golden/proxy/%s", name);
	if (getenv("UPDATE_GOLDEN")) {
		FILE *w = fopen(path, "w");
		ASSERT(w != NULL);
		fputs(got, w);
		fclose(w);
	}
	FILE *f = fopen(path, "r");
	if (!f)
		t_fail(__FILE__, __LINE__, "%s missing (UPDATE_GOLDEN=1 writes it)", path);
	char *want = xcalloc(1, 1 << 20);
	size_t n = fread(want, 1, (1 << 20) - 1, f);
	want[n] = 0;
	fclose(f);
	if (strcmp(want, got)) {
		size_t i = 0, line = 1;
		while (want[i] && want[i] == got[i])
			line += want[i++] == '\n';
		t_fail(__FILE__, __LINE__, "%s differs at line %zu:\n got: %.200s\nwant: %.200s", path, line,
		       got + i, want + i);
	}
	free(want);
}

#endif
