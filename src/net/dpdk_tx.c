// SPDX-License-Identifier: MIT
/*
 * DPDK port, send side. A device's frame is classified first: a source
 * MAC the device does not own drops it (spoofed); frames for other devices
 * on the port are copied into one mbuf chain they share; frames for the
 * wire are copied into another, their offload requests turned into mbuf
 * offloads where the port has them (checksums, TSO) and done in software
 * where it does not. Wire frames wait in a small per-endpoint burst until
 * the device's flush (or at once for a device that never flushes).
 */
#include "net/dpdk_priv.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_tcp.h>

#include "core/log.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define TX_STUCK_MAX 10000 /* flushes in a row without progress */

static struct dpdk_ep *to_ep(struct net_port *p)
{
	return net_port_of(p, struct dpdk_ep, port);
}

struct rte_mbuf *dpdk_mbuf_from_iov(struct dpdk_dev *d, const struct iovec *iov, int iovcnt,
				    size_t off, size_t len)
{
	struct rte_mbuf *head = NULL, *tail = NULL, *m;

	while (len || !head) {
		size_t n;

		m = rte_pktmbuf_alloc(d->pool);
		if (!m) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		n = RTE_MIN(len, (size_t)rte_pktmbuf_tailroom(m));
		net_iov_gather_at(rte_pktmbuf_mtod(m, void *), off, n, iov, iovcnt);
		m->data_len = (uint16_t)n;
		off += n;
		len -= n;
		if (!head) {
			head = m;
		} else {
			tail->next = m;
			head->nb_segs++;
		}
		head->pkt_len += (uint32_t)n;
		tail = m;
	}
	return head;
}

/* ---- offloads ---- */

/* l2/l3 lengths and IP version of a frame whose headers sit in its first segment. */
static int parse_l3(struct rte_mbuf *m, const struct net_hdr *h, bool *ipv6)
{
	const uint8_t *eth = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t start = le16toh(h->csum_start);
	uint16_t type;

	m->l2_len = NET_ETH_HLEN;
	type = (uint16_t)(eth[12] << 8 | eth[13]);
	if (type == ETH_P_8021Q || type == ETH_P_8021AD) {
		m->l2_len += 4;
		type = (uint16_t)(eth[16] << 8 | eth[17]);
	}
	if ((type != ETH_P_IPV4 && type != ETH_P_IPV6) || start <= m->l2_len ||
	    (size_t)start + le16toh(h->csum_offset) + 2 > rte_pktmbuf_data_len(m))
		return -EINVAL;
	*ipv6 = type == ETH_P_IPV6;
	m->l3_len = start - m->l2_len;
	return 0;
}

/* The checksum the sender left partial, done here: the port cannot. */
static int sw_csum(struct dpdk_ep *ep, struct rte_mbuf *m, const struct net_hdr *h)
{
	uint32_t start = le16toh(h->csum_start), field = start + le16toh(h->csum_offset);
	uint16_t raw, res;

	if (field + 2 > rte_pktmbuf_data_len(m) ||
	    rte_raw_cksum_mbuf(m, start, m->pkt_len - start, &raw))
		return -EINVAL;
	res = (uint16_t)~raw;
	if (!res)
		res = 0xffff;
	memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, field), &res, sizeof(res));
	dpdk_count(&ep->dev->stats.tx_sw_csum, 1);
	return 0;
}

/* NEEDS_CSUM and GSO as mbuf offloads; the pseudo-header sum as the PMD wants it. */
static int hw_offload(struct dpdk_dev *d, struct rte_mbuf *m, const struct net_hdr *h,
		      bool ipv6)
{
	uint8_t *l3 = rte_pktmbuf_mtod_offset(m, uint8_t *, m->l2_len);
	uint8_t *l4 = l3 + m->l3_len;
	uint16_t phdr, csum_off = le16toh(h->csum_offset);

	m->ol_flags |= ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4;
	if (h->gso_type != NET_HDR_GSO_NONE) {
		if ((size_t)m->l2_len + m->l3_len + 20 > rte_pktmbuf_data_len(m))
			return -EINVAL;
		m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM;
		m->l4_len = (l4[12] >> 4) * 4;
		m->tso_segsz = le16toh(h->gso_size);
		if (!ipv6 && (d->tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)) {
			m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
			((struct rte_ipv4_hdr *)l3)->hdr_checksum = 0;
		}
	} else {
		m->ol_flags |= csum_off == 16 ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM;
	}
	phdr = ipv6 ? rte_ipv6_phdr_cksum((struct rte_ipv6_hdr *)l3, m->ol_flags) :
		      rte_ipv4_phdr_cksum((struct rte_ipv4_hdr *)l3, m->ol_flags);
	memcpy(l4 + csum_off, &phdr, sizeof(phdr));
	return 0;
}

