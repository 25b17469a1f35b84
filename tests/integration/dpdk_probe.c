// SPDX-License-Identifier: MIT
/*
 * dpdk_probe: several devices' endpoints on one DPDK port (net_port_open
 * "dpdk:PORT"), driven like three guests would, against a real PMD whose
 * other side is a kernel interface: a raw socket there is the wire.
 *
 *   dpdk_probe "EAL ARGS" SPEC WIRE_IFNAME [expect-hw|expect-sw]
 *
 * Checks: MAC ownership at join; frames from the wire reach exactly their
 * owner, broadcast reaches all, unknown unicast nobody, a promiscuous
 * member everything; member to member frames stay off the wire; a spoofed
 * source is dropped and counted; a TCP GSO frame and a UDP frame with a
 * partial checksum come out right on the wire (port offload or software),
 * to a member with offloads (header kept) and to one without (segments
 * with complete checksums); the steering mode is the one expected. Run it
 * in a network namespace of its own (test_dpdk.sh). One line per check;
 * exits 0 only if all passed.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/dpdk.h"
#include "net/port.h"
#include "probe.h"

#define HDR sizeof(struct net_hdr)
#define ETH 14
#define TYPE_PROBE 0x88b5
#define QUIET_MS 300
#define WAIT_MS 2000
#define NEP 3
#define TSO_MSS 1448 /* a guest's: 1500 - IP - TCP with timestamps */
#define TSO_PAYLOAD (3 * TSO_MSS)

static const uint8_t macs[NEP][6] = {
	{ 0x52, 0x54, 0x00, 0x00, 0x00, 0x0a },
	{ 0x52, 0x54, 0x00, 0x00, 0x00, 0x0b },
	{ 0x52, 0x54, 0x00, 0x00, 0x00, 0x0c },
};
static const uint8_t wire_mac[6] = { 0x02, 0x78, 0, 0, 0, 0x01 };
static const uint8_t nobody[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0xee };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static struct net_port *ep[NEP];
static int wire = -1, wire_ifindex;
static uint8_t buf[NET_MAX_FRAME];

/* IPv4 L4 checksum over @eth (pseudo header included) verifies to 0xffff. */
static bool l4_csum_ok(const uint8_t *eth, size_t len)
{
	const uint8_t *ip = eth + ETH;
	size_t ihl = (ip[0] & 0xf) * 4, l4len = get16(ip + 2) - ihl;
	uint32_t s;

	if (ETH + ihl + l4len > len)
		return false;
	s = sum16(0, ip + 12, 8) + ip[9] + (uint32_t)l4len;
	return fold(sum16(s, ip + ihl, l4len)) == 0xffff;
}

/* ---- frames ---- */

/* not inlined: gcc -O2 with ASan sees a bogus out-of-bounds memcpy otherwise */
static __attribute__((noipa)) size_t eth_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type,
			size_t payload, uint8_t tag)
{
	memset(f, 0, HDR);
	memcpy(f + HDR, dst, 6);
	memcpy(f + HDR + 6, src, 6);
	put16(f + HDR + 12, type);
	for (size_t i = 0; i < payload; i++)
		f[HDR + ETH + i] = (uint8_t)(tag + i);
	return HDR + ETH + payload;
}

/*
 * IPv4 (10.78.0.2 -> 10.78.0.3) TCP or UDP with @payload bytes, the L4
 * checksum left partial as a guest leaves it (pseudo header with length).
 */
