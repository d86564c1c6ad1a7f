/* codec.h - bytes from outside to JSON objects and back: JSON, YAML, Kubernetes protobuf.
 *
 * Every decoder takes untrusted bytes, bounds its work (size, depth, number of documents)
 * and answers malformed input with -EBADMSG and a human message in err; none aborts.
 * Fuzzed by tests/fuzz/fuzz_json.c, fuzz_yaml.c and fuzz_proto.c.
 */
#ifndef API_CODEC_H
#define API_CODEC_H

#include <jansson.h>
#include <stddef.h>

/* Limits applied by every decoder. */
enum { API_CODEC_MAX_DEPTH = 100, API_CODEC_MAX_DOCS = 1000 };

/* Parses one JSON value. Returns 0 with *out (new reference) or -EBADMSG. */
int api_json_decode(const char *buf, size_t len, json_t **out, char *err, size_t errlen);

/* Parses a YAML stream (one or more documents) into a JSON array of the documents, skipping
 * empty ones. Scalars are typed as YAML 1.1 core (as Kubernetes' sigs.k8s.io/yaml does):
 * plain true/false/null/~ and integers/floats become JSON booleans/null/numbers; quoted
 * scalars stay strings. Anchors/aliases are expanded with a bound on total size (billion
 * laughs). Returns 0 with *out or -EBADMSG. */
int api_yaml_decode(const char *buf, size_t len, json_t **out, char *err, size_t errlen);

/* Renders a JSON value as YAML the way kubectl -o yaml does (block style, keys in the
 * object's order, strings quoted only when needed). Returns a heap string. */
char *api_yaml_encode(const json_t *v);

/* Decodes a Kubernetes protobuf body ("k8s\0" magic + runtime.Unknown envelope) into the
 * JSON form of the object, using the protobuf field numbers in api/schema.h. Sets
 * apiVersion and kind from the envelope. Returns 0 with *out, -EBADMSG for malformed
 * bytes, ERR_UNSUPPORTED_MEDIA for a kind it has no schema for. */
int api_proto_decode(const unsigned char *buf, size_t len, json_t **out, char *err, size_t errlen);

#endif
