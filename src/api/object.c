/* object.c - JSON object helpers, time and uid formatting, field errors and name rules. */
#include "api/object.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/buf.h"
#include "base/cidr.h"
#include "base/mem.h"

json_t *api_get(const json_t *obj, const char *path)
{
	char part[256];
	const json_t *cur = obj;
	while (cur && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = 0;
		if (!json_is_object(cur))
			return NULL;
		cur = json_object_get(cur, part);
		path += n + (dot ? 1 : 0);
	}
	return (json_t *)cur;
}

const char *api_str(const json_t *obj, const char *path)
{
	return json_string_value(api_get(obj, path));
}

json_t *api_obj(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(obj, key, v);
	}
	return v;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **api_sorted_keys(const json_t *obj, size_t *n)
{
	size_t len = json_is_object(obj) ? json_object_size(obj) : 0, i = 0;
	const char **keys = xcalloc(len + 1, sizeof(*keys));
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
	xqsort(keys, len, sizeof(*keys), cmp_key);
	if (n)
		*n = len;
	return keys;
}

char *api_format_labels(const json_t *labels, const char *sep, const char *none)
{
	size_t n;
	const char **keys = api_sorted_keys(labels, &n);
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s=%s", i ? sep : "", keys[i],
			   json_string_value(json_object_get(labels, keys[i])) ?: "");
	free(keys);
	if (n == 0)
		buf_puts(&b, none);
	return buf_take(&b);
}

json_t *api_json_strv(const char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *api_array_find(const json_t *arr, const char *path, const char *value, size_t *index)
{
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o)
	{
		if (!strcmp(api_str(o, path) ?: "", value)) {
			if (index)
				*index = i;
			return o;
		}
	}
	return NULL;
}

const json_t *api_condition(const json_t *obj, const char *type)
{
	return api_array_find(api_get(obj, "status.conditions"), "type", type, NULL);
}

bool api_condition_true(const json_t *obj, const char *type)
{
	return !strcmp(api_str(api_condition(obj, type), "status") ?: "", "True");
}

const char *api_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

const char *api_now_micro(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06ldZ", ts.tv_nsec / 1000);
	return buf;
}

json_t *api_event_new(const json_t *obj, const char *kind, const char *field_path, const char *component,
		      const char *host, const char *type, const char *reason, const char *message)
{
	char now[40], name[320];
	struct timespec ts;
	api_now(now, sizeof(now));
	clock_gettime(CLOCK_REALTIME, &ts);
	const char *ns = api_str(obj, "metadata.namespace");
	const char *oname = api_str(obj, "metadata.name");
	snprintf(name, sizeof(name), "%.250s.%llx", oname ? oname : "object",
		 (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec);
	json_t *io =
	    json_pack("{s:s, s:s, s:s}", "kind", kind, "apiVersion", "v1", "name", oname ? oname : "");
	if (ns)
		json_object_set_new(io, "namespace", json_string(ns));
	const char *uid = api_str(obj, "metadata.uid"), *rv = api_str(obj, "metadata.resourceVersion");
	if (uid)
		json_object_set_new(io, "uid", json_string(uid));
	if (rv)
		json_object_set_new(io, "resourceVersion", json_string(rv));
	if (field_path)
		json_object_set_new(io, "fieldPath", json_string(field_path));
	json_t *src = json_pack("{s:s}", "component", component);
	if (host)
		json_object_set_new(src, "host", json_string(host));
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:s, s:i, s:s, s:o, s:s, s:s}",
			 "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace",
			 ns ? ns : "default", "involvedObject", io, "reason", reason, "message", message,
			 "firstTimestamp", now, "lastTimestamp", now, "count", 1, "type", type, "source", src,
			 "reportingComponent", component, "reportingInstance", host ? host : component);
}

int64_t api_time_parse(const char *s)
{
	if (!s)
		return -1;
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p))
			p++;
	}
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -1;
		off = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	return (int64_t)timegm(&tm) - off;
}

