// SPDX-License-Identifier: MIT
/*
 * tap_probe: drives a TAP port (net_port_open "tap:NAME") against the
 * kernel, acting as a host PROBE_IP with its own MAC on the tap's link:
 * ARP for the tap's address, pings with a full and with an offloaded
 * (NEEDS_CSUM) checksum, and a ping with a bad checksum that must go
 * unanswered. Run it inside a network namespace (test_tap.sh does).
 *
 *   tap_probe NAME TAP_IP PROBE_IP [SETUP_CMD]   all checks; SETUP_CMD runs
 *                                                once the port is open
 *   tap_probe --port SPEC KERNEL_IP PROBE_IP     any port whose other side is
 *                                                the kernel at KERNEL_IP (afxdp:
 *                                                on a veth): ARP, the pings and
 *                                                a TSO frame the port segments
 *   tap_probe --open-fails SPEC                  the open must fail
 *
 * Prints one line per check; exits 0 only if all passed.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
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
#define ICMP_ID 0x696f
#define PING_DATA 56
#define WAIT_MS 3000
#define SILENCE_MS 700

static const uint8_t probe_mac[6] = { 0x02, 0x77, 0x00, 0x00, 0x00, 0x02 };
static uint8_t tap_mac[6];
static struct in_addr tap_ip, probe_ip;
static struct net_port *port;
static uint8_t rbuf[NET_MAX_FRAME];

static void die(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static uint16_t csum(const uint8_t *p, size_t len)
{
	return (uint16_t)~fold(sum16(0, p, len));
}

static void send_frame(const uint8_t *f, size_t len)
{
	/* split after the header, as a device with guest buffers would */
	struct iovec iov[2] = { { (void *)f, HDR }, { (void *)(f + HDR), len - HDR } };
	int ret = net_port_send(port, iov, 2);

	if (ret)
		die("send of a %zu-byte frame: %s", len, strerror(-ret));
}

/* Ethernet header after a zero net_hdr; returns the L3 start. */
static uint8_t *eth_frame(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memset(f, 0, HDR);
	memcpy(f + HDR, dst, 6);
	memcpy(f + HDR + 6, probe_mac, 6);
	put16(f + HDR + 12, type);
	return f + HDR + ETH;
}

static void send_arp(uint16_t op, const uint8_t *dst_mac, struct in_addr target)
{
	uint8_t f[HDR + 60] = { 0 };
	uint8_t *a = eth_frame(f, dst_mac, 0x0806);

	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, probe_mac, 6);
	memcpy(a + 14, &probe_ip, 4);
	if (op == 2)
		memcpy(a + 18, dst_mac, 6);
	memcpy(a + 24, &target, 4);
	send_frame(f, sizeof(f));
}

/* The kernel asks for us before it can answer a ping: answer it. */
static bool answer_arp(const uint8_t *eth, size_t len)
{
	const uint8_t *a = eth + ETH;
	struct in_addr sender;

	if (len < ETH + 28 || get16(eth + 12) != 0x0806 || get16(a + 6) != 1 ||
	    memcmp(a + 24, &probe_ip, 4))
		return false;
	memcpy(&sender, a + 14, 4);
	send_arp(2, a + 8, sender);
	return true;
}

typedef bool (*match_fn)(const uint8_t *frame, size_t len, void *arg);

/* Reads frames until @match takes one; false after @ms without. */
static bool wait_for(match_fn match, void *arg, int ms)
{
	long end = now_ms() + ms;

	for (;;) {
		struct iovec iov = { rbuf, sizeof(rbuf) };
		struct pollfd pfd = { .fd = port->rx_fd, .events = POLLIN };
		long left = end - now_ms();
		ssize_t n;

		if (left <= 0)
			return false;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		n = net_port_recv(port, &iov, 1);
		if (n == -EAGAIN)
			continue;
		if (n < 0)
			die("recv: %s", strerror((int)-n));
		if ((size_t)n < HDR + ETH || answer_arp(rbuf + HDR, n - HDR))
			continue;
		if (match(rbuf, n, arg))
			return true;
	}
}

