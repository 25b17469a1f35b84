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

#include "devices/testdev/testdev.h"
#include "fuzz_common.h"
#include "fuzz_guest.h"
#include "pci/config.h"
#include "vfio-user/validate.h"

struct harness {
	struct iomed_device idev;
	struct vfu_device *dev;
	struct vfu_limits lim;
	struct fuzz_guest g;
};

static uint8_t poweron_cfg[PCI_CFG_SIZE_EXPRESS];

static uint32_t rd32(struct harness *h, unsigned region, uint64_t off)
{
	uint32_t v = 0;

	fuzz_check(!fuzz_rd(h->dev, region, off, &v, 4), "read of %u:%#llx failed", region,
		   (unsigned long long)off);
	return v;
}

static void wr32(struct harness *h, unsigned region, uint64_t off, uint32_t v)
{
	fuzz_check(!fuzz_wr(h->dev, region, off, &v, 4), "write of %u:%#llx failed", region,
		   (unsigned long long)off);
}

static void setup(struct harness *h, struct fuzz_in *in)
{
	fuzz_guest_open(&h->g);
	fuzz_guest_maps(&h->g, &h->dev->dma, in, fin_u8(in) % (FUZZ_MAX_MAPS + 1));
	fuzz_guest_eventfds(h->dev, fin_u8(in));
	fuzz_guest_fill(&h->g, in);
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

	fuzz_check(!fuzz_rd(h->dev, TESTDEV_MSIX_BAR, TESTDEV_MSIX_PBA, &pba, 1),
		   "PBA read failed");
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
	bool ok = master && len && len <= TESTDEV_DMA_MAX &&
		  fuzz_guest_range_ok(&h->g, src, len, VFU_DMA_READ) &&
		  fuzz_guest_range_ok(&h->g, dst, len, VFU_DMA_WRITE);
	uint8_t *snap = NULL, *after;

	if (ok && !h->g.aliased && (cmd & TESTDEV_DMA_CMD_START)) {
		snap = malloc(len);
		if (!snap)
			abort();
		fuzz_guest_copy(&h->g, src, snap, len, false);
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
	fuzz_guest_copy(&h->g, dst, after, len, false);
	fuzz_check(!memcmp(snap, after, len), "DMA copied the wrong bytes");
	free(after);
	free(snap);
}

static void op_access(struct harness *h, struct fuzz_in *in, bool write)
{
	unsigned region;
	uint64_t off;
	uint32_t len;
	uint8_t *buf;
	int ret;

	buf = fuzz_access(in, h->dev, &h->lim, write, &region, &off, &len);
	if (!buf)
		return;
	if (!write) {
		ret = fuzz_rd(h->dev, region, off, buf, len);
		fuzz_check(ret <= 0 && ret > -4096, "region_read returned %d", ret);
		if (!ret && region == TESTDEV_REGS_BAR && off == TESTDEV_ID && len == 4)
			fuzz_check(!memcmp(buf, &(uint32_t){ TESTDEV_ID_VALUE }, 4), "ID read");
		free(buf);
		return;
	}
	if (region == TESTDEV_REGS_BAR && off == TESTDEV_DMA_CMD && len == 4) {
		uint32_t cmd;

		memcpy(&cmd, buf, 4);
		dma_write(h, cmd);
		free(buf);
		return;
	}
	ret = fuzz_wr(h->dev, region, off, buf, len);
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
		fuzz_check(!fuzz_rd(h->dev, region, off, back, len) && !memcmp(back, buf, len),
			   "MSI-X table readback");
		free(back);
	}
	free(buf);
}

static void op_unmap(struct harness *h, struct fuzz_in *in)
{
	if (h->g.nmaps)
		fuzz_guest_unmap(&h->g, h->dev, fin_u8(in) % h->g.nmaps);
}

static void check_poweron(struct harness *h)
{
	uint8_t *cfg = malloc(PCI_CFG_SIZE_EXPRESS), *shm = malloc(TESTDEV_SHM_SIZE);

	if (!cfg || !shm)
		abort();
	fuzz_check(!fuzz_rd(h->dev, VFU_PCI_CONFIG, 0, cfg, h->dev->regions[VFU_PCI_CONFIG].size),
		   "config read failed");
	for (unsigned i = 0; i < h->dev->regions[VFU_PCI_CONFIG].size; i++)
		fuzz_check(cfg[i] == poweron_cfg[i],
			   "config byte %#x is %#x after reset, %#x at power-on", i, cfg[i],
			   poweron_cfg[i]);
	fuzz_check(!fuzz_rd(h->dev, TESTDEV_SHM_BAR, 0, shm, TESTDEV_SHM_SIZE), "shm read failed");
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
	if (fuzz_rd(dev, VFU_PCI_CONFIG, 0, poweron_cfg, dev->regions[VFU_PCI_CONFIG].size))
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
			fuzz_guest_irq_mask(h.dev, fin_u8(&in), TESTDEV_MSIX_VECTORS);
			break;
		}
		check_ids(&h);
		check_pba(&h);
		fuzz_check(rd32(&h, 0, TESTDEV_SHM_PEEK_OFF) < TESTDEV_SHM_SIZE &&
			   !(rd32(&h, 0, TESTDEV_SHM_PEEK_OFF) & 3), "SHM_PEEK_OFF out of range");
	}

	fuzz_client_gone(h.dev);
	check_poweron(&h);
	fuzz_testdev_destroy(&h.idev, true);
	fuzz_guest_close(&h.g);
	fuzz_check_fds(fds_before);
	return 0;
}
