/* client.h - a small synchronous client of the Kubernetes API: kubeconfig loading and
 * one-request-at-a-time HTTP(S) through libcurl.
 *
 * The kubeconfig is found as kubectl finds it: --kubeconfig, else $KUBECONFIG (a
 * colon-separated list whose files are merged, the first file to set a value winning),
 * else ~/.kube/config, and, as svcplane's own fallback for a node where the server runs,
 * /var/lib/svcplane/kubeconfig. From the current context (or --context) it takes the
 * cluster's server URL, its CA (certificate-authority-data, base64 PEM, handed to curl as
 * a blob; or a certificate-authority file, relative to the kubeconfig's folder), the
 * insecure-skip-tls-verify flag, the user's bearer token (token or tokenFile) or client
 * certificate (client-certificate[-data], client-key[-data]) and the context's namespace. Parsing is pure
 * (client_config_parse) so it is unit-tested.
 *
 * Several servers (a comma list in the server URL: `--server URL1,URL2`, or a kubeconfig
 * cluster whose server names several) are one cluster: requests go to one of them, and
 * a connection failure or a 5xx answer moves the client to the next. A request that
 * never reached a server (connection refused, TLS handshake failed) is sent again to the
 * next one at once, each server tried once; anything else is the caller's to retry
 * (informers do, resuming their watch from the last resourceVersion).
 *
 * Requests are blocking (this is for the command-line client, never for code on the
 * event loop); one curl handle is kept per client so connections are reused. HTTP/1.1 is
 * forced through ALPN, as kubectl's client does for requests that may upgrade. A non-2xx
 * answer is not a transport error: the caller gets the status and body and decodes a
 * metav1.Status with client_apierr_decode().
 */
#ifndef CLIENT_CLIENT_H
#define CLIENT_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* What a context resolves to. All strings are heap-owned by the struct. */
struct client_config {
	/* "https://127.0.0.1:6443" (no trailing slash), or several servers of one cluster
	 * separated by commas ("https://198.18.0.11:6443,https://198.18.0.12:6443") */
	char *server;
	char *ca_pem; /* PEM bytes from certificate-authority-data, or NULL */
	size_t ca_pem_len;
	char *ca_file; /* certificate-authority path, or NULL */
	bool insecure; /* insecure-skip-tls-verify */
	char *token;   /* bearer token (from token or tokenFile), or NULL */
	/* TLS client certificate and key: PEM files (client-certificate, client-key), or PEM
	 * bytes (client-certificate-data, client-key-data); NULL when none. */
	char *cert_file, *key_file;
	char *cert_pem, *key_pem;
	char *namespace_; /* context namespace, "default" when unset */
	char *context;	  /* the context used */
	char *path;	  /* the kubeconfig file read first, for messages */
};

void client_config_init(struct client_config *c);
void client_config_fini(struct client_config *c);
/* Deep copy of src into dst (dst is initialised first; fini it when done). */
void client_config_copy(struct client_config *dst, const struct client_config *src);

/* Resolves context (NULL = current-context) in the kubeconfig kc (its JSON form; several
 * merged files are given as one object whose clusters/contexts/users arrays are the
 * concatenation). base_dir resolves relative file paths (certificate-authority,
 * tokenFile) and may be NULL. Reads tokenFile from disk when set. Returns 0, or -EINVAL
 * with kubectl's wording in err (`context "x" does not exist`, ...). */
int client_config_parse(const json_t *kc, const char *context, const char *base_dir,
			struct client_config *out, char *err, size_t errlen);

/* Finds, reads and merges the kubeconfig as described above (path may be NULL) and
 * resolves context (may be NULL). Returns 0, -ENOENT when no kubeconfig exists, or
 * another negative errno; err says why. May block on file reads. */
int client_config_load(const char *path, const char *context, struct client_config *out, char *err,
		       size_t errlen);

struct client;

/* Creates a client for cfg (copied). timeout_ms bounds each request (0 = 30 s).
 * Never fails except out of memory (aborts). */
struct client *client_new(const struct client_config *cfg, long timeout_ms);
void client_free(struct client *cl);
/* Makes the client's transfer in flight on another thread end at once (its sockets are
 * shut down, its wait woken; a host-name lookup in progress still runs to its end, as
 * libcurl waits for its resolver) and every later one fail without connecting: for
 * stopping a thread blocked in a stream. A stream so ended returns 0, as one its stop
 * flag ended: callers tell the two apart by their own stop state. Thread-safe; the client
 * is only good for client_free afterwards. NULL is a no-op. */
