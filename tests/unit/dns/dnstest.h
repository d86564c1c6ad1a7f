/* dnstest.h - helpers for the DNS unit tests: build a query, print an answer as text. */
#ifndef DNSTEST_H
#define DNSTEST_H

#include <stddef.h>
#include <stdint.h>

/* A query for name/type (text), with EDNS0 size edns (0 = none), id 0x1234, RD. Returns the length. */
size_t dnstest_query(uint8_t *buf, const char *name, uint16_t qtype, uint16_t edns);
/* "RCODE[ TC] | answers | authority | additional" with records as "owner TYPE rdata", ';'-separated;
 * OPT shown as "OPT". Writes into out (a static-free caller buffer). */
const char *dnstest_fmt(const uint8_t *msg, size_t len, char *out, size_t cap);

#endif
