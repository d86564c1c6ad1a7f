/* proxy_fixture.h - loads tests/golden/proxy/cluster.json (Services and EndpointSlices of
 * every type and policy) for the proxy's unit tests. */
#ifndef TESTS_PROXY_FIXTURE_H
#define TESTS_PROXY_FIXTURE_H

#include <jansson.h>

#include "harness/t.h"

static inline json_t *proxy_fixture(void)
{
	json_error_t e;
	json_t *o = json_load_file("tests/golden/proxy/cluster.json", 0, &e);
	if (!o)
		t_fail(__FILE__, __LINE__, "tests/golden/proxy/cluster.json: %s (run from the repository root)", e.text);
	return o;
}

#endif
