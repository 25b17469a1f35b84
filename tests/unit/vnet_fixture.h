/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net unit tests' fixture: the model driven like a guest driver
 * would, without a socket. Config space and BAR0 through the device's region
 * callbacks, guest memory a memfd in the DMA table, MSI-X vectors eventfds in
 * the IRQ table, the loopback port behind it (frames come back with the MACs
 * swapped). Include after <cmocka.h>.
 */
#ifndef IOMED_TESTS_VNET_FIXTURE_H
#define IOMED_TESTS_VNET_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/virtio-net/vnet.h"
#include "model_harness.h"
#include "vfio-user/wire.h"

#define GPA 0x100000ull
#define MEM_SIZE 0x100000ull
#define QSIZE 16
#define Q_RX 0
#define Q_TX 1
#define BUF_OFF 0x40000ull
#define BUF_SIZE 2048
#define Q_CTRL 2
#define NVEC 4 /* config + rx + tx + ctrl of one pair */

struct t {
	struct model_h m;
	struct vfu_device *vfu;
	uint8_t *mem;
	uint16_t avail_idx[3];
	uint16_t next_buf;
	unsigned cap[5]; /* config offset of each virtio capability, by cfg_type */
};

extern const uint8_t mac_a[6]; /* the device's MAC */
extern const uint8_t mac_b[6];

#define BASE_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | \
		       VIRTIO_BIT(VNET_F_MAC) | VIRTIO_BIT(VNET_F_MRG_RXBUF) | \
		       VIRTIO_BIT(VNET_F_STATUS))

/* Guest addresses: queue q's rings at ring_gpa(q, 0 desc / 1 avail / 2 used), buffer i at
 * buf_gpa(i). */
uint64_t ring_gpa(unsigned q, unsigned part);
void *g(struct t *t, uint64_t gpa);
void bar_w(struct t *t, uint64_t off, uint32_t v, uint32_t len);
uint32_t bar_r(struct t *t, uint64_t off, uint32_t len);
uint8_t status(struct t *t);
void cfg_read(struct t *t, uint8_t *buf);
/* cmocka fixtures: a device on the loopback port, guest memory, MSI-X eventfds. */
int setup(void **state);
int teardown(void **state);
/* The driver's side. bring_up: reset, handshake, RX/TX (and control with CTRL_VQ), DRIVER_OK. */
uint64_t device_features(struct t *t);
void set_features(struct t *t, uint64_t f);
void setup_queue(struct t *t, unsigned q, uint16_t vector);
void bring_up(struct t *t, uint64_t features);
void set_desc(struct t *t, unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
	      uint16_t next);
void publish(struct t *t, unsigned q, uint16_t head);
void kick(struct t *t, unsigned q);
struct vring_used *used(struct t *t, unsigned q);
bool wait_used(struct t *t, unsigned q, uint16_t idx);
bool wait_irq(struct t *t, unsigned vec);
uint64_t buf_gpa(unsigned i);
void rx_post(struct t *t, unsigned n);
void tx_frame(struct t *t, unsigned slot, const uint8_t dst[6], const uint8_t src[6]);

#endif
