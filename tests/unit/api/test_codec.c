/* test_codec.c - JSON, YAML and protobuf codecs (api/codec.h) against concrete outputs. */
#include "api/codec.h"
#include "base/err.h"
#include "harness/t.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Canonical compact JSON with sorted keys; the caller frees. */
static char *canon(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* Decodes YAML and returns the canonical JSON of the document array (or "ERR: msg"). */
static char *yaml_json(const char *y)
{
	char err[512];
	json_t *docs = NULL;
	int rc = api_yaml_decode(y, strlen(y), &docs, err, sizeof(err));
	if (rc) {
		char *s = malloc(strlen(err) + 6);
		sprintf(s, "ERR: %s", err);
		return s;
	}
	char *s = canon(docs);
	json_decref(docs);
	return s;
}

#define ASSERT_YAML(y, want)                                                                                 \
	do {                                                                                                 \
		char *t_got = yaml_json(y);                                                                  \
		ASSERT_STR_EQ(t_got, want);                                                                  \
		free(t_got);                                                                                 \
	} while (0)

static char *json_yaml(const char *j)
{
	json_t *v = json_loads(j, JSON_DECODE_ANY, NULL);
	if (!v)
		return strdup("bad test JSON");
	char *y = api_yaml_encode(v);
	json_decref(v);
	return y;
}

#define ASSERT_ENCODE(j, want)                                                                               \
	do {                                                                                                 \
		char *t_got = json_yaml(j);                                                                  \
		ASSERT_STR_EQ(t_got, want);                                                                  \
		free(t_got);                                                                                 \
	} while (0)

/* ---- JSON ---- */

TEST(codec_json_object)
{
	char err[256];
	json_t *v;
	const char *in = "{\"kind\":\"Service\",\"spec\":{\"ports\":[{\"port\":80}]}}";
	ASSERT_INT_EQ(api_json_decode(in, strlen(in), &v, err, sizeof(err)), 0);
	char *s = canon(v);
	ASSERT_STR_EQ(s, "{\"kind\":\"Service\",\"spec\":{\"ports\":[{\"port\":80}]}}");
	free(s);
	json_decref(v);
	ASSERT_INT_EQ(api_json_decode("42", 2, &v, err, sizeof(err)), 0);
	ASSERT_INT_EQ(json_integer_value(v), 42);
	json_decref(v);
}

TEST(codec_json_errors)
{
	char err[256];
	json_t *v = (json_t *)1;
	ASSERT_INT_EQ(api_json_decode("{\"a\":}", 6, &v, err, sizeof(err)), -EBADMSG);
	ASSERT(v == NULL);
	ASSERT_STR_CONTAINS(err, "json: ");
	ASSERT_STR_CONTAINS(err, "line 1, column 6");
	ASSERT_INT_EQ(api_json_decode("", 0, &v, err, sizeof(err)), -EBADMSG);
	ASSERT_STR_CONTAINS(err, "unexpected end of JSON input");
	ASSERT_INT_EQ(api_json_decode("{\"a\":1", 6, &v, err, sizeof(err)), -EBADMSG);
	ASSERT_STR_CONTAINS(err, "unexpected end of JSON input");
	ASSERT_INT_EQ(api_json_decode("{} x", 4, &v, err, sizeof(err)), -EBADMSG);
	/* Embedded NUL and invalid UTF-8 are refused. */
	ASSERT_INT_EQ(api_json_decode("\"a\\u0000\"", 9, &v, err, sizeof(err)), -EBADMSG);
	ASSERT_INT_EQ(api_json_decode("\"\xff\"", 3, &v, err, sizeof(err)), -EBADMSG);
}

TEST(codec_json_duplicate_rejected)
{
	char err[256];
	json_t *v;
	const char *in = "{\"metadata\":{\"name\":\"a\",\"name\":\"b\"}}";
	ASSERT_INT_EQ(api_json_decode(in, strlen(in), &v, err, sizeof(err)), -EBADMSG);
	ASSERT_STR_EQ(err, "strict decoding error: duplicate field \"name\"");
}

TEST(codec_json_depth)
{
	char err[256], buf[512];
	json_t *v;
	int n = API_CODEC_MAX_DEPTH;
	for (int i = 0; i < n; i++)
		buf[i] = '[', buf[n + i] = ']';
	ASSERT_INT_EQ(api_json_decode(buf, 2 * (size_t)n, &v, err, sizeof(err)), 0);
	json_decref(v);
	n++;
	for (int i = 0; i < n; i++)
		buf[i] = '[', buf[n + i] = ']';
	ASSERT_INT_EQ(api_json_decode(buf, 2 * (size_t)n, &v, err, sizeof(err)), -EBADMSG);
	ASSERT_STR_CONTAINS(err, "exceeded max depth of 100");
	/* Brackets inside strings do not count. */
	const char *s =
	    "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[\"}";
	ASSERT_INT_EQ(api_json_decode(s, strlen(s), &v, err, sizeof(err)), 0);
	json_decref(v);
}

/* ---- YAML decode ---- */

/* The manifests of /work/shared/seeds/000_*.txt, as one stream with an empty document. */
static const char seed_stream[] = "apiVersion: v1\n"
				  "kind: Service\n"
				  "metadata:\n"
				  "  name: my-service\n"
				  "spec:\n"
				  "  selector:\n"
				  "    app: MyApp\n"
				  "  ports:\n"
				  "    - protocol: TCP\n"
				  "      port: 80\n"
				  "      targetPort: 9376\n"
				  "---\n"
				  "# nothing but a comment\n"
				  "---\n"
				  "apiVersion: v1\n"
				  "kind: Endpoints\n"
				  "metadata:\n"
				  "  name: my-service\n"
				  "subsets:\n"
				  "  - addresses:\n"
				  "      - ip: 192.0.2.42\n"
				  "    ports:\n"
				  "      - port: 9376\n"
				  "---\n"
				  "apiVersion: v1\n"
				  "kind: Service\n"
				  "metadata:\n"
				  "  name: my-service\n"
				  "  namespace: prod\n"
				  "spec:\n"
				  "  type: ExternalName\n"
				  "  externalName: my.database.example.com\n"
				  "...\n";

TEST(codec_yaml_seed_multidoc)
{
	ASSERT_YAML(seed_stream,
		    "[{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"my-service\"},"
		    "\"spec\":{\"ports\":[{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":9376}],"
		    "\"selector\":{\"app\":\"MyApp\"}}},"
		    "{\"apiVersion\":\"v1\",\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"my-service\"},"
		    "\"subsets\":[{\"addresses\":[{\"ip\":\"192.0.2.42\"}],\"ports\":[{\"port\":9376}]}]},"
		    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"my-service\","
		    "\"namespace\":\"prod\"},\"spec\":{\"externalName\":\"my.database.example.com\","
		    "\"type\":\"ExternalName\"}}]");
	ASSERT_YAML("", "[]");
	ASSERT_YAML("---\n---\n", "[]");
	ASSERT_YAML("{\"kind\": \"Service\", \"n\": 1}", "[{\"kind\":\"Service\",\"n\":1}]");
}

