/* podipam.h - pod IP addresses from the node's podCIDR, persisted one file per address
 * (the CNI host-local plugin's layout), so an agent restart keeps every pod's IP.
 *
 * <dir>/<ip> holds the uid of the pod that owns ip. Creating that file with O_EXCL is
 * the allocation, unlinking it the release, so a crash between two steps never gives
 * one address to two pods; at worst an address stays reserved for a uid that no longer
 * exists, which node_ipam_release_unknown() (run at agent start-up) gives back. The
 * first usable address of the CIDR is the node bridge's (the pods' gateway) and is never
 * handed out; the IPv4 broadcast address neither. Lookups scan the directory, which is
 * at most one file per pod of the node. Not thread-safe; one agent owns a dir.
 */
#ifndef NODE_PODIPAM_H
#define NODE_PODIPAM_H

#include <stdbool.h>

#include "base/cidr.h"

/* The address of pod uid inside c: the one already recorded in dir, else the lowest free
 * one, recorded now. dir is created if missing. Returns 0 with *out set, -ENOSPC when
 * every address of c is taken, or another -errno from the filesystem. */
int node_ipam_get(const char *dir, const struct cidr *c, const char *uid, struct ip_addr *out);
/* Gives back every address recorded for uid. Returns how many were released, or -errno. */
int node_ipam_release(const char *dir, const char *uid);
/* Gives back every address whose uid keep() rejects (pods deleted while the agent was
 * down). Returns how many were released, or -errno. */
int node_ipam_release_unknown(const char *dir, bool (*keep)(void *ud, const char *uid), void *ud);

#endif
