/* logs.c - `svcplane ctl logs`.
 *
 * It reads the pod first and chooses the container client-side as kubectl does (-c, else
 * the kubectl.kubernetes.io/default-container annotation, else the first container, saying
 * so on stderr when there were others), then streams the pods/log subresource to stdout
 * byte for byte, flushing each piece (follow).
 */
#include "cli/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "base/buf.h"
#include "base/mem.h"

static void usage_logs(FILE *f)
{
	fprintf(
	    f,
	    "usage: svcplane ctl logs [pod/]POD [CONTAINER] [flags]\n"
	    "  -c, --container NAME   the container (default: the pod's kubectl.kubernetes.io/default-container,\n"
	    "                         else its first container)\n"
	    "  -f, --follow           stream new output\n"
	    "  -p, --previous         the previous instance of the container\n"
	    "      --tail N           the last N lines (-1: all)\n"
	    "      --limit-bytes N    at most N bytes\n"
	    "      --since DURATION   only if written within DURATION (5s, 2m, 3h)\n"
	    "      --since-time TIME  only if written after TIME (RFC 3339)\n"
	    "      --timestamps       ask for timestamps (svcplane's nodes have none to give)\n"
	    "  -n, --namespace NS, --kubeconfig PATH, --context NAME, --request-timeout DURATION\n");
}

/* Go's time.ParseDuration, to seconds. Returns 0 or -EINVAL. */
static int go_duration(const char *s, double *out)
{
	static const struct {
		const char *unit;
		double secs;
	} units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"ms", 1e-3},
		     {"s", 1},	   {"m", 60},	 {"h", 3600}};
	const char *p = s;
	double total = 0, sign = 1;
	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	if (!strcmp(p, "0")) {
		*out = 0;
		return 0;
	}
	if (!*p)
		return -EINVAL;
	for (int guard = 0; *p && guard < 64; guard++) {
		char *end;
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return -EINVAL;
		double v = strtod(p, &end);
		if (end == p)
			return -EINVAL;
		p = end;
		size_t best = 0;
		double mul = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);
			if (l > best && !strncmp(p, units[i].unit, l)) {
				best = l;
				mul = units[i].secs;
			}
		}
		if (!best)
			return -EINVAL;
		p += best;
		total += v * mul;
	}
	if (*p)
		return -EINVAL;
	*out = sign * total;
	return 0;
}

/* kubectl's podcmd.AllContainerNames: "a, b, dbg (ephem), setup (init)". */
static char *all_container_names(const json_t *pod)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "");
	static const char *const fields[] = {"spec.containers", "spec.ephemeralContainers",
					     "spec.initContainers"};
	static const char *const suffix[] = {"", " (ephem)", " (init)"};
	for (int f = 0; f < 3; f++) {
		const char *dot = strchr(fields[f], '.');
		json_t *arr = json_object_get(json_object_get(pod, "spec"), dot + 1);
		size_t i;
		json_t *c;
		json_array_foreach(arr, i, c)
		{
			const char *n = api_str(c, "name");
			if (n)
				buf_printf(&b, "%s%s%s", b.len ? ", " : "", n, suffix[f]);
		}
	}
	return buf_take(&b);
}

static bool pod_has_container(const json_t *pod, const char *name)
{
	static const char *const fields[] = {"containers", "initContainers", "ephemeralContainers"};
	for (int f = 0; f < 3; f++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(json_object_get(pod, "spec"), fields[f]), i, c)
		{
			const char *n = api_str(c, "name");
			if (n && !strcmp(n, name))
				return true;
		}
	}
	return false;
}

static int write_out(void *ud, const char *data, size_t len)
{
	(void)ud;
	if (fwrite(data, 1, len, stdout) != len)
		return 1; /* stdout closed (a pipe to head): stop */
	fflush(stdout);
	return 0;
}

