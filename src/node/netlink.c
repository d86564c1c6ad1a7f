/* netlink.c - the rtnetlink client of netlink.h on libmnl.
 *
 * Every public call: clear the handle's message, check its arguments, build one
 * request in a stack buffer, and hand it to transact(), which stamps a fresh sequence
 * number, sends it and reads replies until the ACK (changes) or NLMSG_DONE (dumps).
 * transact() walks the messages itself rather than through mnl_cb_run() so that it can
 * skip replies of other sequence numbers (late answers to a timed-out request), finish
 * reading an interrupted dump before reporting it, and take the kernel's extended-ACK
 * text out of an NLMSG_ERROR. Data messages go to a per-call callback that parses
 * them into our structs with libmnl's validated attribute parser.
 */
#include "node/netlink.h"

#include "base/mem.h"
#include "base/vec.h"
#include "node/netns.h"

#include <errno.h>
#include <stddef.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* The kernel sizes dump messages to the reader's buffer up to 32 KiB. */
#define NL_RECV_SIZE 32768
/* Requests here are a header, one struct and a few short attributes. */
#define NL_REQ_SIZE 1024
/* Bounds of one transaction: datagrams read, and dump restarts after NLM_F_DUMP_INTR. */
#define NL_MAX_RECV 100000
#define NL_DUMP_TRIES 3
/* Upper bound of entries one dump may return, against a runaway namespace. */
#define NL_MAX_ENTRIES 1000000

struct node_nl {
	struct mnl_socket *sock;
	unsigned portid;
	unsigned seq;
	char *buf;     /* NL_RECV_SIZE bytes */
	char ext[160]; /* the kernel's extended-ACK text of the current request */
	char err[512];
};

/* A data-message callback: returns 0 or -errno (the transaction then fails with it). */
typedef int (*msg_cb)(const struct nlmsghdr *nlh, void *data);

static void begin(struct node_nl *nl)
{
	nl->err[0] = 0;
	nl->ext[0] = 0;
}

/* Records the sentence for a failed call and returns rc. */
static int fail(struct node_nl *nl, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct node_nl *nl, int rc, const char *fmt, ...)
{
	char what[192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (nl->ext[0])
		snprintf(nl->err, sizeof nl->err, "%s: %s (kernel: %s)", what, strerror(-rc), nl->ext);
	else
		snprintf(nl->err, sizeof nl->err, "%s: %s", what, strerror(-rc));
	return rc;
}

/* ---- the handle ---- */

struct open_ctx {
	struct mnl_socket *sock;
	int err;
	const char *step;
};

/* Runs on the namespace's dedicated thread: the socket keeps that namespace. */
static int open_socket(void *p)
{
	struct open_ctx *c = p;
	c->step = "socket(NETLINK_ROUTE)";
	c->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!c->sock)
		return -errno;
	c->step = "bind";
	if (mnl_socket_bind(c->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(c->sock);
		c->sock = NULL;
		return -e;
	}
	return 0;
}

int node_nl_new(int netns_fd, struct node_nl **out, char *err, size_t errlen)
{
	*out = NULL;
	struct open_ctx c = {.step = "join network namespace"};
	int rc = netns_fd >= 0 ? node_netns_run(netns_fd, open_socket, &c) : open_socket(&c);
	if (rc != 0) {
		if (err && errlen)
			snprintf(err, errlen, "netlink: %s: %s", c.step, strerror(-rc));
		return rc;
	}
	int fd = mnl_socket_get_fd(c.sock);
	struct timeval tv = {.tv_sec = NODE_NL_TIMEOUT_MS / 1000,
			     .tv_usec = (NODE_NL_TIMEOUT_MS % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	/* Best effort: older kernels lack them and then give no extended text. */
	int one = 1;
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);

	struct node_nl *nl = xcalloc(1, sizeof *nl);
	nl->sock = c.sock;
	nl->portid = mnl_socket_get_portid(c.sock);
	nl->seq = (unsigned)time(NULL);
	nl->buf = xmalloc(NL_RECV_SIZE);
	*out = nl;
	return 0;
}

void node_nl_free(struct node_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl->buf);
	free(nl);
}

const char *node_nl_errmsg(const struct node_nl *nl)
{
	return nl->err;
}

/* ---- the transaction ---- */

struct attr_tb {
	const struct nlattr **a;
	unsigned max;
};

static int attr_tb_cb(const struct nlattr *attr, void *data)
{
	struct attr_tb *tb = data;
	unsigned type = mnl_attr_get_type(attr);
	if (type <= tb->max)
		tb->a[type] = attr;
	return MNL_CB_OK;
}

/* Parses the attributes after a fixed header of hdrlen bytes into a[0..max].
 * Returns 0, or -EBADMSG when the payload is shorter than the header. */
static int parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **a, unsigned max)
{
	memset(a, 0, (max + 1) * sizeof *a);
	if (mnl_nlmsg_get_payload_len(nlh) < hdrlen)
		return -EBADMSG;
	struct attr_tb tb = {a, max};
	return mnl_attr_parse(nlh, hdrlen, attr_tb_cb, &tb) < 0 ? -EBADMSG : 0;
}