static size_t ip_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, bool tcp,
		       size_t payload, uint16_t mss)
{
	size_t l4h = tcp ? 20 : 8, l4len = l4h + payload;
	uint8_t *ip = f + HDR + ETH, *l4 = ip + 20;
	struct net_hdr h = {
		.flags = NET_HDR_F_NEEDS_CSUM,
		.csum_start = htole16(ETH + 20),
		.csum_offset = htole16(tcp ? 16 : 6),
	};
	uint32_t s;

	eth_frame(f, dst, src, 0x0800, 20 + l4len, 0);
	if (mss) {
		h.gso_type = NET_HDR_GSO_TCPV4;
		h.gso_size = htole16(mss);
		h.hdr_len = htole16(ETH + 20 + 20);
	}
	memcpy(f, &h, sizeof(h));
	memset(ip, 0, 20 + l4h);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4len));
	put16(ip + 4, 0x1234);
	ip[8] = 64;
	ip[9] = tcp ? 6 : 17;
	ip[12] = 10, ip[13] = 78, ip[15] = 2;
	ip[16] = 10, ip[17] = 78, ip[19] = 3;
	put16(ip + 10, (uint16_t)~fold(sum16(0, ip, 20)));
	put16(l4, 40000);
	put16(l4 + 2, 5001);
	if (tcp) {
		l4[4] = 0x10; /* seq 0x10000000 */
		l4[12] = 5 << 4;
		l4[13] = 0x18; /* PSH ACK */
		put16(l4 + 14, 65535);
	} else {
		put16(l4 + 4, (uint16_t)l4len);
	}
	for (size_t i = 0; i < payload; i++)
		l4[l4h + i] = (uint8_t)(i * 13);
	s = sum16(0, ip + 12, 8) + ip[9] + (uint32_t)l4len;
	put16(l4 + (tcp ? 16 : 6), fold(s));
	return HDR + ETH + 20 + l4len;
}

/* ---- the two sides ---- */

static int port_send(int i, const uint8_t *f, size_t len)
{
	struct iovec iov = { (void *)f, len };
	int ret = net_port_send(ep[i], &iov, 1);

	net_port_flush(ep[i]);
	return ret;
}

/* A frame for endpoint @i within @ms: its length, or 0. */
static size_t port_recv(int i, int ms)
{
	struct iovec iov = { buf, sizeof(buf) };
	long end = now_ms() + ms;
	ssize_t n;

	do {
		n = net_port_recv(ep[i], &iov, 1);
		if (n > 0)
			return (size_t)n;
		/* the other endpoints poll too: whoever polls the default queue classifies */
		for (int j = 0; j < NEP; j++)
			if (j != i)
				net_port_flush(ep[j]);
		usleep(200);
	} while (now_ms() < end);
	return 0;
}

static void wire_send(const uint8_t *eth, size_t len)
{
	struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_ifindex = wire_ifindex, .sll_halen = 6 };

	memcpy(a.sll_addr, eth, 6);
	if (sendto(wire, eth, len, 0, (struct sockaddr *)&a, sizeof(a)) != (ssize_t)len)
		check(false, "wire-send", "%s", strerror(errno));
}

/* A frame the port sent, within @ms (frames the kernel sends itself are skipped). */
static size_t wire_recv(uint8_t *f, int ms)
{
	long end = now_ms() + ms;

	for (;;) {
		struct sockaddr_ll a;
		socklen_t al = sizeof(a);
		struct pollfd p = { .fd = wire, .events = POLLIN };
		long left = end - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return 0;
		n = recvfrom(wire, f, NET_MAX_FRAME, 0, (struct sockaddr *)&a, &al);
		if (n > 0 && a.sll_pkttype != PACKET_OUTGOING)
			return (size_t)n;
	}
}

static void wire_drain(void)
{
	while (wire_recv(buf, 50))
		;
}

/* Count what endpoint @i gets until quiet: its own, broadcast, anything else. */
static void count(int i, int *own, int *bc, int *other)
{
	size_t n;

	*own = *bc = *other = 0;
	while ((n = port_recv(i, QUIET_MS))) {
		const uint8_t *d = buf + HDR;

		if (get16(d + 12) != TYPE_PROBE)
			continue;
		if (!memcmp(d, macs[i], 6))
			(*own)++;
		else if (!memcmp(d, bcast, 6))
			(*bc)++;
		else
			(*other)++;
	}
}

/* ---- checks ---- */

