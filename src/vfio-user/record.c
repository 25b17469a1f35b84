// SPDX-License-Identifier: MIT
/*
 * The trace records of vfio-user messages, for a traced device only
 * (vfu_dispatch calls here behind its trace pointer). Messages are already
 * validated: every size and count read here was checked.
 */
#include "core/trace.h"
#include "session.h"

void vfu_record_request(struct trace *t, const struct vfu_request *req)
{
	switch (req->hdr->cmd) {
	case VFU_CMD_REGION_WRITE: {
		const struct vfu_region_access *a = req->payload;

		trace_access(t, TRACE_REGION_WRITE, 0, a->region, a->offset, a->data, a->count);
		break;
	}
	case VFU_CMD_REGION_WRITE_MULTI: {
		const struct vfu_region_write_multi *m = req->payload;

		for (uint64_t i = 0; i < m->wr_cnt; i++)
			trace_access(t, TRACE_REGION_WRITE, TRACE_F_MULTI, m->wrs[i].region,
				     m->wrs[i].offset, m->wrs[i].data, m->wrs[i].count);
		break;
	}
	case VFU_CMD_DMA_MAP: {
		const struct vfu_dma_map *m = req->payload;

		trace_dma_map(t, m->addr, m->size, m->offset, m->flags, req->nfds > 0);
		break;
	}
	case VFU_CMD_DMA_UNMAP: {
		const struct vfu_dma_unmap *u = req->payload;

		trace_dma_unmap(t, u->addr, u->size, u->flags);
		break;
	}
	case VFU_CMD_DEVICE_SET_IRQS: {
		const struct vfu_irq_set *s = req->payload;

		trace_set_irqs(t, s->index, s->flags, s->start, s->count, req->nfds);
		break;
	}
	case VFU_CMD_DEVICE_RESET:
		trace_reset(t, TRACE_RESET_MESSAGE);
		break;
	default:
		break;
	}
}

/* Commands vfu_record_request gave a record of their own. */
static bool recorded_before(unsigned cmd)
{
	switch (cmd) {
	case VFU_CMD_REGION_WRITE:
	case VFU_CMD_REGION_WRITE_MULTI:
	case VFU_CMD_DMA_MAP:
	case VFU_CMD_DMA_UNMAP:
	case VFU_CMD_DEVICE_SET_IRQS:
	case VFU_CMD_DEVICE_RESET:
		return true;
	default:
		return false;
	}
}

void vfu_record_reply(struct trace *t, const struct vfu_request *req,
		      const struct vfu_reply *rep, long ret)
{
	unsigned cmd = req->hdr->cmd;

	if (cmd == VFU_CMD_REGION_READ) {
		const struct vfu_region_access *in = req->payload;
		const struct vfu_region_access *out = rep->buf;

		trace_access(t, TRACE_REGION_READ, 0, in->region, in->offset,
			     ret < 0 ? NULL : out->data, in->count);
		if (ret >= 0)
			return;
	} else if (recorded_before(cmd) && ret >= 0) {
		return;
	}
	/* Everything else, and every failure: the command and its result. */
	trace_msg(t, (uint16_t)cmd, req->hdr->msg_id, (int32_t)ret, 0);
}
