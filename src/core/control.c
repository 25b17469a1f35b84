// SPDX-License-Identifier: MIT
/*
 * Control socket server. Connections are non-blocking and served one read
 * at a time each, from the main thread; requests are framed by where their
 * JSON value ends (jsonframe.c), so a request may span reads and several
 * may come in one, then parsed strictly. A malformed or oversized request
 * is answered with an error and ends its connection (its framing is lost);
 * anything else a client sends gets an answer and the connection goes on.
 * A connection on which nothing moved either way for the idle timeout is
 * closed, so that idle clients cannot hold every slot.
 */
#include "core/control.h"

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/jsonframe.h"
#include "core/log.h"
#include "vfio-user/sock.h"

#define CTL_MAX_DEPTH 32
#define CTL_READ_CHUNK 16384
#define TAG_LISTEN CTL_MAX_CONNS
#define TAG_RETRY (CTL_MAX_CONNS + 1)
#define TAG_IDLE (CTL_MAX_CONNS + 2)
#define ACCEPT_RETRY_MS 100 /* out of fds: try accepting again after this */

struct ctl_conn {
	int fd; /* -1: free slot */
	struct json_frame frame; /* the request being received */
	char *out;
	size_t out_len, out_off, out_cap;
	bool closing;     /* no more requests: close once the output is sent */
	uint32_t events;  /* registered with epoll */
	int64_t active_ms; /* when a byte last moved either way */
};

struct ctl_server {
	char *path;
	int listen_fd;
	int retry_fd; /* timerfd: accepting again once a pause for want of fds is over */
	int idle_fd;  /* timerfd: the next connection to go idle */
	int64_t idle_ms;
	int epfd;
	const struct rpc_method *methods;
	void *ctx;
	struct ctl_conn conns[CTL_MAX_CONNS];
};

/* ---- output ---- */

static int out_append(struct ctl_conn *c, const char *s, size_t len)
{
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *n;

		while (cap < c->out_len + len)
			cap *= 2;
		n = realloc(c->out, cap);
		if (!n)
			return -ENOMEM;
		c->out = n;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, len);
	c->out_len += len;
	return 0;
}

static void send_json(struct ctl_conn *c, struct json_object *resp)
{
	const char *text = json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE);

	if (out_append(c, text, strlen(text)) || out_append(c, "\n", 1)) {
		pr_warn("control: out of memory for a response: closing the connection");
		c->closing = true;
	}
}

/* Answer with an error that ends the connection (framing lost). */
static void fatal_error(struct ctl_conn *c, int code, const char *message)
{
	struct json_object *resp = jsonrpc_error(code, message, NULL);

	send_json(c, resp);
	json_object_put(resp);
	c->closing = true;
}

/* ---- connections ---- */

static void conn_close(struct ctl_server *s, struct ctl_conn *c)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	json_frame_fini(&c->frame);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Send what we can; false when the connection had to be closed. */
static bool conn_flush(struct ctl_server *s, struct ctl_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			conn_close(s, c);
			return false;
		}
		c->out_off += n;
		c->active_ms = vfu_now_ms();
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->closing && !c->out_len) {
		conn_close(s, c);
		return false;
	}
	return true;
}

/* Read while there is room for the answers; wait for writability while they pend. */
static void conn_update(struct ctl_server *s, struct ctl_conn *c)
{
	uint32_t want = 0;
	struct epoll_event ev;

	if (!c->closing && c->out_len < CTL_MAX_PENDING_OUT)
		want |= EPOLLIN;
	if (c->out_len)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	ev.events = want;
	ev.data.u32 = (uint32_t)(c - s->conns);
	if (!epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev))
		c->events = want;
}

static void answer(struct ctl_server *s, struct ctl_conn *c, struct json_object *msg)
{
	struct json_object *resp = jsonrpc_handle(s->methods, s->ctx, msg);

	if (resp) {
		send_json(c, resp);
		json_object_put(resp);
	}
}

static void too_large(struct ctl_conn *c)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "request larger than %u bytes", CTL_MAX_REQUEST);
	fatal_error(c, RPC_INVALID_REQUEST, msg);
}