TEST(codec_yaml_scalar_typing)
{
	/* goyaml.v2 booleans, including the YAML 1.1 words. */
	ASSERT_YAML("[true, True, TRUE, yes, Yes, on, ON, y, Y]",
		    "[[true,true,true,true,true,true,true,true,true]]");
	ASSERT_YAML("[false, no, NO, off, Off, n, N]", "[[false,false,false,false,false,false,false]]");
	ASSERT_YAML("[tRUE, yES, oN, nope, t, f]", "[[\"tRUE\",\"yES\",\"oN\",\"nope\",\"t\",\"f\"]]");
	ASSERT_YAML("a:\nb: ~\nc: null\nd: Null\ne: NULL\nf: nUll\n",
		    "[{\"a\":null,\"b\":null,\"c\":null,\"d\":null,\"e\":null,\"f\":\"nUll\"}]");
	ASSERT_YAML("[0, -7, +5, 1_000, 0x1F, 0o17, 017, 0b101, 08, 9223372036854775807]",
		    "[[0,-7,5,1000,31,15,15,5,8,9223372036854775807]]");
	ASSERT_YAML("[1.5, -0.25, .5, 1e3, 2.0, 1.5e-3, 1e400, 1.2.3, 0x]",
		    "[[1.5,-0.25,0.5,1000,2,0.0015,\"1e400\",\"1.2.3\",\"0x\"]]");
	/* Quoted, literal and !!str scalars stay strings. */
	ASSERT_YAML("[\"true\", 'yes', \"80\", '', !!str 12, \"null\"]",
		    "[[\"true\",\"yes\",\"80\",\"\",\"12\",\"null\"]]");
	/* Timestamps stay strings; IPs and versions are strings. */
	ASSERT_YAML("[2024-01-02, 2024-01-02T03:04:05Z, 10.0.0.1, 1.2.3.4/32, v1]",
		    "[[\"2024-01-02\",\"2024-01-02T03:04:05Z\",\"10.0.0.1\",\"1.2.3.4/32\",\"v1\"]]");
	ASSERT_YAML("a: .inf\n", "ERR: error converting YAML to JSON: json: unsupported value: +Inf");
	ASSERT_YAML("a: .nan\n", "ERR: error converting YAML to JSON: json: unsupported value: NaN");
}

