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
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "validate.h"

#define SEND_TIMEOUT_MS 5000

int vfu_session_init(struct vfu_session *s, int fd, struct vfu_device *dev,
		     struct vfu_stats *stats)
{
	int fl;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->dev = dev;
	s->stats = stats;
	s->max_data_xfer = VFU_MAX_DATA_XFER;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	s->reply_cap = VFU_MAX_MSG_SIZE;
	s->reply = malloc(s->reply_cap);
	if (!s->reply)
		return -ENOMEM;
	return 0;
}

static void drop_fds(struct vfu_session *s)
{
	for (unsigned i = 0; i < s->nfds; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	s->nfds = 0;
	s->fds_lost = false;
}

void vfu_session_fini(struct vfu_session *s)
{
	drop_fds(s);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->body);
	free(s->reply);
	s->body = NULL;
	s->reply = NULL;
}

static void take_fds(struct vfu_session *s, struct msghdr *mh)
{
	struct cmsghdr *c;

	if (mh->msg_flags & MSG_CTRUNC)
		s->fds_lost = true;
	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;
		int *fds;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fds = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, &fds[i], sizeof(fd));
			if (s->nfds < VFU_MAX_MSG_FDS) {
				s->fds[s->nfds++] = fd;
			} else {
				close(fd);
				s->fds_lost = true;
			}
		}
	}
}

/* One read of at most @len bytes: >0 bytes, 0 at EOF, -errno. */
static ssize_t recv_some(struct vfu_session *s, void *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VFU_MAX_MSG_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;

	do {
		n = recvmsg(s->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	take_fds(s, &mh);
	return n;
}

static int wait_writable(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLOUT };
	int n;

	do {
		n = poll(&p, 1, SEND_TIMEOUT_MS);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

int vfu_send_msg(int sock, const struct vfu_hdr *hdr, const void *payload, size_t len,
		 const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VFU_MAX_MSG_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = {
		{ .iov_base = (void *)hdr, .iov_len = sizeof(*hdr) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	size_t total = sizeof(*hdr) + len;
	int ret;

	if (nfds > VFU_MAX_MSG_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	while (total) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			ret = wait_writable(sock);
			if (ret)
				return ret;
			continue;
		}
		/* Fds went with the first bytes; the rest goes without. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		total -= n;
		while (n && mh.msg_iovlen) {
			size_t step = (size_t)n < mh.msg_iov->iov_len ? (size_t)n : mh.msg_iov->iov_len;

			mh.msg_iov->iov_base = (uint8_t *)mh.msg_iov->iov_base + step;
			mh.msg_iov->iov_len -= step;
			n -= step;
			if (!mh.msg_iov->iov_len) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	return 0;
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
		return vfu_send_msg(s->fd, &h, NULL, 0, NULL, 0);
	}
	h.msg_size += result;
	return vfu_send_msg(s->fd, &h, rep->buf, result, &rep->fd, rep->fd >= 0);
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
		.fds = s->fds, .nfds = s->nfds,
	};
	struct vfu_reply rep = { .buf = s->reply, .cap = s->reply_cap, .fd = -1 };
	long ret;
	int err;

	if (s->hdr.cmd < VFU_CMD_MAX)
		s->stats->msgs[s->hdr.cmd]++;
	ret = s->fds_lost ? -EINVAL : vfu_validate_command(&lim, &s->hdr, s->body, s->body_got,
							    s->nfds);
	if (ret) {
		s->stats->bad_msgs++;
		pr_warn_rl("%s: bad %s message (id %u, %u bytes, %u fds): %s", dev->name,
			   vfu_cmd_name(s->hdr.cmd), s->hdr.msg_id, s->hdr.msg_size, s->nfds,
			   strerror((int)-ret));
	} else {
		ret = vfu_dispatch(s, &req, &rep);
		if (ret < 0) {
			s->stats->errors++;
			pr_debug("%s: %s failed: %s", dev->name, vfu_cmd_name(s->hdr.cmd),
				 strerror((int)-ret));
		}
	}
	drop_fds(s);
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
			s->stats->bad_msgs++;
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
	for (;;) {
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
		if (ret)
			return ret;
	}
}
