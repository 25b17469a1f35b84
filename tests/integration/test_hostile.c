// SPDX-License-Identifier: MIT
/*
 * Hostile clients: malformed, oversized, out-of-range and out-of-order
 * messages, stray fds. Each case expects the error reply with the right
 * errno where a reply is possible, or the session closed for input that
 * cannot be framed. it_teardown then checks that the daemon is alive, has
 * closed every fd it was sent, and serves a new client.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "devices/testdev/testdev.h"
#include "pci/config.h"
#include "vfio-user/dma.h" /* VFU_DMA_MAX_BYTES */

#define HDR sizeof(struct vfu_hdr)

/* ---- framing ---- */

static void test_truncated_header(void **state)
{
	struct itest *t = *state;
	uint8_t junk[7] = { 1, 0, 4, 0, 0x20, 0, 0 };

	assert_int_equal(vfu_client_send_raw(t->c, junk, sizeof(junk), NULL, 0), 0);
	/* Half a header is not an error yet: the daemon waits for the rest. */
	it_expect_silence(t->c, 100);
	it_close(t, t->c);
}

static void test_msg_size_too_small(void **state)
{
	struct itest *t = *state;

	it_send(t->c, VFU_CMD_DEVICE_GET_INFO, 0, HDR - 1, NULL, 0, NULL, 0);
	it_expect_closed(t->c);
	it_close(t, t->c);

	t->c = it_connect(t, 0, true);
	it_send(t->c, VFU_CMD_DEVICE_GET_INFO, 0, 0, NULL, 0, NULL, 0);
	it_expect_closed(t->c);
}

static void test_msg_size_too_large(void **state)
{
	struct itest *t = *state;
	int fd = it_memfd(4096);

	it_send(t->c, VFU_CMD_REGION_WRITE, 0, VFU_MAX_MSG_SIZE + 1, NULL, 0, &fd, 1);
	it_expect_closed(t->c);
	it_close(t, t->c);

	t->c = it_connect(t, 0, true);
	it_send(t->c, VFU_CMD_REGION_WRITE, 0, 0xffffffff, NULL, 0, NULL, 0);
	it_expect_closed(t->c);
	close(fd);
}

/* Half a message with an fd, then the client goes: the fd must not stay open. */
static void test_disconnect_mid_message(void **state)
{
	struct itest *t = *state;
	struct vfu_dma_map m = {
		.argsz = sizeof(m), .flags = VFU_DMA_READ, .addr = 0x100000, .size = 0x1000,
	};
	int fd = it_memfd(0x1000), efd = it_eventfd();

	it_send(t->c, VFU_CMD_DMA_MAP, 0, HDR + sizeof(m), &m, 10, &fd, 1);
	/* The daemon holds the fd while it waits for the rest. */
	it_assert_fds(t, 2);
	it_close(t, t->c);
	it_assert_fds(t, 0);

	/* A header alone promising a large body, fd attached. */
	t->c = it_connect(t, 0, true);
	it_send(t->c, VFU_CMD_REGION_WRITE, 0, VFU_MAX_MSG_SIZE, NULL, 0, &efd, 1);
	it_assert_fds(t, 2);
	it_close(t, t->c);
	it_assert_fds(t, 0);
	close(fd);
	close(efd);
}

/* Bytes trickling in one at a time still make messages. */
static void test_byte_by_byte(void **state)
{
	struct itest *t = *state;
	struct {
		struct vfu_hdr h;
		struct vfu_region_access a;
		uint32_t v;
	} __attribute__((packed)) msg = {
		.h = { .cmd = VFU_CMD_REGION_WRITE, .msg_size = sizeof(msg) },
		.a = { .offset = (TESTDEV_SCRATCH0 + 12), .region = VFU_PCI_BAR0, .count = 4 },
		.v = 0x13572468,
	};
	struct vfu_dma_map m = {
		.argsz = sizeof(m), .flags = VFU_DMA_READ | VFU_DMA_WRITE,
		.addr = 0x100000, .size = 0x1000,
	};
	struct vfu_hdr h = { .cmd = VFU_CMD_DMA_MAP, .msg_size = HDR + sizeof(m) };
	uint8_t buf[HDR + sizeof(m)];
	int fd = it_memfd(0x1000);

	msg.h.msg_id = vfu_client_take_id(t->c);
	for (size_t i = 0; i < sizeof(msg); i++) {
		assert_int_equal(vfu_client_send_raw(t->c, (uint8_t *)&msg + i, 1, NULL, 0), 0);
		usleep(1000);
	}
	assert_int_equal(it_expect_ok(t->c, msg.h.msg_id, VFU_CMD_REGION_WRITE, buf,
				      sizeof(buf)), sizeof(struct vfu_region_access));
	assert_int_equal(it_reg_read(t->c, (TESTDEV_SCRATCH0 + 12)), 0x13572468);

	/* An fd on the first byte of a message sent in two parts. */
	h.msg_id = vfu_client_take_id(t->c);
	memcpy(buf, &h, HDR);
	memcpy(buf + HDR, &m, sizeof(m));
	assert_int_equal(vfu_client_send_raw(t->c, buf, 5, &fd, 1), 0);
	usleep(10000);
	assert_int_equal(vfu_client_send_raw(t->c, buf + 5, sizeof(buf) - 5, NULL, 0), 0);
	it_expect_ok(t->c, h.msg_id, VFU_CMD_DMA_MAP, buf, sizeof(buf));
	/* Mapped, and the fd closed: a map holds no daemon fd. */
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, 0x1000);
	assert_int_equal(vfu_client_dma_unmap(t->c, 0x100000, 0x1000, 0), 0);
	it_assert_dma_mapped(t, 0);
	close(fd);
}

/* Many requests in one burst: every reply comes, in order. */
static void test_pipelined(void **state)
{
	struct itest *t = *state;
	struct vfu_region_access a = { .region = VFU_PCI_BAR0, .count = 4 };
	uint16_t ids[64];
	uint8_t buf[64];

	for (unsigned i = 0; i < 64; i++) {
		a.offset = i % 2 ? TESTDEV_ID : 0x804;
		ids[i] = it_send_cmd(t->c, VFU_CMD_REGION_READ, 0, &a, sizeof(a), NULL, 0);
	}
	for (unsigned i = 0; i < 64; i++) {
		uint32_t v;

		assert_int_equal(it_expect_ok(t->c, ids[i], VFU_CMD_REGION_READ, buf,
					      sizeof(buf)), sizeof(a) + 4);
		memcpy(&v, buf + sizeof(a), 4);
		assert_int_equal(v, i % 2 ? TESTDEV_ID_VALUE : 0);
	}
}

/* ---- sizes ---- */

