/* volumes.c - a pod's volumes on the node (see volumes.h). */
#include "node/volumes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "api/object.h"
#include "base/mem.h"

/* ---- the plan (pure) ---- */

static void add_file(json_t *files, const char *path, const char *data, size_t len, int mode)
{
	if (!path || !*path || path[0] == '/' || strstr(path, ".."))
		return; /* as kubelet's validation: relative, no "..", no leading "/" */
	json_t *d = json_stringn(data, len);
	if (!d)
		d = json_string(""); /* not text: left empty rather than mangled */
	json_object_set_new(files, path, json_pack("{s:o, s:i}", "data", d, "mode", mode));
}

/* Keys of an object's data (and, for ConfigMaps, binaryData) into files, through items
 * when given. Secret values and binaryData are base64. An item whose key is missing is
 * left out when optional, else added to errs with kubelet's message. */
static void add_source(json_t *files, const json_t *obj, bool secret, const json_t *items, int mode,
		       bool optional, json_t *errs)
{
	json_t *all = json_object();
	const char *k;
	json_t *v;
	if (secret) {
		node_envsrc_decode_into(all, json_object_get(obj, "data"));
	} else {
		json_object_foreach(json_object_get(obj, "data"), k, v) if (json_is_string(v))
		    json_object_set(all, k, v);
		node_envsrc_decode_into(all, json_object_get(obj, "binaryData"));
	}
	if (json_array_size(items)) {
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it)
		{
			const char *key = api_str(it, "key") ?: "";
			json_t *val = json_object_get(all, key);
			json_t *m = json_object_get(it, "mode");
			if (json_is_string(val))
				add_file(files, api_str(it, "path"), json_string_value(val),
					 json_string_length(val),
					 json_is_integer(m) ? (int)json_integer_value(m) : mode);
			else if (!optional)
				json_array_append_new(
				    errs,
				    json_sprintf(secret ? "references non-existent secret key: %s"
							: "configmap references non-existent config key: %s",
						 key));
		}
	} else {
		json_object_foreach(all, k, v)
		    add_file(files, k, json_string_value(v), json_string_length(v), mode);
	}
	json_decref(all);
}

/* A configMap or secret source (a volume's or a projected one's) named name into files.
 * As kubelet's volume plugins: a missing object is an empty source when optional is
 * true, else kubelet's message (`configmap "x" not found`) goes to errs. */
static void add_object(json_t *files, node_envsrc_get_fn get, void *ud, const char *ns, bool secret,
		       const json_t *src, const char *name, int mode, json_t *errs)
{
	bool optional = json_is_true(json_object_get(src, "optional"));
	json_t *o = get(ud, secret ? "secrets" : "configmaps", ns, name ?: "");
	if (o)
		add_source(files, o, secret, json_object_get(src, "items"), mode, optional, errs);
	else if (!optional)
		json_array_append_new(
		    errs, json_sprintf("%s \"%s\" not found", secret ? "secret" : "configmap", name ?: ""));
	json_decref(o);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "k=\"v\"" lines sorted by key, as kubelet writes labels and annotations. */
static char *format_pairs(const json_t *m)
{
	size_t n = json_object_size(m), i = 0, cap = 1;
	const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)m, k, v)
	{
		keys[i++] = k;
		cap += strlen(k) + json_string_length(v) + 5;
	}
	xqsort(keys, n, sizeof(*keys), cmp_key);
	char *out = xmalloc(cap);
	size_t len = 0;
	out[0] = 0;
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%s=\"%s\"", i ? "\n" : "", keys[i],
					json_string_value(json_object_get(m, keys[i])) ?: "");
	free(keys);
	return out;
}

static void add_downward(json_t *files, const json_t *pod, const json_t *items, int mode)
{
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		const char *fp = api_str(it, "fieldRef.fieldPath");
		json_t *m = json_object_get(it, "mode");
		int md = json_is_integer(m) ? (int)json_integer_value(m) : mode;
		if (!fp)
			continue;
		char *val = NULL;
		if (!strcmp(fp, "metadata.labels"))
			val = format_pairs(api_get(pod, "metadata.labels"));
		else if (!strcmp(fp, "metadata.annotations"))
			val = format_pairs(api_get(pod, "metadata.annotations"));
		else if (!strcmp(fp, "metadata.name") || !strcmp(fp, "metadata.namespace") ||
			 !strcmp(fp, "metadata.uid"))
			val = xstrdup(api_str(pod, fp) ?: "");
		if (val) {
			add_file(files, api_str(it, "path"), val, strlen(val), md);
			free(val);
		}
	}
}

