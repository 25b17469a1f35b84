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

#include "devices/virtio-net/vnet.h"
#include "model_harness.h"

#define GPA 0x100000ull
#define MEM_SIZE 0x100000ull
#define QSIZE 16
#define Q_RX 0
#define Q_TX 1
#define BUF_OFF 0x40000ull
#define BUF_SIZE 2048
#define NVEC 4 /* config + rx + tx + ctrl of one pair */

struct t {
	struct model_h m;
	struct vfu_device *vfu;
	uint8_t *mem;
	uint16_t avail_idx[3];
	uint16_t next_buf;
	unsigned cap[5]; /* config offset of each virtio capability, by cfg_type */
};

static uint64_t ring_gpa(unsigned q, unsigned part)
{
	return GPA + q * 0x4000ull + part * 0x1000ull;
}

static void *g(struct t *t, uint64_t gpa)
{
	return model_h_mem(&t->m, gpa);
}

/* ---- device access ---- */

static void bar_w(struct t *t, uint64_t off, uint32_t v, uint32_t len)
{
	assert_int_equal(t->vfu->ops->region_write(t->vfu->opaque, VNET_REGS_BAR, off, &v, len), 0);
}

static uint32_t bar_r(struct t *t, uint64_t off, uint32_t len)
{
	uint32_t v = 0;

	assert_int_equal(t->vfu->ops->region_read(t->vfu->opaque, VNET_REGS_BAR, off, &v, len), 0);
	return v;
}

static uint8_t status(struct t *t)
{
	return (uint8_t)bar_r(t, VIRTIO_PCI_COMMON_STATUS, 1);
}

static void cfg_read(struct t *t, uint8_t *buf)
{
	assert_int_equal(t->vfu->ops->region_read(t->vfu->opaque, VFU_PCI_CONFIG, 0, buf, 256), 0);
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	model_h_init(&t->m, "virtio-net", "virtio-net,net=loopback,mac=52:54:00:00:00:01,poll-us=0",
		     GPA, MEM_SIZE);
	assert_int_equal(t->m.nvec, NVEC);
	t->vfu = t->m.vfu;
	t->mem = t->m.mem;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	model_h_fini(&t->m);
	free(t);
	return 0;
}

/* ---- driver side ---- */

