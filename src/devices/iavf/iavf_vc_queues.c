// SPDX-License-Identifier: MIT
/*
 * virtchnl queue and interrupt setup: CONFIG_VSI_QUEUES (ring addresses and
 * sizes), CONFIG_IRQ_MAP (queues to MSI-X vectors and ITR indexes),
 * ENABLE_QUEUES / DISABLE_QUEUES. Checks follow ice's; a message that fails
 * them changes nothing. The datapath is parked while its rings change.
 */
#include "devices/iavf/iavf_vc.h"

#include "core/log.h"

#define RX_BUF_MIN 1024
#define RX_BUF_MAX (16 * 1024 - 128)
#define RX_BUF_DEFAULT 2048
#define RX_PKT_MIN 64
#define RING_ALIGN 128 /* the queue context keeps the base in 128-byte units */

static bool ring_len_ok(uint32_t len)
{
	return !len || (len >= VC_RING_LEN_MIN && len <= VC_RING_LEN_MAX &&
			!(len % VC_RING_LEN_MULT));
}

/* ice's checks on one queue pair. */
static bool pair_ok(const struct iavf *v, const struct vc_queue_pair_info *qp)
{
	uint32_t buf = le32toh(qp->rxq.databuffer_size);
	uint32_t pkt = le32toh(qp->rxq.max_pkt_size);

	if (le16toh(qp->txq.vsi_id) != IAVF_VSI_ID || le16toh(qp->rxq.vsi_id) != IAVF_VSI_ID)
		return false;
	if (le16toh(qp->txq.queue_id) != le16toh(qp->rxq.queue_id) ||
	    le16toh(qp->txq.queue_id) >= v->pairs || qp->txq.headwb_enabled)
		return false;
	if (!ring_len_ok(le16toh(qp->txq.ring_len)) || !ring_len_ok(le32toh(qp->rxq.ring_len)))
		return false;
	if (qp->rxq.crc_disable || (buf && (buf < RX_BUF_MIN || buf > RX_BUF_MAX)))
		return false;
	return !qp->rxq.ring_len || (pkt >= RX_PKT_MIN && pkt <= IAVF_MAX_FRAME);
}

static void pair_apply(struct iavf *v, const struct vc_queue_pair_info *qp)
{
	unsigned q = le16toh(qp->txq.queue_id);
	struct iavf_ring *tx = &v->dp.tx[q], *rx = &v->dp.rx[q];
	uint32_t buf = le32toh(qp->rxq.databuffer_size);

	/* A configured queue starts over: head and (Tx) doorbell at 0. */
	if (qp->txq.ring_len) {
		tx->base = le64toh(qp->txq.dma_ring_addr) & ~(uint64_t)(RING_ALIGN - 1);
		tx->len = le16toh(qp->txq.ring_len);
		tx->head = 0;
		__atomic_store_n(&v->tx_tail[q], 0, __ATOMIC_RELEASE);
	}
	if (qp->rxq.ring_len) {
		rx->base = le64toh(qp->rxq.dma_ring_addr) & ~(uint64_t)(RING_ALIGN - 1);
		rx->len = (uint16_t)le32toh(qp->rxq.ring_len);
		rx->head = 0;
		rx->buf_len = buf ? buf : RX_BUF_DEFAULT;
		rx->max_pkt = le32toh(qp->rxq.max_pkt_size);
	}
}

int32_t iavf_vc_config_queues(struct iavf *v, const uint8_t *msg)
{
	const struct vc_queue_pair_info *qp = (const void *)(msg + sizeof(struct vc_vsi_queue_config));
	unsigned n = vc_u16(msg + 2);

	if (vc_u16(msg) != IAVF_VSI_ID || n > v->pairs)
		return VC_STATUS_ERR_PARAM;
	for (unsigned i = 0; i < n; i++) {
		struct vc_queue_pair_info p;

		memcpy(&p, qp + i, sizeof(p));
		if (!pair_ok(v, &p))
			return VC_STATUS_ERR_PARAM;
	}
	iavf_dp_park(v);
	for (unsigned i = 0; i < n; i++) {
		struct vc_queue_pair_info p;

		memcpy(&p, qp + i, sizeof(p));
		pair_apply(v, &p);
	}
	iavf_dp_unpark(v);
	return VC_STATUS_SUCCESS;
}