static bool can_csum(const struct dpdk_dev *d, const struct net_hdr *h)
{
	uint16_t off = le16toh(h->csum_offset);

	if (off == 16)
		return d->tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	if (off == 6)
		return d->tx_offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	return false;
}

/*
 * What a PMD or another member's driver is told must be true of the frame:
 * a guest wrote this header. 0 (and l2/l3 lengths, the IP version) or -EINVAL.
 */
static int check_hdr(struct rte_mbuf *m, const struct net_hdr *h, bool *ipv6)
{
	bool gso = h->gso_type != NET_HDR_GSO_NONE;

	if (!(h->flags & NET_HDR_F_NEEDS_CSUM) && !gso)
		return 0;
	if (!(h->flags & NET_HDR_F_NEEDS_CSUM))
		return -EINVAL; /* a GSO frame always leaves its checksum partial */
	if (parse_l3(m, h, ipv6))
		return -EINVAL;
	if (gso && (!h->gso_size || le16toh(h->csum_offset) != 16 ||
		    (h->gso_type & ~NET_HDR_GSO_ECN) != (*ipv6 ? NET_HDR_GSO_TCPV6 : NET_HDR_GSO_TCPV4)))
		return -EINVAL;
	return 0;
}

static int offload(struct dpdk_ep *ep, struct rte_mbuf *m, const struct net_hdr *h)
{
	bool gso = h->gso_type != NET_HDR_GSO_NONE;
	bool ipv6;

	if (!(h->flags & NET_HDR_F_NEEDS_CSUM) && !gso)
		return 0;
	if (check_hdr(m, h, &ipv6))
		return -EINVAL;
	if (gso || can_csum(ep->dev, h))
		return hw_offload(ep->dev, m, h, ipv6);
	return sw_csum(ep, m, h);
}

/* ---- the burst to the wire ---- */

int dpdk_tx_flush(struct dpdk_ep *ep)
{
	struct dpdk_dev *d = ep->dev;
	struct dpdk_txq *q = &d->txq[ep->txq];
	uint16_t n;

	if (!ep->nheld)
		return 0;
	rte_spinlock_lock(&q->lock);
	n = rte_eth_tx_burst(d->port_id, ep->txq, ep->held, (uint16_t)ep->nheld);
	rte_spinlock_unlock(&q->lock);
	dpdk_count(&d->stats.tx_wire, n);
	ep->tx_stuck = n ? 0 : ep->tx_stuck + 1;
	if (ep->tx_stuck == TX_STUCK_MAX) {
		/* a PMD that never takes a frame refuses it: drop it, not the queue */
		pr_warn_rl("%s: the PMD keeps refusing a frame of %u bytes: dropped",
			   ep->port.name, ep->held[0]->pkt_len);
		rte_pktmbuf_free(ep->held[0]);
		ep->port.stats.tx_drops++;
		ep->tx_stuck = 0;
		n = 1;
	}
	ep->nheld -= n;
	memmove(ep->held, ep->held + n, ep->nheld * sizeof(ep->held[0]));
	return ep->nheld ? -EAGAIN : 0;
}

/* The device flushes after its batches: from now on sends wait for it. */
int dpdk_flush(struct net_port *p)
{
	struct dpdk_ep *ep = to_ep(p);

	ep->batching = true;
	return dpdk_tx_flush(ep);
}

static void hold(struct dpdk_ep *ep, struct rte_mbuf *m)
{
	ep->held[ep->nheld++] = m;
	if (!ep->batching || ep->nheld == DPDK_BURST)
		dpdk_tx_flush(ep);
}

/* A GSO frame for a port without TSO: segments in software, each its own mbuf. */
static int sw_gso(struct dpdk_ep *ep, const struct iovec *iov, int iovcnt, size_t len)
{
	struct iovec seg = { .iov_base = ep->seg + NET_HDR_LEN };
	struct net_gso g; /* not ep->gso: recv may be half-way through a frame */
	ssize_t n;

	net_iov_gather(ep->tx_scratch, len, iov, iovcnt);
	if (net_gso_start(&g, ep->tx_scratch, len))
		return -EINVAL;
	dpdk_count(&ep->dev->stats.tx_sw_gso, 1);
	while ((n = net_gso_next(&g, ep->seg, NET_MAX_FRAME)) > 0) {
		struct rte_mbuf *m;

		seg.iov_len = (size_t)n - NET_HDR_LEN;
		m = dpdk_mbuf_from_iov(ep->dev, &seg, 1, 0, seg.iov_len);
		if (!m || (ep->nheld == DPDK_BURST && dpdk_tx_flush(ep))) {
			rte_pktmbuf_free(m);
			ep->port.stats.tx_drops++;
			continue;
		}
		hold(ep, m);
	}
	return 0;
}