void api_human_duration(int64_t seconds, char *buf, size_t len)
{
	/* k8s.io/apimachinery/pkg/util/duration.HumanDuration */
	int64_t s = seconds;
	if (s < -1) {
		snprintf(buf, len, "<invalid>");
		return;
	}
	if (s < 0)
		s = 0;
	if (s < 120) {
		snprintf(buf, len, "%llds", (long long)s);
		return;
	}
	int64_t minutes = s / 60;
	if (minutes < 10) {
		if (s % 60 == 0)
			snprintf(buf, len, "%lldm", (long long)minutes);
		else
			snprintf(buf, len, "%lldm%llds", (long long)minutes, (long long)(s % 60));
		return;
	}
	if (minutes < 180) {
		snprintf(buf, len, "%lldm", (long long)minutes);
		return;
	}
	int64_t hours = s / 3600;
	if (hours < 8) {
		if (minutes % 60 == 0)
			snprintf(buf, len, "%lldh", (long long)hours);
		else
			snprintf(buf, len, "%lldh%lldm", (long long)hours, (long long)(minutes % 60));
	} else if (hours < 48) {
		snprintf(buf, len, "%lldh", (long long)hours);
	} else if (hours < 24 * 8) {
		if (hours % 24 == 0)
			snprintf(buf, len, "%lldd", (long long)(hours / 24));
		else
			snprintf(buf, len, "%lldd%lldh", (long long)(hours / 24), (long long)(hours % 24));
	} else if (hours < 24 * 365 * 2) {
		snprintf(buf, len, "%lldd", (long long)(hours / 24));
	} else if (hours < 24 * 365 * 8) {
		int64_t dy = (hours / 24) % 365;
		if (dy == 0)
			snprintf(buf, len, "%lldy", (long long)(hours / 24 / 365));
		else
			snprintf(buf, len, "%lldy%lldd", (long long)(hours / 24 / 365), (long long)dy);
	} else {
		snprintf(buf, len, "%lldy", (long long)(hours / 24 / 365));
	}
}