static bool is_arp_reply(const uint8_t *f, size_t len, void *arg)
{
	const uint8_t *eth = f + HDR, *a = eth + ETH;

	(void)arg;
	if (len < HDR + ETH + 28 || get16(eth + 12) != 0x0806 || get16(a + 6) != 2)
		return false;
	if (memcmp(a + 14, &tap_ip, 4) || memcmp(a + 18, probe_mac, 6) || memcmp(a + 24, &probe_ip, 4))
		return false;
	memcpy(tap_mac, a + 8, 6);
	return true;
}

static void check_arp(void)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	send_arp(1, bcast, tap_ip);
	if (!wait_for(is_arp_reply, NULL, WAIT_MS))
		die("no ARP reply for %s within %d ms", inet_ntoa(tap_ip), WAIT_MS);
	printf("ok: ARP request answered: %s is at %02x:%02x:%02x:%02x:%02x:%02x\n", inet_ntoa(tap_ip),
	       tap_mac[0], tap_mac[1], tap_mac[2], tap_mac[3], tap_mac[4], tap_mac[5]);
}

enum ping_kind { PING_FULL, PING_OFFLOAD, PING_BAD };

static void send_ping(uint16_t seq, enum ping_kind kind)
{
	uint8_t f[HDR + ETH + 20 + 8 + PING_DATA];
	uint8_t *ip = eth_frame(f, tap_mac, 0x0800), *icmp = ip + 20;
	struct net_hdr h = { 0 };

	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, 20 + 8 + PING_DATA);
	put16(ip + 4, seq);
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 1;
	memcpy(ip + 12, &probe_ip, 4);
	memcpy(ip + 16, &tap_ip, 4);
	put16(ip + 10, csum(ip, 20));
	icmp[0] = 8;
	icmp[1] = 0;
	put16(icmp + 2, 0);
	put16(icmp + 4, ICMP_ID);
	put16(icmp + 6, seq);
	for (int i = 0; i < PING_DATA; i++)
		icmp[8 + i] = (uint8_t)(seq + i);
	if (kind == PING_OFFLOAD) {
		/* ICMP has no pseudo header: the partial sum left is 0 */
		h.flags = NET_HDR_F_NEEDS_CSUM;
		h.csum_start = htole16(ETH + 20);
		h.csum_offset = htole16(2);
		memcpy(f, &h, HDR);
	} else {
		put16(icmp + 2, csum(icmp, 8 + PING_DATA) ^ (kind == PING_BAD ? 0x5a5a : 0));
	}
	send_frame(f, sizeof(f));
}

static bool is_echo_reply(const uint8_t *f, size_t len, void *arg)
{
	const uint8_t *eth = f + HDR, *ip = eth + ETH, *icmp = ip + 20;
	uint16_t seq = *(uint16_t *)arg;
	struct net_hdr h;

	if (len < HDR + ETH + 20 + 8 + PING_DATA || get16(eth + 12) != 0x0800 || ip[0] != 0x45 || ip[9] != 1)
		return false;
	if (memcmp(eth, probe_mac, 6) || memcmp(ip + 12, &tap_ip, 4) || memcmp(ip + 16, &probe_ip, 4))
		return false;
	if (icmp[0] != 0 || get16(icmp + 4) != ICMP_ID || get16(icmp + 6) != seq)
		return false;
	memcpy(&h, f, HDR);
	if (csum(ip, 20))
		die("echo reply %u: bad IP header checksum", seq);
	/* only a frame marked NEEDS_CSUM may carry a partial checksum */
	if (!(h.flags & NET_HDR_F_NEEDS_CSUM) && csum(icmp, get16(ip + 2) - 20))
		die("echo reply %u: bad ICMP checksum", seq);
	for (int i = 0; i < PING_DATA; i++)
		if (icmp[8 + i] != (uint8_t)(seq + i))
			die("echo reply %u: payload differs at byte %d", seq, i);
	return true;
}

