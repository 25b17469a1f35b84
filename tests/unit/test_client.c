// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/vfio-user/client.c against a scripted fake server
 * thread on the other end of a socketpair. The fake server never calls
 * cmocka (not thread-safe): it records the first failing line instead.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vfio-user/client.h"

struct fake {
	int fd;
	int fail; /* line of the first failed check in the server thread */
	void (*script)(struct fake *f);
	pthread_t thread;
	struct vfu_client *c;
};

#define FCHECK(f, cond)                                 \
	do {                                            \
		if (!(cond) && !(f)->fail)              \
			(f)->fail = __LINE__;           \
	} while (0)

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- fake server side (blocking) ---- */

static int f_recv(struct fake *f, struct vfu_hdr *h, void *buf, size_t max, int *fds,
		  unsigned *nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 16)];
	struct iovec iov = { .iov_base = h, .iov_len = sizeof(*h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	unsigned n = 0;
	size_t len;

	if (recvmsg(f->fd, &mh, MSG_WAITALL) != sizeof(*h))
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int *p = (int *)CMSG_DATA(cm);

		for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			if (fds && n < *nfds)
				fds[n++] = p[i];
			else
				close(p[i]);
		}
	}
	if (nfds)
		*nfds = n;
	len = h->msg_size - sizeof(*h);
	if (len > max)
		return -1;
	if (len && recv(f->fd, buf, len, MSG_WAITALL) != (ssize_t)len)
		return -1;
	return len;
}

static void f_send(struct fake *f, uint16_t id, uint16_t cmd, uint32_t flags, uint32_t err,
		   const void *p, size_t len, const int *fds, unsigned nfds)
{
	struct vfu_hdr h = { .msg_id = id, .cmd = cmd, .msg_size = sizeof(h) + len,
			     .flags = flags, .error_no = err };
	char cbuf[CMSG_SPACE(sizeof(int) * 32)];
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)p, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (nfds) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	FCHECK(f, sendmsg(f->fd, &mh, MSG_NOSIGNAL) == (ssize_t)(sizeof(h) + len));
}

static void f_reply(struct fake *f, const struct vfu_hdr *req, const void *p, size_t len)
{
	f_send(f, req->msg_id, req->cmd, VFU_F_TYPE_REPLY, 0, p, len, NULL, 0);
}

/* Wait until the client hangs up. */
static void f_wait_eof(struct fake *f)
{
	char b;

	while (recv(f->fd, &b, 1, 0) > 0)
		;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	f->script(f);
	return NULL;
}

