// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/passthrough/vfio.c and iommu.c against a scripted
 * kernel: open64, ioctl, pread64 and pwrite64 are wrapped at link time
 * (meson.build: -Wl,--wrap=...) so the /dev/vfio nodes and the VFIO ioctls answer
 * from this file, with real fds (/dev/null) standing in for the container,
 * group and device so leaks and double closes show. The host device is a
 * fake sysfs tree (legacy container/group: no VFIO cdev).
 *
 * Covers: every VFIO step failing in turn costs no fd; a capability chain
 * too long to follow is a clear error, not a missing region; a failed
 * VFIO reset still stops the device's DMA; a client that goes away leaves
 * no IOMMU map and no eventfd with VFIO.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <cmocka.h>

#include "passthrough/passthrough.h"
#include "vfio-user/session.h"

#define ADDR "0000:01:00.0"
#define GROUP 7
#define BAR0_SIZE 0x4000
#define MAX_MAPS 8

/* ---- the scripted kernel ---- */

static struct {
	unsigned long fail_req; /* this ioctl fails with fail_errno */
	int fail_errno;
	bool fail_group_open;
	bool reset_flag;        /* VFIO_DEVICE_FLAGS_RESET */
	bool reset_fails;
	uint32_t bar0_argsz;    /* GET_REGION_INFO of BAR0 asks for this much */
	int container, group, dev;
	uint8_t config[256];
	unsigned resets;
	struct { uint64_t iova, size; } maps[MAX_MAPS];
	unsigned nmaps;
	unsigned irq_fds_held;  /* eventfds VFIO holds for MSI-X */
} k;

int __real_open64(const char *path, int flags, ...);
int __real_ioctl(int fd, unsigned long req, ...);
ssize_t __real_pread64(int fd, void *buf, size_t n, off_t pos);
ssize_t __real_pwrite64(int fd, const void *buf, size_t n, off_t pos);

