/* SPDX-License-Identifier: MIT */
/*
 * The part of the kernel's iommufd and VFIO cdev ABI iomed uses (Linux >=
 * 6.6), for building against older kernel headers (Debian 12 ships 6.1's).
 * Layouts and numbers are the kernel's; the names carry a PT_ prefix so
 * they never clash with a system header that has them.
 */
#ifndef IOMED_PASSTHROUGH_IOMMUFD_ABI_H
#define IOMED_PASSTHROUGH_IOMMUFD_ABI_H

#include <stdint.h>
#include <linux/ioctl.h>
#include <linux/vfio.h>

#define PT_IOMMUFD_TYPE ';'

struct pt_iommu_ioas_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t out_ioas_id;
};
#define PT_IOMMU_IOAS_ALLOC _IO(PT_IOMMUFD_TYPE, 0x81)

#define PT_IOMMU_IOAS_MAP_FIXED_IOVA (1u << 0)
#define PT_IOMMU_IOAS_MAP_WRITEABLE (1u << 1)
#define PT_IOMMU_IOAS_MAP_READABLE (1u << 2)

struct pt_iommu_ioas_map {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	uint32_t reserved;
	uint64_t user_va;
	uint64_t length;
	uint64_t iova;
};
#define PT_IOMMU_IOAS_MAP _IO(PT_IOMMUFD_TYPE, 0x85)

struct pt_iommu_ioas_unmap {
	uint32_t size;
	uint32_t ioas_id;
	uint64_t iova;
	uint64_t length;
};
#define PT_IOMMU_IOAS_UNMAP _IO(PT_IOMMUFD_TYPE, 0x86)

/* On a VFIO device cdev (/dev/vfio/devices/vfioN). */
struct pt_vfio_device_bind_iommufd {
	uint32_t argsz;
	uint32_t flags;
	int32_t iommufd;
	uint32_t out_devid;
};
#define PT_VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)

struct pt_vfio_device_attach_iommufd_pt {
	uint32_t argsz;
	uint32_t flags;
	uint32_t pt_id;
};
#define PT_VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)

_Static_assert(sizeof(struct pt_iommu_ioas_map) == 40, "iommu_ioas_map");
_Static_assert(sizeof(struct pt_iommu_ioas_unmap) == 24, "iommu_ioas_unmap");

#endif
