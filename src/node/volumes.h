/* volumes.h - a pod's volumes on the node: configMap, secret, emptyDir, downwardAPI and
 * projected, written into a per-pod tmpfs and bound at their mountPath inside the pod's
 * own root (node/runtime.h root_dir: an overlay of the node's / with a per-pod upper
 * layer), so mount points that do not exist on the node are never made there and
 * Secret bytes never touch a disk.
 *
 * Layout under the pod's directory D (a tmpfs mounted by node_volumes_setup):
 *   D/upper, D/work, D/merged   the overlay of the pod's root
 *   D/run-upper, D/run-work     the overlay of the node's /run in it (node/runtime.c)
 *   D/vol/<name>/               a volume: emptyDir is a plain directory; the others are
 *                               written as kubelet's AtomicWriter does: the files in
 *                               ..<n>/, the symlink ..data -> ..<n> swapped by rename,
 *                               and <key> -> ..data/<key> links, so a reader sees the old
 *                               set or the new one, never a mix
 * node_volumes_plan is pure; setup/write/teardown do the I/O.
 */
#ifndef NODE_VOLUMES_H
#define NODE_VOLUMES_H

#include <jansson.h>
#include <stdbool.h>

#include "node/envsrc.h"

/* What pod's volumes hold now: 0 with *out = {"vols": {name: {"dir": true} | {"files":
 * {path: {"data": text, "mode": n}}}}, "mounts": {container: [{"vol", "dst", "ro"}]}}
 * (a new object), or NULL when no container mounts a volume. As kubelet's configMap,
 * secret and projected volume plugins: a ConfigMap or Secret (or an `items` key) that is
 * missing is left out when its source says `optional: true`; otherwise the plan fails
 * with -ENOENT, *out NULL and kubelet's FailedMount message in err, for the first such
 * volume (`MountVolume.SetUp failed for volume "v" : configmap "x" not found`, `secret
 * "x" not found`, `configmap references non-existent config key: k`, `references
 * non-existent secret key: k`; a projected volume's several as "[a, b]"). */
int node_volumes_plan(const json_t *pod, node_envsrc_get_fn get, void *ud, json_t **out, char *err,
		      size_t errlen);

/* Where a pod's ServiceAccount files appear (kube's in-cluster config reads them there). */
#define NODE_VOLUMES_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define NODE_VOLUMES_SA_VOL "kube-api-access-svcplane"

/* Whether pod wants its ServiceAccount's token (spec.automountServiceAccountToken is not
 * false); its ServiceAccount's name into *sa ("default" when none is named). */
bool node_volumes_sa_wanted(const json_t *pod, const char **sa);
/* Adds to *plan (created when NULL) what the ServiceAccount admission plugin's
 * kube-api-access volume gives a pod: files token, ca.crt (when ca is not NULL) and
 * namespace, mode 0644, mounted read-only at NODE_VOLUMES_SA_DIR in every container and
 * init container that mounts nothing there itself. Pure. */
void node_volumes_plan_sa(json_t **plan, const json_t *pod, const char *token, const char *ca);

/* Whether plan needs the pod's own root: it holds a volume other than the ServiceAccount
 * directory. A pod with only that one keeps the node's filesystem (so it sees the node's
 * files as they change, as before) and gets the directory bound at
 * NODE_VOLUMES_SA_DIR in its private mount namespace. */
bool node_volumes_need_root(const json_t *plan);
/* Makes NODE_VOLUMES_SA_DIR on the node (an empty mount point, in /run on Debian, where
 * /var/run -> /run), for pods without a root of their own. 0 or -errno with err. */
int node_volumes_sa_mountpoint(char *err, size_t errlen);

/* Mounts a tmpfs (mode 0700) at dir, unless one is there, and makes upper/, work/,
 * merged/, vol/, run-upper/ and run-work/. Returns 0 or -errno with the reason in err. */
int node_volumes_setup(const char *dir, char *err, size_t errlen);
/* Writes plan's volumes under dir/vol (atomically per volume, see above). Returns 0 or
 * -errno with err. */
int node_volumes_write(const char *dir, const json_t *plan, char *err, size_t errlen);
/* The runtime's mounts ({container: [{src, dst, ro}]}) of plan under dir. A new object. */
json_t *node_volumes_mounts(const char *dir, const json_t *plan);
/* Unmounts dir's tmpfs (lazily) and removes dir. */
void node_volumes_teardown(const char *dir);
/* Tears down every pod directory under <data_dir>/volumes whose uid known() denies (all
 * of them when known is NULL): what a restarted agent or `agent --cleanup` finds. */
void node_volumes_cleanup(const char *data_dir, bool (*known)(void *ud, const char *uid), void *ud);

#endif
