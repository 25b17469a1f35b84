// SPDX-License-Identifier: MIT
/*
 * Isolation between devices and between successive clients of one device:
 * two testdevs in one daemon; a client that stalls or stops reading holds
 * up only its own device; a second client waits for a busy device; clients
 * that vanish without cleanup (a killed QEMU) leave nothing behind.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "devices/testdev/testdev.h"
#include "pci/config.h"
#include "vfio-user/session.h" /* VFU_SESSION_TIMEOUT_MS */

/*
 * What "promptly" means for the unaffected device: far below the 10 s a
 * stalled client may hold its own device, with room for a loaded CI machine.
 */
#define PROMPT_MS 2000

/* A client on @dev gets VERSION, registers and region info within PROMPT_MS. */
static void assert_prompt(struct itest *t, unsigned dev)
{
	int64_t start = it_now_ms();
	struct vfu_client *c = it_connect(t, dev, false);
	struct vfu_client_region r;

	vfu_client_set_timeout(c, PROMPT_MS);
	assert_int_equal(vfu_client_negotiate(c, NULL), 0);
	assert_int_equal(it_reg_read(c, TESTDEV_ID), TESTDEV_ID_VALUE);
	it_reg_write(c, TESTDEV_SCRATCH0, 0x600d);
	assert_int_equal(it_reg_read(c, TESTDEV_SCRATCH0), 0x600d);
	assert_int_equal(vfu_client_get_region_info(c, 2, &r), 0);
	vfu_client_region_release(&r);
	it_close(t, c);
	assert_true(it_now_ms() - start < PROMPT_MS);
}

static void test_stalled_client(void **state)
{
	struct itest *t = *state;
	struct vfu_region_access a = { .offset = TESTDEV_ID, .region = 0, .count = 4 };
	struct vfu_hdr h = { .cmd = VFU_CMD_REGION_READ, .msg_size = sizeof(h) + sizeof(a) };
	uint8_t buf[sizeof(h) + sizeof(a)];
	uint32_t v;

	/* A sends half a message on device 0 and stalls. */
	h.msg_id = vfu_client_take_id(t->c);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &a, sizeof(a));
	assert_int_equal(vfu_client_send_raw(t->c, buf, 20, NULL, 0), 0);
	/* B on device 1 is served at once. */
	assert_prompt(t, 1);
	assert_prompt(t, 1);
	/* A finishes its message and gets its reply. */
	assert_int_equal(vfu_client_send_raw(t->c, buf + 20, sizeof(buf) - 20, NULL, 0), 0);
	assert_int_equal(it_expect_ok(t->c, h.msg_id, VFU_CMD_REGION_READ, buf, sizeof(buf)),
			 sizeof(a) + 4);
	memcpy(&v, buf + sizeof(a), 4);
	assert_int_equal(v, TESTDEV_ID_VALUE);

	/* Stalled inside the header this time. */
	assert_int_equal(vfu_client_send_raw(t->c, buf, 7, NULL, 0), 0);
	assert_prompt(t, 1);
}

/* A client that floods requests and never reads the replies. */
static void test_client_not_reading(void **state)
{
	struct itest *t = *state;
	struct vfu_region_access a = { .offset = 0, .region = 2, .count = 16384 };

	for (unsigned i = 0; i < 256; i++)
		it_send_cmd(t->c, VFU_CMD_REGION_READ, 0, &a, sizeof(a), NULL, 0);
	/* Device 0's thread is stuck sending; device 1 is not. */
	assert_prompt(t, 1);
	/* A leaves with 4 MiB of replies unread: device 0 recovers (teardown checks). */
}

static void test_busy_device_waits(void **state)
{
	struct itest *t = *state;
	struct vfu_client *c2;
	struct vfu_hdr h;
	uint8_t rep[4096];
	const char json[] = "\0\0\0\0{}";
	size_t len;

	it_reg_write(t->c, TESTDEV_SCRATCH0, 0x1111);
	c2 = it_connect(t, 0, false);
	/* c2's VERSION waits: device 0 is busy with c1. */
	it_send_cmd(c2, VFU_CMD_VERSION, 0, json, sizeof(json), NULL, 0);
	it_expect_silence(c2, 300);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SCRATCH0), 0x1111);
	/* Device 1 meanwhile is free. */
	assert_prompt(t, 1);
	/* c1 goes: c2 is served, and finds the device reset. */
	it_close(t, t->c);
	assert_int_equal(vfu_client_recv_reply(c2, &h, rep, sizeof(rep), &len, NULL, NULL), 0);
	assert_int_equal(h.cmd, VFU_CMD_VERSION);
	assert_false(h.flags & VFU_F_ERROR);
	assert_int_equal(it_reg_read(c2, TESTDEV_ID), TESTDEV_ID_VALUE);
	assert_int_equal(it_reg_read(c2, TESTDEV_SCRATCH0), 0);
	it_assert_fds(t, 1);
}