static int null_fd(void)
{
	int fd = __real_open64("/dev/null", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

int __wrap_open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	if (!strcmp(path, "/dev/vfio/vfio"))
		return k.container = null_fd();
	if (!strcmp(path, "/dev/vfio/7")) {
		if (k.fail_group_open) {
			errno = EBUSY;
			return -1;
		}
		return k.group = null_fd();
	}
	va_start(ap, flags);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	return __real_open64(path, flags, mode);
}

static int region_info(struct vfio_region_info *info)
{
	uint32_t want = info->index == VFIO_PCI_BAR0_REGION_INDEX && k.bar0_argsz ?
			k.bar0_argsz : sizeof(*info);

	if (info->index == VFIO_PCI_VGA_REGION_INDEX) {
		errno = EINVAL;
		return -1;
	}
	info->flags = info->cap_offset = 0;
	info->size = 0;
	info->offset = ((uint64_t)info->index + 1) << 40; /* as vfio-pci, but none at 0 */
	if (info->index == VFIO_PCI_CONFIG_REGION_INDEX) {
		info->size = sizeof(k.config);
		info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	} else if (info->index == VFIO_PCI_BAR0_REGION_INDEX) {
		info->size = BAR0_SIZE;
		info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			      VFIO_REGION_INFO_FLAG_MMAP;
	}
	info->argsz = want;
	return 0;
}

static int set_irqs(const struct vfio_irq_set *s)
{
	const int32_t *fds = (const int32_t *)s->data;

	if (s->index != VFIO_PCI_MSIX_IRQ_INDEX)
		return 0;
	if ((s->flags & VFIO_IRQ_SET_DATA_NONE) && !s->count) {
		k.irq_fds_held = 0;
		return 0;
	}
	if (s->flags & VFIO_IRQ_SET_DATA_EVENTFD)
		for (uint32_t i = 0; i < s->count; i++)
			k.irq_fds_held += fds[i] >= 0;
	return 0;
}

static int dma_unmap(const struct vfio_iommu_type1_dma_unmap *u)
{
	for (unsigned i = 0; i < k.nmaps; i++) {
		if (k.maps[i].iova != u->iova || k.maps[i].size != u->size)
			continue;
		k.maps[i] = k.maps[--k.nmaps];
		return 0;
	}
	errno = EINVAL;
	return -1;
}

static int vfio(int fd, unsigned long req, void *arg)
{
	switch (req) {
	case VFIO_GET_API_VERSION: return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION: return (uintptr_t)arg == VFIO_TYPE1v2_IOMMU;
	case VFIO_GROUP_GET_STATUS:
		((struct vfio_group_status *)arg)->flags = VFIO_GROUP_FLAGS_VIABLE;
		return 0;
	case VFIO_GROUP_SET_CONTAINER:
	case VFIO_SET_IOMMU:
		return 0;
	case VFIO_GROUP_GET_DEVICE_FD:
		assert_string_equal(arg, ADDR);
		return k.dev = null_fd();
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info *d = arg;

		d->flags = VFIO_DEVICE_FLAGS_PCI | (k.reset_flag ? VFIO_DEVICE_FLAGS_RESET : 0);
		d->num_regions = VFIO_PCI_NUM_REGIONS;
		d->num_irqs = VFIO_PCI_NUM_IRQS;
		return 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO: return region_info(arg);
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info *i = arg;

		i->flags = VFIO_IRQ_INFO_EVENTFD;
		i->count = i->index == VFIO_PCI_MSIX_IRQ_INDEX ? 4 : 0;
		return 0;
	}
	case VFIO_DEVICE_RESET:
		k.resets++;
		if (k.reset_fails) {
			errno = EBUSY;
			return -1;
		}
		return 0;
	case VFIO_DEVICE_SET_IRQS: return set_irqs(arg);
	case VFIO_IOMMU_MAP_DMA: {
		struct vfio_iommu_type1_dma_map *m = arg;

		assert_int_equal(fd, k.container);
		assert_true(k.nmaps < MAX_MAPS);
		k.maps[k.nmaps].iova = m->iova;
		k.maps[k.nmaps++].size = m->size;
		return 0;
	}
	case VFIO_IOMMU_UNMAP_DMA: return dma_unmap(arg);
	default:
		errno = ENOTTY;
		return -1;
	}
}

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd < 0 || (fd != k.container && fd != k.group && fd != k.dev))
		return __real_ioctl(fd, req, arg);
	if (req == k.fail_req) {
		errno = k.fail_errno;
		return -1;
	}
	return vfio(fd, req, arg);
}

/* The device fd reads and writes config space; other regions read as 0. */
static ssize_t dev_rw(void *buf, size_t n, off_t pos, bool write)
{
	unsigned region = (unsigned)((uint64_t)pos >> 40) - 1;
	uint64_t off = (uint64_t)pos & ((1ull << 40) - 1);

	if (region != VFIO_PCI_CONFIG_REGION_INDEX) {
		if (!write)
			memset(buf, 0, n);
		return (ssize_t)n;
	}
	assert_true(off + n <= sizeof(k.config));
	if (write)
		memcpy(k.config + off, buf, n);
	else
		memcpy(buf, k.config + off, n);
	return (ssize_t)n;
}

ssize_t __wrap_pread64(int fd, void *buf, size_t n, off_t pos)
{
	if (fd >= 0 && fd == k.dev)
		return dev_rw(buf, n, pos, false);
	return __real_pread64(fd, buf, n, pos);
}

ssize_t __wrap_pwrite64(int fd, const void *buf, size_t n, off_t pos)
{
	if (fd >= 0 && fd == k.dev)
		return dev_rw((void *)buf, n, pos, true);
	return __real_pwrite64(fd, buf, n, pos);
}

/* ---- fixture ---- */

