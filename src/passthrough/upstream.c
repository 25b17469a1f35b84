// SPDX-License-Identifier: MIT
/*
 * Passthrough to another vfio-user server (the upstream), through the
 * in-tree client. The client of iomed gets the upstream's own region fds
 * and sparse areas, so mappable BAR areas are the upstream's memory; DMA
 * maps go upstream with the client's fds, so the upstream reads guest
 * memory itself; eventfds go upstream as they are, so the upstream signals
 * the client directly. Only what the upstream traps (region accesses that
 * are not mapped) and control messages pass through here.
 *
 * An upstream that goes away fails the requests that need it. Once the
 * client has undone everything it set up there (at the latest when it
 * leaves), the next request reconnects, provided the upstream still
 * describes the same device.
 */
#include "passthrough/passthrough.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "vfio-user/client.h"
#include "vfio-user/sock.h"

#define RECONNECT_MS 1000 /* between two attempts to reach a lost upstream */

struct pt_upstream {
	struct vfu_device vfu;
	char name[80];
	char path[108];
	struct vfu_client *c;
	struct vfu_client_region regions[VFU_PCI_NUM_REGIONS]; /* hold the upstream's fds */
	bool lost;             /* the connection broke: reconnect before the next request */
	int64_t next_try_ms;
	unsigned maps;         /* DMA maps of the client's that went upstream */
	uint32_t irqs_enabled; /* bit per IRQ index the client assigned eventfds to */
};

static int describe(struct pt_upstream *up, struct vfu_device *vfu,
		    struct vfu_client_region *regions, char *err, size_t errlen);
static int connect_upstream(struct pt_upstream *up, char *err, size_t errlen);

static struct pt_upstream *to_up(void *opaque)
{
	return opaque;
}

/* An upstream that went away is worth one clear line, not one per access. */
static int upstream_err(struct pt_upstream *up, const char *what, int ret)
{
	if (!ret)
		return 0;
	pr_warn_rl("%s: upstream %s: %s failed: %s", up->name, up->path, what, strerror(-ret));
	/* maps and irqs_enabled stay: they say what the client believes it set up. */
	if (ret == -EPIPE || ret == -ECONNRESET || ret == -EBADF)
		up->lost = true;
	return ret;
}

/* The same device as before: what the server validates against may not change. */
static bool same_device(const struct vfu_device *a, const struct vfu_device *b)
{
	for (unsigned i = 0; i < VFU_PCI_NUM_REGIONS; i++) {
		const struct vfu_region_desc *x = &a->regions[i], *y = &b->regions[i];

		if (x->size != y->size || x->flags != y->flags || x->nr_sparse != y->nr_sparse ||
		    memcmp(x->sparse, y->sparse, x->nr_sparse * sizeof(x->sparse[0])))
			return false;
	}
	return a->flags == b->flags && !memcmp(a->irqs, b->irqs, sizeof(a->irqs));
}

static void release_regions(struct vfu_client_region *regions)
{
	for (unsigned i = 0; i < VFU_PCI_NUM_REGIONS; i++)
		vfu_client_region_release(&regions[i]);
}

/* Connect again and take the new connection's region fds. */
static int reconnect(struct pt_upstream *up)
{
	struct vfu_client_region regions[VFU_PCI_NUM_REGIONS] = { 0 };
	struct vfu_device fresh = { 0 };
	struct vfu_client *old = up->c;
	char err[256];
	int ret;

	for (unsigned i = 0; i < VFU_PCI_NUM_REGIONS; i++)
		regions[i].fd = fresh.regions[i].fd = -1;
	up->c = NULL;
	ret = connect_upstream(up, err, sizeof(err));
	if (!ret)
		ret = describe(up, &fresh, regions, err, sizeof(err));
	if (!ret && !same_device(&fresh, &up->vfu)) {
		snprintf(err, sizeof(err), "upstream %s now serves a different device", up->path);
		ret = -ENODEV;
	}
	if (ret) {
		vfu_client_close(up->c);
		release_regions(regions);
		up->c = old;
		pr_warn_rl("%s: %s", up->name, err);
		return ret;
	}
	vfu_client_close(old);
	release_regions(up->regions);
	memcpy(up->regions, regions, sizeof(regions));
	for (unsigned i = 0; i < VFU_PCI_NUM_REGIONS; i++)
		up->vfu.regions[i].fd = fresh.regions[i].fd;
	up->lost = false;
	pr_info("%s: reconnected to upstream %s", up->name, up->path);
	return 0;
}

