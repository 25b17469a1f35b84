// SPDX-License-Identifier: MIT
/*
 * testdev's register interface as the server drives it: region_read and
 * region_write on every region (config space, the register BAR, the MSI-X
 * BAR, the shared-memory BAR), resets, DMA unmaps and IRQ masking, over a
 * fuzzed DMA map setup on a memfd of fuzzed guest memory. Accesses are
 * filtered by vfu_validate_region_access first, as the server does.
 *
 * Input: u8 number of maps (0..4), per map u8 guest page, u8 pages, u8 file
 * page, u8 flags (bits 0-1 prot, bit 2 no fd); u8 eventfd mask (bits 0-7
 * MSI-X vectors, bit 7 also INTx); u8 number of 64-byte blocks of guest
 * memory, their bytes; then operations.
 *
 * Invariants: the ID registers never change; a scratch write reads back;
 * SHM_PEEK_OFF stays aligned inside the BAR; the PBA matches the IRQ table;
 * a DMA run succeeds exactly when the model says the ranges are mapped and
 * copies the source bytes; after the client goes, config space and the
 * shared memory are as at power-on.
 */
#include <errno.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/testdev/testdev.h"
#include "fuzz_common.h"
#include "pci/config.h"
#include "vfio-user/session.h"
#include "vfio-user/validate.h"

#define RAM_PAGES 16
#define RAM_SIZE (RAM_PAGES * 4096)
#define MAX_MAPS 4

struct map {
	uint64_t addr, size, offset;
	uint32_t prot;
	bool fd;
};

struct harness {
	struct iomed_device idev;
	struct vfu_device *dev;
	struct vfu_limits lim;
	int ram_fd;
	uint8_t *ram;
	struct map maps[MAX_MAPS];
	unsigned nmaps;
	bool aliased; /* two maps share file bytes: copies are not checkable */
};

static uint8_t poweron_cfg[PCI_CFG_SIZE_EXPRESS];

static int rd(struct harness *h, unsigned region, uint64_t off, void *buf, uint32_t len)
{
	return h->dev->ops->region_read(h->dev->opaque, region, off, buf, len);
}

static int wr(struct harness *h, unsigned region, uint64_t off, const void *buf, uint32_t len)
{
	return h->dev->ops->region_write(h->dev->opaque, region, off, buf, len);
}

static uint32_t rd32(struct harness *h, unsigned region, uint64_t off)
{
	uint32_t v = 0;

	fuzz_check(!rd(h, region, off, &v, 4), "read of %u:%#llx failed", region,
		   (unsigned long long)off);
	return v;
}

static void wr32(struct harness *h, unsigned region, uint64_t off, uint32_t v)
{
	fuzz_check(!wr(h, region, off, &v, 4), "write of %u:%#llx failed", region,
		   (unsigned long long)off);
}

/* The map holding @addr, or NULL. */
static const struct map *map_of(const struct harness *h, uint64_t addr)
{
	for (unsigned i = 0; i < h->nmaps; i++)
		if (addr >= h->maps[i].addr && addr - h->maps[i].addr < h->maps[i].size)
			return &h->maps[i];
	return NULL;
}

