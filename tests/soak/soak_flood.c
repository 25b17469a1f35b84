// SPDX-License-Identifier: MIT
/*
 * soak_flood: a vfio-user client that floods a daemon's devices with fds and
 * maps, cycle after cycle. tests/soak/soak_flood.sh runs it against one
 * daemon and samples the daemon's fds, threads and RSS between runs.
 *
 *   soak_flood CYCLES testdev:SOCKET virtio-net:SOCKET ...
 *
 * One cycle, on every device:
 *   - 512 DMA_MAPs, each carrying the fd of one guest-memory memfd (a page
 *     each, apart), an overlapping map and one past the end of the file
 *     (both refused), half of them unmapped one by one, the rest at once;
 *   - SET_IRQS: every MSI-X vector given a fresh eventfd 16 times over (the
 *     daemon must close the ones replaced), ERR and REQ eventfds, one
 *     message with more eventfds than vectors (refused), all disabled;
 *   - virtio-net only: the driver handshake up to DRIVER_OK (the datapath
 *     thread starts) on rings in mapped memory, and the client vanishes
 *     with it running;
 *   - a DMA_MAP carrying 20 fds (more than the 16 the daemon takes: refused);
 *   - reconnects that end badly: a message cut after 24 of its 48 bytes
 *     with 16 fds attached, half a header, nothing at all;
 *   - a fresh client must then negotiate and read the vendor ID.
 * Any unexpected reply ends the run with status 1 and says where.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio-net/vnet.h"
#include "vfio-user/client.h"

#define PAGE 4096ull
#define MEM_SIZE (1ull << 20)
#define MAPS 512
#define MAP_BASE (1ull << 32)
#define IRQ_ROUNDS 16
#define MAX_VEC 64

static unsigned cycle;
static const char *where = "";
static unsigned long maps_sent, fds_sent; /* DMA_MAPs carrying an fd; fds in all */

static void die(const char *what, int err)
{
	fprintf(stderr, "soak_flood: cycle %u, %s: %s: %s\n", cycle, where, what, strerror(-err));
	exit(1);
}

/* @ret must be @want (0 or a negative errno). */
static void expect(int ret, int want, const char *what)
{
	if (ret != want) {
		fprintf(stderr, "soak_flood: cycle %u, %s: %s returned %d (%s), expected %d\n",
			cycle, where, what, ret, strerror(ret < 0 ? -ret : 0), want);
		exit(1);
	}
}

static struct vfu_client *client(const char *path)
{
	struct vfu_client *c;
	int ret = vfu_client_connect(&c, path);

	if (ret)
		die("connect", ret);
	expect(vfu_client_negotiate(c, NULL), 0, "VERSION");
	return c;
}

static int efd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0)
		die("eventfd", -errno);
	return fd;
}

static void flood_maps(struct vfu_client *c, int mem)
{
	const uint32_t rw = VFU_DMA_READ | VFU_DMA_WRITE;

	where = "maps";
	for (unsigned i = 0; i < MAPS; i++)
		expect(vfu_client_dma_map(c, MAP_BASE + 2 * PAGE * i, PAGE, mem,
					  PAGE * (i % (MEM_SIZE / PAGE)), rw), 0, "DMA_MAP");
	maps_sent += MAPS + 2;
	fds_sent += MAPS + 2;
	expect(vfu_client_dma_map(c, MAP_BASE, 2 * PAGE, mem, 0, rw), -EEXIST, "overlapping map");
	expect(vfu_client_dma_map(c, 0, PAGE, mem, MEM_SIZE, rw), -EINVAL, "map past the file");
	for (unsigned i = 0; i < MAPS; i += 2)
		expect(vfu_client_dma_unmap(c, MAP_BASE + 2 * PAGE * i, PAGE, 0), 0, "DMA_UNMAP");
	expect(vfu_client_dma_unmap(c, 0, 0, VFU_DMA_UNMAP_ALL), 0, "DMA_UNMAP all");
}

