// SPDX-License-Identifier: MIT
/*
 * vfio-user client. The socket is non-blocking and every wait goes through
 * poll() against one deadline per call, so a silent or dead server costs a
 * timeout, never a hang. Replies are trusted no more than requests are on
 * the server side: sizes, ids, echoes and capability chains are checked,
 * and every fd that arrives with a message we reject is closed.
 */
#include "client_priv.h"
#include "sock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>


const char vfu_client_default_caps[] =
	"{\"capabilities\":{\"max_msg_fds\":16,\"max_data_xfer_size\":1048576,"
	"\"pgsizes\":4096,\"max_dma_maps\":65535,\"write_multiple\":true,"
	"\"migration\":{\"pgsize\":4096,\"max_bitmap_size\":268435456}}}";

/* One received message: header and the fds that came with it. */
struct rx {
	struct vfu_hdr hdr;
	struct vfu_fdset set;
};

struct deadline {
	bool forever;
	int64_t end_ms;
};

/* ---- time and waiting ---- */

static void deadline_start(struct deadline *dl, int timeout_ms)
{
	dl->forever = timeout_ms < 0;
	dl->end_ms = vfu_now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
}

static int wait_fd(struct vfu_client *c, short events, const struct deadline *dl)
{
	struct pollfd pfd = { .fd = c->fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = dl->forever ? -1 : dl->end_ms - vfu_now_ms();
		if (!dl->forever && left < 0)
			left = 0;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		if (pfd.revents & events)
			return 0;
		/* HUP with nothing left to read, or a socket error. */
		return pfd.revents & POLLNVAL ? -EBADF : -ECONNRESET;
	}
}

/* ---- fds ---- */

void vfu_client_close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void rx_close_fds(struct rx *rx)
{
	vfu_fdset_close(&rx->set);
}

/* ---- sending ---- */

static int send_iov(struct vfu_client *c, struct iovec *iov, int cnt, const int *fds,
		    unsigned nfds, const struct deadline *dl)
{
	bool started;
	int ret;

	ret = vfu_sock_send(c->fd, iov, cnt, fds, nfds, dl->forever ? -1 : dl->end_ms, &started);
	/* Cut off mid-message: the stream cannot be followed any more. */
	if (ret && started)
		c->broken = true;
	return ret;
}