static uint64_t device_features(struct t *t)
{
	uint64_t f;

	bar_w(t, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	f = bar_r(t, VIRTIO_PCI_COMMON_DF, 4);
	bar_w(t, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	return f | (uint64_t)bar_r(t, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

static void set_features(struct t *t, uint64_t f)
{
	bar_w(t, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	bar_w(t, VIRTIO_PCI_COMMON_GF, (uint32_t)f, 4);
	bar_w(t, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	bar_w(t, VIRTIO_PCI_COMMON_GF, (uint32_t)(f >> 32), 4);
}

static void setup_queue(struct t *t, unsigned q, uint16_t vector)
{
	memset(g(t, ring_gpa(q, 0)), 0, 0x3000);
	t->avail_idx[q] = 0;
	bar_w(t, VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
	assert_int_equal(bar_r(t, VIRTIO_PCI_COMMON_Q_SIZE, 2), VNET_QUEUE_SIZE);
	bar_w(t, VIRTIO_PCI_COMMON_Q_SIZE, QSIZE, 2);
	bar_w(t, VIRTIO_PCI_COMMON_Q_MSIX, vector, 2);
	assert_int_equal(bar_r(t, VIRTIO_PCI_COMMON_Q_MSIX, 2), vector);
	assert_int_equal(bar_r(t, VIRTIO_PCI_COMMON_Q_NOFF, 2), q);
	bar_w(t, VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)ring_gpa(q, 0), 4);
	bar_w(t, VIRTIO_PCI_COMMON_Q_DESCHI, 0, 4);
	bar_w(t, VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)ring_gpa(q, 1), 4);
	bar_w(t, VIRTIO_PCI_COMMON_Q_AVAILHI, 0, 4);
	bar_w(t, VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)ring_gpa(q, 2), 4);
	bar_w(t, VIRTIO_PCI_COMMON_Q_USEDHI, 0, 4);
	bar_w(t, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
}

/* The driver's side of the handshake (3.1.1) for RX and TX of pair 0. */
static void bring_up(struct t *t, uint64_t features)
{
	bar_w(t, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	assert_int_equal(status(t), 0);
	bar_w(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 1);
	bar_w(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	set_features(t, features);
	bar_w(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					       VIRTIO_STATUS_FEATURES_OK, 1);
	assert_true(status(t) & VIRTIO_STATUS_FEATURES_OK);
	bar_w(t, VIRTIO_PCI_COMMON_MSIX, 0, 2);
	setup_queue(t, Q_RX, 1);
	setup_queue(t, Q_TX, 2);
	t->next_buf = 0;
	bar_w(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					       VIRTIO_STATUS_FEATURES_OK |
					       VIRTIO_STATUS_DRIVER_OK, 1);
}

static void set_desc(struct t *t, unsigned q, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct vring_desc d = { addr, len, flags, next };

	memcpy(g(t, ring_gpa(q, 0) + 16ull * i), &d, sizeof(d));
}

static void publish(struct t *t, unsigned q, uint16_t head)
{
	struct vring_avail *a = g(t, ring_gpa(q, 1));

	a->ring[t->avail_idx[q] % QSIZE] = head;
	__atomic_store_n(&a->idx, ++t->avail_idx[q], __ATOMIC_RELEASE);
}

static void kick(struct t *t, unsigned q)
{
	bar_w(t, VNET_NOTIFY_OFF + VNET_NOTIFY_MULT * q, q, 2);
}

static struct vring_used *used(struct t *t, unsigned q)
{
	return g(t, ring_gpa(q, 2));
}

static bool wait_used(struct t *t, unsigned q, uint16_t idx)
{
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(&used(t, q)->idx, __ATOMIC_ACQUIRE) == idx)
			return true;
		usleep(1000);
	}
	return false;
}

static bool wait_irq(struct t *t, unsigned vec)
{
	return model_h_irq(&t->m, vec, 2000);
}

static uint64_t buf_gpa(unsigned i)
{
	return GPA + BUF_OFF + (uint64_t)i * BUF_SIZE;
}

static void rx_post(struct t *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned d = t->next_buf++ % QSIZE;

		set_desc(t, Q_RX, d, buf_gpa(d), BUF_SIZE, VRING_DESC_F_WRITE, 0);
		publish(t, Q_RX, (uint16_t)d);
	}
	kick(t, Q_RX);
}

/* A 60-byte frame from @src to @dst, after a zero net_hdr, in TX buffer slot @slot. */
static void tx_frame(struct t *t, unsigned slot, const uint8_t dst[6], const uint8_t src[6])
{
	uint8_t *p = g(t, buf_gpa(QSIZE + slot));

	memset(p, 0, VNET_HDR_LEN + 60);
	memcpy(p + VNET_HDR_LEN, dst, 6);
	memcpy(p + VNET_HDR_LEN + 6, src, 6);
	p[VNET_HDR_LEN + 12] = 0x88; /* local experimental ethertype */
	p[VNET_HDR_LEN + 13] = 0xb5;
	for (unsigned i = 14; i < 60; i++)
		p[VNET_HDR_LEN + i] = (uint8_t)i;
	set_desc(t, Q_TX, slot, buf_gpa(QSIZE + slot), VNET_HDR_LEN + 60, 0, 0);
	publish(t, Q_TX, (uint16_t)slot);
	kick(t, Q_TX);
}

static const uint8_t mac_a[6] = { 0x52, 0x54, 0, 0, 0, 1 };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0, 0, 0, 2 };

#define BASE_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | \
		       VIRTIO_BIT(VNET_F_MAC) | VIRTIO_BIT(VNET_F_MRG_RXBUF) | \
		       VIRTIO_BIT(VNET_F_STATUS))

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