TEST(codec_yaml_block_scalars)
{
	ASSERT_YAML(
	    "a: |\n  line1\n  line2\nb: |-\n  x\n  y\nc: >\n  folded\n  text\n\n  para\nd: |+\n  keep\n\ne: 1\n",
	    "[{\"a\":\"line1\\nline2\\n\",\"b\":\"x\\ny\",\"c\":\"folded text\\npara\\n\","
	    "\"d\":\"keep\\n\\n\",\"e\":1}]");
}

TEST(codec_yaml_keys)
{
	ASSERT_YAML("1: a\n0x10: b\nyes: c\n1.5: d\n\"2\": e\n",
		    "[{\"1\":\"a\",\"1.5\":\"d\",\"16\":\"b\",\"2\":\"e\",\"true\":\"c\"}]");
	ASSERT_YAML("~: a\n",
		    "ERR: error converting YAML to JSON: unsupported map key of type: %!s(<nil>) (line 1)");
	ASSERT_YAML("[a]: 1\n", "ERR: error converting YAML to JSON: yaml: line 1: invalid map key");
	ASSERT_YAML(
	    "a: 1\nb: 2\na: 3\n",
	    "ERR: error converting YAML to JSON: yaml: unmarshal errors:\n  line 3: key \"a\" already set in map");
}

TEST(codec_yaml_anchors_and_merge)
{
	ASSERT_YAML(
	    "base: &b {app: web, tier: x}\nsel: *b\nlist: [&n 5, *n]\n",
	    "[{\"base\":{\"app\":\"web\",\"tier\":\"x\"},\"list\":[5,5],\"sel\":{\"app\":\"web\",\"tier\":\"x\"}}]");
	ASSERT_YAML("d: &d {a: 1, b: 2}\ne:\n  <<: *d\n  b: 3\n",
		    "[{\"d\":{\"a\":1,\"b\":2},\"e\":{\"a\":1,\"b\":3}}]");
	ASSERT_YAML("a: *nope\n",
		    "ERR: error converting YAML to JSON: yaml: line 1: unknown anchor 'nope' referenced");
	ASSERT_YAML("a: &x 1\n---\nb: *x\n",
		    "ERR: error converting YAML to JSON: yaml: line 3: unknown anchor 'x' referenced");
}

TEST(codec_yaml_alias_bomb)
{
	const char *bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
			   "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
			   "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
			   "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
			   "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
			   "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
			   "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
			   "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
			   "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
	ASSERT_YAML(bomb, "ERR: error converting YAML to JSON: yaml: document contains excessive aliasing");
}

