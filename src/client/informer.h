/* informer.h - list + watch + cache of one resource collection, with change handlers.
 *
 * State machine of the informer thread:
 *
 *   LIST (paged) --ok--> replace cache, emit add/update/delete for the difference
 *     ^                     |
 *     |                     v
 *     |   410 Expired    WATCH from the list's resourceVersion (bookmarks on)
 *     '----------------- |   events -> cache + handlers; bookmarks advance the RV
 *       (or list error,  |   stream end / timeoutSeconds -> WATCH again from the last RV
 *        after back-off) '   stop -> exit
 *
 * So a consumer's state can always be rebuilt from a list (after a restart or a watch
 * gap) and follows every change within one network round trip otherwise. Handlers run on
 * the informer thread, one at a time, never with the cache lock held; they get borrowed
 * objects (take a reference to keep one). Objects in the cache are immutable, and
 * trimmed of metadata.managedFields and the last-applied-configuration annotation,
 * which no controller or agent reads and which are most of a small object's size.
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
struct informer *informer_new(const struct client_config *cfg, const char *path, const struct informer_handlers *h,
			      void *ud);
/* Starts the thread. */
int informer_start(struct informer *inf);
/* Waits until the first list has been applied; false after timeout_ms. */
bool informer_wait_synced(struct informer *inf, int timeout_ms);
/* A new reference to the cached object ns/name (ns "" for cluster-scoped), or NULL. */
json_t *informer_get(struct informer *inf, const char *ns, const char *name);
/* A new JSON array (references) of the cached objects, in namespace ns (NULL = all). */
json_t *informer_list(struct informer *inf, const char *ns);
/* The resourceVersion the cache reflects. */
long long informer_rv(struct informer *inf);
/* Stops the thread (within about a second) and frees everything. NULL is a no-op. */
void informer_free(struct informer *inf);

/* "ns/name" or "name": the cache key of obj; heap string. */
char *informer_key(const json_t *obj);

#endif