static void test_devices_independent(void **state)
{
	struct itest *t = *state;
	struct vfu_client *b = it_connect(t, 1, true);
	int fd = it_memfd(0x1000);

	it_reg_write(t->c, TESTDEV_SCRATCH0, 0xaaaa);
	it_reg_write(b, TESTDEV_SCRATCH0, 0xbbbb);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SCRATCH0), 0xaaaa);
	assert_int_equal(it_reg_read(b, TESTDEV_SCRATCH0), 0xbbbb);
	/* Same guest address on both: separate DMA tables. */
	assert_int_equal(vfu_client_dma_map(t->c, 0x100000, 0x1000, fd, 0, VFU_DMA_READ), 0);
	assert_int_equal(vfu_client_dma_map(b, 0x100000, 0x1000, fd, 0, VFU_DMA_READ), 0);
	/* Two sessions; the maps hold no fd, a mapping each. */
	it_assert_fds(t, 2);
	it_assert_dma_mapped(t, 2 * 0x1000);
	/* Resetting one leaves the other. */
	assert_int_equal(vfu_client_reset(b), 0);
	assert_int_equal(it_reg_read(b, TESTDEV_SCRATCH0), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SCRATCH0), 0xaaaa);
	/* One client leaving leaves the other's maps. */
	it_close(t, b);
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, 0x1000);
	assert_int_equal(vfu_client_dma_map(t->c, 0x100000, 0x1000, -1, 0, VFU_DMA_READ),
			 -EEXIST);
	close(fd);
}

/*
 * Clients that hold a device without talking: one connects and never sends
 * VERSION (device 0), one negotiates and then stalls inside a header
 * (device 1). Each is disconnected after VFU_SESSION_TIMEOUT_MS (10 s, both
 * run in parallel) and the device serves the client waiting behind it.
 */
static void test_silent_clients_dropped(void **state)
{
	struct itest *t = *state;
	const char version[] = "\0\0\0\0{}";
	struct vfu_client *mute, *next, *half;
	struct vfu_hdr h;
	uint8_t rep[4096];
	int64_t start, took;
	size_t len;

	/* it_setup's client negotiated: replace it with one that never does. */
	it_close(t, t->c);
	mute = it_connect(t, 0, false);
	half = it_connect(t, 1, true);
	/* Another client waits in the backlog of device 0, its VERSION sent. */
	next = it_connect(t, 0, false);
	it_send_cmd(next, VFU_CMD_VERSION, 0, version, sizeof(version), NULL, 0);
	assert_int_equal(it_reg_read(half, TESTDEV_ID), TESTDEV_ID_VALUE);
	/* 5 of the 16 header bytes. */
	assert_int_equal(vfu_client_send_raw(half, "\x01\x00\x01\x00\x20", 5, NULL, 0), 0);
	start = it_now_ms();

	/* Nothing happens for most of the timeout. */
	it_expect_silence(next, VFU_SESSION_TIMEOUT_MS / 2);
	assert_false(it_wait_readable(vfu_client_fd(mute), 0));
	assert_false(it_wait_readable(vfu_client_fd(half), 0));

	vfu_client_set_timeout(mute, 2 * VFU_SESSION_TIMEOUT_MS);
	it_expect_closed(mute);
	took = it_now_ms() - start;
	assert_true(took >= VFU_SESSION_TIMEOUT_MS - 1000 && took < VFU_SESSION_TIMEOUT_MS + 2000);
	/* The waiting client is served at once. */
	vfu_client_set_timeout(next, 2000);
	assert_int_equal(vfu_client_recv_reply(next, &h, rep, sizeof(rep), &len, NULL, NULL), 0);
	assert_int_equal(h.cmd, VFU_CMD_VERSION);
	assert_false(h.flags & VFU_F_ERROR);
	assert_int_equal(it_reg_read(next, TESTDEV_ID), TESTDEV_ID_VALUE);

	vfu_client_set_timeout(half, 2 * VFU_SESSION_TIMEOUT_MS);
	it_expect_closed(half);
	took = it_now_ms() - start;
	assert_true(took >= VFU_SESSION_TIMEOUT_MS - 1000 && took < VFU_SESSION_TIMEOUT_MS + 2000);
	it_close(t, half);
	it_assert_serves(t, 1);
	it_assert_fds(t, 1); /* next's session */
}

/* Everything QEMU sets up, then the client vanishes without undoing any of it. */
static struct vfu_client *dirty_client(struct itest *t, unsigned iter, int *fds)
{
	struct vfu_client *c = it_connect(t, 0, true);
	struct vfu_client_region r;
	uint32_t *p;