TEST(codec_yaml_errors)
{
	ASSERT_YAML(
	    "apiVersion: v1\nkind: Service\nmetadata: name: x\n",
	    "ERR: error converting YAML to JSON: yaml: line 3: mapping values are not allowed in this context");
	ASSERT_YAML("a:\n  - b\n  c: d\n",
		    "ERR: error converting YAML to JSON: yaml: line 2: did not find expected '-' indicator");
	ASSERT_YAML("a: \"unterminated\n",
		    "ERR: error converting YAML to JSON: yaml: line 2: found unexpected end of stream");
	ASSERT_YAML(
	    "a:\tb\n\tc: d\n",
	    "ERR: error converting YAML to JSON: yaml: line 2: found a tab character that violates indentation");
	char deep[512];
	size_t n = 0;
	for (int i = 0; i <= API_CODEC_MAX_DEPTH; i++)
		deep[n++] = '[';
	deep[n] = 0;
	ASSERT_YAML(deep, "ERR: error converting YAML to JSON: yaml: line 1: exceeded max depth of 100");
	/* Too many documents. */
	static const char doc[] = "---\na: 1\n";
	size_t dl = sizeof(doc) - 1, len = (API_CODEC_MAX_DOCS + 1) * dl;
	char *many = malloc(len + 1);
	for (size_t i = 0; i <= API_CODEC_MAX_DOCS; i++)
		memcpy(many + i * dl, doc, dl);
	many[len] = 0;
	char *got = yaml_json(many);
	ASSERT_STR_EQ(got, "ERR: error converting YAML to JSON: yaml: more than 1000 documents");
	free(got);
	free(many);
}

/* ---- YAML encode ---- */

TEST(codec_yaml_encode_service_golden)
{
	ASSERT_ENCODE(
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\","
	    "\"creationTimestamp\":\"2024-05-01T10:00:00Z\",\"resourceVersion\":\"12\",\"labels\":{\"app\":\"web\"},"
	    "\"annotations\":{\"note\":\"line1\\nline2\\n\"}},\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80,"
	    "\"protocol\":\"TCP\",\"targetPort\":8080},{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\","
	    "\"targetPort\":\"dns\"}],\"selector\":{\"app\":\"web\"},\"clusterIP\":\"10.96.0.10\",\"clusterIPs\":"
	    "[\"10.96.0.10\"],\"type\":\"ClusterIP\",\"sessionAffinity\":\"None\",\"publishNotReadyAddresses\":false},"
	    "\"status\":{\"loadBalancer\":{}}}",
	    "apiVersion: v1\n"
	    "kind: Service\n"
	    "metadata:\n"
	    "  annotations:\n"
	    "    note: |\n"
	    "      line1\n"
	    "      line2\n"
	    "  creationTimestamp: \"2024-05-01T10:00:00Z\"\n"
	    "  labels:\n"
	    "    app: web\n"
	    "  name: web\n"
	    "  namespace: default\n"
	    "  resourceVersion: \"12\"\n"
	    "spec:\n"
	    "  clusterIP: 10.96.0.10\n"
	    "  clusterIPs:\n"
	    "  - 10.96.0.10\n"
	    "  ports:\n"
	    "  - name: http\n"
	    "    port: 80\n"
	    "    protocol: TCP\n"
	    "    targetPort: 8080\n"
	    "  - name: dns\n"
	    "    port: 53\n"
	    "    protocol: UDP\n"
	    "    targetPort: dns\n"
	    "  publishNotReadyAddresses: false\n"
	    "  selector:\n"
	    "    app: web\n"
	    "  sessionAffinity: None\n"
	    "  type: ClusterIP\n"
	    "status:\n"
	    "  loadBalancer: {}\n");
}