static int mode_of(const json_t *src)
{
	json_t *m = json_object_get(src, "defaultMode");
	return json_is_integer(m) ? (int)json_integer_value(m) : 0644;
}

/* kubelet's message for a volume whose SetUp failed with errs: one error as is, several
 * as utilerrors.Aggregate prints them ("[a, b]"). */
static void setup_failed(const char *vol, const json_t *errs, char *err, size_t errlen)
{
	size_t n = json_array_size(errs), len;
	len = (size_t)snprintf(err, errlen, "MountVolume.SetUp failed for volume \"%s\" : %s", vol,
			       n > 1 ? "[" : "");
	for (size_t i = 0; i < n && len < errlen; i++)
		len += (size_t)snprintf(err + len, errlen - len, "%s%s", i ? ", " : "",
					json_string_value(json_array_get(errs, i)) ?: "");
	if (n > 1 && len < errlen)
		snprintf(err + len, errlen - len, "]");
}

int node_volumes_plan(const json_t *pod, node_envsrc_get_fn get, void *ud, json_t **out, char *err,
		      size_t errlen)
{
	*out = NULL;
	if (errlen)
		err[0] = 0;
	json_t *mounts = json_object();
	static const char *const lists[] = {"spec.initContainers", "spec.containers"};
	for (int l = 0; l < 2; l++) {
		size_t i, j;
		json_t *c, *vm;
		json_array_foreach(api_get(pod, lists[l]), i, c)
		{
			json_t *arr = json_array();
			json_array_foreach(json_object_get(c, "volumeMounts"), j, vm)
			{
				if (api_str(vm, "subPath") && *api_str(vm, "subPath"))
					continue; /* not supported: the whole volume or nothing */
				json_array_append_new(
				    arr, json_pack("{s:s, s:s, s:b}", "vol", api_str(vm, "name") ?: "", "dst",
						   api_str(vm, "mountPath") ?: "", "ro",
						   json_is_true(json_object_get(vm, "readOnly"))));
			}
			if (json_array_size(arr))
				json_object_set_new(mounts, api_str(c, "name") ?: "", arr);
			else
				json_decref(arr);
		}
	}
	if (!json_object_size(mounts)) {
		json_decref(mounts);
		return 0;
	}
	const char *ns = api_str(pod, "metadata.namespace") ?: "default";
	json_t *vols = json_object(), *errs = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(api_get(pod, "spec.volumes"), i, v)
	{
		const char *name = api_str(v, "name");
		if (!name)
			continue;
		json_t *src, *files = json_object();
		bool known = true, dir = false;
		if (json_object_get(v, "emptyDir")) {
			dir = true;
		} else if ((src = json_object_get(v, "configMap"))) {
			add_object(files, get, ud, ns, false, src, api_str(src, "name"), mode_of(src), errs);
		} else if ((src = json_object_get(v, "secret"))) {
			add_object(files, get, ud, ns, true, src, api_str(src, "secretName"), mode_of(src),
				   errs);
		} else if ((src = json_object_get(v, "downwardAPI"))) {
			add_downward(files, pod, json_object_get(src, "items"), mode_of(src));
		} else if ((src = json_object_get(v, "projected"))) {
			size_t k;
			json_t *s;
			json_array_foreach(json_object_get(src, "sources"), k, s)
			{
				json_t *r;
				if ((r = json_object_get(s, "configMap")))
					add_object(files, get, ud, ns, false, r, api_str(r, "name"),
						   mode_of(src), errs);
				else if ((r = json_object_get(s, "secret")))
					add_object(files, get, ud, ns, true, r, api_str(r, "name"),
						   mode_of(src), errs);
				else if ((r = json_object_get(s, "downwardAPI")))
					add_downward(files, pod, json_object_get(r, "items"), mode_of(src));
			}
		} else {
			known = false;
		}
		if (json_array_size(errs)) {
			/* As kubelet: the pod's containers wait for every volume. */
			setup_failed(name, errs, err, errlen);
			json_decref(files);
			json_decref(errs);
			json_decref(vols);
			json_decref(mounts);
			return -ENOENT;
		}
		if (!known)
			json_decref(files);
		else if (dir) {
			json_decref(files);
			json_object_set_new(vols, name, json_pack("{s:b}", "dir", 1));
		} else
			json_object_set_new(vols, name, json_pack("{s:o}", "files", files));
	}
	json_decref(errs);
	*out = json_pack("{s:o, s:o}", "vols", vols, "mounts", mounts);
	return 0;
}