static int parse_nested(const struct nlattr *nest, const struct nlattr **a, unsigned max)
{
	memset(a, 0, (max + 1) * sizeof *a);
	struct attr_tb tb = {a, max};
	return mnl_attr_parse_nested(nest, attr_tb_cb, &tb) < 0 ? -EBADMSG : 0;
}

/* Takes the error code and the extended-ACK message out of NLMSG_ERROR or the
 * NLMSG_DONE of a dump. Returns the (negative or zero) code, or -EBADMSG. */
static int parse_error(struct node_nl *nl, const struct nlmsghdr *nlh)
{
	size_t plen = mnl_nlmsg_get_payload_len(nlh);
	size_t off;
	int code;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		if (plen < sizeof(struct nlmsgerr))
			return -EBADMSG;
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
		code = e->error;
		off = sizeof *e;
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > sizeof(struct nlmsghdr))
			off += MNL_ALIGN(e->msg.nlmsg_len - sizeof(struct nlmsghdr));
	} else {
		if (plen < sizeof(int))
			return 0; /* very old kernels: a bare DONE */
		memcpy(&code, mnl_nlmsg_get_payload(nlh), sizeof code);
		off = MNL_ALIGN(sizeof(int));
	}
	if (code > 0)
		return -EBADMSG;
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off <= plen) {
		const struct nlattr *a[NLMSGERR_ATTR_MAX + 1];
		struct attr_tb tb = {a, NLMSGERR_ATTR_MAX};
		memset(a, 0, sizeof a);
		mnl_attr_parse(nlh, off, attr_tb_cb, &tb);
		if (a[NLMSGERR_ATTR_MSG] && mnl_attr_validate(a[NLMSGERR_ATTR_MSG], MNL_TYPE_NUL_STRING) == 0)
			snprintf(nl->ext, sizeof nl->ext, "%s", mnl_attr_get_str(a[NLMSGERR_ATTR_MSG]));
	}
	return code;
}

/* Sends nlh and reads its answer: for a dump (NLM_F_DUMP set) every data message goes
 * to cb until NLMSG_DONE; otherwise NLM_F_ACK is added and the call ends at the ACK,
 * data messages before it (a RTM_GETLINK answer) going to cb. Returns 0 or -errno;
 * -EINTR when a dump was interrupted (the caller restarts it), -ETIMEDOUT when the
 * kernel did not answer within NODE_NL_TIMEOUT_MS. */
static int transact(struct node_nl *nl, struct nlmsghdr *nlh, msg_cb cb, void *data)
{
	bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	if (!dump)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (++nl->seq == 0)
		nl->seq = 1;
	nlh->nlmsg_seq = nl->seq;
	nl->ext[0] = 0;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;

	int rc = 0;
	bool intr = false;
	for (int reads = 0; reads < NL_MAX_RECV; reads++) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, NL_RECV_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -ETIMEDOUT;
			return errno == ENOSPC ? -EMSGSIZE : -errno;
		}
		int left = (int)n;
		for (const struct nlmsghdr *m = (const struct nlmsghdr *)nl->buf; mnl_nlmsg_ok(m, left);
		     m = mnl_nlmsg_next(m, &left)) {
			if (m->nlmsg_seq != nl->seq || (m->nlmsg_pid != 0 && m->nlmsg_pid != nl->portid))
				continue; /* a late answer to an earlier request */
			if (m->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			switch (m->nlmsg_type) {
			case NLMSG_NOOP:
			case NLMSG_OVERRUN:
				continue;
			case NLMSG_ERROR:
			case NLMSG_DONE: {
				int code = parse_error(nl, m);
				if (rc == 0)
					rc = code;
				if (rc == 0 && intr)
					rc = -EINTR;
				return rc;
			}
			default:
				if (cb && rc == 0)
					rc = cb(m, data);
			}
		}
	}
	return -ETIMEDOUT;
}