/* msg_size (and so the payload) shorter than the command's fixed part. */
static void test_short_payloads(void **state)
{
	struct itest *t = *state;
	uint8_t zero[64] = { 0 };
	struct vfu_region_access a = { .offset = TESTDEV_SCRATCH0, .region = 0, .count = 8 };
	uint8_t wr[sizeof(a) + 4];

	it_call_error(t->c, VFU_CMD_REGION_READ, zero, 8, NULL, 0, EINVAL);
	it_call_error(t->c, VFU_CMD_REGION_WRITE, zero, 15, NULL, 0, EINVAL);
	it_call_error(t->c, VFU_CMD_DMA_MAP, zero, 16, NULL, 0, EINVAL);
	it_call_error(t->c, VFU_CMD_DMA_UNMAP, zero, 20, NULL, 0, EINVAL);
	it_call_error(t->c, VFU_CMD_DEVICE_GET_INFO, zero, 0, NULL, 0, EINVAL);
	it_call_error(t->c, VFU_CMD_DEVICE_GET_INFO, zero, 12, NULL, 0, EINVAL);
	it_call_error(t->c, VFU_CMD_DEVICE_GET_REGION_INFO, zero, 16, NULL, 0, EINVAL);
	it_call_error(t->c, VFU_CMD_DEVICE_GET_IRQ_INFO, zero, 8, NULL, 0, EINVAL);
	it_call_error(t->c, VFU_CMD_DEVICE_SET_IRQS, zero, 12, NULL, 0, EINVAL);
	it_call_error(t->c, VFU_CMD_REGION_WRITE_MULTI, zero, 4, NULL, 0, EINVAL);
	/* A write whose data is shorter than its count. */
	memcpy(wr, &a, sizeof(a));
	memset(wr + sizeof(a), 0x77, 4);
	it_call_error(t->c, VFU_CMD_REGION_WRITE, wr, sizeof(wr), NULL, 0, EINVAL);
	/* And longer: a read carrying data, a write with data past its count. */
	a.count = 4;
	memcpy(wr, &a, sizeof(a));
	it_call_error(t->c, VFU_CMD_REGION_READ, wr, sizeof(wr), NULL, 0, EINVAL);
	a.count = 2;
	memcpy(wr, &a, sizeof(a));
	it_call_error(t->c, VFU_CMD_REGION_WRITE, wr, sizeof(wr), NULL, 0, EINVAL);
	/* RESET takes no payload. */
	it_call_error(t->c, VFU_CMD_DEVICE_RESET, zero, 4, NULL, 0, EINVAL);
	/* None of it wrote anything. */
	assert_int_equal(it_reg_read(t->c, TESTDEV_SCRATCH0), 0);
}

static void test_oversized_counts(void **state)
{
	struct itest *t = *state;
	struct vfu_region_access a = { .region = 2, .offset = 0, .count = 8192 };
	static struct {
		uint64_t wr_cnt;
		struct vfu_write_multi_entry e[201];
	} __attribute__((packed)) mbuf;
	static uint8_t big[sizeof(struct vfu_region_access) + 4096];
	typeof(mbuf) *m = &mbuf;
	struct vfu_irq_set s = {
		.argsz = sizeof(s), .flags = VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER,
		.index = VFU_PCI_MSIX, .start = 0, .count = 0xffffffff,
	};
	uint16_t id;

	memset(m, 0, sizeof(*m));
	/* Negotiate a 4 KiB transfer size: 8 KiB of BAR2 is then too much. */
	it_close(t, t->c);
	t->c = it_connect(t, 0, false);
	assert_int_equal(vfu_client_negotiate(t->c, "{\"capabilities\":"
					      "{\"max_data_xfer_size\":4096}}"), 0);
	assert_int_equal(vfu_client_caps(t->c)->max_data_xfer_size, 4096);
	it_call_error(t->c, VFU_CMD_REGION_READ, &a, sizeof(a), NULL, 0, EINVAL);
	a.count = 4096;
	id = it_send_cmd(t->c, VFU_CMD_REGION_READ, 0, &a, sizeof(a), NULL, 0);
	assert_int_equal(it_expect_ok(t->c, id, VFU_CMD_REGION_READ, big, sizeof(big)),
			 sizeof(big));
	a.count = 0;
	it_call_error(t->c, VFU_CMD_REGION_READ, &a, sizeof(a), NULL, 0, EINVAL);
	a.count = 0xffffffff;
	it_call_error(t->c, VFU_CMD_REGION_READ, &a, sizeof(a), NULL, 0, EINVAL);
	/* Above the protocol maximum whatever was negotiated. */
	a.region = VFU_PCI_CONFIG;
	a.count = VFU_MAX_DATA_XFER + 1;
	it_call_error(t->c, VFU_CMD_REGION_READ, &a, sizeof(a), NULL, 0, EINVAL);

	/* WRITE_MULTI with 201 entries (all valid scratch writes). */
	for (unsigned i = 0; i < 201; i++) {
		m->e[i].offset = TESTDEV_SCRATCH0;
		m->e[i].region = VFU_PCI_BAR0;
		m->e[i].count = 4;
		memcpy(m->e[i].data, &(uint32_t){ 0xbad }, 4);
	}
	m->wr_cnt = 201;
	it_call_error(t->c, VFU_CMD_REGION_WRITE_MULTI, m, sizeof(*m), NULL, 0, EINVAL);
	/* The same posted: no reply, nothing written. */
	it_send_cmd(t->c, VFU_CMD_REGION_WRITE_MULTI, VFU_F_NO_REPLY, m, sizeof(*m), NULL, 0);
	/* wr_cnt disagreeing with the payload, huge, zero. */
	m->wr_cnt = 200;
	it_call_error(t->c, VFU_CMD_REGION_WRITE_MULTI, m, sizeof(*m), NULL, 0, EINVAL);
	m->wr_cnt = 1ull << 62;
	it_call_error(t->c, VFU_CMD_REGION_WRITE_MULTI, m, 8 + 24, NULL, 0, EINVAL);
	m->wr_cnt = 0;
	it_call_error(t->c, VFU_CMD_REGION_WRITE_MULTI, m, 8, NULL, 0, EINVAL);
	/* An entry with count 9; one valid entry before a bad one applies nothing. */
	m->wr_cnt = 2;
	m->e[1].count = 9;
	it_call_error(t->c, VFU_CMD_REGION_WRITE_MULTI, m, 8 + 2 * 24, NULL, 0, EINVAL);
	m->e[1].count = 4;
	m->e[1].offset = 0x1000;
	it_call_error(t->c, VFU_CMD_REGION_WRITE_MULTI, m, 8 + 2 * 24, NULL, 0, EINVAL);
	m->e[1].offset = 0;
	m->e[1].region = 9;
	it_call_error(t->c, VFU_CMD_REGION_WRITE_MULTI, m, 8 + 2 * 24, NULL, 0, EINVAL);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SCRATCH0), 0);

	/* SET_IRQS with a huge count. */
	it_call_error(t->c, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), NULL, 0, EINVAL);
	s.flags = VFU_IRQ_SET_DATA_BOOL | VFU_IRQ_SET_ACTION_TRIGGER;
	it_call_error(t->c, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), NULL, 0, EINVAL);
	s.flags = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER;
	s.count = 9;
	it_call_error(t->c, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), NULL, 0, EINVAL);
}

static void read_error(struct vfu_client *c, uint32_t region, uint64_t off, uint32_t count)
{
	struct vfu_region_access a = { .offset = off, .region = region, .count = count };

	it_call_error(c, VFU_CMD_REGION_READ, &a, sizeof(a), NULL, 0, EINVAL);
}

static void write_error(struct vfu_client *c, uint32_t region, uint64_t off, uint32_t count)
{
	uint8_t buf[sizeof(struct vfu_region_access) + 16] = { 0 };
	struct vfu_region_access a = { .offset = off, .region = region, .count = count };

	assert_true(count <= 16);
	memcpy(buf, &a, sizeof(a));
	it_call_error(c, VFU_CMD_REGION_WRITE, buf, sizeof(a) + count, NULL, 0, EINVAL);
}

