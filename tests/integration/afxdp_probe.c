// SPDX-License-Identifier: MIT
/*
 * afxdp_probe: the AF_XDP port's Tx frames at their limits, against a veth
 * pair whose other end a raw socket watches (test_afxdp.sh runs it in a
 * network namespace of its own).
 *
 *   afxdp_probe SPEC IFNAME PEER_IFNAME
 *
 * Checks: while IFNAME is down every Tx frame fills up (sends give -EAGAIN),
 * and once it is up again the port sends again; a GSO frame that takes
 * exactly every free Tx frame comes out whole, even when a send follows
 * before the kernel got to it; a GSO frame with more segments than the
 * port has Tx frames is dropped (-EMSGSIZE), not retried forever (-EAGAIN).
 * One line per check; exits 0 only if all passed.
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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/port.h"
#include "probe.h"

#define HDR sizeof(struct net_hdr)
#define ETH 14
#define TX_FRAMES 2048 /* the port's Tx frames (afxdp.c: half of its UMEM) */
#define MSS 16
#define WAIT_MS 3000

static const uint8_t dst[6] = { 0x02, 0x79, 0, 0, 0, 0x01 };
static const uint8_t src[6] = { 0x02, 0x79, 0, 0, 0, 0x02 };
static struct net_port *port;
static const char *ifname;
static int peer = -1;
static uint8_t frame[NET_MAX_FRAME], rbuf[NET_MAX_FRAME];

static void set_link(bool up)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		check(false, "link", "SIOCGIFFLAGS: %s", strerror(errno));
	ifr.ifr_flags = (short)(up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP);
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		check(false, "link", "SIOCSIFFLAGS: %s", strerror(errno));
	close(s);
}

static int send_one(size_t len)
{
	struct iovec iov = { frame, len };

	return net_port_send(port, &iov, 1);
}

static size_t small_frame(uint8_t tag)
{
	memset(frame, 0, HDR);
	memcpy(frame + HDR, dst, 6);
	memcpy(frame + HDR + 6, src, 6);
	put16(frame + HDR + 12, 0x88b5);
	memset(frame + HDR + ETH, tag, 46);
	return HDR + ETH + 46;
}

/* IPv4 TCP (10.79.9.2 -> 10.79.9.1, nobody's) with GSO: @payload bytes in @mss segments. */
static size_t gso_frame(size_t payload, uint16_t mss)
{
	uint8_t *ip = frame + HDR + ETH, *tcp = ip + 20;
	struct net_hdr h = {
		.flags = NET_HDR_F_NEEDS_CSUM, .gso_type = NET_HDR_GSO_TCPV4,
		.gso_size = htole16(mss), .hdr_len = htole16(ETH + 40),
		.csum_start = htole16(ETH + 20), .csum_offset = htole16(16),
	};

	small_frame(0);
	put16(frame + HDR + 12, 0x0800);
	memcpy(frame, &h, sizeof(h));
	memset(ip, 0, 40);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(40 + payload));
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = 10, ip[13] = 79, ip[14] = 9, ip[15] = 2;
	ip[16] = 10, ip[17] = 79, ip[18] = 9, ip[19] = 1;
	put16(ip + 10, (uint16_t)~fold(sum16(0, ip, 20)));
	put16(tcp, 40000);
	put16(tcp + 2, 9);
	tcp[12] = 5 << 4;
	tcp[13] = 0x10;
	put16(tcp + 14, 1024);
	for (size_t i = 0; i < payload; i++)
		tcp[20 + i] = (uint8_t)(i * 7);
	/* the pseudo-header sum, uncomplemented, as a guest leaves it */
	put16(tcp + 16, fold(sum16(6 + 20 + (uint32_t)payload, ip + 12, 8)));
	return HDR + ETH + 40 + payload;
}

/* A whole TCP segment of gso_frame: checksum right, payload as sent. */
static bool segment_ok(const uint8_t *eth, size_t len, size_t *payload)
{
	const uint8_t *ip = eth + ETH, *tcp = ip + 20;
	size_t l4 = len - ETH - 20, off;

	if (len < ETH + 40 || get16(eth + 12) != 0x0800 || ip[9] != 6 || ip[14] != 9)
		return false;
	if (fold(sum16(fold(sum16(6 + (uint32_t)l4, ip + 12, 8)), tcp, l4)) != 0xffff)
		return false;
	off = ((size_t)get16(tcp + 4) << 16 | get16(tcp + 6));
	for (size_t i = 0; i < l4 - 20; i++)
		if (tcp[20 + i] != (uint8_t)((off + i) * 7))
			return false;
	*payload += l4 - 20;
	return true;
}

