/* SPDX-License-Identifier: MIT */
/*
 * The device side of a split virtqueue, shared by the virtio models.
 *
 * One thread owns a virtqueue while it runs (the device's poller); the
 * control path changes its configuration only while that thread is parked
 * (see the models' quiesce), so nothing here takes a lock. The rings live
 * in guest memory, which the guest may change at any moment: every value
 * read from there is read once into a local and checked before use, and
 * anything that breaks the rules marks the queue broken (the model then
 * reports NEEDS_RESET). Guest memory is reached only through the DMA table.
 */
#ifndef IOMED_DEVICES_VIRTQUEUE_H
#define IOMED_DEVICES_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/virtio/virtio.h"
#include "vfio-user/dma.h"

#define VQ_MAX_SIZE 32768

struct virtqueue {
	/* Configuration, set by the control path before vq_map. */
	uint16_t size;          /* entries, a power of two */
	uint64_t desc_addr, avail_addr, used_addr;
	bool event_idx;         /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;          /* VIRTIO_F_INDIRECT_DESC negotiated */
	const struct vfu_dma *dma;

	/* The rings, mapped by vq_map. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;

	/* Device-side state. */
	uint16_t last_avail;    /* next avail entry to pop */
	uint16_t shadow_avail;  /* avail->idx as last read */
	uint16_t used_idx;      /* next used entry to fill (published by vq_flush) */
	uint16_t signalled_used; /* used idx at the last interrupt decision */
	bool signalled_valid;
	bool notify_enabled;    /* guest kicks wanted */
	bool broken;
	const char *why;        /* what broke it, for the log */
};

/* A popped descriptor chain: readable iovecs first, then writable ones. */
struct vq_chain {
	uint16_t head;
	unsigned out_num, in_num;
	uint32_t out_len, in_len;
	struct iovec *iov;      /* caller's array of max_iov entries */
	unsigned max_iov;
};

/* Forget all device-side state (device reset, before a new vq_map). */
void vq_reset(struct virtqueue *vq);

/*
 * Translate the three ring areas through vq->dma. Returns 0, -EINVAL for a
 * bad size or misaligned ring (the queue is broken), -EFAULT when a ring is
 * not mapped (yet): the caller may try again after the next DMA change.
 */
int vq_map(struct virtqueue *vq);
void vq_unmap(struct virtqueue *vq);
static inline bool vq_ready(const struct virtqueue *vq)
{
	return vq->desc && !vq->broken;
}

/*
 * Pop the next available chain into @c. Returns 1, 0 when the ring is
 * empty, -EIO when the queue is (now) broken.
 */
int vq_pop(struct virtqueue *vq, struct vq_chain *c);
/* Give back the last @n popped chains (not yet pushed), e.g. no room for a frame. */
void vq_unpop(struct virtqueue *vq, uint16_t n);
/* Are there chains to pop? (Reads avail->idx; false when broken.) */
bool vq_avail(struct virtqueue *vq);

/* Fill the next used entry; visible to the guest after vq_flush. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);
/* Publish the used entries (release order: entries before the index). */
void vq_flush(struct virtqueue *vq);
/*
 * After vq_flush: should the guest be interrupted? Honours used_event
 * (EVENT_IDX) or NO_INTERRUPT, and remembers what it decided on.
 */
bool vq_needs_interrupt(struct virtqueue *vq);

/*
 * Guest kicks on or off. Turning them on returns true when chains arrived
 * meanwhile (the caller must poll again rather than sleep).
 */
bool vq_set_notify(struct virtqueue *vq, bool enable);

/* Mark broken (first reason wins). */
void vq_break(struct virtqueue *vq, const char *why);

#endif
