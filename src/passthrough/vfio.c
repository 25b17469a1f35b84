// SPDX-License-Identifier: MIT
/*
 * Kernel VFIO passthrough. The client sees the device's own regions: config
 * space and trapped BAR parts are read and written through the VFIO device
 * fd (QEMU virtualizes what it always does on top), mappable BAR areas are
 * that same fd at the region's offset, so QEMU maps the hardware straight
 * into the guest. DMA maps become IOMMU maps of the client's memory at
 * iova = guest address, and the client's eventfds go to
 * VFIO_DEVICE_SET_IRQS as they are: no access, interrupt or DMA of the
 * datapath passes through iomed.
 */
#include "passthrough/passthrough.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "core/log.h"
#include "core/sandbox.h"
#include "passthrough/host.h"
#include "passthrough/iommu.h"

#define MAX_REGION_INFO (64u << 10) /* bounds the capability chain we accept */

struct pt_vfio {
	struct vfu_device vfu;
	char name[80];
	struct pt_host host;
	struct pt_iommu iommu;
	int dev;
	uint64_t offset[VFU_PCI_NUM_REGIONS]; /* of each region in the device fd */
};

static struct pt_vfio *to_pt(void *opaque)
{
	return opaque;
}

/* ---- regions ---- */

static int region_rw(struct pt_vfio *pt, unsigned region, uint64_t off, void *buf,
		     uint32_t len, bool write)
{
	off_t pos = (off_t)(pt->offset[region] + off);
	ssize_t n;

	n = write ? pwrite(pt->dev, buf, len, pos) : pread(pt->dev, buf, len, pos);
	if (n < 0)
		return -errno;
	return (uint32_t)n == len ? 0 : -EIO;
}

static int pt_region_read(void *opaque, unsigned region, uint64_t off, void *buf, uint32_t len)
{
	return region_rw(to_pt(opaque), region, off, buf, len, false);
}

static int pt_region_write(void *opaque, unsigned region, uint64_t off, const void *buf,
			   uint32_t len)
{
	return region_rw(to_pt(opaque), region, off, (void *)buf, len, true);
}

/* ---- reset, DMA, interrupts ---- */

/* Keep the function from mastering the bus: no DMA with a previous client's setup. */
static void stop_bus_master(struct pt_vfio *pt)
{
	uint16_t cmd;

	if (region_rw(pt, VFU_PCI_CONFIG, PCI_COMMAND, &cmd, sizeof(cmd), false) ||
	    !(cmd & PCI_COMMAND_MASTER))
		return;
	cmd &= ~PCI_COMMAND_MASTER;
	region_rw(pt, VFU_PCI_CONFIG, PCI_COMMAND, &cmd, sizeof(cmd), true);
}

/*
 * VFIO's reset (FLR, PM or bus reset). A function without one (QEMU's edu),
 * or whose reset failed (a bus reset VFIO may not do now), is at least kept
 * from mastering the bus, and the client is told.
 */
static int pt_reset(void *opaque)
{
	struct pt_vfio *pt = to_pt(opaque);
	int ret = -ENOTTY;

	if ((pt->vfu.flags & VFU_DEV_FLAG_RESET) && !ioctl(pt->dev, VFIO_DEVICE_RESET))
		return 0;
	if (pt->vfu.flags & VFU_DEV_FLAG_RESET) {
		ret = -errno;
		pr_warn_rl("%s: VFIO reset of %s failed: %s; bus mastering turned off", pt->name,
			   pt->host.addr, strerror(-ret));
	}
	stop_bus_master(pt);
	return ret;
}

static int pt_dma_map(void *opaque, const struct vfu_dma_region *r, int fd)
{
	struct pt_vfio *pt = to_pt(opaque);
	int ret;

	(void)fd;
	/* Memory without an fd (QEMU's ROM areas) or access is out of the device's reach. */
	if (!r->map || !r->prot) {
		pr_debug("%s: DMA map %#llx+%#llx has no memory to map", pt->name,
			 (unsigned long long)r->addr, (unsigned long long)r->size);
		return 0;
	}
	ret = pt_iommu_map(&pt->iommu, r->addr, r->size, r->map, r->prot);
	if (ret)
		pr_warn_rl("%s: IOMMU map of %#llx+%#llx failed: %s%s", pt->name,
			   (unsigned long long)r->addr, (unsigned long long)r->size,
			   strerror(-ret), ret == -ENOMEM ? " (locked memory limit: ulimit -l)" : "");
	return ret;
}

static void pt_dma_unmap(void *opaque, uint64_t addr, uint64_t size)
{
	struct pt_vfio *pt = to_pt(opaque);
	int ret = pt_iommu_unmap(&pt->iommu, addr, size);

	/* A map that never reached the IOMMU (no fd) is not there to remove. */
	if (ret && ret != -ENOENT && ret != -EINVAL)
		pr_warn_rl("%s: IOMMU unmap of %#llx+%#llx failed: %s", pt->name,
			   (unsigned long long)addr, (unsigned long long)size, strerror(-ret));
}

