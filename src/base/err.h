/* err.h - error codes: negative errno values plus project codes below -1000, defined once.
 *
 * Functions return 0 or a negative code. err_str() gives the human text; err_http() and
 * err_reason() give the HTTP status and the Kubernetes Status `reason` that the API server
 * answers with, so every layer speaks the same codes (like Knot's errcode.h).
 */
#ifndef BASE_ERR_H
#define BASE_ERR_H

enum {
	ERR_INVALID = -1001,	       /* 422 Invalid: field errors */
	ERR_EXPIRED = -1002,	       /* 410 Expired: revision compacted */
	ERR_UNSUPPORTED_MEDIA = -1003, /* 415 UnsupportedMediaType */
	ERR_UNAUTHORIZED = -1004,      /* 401 Unauthorized */
	ERR_METHOD = -1005,	       /* 405 MethodNotAllowed */
	ERR_NOT_ACCEPTABLE = -1006,    /* 406 NotAcceptable */
	ERR_FULL = -1007,	       /* allocation range exhausted */
	ERR_CONFLICT = -1008,	       /* 409 Conflict (generic, e.g. SSA field manager conflict) */
	ERR_TOO_MANY = -1009,	       /* 429 TooManyRequests */
	ERR_UNAVAILABLE = -1010,       /* 503 ServiceUnavailable */
};

const char *err_str(int code);
int err_http(int code);
const char *err_reason(int code);

#endif
