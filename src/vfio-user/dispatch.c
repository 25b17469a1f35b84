// SPDX-License-Identifier: MIT
/*
 * Command handlers. Each one runs on a message that vfu_validate_command
 * accepted, so sizes, indices and ranges are already known to be good.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/log.h"
#include "session.h"

/* Client capabilities we act on; the rest of the JSON is accepted as is. */
static int parse_client_caps(const char *json, uint32_t *max_xfer, bool *write_multi)
{
	struct json_object *root, *caps, *v;
	int ret = -EINVAL;

	root = json_tokener_parse(json);
	if (!root || !json_object_is_type(root, json_type_object))
		goto out;
	if (!json_object_object_get_ex(root, "capabilities", &caps)) {
		ret = 0; /* no capabilities: the defaults hold */
		goto out;
	}
	if (!json_object_is_type(caps, json_type_object))
		goto out;
	if (json_object_object_get_ex(caps, "max_data_xfer_size", &v)) {
		int64_t x = json_object_get_int64(v);

		if (!json_object_is_type(v, json_type_int) || x < 4096)
			goto out;
		if (x < *max_xfer)
			*max_xfer = (uint32_t)x;
	}
	if (json_object_object_get_ex(caps, "pgsizes", &v)) {
		int64_t x = json_object_get_int64(v);

		if (!json_object_is_type(v, json_type_int))
			goto out;
		if (!(x & VFU_PGSIZE)) {
			ret = -ENOTSUP;
			goto out;
		}
	}
	if (json_object_object_get_ex(caps, "write_multiple", &v))
		*write_multi = json_object_is_type(v, json_type_boolean) &&
			       json_object_get_boolean(v);
	ret = 0;
out:
	json_object_put(root);
	return ret;
}

static long do_version(struct vfu_session *s, const struct vfu_request *req,
		       struct vfu_reply *rep)
{
	const struct vfu_version *in = req->payload;
	struct vfu_version *out = rep->buf;
	uint32_t max_xfer = VFU_MAX_DATA_XFER;
	bool write_multi = false;
	size_t room = rep->cap - sizeof(*out);
	int ret, n;

	ret = parse_client_caps(in->json, &max_xfer, &write_multi);
	if (ret)
		return ret;
	out->major = VFU_VERSION_MAJOR;
	out->minor = in->minor < VFU_VERSION_MINOR ? in->minor : VFU_VERSION_MINOR;
	n = snprintf(out->json, room,
		     "{\"capabilities\":{\"max_msg_fds\":%d,\"max_data_xfer_size\":%u,"
		     "\"pgsizes\":%d,\"max_dma_maps\":%d%s}}",
		     VFU_MAX_MSG_FDS, max_xfer, VFU_PGSIZE, VFU_MAX_DMA_MAPS,
		     write_multi ? ",\"write_multiple\":true" : "");
	if (n < 0 || (size_t)n >= room)
		return -ENOMEM;
	s->max_data_xfer = max_xfer;
	s->negotiated = true;
	pr_info("%s: client negotiated vfio-user %u.%u", s->dev->name, out->major, out->minor);
	return sizeof(*out) + n + 1;
}

/* Tell a device that maps guest memory elsewhere too; undo the map if it cannot. */
static int notify_dma_map(struct vfu_device *dev, const struct vfu_dma_map *m, int fd)
{
	int i = vfu_dma_find(&dev->dma, m->addr);
	int ret;

	ret = dev->ops->dma_map(dev->opaque, &dev->dma.regions[i], fd);
	if (ret)
		vfu_dma_remove(&dev->dma, m->addr, m->size, NULL, NULL);
	return ret;
}

static long do_dma_map(struct vfu_session *s, const struct vfu_request *req)
{
	const struct vfu_dma_map *m = req->payload;
	struct vfu_device *dev = s->dev;
	int fd = -1, keep = -1, ret;

	if (req->nfds) {
		fd = req->fds[0];
		req->fds[0] = -1; /* the table owns it now, on error too */
	}
	/* The table closes its fd once mapped; the device may need the file after that. */
	if (dev->ops->dma_map && fd >= 0) {
		keep = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (keep < 0) {
			ret = -errno;
			close(fd);
			return ret;
		}
	}
	ret = vfu_dma_add(&dev->dma, m->addr, m->size, fd, m->offset, m->flags);
	if (!ret && dev->ops->dma_map)
		ret = notify_dma_map(dev, m, keep);
	if (keep >= 0)
		close(keep);
	return ret;
}

void vfu_notify_dma_unmap(void *opaque, uint64_t addr, uint64_t size)
{
	struct vfu_device *dev = opaque;

	/* The device lets go of the memory before it goes away. */
	if (dev->ops->dma_unmap)
		dev->ops->dma_unmap(dev->opaque, addr, size);
}

static long do_dma_unmap(struct vfu_session *s, const struct vfu_request *req,
			 struct vfu_reply *rep)
{
	const struct vfu_dma_unmap *u = req->payload;
	struct vfu_device *dev = s->dev;
	int ret;