/*
 * vfio-user's SET_IRQS is VFIO's, field for field; only the eventfds
 * travel differently (SCM_RIGHTS, fewer than count meaning "unassign the
 * rest", which VFIO spells -1).
 */
static int pt_set_irqs(void *opaque, const struct vfu_irq_set *set, size_t data_len,
		       const int *fds, unsigned nfds)
{
	struct pt_vfio *pt = to_pt(opaque);
	uint32_t type = set->flags & VFU_IRQ_SET_DATA_MASK;
	size_t extra = 0;
	struct vfio_irq_set *v;
	int ret;

	if (type == VFU_IRQ_SET_DATA_EVENTFD)
		extra = (size_t)set->count * sizeof(int32_t);
	else if (type == VFU_IRQ_SET_DATA_BOOL)
		extra = data_len;
	v = calloc(1, sizeof(*v) + extra);
	if (!v)
		return -ENOMEM;
	*v = (struct vfio_irq_set){
		.argsz = sizeof(*v) + extra, .flags = set->flags, .index = set->index,
		.start = set->start, .count = set->count,
	};
	if (type == VFU_IRQ_SET_DATA_EVENTFD) {
		int32_t *efd = (int32_t *)v->data;

		for (uint32_t i = 0; i < set->count; i++)
			efd[i] = i < nfds ? fds[i] : -1;
	} else if (type == VFU_IRQ_SET_DATA_BOOL) {
		memcpy(v->data, set->data, data_len);
	}
	ret = ioctl(pt->dev, VFIO_DEVICE_SET_IRQS, v) ? -errno : 0;
	free(v);
	if (ret)
		pr_debug("%s: SET_IRQS index %u start %u count %u flags %#x: %s", pt->name,
			 set->index, set->start, set->count, set->flags, strerror(-ret));
	return ret;
}

static const struct vfu_device_ops pt_vfio_ops = {
	.region_read = pt_region_read,
	.region_write = pt_region_write,
	.reset = pt_reset,
	.dma_map = pt_dma_map,
	.dma_unmap = pt_dma_unmap,
	.set_irqs = pt_set_irqs,
};

/* ---- describing the device ---- */

/*
 * VFIO_DEVICE_GET_REGION_INFO with its capabilities into *@out (free() it);
 * 0 or -errno, -E2BIG for a capability chain longer than we take.
 */
static int get_region_info(int dev, unsigned index, struct vfio_region_info **out)
{
	uint32_t argsz = sizeof(struct vfio_region_info);
	struct vfio_region_info *info = NULL, *n;
	int ret = -E2BIG;

	for (int tries = 0; tries < 2; tries++) {
		n = realloc(info, argsz);
		if (!n) {
			ret = -ENOMEM;
			break;
		}
		info = n;
		memset(info, 0, argsz);
		info->argsz = argsz;
		info->index = index;
		if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, info)) {
			ret = errno ? -errno : -EIO; /* never 0: *out is not set */
			break;
		}
		if (info->argsz <= argsz) {
			*out = info;
			return 0;
		}
		if (info->argsz > MAX_REGION_INFO)
			break;
		argsz = info->argsz;
	}
	free(info);
	return ret;
}

/*
 * The sparse-mmap capability of @info into *@out: 1 found, 0 none, -1 a
 * chain we cannot follow (then nothing is mapped).
 */
static int find_sparse(const struct vfio_region_info *info,
		       const struct vfio_region_info_cap_sparse_mmap **out)
{
	const struct vfio_region_info_cap_sparse_mmap *sp;
	const struct vfio_info_cap_header *h;
	uint32_t off = info->cap_offset, hops = 0;

	if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS))
		return 0;
	for (; off; off = h->next) {
		if (off < sizeof(*info) || off > info->argsz - sizeof(*h) || hops++ == 64)
			return -1;
		h = (const void *)((const char *)info + off);
		if (h->id != VFIO_REGION_INFO_CAP_SPARSE_MMAP)
			continue;
		sp = (const void *)h;
		if (info->argsz - off < sizeof(*sp) ||
		    sp->nr_areas > (info->argsz - off - sizeof(*sp)) / sizeof(sp->areas[0]))
			return -1;
		*out = sp;
		return 1;
	}
	return 0;
}

/* Mappable areas as VFIO reports them; false when the region must stay trapped. */
static bool take_sparse(struct vfu_region_desc *d, const struct vfio_region_info *info)
{
	const struct vfio_region_info_cap_sparse_mmap *sp = NULL;
	int found = find_sparse(info, &sp);

	if (found <= 0)
		return !found; /* no capability: all of it is mappable */
	if (!sp->nr_areas || sp->nr_areas > VFU_MAX_SPARSE)
		return false;
	for (uint32_t i = 0; i < sp->nr_areas; i++) {
		d->sparse[i].offset = sp->areas[i].offset;
		d->sparse[i].size = sp->areas[i].size;
	}
	d->nr_sparse = sp->nr_areas;
	return true;
}

