// SPDX-License-Identifier: MIT
/*
 * vfu_validate_command on arbitrary header + payload. Whenever it accepts a
 * message, the facts the handlers in dispatch.c rely on are checked here
 * independently (sizes, indices, ranges, fd counts), and the accesses a
 * handler would make are made on buffers of exactly the accepted sizes, so
 * ASan sees any that would overflow.
 *
 * Input: u8 setup (bit 0 negotiated, bit 1 fix up msg_size, bit 2 odd
 * tables, bits 3-7 nfds), u16 max_data_xfer selector, the 16-byte header,
 * then the payload (the rest).
 */
#include <errno.h>

#include "fuzz_common.h"
#include "vfio-user/validate.h"

static struct iomed_device idev;
static struct vfu_region_desc odd_regions[VFU_PCI_NUM_REGIONS];
static struct vfu_irq_desc odd_irqs[VFU_PCI_NUM_IRQS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	/* The real testdev tables, as the daemon serves them. */
	fuzz_testdev_create(&idev, false);
	/* And tables at the edges of the types: huge regions, huge IRQ counts. */
	odd_regions[0] = (struct vfu_region_desc){ .size = 1ull << 63,
						   .flags = VFU_REGION_FLAG_READ | VFU_REGION_FLAG_WRITE };
	odd_regions[1] = (struct vfu_region_desc){ .size = UINT64_MAX, .flags = VFU_REGION_FLAG_READ };
	odd_regions[2] = (struct vfu_region_desc){ .size = 1, .flags = VFU_REGION_FLAG_WRITE };
	odd_regions[VFU_PCI_CONFIG] = (struct vfu_region_desc){
		.size = 4096, .flags = VFU_REGION_FLAG_READ | VFU_REGION_FLAG_WRITE };
	odd_irqs[VFU_PCI_INTX] = (struct vfu_irq_desc){ .count = 1, .flags = VFU_IRQ_INFO_EVENTFD };
	odd_irqs[VFU_PCI_MSIX] = (struct vfu_irq_desc){
		.count = UINT32_MAX, .flags = VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_MASKABLE };
	odd_irqs[VFU_PCI_ERR] = (struct vfu_irq_desc){ .count = VFU_MAX_IRQ_COUNT,
						       .flags = VFU_IRQ_INFO_MASKABLE };
	return 0;
}

/* [off, off + count) inside a region of @size, computed without wrap. */
static bool inside(uint64_t off, uint64_t count, uint64_t size)
{
	unsigned __int128 end = (unsigned __int128)off + count;

	return count && end <= size;
}

static void check_access(const struct vfu_limits *lim, uint32_t region, uint64_t off,
			 uint64_t count, bool write)
{
	const struct vfu_region_desc *r;

	fuzz_check(region < VFU_PCI_NUM_REGIONS, "region %u accepted", region);
	r = &lim->regions[region];
	fuzz_check(r->size, "access to unimplemented region %u accepted", region);
	fuzz_check(r->flags & (write ? VFU_REGION_FLAG_WRITE : VFU_REGION_FLAG_READ),
		   "%s of region %u without the permission accepted", write ? "write" : "read",
		   region);
	fuzz_check(inside(off, count, r->size),
		   "access %#llx+%#llx outside region %u (%#llx bytes) accepted",
		   (unsigned long long)off, (unsigned long long)count, region,
		   (unsigned long long)r->size);
	fuzz_check(count <= lim->max_data_xfer && count <= VFU_MAX_DATA_XFER,
		   "access of %llu bytes accepted", (unsigned long long)count);
}

