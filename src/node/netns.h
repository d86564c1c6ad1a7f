/* netns.h - named network namespaces, compatible with iproute2's `ip netns`.
 *
 * A named namespace is a file /run/netns/NAME on which the namespace's nsfs inode is
 * bind-mounted; the mount keeps the namespace alive with no process in it, exactly as
 * `ip netns add` does, so `ip netns list/exec/delete` see ours and we see theirs. As
 * iproute2 does, /run/netns is made a shared mount (bind-mounted onto itself first
 * when it is not a mount point yet), so the mounts propagate to other mount namespaces
 * that were created after it.
 *
 * How we switch namespaces: never in the calling thread. Anything that must run
 * inside another network namespace runs on a short-lived dedicated thread that calls
 * setns(fd, CLONE_NEWNET) and then the work, and exits; the caller's threads never
 * change namespace, so a signal handler, the event loop or another thread can never
 * observe a half-switched process. The network namespace is per thread in Linux, so
 * this is sufficient and cheaper than a fork (no copy of the address space, and the
 * work shares our memory, so it can fill the caller's buffers). What we do there: open
 * a netlink socket (node_nl_new(), the socket stays bound to that namespace for its
 * whole life), write a sysctl (/proc/sys/net resolves against the opening thread's
 * namespace), or create a namespace (unshare(CLONE_NEWNET) on the thread, then a bind
 * mount of /proc/self/task/TID/ns/net). Mount namespace and working directory are
 * shared with the process, which is what the bind mounts need.
 *
 * Every function may block briefly (a thread create and join, mount(2)); none keeps
 * state between calls. All need CAP_SYS_ADMIN except node_netns_open/list.
 */
#ifndef NODE_NETNS_H
#define NODE_NETNS_H

#include <stddef.h>

/* Where named namespaces live (iproute2's NETNS_RUN_DIR). */
#define NODE_NETNS_DIR "/run/netns"

/* True when name is usable as a namespace name: 1..NAME_MAX-1 bytes, no '/', not "."
 * or "..", printable ASCII. Returns 0 or -EINVAL. */
int node_netns_check_name(const char *name);

/* Creates the named namespace NAME (a fresh network namespace with only a down
 * loopback). Returns 0; -EEXIST when the name is taken; another -errno with a sentence
 * in err (may be NULL) otherwise. On failure nothing is left behind. */
int node_netns_create(const char *name, char *err, size_t errlen);

/* Opens the named namespace for setns(2) or IFLA_NET_NS_FD. Returns an O_CLOEXEC
 * descriptor that the caller closes, or -ENOENT / -EINVAL / another -errno. */
int node_netns_open(const char *name);

/* Deletes the named namespace: lazy-unmounts and unlinks /run/netns/NAME. The
 * namespace itself lives on while a process or an open descriptor still holds it (as
 * with `ip netns delete`). Returns 0, -ENOENT when there is no such name, or another
 * -errno with a sentence in err (may be NULL). */
int node_netns_delete(const char *name, char *err, size_t errlen);

/* Lists the names under /run/netns, sorted. On success *names is a heap array of *n
 * heap strings that the caller frees with node_netns_list_free(); an absent directory
 * is an empty list. Returns 0 or -errno. */
int node_netns_list(char ***names, size_t *n);
void node_netns_list_free(char **names, size_t n);

/* Runs fn(arg) on a dedicated thread that has first joined the network namespace
 * netns_fd (borrowed; -1 runs it in the caller's namespace, still on a thread). Blocks
 * until fn returns. Returns fn's result, or -errno when the thread could not be
 * started or setns failed (fn did not run then). fn must not keep the thread: it must
 * not call pthread_exit, and must close what it opens unless it hands it out. */
int node_netns_run(int netns_fd, int (*fn)(void *arg), void *arg);

#endif
