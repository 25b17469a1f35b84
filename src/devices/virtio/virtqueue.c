// SPDX-License-Identifier: MIT
/*
 * Split virtqueue, device side. See virtqueue.h for the threading rules.
 * Guest-written ring words are loaded with __atomic builtins: the guest
 * changes them concurrently, and a plain load could be torn or re-read.
 */
#include "devices/virtio/virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "vfio-user/wire.h"

static uint16_t load16(const uint16_t *p, int order)
{
	return le16toh(__atomic_load_n(p, order));
}

static void store16(uint16_t *p, uint16_t v, int order)
{
	__atomic_store_n(p, htole16(v), order);
}

void vq_break(struct virtqueue *vq, const char *why)
{
	if (vq->broken)
		return;
	vq->broken = true;
	vq->why = why;
}

void vq_reset(struct virtqueue *vq)
{
	vq_unmap(vq);
	vq->last_avail = 0;
	vq->shadow_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->notify_enabled = true;
	vq->broken = false;
	vq->why = NULL;
}

void vq_unmap(struct virtqueue *vq)
{
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
}

static bool size_ok(uint16_t size)
{
	return size && !(size & (size - 1));
}

int vq_map(struct virtqueue *vq)
{
	const struct vfu_dma *dma = vq->dma;
	unsigned n = vq->size;

	vq_unmap(vq);
	if (!size_ok(vq->size) || vq->size > VQ_MAX_SIZE) {
		vq_break(vq, "queue size not a power of two up to 32768");
		return -EINVAL;
	}
	/* Alignments from section 2.7: 16 for descriptors, 2 avail, 4 used. */
	if ((vq->desc_addr & 15) || (vq->avail_addr & 1) || (vq->used_addr & 3)) {
		vq_break(vq, "misaligned ring");
		return -EINVAL;
	}
	vq->desc = vfu_dma_translate(dma, vq->desc_addr, vring_desc_size(n), VFU_DMA_READ);
	vq->avail = vfu_dma_translate(dma, vq->avail_addr, vring_avail_size(n), VFU_DMA_READ);
	vq->used = vfu_dma_translate(dma, vq->used_addr, vring_used_size(n),
				     VFU_DMA_READ | VFU_DMA_WRITE);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq_unmap(vq);
		return -EFAULT;
	}
	return 0;
}

/* used_event lives after the avail ring, avail_event after the used ring. */
static uint16_t *used_event(struct virtqueue *vq)
{
	return &vq->avail->ring[vq->size];
}

static uint16_t *avail_event(struct virtqueue *vq)
{
	return (uint16_t *)&vq->used->ring[vq->size];
}

/* Refresh shadow_avail; false (and broken) if the guest moved it too far. */
static bool read_avail_idx(struct virtqueue *vq)
{
	uint16_t idx = load16(&vq->avail->idx, __ATOMIC_ACQUIRE);

	if ((uint16_t)(idx - vq->last_avail) > vq->size) {
		vq_break(vq, "avail index moved by more than the ring size");
		return false;
	}
	vq->shadow_avail = idx;
	return true;
}

bool vq_avail(struct virtqueue *vq)
{
	if (!vq_ready(vq))
		return false;
	if (vq->shadow_avail != vq->last_avail)
		return true;
	return read_avail_idx(vq) && vq->shadow_avail != vq->last_avail;
}

/* State of one chain walk. */
struct walk {
	uint64_t table;    /* guest address of an indirect table, 0 for the ring */
	uint32_t tsize;    /* entries in the current table */
	uint32_t count;    /* descriptors seen, over both tables */
	uint64_t out_len, in_len;
};

/* Copy descriptor @idx of the current table once; everything after uses the copy. */
static int fetch(struct virtqueue *vq, const struct walk *w, uint16_t idx, struct vring_desc *d)
{
	if (!w->table)
		memcpy(d, &vq->desc[idx], sizeof(*d));
	else if (vfu_dma_read(vq->dma, w->table + 16ull * idx, d, sizeof(*d)))
		return -EFAULT;
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
	return 0;
}

static const char *enter_indirect(struct virtqueue *vq, struct walk *w,
				  const struct vring_desc *d)
{
	if (!vq->indirect)
		return "indirect descriptor not negotiated";
	if (w->table)
		return "nested indirect descriptor";
	if (d->flags & VRING_DESC_F_NEXT)
		return "indirect descriptor with NEXT";
	if (!d->len || d->len % 16 || d->len / 16 > vq->size)
		return "bad indirect table length";
	if (d->addr & 15 || d->addr + d->len < d->addr)
		return "bad indirect table address";
	w->table = d->addr;
	w->tsize = d->len / 16;
	return NULL;
}

