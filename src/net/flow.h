/* SPDX-License-Identifier: MIT */
/*
 * What a NIC model needs to know of a frame's headers: VLAN tag, L3 and L4
 * protocols and offsets, IP addresses and ports (for RSS, packet types,
 * filters and checksum offloads), and the Toeplitz hash RSS uses.
 */
#ifndef IOMED_NET_FLOW_H
#define IOMED_NET_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_ETH_P_IPV4 0x0800
#define NET_ETH_P_IPV6 0x86dd
#define NET_ETH_P_8021Q 0x8100
#define NET_ETH_P_8021AD 0x88a8
#define NET_IPPROTO_ICMP 1
#define NET_IPPROTO_TCP 6
#define NET_IPPROTO_UDP 17
#define NET_IPPROTO_ICMPV6 58
#define NET_IPPROTO_SCTP 132

struct net_flow {
	bool vlan;           /* an 802.1Q/802.1ad tag follows the MAC addresses */
	uint16_t vlan_tpid;  /* of the outer tag: 802.1Q or 802.1ad */
	uint16_t vlan_tci;
	uint16_t ethertype;  /* after the tags */
	uint16_t l3_off;     /* 0: not IP */
	uint16_t l4_off;     /* 0: no L4 header in the frame (or a later fragment) */
	uint8_t l4_proto;    /* IPPROTO_*; valid with l3_off */
	bool ipv6;
	bool frag;           /* an IPv4 fragment, or IPv6 with a fragment header */
	uint8_t addr_len;    /* 4 or 16 */
	const uint8_t *src, *dst; /* IP addresses, pointing into the frame */
	uint16_t sport, dport;    /* host order; valid when ports */
	bool ports;               /* TCP, UDP or SCTP with its first 4 bytes present */
	bool tcp_syn, tcp_ack;
};

/*
 * Parse the Ethernet frame @frame of @len bytes (no net_hdr). Fields the
 * frame does not have stay zero; a truncated header simply ends the parse.
 */
void net_flow_parse(const uint8_t *frame, size_t len, struct net_flow *f);

/*
 * The Toeplitz hash of @len bytes of @in under @key (RSS): @key must have
 * at least len + 4 bytes.
 */
uint32_t net_toeplitz(const uint8_t *key, size_t key_len, const uint8_t *in, size_t len);

/*
 * The RSS input of a flow in the order the hash takes it: source and
 * destination address, then source and destination port when @with_ports.
 * Returns its length (at most 36), 0 when the frame is not IP.
 */
size_t net_flow_rss_input(const struct net_flow *f, bool with_ports, uint8_t out[36]);

/*
 * The Internet checksum (RFC 1071): net_csum_add sums @len bytes into @sum
 * (an odd length only for the last piece), net_csum_fold folds a sum to 16
 * bits; neither complements.
 */
uint32_t net_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t net_csum_fold(uint32_t sum);

/* CRC32c (SCTP's checksum) of @len bytes continuing @crc: start at ~0, complement at the end. */
uint32_t net_crc32c(uint32_t crc, const uint8_t *p, size_t len);

/*
 * Completes the checksum a NEEDS_CSUM frame left to the port, in place:
 * @frame starts with the net_hdr. Clears NEEDS_CSUM. -EINVAL if csum_start
 * and csum_offset point outside the frame.
 */
int net_csum_complete(uint8_t *frame, size_t len);

#endif