static char root[64];
static char err[512];

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	char path[PATH_MAX];

	(void)state;
	memset(&k, 0, sizeof(k));
	k.container = k.group = k.dev = -1;
	snprintf(root, sizeof(root), "/tmp/iomed-pt-vfio-XXXXXX");
	assert_non_null(mkdtemp(root));
	/* Only the link names count: sysfs' targets need not exist here. */
	snprintf(path, sizeof(path), "%s/bus/pci/devices/" ADDR, root);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/" ADDR "/driver", root);
	assert_int_equal(symlink("../../../../bus/pci/drivers/vfio-pci", path), 0);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/" ADDR "/iommu_group", root);
	assert_int_equal(symlink("../../../../kernel/iommu_groups/7", path), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static struct pt_vfio *open_ok(void)
{
	struct pt_vfio *pt = NULL;

	err[0] = '\0';
	if (pt_vfio_open(&pt, "pt", root, ADDR, false, err, sizeof(err)))
		fail_msg("pt_vfio_open: %s", err);
	return pt;
}

/* ---- tests ---- */

static void test_open_describes(void **state)
{
	unsigned fds = count_fds();
	struct pt_vfio *pt = open_ok();
	struct vfu_device *dev = pt_vfio_device(pt);

	(void)state;
	assert_int_equal(dev->regions[VFU_PCI_CONFIG].size, sizeof(k.config));
	assert_int_equal(dev->regions[VFU_PCI_BAR0].size, BAR0_SIZE);
	assert_true(dev->regions[VFU_PCI_BAR0].flags & VFU_REGION_FLAG_MMAP);
	assert_int_equal(dev->regions[VFU_PCI_BAR0].fd, k.dev);
	assert_int_equal(dev->regions[VFU_PCI_BAR0].fd_offset, 1ull << 40);
	assert_int_equal(dev->irqs[VFU_PCI_MSIX].count, 4);
	assert_int_equal(count_fds(), fds + 3); /* container, group, device */
	pt_vfio_close(pt);
	assert_int_equal(count_fds(), fds);
}

static void test_open_failures_leak_nothing(void **state)
{
	static const unsigned long steps[] = {
		VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_GROUP_GET_STATUS,
		VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU, VFIO_GROUP_GET_DEVICE_FD,
		VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO,
	};
	unsigned fds = count_fds();
	struct pt_vfio *pt;

	(void)state;
	for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		k.fail_req = steps[i];
		k.fail_errno = EIO;
		pt = NULL;
		err[0] = '\0';
		assert_true(pt_vfio_open(&pt, "pt", root, ADDR, false, err, sizeof(err)) < 0);
		assert_null(pt);
		if (!err[0])
			fail_msg("no reason given when ioctl %#lx fails", steps[i]);
		if (count_fds() != fds)
			fail_msg("ioctl %#lx failing leaks %d fds", steps[i],
				 (int)count_fds() - (int)fds);
	}
	k.fail_req = 0;
	k.fail_group_open = true;
	assert_int_equal(pt_vfio_open(&pt, "pt", root, ADDR, false, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "in use"));
	assert_int_equal(count_fds(), fds);
	/* A device that is not there fails before any fd is opened. */
	assert_int_equal(pt_vfio_open(&pt, "pt", root, "0000:02:00.0", false, err, sizeof(err)),
			 -ENODEV);
	assert_int_equal(count_fds(), fds);
}

/* A region description we cannot take whole fails the device, with a reason. */
static void test_region_info_too_long(void **state)
{
	unsigned fds = count_fds();
	struct pt_vfio *pt = NULL;
	int ret;

	(void)state;
	k.bar0_argsz = 1u << 20;
	errno = 0;
	ret = pt_vfio_open(&pt, "pt", root, ADDR, false, err, sizeof(err));
	if (!ret)
		fail_msg("BAR0's info was not taken, yet the device opened (BAR0 size %#llx)",
			 (unsigned long long)pt_vfio_device(pt)->regions[VFU_PCI_BAR0].size);
	assert_non_null(strstr(err, "region 0"));
	assert_non_null(strstr(err, strerror(E2BIG)));
	assert_int_equal(count_fds(), fds);
}

