// SPDX-License-Identifier: MIT
/*
 * iavf transmit: a packet is an optional context descriptor (TSO) and data
 * descriptors up to EOP. Its buffers go to the port as iovecs over guest
 * memory; only headers the offloads rewrite are copied (TSO fixes the IP
 * length and the TCP pseudo-header sum the driver zeroed, the IPv4 header
 * checksum, VLAN insertion, SCTP's CRC32c, computed here). TCP/UDP checksum
 * and segmentation offloads become the port's net_hdr. Done descriptors with RS get DTYPE 0xF written back.
 *
 * Each descriptor is copied once and then checked; one the hardware would
 * flag as malicious (MDD) stops the queues and resets the VF.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "devices/iavf/iavf.h"
#include "net/flow.h"
#include "net/iov.h"

#define BUDGET 64
#define IOV_HDR 2 /* tx_iov[0]: net_hdr, [1]: rewritten headers; guest buffers after */
#define MSS_MIN 64
#define MSS_MAX 9668
#define MIN_FRAME 17 /* shortest packet the hardware sends */
#define SCTP_HLEN 12 /* SCTP common header; the CRC32c at offset 8 */

struct tx_pkt {
	unsigned ndesc;     /* descriptors, context included */
	uint64_t rs;        /* which of them have RS (bit i: head + i) */
	uint16_t cmd;       /* of the first data descriptor */
	uint32_t offsets;   /* MACLEN / IPLEN / L4LEN */
	uint16_t l2tag1;
	bool tso;
	uint32_t tso_len;
	uint16_t mss;
	size_t len;         /* frame bytes in guest buffers */
	int iovcnt;         /* guest iovecs after IOV_HDR */
	bool data;          /* a data descriptor was seen */
	const char *bad;    /* why it is hostile */
};

