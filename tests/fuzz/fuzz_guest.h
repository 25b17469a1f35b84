/* SPDX-License-Identifier: MIT */
/*
 * Guest memory for the device-model harnesses: one memfd of FUZZ_RAM_PAGES
 * pages, put into the device's DMA table by fuzzed maps (any guest address,
 * any file page, any prot, with or without an fd), the harness's own view of
 * those maps to predict what the model may touch, and MSI-X/INTx eventfds.
 *
 * Map record (4 bytes): u8 guest page, u8 pages, u8 file page, u8 flags
 * (bits 0-1 prot, bit 2 no fd, bit 7 a guest address near 2^64).
 */
#ifndef IOMED_FUZZ_GUEST_H
#define IOMED_FUZZ_GUEST_H

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "vfio-user/server.h"
#include "vfio-user/session.h"
#include "vfio-user/validate.h"

#ifndef FUZZ_RAM_PAGES /* a harness may want more */
#define FUZZ_RAM_PAGES 16
#endif
#define FUZZ_RAM_SIZE (FUZZ_RAM_PAGES * 4096)
#define FUZZ_MAX_MAPS 4

struct fuzz_map {
	uint64_t addr, size, offset;
	uint32_t prot;
	bool fd;
};

struct fuzz_guest {
	int fd;
	uint8_t *ram;
	struct fuzz_map maps[FUZZ_MAX_MAPS];
	unsigned nmaps;
	bool aliased; /* two maps share file bytes: copies are not checkable */
};

/* The model's region_read and region_write, as the server calls them. */
static inline int fuzz_rd(struct vfu_device *dev, unsigned region, uint64_t off, void *buf,
			  uint32_t len)
{
	return dev->ops->region_read(dev->opaque, region, off, buf, len);
}

static inline int fuzz_wr(struct vfu_device *dev, unsigned region, uint64_t off,
			  const void *buf, uint32_t len)
{
	return dev->ops->region_write(dev->opaque, region, off, buf, len);
}

/*
 * A region access from @in: any region, an offset in or just past it (or
 * any at all), 1, 2, 4 or 8 bytes (or up to 16 KiB and more). Returns a
 * buffer of *@len bytes to free, holding the data of a write, or NULL when
 * the server's checks (@lim) would refuse the access before the device sees it.
 */
static inline uint8_t *fuzz_access(struct fuzz_in *in, const struct vfu_device *dev,
				   const struct vfu_limits *lim, bool write, unsigned *region,
				   uint64_t *off, uint32_t *len)
{
	static const uint32_t lens[] = { 1, 2, 4, 8 };
	uint8_t sel = fin_u8(in), lsel = fin_u8(in);
	uint8_t *buf;

	*region = sel % VFU_PCI_NUM_REGIONS;
	*off = sel & 0x80 ? fin_u64(in) : fin_u16(in) % (dev->regions[*region].size + 16);
	*len = lsel & 0x80 ? fin_u16(in) % 0x4100 + 1 : lens[lsel & 3];
	if (vfu_validate_region_access(lim, *region, *off, *len, write))
		return NULL;
	buf = malloc(*len);
	if (!buf)
		abort();
	fin_bytes(in, buf, write ? *len : 0);
	return buf;
}

static inline void fuzz_guest_open(struct fuzz_guest *g)
{
	memset(g, 0, sizeof(*g));
	g->fd = memfd_create("fuzz-guest-ram", MFD_CLOEXEC);
	if (g->fd < 0 || ftruncate(g->fd, FUZZ_RAM_SIZE))
		abort();
	g->ram = mmap(NULL, FUZZ_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, 0);
	if (g->ram == MAP_FAILED)
		abort();
}

static inline void fuzz_guest_close(struct fuzz_guest *g)
{
	munmap(g->ram, FUZZ_RAM_SIZE);
	close(g->fd);
}

static bool fuzz_maps_alias(const struct fuzz_map *a, const struct fuzz_map *b)
{
	return a->fd && b->fd && a->offset < b->offset + b->size &&
	       b->offset < a->offset + a->size;
}

/* Into the device's table as DMA_MAP does; false when the table refuses it. */
static inline bool fuzz_guest_add(struct fuzz_guest *g, struct vfu_dma *dma, struct fuzz_map m)
{
	int fd = -1;

	if (g->nmaps == FUZZ_MAX_MAPS)
		return false;
	if (m.fd) {
		if (m.offset + m.size > FUZZ_RAM_SIZE)
			m.size = FUZZ_RAM_SIZE - m.offset;
		fd = dup(g->fd);
	}
	if (vfu_dma_add(dma, m.addr, m.size, fd, m.offset, m.prot))
		return false; /* overlap: the table refused it, and so does the model */
	for (unsigned i = 0; i < g->nmaps; i++)
		g->aliased |= fuzz_maps_alias(&g->maps[i], &m);
	g->maps[g->nmaps++] = m;
	return true;
}

