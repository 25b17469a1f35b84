/* SPDX-License-Identifier: MIT */
/*
 * A host PCI function meant for kernel VFIO, as sysfs describes it: its
 * driver, its IOMMU group and the group's other members, its VFIO device
 * cdev. Every lookup takes the sysfs root ("/sys"), so the checks run
 * against a fake tree in the unit tests.
 */
#ifndef IOMED_PASSTHROUGH_HOST_H
#define IOMED_PASSTHROUGH_HOST_H

#include <stdbool.h>
#include <stddef.h>

#define PT_ADDR_LEN 13 /* "DDDD:BB:DD.F" and its NUL */

struct pt_host {
	char addr[PT_ADDR_LEN]; /* normalized: lower-case hex, with domain */
	char driver[64];        /* bound driver */
	int group;              /* IOMMU group number, -1 none */
	bool noiommu;           /* the group is VFIO's stand-in for a missing IOMMU */
	char cdev[32];          /* "vfioN" when the kernel offers VFIO device cdevs, else "" */
};

/*
 * "0000:01:00.0" or "01:00.0" (domain 0) into the normalized form; -EINVAL
 * for anything else.
 */
int pt_host_parse_addr(const char *in, char out[PT_ADDR_LEN]);

/*
 * Find @addr under @sysfs and check it can be handed to VFIO: it exists
 * (-ENODEV), is bound to vfio-pci or a vfio-pci variant driver (-EBUSY),
 * has an IOMMU group (-ENXIO) that is a real IOMMU unless @noiommu
 * (-EPERM). On error @err says what to do about it.
 */
int pt_host_lookup(const char *sysfs, const char *addr, bool noiommu, struct pt_host *h,
		   char *err, size_t errlen);

/*
 * The other members of @h's group, as "0000:00:1f.0 (lpc_ich), ..." (driver
 * "none" when unbound), for the error when the group cannot be used.
 * Returns how many there are.
 */
int pt_host_group_peers(const char *sysfs, const struct pt_host *h, char *buf, size_t len);

#endif