static void store_qw(uint64_t *p, uint64_t v)
{
	if ((uintptr_t)p & 7)
		memcpy(p, &v, sizeof(v));
	else
		__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* ---- descriptors ---- */

static int take_data(struct iavf *v, struct tx_pkt *pkt, const struct avf_tx_desc *d, uint64_t qw1)
{
	uint32_t size = (uint32_t)((qw1 >> AVF_TXD_BUF_SZ_SHIFT) & AVF_TXD_BUF_SZ_MASK);
	int max = IAVF_MAX_TX_DESC * 2 - pkt->iovcnt, n;

	/* The first data descriptor says what to do with the packet. */
	if (!pkt->data) {
		pkt->data = true;
		pkt->cmd = (uint16_t)((qw1 >> AVF_TXD_CMD_SHIFT) & 0x3ff);
		pkt->offsets = (uint32_t)((qw1 >> AVF_TXD_OFFSET_SHIFT) & 0x3ffff);
		pkt->l2tag1 = (uint16_t)(qw1 >> AVF_TXD_L2TAG1_SHIFT);
	}
	if (!size)
		return 0;
	n = vfu_dma_to_iov(&v->fn.vfu.dma, le64toh(d->addr), size, VFU_DMA_READ,
			   v->dp.tx_iov + IOV_HDR + pkt->iovcnt, max);
	if (n < 0) {
		pkt->bad = n == -ENOSPC ? "packet in too many pieces" : "buffer not in guest memory";
		return -EINVAL;
	}
	pkt->iovcnt += n;
	pkt->len += size;
	return 0;
}

static void take_context(struct tx_pkt *pkt, uint64_t qw1)
{
	uint16_t cmd = (uint16_t)((qw1 >> AVF_TXC_CMD_SHIFT) & 0xffff);

	pkt->tso = cmd & AVF_TXC_CMD_TSO;
	pkt->tso_len = (uint32_t)((qw1 >> AVF_TXC_TSO_LEN_SHIFT) & AVF_TXC_TSO_LEN_MASK);
	pkt->mss = (uint16_t)((qw1 >> AVF_TXC_MSS_SHIFT) & AVF_TXC_MSS_MASK);
}

/* Gather one packet from @ring at the head: 1 complete, 0 not all written yet, -EINVAL hostile. */
static int collect(struct iavf *v, const struct iavf_ring *r, const struct avf_tx_desc *ring,
		   uint16_t tail, struct tx_pkt *pkt)
{
	memset(pkt, 0, sizeof(*pkt));
	for (uint16_t i = r->head; i != tail; i = (uint16_t)((i + 1) % r->len)) {
		struct avf_tx_desc d;
		uint64_t qw1;

		memcpy(&d, &ring[i], sizeof(d));
		qw1 = le64toh(d.qw1);
		if (++pkt->ndesc > IAVF_MAX_TX_DESC) {
			pkt->bad = "packet over 64 descriptors";
			return -EINVAL;
		}
		if ((qw1 & AVF_TXD_DTYPE_MASK) == AVF_TXD_DTYPE_CONTEXT) {
			if (pkt->data) {
				pkt->bad = "context descriptor inside a packet";
				return -EINVAL;
			}
			take_context(pkt, qw1);
			continue;
		}
		if ((qw1 & AVF_TXD_DTYPE_MASK) != AVF_TXD_DTYPE_DATA) {
			pkt->bad = "unknown descriptor type";
			return -EINVAL;
		}
		if (take_data(v, pkt, &d, qw1))
			return -EINVAL;
		if ((qw1 >> AVF_TXD_CMD_SHIFT) & AVF_TXD_CMD_RS)
			pkt->rs |= 1ull << (pkt->ndesc - 1);
		if ((qw1 >> AVF_TXD_CMD_SHIFT) & AVF_TXD_CMD_EOP)
			return 1;
	}
	return 0;
}

/* ---- offloads ---- */

struct tx_hdrs {
	unsigned maclen, iplen, l4len; /* as the guest frame has them */
	unsigned vlan;                 /* 4 when a tag is inserted */
	unsigned copy;                 /* guest bytes rewritten in dp.tx_hdr */
};

static int offsets(struct tx_pkt *pkt, struct tx_hdrs *h)
{
	h->maclen = (pkt->offsets & 0x7f) * 2;
	h->iplen = ((pkt->offsets >> 7) & 0x7f) * 4;
	h->l4len = ((pkt->offsets >> 14) & 0xf) * 4;
	h->vlan = pkt->cmd & AVF_TXD_CMD_IL2TAG1 ? 4 : 0;
	h->copy = h->vlan ? 12 : 0;
	if ((pkt->cmd & AVF_TXD_CMD_IIPT_MASK) == AVF_TXD_CMD_IIPT_IPV4_CSUM)
		h->copy = h->maclen + h->iplen;
	if (pkt->tso)
		h->copy = h->maclen + h->iplen + h->l4len;
	else if ((pkt->cmd & AVF_TXD_CMD_L4T_MASK) == AVF_TXD_CMD_L4T_SCTP)
		h->copy = h->maclen + h->iplen + SCTP_HLEN; /* its CRC is computed here */
	if ((pkt->cmd & (AVF_TXD_CMD_L4T_MASK | AVF_TXD_CMD_IIPT_MASK)) || pkt->tso) {
		/* The checksum field must be inside the packet: TCP's is 18 bytes in. */
		unsigned l4 = (pkt->cmd & AVF_TXD_CMD_L4T_MASK) == AVF_TXD_CMD_L4T_TCP ? 18 :
			      (pkt->cmd & AVF_TXD_CMD_L4T_MASK) == AVF_TXD_CMD_L4T_SCTP ? SCTP_HLEN : 8;

		if (h->maclen < 14 || !h->iplen || h->maclen + h->iplen + l4 > pkt->len) {
			pkt->bad = "offload header lengths outside the packet";
			return -EINVAL;
		}
	}
	if (h->copy > pkt->len || h->copy + h->vlan > IAVF_TX_HDR_MAX) {
		pkt->bad = "headers longer than the packet";
		return -EINVAL;
	}
	return 0;
}

static int tso_check(struct tx_pkt *pkt, const struct tx_hdrs *h)
{
	uint16_t iipt = pkt->cmd & AVF_TXD_CMD_IIPT_MASK;

	if ((pkt->cmd & AVF_TXD_CMD_L4T_MASK) != AVF_TXD_CMD_L4T_TCP || !iipt || h->l4len < 20)
		pkt->bad = "TSO of something else than TCP over IP";
	else if (iipt == AVF_TXD_CMD_IIPT_IPV6 ? h->iplen < 40 : h->iplen < 20)
		pkt->bad = "TSO with a short IP header";
	else if (pkt->tso_len != pkt->len - h->copy)
		pkt->bad = "TSO length does not match the packet";
	else if (pkt->mss < MSS_MIN || pkt->mss > MSS_MAX)
		pkt->bad = "TSO MSS out of range";
	return pkt->bad ? -EINVAL : 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* Segmentation needs what the driver zeroed for the hardware: lengths, pseudo-header sum. */
static void tso_fix(uint8_t *ip, const struct tx_hdrs *h, size_t frame_len, bool v6)
{
	uint32_t l4len = (uint32_t)(frame_len - (h->maclen + h->vlan) - h->iplen);
	uint8_t *tcp = ip + h->iplen;
	unsigned alen = v6 ? 16 : 4;
	uint32_t sum;

	if (v6) {
		put16(ip + 4, (uint16_t)(frame_len - (h->maclen + h->vlan) - 40));
	} else {
		put16(ip + 2, (uint16_t)(frame_len - (h->maclen + h->vlan)));
		put16(ip + 10, 0);
		put16(ip + 10, (uint16_t)~net_csum_add(0, ip, h->iplen));
	}
	sum = net_csum_add(0, ip + (v6 ? 8 : 12), 2 * alen);
	sum += NET_IPPROTO_TCP + (l4len >> 16) + (l4len & 0xffff);
	put16(tcp + 16, net_csum_fold(sum));
}

/* Copy and rewrite the headers; fill the net_hdr. */
static void rewrite(struct iavf *v, struct tx_pkt *pkt, const struct tx_hdrs *h,
		    struct net_hdr *nh)
{
	uint8_t *hdr = v->dp.tx_hdr;
	uint16_t l4t = pkt->cmd & AVF_TXD_CMD_L4T_MASK;
	uint16_t iipt = pkt->cmd & AVF_TXD_CMD_IIPT_MASK;
	size_t frame_len = pkt->len + h->vlan;
	uint8_t *ip = hdr + h->maclen + h->vlan;

	net_iov_gather(hdr, h->copy, v->dp.tx_iov + IOV_HDR, pkt->iovcnt);
	if (h->vlan) {
		memmove(hdr + 16, hdr + 12, h->copy - 12);
		put16(hdr + 12, NET_ETH_P_8021Q);
		put16(hdr + 14, pkt->l2tag1);
	}
	memset(nh, 0, sizeof(*nh));
	if (pkt->tso) {
		tso_fix(ip, h, frame_len, iipt == AVF_TXD_CMD_IIPT_IPV6);
		nh->gso_type = iipt == AVF_TXD_CMD_IIPT_IPV6 ? NET_HDR_GSO_TCPV6 : NET_HDR_GSO_TCPV4;
		if (ip[h->iplen + 13] & 0x80) /* CWR */
			nh->gso_type |= NET_HDR_GSO_ECN;
		nh->gso_size = htole16(pkt->mss);
		nh->hdr_len = htole16((uint16_t)(h->copy + h->vlan));
	} else if (iipt == AVF_TXD_CMD_IIPT_IPV4_CSUM) {
		put16(ip + 10, 0);
		put16(ip + 10, (uint16_t)~net_csum_add(0, ip, h->iplen));
	}
	if (l4t == AVF_TXD_CMD_L4T_TCP || l4t == AVF_TXD_CMD_L4T_UDP) {
		nh->flags = NET_HDR_F_NEEDS_CSUM;
		nh->csum_start = htole16((uint16_t)(h->maclen + h->vlan + h->iplen));
		nh->csum_offset = htole16(l4t == AVF_TXD_CMD_L4T_TCP ? 16 : 6);
	}
}

/* SCTP's CRC32c over the packet from its header on (the copy, then the guest's rest). */
static void sctp_crc(uint8_t *hdr, const struct tx_hdrs *h, const struct iovec *iov, int cnt)
{
	uint8_t *sctp = hdr + h->maclen + h->vlan + h->iplen;
	uint32_t crc;

	memset(sctp + 8, 0, 4);
	crc = net_crc32c(~0u, sctp, SCTP_HLEN);
	for (int i = 0; i < cnt; i++)
		crc = net_crc32c(crc, iov[i].iov_base, iov[i].iov_len);
	crc = htole32(~crc);
	memcpy(sctp + 8, &crc, 4);
}

/* Drop the first @skip bytes of the guest iovecs (they are in the rewritten copy). */
static void iov_skip(struct iovec *iov, int *cnt, size_t skip)
{
	int i = 0;

	while (i < *cnt && skip >= iov[i].iov_len)
		skip -= iov[i++].iov_len;
	memmove(iov, iov + i, (size_t)(*cnt - i) * sizeof(*iov));
	*cnt -= i;
	if (*cnt && skip) {
		iov[0].iov_base = (uint8_t *)iov[0].iov_base + skip;
		iov[0].iov_len -= skip;
	}
}

/* ---- sending ---- */

static void count_tx(struct iavf *v, const struct tx_pkt *pkt, size_t frame_len)
{
	uint8_t dst[6];

	net_iov_gather(dst, sizeof(dst), v->dp.tx_iov + IOV_HDR, pkt->iovcnt);
	if (!memcmp(dst, "\xff\xff\xff\xff\xff\xff", 6))
		iavf_count(&v->dp.stats, IAVF_TX_BROADCAST, 1);
	else
		iavf_count(&v->dp.stats, dst[0] & 1 ? IAVF_TX_MULTICAST : IAVF_TX_UNICAST, 1);
	iavf_count(&v->dp.stats, IAVF_TX_BYTES, frame_len);
}

/* 0 sent or dropped (descriptors done), -EAGAIN port full, -EINVAL hostile. */
static int send_pkt(struct iavf *v, unsigned q, struct tx_pkt *pkt)
{
	struct iovec *iov = v->dp.tx_iov;
	struct tx_hdrs h;
	struct net_hdr nh;
	int cnt = pkt->iovcnt, ret;

	if (offsets(pkt, &h) || (pkt->tso && tso_check(pkt, &h)))
		return -EINVAL;
	if (!pkt->tso && pkt->len + h.vlan > IAVF_MAX_FRAME) {
		pkt->bad = "packet longer than the largest frame";
		return -EINVAL;
	}
	if (pkt->len < MIN_FRAME || pkt->len + h.vlan > NET_MAX_FRAME - sizeof(nh)) {
		iavf_count(&v->dp.stats, IAVF_TX_ERRORS, 1);
		return 0;
	}
	rewrite(v, pkt, &h, &nh);
	count_tx(v, pkt, pkt->len + h.vlan);
	iov_skip(iov + IOV_HDR, &cnt, h.copy);
	if (!pkt->tso && (pkt->cmd & AVF_TXD_CMD_L4T_MASK) == AVF_TXD_CMD_L4T_SCTP)
		sctp_crc(v->dp.tx_hdr, &h, iov + IOV_HDR, cnt);
	iov[0] = (struct iovec){ &nh, sizeof(nh) };
	iov[1] = (struct iovec){ v->dp.tx_hdr, h.copy + h.vlan };
	/* Without rewritten headers the guest buffers follow the net_hdr directly. */
	if (!iov[1].iov_len) {
		iov[1] = iov[0];
		ret = net_port_send(v->port[q], iov + 1, cnt + 1);
	} else {
		ret = net_port_send(v->port[q], iov, cnt + IOV_HDR);
	}
	if (ret == -EAGAIN)
		return ret;
	if (ret)
		iavf_count(&v->dp.stats, IAVF_TX_DISCARDS, 1);
	return 0;
}

static void done(struct avf_tx_desc *ring, const struct iavf_ring *r, const struct tx_pkt *pkt)
{
	for (unsigned i = 0; i < pkt->ndesc; i++) {
		struct avf_tx_desc *d = &ring[(r->head + i) % r->len];

		if (pkt->rs & (1ull << i))
			store_qw(&d->qw1, htole64((le64toh(d->qw1) & ~AVF_TXD_DTYPE_MASK) |
						  AVF_TXD_DTYPE_DONE));
	}
}

unsigned iavf_tx(struct iavf *v, unsigned q)
{
	struct iavf_ring *r = &v->dp.tx[q];
	uint32_t tail = __atomic_load_n(&v->tx_tail[q], __ATOMIC_ACQUIRE);
	struct avf_tx_desc *ring;
	struct tx_pkt pkt;
	unsigned n = 0;
	bool rs = false;
	int ret;

	if (tail == r->head)
		return 0;
	ring = vfu_dma_translate(&v->fn.vfu.dma, r->base, (uint64_t)r->len * sizeof(*ring),
				 VFU_DMA_READ | VFU_DMA_WRITE);
	if (!ring || tail >= r->len) {
		iavf_dp_mdd(v, ring ? "Tx tail beyond the ring" : "Tx ring not in guest memory", q);
		return 1;
	}
	while (n < BUDGET && r->head != tail) {
		ret = collect(v, r, ring, (uint16_t)tail, &pkt);
		if (!ret)
			break; /* the driver has not written the whole packet yet */
		if (ret > 0)
			ret = send_pkt(v, q, &pkt);
		if (ret == -EINVAL) {
			iavf_dp_mdd(v, pkt.bad, q);
			return n + 1;
		}
		v->dp.tx_blocked[q] = ret == -EAGAIN;
		if (ret)
			break;
		done(ring, r, &pkt);
		rs |= pkt.rs != 0;
		r->head = (uint16_t)((r->head + pkt.ndesc) % r->len);
		n++;
	}
	if (rs)
		iavf_dp_cause(v, r, false);
	return n;
}
