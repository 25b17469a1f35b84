// SPDX-License-Identifier: MIT
/*
 * Software TCP segmentation (see backend.h): what a NIC's TSO does, for
 * ports without it (AF_XDP, DPDK PMDs without TCP_TSO) and for receivers
 * that did not enable it. Each segment gets the original headers with the
 * IP length and ID, the TCP sequence number and flags adjusted (FIN and PSH
 * only on the last, CWR only on the first, as the kernel's tcp_gso_segment)
 * and both checksums complete. Every offset is checked against the frame:
 * the frame comes from a guest.
 */
#include "net/backend.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define IPPROTO_TCP_ 6
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v & 0xffff);
}

/* Offsets of the IP and TCP headers; -EINVAL unless TCP over the IP version @ipv6. */
static int parse(struct net_gso *g, const uint8_t *eth, size_t len)
{
	uint16_t type;

	g->l3 = NET_ETH_HLEN;
	if (len < NET_ETH_HLEN + 4)
		return -EINVAL;
	type = be16(eth + 12);
	if (type == ETH_P_8021Q || type == ETH_P_8021AD) {
		g->l3 += 4;
		type = be16(eth + 16);
	}
	if (type != (g->ipv6 ? ETH_P_IPV6 : ETH_P_IPV4))
		return -EINVAL;
	if (!g->ipv6) {
		if (len < g->l3 + 20u || eth[g->l3] >> 4 != 4 || (eth[g->l3] & 0xf) < 5 ||
		    eth[g->l3 + 9] != IPPROTO_TCP_)
			return -EINVAL;
		g->l4 = g->l3 + (eth[g->l3] & 0xf) * 4;
	} else {
		if (len < g->l3 + 40u || eth[g->l3] >> 4 != 6 || eth[g->l3 + 6] != IPPROTO_TCP_)
			return -EINVAL;
		g->l4 = g->l3 + 40;
	}
	if (len < g->l4 + 20u)
		return -EINVAL;
	g->hlen = g->l4 + (eth[g->l4 + 12] >> 4) * 4;
	if (g->hlen < g->l4 + 20 || g->hlen >= len)
		return -EINVAL;
	return 0;
}

int net_gso_start(struct net_gso *g, const uint8_t *frame, size_t len)
{
	struct net_hdr h;

	memset(g, 0, sizeof(*g));
	if (len <= NET_HDR_LEN)
		return -EINVAL;
	memcpy(&h, frame, sizeof(h));
	switch (h.gso_type & ~NET_HDR_GSO_ECN) {
	case NET_HDR_GSO_TCPV4:
		break;
	case NET_HDR_GSO_TCPV6:
		g->ipv6 = true;
		break;
	default:
		return -EINVAL;
	}
	g->mss = le16toh(h.gso_size);
	if (!g->mss || parse(g, frame + NET_HDR_LEN, len - NET_HDR_LEN))
		return -EINVAL;
	g->frame = frame;
	g->len = len;
	g->off = g->hlen;
	return 0;
}

/* The TCP checksum field holds the pseudo-header sum; finish it over the segment. */
static void tcp_csum(const struct net_gso *g, uint8_t *out, size_t seglen)
{
	uint8_t *eth = out + NET_HDR_LEN;
	uint8_t *tcp = eth + g->l4;
	size_t tcp_len = seglen - g->l4;
	struct net_hdr h = {
		.flags = NET_HDR_F_NEEDS_CSUM,
		.csum_start = htole16(g->l4),
		.csum_offset = htole16(16),
	};
	uint32_t sum;

	if (g->ipv6)
		sum = net_csum_add(0, eth + g->l3 + 8, 32);
	else
		sum = net_csum_add(0, eth + g->l3 + 12, 8);
	sum += IPPROTO_TCP_ + (uint32_t)(tcp_len >> 16) + (uint32_t)(tcp_len & 0xffff);
	put_be16(tcp + 16, net_csum_fold(sum));
	memcpy(out, &h, sizeof(h));
	net_csum_complete(out, NET_HDR_LEN + seglen);
}

static void fix_ip(const struct net_gso *g, uint8_t *eth, size_t seglen)
{
	uint8_t *ip = eth + g->l3;
	size_t ihl = g->l4 - g->l3;

	if (g->ipv6) {
		put_be16(ip + 4, (uint16_t)(seglen - g->l3 - 40));
		return;
	}
	put_be16(ip + 2, (uint16_t)(seglen - g->l3));
	put_be16(ip + 4, (uint16_t)(be16(ip + 4) + g->seg));
	put_be16(ip + 10, 0);
	put_be16(ip + 10, (uint16_t)~net_csum_fold(net_csum_add(0, ip, ihl)));
}

ssize_t net_gso_next(struct net_gso *g, uint8_t *out, size_t room)
{
	const uint8_t *eth_in = g->frame + NET_HDR_LEN;
	size_t elen = g->len - NET_HDR_LEN;
	size_t plen, seglen;
	uint8_t *eth = out + NET_HDR_LEN;
	uint8_t *tcp;
	bool last;

	if (!g->frame || g->off >= elen)
		return 0;
	plen = elen - g->off < g->mss ? elen - g->off : g->mss;
	seglen = g->hlen + plen;
	if (seglen > UINT16_MAX || room < NET_HDR_LEN + seglen)
		return -EMSGSIZE;
	last = g->off + plen == elen;
	memcpy(eth, eth_in, g->hlen);
	memcpy(eth + g->hlen, eth_in + g->off, plen);
	fix_ip(g, eth, seglen);
	tcp = eth + g->l4;
	put_be32(tcp + 4, be32(tcp + 4) + (uint32_t)(g->off - g->hlen));
	if (!last)
		tcp[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (g->seg)
		tcp[13] &= (uint8_t)~TCP_CWR;
	tcp_csum(g, out, seglen);
	g->off += plen;
	g->seg++;
	return (ssize_t)(NET_HDR_LEN + seglen);
}