/* A whole JSON text: parse it strictly and answer it. */
static void request(struct ctl_server *s, struct ctl_conn *c)
{
	struct json_tokener *tok = json_tokener_new_ex(CTL_MAX_DEPTH);
	struct json_object *msg = NULL;
	char why[128];

	if (!tok) {
		fatal_error(c, RPC_INTERNAL_ERROR, "out of memory");
		return;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	/* With its NUL: the end of the text ends a bare number too. */
	msg = json_tokener_parse_ex(tok, c->frame.buf, (int)c->frame.len + 1);
	if (!msg) {
		snprintf(why, sizeof(why), "malformed JSON: %s",
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		fatal_error(c, RPC_PARSE_ERROR, why);
	} else {
		answer(s, c, msg);
		json_object_put(msg);
	}
	json_tokener_free(tok);
}

/* Answer every complete request in @buf; keep the start of an incomplete one. */
static void feed(struct ctl_server *s, struct ctl_conn *c, const char *buf, size_t n)
{
	size_t off = 0;

	while (off < n && !c->closing) {
		bool done;
		long used = json_frame_feed(&c->frame, buf + off, n - off, &done);

		if (used < 0) {
			too_large(c);
			return;
		}
		off += (size_t)used;
		if (!done)
			return;
		request(s, c);
		json_frame_reset(&c->frame);
	}
}

/*
 * The client ended its side: the end of the stream ends a bare value, and
 * a request cut short is malformed JSON, answered as such.
 */
static void end_of_stream(struct ctl_server *s, struct ctl_conn *c)
{
	bool done = false;

	if (!c->frame.started || c->closing)
		return;
	if (json_frame_feed(&c->frame, "\n", 1, &done) < 0 || !done) {
		fatal_error(c, RPC_PARSE_ERROR, "malformed JSON: the stream ended inside a request");
		return;
	}
	request(s, c);
	json_frame_reset(&c->frame);
}

static void conn_readable(struct ctl_server *s, struct ctl_conn *c)
{
	char buf[CTL_READ_CHUNK];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* Closed (or half-closed): answers to what came still go out. */
		if (!n)
			end_of_stream(s, c);
		c->closing = true;
		return;
	}
	c->active_ms = vfu_now_ms();
	feed(s, c, buf, (size_t)n);
}

static void conn_event(struct ctl_server *s, struct ctl_conn *c, uint32_t events)
{
	if (events & EPOLLIN)
		conn_readable(s, c);
	else if (events & (EPOLLHUP | EPOLLERR) && !(events & EPOLLOUT))
		c->closing = true;
	if (conn_flush(s, c))
		conn_update(s, c);
}

static void log_peer(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len))
		pr_debug("control: connection from pid %d uid %u", (int)cr.pid, (unsigned)cr.uid);
}

/* Out of fds (or memory) for a connection: the listener stays readable, so wait a moment. */
static void pause_accepting(struct ctl_server *s, int err)
{
	struct itimerspec its = { .it_value.tv_nsec = ACCEPT_RETRY_MS * 1000000L };
	struct epoll_event ev = { .events = 0, .data.u32 = TAG_LISTEN };

	pr_warn_rl("control: cannot accept a connection: %s; trying again in %d ms", strerror(err),
		   ACCEPT_RETRY_MS);
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev) ||
	    timerfd_settime(s->retry_fd, 0, &its, NULL)) {
		ev.events = EPOLLIN; /* cannot wait: at least keep accepting */
		epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev);
	}
}

static void resume_accepting(struct ctl_server *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_LISTEN };
	uint64_t expirations;

	if (read(s->retry_fd, &expirations, sizeof(expirations)) < 0)
		return; /* not expired yet */
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev);
}

/* Wake when the connection idle longest reaches the timeout; disarmed when there is none. */
static void arm_idle(struct ctl_server *s)
{
	struct itimerspec its = { 0 };
	int64_t first = INT64_MAX, wait;

	for (unsigned i = 0; i < CTL_MAX_CONNS; i++)
		if (s->conns[i].fd >= 0 && s->conns[i].active_ms < first)
			first = s->conns[i].active_ms;
	if (first != INT64_MAX) {
		wait = first + s->idle_ms - vfu_now_ms();
		wait = wait < 1 ? 1 : wait;
		its.it_value.tv_sec = wait / 1000;
		its.it_value.tv_nsec = wait % 1000 * 1000000L;
	}
	timerfd_settime(s->idle_fd, 0, &its, NULL);
}

static bool has_input(int fd)
{
	int n = 0;

	return !ioctl(fd, FIONREAD, &n) && n > 0;
}

static void close_idle(struct ctl_server *s)
{
	int64_t now = vfu_now_ms();
	uint64_t expirations;

	if (read(s->idle_fd, &expirations, sizeof(expirations)) < 0)
		return; /* re-armed since */
	for (unsigned i = 0; i < CTL_MAX_CONNS; i++) {
		struct ctl_conn *c = &s->conns[i];

		if (c->fd < 0 || now - c->active_ms < s->idle_ms)
			continue;
		/* bytes came while the daemon was busy elsewhere: not idle, serve them */
		if (has_input(c->fd)) {
			c->active_ms = now;
			continue;
		}
		pr_info("control: closing a connection idle for %lld s",
			(long long)(now - c->active_ms) / 1000);
		conn_close(s, c);
	}
	arm_idle(s);
}

