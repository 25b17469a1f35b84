// SPDX-License-Identifier: MIT
/*
 * vfio-user client. The socket is non-blocking and every wait goes through
 * poll() against one deadline per call, so a silent or dead server costs a
 * timeout, never a hang. Replies are trusted no more than requests are on
 * the server side: sizes, ids, echoes and capability chains are checked,
 * and every fd that arrives with a message we reject is closed.
 */
#include "client.h"

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

#define MAX_SEND_FDS 253              /* SCM_MAX_FD: raw tests may exceed 16 */
#define MAX_XFER_LIMIT (64u << 20)    /* what QEMU accepts from a server too */
#define MAX_REGION_ARGSZ (64u << 10)  /* bounds a hostile argsz */
#define NR_STALE 4

const char vfu_client_default_caps[] =
	"{\"capabilities\":{\"max_msg_fds\":16,\"max_data_xfer_size\":1048576,"
	"\"pgsizes\":4096,\"max_dma_maps\":65535,\"write_multiple\":true,"
	"\"migration\":{\"pgsize\":4096,\"max_bitmap_size\":268435456}}}";

struct dma_ent {
	uint64_t addr;
	uint64_t size;
	uint32_t prot;
	void *local;
};

struct vfu_client {
	int fd;
	int timeout_ms;
	uint16_t next_id;
	bool broken; /* a message was cut in the middle: the stream is lost */
	struct vfu_client_caps caps;
	struct dma_ent *dma;
	unsigned ndma;
	unsigned dma_cap;
	/* ids of requests that timed out: their late replies are dropped */
	uint16_t stale[NR_STALE];
	unsigned nstale;
};

/* One received message: header and the fds that came with it. */
struct rx {
	struct vfu_hdr hdr;
	int fds[VFU_MAX_MSG_FDS];
	unsigned nfds;
	bool fd_lost; /* more fds than we can hold, or MSG_CTRUNC */
};

struct deadline {
	bool forever;
	int64_t end_ms;
};

/* ---- time and waiting ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void deadline_start(struct deadline *dl, int timeout_ms)
{
	dl->forever = timeout_ms < 0;
	dl->end_ms = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
}

static int wait_fd(struct vfu_client *c, short events, const struct deadline *dl)
{
	struct pollfd pfd = { .fd = c->fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = dl->forever ? -1 : dl->end_ms - now_ms();
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

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void rx_close_fds(struct rx *rx)
{
	close_fds(rx->fds, rx->nfds);
	rx->nfds = 0;
}

static void rx_collect_fds(struct rx *rx, struct msghdr *mh)
{
	struct cmsghdr *cm;

	if (mh->msg_flags & MSG_CTRUNC)
		rx->fd_lost = true;
	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *p = (int *)CMSG_DATA(cm);

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, p + i, sizeof(fd));
			if (rx->nfds < VFU_MAX_MSG_FDS) {
				rx->fds[rx->nfds++] = fd;
				continue;
			}
			close(fd);
			rx->fd_lost = true;
		}
	}
}

/* ---- sending ---- */

static void iov_advance(struct msghdr *mh, size_t n)
{
	while (n && mh->msg_iovlen) {
		struct iovec *v = mh->msg_iov;
		size_t k = n < v->iov_len ? n : v->iov_len;

		v->iov_base = (char *)v->iov_base + k;
		v->iov_len -= k;
		n -= k;
		if (!v->iov_len) {
			mh->msg_iov++;
			mh->msg_iovlen--;
		}
	}
}

static int send_iov(struct vfu_client *c, struct iovec *iov, int cnt, const int *fds,
		    unsigned nfds, const struct deadline *dl)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_SEND_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = cnt };
	bool started = false;
	ssize_t n;
	int ret;

	if (nfds > MAX_SEND_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	while (mh.msg_iovlen) {
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ret = wait_fd(c, POLLOUT, dl);
			if (!ret)
				continue;
			goto fail;
		}
		if (n < 0) {
			ret = -errno;
			goto fail;
		}
		/* The fds went with the first byte. */
		started = true;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		iov_advance(&mh, n);
	}
	return 0;
