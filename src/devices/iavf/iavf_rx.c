// SPDX-License-Identifier: MIT
/*
 * iavf receive: a frame read from a port is filtered (MAC and VLAN filters,
 * promiscuous modes), hashed (Toeplitz over the hash types HENA enables)
 * and given the Rx queue the lookup table names. It is then copied into as
 * many of that queue's buffers as it needs, each descriptor written back in
 * the 32-byte format: length, EOF, packet type, RSS hash, a stripped VLAN
 * tag, and L3L4P when the checksum is known good (the port said so, or we
 * completed a checksum the host left partial).
 *
 * A frame whose queue has no buffers stays in the port's slot, and the port
 * is not read again until the driver posts buffers (a tail write).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "devices/iavf/iavf.h"
#include "net/flow.h"
#include "net/iov.h"

#define BUDGET 64
#define MIN_FRAME 14

/* ---- filters ---- */

static bool mac_listed(const struct iavf_filter *f, const uint8_t *mac)
{
	for (unsigned i = 0; i < f->nmac; i++)
		if (!memcmp(f->mac[i], mac, 6))
			return true;
	return false;
}

static bool accept(const struct iavf_filter *f, const uint8_t *frame, const struct net_flow *fl)
{
	uint16_t vid = fl->vlan_tci & 0xfff;

	if (fl->vlan && !f->uc_promisc && !(f->vlan[vid / 64] & (1ull << (vid % 64))))
		return false;
	if (!memcmp(frame, "\xff\xff\xff\xff\xff\xff", 6) || f->uc_promisc)
		return true;
	if (frame[0] & 1)
		return f->mc_promisc || mac_listed(f, frame);
	return mac_listed(f, frame);
}

/* ---- RSS ---- */

static bool hena_has(uint64_t hena, unsigned a, unsigned b, unsigned c)
{
	return hena & ((1ull << a) | (1ull << b) | (1ull << c));
}

/* Whether the frame's hash type is enabled, and whether ports go into the hash. */
static bool hash_type(uint64_t hena, const struct net_flow *fl, bool *ports)
{
	bool v6 = fl->ipv6;

	*ports = fl->ports && !fl->frag;
	if (fl->frag)
		return hena & (1ull << (v6 ? AVF_PCTYPE_FRAG_IPV6 : AVF_PCTYPE_FRAG_IPV4));
	switch (fl->l4_proto) {
	case NET_IPPROTO_TCP:
		return v6 ? hena_has(hena, AVF_PCTYPE_IPV6_TCP, AVF_PCTYPE_IPV6_TCP_SYN_NO_ACK, 0)
			  : hena_has(hena, AVF_PCTYPE_IPV4_TCP, AVF_PCTYPE_IPV4_TCP_SYN_NO_ACK, 0);
	case NET_IPPROTO_UDP:
		return v6 ? hena_has(hena, AVF_PCTYPE_IPV6_UDP, AVF_PCTYPE_IPV6_UDP_UC,
				     AVF_PCTYPE_IPV6_UDP_MC)
			  : hena_has(hena, AVF_PCTYPE_IPV4_UDP, AVF_PCTYPE_IPV4_UDP_UC,
				     AVF_PCTYPE_IPV4_UDP_MC);
	case NET_IPPROTO_SCTP:
		return hena & (1ull << (v6 ? AVF_PCTYPE_IPV6_SCTP : AVF_PCTYPE_IPV4_SCTP));
	default:
		*ports = false;
		return hena & (1ull << (v6 ? AVF_PCTYPE_IPV6_OTHER : AVF_PCTYPE_IPV4_OTHER));
	}
}

/* The RSS hash of the frame, if its type is enabled; its queue from the lookup table. */
static void rss(const struct iavf_filter *f, const struct net_flow *fl, struct iavf_rx_slot *s)
{
	uint8_t in[36];
	uint32_t hash;
	bool ports;
	size_t n;

	s->queue = 0;
	if (!fl->l3_off || !hash_type(f->hena, fl, &ports))
		return;
	n = net_flow_rss_input(fl, ports, in);
	/* The standard 40-byte Toeplitz key: the rest of the 52 bytes is E810's extension. */
	hash = net_toeplitz(f->rss_key, 40, in, n);
	s->queue = f->rss_lut[hash % VC_RSS_LUT_SIZE];
	s->status |= AVF_RXD_FLTSTAT_RSS;
	s->qw0 |= (uint64_t)hash << AVF_RXD_RSS_SHIFT;
}

