/* images.c - built-in entrypoints of tutorial images (see images.h).
 *
 * luksa/kubia (Kubernetes in Action, the seeds' ReplicationController) is a Node.js
 * server on :8080 answering every request with "You've hit <hostname>\n"; here the same
 * behaviour in Python 3 (which the project's nodes have). luksa/kubia-unhealthy answers
 * 500 from the sixth request on, as the book's liveness example does.
 */
#include "node/images.h"

#include <string.h>

#define KUBIA_PY(fail_after)                                                                                 \
	"import http.server, socket\n"                                                                       \
	"n = 0\n"                                                                                            \
	"class H(http.server.BaseHTTPRequestHandler):\n"                                                     \
	"    def do_GET(self):\n"                                                                            \
	"        global n\n"                                                                                 \
	"        n += 1\n"                                                                                   \
	"        if " fail_after " and n > " fail_after ":\n"                                                \
	"            self.send_response(500); self.end_headers()\n"                                          \
	"            self.wfile.write(b'I\\'m not well. Please restart me!'); return\n"                      \
	"        self.send_response(200); self.end_headers()\n"                                              \
	"        self.wfile.write((\"You've hit %s\\n\" % socket.gethostname()).encode())\n"                 \
	"    def log_message(self, *a): pass\n"                                                              \
	"print('Kubia server starting...', flush=True)\n"                                                    \
	"http.server.HTTPServer(('', 8080), H).serve_forever()\n"

static const char *const kubia[] = {"python3", "-c", KUBIA_PY("0"), NULL};
static const char *const kubia_unhealthy[] = {"python3", "-c", KUBIA_PY("5"), NULL};

static const struct {
	const char *repo;
	const char *const *argv;
} table[] = {
    {"luksa/kubia", kubia},
    {"luksa/kubia-unhealthy", kubia_unhealthy},
};

const char *const *node_image_entrypoint(const char *image)
{
	if (!image)
		return NULL;
	/* Drop a registry ("docker.io/") and a tag or digest. */
	if (!strncmp(image, "docker.io/", 10))
		image += 10;
	size_t n = strcspn(image, ":@");
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strlen(table[i].repo) == n && !strncmp(table[i].repo, image, n))
			return table[i].argv;
	return NULL;
}