	if (u->flags & VFU_DMA_UNMAP_ALL) {
		vfu_dma_remove_all(&dev->dma, vfu_notify_dma_unmap, dev);
	} else {
		ret = vfu_dma_remove(&dev->dma, u->addr, u->size, vfu_notify_dma_unmap, dev);
		if (ret < 0)
			return ret;
	}
	memcpy(rep->buf, u, sizeof(*u));
	return sizeof(*u);
}

static long do_device_info(struct vfu_session *s, struct vfu_reply *rep)
{
	struct vfu_device_info info = {
		.argsz = sizeof(info),
		.flags = s->dev->flags,
		.num_regions = VFU_PCI_NUM_REGIONS,
		.num_irqs = VFU_PCI_NUM_IRQS,
	};

	memcpy(rep->buf, &info, sizeof(info));
	return sizeof(info);
}

static size_t sparse_cap_size(const struct vfu_region_desc *r)
{
	if (!(r->flags & VFU_REGION_FLAG_MMAP) || !r->nr_sparse)
		return 0;
	return sizeof(struct vfu_region_info_cap_sparse_mmap) +
	       r->nr_sparse * sizeof(struct vfu_sparse_mmap_area);
}

static long do_region_info(struct vfu_session *s, const struct vfu_request *req,
			   struct vfu_reply *rep)
{
	const struct vfu_region_info *in = req->payload;
	const struct vfu_region_desc *r = &s->dev->regions[in->index];
	struct vfu_region_info *info = rep->buf;
	size_t caps = sparse_cap_size(r);
	size_t need = sizeof(*info) + caps;
	bool mmap = (r->flags & VFU_REGION_FLAG_MMAP) && r->fd >= 0;

	memset(info, 0, sizeof(*info));
	info->argsz = need;
	info->index = in->index;
	info->size = r->size;
	info->offset = r->fd_offset;
	info->flags = r->flags & (VFU_REGION_FLAG_READ | VFU_REGION_FLAG_WRITE);
	if (mmap)
		info->flags |= VFU_REGION_FLAG_MMAP;
	/*
	 * A reply never carries more than the client asked for. When the caps
	 * do not fit, the client learns the size it needs from argsz and asks
	 * again; the fd only goes with the complete answer. cap_offset is set
	 * either way: QEMU rejects a CAPS reply whose offset is below the info.
	 */
	if (caps) {
		info->flags |= VFU_REGION_FLAG_CAPS;
		info->cap_offset = sizeof(*info);
	}
	if (in->argsz < need)
		return sizeof(*info);
	if (caps) {
		struct vfu_region_info_cap_sparse_mmap *sp = (void *)(info + 1);

		sp->header.id = VFU_REGION_INFO_CAP_SPARSE_MMAP;
		sp->header.version = 1;
		sp->header.next = 0;
		sp->nr_areas = r->nr_sparse;
		sp->reserved = 0;
		memcpy(sp->areas, r->sparse, r->nr_sparse * sizeof(r->sparse[0]));
	}
	if (mmap)
		rep->fd = r->fd;
	return need;
}

static long do_region_io_fds(const struct vfu_request *req, struct vfu_reply *rep)
{
	const struct vfu_region_io_fds_request *in = req->payload;
	struct vfu_region_io_fds_request out = {
		.argsz = sizeof(out), .index = in->index, .count = 0,
	};

	/* No ioeventfds: every trapped access comes as a message. */
	memcpy(rep->buf, &out, sizeof(out));
	return sizeof(out);
}

static long do_irq_info(struct vfu_session *s, const struct vfu_request *req,
			struct vfu_reply *rep)
{
	const struct vfu_irq_info *in = req->payload;
	struct vfu_irq_info out = {
		.argsz = sizeof(out),
		.flags = s->dev->irqs[in->index].flags,
		.index = in->index,
		.count = s->dev->irqs[in->index].count,
	};

	memcpy(rep->buf, &out, sizeof(out));
	return sizeof(out);
}

static long do_set_irqs(struct vfu_session *s, const struct vfu_request *req)
{
	const struct vfu_irq_set *set = req->payload;
	struct vfu_device *dev = s->dev;
	int ret;

	/* The device hands the eventfds on: they stay ours and close with the message. */
	if (dev->ops->set_irqs)
		return dev->ops->set_irqs(dev->opaque, set, req->len - sizeof(*set), req->fds,
					  req->nfds);
	ret = vfu_irqs_set(&dev->irq, set, set->data, req->len - sizeof(*set), req->fds,
			   req->nfds);
	if (ret)
		return ret;
	if (set->flags & VFU_IRQ_SET_DATA_EVENTFD)
		for (unsigned i = 0; i < req->nfds; i++)
			req->fds[i] = -1; /* owned by the IRQ table now */
	if (dev->ops->irqs_changed)
		dev->ops->irqs_changed(dev->opaque, set->index);
	return 0;
}

