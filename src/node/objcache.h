/* objcache.h - the ConfigMaps and Secrets the node's pods use, read one by one (issue 20:
 * the Node authorizer lets a node get only the objects its pods reference, never list or
 * watch them all). As kubelet's configmap/secret managers: an object is asked for by name
 * when a pod needs it, kept while pods keep asking (entries not asked for in 30 s are
 * dropped), and re-read every second by a worker thread with its own API connection
 * (kubelet watches each by fieldSelector metadata.name; polling keeps this simpler; the
 * cost is one GET per used object per second). The agent's loop never waits: a get
 * answers from the cache and registers the object for the worker.
 *
 * Threads: get/pending from the agent thread; the worker calls wake from its own thread
 * when an object appears, changes or disappears.
 */
#ifndef NODE_OBJCACHE_H
#define NODE_OBJCACHE_H

#include <jansson.h>
#include <stddef.h>

#include "client/client.h"

struct node_objcache;

/* Starts the worker with its own client for cfg (copied). NULL with err when it cannot. */
struct node_objcache *node_objcache_start(const struct client_config *cfg, void (*wake)(void *ud), void *ud,
					  char *err, size_t errlen);
/* The cached object kind ("configmaps" or "secrets") ns/name: a new reference, or NULL
 * when it does not exist or has not been read yet (see pending). Never blocks on I/O. */
json_t *node_objcache_get(struct node_objcache *c, const char *kind, const char *ns, const char *name);
/* How many objects asked for have not been read once yet. */
size_t node_objcache_pending(struct node_objcache *c);
/* Stops the worker and frees everything. NULL is a no-op. */
void node_objcache_stop(struct node_objcache *c);

#endif