/* Flush and read the peer until @want TCP segments came or WAIT_MS passed. */
static int collect(int want, size_t *payload, int *bad)
{
	long end = now_ms() + WAIT_MS;
	int good = 0;

	*payload = 0;
	*bad = 0;
	while (good + *bad < want && now_ms() < end) {
		struct pollfd p = { .fd = peer, .events = POLLIN };
		ssize_t n;

		net_port_flush(port);
		if (poll(&p, 1, 1) <= 0)
			continue;
		while ((n = recv(peer, rbuf, sizeof(rbuf), MSG_DONTWAIT)) > 0) {
			if (get16(rbuf + 12) != 0x0800)
				continue;
			if (segment_ok(rbuf, (size_t)n, payload))
				good++;
			else
				(*bad)++;
		}
	}
	return good;
}

/* Flush until the kernel took everything (the peer's copies are thrown away). */
static void settle(void)
{
	long end = now_ms() + 500;

	while (now_ms() < end) {
		net_port_flush(port);
		while (recv(peer, rbuf, sizeof(rbuf), MSG_DONTWAIT) > 0)
			;
		usleep(1000);
	}
}

static void check_link_flap(void)
{
	long end;
	int n = 0, ret = 0;

	set_link(false);
	while (n <= TX_FRAMES && !(ret = send_one(small_frame(1))))
		n++;
	check(ret == -EAGAIN && n >= TX_FRAMES - 1, "down-fills-up", "%d sends, then %d", n, ret);
	set_link(true);
	end = now_ms() + WAIT_MS;
	do {
		ret = send_one(small_frame(2));
		net_port_flush(port);
		if (ret == -EAGAIN)
			usleep(1000);
	} while (ret == -EAGAIN && now_ms() < end);
	check(!ret, "up-sends-again", "send gave %d for %d ms after the link came up", ret, WAIT_MS);
	settle();
}

static void check_gso_exact(void)
{
	size_t payload;
	int ret, good, bad;

	set_link(false);
	ret = send_one(gso_frame(TX_FRAMES * MSS, MSS));
	check(!ret, "gso-every-frame-taken", "send gave %d", ret);
	/* no Tx frame is free until the kernel sends: this one must wait */
	ret = send_one(small_frame(3));
	check(ret == -EAGAIN, "gso-then-full", "send gave %d", ret);
	set_link(true);
	good = collect(TX_FRAMES, &payload, &bad);
	check(good == TX_FRAMES && !bad && payload == TX_FRAMES * MSS, "gso-every-segment-whole",
	      "%d good segments, %d bad, %zu payload bytes (want %d, 0, %d)", good, bad, payload,
	      TX_FRAMES, TX_FRAMES * MSS);
	settle();
}

static void check_gso_too_many(void)
{
	uint64_t drops = port->stats.tx_drops;
	int ret = send_one(gso_frame(TX_FRAMES * MSS, MSS / 2));

	check(ret == -EMSGSIZE && port->stats.tx_drops == drops + 1, "gso-too-many-segments-dropped",
	      "send gave %d, tx_drops +%llu", ret, (unsigned long long)(port->stats.tx_drops - drops));
}

static int open_peer(const char *name)
{
	struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int size = 64 << 20;

	a.sll_ifindex = (int)if_nametoindex(name);
	peer = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (!a.sll_ifindex || peer < 0)
		return -1;
	setsockopt(peer, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	return bind(peer, (struct sockaddr *)&a, sizeof(a));
}

int main(int argc, char **argv)
{
	char err[256] = "";

	if (argc != 4) {
		fprintf(stderr, "usage: afxdp_probe SPEC IFNAME PEER_IFNAME\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ifname = argv[2];
	if (open_peer(argv[3])) {
		printf("FAIL: raw socket on %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	if (net_port_open(argv[1], &port, err, sizeof(err))) {
		printf("FAIL: net_port_open(%s): %s\n", argv[1], err);
		return 1;
	}
	check_link_flap();
	check_gso_exact();
	check_gso_too_many();
	net_port_close(port);
	close(peer);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