static int send_msg(struct vfu_client *c, struct vfu_hdr *h, const void *payload, size_t len,
		    const int *fds, unsigned nfds, const struct deadline *dl)
{
	struct iovec iov[2] = {
		{ .iov_base = h, .iov_len = sizeof(*h) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};

	if (len > UINT32_MAX - sizeof(*h))
		return -EMSGSIZE;
	h->msg_size = sizeof(*h) + len;
	return send_iov(c, iov, len ? 2 : 1, fds, nfds, dl);
}

static int send_reply(struct vfu_client *c, const struct vfu_hdr *cmd, int err,
		      const void *payload, size_t len, const struct deadline *dl)
{
	struct vfu_hdr h = {
		.msg_id = cmd->msg_id,
		.cmd = cmd->cmd,
		.flags = VFU_F_TYPE_REPLY | (err ? VFU_F_ERROR : 0),
		.error_no = err,
	};

	if (cmd->flags & VFU_F_NO_REPLY)
		return 0;
	return send_msg(c, &h, err ? NULL : payload, err ? 0 : len, NULL, 0, dl);
}

/* ---- receiving ---- */

static ssize_t recv_once(struct vfu_client *c, void *buf, size_t len, struct rx *rx)
{
	return vfu_sock_recv(c->fd, buf, len, &rx->set);
}

/* Read exactly @len bytes of the current message. */
static int recv_exact(struct vfu_client *c, void *buf, size_t len, struct rx *rx,
		      bool started, const struct deadline *dl)
{
	size_t got = 0;
	ssize_t n;
	int ret;

	while (got < len) {
		n = recv_once(c, (char *)buf + got, len - got, rx);
		if (n > 0) {
			got += n;
			continue;
		}
		ret = n == 0 ? -ECONNRESET : (int)n;
		if (ret == -EAGAIN) {
			ret = wait_fd(c, POLLIN, dl);
			if (!ret)
				continue;
		}
		if (started || got)
			c->broken = true;
		return ret;
	}
	return 0;
}

static int drain(struct vfu_client *c, size_t len, struct rx *rx, const struct deadline *dl)
{
	char scratch[4096];
	size_t n;
	int ret;

	while (len) {
		n = len < sizeof(scratch) ? len : sizeof(scratch);
		ret = recv_exact(c, scratch, n, rx, true, dl);
		if (ret)
			return ret;
		len -= n;
	}
	return 0;
}

static int recv_header(struct vfu_client *c, struct rx *rx, const struct deadline *dl)
{
	size_t limit = (size_t)c->caps.max_data_xfer_size + 64;
	int ret;

	memset(rx, 0, sizeof(*rx));
	ret = recv_exact(c, &rx->hdr, sizeof(rx->hdr), rx, false, dl);
	if (ret)
		return ret;
	if (limit < MAX_REGION_ARGSZ)
		limit = MAX_REGION_ARGSZ;
	/* Nothing can be skipped safely once the size is unbelievable. */
	if (rx->hdr.msg_size < sizeof(rx->hdr) || rx->hdr.msg_size - sizeof(rx->hdr) > limit) {
		c->broken = true;
		return -EPROTO;
	}
	return 0;
}

/* ---- server-initiated DMA ---- */

static void *dma_lookup(struct vfu_client *c, uint64_t addr, uint64_t len, uint32_t prot)
{
	for (unsigned i = 0; i < c->ndma; i++) {
		struct dma_ent *e = &c->dma[i];

		if (!e->local || addr < e->addr || addr - e->addr > e->size ||
		    len > e->size - (addr - e->addr))
			continue;
		if ((e->prot & prot) != prot)
			return NULL;
		return (char *)e->local + (addr - e->addr);
	}
	return NULL;
}

static int serve_dma_read(struct vfu_client *c, const struct vfu_hdr *h,
			  const struct vfu_dma_access *a, size_t len, const struct deadline *dl)
{
	struct vfu_dma_access *out;
	void *src;
	int ret;

	if (len != sizeof(*a) || a->count > c->caps.max_data_xfer_size)
		return send_reply(c, h, EINVAL, NULL, 0, dl);
	src = dma_lookup(c, a->addr, a->count, VFU_DMA_READ);
	if (!src)
		return send_reply(c, h, EFAULT, NULL, 0, dl);
	out = malloc(sizeof(*out) + a->count);
	if (!out)
		return send_reply(c, h, ENOMEM, NULL, 0, dl);
	*out = *a;
	memcpy(out->data, src, a->count);
	ret = send_reply(c, h, 0, out, sizeof(*out) + a->count, dl);
	free(out);
	return ret;
}

static int serve_dma_write(struct vfu_client *c, const struct vfu_hdr *h,
			   const struct vfu_dma_access *a, size_t len, const struct deadline *dl)
{
	void *dst;

	if (len < sizeof(*a) || a->count != len - sizeof(*a))
		return send_reply(c, h, EINVAL, NULL, 0, dl);
	dst = dma_lookup(c, a->addr, a->count, VFU_DMA_WRITE);
	if (!dst)
		return send_reply(c, h, EFAULT, NULL, 0, dl);
	memcpy(dst, a->data, a->count);
	return send_reply(c, h, 0, a, sizeof(*a), dl);
}

/* A command from the server arrived while we wait for a reply: answer it. */
static int serve_command(struct vfu_client *c, struct rx *rx, const struct deadline *dl)
{
	size_t len = rx->hdr.msg_size - sizeof(rx->hdr);
	void *p = malloc(len ? len : 1);
	int ret;

	if (!p) {
		c->broken = true;
		return -ENOMEM;
	}
	ret = recv_exact(c, p, len, rx, true, dl);
	if (ret)
		goto out;
	if (rx->set.n || rx->set.lost)
		ret = send_reply(c, &rx->hdr, EINVAL, NULL, 0, dl);
	else if (rx->hdr.cmd == VFU_CMD_DMA_READ)
		ret = serve_dma_read(c, &rx->hdr, p, len, dl);
	else if (rx->hdr.cmd == VFU_CMD_DMA_WRITE)
		ret = serve_dma_write(c, &rx->hdr, p, len, dl);
	else
		ret = send_reply(c, &rx->hdr, ENOTSUP, NULL, 0, dl);
out:
	free(p);
	return ret;
}

/*
 * Receive the next reply, serving server commands on the way. The payload
 * goes to @payload up to @max bytes; a longer one is drained (the stream
 * stays in step) and fails with -EMSGSIZE. On error no fd is left open.
 */
static int recv_reply_msg(struct vfu_client *c, struct rx *rx, void *payload, size_t max,
			  size_t *plen, const struct deadline *dl)
{
	size_t len, n;
	int ret;

	for (;;) {
		ret = recv_header(c, rx, dl);
		if (ret)
			goto fail;
		if ((rx->hdr.flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_COMMAND)
			break;
		ret = serve_command(c, rx, dl);
		rx_close_fds(rx);
		if (ret)
			return ret;
	}
	len = rx->hdr.msg_size - sizeof(rx->hdr);
	n = len < max ? len : max;
	ret = recv_exact(c, payload, n, rx, true, dl);
	if (!ret)
		ret = drain(c, len - n, rx, dl);
	if (!ret && len > max)
		ret = -EMSGSIZE;
	if (!ret && (rx->hdr.flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_REPLY)
		ret = -EPROTO;
	if (ret)
		goto fail;
	*plen = len;
	return 0;
fail:
	rx_close_fds(rx);
	return ret;
}

/* ---- generic calls ---- */

static bool take_stale(struct vfu_client *c, uint16_t id)
{
	for (unsigned i = 0; i < c->nstale; i++) {
		if (c->stale[i] != id)
			continue;
		c->stale[i] = c->stale[--c->nstale];
		return true;
	}
	return false;
}

static void add_stale(struct vfu_client *c, uint16_t id)
{
	if (c->nstale == NR_STALE)
		memmove(c->stale, c->stale + 1, sizeof(c->stale[0]) * --c->nstale);
	c->stale[c->nstale++] = id;
}

static int check_reply(const struct vfu_hdr *h, uint16_t id, uint16_t cmd)
{
	if (h->msg_id != id || h->cmd != cmd)
		return -EPROTO;
	if (!(h->flags & VFU_F_ERROR))
		return 0;
	if (h->error_no == 0 || h->error_no > 4095)
		return -EIO;
	return -(int)h->error_no;
}

static int hand_over_fds(struct rx *rx, int *fds_out, unsigned *nfds_out)
{
	unsigned cap = fds_out && nfds_out ? *nfds_out : 0;

	if (rx->set.lost || rx->set.n > cap)
		return -EPROTO;
	if (nfds_out)
		*nfds_out = rx->set.n;
	if (rx->set.n)
		memcpy(fds_out, rx->set.fds, sizeof(int) * rx->set.n);
	rx->set.n = 0;
	return 0;
}

int vfu_client_call(struct vfu_client *c, uint16_t cmd, const void *req, size_t req_len,
		    const int *fds, unsigned nfds, void *reply, size_t reply_max,
		    size_t *reply_len, int *fds_out, unsigned *nfds_out)
{
	struct vfu_hdr h = { .msg_id = c->next_id++, .cmd = cmd };
	struct deadline dl;
	struct rx rx;
	size_t len;
	int ret;

	if (c->broken)
		return -EPIPE;
	deadline_start(&dl, c->timeout_ms);
	ret = send_msg(c, &h, req, req_len, fds, nfds, &dl);
	if (ret)
		return ret;
	for (;;) {
		ret = recv_reply_msg(c, &rx, reply, reply_max, &len, &dl);
		if (ret == -ETIMEDOUT && !c->broken)
			add_stale(c, h.msg_id);
		/* A late reply to a request that timed out earlier: skip it. */
		if ((!ret || ret == -EMSGSIZE) && rx.hdr.msg_id != h.msg_id &&
		    take_stale(c, rx.hdr.msg_id)) {
			rx_close_fds(&rx);
			continue;
		}
		if (ret)
			return ret;
		break;
	}
	ret = check_reply(&rx.hdr, h.msg_id, cmd);
	if (!ret)
		ret = hand_over_fds(&rx, fds_out, nfds_out);
	if (ret) {
		rx_close_fds(&rx);
		return ret;
	}
	if (reply_len)
		*reply_len = len;
	return 0;
}

int vfu_client_post(struct vfu_client *c, uint16_t cmd, const void *req, size_t req_len,
		    const int *fds, unsigned nfds)
{
	struct vfu_hdr h = { .msg_id = c->next_id++, .cmd = cmd, .flags = VFU_F_NO_REPLY };
	struct deadline dl;

	if (c->broken)
		return -EPIPE;
	deadline_start(&dl, c->timeout_ms);
	return send_msg(c, &h, req, req_len, fds, nfds, &dl);
}

int vfu_client_send_raw(struct vfu_client *c, const void *buf, size_t len, const int *fds,
			unsigned nfds)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct deadline dl;

	if (c->broken)
		return -EPIPE;
	deadline_start(&dl, c->timeout_ms);
	return send_iov(c, &iov, 1, fds, nfds, &dl);
}

int vfu_client_recv_reply(struct vfu_client *c, struct vfu_hdr *hdr, void *payload, size_t max,
			  size_t *len, int *fds, unsigned *nfds)
{
	struct deadline dl;
	struct rx rx;
	size_t n;
	int ret;

	if (c->broken)
		return -EPIPE;
	deadline_start(&dl, c->timeout_ms);
	ret = recv_reply_msg(c, &rx, payload, max, &n, &dl);
	if (ret)
		return ret;
	if (rx.set.lost || rx.set.n > (fds && nfds ? *nfds : 0)) {
		rx_close_fds(&rx);
		return -EMSGSIZE;
	}
	hand_over_fds(&rx, fds, nfds);
	*hdr = rx.hdr;
	if (len)
		*len = n;
	return 0;
}

uint16_t vfu_client_take_id(struct vfu_client *c)
{
	return c->next_id++;
}

/* ---- connection ---- */

int vfu_client_from_fd(struct vfu_client **out, int fd)
{
	struct vfu_client *c;
	int fl;

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		close(fd);
		return -errno;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->timeout_ms = VFU_CLIENT_TIMEOUT_MS;
	/* Protocol defaults until VERSION says otherwise. */
	c->caps.max_msg_fds = 1;
	c->caps.max_data_xfer_size = VFU_MAX_DATA_XFER;
	c->caps.pgsizes = VFU_PGSIZE;
	c->caps.max_dma_maps = VFU_MAX_DMA_MAPS;
	*out = c;
	return 0;
}

int vfu_client_connect(struct vfu_client **out, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return vfu_client_from_fd(out, fd);
}

void vfu_client_close(struct vfu_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->dma);
	free(c);
}

void vfu_client_set_timeout(struct vfu_client *c, int ms)
{
	c->timeout_ms = ms;
}

int vfu_client_fd(const struct vfu_client *c)
{
	return c->fd;
}

const struct vfu_client_caps *vfu_client_caps(const struct vfu_client *c)
{
	return &c->caps;
}
