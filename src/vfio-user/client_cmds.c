// SPDX-License-Identifier: MIT
/*
 * vfio-user client commands: version negotiation, DMA maps, device, region
 * and IRQ information, region access and reset, each a typed wrapper around
 * vfu_client_call() that checks the reply's size and echoes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client_priv.h"

/* ---- VERSION ---- */

/* An integer member within [min, max]; absent keeps *out. */
static int json_uint(struct json_object *o, const char *key, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -EPROTO;
	x = json_object_get_int64(v);
	if (x < 0 || (uint64_t)x < min || (uint64_t)x > max)
		return -EPROTO;
	*out = x;
	return 0;
}

static int parse_server_caps(const char *json, struct vfu_client_caps *caps)
{
	struct json_object *root, *o, *v;
	uint64_t fds = caps->max_msg_fds, xfer = caps->max_data_xfer_size;
	uint64_t maps = caps->max_dma_maps;
	int ret = -EPROTO;

	root = json_tokener_parse(json);
	if (!root || !json_object_is_type(root, json_type_object))
		goto out;
	/* No capabilities object at all: every default stands. */
	ret = 0;
	if (!json_object_object_get_ex(root, "capabilities", &o))
		goto out;
	ret = -EPROTO;
	if (!json_object_is_type(o, json_type_object))
		goto out;
	ret = json_uint(o, "max_msg_fds", 0, VFU_MAX_MSG_FDS, &fds);
	if (!ret)
		ret = json_uint(o, "max_data_xfer_size", 1, MAX_XFER_LIMIT, &xfer);
	if (!ret)
		ret = json_uint(o, "pgsizes", VFU_PGSIZE, UINT64_MAX, &caps->pgsizes);
	if (!ret)
		ret = json_uint(o, "max_dma_maps", 1, 65535, &maps);
	if (!ret && caps->pgsizes % VFU_PGSIZE)
		ret = -EPROTO;
	if (ret)
		goto out;
	caps->max_msg_fds = fds;
	caps->max_data_xfer_size = xfer;
	caps->max_dma_maps = maps;
	if (json_object_object_get_ex(o, "write_multiple", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			ret = -EPROTO;
		else
			caps->write_multiple = json_object_get_boolean(v);
	}
out:
	json_object_put(root);
	return ret;
}

int vfu_client_negotiate(struct vfu_client *c, const char *caps_json)
{
	size_t jlen, rlen, rmax = sizeof(struct vfu_version) + VFU_MAX_VERSION_JSON;
	struct vfu_version *req, *rep;
	struct vfu_client_caps caps = c->caps;
	int ret = -ENOMEM;

	if (!caps_json)
		caps_json = vfu_client_default_caps;
	jlen = strlen(caps_json) + 1;
	req = malloc(sizeof(*req) + jlen);
	rep = malloc(rmax);
	if (!req || !rep)
		goto out;
	/* 0.0 like QEMU: the server answers with what it supports below that. */
	req->major = 0;
	req->minor = 0;
	memcpy(req->json, caps_json, jlen);
	ret = vfu_client_call(c, VFU_CMD_VERSION, req, sizeof(*req) + jlen, NULL, 0, rep, rmax,
			      &rlen, NULL, NULL);
	if (ret)
		goto out;
	ret = -EPROTO;
	if (rlen <= sizeof(*rep) || rep->major != req->major || rep->minor > req->minor ||
	    !memchr(rep->json, '\0', rlen - sizeof(*rep)))
		goto out;
	caps.major = rep->major;
	caps.minor = rep->minor;
	caps.write_multiple = false;
	ret = parse_server_caps(rep->json, &caps);
	if (!ret)
		c->caps = caps;
out:
	free(req);
	free(rep);
	return ret;
}

/* ---- DMA ---- */

static int dma_add(struct vfu_client *c, uint64_t addr, uint64_t size, uint32_t prot,
		   void *local)
{
	if (c->ndma == c->dma_cap) {
		unsigned cap = c->dma_cap ? 2 * c->dma_cap : 16;
		struct dma_ent *d = realloc(c->dma, sizeof(*d) * cap);

		if (!d)
			return -ENOMEM;
		c->dma = d;
		c->dma_cap = cap;
	}
	c->dma[c->ndma++] = (struct dma_ent){ addr, size, prot, local };
	return 0;
}

static void dma_del(struct vfu_client *c, uint64_t addr, uint64_t size)
{
	for (unsigned i = 0; i < c->ndma; i++) {
		if (c->dma[i].addr != addr || c->dma[i].size != size)
			continue;
		c->dma[i] = c->dma[--c->ndma];
		return;
	}
}

int vfu_client_dma_map_local(struct vfu_client *c, uint64_t addr, uint64_t size, int fd,
			     uint64_t offset, uint32_t prot, void *local)
{
	struct vfu_dma_map m = {
		.argsz = sizeof(m), .flags = prot, .offset = offset, .addr = addr, .size = size,
	};
	int ret;

	/* Reserve the entry first: a map the server holds is always known here. */
	ret = dma_add(c, addr, size, prot, local);
	if (ret)
		return ret;
	ret = vfu_client_call(c, VFU_CMD_DMA_MAP, &m, sizeof(m), &fd, fd >= 0, NULL, 0, NULL,
			      NULL, NULL);
	if (ret)
		c->ndma--;
	return ret;
}

int vfu_client_dma_map(struct vfu_client *c, uint64_t addr, uint64_t size, int fd,
		       uint64_t offset, uint32_t prot)
{
	return vfu_client_dma_map_local(c, addr, size, fd, offset, prot, NULL);
}

int vfu_client_dma_unmap(struct vfu_client *c, uint64_t addr, uint64_t size, uint32_t flags)
{
	struct vfu_dma_unmap u = { .argsz = sizeof(u), .flags = flags, .addr = addr, .size = size };
	char rep[64];
	int ret;

	ret = vfu_client_call(c, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, rep, sizeof(rep),
			      NULL, NULL, NULL);
	/*
	 * Whatever the server answers, the caller takes its memory back (and
	 * may unmap it next): the server's DMA_READ/WRITE no longer reach it.
	 */
	if (flags & VFU_DMA_UNMAP_ALL)
		c->ndma = 0;
	else
		dma_del(c, addr, size);
	return ret;
}

/* ---- info ---- */

int vfu_client_get_device_info(struct vfu_client *c, struct vfu_device_info *out)
{
	struct vfu_device_info req = { .argsz = sizeof(req) };
	size_t len;
	int ret;

	ret = vfu_client_call(c, VFU_CMD_DEVICE_GET_INFO, &req, sizeof(req), NULL, 0, out,
			      sizeof(*out), &len, NULL, NULL);
	if (!ret && len != sizeof(*out))
		ret = -EPROTO;
	return ret;
}

int vfu_client_get_irq_info(struct vfu_client *c, uint32_t index, struct vfu_irq_info *out)
{
	struct vfu_irq_info req = { .argsz = sizeof(req), .index = index };
	size_t len;
	int ret;

	ret = vfu_client_call(c, VFU_CMD_DEVICE_GET_IRQ_INFO, &req, sizeof(req), NULL, 0, out,
			      sizeof(*out), &len, NULL, NULL);
	if (!ret && (len != sizeof(*out) || out->index != index))
		ret = -EPROTO;
	return ret;
}

static int decode_sparse(const uint8_t *p, size_t room, uint64_t region_size,
			 struct vfu_client_region *out)
{
	struct vfu_region_info_cap_sparse_mmap cap;
	struct vfu_sparse_mmap_area a;

	if (room < sizeof(cap))
		return -EPROTO;
	memcpy(&cap, p, sizeof(cap));
	if (cap.nr_areas > (room - sizeof(cap)) / sizeof(a))
		return -EPROTO;
	out->areas = calloc(cap.nr_areas ? cap.nr_areas : 1, sizeof(*out->areas));
	if (!out->areas)
		return -ENOMEM;
	for (uint32_t i = 0; i < cap.nr_areas; i++) {
		memcpy(&a, p + sizeof(cap) + i * sizeof(a), sizeof(a));
		if (!a.size || a.size > region_size || a.offset > region_size - a.size)
			return -EPROTO;
		out->areas[i] = (struct vfu_client_area){ a.offset, a.size, NULL };
	}
	out->nr_areas = cap.nr_areas;
	out->sparse = true;
	return 0;
}

/* Walk the capability chain of a complete reply of @len bytes. */
static int decode_caps(const uint8_t *buf, size_t len, struct vfu_client_region *out)
{
	const struct vfu_region_info *info = &out->info;
	struct vfu_info_cap_header h;
	uint32_t off = info->cap_offset;
	int ret;

	if (!(info->flags & VFU_REGION_FLAG_CAPS))
		return 0;
	while (off) {
		if (off < sizeof(*info) || off > len || len - off < sizeof(h))
			return -EPROTO;
		memcpy(&h, buf + off, sizeof(h));
		if (h.id == VFU_REGION_INFO_CAP_SPARSE_MMAP) {
			if (out->sparse)
				return -EPROTO;
			ret = decode_sparse(buf + off, len - off, info->size, out);
			if (ret)
				return ret;
		}
		/* Only forward: a chain that loops back is rejected. */
		if (h.next && h.next <= off)
			return -EPROTO;
		off = h.next;
	}
	return 0;
}

static int region_info_once(struct vfu_client *c, uint32_t index, uint32_t argsz,
			    uint8_t *buf, size_t *len, int *fd)
{
	struct vfu_region_info req = { .argsz = argsz, .index = index };
	int fds[VFU_MAX_MSG_FDS];
	unsigned nfds = VFU_MAX_MSG_FDS;
	int ret;

	ret = vfu_client_call(c, VFU_CMD_DEVICE_GET_REGION_INFO, &req, sizeof(req), NULL, 0,
			      buf, argsz, len, fds, &nfds);
	if (ret)
		return ret;
	memcpy(&req, buf, sizeof(req));
	if (*len < sizeof(req) || req.index != index || nfds > 1) {
		vfu_client_close_fds(fds, nfds);
		return -EPROTO;
	}
	*fd = nfds ? fds[0] : -1;
	return 0;
}

int vfu_client_get_region_info(struct vfu_client *c, uint32_t index,
			       struct vfu_client_region *out)
{
	uint32_t argsz = sizeof(struct vfu_region_info);
	uint8_t *buf = NULL;
	size_t len;
	int ret, fd = -1;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	for (int tries = 0; tries < 2; tries++) {
		free(buf);
		buf = malloc(argsz);
		if (!buf)
			return -ENOMEM;
		ret = region_info_once(c, index, argsz, buf, &len, &fd);
		if (ret)
			goto out;
		memcpy(&out->info, buf, sizeof(out->info));
		if (out->info.argsz <= argsz)
			break;
		/* Too small: ask again with the size the server asked for. */
		if (fd >= 0)
			close(fd);
		fd = -1;
		ret = -EPROTO;
		if (tries || out->info.argsz > MAX_REGION_ARGSZ)
			goto out;
		argsz = out->info.argsz;
	}
	ret = decode_caps(buf, len, out);
	if (ret)
		goto out;
	if ((out->info.flags & VFU_REGION_FLAG_MMAP) && !out->sparse && out->info.size) {
		out->areas = calloc(1, sizeof(*out->areas));
		if (!out->areas) {
			ret = -ENOMEM;
			goto out;
		}
		out->areas[0] = (struct vfu_client_area){ 0, out->info.size, NULL };
		out->nr_areas = 1;
	}
	out->fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (ret)
		vfu_client_region_release(out);
	free(buf);
	return ret;
}

int vfu_client_region_mmap(struct vfu_client_region *r, int prot)
{
	struct vfu_client_area *a;
	int ret;

	if (!(r->info.flags & VFU_REGION_FLAG_MMAP))
		return -ENOTSUP;
	if (r->fd < 0)
		return -EBADF;
	for (unsigned i = 0; i < r->nr_areas; i++) {
		a = &r->areas[i];
		if (a->map)
			continue;
		if (r->info.offset + a->offset < r->info.offset || a->size > SIZE_MAX) {
			ret = -EOVERFLOW;
			goto fail;
		}
		a->map = mmap(NULL, a->size, prot, MAP_SHARED, r->fd, r->info.offset + a->offset);
		if (a->map == MAP_FAILED) {
			a->map = NULL;
			ret = -errno;
			goto fail;
		}
	}
	return 0;
fail:
	vfu_client_region_munmap(r);
	return ret;
}

void vfu_client_region_munmap(struct vfu_client_region *r)
{
	for (unsigned i = 0; i < r->nr_areas; i++) {
		if (r->areas[i].map)
			munmap(r->areas[i].map, r->areas[i].size);
		r->areas[i].map = NULL;
	}
}

void *vfu_client_region_ptr(const struct vfu_client_region *r, uint64_t offset, uint64_t len)
{
	for (unsigned i = 0; i < r->nr_areas; i++) {
		const struct vfu_client_area *a = &r->areas[i];

		if (!a->map || offset < a->offset || offset - a->offset > a->size ||
		    len > a->size - (offset - a->offset))
			continue;
		return (char *)a->map + (offset - a->offset);
	}
	return NULL;
}

void vfu_client_region_release(struct vfu_client_region *r)
{
	vfu_client_region_munmap(r);
	if (r->fd >= 0)
		close(r->fd);
	free(r->areas);
	r->areas = NULL;
	r->nr_areas = 0;
	r->sparse = false;
	r->fd = -1;
}

/* ---- IRQs ---- */

int vfu_client_set_irqs(struct vfu_client *c, uint32_t index, uint32_t flags, uint32_t start,
			uint32_t count, const int *fds, unsigned nfds, const void *data,
			size_t len)
{
	struct vfu_irq_set *s;
	int ret;

	if (len > UINT32_MAX - sizeof(*s))
		return -EINVAL;
	s = malloc(sizeof(*s) + len);
	if (!s)
		return -ENOMEM;
	*s = (struct vfu_irq_set){
		.argsz = sizeof(*s) + len, .flags = flags, .index = index,
		.start = start, .count = count,
	};
	if (len)
		memcpy(s->data, data, len);
	ret = vfu_client_call(c, VFU_CMD_DEVICE_SET_IRQS, s, sizeof(*s) + len, fds, nfds, NULL,
			      0, NULL, NULL, NULL);
	free(s);
	return ret;
}

/* ---- region access ---- */

static size_t chunk_of(const struct vfu_client *c, size_t left)
{
	return left < c->caps.max_data_xfer_size ? left : c->caps.max_data_xfer_size;
}

int vfu_client_region_read(struct vfu_client *c, uint32_t region, uint64_t offset, void *buf,
			   size_t len)
{
	struct vfu_region_access req = { .region = region }, *rep;
	size_t done = 0, n, rlen;
	int ret = 0;

	if (offset + len < offset)
		return -EINVAL;
	rep = malloc(sizeof(*rep) + chunk_of(c, len));
	if (!rep)
		return -ENOMEM;
	while (done < len) {
		n = chunk_of(c, len - done);
		req.offset = offset + done;
		req.count = n;
		ret = vfu_client_call(c, VFU_CMD_REGION_READ, &req, sizeof(req), NULL, 0, rep,
				      sizeof(*rep) + n, &rlen, NULL, NULL);
		if (ret)
			break;
		if (rlen != sizeof(*rep) + n || rep->offset != req.offset ||
		    rep->region != region || rep->count != n) {
			ret = -EPROTO;
			break;
		}
		memcpy((char *)buf + done, rep->data, n);
		done += n;
	}
	free(rep);
	return ret;
}

static int region_write(struct vfu_client *c, uint32_t region, uint64_t offset,
			const void *buf, size_t len, bool posted)
{
	struct vfu_region_access *req, rep;
	size_t done = 0, n, rlen;
	int ret = 0;

	if (offset + len < offset)
		return -EINVAL;
	req = malloc(sizeof(*req) + chunk_of(c, len));
	if (!req)
		return -ENOMEM;
	while (done < len && !ret) {
		n = chunk_of(c, len - done);
		*req = (struct vfu_region_access){
			.offset = offset + done, .region = region, .count = n,
		};
		memcpy(req->data, (const char *)buf + done, n);
		done += n;
		if (posted) {
			ret = vfu_client_post(c, VFU_CMD_REGION_WRITE, req, sizeof(*req) + n,
					      NULL, 0);
			continue;
		}
		ret = vfu_client_call(c, VFU_CMD_REGION_WRITE, req, sizeof(*req) + n, NULL, 0,
				      &rep, sizeof(rep), &rlen, NULL, NULL);
		if (!ret && (rlen != sizeof(rep) || rep.count != n))
			ret = -EPROTO;
	}
	free(req);
	return ret;
}

int vfu_client_region_write(struct vfu_client *c, uint32_t region, uint64_t offset,
			    const void *buf, size_t len)
{
	return region_write(c, region, offset, buf, len, false);
}

int vfu_client_region_write_posted(struct vfu_client *c, uint32_t region, uint64_t offset,
				   const void *buf, size_t len)
{
	return region_write(c, region, offset, buf, len, true);
}

int vfu_client_region_write_multi(struct vfu_client *c, const struct vfu_write_multi_entry *e,
				  unsigned n)
{
	struct vfu_region_write_multi *m;
	int ret;

	if (!n || n > VFU_MAX_WRITE_MULTI)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (e[i].count > VFU_MAX_MULTI_DATA)
			return -EINVAL;
	m = malloc(sizeof(*m) + n * sizeof(*e));
	if (!m)
		return -ENOMEM;
	m->wr_cnt = n;
	memcpy(m->wrs, e, n * sizeof(*e));
	ret = vfu_client_post(c, VFU_CMD_REGION_WRITE_MULTI, m, sizeof(*m) + n * sizeof(*e),
			      NULL, 0);
	free(m);
	return ret;
}

int vfu_client_reset(struct vfu_client *c)
{
	return vfu_client_call(c, VFU_CMD_DEVICE_RESET, NULL, 0, NULL, 0, NULL, 0, NULL, NULL,
			       NULL);
}