static void test_region_ranges(void **state)
{
	struct itest *t = *state;

	read_error(t->c, VFU_PCI_BAR0, 0x1000, 4);
	read_error(t->c, VFU_PCI_BAR0, 0xffc, 8);
	read_error(t->c, VFU_PCI_BAR0, 0xfffffffffffffffcull, 8);  /* wraps to 4 */
	read_error(t->c, VFU_PCI_BAR0, UINT64_MAX, 1);
	read_error(t->c, 2, 0x4000 - 4, 8);
	read_error(t->c, 2, 0xfffffffffffff000ull, 0x2000);
	read_error(t->c, VFU_PCI_CONFIG, 4096, 1);
	read_error(t->c, VFU_PCI_CONFIG, 4095, 2);
	read_error(t->c, VFU_PCI_CONFIG, 0xffffffffffffffffull, 2);
	write_error(t->c, VFU_PCI_BAR0, 0x1000, 4);
	write_error(t->c, VFU_PCI_BAR0, 0xfffffffffffffffcull, 8);
	write_error(t->c, 2, 0xfffffffffffffff8ull, 16);
	write_error(t->c, VFU_PCI_CONFIG, 4094, 4);
	/* Unknown and unimplemented regions. */
	read_error(t->c, 9, 0, 4);
	read_error(t->c, 0xffffffff, 0, 4);
	for (uint32_t r = 3; r <= 6; r++)
		read_error(t->c, r, 0, 4);
	read_error(t->c, VFU_PCI_VGA, 0, 4);
	write_error(t->c, 9, 0, 4);
	write_error(t->c, 5, 0, 4);
	/* The edges themselves are fine. */
	{
		uint32_t v;

		assert_int_equal(vfu_client_region_read(t->c, VFU_PCI_BAR0, 0xffc, &v, 4), 0);
		assert_int_equal(vfu_client_region_read(t->c, VFU_PCI_CONFIG, 4092, &v, 4), 0);
		assert_int_equal(vfu_client_region_read(t->c, 2, 0x3ffc, &v, 4), 0);
		assert_int_equal(v, TESTDEV_SHM_PATTERN + 0xfff);
	}
}

static void test_argsz_tricks(void **state)
{
	struct itest *t = *state;
	struct vfu_region_info ri = { .argsz = 31, .index = 2 };
	struct vfu_device_info di = { .argsz = 15 };
	struct vfu_irq_info ii = { .argsz = 0, .index = VFU_PCI_MSIX };
	struct vfu_dma_unmap u = { .argsz = 0xffffffff, .addr = 0x100000, .size = 0x1000 };
	struct vfu_dma_map m = { .argsz = 0, .flags = VFU_DMA_READ, .addr = 0x100000,
				 .size = 0x1000 };
	uint8_t buf[256], ub[sizeof(u) + 8] = { 0 };
	struct vfu_region_info *info = (void *)buf;
	int fds[2];
	unsigned nfds = 2;
	size_t len;

	it_call_error(t->c, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, EINVAL);
	ri.argsz = 0;
	it_call_error(t->c, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, EINVAL);
	/* A huge argsz: the reply is what the region needs, not argsz bytes. */
	ri.argsz = 0xffffffff;
	assert_int_equal(vfu_client_call(t->c, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri),
					 NULL, 0, buf, sizeof(buf), &len, fds, &nfds), 0);
	assert_int_equal(len, 32 + 16 + 2 * 16);
	assert_int_equal(info->argsz, len);
	assert_int_equal(nfds, 1);
	close(fds[0]);
	ri.index = 0;
	nfds = 2;
	assert_int_equal(vfu_client_call(t->c, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri),
					 NULL, 0, buf, sizeof(buf), &len, fds, &nfds), 0);
	assert_int_equal(len, 32);
	assert_int_equal(nfds, 0);
	/* Unknown index. */
	ri.index = 9;
	it_call_error(t->c, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, EINVAL);
	ri.index = 0xffffffff;
	it_call_error(t->c, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, EINVAL);

	it_call_error(t->c, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), NULL, 0, EINVAL);
	di.argsz = 0xffffffff;
	assert_int_equal(vfu_client_call(t->c, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), NULL,
					 0, buf, sizeof(buf), &len, NULL, NULL), 0);
	assert_int_equal(len, sizeof(di));
	it_call_error(t->c, VFU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), NULL, 0, EINVAL);
	ii.argsz = sizeof(ii);
	ii.index = 5;
	it_call_error(t->c, VFU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), NULL, 0, EINVAL);

	/* DMA_UNMAP: a huge argsz must not drive an allocation or a long reply. */
	it_call_error(t->c, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, EINVAL);
	u.argsz = sizeof(u) + 8;
	memcpy(ub, &u, sizeof(u));
	it_call_error(t->c, VFU_CMD_DMA_UNMAP, ub, sizeof(ub), NULL, 0, EINVAL);
	u.argsz = 8;
	it_call_error(t->c, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, EINVAL);
	it_call_error(t->c, VFU_CMD_DMA_MAP, &m, sizeof(m), NULL, 0, EINVAL);
	m.argsz = 0xffffffff;
	it_call_error(t->c, VFU_CMD_DMA_MAP, &m, sizeof(m), NULL, 0, EINVAL);
	/* SET_IRQS argsz not matching the message. */
	{
		struct vfu_irq_set s = {
			.argsz = 0xffffffff,
			.flags = VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER,
			.index = VFU_PCI_MSIX, .start = 0, .count = 1,
		};

		it_call_error(t->c, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), NULL, 0, EINVAL);
		s.argsz = sizeof(s) - 1;
		it_call_error(t->c, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), NULL, 0, EINVAL);
	}
}

/* ---- protocol order ---- */

static void test_before_version(void **state)
{
	struct itest *t = *state;
	struct vfu_device_info di = { .argsz = sizeof(di) };
	struct vfu_region_access a = { .offset = 0, .region = 0, .count = 4 };
	struct vfu_dma_map m = { .argsz = sizeof(m), .flags = VFU_DMA_READ, .addr = 0x100000,
				 .size = 0x1000 };
	int fd = it_memfd(0x1000);

	it_call_error(t->c, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), NULL, 0, EINVAL);
	it_call_error(t->c, VFU_CMD_REGION_READ, &a, sizeof(a), NULL, 0, EINVAL);
	it_call_error(t->c, VFU_CMD_DEVICE_RESET, NULL, 0, NULL, 0, EINVAL);
	it_call_error(t->c, VFU_CMD_DMA_MAP, &m, sizeof(m), &fd, 1, EINVAL);
	/* The fd of the refused map is not kept. */
	it_assert_fds(t, 1);
	/* VERSION still works, then everything else. */
	assert_int_equal(vfu_client_negotiate(t->c, NULL), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
	/* The refused map did not happen. */
	it_assert_dma_free(t->c, 0x100000, 0x1000);
	close(fd);
}

static void test_version_twice(void **state)
{
	struct itest *t = *state;

	assert_int_equal(vfu_client_negotiate(t->c, NULL), -EINVAL);
	assert_int_equal(vfu_client_negotiate(t->c, "{}"), -EINVAL);
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
}

static void version_error(struct vfu_client *c, uint16_t major, const void *json, size_t len,
			  const int *fds, unsigned nfds, int err)
{
	uint8_t buf[4 + 8192];

	assert_true(len <= sizeof(buf) - 4);
	memcpy(buf, &major, 2);
	memset(buf + 2, 0, 2);
	memcpy(buf + 4, json, len);
	it_call_error(c, VFU_CMD_VERSION, buf, 4 + len, fds, nfds, err);
}

#define VJSON(s) s, sizeof(s)