/* Append one buffer descriptor's memory to the chain. */
static const char *add_buffer(struct virtqueue *vq, struct walk *w, struct vq_chain *c,
			      const struct vring_desc *d)
{
	bool writable = d->flags & VRING_DESC_F_WRITE;
	unsigned used = c->out_num + c->in_num;
	int n;

	if (!writable && c->in_num)
		return "readable descriptor after a writable one";
	if (writable)
		w->in_len += d->len;
	else
		w->out_len += d->len;
	if (w->in_len > UINT32_MAX || w->out_len > UINT32_MAX)
		return "chain length overflows";
	if (!d->len)
		return NULL;
	n = vfu_dma_to_iov(vq->dma, d->addr, d->len, writable ? VFU_DMA_WRITE : VFU_DMA_READ,
			   c->iov + used, (int)(c->max_iov - used));
	if (n == -ENOSPC)
		return "chain needs too many iovecs";
	if (n < 0)
		return "descriptor outside guest memory";
	if (writable)
		c->in_num += n;
	else
		c->out_num += n;
	return NULL;
}

static const char *walk_chain(struct virtqueue *vq, struct vq_chain *c, uint16_t idx)
{
	struct walk w = { .tsize = vq->size };
	struct vring_desc d;
	const char *why;

	for (;;) {
		if (idx >= w.tsize)
			return "descriptor index out of range";
		/* A chain is never longer than the ring (2.7.5.3.1): this stops loops. */
		if (++w.count > vq->size)
			return "descriptor chain longer than the ring";
		if (fetch(vq, &w, idx, &d))
			return "indirect table outside guest memory";
		if (d.flags & VRING_DESC_F_INDIRECT) {
			why = enter_indirect(vq, &w, &d);
			if (why)
				return why;
			idx = 0;
			continue;
		}
		why = add_buffer(vq, &w, c, &d);
		if (why)
			return why;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		idx = d.next;
	}
	c->out_len = (uint32_t)w.out_len;
	c->in_len = (uint32_t)w.in_len;
	return NULL;
}

int vq_pop(struct virtqueue *vq, struct vq_chain *c)
{
	uint16_t head;
	const char *why;

	if (!vq_avail(vq))
		return vq->broken ? -EIO : 0;
	head = load16(&vq->avail->ring[vq->last_avail & (vq->size - 1)], __ATOMIC_RELAXED);
	c->head = head;
	c->out_num = c->in_num = 0;
	c->out_len = c->in_len = 0;
	why = head < vq->size ? walk_chain(vq, c, head) : "avail ring head out of range";
	if (why) {
		vq_break(vq, why);
		return -EIO;
	}
	vq->last_avail++;
	return 1;
}

void vq_unpop(struct virtqueue *vq, uint16_t n)
{
	vq->last_avail -= n;
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem e = { .id = htole32(head), .len = htole32(len) };

	memcpy(&vq->used->ring[vq->used_idx & (vq->size - 1)], &e, sizeof(e));
	vq->used_idx++;
}

void vq_flush(struct virtqueue *vq)
{
	if (!vq_ready(vq))
		return;
	store16(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

bool vq_needs_interrupt(struct virtqueue *vq)
{
	uint16_t old = vq->signalled_used, now = vq->used_idx;
	bool valid = vq->signalled_valid;

	if (!vq_ready(vq) || (valid && old == now))
		return false;
	/* The used index store must be visible before we look at the guest's wishes. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = now;
	vq->signalled_valid = true;
	if (!vq->event_idx)
		return !(load16(&vq->avail->flags, __ATOMIC_RELAXED) & VRING_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	return vring_need_event(load16(used_event(vq), __ATOMIC_RELAXED), now, old);
}

/*
 * Kicks off: with EVENT_IDX simply stop moving avail_event (the driver only
 * kicks when its index crosses it), else set NO_NOTIFY. Kicks on: publish
 * where we are, then look again, because a chain the driver added before
 * it saw that sent no kick.
 */
bool vq_set_notify(struct virtqueue *vq, bool enable)
{
	if (!vq_ready(vq))
		return false;
	vq->notify_enabled = enable;
	if (!enable) {
		if (!vq->event_idx)
			store16(&vq->used->flags, VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
		return false;
	}
	if (!read_avail_idx(vq))
		return false;
	if (vq->event_idx)
		store16(avail_event(vq), vq->shadow_avail, __ATOMIC_RELAXED);
	else
		store16(&vq->used->flags, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!read_avail_idx(vq))
		return false;
	return vq->shadow_avail != vq->last_avail;
}
