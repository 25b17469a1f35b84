// SPDX-License-Identifier: MIT
#include "ctl/client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "vfio-user/sock.h"

#define MAX_RESPONSE (64u << 20)

struct ctl_client {
	int fd;
	char *buf; /* received, not yet returned */
	size_t len, cap;
	int next_id;
};

const char *ctl_socket_path(void)
{
	const char *p = getenv("IOMED_CONTROL");

	return p && *p ? p : CTL_DEFAULT_SOCKET;
}

int ctl_client_connect(struct ctl_client **out, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct ctl_client *c;
	int ret;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->next_id = 1;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof(addr))) {
		ret = -errno;
		ctl_client_close(c);
		return ret;
	}
	*out = c;
	return 0;
}

void ctl_client_close(struct ctl_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

int ctl_client_send(struct ctl_client *c, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read more into the buffer, waiting until @deadline. */
static int fill(struct ctl_client *c, int64_t deadline)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int left = (int)(deadline - vfu_now_ms());
	ssize_t n;

	if (left <= 0 || poll(&p, 1, left) == 0)
		return -ETIMEDOUT;
	if (c->cap - c->len < 4096) {
		size_t cap = c->cap ? c->cap * 2 : 8192;
		char *b;

		if (cap > MAX_RESPONSE)
			return -EPROTO;
		b = realloc(c->buf, cap);
		if (!b)
			return -ENOMEM;
		c->buf = b;
		c->cap = cap;
	}
	n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (!n)
		return -ECONNRESET;
	c->len += (size_t)n;
	return 0;
}

int ctl_client_recv(struct ctl_client *c, struct json_object **out, int timeout_ms)
{
	int64_t deadline = vfu_now_ms() + timeout_ms;
	char *nl;
	size_t line;
	int ret;

	while (!(nl = c->buf ? memchr(c->buf, '\n', c->len) : NULL)) {
		ret = fill(c, deadline);
		if (ret)
			return ret;
	}
	*nl = '\0';
	line = (size_t)(nl - c->buf) + 1;
	*out = json_tokener_parse(c->buf);
	memmove(c->buf, c->buf + line, c->len - line);
	c->len -= line;
	return *out ? 0 : -EPROTO;
}

int ctl_client_call(struct ctl_client *c, const char *method, struct json_object *params,
		    struct json_object **resp, int timeout_ms)
{
	struct json_object *req = json_object_new_object();
	const char *text;
	int ret, id = c->next_id++;

	json_object_object_add(req, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(req, "method", json_object_new_string(method));
	if (params)
		json_object_object_add(req, "params", json_object_get(params));
	json_object_object_add(req, "id", json_object_new_int(id));
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	ret = ctl_client_send(c, text, strlen(text));
	if (!ret)
		ret = ctl_client_send(c, "\n", 1);
	json_object_put(req);
	/*
	 * A daemon that refuses the connection answers why and closes before
	 * reading: the send fails, but that answer may be waiting.
	 */
	if ((ret == -EPIPE || ret == -ECONNRESET) && !ctl_client_recv(c, resp, timeout_ms))
		return 0;
	return ret ? ret : ctl_client_recv(c, resp, timeout_ms);
}