static void test_version_bad_json(void **state)
{
	struct itest *t = *state;
	static const char no_nul[] = "{\"capabilities\":{}}";
	static char big[5000];
	int efd = it_eventfd();

	version_error(t->c, 0, no_nul, sizeof(no_nul) - 1, NULL, 0, EINVAL);
	version_error(t->c, 0, "", 0, NULL, 0, EINVAL);
	version_error(t->c, 0, VJSON("{\"capabilities\":"), NULL, 0, EINVAL);
	version_error(t->c, 0, VJSON("not json at all"), NULL, 0, EINVAL);
	version_error(t->c, 0, VJSON("[1,2,3]"), NULL, 0, EINVAL);
	version_error(t->c, 0, VJSON("{\"capabilities\":7}"), NULL, 0, EINVAL);
	version_error(t->c, 0, VJSON("{\"capabilities\":{\"max_data_xfer_size\":100}}"),
		      NULL, 0, EINVAL);
	version_error(t->c, 0, VJSON("{\"capabilities\":{\"max_data_xfer_size\":\"big\"}}"),
		      NULL, 0, EINVAL);
	version_error(t->c, 0, VJSON("{\"capabilities\":{\"max_data_xfer_size\":-1}}"),
		      NULL, 0, EINVAL);
	version_error(t->c, 0, VJSON("{\"capabilities\":{\"pgsizes\":8192}}"), NULL, 0,
		      ENOTSUP);
	version_error(t->c, 0, VJSON("{\"capabilities\":{\"pgsizes\":\"4k\"}}"), NULL, 0,
		      EINVAL);
	/* Wrong major. */
	version_error(t->c, 1, VJSON("{}"), NULL, 0, ENOTSUP);
	/* An fd with VERSION. */
	version_error(t->c, 0, VJSON("{}"), &efd, 1, EINVAL);
	/* JSON longer than 4 KiB. */
	memset(big, ' ', 4999);
	big[0] = '{';
	big[4997] = '}';
	big[4999] = '\0';
	version_error(t->c, 0, big, 5000, NULL, 0, EINVAL);
	/* A NUL in the middle: the JSON ends there. */
	version_error(t->c, 0, VJSON("{\"capa\0bilities\":{}}"), NULL, 0, EINVAL);
	it_assert_fds(t, 1);

	/* None of it negotiated anything: a good VERSION works now. */
	assert_int_equal(vfu_client_negotiate(t->c, NULL), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
	close(efd);
}

/* ---- DMA ---- */

static void map_error(struct vfu_client *c, uint64_t addr, uint64_t size, uint64_t off,
		      uint32_t flags, const int *fds, unsigned nfds, int err)
{
	struct vfu_dma_map m = {
		.argsz = sizeof(m), .flags = flags, .offset = off, .addr = addr, .size = size,
	};

	it_call_error(c, VFU_CMD_DMA_MAP, &m, sizeof(m), fds, nfds, err);
}

static void test_dma_overlaps(void **state)
{
	struct itest *t = *state;
	const uint64_t b = 0x100000, s = 0x4000;
	const uint32_t rw = VFU_DMA_READ | VFU_DMA_WRITE;
	int fd = it_memfd(0x10000);

	assert_int_equal(vfu_client_dma_map(t->c, b, s, fd, 0, rw), 0);
	/* A map holds no daemon fd, only the mapping. */
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, s);
	map_error(t->c, b, s, 0, rw, &fd, 1, EEXIST);                  /* identical */
	map_error(t->c, b - 0x1000, 0x2000, 0, rw, &fd, 1, EEXIST);    /* over the start */
	map_error(t->c, b + s - 0x1000, 0x2000, 0, rw, &fd, 1, EEXIST); /* over the end */
	map_error(t->c, b + 0x1000, 0x1000, 0, rw, &fd, 1, EEXIST);    /* inside */
	map_error(t->c, b - 0x1000, s + 0x2000, 0, rw, &fd, 1, EEXIST); /* around */
	map_error(t->c, b, 0x1000, 0, rw, NULL, 0, EEXIST);             /* without fd */
	/* Every refused fd was closed, nothing more mapped. */
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, s);
	/* Adjacent on both sides is fine. */
	assert_int_equal(vfu_client_dma_map(t->c, b - 0x1000, 0x1000, fd, 0, rw), 0);
	assert_int_equal(vfu_client_dma_map(t->c, b + s, 0x1000, -1, 0, rw), 0);
	/* A map over two existing ones. */
	map_error(t->c, b - 0x1000, s + 0x2000, 0, rw, NULL, 0, EEXIST);
	map_error(t->c, b + s - 0x1000, 0x2000, 0, rw, &fd, 1, EEXIST);
	/* The two maps with fd are mapped; no fd is held for either. */
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, s + 0x1000);
	close(fd);
}

static void test_dma_bad_maps(void **state)
{
	struct itest *t = *state;
	const uint32_t rw = VFU_DMA_READ | VFU_DMA_WRITE;
	int fd = it_memfd(0x4000), efd = it_eventfd(), pfd[2];

	assert_int_equal(pipe(pfd), 0);
	/* Unaligned address, size, offset; empty; wrapping. */
	map_error(t->c, 0x100800, 0x1000, 0, rw, &fd, 1, EINVAL);
	map_error(t->c, 0x100000, 0x1800, 0, rw, &fd, 1, EINVAL);
	map_error(t->c, 0x100000, 0x1000, 0x800, rw, &fd, 1, EINVAL);
	map_error(t->c, 0x100000, 0, 0, rw, &fd, 1, EINVAL);
	map_error(t->c, 0xfffffffffffff000ull, 0x2000, 0, rw, &fd, 1, EINVAL);
	map_error(t->c, 0x100000, 0x1000, 0xfffffffffffff000ull, rw, &fd, 1, EINVAL);
	map_error(t->c, 0x100000, 0x1000, 0, 0x4, &fd, 1, EINVAL);
	/* The memfd is smaller than offset + size. */
	map_error(t->c, 0x100000, 0x8000, 0, rw, &fd, 1, EINVAL);
	map_error(t->c, 0x100000, 0x1000, 0x4000, rw, &fd, 1, EINVAL);
	map_error(t->c, 0x100000, 0x2000, 0x3000, rw, &fd, 1, EINVAL);
	map_error(t->c, 0x100000, 0x1000, 0x7ffffffffffff000ull, rw, &fd, 1, EINVAL);
	/* Backing that is not a regular file. */
	map_error(t->c, 0x100000, 0x1000, 0, rw, &efd, 1, EINVAL);
	map_error(t->c, 0x100000, 0x1000, 0, rw, &pfd[0], 1, EINVAL);
	it_assert_fds(t, 1);
	/* Nothing was mapped. */
	it_assert_dma_mapped(t, 0);
	it_assert_dma_free(t->c, 0x100000, 0x1000);
	/* The edge of the memfd is fine (mapped, its fd closed). */
	assert_int_equal(vfu_client_dma_map(t->c, 0x100000, 0x1000, fd, 0x3000, rw), 0);
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, 0x1000);
	close(fd);
	close(efd);
	close(pfd[0]);
	close(pfd[1]);
}

/*
 * Only memory file systems may back a map: a page of a file on disk can
 * stall the device thread on every access. /var/tmp is normally on disk.
 */
static void test_dma_disk_file(void **state)
{
	struct itest *t = *state;
	const uint32_t rw = VFU_DMA_READ | VFU_DMA_WRITE;
	char path[] = "/var/tmp/iomed-it.XXXXXX";
	struct statfs fs;
	int fd = mkstemp(path), dir;

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, 0x4000), 0);
	assert_int_equal(fstatfs(fd, &fs), 0);
	if (fs.f_type == TMPFS_MAGIC || fs.f_type == HUGETLBFS_MAGIC) {
		close(fd);
		skip(); /* /var/tmp is a memory file system here: nothing to test */
	}
	map_error(t->c, 0x100000, 0x4000, 0, rw, &fd, 1, EINVAL);
	map_error(t->c, 0x100000, 0x1000, 0x1000, VFU_DMA_READ, &fd, 1, EINVAL);
	/* Not a regular file at all: a directory. */
	dir = open("/var/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dir >= 0);
	map_error(t->c, 0x100000, 0x1000, 0, VFU_DMA_READ, &dir, 1, EINVAL);
	/* Refused fds closed, nothing mapped. */
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, 0);
	it_assert_dma_free(t->c, 0x100000, 0x4000);
	close(fd);
	close(dir);
}

