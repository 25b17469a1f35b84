// SPDX-License-Identifier: MIT
/*
 * Guest side of tests/vm/test_msix.sh: MSI-X and IOMMU-translated DMA through the guest's vfio-pci.
 * With a round count (vfiotest BDF ROUNDS, tests/vm/test_pt_chain.sh) it also runs a counted
 * phase between two handshakes with the host: ROUNDS doorbell stores into BAR2's mapped pages and
 * ROUNDS MSI-X interrupts, each raised and acknowledged by one trapped BAR0 write, so the host can
 * compare the daemons' message counters before and after.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_test.h"

enum {
	ID = 0x00, IRQ_RAISE = 0x08, IRQ_STATUS = 0x0c, IRQ_ACK = 0x10,
	DMA_SRC_LO = 0x40, DMA_SRC_HI = 0x44, DMA_DST_LO = 0x48, DMA_DST_HI = 0x4c,
	DMA_LEN = 0x50, DMA_CMD = 0x54, DMA_STATUS = 0x58, DMA_VECTOR = 0x5c,
};
#define NVEC 8
#define PG 4096ul
#define IOVA 0x40000000ull /* not a guest-physical RAM address of this 512 MiB VM */
#define BAR2_SIZE 0x4000
#define GO_OFF 0xff0     /* BAR2 word the host writes (into the device's memory) to say "go on" */
#define GO_TOKEN 0x60d00000u
#define BELL_OFF 0x400   /* BAR2 words the counted phase rings */

static int dev;
static uint64_t bar0_off, cfg_off;
static int efd[NVEC];

#define DIE(n, ...) do { fail(n, __VA_ARGS__); exit(1); } while (0)

static uint32_t rd(unsigned off)
{
	uint32_t v = 0xffffffff;
	if (pread(dev, &v, 4, (off_t)(bar0_off + off)) != 4) fail("bar0-read", "%s", strerror(errno));
	return v;
}
static void wr(unsigned off, uint32_t v)
{
	if (pwrite(dev, &v, 4, (off_t)(bar0_off + off)) != 4) fail("bar0-write", "%s", strerror(errno));
}

/* which eventfds fired within ms milliseconds; reads (clears) them */
static unsigned fired(int ms)
{
	struct pollfd p[NVEC];
	unsigned mask = 0;
	uint64_t c;

	for (int i = 0; i < NVEC; i++) p[i] = (struct pollfd){ .fd = efd[i], .events = POLLIN };
	if (poll(p, NVEC, ms) <= 0) return 0;
	usleep(20000); /* let a wrong second vector show up too */
	poll(p, NVEC, 0);
	for (int i = 0; i < NVEC; i++)
		if ((p[i].revents & POLLIN) && read(efd[i], &c, 8) == 8) mask |= 1u << i;
	return mask;
}

static uint32_t dma(uint64_t src, uint64_t dst, uint32_t len, uint32_t cmd)
{
	wr(DMA_SRC_LO, (uint32_t)src); wr(DMA_SRC_HI, (uint32_t)(src >> 32));
	wr(DMA_DST_LO, (uint32_t)dst); wr(DMA_DST_HI, (uint32_t)(dst >> 32));
	wr(DMA_LEN, len);
	wr(DMA_CMD, cmd);
	for (int i = 0; i < 2000; i++) {
		uint32_t st = rd(DMA_STATUS);
		if (st) return st;
		usleep(1000);
	}
	return 0;
}

/* Wait (60 s at most) until the host wrote GO_TOKEN + @n into BAR2's GO word. */
static int host_go(volatile uint32_t *bar2, uint32_t n)
{
	for (int i = 0; i < 60000; i++) {
		if (bar2[GO_OFF / 4] == GO_TOKEN + n)
			return 0;
		usleep(1000);
	}
	return -1;
}