static void check_ownership(void)
{
	struct net_port *p = NULL;
	char err[256];
	int ret;

	check(!net_port_open(ep[0]->name, &p, err, sizeof(err)), "open-extra", "%s", err);
	if (!p)
		return;
	ret = net_port_set_mac(p, macs[1], &p);
	check(ret == -EADDRINUSE, "mac-owned-elsewhere", "set_mac gave %d", ret);
	ret = net_port_set_mac(p, bcast, &p);
	check(ret == -EINVAL, "mac-multicast-refused", "set_mac gave %d", ret);
	net_port_close(p);
}

static void check_from_wire(bool promisc_c)
{
	uint8_t f[128];
	int own, bc, other;

	for (int k = 0; k < 3; k++)
		wire_send(f + HDR, eth_frame(f, macs[0], wire_mac, TYPE_PROBE, 46, 1) - HDR);
	for (int k = 0; k < 2; k++)
		wire_send(f + HDR, eth_frame(f, macs[1], wire_mac, TYPE_PROBE, 46, 2) - HDR);
	wire_send(f + HDR, eth_frame(f, nobody, wire_mac, TYPE_PROBE, 46, 3) - HDR);
	wire_send(f + HDR, eth_frame(f, bcast, wire_mac, TYPE_PROBE, 46, 4) - HDR);
	count(0, &own, &bc, &other);
	check(own == 3 && bc == 1 && other == 0, promisc_c ? "wire-a-promisc-phase" : "wire-a",
	      "own %d broadcast %d other %d (want 3 1 0)", own, bc, other);
	count(1, &own, &bc, &other);
	check(own == 2 && bc == 1 && other == 0, promisc_c ? "wire-b-promisc-phase" : "wire-b",
	      "own %d broadcast %d other %d (want 2 1 0)", own, bc, other);
	count(2, &own, &bc, &other);
	if (promisc_c)
		check(bc == 1 && other == 6, "wire-c-promisc", "broadcast %d other %d (want 1 6)",
		      bc, other);
	else
		check(own == 0 && bc == 1 && other == 0, "wire-c", "own %d broadcast %d other %d (want 0 1 0)",
		      own, bc, other);
}

static void check_member_to_member(void)
{
	uint8_t f[128];
	size_t n;
	int ret;

	wire_drain();
	ret = port_send(0, f, eth_frame(f, macs[1], macs[0], TYPE_PROBE, 46, 5));
	n = port_recv(1, WAIT_MS);
	check(!ret && n == HDR + ETH + 46 && !memcmp(buf + HDR + 6, macs[0], 6), "a-to-b",
	      "send %d, b got %zu bytes", ret, n);
	check(!port_recv(2, QUIET_MS) && !port_recv(0, QUIET_MS), "a-to-b-only-b",
	      "another endpoint got it");
	check(!wire_recv(buf, QUIET_MS), "a-to-b-not-on-wire", "the wire saw it");
	/* broadcast from a member: the wire and the other two */
	ret = port_send(2, f, eth_frame(f, bcast, macs[2], TYPE_PROBE, 46, 6));
	check(!ret && port_recv(0, WAIT_MS) && port_recv(1, WAIT_MS), "c-broadcast-members",
	      "send %d", ret);
	check(wire_recv(buf, WAIT_MS) > 0, "c-broadcast-wire", "not on the wire");
	check(!port_recv(2, QUIET_MS), "c-broadcast-not-back", "c got its own broadcast");
}

static void check_spoof(void)
{
	uint64_t before = ep[0]->stats.tx_spoofed;
	uint8_t f[128];
	int ret;

	wire_drain();
	ret = port_send(0, f, eth_frame(f, macs[1], macs[2], TYPE_PROBE, 46, 7));
	check(ret == -EPERM && ep[0]->stats.tx_spoofed == before + 1, "spoof-dropped",
	      "send %d, tx_spoofed %llu", ret, (unsigned long long)ep[0]->stats.tx_spoofed);
	ret = port_send(0, f, eth_frame(f, bcast, macs[1], TYPE_PROBE, 46, 8));
	check(ret == -EPERM, "spoof-broadcast-dropped", "send %d", ret);
	check(!port_recv(1, QUIET_MS) && !port_recv(2, QUIET_MS) && !wire_recv(buf, QUIET_MS),
	      "spoof-nowhere", "a spoofed frame got through");
}

