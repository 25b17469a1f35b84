/* SPDX-License-Identifier: MIT */
/*
 * A small virtio-net driver (modern virtio-pci, split rings) over the
 * in-tree vfio-user client, for benchmarks: guest memory is a memfd mapped
 * with DMA_MAP, the virtio structures are found through the vendor
 * capabilities in config space and reached through the BARs (the mmapped
 * area when the device offers one, REGION_READ/WRITE otherwise; kicks are
 * posted writes then, as QEMU sends them), interrupts are MSI-X eventfds
 * given with SET_IRQS. One RX and one TX queue (pair 0); no control queue.
 *
 * The ring helpers follow the driver's side of virtio 1.2, 2.7: entries
 * are added to the avail ring and published with one index store per
 * batch; the device is kicked only when it asked for it (avail_event with
 * EVENT_IDX, else the used ring's NO_NOTIFY flag).
 */
#ifndef IOMED_BENCH_VNET_DRV_H
#define IOMED_BENCH_VNET_DRV_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio.h"
#include "vfio-user/client.h"

#define VDRV_RX 0
#define VDRV_TX 1
#define VDRV_NET_HDR 12 /* virtio_net_hdr_v1 */

/* Where one virtio structure lives: a BAR, an offset, and our mapping of it if any. */
struct vdrv_reg {
	unsigned bar;
	uint32_t off, len;
	volatile uint8_t *map;
};

struct vdrv_queue {
	unsigned index;
	uint16_t size;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t avail_idx;   /* next avail entry (published by vdrv_publish) */
	uint16_t last_used;   /* next used entry to reap */
	uint16_t notify_off;  /* queue_notify_off */
	uint16_t vector;
	int irq_fd;
	uint64_t kicks;
};

struct vdrv {
	struct vfu_client *c;
	int memfd;
	uint8_t *mem;
	uint64_t gpa, mem_size, mem_used;
	struct vfu_client_region bar[6];
	struct vdrv_reg common, notify, isr, devcfg;
	uint32_t notify_mult;
	unsigned msix_cap, nvec;
	uint64_t features;
	bool event_idx;
	uint8_t mac[6];
	struct vdrv_queue q[2];
	int cfg_irq_fd;
};

/*
 * Connect to the virtio-net device at @socket, map @mem_size bytes of guest
 * memory and find the virtio structures. 0 or -errno; @err says what failed.
 */
int vdrv_open(struct vdrv *d, const char *socket, uint64_t mem_size, char *err, size_t errlen);
/*
 * Reset the device, negotiate @want (masked by what it offers; VERSION_1
 * required), set up RX and TX with @qsize entries and a vector each, and
 * set DRIVER_OK. 0 or -errno.
 */
int vdrv_start(struct vdrv *d, uint64_t want, uint16_t qsize, char *err, size_t errlen);
/* Reset the device and drop everything; safe on a half-opened driver. */
void vdrv_close(struct vdrv *d);

/* @size bytes of guest memory aligned to @align; returns the pointer, *gpa its address. */
void *vdrv_alloc(struct vdrv *d, uint64_t size, uint64_t align, uint64_t *gpa);

/* Write descriptor @id of @q. */
void vdrv_set_desc(struct vdrv_queue *q, uint16_t id, uint64_t gpa, uint32_t len,
		   uint16_t flags);
/* Queue chain @id in the avail ring; visible to the device after vdrv_publish. */
static inline void vdrv_add(struct vdrv_queue *q, uint16_t id)
{
	q->avail->ring[q->avail_idx++ & (q->size - 1)] = id;
}
/* Publish the added entries, and kick if the device wants a kick. 0 or -errno. */
int vdrv_publish(struct vdrv *d, struct vdrv_queue *q);
/* Reap the next used entry: 1 (and *id, *len), or 0 when none. */
int vdrv_reap(struct vdrv_queue *q, uint16_t *id, uint32_t *len);
/*
 * Interrupts for @q on (used_event at the next entry; true if entries came
 * in meanwhile: poll instead of sleeping) or off (used_event far ahead).
 */
bool vdrv_irq(struct vdrv *d, struct vdrv_queue *q, bool on);
/* Read the device status register. */
uint8_t vdrv_status(struct vdrv *d);

#endif
