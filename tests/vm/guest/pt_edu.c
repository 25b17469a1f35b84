// SPDX-License-Identifier: MIT
/*
 * Guest side of tests/vm/test_pt_vfio.sh, run inside the L1 guest: the
 * in-tree vfio-user client drives QEMU's edu device through iomed's kernel
 * VFIO passthrough (passthrough,host=).
 *   pt_edu PT_SOCKET IOMED_PID [TESTDEV_SOCKET [VF_SOCKET]]
 * Identity and liveness through the mmapped BAR (the VFIO device fd iomed
 * handed over), DMA from and to client memory through the IOMMU map iomed
 * made (and blocked once unmapped), MSI and INTx (with its unmask eventfd)
 * on the client's eventfds while iomed holds none of them, reset, and a
 * second session after the first one left; then, given VF_SOCKET, an igb
 * SR-IOV VF: its reset, mapped BAR0 and MSI-X. Built by meson against the
 * in-tree client; prints the markers of tests/vm/guest/guest_test.h.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_test.h"
#include "vfio-user/client.h"

enum {
	EDU_ID = 0x00, EDU_LIVE = 0x04, EDU_IRQ_STATUS = 0x24, EDU_IRQ_RAISE = 0x60,
	EDU_IRQ_ACK = 0x64, EDU_DMA_SRC = 0x80, EDU_DMA_DST = 0x88, EDU_DMA_CNT = 0x90,
	EDU_DMA_CMD = 0x98,
};
#define EDU_ID_VALUE 0x010000edu
#define EDU_BUF 0x40000u         /* the device's own 4 KiB DMA buffer */
#define DMA_START 0x1
#define DMA_TO_RAM 0x2
#define DMA_IRQ 0x4
#define IOVA 0x1000000ull        /* below edu's 28-bit DMA mask */
#define PG 4096u
#define PCI_COMMAND 0x04
#define BAR0_USED 0x2000u        /* the registers we touch, edu's and the VF's */

static struct vfu_client *c;
static volatile uint32_t *bar0;
static int iomed_pid;
static int own_eventfds; /* iomed's before we handed it any */

#define DIE(n, ...) do { fail(n, __VA_ARGS__); exit(1); } while (0)

static uint32_t rd(unsigned off) { return bar0[off / 4]; }
static void wr(unsigned off, uint32_t v) { bar0[off / 4] = v; }

static uint16_t cfg16(unsigned off)
{
	uint16_t v = 0xffff;

	if (vfu_client_region_read(c, VFU_PCI_CONFIG, off, &v, 2))
		fail("config-read", "offset %#x", off);
	return v;
}

static void cfg16_write(unsigned off, uint16_t v)
{
	if (vfu_client_region_write(c, VFU_PCI_CONFIG, off, &v, 2))
		fail("config-write", "offset %#x", off);
}

static int efd_new(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (fd < 0) DIE("eventfd", "%s", strerror(errno));
	return fd;
}

/* Signalled within @ms? Reads (clears) it. */
static bool efd_fired(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	return poll(&p, 1, ms) == 1 && read(fd, &v, sizeof(v)) == sizeof(v);
}

/* Eventfds open in iomed (its own: one stop eventfd per served device). */
static int iomed_eventfds(void)
{
	char dir[64], link[320], target[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", iomed_pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		ssize_t len;

		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		n += !strcmp(target, "anon_inode:[eventfd]");
	}
	closedir(d);
	return n;
}

static int set_irq(uint32_t index, uint32_t action, int fd)
{
	uint32_t flags = (fd >= 0 ? VFU_IRQ_SET_DATA_EVENTFD : VFU_IRQ_SET_DATA_NONE) | action;

	return vfu_client_set_irqs(c, index, flags, 0, fd >= 0 ? 1 : 0, &fd, fd >= 0, NULL, 0);
}

/* ---- session ---- */

static struct vfu_client_region bar;