/* Segments of a TSO_PAYLOAD-byte TCP payload: three frames, checksums right. */
static int segments_ok(const char *name, size_t (*next)(uint8_t *f, int ms), uint8_t *f,
		       size_t hdr)
{
	size_t got = 0, n;
	int segs = 0;

	while (segs < 8 && (n = next(f, segs ? QUIET_MS : WAIT_MS))) {
		const uint8_t *eth = f + hdr;

		if (get16(eth + 12) != 0x0800 || eth[ETH + 9] != 6)
			continue;
		if (!l4_csum_ok(eth, n - hdr)) {
			check(false, name, "segment %d: bad TCP checksum", segs);
			return -1;
		}
		got += n - hdr - ETH - 40;
		segs++;
	}
	check(segs == 3 && got == TSO_PAYLOAD, name, "%d segments, %zu payload bytes (want 3, %d)", segs,
	      got, TSO_PAYLOAD);
	return 0;
}

static size_t wire_next(uint8_t *f, int ms)
{
	return wire_recv(f, ms);
}

static size_t c_next(uint8_t *f, int ms)
{
	size_t n = port_recv(2, ms);

	memcpy(f, buf, n);
	return n;
}

static uint8_t seg[NET_MAX_FRAME];

static void check_offloads(void)
{
	uint8_t *f = malloc(NET_MAX_FRAME);
	struct net_hdr h;
	size_t len, n;

	/* b takes everything partial; c nothing */
	check(!net_port_set_offloads(ep[1], NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4) &&
	      !net_port_set_offloads(ep[2], 0), "set-offloads", "refused");
	wire_drain();
	len = ip_frame(f, wire_mac, macs[0], true, TSO_PAYLOAD, TSO_MSS);
	check(!port_send(0, f, len), "tso-send-wire", "send failed");
	segments_ok("tso-wire-segments", wire_next, seg, 0);
	len = ip_frame(f, macs[1], macs[0], true, TSO_PAYLOAD, TSO_MSS);
	check(!port_send(0, f, len), "tso-send-b", "send failed");
	n = port_recv(1, WAIT_MS);
	memcpy(&h, buf, sizeof(h));
	check(n == len && h.gso_type == NET_HDR_GSO_TCPV4 && le16toh(h.gso_size) == TSO_MSS &&
	      (h.flags & NET_HDR_F_NEEDS_CSUM), "tso-to-b-kept", "got %zu bytes gso %u size %u flags %u",
	      n, h.gso_type, le16toh(h.gso_size), h.flags);
	len = ip_frame(f, macs[2], macs[0], true, TSO_PAYLOAD, TSO_MSS);
	check(!port_send(0, f, len), "tso-send-c", "send failed");
	segments_ok("tso-to-c-segmented", c_next, seg, HDR);
	/* UDP with a partial checksum */
	len = ip_frame(f, wire_mac, macs[0], false, 200, 0);
	check(!port_send(0, f, len), "csum-send-wire", "send failed");
	n = wire_recv(seg, WAIT_MS);
	check(n == len - HDR && l4_csum_ok(seg, n), "csum-wire", "%zu bytes, checksum %s", n,
	      n ? "bad" : "-");
	len = ip_frame(f, macs[2], macs[0], false, 200, 0);
	check(!port_send(0, f, len), "csum-send-c", "send failed");
	n = port_recv(2, WAIT_MS);
	check(n == len && buf[0] == 0 && l4_csum_ok(buf + HDR, n - HDR), "csum-to-c-completed",
	      "%zu bytes, flags %u", n, buf[0]);
	/* headers a guest may lie in: dropped, never handed to the PMD as they are */
	wire_drain();
	len = ip_frame(f, wire_mac, macs[0], true, TSO_PAYLOAD, TSO_MSS);
	f[1] = NET_HDR_GSO_TCPV6; /* an IPv4 frame */
	n = (size_t)(port_send(0, f, len) == -EINVAL);
	len = ip_frame(f, wire_mac, macs[0], true, TSO_PAYLOAD, TSO_MSS);
	f[4] = f[5] = 0; /* gso_size 0 */
	n += (size_t)(port_send(0, f, len) == -EINVAL);
	len = ip_frame(f, wire_mac, macs[0], false, 200, 0);
	f[8] = 0xff; /* checksum field beyond the frame */
	n += (size_t)(port_send(0, f, len) == -EINVAL);
	check(n == 3 && !wire_recv(seg, QUIET_MS), "hostile-headers-dropped",
	      "%zu of 3 refused, or something reached the wire", n);
	free(f);
}