static int describe_region(struct pt_vfio *pt, unsigned index)
{
	struct vfu_region_desc *d = &pt->vfu.regions[index];
	struct vfio_region_info *info;
	int ret;

	d->fd = -1;
	ret = get_region_info(pt->dev, index, &info);
	if (ret)
		return index == VFU_PCI_VGA ? 0 : ret; /* VGA: only VGA devices have it */
	d->size = info->size;
	d->flags = info->flags & (VFU_REGION_FLAG_READ | VFU_REGION_FLAG_WRITE);
	pt->offset[index] = info->offset;
	if ((info->flags & VFIO_REGION_INFO_FLAG_MMAP) && info->size && take_sparse(d, info)) {
		/* The client maps the VFIO device fd itself, at the region's offset. */
		d->flags |= VFU_REGION_FLAG_MMAP;
		d->fd = pt->dev;
		d->fd_offset = info->offset;
	}
	pr_debug("%s: region %u: size %#llx flags %#x%s, %u mappable areas", pt->name, index,
		 (unsigned long long)d->size, d->flags, d->fd >= 0 ? " (fd)" : "", d->nr_sparse);
	free(info);
	return 0;
}

static int describe(struct pt_vfio *pt, char *err, size_t errlen)
{
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	int ret;

	if (ioctl(pt->dev, VFIO_DEVICE_GET_INFO, &dinfo) || !(dinfo.flags & VFIO_DEVICE_FLAGS_PCI)) {
		snprintf(err, errlen, "%s is not a VFIO PCI device", pt->host.addr);
		return -ENODEV;
	}
	pt->vfu.flags = VFU_DEV_FLAG_PCI | (dinfo.flags & VFIO_DEVICE_FLAGS_RESET ?
					    VFU_DEV_FLAG_RESET : 0);
	for (unsigned i = 0; i < VFU_PCI_NUM_REGIONS && i < dinfo.num_regions; i++) {
		ret = describe_region(pt, i);
		if (ret) {
			snprintf(err, errlen, "%s: region %u: %s", pt->host.addr, i, strerror(-ret));
			return ret;
		}
	}
	for (unsigned i = 0; i < VFU_PCI_NUM_IRQS && i < dinfo.num_irqs; i++) {
		struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = i };

		if (ioctl(pt->dev, VFIO_DEVICE_GET_IRQ_INFO, &ii))
			continue;
		pt->vfu.irqs[i].count = ii.count < VFU_MAX_IRQ_COUNT ? ii.count : VFU_MAX_IRQ_COUNT;
		pt->vfu.irqs[i].flags = ii.flags & (VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_MASKABLE |
						    VFU_IRQ_INFO_AUTOMASKED | VFU_IRQ_INFO_NORESIZE);
	}
	return 0;
}

int pt_vfio_open(struct pt_vfio **out, const char *name, const char *sysfs, const char *addr,
		 bool noiommu, char *err, size_t errlen)
{
	struct pt_vfio *pt;
	int ret;

	pt = calloc(1, sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	pt->dev = -1;
	pt->iommu.container = pt->iommu.group = pt->iommu.iommufd = -1;
	snprintf(pt->name, sizeof(pt->name), "%s", name);
	for (unsigned i = 0; i < VFU_PCI_NUM_REGIONS; i++)
		pt->vfu.regions[i].fd = -1;
	ret = pt_host_lookup(sysfs, addr, noiommu, &pt->host, err, errlen);
	if (ret)
		goto fail;
	ret = pt_iommu_open(&pt->iommu, sysfs, &pt->host, err, errlen);
	if (ret < 0)
		goto fail;
	pt->dev = ret;
	ret = describe(pt, err, errlen);
	if (ret)
		goto fail;
	pt->vfu.name = pt->name;
	pt->vfu.ops = &pt_vfio_ops;
	pt->vfu.opaque = pt;
	pr_info("%s: host device %s (group %d) through %s", pt->name, pt->host.addr,
		pt->host.group, pt_iommu_kind_name(&pt->iommu));
	*out = pt;
	return 0;
fail:
	pt_vfio_close(pt);
	return ret;
}

struct vfu_device *pt_vfio_device(struct pt_vfio *pt)
{
	return &pt->vfu;
}

int pt_vfio_sandbox(const struct pt_vfio *pt, struct sandbox_extra *x)
{
	return sandbox_allow_rw(x, pt->dev) ?:
	       sandbox_allow_ioctl(x, pt->dev, VFIO_DEVICE_RESET) ?:
	       sandbox_allow_ioctl(x, pt->dev, VFIO_DEVICE_SET_IRQS) ?:
	       pt_iommu_sandbox(&pt->iommu, x);
}

void pt_vfio_close(struct pt_vfio *pt)
{
	if (!pt)
		return;
	if (pt->dev >= 0)
		close(pt->dev);
	pt_iommu_close(&pt->iommu);
	free(pt);
}
