/* err.c - the one table of error codes, their text, HTTP status and Kubernetes reason. */
#include "base/err.h"

#include <errno.h>
#include <string.h>

static const struct {
	int code;
	int http;
	const char *reason;
	const char *text;
} table[] = {
    {-ENOENT, 404, "NotFound", "not found"},
    {-EEXIST, 409, "AlreadyExists", "already exists"},
    {-ESTALE, 409, "Conflict", "the object has been modified"},
    {ERR_CONFLICT, 409, "Conflict", "conflict"},
    {-EBADMSG, 400, "BadRequest", "malformed input"},
    {-EINVAL, 400, "BadRequest", "invalid argument"},
    {ERR_INVALID, 422, "Invalid", "invalid object"},
    {ERR_EXPIRED, 410, "Expired", "too old resource version"},
    {-E2BIG, 413, "RequestEntityTooLarge", "request entity too large"},
    {ERR_UNSUPPORTED_MEDIA, 415, "UnsupportedMediaType", "unsupported media type"},
    {ERR_UNAUTHORIZED, 401, "Unauthorized", "Unauthorized"},
    {-EACCES, 403, "Forbidden", "forbidden"},
    {ERR_METHOD, 405, "MethodNotAllowed", "method not allowed"},
    {ERR_NOT_ACCEPTABLE, 406, "NotAcceptable", "not acceptable"},
    {ERR_FULL, 500, "InternalError", "range is full"},
    {ERR_TOO_MANY, 429, "TooManyRequests", "too many requests"},
    {ERR_UNAVAILABLE, 503, "ServiceUnavailable", "service unavailable"},
    {-ETIMEDOUT, 504, "Timeout", "timed out"},
};

static int find(int code)
{
	for (unsigned i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].code == code)
			return (int)i;
	return -1;
}

const char *err_str(int code)
{
	int i = find(code);
	if (i >= 0)
		return table[i].text;
	if (code < 0 && code > -1000)
		return strerror(-code);
	return "unknown error";
}

int err_http(int code)
{
	int i = find(code);
	return i >= 0 ? table[i].http : 500;
}

const char *err_reason(int code)
{
	int i = find(code);
	return i >= 0 ? table[i].reason : "InternalError";
}