bool node_volumes_sa_wanted(const json_t *pod, const char **sa)
{
	const char *n = api_str(pod, "spec.serviceAccountName");
	*sa = n && *n ? n : "default";
	return !json_is_false(api_get(pod, "spec.automountServiceAccountToken"));
}

static bool mounts_at(const json_t *c, const char *dst)
{
	size_t i;
	json_t *vm;
	json_array_foreach(json_object_get(c, "volumeMounts"), i, vm)
	{
		const char *p = api_str(vm, "mountPath");
		if (p && !strcmp(p, dst))
			return true;
	}
	return false;
}

void node_volumes_plan_sa(json_t **plan, const json_t *pod, const char *token, const char *ca)
{
	if (!*plan)
		*plan = json_pack("{s:{}, s:{}}", "vols", "mounts");
	json_t *files =
	    json_pack("{s:{s:s, s:i}, s:{s:s, s:i}}", "token", "data", token, "mode", 0644, "namespace",
		      "data", api_str(pod, "metadata.namespace") ?: "default", "mode", 0644);
	if (ca)
		json_object_set_new(files, "ca.crt", json_pack("{s:s, s:i}", "data", ca, "mode", 0644));
	json_object_set_new(api_obj(*plan, "vols"), NODE_VOLUMES_SA_VOL, json_pack("{s:o}", "files", files));
	json_t *mounts = api_obj(*plan, "mounts");
	static const char *const lists[] = {"spec.initContainers", "spec.containers"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(api_get(pod, lists[l]), i, c)
		{
			const char *name = api_str(c, "name") ?: "";
			if (mounts_at(c, NODE_VOLUMES_SA_DIR))
				continue;
			json_t *arr = json_object_get(mounts, name);
			if (!json_is_array(arr)) {
				arr = json_array();
				json_object_set_new(mounts, name, arr);
			}
			json_array_append_new(arr, json_pack("{s:s, s:s, s:b}", "vol", NODE_VOLUMES_SA_VOL,
							     "dst", NODE_VOLUMES_SA_DIR, "ro", 1));
		}
	}
}

json_t *node_volumes_mounts(const char *dir, const json_t *plan)
{
	json_t *out = json_object();
	const char *c;
	json_t *arr;
	json_object_foreach(json_object_get(plan, "mounts"), c, arr)
	{
		json_t *list = json_array();
		size_t i;
		json_t *m;
		json_array_foreach(arr, i, m)
		{
			const char *vol = api_str(m, "vol");
			json_t *vd = json_object_get(json_object_get(plan, "vols"), vol ? vol : "");
			if (!vd)
				continue; /* a volume kind the node does not provide */
			char *src = xasprintf("%s/vol/%s", dir, vol);
			/* Files from the API are read-only in Kubernetes whatever readOnly says. */
			bool ro = json_is_true(json_object_get(m, "ro")) || json_object_get(vd, "files");
			json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "src", src, "dst",
							      api_str(m, "dst"), "ro", ro));
			free(src);
		}
		json_object_set_new(out, c, list);
	}
	return out;
}

/* ---- I/O ---- */