static void accept_one(struct ctl_server *s)
{
	static const char busy[] = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32004,"
				   "\"message\":\"too many control connections\"},\"id\":null}\n";
	struct epoll_event ev = { .events = EPOLLIN };
	struct ctl_conn *c = NULL;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			pause_accepting(s, errno);
		return;
	}
	for (unsigned i = 0; i < CTL_MAX_CONNS && !c; i++)
		if (s->conns[i].fd < 0)
			c = &s->conns[i];
	if (!c) {
		pr_warn_rl("control: more than %d connections: refusing one", CTL_MAX_CONNS);
		if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			pr_debug("control: cannot tell a refused client why");
		close(fd);
		return;
	}
	ev.data.u32 = (uint32_t)(c - s->conns);
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		return;
	}
	json_frame_init(&c->frame, CTL_MAX_REQUEST);
	c->fd = fd;
	c->events = EPOLLIN;
	c->active_ms = vfu_now_ms();
	log_peer(fd);
	arm_idle(s);
}

void ctl_server_process(struct ctl_server *s)
{
	struct epoll_event evs[CTL_MAX_CONNS + 3];
	int n = epoll_wait(s->epfd, evs, CTL_MAX_CONNS + 3, 0);

	for (int i = 0; i < n; i++) {
		uint32_t tag = evs[i].data.u32;

		if (tag == TAG_LISTEN)
			accept_one(s);
		else if (tag == TAG_RETRY)
			resume_accepting(s);
		else if (tag == TAG_IDLE)
			close_idle(s);
		else if (s->conns[tag].fd >= 0)
			conn_event(s, &s->conns[tag], evs[i].events);
	}
}

/* ---- the listener ---- */

static int make_folder(const char *path)
{
	char *copy = strdup(path);
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	if (mkdir(dirname(copy), 0755) && errno != EEXIST)
		ret = -errno;
	free(copy);
	return ret;
}

static int listen_at(struct ctl_server *s, unsigned mode, const char *group)
{
	struct group *gr = NULL;
	mode_t old;
	int ret;

	if (group) {
		gr = getgrnam(group);
		if (!gr) {
			pr_err("control: no group '%s'", group);
			return -EINVAL;
		}
	}
	ret = make_folder(s->path);
	if (ret)
		return ret;
	/* The socket is born with its final mode: nobody else connects in between. */
	old = umask(~mode & 0777);
	s->listen_fd = vfu_sock_listen(s->path, 16);
	umask(old);
	if (s->listen_fd < 0)
		return s->listen_fd;
	if (gr && chown(s->path, (uid_t)-1, gr->gr_gid)) {
		ret = -errno;
		pr_err("control: cannot give %s to group %s: %s", s->path, group, strerror(errno));
		return ret;
	}
	return 0;
}

int ctl_server_create(struct ctl_server **out, const char *path, unsigned mode,
		      const char *group, unsigned idle_s, const struct rpc_method *methods,
		      void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_LISTEN };
	struct epoll_event retry = { .events = EPOLLIN, .data.u32 = TAG_RETRY };
	struct epoll_event idle = { .events = EPOLLIN, .data.u32 = TAG_IDLE };
	struct ctl_server *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->listen_fd = -1;
	s->idle_ms = (int64_t)(idle_s ? idle_s : CTL_IDLE_TIMEOUT_S) * 1000;
	for (unsigned i = 0; i < CTL_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	s->methods = methods;
	s->ctx = ctx;
	s->path = strdup(path);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->retry_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	s->idle_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!s->path || s->epfd < 0 || s->retry_fd < 0 || s->idle_fd < 0) {
		ret = s->path ? -errno : -ENOMEM;
		goto err;
	}
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->retry_fd, &retry) ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->idle_fd, &idle)) {
		ret = -errno;
		goto err;
	}
	ret = listen_at(s, mode, group);
	if (ret)
		goto err;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev)) {
		ret = -errno;
		goto err;
	}
	pr_info("control socket %s (mode %04o)", path, mode);
	*out = s;
	return 0;
err:
	ctl_server_destroy(s);
	return ret;
}

int ctl_server_fd(const struct ctl_server *s)
{
	return s->epfd;
}

void ctl_server_destroy(struct ctl_server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < CTL_MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			conn_close(s, &s->conns[i]);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
	}
	if (s->retry_fd >= 0)
		close(s->retry_fd);
	if (s->idle_fd >= 0)
		close(s->idle_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s->path);
	free(s);
}
