// SPDX-License-Identifier: MIT
/*
 * The benchmark's virtio-net driver: probe (capabilities, BARs), the status
 * handshake of virtio 1.2, 3.1.1, queue setup, and the driver side of the
 * split rings. See vnet_drv.h.
 */
#include "vnet_drv.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pci/config.h"

#define GUEST_BASE 0x40000000ull
#define CFG_READ 256
#define NVEC 3 /* config, RX, TX */

/* ---- register access: through our mapping of the BAR, or messages ---- */

static int reg_read(struct vdrv *d, const struct vdrv_reg *r, uint32_t off, void *buf,
		    uint32_t len)
{
	if (off + len > r->len)
		return -EINVAL;
	if (!r->map)
		return vfu_client_region_read(d->c, VFU_PCI_BAR0 + r->bar, r->off + off, buf, len);
	/* One access of the register's width, as a CPU would make it. */
	switch (len) {
	case 1: *(uint8_t *)buf = *(volatile uint8_t *)(r->map + off); break;
	case 2: *(uint16_t *)buf = *(volatile uint16_t *)(r->map + off); break;
	case 4: *(uint32_t *)buf = *(volatile uint32_t *)(r->map + off); break;
	default: return -EINVAL;
	}
	return 0;
}

static int reg_write(struct vdrv *d, const struct vdrv_reg *r, uint32_t off, uint32_t v,
		     uint32_t len, bool posted)
{
	uint32_t le = htole32(v);

	if (off + len > r->len)
		return -EINVAL;
	if (!r->map && posted)
		return vfu_client_region_write_posted(d->c, VFU_PCI_BAR0 + r->bar, r->off + off,
						      &le, len);
	if (!r->map)
		return vfu_client_region_write(d->c, VFU_PCI_BAR0 + r->bar, r->off + off, &le,
					       len);
	switch (len) {
	case 1: *(volatile uint8_t *)(r->map + off) = (uint8_t)v; break;
	case 2: *(volatile uint16_t *)(r->map + off) = htole16((uint16_t)v); break;
	case 4: *(volatile uint32_t *)(r->map + off) = le; break;
	default: return -EINVAL;
	}
	return 0;
}

/* Common configuration registers; a failed read reads as all ones. */
static uint32_t common_rd(struct vdrv *d, uint32_t off, uint32_t len)
{
	uint32_t v = 0;

	if (reg_read(d, &d->common, off, &v, len))
		return 0xffffffff;
	return le32toh(v);
}

static int common_wr(struct vdrv *d, uint32_t off, uint32_t v, uint32_t len)
{
	return reg_write(d, &d->common, off, v, len, false);
}

uint8_t vdrv_status(struct vdrv *d)
{
	return (uint8_t)common_rd(d, VIRTIO_PCI_COMMON_STATUS, 1);
}

/* ---- probe ---- */

static uint32_t le32_at(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The first capability of each virtio structure type we use (4.1.4). */
static int find_caps(struct vdrv *d, const uint8_t *cfg, char *err, size_t errlen)
{
	struct vdrv_reg *want[5] = { NULL, &d->common, &d->notify, &d->isr, &d->devcfg };
	bool seen[5] = { false };
	unsigned p = cfg[PCI_CAPABILITY_LIST] & 0xfc, hops = 0;

	for (; p && p + 16 <= CFG_READ && hops < 48; p = cfg[p + 1] & 0xfc, hops++) {
		unsigned type = cfg[p + 3];

		if (cfg[p] == PCI_CAP_ID_MSIX) {
			d->msix_cap = p;
			d->nvec = ((cfg[p + PCI_MSIX_FLAGS] | cfg[p + PCI_MSIX_FLAGS + 1] << 8) &
				   PCI_MSIX_FLAGS_QSIZE) + 1;
			continue;
		}
		if (cfg[p] != PCI_CAP_ID_VNDR || type < 1 || type > 4 || seen[type] ||
		    cfg[p + 4] > 5)
			continue;
		seen[type] = true;
		want[type]->bar = cfg[p + 4];
		want[type]->off = le32_at(cfg + p + 8);
		want[type]->len = le32_at(cfg + p + 12);
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && p + 20 <= CFG_READ)
			d->notify_mult = le32_at(cfg + p + 16);
	}
	for (unsigned t = 1; t <= 4; t++) {
		if (!seen[t]) {
			snprintf(err, errlen, "no virtio capability of type %u", t);
			return -ENODEV;
		}
	}
	if (!d->msix_cap || d->nvec < NVEC) {
		snprintf(err, errlen, "no MSI-X capability with %u vectors", NVEC);
		return -ENODEV;
	}
	return 0;
}