static uint8_t ptype(const struct net_flow *fl)
{
	static const uint8_t v4[] = { AVF_PTYPE_IPV4, AVF_PTYPE_IPV4_FRAG, AVF_PTYPE_IPV4_TCP,
				      AVF_PTYPE_IPV4_UDP, AVF_PTYPE_IPV4_SCTP, AVF_PTYPE_IPV4_ICMP };
	static const uint8_t v6[] = { AVF_PTYPE_IPV6, AVF_PTYPE_IPV6_FRAG, AVF_PTYPE_IPV6_TCP,
				      AVF_PTYPE_IPV6_UDP, AVF_PTYPE_IPV6_SCTP, AVF_PTYPE_IPV6_ICMP };
	const uint8_t *t = fl->ipv6 ? v6 : v4;

	if (!fl->l3_off)
		return AVF_PTYPE_L2;
	if (fl->frag)
		return t[1];
	switch (fl->l4_proto) {
	case NET_IPPROTO_TCP: return t[2];
	case NET_IPPROTO_UDP: return t[3];
	case NET_IPPROTO_SCTP: return t[4];
	case NET_IPPROTO_ICMP:
	case NET_IPPROTO_ICMPV6: return t[5];
	default: return t[0];
	}
}

/* ---- descriptors ---- */

