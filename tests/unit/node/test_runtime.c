/* test_runtime.c - the node runtime against the real kernel (root): a pod in a network
 * namespace this test creates, its env, resolv.conf, hostname and logs; restarts with
 * back-off; a command that does not exist; stop with a grace period; re-adoption by a new
 * runtime; an exec probe inside the pod. Every loop is bounded in time, and the fixture
 * kills the pods, deletes the namespace and the temporary dir even when a check fails. */
#include "base/clock.h"
#include "harness/t.h"
#include "api/envvars.h"
#include "node/podfiles.h"
#include "node/probe.h"
#include "node/runtime.h"
#include "node/volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fx {
	char ns_name[64];
	int netns_fd;
	char dir[64], state[96], logs[96];
	struct node_rt *rt;
	char fail[1024];
};

#define CHECK(c)                                                                                             \
	do {                                                                                                 \
		if (!(c)) {                                                                                  \
			snprintf(f->fail, sizeof(f->fail), "%s:%d: check failed: %s", __FILE__, __LINE__,    \
				 #c);                                                                        \
			goto out;                                                                            \
		}                                                                                            \
	} while (0)
#define CHECKF(c, ...)                                                                                       \
	do {                                                                                                 \
		if (!(c)) {                                                                                  \
			int t_n = snprintf(f->fail, sizeof(f->fail), "%s:%d: check failed: %s: ", __FILE__,  \
					   __LINE__, #c);                                                    \
			snprintf(f->fail + t_n, sizeof(f->fail) - (size_t)t_n, __VA_ARGS__);                 \
			goto out;                                                                            \
		}                                                                                            \
	} while (0)

static int64_t now_ms(void)
{
	return clock_mono_ms();
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static struct node_rt *rt_open(struct fx *f, int base_ms)
{
	char err[256];
	struct node_rt_config cfg = {
	    .state_dir = f->state, .backoff_base_ms = base_ms, .backoff_max_ms = base_ms * 8};
	struct node_rt *rt = node_rt_new(&cfg, err, sizeof(err));
	if (!rt)
		snprintf(f->fail, sizeof(f->fail), "node_rt_new: %s", err);
	return rt;
}

static void fx_setup(struct fx *f, int base_ms)
{
	memset(f, 0, sizeof(*f));
	f->netns_fd = -1;
	if (geteuid() != 0)
		t_skip("the node runtime needs root (namespaces, mounts)");
	snprintf(f->ns_name, sizeof(f->ns_name), "svcp-rt-test-%d", (int)getpid());
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "ip netns add %s", f->ns_name);
	if (system(cmd) != 0)
		t_fail(__FILE__, __LINE__, "%s failed", cmd);
	char path[128];
	snprintf(path, sizeof(path), "/run/netns/%s", f->ns_name);
	f->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(f->dir, sizeof(f->dir), "/tmp/svcp-rt-XXXXXX");
	if (!mkdtemp(f->dir))
		f->dir[0] = 0;
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	snprintf(f->logs, sizeof(f->logs), "%s/logs", f->dir);
	f->rt = rt_open(f, base_ms);
}

/* Ends every process the runtime knows and frees the runtime. */
static void fx_teardown_procs(struct fx *f)
{
	if (f->rt) {
		char **uids = node_rt_pod_list(f->rt);
		for (char **u = uids; *u; u++)
			node_rt_pod_stop(f->rt, *u, 0);
		int64_t end = now_ms() + 20000;
		for (char **u = uids; *u; u++) {
			while (now_ms() < end) {
				node_rt_sync(f->rt, NULL);
				if (node_rt_pod_stopped(f->rt, *u))
					break;
				sleep_ms(10);
			}
			node_rt_pod_remove(f->rt, *u);
			free(*u);
		}
		free(uids);
		node_rt_free(f->rt);
		f->rt = NULL;
	}
}

/* Ends every process the runtime knows, then removes the namespace and files. */
static void fx_teardown(struct fx *f)
{
	fx_teardown_procs(f);
	if (f->netns_fd >= 0)
		close(f->netns_fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "ip netns delete %s 2>/dev/null", f->ns_name);
	if (f->ns_name[0] && system(cmd) != 0)
		fprintf(stderr, "  warning: %s failed\n", cmd);
	if (f->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "  warning: %s failed\n", cmd);
	}
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "re");
	if (!fp)
		return NULL;
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, fp);
	buf[n] = 0;
	fclose(fp);
	return buf;
}