/*
 * Before a request: a lost upstream is reconnected only while the client
 * holds nothing there (its maps and eventfds would be missing), at most
 * once per RECONNECT_MS.
 */
static int upstream_ready(struct pt_upstream *up)
{
	int64_t now;

	if (!up->lost)
		return 0;
	now = vfu_now_ms();
	if (up->maps || up->irqs_enabled || now < up->next_try_ms)
		return -ENOTCONN;
	up->next_try_ms = now + RECONNECT_MS;
	return reconnect(up) ? -ENOTCONN : 0;
}

static int up_region_read(void *opaque, unsigned region, uint64_t off, void *buf, uint32_t len)
{
	struct pt_upstream *up = to_up(opaque);
	int ret = upstream_ready(up);

	if (!ret)
		ret = vfu_client_region_read(up->c, region, off, buf, len);
	return upstream_err(up, "REGION_READ", ret);
}

static int up_region_write(void *opaque, unsigned region, uint64_t off, const void *buf,
			   uint32_t len)
{
	struct pt_upstream *up = to_up(opaque);
	int ret = upstream_ready(up);

	if (!ret)
		ret = vfu_client_region_write(up->c, region, off, buf, len);
	return upstream_err(up, "REGION_WRITE", ret);
}

static int up_reset(void *opaque)
{
	struct pt_upstream *up = to_up(opaque);
	int ret = upstream_ready(up);

	if (!ret)
		ret = vfu_client_reset(up->c);
	return upstream_err(up, "DEVICE_RESET", ret);
}

static int up_dma_map(void *opaque, const struct vfu_dma_region *r, int fd)
{
	struct pt_upstream *up = to_up(opaque);
	int ret = upstream_ready(up);

	/* Our own mapping answers the upstream's DMA_READ/WRITE for memory without an fd. */
	if (!ret)
		ret = vfu_client_dma_map_local(up->c, r->addr, r->size, fd, r->offset, r->prot,
					       r->map);
	if (!ret)
		up->maps++;
	return upstream_err(up, "DMA_MAP", ret);
}

static void up_dma_unmap(void *opaque, uint64_t addr, uint64_t size)
{
	struct pt_upstream *up = to_up(opaque);

	/* Gone from our table whatever the upstream says. */
	if (up->maps)
		up->maps--;
	if (!up->lost)
		upstream_err(up, "DMA_UNMAP", vfu_client_dma_unmap(up->c, addr, size, 0));
}

static int up_set_irqs(void *opaque, const struct vfu_irq_set *set, size_t data_len,
		       const int *fds, unsigned nfds)
{
	struct pt_upstream *up = to_up(opaque);
	uint32_t bit = 1u << set->index;
	int ret;

	if (!set->count)
		up->irqs_enabled &= ~bit; /* disabling needs no upstream once it is lost */
	ret = upstream_ready(up);
	if (ret && !set->count)
		return 0;
	if (!ret)
		ret = vfu_client_set_irqs(up->c, set->index, set->flags, set->start, set->count,
					  fds, nfds, set->data, data_len);
	if (!ret && set->count && (set->flags & VFU_IRQ_SET_DATA_EVENTFD) && nfds)
		up->irqs_enabled |= bit;
	return upstream_err(up, "SET_IRQS", ret);
}

static const struct vfu_device_ops pt_upstream_ops = {
	.region_read = up_region_read,
	.region_write = up_region_write,
	.reset = up_reset,
	.dma_map = up_dma_map,
	.dma_unmap = up_dma_unmap,
	.set_irqs = up_set_irqs,
};