static long do_region_read(struct vfu_session *s, const struct vfu_request *req,
			   struct vfu_reply *rep)
{
	const struct vfu_region_access *in = req->payload;
	struct vfu_region_access *out = rep->buf;
	int ret;

	*out = *in;
	ret = s->dev->ops->region_read(s->dev->opaque, in->region, in->offset, out->data,
				       in->count);
	if (ret)
		return ret;
	return sizeof(*out) + in->count;
}

static long do_region_write(struct vfu_session *s, const struct vfu_request *req,
			    struct vfu_reply *rep)
{
	const struct vfu_region_access *in = req->payload;
	int ret;

	ret = s->dev->ops->region_write(s->dev->opaque, in->region, in->offset, in->data,
					in->count);
	if (ret)
		return ret;
	memcpy(rep->buf, in, sizeof(*in));
	return sizeof(*in);
}

static long do_write_multi(struct vfu_session *s, const struct vfu_request *req)
{
	const struct vfu_region_write_multi *m = req->payload;
	long ret = 0;

	for (uint64_t i = 0; i < m->wr_cnt; i++) {
		const struct vfu_write_multi_entry *e = &m->wrs[i];
		int r = s->dev->ops->region_write(s->dev->opaque, e->region, e->offset, e->data,
						  e->count);

		if (r && !ret)
			ret = r;
	}
	return ret;
}

static long do_reset(struct vfu_session *s)
{
	pr_debug("%s: device reset", s->dev->name);
	return s->dev->ops->reset(s->dev->opaque);
}

void vfu_device_quiesce(struct vfu_device *dev)
{
	if (dev->ops->quiesce)
		dev->ops->quiesce(dev->opaque);
}

void vfu_device_resume(struct vfu_device *dev)
{
	if (dev->ops->resume)
		dev->ops->resume(dev->opaque);
}

/* A WRITE_MULTI that writes config space among its entries. */
static bool multi_writes_config(const struct vfu_request *req)
{
	const struct vfu_region_write_multi *m = req->payload;

	for (uint64_t i = 0; i < m->wr_cnt; i++)
		if (m->wrs[i].region == VFU_PCI_CONFIG)
			return true;
	return false;
}

/*
 * Commands that change what a device's own threads use: the DMA and IRQ
 * tables, or the whole device state (reset, and config writes, which can
 * reset the function or gate its interrupts, however they are sent).
 */
static bool changes_tables(const struct vfu_request *req)
{
	const struct vfu_region_access *a = req->payload;

	switch (req->hdr->cmd) {
	case VFU_CMD_DMA_MAP:
	case VFU_CMD_DMA_UNMAP:
	case VFU_CMD_DEVICE_SET_IRQS:
	case VFU_CMD_DEVICE_RESET:
		return true;
	case VFU_CMD_REGION_WRITE:
		return a->region == VFU_PCI_CONFIG;
	case VFU_CMD_REGION_WRITE_MULTI:
		return multi_writes_config(req);
	default:
		return false;
	}
}

static long dispatch(struct vfu_session *s, const struct vfu_request *req, struct vfu_reply *rep)
{
	switch (req->hdr->cmd) {
	case VFU_CMD_VERSION:
		return do_version(s, req, rep);
	case VFU_CMD_DMA_MAP:
		return do_dma_map(s, req);
	case VFU_CMD_DMA_UNMAP:
		return do_dma_unmap(s, req, rep);
	case VFU_CMD_DEVICE_GET_INFO:
		return do_device_info(s, rep);
	case VFU_CMD_DEVICE_GET_REGION_INFO:
		return do_region_info(s, req, rep);
	case VFU_CMD_DEVICE_GET_REGION_IO_FDS:
		return do_region_io_fds(req, rep);
	case VFU_CMD_DEVICE_GET_IRQ_INFO:
		return do_irq_info(s, req, rep);
	case VFU_CMD_DEVICE_SET_IRQS:
		return do_set_irqs(s, req);
	case VFU_CMD_REGION_READ:
		return do_region_read(s, req, rep);
	case VFU_CMD_REGION_WRITE:
		return do_region_write(s, req, rep);
	case VFU_CMD_REGION_WRITE_MULTI:
		return do_write_multi(s, req);
	case VFU_CMD_DEVICE_RESET:
		return do_reset(s);
	default:
		return -ENOTSUP;
	}
}

long vfu_dispatch(struct vfu_session *s, const struct vfu_request *req, struct vfu_reply *rep)
{
	struct trace *t = vfu_device_trace(s->dev);
	bool bracket = changes_tables(req);
	long ret;

	if (bracket)
		vfu_device_quiesce(s->dev);
	/* Requests before they run, so what they cause (interrupts...) follows them. */
	if (hook_on(t))
		vfu_record_request(t, req);
	ret = dispatch(s, req, rep);
	if (hook_on(t))
		vfu_record_reply(t, req, rep, ret);
	if (bracket)
		vfu_device_resume(s->dev);
	return ret;
}