	fds[0] = it_memfd(0x10000);
	fds[1] = it_memfd(0x10000);
	for (unsigned i = 2; i < 14; i++)
		fds[i] = it_eventfd();
	assert_int_equal(vfu_client_dma_map(c, 0x100000, 0x10000, fds[0], 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	assert_int_equal(vfu_client_dma_map(c, 0x110000, 0x10000, fds[1], 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	assert_int_equal(vfu_client_dma_map(c, 0xfffc0000, 0x40000, -1, 0, VFU_DMA_READ), 0);
	it_set_irq_fds(c, VFU_PCI_MSIX, VFU_IRQ_SET_ACTION_TRIGGER, 0, 8, fds + 2);
	it_set_irq_fds(c, VFU_PCI_INTX, VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, fds + 10);
	it_set_irq_fds(c, VFU_PCI_INTX, VFU_IRQ_SET_ACTION_UNMASK, 0, 1, fds + 11);
	it_set_irq_fds(c, VFU_PCI_ERR, VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, fds + 12);
	it_set_irq_fds(c, VFU_PCI_REQ, VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, fds + 13);
	it_cfg_command(c, PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY, true);
	it_msix_enable(c, true);
	it_reg_write(c, TESTDEV_SCRATCH0, 0xd1d1 + iter);
	it_reg_write(c, TESTDEV_IRQ_RAISE, 1);
	/* BAR2 mapped and written, pending half a message too on odd rounds. */
	assert_int_equal(vfu_client_get_region_info(c, 2, &r), 0);
	assert_int_equal(vfu_client_region_mmap(&r, PROT_READ | PROT_WRITE), 0);
	p = vfu_client_region_ptr(&r, 0, 4);
	assert_non_null(p);
	*p = 0xdead0000 + iter;
	vfu_client_region_release(&r);
	if (iter % 2)
		assert_int_equal(vfu_client_send_raw(c, "\x01\x00\x09\x00\x30\x00", 6, NULL, 0),
				 0);
	return c;
}

static void test_restart_without_cleanup(void **state)
{
	struct itest *t = *state;
	uint32_t resets;
	int fds[14];

	resets = it_reg_read(t->c, TESTDEV_RESET_COUNT);
	it_close(t, t->c);
	for (unsigned iter = 0; iter < 20; iter++) {
		struct vfu_client *c = dirty_client(t, iter, fds);

		/*
		 * Session, 8 MSI-X eventfds, INTx trigger, the resample fd twice
		 * (the IRQ table's and epoll's dup), ERR and REQ; the DMA maps
		 * hold none (their memfds are mapped).
		 */
		it_assert_fds(t, 1 + 8 + 1 + 2 + 2);
		it_assert_dma_mapped(t, 2 * 0x10000);
		if (iter % 3 == 0) {
			/* The next QEMU connects before the old one is gone. */
			struct vfu_client *next = it_connect(t, 0, false);

			it_close(t, c);
			assert_int_equal(vfu_client_negotiate(next, NULL), 0);
			it_close(t, next);
		} else {
			it_close(t, c);
		}
		for (unsigned i = 0; i < 14; i++)
			close(fds[i]);
	}
	it_assert_fds(t, 0);
	it_assert_dma_mapped(t, 0);

	/* A new client finds a device as after power-on. */
	t->c = it_connect(t, 0, true);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SCRATCH0), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_IRQ_STATUS), 0);
	assert_true(it_reg_read(t->c, TESTDEV_RESET_COUNT) >= resets + 20);
	assert_int_equal(it_cfg_read16(t->c, PCI_COMMAND) & PCI_COMMAND_MASTER, 0);
	assert_int_equal(it_cfg_read16(t->c, 0x50 + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE, 0);
	it_reg_write(t->c, TESTDEV_SHM_PEEK_OFF, 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SHM_PEEK), TESTDEV_SHM_PATTERN);
	/* No DMA map survived. */
	it_assert_dma_free(t->c, 0, 0x100000000ull);
	it_cfg_command(t->c, PCI_COMMAND_MASTER, true);
	it_reg_write(t->c, TESTDEV_DMA_SRC_LO, 0x100000);
	it_reg_write(t->c, TESTDEV_DMA_DST_LO, 0x110000);
	it_reg_write(t->c, TESTDEV_DMA_LEN, 64);
	it_reg_write(t->c, TESTDEV_DMA_CMD, TESTDEV_DMA_CMD_START);
	assert_int_equal(it_reg_read(t->c, TESTDEV_DMA_STATUS), TESTDEV_DMA_STATUS_ERROR | EFAULT);
	it_assert_fds(t, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, it_setup, it_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_stalled_client),
		T(test_client_not_reading),
		T(test_busy_device_waits),
		T(test_devices_independent),
		T(test_silent_clients_dropped),
		T(test_restart_without_cleanup),
	};

	return cmocka_run_group_tests_name("isolation", tests, it_group_setup_2dev,
					   it_group_teardown);
}
