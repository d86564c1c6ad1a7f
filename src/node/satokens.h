/* satokens.h - the node agent's ServiceAccount tokens for its pods (kubelet's token
 * manager): a worker thread with its own API connection asks the TokenRequest API
 * (POST .../serviceaccounts/<sa>/token) for a token bound to each pod, with the API
 * server's own audience and a one-hour life, and asks again once 80 % of that life has
 * passed, so the agent's loop never waits for the API server.
 *
 * Before the first token of a pod the worker reads the pod's ServiceAccount: when its
 * automountServiceAccountToken is false, or it does not exist (404), the pod gets no
 * token (NODE_SATOKEN_NONE; the agent starts it without the directory). A transport
 * error, 5xx or 403 is retried a second later (NODE_SATOKEN_PENDING meanwhile).
 *
 * Threads: every function may be called from the agent thread; the worker calls wake
 * (from its own thread) when a token arrives or a pod turns out to need none.
 */
#ifndef NODE_SATOKENS_H
#define NODE_SATOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/client.h"

/* Token life asked for, and the share of it after which a new one is asked for. */
#define NODE_SATOKEN_EXPIRATION_S 3600
#define NODE_SATOKEN_REFRESH_PCT 80

enum node_satoken_state {
	NODE_SATOKEN_PENDING, /* not fetched yet (or retrying) */
	NODE_SATOKEN_READY,   /* *token holds it */
	NODE_SATOKEN_NONE,    /* the pod gets no token (automount off, or no ServiceAccount) */
};

struct node_satokens;

/* Starts the worker with its own client for cfg (borrowed, copied by the client); wake(ud)
 * is called from the worker when a pod's state changes. NULL with a sentence in err when
 * the thread cannot start. */
struct node_satokens *node_satokens_start(const struct client_config *cfg, void (*wake)(void *ud), void *ud,
					  char *err, size_t errlen);
/* The state of pod uid's token (ns/pod run as ServiceAccount sa), registering the pod on
 * first call (the worker fetches in the background). When READY, *token is a new copy
 * of the newest token (once READY, a pod stays READY: a failed refresh keeps the old
 * token, as kubelet does, and is retried).
 * Never blocks on I/O. */
enum node_satoken_state node_satokens_get(struct node_satokens *t, const char *uid, const char *ns,
					  const char *pod, const char *sa, char **token);
/* Forgets pod uid (its token is no longer refreshed). */
void node_satokens_forget(struct node_satokens *t, const char *uid);
/* Stops the worker and frees everything. Blocks for a request in flight. NULL is a no-op. */
void node_satokens_stop(struct node_satokens *t);

/* Pure: whether a token issued at iat and expiring at exp (Unix seconds) should be
 * replaced at now: once NODE_SATOKEN_REFRESH_PCT of its life has passed (kubelet's
 * rule), or when it is no longer valid. */
bool node_satoken_refresh_due(int64_t iat, int64_t exp, int64_t now);

#endif