static int run_logs(const struct cli_flags *f, int argc, char **argv)
{
	const char *container = f->container, *since = f->since, *since_time = f->since_time;
	bool follow = f->follow, previous = f->previous, timestamps = f->timestamps,
	     insecure_backend = f->insecure_backend;
	long long tail = f->tail, limit_bytes = f->limit_bytes;
	double since_s = 0;
	if (since && go_duration(since, &since_s) < 0) {
		fprintf(stderr,
			"error: invalid argument \"%s\" for \"--since\" flag: time: invalid duration \"%s\"\n"
			"See 'svcplane ctl logs --help' for usage.\n",
			since, since);
		return 1;
	}
	const char *pod_arg = argc > 0 ? argv[0] : NULL;
	if (!pod_arg || argc > 2) {
		fprintf(stderr, "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"
				"POD or TYPE/NAME is a required argument for the logs command\n"
				"See 'svcplane ctl logs -h' for help and examples\n");
		return 1;
	}
	if (argc == 2) {
		if (container) {
			fprintf(stderr, "error: only one of -c or an inline [CONTAINER] arg is allowed\n");
			return 1;
		}
		container = argv[1];
	}
	/* kubectl's Validate */
	if (limit_bytes < 0) {
		fprintf(stderr, "error: --limit-bytes must be greater than 0\n");
		return 1;
	}
	if (tail < -1) {
		fprintf(stderr, "error: --tail must be greater than or equal to -1\n");
		return 1;
	}
	if (since && since_time) {
		fprintf(stderr, "error: at most one of `sinceTime` or `sinceSeconds` may be specified\n");
		return 1;
	}
	if (since_s < 0) {
		fprintf(stderr, "error: --since must be greater than 0\n");
		return 1;
	}
	const char *name = pod_arg;
	const char *slash = strchr(pod_arg, '/');
	if (slash) {
		size_t tl = (size_t)(slash - pod_arg);
		if (!((tl == 3 && !strncmp(pod_arg, "pod", 3)) || (tl == 4 && !strncmp(pod_arg, "pods", 4)) ||
		      (tl == 2 && !strncmp(pod_arg, "po", 2)))) {
			fprintf(stderr, "error: svcplane ctl logs takes pods only, not %.*s\n", (int)tl,
				pod_arg);
			return 1;
		}
		name = slash + 1;
	}
	if (!*name) {
		fprintf(stderr, "error: a pod name is required\n");
		return 1;
	}
	struct cli_ctl c;
	if (cli__open(&c, f))
		return 1;
	const struct api_kind *pk = cli__resolve_type("pods");
	char *path = cli__path(pk, c.ns, name);
	json_t *pod = NULL;
	struct client_apierr ae;
	int rc = cli__call(&c, "GET", path, NULL, NULL, NULL, &pod, &ae);
	free(path);
	if (rc == 1)
		cli__errs_add_api(&c.errs, &ae);
	if (rc != 0)
		return cli__finish(&c);
	/* The container, chosen client-side as kubectl's logsForObject does. */
	char *chosen = container ? xstrdup(container) : NULL;
	if (!chosen) {
		json_t *ann = json_object_get(json_object_get(pod, "metadata"), "annotations");
		json_t *dv = json_object_get(ann, "kubectl.kubernetes.io/default-container");
		const char *def = json_is_string(dv) ? json_string_value(dv) : NULL;
		if (def && *def) {
			if (pod_has_container(pod, def))
				chosen = xstrdup(def);
			else
				fprintf(stderr, "Default container name \"%s\" not found in pod %s\n", def,
					name);
		}
	}
	if (!chosen) {
		json_t *spec = json_object_get(pod, "spec");
		json_t *cs = json_object_get(spec, "containers");
		const char *first = api_str(json_array_get(cs, 0), "name");
		if (first) {
			chosen = xstrdup(first);
			if (json_array_size(cs) > 1 ||
			    json_array_size(json_object_get(spec, "initContainers")) ||
			    json_array_size(json_object_get(spec, "ephemeralContainers"))) {
				char *all = all_container_names(pod);
				fprintf(stderr, "Defaulted container \"%s\" out of: %s\n", first, all);
				free(all);
			}
		}
	}
	json_decref(pod);
	struct buf q;
	buf_init(&q);
	if (chosen) {
		char *e = client_escape(chosen);
		buf_printf(&q, "&container=%s", e);
		free(e);
	}
	if (follow)
		buf_puts(&q, "&follow=true");
	if (previous)
		buf_puts(&q, "&previous=true");
	if (timestamps)
		buf_puts(&q, "&timestamps=true");
	if (insecure_backend)
		buf_puts(&q, "&insecureSkipTLSVerifyBackend=true");
	if (since)
		buf_printf(&q, "&sinceSeconds=%lld", (long long)(since_s + 0.5)); /* Round(time.Second) */
	if (since_time) {
		char *e = client_escape(since_time);
		buf_printf(&q, "&sinceTime=%s", e);
		free(e);
	}
	if (tail >= 0)
		buf_printf(&q, "&tailLines=%lld", tail);
	if (limit_bytes > 0)
		buf_printf(&q, "&limitBytes=%lld", limit_bytes);
	char *base = cli__path(pk, c.ns, name);
	char *full = xasprintf("%s/log%s%s", base, q.len ? "?" : "", q.len ? q.data + 1 : "");
	long status = 0;
	char err[1024] = "";
	struct client_apierr se;
	memset(&se, 0, sizeof(se));
	rc = client_stream_ae(c.cl, full, write_out, NULL, NULL, &status, &se, err, sizeof(err));
	fflush(stdout);
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		c.fatal = true;
	} else if (status < 200 || status > 299) {
		cli__errs_add_api(&c.errs, &se);
	}
	free(full);
	free(base);
	buf_fini(&q);
	free(chosen);
	return cli__finish(&c);
}

static const struct cli_opt logs_opts[] = {
    CLI_OPT("container", 'c', CLI_OPT_STR, container),
    CLI_OPT("follow", 'f', CLI_OPT_BOOL, follow),
    CLI_OPT("previous", 'p', CLI_OPT_BOOL, previous),
    CLI_OPT("tail", 0, CLI_OPT_INT, tail),
    CLI_OPT("limit-bytes", 0, CLI_OPT_INT, limit_bytes),
    CLI_OPT("since", 0, CLI_OPT_STR, since),
    CLI_OPT("since-time", 0, CLI_OPT_STR, since_time),
    CLI_OPT("timestamps", 0, CLI_OPT_BOOL, timestamps),
    CLI_OPT("insecure-skip-tls-verify-backend", 0, CLI_OPT_BOOL, insecure_backend),
    {0},
};

const struct cli_cmd cli__cmd_logs = {"logs", run_logs, usage_logs, logs_opts};