/* Runs a dump, restarting it when the kernel says it was interrupted; reset(data) is
 * called before each attempt so a partial result is dropped. */
static int dump(struct node_nl *nl, struct nlmsghdr *nlh, msg_cb cb, void *data, void (*reset)(void *))
{
	int rc = -EINTR;
	for (int i = 0; i < NL_DUMP_TRIES && rc == -EINTR; i++) {
		reset(data);
		rc = transact(nl, nlh, cb, data);
	}
	return rc;
}

/* ---- helpers for requests ---- */

union req_buf {
	struct nlmsghdr h;
	char b[NL_REQ_SIZE];
};

static struct nlmsghdr *req_start(union req_buf *r, uint16_t type, uint16_t flags)
{
	memset(r, 0, sizeof *r);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->b);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

static int check_ifname(struct node_nl *nl, const char *what, const char *name)
{
	if (!name || !*name || strlen(name) >= IFNAMSIZ || strchr(name, '/'))
		return fail(nl, -EINVAL, "%s: invalid interface name \"%s\" (1 to %d bytes, no '/')", what,
			    name ? name : "", IFNAMSIZ - 1);
	return 0;
}

static int af_of(int family)
{
	return family == 4 ? AF_INET : family == 6 ? AF_INET6 : AF_UNSPEC;
}

static int fam_of(int af)
{
	return af == AF_INET ? 4 : af == AF_INET6 ? 6 : 0;
}

static size_t ip_len(int family)
{
	return family == 6 ? 16 : 4;
}

/* Copies an address attribute of the given AF into *out. Returns 0 or -EBADMSG. */
static int get_ip(const struct nlattr *a, int af, struct ip_addr *out)
{
	memset(out, 0, sizeof *out);
	int fam = fam_of(af);
	if (!fam || mnl_attr_get_payload_len(a) != ip_len(fam))
		return -EBADMSG;
	out->family = fam;
	memcpy(out->b, mnl_attr_get_payload(a), ip_len(fam));
	return 0;
}

/* A request of type (RTM_NEWLINK, RTM_GETLINK, RTM_DELLINK) for the link named name; attrs are added
 * by the caller after it. */
static struct nlmsghdr *link_req(union req_buf *r, uint16_t type, uint16_t flags, const char *name,
				 struct ifinfomsg **ifm)
{
	struct nlmsghdr *nlh = req_start(r, type, flags);
	*ifm = mnl_nlmsg_put_extra_header(nlh, sizeof **ifm);
	(*ifm)->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

/* ---- links ---- */

int node_link_add_veth(struct node_nl *nl, const char *name, const char *peer, int peer_netns_fd)
{
	begin(nl);
	int rc;
	if ((rc = check_ifname(nl, "add veth", name)) != 0 || (rc = check_ifname(nl, "add veth", peer)) != 0)
		return rc;
	union req_buf r;
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_req(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, name, &ifm);
	struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *info_data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *peer_nest = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow a struct ifinfomsg of its own inside the nest. */
	struct ifinfomsg *pifm = mnl_nlmsg_get_payload_tail(nlh);
	memset(pifm, 0, sizeof *pifm);
	pifm->ifi_family = AF_UNSPEC;
	nlh->nlmsg_len += MNL_ALIGN(sizeof *pifm);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, peer_nest);
	mnl_attr_nest_end(nlh, info_data);
	mnl_attr_nest_end(nlh, linkinfo);
	rc = transact(nl, nlh, NULL, NULL);
	return rc ? fail(nl, rc, "add veth %s (peer %s%s)", name, peer,
			 peer_netns_fd >= 0 ? " in another netns" : "")
		  : 0;
}

int node_link_add_bridge(struct node_nl *nl, const char *name)
{
	begin(nl);
	int rc = check_ifname(nl, "add bridge", name);
	if (rc)
		return rc;
	union req_buf r;
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_req(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, name, &ifm);
	struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, linkinfo);
	rc = transact(nl, nlh, NULL, NULL);
	return rc ? fail(nl, rc, "add bridge %s", name) : 0;
}

