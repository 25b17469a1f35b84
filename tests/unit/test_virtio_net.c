// SPDX-License-Identifier: MIT
/*
 * The virtio-net model driven like a guest driver would, without a socket:
 * config space and BAR0 through the device's region callbacks, guest memory
 * a memfd in the DMA table, MSI-X vectors eventfds in the IRQ table, the
 * loopback port behind it (frames come back with the MACs swapped). Covers
 * the capability layout, the status handshake, feature refusal, traffic
 * through the poller thread, NEEDS_RESET on a hostile ring, reset and
 * recovery, and quiesce/resume around a DMA change.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vnet_fixture.h"

/* ---- tests ---- */

static void find_caps(struct t *t, const uint8_t *cfg)
{
	unsigned p = cfg[PCI_CAPABILITY_LIST], hops = 0;

	while (p && hops++ < 48) {
		if (cfg[p] == PCI_CAP_ID_VNDR && cfg[p + 3] >= 1 && cfg[p + 3] <= 4) {
			assert_int_equal(cfg[p + 4], VNET_REGS_BAR);
			t->cap[cfg[p + 3]] = p;
		}
		p = cfg[p + 1];
	}
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_config_space(void **state)
{
	struct t *t = *state;
	uint8_t cfg[256];
	unsigned n;

	cfg_read(t, cfg);
	assert_int_equal(cfg[0] | cfg[1] << 8, 0x1af4);
	assert_int_equal(cfg[2] | cfg[3] << 8, 0x1041);
	assert_int_equal(cfg[PCI_REVISION_ID], 1);
	assert_int_equal(cfg[0x0b], 0x02); /* network controller */
	assert_int_equal(cfg[0x0a], 0x00); /* ethernet */
	find_caps(t, cfg);
	for (unsigned type = 1; type <= 4; type++)
		assert_int_not_equal(t->cap[type], 0);
	assert_int_equal(le32(cfg + t->cap[VIRTIO_PCI_CAP_COMMON_CFG] + 8), VNET_COMMON_OFF);
	n = t->cap[VIRTIO_PCI_CAP_NOTIFY_CFG];
	assert_int_equal(cfg[n + 2], 20);
	assert_int_equal(le32(cfg + n + 8), VNET_NOTIFY_OFF);
	assert_int_equal(le32(cfg + n + 16), VNET_NOTIFY_MULT);
	assert_int_equal(le32(cfg + t->cap[VIRTIO_PCI_CAP_DEVICE_CFG] + 8), VNET_DEVCFG_OFF);
	/* Device config: the MAC from --device and the link up. */
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(bar_r(t, VNET_DEVCFG_OFF + i, 1), mac_a[i]);
	assert_int_equal(bar_r(t, VNET_DEVCFG_OFF + 6, 2), VNET_S_LINK_UP);
	assert_int_equal(bar_r(t, VNET_DEVCFG_OFF + 8, 2), 1);
	assert_int_equal(bar_r(t, VIRTIO_PCI_COMMON_NUMQ, 2), 3);
}

static void test_features(void **state)
{
	struct t *t = *state;
	uint64_t f = device_features(t);

	assert_true(f & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_true(f & VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_true(f & VIRTIO_BIT(VNET_F_MRG_RXBUF));
	assert_true(f & VIRTIO_BIT(VNET_F_CTRL_VQ));
	assert_false(f & VIRTIO_BIT(VNET_F_MQ)); /* one pair */
	/* Without VERSION_1 (a legacy driver) FEATURES_OK does not stick. */
	bar_w(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	set_features(t, VIRTIO_BIT(VNET_F_MAC));
	bar_w(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					       VIRTIO_STATUS_FEATURES_OK, 1);
	assert_false(status(t) & VIRTIO_STATUS_FEATURES_OK);
	/* Nor with a feature the device does not offer, or TSO without checksums. */
	bar_w(t, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	set_features(t, VIRTIO_BIT(VIRTIO_F_VERSION_1) | (1ull << 50));
	bar_w(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_FEATURES_OK, 1);
	assert_false(status(t) & VIRTIO_STATUS_FEATURES_OK);
	bar_w(t, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	set_features(t, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VNET_F_HOST_TSO4));
	bar_w(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_FEATURES_OK, 1);
	assert_false(status(t) & VIRTIO_STATUS_FEATURES_OK);
	/* A vector past the table reads back as NO_VECTOR. */
	bar_w(t, VIRTIO_PCI_COMMON_MSIX, NVEC, 2);
	assert_int_equal(bar_r(t, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
}

/* TX one frame, get it back on RX with the MACs swapped; returns after both are used. */
static void loop_one(struct t *t, unsigned slot, uint16_t n)
{
	struct vring_used *u = used(t, Q_RX);
	struct vring_used_elem e;
	uint8_t *p;

	tx_frame(t, slot, mac_b, mac_a);
	assert_true(wait_used(t, Q_TX, n));
	assert_true(wait_used(t, Q_RX, n));
	memcpy(&e, &u->ring[(n - 1) % QSIZE], sizeof(e));
	assert_int_equal(e.len, VNET_HDR_LEN + 60);
	p = g(t, buf_gpa(e.id));
	assert_int_equal(p[10] | p[11] << 8, 1); /* num_buffers */
	assert_memory_equal(p + VNET_HDR_LEN, mac_a, 6);
	assert_memory_equal(p + VNET_HDR_LEN + 6, mac_b, 6);
	assert_int_equal(p[VNET_HDR_LEN + 59], 59);
}

static void test_traffic(void **state)
{
	struct t *t = *state;

	bring_up(t, BASE_FEATURES);
	rx_post(t, 8);
	for (uint16_t n = 1; n <= 20; n++) {
		loop_one(t, n % 4, n);
		if (n % 4 == 0)
			rx_post(t, 4);
	}
	assert_true(wait_irq(t, 1)); /* RX vector */
	assert_true(wait_irq(t, 2)); /* TX vector */
	assert_false(status(t) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_hostile_then_reset(void **state)
{
	struct t *t = *state;

	bring_up(t, BASE_FEATURES);
	rx_post(t, 4);
	loop_one(t, 0, 1);
	/* A descriptor loop on TX: the device must stop and ask for a reset. */
	set_desc(t, Q_TX, 5, buf_gpa(QSIZE), 64, VRING_DESC_F_NEXT, 6);
	set_desc(t, Q_TX, 6, buf_gpa(QSIZE), 64, VRING_DESC_F_NEXT, 5);
	publish(t, Q_TX, 5);
	kick(t, Q_TX);
	assert_true(wait_irq(t, 0)); /* the config vector */
	assert_true(status(t) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(bar_r(t, VNET_ISR_OFF, 1) & VIRTIO_ISR_CONFIG);
	assert_int_equal(bar_r(t, VNET_ISR_OFF, 1), 0); /* read clears */
	/* The driver writes NEEDS_RESET back as it found it: still set. */
	bar_w(t, VIRTIO_PCI_COMMON_STATUS, status(t), 1);
	assert_true(status(t) & VIRTIO_STATUS_NEEDS_RESET);
	/* Reset, set up again, traffic flows. */
	bring_up(t, BASE_FEATURES);
	assert_false(status(t) & VIRTIO_STATUS_NEEDS_RESET);
	rx_post(t, 4);
	loop_one(t, 1, 1);
}

static void test_hostile_rx_buffer(void **state)
{
	struct t *t = *state;

	bring_up(t, BASE_FEATURES);
	/* A readable RX buffer, then a frame to put in it. */
	set_desc(t, Q_RX, 0, buf_gpa(0), BUF_SIZE, 0, 0);
	publish(t, Q_RX, 0);
	kick(t, Q_RX);
	tx_frame(t, 0, mac_b, mac_a);
	assert_true(wait_irq(t, 0));
	assert_true(status(t) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(used(t, Q_RX)->idx, 0);
}

static void test_out_of_memory_ring(void **state)
{
	struct t *t = *state;

	bring_up(t, BASE_FEATURES);
	rx_post(t, 2);
	/* TX buffer outside every DMA map. */
	set_desc(t, Q_TX, 0, 0x40000000ull, 100, 0, 0);
	publish(t, Q_TX, 0);
	kick(t, Q_TX);
	assert_true(wait_irq(t, 0));
	assert_true(status(t) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_quiesce_dma_change(void **state)
{
	struct t *t = *state;
	int fd = memfd_create("iomed-test-vnet2", MFD_CLOEXEC);

	assert_int_equal(ftruncate(fd, 0x10000), 0);
	bring_up(t, BASE_FEATURES);
	rx_post(t, 8);
	loop_one(t, 0, 1);
	/* What the server does around DMA_MAP: the poller parks, the table changes. */
	t->vfu->ops->quiesce(t->vfu->opaque);
	assert_int_equal(vfu_dma_add(&t->vfu->dma, 0x10000000, 0x10000, fd, 0,
				     VFU_DMA_READ | VFU_DMA_WRITE), 0);
	t->vfu->ops->resume(t->vfu->opaque);
	loop_one(t, 1, 2);
	t->vfu->ops->quiesce(t->vfu->opaque);
	assert_int_equal(vfu_dma_remove(&t->vfu->dma, 0x10000000, 0x10000, NULL, NULL), 1);
	t->vfu->ops->resume(t->vfu->opaque);
	loop_one(t, 2, 3);
	/* Quiesce of a stopped device returns at once; reset inside quiesce stops it. */
	t->vfu->ops->quiesce(t->vfu->opaque);
	t->vfu->ops->reset(t->vfu->opaque);
	t->vfu->ops->resume(t->vfu->opaque);
	assert_int_equal(status(t), 0);
	t->vfu->ops->quiesce(t->vfu->opaque);
	t->vfu->ops->resume(t->vfu->opaque);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_config_space), T(test_features), T(test_traffic),
		T(test_hostile_then_reset), T(test_hostile_rx_buffer), T(test_out_of_memory_ring),
		T(test_quiesce_dma_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
