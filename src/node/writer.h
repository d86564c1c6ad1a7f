/* writer.h - the node agent's API writer: a thread with its own API connection that
 * performs the agent's writes (pod statuses, events, the Node heartbeat, the final pod
 * deletes) in the order they were queued, so the agent's loop never waits for the API
 * server (its fsyncs, a slow or unreachable server) while probes are in flight.
 *
 * Writes are keyed: a write queued while another with the same key still waits
 * replaces it in place (the newest pod status wins, a status burst costs one PATCH).
 * A transport error or a 5xx is retried a second later unless a newer write with the
 * same key arrived meanwhile; 404 and 409 are dropped quietly (the object is gone or
 * changed: the agent's next pass decides), other 4xx are logged and dropped. A write
 * may carry a fallback: when it gets 404, the fallback's POST goes out instead (an
 * event whose count is bumped but that was deleted meanwhile is created again). At
 * stop, what is still queued is tried once.
 */
#ifndef NODE_WRITER_H
#define NODE_WRITER_H

#include <jansson.h>

#include "client/client.h"

struct node_writer;

/* One write. The writer takes path, body, create_path and create_body; key, method
 * and ctype are copied. */
struct node_write {
	const char *key;    /* replaces a queued write with the same key */
	const char *method; /* "PATCH", "POST", "DELETE" */
	const char *ctype;  /* body's content type; NULL = application/json */
	char *path;
	json_t *body;	   /* may be NULL */
	char *create_path; /* may be NULL: on 404, POST create_body there instead */
	json_t *create_body;
};

/* Starts the thread with its own client for cfg (borrowed, copied by the client).
 * Returns NULL with a sentence in err when the thread cannot start. Blocks briefly. */
struct node_writer *node_writer_start(const struct client_config *cfg, char *err, size_t errlen);
/* Queues w (its pointers taken, see struct node_write). Never blocks on I/O: a mutex. */
void node_writer_put(struct node_writer *wr, struct node_write *w);
/* How many writes wait (for tests and logs). */
size_t node_writer_pending(struct node_writer *wr);
/* Tries what is queued once, stops the thread and frees everything. Blocks for those
 * requests (each bounded by the client's timeout). NULL is a no-op. */
void node_writer_stop(struct node_writer *wr);

#endif
