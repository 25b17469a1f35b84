// SPDX-License-Identifier: MIT
/*
 * DPDK port, receive side. A device's recv takes, in order: frames of its
 * own steered queue (already known to be its own), frames other threads
 * classified into its inbox, and, when both are empty, polls: its own queue
 * and the default queues nobody owns (for everyone), each under a try-lock
 * so that one thread at a time polls a queue. Polling classifies every
 * frame that is not simply the poller's own and hands it to its members by
 * reference.
 *
 * The one copy: mbuf to guest buffers, header first. Offloads the receiver
 * did not enable are finished here: a member's NEEDS_CSUM frame gets its
 * checksum computed over the mbuf and written into the guest's copy; a
 * member's GSO frame is segmented in software, one segment per recv.
 */
#include "net/dpdk_priv.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include <rte_ip.h>

#include "core/log.h"

static struct dpdk_ep *to_ep(struct net_port *p)
{
	return net_port_of(p, struct dpdk_ep, port);
}

/* Into member @i's inbox, within its share of the pool; false when it has no room. */
static bool inbox_put(struct dpdk_dev *d, unsigned i, struct rte_mbuf *m)
{
	struct rte_ring *r = __atomic_load_n(&d->inbox[i], __ATOMIC_ACQUIRE);
	uint32_t segs = m->nb_segs;

	if (!r)
		return false;
	if (__atomic_add_fetch(&d->inbox_mbufs[i], segs, __ATOMIC_RELAXED) <= DPDK_INBOX_MBUFS &&
	    !rte_ring_enqueue(r, m))
		return true;
	__atomic_sub_fetch(&d->inbox_mbufs[i], segs, __ATOMIC_RELAXED);
	return false;
}

static struct rte_mbuf *inbox_get(struct dpdk_dev *d, unsigned i)
{
	void *m;

	if (rte_ring_dequeue(d->inbox[i], &m))
		return NULL;
	__atomic_sub_fetch(&d->inbox_mbufs[i], ((struct rte_mbuf *)m)->nb_segs, __ATOMIC_RELAXED);
	return m;
}

void dpdk_dispatch(struct dpdk_ep *ep, struct rte_mbuf *m, uint64_t to)
{
	struct dpdk_dev *d = ep->dev;
	int n = __builtin_popcountll(to);

	if (!n) {
		rte_pktmbuf_free(m);
		return;
	}
	if (n > 1)
		rte_pktmbuf_refcnt_update(m, (int16_t)(n - 1));
	while (to) {
		unsigned i = (unsigned)__builtin_ctzll(to);

		to &= to - 1;
		if (!inbox_put(d, i, m)) {
			dpdk_count(&d->stats.rx_inbox_full, 1);
			rte_pktmbuf_free(m);
		}
	}
}

/* Burst from queue @q; @own: the caller's steered queue. */
static void poll_queue(struct dpdk_ep *ep, uint16_t q, bool own)
{
	struct dpdk_dev *d = ep->dev;
	struct rte_mbuf *bufs[DPDK_BURST];
	uint64_t mine = d->mux.m[ep->slot].mac;
	bool promisc = __atomic_load_n(&d->mux.npromisc, __ATOMIC_ACQUIRE);
	struct mux_verdict v;
	uint16_t n;
	unsigned direct = 0;

	n = rte_eth_rx_burst(d->port_id, q, bufs, DPDK_BURST);
	if (!n)
		return;
	dpdk_count(&d->stats.rx_wire, n);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = bufs[i];
		const uint8_t *eth = rte_pktmbuf_mtod(m, const uint8_t *);

		dpdk_meta(m)->local = 0;
		if (rte_pktmbuf_data_len(m) < NET_ETH_HLEN) {
			rte_pktmbuf_free(m);
			continue;
		}
		if (own && !promisc && mux_mac(eth) == mine && ep->npend < DPDK_BURST) {
			ep->pend[ep->npend++] = m;
			direct++;
			continue;
		}
		mux_classify(&d->mux, eth, -1, &v);
		dpdk_dispatch(ep, m, v.to);
	}
	if (direct)
		dpdk_count(&d->stats.rx_direct, direct);
}