static void fake_start(struct fake *f, void (*script)(struct fake *))
{
	int sv[2];

	memset(f, 0, sizeof(*f));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->fd = sv[1];
	f->script = script;
	assert_int_equal(vfu_client_from_fd(&f->c, sv[0]), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_finish(struct fake *f)
{
	vfu_client_close(f->c);
	pthread_join(f->thread, NULL);
	close(f->fd);
	assert_int_equal(f->fail, 0);
}

/* Called from the server thread: no cmocka asserts, -1 on failure. */
static int make_memfd(size_t size)
{
	int fd = memfd_create("test-client", MFD_CLOEXEC);
	uint8_t *p;

	if (fd < 0 || ftruncate(fd, size))
		return -1;
	p = mmap(NULL, size, PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	for (size_t i = 0; i < size; i++)
		p[i] = i * 7;
	munmap(p, size);
	return fd;
}

/* ---- VERSION ---- */

static const char server_caps[] =
	"{\"capabilities\":{\"max_msg_fds\":8,\"max_data_xfer_size\":4096,"
	"\"pgsizes\":4096,\"max_dma_maps\":100,\"write_multiple\":true}}";

static void serve_version(struct fake *f, uint16_t major, const char *json)
{
	char buf[4200];
	struct vfu_hdr h;
	struct vfu_version *v = (void *)buf;
	int len = f_recv(f, &h, buf, sizeof(buf), NULL, NULL);

	FCHECK(f, len > 4 && h.cmd == VFU_CMD_VERSION && h.flags == 0);
	FCHECK(f, v->major == 0 && v->minor == 0);
	FCHECK(f, len > 4 && !strcmp(v->json, vfu_client_default_caps));
	v->major = major;
	v->minor = 0;
	strcpy(v->json, json);
	f_reply(f, &h, buf, sizeof(*v) + strlen(json) + 1);
}

static void script_version(struct fake *f)
{
	serve_version(f, 0, server_caps);
	f_wait_eof(f);
}

static void test_version(void **state)
{
	const struct vfu_client_caps *caps;
	struct fake f;

	(void)state;
	fake_start(&f, script_version);
	assert_int_equal(vfu_client_negotiate(f.c, NULL), 0);
	caps = vfu_client_caps(f.c);
	assert_int_equal(caps->max_msg_fds, 8);
	assert_int_equal(caps->max_data_xfer_size, 4096);
	assert_int_equal(caps->pgsizes, 4096);
	assert_int_equal(caps->max_dma_maps, 100);
	assert_true(caps->write_multiple);
	fake_finish(&f);
}

static void script_version_bad(struct fake *f)
{
	serve_version(f, 1, server_caps);                       /* wrong major */
	serve_version(f, 0, "{\"capabilities\":{\"pgsizes\":100}}");
	serve_version(f, 0, "{\"capabilities\":{\"max_msg_fds\":\"8\"}}");
	serve_version(f, 0, "{\"capabilities\":");              /* truncated JSON */
	serve_version(f, 0, "{}");                              /* all defaults */
	f_wait_eof(f);
}

static void test_version_bad(void **state)
{
	struct fake f;

	(void)state;
	fake_start(&f, script_version_bad);
	for (int i = 0; i < 4; i++)
		assert_int_equal(vfu_client_negotiate(f.c, NULL), -EPROTO);
	assert_int_equal(vfu_client_negotiate(f.c, NULL), 0);
	assert_int_equal(vfu_client_caps(f.c)->max_msg_fds, 1);
	assert_false(vfu_client_caps(f.c)->write_multiple);
	fake_finish(&f);
}

/* ---- region info ---- */

#define RSIZE 16384

/* The sparse-mmap capability spelled out: its areas[] may not sit inside a struct. */
struct full_info {
	struct vfu_region_info info;
	struct {
		struct vfu_info_cap_header header;
		uint32_t nr_areas;
		uint32_t reserved;
	} __attribute__((packed)) cap;
	struct vfu_sparse_mmap_area areas[2];
} __attribute__((packed));
_Static_assert(sizeof(((struct full_info *)0)->cap) ==
	       sizeof(struct vfu_region_info_cap_sparse_mmap), "sparse mmap cap layout");

static struct full_info region2_info(void)
{
	struct full_info r = {
		.info = { .argsz = sizeof(r), .index = 2, .cap_offset = sizeof(r.info),
			  .size = RSIZE, .offset = 0,
			  .flags = VFU_REGION_FLAG_READ | VFU_REGION_FLAG_WRITE |
				   VFU_REGION_FLAG_MMAP | VFU_REGION_FLAG_CAPS },
		.cap = { .header = { .id = VFU_REGION_INFO_CAP_SPARSE_MMAP, .version = 1 },
			 .nr_areas = 2 },
		.areas = { { 0, 4096 }, { 8192, 8192 } },
	};
	return r;
}

/* First answer short (argsz only), then the full one with @nfd fds. */
static void serve_region_info(struct fake *f, const struct full_info *r, unsigned nfd)
{
	struct full_info buf;
	struct vfu_hdr h;
	int fds[32];
	int len = f_recv(f, &h, &buf, sizeof(buf), NULL, NULL);

	FCHECK(f, len == 32 && buf.info.argsz == 32 && buf.info.index == 2);
	f_reply(f, &h, r, sizeof(r->info));
	len = f_recv(f, &h, &buf, sizeof(buf), NULL, NULL);
	FCHECK(f, len == 32 && buf.info.argsz == r->info.argsz);
	for (unsigned i = 0; i < nfd; i++)
		fds[i] = make_memfd(RSIZE);
	f_send(f, h.msg_id, h.cmd, VFU_F_TYPE_REPLY, 0, r, sizeof(*r), fds, nfd);
	for (unsigned i = 0; i < nfd; i++)
		close(fds[i]);
}

static void script_region_info(struct fake *f)
{
	struct full_info r = region2_info();

	serve_region_info(f, &r, 1);
	f_wait_eof(f);
}

static void test_region_info(void **state)
{
	struct vfu_client_region r;
	uint8_t *p;
	struct fake f;

	(void)state;
	fake_start(&f, script_region_info);
	assert_int_equal(vfu_client_get_region_info(f.c, 2, &r), 0);
	assert_int_equal(r.info.size, RSIZE);
	assert_true(r.sparse);
	assert_int_equal(r.nr_areas, 2);
	assert_int_equal(r.areas[1].offset, 8192);
	assert_int_equal(r.areas[1].size, 8192);
	assert_true(r.fd >= 0);
	assert_int_equal(vfu_client_region_mmap(&r, PROT_READ), 0);
	p = vfu_client_region_ptr(&r, 8192 + 5, 4);
	assert_non_null(p);
	assert_int_equal(p[0], (uint8_t)((8192 + 5) * 7));
	assert_null(vfu_client_region_ptr(&r, 4096, 4));    /* a hole */
	assert_null(vfu_client_region_ptr(&r, 4094, 4));    /* crosses an edge */
	vfu_client_region_release(&r);
	assert_int_equal(r.fd, -1);
	fake_finish(&f);
}

/* ---- errors, ids, timeouts ---- */

static void script_errors(struct fake *f)
{
	struct vfu_hdr h;
	int efd = eventfd(0, EFD_CLOEXEC);

	f_recv(f, &h, NULL, 0, NULL, NULL);
	f_send(f, h.msg_id, h.cmd, VFU_F_TYPE_REPLY | VFU_F_ERROR, EBUSY, NULL, 0, &efd, 1);
	f_recv(f, &h, NULL, 0, NULL, NULL);
	f_send(f, h.msg_id, h.cmd, VFU_F_TYPE_REPLY | VFU_F_ERROR, 0, NULL, 0, NULL, 0);
	f_recv(f, &h, NULL, 0, NULL, NULL);
	f_send(f, h.msg_id + 1, h.cmd, VFU_F_TYPE_REPLY, 0, NULL, 0, NULL, 0);
	f_recv(f, &h, NULL, 0, NULL, NULL);
	f_send(f, h.msg_id - 1, h.cmd, VFU_F_TYPE_REPLY, 0, NULL, 0, &efd, 1);
	f_recv(f, &h, NULL, 0, NULL, NULL);
	f_send(f, h.msg_id, VFU_CMD_DMA_MAP, VFU_F_TYPE_REPLY, 0, NULL, 0, NULL, 0);
	f_recv(f, &h, NULL, 0, NULL, NULL);
	f_send(f, h.msg_id, h.cmd, VFU_F_TYPE_COMMAND + 2, 0, NULL, 0, NULL, 0);
	f_recv(f, &h, NULL, 0, NULL, NULL);
	f_send(f, h.msg_id, h.cmd, VFU_F_TYPE_REPLY, 0, "xx", 2, &efd, 1);
	f_recv(f, &h, NULL, 0, NULL, NULL);
	f_send(f, h.msg_id, h.cmd, VFU_F_TYPE_REPLY, 0, NULL, 0, &efd, 1); /* unexpected fd */
	f_recv(f, &h, NULL, 0, NULL, NULL);
	f_reply(f, &h, NULL, 0);
	close(efd);
	f_wait_eof(f);
}

static void test_errors(void **state)
{
	struct fake f;
	int before = count_fds();

	(void)state;
	fake_start(&f, script_errors);
	assert_int_equal(vfu_client_reset(f.c), -EBUSY);
	assert_int_equal(vfu_client_reset(f.c), -EIO);      /* ERROR without errno */
	assert_int_equal(vfu_client_reset(f.c), -EPROTO);   /* msg_id mismatch */
	assert_int_equal(vfu_client_reset(f.c), -EPROTO);   /* same, with an fd */
	assert_int_equal(vfu_client_reset(f.c), -EPROTO);   /* cmd not echoed */
	assert_int_equal(vfu_client_reset(f.c), -EPROTO);   /* not a reply */
	assert_int_equal(vfu_client_reset(f.c), -EMSGSIZE); /* payload too big */
	assert_int_equal(vfu_client_reset(f.c), -EPROTO);   /* fd not expected */
	assert_int_equal(vfu_client_reset(f.c), 0);         /* still in step */
	fake_finish(&f);
	assert_int_equal(count_fds(), before);
}

static void script_silent(struct fake *f)
{
	struct vfu_hdr h0, h1;

	f_recv(f, &h0, NULL, 0, NULL, NULL);
	f_recv(f, &h1, NULL, 0, NULL, NULL);
	/* The late reply to the first request comes before the second. */
	f_reply(f, &h0, NULL, 0);
	f_reply(f, &h1, NULL, 0);
	f_wait_eof(f);
}

static void test_timeout(void **state)
{
	struct timespec a, b;
	struct fake f;
	long ms;

	(void)state;
	fake_start(&f, script_silent);
	vfu_client_set_timeout(f.c, 100);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(vfu_client_reset(f.c), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 90 && ms < 2000);
	/* The stale reply is skipped, the stream stays usable. */
	vfu_client_set_timeout(f.c, 2000);
	assert_int_equal(vfu_client_reset(f.c), 0);
	fake_finish(&f);
}

static void script_dead(struct fake *f)
{
	struct vfu_hdr h;

	f_recv(f, &h, NULL, 0, NULL, NULL);
	shutdown(f->fd, SHUT_RDWR);
}

static void test_server_gone(void **state)
{
	struct fake f;

	(void)state;
	fake_start(&f, script_dead);
	assert_int_equal(vfu_client_reset(f.c), -ECONNRESET);
	fake_finish(&f);
}

/* ---- fds are never leaked ---- */

static void script_fd_errors(struct fake *f)
{
	struct full_info r = region2_info();
	struct vfu_hdr h;
	int fds[20];

	serve_region_info(f, &r, 2);                    /* two fds: one too many */
	r.info.cap_offset = 8;                          /* cap inside the info */
	serve_region_info(f, &r, 1);
	r = region2_info();
	r.cap.header.next = 32;                         /* chain loops back */
	serve_region_info(f, &r, 1);
	r = region2_info();
	r.areas[1].size = RSIZE;                        /* area past the end */
	serve_region_info(f, &r, 1);
	r = region2_info();
	r.cap.nr_areas = 1000;                          /* more than the message */
	serve_region_info(f, &r, 1);
	/* 20 fds: more than the client's cmsg room, MSG_CTRUNC */
	f_recv(f, &h, NULL, 0, NULL, NULL);
	for (int i = 0; i < 20; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	f_send(f, h.msg_id, h.cmd, VFU_F_TYPE_REPLY, 0, NULL, 0, fds, 20);
	for (int i = 0; i < 20; i++)
		close(fds[i]);
	f_wait_eof(f);
}

static void test_fds_closed_on_error(void **state)
{
	struct vfu_client_region r;
	struct fake f;
	int before = count_fds();

	(void)state;
	fake_start(&f, script_fd_errors);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(vfu_client_get_region_info(f.c, 2, &r), -EPROTO);
		assert_int_equal(r.fd, -1);
		assert_null(r.areas);
	}
	assert_int_equal(vfu_client_reset(f.c), -EPROTO);
	fake_finish(&f);
	assert_int_equal(count_fds(), before);
}

/* ---- data path ---- */

static void script_data(struct fake *f)
{
	static uint8_t buf[8192];
	struct vfu_region_access *a = (void *)buf;
	struct vfu_region_write_multi *m = (void *)buf;
	struct vfu_hdr h;
	int len;

	serve_version(f, 0, server_caps);
	/* 10000 bytes at 100, in 4096-byte chunks */
	for (uint32_t want = 0; want < 10000; want += a->count) {
		len = f_recv(f, &h, buf, sizeof(buf), NULL, NULL);
		FCHECK(f, len == sizeof(*a) && h.cmd == VFU_CMD_REGION_READ);
		FCHECK(f, a->offset == 100 + want && a->region == 7);
		FCHECK(f, a->count == (10000 - want < 4096 ? 10000 - want : 4096));
		for (uint32_t i = 0; i < a->count; i++)
			a->data[i] = a->offset + i;
		f_reply(f, &h, buf, sizeof(*a) + a->count);
	}
	len = f_recv(f, &h, buf, sizeof(buf), NULL, NULL);
	FCHECK(f, h.cmd == VFU_CMD_REGION_WRITE && !(h.flags & VFU_F_NO_REPLY));
	FCHECK(f, len == sizeof(*a) + 4 && a->count == 4 && !memcmp(a->data, "wxyz", 4));
	f_reply(f, &h, buf, sizeof(*a));
	for (int i = 0; i < 2; i++) {
		len = f_recv(f, &h, buf, sizeof(buf), NULL, NULL);
		FCHECK(f, h.cmd == VFU_CMD_REGION_WRITE && (h.flags & VFU_F_NO_REPLY));
		FCHECK(f, len == (int)sizeof(*a) + (i ? 904 : 4096));
	}
	len = f_recv(f, &h, buf, sizeof(buf), NULL, NULL);
	FCHECK(f, h.cmd == VFU_CMD_REGION_WRITE_MULTI && (h.flags & VFU_F_NO_REPLY));
	FCHECK(f, len == 8 + 2 * 24 && m->wr_cnt == 2 && m->wrs[1].offset == 0x20);
	f_wait_eof(f);
}

static void test_region_access(void **state)
{
	static uint8_t buf[10000];
	struct vfu_write_multi_entry e[2] = {
		{ .offset = 0x10, .region = 0, .count = 4, .data = { 1, 2, 3, 4 } },
		{ .offset = 0x20, .region = 0, .count = 8 },
	};
	struct fake f;

	(void)state;
	fake_start(&f, script_data);
	assert_int_equal(vfu_client_negotiate(f.c, NULL), 0);
	assert_int_equal(vfu_client_region_read(f.c, 7, 100, buf, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], (uint8_t)(100 + i));
	assert_int_equal(vfu_client_region_write(f.c, 0, 0, "wxyz", 4), 0);
	assert_int_equal(vfu_client_region_write_posted(f.c, 0, 0, buf, 5000), 0);
	assert_int_equal(vfu_client_region_write_multi(f.c, e, 2), 0);
	assert_int_equal(vfu_client_region_write_multi(f.c, e, 0), -EINVAL);
	fake_finish(&f);
}

/* ---- server-initiated DMA and IRQ fds ---- */

static void script_dma(struct fake *f)
{
	uint8_t buf[64];
	struct vfu_dma_access *a = (void *)buf;
	struct vfu_dma_map *m = (void *)buf;
	struct vfu_irq_set *s = (void *)buf;
	struct vfu_hdr h, r;
	int fds[4];
	unsigned nfds = 4;
	int len;

	len = f_recv(f, &h, buf, sizeof(buf), fds, &nfds);
	FCHECK(f, h.cmd == VFU_CMD_DMA_MAP && len == sizeof(*m) && nfds == 0);
	FCHECK(f, m->addr == 0x10000 && m->size == 4096 && m->argsz == sizeof(*m));
	f_reply(f, &h, NULL, 0);
	f_recv(f, &h, buf, sizeof(buf), NULL, NULL);
	FCHECK(f, h.cmd == VFU_CMD_DEVICE_RESET);
	/* While the reset is pending, write and read the client's memory. */
	*a = (struct vfu_dma_access){ .addr = 0x10010, .count = 4 };
	memcpy(a->data, "abcd", 4);
	f_send(f, 7, VFU_CMD_DMA_WRITE, 0, 0, buf, sizeof(*a) + 4, NULL, 0);
	len = f_recv(f, &r, buf, sizeof(buf), NULL, NULL);
	FCHECK(f, len == sizeof(*a) && r.msg_id == 7 && r.flags == VFU_F_TYPE_REPLY);
	*a = (struct vfu_dma_access){ .addr = 0x10ffe, .count = 2 };
	f_send(f, 8, VFU_CMD_DMA_READ, 0, 0, buf, sizeof(*a), NULL, 0);
	len = f_recv(f, &r, buf, sizeof(buf), NULL, NULL);
	FCHECK(f, len == sizeof(*a) + 2 && a->data[0] == 0xfe && a->data[1] == 0xff);
	*a = (struct vfu_dma_access){ .addr = 0x10ffe, .count = 4 }; /* past the map */
	f_send(f, 9, VFU_CMD_DMA_READ, 0, 0, buf, sizeof(*a), NULL, 0);
	len = f_recv(f, &r, buf, sizeof(buf), NULL, NULL);
	FCHECK(f, len == 0 && (r.flags & VFU_F_ERROR) && r.error_no == EFAULT);
	f_send(f, 10, VFU_CMD_VERSION, 0, 0, NULL, 0, NULL, 0);
	len = f_recv(f, &r, buf, sizeof(buf), NULL, NULL);
	FCHECK(f, len == 0 && r.error_no == ENOTSUP && r.msg_id == 10);
	/* A DMA_WRITE carrying an fd is refused, the fd closed; NO_REPLY honoured. */
	fds[0] = eventfd(0, EFD_CLOEXEC);
	*a = (struct vfu_dma_access){ .addr = 0x10000, .count = 1 };
	f_send(f, 11, VFU_CMD_DMA_WRITE, 0, 0, buf, sizeof(*a) + 1, fds, 1);
	close(fds[0]);
	len = f_recv(f, &r, buf, sizeof(buf), NULL, NULL);
	FCHECK(f, len == 0 && r.error_no == EINVAL && r.msg_id == 11);
	*a = (struct vfu_dma_access){ .addr = 0x10000, .count = 1 };
	a->data[0] = 0x5a;
	f_send(f, 12, VFU_CMD_DMA_WRITE, VFU_F_NO_REPLY, 0, buf, sizeof(*a) + 1, NULL, 0);
	f_reply(f, &h, NULL, 0);
	/* SET_IRQS with two eventfds */
	nfds = 4;
	len = f_recv(f, &h, buf, sizeof(buf), fds, &nfds);
	FCHECK(f, h.cmd == VFU_CMD_DEVICE_SET_IRQS && len == sizeof(*s) && nfds == 2);
	FCHECK(f, s->argsz == sizeof(*s) && s->index == VFU_PCI_MSIX && s->count == 2);
	FCHECK(f, s->flags == (VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER));
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	f_reply(f, &h, NULL, 0);
	/* UNMAP ALL */
	len = f_recv(f, &h, buf, sizeof(buf), NULL, NULL);
	FCHECK(f, h.cmd == VFU_CMD_DMA_UNMAP && len == 24 && buf[4] == VFU_DMA_UNMAP_ALL);
	f_reply(f, &h, buf, len);
	f_wait_eof(f);
}

static void test_dma_and_irqs(void **state)
{
	static uint8_t mem[4096];
	int before = count_fds();
	int efd[2] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };
	struct fake f;

	(void)state;
	for (int i = 0; i < 4096; i++)
		mem[i] = i;
	fake_start(&f, script_dma);
	assert_int_equal(vfu_client_dma_map_local(f.c, 0x10000, 4096, -1, 0,
						  VFU_DMA_READ | VFU_DMA_WRITE, mem), 0);
	assert_int_equal(vfu_client_reset(f.c), 0);
	assert_memory_equal(mem + 0x10, "abcd", 4);
	assert_int_equal(mem[0], 0x5a);
	assert_int_equal(vfu_client_set_irqs(f.c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_EVENTFD |
					     VFU_IRQ_SET_ACTION_TRIGGER, 0, 2, efd, 2,
					     NULL, 0), 0);
	assert_int_equal(vfu_client_dma_unmap(f.c, 0, 0, VFU_DMA_UNMAP_ALL), 0);
	fake_finish(&f);
	close(efd[0]);
	close(efd[1]);
	assert_int_equal(count_fds(), before);
}

/*
 * The server refuses a DMA_UNMAP: the caller lends that memory no longer
 * all the same (upstream passthrough unmaps it right after), so a later
 * DMA_READ of it is refused, not served from memory that is gone.
 */
static void script_unmap_refused(struct fake *f)
{
	uint8_t buf[64];
	struct vfu_dma_access *a = (void *)buf;
	struct vfu_hdr h, r;
	int len;

	f_recv(f, &h, buf, sizeof(buf), NULL, NULL);
	FCHECK(f, h.cmd == VFU_CMD_DMA_MAP);
	f_reply(f, &h, NULL, 0);
	f_recv(f, &h, buf, sizeof(buf), NULL, NULL);
	FCHECK(f, h.cmd == VFU_CMD_DMA_UNMAP);
	f_send(f, h.msg_id, h.cmd, VFU_F_TYPE_REPLY | VFU_F_ERROR, EINVAL, NULL, 0, NULL, 0);
	f_recv(f, &h, buf, sizeof(buf), NULL, NULL);
	FCHECK(f, h.cmd == VFU_CMD_DEVICE_RESET);
	*a = (struct vfu_dma_access){ .addr = 0x10000, .count = 4 };
	f_send(f, 7, VFU_CMD_DMA_READ, 0, 0, buf, sizeof(*a), NULL, 0);
	len = f_recv(f, &r, buf, sizeof(buf), NULL, NULL);
	FCHECK(f, len == 0 && (r.flags & VFU_F_ERROR) && r.error_no == EFAULT);
	f_reply(f, &h, NULL, 0);
	f_wait_eof(f);
}

static void test_dma_unmap_refused(void **state)
{
	static uint8_t mem[4096] = "lent, then taken back";
	struct fake f;

	(void)state;
	fake_start(&f, script_unmap_refused);
	assert_int_equal(vfu_client_dma_map_local(f.c, 0x10000, 4096, -1, 0, VFU_DMA_READ, mem),
			 0);
	assert_int_equal(vfu_client_dma_unmap(f.c, 0x10000, 4096, 0), -EINVAL);
	assert_int_equal(vfu_client_reset(f.c), 0);
	fake_finish(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_version_bad),
		cmocka_unit_test(test_region_info),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_server_gone),
		cmocka_unit_test(test_fds_closed_on_error),
		cmocka_unit_test(test_region_access),
		cmocka_unit_test(test_dma_and_irqs),
		cmocka_unit_test(test_dma_unmap_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