/* Every byte of [addr, addr + len) in a map with an fd and @prot. */
static bool range_ok(const struct harness *h, uint64_t addr, uint64_t len, uint32_t prot)
{
	if (addr + len < addr)
		return false;
	while (len) {
		const struct map *m = map_of(h, addr);
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

static void gather(const struct harness *h, uint64_t addr, uint8_t *buf, uint64_t len)
{
	while (len) {
		const struct map *m = map_of(h, addr);
		uint64_t off = addr - m->addr, chunk = m->size - off < len ? m->size - off : len;

		memcpy(buf, h->ram + m->offset + off, chunk);
		buf += chunk;
		addr += chunk;
		len -= chunk;
	}
}

static void setup(struct harness *h, struct fuzz_in *in)
{
	unsigned n = fin_u8(in) % (MAX_MAPS + 1);
	uint8_t evmask, blocks;

	h->ram_fd = memfd_create("fuzz-testdev-ram", MFD_CLOEXEC);
	if (h->ram_fd < 0 || ftruncate(h->ram_fd, RAM_SIZE))
		abort();
	h->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, h->ram_fd, 0);
	if (h->ram == MAP_FAILED)
		abort();
	for (unsigned i = 0; i < n; i++) {
		struct map m = {
			.addr = (uint64_t)fin_u8(in) * 4096,
			.size = (uint64_t)(fin_u8(in) % RAM_PAGES + 1) * 4096,
			.offset = (uint64_t)(fin_u8(in) % RAM_PAGES) * 4096,
		};
		uint8_t fl = fin_u8(in);
		int fd = -1;

		m.prot = fl & 3;
		m.fd = !(fl & 4);
		if (fl & 0x80)
			m.addr |= 0xffff000000000000ull; /* high guest addresses */
		if (m.fd) {
			if (m.offset + m.size > RAM_SIZE)
				m.size = RAM_SIZE - m.offset;
			fd = dup(h->ram_fd);
		}
		if (vfu_dma_add(&h->dev->dma, m.addr, m.size, fd, m.offset, m.prot))
			continue; /* overlap: the table refused it, and so does the model */
		h->maps[h->nmaps++] = m;
	}
	for (unsigned i = 0; i < h->nmaps; i++)
		for (unsigned j = i + 1; j < h->nmaps; j++)
			if (h->maps[i].fd && h->maps[j].fd &&
			    h->maps[i].offset < h->maps[j].offset + h->maps[j].size &&
			    h->maps[j].offset < h->maps[i].offset + h->maps[i].size)
				h->aliased = true;

	evmask = fin_u8(in);
	for (unsigned v = 0; v < 8; v++) {
		struct vfu_irq_set set = {
			.argsz = sizeof(set),
			.flags = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER,
			.index = v == 7 && (evmask & 0x80) ? VFU_PCI_INTX : VFU_PCI_MSIX,
			.start = set.index == VFU_PCI_INTX ? 0 : v,
			.count = 1,
		};
		int fd;

		if (!(evmask & (1u << v)))
			continue;
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			abort();
		if (vfu_irqs_set(&h->dev->irq, &set, NULL, 0, &fd, 1))
			close(fd);
	}
	blocks = fin_u8(in);
	for (unsigned b = 0; b < blocks && (unsigned)b * 64 < RAM_SIZE; b++)
		fin_bytes(in, h->ram + b * 64, 64);
}

static void check_ids(struct harness *h)
{
	fuzz_check(rd32(h, TESTDEV_REGS_BAR, TESTDEV_ID) == TESTDEV_ID_VALUE, "ID register changed");
	fuzz_check(rd32(h, VFU_PCI_CONFIG, PCI_VENDOR_ID) ==
		   (TESTDEV_VENDOR | (uint32_t)TESTDEV_DEVICE << 16), "config IDs changed");
	fuzz_check(rd32(h, VFU_PCI_CONFIG, PCI_SUBSYSTEM_VENDOR_ID) ==
		   ((uint32_t)poweron_cfg[0x2c] | poweron_cfg[0x2d] << 8 |
		    poweron_cfg[0x2e] << 16 | (uint32_t)poweron_cfg[0x2f] << 24),
		   "subsystem IDs changed");
}

static void check_pba(struct harness *h)
{
	uint8_t pba;

	fuzz_check(!rd(h, TESTDEV_MSIX_BAR, TESTDEV_MSIX_PBA, &pba, 1), "PBA read failed");
	for (unsigned v = 0; v < TESTDEV_MSIX_VECTORS; v++)
		fuzz_check(!!(pba & (1u << v)) == vfu_irq_pending(&h->dev->irq, VFU_PCI_MSIX, v),
			   "PBA bit %u disagrees with the IRQ table", v);
}

/* A DMA_CMD write is coming: predict it, run it, compare. */
static void dma_write(struct harness *h, uint32_t cmd)
{
	uint64_t src = (uint64_t)rd32(h, 0, TESTDEV_DMA_SRC_HI) << 32 | rd32(h, 0, TESTDEV_DMA_SRC_LO);
	uint64_t dst = (uint64_t)rd32(h, 0, TESTDEV_DMA_DST_HI) << 32 | rd32(h, 0, TESTDEV_DMA_DST_LO);
	uint32_t len = rd32(h, 0, TESTDEV_DMA_LEN), status;
	bool master = rd32(h, VFU_PCI_CONFIG, PCI_COMMAND) & PCI_COMMAND_MASTER;
	bool ok = master && len && len <= TESTDEV_DMA_MAX && range_ok(h, src, len, VFU_DMA_READ) &&
		  range_ok(h, dst, len, VFU_DMA_WRITE);
	uint8_t *snap = NULL, *after;

	if (ok && !h->aliased && (cmd & TESTDEV_DMA_CMD_START)) {
		snap = malloc(len);
		if (!snap)
			abort();
		gather(h, src, snap, len);
	}
	wr32(h, 0, TESTDEV_DMA_CMD, cmd);
	if (!(cmd & TESTDEV_DMA_CMD_START)) {
		free(snap);
		return;
	}
	status = rd32(h, 0, TESTDEV_DMA_STATUS);
	fuzz_check(ok ? status == TESTDEV_DMA_STATUS_DONE : (status & TESTDEV_DMA_STATUS_ERROR),
		   "DMA %#llx -> %#llx (%u bytes): status %#x, model %s", (unsigned long long)src,
		   (unsigned long long)dst, len, status, ok ? "done" : "error");
	if (!snap)
		return;
	after = malloc(len);
	if (!after)
		abort();
	gather(h, dst, after, len);
	fuzz_check(!memcmp(snap, after, len), "DMA copied the wrong bytes");
	free(after);
	free(snap);
}

static void op_access(struct harness *h, struct fuzz_in *in, bool write)
{
	uint8_t sel = fin_u8(in), lsel = fin_u8(in);
	unsigned region = sel % VFU_PCI_NUM_REGIONS;
	uint64_t size = h->dev->regions[region].size;
	uint64_t off = sel & 0x80 ? fin_u64(in) : fin_u16(in) % (size + 16);
	static const uint32_t lens[] = { 1, 2, 4, 8 };
	uint32_t len = lsel & 0x80 ? fin_u16(in) % 0x4100 + 1 : lens[lsel & 3];
	uint8_t *buf;
	int ret;

	if (vfu_validate_region_access(&h->lim, region, off, len, write))
		return; /* the server would refuse it before the device sees it */
	buf = malloc(len);
	if (!buf)
		abort();
	if (!write) {
		ret = rd(h, region, off, buf, len);
		fuzz_check(ret <= 0 && ret > -4096, "region_read returned %d", ret);
		if (!ret && region == TESTDEV_REGS_BAR && off == TESTDEV_ID && len == 4)
			fuzz_check(!memcmp(buf, &(uint32_t){ TESTDEV_ID_VALUE }, 4), "ID read");
		free(buf);
		return;
	}
	fin_bytes(in, buf, len);
	if (region == TESTDEV_REGS_BAR && off == TESTDEV_DMA_CMD && len == 4) {
		uint32_t cmd;

		memcpy(&cmd, buf, 4);
		dma_write(h, cmd);
		free(buf);
		return;
	}
	ret = wr(h, region, off, buf, len);
	fuzz_check(ret <= 0 && ret > -4096, "region_write returned %d", ret);
	if (region == TESTDEV_REGS_BAR && len == 4 && off >= TESTDEV_SCRATCH0 &&
	    off <= TESTDEV_SCRATCH7 && !(off & 3))
		fuzz_check(!memcmp(buf, &(uint32_t){ rd32(h, 0, off) }, 4), "scratch readback");
	if (region == TESTDEV_REGS_BAR && len == 4 && off == TESTDEV_LIVENESS) {
		uint32_t v;

		memcpy(&v, buf, 4);
		fuzz_check(rd32(h, 0, TESTDEV_LIVENESS) == ~v, "liveness readback");
	}
	if (region == TESTDEV_MSIX_BAR && off + len <= TESTDEV_MSIX_VECTORS * PCI_MSIX_ENTRY_SIZE) {
		uint8_t *back = malloc(len);

		if (!back)
			abort();
		fuzz_check(!rd(h, region, off, back, len) && !memcmp(back, buf, len),
			   "MSI-X table readback");
		free(back);
	}
	free(buf);
}

static void op_unmap(struct harness *h, struct fuzz_in *in)
{
	unsigned i;

	if (!h->nmaps)
		return;
	i = fin_u8(in) % h->nmaps;
	/* As DMA_UNMAP does: the device is told, then the map goes. */
	vfu_device_quiesce(h->dev);
	fuzz_check(vfu_dma_remove(&h->dev->dma, h->maps[i].addr, h->maps[i].size,
				  vfu_notify_dma_unmap, h->dev) == 1, "unmap failed");
	vfu_device_resume(h->dev);
	h->maps[i] = h->maps[--h->nmaps];
}

static void op_irq_mask(struct harness *h, struct fuzz_in *in)
{
	uint8_t sel = fin_u8(in);
	struct vfu_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFU_IRQ_SET_DATA_NONE |
			 (sel & 0x10 ? VFU_IRQ_SET_ACTION_UNMASK : VFU_IRQ_SET_ACTION_MASK),
		.index = sel & 0x20 ? VFU_PCI_INTX : VFU_PCI_MSIX,
		.start = sel & 0x20 ? 0 : sel & 7,
		.count = 1,
	};

	fuzz_check(!vfu_irqs_set(&h->dev->irq, &set, NULL, 0, NULL, 0), "mask/unmask failed");
}

