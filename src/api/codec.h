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

/* Limits applied by every decoder: nesting of containers (and protobuf messages), YAML
 * documents per stream, input size (kube-apiserver's request body limit, 3 MiB), and JSON
 * nodes that YAML aliases may expand to in one stream. */
enum {
	API_CODEC_MAX_DEPTH = 100,
	API_CODEC_MAX_DOCS = 1000,
	API_CODEC_MAX_BYTES = 3 * 1024 * 1024,
	API_CODEC_MAX_ALIAS_NODES = 100000,
};

/* Parses one JSON value. Duplicate object keys are refused (kube-apiserver's Strict field
 * validation: `strict decoding error: duplicate field "name"`). Returns 0 with *out (new
 * reference) or -EBADMSG. */
int api_json_decode(const char *buf, size_t len, json_t **out, char *err, size_t errlen);

/* Parses a YAML stream (one or more documents) into a JSON array of the documents, skipping
 * empty ones. Scalars are typed as Kubernetes' sigs.k8s.io/yaml (goyaml.v2) types them:
 * plain true/false/yes/no/on/off/y/n, null/~/empty, integers (0x, 0o, 0b, leading-0 octal)
 * and floats become JSON booleans/null/numbers; quoted and block scalars stay strings;
 * timestamps stay strings. Duplicate keys are refused. Anchors/aliases are expanded with a
 * bound on total size (billion laughs). Errors read "error converting YAML to JSON: yaml:
 * line N: ...". Returns 0 with *out (new reference) or -EBADMSG. See api/yaml.c. */
int api_yaml_decode(const char *buf, size_t len, json_t **out, char *err, size_t errlen);

/* Renders a JSON value as YAML the way kubectl -o yaml does (block style, keys sorted in
 * goyaml's order, sequences in mappings not indented, strings quoted only when needed,
 * multi-line strings as | blocks, long lines folded at column 80). Returns a heap string
 * the caller frees. */
char *api_yaml_encode(const json_t *v);

/* Decodes a Kubernetes protobuf body ("k8s\0" magic + runtime.Unknown envelope) into the
 * JSON form of the object, using the protobuf field numbers in api/schema.h. Sets
 * apiVersion and kind from the envelope. Returns 0 with *out, -EBADMSG for malformed
 * bytes, ERR_UNSUPPORTED_MEDIA for a kind it has no schema for. */
int api_proto_decode(const unsigned char *buf, size_t len, json_t **out, char *err, size_t errlen);

/* Finds the value of the top-level member key of the JSON object in buf[0..len) without
 * parsing the rest (so a caller can decode one member of a large object). Returns 0
 * with the value's byte span, -ENOENT when the object has no such member, -EBADMSG when
 * buf is not a well-formed object as far as the scan goes. */
int api_json_member_span(const char *buf, size_t len, const char *key, size_t *off, size_t *vlen);

#endif