static void open_session(const char *sock, const char *check)
{
	struct vfu_device_info info;
	char link[64], target[128];
	ssize_t n;

	if (vfu_client_connect(&c, sock) || vfu_client_negotiate(c, NULL))
		DIE(check, "cannot connect to %s", sock);
	if (vfu_client_get_device_info(c, &info) || !(info.flags & VFU_DEV_FLAG_PCI))
		DIE(check, "DEVICE_GET_INFO");
	printf("IOMED-TEST: INFO device flags %#x, %u regions, %u irqs\n", info.flags,
	       info.num_regions, info.num_irqs);
	if (vfu_client_get_region_info(c, VFU_PCI_BAR0, &bar))
		DIE(check, "region info of BAR0");
	if (!(bar.info.flags & VFU_REGION_FLAG_MMAP) || bar.fd < 0)
		DIE(check, "BAR0 is not mappable (flags %#x, fd %d)", bar.info.flags, bar.fd);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", bar.fd);
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	printf("IOMED-TEST: INFO BAR0 %#llx bytes at offset %#llx of %s\n",
	       (unsigned long long)bar.info.size, (unsigned long long)bar.info.offset, target);
	if (strstr(target, "vfio"))
		pass("bar0-vfio-fd");
	else
		fail("bar0-vfio-fd", "the BAR0 fd is %s, not a VFIO device", target);
	if (vfu_client_region_mmap(&bar, PROT_READ | PROT_WRITE))
		DIE(check, "mmap BAR0: %s", strerror(errno));
	bar0 = vfu_client_region_ptr(&bar, 0, BAR0_USED);
	if (!bar0) DIE(check, "BAR0 has no mapping of its first %#x bytes", BAR0_USED);
	pass(check);
}

static void close_session(void)
{
	vfu_client_region_release(&bar);
	vfu_client_close(c);
	c = NULL;
	bar0 = NULL;
}

/* ---- checks ---- */

static void check_identity(void)
{
	uint32_t v = 0;

	check_u32("mmap-id", rd(EDU_ID), EDU_ID_VALUE);
	wr(EDU_LIVE, 0x12345678);
	check_u32("mmap-liveness", rd(EDU_LIVE), 0xedcba987);
	/* The same registers by message: iomed reads the VFIO fd. */
	if (vfu_client_region_read(c, VFU_PCI_BAR0, EDU_ID, &v, 4)) fail("msg-id", "REGION_READ");
	else check_u32("msg-id", v, EDU_ID_VALUE);
	check_u32("config-ids", (uint32_t)cfg16(2) << 16 | cfg16(0), 0x11e81234);
}

static uint32_t dma(uint32_t src, uint32_t dst, uint32_t cmd)
{
	wr(EDU_DMA_SRC, src);
	wr(EDU_DMA_DST, dst);
	wr(EDU_DMA_CNT, PG);
	wr(EDU_DMA_CMD, cmd);
	for (int i = 0; i < 3000 && (rd(EDU_DMA_CMD) & DMA_START); i++)
		usleep(1000);
	return rd(EDU_DMA_CMD) & DMA_START;
}

/*
 * Client memory at IOVA: page 0 -> the device's buffer -> page 1, through
 * the IOMMU map iomed made. Unmapped, the device's write is blocked.
 */
