// SPDX-License-Identifier: MIT
/*
 * afxdp_probe: the AF_XDP port's Tx frames at their limits, against a veth
 * pair whose other end a raw socket watches (test_afxdp.sh runs it in a
 * network namespace of its own).
 *
 *   afxdp_probe SPEC IFNAME PEER_IFNAME
 *
 * Checks: while IFNAME is down every Tx frame fills up (sends give -EAGAIN),
 * and once it is up again the port sends again.
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

#define HDR sizeof(struct net_hdr)
#define ETH 14
#define TX_FRAMES 2048 /* the port's Tx frames (afxdp.c: half of its UMEM) */
#define WAIT_MS 3000

static const uint8_t dst[6] = { 0x02, 0x79, 0, 0, 0, 0x01 };
static const uint8_t src[6] = { 0x02, 0x79, 0, 0, 0, 0x02 };
static struct net_port *port;
static const char *ifname;
static int peer = -1, failures;
static uint8_t frame[NET_MAX_FRAME], rbuf[NET_MAX_FRAME];

static void check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s", ok ? "ok:  " : "FAIL:", name);
	if (!ok) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		failures++;
	}
	printf("\n");
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

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
	net_port_close(port);
	close(peer);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