/* @n map records from the input. */
static inline void fuzz_guest_maps(struct fuzz_guest *g, struct vfu_dma *dma, struct fuzz_in *in,
				   unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct fuzz_map m = {
			.addr = (uint64_t)fin_u8(in) * 4096,
			.size = (uint64_t)(fin_u8(in) % FUZZ_RAM_PAGES + 1) * 4096,
			.offset = (uint64_t)(fin_u8(in) % FUZZ_RAM_PAGES) * 4096,
		};
		uint8_t fl = fin_u8(in);

		m.prot = fl & 3;
		m.fd = !(fl & 4);
		if (fl & 0x80)
			m.addr |= 0xffff000000000000ull; /* high guest addresses */
		fuzz_guest_add(g, dma, m);
	}
}

/* u8 number of 64-byte blocks, their bytes, from the start of the file. */
static inline void fuzz_guest_fill(struct fuzz_guest *g, struct fuzz_in *in)
{
	uint8_t blocks = fin_u8(in);

	for (unsigned b = 0; b < blocks && b * 64u < FUZZ_RAM_SIZE; b++)
		fin_bytes(in, g->ram + b * 64, 64);
}

/* The map holding @addr, or NULL. */
static inline const struct fuzz_map *fuzz_guest_map_of(const struct fuzz_guest *g, uint64_t addr)
{
	for (unsigned i = 0; i < g->nmaps; i++)
		if (addr >= g->maps[i].addr && addr - g->maps[i].addr < g->maps[i].size)
			return &g->maps[i];
	return NULL;
}

/* Every byte of [addr, addr + len) in a map with an fd and @prot. */
static inline bool fuzz_guest_range_ok(const struct fuzz_guest *g, uint64_t addr, uint64_t len,
				       uint32_t prot)
{
	if (addr + len < addr)
		return false;
	while (len) {
		const struct fuzz_map *m = fuzz_guest_map_of(g, addr);
		uint64_t chunk;

		if (!m || !m->fd || (m->prot & prot) != prot)
			return false;
		chunk = m->size - (addr - m->addr);
		if (chunk >= len)
			return true;
		addr += chunk;
		len -= chunk;
	}
	return true;
}

/* Copy guest memory out (to_ram false) or in; the range must be mapped with fds. */
static inline void fuzz_guest_copy(const struct fuzz_guest *g, uint64_t addr, void *buf,
				   uint64_t len, bool to_ram)
{
	uint8_t *p = buf;

	while (len) {
		const struct fuzz_map *m = fuzz_guest_map_of(g, addr);
		uint64_t off = addr - m->addr, chunk = m->size - off < len ? m->size - off : len;

		if (to_ram)
			memcpy(g->ram + m->offset + off, p, chunk);
		else
			memcpy(p, g->ram + m->offset + off, chunk);
		p += chunk;
		addr += chunk;
		len -= chunk;
	}
}

/* Map @i goes, as DMA_UNMAP does: the device is told, then the map goes. */
static inline void fuzz_guest_unmap(struct fuzz_guest *g, struct vfu_device *dev, unsigned i)
{
	vfu_device_quiesce(dev);
	fuzz_check(vfu_dma_remove(&dev->dma, g->maps[i].addr, g->maps[i].size,
				  vfu_notify_dma_unmap, dev) == 1, "unmap failed");
	vfu_device_resume(dev);
	g->maps[i] = g->maps[--g->nmaps];
}

/*
 * An eventfd for each bit of @mask: MSI-X vectors 0-7, except that bit 7
 * with 0x80 set means INTx. Ones the device does not have are closed.
 */
static inline void fuzz_guest_eventfds(struct vfu_device *dev, uint8_t mask)
{
	for (unsigned v = 0; v < 8; v++) {
		struct vfu_irq_set set = {
			.argsz = sizeof(set),
			.flags = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER,
			.index = v == 7 && (mask & 0x80) ? VFU_PCI_INTX : VFU_PCI_MSIX,
			.start = set.index == VFU_PCI_INTX ? 0 : v,
			.count = 1,
		};
		int fd;

		if (!(mask & (1u << v)))
			continue;
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			abort();
		if (vfu_irqs_set(&dev->irq, &set, NULL, 0, &fd, 1))
			close(fd);
	}
}

/* IRQ mask/unmask: bit 4 unmask, bit 5 INTx, bits 0-2 the MSI-X vector (mod @nvec). */
static inline void fuzz_guest_irq_mask(struct vfu_device *dev, uint8_t sel, unsigned nvec)
{
	struct vfu_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFU_IRQ_SET_DATA_NONE |
			 (sel & 0x10 ? VFU_IRQ_SET_ACTION_UNMASK : VFU_IRQ_SET_ACTION_MASK),
		.index = sel & 0x20 ? VFU_PCI_INTX : VFU_PCI_MSIX,
		.start = sel & 0x20 ? 0 : (sel & 7u) % nvec,
		.count = 1,
	};

	fuzz_check(!vfu_irqs_set(&dev->irq, &set, NULL, 0, NULL, 0), "mask/unmask failed");
}

#endif