TEST(codec_yaml_encode_quoting)
{
	ASSERT_ENCODE(
	    "{\"a\":\"true\",\"b\":\"80\",\"c\":\"\",\"d\":\" lead\",\"e\":\"trail \",\"f\":\"a: b\","
	    "\"g\":\"#x\",\"h\":\"a #b\",\"i\":\"*x\",\"j\":\"- x\",\"k\":\"yes\",\"l\":\"1:20\",\"m\":\"null\","
	    "\"n\":\"a:b\",\"o\":\"tab\\there\",\"p\":\"it's\",\"q\":\"~\",\"r\":\"1.5\",\"s\":\"0x1F\",\"t\":\"y\","
	    "\"u\":\"{x}\",\"v\":\"-\",\"w\":\"@x\",\"x\":\"a,b\",\"z\":\"ü ok\"}",
	    "a: \"true\"\n"
	    "b: \"80\"\n"
	    "c: \"\"\n"
	    "d: ' lead'\n"
	    "e: 'trail '\n"
	    "f: 'a: b'\n"
	    "g: '#x'\n"
	    "h: 'a #b'\n"
	    "i: '*x'\n"
	    "j: '- x'\n"
	    "k: \"yes\"\n"
	    "l: \"1:20\"\n"
	    "m: \"null\"\n"
	    "\"n\": a:b\n"
	    "o: \"tab\\there\"\n"
	    "p: it's\n"
	    "q: \"~\"\n"
	    "r: \"1.5\"\n"
	    "s: \"0x1F\"\n"
	    "t: \"y\"\n"
	    "u: '{x}'\n"
	    "v: '-'\n"
	    "w: '@x'\n"
	    "x: a,b\n"
	    "z: ü ok\n");
	ASSERT_ENCODE("{\"a\":\"x\\ny\",\"b\":\"x\\n\",\"c\":\"x\\n\\n\",\"d\":\" x\\ny\",\"e\":\"x \\ny\","
		      "\"f\":[\"p\\nq\"],\"g\":{\"k\\nl\":1},\"\":2,\"true\":3}",
		      "\"\": 2\n"
		      "a: |-\n  x\n  y\n"
		      "b: |\n  x\n"
		      "c: |+\n  x\n\n"
		      "d: |2-\n   x\n  y\n"
		      "e: \"x \\ny\"\n"
		      "f:\n- |-\n  p\n  q\n"
		      "g:\n  ? |-\n    k\n    l\n  : 1\n"
		      "\"true\": 3\n");
	ASSERT_ENCODE(
	    "[1, 1.5, 1e+21, 1000000.0, 0.0001, null, true, [], {}, [[1, 2], {\"a\": [3]}]]",
	    "- 1\n- 1.5\n- 1e+21\n- 1e+06\n- 0.0001\n- null\n- true\n- []\n- {}\n- - - 1\n    - 2\n  - a:\n    - 3\n");
	ASSERT_ENCODE("{\"<<\":\"x\"}", "\"<<\": x\n"); /* fuzz: a plain << would read back as a merge */
	ASSERT_ENCODE("{}", "{}\n");
	ASSERT_ENCODE("\"x\"", "x\n");
}

TEST(codec_yaml_encode_key_order)
{
	/* goyaml.v2: non-letters before letters, upper before lower, digit runs numerically. */
	ASSERT_ENCODE("{\"b\":1,\"a10\":2,\"a9\":3,\"B\":4,\"_x\":5,\"a\":6,\"x-1\":7,\"x.1\":8}",
		      "_x: 5\nB: 4\na: 6\na9: 3\na10: 2\nb: 1\nx-1: 7\nx.1: 8\n");
}

TEST(codec_yaml_encode_folds_long_lines)
{
	ASSERT_ENCODE(
	    "{\"description\":\"This is a very long description of a field that goes past the eighty column limit of goyaml\"}",
	    "description: This is a very long description of a field that goes past the eighty\n"
	    "  column limit of goyaml\n");
}