int node_link_set_up(struct node_nl *nl, const char *name, bool up)
{
	begin(nl);
	const char *what = up ? "set link up" : "set link down";
	int rc = check_ifname(nl, what, name);
	if (rc)
		return rc;
	union req_buf r;
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_req(&r, RTM_NEWLINK, 0, name, &ifm);
	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = up ? IFF_UP : 0;
	rc = transact(nl, nlh, NULL, NULL);
	return rc ? fail(nl, rc, "%s %s", what, name) : 0;
}

int node_link_set_master(struct node_nl *nl, const char *name, const char *master)
{
	begin(nl);
	int rc = check_ifname(nl, "set master", name);
	if (rc)
		return rc;
	int master_index = 0;
	if (master) {
		master_index = node_link_index(nl, master);
		if (master_index < 0)
			return fail(nl, master_index, "set master of %s to %s", name, master);
		begin(nl);
	}
	union req_buf r;
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_req(&r, RTM_NEWLINK, 0, name, &ifm);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master_index);
	rc = transact(nl, nlh, NULL, NULL);
	return rc ? fail(nl, rc, "set master of %s to %s", name, master ? master : "none") : 0;
}

int node_link_set_hairpin(struct node_nl *nl, const char *name, bool on)
{
	begin(nl);
	int idx = node_link_index(nl, name);
	if (idx < 0)
		return fail(nl, idx, "set hairpin of %s", name);
	begin(nl);
	union req_buf r;
	struct nlmsghdr *nlh = req_start(&r, RTM_SETLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	ifm->ifi_family = AF_BRIDGE;
	ifm->ifi_index = idx;
	struct nlattr *pi = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
	mnl_attr_nest_end(nlh, pi);
	int rc = transact(nl, nlh, NULL, NULL);
	return rc ? fail(nl, rc, "set hairpin of %s", name) : 0;
}

int node_link_set_mtu(struct node_nl *nl, const char *name, unsigned mtu)
{
	begin(nl);
	int rc = check_ifname(nl, "set mtu", name);
	if (rc)
		return rc;
	union req_buf r;
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_req(&r, RTM_NEWLINK, 0, name, &ifm);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	rc = transact(nl, nlh, NULL, NULL);
	return rc ? fail(nl, rc, "set mtu of %s to %u", name, mtu) : 0;
}

int node_link_set_mac(struct node_nl *nl, const char *name, const unsigned char mac[6])
{
	begin(nl);
	int rc = check_ifname(nl, "set address", name);
	if (rc)
		return rc;
	union req_buf r;
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_req(&r, RTM_NEWLINK, 0, name, &ifm);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	rc = transact(nl, nlh, NULL, NULL);
	return rc ? fail(nl, rc, "set address of %s to %02x:%02x:%02x:%02x:%02x:%02x", name, mac[0], mac[1],
			 mac[2], mac[3], mac[4], mac[5])
		  : 0;
}

int node_link_set_netns(struct node_nl *nl, const char *name, int netns_fd)
{
	begin(nl);
	int rc = check_ifname(nl, "move link", name);
	if (rc)
		return rc;
	if (netns_fd < 0)
		return fail(nl, -EBADF, "move link %s to another netns", name);
	union req_buf r;
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_req(&r, RTM_NEWLINK, 0, name, &ifm);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	rc = transact(nl, nlh, NULL, NULL);
	return rc ? fail(nl, rc, "move link %s to another netns", name) : 0;
}

int node_link_del(struct node_nl *nl, const char *name)
{
	begin(nl);
	int rc = check_ifname(nl, "delete link", name);
	if (rc)
		return rc;
	union req_buf r;
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_req(&r, RTM_DELLINK, 0, name, &ifm);
	rc = transact(nl, nlh, NULL, NULL);
	return rc ? fail(nl, rc, "delete link %s", name) : 0;
}

/* An optional u32 attribute: *v gets its value when a is there (else keeps its own).
 * Returns 0, or -EBADMSG when a is not a u32. */
static int opt_u32(const struct nlattr *a, unsigned *v)
{
	if (!a)
		return 0;
	if (mnl_attr_validate(a, MNL_TYPE_U32) != 0)
		return -EBADMSG;
	*v = mnl_attr_get_u32(a);
	return 0;
}

/* Parses one RTM_NEWLINK into *l. Returns 0, or -EBADMSG. */
static int parse_link(const struct nlmsghdr *nlh, struct node_link *l)
{
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return -EBADMSG;
	const struct nlattr *a[IFLA_MAX + 1];
	if (parse_attrs(nlh, sizeof(struct ifinfomsg), a, IFLA_MAX) != 0)
		return -EBADMSG;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	memset(l, 0, sizeof *l);
	l->index = ifm->ifi_index;
	l->flags = ifm->ifi_flags;
	if (!a[IFLA_IFNAME] || mnl_attr_validate(a[IFLA_IFNAME], MNL_TYPE_NUL_STRING) != 0)
		return -EBADMSG;
	snprintf(l->name, sizeof l->name, "%s", mnl_attr_get_str(a[IFLA_IFNAME]));
	unsigned master = 0;
	if (opt_u32(a[IFLA_MASTER], &master) != 0 || opt_u32(a[IFLA_MTU], &l->mtu) != 0)
		return -EBADMSG;
	l->master = (int)master;
	if (a[IFLA_ADDRESS] && mnl_attr_get_payload_len(a[IFLA_ADDRESS]) == sizeof l->mac)
		memcpy(l->mac, mnl_attr_get_payload(a[IFLA_ADDRESS]), sizeof l->mac);
	if (a[IFLA_LINKINFO]) {
		const struct nlattr *li[IFLA_INFO_MAX + 1];
		if (mnl_attr_validate(a[IFLA_LINKINFO], MNL_TYPE_NESTED) != 0 ||
		    parse_nested(a[IFLA_LINKINFO], li, IFLA_INFO_MAX) != 0)
			return -EBADMSG;
		if (li[IFLA_INFO_KIND]) {
			if (mnl_attr_validate(li[IFLA_INFO_KIND], MNL_TYPE_NUL_STRING) != 0)
				return -EBADMSG;
			snprintf(l->kind, sizeof l->kind, "%s", mnl_attr_get_str(li[IFLA_INFO_KIND]));
		}
	}
	return 0;
}

static int link_one_cb(const struct nlmsghdr *nlh, void *data)
{
	return parse_link(nlh, data);
}

int node_link_get(struct node_nl *nl, const char *name, struct node_link *out)
{
	begin(nl);
	int rc = check_ifname(nl, "get link", name);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	union req_buf r;
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_req(&r, RTM_GETLINK, 0, name, &ifm);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	rc = transact(nl, nlh, link_one_cb, out);
	if (rc == 0 && out->index <= 0)
		rc = -EBADMSG; /* ACKed without the link */
	return rc ? fail(nl, rc, "get link %s", name) : 0;
}

int node_link_index(struct node_nl *nl, const char *name)
{
	struct node_link l;
	int rc = node_link_get(nl, name, &l);
	return rc ? rc : l.index;
}

/* A growing array of fixed-size entries, for the dumps: one type of entry per dump, chosen
 * at run time, so base/vec.h's untyped core rather than its typed VEC(). */
struct vec {
	void *v;
	size_t len, cap, size;
	int family; /* filter of the address and route dumps: 0, 4 or 6 */
};

static void *entry_push(struct vec *v)
{
	if (v->len >= NL_MAX_ENTRIES)
		return NULL;
	return vec__push(&v->v, &v->len, &v->cap, v->size);
}

static void vec_reset(void *p)
{
	((struct vec *)p)->len = 0;
}

/* Runs the dump nlh into entries of size bytes, each added by cb (family: the filter of
 * the address and route dumps). Returns the array, the caller's (NULL on failure or when
 * empty), with its count in *n; *rc gets 0 or the failure, recorded as "list what". */
static void *dump_list(struct node_nl *nl, struct nlmsghdr *nlh, msg_cb cb, size_t size, int family,
		       const char *what, size_t *n, int *rc)
{
	struct vec v = {.size = size, .family = family};
	*rc = dump(nl, nlh, cb, &v, vec_reset);
	if (*rc != 0 || v.len == 0) {
		free(v.v);
		v.v = NULL;
		v.len = 0;
	}
	*n = v.len;
	if (*rc)
		*rc = fail(nl, *rc, "list %s", what);
	return v.v;
}

/* A dump of the addresses or routes (type RTM_GETADDR or RTM_GETROUTE) of family 0, 4 or
 * 6, as dump_list. Its request header (ifaddrmsg, rtmsg: hdrlen bytes) starts with the
 * family byte in both. */
static void *dump_family(struct node_nl *nl, uint16_t type, size_t hdrlen, int family, msg_cb cb, size_t size,
			 const char *what, size_t *n, int *rc)
{
	_Static_assert(offsetof(struct ifaddrmsg, ifa_family) == 0 && offsetof(struct rtmsg, rtm_family) == 0,
		       "the family is the first byte of both request headers");
	begin(nl);
	if (family != 0 && family != 4 && family != 6) {
		*n = 0;
		*rc = fail(nl, -EINVAL, "list %s: family %d is not 0, 4 or 6", what, family);
		return NULL;
	}
	union req_buf r;
	struct nlmsghdr *nlh = req_start(&r, type, NLM_F_DUMP);
	unsigned char *af = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	*af = (unsigned char)af_of(family);
	return dump_list(nl, nlh, cb, size, family, what, n, rc);
}

static int link_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct node_link *l = entry_push(data);
	return l ? parse_link(nlh, l) : -E2BIG;
}

