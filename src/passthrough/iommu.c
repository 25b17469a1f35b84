// SPDX-License-Identifier: MIT
/*
 * VFIO device fds and IOMMU address spaces. One address space per device:
 * its IOVAs are the guest addresses of the one client it serves.
 */
#include "passthrough/iommu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "core/log.h"
#include "passthrough/iommufd_abi.h"
#include "vfio-user/wire.h"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void pt_iommu_close(struct pt_iommu *io)
{
	close_fd(&io->group);
	close_fd(&io->container);
	close_fd(&io->iommufd);
}

const char *pt_iommu_kind_name(const struct pt_iommu *io)
{
	switch (io->kind) {
	case PT_IOMMU_IOMMUFD: return "iommufd";
	case PT_IOMMU_NOIOMMU: return "VFIO no-IOMMU (no DMA translation)";
	default: return "VFIO type1 (container/group)";
	}
}

/* ---- iommufd ---- */

static int open_iommufd(struct pt_iommu *io, const struct pt_host *h)
{
	struct pt_vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct pt_vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct pt_iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	char path[64];
	int dev, ret;

	io->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (io->iommufd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", h->cdev);
	dev = open(path, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	bind.iommufd = io->iommufd;
	if (ioctl(dev, PT_VFIO_DEVICE_BIND_IOMMUFD, &bind) ||
	    ioctl(io->iommufd, PT_IOMMU_IOAS_ALLOC, &alloc))
		goto fail;
	attach.pt_id = alloc.out_ioas_id;
	if (ioctl(dev, PT_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		goto fail;
	io->ioas = alloc.out_ioas_id;
	io->kind = PT_IOMMU_IOMMUFD;
	return dev;
fail:
	ret = -errno;
	close(dev);
	return ret;
}

/* ---- container and group ---- */

static int open_container(struct pt_iommu *io, bool noiommu, int *type, char *err,
			  size_t errlen)
{
	int ret;

	io->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (io->container < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open /dev/vfio/vfio: %s (is the vfio module loaded?)",
			 strerror(-ret));
		return ret;
	}
	if (ioctl(io->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		snprintf(err, errlen, "/dev/vfio/vfio speaks an unknown VFIO API version");
		return -EPROTO;
	}
	if (noiommu)
		*type = VFIO_NOIOMMU_IOMMU;
	else if (ioctl(io->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0)
		*type = VFIO_TYPE1v2_IOMMU;
	else if (ioctl(io->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0)
		*type = VFIO_TYPE1_IOMMU;
	else
		*type = -1;
	if (*type < 0 || ioctl(io->container, VFIO_CHECK_EXTENSION, *type) <= 0) {
		snprintf(err, errlen, "VFIO offers no %s IOMMU here (%s)",
			 noiommu ? "no-IOMMU" : "type1",
			 noiommu ? "load vfio with enable_unsafe_noiommu_mode=1"
				 : "load the vfio_iommu_type1 module");
		return -ENOTSUP;
	}
	return 0;
}

static int open_group(struct pt_iommu *io, const char *sysfs, const struct pt_host *h,
		      char *err, size_t errlen)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64], peers[512];
	int ret;

	snprintf(path, sizeof(path), "/dev/vfio/%s%d", h->noiommu ? "noiommu-" : "", h->group);
	io->group = open(path, O_RDWR | O_CLOEXEC);
	if (io->group < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s: %s%s", path, strerror(errno),
			 ret == -EBUSY ? " (the IOMMU group is in use: QEMU or another iomed holds "
					 "a device of it)" : "");
		return ret;
	}
	if (ioctl(io->group, VFIO_GROUP_GET_STATUS, &st)) {
		ret = -errno;
		snprintf(err, errlen, "%s: VFIO_GROUP_GET_STATUS: %s", path, strerror(-ret));
		return ret;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		pt_host_group_peers(sysfs, h, peers, sizeof(peers));
		snprintf(err, errlen,
			 "IOMMU group %d of %s also holds %s: a group goes to VFIO whole; "
			 "bind those devices to vfio-pci too (or unbind them)",
			 h->group, h->addr, peers[0] ? peers : "devices bound to host drivers");
		return -EBUSY;
	}
	return 0;
}

static int open_legacy(struct pt_iommu *io, const char *sysfs, const struct pt_host *h,
		       char *err, size_t errlen)
{
	int type = -1, dev, ret;

	ret = open_container(io, h->noiommu, &type, err, errlen);
	if (!ret)
		ret = open_group(io, sysfs, h, err, errlen);
	if (ret)
		return ret;
	if (ioctl(io->group, VFIO_GROUP_SET_CONTAINER, &io->container) ||
	    ioctl(io->container, VFIO_SET_IOMMU, type)) {
		ret = -errno;
		snprintf(err, errlen, "cannot attach IOMMU group %d to a VFIO container: %s",
			 h->group, strerror(errno));
		return ret;
	}
	dev = ioctl(io->group, VFIO_GROUP_GET_DEVICE_FD, h->addr);
	if (dev < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot get the VFIO device %s: %s", h->addr, strerror(errno));
		return ret;
	}
	io->kind = h->noiommu ? PT_IOMMU_NOIOMMU : PT_IOMMU_TYPE1;
	return dev;
}

int pt_iommu_open(struct pt_iommu *io, const char *sysfs, const struct pt_host *h, char *err,
		  size_t errlen)
{
	int dev;

	memset(io, 0, sizeof(*io));
	io->container = io->group = io->iommufd = -1;
	if (h->cdev[0] && !h->noiommu && !access("/dev/iommu", F_OK)) {
		dev = open_iommufd(io, h);
		if (dev >= 0)
			return dev;
		pr_info("%s: iommufd: %s; trying the VFIO group API", h->addr, strerror(-dev));
		pt_iommu_close(io);
	}
	dev = open_legacy(io, sysfs, h, err, errlen);
	if (dev < 0)
		pt_iommu_close(io);
	return dev;
}

/* ---- maps ---- */

int pt_iommu_map(struct pt_iommu *io, uint64_t iova, uint64_t size, void *vaddr, uint32_t prot)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .vaddr = (uintptr_t)vaddr, .iova = iova, .size = size,
	};
	struct pt_iommu_ioas_map im = {
		.size = sizeof(im), .flags = PT_IOMMU_IOAS_MAP_FIXED_IOVA, .ioas_id = io->ioas,
		.user_va = (uintptr_t)vaddr, .length = size, .iova = iova,
	};

	switch (io->kind) {
	case PT_IOMMU_NOIOMMU:
		return 0;
	case PT_IOMMU_IOMMUFD:
		im.flags |= (prot & VFU_DMA_READ ? PT_IOMMU_IOAS_MAP_READABLE : 0) |
			    (prot & VFU_DMA_WRITE ? PT_IOMMU_IOAS_MAP_WRITEABLE : 0);
		return ioctl(io->iommufd, PT_IOMMU_IOAS_MAP, &im) ? -errno : 0;
	default:
		m.flags = (prot & VFU_DMA_READ ? VFIO_DMA_MAP_FLAG_READ : 0) |
			  (prot & VFU_DMA_WRITE ? VFIO_DMA_MAP_FLAG_WRITE : 0);
		return ioctl(io->container, VFIO_IOMMU_MAP_DMA, &m) ? -errno : 0;
	}
}

int pt_iommu_unmap(struct pt_iommu *io, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = size };
	struct pt_iommu_ioas_unmap iu = {
		.size = sizeof(iu), .ioas_id = io->ioas, .iova = iova, .length = size,
	};

	switch (io->kind) {
	case PT_IOMMU_NOIOMMU:
		return 0;
	case PT_IOMMU_IOMMUFD:
		return ioctl(io->iommufd, PT_IOMMU_IOAS_UNMAP, &iu) ? -errno : 0;
	default:
		return ioctl(io->container, VFIO_IOMMU_UNMAP_DMA, &u) ? -errno : 0;
	}
}
