/* nft.h - the nftables backend of the Service proxy: one table of our own
 * (`inet svcplane_proxy`), programmed in-process through libnftables, one atomic
 * transaction per sync holding only what changed.
 *
 * Layout (measured, bench/RESULTS.md): a packet's cost does not grow with the number of
 * Services because every lookup is one named map:
 *
 *   nat-prerouting / nat-output -> services:
 *     ip daddr . l4proto . dport vmap @service-ips4      clusterIP -> goto svc4-<sp>
 *                                                        externalIP, LB IP -> goto ext4-<sp>
 *     fib daddr local: l4proto . dport vmap @service-nodeports4 -> goto ext4-<sp>
 *   svc4-<sp> (one chain per endpoint set, 1 to 3 rules, no inline map, no jump):
 *     [ClientIP affinity: meta mark set ip saddr map @aff-... update @aff-... { ip saddr : meta mark } return
 *      (a hit refreshes the timeout: timeoutSeconds is idle time, as kube-proxy's `recent --set`)]
 *     ip saddr != <cluster CIDR> meta mark set numgen random mod N offset SET|MASQ|base return
 *     meta mark set numgen random mod N offset SET|base return
 *   back in nat-prerouting / nat-output: mark & SET -> goto dnat4, whose one rule is the
 *   only one that references the big map:
 *     dnat ip to meta mark & 0x3fffff map @backends4     id -> endpoint address . port
 *   nat-postrouting: masquerade when the mark says so, and hairpin (a pod reaching
 *     itself: ip saddr . ip daddr in @hairpin4, one element "P . P" per local
 *     endpoint address P, however many Services P backs).
 *   filter input/forward/output, new connections: vmap @no-endpoint-services4 /
 *     @no-endpoint-nodeports4 -> reject (immediate refusal, never a hang); filter
 *     prerouting before DNAT: @firewall-ips4 -> fw4-<sp> drops sources outside
 *     loadBalancerSourceRanges; raw: NOTRACK for the node-local DNS address on port 53.
 *
 * Each endpoint set owns a block of N consecutive ids (22 bits; bit 22 of the mark asks
 * for masquerade, bit 23 says an endpoint was chosen). Service chains hold no jump or
 * goto. Measured (bench/RESULTS.md): a commit that adds any rule with a `meta mark set`
 * (or a jump) still makes the kernel validate every chain reachable from the hooks
 * through the verdict maps, so an endpoint change costs O(Services) in the kernel (16 ms
 * at 1,000); only element-only commits are O(1). The next step is a layout where an
 * endpoint change touches map elements only (chains shared per endpoint count). Ids stay while the set is
 * unchanged, so a change touches one chain and the N elements of its block.
 *
 * Desired state is a JSON tree of groups (one per service port and family, plus the base
 * group ""): declarations (maps), chains (header line + rules), map elements, and the
 * group's local endpoint addresses. Those are not elements of the group: the backend
 * counts, per address, the applied groups naming it, and a script adds the hairpin
 * element when a count leaves 0 and deletes it when it returns there (a restart counts
 * afresh and keeps the kernel's elements still counted). The
 * applied state keeps each group as one compact JSON string (a tree cost 6 KB a group,
 * 63 MB at 10,000 Services; the strings 1/4 of that) and the id blocks apart; a sync
 * parses only the groups it changes. A sync diffs it against what was last applied and
 * emits one nft script: new maps, new chains,
 * changed chains (flush + rules), element deletions and additions, removed chains and
 * maps. When the kernel refuses the transaction, the base group and then each group is
 * applied on its own, so one Service the kernel refuses never blocks the others (it is
 * retried at the next sync).
 *
 * The sync, as a state machine:
 *
 *   START --first desired state--> READ our table back (netlink dumps)
 *     |
 *     +-- this layout's table --> RESTART-DIFF: the kernel's table -> want (one tx)
 *     |                             | ok -> SYNCED
 *     |                             | cannot be patched, or refused -> REPLACE
 *     +-- none, another layout, unreadable --> REPLACE: add table; delete table; the
 *                                              whole state (one tx)
 *                                              | ok -> SYNCED; refused -> ISOLATE
 *   ISOLATE: the base group (with the replace when still unknown), then each changed
 *            group alone; refused groups keep their old state -> SYNCED
 *   SYNCED --change of Services--> DIFF: the changed groups only (one tx)
 *                                    | ok -> SYNCED; refused -> ISOLATE
 *   SYNCED --idle 200 ms, old endpoint blocks pending--> GC (one tx of deletions)
 *
 * Restart. The first sync after a start reads our table back (proxy_nftnl_list_table)
 * and, when it is one this layout wrote (the table's comment names the layout), emits
 * only the difference: chains, maps and elements that are still right stay, above all
 * the ClientIP affinity maps with their entries and remaining timeouts, so a restart
 * rebalances no client and costs what changed while the agent was down. What makes the
 * kernel's table readable: each chain's last rule carries a comment "h=<hash of the
 * chain's text> c=<base>+<count> ..." (its fingerprint, and the id blocks of its group,
 * whose endpoints the backends map gives back, so unchanged sets keep their ids and
 * their chains), keys and values are decoded from their nftables types, and the
 * --nodeport-addresses set (intervals, not read back) is named after its content.
 * A chain whose fingerprint differs is flushed and refilled; what no group wants
 * (Services deleted meanwhile, elements of old blocks) is deleted. Anything else (no
 * table, another layout or version: an older svcplane's table has no comment, a set
 * that cannot be read, a shared chain that differs) is replaced in one transaction as
 * before (add table, delete table, the whole state): established connections keep their
 * conntrack NAT, new ones see the old or the new rules, never none. nft 1.0.6 cannot add
 * a rule that uses a map declared `typeof ... numgen ... : ip daddr . th dport` that it
 * knows only from the kernel (it re-evaluates the map's `th dport` data expression in
 * the rule's context: "conflicting protocols specified: ip vs. th"), and every other
 * typeof/type spelling either changes the rule (`tcp dport` adds an l4proto == tcp
 * check) or is refused; so the shared chains cl/ex/np that use those maps are never
 * rewritten by a diff (their text depends only on the layout and the cluster CIDR),
 * and one that differs makes the restart a replacement. Adding elements to those maps
 * works. Every later sync is a diff against what was applied.
 */