static json_t *jparse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (!v)
		t_fail(__FILE__, __LINE__, "bad test JSON: %s", e.text);
	return v;
}

/* containerStatuses[i] field at a dotted path, as text ("" if missing). */
static void cs_field(struct fx *f, const char *uid, int i, const char *path, char *out, size_t len)
{
	json_t *st = node_rt_pod_status(f->rt, uid);
	json_t *cs = json_array_get(json_object_get(st, "containerStatuses"), (size_t)i);
	json_t *v = cs;
	char part[64];
	for (const char *p = path; v && *p;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		snprintf(part, sizeof(part), "%.*s", (int)n, p);
		v = json_object_get(v, part);
		p += n + (dot ? 1 : 0);
	}
	if (json_is_string(v))
		snprintf(out, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(out, len, "%s", json_is_true(v) ? "true" : "false");
	else
		out[0] = 0;
	if (strcmp(path, "phase") == 0)
		snprintf(out, len, "%s", json_string_value(json_object_get(st, "phase")));
	json_decref(st);
}

static int submit(struct fx *f, json_t *pod, const json_t *svc_env)
{
	char err[512], warn[256], *host = NULL, *dom = NULL, *kname = NULL;
	const char *const dns[] = {"198.19.0.10", NULL};
	struct node_dns_opts o = {"cluster.local", dns, "nameserver 198.18.0.1\nsearch node.test\n"};
	char *resolv = node_podfiles_resolv_conf(pod, &o, warn, sizeof(warn));
	if (node_podfiles_hostname(pod, "cluster.local", &host, &dom, &kname, err, sizeof(err)) < 0) {
		snprintf(f->fail, sizeof(f->fail), "hostname: %s", err);
		free(resolv);
		return -1;
	}
	const char *ips[] = {"198.18.128.5", NULL};
	char *hosts = node_podfiles_hosts(pod, ips, host, dom, NULL);
	char logdir[160];
	snprintf(logdir, sizeof(logdir), "%s/%s", f->logs,
		 json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid")));
	struct node_rt_pod p = {
	    .pod = pod,
	    .netns_fd = f->netns_fd,
	    .resolv_conf = resolv,
	    .hosts = hosts,
	    .hostname = kname,
	    .service_env = svc_env,
	    .pod_ip = "198.18.128.5",
	    .host_ip = "198.18.0.2",
	    .log_dir = logdir,
	};
	int rc = node_rt_pod_run(f->rt, &p, err, sizeof(err));
	if (rc < 0)
		snprintf(f->fail, sizeof(f->fail), "node_rt_pod_run: %s", err);
	free(resolv);
	free(hosts);
	free(host);
	free(dom);
	free(kname);
	return rc;
}

/* Syncs until the log file contains needle or timeout_ms passes. */
static char *wait_log(struct fx *f, const char *uid, const char *ctr, int restart, const char *needle,
		      int timeout_ms)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s/%s/%d.log", f->logs, uid, ctr, restart);
	int64_t end = now_ms() + timeout_ms;
	char *text = NULL;
	while (now_ms() < end) {
		node_rt_sync(f->rt, NULL);
		free(text);
		text = slurp(path);
		if (text && strstr(text, needle))
			break;
		sleep_ms(10);
	}
	return text;
}

static const char main_pod[] =
    "{\"metadata\":{\"name\":\"web-0\",\"namespace\":\"testns\",\"uid\":\"rt-uid-main\"},"
    "\"spec\":{\"hostname\":\"web-0\",\"subdomain\":\"web\",\"restartPolicy\":\"Always\","
    "\"terminationGracePeriodSeconds\":1,\"nodeName\":\"node-a\",\"containers\":["
    "{\"name\":\"main\",\"image\":\"none\",\"workingDir\":\"/tmp\","
    " \"command\":[\"/bin/sh\",\"-c\"],"
    " \"args\":[\"echo $MY_SVC_SERVICE_HOST; echo FOO=$FOO NODE=$NODE POD=$POD IP=$IP; "
    "cat /etc/resolv.conf; hostname; pwd; echo READY; exec sleep 30\"],"
    " \"env\":[{\"name\":\"FOO\",\"value\":\"port-$(MY_SVC_SERVICE_PORT)\"},"
    "  {\"name\":\"NODE\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"spec.nodeName\"}}},"
    "  {\"name\":\"POD\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}},"
    "  {\"name\":\"IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}}]},"
    "{\"name\":\"stubborn\",\"command\":[\"/bin/sh\",\"-c\","
    " \"trap '' TERM; echo STARTED; i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\"]}"
    "]}}";

static void scenario_main(struct fx *f)
{
	json_t *pod = jparse(main_pod);
	json_t *svcs = jparse("[{\"metadata\":{\"name\":\"my-svc\",\"namespace\":\"testns\"},"
			      "\"spec\":{\"clusterIP\":\"198.19.0.7\",\"ports\":[{\"port\":8080,"
			      "\"protocol\":\"TCP\"}]}}]");
	json_t *env = api_envvars_from_services(svcs, "testns", true);
	const char *uid = "rt-uid-main";
	char *log = NULL, v[256], err[256];
	struct node_probe_spec ps = {0};
	CHECK(submit(f, pod, env) == 0);
	log = wait_log(f, uid, "main", 0, "READY", 20000);
	CHECKF(log && strstr(log, "READY"), "log: %s", log ? log : "(none)");
	CHECKF(strstr(log, "198.19.0.7\n"), "log: %s", log);
	CHECKF(strstr(log, "FOO=port-8080 NODE=node-a POD=web-0 IP=198.18.128.5\n"), "log: %s", log);
	CHECKF(strstr(log, "search testns.svc.cluster.local svc.cluster.local cluster.local node.test\n"
			   "nameserver 198.19.0.10\noptions ndots:5\n"),
	       "log: %s", log);
	CHECKF(strstr(log, "\nweb-0\n/tmp\n"), "log: %s", log);
	free(log);
	log = wait_log(f, uid, "stubborn", 0, "STARTED", 20000);
	CHECK(log && strstr(log, "STARTED"));

	/* The container is in the pod's network namespace. */
	pid_t pid = node_rt_container_pid(f->rt, uid, "main", NULL);
	CHECK(pid > 0);
	char nsp[64];
	snprintf(nsp, sizeof(nsp), "/proc/%d/ns/net", (int)pid);
	struct stat a, b;
	CHECK(stat(nsp, &a) == 0 && fstat(f->netns_fd, &b) == 0);
	CHECK(a.st_ino == b.st_ino);
	cs_field(f, uid, 0, "state.running.startedAt", v, sizeof(v));
	CHECK(v[0]);
	cs_field(f, uid, 0, "ready", v, sizeof(v));
	CHECK(strcmp(v, "true") == 0);
	cs_field(f, uid, 0, "phase", v, sizeof(v));
	CHECK(strcmp(v, "Running") == 0);

	/* An exec probe runs inside the pod: its hostname, its resolv.conf, its env. */
	json_t *probe =
	    jparse("{\"exec\":{\"command\":[\"sh\",\"-c\",\"test \\\"$(hostname)\\\" = web-0 "
		   "&& grep -q 'nameserver 198.19.0.10' /etc/resolv.conf && grep -q "
		   "'web-0.web.testns.svc.cluster.local' /etc/hosts && test \\\"$POD\\\" = web-0\"]},"
		   "\"timeoutSeconds\":10}");
	int prc = node_probe_spec_parse(probe, NULL, &ps, err, sizeof(err));
	json_decref(probe);
	CHECK(prc == 0);
	struct node_rt_proc proc;
	CHECK(node_rt_container_proc(f->rt, uid, "main", &proc) == 0 && proc.pid == pid);
	CHECKF(strcmp(proc.cwd, "/tmp") == 0 && proc.exe && strcmp(proc.exe, "/bin/sh") == 0, "cwd %s exe %s",
	       proc.cwd, proc.exe ? proc.exe : "(null)");
	struct node_probe_target tgt = {
	    .pod_ip = "198.18.128.5", .pid = pid, .env = proc.env, .cwd = proc.cwd, .exe = proc.exe};
	char msg[256];
	enum node_probe_result pr = node_probe_run_sync(&ps, &tgt, msg, sizeof(msg));
	CHECKF(pr == NODE_PROBE_SUCCESS, "probe: %d %s", pr, msg);
	node_probe_spec_fini(&ps);

	/* Re-adoption: a new runtime over the same state finds the same processes. */
	pid_t stub = node_rt_container_pid(f->rt, uid, "stubborn", NULL);
	node_rt_free(f->rt);
	f->rt = rt_open(f, 100);
	CHECK(f->rt);
	CHECK(node_rt_container_pid(f->rt, uid, "main", NULL) == pid);
	/* ... and the context an exec probe needs, from the runtime's own record. */
	CHECK(node_rt_container_proc(f->rt, uid, "main", &proc) == 0);
	CHECKF(strcmp(proc.cwd, "/tmp") == 0 && proc.exe && strcmp(proc.exe, "/bin/sh") == 0,
	       "adopted cwd %s exe %s", proc.cwd, proc.exe ? proc.exe : "(null)");
	bool has_pod_var = false;
	for (char *const *e = proc.env; *e; e++)
		has_pod_var |= strcmp(*e, "POD=web-0") == 0;
	CHECK(has_pod_var);
	node_rt_sync(f->rt, NULL);
	sleep_ms(50);
	node_rt_sync(f->rt, NULL);
	CHECK(node_rt_container_pid(f->rt, uid, "main", NULL) == pid);
	CHECK(kill(pid, 0) == 0);
	/* The agent hands the spec back: nothing restarts. */
	CHECK(submit(f, pod, env) == 0);
	CHECK(node_rt_container_pid(f->rt, uid, "main", NULL) == pid);
	CHECK(node_rt_container_pid(f->rt, uid, "stubborn", NULL) == stub);
	cs_field(f, uid, 0, "restartCount", v, sizeof(v));
	CHECK(strcmp(v, "0") == 0);

	/* Stop: main ends on SIGTERM, stubborn ignores it and is killed after 1 s. */
	int64_t t0 = now_ms();
	CHECK(node_rt_pod_stop(f->rt, uid, -1) == 0);
	while (now_ms() - t0 < 20000 && !node_rt_pod_stopped(f->rt, uid)) {
		node_rt_sync(f->rt, NULL);
		sleep_ms(10);
	}
	int64_t took = now_ms() - t0;
	CHECK(node_rt_pod_stopped(f->rt, uid));
	/* Not before the 1 s grace period (an upper bound would be a timing, which belongs in
	 * bench/): the 137 below shows stubborn was killed when it ran out. */
	CHECKF(took >= 900, "took %lld ms", (long long)took);
	cs_field(f, uid, 0, "state.terminated.exitCode", v, sizeof(v));
	CHECKF(strcmp(v, "143") == 0, "main exit %s", v);
	cs_field(f, uid, 1, "state.terminated.exitCode", v, sizeof(v));
	CHECKF(strcmp(v, "137") == 0, "stubborn exit %s", v);
	cs_field(f, uid, 1, "state.terminated.reason", v, sizeof(v));
	CHECK(strcmp(v, "Error") == 0);
	CHECK(kill(pid, 0) < 0 && errno == ESRCH);
	CHECK(kill(stub, 0) < 0 && errno == ESRCH);
	CHECK(node_rt_pod_remove(f->rt, uid) == 0);
	char sd[160];
	snprintf(sd, sizeof(sd), "%s/%s", f->state, uid);
	CHECK(access(sd, F_OK) < 0);
out:
	node_probe_spec_fini(&ps);
	free(log);
	json_decref(env);
	json_decref(svcs);
	json_decref(pod);
}

TEST(runtime_pod_env_files_stop_readopt)
{
	struct fx fx, *f = &fx;
	fx_setup(f, 100);
	if (f->rt)
		scenario_main(f);
	fx_teardown(f);
	if (f->fail[0])
		t_fail(__FILE__, __LINE__, "%s", f->fail);
}

static void scenario_backoff(struct fx *f)
{
	json_t *pod =
	    jparse("{\"metadata\":{\"name\":\"crash\",\"namespace\":\"testns\",\"uid\":\"rt-uid-crash\"},"
		   "\"spec\":{\"restartPolicy\":\"OnFailure\",\"containers\":[{\"name\":\"c\","
		   "\"command\":[\"sh\",\"-c\",\"echo run; exit 3\"]}]}}");
	const char *uid = "rt-uid-crash";
	char v[512];
	int64_t t0 = now_ms(), t2 = 0;
	bool saw_backoff = false;
	CHECK(submit(f, pod, NULL) == 0);
	/* restarts at once, then after 100 ms, then after 200 ms */
	while (now_ms() - t0 < 20000) {
		node_rt_sync(f->rt, NULL);
		cs_field(f, uid, 0, "state.waiting.reason", v, sizeof(v));
		if (strcmp(v, "CrashLoopBackOff") == 0) {
			saw_backoff = true;
			cs_field(f, uid, 0, "lastState.terminated.exitCode", v, sizeof(v));
			CHECKF(strcmp(v, "3") == 0, "last exit %s", v);
			cs_field(f, uid, 0, "state.waiting.message", v, sizeof(v));
			CHECKF(strstr(v, "back-off ") &&
				   strstr(v, "restarting failed container=c pod=crash_testns(rt-uid-crash)"),
			       "message %s", v);
		}
		cs_field(f, uid, 0, "restartCount", v, sizeof(v));
		if (atoi(v) >= 2 && !t2)
			t2 = now_ms();
		if (atoi(v) >= 3)
			break;
		sleep_ms(5);
	}
	cs_field(f, uid, 0, "restartCount", v, sizeof(v));
	CHECKF(atoi(v) >= 3, "restartCount %s", v);
	CHECK(saw_backoff);
	/* 2nd restart waits the base (100 ms), the 3rd twice that. */
	CHECKF(t2 - t0 >= 90, "2nd restart after %lld ms", (long long)(t2 - t0));
	CHECKF(now_ms() - t0 >= 280, "3rd restart after %lld ms", (long long)(now_ms() - t0));
	cs_field(f, uid, 0, "phase", v, sizeof(v));
	CHECKF(strcmp(v, "Running") == 0, "phase %s", v);
out:
	json_decref(pod);
}

TEST(runtime_restart_backoff)
{
	struct fx fx, *f = &fx;
	fx_setup(f, 100);
	if (f->rt)
		scenario_backoff(f);
	fx_teardown(f);
	if (f->fail[0])
		t_fail(__FILE__, __LINE__, "%s", f->fail);
}

static void scenario_bad_command(struct fx *f)
{
	json_t *pod =
	    jparse("{\"metadata\":{\"name\":\"bad\",\"namespace\":\"testns\",\"uid\":\"rt-uid-bad\"},"
		   "\"spec\":{\"containers\":[{\"name\":\"c\",\"command\":[\"svcp-no-such-command\"]}]}}");
	json_t *never =
	    jparse("{\"metadata\":{\"name\":\"once\",\"namespace\":\"testns\",\"uid\":\"rt-uid-once\"},"
		   "\"spec\":{\"restartPolicy\":\"Never\",\"containers\":["
		   "{\"name\":\"c\",\"command\":[\"/nonexistent/bin/x\"]},"
		   "{\"name\":\"d\",\"command\":[\"true\"]},"
		   "{\"name\":\"e\",\"command\":[\"true\"],\"workingDir\":\"/nonexistent-dir\"}]}}");
	json_t *cfgerr =
	    jparse("{\"metadata\":{\"name\":\"cfg\",\"namespace\":\"testns\",\"uid\":\"rt-uid-cfg\"},"
		   "\"spec\":{\"containers\":[{\"name\":\"c\",\"command\":[\"true\"],\"env\":"
		   "[{\"name\":\"X\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"k\"}}}]}]}}");
	char v[512];
	CHECK(submit(f, pod, NULL) == 0);
	node_rt_sync(f->rt, NULL);
	cs_field(f, "rt-uid-bad", 0, "state.waiting.reason", v, sizeof(v));
	CHECKF(strcmp(v, "RunContainerError") == 0, "reason %s", v);
	cs_field(f, "rt-uid-bad", 0, "state.waiting.message", v, sizeof(v));
	CHECKF(strstr(v, "exec: \"svcp-no-such-command\": executable file not found in $PATH"), "message %s",
	       v);
	cs_field(f, "rt-uid-bad", 0, "lastState.terminated.reason", v, sizeof(v));
	CHECK(strcmp(v, "StartError") == 0);
	cs_field(f, "rt-uid-bad", 0, "lastState.terminated.exitCode", v, sizeof(v));
	CHECK(strcmp(v, "128") == 0);

	CHECK(submit(f, never, NULL) == 0);
	int64_t t0 = now_ms();
	for (;;) {
		node_rt_sync(f->rt, NULL);
		cs_field(f, "rt-uid-once", 1, "state.terminated.reason", v, sizeof(v));
		if (v[0] || now_ms() - t0 > 20000)
			break;
		sleep_ms(5);
	}
	cs_field(f, "rt-uid-once", 0, "state.terminated.reason", v, sizeof(v));
	CHECKF(strcmp(v, "StartError") == 0, "reason %s", v);
	cs_field(f, "rt-uid-once", 0, "state.terminated.message", v, sizeof(v));
	CHECKF(strstr(v, "stat /nonexistent/bin/x: no such file or directory"), "message %s", v);
	cs_field(f, "rt-uid-once", 1, "state.terminated.reason", v, sizeof(v));
	CHECKF(strcmp(v, "Completed") == 0, "d reason %s", v);
	cs_field(f, "rt-uid-once", 2, "state.terminated.message", v, sizeof(v));
	CHECKF(
	    strstr(
		v,
		"chdir to cwd (\"/nonexistent-dir\") set in config.json failed: no such file or directory"),
	    "e message %s", v);
	cs_field(f, "rt-uid-once", 0, "phase", v, sizeof(v));
	CHECKF(strcmp(v, "Failed") == 0, "phase %s", v);
	cs_field(f, "rt-uid-once", 0, "restartCount", v, sizeof(v));
	CHECK(strcmp(v, "0") == 0);

	CHECK(submit(f, cfgerr, NULL) == 0);
	cs_field(f, "rt-uid-cfg", 0, "state.waiting.reason", v, sizeof(v));
	CHECKF(strcmp(v, "CreateContainerConfigError") == 0, "reason %s", v);
	cs_field(f, "rt-uid-cfg", 0, "phase", v, sizeof(v));
	CHECK(strcmp(v, "Pending") == 0);
out:
	json_decref(pod);
	json_decref(never);
	json_decref(cfgerr);
}

TEST(runtime_bad_command_reasons)
{
	struct fx fx, *f = &fx;
	fx_setup(f, 5000);
	if (f->rt)
		scenario_bad_command(f);
	fx_teardown(f);
	if (f->fail[0])
		t_fail(__FILE__, __LINE__, "%s", f->fail);
}

TEST(runtime_env_expansion)
{
	json_t *pod = jparse("{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u1\","
			     "\"labels\":{\"app\":\"web\"}},\"spec\":{\"nodeName\":\"n1\"}}");
	json_t *c = jparse(
	    "{\"env\":[{\"name\":\"A\",\"value\":\"a\"},"
	    "{\"name\":\"B\",\"value\":\"$(A)-$(S_SERVICE_HOST)-$(NOPE)-$$(A)-$\"},"
	    "{\"name\":\"S_SERVICE_PORT\",\"value\":\"mine\"},"
	    "{\"name\":\"L\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.labels['app']\"}}},"
	    "{\"name\":\"U\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.uid\"}}},"
	    "{\"name\":\"OPT\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"x\",\"key\":\"y\",\"optional\":true}}}]}");
	json_t *svc = jparse("[{\"name\":\"S_SERVICE_HOST\",\"value\":\"198.19.0.1\"},"
			     "{\"name\":\"S_SERVICE_PORT\",\"value\":\"80\"}]");
	char err[256];
	char **env = node_rt_container_env(pod, c, svc, NULL, "h", "198.18.128.1", NULL, err, sizeof(err));
	ASSERT(env);
	const char *want[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			      "HOSTNAME=h",
			      "A=a",
			      "B=a-198.19.0.1-$(NOPE)-$(A)-$",
			      "S_SERVICE_PORT=mine",
			      "L=web",
			      "U=u1",
			      "S_SERVICE_HOST=198.19.0.1",
			      NULL};
	for (int i = 0; want[i]; i++)
		ASSERT_STR_EQ(env[i], want[i]);
	ASSERT(env[8] == NULL);
	for (int i = 0; env[i]; i++)
		free(env[i]);
	free(env);
	json_decref(c);
	c = jparse(
	    "{\"env\":[{\"name\":\"R\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"x\",\"key\":\"y\"}}}]}");
	ASSERT(node_rt_container_env(pod, c, NULL, NULL, NULL, NULL, NULL, err, sizeof(err)) == NULL);
	ASSERT_STR_CONTAINS(err, "configmap \"x\" not found");
	json_decref(c);
	json_decref(svc);
	json_decref(pod);
}

/* Issue 9: an exec probe run the moment the container says READY, while its `sh` is in
 * the middle of `exec sleep`, still sees the container's environment and working dir.
 * SVCP_PROBE_RACE_N sets the number of rounds (default 15; 300 reproduced the bug). */
static void scenario_probe_race(struct fx *f)
{
	const char *ns = getenv("SVCP_PROBE_RACE_N");
	int rounds = ns && atoi(ns) > 0 ? atoi(ns) : 15, bad = 0;
	char first[512] = "";
	json_t *probe = jparse("{\"exec\":{\"command\":[\"sh\",\"-c\",\"test \\\"$FOO\\\" = bar && "
			       "test \\\"$(pwd)\\\" = /tmp\"]},\"timeoutSeconds\":10}");
	struct node_probe_spec ps = {0};
	char err[256];
	int prc = node_probe_spec_parse(probe, NULL, &ps, err, sizeof(err));
	json_decref(probe);
	CHECK(prc == 0);
	for (int i = 0; i < rounds; i++) {
		char uid[64], text[1024], path[256];
		snprintf(uid, sizeof(uid), "rt-uid-race-%d", i);
		snprintf(text, sizeof(text),
			 "{\"metadata\":{\"name\":\"race\",\"namespace\":\"testns\",\"uid\":\"%s\"},"
			 "\"spec\":{\"terminationGracePeriodSeconds\":0,\"containers\":[{\"name\":\"c\","
			 "\"workingDir\":\"/tmp\",\"env\":[{\"name\":\"FOO\",\"value\":\"bar\"}],"
			 "\"command\":[\"sh\",\"-c\",\"echo READY; exec sleep 30\"]}]}}",
			 uid);
		json_t *pod = jparse(text);
		int rc = submit(f, pod, NULL);
		json_decref(pod);
		CHECK(rc == 0);
		snprintf(path, sizeof(path), "%s/%s/c/0.log", f->logs, uid);
		/* Tight poll (no sleep): the probe must start as close to READY as we can. */
		char *log = NULL;
		int64_t end = now_ms() + 20000;
		while (now_ms() < end) {
			free(log);
			log = slurp(path);
			if (log && strstr(log, "READY"))
				break;
		}
		bool ready = log && strstr(log, "READY");
		free(log);
		CHECKF(ready, "round %d: no READY", i);
		struct node_rt_proc proc;
		CHECK(node_rt_container_proc(f->rt, uid, "c", &proc) == 0);
		struct node_probe_target tgt = {.pod_ip = "198.18.128.5",
						.pid = proc.pid,
						.env = proc.env,
						.cwd = proc.cwd,
						.exe = proc.exe};
		char msg[256];
		enum node_probe_result pr = node_probe_run_sync(&ps, &tgt, msg, sizeof(msg));
		if (pr != NODE_PROBE_SUCCESS) {
			if (!bad++)
				snprintf(first, sizeof(first), "round %d: result %d: %s", i, pr, msg);
			CHECKF(msg[0], "round %d: a failed probe with an empty message", i);
		}
		node_rt_pod_stop(f->rt, uid, 0);
		end = now_ms() + 20000;
		while (now_ms() < end && !node_rt_pod_stopped(f->rt, uid)) {
			node_rt_sync(f->rt, NULL);
			sleep_ms(5);
		}
		CHECK(node_rt_pod_remove(f->rt, uid) == 0);
	}
	CHECKF(bad == 0, "%d of %d probes failed; first: %s", bad, rounds, first);
out:
	node_probe_spec_fini(&ps);
}

TEST(runtime_exec_probe_right_after_ready)
{
	struct fx fx, *f = &fx;
	fx_setup(f, 100);
	if (f->rt)
		scenario_probe_race(f);
	fx_teardown(f);
	if (f->fail[0])
		t_fail(__FILE__, __LINE__, "%s", f->fail);
}

/* Issue 14: a pod with volumes gets a root of its own (overlay of / with a per-pod upper
 * layer on tmpfs): a Secret file and a ConfigMap file at mount paths that do not exist on
 * the node, writes that stay in the pod, and the ConfigMap file changing in place when
 * the agent rewrites the volume (..data swap). */
static json_t *vol_get(void *ud, const char *kind, const char *ns, const char *name)
{
	const char *color = ud;
	if (!strcmp(kind, "secrets") && !strcmp(name, "sec"))
		return json_pack("{s:{s:s}}", "data", "pw", "czNjcmV0"); /* s3cret */
	if (!strcmp(kind, "configmaps") && !strcmp(name, "cfg"))
		return json_pack("{s:{s:s}}", "data", "color", color);
	(void)ns;
	return NULL;
}

static void scenario_volumes(struct fx *f)
{
	char sec_dir[64], probe_file[64];
	snprintf(sec_dir, sizeof(sec_dir), "/etc/svcp-test-sec-%d", (int)getpid());
	snprintf(probe_file, sizeof(probe_file), "/etc/svcp-test-written-%d", (int)getpid());
	char buf[2048];
	snprintf(
	    buf, sizeof(buf),
	    "{\"metadata\":{\"name\":\"vol\",\"namespace\":\"testns\",\"uid\":\"rt-uid-vol\"},\"spec\":{"
	    "\"volumes\":[{\"name\":\"s\",\"secret\":{\"secretName\":\"sec\"}},{\"name\":\"c\",\"configMap\":{\"name\":\"cfg\"}},"
	    "{\"name\":\"e\",\"emptyDir\":{}}],"
	    "\"containers\":[{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"s\",\"mountPath\":\"%s\"},"
	    "{\"name\":\"c\",\"mountPath\":\"/etc/svcp-test-cfg\"},{\"name\":\"e\",\"mountPath\":\"/scratch-svcp\"}],"
	    "\"command\":[\"sh\",\"-c\",\"cat %s/pw; echo; touch %s /scratch-svcp/x && echo wrote; "
	    "while true; do cat /etc/svcp-test-cfg/color; echo; sleep 0.1; done\"]}]}}",
	    sec_dir, sec_dir, probe_file);
	json_t *pod = jparse(buf), *plan = NULL, *mounts = NULL;
	char err[256], vdir[160], *log = NULL;
	snprintf(vdir, sizeof(vdir), "%.100s/vol", f->dir);
	CHECKF(node_volumes_plan(pod, vol_get, (void *)"blue", &plan, err, sizeof(err)) == 0, "%s", err);
	CHECK(plan != NULL);
	CHECKF(node_volumes_setup(vdir, err, sizeof(err)) == 0, "%s", err);
	CHECKF(node_volumes_write(vdir, plan, err, sizeof(err)) == 0, "%s", err);
	mounts = node_volumes_mounts(vdir, plan);
	char logdir[160];
	snprintf(logdir, sizeof(logdir), "%s/rt-uid-vol", f->logs);
	struct node_rt_pod p = {
	    .pod = pod, .netns_fd = f->netns_fd, .log_dir = logdir, .root_dir = vdir, .mounts = mounts};
	CHECKF(node_rt_pod_run(f->rt, &p, err, sizeof(err)) == 0, "%s", err);
	log = wait_log(f, "rt-uid-vol", "c", 0, "blue", 20000);
	CHECKF(log && strstr(log, "s3cret") && strstr(log, "wrote") && strstr(log, "blue"), "log: %s",
	       log ? log : "(none)");
	struct stat st;
	CHECKF(stat(sec_dir, &st) < 0 && errno == ENOENT, "%s made on the node", sec_dir);
	CHECKF(stat(probe_file, &st) < 0 && errno == ENOENT, "%s written on the node", probe_file);
	CHECK(stat("/scratch-svcp", &st) < 0);
	/* The ConfigMap changes: the agent rewrites the volume, the file follows. */
	json_decref(plan);
	plan = NULL;
	CHECKF(node_volumes_plan(pod, vol_get, (void *)"green", &plan, err, sizeof(err)) == 0, "%s", err);
	CHECKF(node_volumes_write(vdir, plan, err, sizeof(err)) == 0, "%s", err);
	free(log);
	log = wait_log(f, "rt-uid-vol", "c", 0, "green", 20000);
	CHECKF(log && strstr(log, "green"), "log after the update: %s", log ? log : "(none)");
out:
	free(log);
	json_decref(mounts);
	json_decref(plan);
	json_decref(pod);
}

TEST(runtime_volumes_in_a_root_of_its_own)
{
	struct fx fx, *f = &fx;
	fx_setup(f, 100);
	if (f->rt)
		scenario_volumes(f);
	char vdir[160];
	snprintf(vdir, sizeof(vdir), "%.100s/vol", f->dir);
	fx_teardown_procs(f);
	node_volumes_teardown(vdir);
	fx_teardown(f);
	if (f->fail[0])
		t_fail(__FILE__, __LINE__, "%s", f->fail);
}
