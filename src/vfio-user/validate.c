// SPDX-License-Identifier: MIT
/*
 * Every check of client input lives here. Sizes are compared against the
 * exact structure the command needs; ranges are checked in 64-bit
 * arithmetic that cannot wrap.
 */
#include "validate.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "server.h"

#define HDR_FLAGS_KNOWN (VFU_F_TYPE_MASK | VFU_F_NO_REPLY | VFU_F_ERROR)

int vfu_validate_header(const struct vfu_hdr *hdr)
{
	if (hdr->msg_size < sizeof(*hdr))
		return -EINVAL;
	if (hdr->msg_size > VFU_MAX_MSG_SIZE)
		return -E2BIG;
	return 0;
}

static int check_flags(const struct vfu_hdr *hdr)
{
	if (hdr->flags & ~HDR_FLAGS_KNOWN)
		return -EINVAL;
	if ((hdr->flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_COMMAND)
		return -EINVAL;
	if (hdr->flags & VFU_F_ERROR)
		return -EINVAL;
	/* Only writes and DMA map changes may be posted (sent without reply). */
	if ((hdr->flags & VFU_F_NO_REPLY) && hdr->cmd != VFU_CMD_REGION_WRITE &&
	    hdr->cmd != VFU_CMD_REGION_WRITE_MULTI && hdr->cmd != VFU_CMD_DMA_UNMAP &&
	    hdr->cmd != VFU_CMD_DMA_MAP)
		return -EINVAL;
	return 0;
}

/* [off, off + len) inside [0, size) without overflow. */
static bool range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return len <= size && off <= size - len;
}

static int check_version(const void *p, size_t len, unsigned nfds)
{
	const struct vfu_version *v = p;
	size_t json_len;

	if (nfds || len < sizeof(*v) + 1 || len > sizeof(*v) + VFU_MAX_VERSION_JSON)
		return -EINVAL;
	if (v->major != VFU_VERSION_MAJOR)
		return -ENOTSUP;
	json_len = len - sizeof(*v);
	/* The JSON must be NUL-terminated inside the payload. */
	if (!memchr(v->json, '\0', json_len))
		return -EINVAL;
	return 0;
}

static int check_dma_map(const void *p, size_t len, unsigned nfds)
{
	const struct vfu_dma_map *m = p;

	if (len != sizeof(*m) || m->argsz != sizeof(*m) || nfds > 1)
		return -EINVAL;
	if (m->flags & ~(uint32_t)(VFU_DMA_READ | VFU_DMA_WRITE))
		return -EINVAL;
	if (!m->size || m->addr + m->size < m->addr || m->offset + m->size < m->offset)
		return -EINVAL;
	if ((m->addr | m->size | m->offset) & (VFU_PGSIZE - 1))
		return -EINVAL;
	return 0;
}

static int check_dma_unmap(const void *p, size_t len, unsigned nfds)
{
	const struct vfu_dma_unmap *u = p;

	/* No dirty bitmap support: the request is exactly the fixed part. */
	if (len != sizeof(*u) || u->argsz != sizeof(*u) || nfds)
		return -EINVAL;
	if (u->flags & ~(uint32_t)VFU_DMA_UNMAP_ALL)
		return -EINVAL;
	if (u->flags & VFU_DMA_UNMAP_ALL)
		return (u->addr || u->size) ? -EINVAL : 0;
	/* The range may end exactly at 2^64: QEMU unmaps the whole IOVA space. */
	if (!u->size || u->size - 1 > UINT64_MAX - u->addr)
		return -EINVAL;
	return 0;
}

/* The argsz-carrying requests whose fixed part is @size bytes. */
static int check_fixed(const void *p, size_t len, unsigned nfds, size_t size)
{
	uint32_t argsz;

	if (len != size || nfds)
		return -EINVAL;
	memcpy(&argsz, p, sizeof(argsz));
	return argsz < size ? -EINVAL : 0;
}

