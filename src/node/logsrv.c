/* logsrv.c - placeholder until the implementation lands (see logsrv.h). */
#include <errno.h>
#include <stdio.h>

#include "node/logsrv.h"

int node_logsrv_start(const struct node_logsrv_opts *o, struct node_logsrv **out, char *err, size_t errlen)
{
	(void)o;
	*out = NULL;
	snprintf(err, errlen, "log endpoint not built yet");
	return -ENOTSUP;
}

int node_logsrv_port(const struct node_logsrv *s)
{
	(void)s;
	return 0;
}

void node_logsrv_stop(struct node_logsrv *s)
{
	(void)s;
}
