// SPDX-License-Identifier: MIT
/*
 * Frame header parsing and the Toeplitz hash (see flow.h). Every read is
 * bounds-checked against the frame length: frames come from guests and
 * from the network.
 */
#include "net/flow.h"

#include <string.h>

#define ETH_HLEN 14
#define VLAN_HLEN 4
#define IPV6_HLEN 40
#define IPV6_FRAG_NEXTHDR 44

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void parse_l4(const uint8_t *frame, size_t len, struct net_flow *f)
{
	const uint8_t *l4 = frame + f->l4_off;

	if (f->l4_proto != NET_IPPROTO_TCP && f->l4_proto != NET_IPPROTO_UDP &&
	    f->l4_proto != NET_IPPROTO_SCTP)
		return;
	if (len < (size_t)f->l4_off + 4)
		return;
	f->sport = be16(l4);
	f->dport = be16(l4 + 2);
	f->ports = true;
	if (f->l4_proto == NET_IPPROTO_TCP && len >= (size_t)f->l4_off + 14) {
		f->tcp_syn = l4[13] & 0x02;
		f->tcp_ack = l4[13] & 0x10;
	}
}

static void parse_ipv4(const uint8_t *frame, size_t len, struct net_flow *f)
{
	const uint8_t *ip = frame + f->l3_off;
	unsigned ihl;

	if (len < (size_t)f->l3_off + 20 || (ip[0] >> 4) != 4)
		goto not_ip;
	ihl = (ip[0] & 0xf) * 4u;
	if (ihl < 20 || len < (size_t)f->l3_off + ihl)
		goto not_ip;
	f->l4_proto = ip[9];
	f->addr_len = 4;
	f->src = ip + 12;
	f->dst = ip + 16;
	/* MF set or a fragment offset: only the first fragment has the L4 header. */
	f->frag = (be16(ip + 6) & 0x3fff) != 0;
	if (be16(ip + 6) & 0x1fff)
		return;
	f->l4_off = (uint16_t)(f->l3_off + ihl);
	parse_l4(frame, len, f);
	return;
not_ip:
	f->l3_off = 0;
}

static void parse_ipv6(const uint8_t *frame, size_t len, struct net_flow *f)
{
	const uint8_t *ip = frame + f->l3_off;
	size_t off = (size_t)f->l3_off + IPV6_HLEN;

	if (len < off || (ip[0] >> 4) != 6) {
		f->l3_off = 0;
		return;
	}
	f->ipv6 = true;
	f->addr_len = 16;
	f->src = ip + 8;
	f->dst = ip + 24;
	f->l4_proto = ip[6];
	/* One fragment header is understood; other extension headers end the parse. */
	if (f->l4_proto == IPV6_FRAG_NEXTHDR) {
		if (len < off + 8)
			return;
		f->frag = true;
		f->l4_proto = frame[off];
		if (be16(frame + off + 2) & 0xfff8)
			return;
		off += 8;
	}
	if (off > UINT16_MAX)
		return;
	f->l4_off = (uint16_t)off;
	parse_l4(frame, len, f);
}

void net_flow_parse(const uint8_t *frame, size_t len, struct net_flow *f)
{
	size_t off = 12;

	memset(f, 0, sizeof(*f));
	if (len < ETH_HLEN)
		return;
	f->ethertype = be16(frame + off);
	if ((f->ethertype == NET_ETH_P_8021Q || f->ethertype == NET_ETH_P_8021AD) &&
	    len >= ETH_HLEN + VLAN_HLEN) {
		f->vlan = true;
		f->vlan_tpid = f->ethertype;
		f->vlan_tci = be16(frame + off + 2);
		off += VLAN_HLEN;
		f->ethertype = be16(frame + off);
	}
	f->l3_off = (uint16_t)(off + 2);
	if (f->ethertype == NET_ETH_P_IPV4)
		parse_ipv4(frame, len, f);
	else if (f->ethertype == NET_ETH_P_IPV6)
		parse_ipv6(frame, len, f);
	else
		f->l3_off = 0;
}

uint32_t net_toeplitz(const uint8_t *key, size_t key_len, const uint8_t *in, size_t len)
{
	uint32_t hash = 0, window;
	size_t k = 4;

	if (key_len < len + 4)
		return 0;
	window = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 | key[3];
	for (size_t i = 0; i < len; i++) {
		for (int b = 7; b >= 0; b--) {
			if (in[i] & (1u << b))
				hash ^= window;
			/* Slide the 32-bit key window one bit, pulling in the next key bit. */
			window = window << 1 | ((key[k] >> b) & 1);
		}
		k++;
	}
	return hash;
}

size_t net_flow_rss_input(const struct net_flow *f, bool with_ports, uint8_t out[36])
{
	size_t n = f->addr_len;

	if (!f->l3_off || !n)
		return 0;
	memcpy(out, f->src, n);
	memcpy(out + n, f->dst, n);
	n *= 2;
	if (with_ports && f->ports) {
		out[n++] = f->sport >> 8;
		out[n++] = f->sport & 0xff;
		out[n++] = f->dport >> 8;
		out[n++] = f->dport & 0xff;
	}
	return n;
}
