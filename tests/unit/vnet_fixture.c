// SPDX-License-Identifier: MIT
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

const uint8_t mac_a[6] = { 0x52, 0x54, 0, 0, 0, 1 };
const uint8_t mac_b[6] = { 0x52, 0x54, 0, 0, 0, 2 };

uint64_t ring_gpa(unsigned q, unsigned part)
{
	return GPA + q * 0x4000ull + part * 0x1000ull;
}

void *g(struct t *t, uint64_t gpa)
{
	return model_h_mem(&t->m, gpa);
}

/* ---- device access ---- */

void bar_w(struct t *t, uint64_t off, uint32_t v, uint32_t len)
{
	assert_int_equal(t->vfu->ops->region_write(t->vfu->opaque, VNET_REGS_BAR, off, &v, len), 0);
}

uint32_t bar_r(struct t *t, uint64_t off, uint32_t len)
{
	uint32_t v = 0;

	assert_int_equal(t->vfu->ops->region_read(t->vfu->opaque, VNET_REGS_BAR, off, &v, len), 0);
	return v;
}

uint8_t status(struct t *t)
{
	return (uint8_t)bar_r(t, VIRTIO_PCI_COMMON_STATUS, 1);
}

void cfg_read(struct t *t, uint8_t *buf)
{
	assert_int_equal(t->vfu->ops->region_read(t->vfu->opaque, VFU_PCI_CONFIG, 0, buf, 256), 0);
}

/* ---- fixture ---- */

int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	model_h_init(&t->m, "virtio-net", "virtio-net,net=loopback,mac=52:54:00:00:00:01,poll-us=0",
		     GPA, MEM_SIZE);
	assert_int_equal(t->m.nvec, NVEC);
	t->vfu = t->m.vfu;
	t->mem = t->m.mem;
	*state = t;
	return 0;
}

int teardown(void **state)
{
	struct t *t = *state;

	model_h_fini(&t->m);
	free(t);
	return 0;
}

/* ---- driver side ---- */

uint64_t device_features(struct t *t)
{
	uint64_t f;

	bar_w(t, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	f = bar_r(t, VIRTIO_PCI_COMMON_DF, 4);
	bar_w(t, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	return f | (uint64_t)bar_r(t, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

void set_features(struct t *t, uint64_t f)
{
	bar_w(t, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	bar_w(t, VIRTIO_PCI_COMMON_GF, (uint32_t)f, 4);
	bar_w(t, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	bar_w(t, VIRTIO_PCI_COMMON_GF, (uint32_t)(f >> 32), 4);
}

void setup_queue(struct t *t, unsigned q, uint16_t vector)
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

/* The driver's side of the handshake (3.1.1) for pair 0, and the control queue with CTRL_VQ. */
void bring_up(struct t *t, uint64_t features)
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
	if (features & VIRTIO_BIT(VNET_F_CTRL_VQ))
		setup_queue(t, Q_CTRL, 3);
	t->next_buf = 0;
	bar_w(t, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					       VIRTIO_STATUS_FEATURES_OK |
					       VIRTIO_STATUS_DRIVER_OK, 1);
}

void set_desc(struct t *t, unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
	      uint16_t next)
{
	struct vring_desc d = { addr, len, flags, next };

	memcpy(g(t, ring_gpa(q, 0) + 16ull * i), &d, sizeof(d));
}

void publish(struct t *t, unsigned q, uint16_t head)
{
	struct vring_avail *a = g(t, ring_gpa(q, 1));

	a->ring[t->avail_idx[q] % QSIZE] = head;
	__atomic_store_n(&a->idx, ++t->avail_idx[q], __ATOMIC_RELEASE);
}

void kick(struct t *t, unsigned q)
{
	bar_w(t, VNET_NOTIFY_OFF + VNET_NOTIFY_MULT * q, q, 2);
}

struct vring_used *used(struct t *t, unsigned q)
{
	return g(t, ring_gpa(q, 2));
}

bool wait_used(struct t *t, unsigned q, uint16_t idx)
{
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(&used(t, q)->idx, __ATOMIC_ACQUIRE) == idx)
			return true;
		usleep(1000);
	}
	return false;
}

bool wait_irq(struct t *t, unsigned vec)
{
	return model_h_irq(&t->m, vec, 2000);
}

uint64_t buf_gpa(unsigned i)
{
	return GPA + BUF_OFF + (uint64_t)i * BUF_SIZE;
}

void rx_post(struct t *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned d = t->next_buf++ % QSIZE;

		set_desc(t, Q_RX, d, buf_gpa(d), BUF_SIZE, VRING_DESC_F_WRITE, 0);
		publish(t, Q_RX, (uint16_t)d);
	}
	kick(t, Q_RX);
}

/* A 60-byte frame from @src to @dst, after a zero net_hdr, in TX buffer slot @slot. */
void tx_frame(struct t *t, unsigned slot, const uint8_t dst[6], const uint8_t src[6])
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