/*
 * Between "COUNT-START" and "COUNT-END" (each answered by the host once it
 * has read the daemons' counters) the device sees @rounds stores into its
 * mapped BAR2 pages and @rounds interrupts, each costing exactly two
 * trapped register writes: IRQ_RAISE and IRQ_ACK.
 */
static void counted_phase(int rounds)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_BAR2_REGION_INDEX };
	volatile uint32_t *bar2;
	unsigned got = 0;

	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri) || !(ri.flags & VFIO_REGION_INFO_FLAG_MMAP))
		DIE("count-bar2", "BAR2 not mappable");
	/* The first page is in BAR2's first sparse area: mapped, never trapped. */
	bar2 = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, dev, (off_t)ri.offset);
	if (bar2 == MAP_FAILED) DIE("count-bar2", "mmap: %s", strerror(errno));
	bar2[GO_OFF / 4] = 0;
	fired(100);
	printf("IOMED-TEST: INFO COUNT-START %d\n", rounds);
	fflush(stdout);
	if (host_go(bar2, 1)) DIE("count-go", "the host never answered COUNT-START");
	for (int i = 0; i < rounds; i++) {
		bar2[BELL_OFF / 4 + i % 64] = 0xbe110000u + (uint32_t)i;
		wr(IRQ_RAISE, (uint32_t)(i % NVEC));
		if (fired(3000) == 1u << (i % NVEC)) got++;
		wr(IRQ_ACK, 1u << (i % NVEC));
	}
	printf("IOMED-TEST: INFO COUNT-END %d\n", rounds);
	fflush(stdout);
	if (host_go(bar2, 2)) DIE("count-go", "the host never answered COUNT-END");
	check_u32("count-interrupts", got, (uint32_t)rounds);
	check_u32("count-doorbell", bar2[BELL_OFF / 4 + (rounds - 1) % 64],
		  0xbe110000u + (uint32_t)rounds - 1);
	munmap((void *)bar2, PG);
}

