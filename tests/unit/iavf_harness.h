/* SPDX-License-Identifier: MIT */
/*
 * The iavf model driven as the Linux iavf driver drives it, without a
 * socket: BAR0 through the device's region callbacks, guest memory a memfd
 * in the DMA table, MSI-X vectors eventfds in the IRQ table, the admin
 * queue rings and buffers laid out in that memory. Shared by the iavf unit
 * tests (cmocka).
 */
#ifndef IOMED_TESTS_IAVF_HARNESS_H
#define IOMED_TESTS_IAVF_HARNESS_H

#include <errno.h>
#include <stdlib.h>

#include "devices/iavf/iavf.h"
#include "model_harness.h"

#define GPA 0x100000ull
#define MEM_SIZE 0x200000ull
#define AQ_LEN 16
#define ATQ_RING (GPA + 0x0000)
#define ARQ_RING (GPA + 0x1000)
#define ATQ_BUF (GPA + 0x2000)   /* one 4 KiB buffer: messages go one at a time */
#define ARQ_BUFS (GPA + 0x10000) /* AQ_LEN x 4 KiB */
#define TX_RING(q) (GPA + 0x40000 + (q) * 0x2000ull)
#define RX_RING(q) (GPA + 0x50000 + (q) * 0x2000ull)
#define RING_LEN 64
#define PKT_BUF(i) (GPA + 0x80000 + (i) * 0x800ull) /* 2 KiB each */
#define RX_BUF_LEN 2048
struct h {
	struct model_h m;
	struct iomed_device *dev;
	struct vfu_device *vfu;
	struct iavf *v;
	unsigned nvec;
	unsigned atq_ntu, arq_ntc;
};

static inline void *g(struct h *h, uint64_t gpa)
{
	return model_h_mem(&h->m, gpa);
}

static inline void wr(struct h *h, uint32_t off, uint32_t val)
{
	assert_int_equal(h->vfu->ops->region_write(h->vfu->opaque, IAVF_REGS_BAR, off, &val, 4), 0);
}

static inline uint32_t rd(struct h *h, uint32_t off)
{
	uint32_t v = 0;

	assert_int_equal(h->vfu->ops->region_read(h->vfu->opaque, IAVF_REGS_BAR, off, &v, 4), 0);
	return v;
}

/* A device from @spec (an iavf --device string without socket=). */
static inline struct h *h_new(const char *spec)
{
	struct h *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	model_h_init(&h->m, "iavf", spec, GPA, MEM_SIZE);
	h->dev = &h->m.dev;
	h->vfu = h->m.vfu;
	h->v = h->m.dev.state;
	h->nvec = h->m.nvec;
	return h;
}

static inline void h_free(struct h *h)
{
	model_h_fini(&h->m);
	free(h);
}

static inline bool h_irq(struct h *h, unsigned vec, int timeout_ms)
{
	return model_h_irq(&h->m, vec, timeout_ms);
}

/* ---- admin queue, driver side ---- */

static inline struct avf_aq_desc *atq(struct h *h, unsigned i)
{
	return g(h, ATQ_RING + i * sizeof(struct avf_aq_desc));
}

static inline struct avf_aq_desc *arq(struct h *h, unsigned i)
{
	return g(h, ARQ_RING + i * sizeof(struct avf_aq_desc));
}

static inline void arq_post(struct h *h, unsigned i)
{
	struct avf_aq_desc *d = arq(h, i);

	memset(d, 0, sizeof(*d));
	d->flags = AVF_AQ_FLAG_BUF | AVF_AQ_FLAG_LB;
	d->datalen = 4096;
	d->addr_high = (uint32_t)((ARQ_BUFS + i * 4096ull) >> 32);
	d->addr_low = (uint32_t)(ARQ_BUFS + i * 4096ull);
}

