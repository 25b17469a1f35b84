/* SPDX-License-Identifier: MIT */
/*
 * Getting a VFIO device fd and the IOMMU address space behind it: iommufd
 * (/dev/iommu + the device's cdev) when the kernel offers it, else the
 * legacy container/group API with the type1 IOMMU, or VFIO's no-IOMMU mode
 * when the caller accepted it.
 */
#ifndef IOMED_PASSTHROUGH_IOMMU_H
#define IOMED_PASSTHROUGH_IOMMU_H

#include <stddef.h>
#include <stdint.h>

#include "passthrough/host.h"

enum pt_iommu_kind {
	PT_IOMMU_TYPE1,    /* container + group, VFIO_IOMMU_MAP_DMA */
	PT_IOMMU_IOMMUFD,  /* IOAS, IOMMU_IOAS_MAP */
	PT_IOMMU_NOIOMMU,  /* no translation: maps are not made */
};

struct pt_iommu {
	enum pt_iommu_kind kind;
	int container;
	int group;
	int iommufd;
	uint32_t ioas;
};

/*
 * Open @h (checked by pt_host_lookup) and attach it to a fresh IOMMU
 * address space. Returns the VFIO device fd, or -errno with the reason in
 * @err (@sysfs names the group's other members when it is not usable).
 */
int pt_iommu_open(struct pt_iommu *io, const char *sysfs, const struct pt_host *h, char *err,
		  size_t errlen);
void pt_iommu_close(struct pt_iommu *io);
const char *pt_iommu_kind_name(const struct pt_iommu *io);

/* Map [iova, iova + size) to @vaddr with VFU_DMA_READ/WRITE @prot; 0 or -errno. */
int pt_iommu_map(struct pt_iommu *io, uint64_t iova, uint64_t size, void *vaddr, uint32_t prot);
int pt_iommu_unmap(struct pt_iommu *io, uint64_t iova, uint64_t size);

#endif