void api_uuid(char *buf, size_t len)
{
	unsigned char b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		for (int i = 0; i < 16; i++)
			b[i] = (unsigned char)rand();
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

void api_errs_init(struct api_errs *e)
{
	e->causes = json_array();
}

void api_errs_fini(struct api_errs *e)
{
	json_decref(e->causes);
	e->causes = NULL;
}

size_t api_errs_count(const struct api_errs *e)
{
	return json_array_size(e->causes);
}

static void add(struct api_errs *e, const char *reason, const char *field, char *msg_take)
{
	json_array_append_new(
	    e->causes, json_pack("{s:s, s:s, s:s}", "reason", reason, "message", msg_take, "field", field));
	free(msg_take);
}

/* Go's %#v of the value, which is what field.Invalid prints. */
static char *value_text(const json_t *v)
{
	if (!v)
		return xstrdup("\"\"");
	if (json_is_string(v)) {
		char *s = json_dumps(v, JSON_ENCODE_ANY);
		return s ? s : xstrdup("\"\"");
	}
	if (json_is_null(v))
		return xstrdup("null");
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	return s ? s : xstrdup("null");
}

void api_err_required(struct api_errs *e, const char *field, const char *detail)
{
	add(e, "FieldValueRequired", field,
	    detail && *detail ? xasprintf("Required value: %s", detail) : xstrdup("Required value"));
}

void api_err_invalid(struct api_errs *e, const char *field, const json_t *value, const char *detail)
{
	char *v = value_text(value);
	add(e, "FieldValueInvalid", field,
	    detail && *detail ? xasprintf("Invalid value: %s: %s", v, detail)
			      : xasprintf("Invalid value: %s", v));
	free(v);
}

void api_err_invalid_text(struct api_errs *e, const char *field, const char *value_text, const char *detail)
{
	add(e, "FieldValueInvalid", field, xasprintf("Invalid value: %s: %s", value_text, detail));
}

void api_err_not_supported(struct api_errs *e, const char *field, const json_t *value,
			   const char *const *supported)
{
	struct buf b;
	buf_init(&b);
	char *v = value_text(value);
	buf_printf(&b, "Unsupported value: %s", v);
	free(v);
	if (supported && supported[0]) {
		buf_puts(&b, ": supported values: ");
		for (size_t i = 0; supported[i]; i++)
			buf_printf(&b, "%s\"%s\"", i ? ", " : "", supported[i]);
	}
	add(e, "FieldValueNotSupported", field, buf_take(&b));
}

void api_err_forbidden(struct api_errs *e, const char *field, const char *detail)
{
	add(e, "FieldValueForbidden", field,
	    detail && *detail ? xasprintf("Forbidden: %s", detail) : xstrdup("Forbidden"));
}

void api_err_duplicate(struct api_errs *e, const char *field, const json_t *value)
{
	char *v = value_text(value);
	add(e, "FieldValueDuplicate", field, xasprintf("Duplicate value: %s", v));
	free(v);
}

void api_err_too_long(struct api_errs *e, const char *field, size_t max)
{
	add(e, "FieldValueTooLong", field, xasprintf("Too long: may not be more than %zu bytes", max));
}

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool label_ok(const char *s, size_t n, bool first_alpha)
{
	if (n == 0 || n > 63)
		return false;
	if (first_alpha ? !(s[0] >= 'a' && s[0] <= 'z') : !is_alnum_lower(s[0]))
		return false;
	if (!is_alnum_lower(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum_lower(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* NULL when s is a label of at most 63 characters (alpha_first: starting with a letter);
 * else why not, msg when the characters are wrong. */
static const char *check_label(const char *s, bool alpha_first, const char *msg)
{
	size_t n = strlen(s);
	if (n > 63)
		return "must be no more than 63 characters";
	return label_ok(s, n, alpha_first) ? NULL : msg;
}

const char *api_check_dns1123_label(const char *s)
{
	return check_label(
	    s, false,
	    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
	    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
	    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
}

const char *api_check_dns1035_label(const char *s)
{
	return check_label(
	    s, true,
	    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
	    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
	    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')");
}

const char *api_check_dns1123_subdomain(const char *s)
{
	size_t n = strlen(s);
	if (n > 253)
		return "must be no more than 253 characters";
	const char *msg =
	    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
	    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
	    "regex used for validation is "
	    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
	if (n == 0)
		return msg;
	const char *p = s;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		/* Labels inside a subdomain are not limited to 63 by this rule, only the total. */
		if (len == 0 || !is_alnum_lower(p[0]) || !is_alnum_lower(p[len - 1]))
			return msg;
		for (size_t i = 0; i < len; i++)
			if (!is_alnum_lower(p[i]) && p[i] != '-')
				return msg;
		if (!dot)
			break;
		p = dot + 1;
		if (!*p)
			return msg;
	}
	return NULL;
}

const char *api_check_iana_svc_name(const char *s)
{
	size_t n = strlen(s);
	if (n > 15)
		return "must be no more than 15 characters";
	bool letter = false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!is_alnum_lower(c) && c != '-')
			return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
		if (c == '-' && i + 1 < n && s[i + 1] == '-')
			return "must not contain consecutive hyphens";
		if (c >= 'a' && c <= 'z')
			letter = true;
	}
	if (n == 0 || !letter)
		return "must contain at least one letter (a-z)";
	if (s[0] == '-' || s[n - 1] == '-')
		return "must not begin or end with a hyphen";
	return NULL;
}

static bool qname_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

static const char *qname_part(const char *s, size_t n)
{
	if (n == 0)
		return "name part must be non-empty";
	if (n > 63)
		return "name part must be no more than 63 characters";
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!qname_char(s[i]))
			goto bad;
	return NULL;
bad:
	return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
	       "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation "
	       "is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
}

const char *api_check_qualified_name(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash)
		return qname_part(s, strlen(s));
	if (strchr(slash + 1, '/'))
		return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start "
		       "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
		       "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS "
		       "subdomain prefix and '/' (e.g. 'example.com/MyName')";
	char *prefix = xstrndup(s, (size_t)(slash - s));
	const char *m = prefix[0] ? api_check_dns1123_subdomain(prefix) : "prefix part must be non-empty";
	free(prefix);
	if (m)
		return m[0] == 'p'
			   ? m
			   : "prefix part a lowercase RFC 1123 subdomain must consist of lower case "
			     "alphanumeric characters, '-' or '.', and must start and end with an "
			     "alphanumeric character (e.g. 'example.com', regex used for validation is "
			     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
	return qname_part(slash + 1, strlen(slash + 1));
}

static const char *label_value_msg(const char *v)
{
	size_t n = strlen(v);
	if (n == 0)
		return NULL;
	if (n > 63)
		return "must be no more than 63 characters";
	if (qname_part(v, n))
		return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
		       "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value', "
		       " or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
	return NULL;
}

/* One entry of a labels or annotations map: checked is the key as the rule sees it (a
 * qualified name); the value must be a string. True when it is one. */
static bool map_entry_ok(struct api_errs *e, const char *field, const char *key, const char *checked,
			 const json_t *v)
{
	const char *m = api_check_qualified_name(checked);
	if (m) {
		json_t *kv = json_string(key);
		api_err_invalid(e, field, kv, m);
		json_decref(kv);
	}
	if (json_is_string(v))
		return true;
	char *f = xasprintf("%s.%s", field, key);
	api_err_invalid(e, f, v, "must be a string");
	free(f);
	return false;
}

void api_validate_annotations(const json_t *ann, const char *field, struct api_errs *e)
{
	if (!ann || json_is_null(ann))
		return;
	if (!json_is_object(ann)) {
		api_err_invalid(e, field, ann, "must be a map of strings");
		return;
	}
	size_t total = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)ann, k, v)
	{
		/* The rule is QualifiedName except that case does not matter. */
		char *lower = xstrdup(k);
		for (char *p = lower; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		bool str = map_entry_ok(e, field, k, lower, v);
		free(lower);
		if (str)
			total += strlen(k) + json_string_length(v);
	}
	if (total > API_ANNOTATIONS_MAX)
		api_err_too_long(e, field, API_ANNOTATIONS_MAX);
}

static size_t str_size(const char *s, size_t n)
{
	size_t t = 2;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		t += c == '"' || c == '\\' ? 2 : c < 0x20 ? 6 : 1;
	}
	return t;
}