int node_link_list(struct node_nl *nl, struct node_link **out, size_t *n)
{
	begin(nl);
	union req_buf r;
	struct nlmsghdr *nlh = req_start(&r, RTM_GETLINK, NLM_F_DUMP);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	int rc;
	*out = dump_list(nl, nlh, link_list_cb, sizeof(**out), 0, "links", n, &rc);
	return rc;
}

/* ---- addresses ---- */

static int check_prefix(const struct ip_addr *ip, int prefix)
{
	if (!ip || (ip->family != 4 && ip->family != 6))
		return -EINVAL;
	return prefix < 0 || prefix > (ip->family == 4 ? 32 : 128) ? -EINVAL : 0;
}

static int addr_request(struct node_nl *nl, uint16_t type, uint16_t flags, const char *dev,
			const struct ip_addr *ip, int prefix)
{
	int ifindex = node_link_index(nl, dev);
	if (ifindex < 0)
		return ifindex;
	begin(nl);
	union req_buf r;
	struct nlmsghdr *nlh = req_start(&r, type, flags);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
	ifa->ifa_family = (unsigned char)af_of(ip->family);
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put(nlh, IFA_LOCAL, ip_len(ip->family), ip->b);
	mnl_attr_put(nlh, IFA_ADDRESS, ip_len(ip->family), ip->b);
	if (type == RTM_NEWADDR && ip->family == 6) {
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}
	return transact(nl, nlh, NULL, NULL);
}