#ifndef PROXY_NFT_H
#define PROXY_NFT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "proxy/model.h"

#define PROXY_NFT_TABLE "svcplane_proxy"
#define PROXY_MARK_SET 0x800000u /* a service chain chose an endpoint */
#define PROXY_MARK_MASQ 0x400000u
#define PROXY_MARK_IDS 0x3fffffu

struct proxy_nft;

/* A backend for table (NULL = PROXY_NFT_TABLE); dry (no kernel: scripts are only rendered,
 * for golden tests and benches) when dry is true. */
struct proxy_nft *proxy_nft_new(const char *table, bool dry);
void proxy_nft_free(struct proxy_nft *n);

/* The desired state (a new JSON tree, see above) for the model; allocates ids for new
 * endpoint sets from n's allocator. Pure but for that allocator. */
json_t *proxy_nft_desired(struct proxy_nft *n, const struct proxy_model *m, const struct proxy_netcfg *c);

/* Loads listing (borrowed; proxy_nftnl_list_table's form, NULL when the kernel has no
 * such table) as what the kernel holds, for the first sync. A table of this layout (its
 * comment) makes the first sync a diff against it, and the id blocks its chains use are
 * taken up again, so this comes before proxy_nft_desired. Anything else is replaced. A
 * backend that is not dry reads the kernel itself at its first proxy_nft_desired; tests
 * call this on a dry one. 0 (recognized), -ENOENT (NULL) or -EPROTO (not this layout). */
int proxy_nft_load_kernel(struct proxy_nft *n, const json_t *listing);

/* The groups of the Services keys (a JSON array of "ns/name") as m (holding only those
 * Services) wants them: new groups, and null for each group of those Services that is no
 * more. For proxy_nft_sync_services. */
json_t *proxy_nft_desired_services(struct proxy_nft *n, const struct proxy_model *m,
				   const struct proxy_netcfg *c, const json_t *keys);

/* The nft script that takes the kernel from have (NULL = nothing) to want, for the groups
 * named in only (NULL = every group). Pure; heap string ("" when nothing changed). */
char *proxy_nft_script(const char *table, const json_t *have, const json_t *want, const json_t *only);

struct proxy_nft_result {
	size_t groups_changed; /* groups whose diff was not empty */
	size_t groups_failed;  /* groups the kernel refused (kept for the next sync) */
	size_t elements;       /* map elements now programmed */
	size_t chains;	       /* chains now programmed */
	size_t script_bytes;   /* size of the script(s) applied */
};

/* Makes the kernel match want (borrowed): the first call reads the kernel's table and
 * converges; later ones apply the diff to the last applied state. Returns 0 when every
 * group is programmed, -EIO when some were refused (r says how many; err has the first
 * kernel message), with the others programmed. Blocks on netlink. */
int proxy_nft_sync(struct proxy_nft *n, const json_t *want, struct proxy_nft_result *r, char *err,
		   size_t errlen);

/* proxy_nft_sync for the groups in want only (from proxy_nft_desired_services): the cost
 * of a change is that of the Services it touches, not of the whole table. Needs one
 * proxy_nft_sync first (-EINVAL otherwise; see proxy_nft_needs_full). */
int proxy_nft_sync_services(struct proxy_nft *n, const json_t *want, struct proxy_nft_result *r, char *err,
			    size_t errlen);
/* Endpoint elements of replaced blocks left by incremental syncs (deleting an element
 * makes nft read the whole table, so deletions are batched): how many are pending, and
 * their deletion in one transaction. The proxy runs it when idle. 0 or -EIO. */
size_t proxy_nft_gc_pending(const struct proxy_nft *n);
int proxy_nft_gc(struct proxy_nft *n, char *err, size_t errlen);
/* Whether the next sync must be a full one (nothing programmed yet, or the kernel's
 * state is unknown after a refused convergence). */
bool proxy_nft_needs_full(const struct proxy_nft *n);

/* The script of the last proxy_nft_sync (borrowed, until the next call); for tests. A
 * backend that is not dry keeps only scripts up to 64 KiB ("" otherwise). */
const char *proxy_nft_last_script(const struct proxy_nft *n);

/* Runs script in one transaction on n's kept libnftables context (nothing when n is
 * dry); 0 or -EIO with nft's message in err. For other users of nftables in the proxy
 * (the userspace mode's redirect table). Blocks on netlink. */
int proxy_nft_apply(struct proxy_nft *n, const char *script, char *err, size_t errlen);

/* Deletes the table (agent --cleanup). Missing is not an error. */
int proxy_nft_cleanup(const char *table, char *err, size_t errlen);

/* Runs one nft script in one transaction through libnftables; 0 or -EIO with nft's
 * message in err. Blocks on netlink. */
int proxy_nft_run(const char *script, char *err, size_t errlen);

#endif
