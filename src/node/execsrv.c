/* execsrv.c - one exec session over WebSocket (see execsrv.h).
 *
 * Shape: handshake (101 with the chosen subprotocol), fork the command into the
 * container's namespaces, then one poll loop on this thread that moves bytes: WebSocket
 * frames from the client (stdin, resize, v5 close, ping, close) to the command; its
 * stdout/stderr (or the pty) to the client as binary frames [channel][data]. The end:
 * the command exited and its output reached EOF (or stayed quiet DRAIN_MS after the exit:
 * a background child keeping the pipe open does not hold the session), then the status on
 * channel 3 and a close frame. Input is buffered up to STDIN_MAX; past that, the client is
 * not read until the command takes some (back-pressure instead of memory).
 */
#include "node/execsrv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"
#include "base/vec.h"
#include "http/http.h"
#include "http/spdy.h"
#include "http/ws.h"
#include "node/runtime.h"

#define MAX_MSG (16u << 20)
#define STDIN_MAX (1u << 20)
#define IO_BLOCK 32768
#define DRAIN_MS 500

void node_exec_ctx_fini(struct node_exec_ctx *x)
{
	if (x->env)
		for (char **e = x->env; *e; e++)
			free(*e);
	free(x->env);
	free(x->cwd);
	memset(x, 0, sizeof(*x));
}

static void send_text(struct http_conn *c, int status, const char *msg)
{
	http_send(c, status, "text/plain; charset=utf-8", "", msg, strlen(msg));
}

/* Every value of query parameter name, decoded as Go's url.ParseQuery ('+' is a space). */
static char **query_all(const char *q, const char *name, size_t *n)
{
	VEC(char *) v = {0};
	size_t nl = strlen(name);
	while (q && *q) {
		size_t len = strcspn(q, "&");
		if (len > nl && !strncmp(q, name, nl) && q[nl] == '=') {
			char *raw = xasprintf("%.*s", (int)(len - nl - 1), q + nl + 1);
			for (char *p = raw; *p; p++)
				if (*p == '+')
					*p = ' ';
			char *d = http_pct_decode(raw, strlen(raw));
			free(raw);
			if (d)
				*vec_push(&v) = d;
		}
		q += len;
		if (*q == '&')
			q++;
	}
	*n = v.len;
	if (v.len)
		vec_push(&v); /* the NULL that ends the list: a pushed slot is zeroed */
	return v.v;
}

static bool query_true(const char *q, const char *name)
{
	char *v = http_query_get(q, name);
	bool t = v && (!strcmp(v, "1") || !strcasecmp(v, "true"));
	free(v);
	return t;
}

/* ---- the session ---- */

struct sess {
	struct http_conn *c;
	bool v5, tty, broken;
	pid_t pid;
	int pidfd, in_fd, out_fd, err_fd; /* -1 when absent or closed */
	bool exited;
	int wstatus;
	struct buf rx;	/* client bytes not yet parsed */
	struct buf msg; /* the message being assembled (fragments) */
	int msg_op;
	struct buf stdin_q; /* bytes for the command's stdin not yet written */
	bool stdin_eof;	    /* close in_fd once stdin_q is written */
	/* SPDY: the client's stream of each channel (0 none), header (de)compression, and
	 * resize JSON objects not yet complete (spdystream sends them as a byte stream). */
	bool spdy;
	bool attach;   /* out_fd is the container's log file, followed; pid is not our child */
	int resize_fd; /* attach to a tty container: its shim's resize FIFO ("W H\n" lines) */
	uint32_t sid[5];
	struct spdy_inflate zin;
	struct spdy_deflate zout;
	struct buf resize_acc;
};

static int ws_send(struct sess *s, int op, uint8_t ch, bool with_ch, const void *p, size_t n);

static int raw_send(struct sess *s, const void *p, size_t n)
{
	if (!s->c && !s->broken)
		return 0; /* node_exec_feed: no connection, writes go nowhere */
	if (s->broken || http_conn_raw_write(s->c, p, n) < 0) {
		s->broken = true;
		return -EPIPE;
	}
	return 0;
}