/*
 * A member without TSO receiving another's GSO frame gets it one segment
 * per recv; sending a GSO frame to a wire without TSO in between (segmented
 * in software too) must not cut the received one short.
 */
static void check_gso_both_ways(void)
{
	uint8_t *f = malloc(NET_MAX_FRAME);
	size_t len, n, got = 0;
	int segs = 0;

	wire_drain();
	len = ip_frame(f, macs[2], macs[0], true, TSO_PAYLOAD, TSO_MSS);
	check(!port_send(0, f, len), "gso-both-send-c", "send failed");
	n = port_recv(2, WAIT_MS);
	check(n > HDR + ETH + 40, "gso-both-first-segment", "got %zu bytes", n);
	len = ip_frame(f, wire_mac, macs[2], true, TSO_PAYLOAD, TSO_MSS);
	check(!port_send(2, f, len), "gso-both-c-sends", "send failed");
	while (segs < 8 && (n = port_recv(2, QUIET_MS))) {
		if (get16(buf + HDR + 12) != 0x0800 || !l4_csum_ok(buf + HDR, n - HDR))
			break;
		got += n - HDR - ETH - 40;
		segs++;
	}
	check(segs == 2 && got == 2 * TSO_MSS, "gso-both-rest-received",
	      "%d more segments, %zu payload bytes (want 2, %d)", segs, got, 2 * TSO_MSS);
	segments_ok("gso-both-wire-segments", wire_next, seg, 0);
	free(f);
}

/*
 * A member that does not receive (a guest not booted yet, a driver not
 * loaded) while another floods it with 64 KiB frames: its inbox must not
 * take the mbufs the port needs for everyone else. Then it drains.
 */
static void check_stalled_member(void)
{
	uint8_t *f = malloc(NET_MAX_FRAME), small[128];
	size_t len = ip_frame(f, macs[1], macs[0], true, 60000, TSO_MSS), n;
	int sent = 0, ret = 0, own, bc, other;

	for (int k = 0; k < 400; k++)
		sent += !port_send(0, f, len);
	check(sent == 400, "stalled-flood-sent", "%d of 400 sends taken", sent);
	wire_drain();
	for (int k = 0; k < 40; k++)
		wire_send(small + HDR, eth_frame(small, macs[2], wire_mac, TYPE_PROBE, 46, 9) - HDR);
	count(2, &own, &bc, &other);
	check(own == 40, "stalled-others-receive", "c got %d of 40 frames from the wire", own);
	for (int k = 0; k < 40 && !ret; k++)
		ret = port_send(2, small, eth_frame(small, wire_mac, macs[2], TYPE_PROBE, 46, 10));
	check(!ret && wire_recv(buf, WAIT_MS), "stalled-others-send", "c's send gave %d", ret);
	n = 0;
	while (port_recv(1, QUIET_MS))
		n++;
	check(n > 0 && n < 400, "stalled-inbox-bounded", "b had %zu frames waiting", n);
	free(f);
}

