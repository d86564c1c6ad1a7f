/* io.h - socket helpers shared inside src/dns (not for other subsystems): a monotonic
 * clock in milliseconds and a bounded read of exactly n bytes from a non-blocking
 * stream socket (TCP framing: the server's connections, the forwarder's TCP retries). */
#ifndef DNS_IO_H
#define DNS_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t dns__now_ms(void);
/* Reads exactly n bytes from fd before deadline_ms (dns__now_ms() time). Returns false on
 * EOF, error, timeout, or when stopfd (if >= 0) becomes readable. May block until then. */
bool dns__read_full(int fd, uint8_t *p, size_t n, uint64_t deadline_ms, int stopfd);

#endif