static void check_ping(uint16_t seq, enum ping_kind kind, const char *what)
{
	bool got;

	send_ping(seq, kind);
	got = wait_for(is_echo_reply, &seq, kind == PING_BAD ? SILENCE_MS : WAIT_MS);
	if (kind == PING_BAD && got)
		die("%s: the kernel answered", what);
	if (kind != PING_BAD && !got)
		die("%s: no echo reply within %d ms", what, WAIT_MS);
	printf("ok: %s\n", what);
}

static bool is_rst(const uint8_t *f, size_t len, void *arg)
{
	const uint8_t *ip = f + HDR + ETH;

	(void)arg;
	return len >= HDR + ETH + 40 && get16(f + HDR + 12) == 0x0800 && ip[9] == 6 &&
	       !memcmp(ip + 12, &tap_ip, 4) && (ip[20 + 13] & 0x04);
}

/*
 * A TCP frame of 3 x 1000 bytes with GSO and a partial checksum, to a
 * closed port of the kernel: each segment that arrives whole, checksums
 * right, gets a reset back.
 */
static void check_tso(void)
{
	uint8_t f[HDR + ETH + 40 + 3000];
	uint8_t *ip = eth_frame(f, tap_mac, 0x0800), *tcp = ip + 20;
	struct net_hdr h = {
		.flags = NET_HDR_F_NEEDS_CSUM, .gso_type = NET_HDR_GSO_TCPV4,
		.gso_size = htole16(1000), .hdr_len = htole16(ETH + 40),
		.csum_start = htole16(ETH + 20), .csum_offset = htole16(16),
	};
	uint32_t sum;
	int rst = 0;

	memset(ip, 0, 40);
	ip[0] = 0x45;
	put16(ip + 2, 40 + 3000);
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, &probe_ip, 4);
	memcpy(ip + 16, &tap_ip, 4);
	put16(ip + 10, csum(ip, 20));
	put16(tcp, 40000);
	put16(tcp + 2, 9);
	tcp[4] = 0x20;  /* seq */
	tcp[11] = 1;    /* ack */
	tcp[12] = 5 << 4;
	tcp[13] = 0x10; /* ACK: a closed port answers with RST */
	put16(tcp + 14, 1024);
	memset(tcp + 20, 0x5a, 3000);
	/* the pseudo-header sum, uncomplemented, as a guest leaves it */
	sum = get16(ip + 12) + get16(ip + 14) + get16(ip + 16) + get16(ip + 18) + 6 + 3020;
	sum = (sum & 0xffff) + (sum >> 16);
	put16(tcp + 16, (uint16_t)((sum & 0xffff) + (sum >> 16)));
	memcpy(f, &h, HDR);
	send_frame(f, sizeof(f));
	while (rst < 3 && wait_for(is_rst, NULL, WAIT_MS))
		rst++;
	if (rst != 3)
		die("TSO: %d reset(s) for 3 segments", rst);
	printf("ok: a TSO frame went out as 3 segments with good checksums (3 resets)\n");
}

/* Any port with the kernel on the other side: ARP, pings, TSO. */
static int probe_port(const char *spec)
{
	char err[256] = "";

	if (net_port_open(spec, &port, err, sizeof(err)))
		die("net_port_open(%s): %s", spec, err);
	printf("ok: net_port_open(%s), rx_fd %d, mtu %u\n", spec, port->rx_fd, port->mtu);
	check_arp();
	check_ping(1, PING_FULL, "ping with a full ICMP checksum answered");
	check_ping(2, PING_OFFLOAD, "ping with NEEDS_CSUM and the checksum left to the port answered");
	check_ping(3, PING_BAD, "ping with a bad checksum and no NEEDS_CSUM not answered");
	check_tso();
	printf("ok: stats tx %lu rx %lu tx_drops %lu\n", (unsigned long)port->stats.tx_packets,
	       (unsigned long)port->stats.rx_packets, (unsigned long)port->stats.tx_drops);
	net_port_close(port);
	return 0;
}