/* Map the BAR behind @r if the device offers an mmappable area covering it. */
static int map_reg(struct vdrv *d, struct vdrv_reg *r)
{
	struct vfu_client_region *bar = &d->bar[r->bar];
	int ret;

	if (!bar->info.argsz) {
		ret = vfu_client_get_region_info(d->c, VFU_PCI_BAR0 + r->bar, bar);
		if (ret)
			return ret;
		if (bar->fd >= 0 && (bar->info.flags & VFU_REGION_FLAG_MMAP) &&
		    vfu_client_region_mmap(bar, PROT_READ | PROT_WRITE))
			fprintf(stderr, "vnet_drv: BAR%u: mmap failed, using messages\n", r->bar);
	}
	if ((uint64_t)r->off + r->len > bar->info.size)
		return -ERANGE;
	r->map = vfu_client_region_ptr(bar, r->off, r->len);
	return 0;
}

static int map_guest_memory(struct vdrv *d, uint64_t size)
{
	d->memfd = memfd_create("iomed-bench", MFD_CLOEXEC);
	if (d->memfd < 0 || ftruncate(d->memfd, (off_t)size))
		return -errno;
	d->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, d->memfd, 0);
	if (d->mem == MAP_FAILED) {
		d->mem = NULL;
		return -errno;
	}
	d->gpa = GUEST_BASE;
	d->mem_size = size;
	return vfu_client_dma_map(d->c, d->gpa, size, d->memfd, 0, VFU_DMA_READ | VFU_DMA_WRITE);
}

int vdrv_open(struct vdrv *d, const char *socket, uint64_t mem_size, char *err, size_t errlen)
{
	struct vdrv_reg *regs[] = { &d->common, &d->notify, &d->isr, &d->devcfg };
	uint8_t cfg[CFG_READ];
	uint16_t cmd;
	int ret;

	memset(d, 0, sizeof(*d));
	d->memfd = d->cfg_irq_fd = -1;
	for (unsigned i = 0; i < 6; i++)
		d->bar[i].fd = -1;
	for (unsigned i = 0; i < 2; i++)
		d->q[i].irq_fd = -1;
	ret = vfu_client_connect(&d->c, socket);
	if (!ret)
		ret = vfu_client_negotiate(d->c, NULL);
	if (ret) {
		snprintf(err, errlen, "%s: %s", socket, strerror(-ret));
		return ret;
	}
	ret = map_guest_memory(d, mem_size);
	if (ret) {
		snprintf(err, errlen, "guest memory (DMA_MAP of %llu bytes): %s",
			 (unsigned long long)mem_size, strerror(-ret));
		return ret;
	}
	ret = vfu_client_region_read(d->c, VFU_PCI_CONFIG, 0, cfg, sizeof(cfg));
	if (ret) {
		snprintf(err, errlen, "config space: %s", strerror(-ret));
		return ret;
	}
	if (le32_at(cfg) != (VIRTIO_PCI_VENDOR | (VIRTIO_PCI_DEVICE_BASE + 1u) << 16)) {
		snprintf(err, errlen, "%04x:%04x is not a modern virtio-net (1af4:1041)",
			 cfg[0] | cfg[1] << 8, cfg[2] | cfg[3] << 8);
		return -ENODEV;
	}
	ret = find_caps(d, cfg, err, errlen);
	if (ret)
		return ret;
	for (unsigned i = 0; i < 4; i++) {
		ret = map_reg(d, regs[i]);
		if (ret) {
			snprintf(err, errlen, "BAR%u: %s", regs[i]->bar, strerror(-ret));
			return ret;
		}
	}
	/* Memory decoding and bus mastering, as the guest's PCI core sets them. */
	cmd = htole16(cfg[PCI_COMMAND] | cfg[PCI_COMMAND + 1] << 8 | PCI_COMMAND_MEMORY |
		      PCI_COMMAND_MASTER);
	return vfu_client_region_write(d->c, VFU_PCI_CONFIG, PCI_COMMAND, &cmd, sizeof(cmd));
}

/* ---- start ---- */

void *vdrv_alloc(struct vdrv *d, uint64_t size, uint64_t align, uint64_t *gpa)
{
	uint64_t off = (d->mem_used + align - 1) & ~(align - 1);

	if (off > d->mem_size || size > d->mem_size - off)
		return NULL;
	d->mem_used = off + size;
	*gpa = d->gpa + off;
	memset(d->mem + off, 0, size);
	return d->mem + off;
}

static int set_status(struct vdrv *d, uint8_t s)
{
	int ret = common_wr(d, VIRTIO_PCI_COMMON_STATUS, s, 1);

	if (ret)
		return ret;
	return vdrv_status(d) == s ? 0 : -EIO;
}