/* What iavf_init_adminq does. */
static inline void aq_init(struct h *h)
{
	wr(h, AVF_ATQH, 0);
	wr(h, AVF_ATQT, 0);
	wr(h, AVF_ATQLEN, AQ_LEN | AVF_AQLEN_ENABLE);
	wr(h, AVF_ATQBAL, (uint32_t)ATQ_RING);
	wr(h, AVF_ATQBAH, (uint32_t)(ATQ_RING >> 32));
	for (unsigned i = 0; i < AQ_LEN; i++)
		arq_post(h, i);
	wr(h, AVF_ARQH, 0);
	wr(h, AVF_ARQT, 0);
	wr(h, AVF_ARQLEN, AQ_LEN | AVF_AQLEN_ENABLE);
	wr(h, AVF_ARQBAL, (uint32_t)ARQ_RING);
	wr(h, AVF_ARQBAH, (uint32_t)(ARQ_RING >> 32));
	wr(h, AVF_ARQT, AQ_LEN - 1);
	h->atq_ntu = h->arq_ntc = 0;
}

/* Send one message as iavf_aq_send_msg_to_pf does; returns the written-back descriptor. */
static inline struct avf_aq_desc vc_send(struct h *h, uint32_t op, const void *msg, uint16_t len)
{
	struct avf_aq_desc *d = atq(h, h->atq_ntu);

	memset(d, 0, sizeof(*d));
	d->flags = AVF_AQ_FLAG_SI | (len ? AVF_AQ_FLAG_BUF | AVF_AQ_FLAG_RD : 0);
	d->opcode = AVF_AQC_SEND_MSG_TO_PF;
	d->datalen = len;
	d->cookie_high = op;
	d->addr_high = (uint32_t)(ATQ_BUF >> 32);
	d->addr_low = (uint32_t)ATQ_BUF;
	if (len)
		memcpy(g(h, ATQ_BUF), msg, len);
	h->atq_ntu = (h->atq_ntu + 1) % AQ_LEN;
	wr(h, AVF_ATQT, h->atq_ntu);
	return *d;
}

/* Take the next ARQ message (iavf_clean_arq_element); false when there is none. */
static inline bool vc_recv(struct h *h, uint32_t *op, int32_t *status, void *buf, uint16_t *len)
{
	struct avf_aq_desc d;

	if ((rd(h, AVF_ARQH) & AVF_AQ_HT_MASK) == h->arq_ntc)
		return false;
	d = *arq(h, h->arq_ntc);
	assert_true(d.flags & AVF_AQ_FLAG_DD);
	assert_int_equal(d.opcode, AVF_AQC_SEND_MSG_TO_VF);
	*op = d.cookie_high;
	*status = (int32_t)d.cookie_low;
	*len = d.datalen;
	if (buf && d.datalen)
		memcpy(buf, g(h, ARQ_BUFS + h->arq_ntc * 4096ull), d.datalen);
	arq_post(h, h->arq_ntc);
	wr(h, AVF_ARQT, h->arq_ntc);
	h->arq_ntc = (h->arq_ntc + 1) % AQ_LEN;
	return true;
}

/* The reply to @op (events before it are skipped); its status. */
static inline int32_t vc_reply(struct h *h, uint32_t op, void *buf, uint16_t *len)
{
	uint32_t got;
	int32_t st;
	uint16_t n;

	while (vc_recv(h, &got, &st, buf, &n)) {
		if (got == VC_OP_EVENT)
			continue;
		assert_int_equal(got, op);
		if (len)
			*len = n;
		return st;
	}
	fail_msg("no reply to virtchnl opcode %u", op);
	return 0;
}

static inline int32_t vc_call(struct h *h, uint32_t op, const void *msg, uint16_t len)
{
	struct avf_aq_desc d = vc_send(h, op, msg, len);

	assert_int_equal(d.flags & (AVF_AQ_FLAG_DD | AVF_AQ_FLAG_ERR), AVF_AQ_FLAG_DD);
	return vc_reply(h, op, NULL, NULL);
}