TEST(codec_yaml_round_trip_seed)
{
	char err[256];
	json_t *docs, *back;
	ASSERT_INT_EQ(api_yaml_decode(seed_stream, strlen(seed_stream), &docs, err, sizeof(err)), 0);
	size_t i;
	json_t *d;
	json_array_foreach(docs, i, d)
	{
		char *y = api_yaml_encode(d);
		ASSERT_INT_EQ(api_yaml_decode(y, strlen(y), &back, err, sizeof(err)), 0);
		ASSERT(json_equal(d, json_array_get(back, 0)));
		json_decref(back);
		free(y);
	}
	json_decref(docs);
}

/* ---- protobuf ---- */

/* kubectl 1.33 `create service clusterip cs1 --tcp=80:8080`, laid out as in
 * kubectl-surface.md 7.6 (every non-pointer field present, as gogo-protobuf writes it). */
static const unsigned char pb_cs1[] = {
    0x6b, 0x38, 0x73, 0x00,								     /* "k8s\0" */
    0x0a, 0x0d, 0x0a, 0x02, 'v',  '1',	0x12, 0x07, 'S',  'e',	'r',  'v',  'i',  'c',	'e', /* typeMeta */
    0x12, 0x69, /* raw, 105 bytes */
    0x0a, 0x1f, /* metadata */
    0x0a, 0x03, 'c',  's',  '1',  0x12, 0x00, 0x1a, 0x00, 0x22, 0x00, 0x2a, 0x00, 0x32, 0x00,
    0x38, 0x00, 0x42, 0x00, /* generation 0, creationTimestamp {} */
    0x5a, 0x0a, 0x0a, 0x03, 'a',  'p',	'p',  0x12, 0x03, 'c',	's',  '1', /* labels app=cs1 */
    0x12, 0x42,								   /* spec */
    0x0a, 0x1b,								   /* ports[0] */
    0x0a, 0x07, '8',  '0',  '-',  '8',	'0',  '8',  '0',  0x12, 0x03, 'T',  'C',  'P',	0x18,
    0x50, 0x22, 0x07, 0x08, 0x00, 0x10, 0x90, 0x3f, 0x1a, 0x00, /* targetPort {type 0, intVal 8080, ""} */
    0x28, 0x00,							/* nodePort 0 */
    0x12, 0x0a, 0x0a, 0x03, 'a',  'p',	'p',  0x12, 0x03, 'c',	's',  '1', /* selector */
    0x1a, 0x00, 0x22, 0x09, 'C',  'l',	'u',  's',  't',  'e',	'r',  'I',  'P',  0x3a, 0x00,
    0x42, 0x00, 0x52, 0x00, 0x5a, 0x00, 0x60, 0x00, 0x68, 0x00, 0x1a, 0x02, 0x0a, 0x00, /* status
											   {loadBalancer {}}
											 */
    0x1a, 0x00, 0x22, 0x00, /* contentEncoding, contentType */
};