static int negotiate(struct vdrv *d, uint64_t want, char *err, size_t errlen)
{
	uint64_t dev;
	uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	common_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	dev = common_rd(d, VIRTIO_PCI_COMMON_DF, 4);
	common_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	dev |= (uint64_t)common_rd(d, VIRTIO_PCI_COMMON_DF, 4) << 32;
	d->features = want & dev;
	if (!(d->features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		snprintf(err, errlen, "device features %#llx lack VERSION_1",
			 (unsigned long long)dev);
		return -ENOTSUP;
	}
	common_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	common_wr(d, VIRTIO_PCI_COMMON_GF, (uint32_t)d->features, 4);
	common_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	common_wr(d, VIRTIO_PCI_COMMON_GF, (uint32_t)(d->features >> 32), 4);
	if (set_status(d, s | VIRTIO_STATUS_FEATURES_OK)) {
		snprintf(err, errlen, "features %#llx refused", (unsigned long long)d->features);
		return -ENOTSUP;
	}
	d->event_idx = d->features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	return 0;
}

/* MSI-X: vector 0 for config changes, 1 for RX, 2 for TX; each an eventfd. */
static int setup_irqs(struct vdrv *d)
{
	int fds[NVEC];
	uint16_t ctl;
	int ret;

	d->cfg_irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	d->q[VDRV_RX].irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	d->q[VDRV_TX].irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	fds[0] = d->cfg_irq_fd;
	fds[1] = d->q[VDRV_RX].irq_fd;
	fds[2] = d->q[VDRV_TX].irq_fd;
	for (unsigned i = 0; i < NVEC; i++)
		if (fds[i] < 0)
			return -errno;
	ret = vfu_client_set_irqs(d->c, VFU_PCI_MSIX,
				  VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER, 0, NVEC,
				  fds, NVEC, NULL, 0);
	if (ret)
		return ret;
	ret = vfu_client_region_read(d->c, VFU_PCI_CONFIG, d->msix_cap + PCI_MSIX_FLAGS, &ctl,
				     sizeof(ctl));
	if (ret)
		return ret;
	ctl = htole16(le16toh(ctl) | PCI_MSIX_FLAGS_ENABLE);
	ret = vfu_client_region_write(d->c, VFU_PCI_CONFIG, d->msix_cap + PCI_MSIX_FLAGS, &ctl,
				      sizeof(ctl));
	if (ret)
		return ret;
	common_wr(d, VIRTIO_PCI_COMMON_MSIX, 0, 2);
	return common_rd(d, VIRTIO_PCI_COMMON_MSIX, 2) == 0 ? 0 : -EIO;
}

static int setup_queue(struct vdrv *d, struct vdrv_queue *q, uint16_t qsize, uint16_t vector)
{
	uint16_t max;

	common_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, q->index, 2);
	max = (uint16_t)common_rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2);
	if (!max)
		return -ENODEV;
	q->size = qsize < max ? qsize : max;
	q->desc = vdrv_alloc(d, vring_desc_size(q->size), 4096, &q->desc_gpa);
	q->avail = vdrv_alloc(d, vring_avail_size(q->size), 4096, &q->avail_gpa);
	q->used = vdrv_alloc(d, vring_used_size(q->size), 4096, &q->used_gpa);
	if (!q->desc || !q->avail || !q->used)
		return -ENOMEM;
	common_wr(d, VIRTIO_PCI_COMMON_Q_SIZE, q->size, 2);
	common_wr(d, VIRTIO_PCI_COMMON_Q_MSIX, vector, 2);
	if (common_rd(d, VIRTIO_PCI_COMMON_Q_MSIX, 2) != vector)
		return -EIO;
	q->vector = vector;
	q->notify_off = (uint16_t)common_rd(d, VIRTIO_PCI_COMMON_Q_NOFF, 2);
	common_wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)q->desc_gpa, 4);
	common_wr(d, VIRTIO_PCI_COMMON_Q_DESCHI, (uint32_t)(q->desc_gpa >> 32), 4);
	common_wr(d, VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)q->avail_gpa, 4);
	common_wr(d, VIRTIO_PCI_COMMON_Q_AVAILHI, (uint32_t)(q->avail_gpa >> 32), 4);
	common_wr(d, VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)q->used_gpa, 4);
	common_wr(d, VIRTIO_PCI_COMMON_Q_USEDHI, (uint32_t)(q->used_gpa >> 32), 4);
	return common_wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
}

