/* execctx.c - the running containers' process contexts, for exec sessions.
 *
 * The runtime (node/runtime.h) belongs to the agent thread, and exec sessions run on the
 * log server's connection threads: so after each pass of its loop the agent thread
 * publishes, under exec_mu, "ns/pod/container" -> {pid, run, cwd, env} for every running
 * container (an entry is rebuilt only when its pid or run changed), and a session copies
 * its entry out under the same lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/object.h"
#include "base/mem.h"
#include "node/execsrv.h"
#include "node/podctx.h"
#include "node/runtime.h"

static json_t *entry(const struct node_rt_proc *pr)
{
	json_t *env = json_array();
	for (char *const *e = pr->env; e && *e; e++)
		json_array_append_new(env, json_string(*e));
	return json_pack("{s:I, s:i, s:s, s:o}", "pid", (json_int_t)pr->pid, "run", pr->run_id, "cwd",
			 pr->cwd ? pr->cwd : "/", "env", env);
}

void node__exec_publish(struct node_agent *a)
{
	json_t *tab = json_object();
	pthread_mutex_lock(&a->exec_mu);
	json_t *old = a->exec_tab;
	pthread_mutex_unlock(&a->exec_mu);
	for (struct apod *p = a->list; p; p = p->next) {
		json_t *cs = json_object_get(json_object_get(p->pod, "spec"), "containers");
		size_t i;
		json_t *c;
		json_array_foreach(cs, i, c)
		{
			const char *name = api_str(c, "name");
			struct node_rt_proc pr;
			if (!name || !p->ns || !p->name ||
			    node_rt_container_proc(a->rt, p->uid, name, &pr) < 0 || pr.pid <= 0)
				continue;
			char *key = xasprintf("%s/%s/%s", p->ns, p->name, name);
			json_t *was = json_object_get(old, key);
			if (was && json_integer_value(json_object_get(was, "pid")) == pr.pid &&
			    json_integer_value(json_object_get(was, "run")) == pr.run_id)
				json_object_set(tab, key, was);
			else
				json_object_set_new(tab, key, entry(&pr));
			free(key);
		}
	}
	pthread_mutex_lock(&a->exec_mu);
	a->exec_tab = tab;
	pthread_mutex_unlock(&a->exec_mu);
	json_decref(old);
}

int node__exec_lookup(void *ud, const char *ns, const char *pod, const char *container,
		      struct node_exec_ctx *out)
{
	struct node_agent *a = ud;
	memset(out, 0, sizeof(*out));
	char *key = xasprintf("%s/%s/%s", ns, pod, container);
	int rc = -ENOENT;
	pthread_mutex_lock(&a->exec_mu);
	json_t *e = json_object_get(a->exec_tab, key);
	if (!*container) { /* any container of the pod: its namespaces are the pod's */
		const char *k;
		json_t *v;
		json_object_foreach(a->exec_tab, k, v)
		{
			if (!strncmp(k, key, strlen(key))) {
				e = v;
				break;
			}
		}
	}
	if (e) {
		json_t *env = json_object_get(e, "env");
		out->pid = (pid_t)json_integer_value(json_object_get(e, "pid"));
		out->cwd = xstrdup(api_str(e, "cwd"));
		out->env = xcalloc(json_array_size(env) + 1, sizeof(char *));
		for (size_t i = 0; i < json_array_size(env); i++)
			out->env[i] = xstrdup(json_string_value(json_array_get(env, i)));
		rc = 0;
	}
	pthread_mutex_unlock(&a->exec_mu);
	free(key);
	return rc;
}
