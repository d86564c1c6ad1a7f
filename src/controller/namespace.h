/* namespace.h - the namespace controller: empties a namespace marked for deletion through
 * the API, then removes the "kubernetes" finalizer so the API server deletes it.
 *
 * As kube-controller-manager's namespace controller (pkg/controller/namespace), a client
 * of the API like the other controllers: an informer on namespaces wakes it, and while a
 * namespace is Terminating it lists every namespaced kind in it once a second and DELETEs
 * each object (the API server marks objects with finalizers and leaves them to their
 * owners). When nothing is left it PUTs namespaces/NAME/finalize without "kubernetes" in
 * spec.finalizers; with no finalizer left the API server deletes the namespace. One
 * worker thread; it blocks on API calls and has no timed work of its own.
 */
#ifndef CONTROLLER_NAMESPACE_H
#define CONTROLLER_NAMESPACE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "client/client.h"

struct ctrl_namespace;

/* Starts the informer and the worker. cfg is copied. Returns 0 with *out, or a negative
 * code with the reason in err. */
int ctrl_namespace_start(const struct client_config *cfg, struct ctrl_namespace **out, char *err,
			 size_t errlen);
/* Stops the worker and the informer (about a second) and frees everything; NULL is a no-op. */
void ctrl_namespace_stop(struct ctrl_namespace *n);

/* What the controller does with obj, an object listed in a terminating namespace: true
 * when it sends a DELETE for it (it has no finalizers, or it has some and is not marked
 * yet); *remains tells whether the namespace must wait for it (it has finalizers). Pure. */
bool ctrl_namespace_item_delete(const json_t *obj, bool *remains);
/* The body of the namespaces/NAME/finalize PUT for ns (borrowed): its name and
 * resourceVersion, and spec.finalizers without "kubernetes". New reference. Pure. */
json_t *ctrl_namespace_finalize_body(const json_t *ns);

#endif