static void check_dma(int msi)
{
	int fd = memfd_create("pt-edu-dma", MFD_CLOEXEC);
	uint8_t *mem;

	if (fd < 0 || ftruncate(fd, 2 * PG)) DIE("dma-map", "memfd: %s", strerror(errno));
	mem = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) DIE("dma-map", "mmap: %s", strerror(errno));
	/* Memory the client does not have is refused. */
	check_u32("dma-map-outside", (uint32_t)-vfu_client_dma_map(c, IOVA, 4 * PG, fd, 0,
								   VFU_DMA_READ), EINVAL);
	if (vfu_client_dma_map(c, IOVA, 2 * PG, fd, 0, VFU_DMA_READ | VFU_DMA_WRITE))
		DIE("dma-map", "DMA_MAP refused");
	pass("dma-map");
	cfg16_write(PCI_COMMAND, cfg16(PCI_COMMAND) | 0x6); /* memory + bus master */
	for (unsigned i = 0; i < PG; i++) mem[i] = (uint8_t)(i * 13 + 5);
	memset(mem + PG, 0, PG);
	check_u32("dma-to-device", dma(IOVA, EDU_BUF, DMA_START), 0);
	check_u32("dma-to-ram", dma(EDU_BUF, IOVA + PG, DMA_START | DMA_TO_RAM | DMA_IRQ), 0);
	if (!memcmp(mem, mem + PG, PG)) pass("dma-roundtrip");
	else fail("dma-roundtrip", "page 1 differs from page 0 (first byte %#x)", mem[PG]);
	if (efd_fired(msi, 3000)) pass("dma-msi"); else fail("dma-msi", "no completion MSI");
	check_u32("dma-irq-status", rd(EDU_IRQ_STATUS), 0x100);
	wr(EDU_IRQ_ACK, 0x100);

	if (vfu_client_dma_unmap(c, IOVA, 2 * PG, 0)) fail("dma-unmap", "DMA_UNMAP refused");
	else pass("dma-unmap");
	memset(mem + PG, 0, PG);
	dma(EDU_BUF, IOVA + PG, DMA_START | DMA_TO_RAM);
	usleep(100000);
	if (mem[PG] == 0 && !memcmp(mem + PG, mem + PG + 1, PG - 1)) pass("dma-blocked-after-unmap");
	else fail("dma-blocked-after-unmap", "the device still wrote client memory");
	munmap(mem, 2 * PG);
	close(fd);
}

static void check_msi(int msi)
{
	for (int i = 0; i < 3; i++) {
		wr(EDU_IRQ_RAISE, 1);
		if (!efd_fired(msi, 3000)) {
			fail("msi", "round %d: no interrupt on the eventfd", i);
			return;
		}
		check_u32("msi-status", rd(EDU_IRQ_STATUS), 1);
		wr(EDU_IRQ_ACK, 1);
	}
	pass("msi");
}

/* INTx: VFIO masks it on delivery; only our unmask eventfd lets the next one through. */
static void check_intx(void)
{
	int trig = efd_new(), unmask = efd_new();
	uint64_t one = 1;

	if (set_irq(VFU_PCI_INTX, VFU_IRQ_SET_ACTION_TRIGGER, trig) ||
	    set_irq(VFU_PCI_INTX, VFU_IRQ_SET_ACTION_UNMASK, unmask))
		DIE("intx", "SET_IRQS INTx refused");
	wr(EDU_IRQ_RAISE, 1);
	if (efd_fired(trig, 3000)) pass("intx"); else fail("intx", "no interrupt");
	wr(EDU_IRQ_ACK, 1);
	wr(EDU_IRQ_RAISE, 2);
	if (efd_fired(trig, 300)) fail("intx-masked", "fired while masked");
	else pass("intx-masked");
	if (write(unmask, &one, sizeof(one)) != sizeof(one)) fail("intx-unmask", "write");
	if (efd_fired(trig, 3000)) pass("intx-unmask"); else fail("intx-unmask", "no interrupt");
	wr(EDU_IRQ_ACK, 2);
	check_u32("intx-iomed-eventfds", iomed_eventfds(), own_eventfds);
	set_irq(VFU_PCI_INTX, VFU_IRQ_SET_ACTION_TRIGGER, -1);
	close(trig);
	close(unmask);
}

static void check_reset(void)
{
	int ret = vfu_client_reset(c);

	/* edu has no reset: iomed says so, and takes bus mastering away instead. */
	check_u32("reset-unsupported", (uint32_t)-ret, ENOTTY);
	check_u32("reset-bus-master-off", cfg16(PCI_COMMAND) & 0x4, 0);
	check_u32("reset-still-alive", rd(EDU_ID), EDU_ID_VALUE);
}

/*
 * An igb SR-IOV VF: a function with a real reset (FLR), MSI-X raised by the
 * VF's own cause-set register, BAR0 mapped.
 */
enum { VF_STATUS = 0x0008, VF_EICS = 0x1520, VF_EIMS = 0x1524, VF_EICR = 0x1580 };