int vdrv_start(struct vdrv *d, uint64_t want, uint16_t qsize, char *err, size_t errlen)
{
	uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	int ret;

	ret = set_status(d, 0);
	if (!ret)
		ret = set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	if (!ret)
		ret = set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	if (ret) {
		snprintf(err, errlen, "status handshake: %s", strerror(-ret));
		return ret;
	}
	ret = negotiate(d, want, err, errlen);
	if (ret)
		return ret;
	for (unsigned i = 0; i < 6; i++) {
		uint32_t v = 0;

		reg_read(d, &d->devcfg, i, &v, 1);
		d->mac[i] = (uint8_t)v;
	}
	ret = setup_irqs(d);
	if (ret) {
		snprintf(err, errlen, "MSI-X setup: %s", strerror(-ret));
		return ret;
	}
	for (unsigned i = 0; i < 2 && !ret; i++) {
		d->q[i].index = i;
		ret = setup_queue(d, &d->q[i], qsize, (uint16_t)(i + 1));
	}
	if (!ret)
		ret = set_status(d, s | VIRTIO_STATUS_DRIVER_OK);
	if (ret)
		snprintf(err, errlen, "queue setup: %s", strerror(-ret));
	return ret;
}

void vdrv_close(struct vdrv *d)
{
	if (d->c && d->common.len)
		common_wr(d, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	for (unsigned i = 0; i < 6; i++)
		vfu_client_region_release(&d->bar[i]);
	if (d->c)
		vfu_client_close(d->c);
	d->c = NULL;
	if (d->mem)
		munmap(d->mem, d->mem_size);
	d->mem = NULL;
	if (d->memfd >= 0)
		close(d->memfd);
	if (d->cfg_irq_fd >= 0)
		close(d->cfg_irq_fd);
	for (unsigned i = 0; i < 2; i++)
		if (d->q[i].irq_fd >= 0)
			close(d->q[i].irq_fd);
	d->memfd = d->cfg_irq_fd = d->q[0].irq_fd = d->q[1].irq_fd = -1;
}

/* ---- rings ---- */

void vdrv_set_desc(struct vdrv_queue *q, uint16_t id, uint64_t gpa, uint32_t len,
		   uint16_t flags)
{
	struct vring_desc *dsc = &q->desc[id];

	dsc->addr = htole64(gpa);
	dsc->len = htole32(len);
	dsc->flags = htole16(flags);
	dsc->next = 0;
}

/* used_event follows the avail ring, avail_event the used ring (2.7.10). */
static uint16_t *used_event(struct vdrv_queue *q)
{
	return &q->avail->ring[q->size];
}

static uint16_t *avail_event(struct vdrv_queue *q)
{
	return (uint16_t *)&q->used->ring[q->size];
}

static int kick(struct vdrv *d, struct vdrv_queue *q)
{
	q->kicks++;
	return reg_write(d, &d->notify, (uint32_t)q->notify_off * d->notify_mult, q->index, 2,
			 true);
}

int vdrv_publish(struct vdrv *d, struct vdrv_queue *q)
{
	uint16_t old = le16toh(q->avail->idx), now = q->avail_idx;
	bool need;

	if (old == now)
		return 0;
	__atomic_store_n(&q->avail->idx, htole16(now), __ATOMIC_RELEASE);
	/* The index must be visible before we read whether the device wants a kick. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (d->event_idx)
		need = vring_need_event(le16toh(__atomic_load_n(avail_event(q), __ATOMIC_RELAXED)),
					now, old);
	else
		need = !(le16toh(__atomic_load_n(&q->used->flags, __ATOMIC_RELAXED)) &
			 VRING_USED_F_NO_NOTIFY);
	return need ? kick(d, q) : 0;
}

int vdrv_reap(struct vdrv_queue *q, uint16_t *id, uint32_t *len)
{
	uint16_t idx = le16toh(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE));
	const struct vring_used_elem *e;

	if (idx == q->last_used)
		return 0;
	e = &q->used->ring[q->last_used & (q->size - 1)];
	*id = (uint16_t)le32toh(e->id);
	*len = le32toh(e->len);
	q->last_used++;
	return 1;
}

bool vdrv_irq(struct vdrv *d, struct vdrv_queue *q, bool on)
{
	uint16_t flags = on ? 0 : VRING_AVAIL_F_NO_INTERRUPT;

	if (d->event_idx)
		/* Off: far ahead; the index reaches it once per 65536 entries at most. */
		__atomic_store_n(used_event(q), htole16(on ? q->last_used : q->last_used + 0x8000),
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&q->avail->flags, htole16(flags), __ATOMIC_RELAXED);
	if (!on)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return le16toh(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE)) != q->last_used;
}
