/* selector.h - label selectors and field selectors, as kube-apiserver parses them.
 *
 * Label selector grammar (k8s.io/apimachinery/pkg/labels): comma-separated requirements
 * `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (exists), `!k` (does not
 * exist), and `k>5` / `k<5` (Gt/Lt, integers). Keys and values are validated like label
 * keys/values. Field selectors (fields package): `path=v`, `path==v`, `path!=v`,
 * comma-separated, with `\,` `\=` `\\` escapes in values; a path is a dotted JSON path
 * into the object (metadata.name, spec.nodeName, status.phase, involvedObject.uid).
 * Parsing is pure; errors carry kube-apiserver's message in err.
 */
#ifndef API_SELECTOR_H
#define API_SELECTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct api_selector;

/* Parses s (may be "" = match everything). Returns 0 or -EINVAL with a message in err. */
int api_label_selector_parse(const char *s, struct api_selector **out, char *err, size_t errlen);
/* Builds the selector of a Service's spec.selector (a JSON object of key -> value, all
 * equality). A NULL or empty map selects nothing (a Service without a selector gets no
 * endpoints), and api_selector_empty() is false for it. The caller frees the result. */
struct api_selector *api_selector_from_map(const json_t *map);
/* Builds a selector from a metav1.LabelSelector (matchLabels, matchExpressions). */
int api_selector_from_label_selector(const json_t *ls, struct api_selector **out, char *err, size_t errlen);
/* labels: a JSON object (or NULL = no labels). */
bool api_label_selector_match(const struct api_selector *sel, const json_t *labels);

int api_field_selector_parse(const char *s, struct api_selector **out, char *err, size_t errlen);
/* Matches against obj; a missing field compares as "". Booleans and numbers compare by
 * their JSON text ("true", "42"). */
bool api_field_selector_match(const struct api_selector *sel, const json_t *obj);
/* True when the field selector only has the requirement path=value for this path (used
 * to turn metadata.name=x into a point read); *value points into sel. */
bool api_field_selector_single_eq(const struct api_selector *sel, const char *path, const char **value);
/* True if the selector has no requirements. */
bool api_selector_empty(const struct api_selector *sel);

void api_selector_free(struct api_selector *sel);

#endif
