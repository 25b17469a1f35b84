// SPDX-License-Identifier: MIT
/*
 * virtio-net: the common configuration structure (virtio 1.2, 4.1.4.3),
 * device status and feature negotiation. Server thread only; anything the
 * poller reads is changed with the poller parked or stopped.
 */
#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "devices/virtio-net/vnet.h"

struct field {
	uint8_t off, size;
};

/* Every register of struct virtio_pci_common_cfg, in order. */
static const struct field fields[] = {
	{ VIRTIO_PCI_COMMON_DFSELECT, 4 }, { VIRTIO_PCI_COMMON_DF, 4 },
	{ VIRTIO_PCI_COMMON_GFSELECT, 4 }, { VIRTIO_PCI_COMMON_GF, 4 },
	{ VIRTIO_PCI_COMMON_MSIX, 2 }, { VIRTIO_PCI_COMMON_NUMQ, 2 },
	{ VIRTIO_PCI_COMMON_STATUS, 1 }, { VIRTIO_PCI_COMMON_CFGGENERATION, 1 },
	{ VIRTIO_PCI_COMMON_Q_SELECT, 2 }, { VIRTIO_PCI_COMMON_Q_SIZE, 2 },
	{ VIRTIO_PCI_COMMON_Q_MSIX, 2 }, { VIRTIO_PCI_COMMON_Q_ENABLE, 2 },
	{ VIRTIO_PCI_COMMON_Q_NOFF, 2 }, { VIRTIO_PCI_COMMON_Q_DESCLO, 4 },
	{ VIRTIO_PCI_COMMON_Q_DESCHI, 4 }, { VIRTIO_PCI_COMMON_Q_AVAILLO, 4 },
	{ VIRTIO_PCI_COMMON_Q_AVAILHI, 4 }, { VIRTIO_PCI_COMMON_Q_USEDLO, 4 },
	{ VIRTIO_PCI_COMMON_Q_USEDHI, 4 },
};

static void put(uint8_t *img, unsigned off, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		img[off + i] = v >> (8 * i);
}

static uint64_t get(const uint8_t *img, unsigned off, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)img[off + i] << (8 * i);
	return v;
}

static struct vnet_queue_cfg *selected(struct vnet *v)
{
	return v->qsel < v->nqueues ? &v->q[v->qsel] : NULL;
}

static uint8_t status(struct vnet *v)
{
	return __atomic_load_n(&v->status, __ATOMIC_ACQUIRE);
}

static void queue_image(struct vnet *v, uint8_t *img)
{
	struct vnet_queue_cfg *q = selected(v);

	if (!q) {
		put(img, VIRTIO_PCI_COMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR, 2);
		return;
	}
	put(img, VIRTIO_PCI_COMMON_Q_SIZE, q->size, 2);
	put(img, VIRTIO_PCI_COMMON_Q_MSIX, q->vector, 2);
	put(img, VIRTIO_PCI_COMMON_Q_ENABLE, q->enabled, 2);
	put(img, VIRTIO_PCI_COMMON_Q_NOFF, v->qsel, 2);
	put(img, VIRTIO_PCI_COMMON_Q_DESCLO, q->desc, 8);
	put(img, VIRTIO_PCI_COMMON_Q_AVAILLO, q->avail, 8);
	put(img, VIRTIO_PCI_COMMON_Q_USEDLO, q->used, 8);
}

static void image(struct vnet *v, uint8_t *img)
{
	uint64_t df = v->dfselect < 2 ? v->host_features >> (32 * v->dfselect) : 0;
	uint64_t gf = v->gfselect < 2 ? v->guest_features >> (32 * v->gfselect) : 0;

	memset(img, 0, VIRTIO_PCI_COMMON_SIZE);
	put(img, VIRTIO_PCI_COMMON_DFSELECT, v->dfselect, 4);
	put(img, VIRTIO_PCI_COMMON_DF, (uint32_t)df, 4);
	put(img, VIRTIO_PCI_COMMON_GFSELECT, v->gfselect, 4);
	put(img, VIRTIO_PCI_COMMON_GF, (uint32_t)gf, 4);
	put(img, VIRTIO_PCI_COMMON_MSIX, v->config_vector, 2);
	put(img, VIRTIO_PCI_COMMON_NUMQ, v->nqueues, 2);
	put(img, VIRTIO_PCI_COMMON_STATUS, status(v), 1);
	put(img, VIRTIO_PCI_COMMON_Q_SELECT, v->qsel, 2);
	queue_image(v, img);
}

void vnet_common_read(struct vnet *v, uint64_t off, void *buf, uint32_t len)
{
	uint8_t img[VIRTIO_PCI_COMMON_SIZE];

	memset(buf, 0, len);
	if (off >= sizeof(img))
		return;
	image(v, img);
	memcpy(buf, img + off, len < sizeof(img) - off ? len : sizeof(img) - off);
}

/* The vectors the driver may name: one per queue plus config (see vnet.c). */
static uint16_t valid_vector(struct vnet *v, uint64_t vec)
{
	/* A refused vector reads back as NO_VECTOR: that is how drivers learn of it. */
	return vec < v->fn.msix.nvec ? (uint16_t)vec : VIRTIO_MSI_NO_VECTOR;
}