int node_volumes_setup(const char *dir, char *err, size_t errlen)
{
	struct statfs sf;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (statfs(dir, &sf) < 0 || sf.f_type != TMPFS_MAGIC) {
		if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0) {
			snprintf(err, errlen, "mount tmpfs on %s: %s", dir, strerror(errno));
			return -errno;
		}
	}
	static const char *const sub[] = {"upper", "work", "merged", "vol", "run-upper", "run-work"};
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		char *p = xasprintf("%s/%s", dir, sub[i]);
		int rc = mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
		free(p);
		if (rc < 0) {
			snprintf(err, errlen, "mkdir %s/%s: %s", dir, sub[i], strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int mkdir_parents(char *path)
{
	for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		int rc = mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
		*s = '/';
		if (rc < 0)
			return rc;
	}
	return 0;
}

bool node_volumes_need_root(const json_t *plan)
{
	const char *name;
	json_t *v;
	json_object_foreach(json_object_get(plan, "vols"), name, v)
	{
		if (strcmp(name, NODE_VOLUMES_SA_VOL))
			return true;
	}
	return false;
}

int node_volumes_sa_mountpoint(char *err, size_t errlen)
{
	char path[] = NODE_VOLUMES_SA_DIR "/";
	int rc = mkdir_parents(path);
	if (rc < 0)
		snprintf(err, errlen, "mkdir %s: %s", NODE_VOLUMES_SA_DIR, strerror(-rc));
	return rc;
}

static int write_all(const char *path, const char *data, size_t len, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		off += (size_t)w;
	}
	int rc = fchmod(fd, (mode_t)(mode & 07777)) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* AtomicWriter: files into a new ..<n> directory, ..data swapped to it, top-level links. */
static int write_files(const char *vdir, const json_t *files, char *err, size_t errlen)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char gen[64];
	snprintf(gen, sizeof(gen), "..%lld_%09ld", (long long)ts.tv_sec, ts.tv_nsec);
	char *gdir = xasprintf("%s/%s", vdir, gen);
	int rc = mkdir(gdir, 0755) < 0 ? -errno : 0;
	const char *path;
	json_t *f;
	json_object_foreach((json_t *)files, path, f)
	{
		if (rc < 0)
			break;
		char *fp = xasprintf("%s/%s", gdir, path);
		rc = mkdir_parents(fp);
		if (rc == 0)
			rc = write_all(fp, json_string_value(json_object_get(f, "data")) ?: "",
				       json_string_length(json_object_get(f, "data")),
				       (int)json_integer_value(json_object_get(f, "mode")));
		free(fp);
	}
	char *tmp = xasprintf("%s/..data_tmp", vdir), *data = xasprintf("%s/..data", vdir);
	unlink(tmp);
	if (rc == 0 && (symlink(gen, tmp) < 0 || rename(tmp, data) < 0))
		rc = -errno;
	free(tmp);
	free(data);
	if (rc < 0) {
		snprintf(err, errlen, "writing volume %s: %s", vdir, strerror(-rc));
		rm_rf(gdir);
		free(gdir);
		return rc;
	}
	/* Top-level names link through ..data; old generations and stale links go. */
	json_t *top = json_object();
	json_object_foreach((json_t *)files, path, f)
	{
		size_t n = strcspn(path, "/");
		char *first = xstrndup(path, n);
		json_object_set_new(top, first, json_true());
		free(first);
	}
	const char *name;
	json_t *t;
	json_object_foreach(top, name, t)
	{
		char *link = xasprintf("%s/%s", vdir, name), *target = xasprintf("..data/%s", name);
		struct stat st;
		if (lstat(link, &st) < 0)
			(void)!symlink(target, link);
		free(link);
		free(target);
	}
	DIR *d = opendir(vdir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "..data") ||
		    !strcmp(de->d_name, gen))
			continue;
		char *p = xasprintf("%s/%s", vdir, de->d_name);
		if (!strncmp(de->d_name, "..", 2))
			rm_rf(p);
		else if (!json_object_get(top, de->d_name))
			unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	json_decref(top);
	free(gdir);
	return 0;
}

int node_volumes_write(const char *dir, const json_t *plan, char *err, size_t errlen)
{
	const char *name;
	json_t *v;
	json_object_foreach(json_object_get(plan, "vols"), name, v)
	{
		if (!*name || strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, "."))
			continue;
		char *vdir = xasprintf("%s/vol/%s", dir, name);
		int rc =
		    mkdir(vdir, json_object_get(v, "dir") ? 0777 : 0755) < 0 && errno != EEXIST ? -errno : 0;
		if (rc == 0 && json_object_get(v, "dir"))
			rc = chmod(vdir, 0777) < 0 ? -errno : 0; /* emptyDir: world-writable, as kubelet's */
		if (rc < 0)
			snprintf(err, errlen, "mkdir %s: %s", vdir, strerror(-rc));
		else if (json_object_get(v, "files"))
			rc = write_files(vdir, json_object_get(v, "files"), err, errlen);
		free(vdir);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void node_volumes_teardown(const char *dir)
{
	umount2(dir, MNT_DETACH);
	rm_rf(dir);
}

void node_volumes_cleanup(const char *data_dir, bool (*known)(void *ud, const char *uid), void *ud)
{
	char *root = xasprintf("%s/volumes", data_dir);
	DIR *d = opendir(root);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (known && known(ud, de->d_name)))
			continue;
		char *p = xasprintf("%s/%s", root, de->d_name);
		node_volumes_teardown(p);
		free(p);
	}
	if (d)
		closedir(d);
	free(root);
}