/* Adds (RTM_NEWADDR) or deletes an address after checking its arguments; a failure is
 * recorded as "add address A/P to DEV" or "delete address A/P from DEV". */
static int addr_change(struct node_nl *nl, uint16_t type, uint16_t flags, const char *dev,
		       const struct ip_addr *ip, int prefix)
{
	const char *what = type == RTM_NEWADDR ? "add address" : "delete address";
	const char *to = type == RTM_NEWADDR ? "to" : "from";
	begin(nl);
	int rc = check_ifname(nl, what, dev);
	if (rc)
		return rc;
	char s[IP_STRLEN] = "?";
	if (check_prefix(ip, prefix) != 0)
		return fail(nl, -EINVAL, "%s %s/%d %s %s: bad address or prefix length", what,
			    ip && ip->family ? ip_format(ip, s, sizeof s) : "?", prefix, to, dev);
	ip_format(ip, s, sizeof s);
	rc = addr_request(nl, type, flags, dev, ip, prefix);
	return rc ? fail(nl, rc, "%s %s/%d %s %s", what, s, prefix, to, dev) : 0;
}

int node_addr_add(struct node_nl *nl, const char *dev, const struct ip_addr *ip, int prefix, unsigned flags)
{
	return addr_change(nl, RTM_NEWADDR,
			   NLM_F_CREATE | ((flags & NODE_NL_REPLACE) ? NLM_F_REPLACE : NLM_F_EXCL), dev, ip,
			   prefix);
}

int node_addr_del(struct node_nl *nl, const char *dev, const struct ip_addr *ip, int prefix)
{
	return addr_change(nl, RTM_DELADDR, 0, dev, ip, prefix);
}