static void size_walk(const json_t *v, size_t limit, size_t *t, int depth)
{
	if (*t > limit)
		return;
	if (depth > 10000) {
		*t = limit + 1;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		*t += json_object_size(v) ? 1 : 2; /* braces, and n-1 commas counted below */
		json_object_foreach((json_t *)v, k, x)
		{
			*t += str_size(k, strlen(k)) + 2;
			size_walk(x, limit, t, depth + 1);
			if (*t > limit)
				return;
		}
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;
		*t += json_array_size(v) ? 1 : 2;
		json_array_foreach(v, i, x)
		{
			*t += 1;
			size_walk(x, limit, t, depth + 1);
			if (*t > limit)
				return;
		}
		break;
	}
	case JSON_STRING:
		*t += str_size(json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER: {
		char num[32];
		*t += (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	}
	case JSON_REAL:
		*t += 24;
		break;
	case JSON_FALSE:
		*t += 5;
		break;
	default: /* null, true */
		*t += 4;
		break;
	}
}

size_t api_json_size_max(const json_t *v, size_t limit)
{
	size_t t = 0;
	if (v)
		size_walk(v, limit, &t, 0);
	return t;
}

void api_validate_labels(const json_t *labels, const char *field, struct api_errs *e)
{
	if (!labels || json_is_null(labels))
		return;
	if (!json_is_object(labels)) {
		api_err_invalid(e, field, labels, "must be a map of strings");
		return;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)labels, k, v)
	{
		if (!map_entry_ok(e, field, k, k, v))
			continue;
		const char *m = label_value_msg(json_string_value(v));
		if (m) {
			api_err_invalid(e, field, v, m);
		}
	}
}

int api_ip_family(const char *s)
{
	unsigned char b[16];
	if (!s)
		return 0;
	if (inet_pton(AF_INET, s, b) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, b) == 1)
		return 6;
	return 0;
}

static void invalid_ip(struct api_errs *e, const char *field, const char *ip, const char *detail)
{
	json_t *v = json_string(ip);
	api_err_invalid(e, field, v, detail);
	json_decref(v);
}

void api_validate_non_special_ip(const char *s, const char *field, struct api_errs *e)
{
	struct ip_addr ip;
	if (!s || ip_parse(s, &ip) < 0) {
		invalid_ip(e, field, s ? s : "", "must be a valid IP address");
		return;
	}
	if (ip_is_unspecified(&ip)) {
		char *m = xasprintf("may not be unspecified (%s)", s);
		invalid_ip(e, field, s, m);
		free(m);
	}
	if (ip_is_loopback(&ip))
		invalid_ip(e, field, s, "may not be in the loopback range (127.0.0.0/8, ::1/128)");
	if (ip_is_link_local_unicast(&ip))
		invalid_ip(e, field, s, "may not be in the link-local range (169.254.0.0/16, fe80::/10)");
	if (ip_is_link_local_multicast(&ip))
		invalid_ip(e, field, s,
			   "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)");
}

void api_endpointslice_compact(json_t *slice)
{
	size_t i;
	json_t *ep;
	json_t *meta = json_object_get(slice, "metadata");
	static const char *const meta_drop[] = {"uid", "creationTimestamp", "generation", "ownerReferences"};
	for (size_t k = 0; k < sizeof(meta_drop) / sizeof(meta_drop[0]); k++)
		json_object_del(meta, meta_drop[k]);
	json_array_foreach(json_object_get(slice, "endpoints"), i, ep)
	{
		json_object_del(ep, "targetRef");
		json_object_del(ep, "deprecatedTopology");
		json_t *c = json_object_get(ep, "conditions");
		if (!json_is_object(c))
			continue;
		json_t *ready = json_object_get(c, "ready"), *serving = json_object_get(c, "serving");
		bool ready_true = !ready || json_is_true(ready);
		if (json_is_true(serving) && ready_true)
			json_object_del(c, "serving");
		if (json_is_true(ready))
			json_object_del(c, "ready");
		if (json_is_false(json_object_get(c, "terminating")))
			json_object_del(c, "terminating");
		if (json_object_size(c) == 0)
			json_object_del(ep, "conditions");
	}
}
