/* sysctl.h - reading and writing the kernel's /proc/sys knobs, in any network namespace.
 *
 * The net.* knobs are per network namespace: /proc/sys/net resolves against the
 * namespace of the thread that opens the file, so a write for another namespace runs on
 * a dedicated thread that has joined it (node_netns_run), never in the caller's thread.
 * Keys are given in sysctl(8)'s dotted form ("net.ipv4.ip_forward") or as a path under
 * /proc/sys ("net/ipv4/ip_forward"); a dotted key cannot name an interface with a dot
 * in it, use the slash form for those. Some knobs may be absent on a host (the
 * bridge-nf-call-* ones exist only while br_netfilter is loaded, net.ipv6 only with
 * IPv6): the calls say so with -ENOENT and the caller decides whether that matters.
 */
#ifndef NODE_SYSCTL_H
#define NODE_SYSCTL_H

#include <stddef.h>

/* Writes value (a newline is added) to the knob key in the namespace netns_fd
 * (borrowed; -1 for the caller's own). Returns 0, -ENOENT when the knob does not exist,
 * -EINVAL for a malformed key (empty, "..", a leading '/'), or another -errno. Blocks
 * briefly (a thread when netns_fd >= 0). */
int node_sysctl_write(int netns_fd, const char *key, const char *value);
/* Reads the knob into buf (len bytes, NUL-terminated, trailing newline removed).
 * Returns 0 or -errno as node_sysctl_write; -EMSGSIZE when the value does not fit. */
int node_sysctl_read(int netns_fd, const char *key, char *buf, size_t len);

/* Turns a namespace into a router, as a node (and the cluster harness) needs:
 * net.ipv4.ip_forward=1 is required; net.ipv6.conf.all.forwarding=1 and
 * net.bridge.bridge-nf-call-iptables/ip6tables=1 (so bridged pod traffic passes
 * through the proxy's rules) are set when they exist and skipped when absent.
 * Returns 0, or the first hard -errno with a sentence in err (may be NULL). */
int node_sysctl_enable_forwarding(int netns_fd, char *err, size_t errlen);

#endif