static bool tso_ok(const struct dpdk_dev *d, const struct net_hdr *h)
{
	return h->gso_type == NET_HDR_GSO_NONE || (d->tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_TSO);
}

static int to_wire(struct dpdk_ep *ep, const struct iovec *iov, int iovcnt, size_t len,
		   const struct net_hdr *h)
{
	struct dpdk_dev *d = ep->dev;
	struct rte_mbuf *m;

	if (!tso_ok(d, h))
		return sw_gso(ep, iov, iovcnt, len);
	m = dpdk_mbuf_from_iov(d, iov, iovcnt, NET_HDR_LEN, len - NET_HDR_LEN);
	if (!m)
		return -ENOBUFS;
	if (offload(ep, m, h) || rte_eth_tx_prepare(d->port_id, ep->txq, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		return -EINVAL;
	}
	hold(ep, m);
	return 0;
}

static bool csum_inside(const struct rte_mbuf *m, const struct net_hdr *h)
{
	if (!(h->flags & NET_HDR_F_NEEDS_CSUM))
		return true;
	return (uint32_t)le16toh(h->csum_start) + le16toh(h->csum_offset) + 2 <= m->pkt_len;
}

/* Frames for other devices: one shared copy with the sender's header (checked: -EINVAL). */
static int to_members(struct dpdk_ep *ep, const struct iovec *iov, int iovcnt, size_t len,
		      const struct net_hdr *h, uint64_t to)
{
	struct rte_mbuf *m = dpdk_mbuf_from_iov(ep->dev, iov, iovcnt, NET_HDR_LEN,
						len - NET_HDR_LEN);
	bool ipv6;

	if (!m) {
		dpdk_count(&ep->dev->stats.rx_inbox_full, (uint64_t)__builtin_popcountll(to));
		return 0;
	}
	/*
	 * A receiver that took the offload hands the header to its driver as
	 * it is. A GSO frame must be what it says; a partial checksum only has
	 * to lie inside the frame (any protocol: a guest's offload is generic,
	 * and a receiver without it completes the sum wherever it points).
	 */
	if (h->gso_type == NET_HDR_GSO_NONE ? !csum_inside(m, h) : check_hdr(m, h, &ipv6)) {
		rte_pktmbuf_free(m);
		return -EINVAL;
	}
	dpdk_meta(m)->hdr = *h;
	dpdk_meta(m)->local = 1;
	dpdk_dispatch(ep, m, to);
	return 0;
}

static int tx_drop(struct dpdk_ep *ep, int ret)
{
	ep->port.stats.tx_drops++;
	return ret;
}

int dpdk_send(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	struct dpdk_ep *ep = to_ep(p);
	struct mux *x = &ep->dev->mux;
	size_t len = net_iov_len(iov, iovcnt);
	uint8_t head[NET_HDR_LEN + NET_ETH_HLEN];
	struct mux_verdict v;
	struct net_hdr h;
	int ret = 0;

	dpdk_thread_enter();
	if (len < sizeof(head) || len > NET_MAX_FRAME)
		return tx_drop(ep, len > NET_MAX_FRAME ? -EMSGSIZE : -EINVAL);
	if (ep->slot < 0) {
		if (!ep->warned)
			pr_warn("%s: the device gave no MAC address (net_port_set_mac): frames dropped",
				p->name);
		ep->warned = true;
		return tx_drop(ep, -ENOTCONN);
	}
	if (ep->nheld == DPDK_BURST && dpdk_tx_flush(ep))
		return -EAGAIN; /* nothing taken: the device retries the frame */
	net_iov_gather(head, sizeof(head), iov, iovcnt);
	memcpy(&h, head, sizeof(h));
	mux_enter(x, (unsigned)ep->slot);
	mux_classify(x, head + NET_HDR_LEN, ep->slot, &v);
	if (v.to)
		ret = to_members(ep, iov, iovcnt, len, &h, v.to);
	mux_exit(x, (unsigned)ep->slot);
	if (v.spoofed) {
		p->stats.tx_spoofed++;
		return tx_drop(ep, -EPERM);
	}
	if (!ret && v.wire)
		ret = to_wire(ep, iov, iovcnt, len, &h);
	if (ret)
		return tx_drop(ep, ret);
	p->stats.tx_packets++;
	p->stats.tx_bytes += len - NET_HDR_LEN;
	return 0;
}