/* Sends p on channel ch: a SPDY data frame on its stream (dropped when the client opened
 * none), or a WebSocket binary message [ch][p]. */
static int chan_send(struct sess *s, uint8_t ch, const void *p, size_t n, uint8_t spdy_flags)
{
	if (!s->spdy)
		return ws_send(s, WS_OP_BINARY, ch, true, p, n);
	if (ch > 4 || !s->sid[ch])
		return 0;
	struct buf f;
	buf_init(&f);
	spdy_put_data(&f, s->sid[ch], spdy_flags, p, n);
	int rc = raw_send(s, f.data, f.len);
	buf_fini(&f);
	return rc;
}

static int ws_send(struct sess *s, int op, uint8_t ch, bool with_ch, const void *p, size_t n)
{
	if (s->broken)
		return -EPIPE;
	if (!s->c)
		return 0; /* node_exec_feed */
	uint8_t head[16];
	size_t hl = ws_frame_head(head, op, n + (with_ch ? 1 : 0));
	if (with_ch)
		head[hl++] = ch;
	if (http_conn_raw_write(s->c, (const char *)head, hl) < 0 ||
	    (n && http_conn_raw_write(s->c, p, n) < 0)) {
		s->broken = true;
		return -EPIPE;
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void resize(struct sess *s, const char *p, size_t n)
{
	json_t *j = json_loadb(p, n, 0, NULL);
	json_int_t w = json_integer_value(json_object_get(j, "Width"));
	json_int_t h = json_integer_value(json_object_get(j, "Height"));
	json_decref(j);
	if (!s->tty || w <= 0 || h <= 0 || w >= 65536 || h >= 65536)
		return;
	if (s->attach) {
		/* the pty's master is the shim's (node/runtime.c): tell it */
		char line[32];
		int len = snprintf(line, sizeof(line), "%u %u\n", (unsigned)w, (unsigned)h);
		if (s->resize_fd >= 0)
			(void)!write(s->resize_fd, line, (size_t)len);
	} else if (s->in_fd >= 0) {
		struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
		ioctl(s->in_fd, TIOCSWINSZ, &ws);
	}
}

/* SPDY's resize stream: concatenated JSON objects. */
static void resize_bytes(struct sess *s, const char *p, size_t n)
{
	buf_append(&s->resize_acc, p, n);
	for (;;) {
		char *end = memchr(s->resize_acc.data, '}', s->resize_acc.len);
		if (!end)
			break;
		size_t used = (size_t)(end - s->resize_acc.data) + 1;
		resize(s, s->resize_acc.data, used);
		buf_consume(&s->resize_acc, used);
	}
	if (s->resize_acc.len > 4096)
		s->resize_acc.len = 0;
}

static int stream_channel(const char *type)
{
	static const char *const names[] = {"stdin", "stdout", "stderr", "error", "resize"};
	for (int i = 0; i < 5; i++)
		if (!strcmp(type, names[i]))
			return i;
	return -1;
}

const uint8_t *node__spdy_next(const struct buf *rx, uint32_t max, struct spdy_frame *f, int *rc)
{
	const uint8_t *b = (const uint8_t *)rx->data;
	int r = spdy_whole_frame(b, rx->len, max, f);
	*rc = r < 0 ? -1 : 0;
	return r > 0 ? b + 8 : NULL;
}

void node__spdy_pong(struct buf *out, const uint8_t *pl)
{
	spdy_put_ping(out, (uint32_t)pl[0] << 24 | (uint32_t)pl[1] << 16 | (uint32_t)pl[2] << 8 | pl[3]);
}

uint8_t *node__ws_next(struct buf *rx, uint64_t max, struct ws_frame *f, int *rc)
{
	int r = ws_client_frame((uint8_t *)rx->data, rx->len, max, f);
	*rc = r < 0 ? -1 : 0;
	return r > 0 ? (uint8_t *)rx->data + f->head_len : NULL;
}

/* Parses what arrived from a SPDY client. Returns -1 at GOAWAY or a protocol error. */
static int on_spdy_bytes(struct sess *s)
{
	for (;;) {
		struct spdy_frame f;
		int rc;
		const uint8_t *pl = node__spdy_next(&s->rx, MAX_MSG, &f, &rc);
		if (!pl)
			return rc;
		int end = 0;
		if (!f.control) {
			int ch = -1;
			for (int i = 0; i < 5; i++)
				if (s->sid[i] && s->sid[i] == f.stream_id)
					ch = i;
			if (ch == 0 && s->in_fd >= 0 && !s->stdin_eof)
				buf_append(&s->stdin_q, (const char *)pl, f.length);
			else if (ch == 4)
				resize_bytes(s, (const char *)pl, f.length);
			if (ch == 0 && (f.flags & SPDY_FLAG_FIN))
				s->stdin_eof = true;
		} else if (f.type == SPDY_SYN_STREAM) {
			struct buf blk;
			buf_init(&blk);
			char type[32] = "";
			if (spdy_inflate_block(&s->zin, pl + 10, f.length - 10, 65536, &blk) < 0 ||
			    spdy_block_get((const uint8_t *)blk.data, blk.len, "streamtype", type,
					   sizeof(type)) < 0) {
				end = -1;
			} else {
				int ch = stream_channel(type);
				if (ch >= 0)
					s->sid[ch] = f.stream_id;
				struct buf out;
				buf_init(&out);
				if (spdy_put_syn_reply(&s->zout, &out, f.stream_id) < 0 ||
				    raw_send(s, out.data, out.len) < 0)
					end = -1;
				buf_fini(&out);
				if (ch == 0 && (f.flags & SPDY_FLAG_FIN))
					s->stdin_eof = true;
			}
			buf_fini(&blk);
		} else if (f.type == SPDY_PING) {
			struct buf out;
			buf_init(&out);
			node__spdy_pong(&out, pl);
			raw_send(s, out.data, out.len);
			buf_fini(&out);
		} else if (f.type == SPDY_GOAWAY) {
			end = -1;
		}
		buf_consume(&s->rx, 8 + (size_t)f.length);
		if (end < 0)
			return -1;
	}
}

/* One whole client message. Returns -1 when the session must end (close). */
static int on_message(struct sess *s)
{
	const uint8_t *p = (const uint8_t *)s->msg.data;
	size_t n = s->msg.len;
	if (s->msg_op == WS_OP_TEXT || n == 0)
		return 0; /* the k8s channel protocols are binary; base64 ones are not offered */
	uint8_t ch = p[0];
	if (ch == 0 && s->in_fd >= 0 && !s->stdin_eof)
		buf_append(&s->stdin_q, (const char *)p + 1, n - 1);
	else if (ch == 4)
		resize(s, (const char *)p + 1, n - 1);
	else if (ch == 255 && s->v5 && n >= 2 && p[1] == 0)
		s->stdin_eof = true;
	return 0;
}

/* Parses what arrived from the client. Returns -1 at a close frame or a protocol error. */
static int on_client_bytes(struct sess *s)
{
	if (s->spdy)
		return on_spdy_bytes(s);
	for (;;) {
		struct ws_frame f;
		int rc;
		uint8_t *pl = node__ws_next(&s->rx, MAX_MSG, &f, &rc);
		if (!pl)
			return rc;
		size_t n = (size_t)f.payload_len;
		int end = 0;
		if (f.opcode == WS_OP_CLOSE) {
			ws_send(s, WS_OP_CLOSE, 0, false, pl, n >= 2 ? 2 : 0);
			end = -1;
		} else if (f.opcode == WS_OP_PING) {
			ws_send(s, WS_OP_PONG, 0, false, pl, n);
		} else if (f.opcode == WS_OP_PONG) {
			/* nothing */
		} else {
			if (f.opcode != WS_OP_CONT) {
				s->msg.len = 0;
				s->msg_op = f.opcode;
			}
			if (s->msg.len + n > MAX_MSG)
				return -1;
			buf_append(&s->msg, (const char *)pl, n);
			if (f.fin) {
				end = on_message(s);
				s->msg.len = 0;
			}
		}
		buf_consume(&s->rx, f.head_len + n);
		if (end < 0)
			return -1;
	}
}

static void send_status(struct sess *s, json_t *st)
{
	char *j = json_dumps(st, JSON_COMPACT);
	chan_send(s, 3, j, strlen(j), 0);
	free(j);
	json_decref(st);
}

static json_t *exit_status(int wstatus, char *const *argv)
{
	int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	if (code == 0)
		return json_pack("{s:{}, s:s}", "metadata", "status", "Success");
	struct buf cmd;
	buf_init(&cmd);
	for (char *const *a = argv; *a; a++)
		buf_printf(&cmd, "%s%s", a == argv ? "" : " ", *a);
	char num[16];
	snprintf(num, sizeof(num), "%d", code);
	char *m = xasprintf(
	    "command terminated with non-zero exit code: error executing command [%s], exit code %d",
	    cmd.data ? cmd.data : "", code);
	json_t *st = json_pack("{s:{}, s:s, s:s, s:s, s:{s:[{s:s, s:s}]}}", "metadata", "status", "Failure",
			       "message", m, "reason", "NonZeroExitCode", "details", "causes", "reason",
			       "ExitCode", "message", num);
	free(m);
	buf_fini(&cmd);
	return st;
}

static json_t *internal_status(const char *msg)
{
	char *m = xasprintf("Internal error occurred: error executing command in container: %s", msg);
	json_t *st =
	    json_pack("{s:{}, s:s, s:s, s:s, s:i, s:{s:[{s:s}]}}", "metadata", "status", "Failure", "message",
		      m, "reason", "InternalError", "code", 500, "details", "causes", "message", msg);
	free(m);
	return st;
}

/* Reads fd once and sends what came on channel ch. Returns bytes, 0 at EOF, -EAGAIN. */
static ssize_t pump_out(struct sess *s, int *fd, uint8_t ch, char *blk)
{
	ssize_t r = read(*fd, blk, IO_BLOCK);
	if (r > 0) {
		chan_send(s, ch, blk, (size_t)r, 0);
		return r;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	if (r == 0 && s->attach)
		return -EAGAIN; /* the log file grows: follow it */
	close_fd(fd);		/* EOF, or EIO on a pty whose last holder went */
	if (s->tty && fd == &s->out_fd)
		close_fd(&s->in_fd); /* the same pty master */
	return 0;
}

static void pump_in(struct sess *s)
{
	while (s->in_fd >= 0 && s->stdin_q.len) {
		ssize_t w = write(s->in_fd, s->stdin_q.data, s->stdin_q.len);
		if (w <= 0) {
			if (w < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			s->stdin_q.len = 0;
			break;
		}
		buf_consume(&s->stdin_q, (size_t)w);
	}
	if (s->stdin_eof && !s->stdin_q.len && !s->tty)
		close_fd(&s->in_fd);
}

/* The end after the status: a WebSocket close, or FIN on each SPDY stream and GOAWAY. */
static void finish(struct sess *s)
{
	if (!s->spdy) {
		ws_send(s, WS_OP_CLOSE, 0, false, "\x03\xe8", 2);
		return;
	}
	for (uint8_t ch = 1; ch <= 3; ch++)
		chan_send(s, ch, NULL, 0, SPDY_FLAG_FIN);
	struct buf out;
	buf_init(&out);
	spdy_put_goaway(&out, 0);
	raw_send(s, out.data, out.len);
	buf_fini(&out);
}

/* SPDY: the client opens its streams after the upgrade; wait (bounded) for those the
 * query asked for before starting, so no output is sent before its stream exists. */
static bool spdy_streams(struct sess *s, bool in, bool out, bool err)
{
	int64_t deadline = clock_mono_ms() + 30000;
	for (;;) {
		if (s->sid[3] && (!in || s->sid[0]) && (!out || s->sid[1]) && (!err || s->sid[2]) &&
		    (!s->tty || s->sid[4]))
			return true;
		if (clock_mono_ms() > deadline || s->broken)
			return false;
		buf_reserve(&s->rx, IO_BLOCK);
		ssize_t r = http_conn_raw_read(s->c, s->rx.data + s->rx.len, s->rx.cap - s->rx.len - 1, 1000);
		if (r > 0) {
			s->rx.len += (size_t)r;
			if (on_spdy_bytes(s) < 0)
				return false;
		} else if (r != -EAGAIN) {
			return false;
		}
	}
}

static void run(struct sess *s, char *const *argv)
{
	char *blk = xmalloc(IO_BLOCK);
	int64_t exited_at = 0;
	bool client_gone = false;
	for (;;) {
		bool progress = false;
		/* Client bytes (TLS may hold some that poll cannot see: read until EAGAIN). */
		if (!client_gone && s->stdin_q.len < STDIN_MAX) {
			buf_reserve(&s->rx, IO_BLOCK);
			ssize_t r =
			    http_conn_raw_read(s->c, s->rx.data + s->rx.len, s->rx.cap - s->rx.len - 1, 0);
			if (r > 0) {
				s->rx.len += (size_t)r;
				progress = true;
				if (on_client_bytes(s) < 0)
					client_gone = true;
			} else if (r != -EAGAIN) {
				client_gone = true;
			}
		}
		if (client_gone || s->broken)
			break;
		pump_in(s);
		if (s->out_fd >= 0 && pump_out(s, &s->out_fd, 1, blk) != -EAGAIN)
			progress = true;
		if (s->err_fd >= 0 && pump_out(s, &s->err_fd, 2, blk) != -EAGAIN)
			progress = true;
		if (s->attach && !s->exited) {
			struct pollfd pp = {.fd = s->pidfd, .events = POLLIN};
			if (s->pidfd < 0 || poll(&pp, 1, 0) > 0) {
				s->exited = true; /* the container ended: so does the attach */
				s->wstatus = 0;
				exited_at = clock_mono_ms();
				progress = true;
			}
		} else if (!s->exited && waitpid(s->pid, &s->wstatus, WNOHANG) == s->pid) {
			s->exited = true;
			exited_at = clock_mono_ms();
			progress = true;
		}
		if (s->exited && ((s->out_fd < 0 && s->err_fd < 0) || s->attach))
			break;
		if (progress) {
			if (s->exited)
				exited_at = clock_mono_ms();
			continue;
		}
		if (s->exited && clock_mono_ms() - exited_at > DRAIN_MS)
			break;
		struct pollfd pf[5];
		int n = 0;
		pf[n++] = (struct pollfd){.fd = http_conn_fd(s->c), .events = POLLIN};
		if (s->out_fd >= 0 && !s->attach) /* a file is always readable: polled by time */
			pf[n++] = (struct pollfd){.fd = s->out_fd, .events = POLLIN};
		if (s->err_fd >= 0)
			pf[n++] = (struct pollfd){.fd = s->err_fd, .events = POLLIN};
		if (!s->exited && s->pidfd >= 0)
			pf[n++] = (struct pollfd){.fd = s->pidfd, .events = POLLIN};
		if (s->in_fd >= 0 && s->stdin_q.len)
			pf[n++] = (struct pollfd){.fd = s->in_fd, .events = POLLOUT};
		poll(pf, (nfds_t)n, s->exited || s->attach ? 100 : 1000);
	}
	free(blk);
	if (s->attach) {
		if (!client_gone && !s->broken) {
			send_status(s, exit_status(0, argv));
			finish(s);
		}
		return; /* the container is not ours to stop */
	}
	if (!s->exited) {
		kill(-s->pid, SIGKILL);
		waitpid(s->pid, &s->wstatus, 0);
		s->exited = true;
	}
	if (!client_gone && !s->broken) {
		send_status(s, exit_status(s->wstatus, argv));
		finish(s);
	} else {
		kill(-s->pid, SIGKILL); /* what it started in its group too */
	}
}

static void child_fail(int fd, int e)
{
	(void)!write(fd, &e, sizeof(e));
	_exit(126);
}

/* Starts argv in the container. Returns 0, or -1 with a message in err. */
static int spawn(struct sess *s, const struct node_exec_ctx *x, char *const *argv, bool want_in,
		 bool want_out, bool want_err, char *err, size_t errlen)
{
	static char *const no_env[] = {NULL};
	char *const *env = x->env ? x->env : no_env;
	const char *cwd = x->cwd && *x->cwd ? x->cwd : "/";
	const char *path_env = NULL;
	for (char *const *e = env; *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			path_env = *e + 5;
	char *file = NULL;
	if (node_rt_lookpath(argv[0], path_env, cwd, &file, err, errlen) < 0) {
		char *m = xasprintf(
		    "OCI runtime exec failed: exec failed: unable to start container process: %s: unknown",
		    err);
		snprintf(err, errlen, "%s", m);
		free(m);
		return -1;
	}
	int cpid = (int)syscall(SYS_pidfd_open, x->pid, 0);
	int rep[2] = {-1, -1}, in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, master = -1, slave = -1;
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int rc = -1;
	if (cpid < 0) {
		snprintf(err, errlen, "container process %d is gone: %s", (int)x->pid, strerror(errno));
		goto out;
	}
	if (pipe2(rep, O_CLOEXEC) < 0)
		goto sys;
	if (s->tty) {
		struct winsize ws = {.ws_row = 24, .ws_col = 80};
		if (openpty(&master, &slave, NULL, NULL, &ws) < 0)
			goto sys;
		fcntl(master, F_SETFD, FD_CLOEXEC);
		fcntl(slave, F_SETFD, FD_CLOEXEC);
	} else if ((want_in && pipe2(in, O_CLOEXEC) < 0) || (want_out && pipe2(out, O_CLOEXEC) < 0) ||
		   (want_err && pipe2(er, O_CLOEXEC) < 0)) {
		goto sys;
	}
	pid_t pid = fork();
	if (pid < 0)
		goto sys;
	if (pid == 0) {
		node_rt_child_signals(NULL, 0);
		setsid();
		if (setns(cpid, CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWUTS) < 0)
			child_fail(rep[1], errno);
		if (chdir(cwd) < 0)
			(void)!chdir("/");
		if (s->tty) {
			ioctl(slave, TIOCSCTTY, 0);
			dup2(slave, 0);
			dup2(slave, 1);
			dup2(slave, 2);
		} else {
			dup2(in[0] >= 0 ? in[0] : devnull, 0);
			dup2(out[1] >= 0 ? out[1] : devnull, 1);
			dup2(er[1] >= 0 ? er[1] : devnull, 2);
		}
		execve(file, argv, env);
		child_fail(rep[1], errno);
	}
	close_fd(&rep[1]);
	int e = 0;
	ssize_t got;
	do
		got = read(rep[0], &e, sizeof(e));
	while (got < 0 && errno == EINTR);
	s->pid = pid;
	if (got == (ssize_t)sizeof(e)) {
		waitpid(pid, NULL, 0);
		snprintf(
		    err, errlen,
		    "OCI runtime exec failed: exec failed: unable to start container process: %s: unknown",
		    strerror(e));
		goto out;
	}
	s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (s->tty) {
		s->in_fd = master;
		s->out_fd = dup(master);
		master = -1;
	} else {
		s->in_fd = in[1];
		s->out_fd = out[0];
		s->err_fd = er[0];
		in[1] = out[0] = er[0] = -1;
	}
	int fds[3] = {s->in_fd, s->out_fd, s->err_fd};
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
	rc = 0;
	goto out;
sys:
	snprintf(err, errlen, "starting the command: %s", strerror(errno));
out:;
	int all[] = {cpid,   rep[0], rep[1], in[0],  in[1], out[0],
		     out[1], er[0],  er[1],  master, slave, devnull};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] >= 0)
			close(all[i]);
	free(file);
	return rc;
}

/* Attach: the container's stdin FIFO (runtime.c makes it for stdin: true) for writing,
 * the current log file from its end for output, a pidfd of the container to end with it. */
static void attach_open(struct sess *s, const struct node_exec_ctx *x, const char *dir, bool want_in)
{
	char *fifo = xasprintf("%s/stdin", dir);
	if (want_in)
		s->in_fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	free(fifo);
	if (s->tty) {
		fifo = xasprintf("%s/resize", dir);
		s->resize_fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		free(fifo);
	}
	long cur = -1;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char *end = NULL;
		long n = strtol(e->d_name, &end, 10);
		if (end && end != e->d_name && !strcmp(end, ".log") && n > cur)
			cur = n;
	}
	if (d)
		closedir(d);
	if (cur >= 0) {
		char *log = xasprintf("%s/%ld.log", dir, cur);
		s->out_fd = open(log, O_RDONLY | O_CLOEXEC);
		free(log);
		if (s->out_fd >= 0)
			lseek(s->out_fd, 0, SEEK_END);
	}
	s->pid = x->pid;
	s->pidfd = (int)syscall(SYS_pidfd_open, x->pid, 0);
}

bool node__ws_offered(const char *list, const char *want)
{
	size_t n = strlen(want);
	while (list && *list) {
		list += strspn(list, " ,");
		size_t len = strcspn(list, " ,");
		if (len == n && !strncmp(list, want, n))
			return true;
		list += len;
	}
	return false;
}

int node__stream_upgrade(struct http_conn *c, const char *key, const char *proto)
{
	char *head;
	if (!key) {
		head = xasprintf(
		    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
		    "X-Stream-Protocol-Version: %s\r\n\r\n",
		    proto);
	} else {
		char accept[29];
		ws_accept_key(key, accept);
		head = xasprintf(
		    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
		    accept, proto);
	}
	int rc = http_conn_upgrade(c, head, strlen(head));
	free(head);
	return rc;
}

static const char *choose_protocol(const char *offered)
{
	static const char *const ours[] = {"v5.channel.k8s.io", "v4.channel.k8s.io"};
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (node__ws_offered(offered, ours[i]))
			return ours[i];
	return NULL;
}

static void sess_bufs_init(struct sess *s)
{
	buf_init(&s->rx);
	buf_init(&s->msg);
	buf_init(&s->stdin_q);
	buf_init(&s->resize_acc);
	spdy_inflate_init(&s->zin);
	spdy_deflate_init(&s->zout);
}

static void sess_bufs_fini(struct sess *s)
{
	buf_fini(&s->rx);
	buf_fini(&s->msg);
	buf_fini(&s->stdin_q);
	buf_fini(&s->resize_acc);
	spdy_inflate_fini(&s->zin);
	spdy_deflate_fini(&s->zout);
}

int node_exec_feed(bool spdy, bool v5, bool tty, const uint8_t *p, size_t n)
{
	struct sess s = {.tty = tty,
			 .pidfd = -1,
			 .in_fd = -1,
			 .out_fd = -1,
			 .err_fd = -1,
			 .resize_fd = -1,
			 .v5 = v5,
			 .spdy = spdy};
	int rc = 0;

	sess_bufs_init(&s);
	/* In pieces, as reads return them: 1, 7, then 4096 bytes at a time. */
	for (size_t off = 0, k = 0; off < n && rc == 0; k++) {
		size_t step = k == 0 ? 1 : k == 1 ? 7 : 4096;
		if (step > n - off)
			step = n - off;
		buf_append(&s.rx, p + off, step);
		off += step;
		rc = on_client_bytes(&s) < 0 ? -1 : 0;
	}
	sess_bufs_fini(&s);
	return rc;
}

void node_exec_serve(struct http_conn *c, struct http_req *r, const char *ns, const char *pod,
		     const char *container, node_exec_lookup fn, void *ud, const char *attach_dir)
{
	const char *up = http_req_header(r, "Upgrade");
	const char *key = http_req_header(r, "Sec-WebSocket-Key");
	bool spdy = up && !strcasecmp(up, "SPDY/3.1");
	const char *proto = NULL;
	if (spdy) {
		for (size_t i = 0; i < r->nheaders; i++)
			if (!strcasecmp(r->headers[i].name, "X-Stream-Protocol-Version") &&
			    !strcmp(r->headers[i].value, "v4.channel.k8s.io"))
				proto = "v4.channel.k8s.io";
		if (!proto)
			return send_text(c, 400, "no supported stream protocol: v4.channel.k8s.io");
	} else {
		if (!up || strcasecmp(up, "websocket") != 0 || !key || strlen(key) > 64)
			return send_text(c, 400,
					 "exec needs an upgrade to WebSocket (v5.channel.k8s.io or "
					 "v4.channel.k8s.io) or SPDY/3.1 (v4.channel.k8s.io)");
		proto = choose_protocol(http_req_header(r, "Sec-WebSocket-Protocol"));
		if (!proto)
			return send_text(
			    c, 400,
			    "no supported WebSocket subprotocol: v5.channel.k8s.io or v4.channel.k8s.io");
	}
	size_t argc = 0;
	char **argv = query_all(r->query, "command", &argc);
	struct sess s = {.c = c,
			 .tty = query_true(r->query, "tty"),
			 .pidfd = -1,
			 .in_fd = -1,
			 .out_fd = -1,
			 .err_fd = -1,
			 .resize_fd = -1,
			 .v5 = !strcmp(proto, "v5.channel.k8s.io"),
			 .spdy = spdy};
	bool want_in = query_true(r->query, "stdin"), want_out = query_true(r->query, "stdout");
	bool want_err = query_true(r->query, "stderr") && !s.tty;
	struct node_exec_ctx x = {0};
	if (attach_dir) {
		s.attach = true;
		if (!argc)
			argv = xcalloc(1, sizeof(*argv));
	} else if (!argc) {
		send_text(c, 400, "you must specify at least 1 command");
		goto out;
	}
	int lrc = fn(ud, ns, pod, container, &x);
	if (lrc == -ENOENT) {
		char *m = xasprintf("container %s not found in pod %s_%s", container, pod, ns);
		send_text(c, 404, m);
		free(m);
		goto out;
	}
	if (lrc < 0) {
		char *m = xasprintf("container %s is not running in pod %s_%s", container, pod, ns);
		send_text(c, 400, m);
		free(m);
		goto out;
	}
	int urc = node__stream_upgrade(c, spdy ? NULL : key, proto);
	if (urc < 0)
		goto out;
	sess_bufs_init(&s);
	char err[1024];
	if (spdy && !spdy_streams(&s, want_in, want_out, want_err)) {
		/* the client went or never opened its streams: nothing to say it on */
	} else if (s.attach) {
		attach_open(&s, &x, attach_dir, want_in || s.tty);
		run(&s, argv);
	} else if (spawn(&s, &x, argv, want_in || s.tty, want_out || s.tty, want_err, err, sizeof(err)) < 0) {
		send_status(&s, internal_status(err));
		finish(&s);
	} else {
		run(&s, argv);
	}
	close_fd(&s.pidfd);
	close_fd(&s.in_fd);
	close_fd(&s.out_fd);
	close_fd(&s.err_fd);
	close_fd(&s.resize_fd);
	sess_bufs_fini(&s);
out:
	node_exec_ctx_fini(&x);
	for (size_t i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}