static void store_qw(uint64_t *p, uint64_t v)
{
	if ((uintptr_t)p & 7)
		memcpy(p, &v, sizeof(v));
	else
		__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* One buffer: copy @len bytes of the frame, write the descriptor back (DD last). */
static int fill_one(struct iavf *v, struct avf_rx_desc *d, const uint8_t *src, uint32_t len,
		    const struct iavf_rx_slot *s, bool last)
{
	struct iovec iov[4];
	uint64_t addr, qw1;
	int n;

	memcpy(&addr, &d->qw0, sizeof(addr));
	n = vfu_dma_to_iov(&v->fn.vfu.dma, le64toh(addr), len, VFU_DMA_WRITE, iov, 4);
	if (n < 0)
		return -EINVAL;
	net_iov_scatter(iov, n, src, len);
	qw1 = AVF_RXD_DD | (uint64_t)s->ptype << AVF_RXD_PTYPE_SHIFT |
	      ((uint64_t)len & AVF_RXD_LEN_MASK) << AVF_RXD_LEN_SHIFT;
	if (last)
		qw1 |= s->status;
	store_qw(&d->qw0, htole64(s->qw0));
	store_qw(&d->qw2, 0);
	store_qw(&d->qw3, 0);
	store_qw(&d->qw1, htole64(qw1));
	return 0;
}

static uint32_t bufs_for(const struct iavf_ring *r, uint32_t len)
{
	return (len + r->buf_len - 1) / r->buf_len;
}

/* Copy the slot's frame into its ring: 1 done, -EAGAIN no room yet, -EINVAL hostile ring. */
static int to_ring(struct iavf *v, struct iavf_rx_slot *s)
{
	unsigned q = s->queue;
	struct iavf_ring *r = &v->dp.rx[q];
	uint32_t tail = __atomic_load_n(&v->rx_tail[q], __ATOMIC_ACQUIRE);
	uint8_t *frame = s->buf + sizeof(struct net_hdr);
	uint32_t len = s->len - (uint32_t)sizeof(struct net_hdr) - (s->strip ? 4 : 0);
	uint32_t need = bufs_for(r, len);
	struct avf_rx_desc *ring;

	ring = vfu_dma_translate(&v->fn.vfu.dma, r->base, (uint64_t)r->len * sizeof(*ring),
				 VFU_DMA_READ | VFU_DMA_WRITE);
	if (!ring || tail >= r->len) {
		iavf_dp_mdd(v, ring ? "Rx tail beyond the ring" : "Rx ring not in guest memory", q);
		return -EINVAL;
	}
	if ((tail + r->len - r->head) % r->len < need) {
		s->held_tail = tail;
		return -EAGAIN;
	}
	if (s->strip) {
		memmove(frame + 4, frame, 12);
		frame += 4;
	}
	for (uint32_t i = 0, off = 0; i < need; i++, off += r->buf_len) {
		uint32_t chunk = len - off < r->buf_len ? len - off : r->buf_len;

		if (fill_one(v, &ring[r->head], frame + off, chunk, s, i + 1 == need)) {
			iavf_dp_mdd(v, "Rx buffer not in guest memory", q);
			return -EINVAL;
		}
		r->head = (uint16_t)((r->head + 1) % r->len);
	}
	iavf_dp_cause(v, r, true);
	return 1;
}

/* ---- frames ---- */

static void count_rx(struct iavf *v, const uint8_t *dst, uint32_t len)
{
	if (!memcmp(dst, "\xff\xff\xff\xff\xff\xff", 6))
		iavf_count(&v->dp.stats, IAVF_RX_BROADCAST, 1);
	else
		iavf_count(&v->dp.stats, dst[0] & 1 ? IAVF_RX_MULTICAST : IAVF_RX_UNICAST, 1);
	iavf_count(&v->dp.stats, IAVF_RX_BYTES, len);
}

/* Whether the descriptor may say the checksum is good: completes a partial one first. */
static bool csum_good(struct iavf *v, struct iavf_rx_slot *s, const struct net_flow *fl)
{
	struct net_hdr *h = (struct net_hdr *)s->buf;
	bool l4 = fl->l4_proto == NET_IPPROTO_TCP || fl->l4_proto == NET_IPPROTO_UDP;

	if (!v->dp.offload_csum || !l4 || !fl->l4_off)
		return false;
	if (h->flags & NET_HDR_F_NEEDS_CSUM)
		return !net_csum_complete(s->buf, s->len);
	return h->flags & NET_HDR_F_DATA_VALID;
}

/* Decide a frame's fate once: false when the filters or the queues drop it. */
static bool classify(struct iavf *v, struct iavf_rx_slot *s)
{
	struct iavf_filter *f = &v->dp.filt;
	uint8_t *frame = s->buf + sizeof(struct net_hdr);
	uint32_t len = s->len - (uint32_t)sizeof(struct net_hdr);
	struct iavf_ring *r;
	struct net_flow fl;

	net_flow_parse(frame, len, &fl);
	if (!accept(f, frame, &fl))
		return false;
	s->qw0 = 0;
	s->status = AVF_RXD_EOF;
	rss(f, &fl, s);
	r = &v->dp.rx[s->queue < v->pairs ? s->queue : 0];
	s->strip = f->vlan_strip && fl.vlan && fl.vlan_tpid == NET_ETH_P_8021Q;
	if (s->strip) {
		s->status |= AVF_RXD_L2TAG1P;
		s->qw0 |= (uint64_t)fl.vlan_tci << AVF_RXD_L2TAG1_SHIFT;
		len -= 4;
	}
	if (s->queue >= v->pairs || !r->on || len > r->max_pkt ||
	    bufs_for(r, len) > IAVF_MAX_RX_CHAIN) {
		iavf_count(&v->dp.stats, IAVF_RX_DISCARDS, 1);
		return false;
	}
	s->ptype = ptype(&fl);
	if (csum_good(v, s, &fl))
		s->status |= AVF_RXD_L3L4P;
	return true;
}

/* Read the next frame of port @p into its slot; false when there is none. */
static bool fetch(struct iavf *v, unsigned p, unsigned *work)
{
	struct iavf_rx_slot *s = &v->dp.slot[p];
	struct iovec iov = { s->buf, NET_MAX_FRAME };
	ssize_t n;

	for (;;) {
		n = net_port_recv(v->port[p], &iov, 1);
		if (n == -EAGAIN)
			return false;
		if (n < 0 && n != -EMSGSIZE) {
			pr_warn_rl("%s: port %s: receive failed: %s", v->name, v->port[p]->name,
				   strerror((int)-n));
			return false;
		}
		++*work;
		if (n < (ssize_t)(sizeof(struct net_hdr) + MIN_FRAME))
			continue;
		s->len = (uint32_t)n;
		if (classify(v, s))
			return true;
		s->len = 0;
	}
}

unsigned iavf_rx(struct iavf *v, unsigned p)
{
	struct iavf_rx_slot *s = &v->dp.slot[p];
	unsigned work = 0;
	uint8_t dst[6];
	int ret;

	while (work < BUDGET) {
		if (!s->len && !fetch(v, p, &work))
			break;
		/* The ring may have been stopped while the frame waited. */
		if (!v->dp.rx[s->queue].on) {
			s->len = 0;
			continue;
		}
		memcpy(dst, s->buf + sizeof(struct net_hdr), sizeof(dst));
		ret = to_ring(v, s);
		if (ret == -EAGAIN)
			break; /* held until the queue gets buffers */
		if (ret > 0)
			count_rx(v, dst, s->len - (uint32_t)sizeof(struct net_hdr));
		s->len = 0;
		if (ret < 0)
			break;
	}
	return work;
}
