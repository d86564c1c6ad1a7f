/* ipt.h - the iptables backend of the Service proxy (`--proxy-mode iptables`), for hosts
 * without nftables: kube-proxy's chain layout in the nat and filter tables
 * (KUBE-SERVICES, KUBE-NODEPORTS, KUBE-SVC-*, KUBE-EXT-*, KUBE-FW-*, KUBE-SEP-*,
 * KUBE-MARK-MASQ, KUBE-POSTROUTING), `statistic` probabilities for the backend choice
 * and `recent` for ClientIP affinity, applied with one `iptables-restore --noflush`
 * holding only the chains that changed (and the deletion of those gone).
 *
 * Chain names are kube-proxy's: a prefix and the first 16 characters of the base32 of
 * the SHA-256 of the service port's name (and, for endpoints, its address), so they
 * stay under iptables' 28 characters and are stable across restarts.
 */
#ifndef PROXY_IPT_H
#define PROXY_IPT_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy/model.h"

struct proxy_ipt;

/* A backend; prefix (NULL = "KUBE") names the chains; dry renders without running. */
struct proxy_ipt *proxy_ipt_new(const char *prefix, bool dry);
void proxy_ipt_free(struct proxy_ipt *t);

/* The full iptables-restore input for the model, for family 4 or 6 (pure; heap). */
char *proxy_ipt_render(const char *prefix, const struct proxy_model *m, const struct proxy_netcfg *c,
		       int fam);

/* Programs the model: for each family, the chains that changed since the last sync through
 * one `iptables-restore --noflush` (`ip6tables-restore`). When the tool refuses it, the
 * fixed chains are applied alone, then the changed service ports in halves down to the
 * single ports refused (about 2 log2(changes) restores each): one Service the kernel
 * refuses never blocks the others; a refused port keeps what it had (or nothing) and is
 * retried at the next sync. A restore commits table by table, so the chains a refused
 * one declared are rewritten by the next. *rules and *chains get the counts now
 * programmed. Returns 0, or -EIO when some port was refused (err: how many, and the
 * tool's message). Blocks (forks the restore tool, found on PATH). */
int proxy_ipt_sync(struct proxy_ipt *t, const struct proxy_model *m, const struct proxy_netcfg *c,
		   size_t *rules, size_t *chains, char *err, size_t errlen);

/* The rules now programmed in table ("nat", "filter") for family 4 or 6. */
size_t proxy_ipt_rules(const struct proxy_ipt *t, int fam, const char *table);

/* The service ports (per family) the kernel refused in the last sync. */
size_t proxy_ipt_failed(const struct proxy_ipt *t);

/* The input of the last sync (borrowed until the next); for tests. */
const char *proxy_ipt_last_input(const struct proxy_ipt *t);

/* Removes our chains and jumps (agent --cleanup). */
int proxy_ipt_cleanup(const char *prefix, char *err, size_t errlen);

#endif