/* At most VFU_DMA_MAX_BYTES (1 TiB) mapped per device, with fd or without. */
static void test_dma_max_bytes(void **state)
{
	struct itest *t = *state;
	const uint64_t half = VFU_DMA_MAX_BYTES / 2, base = 0x1000000000ull;
	int fd = it_memfd(half); /* sparse: costs no memory until touched */

	assert_int_equal(vfu_client_dma_map(t->c, base, half, fd, 0, VFU_DMA_READ), 0);
	assert_int_equal(vfu_client_dma_map(t->c, base + half, half, fd, 0, VFU_DMA_READ), 0);
	it_assert_dma_mapped(t, 2 * half);
	/* Full: another 512 GiB, or a single page, with or without fd. */
	assert_int_equal(vfu_client_dma_map(t->c, base + 2 * half, half, fd, 0, VFU_DMA_READ),
			 -ENOSPC);
	assert_int_equal(vfu_client_dma_map(t->c, base + 2 * half, 0x1000, fd, 0,
					    VFU_DMA_READ), -ENOSPC);
	assert_int_equal(vfu_client_dma_map(t->c, 0x1000, 0x1000, -1, 0, VFU_DMA_READ),
			 -ENOSPC);
	/* The refused fds were closed, the limit took nothing away. */
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, 2 * half);
	/* Unmapping gives the room back. */
	assert_int_equal(vfu_client_dma_unmap(t->c, base, half, 0), 0);
	assert_int_equal(vfu_client_dma_map(t->c, base + 2 * half, half, fd, 0, VFU_DMA_READ),
			 0);
	it_assert_dma_mapped(t, 2 * half);
	assert_int_equal(vfu_client_dma_map(t->c, 0x1000, 0x1000, -1, 0, VFU_DMA_READ),
			 -ENOSPC);
	assert_int_equal(vfu_client_dma_unmap(t->c, 0, 0, VFU_DMA_UNMAP_ALL), 0);
	it_assert_dma_mapped(t, 0);
	/* UNMAP_ALL gave all of it back. */
	assert_int_equal(vfu_client_dma_map(t->c, base, half, fd, 0, VFU_DMA_READ), 0);
	assert_int_equal(vfu_client_dma_map(t->c, base + half, half, fd, 0, VFU_DMA_READ), 0);
	close(fd);
}

/*
 * DMA_UNMAP follows VFIO type1 v2 (docs/vfio-user-server.md): a range may
 * cover several maps or none, but one that would cut a map is refused with
 * EINVAL and removes nothing.
 */
static void test_dma_unmap_ranges(void **state)
{
	struct itest *t = *state;
	const uint64_t b = 0x100000, s = 0x4000;
	struct vfu_dma_unmap u = { .argsz = sizeof(u), .flags = VFU_DMA_UNMAP_ALL, .addr = b };
	int fd = it_memfd(s);

	assert_int_equal(vfu_client_dma_map(t->c, b, s, fd, 0, VFU_DMA_READ), 0);
	/* Mapped; the daemon closed the fd. */
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, s);
	/* Cutting the map anywhere. */
	assert_int_equal(vfu_client_dma_unmap(t->c, b, 0x1000, 0), -EINVAL);
	assert_int_equal(vfu_client_dma_unmap(t->c, b + 0x1000, 0x1000, 0), -EINVAL);
	assert_int_equal(vfu_client_dma_unmap(t->c, b + 0x1000, s - 0x1000, 0), -EINVAL);
	assert_int_equal(vfu_client_dma_unmap(t->c, b - 0x1000, 0x2000, 0), -EINVAL);
	assert_int_equal(vfu_client_dma_unmap(t->c, b + s - 0x1000, 0x2000, 0), -EINVAL);
	/* Ranges that cannot be ranges. */
	assert_int_equal(vfu_client_dma_unmap(t->c, b, 0, 0), -EINVAL);
	assert_int_equal(vfu_client_dma_unmap(t->c, UINT64_MAX - 0xfff, 0x2000, 0), -EINVAL);
	assert_int_equal(vfu_client_dma_unmap(t->c, 0x2000, UINT64_MAX, 0), -EINVAL);
	/* UNMAP_ALL with a range, unknown flags. */
	it_call_error(t->c, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, EINVAL);
	u.flags = 0x4;
	u.size = s;
	it_call_error(t->c, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, EINVAL);
	/* An fd with DMA_UNMAP. */
	u.flags = 0;
	it_call_error(t->c, VFU_CMD_DMA_UNMAP, &u, sizeof(u), &fd, 1, EINVAL);
	/* Ranges next to it cover nothing: fine, nothing removed. */
	assert_int_equal(vfu_client_dma_unmap(t->c, b + s, s, 0), 0);
	assert_int_equal(vfu_client_dma_unmap(t->c, 0, b, 0), 0);
	/* The map is intact through all of it (and the refused fd closed). */
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, s);
	assert_int_equal(vfu_client_dma_map(t->c, b, 0x1000, -1, 0, VFU_DMA_READ), -EEXIST);
	/* A range around it removes it. */
	assert_int_equal(vfu_client_dma_unmap(t->c, b - 0x1000, s + 0x2000, 0), 0);
	it_assert_dma_mapped(t, 0);
	it_assert_dma_free(t->c, b, s);
	close(fd);
}

/*
 * The client shrinks a memfd after the daemon mapped it: touching the
 * mapping past the new end raises SIGBUS in whoever touches it.
 */
