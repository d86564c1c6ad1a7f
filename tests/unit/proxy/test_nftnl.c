/* test_nftnl.c - the element-only netlink encoder without root: element commands become
 * one batch whose keys and values have nftables' byte layout (4-byte fields, ports in
 * network order, numgen indexes and marks in host order), and anything that is not an
 * element command is left to libnftables. */
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "proxy/nftnl.h"
#include "harness/t.h"

/* The first key's bytes of the first element message in the batch b. */
static size_t first_key(const struct buf *b, int *type, uint8_t *key)
{
	int left = (int)b->len;
	for (const struct nlmsghdr *h = (const void *)b->data; mnl_nlmsg_ok(h, left);
	     h = mnl_nlmsg_next(h, &left)) {
		int t = h->nlmsg_type & 0xff;
		if ((h->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES)
			continue;
		*type = t;
		const struct nlattr *a;
		mnl_attr_for_each(a, h, sizeof(struct nfgenmsg))
		{
			if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
				continue;
			const struct nlattr *e = mnl_attr_get_payload(a);
			const struct nlattr *k = mnl_attr_get_payload(e); /* NFTA_SET_ELEM_KEY */
			const struct nlattr *v = mnl_attr_get_payload(k); /* NFTA_DATA_VALUE */
			size_t l = mnl_attr_get_payload_len(v);
			memcpy(key, mnl_attr_get_payload(v), l);
			return l;
		}
	}
	return 0;
}

TEST(proxy_nftnl_encodes_concatenated_keys)
{
	struct buf b;
	buf_init(&b);
	uint32_t seq = 100, last = 0;
	char err[128];
	ASSERT_INT_EQ(
	    proxy_nftnl_encode("add element inet t eps4-2 { 198.19.0.1 . tcp . 80 . 1 : 198.18.100.1 . 8080, "
			       "198.19.0.1 . tcp . 80 . 0 : 198.18.100.2 . 8080 }\n"
			       "add element inet t service-ips4 { 198.19.0.1 . tcp . 80 : goto cl4-2 }\n",
			       &b, &seq, &last, err, sizeof(err)),
	    0);
	ASSERT(seq == 104); /* begin, two element messages, end */
	ASSERT(last == 102);
	int type = 0;
	uint8_t key[64];
	ASSERT_INT_EQ((int)first_key(&b, &type, key), 16);
	ASSERT_INT_EQ(type, NFT_MSG_NEWSETELEM);
	uint32_t idx;
	memcpy(&idx, key + 12, 4);
	const uint8_t want[12] = {198, 19, 0, 1, 6, 0, 0, 0, 0, 80, 0, 0};
	ASSERT(!memcmp(key, want, 12));
	ASSERT_INT_EQ((int)idx, 1);
	buf_reset(&b);
	ASSERT_INT_EQ(proxy_nftnl_encode("delete element inet t backends4 { 0x000010 }\n", &b, &seq, &last,
					 err, sizeof(err)),
		      0);
	ASSERT_INT_EQ((int)first_key(&b, &type, key), 4);
	ASSERT_INT_EQ(type, NFT_MSG_DELSETELEM);
	memcpy(&idx, key, 4);
	ASSERT_INT_EQ((int)idx, 16);
	buf_fini(&b);
}

TEST(proxy_nftnl_leaves_other_commands_to_libnftables)
{
	struct buf b;
	buf_init(&b);
	uint32_t seq = 1, last = 0;
	char err[128] = "";
	const char *bad[] = {
	    "add chain inet t c\n",
	    "add element inet t eps4-2 { 1.2.3.4 . tcp . 80 . 1 : 198.18.100.1 . 8080 }\nflush chain inet t c\n",
	    "add element inet t nodeport-ips4 { 198.18.0.0/16 }\n",
	    "add element inet t m { tcp . 99999 : goto x }\n",
	    "add element inet t m { bogus }\n",
	    "add element inet t redir4 { 198.19.0.1 . tcp . 80 : 31000 }\n", /* port or mark? */
	    "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		ASSERT_INT_EQ(proxy_nftnl_encode(bad[i], &b, &seq, &last, err, sizeof(err)), -ENOTSUP);
		ASSERT_INT_EQ((int)b.len, 0);
	}
	ASSERT_INT_EQ(proxy_nftnl_encode("add element inet t m 1.2.3.4\n", &b, &seq, &last, err, sizeof(err)),
		      -EINVAL);
	ASSERT_STR_CONTAINS(err, "line 1");
	buf_fini(&b);
}

TEST(proxy_nftnl_splits_long_element_lists)
{
	/* 600 verdict elements with long chain names: several messages, none over the
	 * 16-bit nest length, and the buffer may move while it grows. */
	struct buf s, b;
	buf_init(&s);
	buf_init(&b);
	char chain[241];
	memset(chain, 'c', sizeof(chain) - 1);
	chain[sizeof(chain) - 1] = 0;
	buf_puts(&s, "add element inet t service-ips4 { ");
	for (int i = 0; i < 600; i++)
		buf_printf(&s, "%s198.19.%d.%d . tcp . 80 : goto %s", i ? ", " : "", i / 250, i % 250 + 1,
			   chain);
	buf_puts(&s, " }\n");
	uint32_t seq = 1, last = 0;
	char err[128];
	ASSERT_INT_EQ(proxy_nftnl_encode(s.data, &b, &seq, &last, err, sizeof(err)), 0);
	int left = (int)b.len, msgs = 0;
	for (const struct nlmsghdr *h = (const void *)b.data; mnl_nlmsg_ok(h, left);
	     h = mnl_nlmsg_next(h, &left)) {
		ASSERT(h->nlmsg_len < 65536);
		msgs++;
	}
	ASSERT_INT_EQ(left, 0);
	ASSERT(msgs >= 5); /* begin, at least three element messages, end */
	ASSERT(last == seq - 2);
	buf_fini(&s);
	buf_fini(&b);
}

/* nftables' concatenated type ids, as the kernel reports a set's key type. */
static uint32_t concat(const int *ids, int n)
{
	uint32_t t = 0;
	for (int i = 0; i < n; i++)
		t = t << 6 | (uint32_t)ids[i];
	return t;
}

/* The restart reads keys back: what the encoder wrote decodes to the same text. */
TEST(proxy_nftnl_decodes_what_it_encodes)
{
	static const struct {
		const char *key;
		int ids[4], n;
	} cases[] = {
	    {"198.19.0.20 . udp . 53 . 1", {7, 12, 13, 4}, 4},
	    {"2001:db8:19::26 . sctp . 9 . 0", {8, 12, 13, 4}, 4},
	    {"tcp . 30080 . 2", {12, 13, 4}, 3},
	    {"198.18.128.2 . 198.18.128.2", {7, 7}, 2},
	    {"0x000005", {19}, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char line[200];
		snprintf(line, sizeof(line), "delete element inet t m { %s }\n", cases[i].key);
		struct buf b, out;
		buf_init(&b);
		buf_init(&out);
		uint32_t seq = 1, last = 0;
		char err[128];
		ASSERT_INT_EQ(proxy_nftnl_encode(line, &b, &seq, &last, err, sizeof(err)), 0);
		int type = 0;
		uint8_t key[64];
		size_t kl = first_key(&b, &type, key);
		ASSERT_INT_EQ(
		    proxy_nftnl_data_text(concat(cases[i].ids, cases[i].n), key, (uint32_t)kl, &out), 0);
		ASSERT_STR_EQ(out.data, cases[i].key);
		buf_fini(&b);
		buf_fini(&out);
	}
	/* Bytes that are not what the type says, and types nft.c never writes. */
	uint8_t k[16] = {198, 19, 0, 20};
	struct buf out;
	buf_init(&out);
	ASSERT_INT_EQ(proxy_nftnl_data_text(7, k, 3, &out), -EBADMSG);
	ASSERT_INT_EQ(proxy_nftnl_data_text(7, k, 8, &out), -EBADMSG);
	ASSERT_INT_EQ(proxy_nftnl_data_text(5, k, 4, &out), -EBADMSG);
	ASSERT_INT_EQ(proxy_nftnl_data_text(0, k, 4, &out), -EBADMSG);
	buf_fini(&out);
}