static void check_poweron(struct harness *h)
{
	uint8_t *cfg = malloc(PCI_CFG_SIZE_EXPRESS), *shm = malloc(TESTDEV_SHM_SIZE);

	if (!cfg || !shm)
		abort();
	fuzz_check(!rd(h, VFU_PCI_CONFIG, 0, cfg, h->dev->regions[VFU_PCI_CONFIG].size),
		   "config read failed");
	for (unsigned i = 0; i < h->dev->regions[VFU_PCI_CONFIG].size; i++)
		fuzz_check(cfg[i] == poweron_cfg[i],
			   "config byte %#x is %#x after reset, %#x at power-on", i, cfg[i],
			   poweron_cfg[i]);
	fuzz_check(!rd(h, TESTDEV_SHM_BAR, 0, shm, TESTDEV_SHM_SIZE), "shm read failed");
	for (uint32_t i = 0; i < TESTDEV_SHM_SIZE / 4; i++) {
		uint32_t v;

		memcpy(&v, shm + 4 * i, 4);
		fuzz_check(v == TESTDEV_SHM_PATTERN + i, "shm word %u not reset", i);
	}
	fuzz_check(rd32(h, 0, TESTDEV_IRQ_STATUS) == 0 && rd32(h, 0, TESTDEV_LIVENESS) == ~0u &&
		   rd32(h, 0, TESTDEV_DMA_STATUS) == TESTDEV_DMA_STATUS_IDLE &&
		   rd32(h, 0, TESTDEV_SHM_PEEK_OFF) == 0, "registers not reset");
	free(cfg);
	free(shm);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct iomed_device idev;
	struct vfu_device *dev;

	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	dev = fuzz_testdev_create(&idev, false);
	if (dev->ops->region_read(dev->opaque, VFU_PCI_CONFIG, 0, poweron_cfg,
				  dev->regions[VFU_PCI_CONFIG].size))
		abort();
	fuzz_testdev_destroy(&idev, false);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct harness h;
	int fds_before = fuzz_count_fds();

	memset(&h, 0, sizeof(h));
	h.dev = fuzz_testdev_create(&h.idev, true);
	h.lim = (struct vfu_limits){ .regions = h.dev->regions, .irqs = h.dev->irqs,
				     .negotiated = true, .max_data_xfer = VFU_MAX_DATA_XFER };
	setup(&h, &in);
	check_ids(&h);

	while (fin_more(&in)) {
		switch (fin_u8(&in) % 8) {
		case 0:
		case 1:
			op_access(&h, &in, false);
			break;
		case 2:
		case 3:
		case 4:
			op_access(&h, &in, true);
			break;
		case 5:
			fuzz_check(!h.dev->ops->reset(h.dev->opaque), "reset failed");
			break;
		case 6:
			op_unmap(&h, &in);
			break;
		default:
			op_irq_mask(&h, &in);
			break;
		}
		check_ids(&h);
		check_pba(&h);
		fuzz_check(rd32(&h, 0, TESTDEV_SHM_PEEK_OFF) < TESTDEV_SHM_SIZE &&
			   !(rd32(&h, 0, TESTDEV_SHM_PEEK_OFF) & 3), "SHM_PEEK_OFF out of range");
	}

	vfu_device_client_gone(h.dev);
	check_poweron(&h);
	fuzz_check(h.dev->dma.count == 0, "maps left");
	fuzz_testdev_destroy(&h.idev, true);
	munmap(h.ram, RAM_SIZE);
	close(h.ram_fd);
	fuzz_check(fuzz_count_fds() == fds_before, "fd leak: %d open before, %d after",
		   fds_before, fuzz_count_fds());
	return 0;
}