static void test_dma_memfd_shrunk(void **state)
{
	struct itest *t = *state;
	int fd = it_memfd(0x4000), mfd = it_memfd(0x1000);

	assert_int_equal(vfu_client_dma_map(t->c, 0x100000, 0x4000, fd, 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	assert_int_equal(vfu_client_dma_map(t->c, 0x200000, 0x1000, mfd, 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	it_cfg_command(t->c, PCI_COMMAND_MASTER, true);
	assert_int_equal(ftruncate(fd, 0), 0);
	it_reg_write(t->c, TESTDEV_DMA_SRC_LO, 0x100000);
	it_reg_write(t->c, TESTDEV_DMA_DST_LO, 0x200000);
	it_reg_write(t->c, TESTDEV_DMA_LEN, 64);
	it_reg_write(t->c, TESTDEV_DMA_CMD, TESTDEV_DMA_CMD_START);
	/* The daemon must survive; the DMA may fail. */
	assert_true(test_daemon_alive(&t->d));
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
	assert_int_equal(it_reg_read(t->c, TESTDEV_DMA_STATUS),
			 TESTDEV_DMA_STATUS_ERROR | EFAULT);
	close(fd);
	close(mfd);
}

static void test_dma_too_many_maps(void **state)
{
	struct itest *t = *state;
	const unsigned max = vfu_client_caps(t->c)->max_dma_maps;
	struct vfu_dma_map m = { .argsz = sizeof(m), .flags = VFU_DMA_READ, .size = 0x1000 };
	unsigned i;

	assert_int_equal(max, 65535);
	/* Posted in bulk, then one synchronous call to catch up. */
	for (i = 0; i < max; i++) {
		m.addr = (uint64_t)(i + 1) << 12;
		assert_int_equal(vfu_client_post(t->c, VFU_CMD_DMA_MAP, &m, sizeof(m), NULL, 0),
				 0);
	}
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
	assert_int_equal(vfu_client_dma_map(t->c, 0x100000000ull, 0x1000, -1, 0, VFU_DMA_READ),
			 -ENOSPC);
	assert_int_equal(vfu_client_dma_unmap(t->c, 0x1000, 0x1000, 0), 0);
	assert_int_equal(vfu_client_dma_map(t->c, 0x100000000ull, 0x1000, -1, 0, VFU_DMA_READ),
			 0);
	assert_int_equal(vfu_client_dma_unmap(t->c, 0, 0, VFU_DMA_UNMAP_ALL), 0);
}

/* ---- interrupts ---- */

static void irqs_error(struct vfu_client *c, uint32_t index, uint32_t flags, uint32_t start,
		       uint32_t count, const int *fds, unsigned nfds, const void *data,
		       size_t len)
{
	assert_int_equal(vfu_client_set_irqs(c, index, flags, start, count, fds, nfds, data, len),
			 -EINVAL);
}

static void test_set_irqs_bad(void **state)
{
	struct itest *t = *state;
	const uint32_t none_trig = VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER;
	const uint32_t efd_trig = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER;
	uint8_t bools[4] = { 1, 1, 1, 1 };
	int efd = it_eventfd();

	irqs_error(t->c, VFU_PCI_MSIX, none_trig, 0xffffffff, 2, NULL, 0, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSIX, none_trig, 0xffffffff, 1, NULL, 0, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSIX, efd_trig, 0xffffffff, 2, &efd, 1, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSIX, none_trig, 7, 2, NULL, 0, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSIX, none_trig, 8, 1, NULL, 0, NULL, 0);
	irqs_error(t->c, VFU_PCI_INTX, none_trig, 1, 1, NULL, 0, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSI, efd_trig, 0, 1, &efd, 1, NULL, 0); /* no MSI vectors */
	irqs_error(t->c, 5, none_trig, 0, 1, NULL, 0, NULL, 0);
	irqs_error(t->c, 0xffffffff, none_trig, 0, 1, NULL, 0, NULL, 0);
	/* Not exactly one data type and one action. */
	irqs_error(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_DATA_BOOL |
		   VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, NULL, 0, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_MASK |
		   VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, NULL, 0, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, NULL, 0, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_NONE, 0, 1, NULL, 0, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSIX, none_trig | 0x40, 0, 1, NULL, 0, NULL, 0);
	/* MASK on an index that is not maskable; eventfds for MASK or MSI-X UNMASK. */
	irqs_error(t->c, VFU_PCI_ERR, VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_MASK, 0, 1,
		   NULL, 0, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_MASK, 0,
		   1, &efd, 1, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_UNMASK, 0,
		   1, &efd, 1, NULL, 0);
	/* Count 0 only as DATA_NONE|TRIGGER without anything attached. */
	irqs_error(t->c, VFU_PCI_MSIX, efd_trig, 0, 0, &efd, 1, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSIX, none_trig, 1, 0, NULL, 0, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSIX, none_trig, 0, 0, NULL, 0, bools, 1);
	/* DATA_BOOL with the wrong number of bools, DATA_NONE with data. */
	irqs_error(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_BOOL | VFU_IRQ_SET_ACTION_TRIGGER, 0,
		   4, NULL, 0, bools, 3);
	irqs_error(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_BOOL | VFU_IRQ_SET_ACTION_TRIGGER, 0,
		   2, NULL, 0, bools, 4);
	irqs_error(t->c, VFU_PCI_MSIX, none_trig, 0, 1, NULL, 0, bools, 4);
	irqs_error(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_BOOL | VFU_IRQ_SET_ACTION_TRIGGER, 0,
		   1, &efd, 1, bools, 1);
	/* Eventfd data bytes instead of fds. */
	irqs_error(t->c, VFU_PCI_MSIX, efd_trig, 0, 1, NULL, 0, bools, 4);
	it_assert_fds(t, 1);
	close(efd);
}

/*
 * Interrupt fds must be eventfds: the daemon writes and reads them on its
 * device thread, where a pipe could block it. Anything else is refused
 * and closed, and nothing of the request is applied.
 */
static void test_irq_fds_not_eventfd(void **state)
{
	struct itest *t = *state;
	const uint32_t efd_trig = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER;
	const uint32_t efd_unmask = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_UNMASK;
	int pfd[2], sv[2], mfd = it_memfd(0x1000), efd = it_eventfd(), mixed[2];

	assert_int_equal(pipe2(pfd, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	/* As MSI-X triggers: the write end of a pipe, a memfd, a socket. */
	irqs_error(t->c, VFU_PCI_MSIX, efd_trig, 0, 1, &pfd[1], 1, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSIX, efd_trig, 0, 1, &mfd, 1, NULL, 0);
	irqs_error(t->c, VFU_PCI_MSIX, efd_trig, 3, 1, &sv[0], 1, NULL, 0);
	/* One good eventfd next to a pipe: the whole request is refused. */
	mixed[0] = efd;
	mixed[1] = pfd[1];
	irqs_error(t->c, VFU_PCI_MSIX, efd_trig, 0, 2, mixed, 2, NULL, 0);
	/* INTx trigger and resample fd, ERR. */
	irqs_error(t->c, VFU_PCI_INTX, efd_trig, 0, 1, &pfd[1], 1, NULL, 0);
	irqs_error(t->c, VFU_PCI_INTX, efd_unmask, 0, 1, &pfd[0], 1, NULL, 0);
	irqs_error(t->c, VFU_PCI_ERR, efd_trig, 0, 1, &mfd, 1, NULL, 0);
	/* Every fd closed: only the session's is left. */
	it_assert_fds(t, 1);

	/* Nothing was assigned: a raise reaches neither the eventfd nor the pipe. */
	it_msix_enable(t->c, true);
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 0);
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 1);
	assert_int_equal(it_efd_count(efd), 0);
	assert_false(it_wait_readable(pfd[0], 0));
	/* Vector 0 still takes an eventfd, and gets the raise latched without one. */
	assert_int_equal(vfu_client_set_irqs(t->c, VFU_PCI_MSIX, efd_trig, 0, 1, &efd, 1, NULL,
					     0), 0);
	it_assert_fds(t, 2);
	assert_int_equal(it_efd_count(efd), 1);
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 0);
	assert_int_equal(it_efd_count(efd), 1);
	close(pfd[0]);
	close(pfd[1]);
	close(sv[0]);
	close(sv[1]);
	close(mfd);
	close(efd);
}

/* A blocking eventfd, its counter one below the maximum. */
static int full_blocking_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	uint64_t v = 0xfffffffffffffffeull;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, &v, sizeof(v)), sizeof(v));
	return fd;
}

/* The daemon made @fd non-blocking on receipt; make it blocking again behind its back. */
static void make_blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	assert_true(fl >= 0);
	assert_true(fl & O_NONBLOCK);
	assert_int_equal(fcntl(fd, F_SETFL, fl & ~O_NONBLOCK), 0);
}

/* IRQ_RAISE of @vec answered within 500 ms (a blocked write would hang the thread). */
static void raise_promptly(struct vfu_client *c, uint32_t vec)
{
	int64_t start = it_now_ms();

	vfu_client_set_timeout(c, 2000);
	it_reg_write(c, TESTDEV_IRQ_RAISE, vec);
	assert_true(it_now_ms() - start < 500);
	vfu_client_set_timeout(c, VFU_CLIENT_TIMEOUT_MS);
}

/*
 * A client fills its trigger eventfd's counter and makes the fd blocking:
 * a write of 1 would block the device thread for good. The daemon must
 * skip the write (the full counter already says "interrupt") and answer.
 */