static bool features_ok(struct vnet *v)
{
	uint64_t f = v->guest_features;

	if (f & ~v->host_features || !(f & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
		return false;
	if ((vnet_has(f, VNET_F_GUEST_TSO4) || vnet_has(f, VNET_F_GUEST_TSO6)) &&
	    !vnet_has(f, VNET_F_GUEST_CSUM))
		return false;
	if ((vnet_has(f, VNET_F_HOST_TSO4) || vnet_has(f, VNET_F_HOST_TSO6)) &&
	    !vnet_has(f, VNET_F_CSUM))
		return false;
	if ((vnet_has(f, VNET_F_MQ) || vnet_has(f, VNET_F_CTRL_RX) ||
	     vnet_has(f, VNET_F_CTRL_MAC_ADDR)) && !vnet_has(f, VNET_F_CTRL_VQ))
		return false;
	return true;
}

static void status_write(struct vnet *v, uint8_t val)
{
	uint8_t old = status(v), next;
	bool feat_ok = features_ok(v);

	if (!val) {
		vnet_reset(v);
		return;
	}
	/* NEEDS_RESET belongs to the device: keep it, whatever the driver writes. */
	do {
		next = (val & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET);
		if ((next & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
		    !feat_ok)
			next &= ~VIRTIO_STATUS_FEATURES_OK;
	} while (!__atomic_compare_exchange_n(&v->status, &old, next, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(next & VIRTIO_STATUS_FEATURES_OK))
		pr_warn_rl("%s: driver features %#llx refused", v->name,
			   (unsigned long long)v->guest_features);
	if ((next & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
	    (next & VIRTIO_STATUS_FEATURES_OK) && !v->dp.pt.running && vnet_dp_start(v))
		vnet_needs_reset(v, VNET_MAX_QUEUES);
}

static void features_write(struct vnet *v, uint32_t val)
{
	unsigned shift = 32 * v->gfselect;

	/* Frozen once FEATURES_OK is accepted (3.1.1). */
	if (v->gfselect >= 2 || (status(v) & VIRTIO_STATUS_FEATURES_OK))
		return;
	v->guest_features &= ~(0xffffffffull << shift);
	v->guest_features |= (uint64_t)val << shift;
}

/* Vectors may change while the poller runs: swap them with it parked. */
static void vector_write(struct vnet *v, uint16_t *reg, uint64_t val)
{
	bool live = v->dp.pt.running;

	if (live)
		vnet_dp_quiesce(v);
	*reg = valid_vector(v, val);
	if (live) {
		for (unsigned i = 0; i < v->nqueues; i++)
			v->dp.vector[i] = v->q[i].vector;
		vnet_dp_resume(v);
	}
}

static void set_half(uint64_t *reg, unsigned hi, uint32_t val)
{
	*reg = hi ? (*reg & 0xffffffffull) | (uint64_t)val << 32
		  : (*reg & ~0xffffffffull) | val;
}

/* Queue layout is frozen after DRIVER_OK: the poller took its copy then. */
static void queue_write(struct vnet *v, unsigned off, uint64_t val)
{
	struct vnet_queue_cfg *q = selected(v);

	if (!q)
		return;
	if (off == VIRTIO_PCI_COMMON_Q_MSIX) {
		vector_write(v, &q->vector, val);
		return;
	}
	if (status(v) & VIRTIO_STATUS_DRIVER_OK)
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		if (val && val <= VNET_QUEUE_SIZE)
			q->size = (uint16_t)val;
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE: q->enabled = val == 1; break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		set_half(&q->desc, off == VIRTIO_PCI_COMMON_Q_DESCHI, (uint32_t)val);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		set_half(&q->avail, off == VIRTIO_PCI_COMMON_Q_AVAILHI, (uint32_t)val);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		set_half(&q->used, off == VIRTIO_PCI_COMMON_Q_USEDHI, (uint32_t)val);
		break;
	default: break;
	}
}

static void field_write(struct vnet *v, unsigned off, uint64_t val)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: v->dfselect = (uint32_t)val; break;
	case VIRTIO_PCI_COMMON_GFSELECT: v->gfselect = (uint32_t)val; break;
	case VIRTIO_PCI_COMMON_GF: features_write(v, (uint32_t)val); break;
	case VIRTIO_PCI_COMMON_MSIX: vector_write(v, &v->config_vector, val); break;
	case VIRTIO_PCI_COMMON_STATUS: status_write(v, (uint8_t)val); break;
	case VIRTIO_PCI_COMMON_Q_SELECT: v->qsel = (uint16_t)val; break;
	default: queue_write(v, off, val); break;
	}
}

/*
 * Writes land on an image of the structure; each register the write covers
 * whole is then applied. Partial writes of a register are dropped.
 */
void vnet_common_write(struct vnet *v, uint64_t off, const void *buf, uint32_t len)
{
	uint8_t img[VIRTIO_PCI_COMMON_SIZE];

	if (off >= sizeof(img) || len > sizeof(img) - off)
		return;
	image(v, img);
	memcpy(img + off, buf, len);
	for (unsigned i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *fl = &fields[i];

		if (fl->off >= off && fl->off + fl->size <= off + len)
			field_write(v, fl->off, get(img, fl->off, fl->size));
	}
}

void vnet_reset(struct vnet *v)
{
	vnet_dp_stop(v);
	v->dfselect = v->gfselect = 0;
	v->guest_features = 0;
	v->config_vector = VIRTIO_MSI_NO_VECTOR;
	v->qsel = 0;
	for (unsigned i = 0; i < VNET_MAX_QUEUES; i++)
		v->q[i] = (struct vnet_queue_cfg){ .size = VNET_QUEUE_SIZE,
						   .vector = VIRTIO_MSI_NO_VECTOR };
	__atomic_store_n(&v->isr, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&v->status, 0, __ATOMIC_RELEASE);
}
