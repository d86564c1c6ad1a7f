/* uproxy.h - the userspace Service proxy (`--proxy-mode userspace`): per-core epoll loops
 * that accept a Service's connections on ports of their own, pick a backend with the
 * Service's scheduler (proxy/sched.h), and relay TCP with splice(2) and UDP by flows.
 *
 * Interception: each service port gets a listener on an ephemeral port of the proxy
 * (TCP: one socket in every loop's epoll with EPOLLEXCLUSIVE, so a connection wakes a
 * loop that waits; UDP: one SO_REUSEPORT socket per loop), and the nftables table `inet svcplane_uproxy`
 * redirects its cluster IP, external IPs and load-balancer addresses there (maps
 * `redir4/6`: daddr . l4proto . dport -> proxy port, in nat prerouting and output, so
 * pods and the node itself are intercepted). Node ports are listened on directly, on
 * every address of the family (so 127.0.0.1 and ::1 answer too, TCP and UDP). A port
 * with externalTrafficPolicy Local gets a second listener for its external addresses
 * and node port, whose endpoint set is the node's own.
 *
 * Threads:
 *   - the caller's (the proxy's sync thread): uproxy_sync builds a new table of
 *     listeners and service states, programs the nft maps, publishes the table and
 *     wakes each loop through its eventfd;
 *   - N loops (one per online CPU, at most UPROXY_MAX_LOOPS): each owns its epoll, its
 *     connections (those it accepted) and UDP flows, and registers each listener. Loops share
 *     only the per-service state (endpoint sets, scheduler, affinity table), under that
 *     service's mutex, taken once per new connection or flow.
 *
 * TCP connection, as a state machine (one per accepted client):
 *
 *   accept -> pick backend -> CONNECTING --connected--> RELAY --both halves shut--> closed
 *                 ^               | refused, timeout          | error, idle timeout
 *                 '-- next, up to-'                          v
 *                    `retries` tries  --none left--> client reset (RST), closed
 *
 * The client's first bytes are read right after accept, so they go out with the connect
 * (the handshake's last ACK rides in their segment) and, when the handshake completed
 * inside connect() (a backend on this host), at once, without waiting for EPOLLOUT. A
 * backend that refuses or times out before it connected never saw a byte, so the next
 * one gets the same bytes. A port whose appProtocol has the client speak first (HTTP,
 * gRPC, WebSocket) gets TCP_DEFER_ACCEPT on its listener, so those bytes are always
 * there at accept: one wake-up does accept, read, connect and send. Each socket is
 * registered in epoll once (in, out, rdhup, edge-triggered): no epoll_ctl after the two
 * adds.
 *
 * RELAY moves bytes client->backend and backend->client: short messages by recv and send
 * through the loop's buffer (a short read means the socket is drained: no read spent on
 * EAGAIN); a read that fills the 64 KiB buffer turns that direction to splice(2) through
 * a 1 MiB pipe (no copy to userspace) for the rest of the connection. Bytes the
 * destination does not take wait in a heap buffer (at most 64 KiB) or the pipe and the
 * source is not read meanwhile. EOF on one side is passed on as shutdown(WR) to the other
 * once drained (half-close); when the FIN is known to follow (EPOLLRDHUP), the data is
 * written with MSG_MORE so it leaves in the FIN's segment. Pipes are taken from a
 * per-loop pool when needed and returned when drained, so an idle connection holds its 2
 * sockets only. Memory per connection: one struct uconn (280 bytes, recycled through a
 * per-loop free list) plus the kernel's socket buffers; while data waits for a slow
 * destination, at most 64 KiB a direction copied, or a bulk direction's pipe: up to 1 MiB
 * of socket-buffer pages it references.
 *
 * UDP: a flow per (listener, client address and port) in the loop that received the
 * packet (SO_REUSEPORT hashes a 4-tuple to one socket, so a client stays in one loop),
 * with a connected socket to its backend; replies go out of the listener's socket with
 * the local address the client's packet was sent to (IP_PKTINFO), so conntrack turns
 * them back into the Service's address. A flow whose backend left the set, or whose
 * backend refused (ICMP), chooses again on its next packet; idle flows expire.
 */
#ifndef PROXY_UPROXY_H
#define PROXY_UPROXY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "proxy/model.h"

#define UPROXY_TABLE "svcplane_uproxy"
#define UPROXY_MAX_LOOPS 16
#define UPROXY_SCHED_ANNOTATION "svcplane.io/scheduler"

struct uproxy_config {
	int loops;		/* 0 = one per online CPU */
	int connect_timeout_ms; /* 0 = 1000 */
	int tries;		/* backends tried per TCP connection; 0 = 3 */
	int tcp_idle_ms;	/* 0 = $SVCPLANE_UPROXY_TCP_IDLE_MS (tests), else 900 s (IPVS's) */
	int udp_idle_ms;	/* 0 = $SVCPLANE_UPROXY_UDP_IDLE_MS (tests), else 30 s */
	const char *table;	/* nft table; NULL = UPROXY_TABLE */
	bool dry;		/* no nftables (unit tests, benches on loopback) */
};

struct uproxy;

/* Raises RLIMIT_NOFILE to its hard limit, starts the loops. Returns 0 and *out, or a
 * negative errno with a sentence in err. */
int uproxy_new(const struct uproxy_config *c, struct uproxy **out, char *err, size_t errlen);
/* Stops the loops, closes every socket and deletes the nft table. NULL is a no-op. */
void uproxy_free(struct uproxy *u);

/* Makes the proxy serve model m (borrowed; every service port of the cluster);
 * services (borrowed JSON array of the Services) gives each one's scheduler annotation.
 * For each Service whose annotation names no scheduler, appends {"namespace", "name",
 * "value"} to bad (when not NULL), once per distinct value. Established connections and
 * flows to backends that stay are kept. Returns 0, or -EIO when nftables refused (err
 * says why; the listeners are still updated). Blocks on netlink. */
int uproxy_sync(struct uproxy *u, const struct proxy_model *m, const json_t *services, json_t *bad, char *err,
		size_t errlen);

/* The port the listener of the service port "ns/name/port_name/family/proto" listens
 * on (external = the etp-Local listener), or 0; for tests and benches. */
uint16_t uproxy_port(struct uproxy *u, const char *key, bool external);

/* Appends counters (connections, retries, resets, UDP flows) in Prometheus format. */
void uproxy_metrics_write(struct uproxy *u, struct buf *b);

/* Deletes the nft table (agent --cleanup). Missing is not an error. */
int uproxy_cleanup(char *err, size_t errlen);

#endif