/* The upstream's region as we serve it: same size, access, fd and areas. */
static void describe_region(struct vfu_region_desc *d, const struct vfu_client_region *r)
{
	d->size = r->info.size;
	d->flags = r->info.flags & (VFU_REGION_FLAG_READ | VFU_REGION_FLAG_WRITE);
	d->fd = -1;
	if (!(r->info.flags & VFU_REGION_FLAG_MMAP) || r->fd < 0 || !r->info.size)
		return;
	/* More areas than we can describe: everything stays trapped (and forwarded). */
	if (r->sparse && (!r->nr_areas || r->nr_areas > VFU_MAX_SPARSE))
		return;
	d->flags |= VFU_REGION_FLAG_MMAP;
	d->fd = r->fd;
	d->fd_offset = r->info.offset;
	d->nr_sparse = r->sparse ? r->nr_areas : 0;
	for (unsigned i = 0; i < d->nr_sparse; i++) {
		d->sparse[i].offset = r->areas[i].offset;
		d->sparse[i].size = r->areas[i].size;
	}
}

static int describe(struct pt_upstream *up, struct vfu_device *vfu,
		    struct vfu_client_region *regions, char *err, size_t errlen)
{
	struct vfu_device_info info;
	struct vfu_irq_info ii;
	int ret;

	ret = vfu_client_get_device_info(up->c, &info);
	if (ret || !(info.flags & VFU_DEV_FLAG_PCI)) {
		snprintf(err, errlen, "upstream %s: DEVICE_GET_INFO: %s", up->path,
			 ret ? strerror(-ret) : "not a PCI device");
		return ret ? ret : -ENODEV;
	}
	vfu->flags = info.flags & (VFU_DEV_FLAG_PCI | VFU_DEV_FLAG_RESET);
	for (unsigned i = 0; i < VFU_PCI_NUM_REGIONS && i < info.num_regions; i++) {
		ret = vfu_client_get_region_info(up->c, i, &regions[i]);
		if (ret) {
			snprintf(err, errlen, "upstream %s: region %u: %s", up->path, i,
				 strerror(-ret));
			return ret;
		}
		describe_region(&vfu->regions[i], &regions[i]);
	}
	for (unsigned i = 0; i < VFU_PCI_NUM_IRQS && i < info.num_irqs; i++) {
		ret = vfu_client_get_irq_info(up->c, i, &ii);
		if (ret) {
			snprintf(err, errlen, "upstream %s: IRQ index %u: %s", up->path, i,
				 strerror(-ret));
			return ret;
		}
		vfu->irqs[i].count = ii.count < VFU_MAX_IRQ_COUNT ? ii.count : VFU_MAX_IRQ_COUNT;
		vfu->irqs[i].flags = ii.flags;
	}
	return 0;
}

static int connect_upstream(struct pt_upstream *up, char *err, size_t errlen)
{
	int ret;

	ret = vfu_client_connect(&up->c, up->path);
	if (ret) {
		snprintf(err, errlen, "cannot connect to upstream vfio-user server %s: %s%s",
			 up->path, strerror(-ret),
			 ret == -ENOENT || ret == -ECONNREFUSED ? " (is it running?)" : "");
		return ret;
	}
	ret = vfu_client_negotiate(up->c, NULL);
	if (ret)
		snprintf(err, errlen, "upstream %s: VERSION: %s", up->path, strerror(-ret));
	return ret;
}

int pt_upstream_open(struct pt_upstream **out, const char *name, const char *path, char *err,
		     size_t errlen)
{
	struct pt_upstream *up;
	int ret;

	if (strlen(path) >= sizeof(up->path)) {
		snprintf(err, errlen, "upstream socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	up = calloc(1, sizeof(*up));
	if (!up)
		return -ENOMEM;
	snprintf(up->name, sizeof(up->name), "%s", name);
	snprintf(up->path, sizeof(up->path), "%s", path);
	for (unsigned i = 0; i < VFU_PCI_NUM_REGIONS; i++)
		up->regions[i].fd = up->vfu.regions[i].fd = -1;
	ret = connect_upstream(up, err, errlen);
	if (!ret)
		ret = describe(up, &up->vfu, up->regions, err, errlen);
	if (ret) {
		pt_upstream_close(up);
		return ret;
	}
	up->vfu.name = up->name;
	up->vfu.ops = &pt_upstream_ops;
	up->vfu.opaque = up;
	pr_info("%s: upstream vfio-user device at %s", up->name, up->path);
	*out = up;
	return 0;
}

struct vfu_device *pt_upstream_device(struct pt_upstream *up)
{
	return &up->vfu;
}

void pt_upstream_close(struct pt_upstream *up)
{
	if (!up)
		return;
	release_regions(up->regions);
	vfu_client_close(up->c);
	free(up);
}