static void test_irq_full_blocking_eventfd(void **state)
{
	struct itest *t = *state;
	const uint32_t efd_trig = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER;
	int fd = full_blocking_eventfd();
	uint64_t v;

	/* MSI-X vector 0. */
	assert_int_equal(vfu_client_set_irqs(t->c, VFU_PCI_MSIX, efd_trig, 0, 1, &fd, 1, NULL,
					     0), 0);
	make_blocking(fd);
	it_msix_enable(t->c, true);
	raise_promptly(t->c, 0);
	raise_promptly(t->c, 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
	/* The counter is as we left it; drained, the next raise is delivered. */
	assert_int_equal(read(fd, &v, sizeof(v)), sizeof(v));
	assert_true(v == 0xfffffffffffffffeull);
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 0);
	assert_true(it_wait_readable(fd, 1000));
	assert_int_equal(read(fd, &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 1);
	it_reg_write(t->c, TESTDEV_IRQ_ACK, 1);
	it_msix_enable(t->c, false);
	close(fd);

	/* The INTx trigger, MSI-X off. */
	fd = full_blocking_eventfd();
	assert_int_equal(vfu_client_set_irqs(t->c, VFU_PCI_INTX, efd_trig, 0, 1, &fd, 1, NULL,
					     0), 0);
	make_blocking(fd);
	raise_promptly(t->c, 1);
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
	assert_int_equal(read(fd, &v, sizeof(v)), sizeof(v));
	assert_true(v == 0xfffffffffffffffeull);
	/* Session, MSI-X vector 0 (still assigned), INTx trigger. */
	it_assert_fds(t, 3);
	close(fd);
}

/* Signal a resample eventfd as KVM does at EOI. */
static void eoi(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

/*
 * The client replaces (or drops) the INTx resample fd, keeps the old one
 * and signals it. The daemon must not watch the old one any more: no
 * busy loop on a readable fd it no longer reads, no unmask from it.
 */
static void test_intx_old_resample_fd(void **state)
{
	struct itest *t = *state;
	const uint32_t efd_unmask = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_UNMASK;
	int efd = it_eventfd(), old = it_eventfd(), cur = it_eventfd();

	assert_int_equal(vfu_client_set_irqs(t->c, VFU_PCI_INTX, VFU_IRQ_SET_DATA_EVENTFD |
					     VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, &efd, 1, NULL, 0),
			 0);
	assert_int_equal(vfu_client_set_irqs(t->c, VFU_PCI_INTX, efd_unmask, 0, 1, &old, 1, NULL,
					     0), 0);
	assert_int_equal(vfu_client_set_irqs(t->c, VFU_PCI_INTX, efd_unmask, 0, 1, &cur, 1, NULL,
					     0), 0);
	/* Session, trigger, the current resample fd twice (IRQ table and epoll's dup). */
	it_assert_fds(t, 4);
	/* Assert the line: fired once, automasked until an EOI. */
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 0);
	assert_int_equal(it_efd_count(efd), 1);

	eoi(old);
	it_assert_no_spin(t);
	/* No unmask (with the line still up it would have fired), nobody read it. */
	assert_int_equal(it_efd_count(efd), 0);
	assert_true(it_wait_readable(old, 0));
	/* The current fd does unmask. */
	eoi(cur);
	assert_true(it_wait_readable(efd, 1000));
	assert_int_equal(it_efd_count(efd), 1);

	/* Dropped altogether: neither fd is watched. */
	assert_int_equal(vfu_client_set_irqs(t->c, VFU_PCI_INTX, efd_unmask, 0, 1, NULL, 0, NULL,
					     0), 0);
	it_assert_fds(t, 2);
	eoi(cur);
	it_assert_no_spin(t);
	assert_int_equal(it_efd_count(efd), 0);
	assert_true(it_wait_readable(cur, 0));
	close(efd);
	close(old);
	close(cur);
}

/* More fds than the message may carry: refused and every one closed. */
static void test_extra_fds(void **state)
{
	struct itest *t = *state;
	struct vfu_irq_set s = {
		.argsz = sizeof(s), .flags = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER,
		.index = VFU_PCI_MSIX, .start = 0, .count = 1,
	};
	struct vfu_dma_map m = { .argsz = sizeof(m), .flags = VFU_DMA_READ, .addr = 0x100000,
				 .size = 0x1000 };
	struct vfu_region_access a = { .offset = TESTDEV_ID, .region = 0, .count = 4 };
	struct vfu_device_info di = { .argsz = sizeof(di) };
	int efd[24], mfd[2];

	for (unsigned i = 0; i < 24; i++)
		efd[i] = it_eventfd();
	mfd[0] = it_memfd(0x1000);
	mfd[1] = it_memfd(0x1000);

	/* SET_IRQS count 1 with 3 eventfds; count 8 with 16. */
	it_call_error(t->c, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), efd, 3, EINVAL);
	s.count = 8;
	it_call_error(t->c, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), efd, 16, EINVAL);
	it_assert_fds(t, 1);
	/* Nothing was assigned. */
	it_msix_enable(t->c, true);
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 0);
	assert_int_equal(it_efd_count(efd[0]), 0);

	/* DMA_MAP with 2 fds, posted too. */
	it_call_error(t->c, VFU_CMD_DMA_MAP, &m, sizeof(m), mfd, 2, EINVAL);
	it_send_cmd(t->c, VFU_CMD_DMA_MAP, VFU_F_NO_REPLY, &m, sizeof(m), mfd, 2);
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
	it_assert_fds(t, 1);
	it_assert_dma_free(t->c, 0x100000, 0x1000);

	/* Fds with commands that take none. */
	it_call_error(t->c, VFU_CMD_REGION_READ, &a, sizeof(a), efd, 1, EINVAL);
	it_call_error(t->c, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), efd, 2, EINVAL);
	it_call_error(t->c, VFU_CMD_DEVICE_RESET, NULL, 0, efd, 1, EINVAL);
	it_assert_fds(t, 1);

	/* More than 16 fds in one message: 20 and 24. */
	it_call_error(t->c, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), efd, 20, EINVAL);
	it_call_error(t->c, VFU_CMD_REGION_READ, &a, sizeof(a), efd, 24, EINVAL);
	it_assert_fds(t, 1);
	/* And the session carries on. */
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);

	for (unsigned i = 0; i < 24; i++)
		close(efd[i]);
	close(mfd[0]);
	close(mfd[1]);
}

/* ---- commands and flags ---- */

static void test_unknown_commands(void **state)
{
	static const uint16_t cmds[] = {
		0, 14, 19, 20, 99, 0x7fff, 0xffff,
		VFU_CMD_DMA_READ, VFU_CMD_DMA_WRITE, VFU_CMD_DEVICE_FEATURE,
		VFU_CMD_MIG_DATA_READ, VFU_CMD_MIG_DATA_WRITE,
	};
	struct itest *t = *state;
	uint8_t payload[32] = { 0 };
	int efd = it_eventfd();

	for (unsigned i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		it_call_error(t->c, cmds[i], NULL, 0, NULL, 0, ENOTSUP);
		it_call_error(t->c, cmds[i], payload, sizeof(payload), &efd, 1, ENOTSUP);
	}
	it_assert_fds(t, 1);
	close(efd);
}

static void test_bad_flags(void **state)
{
	struct itest *t = *state;
	struct vfu_device_info di = { .argsz = sizeof(di) };
	static const uint32_t flags[] = {
		VFU_F_TYPE_REPLY, VFU_F_TYPE_REPLY | VFU_F_ERROR, VFU_F_ERROR, 0x2, 0xf,
		0x40, 0x100, 0x80000000,
	};

	/* A reply (or anything but a command) from the client is refused. */
	for (unsigned i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		uint16_t id = it_send_cmd(t->c, VFU_CMD_DEVICE_GET_INFO, flags[i], &di,
					  sizeof(di), NULL, 0);

		it_expect_error(t->c, id, VFU_CMD_DEVICE_GET_INFO, EINVAL);
	}
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
}

