/* test_satokens.c - when the agent asks for a pod's next ServiceAccount token: after
 * 80 % of the current one's life, or once it is no longer valid (node/satokens.h). */
#include "harness/t.h"
#include "node/satokens.h"

TEST(satoken_refresh_at_80_percent)
{
	/* One hour issued at 1000: due at 1000 + 2880. */
	ASSERT(!node_satoken_refresh_due(1000, 4600, 1000));
	ASSERT(!node_satoken_refresh_due(1000, 4600, 3879));
	ASSERT(node_satoken_refresh_due(1000, 4600, 3880));
	ASSERT(node_satoken_refresh_due(1000, 4600, 4600)); /* expired */
	ASSERT(node_satoken_refresh_due(1000, 4600, 9999));
	ASSERT(node_satoken_refresh_due(1000, 1000, 1000)); /* nonsense lifetimes: ask again */
	ASSERT(node_satoken_refresh_due(1000, 900, 950));
}