void client_interrupt(struct client *cl);
/* Splits a comma list of server URLs (blanks and trailing slashes dropped) into a heap
 * array of heap strings in *out; returns how many (at least 1: an empty list gives one
 * empty URL). Pure. */
size_t client_servers_split(const char *list, char ***out);
/* The server URL requests go to now. Borrowed, valid until the next request. */
const char *client_server(const struct client *cl);
/* The namespace of the client's context. Borrowed. */
const char *client_namespace(const struct client *cl);

/* Sends one request and waits for the answer. path starts with "/" and carries its query.
 * content_type and body may be NULL (no body); accept may be NULL ("application/json").
 * On 0, *status is the HTTP status and *resp_body a NUL-terminated heap copy of the
 * body (the caller frees it; *resp_len, when not NULL, its length). On a transport
 * failure returns -EIO (or -ETIMEDOUT) with kubectl's wording in err, e.g. "The
 * connection to the server 127.0.0.1:6443 was refused - did you specify the right host
 * or port?". Blocks. */
int client_request(struct client *cl, const char *method, const char *path, const char *content_type,
		   const char *body, const char *accept, long *status, char **resp_body, size_t *resp_len,
		   char *err, size_t errlen);

/* Called with each piece of a streamed body as it arrives (pieces are not aligned to
 * lines or events). Returns 0 to go on, non-zero to end the stream. */
typedef int (*client_stream_fn)(void *ud, const char *data, size_t len);

/* A GET whose 2xx body is handed to cb piece by piece as it arrives: a watch
 * (?watch=true) or a pod's log. Returns when the server ends the body, when cb returns
 * non-zero, or within about a second of *stop (may be NULL) becoming non-zero: all three
 * return 0 with *status the HTTP status. The body of a non-2xx answer is not given to cb; its Status
 * message goes into err. No overall timeout (bound a watch with timeoutSeconds); the
 * connection itself must be made within the client's timeout. Returns -EIO (or
 * -ETIMEDOUT) with kubectl's wording in err on a transport failure. Blocks; one stream
 * or request at a time per client. */
int client_stream(struct client *cl, const char *path, client_stream_fn cb, void *ud, volatile int *stop,
		  long *status, char *err, size_t errlen);

/* A deadline of a stream's caller (client_stream_timed). */
struct client_timer {
	/* CLOCK_MONOTONIC milliseconds at which fn is due; 0 = none. */
	long long due_ms;
	/* Runs on the streaming thread once due_ms has come, between two pieces of the body
	 * (the transfer waits meanwhile: the server's bytes wait in the socket), with the ud
	 * given to the stream. It must move due_ms on (or set it to 0), or it runs again at
	 * once. Returns 0 to go on, non-zero to end the stream as cb's non-zero does. It must
	 * not use the client. */
	int (*fn)(void *ud, struct client_timer *t);
};

/* Sets t due in_ms milliseconds from now (in_ms <= 0: never). */
void client_timer_arm(struct client_timer *t, long long in_ms);

/* client_stream whose wait for the server also ends when timer (may be NULL; borrowed for
 * the call) is due, to run its fn without ending the stream: for work of the caller's own
 * thread between the stream's pieces (an informer's periodic resync). */
int client_stream_timed(struct client *cl, const char *path, client_stream_fn cb, void *ud,
			volatile int *stop, struct client_timer *timer, long *status, char *err,
			size_t errlen);

struct client_apierr;
/* client_stream that also hands back the decoded Status of a non-2xx answer in *ae (when
 * ae is not NULL and *status is not 2xx; the caller calls client_apierr_fini), for
 * callers that print it with its reason, as `ctl logs` does. */
int client_stream_ae(struct client *cl, const char *path, client_stream_fn cb, void *ud, volatile int *stop,
		     long *status, struct client_apierr *ae, char *err, size_t errlen);

/* A non-2xx answer, decoded. */
struct client_apierr {
	long code;	 /* HTTP status */
	char *reason;	 /* Status.reason ("NotFound"), "" when none; heap */
	char *message;	 /* Status.message, else the body text, else "the server ..." text; heap */
	json_t *details; /* Status.details (new reference) or NULL */
};

/* Decodes body (may be NULL) of an answer with HTTP status code into e. When the body is
 * not a metav1.Status, the message is made as client-go does (`the server could not find
 * the requested resource`, `an error on the server ("...") has prevented the request
 * from succeeding`, ...). Call client_apierr_fini afterwards. */
void client_apierr_decode(long code, const char *body, struct client_apierr *e);
void client_apierr_fini(struct client_apierr *e);

/* Percent-encodes s for a URL query value or path segment; heap string. */
char *client_escape(const char *s);

#endif
