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
	assert_true(gpa >= GPA && gpa < GPA + MEM_SIZE);
	return t->mem + (gpa - GPA);
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

static void irqs_setup(struct t *t)
{
	uint32_t counts[VFU_PCI_NUM_IRQS], flags[VFU_PCI_NUM_IRQS];
	struct vfu_irq_set set = {
		.argsz = sizeof(set), .flags = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER,
		.index = VFU_PCI_MSIX, .start = 0, .count = NVEC,
	};
	int fds[NVEC];

	for (unsigned i = 0; i < VFU_PCI_NUM_IRQS; i++) {
		counts[i] = t->vfu->irqs[i].count;
		flags[i] = t->vfu->irqs[i].flags;
	}
	assert_int_equal(counts[VFU_PCI_MSIX], 2 * 1 + 1 + 1);
	assert_int_equal(vfu_irqs_init(&t->vfu->irq, counts, flags), 0);
	for (unsigned i = 0; i < NVEC; i++) {
		t->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		fds[i] = dup(t->efd[i]);
	}
	assert_int_equal(vfu_irqs_set(&t->vfu->irq, &set, NULL, 0, fds, NVEC), 0);
}

int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	char err[256] = "";
	int fd;

	assert_int_equal(opts_parse(&t->o, "virtio-net,net=loopback,mac=52:54:00:00:00:01,poll-us=0",
				    err, sizeof(err)), 0);
	snprintf(t->dev.id, sizeof(t->dev.id), "ut0");
	t->dev.model = iomed_model_find("virtio-net");
	assert_non_null(t->dev.model);
	assert_int_equal(t->dev.model->create(&t->dev, &t->o, err, sizeof(err)), 0);
	assert_null(opts_first_unused(&t->o));
	t->vfu = t->dev.vfu;
	vfu_dma_init(&t->vfu->dma, 16);
	fd = memfd_create("iomed-test-vnet", MFD_CLOEXEC);
	assert_int_equal(ftruncate(fd, MEM_SIZE), 0);
	t->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(t->mem != MAP_FAILED);
	assert_int_equal(vfu_dma_add(&t->vfu->dma, GPA, MEM_SIZE, fd, 0,
				     VFU_DMA_READ | VFU_DMA_WRITE), 0);
	irqs_setup(t);
	*state = t;
	return 0;
}

int teardown(void **state)
{
	struct t *t = *state;

	/* As the daemon does: the server's tables go first (with the poller stopped). */
	t->vfu->ops->reset(t->vfu->opaque);
	vfu_dma_fini(&t->vfu->dma);
	vfu_irqs_fini(&t->vfu->irq);
	t->dev.model->destroy(&t->dev);
	for (unsigned i = 0; i < NVEC; i++)
		close(t->efd[i]);
	munmap(t->mem, MEM_SIZE);
	opts_free(&t->o);
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
	struct pollfd p = { .fd = t->efd[vec], .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, 2000) != 1)
		return false;
	return read(t->efd[vec], &v, sizeof(v)) == sizeof(v);
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

