/* table.h - server-side printing: the columns `kubectl get` shows for each kind, as
 * kube-apiserver's printers (pkg/printers/internalversion) compute them. */
#ifndef APISERVER_TABLE_H
#define APISERVER_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/schema.h"

/* The columnDefinitions array for kind k (new reference). */
json_t *table_columns(const struct api_kind *k);
/* One row {"cells":[...],"object":...} for obj; include_object: 0 None, 1 Metadata, 2 Object. */
json_t *table_row(const struct api_kind *k, const json_t *obj, int include_object, int64_t now);
/* Parses includeObject ("None", "Metadata", "Object"); default Metadata (1). */
int table_include_object(const char *s);

#endif
