/* io.c - socket helpers shared inside src/dns. See io.h. */
#include "dns/io.h"
#include "base/clock.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

uint64_t dns__now_ms(void)
{
	return (uint64_t)clock_mono_ms();
}

bool dns__read_full(int fd, uint8_t *p, size_t n, uint64_t deadline_ms, int stopfd)
{
	size_t got = 0;
	while (got < n) {
		uint64_t now = dns__now_ms();
		struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = stopfd, .events = POLLIN}};
		if (now >= deadline_ms)
			return false;
		int rc = poll(pf, stopfd >= 0 ? 2 : 1, (int)(deadline_ms - now));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0 || (stopfd >= 0 && pf[1].revents))
			return false;
		ssize_t r = recv(fd, p + got, n - got, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return false;
		if (r > 0)
			got += (size_t)r;
	}
	return true;
}