/* NO_REPLY on a command that needs a reply: never answered, session goes on. */
static void test_no_reply_misuse(void **state)
{
	struct itest *t = *state;
	struct vfu_device_info di = { .argsz = sizeof(di) };
	struct vfu_region_access a = { .offset = TESTDEV_ID, .region = 0, .count = 4 };
	struct vfu_region_access w = { .offset = 0x1000, .region = 0, .count = 4 };
	uint8_t wb[sizeof(w) + 4] = { 0 };

	it_send_cmd(t->c, VFU_CMD_DEVICE_GET_INFO, VFU_F_NO_REPLY, &di, sizeof(di), NULL, 0);
	it_send_cmd(t->c, VFU_CMD_REGION_READ, VFU_F_NO_REPLY, &a, sizeof(a), NULL, 0);
	it_send_cmd(t->c, VFU_CMD_DEVICE_RESET, VFU_F_NO_REPLY, NULL, 0, NULL, 0);
	it_send_cmd(t->c, VFU_CMD_VERSION, VFU_F_NO_REPLY, "\0\0\0\0{}", 7, NULL, 0);
	/* A bad posted write: no error reply either. */
	memcpy(wb, &w, sizeof(w));
	it_send_cmd(t->c, VFU_CMD_REGION_WRITE, VFU_F_NO_REPLY, wb, sizeof(wb), NULL, 0);
	it_expect_silence(t->c, 100);
	/* The next reply is for the next request. */
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
}

/* Garbage config writes: the daemon stays up, the IDs stay. */
static void test_config_garbage(void **state)
{
	struct itest *t = *state;
	static uint8_t buf[4096];

	memset(buf, 0xff, 4096);
	assert_int_equal(vfu_client_region_write(t->c, VFU_PCI_CONFIG, 0, buf, 4096), 0);
	assert_int_equal(it_cfg_read16(t->c, PCI_VENDOR_ID), TESTDEV_VENDOR);
	assert_int_equal(it_cfg_read16(t->c, PCI_DEVICE_ID), TESTDEV_DEVICE);
	assert_int_equal(it_cfg_read16(t->c, PCI_CAPABILITY_LIST), 0x40);
	memset(buf, 0, 4096);
	assert_int_equal(vfu_client_region_write(t->c, VFU_PCI_CONFIG, 0, buf, 4096), 0);
	for (uint32_t off = 0; off < 4096; off += 509) {
		uint8_t b = 0xa5;

		assert_int_equal(vfu_client_region_write(t->c, VFU_PCI_CONFIG, off, &b, 1), 0);
	}
	assert_int_equal(it_cfg_read16(t->c, PCI_VENDOR_ID), TESTDEV_VENDOR);
	/* The MSI-X table and the (read-only) PBA through BAR1. */
	memset(buf, 0xff, 4096);
	assert_int_equal(vfu_client_region_write(t->c, 1, TESTDEV_MSIX_TABLE, buf, 8 * 16), 0);
	assert_int_equal(vfu_client_region_read(t->c, 1, TESTDEV_MSIX_TABLE, buf, 8 * 16), 0);
	assert_int_equal(vfu_client_region_write(t->c, 1, TESTDEV_MSIX_PBA, buf, 8), 0);
	assert_int_equal(vfu_client_region_read(t->c, 1, TESTDEV_MSIX_PBA, buf, 8), 0);
	assert_int_equal(buf[0], 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
}

/*
 * BAR1 is a 4 KiB region the daemon reports readable and writable; only the
 * MSI-X table (0x000-0x07f) and PBA (0x800-0x807) are in it. Accesses to the
 * rest, or spanning the table and the rest, should behave like BAR0's
 * unknown offsets (read 0, writes ignored), not fail: QEMU forwards guest
 * accesses there and reports an error reply as a failed access.
 */
static void test_bar1_gaps(void **state)
{
	struct itest *t = *state;
	static uint8_t buf[4096];
	uint32_t v = 0xffffffff;

	assert_int_equal(vfu_client_region_read(t->c, 1, 0x100, &v, 4), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vfu_client_region_write(t->c, 1, 0x100, &v, 4), 0);
	assert_int_equal(vfu_client_region_read(t->c, 1, 0xffc, &v, 4), 0);
	memset(buf, 0, 4096);
	assert_int_equal(vfu_client_region_write(t->c, 1, 0, buf, 4096), 0);
	assert_int_equal(vfu_client_region_read(t->c, 1, 0, buf, 4096), 0);
}

/*
 * The daemon runs out of fds: accept fails with EMFILE while the connection
 * stays queued. The daemon must back off (not spin on the readable
 * listener) and serve the client once fds are available again.
 */
static void test_accept_out_of_fds(void **state)
{
	struct itest *t = *state;
	const char version[] = "\0\0\0\0{}";
	pid_t pid = test_daemon_device_pid(&t->d, 0);
	struct rlimit old, lim;
	struct vfu_client *c;
	struct vfu_hdr h;
	uint8_t rep[4096];
	size_t len;

	/* The listener is polled only while no session runs. */
	it_close(t, t->c);
	it_assert_fds(t, 0);
	assert_int_equal(prlimit(pid, RLIMIT_NOFILE, NULL, &old), 0);
	/* Every fd number below the limit in use: the next accept gets EMFILE. */
	lim = old;
	lim.rlim_cur = (rlim_t)test_daemon_lowest_free_fd(&t->d);
	assert_true(lim.rlim_cur > 0);
	assert_int_equal(prlimit(pid, RLIMIT_NOFILE, &lim, NULL), 0);

	c = it_connect(t, 0, false);
	it_send_cmd(c, VFU_CMD_VERSION, 0, version, sizeof(version), NULL, 0);
	it_assert_no_spin(t);
	it_expect_silence(c, 0);
	it_assert_fds(t, 0);

	assert_int_equal(prlimit(pid, RLIMIT_NOFILE, &old, NULL), 0);
	vfu_client_set_timeout(c, 1000);
	assert_int_equal(vfu_client_recv_reply(c, &h, rep, sizeof(rep), &len, NULL, NULL), 0);
	assert_int_equal(h.cmd, VFU_CMD_VERSION);
	assert_false(h.flags & VFU_F_ERROR);
	assert_int_equal(it_reg_read(c, TESTDEV_ID), TESTDEV_ID_VALUE);
}

#define T(f) cmocka_unit_test_setup_teardown(f, it_setup, it_teardown)
#define T_RAW(f) cmocka_unit_test_setup_teardown(f, it_setup_raw, it_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T_RAW(test_truncated_header),
		T(test_msg_size_too_small),
		T(test_msg_size_too_large),
		T(test_disconnect_mid_message),
		T(test_byte_by_byte),
		T(test_pipelined),
		T(test_short_payloads),
		T(test_oversized_counts),
		T(test_region_ranges),
		T(test_argsz_tricks),
		T_RAW(test_before_version),
		T(test_version_twice),
		T_RAW(test_version_bad_json),
		T(test_dma_overlaps),
		T(test_dma_bad_maps),
		T(test_dma_unmap_ranges),
		T(test_dma_disk_file),
		T(test_dma_max_bytes),
		T(test_dma_too_many_maps),
		T(test_set_irqs_bad),
		T(test_irq_fds_not_eventfd),
		T(test_irq_full_blocking_eventfd),
		T(test_intx_old_resample_fd),
		T(test_extra_fds),
		T(test_unknown_commands),
		T(test_bad_flags),
		T(test_no_reply_misuse),
		T(test_config_garbage),
		T(test_bar1_gaps),
		T(test_dma_memfd_shrunk),
		T(test_accept_out_of_fds),
	};

	return cmocka_run_group_tests_name("hostile", tests, it_group_setup_1dev,
					   it_group_teardown);
}
