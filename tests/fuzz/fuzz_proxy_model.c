/* fuzz_proxy_model.c - the proxy model and both rule generators on arbitrary JSON
 * ({"services": [...], "slices": [...]}, as an API server could send them): nothing the
 * objects hold may crash the model, the nftables desired state and its script, or the
 * iptables rendering. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "proxy/ipt.h"
#include "proxy/nft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, 0, NULL);
	if (!j)
		return 0;
	struct proxy_model m;
	proxy_model_build(json_object_get(j, "services"), json_object_get(j, "slices"), "n1", &m);
	struct proxy_netcfg c = {.localhost_nodeports = true};
	char e[64];
	cidr_parse("198.18.128.0/17", &c.cluster_cidrs[0], e, sizeof(e));
	c.n_cluster_cidrs = 1;
	struct proxy_nft *n = proxy_nft_new(NULL, true);
	json_t *want = proxy_nft_desired(n, &m, &c);
	free(proxy_nft_script(NULL, NULL, want, NULL));
	json_decref(want);
	proxy_nft_free(n);
	free(proxy_ipt_render(NULL, &m, &c, 4));
	free(proxy_ipt_render(NULL, &m, &c, 6));
	proxy_model_fini(&m);
	json_decref(j);
	return 0;
}