fail:
	if (started)
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
	union {
		char buf[CMSG_SPACE(sizeof(int) * VFU_MAX_MSG_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	ssize_t n;

	do
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	rx_collect_fds(rx, &mh);
	return n;
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
	if (rx->nfds || rx->fd_lost)
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

	if (rx->fd_lost || rx->nfds > cap)
		return -EPROTO;
	if (nfds_out)
		*nfds_out = rx->nfds;
	if (rx->nfds)
		memcpy(fds_out, rx->fds, sizeof(int) * rx->nfds);
	rx->nfds = 0;
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
	if (rx.fd_lost || rx.nfds > (fds && nfds ? *nfds : 0)) {
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

/* ---- VERSION ---- */

/* An integer member within [min, max]; absent keeps *out. */
static int json_uint(struct json_object *o, const char *key, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -EPROTO;
	x = json_object_get_int64(v);
	if (x < 0 || (uint64_t)x < min || (uint64_t)x > max)
		return -EPROTO;
	*out = x;
	return 0;
}

static int parse_server_caps(const char *json, struct vfu_client_caps *caps)
{
	struct json_object *root, *o, *v;
	uint64_t fds = caps->max_msg_fds, xfer = caps->max_data_xfer_size;
	uint64_t maps = caps->max_dma_maps;
	int ret = -EPROTO;

	root = json_tokener_parse(json);
	if (!root || !json_object_is_type(root, json_type_object))
		goto out;
	/* No capabilities object at all: every default stands. */
	ret = 0;
	if (!json_object_object_get_ex(root, "capabilities", &o))
		goto out;
	ret = -EPROTO;
	if (!json_object_is_type(o, json_type_object))
		goto out;
	ret = json_uint(o, "max_msg_fds", 0, VFU_MAX_MSG_FDS, &fds);
	if (!ret)
		ret = json_uint(o, "max_data_xfer_size", 1, MAX_XFER_LIMIT, &xfer);
	if (!ret)
		ret = json_uint(o, "pgsizes", VFU_PGSIZE, UINT64_MAX, &caps->pgsizes);
	if (!ret)
		ret = json_uint(o, "max_dma_maps", 1, 65535, &maps);
	if (!ret && caps->pgsizes % VFU_PGSIZE)
		ret = -EPROTO;
	if (ret)
		goto out;
	caps->max_msg_fds = fds;
	caps->max_data_xfer_size = xfer;
	caps->max_dma_maps = maps;
	if (json_object_object_get_ex(o, "write_multiple", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			ret = -EPROTO;
		else
			caps->write_multiple = json_object_get_boolean(v);
	}
out:
	json_object_put(root);
	return ret;
}

int vfu_client_negotiate(struct vfu_client *c, const char *caps_json)
{
	size_t jlen, rlen, rmax = sizeof(struct vfu_version) + VFU_MAX_VERSION_JSON;
	struct vfu_version *req, *rep;
	struct vfu_client_caps caps = c->caps;
	int ret = -ENOMEM;

	if (!caps_json)
		caps_json = vfu_client_default_caps;
	jlen = strlen(caps_json) + 1;
	req = malloc(sizeof(*req) + jlen);
	rep = malloc(rmax);
	if (!req || !rep)
		goto out;
	/* 0.0 like QEMU: the server answers with what it supports below that. */
	req->major = 0;
	req->minor = 0;
	memcpy(req->json, caps_json, jlen);
	ret = vfu_client_call(c, VFU_CMD_VERSION, req, sizeof(*req) + jlen, NULL, 0, rep, rmax,
			      &rlen, NULL, NULL);
	if (ret)
		goto out;
	ret = -EPROTO;
	if (rlen <= sizeof(*rep) || rep->major != req->major || rep->minor > req->minor ||
	    !memchr(rep->json, '\0', rlen - sizeof(*rep)))
		goto out;
	caps.major = rep->major;
	caps.minor = rep->minor;
	caps.write_multiple = false;
	ret = parse_server_caps(rep->json, &caps);
	if (!ret)
		c->caps = caps;
out:
	free(req);
	free(rep);
	return ret;
}

/* ---- DMA ---- */

static int dma_add(struct vfu_client *c, uint64_t addr, uint64_t size, uint32_t prot,
		   void *local)
{
	if (c->ndma == c->dma_cap) {
		unsigned cap = c->dma_cap ? 2 * c->dma_cap : 16;
		struct dma_ent *d = realloc(c->dma, sizeof(*d) * cap);

		if (!d)
			return -ENOMEM;
		c->dma = d;
		c->dma_cap = cap;
	}
	c->dma[c->ndma++] = (struct dma_ent){ addr, size, prot, local };
	return 0;
}

static void dma_del(struct vfu_client *c, uint64_t addr, uint64_t size)
{
	for (unsigned i = 0; i < c->ndma; i++) {
		if (c->dma[i].addr != addr || c->dma[i].size != size)
			continue;
		c->dma[i] = c->dma[--c->ndma];
		return;
	}
}

int vfu_client_dma_map_local(struct vfu_client *c, uint64_t addr, uint64_t size, int fd,
			     uint64_t offset, uint32_t prot, void *local)
{
	struct vfu_dma_map m = {
		.argsz = sizeof(m), .flags = prot, .offset = offset, .addr = addr, .size = size,
	};
	int ret;

	/* Reserve the entry first: a map the server holds is always known here. */
	ret = dma_add(c, addr, size, prot, local);
	if (ret)
		return ret;
	ret = vfu_client_call(c, VFU_CMD_DMA_MAP, &m, sizeof(m), &fd, fd >= 0, NULL, 0, NULL,
			      NULL, NULL);
	if (ret)
		c->ndma--;
	return ret;
}

int vfu_client_dma_map(struct vfu_client *c, uint64_t addr, uint64_t size, int fd,
		       uint64_t offset, uint32_t prot)
{
	return vfu_client_dma_map_local(c, addr, size, fd, offset, prot, NULL);
}

int vfu_client_dma_unmap(struct vfu_client *c, uint64_t addr, uint64_t size, uint32_t flags)
{
	struct vfu_dma_unmap u = { .argsz = sizeof(u), .flags = flags, .addr = addr, .size = size };
	char rep[64];
	int ret;

	ret = vfu_client_call(c, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, rep, sizeof(rep),
			      NULL, NULL, NULL);
	if (ret)
		return ret;
	if (flags & VFU_DMA_UNMAP_ALL)
		c->ndma = 0;
	else
		dma_del(c, addr, size);
	return 0;
}

/* ---- info ---- */

int vfu_client_get_device_info(struct vfu_client *c, struct vfu_device_info *out)
{
	struct vfu_device_info req = { .argsz = sizeof(req) };
	size_t len;
	int ret;

	ret = vfu_client_call(c, VFU_CMD_DEVICE_GET_INFO, &req, sizeof(req), NULL, 0, out,
			      sizeof(*out), &len, NULL, NULL);
	if (!ret && len != sizeof(*out))
		ret = -EPROTO;
	return ret;
}

int vfu_client_get_irq_info(struct vfu_client *c, uint32_t index, struct vfu_irq_info *out)
{
	struct vfu_irq_info req = { .argsz = sizeof(req), .index = index };
	size_t len;
	int ret;

	ret = vfu_client_call(c, VFU_CMD_DEVICE_GET_IRQ_INFO, &req, sizeof(req), NULL, 0, out,
			      sizeof(*out), &len, NULL, NULL);
	if (!ret && (len != sizeof(*out) || out->index != index))
		ret = -EPROTO;
	return ret;
}

static int decode_sparse(const uint8_t *p, size_t room, uint64_t region_size,
			 struct vfu_client_region *out)
{
	struct vfu_region_info_cap_sparse_mmap cap;
	struct vfu_sparse_mmap_area a;

	if (room < sizeof(cap))
		return -EPROTO;
	memcpy(&cap, p, sizeof(cap));
	if (cap.nr_areas > (room - sizeof(cap)) / sizeof(a))
		return -EPROTO;
	out->areas = calloc(cap.nr_areas ? cap.nr_areas : 1, sizeof(*out->areas));
	if (!out->areas)
		return -ENOMEM;
	for (uint32_t i = 0; i < cap.nr_areas; i++) {
		memcpy(&a, p + sizeof(cap) + i * sizeof(a), sizeof(a));
		if (!a.size || a.size > region_size || a.offset > region_size - a.size)
			return -EPROTO;
		out->areas[i] = (struct vfu_client_area){ a.offset, a.size, NULL };
	}
	out->nr_areas = cap.nr_areas;
	out->sparse = true;
	return 0;
}

/* Walk the capability chain of a complete reply of @len bytes. */
static int decode_caps(const uint8_t *buf, size_t len, struct vfu_client_region *out)
{
	const struct vfu_region_info *info = &out->info;
	struct vfu_info_cap_header h;
	uint32_t off = info->cap_offset;
	int ret;

	if (!(info->flags & VFU_REGION_FLAG_CAPS))
		return 0;
	while (off) {
		if (off < sizeof(*info) || off > len || len - off < sizeof(h))
			return -EPROTO;
		memcpy(&h, buf + off, sizeof(h));
		if (h.id == VFU_REGION_INFO_CAP_SPARSE_MMAP) {
			if (out->sparse)
				return -EPROTO;
			ret = decode_sparse(buf + off, len - off, info->size, out);
			if (ret)
				return ret;
		}
		/* Only forward: a chain that loops back is rejected. */
		if (h.next && h.next <= off)
			return -EPROTO;
		off = h.next;
	}
	return 0;
}

static int region_info_once(struct vfu_client *c, uint32_t index, uint32_t argsz,
			    uint8_t *buf, size_t *len, int *fd)
{
	struct vfu_region_info req = { .argsz = argsz, .index = index };
	int fds[VFU_MAX_MSG_FDS];
	unsigned nfds = VFU_MAX_MSG_FDS;
	int ret;

	ret = vfu_client_call(c, VFU_CMD_DEVICE_GET_REGION_INFO, &req, sizeof(req), NULL, 0,
			      buf, argsz, len, fds, &nfds);
	if (ret)
		return ret;
	memcpy(&req, buf, sizeof(req));
	if (*len < sizeof(req) || req.index != index || nfds > 1) {
		close_fds(fds, nfds);
		return -EPROTO;
	}
	*fd = nfds ? fds[0] : -1;
	return 0;
}

int vfu_client_get_region_info(struct vfu_client *c, uint32_t index,
			       struct vfu_client_region *out)
{
	uint32_t argsz = sizeof(struct vfu_region_info);
	uint8_t *buf = NULL;
	size_t len;
	int ret, fd = -1;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	for (int tries = 0; tries < 2; tries++) {
		free(buf);
		buf = malloc(argsz);
		if (!buf)
			return -ENOMEM;
		ret = region_info_once(c, index, argsz, buf, &len, &fd);
		if (ret)
			goto out;
		memcpy(&out->info, buf, sizeof(out->info));
		if (out->info.argsz <= argsz)
			break;
		/* Too small: ask again with the size the server asked for. */
		if (fd >= 0)
			close(fd);
		fd = -1;
		ret = -EPROTO;
		if (tries || out->info.argsz > MAX_REGION_ARGSZ)
			goto out;
		argsz = out->info.argsz;
	}
	ret = decode_caps(buf, len, out);
	if (ret)
		goto out;
	if ((out->info.flags & VFU_REGION_FLAG_MMAP) && !out->sparse && out->info.size) {
		out->areas = calloc(1, sizeof(*out->areas));
		if (!out->areas) {
			ret = -ENOMEM;
			goto out;
		}
		out->areas[0] = (struct vfu_client_area){ 0, out->info.size, NULL };
		out->nr_areas = 1;
	}
	out->fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (ret)
		vfu_client_region_release(out);
	free(buf);
	return ret;
}

int vfu_client_region_mmap(struct vfu_client_region *r, int prot)
{
	struct vfu_client_area *a;
	int ret;

	if (!(r->info.flags & VFU_REGION_FLAG_MMAP))
		return -ENOTSUP;
	if (r->fd < 0)
		return -EBADF;
	for (unsigned i = 0; i < r->nr_areas; i++) {
		a = &r->areas[i];
		if (a->map)
			continue;
		if (r->info.offset + a->offset < r->info.offset || a->size > SIZE_MAX) {
			ret = -EOVERFLOW;
			goto fail;
		}
		a->map = mmap(NULL, a->size, prot, MAP_SHARED, r->fd, r->info.offset + a->offset);
		if (a->map == MAP_FAILED) {
			a->map = NULL;
			ret = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	vfu_client_region_munmap(r);
	return ret;
}

void vfu_client_region_munmap(struct vfu_client_region *r)
{
	for (unsigned i = 0; i < r->nr_areas; i++) {
		if (r->areas[i].map)
			munmap(r->areas[i].map, r->areas[i].size);
		r->areas[i].map = NULL;
	}
}

void *vfu_client_region_ptr(const struct vfu_client_region *r, uint64_t offset, uint64_t len)
{
	for (unsigned i = 0; i < r->nr_areas; i++) {
		const struct vfu_client_area *a = &r->areas[i];

		if (!a->map || offset < a->offset || offset - a->offset > a->size ||
		    len > a->size - (offset - a->offset))
			continue;
		return (char *)a->map + (offset - a->offset);
	}
	return NULL;
}

void vfu_client_region_release(struct vfu_client_region *r)
{
	vfu_client_region_munmap(r);
	if (r->fd >= 0)
		close(r->fd);
	free(r->areas);
	r->areas = NULL;
	r->nr_areas = 0;
	r->sparse = false;
	r->fd = -1;
}

/* ---- IRQs ---- */

int vfu_client_set_irqs(struct vfu_client *c, uint32_t index, uint32_t flags, uint32_t start,
			uint32_t count, const int *fds, unsigned nfds, const void *data,
			size_t len)
{
	struct vfu_irq_set *s;
	int ret;

	if (len > UINT32_MAX - sizeof(*s))
		return -EINVAL;
	s = malloc(sizeof(*s) + len);
	if (!s)
		return -ENOMEM;
	*s = (struct vfu_irq_set){
		.argsz = sizeof(*s) + len, .flags = flags, .index = index,
		.start = start, .count = count,
	};
	if (len)
		memcpy(s->data, data, len);
	ret = vfu_client_call(c, VFU_CMD_DEVICE_SET_IRQS, s, sizeof(*s) + len, fds, nfds, NULL,
			      0, NULL, NULL, NULL);
	free(s);
	return ret;
}

/* ---- region access ---- */

static size_t chunk_of(const struct vfu_client *c, size_t left)
{
	return left < c->caps.max_data_xfer_size ? left : c->caps.max_data_xfer_size;
}

int vfu_client_region_read(struct vfu_client *c, uint32_t region, uint64_t offset, void *buf,
			   size_t len)
{
	struct vfu_region_access req = { .region = region }, *rep;
	size_t done = 0, n, rlen;
	int ret = 0;

	if (offset + len < offset)
		return -EINVAL;
	rep = malloc(sizeof(*rep) + chunk_of(c, len));
	if (!rep)
		return -ENOMEM;
	while (done < len) {
		n = chunk_of(c, len - done);
		req.offset = offset + done;
		req.count = n;
		ret = vfu_client_call(c, VFU_CMD_REGION_READ, &req, sizeof(req), NULL, 0, rep,
				      sizeof(*rep) + n, &rlen, NULL, NULL);
		if (ret)
			break;
		if (rlen != sizeof(*rep) + n || rep->offset != req.offset ||
		    rep->region != region || rep->count != n) {
			ret = -EPROTO;
			break;
		}
		memcpy((char *)buf + done, rep->data, n);
		done += n;
	}
	free(rep);
	return ret;
}

static int region_write(struct vfu_client *c, uint32_t region, uint64_t offset,
			const void *buf, size_t len, bool posted)
{
	struct vfu_region_access *req, rep;
	size_t done = 0, n, rlen;
	int ret = 0;

	if (offset + len < offset)
		return -EINVAL;
	req = malloc(sizeof(*req) + chunk_of(c, len));
	if (!req)
		return -ENOMEM;
	while (done < len && !ret) {
		n = chunk_of(c, len - done);
		*req = (struct vfu_region_access){
			.offset = offset + done, .region = region, .count = n,
		};
		memcpy(req->data, (const char *)buf + done, n);
		done += n;
		if (posted) {
			ret = vfu_client_post(c, VFU_CMD_REGION_WRITE, req, sizeof(*req) + n,
					      NULL, 0);
			continue;
		}
		ret = vfu_client_call(c, VFU_CMD_REGION_WRITE, req, sizeof(*req) + n, NULL, 0,
				      &rep, sizeof(rep), &rlen, NULL, NULL);
		if (!ret && (rlen != sizeof(rep) || rep.count != n))
			ret = -EPROTO;
	}
	free(req);
	return ret;
}

int vfu_client_region_write(struct vfu_client *c, uint32_t region, uint64_t offset,
			    const void *buf, size_t len)
{
	return region_write(c, region, offset, buf, len, false);
}

int vfu_client_region_write_posted(struct vfu_client *c, uint32_t region, uint64_t offset,
				   const void *buf, size_t len)
{
	return region_write(c, region, offset, buf, len, true);
}

int vfu_client_region_write_multi(struct vfu_client *c, const struct vfu_write_multi_entry *e,
				  unsigned n)
{
	struct vfu_region_write_multi *m;
	int ret;

	if (!n || n > VFU_MAX_WRITE_MULTI)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (e[i].count > VFU_MAX_MULTI_DATA)
			return -EINVAL;
	m = malloc(sizeof(*m) + n * sizeof(*e));
	if (!m)
		return -ENOMEM;
	m->wr_cnt = n;
	memcpy(m->wrs, e, n * sizeof(*e));
	ret = vfu_client_post(c, VFU_CMD_REGION_WRITE_MULTI, m, sizeof(*m) + n * sizeof(*e),
			      NULL, 0);
	free(m);
	return ret;
}

int vfu_client_reset(struct vfu_client *c)
{
	return vfu_client_call(c, VFU_CMD_DEVICE_RESET, NULL, 0, NULL, 0, NULL, 0, NULL, NULL,
			       NULL);
}