static const char pb_cs1_json[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"labels\":{\"app\":\"cs1\"},\"name\":\"cs1\"},"
    "\"spec\":{\"ports\":[{\"name\":\"80-8080\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}],"
    "\"selector\":{\"app\":\"cs1\"},\"type\":\"ClusterIP\"},\"status\":{\"loadBalancer\":{}}}";

static int hexval(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Decodes a hex string into buf; returns the length. */
static size_t unhex(const char *h, unsigned char *buf)
{
	size_t n = 0;
	for (; h[0] && h[1]; h += 2)
		buf[n++] = (unsigned char)(hexval(h[0]) << 4 | hexval(h[1]));
	return n;
}

static char *proto_json(const unsigned char *b, size_t n, int *rc)
{
	char err[256];
	json_t *v = NULL;
	*rc = api_proto_decode(b, n, &v, err, sizeof(err));
	if (*rc)
		return strdup(err);
	char *s = canon(v);
	json_decref(v);
	return s;
}

TEST(codec_proto_service_clusterip)
{
	int rc;
	ASSERT_INT_EQ(sizeof(pb_cs1), 130);
	char *s = proto_json(pb_cs1, sizeof(pb_cs1), &rc);
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(s, pb_cs1_json);
	free(s);
}

TEST(codec_proto_service_nodeport_named_target)
{
	unsigned char b[256];
	size_t n = unhex("6b3873000a0d0a02763112075365727669636512700a1f0a036e703112001a0022002a0032003800420"
			 "05a0a0a0361707012036e703112490a230a09383038302d68747470120354435018903f220a08011000"
			 "1a04687474702880eb01120a0a0361707012036e70311a0022084e6f6465506f72743a00420052005a0"
			 "0600068001a020a001a002200",
			 b);
	int rc;
	char *s = proto_json(b, n, &rc);
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(
	    s, "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"labels\":{\"app\":\"np1\"},"
	       "\"name\":\"np1\"},\"spec\":{\"ports\":[{\"name\":\"8080-http\",\"nodePort\":30080,"
	       "\"port\":8080,\"protocol\":\"TCP\",\"targetPort\":\"http\"}],\"selector\":{\"app\":\"np1\"},"
	       "\"type\":\"NodePort\"},\"status\":{\"loadBalancer\":{}}}");
	free(s);
}

TEST(codec_proto_namespace)
{
	unsigned char b[128];
	size_t n =
	    unhex("6b3873000a0f0a02763112094e616d657370616365121b0a130a036e733112001a0022002a003200380042"
		  "0012001a020a001a002200",
		  b);
	int rc;
	char *s = proto_json(b, n, &rc);
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(
	    s,
	    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"ns1\"},\"spec\":{},\"status\":{}}");
	free(s);
}

TEST(codec_proto_ingress)
{
	unsigned char b[256];
	size_t n =
	    unhex("6b3873000a1f0a146e6574776f726b696e672e6b38732e696f2f76311207496e677265737312510a130a03"
		  "77656212001a0022002a0032003800420012361a2d0a07666f6f2e636f6d12220a200a1e0a042f62617212"
		  "0f220d0a047376633112050a0010903f1a05457861637422056e67696e781a020a001a002200",
		  b);
	int rc;
	char *s = proto_json(b, n, &rc);
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(
	    s,
	    "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{\"name\":\"web\"},"
	    "\"spec\":{\"ingressClassName\":\"nginx\",\"rules\":[{\"host\":\"foo.com\",\"http\":{\"paths\":"
	    "[{\"backend\":{\"service\":{\"name\":\"svc1\",\"port\":{\"number\":8080}}},\"path\":\"/bar\","
	    "\"pathType\":\"Exact\"}]}}]},\"status\":{\"loadBalancer\":{}}}");
	free(s);
}

TEST(codec_proto_truncated)
{
	/* Every cut before the end of raw is malformed, except the one right after typeMeta
	 * (a valid body with no raw). */
	size_t tm_end = 4 + 2 + pb_cs1[5];
	size_t raw_end = sizeof(pb_cs1) - 4;
	for (size_t n = 0; n < raw_end; n++) {
		int rc;
		char *s = proto_json(pb_cs1, n, &rc);
		if (n == tm_end)
			ASSERT_INT_EQ(rc, 0);
		else if (rc != -EBADMSG)
			t_fail(__FILE__, __LINE__, "prefix %zu: rc %d (%s)", n, rc, s);
		free(s);
	}
	for (size_t n = raw_end; n <= sizeof(pb_cs1); n++) {
		int rc;
		free(proto_json(pb_cs1, n, &rc));
		/* Cutting between the trailing fields is fine, inside one is not. */
		ASSERT_INT_EQ(rc, (n - raw_end) % 2 ? -EBADMSG : 0);
	}
	/* A length inside raw that overruns its message. */
	unsigned char b[sizeof(pb_cs1)];
	memcpy(b, pb_cs1, sizeof(b));
	b[22] = 0x7f; /* metadata length */
	int rc;
	char *s = proto_json(b, sizeof(b), &rc);
	ASSERT_INT_EQ(rc, -EBADMSG);
	ASSERT_STR_CONTAINS(s, "proto: ");
	free(s);
}

TEST(codec_proto_envelope_errors)
{
	int rc;
	unsigned char b[256];
	char *s = proto_json((const unsigned char *)"{\"kind\":1}", 10, &rc);
	ASSERT_INT_EQ(rc, -EBADMSG);
	free(s);
	/* Unknown kind: 415. */
	size_t n = unhex("6b3873000a0a0a0276311204466f6f6f1200", b);
	s = proto_json(b, n, &rc);
	ASSERT_INT_EQ(rc, ERR_UNSUPPORTED_MEDIA);
	ASSERT_STR_EQ(s, "no kind Fooo is registered for version v1 in protobuf bodies");
	free(s);
	/* Missing kind. */
	n = unhex("6b3873000a040a0276311200", b);
	s = proto_json(b, n, &rc);
	ASSERT_INT_EQ(rc, -EBADMSG);
	free(s);
	/* gzip contentEncoding is not supported. */
	n = unhex("6b3873000a0d0a02763112075365727669636512001a04677a6970", b);
	s = proto_json(b, n, &rc);
	ASSERT_INT_EQ(rc, ERR_UNSUPPORTED_MEDIA);
	free(s);
	/* A group (wire type 3) is malformed. */
	n = unhex("6b3873000a0d0a02763112075365727669636512001b", b);
	s = proto_json(b, n, &rc);
	ASSERT_INT_EQ(rc, -EBADMSG);
	free(s);
}

TEST(codec_proto_fields)
{
	unsigned char b[256];
	int rc;
	/* Service raw: spec { ports [{ port: -1 (10-byte varint), unknown fixed64 field 15,
	 * unknown fixed32 field 14 }], publishNotReadyAddresses true, ipFamilyPolicy "" (a pointer:
	 * kept), clusterIPs ["a","b"] }, metadata { annotations {x: ""}, creationTimestamp
	 * 2024-01-02T03:04:05Z }. */
	size_t n =
	    unhex("6b3873000a0d0a027631120753657276696365123d0a11420808a5facdac06100062050a0178120012280a19"
		  "18ffffffffffffffffff0179010203040506070875aabbccdd68018a01009201016192010162",
		  b);
	char *s = proto_json(b, n, &rc);
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(
	    s, "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"annotations\":{\"x\":\"\"},"
	       "\"creationTimestamp\":\"2024-01-02T03:04:05Z\"},\"spec\":{\"clusterIPs\":[\"a\",\"b\"],"
	       "\"ipFamilyPolicy\":\"\",\"ports\":[{\"port\":-1}],\"publishNotReadyAddresses\":true}}");
	free(s);
	/* A string field sent as a varint: wrong wire type. */
	n = unhex("6b3873000a0d0a02763112075365727669636512040a020801", b);
	s = proto_json(b, n, &rc);
	ASSERT_INT_EQ(rc, -EBADMSG);
	ASSERT_STR_EQ(s, "proto: wrong wireType = 0 for field name");
	free(s);
	/* An 11-byte varint. */
	n = unhex("6b3873000a0d0a0276311207536572766963651210120e0a0c18ffffffffffffffffffff01", b);
	s = proto_json(b, n, &rc);
	ASSERT_INT_EQ(rc, -EBADMSG);
	free(s);
}

TEST(codec_proto_unknown_nested_skipped)
{
	/* Unknown fields are skipped as bytes, without recursing into them, however deeply
	 * they nest. */
	unsigned char *b = malloc(4096);
	size_t n = 0;
	memcpy(b, "\x6b\x38\x73\x00\x0a\x0d\x0a\x02v1\x12\x07Service", 19);
	n = 19;
	b[n++] = 0x12;
	b[n++] = 100; /* raw length */
	for (int i = 0; i < 50; i++) {
		b[n++] = 0x7a; /* field 15, LEN */
		b[n++] = (unsigned char)(98 - 2 * i);
	}
	int rc;
	char *s = proto_json(b, n, &rc);
	ASSERT_INT_EQ(rc, 0);
	ASSERT_STR_EQ(s, "{\"apiVersion\":\"v1\",\"kind\":\"Service\"}");
	free(s);
	free(b);
}
