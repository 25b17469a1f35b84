/* SPDX-License-Identifier: MIT */
/*
 * Passthrough backends: a vfio-user device whose regions, DMA maps and
 * interrupts are those of a real device behind kernel VFIO (vfio.c) or of
 * a device another vfio-user server serves (upstream.c). After setup the
 * client reaches the device without iomed: mmapped BARs, IOMMU (or
 * upstream) DMA maps, eventfds handed on unchanged.
 */
#ifndef IOMED_PASSTHROUGH_PASSTHROUGH_H
#define IOMED_PASSTHROUGH_PASSTHROUGH_H

#include <stdbool.h>
#include <stddef.h>

#include "vfio-user/server.h"

struct pt_vfio;
struct pt_upstream;

/*
 * Open the host PCI function @addr (bound to vfio-pci) under @sysfs
 * ("/sys"); @noiommu accepts VFIO's no-IOMMU mode. 0 or -errno with the
 * reason in @err.
 */
int pt_vfio_open(struct pt_vfio **out, const char *name, const char *sysfs, const char *addr,
		 bool noiommu, char *err, size_t errlen);
struct vfu_device *pt_vfio_device(struct pt_vfio *pt);
void pt_vfio_close(struct pt_vfio *pt);

/* Connect to the vfio-user server at @path and take over its device's description. */
int pt_upstream_open(struct pt_upstream **out, const char *name, const char *path, char *err,
		     size_t errlen);
struct vfu_device *pt_upstream_device(struct pt_upstream *up);
void pt_upstream_close(struct pt_upstream *up);

#endif