int main(int argc, char **argv)
{
	char path[512], link[512];
	ssize_t n;

	if (argc < 2) { fprintf(stderr, "usage: vfiotest BDF [ROUNDS]\n"); return 2; }
	const char *bdf = argv[1];

	int container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0) DIE("vfio-open", "/dev/vfio/vfio: %s", strerror(errno));
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) DIE("vfio-open", "API version");
	if (!ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU)) DIE("vfio-open", "no type1v2 IOMMU");
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	if ((n = readlink(path, link, sizeof(link) - 1)) < 0) DIE("vfio-open", "no IOMMU group for %s", bdf);
	link[n] = 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));
	int group = open(path, O_RDWR);
	if (group < 0) DIE("vfio-open", "%s: %s", path, strerror(errno));
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	ioctl(group, VFIO_GROUP_GET_STATUS, &gs);
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) DIE("vfio-open", "group %s not viable", path);
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container)) DIE("vfio-open", "SET_CONTAINER: %s", strerror(errno));
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) DIE("vfio-open", "SET_IOMMU: %s", strerror(errno));
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (dev < 0) DIE("vfio-open", "GET_DEVICE_FD: %s", strerror(errno));
	pass("vfio-open");

	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_BAR0_REGION_INDEX };
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri)) DIE("bar0", "%s", strerror(errno));
	bar0_off = ri.offset;
	ri = (struct vfio_region_info){ .argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri)) DIE("config", "%s", strerror(errno));
	cfg_off = ri.offset;
	check_u32("vfio-id", rd(ID), 0x010011ed);

	uint16_t cmd;
	if (pread(dev, &cmd, 2, (off_t)cfg_off + 4) == 2) {
		cmd |= 0x6; /* memory + bus master */
		if (pwrite(dev, &cmd, 2, (off_t)cfg_off + 4) != 2) fail("bus-master", "%s", strerror(errno));
	}

	/* ---- MSI-X ---- */
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	if (ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &ii)) DIE("msix-count", "%s", strerror(errno));
	check_u32("msix-count", ii.count, NVEC);
	char sbuf[sizeof(struct vfio_irq_set) + NVEC * sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)sbuf;
	for (int i = 0; i < NVEC; i++) efd[i] = eventfd(0, EFD_NONBLOCK);
	*set = (struct vfio_irq_set){ .argsz = sizeof(sbuf), .index = VFIO_PCI_MSIX_IRQ_INDEX,
		.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, .start = 0, .count = NVEC };
	memcpy(set->data, efd, sizeof(efd));
	if (ioctl(dev, VFIO_DEVICE_SET_IRQS, set)) DIE("msix-enable", "SET_IRQS: %s", strerror(errno));
	pass("msix-enable");
	fired(100); /* nothing should be pending */

	unsigned ok = 0;
	for (int v = 0; v < NVEC; v++) {
		char name[32];
		wr(IRQ_RAISE, (uint32_t)v);
		unsigned m = fired(3000);
		snprintf(name, sizeof(name), "msix-vector-%d", v);
		if (m == 1u << v) { pass(name); ok++; }
		else fail(name, "eventfds fired: 0x%02x, want 0x%02x", m, 1u << v);
		uint32_t st = rd(IRQ_STATUS);
		if (!(st & (1u << v))) fail("msix-status", "IRQ_STATUS 0x%08x lacks bit %d", st, v);
		wr(IRQ_ACK, 1u << v);
	}
	check_u32("msix-irq-status-clear", rd(IRQ_STATUS), 0);
	/* a burst: every vector at once, each must arrive */
	for (int v = 0; v < NVEC; v++) wr(IRQ_RAISE, (uint32_t)v);
	unsigned all = 0;
	for (int t = 0; t < 20 && all != (1u << NVEC) - 1; t++) all |= fired(200);
	check_u32("msix-burst", all, (1u << NVEC) - 1);
	wr(IRQ_ACK, 0xffffffffu);

	/* ---- DMA through the (virtual) IOMMU ---- */
	uint8_t *buf = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED) DIE("iommu-map", "mmap: %s", strerror(errno));
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf, .iova = IOVA, .size = 2 * PG };
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map)) DIE("iommu-map", "MAP_DMA: %s", strerror(errno));
	pass("iommu-map");
	for (unsigned i = 0; i < PG; i++) buf[i] = (uint8_t)(i * 7 + 3);
	memset(buf + PG, 0, PG);
	wr(DMA_VECTOR, 6);
	check_u32("iommu-dma-status", dma(IOVA, IOVA + PG, PG, 3), 1);
	if (memcmp(buf, buf + PG, PG) == 0) pass("iommu-dma-data"); else fail("iommu-dma-data", "copy through the IOMMU differs");
	check_u32("iommu-dma-msix", fired(3000), 1u << 6);
	wr(IRQ_ACK, 0xffffffffu);
	check_u32("iommu-dma-unmapped-iova", dma(IOVA + 16 * PG, IOVA, 64, 1), 0x80000000u | EFAULT);

	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap), .iova = IOVA, .size = 2 * PG };
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap)) fail("iommu-unmap", "UNMAP_DMA: %s", strerror(errno));
	else pass("iommu-unmap");
	usleep(100000);
	check_u32("iommu-dma-after-unmap", dma(IOVA, IOVA + PG, 64, 1), 0x80000000u | EFAULT);

	if (argc > 2)
		counted_phase(atoi(argv[2]));

	/* MSI-X off again */
	*set = (struct vfio_irq_set){ .argsz = sizeof(*set), .index = VFIO_PCI_MSIX_IRQ_INDEX,
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, .start = 0, .count = 0 };
	if (ioctl(dev, VFIO_DEVICE_SET_IRQS, set)) fail("msix-disable", "%s", strerror(errno)); else pass("msix-disable");
	close(dev);
	close(group);
	close(container);
	return fails ? 1 : 0;
}