static void check_vf_msix(void)
{
	int efd[3];

	for (int i = 0; i < 3; i++)
		efd[i] = efd_new();
	if (vfu_client_set_irqs(c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_EVENTFD |
				VFU_IRQ_SET_ACTION_TRIGGER, 0, 3, efd, 3, NULL, 0))
		DIE("vf-msix", "SET_IRQS MSI-X refused");
	check_u32("vf-msix-iomed-eventfds", iomed_eventfds(), own_eventfds);
	wr(VF_EIMS, 0x7);
	for (int v = 0; v < 3; v++) {
		char name[32];

		snprintf(name, sizeof(name), "vf-msix-vector-%d", v);
		wr(VF_EICS, 1u << v);
		if (efd_fired(efd[v], 3000)) pass(name); else fail(name, "no interrupt");
		rd(VF_EICR); /* read to clear */
		wr(VF_EIMS, 0x7);
	}
	set_irq(VFU_PCI_MSIX, VFU_IRQ_SET_ACTION_TRIGGER, -1);
	for (int i = 0; i < 3; i++)
		close(efd[i]);
}

static void check_vf(const char *sock)
{
	struct vfu_device_info info;
	struct vfu_irq_info ii;
	uint32_t status = 0;

	open_session(sock, "vf-connect");
	if (vfu_client_get_device_info(c, &info)) fail("vf-reset-flag", "DEVICE_GET_INFO");
	else check_u32("vf-reset-flag", info.flags & VFU_DEV_FLAG_RESET, VFU_DEV_FLAG_RESET);
	check_u32("vf-config-ids", (uint32_t)cfg16(2) << 16 | cfg16(0), 0x10ca8086);
	if (vfu_client_region_read(c, VFU_PCI_BAR0, VF_STATUS, &status, 4)) fail("vf-status", "read");
	else check_u32("vf-status", rd(VF_STATUS), status);
	if (vfu_client_get_irq_info(c, VFU_PCI_MSIX, &ii)) fail("vf-msix-count", "GET_IRQ_INFO");
	else check_u32("vf-msix-count", ii.count, 3);
	cfg16_write(PCI_COMMAND, cfg16(PCI_COMMAND) | 0x6);
	check_vf_msix();
	check_u32("vf-reset", (uint32_t)-vfu_client_reset(c), 0);
	check_u32("vf-after-reset", (uint32_t)cfg16(2) << 16 | cfg16(0), 0x10ca8086);
	close_session();
}

static void check_testdev(const char *sock)
{
	struct vfu_client *t = NULL;
	uint32_t id = 0;

	if (vfu_client_connect(&t, sock) || vfu_client_negotiate(t, NULL) ||
	    vfu_client_region_read(t, VFU_PCI_BAR0, 0, &id, 4))
		fail("testdev-served", "no answer from %s", sock);
	else
		check_u32("testdev-served", id, 0x010011ed);
	vfu_client_close(t);
}

int main(int argc, char **argv)
{
	int msi;

	if (argc < 3) {
		fprintf(stderr, "usage: pt_edu PT_SOCKET IOMED_PID [TESTDEV_SOCKET [VF_SOCKET]]\n");
		return 2;
	}
	iomed_pid = atoi(argv[2]);
	own_eventfds = iomed_eventfds();
	open_session(argv[1], "connect");
	check_identity();
	msi = efd_new();
	if (set_irq(VFU_PCI_MSI, VFU_IRQ_SET_ACTION_TRIGGER, msi)) DIE("msi", "SET_IRQS MSI refused");
	/* The eventfd went to VFIO: iomed keeps none of ours. */
	check_u32("msi-iomed-eventfds", iomed_eventfds(), own_eventfds);
	check_dma(msi);
	check_msi(msi);
	set_irq(VFU_PCI_MSI, VFU_IRQ_SET_ACTION_TRIGGER, -1);
	check_intx();
	check_reset();
	close_session();
	close(msi);
	/* A second client finds the device served again. */
	open_session(argv[1], "reconnect");
	check_u32("reconnect-id", rd(EDU_ID), EDU_ID_VALUE);
	close_session();
	if (argc > 3) check_testdev(argv[3]);
	if (argc > 4) check_vf(argv[4]);
	return fails ? 1 : 0;
}
