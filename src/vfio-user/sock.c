// SPDX-License-Identifier: MIT
#include "sock.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

void vfu_fdset_close(struct vfu_fdset *set)
{
	for (unsigned i = 0; i < set->n; i++)
		if (set->fds[i] >= 0)
			close(set->fds[i]);
	set->n = 0;
	set->lost = false;
}

int64_t vfu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void collect_fds(struct vfu_fdset *set, struct msghdr *mh)
{
	struct cmsghdr *c;

	if (mh->msg_flags & MSG_CTRUNC)
		set->lost = true;
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
			if (set->n < VFU_MAX_MSG_FDS) {
				set->fds[set->n++] = fd;
			} else {
				close(fd);
				set->lost = true;
			}
		}
	}
}

ssize_t vfu_sock_recv(int sock, void *buf, size_t len, struct vfu_fdset *set)
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
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	collect_fds(set, &mh);
	return n;
}

static int wait_writable(int sock, int64_t deadline_ms)
{
	struct pollfd p = { .fd = sock, .events = POLLOUT };
	int n;

	do {
		int64_t left = deadline_ms < 0 ? -1 : deadline_ms - vfu_now_ms();

		if (deadline_ms >= 0 && left < 0)
			left = 0;
		n = poll(&p, 1, (int)left);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* HUP or an error: the next sendmsg reports it. */
	return n ? 0 : -ETIMEDOUT;
}

/* Consume @n bytes, then drop iovecs that are empty. */
static void iov_advance(struct msghdr *mh, size_t n)
{
	while (mh->msg_iovlen) {
		struct iovec *v = mh->msg_iov;
		size_t k = n < v->iov_len ? n : v->iov_len;

		if (k) /* an empty iovec may have a NULL base */
			v->iov_base = (char *)v->iov_base + k;
		v->iov_len -= k;
		n -= k;
		if (v->iov_len)
			break;
		mh->msg_iov++;
		mh->msg_iovlen--;
	}
}

int vfu_sock_send(int sock, struct iovec *iov, int cnt, const int *fds, unsigned nfds,
		  int64_t deadline_ms, bool *started)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VFU_SOCK_MAX_SEND_FDS)];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = cnt };
	int ret;

	*started = false;
	if (nfds > VFU_SOCK_MAX_SEND_FDS)
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
	iov_advance(&mh, 0); /* skip empty iovecs: the loop ends when all went */
	while (mh.msg_iovlen) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			ret = wait_writable(sock, deadline_ms);
			if (ret)
				return ret;
			continue;
		}
		/* The fds went with the first byte; the rest goes without. */
		*started = true;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		iov_advance(&mh, n);
	}
	return 0;
}

/* An existing socket file nobody listens on is stale and may be replaced. */
static int claim_path(const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, ret;

	if (lstat(addr->sun_path, &st)) {
		return errno == ENOENT ? 0 : -errno;
	}
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	/* Non-blocking: a live server with a full backlog must not hang us. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	if (ret)
		ret = -errno;
	close(fd);
	if (!ret || ret == -EAGAIN || ret == -EINPROGRESS)
		return -EADDRINUSE;
	if (unlink(addr->sun_path) && errno != ENOENT)
		return -errno;
	return 0;
}

int vfu_sock_listen(const char *path, int backlog)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	ret = claim_path(&addr);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (listen(fd, backlog)) {
		ret = -errno;
		unlink(path);
		close(fd);
		return ret;
	}
	return fd;
}
