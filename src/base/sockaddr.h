/* sockaddr.h - socket addresses from literal IP addresses (in cidr.c, beside ip_parse).
 *
 * Apart from cidr.h so that the files that use only struct ip_addr do not see
 * <sys/socket.h> (some have a static function named send).
 */
#ifndef BASE_SOCKADDR_H
#define BASE_SOCKADDR_H

#include <sys/socket.h>

/* The socket address of the literal address s (IPv4 or IPv6, no brackets) and port into
 * *ss, its length in *len. Returns 0, or -EINVAL when s is not an address. */
int ip_sockaddr(const char *s, int port, struct sockaddr_storage *ss, socklen_t *len);

#endif