/* VERSION and GET_VF_RESOURCES as the driver's init states send them. */
static inline void vc_hello(struct h *h, uint32_t caps, struct vc_vf_resource *res)
{
	struct vc_version ver = { 1, 1 };
	uint16_t len;

	vc_send(h, VC_OP_VERSION, &ver, sizeof(ver));
	assert_int_equal(vc_reply(h, VC_OP_VERSION, &ver, &len), 0);
	assert_int_equal(len, sizeof(ver));
	assert_int_equal(ver.major, 1);
	assert_int_equal(ver.minor, 1);
	vc_send(h, VC_OP_GET_VF_RESOURCES, &caps, sizeof(caps));
	assert_int_equal(vc_reply(h, VC_OP_GET_VF_RESOURCES, res, &len), 0);
	assert_int_equal(len, VC_LEN_VF_RESOURCE);
}

/* CONFIG_VSI_QUEUES for @pairs pairs, CONFIG_IRQ_MAP (queue q on vector q + 1), ENABLE_QUEUES. */
static inline void vc_queues_up(struct h *h, unsigned pairs)
{
	uint8_t msg[VC_LEN_VSI_QUEUE_CONFIG + 16 * sizeof(struct vc_queue_pair_info)] = { 0 };
	struct vc_vsi_queue_config *c = (void *)msg;
	struct vc_queue_pair_info *qp = (void *)(msg + sizeof(*c));
	uint8_t map[VC_LEN_IRQ_MAP + 17 * sizeof(struct vc_vector_map)] = { 0 };
	struct vc_vector_map *vm = (void *)(map + 2);
	struct vc_queue_select sel = { .vsi_id = IAVF_VSI_ID };

	c->vsi_id = IAVF_VSI_ID;
	c->num_queue_pairs = (uint16_t)pairs;
	for (unsigned q = 0; q < pairs; q++) {
		qp[q].txq = (struct vc_txq_info){ .vsi_id = IAVF_VSI_ID, .queue_id = (uint16_t)q,
						  .ring_len = RING_LEN, .dma_ring_addr = TX_RING(q) };
		qp[q].rxq = (struct vc_rxq_info){ .vsi_id = IAVF_VSI_ID, .queue_id = (uint16_t)q,
						  .ring_len = RING_LEN, .databuffer_size = RX_BUF_LEN,
						  .max_pkt_size = 1534, .dma_ring_addr = RX_RING(q) };
		memset(g(h, TX_RING(q)), 0, RING_LEN * 16);
		memset(g(h, RX_RING(q)), 0, RING_LEN * 32);
	}
	assert_int_equal(vc_call(h, VC_OP_CONFIG_VSI_QUEUES, msg,
				 (uint16_t)(VC_LEN_VSI_QUEUE_CONFIG + pairs * sizeof(*qp))), 0);
	map[0] = (uint8_t)(pairs + 1);
	for (unsigned q = 0; q < pairs; q++)
		vm[q] = (struct vc_vector_map){ .vsi_id = IAVF_VSI_ID, .vector_id = (uint16_t)(q + 1),
						.rxq_map = (uint16_t)(1u << q),
						.txq_map = (uint16_t)(1u << q), .rxitr_idx = 0,
						.txitr_idx = 1 };
	vm[pairs] = (struct vc_vector_map){ .vsi_id = IAVF_VSI_ID };
	assert_int_equal(vc_call(h, VC_OP_CONFIG_IRQ_MAP, map,
				 (uint16_t)(VC_LEN_IRQ_MAP + (pairs + 1) * sizeof(*vm))), 0);
	sel.rx_queues = sel.tx_queues = (1u << pairs) - 1;
	assert_int_equal(vc_call(h, VC_OP_ENABLE_QUEUES, &sel, sizeof(sel)), 0);
	for (unsigned v = 1; v <= pairs; v++)
		wr(h, AVF_DYN_CTLN(v - 1), AVF_DYN_INTENA | AVF_DYN_CLEARPBA | (3u << 3));
}

#endif