static int check_region_info(const void *p, size_t len, unsigned nfds, size_t size)
{
	uint32_t index;
	int ret;

	ret = check_fixed(p, len, nfds, size);
	if (ret)
		return ret;
	memcpy(&index, (const uint8_t *)p + 8, sizeof(index));
	return index < VFU_PCI_NUM_REGIONS ? 0 : -EINVAL;
}

static int check_irq_info(const void *p, size_t len, unsigned nfds)
{
	const struct vfu_irq_info *i = p;
	int ret;

	ret = check_fixed(p, len, nfds, sizeof(*i));
	if (ret)
		return ret;
	return i->index < VFU_PCI_NUM_IRQS ? 0 : -EINVAL;
}

static bool one_bit(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int check_set_irqs(const struct vfu_limits *lim, const void *p, size_t len,
			  unsigned nfds)
{
	const struct vfu_irq_set *s = p;
	const struct vfu_irq_desc *desc;
	uint32_t data, action;
	size_t data_len;

	if (len < sizeof(*s) || s->argsz != len)
		return -EINVAL;
	data = s->flags & VFU_IRQ_SET_DATA_MASK;
	action = s->flags & VFU_IRQ_SET_ACTION_MASK_ALL;
	if (s->flags & ~(uint32_t)(VFU_IRQ_SET_DATA_MASK | VFU_IRQ_SET_ACTION_MASK_ALL))
		return -EINVAL;
	if (!one_bit(data) || !one_bit(action))
		return -EINVAL;
	if (s->index >= VFU_PCI_NUM_IRQS)
		return -EINVAL;
	desc = &lim->irqs[s->index];
	data_len = len - sizeof(*s);

	/* DATA_NONE | TRIGGER with count 0 disables the whole index. */
	if (!s->count)
		return (data == VFU_IRQ_SET_DATA_NONE && action == VFU_IRQ_SET_ACTION_TRIGGER &&
			!s->start && !data_len && !nfds) ? 0 : -EINVAL;
	if ((uint64_t)s->start + s->count > desc->count)
		return -EINVAL;
	if (action != VFU_IRQ_SET_ACTION_TRIGGER && !(desc->flags & VFU_IRQ_INFO_MASKABLE))
		return -EINVAL;

	switch (data) {
	case VFU_IRQ_SET_DATA_NONE:
		return (data_len || nfds) ? -EINVAL : 0;
	case VFU_IRQ_SET_DATA_BOOL:
		return (data_len != s->count || nfds) ? -EINVAL : 0;
	default: /* DATA_EVENTFD */
		if (data_len || nfds > s->count)
			return -EINVAL;
		/* An eventfd for UNMASK is INTx's resample fd: one vector only. */
		if (action != VFU_IRQ_SET_ACTION_TRIGGER &&
		    (action != VFU_IRQ_SET_ACTION_UNMASK || s->index != VFU_PCI_INTX))
			return -EINVAL;
		return 0;
	}
}

int vfu_validate_region_access(const struct vfu_limits *lim, uint32_t index, uint64_t offset,
			       uint64_t count, bool write)
{
	const struct vfu_region_desc *r;

	if (index >= VFU_PCI_NUM_REGIONS)
		return -EINVAL;
	r = &lim->regions[index];
	if (!r->size)
		return -EINVAL;
	if (!(r->flags & (write ? VFU_REGION_FLAG_WRITE : VFU_REGION_FLAG_READ)))
		return -EPERM;
	if (!count || count > lim->max_data_xfer || !range_ok(offset, count, r->size))
		return -EINVAL;
	return 0;
}

static int check_region_rw(const struct vfu_limits *lim, const void *p, size_t len,
			   unsigned nfds, bool write)
{
	const struct vfu_region_access *a = p;

	if (len < sizeof(*a) || nfds)
		return -EINVAL;
	if (len != sizeof(*a) + (write ? (uint64_t)a->count : 0))
		return -EINVAL;
	return vfu_validate_region_access(lim, a->region, a->offset, a->count, write);
}

static int check_write_multi(const struct vfu_limits *lim, const void *p, size_t len,
			     unsigned nfds)
{
	const struct vfu_region_write_multi *m = p;
	int ret;

	if (len < sizeof(*m) || nfds)
		return -EINVAL;
	if (!m->wr_cnt || m->wr_cnt > VFU_MAX_WRITE_MULTI)
		return -EINVAL;
	if (len != sizeof(*m) + m->wr_cnt * sizeof(m->wrs[0]))
		return -EINVAL;
	for (uint64_t i = 0; i < m->wr_cnt; i++) {
		const struct vfu_write_multi_entry *e = &m->wrs[i];

		if (e->count > VFU_MAX_MULTI_DATA)
			return -EINVAL;
		ret = vfu_validate_region_access(lim, e->region, e->offset, e->count, true);
		if (ret)
			return ret;
	}
	return 0;
}

int vfu_validate_command(const struct vfu_limits *lim, const struct vfu_hdr *hdr,
			 const void *payload, size_t len, unsigned nfds)
{
	int ret;

	if (hdr->msg_size != sizeof(*hdr) + len)
		return -EINVAL;
	ret = check_flags(hdr);
	if (ret)
		return ret;
	/* VERSION first, exactly once. */
	if ((hdr->cmd == VFU_CMD_VERSION) == lim->negotiated)
		return -EINVAL;

	switch (hdr->cmd) {
	case VFU_CMD_VERSION:
		return check_version(payload, len, nfds);
	case VFU_CMD_DMA_MAP:
		return check_dma_map(payload, len, nfds);
	case VFU_CMD_DMA_UNMAP:
		return check_dma_unmap(payload, len, nfds);
	case VFU_CMD_DEVICE_GET_INFO:
		return check_fixed(payload, len, nfds, sizeof(struct vfu_device_info));
	case VFU_CMD_DEVICE_GET_REGION_INFO:
		return check_region_info(payload, len, nfds, sizeof(struct vfu_region_info));
	case VFU_CMD_DEVICE_GET_REGION_IO_FDS:
		return check_region_info(payload, len, nfds,
					 sizeof(struct vfu_region_io_fds_request));
	case VFU_CMD_DEVICE_GET_IRQ_INFO:
		return check_irq_info(payload, len, nfds);
	case VFU_CMD_DEVICE_SET_IRQS:
		return check_set_irqs(lim, payload, len, nfds);
	case VFU_CMD_REGION_READ:
		return check_region_rw(lim, payload, len, nfds, false);
	case VFU_CMD_REGION_WRITE:
		return check_region_rw(lim, payload, len, nfds, true);
	case VFU_CMD_REGION_WRITE_MULTI:
		return check_write_multi(lim, payload, len, nfds);
	case VFU_CMD_DEVICE_RESET:
		return (len || nfds) ? -EINVAL : 0;
	default:
		/* DMA_READ/WRITE go server -> client; migration is not offered. */
		return -ENOTSUP;
	}
}

static bool is_eventfd(int fd)
{
	char path[64], target[32];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:[eventfd]");
}

int vfu_validate_fds(const struct vfu_hdr *hdr, const void *payload, const int *fds,
		     unsigned nfds)
{
	const struct vfu_irq_set *set = payload;

	/*
	 * The server reads and writes interrupt fds from its device thread:
	 * a pipe or a file there could block it, so only eventfds will do.
	 * (DMA_MAP fds are checked by the DMA table, which maps them.)
	 */
	if (hdr->cmd != VFU_CMD_DEVICE_SET_IRQS || !(set->flags & VFU_IRQ_SET_DATA_EVENTFD))
		return 0;
	for (unsigned i = 0; i < nfds; i++)
		if (!is_eventfd(fds[i]))
			return -EINVAL;
	return 0;
}
