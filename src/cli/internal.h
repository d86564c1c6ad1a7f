/* internal.h - the pure parts of `svcplane ctl`, shared by its files and unit-tested:
 * Go tabwriter layout, kubectl's table, name, JSON and describe printers, resource type
 * resolution and kubectl's error wording. Nothing here does I/O; ctl.c does the requests.
 */
#ifndef CLI_INTERNAL_H
#define CLI_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/schema.h"
#include "base/buf.h"
#include "client/client.h"

/* Lays out text as Go's text/tabwriter does with AlignLeft and padchar ' ': cells are
 * tab-terminated, a column block is a run of consecutive lines that have a cell in that
 * column, each block is as wide as its widest cell plus padding (at least minwidth), and
 * the last cell of a line is never padded. kubectl get uses (6, 3), describe (0, 2).
 * Returns a heap string. */
char *cli__tabify(const char *text, int minwidth, int padding);

/* Resolves what a user types for a resource type (plural, singular, short name or Kind,
 * any case, optionally followed by ".group" or ".version.group") to a served kind, or
 * NULL. */
const struct api_kind *cli__resolve_type(const char *word);
/* kubectl's name of a kind for messages and -o name: "service", "endpointslice.discovery.k8s.io". */
void cli__kind_ref(const struct api_kind *k, char *buf, size_t len);
/* The REST path of a kind's collection or object: ns may be NULL (all namespaces or
 * cluster-scoped), name may be NULL (the collection). Heap string. */
char *cli__path(const struct api_kind *k, const char *ns, const char *name);

/* Options of a table print. */
struct cli_table_opts {
	bool wide;	     /* also columns of priority > 0 */
	bool all_namespaces; /* NAMESPACE column (namespaced kinds only) */
	bool show_labels;    /* LABELS column */
	bool no_headers;
	const char *kind_prefix; /* "service" to print NAME as service/x, or NULL */
};
/* Appends the tab-separated header (unless no_headers) and rows of a meta.k8s.io/v1
 * Table to out, as kubectl's table printer does; namespaced tells whether the kind has
 * a NAMESPACE column under all_namespaces. Returns the number of rows. */
size_t cli__table_append(const json_t *table, bool namespaced, const struct cli_table_opts *o,
			 struct buf *out);

/* "k=v,k2=v2" sorted by key, "<none>" when labels is empty or NULL; heap string. */

/* Removes metadata.managedFields from obj (and from each of items[] of a list), as
 * kubectl does before printing -o yaml/json. */
void cli__strip_managed_fields(json_t *obj);
/* JSON as kubectl -o json prints it: 4-space indent, keys sorted, <, > and & escaped as
 * Go's encoder does, a final newline. Heap string. */
char *cli__json_print(const json_t *v);

/* kubectl describe's smartLabelFor: "creationTimestamp" -> "Creation Timestamp",
 * "apiVersion" -> "API Version". Heap string. */
char *cli__smart_label(const char *field);

/* kubectl describe service: svc the Service, slices an array of its EndpointSlices (may
 * be NULL), events an array of Events about it (NULL = do not print the Events line).
 * now is the Unix time for event ages. Heap string (tabified). */
char *cli__describe_service(const json_t *svc, const json_t *slices, const json_t *events, int64_t now);
/* kubectl's generic describer for any other kind: Name, Namespace, Labels,
 * Annotations, then every other field as smart-labelled nested blocks. */
char *cli__describe_generic(const json_t *obj, const json_t *events, int64_t now);

/* kubectl's describers for Namespaces (no quota or limit-range sections: the API serves
 * neither) and Endpoints. */
char *cli__describe_namespace(const json_t *ns);
char *cli__describe_endpoints(const json_t *ep, const json_t *events, int64_t now);

/* One failure of a command, kept until the end like kubectl's error aggregate. */
struct cli_err {
	bool api;		/* an answer from the server (a) rather than a local error (msg) */
	struct client_apierr a; /* a.message already carries `error when creating "f": ` */
	char *msg;		/* local errors: text without the "error: " prefix */
};
struct cli_errs {
	struct cli_err *v;
	size_t len, cap; /* a VEC (base/vec.h) */
};
void cli__errs_add_api(struct cli_errs *e, const struct client_apierr *a_take);
void cli__errs_add(struct cli_errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli__errs_fini(struct cli_errs *e);
/* Renders the errors as kubectl's CheckErr does: one error alone gets the full treatment
 * (Invalid as `The Service "bad" is invalid: ` and `* field: message` lines, others as
 * `Error from server (Reason): message` or `error: message`); several are printed one per
 * line. Heap string ending in a newline, "" when there are none. */
char *cli__errs_format(const struct cli_errs *e);

#endif