/* The lying headers of check_offloads, to a member that takes offloads: never delivered. */
static void check_hostile_to_members(void)
{
	uint8_t *f = malloc(NET_MAX_FRAME);
	size_t len, refused;
	int ret;

	len = ip_frame(f, macs[1], macs[0], true, TSO_PAYLOAD, TSO_MSS);
	f[1] = NET_HDR_GSO_TCPV6; /* an IPv4 frame */
	refused = (size_t)(port_send(0, f, len) == -EINVAL);
	len = ip_frame(f, macs[1], macs[0], true, TSO_PAYLOAD, TSO_MSS);
	f[4] = f[5] = 0; /* gso_size 0 */
	refused += (size_t)(port_send(0, f, len) == -EINVAL);
	len = ip_frame(f, macs[1], macs[0], false, 200, 0);
	f[8] = 0xff; /* checksum field beyond the frame */
	refused += (size_t)(port_send(0, f, len) == -EINVAL);
	check(refused == 3 && !port_recv(1, QUIET_MS), "hostile-headers-not-to-members",
	      "%zu of 3 refused, or b got one", refused);
	/* a partial checksum in a frame that is not IP (a guest's offload is generic) goes through */
	len = eth_frame(f, macs[1], macs[0], TYPE_PROBE, 100, 11);
	f[0] = NET_HDR_F_NEEDS_CSUM;
	f[6] = ETH + 4; /* csum_start */
	f[8] = 6;       /* csum_offset */
	ret = port_send(0, f, len);
	check(!ret && port_recv(1, WAIT_MS) == len, "partial-csum-non-ip-to-members",
	      "send %d, or b did not get it whole", ret);
	free(f);
}

/* After check_from_wire: hw steering puts each device's unicast on its own queue. */
static void check_steering(bool hw)
{
	struct net_dpdk_info info[NEP];
	bool own = true;

	for (int i = 0; i < NEP; i++) {
		if (net_dpdk_info(ep[i], &info[i])) {
			check(false, "steering", "not a dpdk port");
			return;
		}
		own = own && info[i].rxq >= 1;
	}
	if (!hw) {
		check(!info[0].hw && !own, "steering-sw", "hw %d", info[0].hw);
		return;
	}
	check(info[0].hw && own, "steering-hw-queues", "hw %d, queues %d %d %d", info[0].hw,
	      info[0].rxq, info[1].rxq, info[2].rxq);
	check(info[0].rx_direct >= 5, "steering-hw-direct",
	      "%llu of %llu frames on their owner's queue (want the 5 unicast)",
	      (unsigned long long)info[0].rx_direct, (unsigned long long)info[0].rx_wire);
}

static int open_wire(const char *ifname)
{
	struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };

	wire_ifindex = (int)if_nametoindex(ifname);
	wire = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (!wire_ifindex || wire < 0)
		return -1;
	a.sll_ifindex = wire_ifindex;
	return bind(wire, (struct sockaddr *)&a, sizeof(a));
}

int main(int argc, char **argv)
{
	char err[512];

	if (argc < 4) {
		fprintf(stderr, "usage: dpdk_probe \"EAL ARGS\" SPEC WIRE_IFNAME [expect-hw|expect-sw]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (net_dpdk_init(argv[1], err, sizeof(err))) {
		printf("FAIL: %s\n", err);
		return 1;
	}
	for (int i = 0; i < NEP; i++) {
		if (net_port_open(argv[2], &ep[i], err, sizeof(err)) ||
		    net_port_set_mac(ep[i], macs[i], &ep[i])) {
			printf("FAIL: open %s: %s\n", argv[2], err);
			return 1;
		}
	}
	if (open_wire(argv[3])) {
		printf("FAIL: raw socket on %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	check_ownership();
	wire_drain();
	check_from_wire(false);
	if (argc > 4)
		check_steering(!strcmp(argv[4], "expect-hw"));
	net_port_set_promisc(ep[2], true);
	check_from_wire(true);
	net_port_set_promisc(ep[2], false);
	check_member_to_member();
	check_spoof();
	check_offloads();
	check_gso_both_ways();
	check_hostile_to_members();
	check_stalled_member();
	for (int i = 0; i < NEP; i++)
		net_port_close(ep[i]);
	net_dpdk_fini();
	close(wire);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
