// SPDX-License-Identifier: MIT
/*
 * Message framing for one client. Reads never go past the end of the
 * message being assembled, so the fds the kernel hands over with a read
 * belong to that message. Every fd a message brought and no handler kept
 * is closed once the message is done, on every path.
 */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/counter.h"
#include "core/log.h"
#include "validate.h"


int vfu_session_init(struct vfu_session *s, int fd, struct vfu_device *dev,
		     struct vfu_stats *stats)
{
	int fl;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->dev = dev;
	s->stats = stats;
	s->max_data_xfer = VFU_MAX_DATA_XFER;
	s->started_ms = vfu_now_ms();
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	s->reply_cap = VFU_MAX_MSG_SIZE;
	s->reply = malloc(s->reply_cap);
	if (!s->reply)
		return -ENOMEM;
	return 0;
}

void vfu_session_fini(struct vfu_session *s)
{
	vfu_fdset_close(&s->fds);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->body);
	free(s->reply);
	s->body = NULL;
	s->reply = NULL;
}

/* One read of at most @len bytes: >0 bytes, 0 at EOF, -errno. */
static ssize_t recv_some(struct vfu_session *s, void *buf, size_t len)
{
	if (!s->hdr_got && !s->body_got)
		s->msg_start_ms = vfu_now_ms();
	return vfu_sock_recv(s->fd, buf, len, &s->fds);
}

/* One message, all of it before one deadline however slowly the peer reads. */
static int send_msg(int sock, struct vfu_hdr *hdr, void *payload, size_t len, const int *fds,
		    unsigned nfds)
{
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(*hdr) },
		{ .iov_base = payload, .iov_len = len },
	};
	bool started;

	return vfu_sock_send(sock, iov, 2, fds, nfds, vfu_now_ms() + VFU_SESSION_TIMEOUT_MS,
			     &started);
}

static int send_reply(struct vfu_session *s, long result, const struct vfu_reply *rep)
{
	struct vfu_hdr h = {
		.msg_id = s->hdr.msg_id,
		.cmd = s->hdr.cmd,
		.msg_size = sizeof(h),
		.flags = VFU_F_TYPE_REPLY,
	};

	if (result < 0) {
		h.flags |= VFU_F_ERROR;
		h.error_no = (uint32_t)-result;
		return send_msg(s->fd, &h, NULL, 0, NULL, 0);
	}
	h.msg_size += result;
	return send_msg(s->fd, &h, rep->buf, result, &rep->fd, rep->fd >= 0);
}

static int handle_message(struct vfu_session *s)
{
	struct vfu_device *dev = s->dev;
	struct vfu_limits lim = {
		.regions = dev->regions, .irqs = dev->irqs,
		.negotiated = s->negotiated, .max_data_xfer = s->max_data_xfer,
	};
	struct vfu_request req = {
		.hdr = &s->hdr, .payload = s->body, .len = s->body_got,
		.fds = s->fds.fds, .nfds = s->fds.n,
	};
	struct vfu_reply rep = { .buf = s->reply, .cap = s->reply_cap, .fd = -1 };
	long ret;
	int err;

	if (s->hdr.cmd < VFU_CMD_MAX)
		counter_inc(&s->stats->msgs[s->hdr.cmd]);
	ret = s->fds.lost ? -EINVAL : vfu_validate_command(&lim, &s->hdr, s->body, s->body_got,
							    s->fds.n);
	if (!ret)
		ret = vfu_validate_fds(&s->hdr, s->body, s->fds.fds, s->fds.n);
	if (ret) {
		struct trace *t = vfu_device_trace(dev);

		if (hook_on(t))
			trace_msg(t, s->hdr.cmd, s->hdr.msg_id, (int32_t)ret, TRACE_F_INVALID);
		counter_inc(&s->stats->bad_msgs);
		pr_warn_rl("%s: bad %s message (id %u, %u bytes, %u fds): %s", dev->name,
			   vfu_cmd_name(s->hdr.cmd), s->hdr.msg_id, s->hdr.msg_size, s->fds.n,
			   strerror((int)-ret));
	} else {
		ret = vfu_dispatch(s, &req, &rep);
		if (ret < 0) {
			counter_inc(&s->stats->errors);
			pr_debug("%s: %s failed: %s", dev->name, vfu_cmd_name(s->hdr.cmd),
				 strerror((int)-ret));
		}
	}
	vfu_fdset_close(&s->fds);
	if (s->hdr.flags & VFU_F_NO_REPLY)
		return 0;
	err = send_reply(s, ret, &rep);
	if (err)
		pr_warn("%s: cannot send reply: %s", dev->name, strerror(-err));
	return err;
}

static int ensure_body(struct vfu_session *s, size_t len)
{
	uint8_t *n;

	if (len <= s->body_cap)
		return 0;
	n = realloc(s->body, len);
	if (!n)
		return -ENOMEM;
	s->body = n;
	s->body_cap = len;
	return 0;
}

/* Read into the header or the body; 1 when the message is complete. */
static int read_step(struct vfu_session *s)
{
	size_t body_len;
	ssize_t n;
	int ret;

	if (s->hdr_got < sizeof(s->hdr)) {
		n = recv_some(s, (uint8_t *)&s->hdr + s->hdr_got, sizeof(s->hdr) - s->hdr_got);
		if (n <= 0)
			return n ? (int)n : -ECONNRESET;
		s->hdr_got += n;
		if (s->hdr_got < sizeof(s->hdr))
			return 0;
		ret = vfu_validate_header(&s->hdr);
		if (ret) {
			counter_inc(&s->stats->bad_msgs);
			pr_warn_rl("%s: unframeable message (msg_size %u): closing", s->dev->name,
				   s->hdr.msg_size);
			return ret;
		}
		ret = ensure_body(s, s->hdr.msg_size - sizeof(s->hdr));
		if (ret)
			return ret;
		s->body_got = 0;
	}
	body_len = s->hdr.msg_size - sizeof(s->hdr);
	if (s->body_got < body_len) {
		n = recv_some(s, s->body + s->body_got, body_len - s->body_got);
		if (n <= 0)
			return n ? (int)n : -ECONNRESET;
		s->body_got += n;
	}
	return s->body_got == body_len;
}

int vfu_session_on_readable(struct vfu_session *s)
{
	/* Level-triggered epoll calls again if more is pending after the budget. */
	for (unsigned handled = 0; handled < VFU_SESSION_BUDGET;) {
		int ret = read_step(s);

		if (ret == -EAGAIN)
			return 0;
		if (ret < 0)
			return ret;
		if (!ret)
			continue;
		ret = handle_message(s);
		s->hdr_got = 0;
		s->body_got = 0;
		handled++;
		if (ret)
			return ret;
	}
	return 0;
}

static int left_ms(int64_t deadline, int64_t now)
{
	return deadline - now > INT32_MAX ? INT32_MAX : (int)(deadline - now);
}

int vfu_session_check_timeouts(struct vfu_session *s, int64_t now_ms, int *next_ms)
{
	int64_t deadline = -1;

	if (!s->negotiated)
		deadline = s->started_ms + VFU_SESSION_TIMEOUT_MS;
	if (s->hdr_got || s->body_got) {
		int64_t d = s->msg_start_ms + VFU_SESSION_TIMEOUT_MS;

		if (deadline < 0 || d < deadline)
			deadline = d;
	}
	*next_ms = -1;
	if (deadline < 0)
		return 0;
	if (now_ms >= deadline)
		return -ETIMEDOUT;
	*next_ms = left_ms(deadline, now_ms);
	return 0;
}