static void check_accepted(const struct vfu_limits *lim, const struct vfu_hdr *hdr,
			   const uint8_t *p, size_t len, unsigned nfds)
{
	fuzz_check(hdr->msg_size == sizeof(*hdr) + len, "msg_size %u for %zu bytes",
		   hdr->msg_size, len);
	fuzz_check(!(hdr->flags & ~(uint32_t)VFU_F_NO_REPLY), "flags %#x accepted", hdr->flags);
	fuzz_check(!(hdr->flags & VFU_F_NO_REPLY) || hdr->cmd == VFU_CMD_REGION_WRITE ||
		   hdr->cmd == VFU_CMD_REGION_WRITE_MULTI || hdr->cmd == VFU_CMD_DMA_MAP ||
		   hdr->cmd == VFU_CMD_DMA_UNMAP, "NO_REPLY on command %u", hdr->cmd);
	fuzz_check((hdr->cmd == VFU_CMD_VERSION) != lim->negotiated,
		   "command %u accepted with negotiated=%d", hdr->cmd, lim->negotiated);

	switch (hdr->cmd) {
	case VFU_CMD_VERSION: {
		const struct vfu_version *v = (const void *)p;

		fuzz_check(len > sizeof(*v) && !nfds && v->major == VFU_VERSION_MAJOR,
			   "VERSION of %zu bytes accepted", len);
		/* do_version hands the JSON to json-c as a C string. */
		fuzz_check(memchr(v->json, 0, len - sizeof(*v)), "VERSION JSON unterminated");
		break;
	}
	case VFU_CMD_DMA_MAP: {
		const struct vfu_dma_map *m = (const void *)p;

		fuzz_check(len == sizeof(*m) && m->argsz == sizeof(*m) && nfds <= 1,
			   "DMA_MAP of %zu bytes, %u fds accepted", len, nfds);
		fuzz_check(!(m->flags & ~3u) && m->size && !((m->addr | m->size | m->offset) & 4095),
			   "DMA_MAP fields accepted");
		fuzz_check((unsigned __int128)m->addr + m->size < ((unsigned __int128)1 << 64),
			   "DMA_MAP range wraps");
		fuzz_check((unsigned __int128)m->offset + m->size < ((unsigned __int128)1 << 64),
			   "DMA_MAP offset wraps");
		break;
	}
	case VFU_CMD_DMA_UNMAP: {
		const struct vfu_dma_unmap *u = (const void *)p;

		fuzz_check(len == sizeof(*u) && u->argsz == sizeof(*u) && !nfds,
			   "DMA_UNMAP of %zu bytes accepted", len);
		if (u->flags & VFU_DMA_UNMAP_ALL)
			fuzz_check(u->flags == VFU_DMA_UNMAP_ALL && !u->addr && !u->size,
				   "DMA_UNMAP ALL with a range");
		else
			fuzz_check(!u->flags && u->size &&
				   (unsigned __int128)u->addr + u->size <= ((unsigned __int128)1 << 64),
				   "DMA_UNMAP range accepted");
		break;
	}
	case VFU_CMD_DEVICE_GET_INFO:
	case VFU_CMD_DEVICE_GET_REGION_IO_FDS:
	case VFU_CMD_DEVICE_GET_IRQ_INFO:
	case VFU_CMD_DEVICE_GET_REGION_INFO: {
		size_t want = hdr->cmd == VFU_CMD_DEVICE_GET_REGION_INFO ? 32 : 16;
		uint32_t argsz, index;

		fuzz_check(len == want && !nfds, "command %u of %zu bytes accepted", hdr->cmd, len);
		memcpy(&argsz, p, 4);
		fuzz_check(argsz >= want, "argsz %u accepted", argsz);
		if (hdr->cmd == VFU_CMD_DEVICE_GET_INFO)
			break;
		memcpy(&index, p + 8, 4);
		fuzz_check(index < (hdr->cmd == VFU_CMD_DEVICE_GET_IRQ_INFO ? VFU_PCI_NUM_IRQS
									  : VFU_PCI_NUM_REGIONS),
			   "index %u accepted for command %u", index, hdr->cmd);
		break;
	}
	case VFU_CMD_DEVICE_SET_IRQS: {
		const struct vfu_irq_set *s = (const void *)p;
		uint32_t data, action;

		fuzz_check(len >= sizeof(*s) && s->argsz == len, "SET_IRQS of %zu bytes", len);
		fuzz_check(s->index < VFU_PCI_NUM_IRQS, "SET_IRQS index %u", s->index);
		data = s->flags & VFU_IRQ_SET_DATA_MASK;
		action = s->flags & VFU_IRQ_SET_ACTION_MASK_ALL;
		fuzz_check(!(s->flags & ~0x3fu) && data && !(data & (data - 1)) && action &&
			   !(action & (action - 1)), "SET_IRQS flags %#x", s->flags);
		if (!s->count) {
			fuzz_check(s->flags == (VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER) &&
				   !s->start && len == sizeof(*s) && !nfds,
				   "SET_IRQS count 0 with flags %#x", s->flags);
			break;
		}
		fuzz_check((uint64_t)s->start + s->count <= lim->irqs[s->index].count,
			   "SET_IRQS %u+%u of %u vectors", s->start, s->count,
			   lim->irqs[s->index].count);
		fuzz_check(nfds <= s->count, "SET_IRQS with %u fds for %u vectors", nfds, s->count);
		if (data == VFU_IRQ_SET_DATA_BOOL)
			fuzz_check(len - sizeof(*s) == s->count && !nfds, "SET_IRQS bools");
		else
			fuzz_check(len == sizeof(*s), "SET_IRQS with %zu data bytes", len);
		if (data != VFU_IRQ_SET_DATA_EVENTFD)
			fuzz_check(!nfds, "SET_IRQS fds without DATA_EVENTFD");
		if (action != VFU_IRQ_SET_ACTION_TRIGGER)
			fuzz_check(lim->irqs[s->index].flags & VFU_IRQ_INFO_MASKABLE,
				   "mask/unmask of an index that is not maskable");
		if (data == VFU_IRQ_SET_DATA_EVENTFD && action == VFU_IRQ_SET_ACTION_UNMASK)
			fuzz_check(s->index == VFU_PCI_INTX && nfds <= 1, "resample fd accepted");
		if (data == VFU_IRQ_SET_DATA_EVENTFD)
			fuzz_check(action != VFU_IRQ_SET_ACTION_MASK, "eventfd for MASK accepted");
		/* The vectors vfu_irqs_set will touch, when the table is real. */
		if (lim->irqs[s->index].count <= VFU_MAX_IRQ_COUNT) {
			uint8_t *vec = malloc(lim->irqs[s->index].count);

			if (!vec)
				abort();
			vec[s->start] = 1;
			vec[s->start + s->count - 1] = 1;
			free(vec);
		}
		break;
	}
	case VFU_CMD_REGION_READ:
	case VFU_CMD_REGION_WRITE: {
		const struct vfu_region_access *a = (const void *)p;
		bool write = hdr->cmd == VFU_CMD_REGION_WRITE;

		fuzz_check(len >= sizeof(*a) && !nfds, "region access of %zu bytes", len);
		fuzz_check(len == sizeof(*a) + (write ? a->count : 0),
			   "region access of %zu bytes for count %u", len, a->count);
		check_access(lim, a->region, a->offset, a->count, write);
		/* do_region_read's reply: the access header and count bytes. */
		fuzz_check(sizeof(*a) + (uint64_t)a->count <= VFU_MAX_MSG_SIZE,
			   "read reply of %u bytes does not fit", a->count);
		break;
	}
	case VFU_CMD_REGION_WRITE_MULTI: {
		const struct vfu_region_write_multi *m = (const void *)p;

		fuzz_check(len >= sizeof(*m) && !nfds, "WRITE_MULTI of %zu bytes", len);
		fuzz_check(m->wr_cnt >= 1 && m->wr_cnt <= VFU_MAX_WRITE_MULTI,
			   "WRITE_MULTI of %llu entries", (unsigned long long)m->wr_cnt);
		fuzz_check(len == sizeof(*m) + m->wr_cnt * sizeof(m->wrs[0]),
			   "WRITE_MULTI of %zu bytes for %llu entries", len,
			   (unsigned long long)m->wr_cnt);
		for (uint64_t i = 0; i < m->wr_cnt; i++) {
			fuzz_check(m->wrs[i].count <= VFU_MAX_MULTI_DATA, "entry of %u bytes",
				   m->wrs[i].count);
			check_access(lim, m->wrs[i].region, m->wrs[i].offset, m->wrs[i].count, true);
		}
		break;
	}
	case VFU_CMD_DEVICE_RESET:
		fuzz_check(!len && !nfds, "DEVICE_RESET of %zu bytes", len);
		break;
	default:
		fuzz_check(0, "command %u accepted", hdr->cmd);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t setup = fin_u8(&in);
	uint16_t xfer = fin_u16(&in);
	struct vfu_device *dev = idev.vfu;
	struct vfu_limits lim = {
		.regions = setup & 4 ? odd_regions : dev->regions,
		.irqs = setup & 4 ? odd_irqs : dev->irqs,
		.negotiated = setup & 1,
		/* What do_version can leave: 4096 up to the default. */
		.max_data_xfer = xfer & 1 ? VFU_MAX_DATA_XFER : 4096 + (uint32_t)(xfer >> 1) * 32,
	};
	unsigned nfds = (setup >> 3) % (VFU_MAX_MSG_FDS + 1);
	struct vfu_hdr hdr;
	uint8_t *payload;
	size_t len;
	int ret;

	fin_bytes(&in, &hdr, sizeof(hdr));
	len = in.left;
	if (setup & 2)
		hdr.msg_size = (uint32_t)(sizeof(hdr) + len);
	/* The header check the session makes first, then framing as the session does. */
	ret = vfu_validate_header(&hdr);
	fuzz_check(!ret == (hdr.msg_size >= sizeof(hdr) && hdr.msg_size <= VFU_MAX_MSG_SIZE),
		   "header with msg_size %u: %d", hdr.msg_size, ret);
	if (ret)
		return 0;
	/* Exactly the payload bytes, in their own allocation. */
	payload = malloc(len ? len : 1);
	if (!payload)
		abort();
	memcpy(payload, in.p, len);
	ret = vfu_validate_command(&lim, &hdr, len ? payload : NULL, len, nfds);
	fuzz_check(ret <= 0, "validate returned %d", ret);
	if (!ret)
		check_accepted(&lim, &hdr, payload, len, nfds);
	free(payload);
	return 0;
}
