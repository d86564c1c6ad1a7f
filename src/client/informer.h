/* informer.h - list + watch + cache of one resource collection, with change handlers.
 *
 * State machine of the informer thread:
 *
 *   LIST (paged) --ok--> replace cache, emit add/update/delete for the difference
 *     ^                     |  (the first list arms the resync timer)
 *     |                     v
 *     |   410 Expired    WATCH from the list's resourceVersion (bookmarks on)
 *     '----------------- |   events -> cache + handlers; bookmarks advance the RV
 *       (or list error,  |   resync due -> RESYNC, then back to the same watch
 *        after back-off) |   stream end / timeoutSeconds -> WATCH again from the last RV
 *                        '   stop -> exit
 *
 *   RESYNC (only with informer_set_resync): every cached object to on_update(obj, obj),
 *     between two watch events (the stream waits, it is not ended); stop -> exit between
 *     two objects. Next resync: one period after this one ends.
 *
 * So a consumer's state can always be rebuilt from a list (after a restart or a watch
 * gap) and follows every change within one network round trip otherwise. The resync is
 * client-go's resyncPeriod: a consumer whose earlier work on an object failed, or whose
 * outside world drifted, gets the object again though nothing changed (old == obj, the
 * same pointer, so a handler that needs no retry can tell and skip it). As in client-go,
 * a resync delivers the cache as it is (an object deleted before it began is not
 * delivered), a relist delivers only what changed, and the informer adds no jitter of its
 * own (informer_set_resync's jitter is kube-controller-manager's, drawn once). Unlike
 * client-go, a relist does not restart the period (client-go's reflector restarts its
 * resync timer with each ListAndWatch), so frequent 410s cannot starve the resync; and
 * the watch is not read during a resync, where client-go queues events meanwhile. Handlers run on
 * the informer thread, one at a time, never with the cache lock held; they get borrowed
 * objects (take a reference to keep one). Objects in the cache are immutable, and
 * trimmed of metadata.managedFields and the last-applied-configuration annotation,
 * which no controller or agent reads and which are most of a small object's size.
 * Informers of the same collection in one process share their cached objects: one copy
 * of each version, however many consumers watch it (the agent runs five Service
 * informers; at 10,000 Services that was most of its memory).
 *
 * The cache is indexed by namespace, and optionally by one value of the caller's choice
 * (client-go's Indexers), so a consumer that reconciles one object reads the few objects
 * it needs, never the whole collection. The indexes change under the cache lock, together
 * with the cache.
 */
#ifndef CLIENT_INFORMER_H
#define CLIENT_INFORMER_H

#include <jansson.h>
#include <stdbool.h>

#include "client/client.h"

struct informer_handlers {
	void (*on_add)(void *ud, const json_t *obj);
	void (*on_update)(void *ud, const json_t *old, const json_t *obj);
	void (*on_delete)(void *ud, const json_t *obj);
	/* After each (re)list has been applied to the cache. */
	void (*on_synced)(void *ud);
};

struct informer;

/* An informer of the collection at path ("/api/v1/pods", "/apis/discovery.k8s.io/v1/
 * endpointslices", with an optional "?labelSelector=..." query). cfg is copied. */
struct informer *informer_new(const struct client_config *cfg, const char *path,
			      const struct informer_handlers *h, void *ud);
/* Sets the secondary index (before informer_start): fn returns an object's index value as
 * a heap string (the informer frees it), or NULL to leave the object out of the index. It
 * runs on the informer thread with the cache lock held and must only read obj. */
void informer_set_index(struct informer *inf, char *(*fn)(const json_t *obj));
/* Sets a projection (client-go's SetTransform; before informer_start): fn runs on every
 * object before it is cached (list items and watch events, after the trimming above) and
 * may drop what none of this informer's users read, to save memory. tag names the
 * projection: informers of a collection share objects only with the same tag. NULL fn
 * removes it. */
void informer_set_transform(struct informer *inf, void (*fn)(json_t *obj), const char *tag);
/* Sets the periodic resync (client-go's resyncPeriod; before informer_start): every
 * period_ms after the first list (measured from the end of the previous resync), every
 * cached object goes to on_update with old == obj. period_ms <= 0 turns it off (the
 * default). jitter >= 0 stretches the period once, here, by a random factor in
 * [1, 1 + jitter), so that informers started together do not resync together
 * (kube-controller-manager: 12 h x [1, 2), jitter 1.0). No minimum is enforced
 * (client-go's is 1 s); the cost is one call per cached object per period. */
void informer_set_resync(struct informer *inf, long long period_ms, double jitter);
/* kube-proxy's --config-sync-period default (15 min), for the Service proxy's informers. */
#define INFORMER_RESYNC_PROXY_MS (15LL * 60 * 1000)
/* kube-controller-manager's --min-resync-period default (12 h; use with jitter 1.0). */
#define INFORMER_RESYNC_CONTROLLER_MS (12LL * 3600 * 1000)
/* Sets the thread's nice value (before informer_start; Linux threads each have one),
 * for consumers whose latency matters more than the process's other work (the Service
 * proxy). Not being allowed to is not an error: the thread runs at the default. */
void informer_set_nice(struct informer *inf, int nice);
/* Starts the thread. */
int informer_start(struct informer *inf);
/* Waits until the first list has been applied; false after timeout_ms. */
bool informer_wait_synced(struct informer *inf, int timeout_ms);
/* A new reference to the cached object ns/name (ns "" for cluster-scoped), or NULL. */
json_t *informer_get(struct informer *inf, const char *ns, const char *name);
/* A new JSON array (references) of the cached objects, in namespace ns (NULL = all).
 * Costs O(objects in ns), through the namespace index. */
json_t *informer_list(struct informer *inf, const char *ns);
/* A new JSON array (references) of the cached objects whose index value (see
 * informer_set_index) is value; empty when no index is set. */
json_t *informer_list_index(struct informer *inf, const char *value);
/* A new JSON array (references) of the cached objects with the given cache keys (keys: a
 * JSON array of "ns/name" strings, borrowed), in that order; keys not cached are skipped.
 * One lock round trip for all of them. */
json_t *informer_get_many(struct informer *inf, const json_t *keys);
/* The resourceVersion the cache reflects. */
long long informer_rv(struct informer *inf);
/* Asks the thread to stop without waiting for it (NULL is a no-op): its transfer in flight
 * is cut at once (client_interrupt), so the thread exits within milliseconds. A caller
 * with several informers may stop them all first, then free them. */
void informer_stop(struct informer *inf);
/* Stops the thread (informer_stop, then waits for it) and frees everything. NULL is a no-op. */
void informer_free(struct informer *inf);

/* "ns/name" or "name": the cache key of obj; heap string. */
char *informer_key(const json_t *obj);

#endif
