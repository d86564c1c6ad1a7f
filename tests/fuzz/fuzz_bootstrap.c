/* fuzz_bootstrap.c - the cluster's bootstrap record as read from the datastore
 * (apiserver_bootstrap_open): any bytes must be refused cleanly, and nothing not sealed
 * with the token may open. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "apiserver/clusterid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *plain = NULL;
	char err[400];
	int rc = apiserver_bootstrap_open("fuzz-token-0123456789", (const char *)data, size, &plain, err,
					  sizeof(err));
	if (rc == 0 && !plain)
		abort();
	json_decref(plain);
	return 0;
}