static void set_eventfds(struct vfu_client *c, uint32_t index, unsigned n, int want)
{
	int fds[MAX_VEC + 1] = { 0 };

	for (unsigned i = 0; i < n; i++)
		fds[i] = efd();
	fds_sent += n;
	expect(vfu_client_set_irqs(c, index, VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER,
				   0, n, fds, n, NULL, 0), want, "SET_IRQS eventfds");
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

static void flood_irqs(struct vfu_client *c)
{
	struct vfu_irq_info info;
	unsigned nvec;

	where = "irqs";
	expect(vfu_client_get_irq_info(c, VFU_PCI_MSIX, &info), 0, "GET_IRQ_INFO");
	nvec = info.count < MAX_VEC ? info.count : MAX_VEC;
	for (unsigned r = 0; r < IRQ_ROUNDS; r++)
		set_eventfds(c, VFU_PCI_MSIX, nvec, 0);
	set_eventfds(c, VFU_PCI_ERR, 1, 0);
	set_eventfds(c, VFU_PCI_REQ, 1, 0);
	set_eventfds(c, VFU_PCI_MSIX, nvec + 1, -EINVAL);
	expect(vfu_client_set_irqs(c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_NONE |
				   VFU_IRQ_SET_ACTION_TRIGGER, 0, 0, NULL, 0, NULL, 0), 0,
	       "SET_IRQS off");
}

static void bar0_write(struct vfu_client *c, uint64_t off, uint64_t v, size_t len)
{
	expect(vfu_client_region_write(c, VNET_REGS_BAR, off, &v, len), 0, "BAR0 write");
}

/* The virtio driver handshake up to DRIVER_OK, RX and TX rings in guest memory at 0. */
static void vnet_up(struct vfu_client *c, int mem)
{
	uint8_t status = 0;

	where = "virtio-net";
	expect(vfu_client_dma_map(c, 0, MEM_SIZE, mem, 0, VFU_DMA_READ | VFU_DMA_WRITE), 0,
	       "DMA_MAP of the rings");
	maps_sent++;
	fds_sent++;
	set_eventfds(c, VFU_PCI_MSIX, 3, 0);
	bar0_write(c, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	bar0_write(c, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	bar0_write(c, VIRTIO_PCI_COMMON_GF, 1, 4); /* VERSION_1 */
	bar0_write(c, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		   VIRTIO_STATUS_FEATURES_OK, 1);
	for (unsigned q = 0; q < 2; q++) {
		bar0_write(c, VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
		bar0_write(c, VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);
		bar0_write(c, VIRTIO_PCI_COMMON_Q_MSIX, q + 1, 2);
		bar0_write(c, VIRTIO_PCI_COMMON_Q_DESCLO, 0x4000 * q, 8);
		bar0_write(c, VIRTIO_PCI_COMMON_Q_AVAILLO, 0x4000 * q + 0x1000, 8);
		bar0_write(c, VIRTIO_PCI_COMMON_Q_USEDLO, 0x4000 * q + 0x2000, 8);
		bar0_write(c, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	}
	bar0_write(c, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK, 1);
	expect(vfu_client_region_read(c, VNET_REGS_BAR, VIRTIO_PCI_COMMON_STATUS, &status, 1), 0,
	       "status read");
	if (status != (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK))
		die("status after DRIVER_OK", -EPROTO);
}

/* A DMA_MAP whose header announces 48 bytes, cut after 24, with 16 fds; then the client goes. */
static void cut_message(const char *path, int mem)
{
	struct vfu_client *c = client(path);
	uint8_t msg[sizeof(struct vfu_hdr) + sizeof(struct vfu_dma_map)];
	struct vfu_hdr hdr = { .msg_id = vfu_client_take_id(c), .cmd = VFU_CMD_DMA_MAP,
			       .msg_size = sizeof(msg) };
	struct vfu_dma_map map = { .argsz = sizeof(map), .flags = VFU_DMA_READ,
				   .addr = 0, .size = PAGE };
	int fds[VFU_MAX_MSG_FDS];

	where = "cut message";
	memcpy(msg, &hdr, sizeof(hdr));
	memcpy(msg + sizeof(hdr), &map, sizeof(map));
	for (unsigned i = 0; i < VFU_MAX_MSG_FDS; i++)
		fds[i] = i & 1 ? efd() : dup(mem);
	expect(vfu_client_send_raw(c, msg, sizeof(msg) / 2, fds, VFU_MAX_MSG_FDS), 0, "send");
	fds_sent += VFU_MAX_MSG_FDS;
	for (unsigned i = 0; i < VFU_MAX_MSG_FDS; i++)
		close(fds[i]);
	vfu_client_close(c);
}

/* More fds than the daemon takes: it must refuse the message and close every one. */
static void too_many_fds(struct vfu_client *c, int mem)
{
	struct vfu_dma_map map = { .argsz = sizeof(map), .flags = VFU_DMA_READ,
				   .addr = 0, .size = PAGE };
	int fds[20];

	where = "too many fds";
	for (unsigned i = 0; i < 20; i++)
		fds[i] = dup(mem);
	fds_sent += 20;
	expect(vfu_client_call(c, VFU_CMD_DMA_MAP, &map, sizeof(map), fds, 20, NULL, 0, NULL,
			       NULL, NULL), -EINVAL, "DMA_MAP with 20 fds");
	for (unsigned i = 0; i < 20; i++)
		close(fds[i]);
}

/* A connection that sends half a header, and one that sends nothing. */
static void bad_goodbyes(const char *path)
{
	struct vfu_client *c;
	struct vfu_hdr hdr = { .cmd = VFU_CMD_VERSION, .msg_size = 64 };

	where = "reconnects";
	if (vfu_client_connect(&c, path))
		die("connect", -ECONNREFUSED);
	expect(vfu_client_send_raw(c, &hdr, sizeof(hdr) / 2, NULL, 0), 0, "half a header");
	vfu_client_close(c);
	if (vfu_client_connect(&c, path))
		die("connect", -ECONNREFUSED);
	vfu_client_close(c);
}

static void still_serves(const char *path)
{
	struct vfu_client *c = client(path);
	uint16_t vendor = 0;

	where = "after the flood";
	expect(vfu_client_region_read(c, VFU_PCI_CONFIG, 0, &vendor, 2), 0, "vendor ID read");
	if (vendor != 0x1234 && vendor != VIRTIO_PCI_VENDOR)
		die("vendor ID", -EPROTO);
	vfu_client_close(c);
}

static void one_device(const char *spec, int mem)
{
	const char *path = strchr(spec, ':') + 1;
	struct vfu_client *c = client(path);

	flood_maps(c, mem);
	flood_irqs(c);
	too_many_fds(c, mem);
	if (!strncmp(spec, "virtio-net:", 11))
		vnet_up(c, mem);
	vfu_client_close(c); /* with maps, eventfds and the datapath live */
	cut_message(path, mem);
	bad_goodbyes(path);
	still_serves(path);
}

int main(int argc, char **argv)
{
	unsigned cycles = argc > 2 ? (unsigned)strtoul(argv[1], NULL, 0) : 0;
	int mem = memfd_create("soak-flood-ram", MFD_CLOEXEC);

	if (!cycles) {
		fprintf(stderr, "usage: soak_flood CYCLES testdev:SOCKET|virtio-net:SOCKET...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++)
		if (!strchr(argv[i], ':')) {
			fprintf(stderr, "soak_flood: %s: expected MODEL:SOCKET\n", argv[i]);
			return 2;
		}
	if (mem < 0 || ftruncate(mem, MEM_SIZE))
		die("memfd", -errno);
	for (cycle = 1; cycle <= cycles; cycle++)
		for (int i = 2; i < argc; i++)
			one_device(argv[i], mem);
	close(mem);
	printf("soak_flood: %u cycle(s) on %d devices: %lu DMA_MAPs with an fd, %lu fds sent, "
	       "%u connections\n", cycles, argc - 2, maps_sent, fds_sent, cycles * (argc - 2) * 5);
	return 0;
}