int node_neigh_del(struct node_nl *nl, const char *dev, const struct ip_addr *ip)
{
	begin(nl);
	int rc = check_ifname(nl, "delete neighbour", dev);
	if (rc)
		return rc;
	char s[IP_STRLEN] = "?";
	if (!ip || (ip->family != 4 && ip->family != 6))
		return fail(nl, -EINVAL, "delete neighbour on %s: bad address", dev);
	ip_format(ip, s, sizeof s);
	int ifindex = node_link_index(nl, dev);
	if (ifindex < 0)
		return fail(nl, ifindex, "delete neighbour %s: no link %s", s, dev);
	begin(nl);
	union req_buf r;
	struct nlmsghdr *nlh = req_start(&r, RTM_DELNEIGH, 0);
	struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof *nd);
	nd->ndm_family = (unsigned char)af_of(ip->family);
	nd->ndm_ifindex = ifindex;
	mnl_attr_put(nlh, NDA_DST, ip_len(ip->family), ip->b);
	rc = transact(nl, nlh, NULL, NULL);
	return rc ? fail(nl, rc, "delete neighbour %s dev %s", s, dev) : 0;
}

/* The start of an address or route dump message: its type is want, its attributes parse
 * into a[0..max], and its family (the first byte of its header, hdrlen bytes), in *fam,
 * passes the dump's filter. Returns 1 to read it, 0 to skip it, or -EBADMSG. */
static int family_msg(const struct nlmsghdr *nlh, uint16_t want, size_t hdrlen, const struct nlattr **a,
		      unsigned max, const struct vec *v, int *fam)
{
	if (nlh->nlmsg_type != want || parse_attrs(nlh, hdrlen, a, max) != 0)
		return -EBADMSG;
	*fam = fam_of(*(const unsigned char *)mnl_nlmsg_get_payload(nlh));
	return *fam && (!v->family || v->family == *fam);
}

static int addr_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct vec *v = data;
	const struct nlattr *a[IFA_MAX + 1];
	int fam, rc = family_msg(nlh, RTM_NEWADDR, sizeof(struct ifaddrmsg), a, IFA_MAX, v, &fam);
	if (rc <= 0)
		return rc;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	/* IFA_LOCAL is the local address; IFA_ADDRESS is the peer on point-to-point links. */
	const struct nlattr *at = a[IFA_LOCAL] ? a[IFA_LOCAL] : a[IFA_ADDRESS];
	if (!at)
		return -EBADMSG;
	struct node_addr *ad = entry_push(v);
	if (!ad)
		return -E2BIG;
	if (get_ip(at, ifa->ifa_family, &ad->ip) != 0)
		return -EBADMSG;
	ad->ifindex = (int)ifa->ifa_index;
	ad->prefix = ifa->ifa_prefixlen;
	ad->flags = ifa->ifa_flags;
	if (a[IFA_FLAGS] && mnl_attr_validate(a[IFA_FLAGS], MNL_TYPE_U32) == 0)
		ad->flags = mnl_attr_get_u32(a[IFA_FLAGS]);
	return 0;
}

int node_addr_list(struct node_nl *nl, int family, struct node_addr **out, size_t *n)
{
	int rc;
	*out = dump_family(nl, RTM_GETADDR, sizeof(struct ifaddrmsg), family, addr_list_cb, sizeof(**out),
			   "addresses", n, &rc);
	return rc;
}

/* ---- routes ---- */

static int route_change(struct node_nl *nl, uint16_t type, uint16_t flags, const struct node_route *rt)
{
	union req_buf r;
	struct nlmsghdr *nlh = req_start(&r, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
	int fam = rt->dst.net.family;
	rtm->rtm_family = (unsigned char)af_of(fam);
	rtm->rtm_dst_len = (unsigned char)rt->dst.bits;
	rtm->rtm_table = RT_TABLE_MAIN;
	if (type == RTM_NEWROUTE) {
		rtm->rtm_protocol = rt->protocol ? rt->protocol : RTPROT_STATIC;
		rtm->rtm_type = RTN_UNICAST;
		rtm->rtm_scope = (fam == 4 && !rt->gw.family) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	} else {
		/* As `ip route del`: any scope matches; protocol and type only when given. */
		rtm->rtm_protocol = rt->protocol;
		rtm->rtm_type = rt->type;
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	}
	mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
	if (rt->dst.bits > 0)
		mnl_attr_put(nlh, RTA_DST, ip_len(fam), rt->dst.net.b);
	if (rt->gw.family)
		mnl_attr_put(nlh, RTA_GATEWAY, ip_len(fam), rt->gw.b);
	if (rt->oif > 0)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)rt->oif);
	if (rt->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, rt->metric);
	return transact(nl, nlh, NULL, NULL);
}