static uint16_t command(void)
{
	uint16_t cmd;

	memcpy(&cmd, k.config + PCI_COMMAND, sizeof(cmd));
	return cmd;
}

/* A VFIO reset that fails leaves the function at least unable to master the bus. */
static void test_failed_reset_stops_dma(void **state)
{
	uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	struct pt_vfio *pt;
	struct vfu_device *dev;

	(void)state;
	k.reset_flag = true;
	pt = open_ok();
	dev = pt_vfio_device(pt);
	memcpy(k.config + PCI_COMMAND, &cmd, sizeof(cmd));
	assert_int_equal(dev->ops->reset(dev->opaque), 0);
	assert_int_equal(k.resets, 1);

	k.reset_fails = true;
	assert_int_equal(dev->ops->reset(dev->opaque), -EBUSY);
	assert_int_equal(k.resets, 2);
	assert_int_equal(command(), PCI_COMMAND_MEMORY);

	/* Without any VFIO reset: the same, and the client is told. */
	k.reset_flag = false;
	pt_vfio_close(pt);
	pt = open_ok();
	dev = pt_vfio_device(pt);
	memcpy(k.config + PCI_COMMAND, &cmd, sizeof(cmd));
	assert_int_equal(dev->ops->reset(dev->opaque), -ENOTTY);
	assert_int_equal(command(), PCI_COMMAND_MEMORY);
	pt_vfio_close(pt);
}

static void map(struct vfu_device *dev, uint64_t iova, int fd)
{
	int i;

	assert_int_equal(vfu_dma_add(&dev->dma, iova, 0x2000, dup(fd), 0,
				     VFU_DMA_READ | VFU_DMA_WRITE), 0);
	i = vfu_dma_find(&dev->dma, iova);
	assert_true(i >= 0);
	assert_int_equal(dev->ops->dma_map(dev->opaque, &dev->dma.regions[i], fd), 0);
}

/* The client leaves: its memory leaves the IOMMU, its eventfds leave VFIO. */
static void test_client_gone_cleans_up(void **state)
{
	unsigned fds = count_fds();
	struct pt_vfio *pt = open_ok();
	struct vfu_device *dev = pt_vfio_device(pt);
	int mem = memfd_create("pt-vfio", MFD_CLOEXEC), efd[2];
	struct {
		struct vfu_irq_set s;
	} set = { { .argsz = sizeof(set), .index = VFU_PCI_MSIX, .start = 0, .count = 3,
		    .flags = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER } };

	(void)state;
	assert_int_equal(ftruncate(mem, 0x4000), 0);
	assert_int_equal(vfu_device_init_tables(dev), 0);
	map(dev, 0x100000, mem);
	map(dev, 0x200000, mem);
	assert_int_equal(k.nmaps, 2);
	/* Two eventfds for three vectors: the third is unassigned (-1 to VFIO). */
	efd[0] = null_fd();
	efd[1] = null_fd();
	assert_int_equal(dev->ops->set_irqs(dev->opaque, &set.s, 0, efd, 2), 0);
	assert_int_equal(k.irq_fds_held, 2);
	close(efd[0]);
	close(efd[1]);

	vfu_device_client_gone(dev);
	assert_int_equal(k.nmaps, 0);
	assert_int_equal(k.irq_fds_held, 0);
	vfu_device_fini_tables(dev);
	close(mem);
	pt_vfio_close(pt);
	assert_int_equal(count_fds(), fds);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_describes),
		T(test_open_failures_leak_nothing),
		T(test_region_info_too_long),
		T(test_failed_reset_stops_dma),
		T(test_client_gone_cleans_up),
	};

	return cmocka_run_group_tests_name("pt-vfio", tests, NULL, NULL);
}