/* ---- CONFIG_IRQ_MAP ---- */

static bool vecmap_ok(const struct iavf *v, const struct vc_vector_map *m)
{
	uint16_t vec = le16toh(m->vector_id);
	uint32_t qmask = (1u << v->pairs) - 1;

	if (le16toh(m->vsi_id) != IAVF_VSI_ID || vec >= v->nvec)
		return false;
	if ((le16toh(m->rxq_map) | le16toh(m->txq_map)) & ~qmask)
		return false;
	/* Vector 0 carries the mailbox only. */
	return vec || (!m->rxq_map && !m->txq_map);
}

static void vecmap_apply(struct iavf *v, const struct vc_vector_map *m)
{
	uint8_t vec = (uint8_t)le16toh(m->vector_id);

	for (unsigned q = 0; q < v->pairs; q++) {
		if (le16toh(m->rxq_map) & (1u << q)) {
			v->dp.rx[q].vec = vec;
			v->dp.rx[q].itr = le16toh(m->rxitr_idx) & 3;
		}
		if (le16toh(m->txq_map) & (1u << q)) {
			v->dp.tx[q].vec = vec;
			v->dp.tx[q].itr = le16toh(m->txitr_idx) & 3;
		}
	}
}

int32_t iavf_vc_irq_map(struct iavf *v, const uint8_t *msg)
{
	const struct vc_vector_map *map = (const void *)(msg + 2);
	unsigned n = vc_u16(msg);

	if (n > v->nvec)
		return VC_STATUS_ERR_PARAM;
	for (unsigned i = 0; i < n; i++) {
		struct vc_vector_map m;

		memcpy(&m, map + i, sizeof(m));
		if (!vecmap_ok(v, &m))
			return VC_STATUS_ERR_PARAM;
	}
	iavf_dp_park(v);
	for (unsigned i = 0; i < n; i++) {
		struct vc_vector_map m;

		memcpy(&m, map + i, sizeof(m));
		if (m.vector_id)
			vecmap_apply(v, &m);
	}
	iavf_dp_unpark(v);
	return VC_STATUS_SUCCESS;
}

/* ---- ENABLE_QUEUES / DISABLE_QUEUES ---- */

static bool select_ok(const struct iavf *v, const struct vc_queue_select *s, bool on)
{
	uint32_t qmask = (1u << v->pairs) - 1;
	uint32_t rxq = le32toh(s->rx_queues), txq = le32toh(s->tx_queues);

	if (le16toh(s->vsi_id) != IAVF_VSI_ID || !(rxq | txq) || ((rxq | txq) & ~qmask))
		return false;
	/* Only configured rings start. */
	for (unsigned q = 0; on && q < v->pairs; q++)
		if (((rxq >> q) & 1 && !v->dp.rx[q].len) || ((txq >> q) & 1 && !v->dp.tx[q].len))
			return false;
	return true;
}

static void ring_switch(struct iavf_ring *r, bool on)
{
	if (on && !r->on)
		r->head = 0;
	r->on = on;
}

int32_t iavf_vc_queues_enable(struct iavf *v, const uint8_t *msg, bool on)
{
	struct vc_queue_select s;
	uint32_t rxq, txq;

	memcpy(&s, msg, sizeof(s));
	if (!select_ok(v, &s, on))
		return VC_STATUS_ERR_PARAM;
	rxq = le32toh(s.rx_queues);
	txq = le32toh(s.tx_queues);
	iavf_dp_park(v);
	for (unsigned q = 0; q < v->pairs; q++) {
		if ((rxq >> q) & 1)
			ring_switch(&v->dp.rx[q], on);
		if ((txq >> q) & 1)
			ring_switch(&v->dp.tx[q], on);
	}
	iavf_dp_unpark(v);
	if (on && iavf_dp_start(v))
		return VC_STATUS_ERR_NO_MEMORY;
	pr_debug("%s: queues rx %#x tx %#x %s", v->name, rxq, txq, on ? "enabled" : "disabled");
	return VC_STATUS_SUCCESS;
}