static int check_route(const struct node_route *rt, bool add)
{
	int fam = rt->dst.net.family;
	if (fam != 4 && fam != 6)
		return -EINVAL;
	if (rt->dst.bits < 0 || rt->dst.bits > (fam == 4 ? 32 : 128))
		return -EINVAL;
	if (rt->gw.family && rt->gw.family != fam)
		return -EINVAL;
	if (add && !rt->gw.family && rt->oif <= 0)
		return -EINVAL;
	return 0;
}

static const char *route_text(const struct node_route *rt, char *buf, size_t len)
{
	char d[CIDR_STRLEN] = "?", g[IP_STRLEN] = "";
	if (rt->dst.net.family == 4 || rt->dst.net.family == 6)
		cidr_format(&rt->dst, d, sizeof d);
	if (rt->gw.family == 4 || rt->gw.family == 6)
		ip_format(&rt->gw, g, sizeof g);
	snprintf(buf, len, "%s%s%s", d, g[0] ? " via " : "", g);
	if (rt->oif > 0) {
		size_t l = strlen(buf);
		snprintf(buf + l, len - l, " oif %d", rt->oif);
	}
	return buf;
}

int node_route_add(struct node_nl *nl, const struct node_route *rt, unsigned flags)
{
	begin(nl);
	char t[128];
	if (check_route(rt, true) != 0)
		return fail(nl, -EINVAL,
			    "add route %s: need an IPv4 or IPv6 destination, and a gateway of its family "
			    "or an output link",
			    route_text(rt, t, sizeof t));
	int rc = route_change(nl, RTM_NEWROUTE,
			      NLM_F_CREATE | ((flags & NODE_NL_REPLACE) ? NLM_F_REPLACE : NLM_F_EXCL), rt);
	return rc ? fail(nl, rc, "add route %s", route_text(rt, t, sizeof t)) : 0;
}

int node_route_del(struct node_nl *nl, const struct node_route *rt)
{
	begin(nl);
	char t[128];
	if (check_route(rt, false) != 0)
		return fail(nl, -EINVAL, "delete route %s: bad destination or gateway family",
			    route_text(rt, t, sizeof t));
	int rc = route_change(nl, RTM_DELROUTE, 0, rt);
	return rc ? fail(nl, rc, "delete route %s", route_text(rt, t, sizeof t)) : 0;
}

static int route_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct vec *v = data;
	const struct nlattr *a[RTA_MAX + 1];
	int fam, rc = family_msg(nlh, RTM_NEWROUTE, sizeof(struct rtmsg), a, RTA_MAX, v, &fam);
	if (rc <= 0)
		return rc;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	unsigned table = rtm->rtm_table;
	if (opt_u32(a[RTA_TABLE], &table) != 0)
		return -EBADMSG;
	if (table != RT_TABLE_MAIN)
		return 0;
	if (rtm->rtm_dst_len > (fam == 4 ? 32 : 128))
		return -EBADMSG;
	struct node_route *rt = entry_push(v);
	if (!rt)
		return -E2BIG;
	rt->dst.net.family = fam;
	rt->dst.bits = rtm->rtm_dst_len;
	if (a[RTA_DST] && get_ip(a[RTA_DST], rtm->rtm_family, &rt->dst.net) != 0)
		return -EBADMSG;
	if (a[RTA_GATEWAY] && get_ip(a[RTA_GATEWAY], rtm->rtm_family, &rt->gw) != 0)
		return -EBADMSG;
	unsigned oif = 0;
	if (opt_u32(a[RTA_OIF], &oif) != 0 || opt_u32(a[RTA_PRIORITY], &rt->metric) != 0)
		return -EBADMSG;
	rt->oif = (int)oif;
	rt->protocol = rtm->rtm_protocol;
	rt->scope = rtm->rtm_scope;
	rt->type = rtm->rtm_type;
	return 0;
}

int node_route_list(struct node_nl *nl, int family, struct node_route **out, size_t *n)
{
	int rc;
	*out = dump_family(nl, RTM_GETROUTE, sizeof(struct rtmsg), family, route_list_cb, sizeof(**out),
			   "routes", n, &rc);
	return rc;
}