static void check_link_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die("SIOCGIFFLAGS %s: %s", name, strerror(errno));
	close(s);
	if (!(ifr.ifr_flags & IFF_UP))
		die("%s is not up after net_port_open", name);
	printf("ok: %s is up (rx_fd %d, tx_fd %d, mtu %u)\n", name, port->rx_fd, port->tx_fd, port->mtu);
}

/* A second port on the tap is a second queue, if the tap is multi-queue. */
static void check_second_queue(const char *spec)
{
	struct net_port *q;
	char err[256] = "";
	int ret = net_port_open(spec, &q, err, sizeof(err));

	if (!ret) {
		printf("ok: a second port on %s opened (multi-queue tap)\n", spec);
		net_port_close(q);
		return;
	}
	if (ret != -EBUSY)
		die("second port on %s: %s", spec, err);
	printf("ok: single-queue tap: a second port is refused: %s\n", err);
}

static void check_offloads(void)
{
	const unsigned want = NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6;
	int ret;

	if (port->offloads)
		die("offloads 0x%x right after open, expected none", port->offloads);
	ret = net_port_set_offloads(port, NET_OFFLOAD_TSO4);
	if (ret != -EINVAL)
		die("TSO4 without CSUM: %d, expected -EINVAL", ret);
	ret = net_port_set_offloads(port, want);
	if (ret || port->offloads != want)
		die("TUNSETOFFLOAD CSUM|TSO4|TSO6: %s", strerror(-ret));
	printf("ok: TUNSETOFFLOAD CSUM|TSO4|TSO6 accepted\n");
}

static int open_fails(const char *spec)
{
	char err[256] = "";
	int ret = net_port_open(spec, &port, err, sizeof(err));

	if (!ret)
		die("net_port_open(%s) succeeded", spec);
	printf("ok: net_port_open(%s) fails: %s\n", spec, err);
	return 0;
}

int main(int argc, char **argv)
{
	char spec[64], err[256] = "";
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "--open-fails"))
		return open_fails(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "--port")) {
		if (!inet_aton(argv[3], &tap_ip) || !inet_aton(argv[4], &probe_ip))
			die("bad addresses");
		return probe_port(argv[2]);
	}
	if (argc < 4 || argc > 5 || !inet_aton(argv[2], &tap_ip) || !inet_aton(argv[3], &probe_ip)) {
		fprintf(stderr, "usage: %s NAME TAP_IP PROBE_IP [SETUP_CMD]\n"
			"       %s --open-fails SPEC\n", argv[0], argv[0]);
		return 2;
	}
	snprintf(spec, sizeof(spec), "tap:%s", argv[1]);
	ret = net_port_open(spec, &port, err, sizeof(err));
	if (ret)
		die("net_port_open(%s): %s", spec, err);
	printf("ok: net_port_open(%s)\n", spec);
	check_link_up(argv[1]);
	check_second_queue(spec);
	check_offloads();
	if (argc == 5 && system(argv[4]))
		die("setup command failed: %s", argv[4]);
	check_arp();
	check_ping(1, PING_FULL, "ping with a full ICMP checksum answered");
	check_ping(2, PING_OFFLOAD, "ping with NEEDS_CSUM and the checksum left to offload answered");
	check_ping(3, PING_BAD, "ping with a bad checksum and no NEEDS_CSUM not answered (the kernel checks)");
	check_ping(4, PING_OFFLOAD, "second offloaded ping answered");
	if (port->stats.tx_packets < 5 || port->stats.rx_packets < 4 || port->stats.tx_drops)
		die("stats: tx %lu rx %lu tx_drops %lu", (unsigned long)port->stats.tx_packets,
		    (unsigned long)port->stats.rx_packets, (unsigned long)port->stats.tx_drops);
	printf("ok: stats tx %lu frames / %lu bytes, rx %lu frames / %lu bytes\n",
	       (unsigned long)port->stats.tx_packets, (unsigned long)port->stats.tx_bytes,
	       (unsigned long)port->stats.rx_packets, (unsigned long)port->stats.rx_bytes);
	net_port_close(port);
	return 0;
}