/*
 * Queue @q unless another thread is polling it: DPDK Rx queues take one
 * thread at a time. Also a device's own queue: it was a default queue
 * until the device joined (or is one again once it left), and a thread
 * that saw it unowned may still be polling it.
 */
static void poll_locked(struct dpdk_ep *ep, uint16_t q, bool own)
{
	struct dpdk_rxq *rq = &ep->dev->rxq[q];

	if (__atomic_exchange_n(&rq->busy, true, __ATOMIC_ACQUIRE))
		return;
	poll_queue(ep, q, own);
	__atomic_store_n(&rq->busy, false, __ATOMIC_RELEASE);
}

static void poll_all(struct dpdk_ep *ep)
{
	struct dpdk_dev *d = ep->dev;

	ep->npend = ep->ipend = 0;
	mux_enter(&d->mux, (unsigned)ep->slot);
	if (ep->rxq >= 0)
		poll_locked(ep, (uint16_t)ep->rxq, true);
	for (uint16_t q = 0; q < d->nrxq; q++) {
		if (__atomic_load_n(&d->rxq[q].owner, __ATOMIC_ACQUIRE) >= 0)
			continue;
		/* with the catch-all rule only queue 0 gets frames nobody owns */
		if (d->catch_all && q)
			continue;
		poll_locked(ep, q, false);
	}
	mux_exit(&d->mux, (unsigned)ep->slot);
}

static struct rte_mbuf *take(struct dpdk_ep *ep)
{
	if (ep->ipend < ep->npend)
		return ep->pend[ep->ipend++];
	return inbox_get(ep->dev, (unsigned)ep->slot);
}

static bool gso_enabled(unsigned offloads, uint8_t gso_type)
{
	unsigned need = (gso_type & ~NET_HDR_GSO_ECN) == NET_HDR_GSO_TCPV4 ? NET_OFFLOAD_TSO4 :
			(gso_type & ~NET_HDR_GSO_ECN) == NET_HDR_GSO_TCPV6 ? NET_OFFLOAD_TSO6 : 0;

	if (!need)
		return false;
	if (gso_type & NET_HDR_GSO_ECN)
		need |= NET_OFFLOAD_TSO_ECN;
	return (offloads & need) == need;
}

static void copy_out(const struct iovec *iov, int iovcnt, const struct rte_mbuf *m)
{
	size_t off = NET_HDR_LEN;

	for (const struct rte_mbuf *s = m; s; s = s->next) {
		net_iov_scatter_at(iov, iovcnt, off, rte_pktmbuf_mtod(s, const void *),
				   rte_pktmbuf_data_len(s));
		off += rte_pktmbuf_data_len(s);
	}
}

/* The checksum a sender left partial, computed over @m, written in the guest's copy. */
static int complete_csum(const struct iovec *iov, int iovcnt, const struct rte_mbuf *m,
			 const struct net_hdr *h)
{
	uint32_t start = le16toh(h->csum_start), field = start + le16toh(h->csum_offset);
	uint16_t raw, res;

	if (field + 2 > m->pkt_len || rte_raw_cksum_mbuf(m, start, m->pkt_len - start, &raw))
		return -EINVAL;
	res = (uint16_t)~raw;
	if (!res)
		res = 0xffff; /* 0 would mean "no checksum" for UDP */
	net_iov_scatter_at(iov, iovcnt, NET_HDR_LEN + field, &res, sizeof(res));
	return 0;
}

static ssize_t drop(struct dpdk_ep *ep, struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
	ep->port.stats.rx_drops++;
	return -EMSGSIZE;
}

static ssize_t gso_next(struct dpdk_ep *ep, const struct iovec *iov, int iovcnt, size_t room)
{
	ssize_t len = net_gso_next(&ep->gso, ep->seg, NET_MAX_FRAME);

	if (len <= 0) {
		ep->gso.frame = NULL;
		return len ? -EMSGSIZE : -EAGAIN;
	}
	if ((size_t)len > room) {
		ep->port.stats.rx_drops++;
		return -EMSGSIZE;
	}
	net_iov_scatter(iov, iovcnt, ep->seg, (size_t)len);
	ep->port.stats.rx_packets++;
	ep->port.stats.rx_bytes += (size_t)len - NET_HDR_LEN;
	return len;
}

/* A member's GSO frame for a receiver without that TSO: segments, one per recv. */
static ssize_t gso_begin(struct dpdk_ep *ep, struct rte_mbuf *m, const struct net_hdr *h,
			 const struct iovec *iov, int iovcnt, size_t room)
{
	size_t len = NET_HDR_LEN + m->pkt_len;

	if (len > NET_MAX_FRAME)
		return drop(ep, m);
	memcpy(ep->scratch, h, NET_HDR_LEN);
	if (!rte_pktmbuf_read(m, 0, m->pkt_len, ep->scratch + NET_HDR_LEN) ||
	    net_gso_start(&ep->gso, ep->scratch, len)) {
		ep->gso.frame = NULL;
		return drop(ep, m);
	}
	rte_pktmbuf_free(m);
	return gso_next(ep, iov, iovcnt, room);
}

static ssize_t deliver(struct dpdk_ep *ep, struct rte_mbuf *m, const struct iovec *iov,
		       int iovcnt, size_t room)
{
	const struct dpdk_meta *meta = dpdk_meta(m);
	unsigned offloads = ep->port.offloads;
	size_t len = NET_HDR_LEN + m->pkt_len;
	struct net_hdr h = { 0 };
	bool csum = false;

	if (meta->local) {
		h = meta->hdr;
		h.num_buffers = 0;
		if (h.gso_type != NET_HDR_GSO_NONE && !gso_enabled(offloads, h.gso_type))
			return gso_begin(ep, m, &h, iov, iovcnt, room);
		csum = (h.flags & NET_HDR_F_NEEDS_CSUM) && !(offloads & NET_OFFLOAD_CSUM);
		if (!(offloads & NET_OFFLOAD_CSUM))
			h.flags = 0;
	} else if ((offloads & NET_OFFLOAD_CSUM) &&
		   (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD) {
		h.flags = NET_HDR_F_DATA_VALID;
	}
	if (len > room)
		return drop(ep, m);
	net_iov_scatter(iov, iovcnt, &h, sizeof(h));
	copy_out(iov, iovcnt, m);
	if (csum && complete_csum(iov, iovcnt, m, &meta->hdr))
		return drop(ep, m);
	rte_pktmbuf_free(m);
	ep->port.stats.rx_packets++;
	ep->port.stats.rx_bytes += len - NET_HDR_LEN;
	return (ssize_t)len;
}

ssize_t dpdk_recv(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	struct dpdk_ep *ep = to_ep(p);
	size_t room = net_iov_len(iov, iovcnt);
	struct rte_mbuf *m;

	if (room < NET_HDR_LEN)
		return -EINVAL;
	if (ep->slot < 0)
		return -EAGAIN; /* not a member: the device gave no address */
	dpdk_thread_enter();
	if (ep->nheld)
		dpdk_tx_flush(ep);
	if (ep->gso.frame) {
		ssize_t len = gso_next(ep, iov, iovcnt, room);

		if (len != -EAGAIN)
			return len;
	}
	m = take(ep);
	if (!m) {
		poll_all(ep);
		m = take(ep);
	}
	if (!m)
		return -EAGAIN;
	return deliver(ep, m, iov, iovcnt, room);
}

void dpdk_ep_drain(struct dpdk_ep *ep)
{
	struct rte_mbuf *m;

	while (ep->ipend < ep->npend)
		rte_pktmbuf_free(ep->pend[ep->ipend++]);
	ep->npend = ep->ipend = 0;
	while (ep->slot >= 0 && (m = inbox_get(ep->dev, (unsigned)ep->slot)))
		rte_pktmbuf_free(m);
	for (unsigned i = 0; i < ep->nheld; i++)
		rte_pktmbuf_free(ep->held[i]);
	ep->nheld = 0;
	ep->gso.frame = NULL;
}
