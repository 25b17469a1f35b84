// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/net: net_port_open's parsing and errors, the loopback
 * port (MAC swap, header, gather/scatter, full ring, eventfd, offloads) and
 * the sink/source ports. TAP needs root and a netns: tests/integration.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/port.h"

#define HDR sizeof(struct net_hdr)

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0xaa };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0xbb };

/* ---- helpers ---- */

static struct net_port *open_ok(const char *spec)
{
	struct net_port *p = NULL;
	char err[256] = "";

	assert_int_equal(net_port_open(spec, &p, err, sizeof(err)), 0);
	assert_non_null(p);
	return p;
}

/* A frame: net_hdr @h, dst mac_a, src mac_b, EtherType 0x88b5, then i&0xff. */
static void make_frame(uint8_t *f, size_t len, const struct net_hdr *h)
{
	memcpy(f, h, HDR);
	memcpy(f + HDR, mac_a, 6);
	memcpy(f + HDR + 6, mac_b, 6);
	f[HDR + 12] = 0x88;
	f[HDR + 13] = 0xb5;
	for (size_t i = HDR + 14; i < len; i++)
		f[i] = (uint8_t)(i * 7);
}

static int send_flat(struct net_port *p, const uint8_t *f, size_t len)
{
	struct iovec iov = { (void *)f, len };

	return net_port_send(p, &iov, 1);
}

static ssize_t recv_flat(struct net_port *p, uint8_t *f, size_t len)
{
	struct iovec iov = { f, len };

	return net_port_recv(p, &iov, 1);
}

static bool readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	assert_true(poll(&pfd, 1, 0) >= 0);
	return pfd.revents & POLLIN;
}

/* The frame came back: MACs swapped, everything else as sent. */
static void assert_looped(const uint8_t *sent, const uint8_t *got, size_t len)
{
	assert_memory_equal(got + HDR, sent + HDR + 6, 6);
	assert_memory_equal(got + HDR + 6, sent + HDR, 6);
	assert_memory_equal(got + HDR + 12, sent + HDR + 12, len - HDR - 12);
}

/* ---- net_port_open ---- */

static void expect_einval(const char *spec, const char *needle)
{
	struct net_port *p = (struct net_port *)0x1;
	char err[256] = "";

	assert_int_equal(net_port_open(spec, &p, err, sizeof(err)), -EINVAL);
	assert_null(p);
	if (!strstr(err, needle))
		fail_msg("spec '%s': error '%s' lacks '%s'", spec ? spec : "(null)", err, needle);
}

static void test_open_errors(void **state)
{
	(void)state;
	expect_einval(NULL, "expected tap:NAME, dpdk:PORT, afxdp:IFNAME, loopback, sink or source");
	expect_einval("", "expected tap:NAME, dpdk:PORT, afxdp:IFNAME, loopback, sink or source");
	expect_einval("bogus", "expected tap:NAME, dpdk:PORT, afxdp:IFNAME, loopback, sink or source");
	expect_einval("taps:x", "unknown port");
	expect_einval("loop", "unknown port");
	expect_einval("tap", "expected tap:NAME");
	expect_einval("tap:", "name is missing");
	expect_einval("tap:0123456789abcdef", "at most 15 characters");
	expect_einval("tap:a/b", "not a valid interface name");
	expect_einval("tap:a:b", "not a valid interface name");
	expect_einval("tap:..", "not a valid interface name");
	expect_einval("loopback:1", "takes no argument");
	expect_einval("sink:x", "takes no argument");
	expect_einval("source:", "frame length from 60");
	expect_einval("source:59", "frame length from 60");
	expect_einval("source:65537", "frame length from 60");
	expect_einval("source:-100", "frame length from 60");
	expect_einval("source:64x", "frame length from 60");
	/* caught before DPDK or XDP are touched */
	expect_einval("dpdk", "expected dpdk:PORT");
	expect_einval("dpdk:", "expected dpdk:PORT");
	expect_einval("dpdk::steer=hw", "expected dpdk:PORT");
	expect_einval("dpdk:net_tap0:steer=maybe", "steer= takes auto, hw or sw");
	expect_einval("dpdk:0123456789012345678901234567890123456789012345678901234567890", "too long");
	expect_einval("afxdp", "expected afxdp:IFNAME");
	expect_einval("afxdp:", "expected afxdp:IFNAME");
	expect_einval("afxdp:eth0:queue=", "queue= takes 0 to 255");
	expect_einval("afxdp:eth0:queue=256", "queue= takes 0 to 255");
	expect_einval("afxdp:eth0:mode=drv", "the only option is queue=N");
}

static void test_open_without_err_buffer(void **state)
{
	struct net_port *p;

	(void)state;
	assert_int_equal(net_port_open("nope", &p, NULL, 0), -EINVAL);
	assert_int_equal(net_port_open("loopback", &p, NULL, 0), 0);
	net_port_close(p);
	net_port_close(NULL);
}

static void test_open_names(void **state)
{
	struct net_port *lo = open_ok("loopback");
	struct net_port *sink = open_ok("sink");
	struct net_port *src = open_ok("source");
	struct net_port *src2 = open_ok("source:1518");

	(void)state;
	assert_string_equal(lo->name, "loopback");
	assert_string_equal(sink->name, "sink");
	assert_string_equal(src->name, "source:60");
	assert_string_equal(src2->name, "source:1518");
	assert_true(lo->rx_fd >= 0);
	assert_int_equal(lo->tx_fd, -1);
	assert_int_equal(sink->rx_fd, -1);
	assert_int_equal(sink->tx_fd, -1);
	assert_int_equal(lo->offloads, 0);
	assert_int_equal(lo->mtu, 1500);
	net_port_close(lo);
	net_port_close(sink);
	net_port_close(src);
	net_port_close(src2);
}

/* ---- loopback ---- */

static void test_loopback_swap_and_header(void **state)
{
	struct net_port *p = open_ok("loopback");
	struct net_hdr h = {
		.flags = NET_HDR_F_NEEDS_CSUM, .gso_type = NET_HDR_GSO_NONE,
		.hdr_len = 0, .gso_size = 0, .csum_start = 20, .csum_offset = 6,
		.num_buffers = 0,
	};
	uint8_t f[128], g[256];

	(void)state;
	/* the receive side takes partial checksums: the header passes as is */
	assert_int_equal(net_port_set_offloads(p, NET_OFFLOAD_CSUM), 0);
	assert_int_equal(p->offloads, NET_OFFLOAD_CSUM);
	make_frame(f, sizeof(f), &h);
	assert_int_equal(send_flat(p, f, sizeof(f)), 0);
	memset(g, 0xee, sizeof(g));
	assert_int_equal(recv_flat(p, g, sizeof(g)), sizeof(f));
	assert_memory_equal(g, f, HDR);
	assert_looped(f, g, sizeof(f));
	assert_int_equal(g[sizeof(f)], 0xee);
	assert_int_equal(recv_flat(p, g, sizeof(g)), -EAGAIN);
	assert_int_equal(p->stats.tx_packets, 1);
	assert_int_equal(p->stats.tx_bytes, sizeof(f) - HDR);
	assert_int_equal(p->stats.rx_packets, 1);
	assert_int_equal(p->stats.rx_bytes, sizeof(f) - HDR);
	net_port_close(p);
}

static void test_loopback_gather_scatter(void **state)
{
	struct net_port *p = open_ok("loopback");
	struct net_hdr h = { .gso_size = 0x1234, .hdr_len = 0x4321 };
	uint8_t f[1000], a[5], b[300], c[695], r1[7], r2[1], r3[500], r4[600];
	/* the header itself is split, and one iovec is empty */
	struct iovec tx[] = { { a, sizeof(a) }, { NULL, 0 }, { b, sizeof(b) }, { c, sizeof(c) } };
	struct iovec rx[] = { { r1, sizeof(r1) }, { r2, sizeof(r2) }, { r3, sizeof(r3) }, { r4, sizeof(r4) } };
	uint8_t got[sizeof(r1) + sizeof(r2) + sizeof(r3) + sizeof(r4)];

	(void)state;
	make_frame(f, sizeof(f), &h);
	memcpy(a, f, sizeof(a));
	memcpy(b, f + sizeof(a), sizeof(b));
	memcpy(c, f + sizeof(a) + sizeof(b), sizeof(c));
	assert_int_equal(net_port_send(p, tx, 4), 0);
	assert_int_equal(net_port_recv(p, rx, 4), sizeof(f));
	memcpy(got, r1, sizeof(r1));
	memcpy(got + 7, r2, sizeof(r2));
	memcpy(got + 8, r3, sizeof(r3));
	memcpy(got + 508, r4, sizeof(r4));
	assert_memory_equal(got, f, HDR);
	assert_looped(f, got, sizeof(f));
	net_port_close(p);
}

static void test_loopback_ring_full(void **state)
{
	struct net_port *p = open_ok("loopback");
	struct net_hdr h = { 0 };
	uint8_t f[64], g[64];
	int sent = 0;

	(void)state;
	make_frame(f, sizeof(f), &h);
	while (send_flat(p, f, sizeof(f)) == 0)
		assert_true(++sent <= 4096);
	assert_int_equal(sent, 256);
	assert_int_equal(send_flat(p, f, sizeof(f)), -EAGAIN);
	/* a full ring is back-pressure, not a drop */
	assert_int_equal(p->stats.tx_drops, 0);
	assert_int_equal(recv_flat(p, g, sizeof(g)), sizeof(f));
	assert_int_equal(send_flat(p, f, sizeof(f)), 0);
	assert_int_equal(send_flat(p, f, sizeof(f)), -EAGAIN);
	for (int i = 0; i < 256; i++)
		assert_int_equal(recv_flat(p, g, sizeof(g)), sizeof(f));
	assert_int_equal(recv_flat(p, g, sizeof(g)), -EAGAIN);
	net_port_close(p);
}

/* Big frames fill the bytes before the slots; contents survive the wrap. */
static void test_loopback_big_frames_wrap(void **state)
{
	struct net_port *p = open_ok("loopback");
	size_t len = NET_MAX_FRAME;
	uint8_t *f = malloc(len), *g = malloc(len);
	struct net_hdr h = { 0 };
	int sent = 0;

	(void)state;
	assert_non_null(f);
	assert_non_null(g);
	make_frame(f, len, &h);
	while (send_flat(p, f, len) == 0) {
		f[len - 1]++;
		assert_true(++sent <= 256);
	}
	assert_int_equal(sent, (1 << 20) / len);
	/* room for one more at the start once the oldest is gone */
	for (int round = 0; round < 40; round++) {
		uint8_t expect = (uint8_t)(f[len - 1] - sent);

		assert_int_equal(recv_flat(p, g, len), len);
		assert_int_equal(g[len - 1], expect);
		assert_memory_equal(g + HDR + 14, f + HDR + 14, len - HDR - 15);
		assert_int_equal(send_flat(p, f, len), 0);
		f[len - 1]++;
		assert_int_equal(send_flat(p, f, len), -EAGAIN);
	}
	assert_int_equal(send_flat(p, f, len + 1), -EMSGSIZE);
	free(f);
	free(g);
	net_port_close(p);
}

static void test_loopback_eventfd(void **state)
{
	struct net_port *p = open_ok("loopback");
	struct net_hdr h = { 0 };
	uint8_t f[80], g[80];

	(void)state;
	make_frame(f, sizeof(f), &h);
	assert_false(readable(p->rx_fd));
	assert_int_equal(send_flat(p, f, sizeof(f)), 0);
	assert_true(readable(p->rx_fd));
	assert_int_equal(send_flat(p, f, sizeof(f)), 0);
	assert_true(readable(p->rx_fd));
	assert_int_equal(recv_flat(p, g, sizeof(g)), sizeof(f));
	assert_true(readable(p->rx_fd));
	assert_int_equal(recv_flat(p, g, sizeof(g)), sizeof(f));
	assert_false(readable(p->rx_fd));
	assert_int_equal(send_flat(p, f, sizeof(f)), 0);
	assert_true(readable(p->rx_fd));
	net_port_close(p);
}

static void test_loopback_small_buffers(void **state)
{
	struct net_port *p = open_ok("loopback");
	struct net_hdr h = { 0 };
	uint8_t f[100], g[100];

	(void)state;
	make_frame(f, sizeof(f), &h);
	assert_int_equal(send_flat(p, f, sizeof(f)), 0);
	/* too small for even the header: nothing is consumed */
	assert_int_equal(recv_flat(p, g, HDR - 1), -EINVAL);
	assert_true(readable(p->rx_fd));
	/* too small for the frame: it is dropped */
	assert_int_equal(recv_flat(p, g, sizeof(f) - 1), -EMSGSIZE);
	assert_int_equal(p->stats.rx_drops, 1);
	assert_int_equal(p->stats.rx_packets, 0);
	assert_false(readable(p->rx_fd));
	assert_int_equal(recv_flat(p, g, sizeof(g)), -EAGAIN);
	/* runts without an Ethernet header are refused */
	assert_int_equal(send_flat(p, f, HDR + 13), -EINVAL);
	assert_int_equal(send_flat(p, f, HDR - 1), -EINVAL);
	assert_int_equal(p->stats.tx_drops, 2);
	net_port_close(p);
}

/* One's complement sum over big-endian 16-bit words. */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * An IPv4/UDP frame as Linux sends it with a checksum offload: the UDP
 * checksum field holds the pseudo-header sum.
 */
static size_t make_udp_partial(uint8_t *f, size_t payload)
{
	uint8_t *ip = f + HDR + 14, *udp = ip + 20;
	uint16_t ulen = (uint16_t)(8 + payload);
	struct net_hdr h = {
		.flags = NET_HDR_F_NEEDS_CSUM, .csum_start = 14 + 20, .csum_offset = 6,
	};
	uint32_t pseudo;
	size_t len = HDR + 14 + 20 + ulen;

	make_frame(f, len, &h);
	f[HDR + 12] = 0x08;
	f[HDR + 13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (20 + ulen) >> 8;
	ip[3] = (20 + ulen) & 0xff;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (uint8_t[]){ 10, 77, 0, 2, 10, 77, 0, 1 }, 8);
	udp[0] = 0x30, udp[1] = 0x39, udp[2] = 0x00, udp[3] = 0x35;
	udp[4] = ulen >> 8, udp[5] = ulen & 0xff;
	pseudo = sum16(ip + 12, 8, 17 + ulen);
	udp[6] = fold(pseudo) >> 8;
	udp[7] = fold(pseudo) & 0xff;
	return len;
}

static void test_loopback_csum_completed(void **state)
{
	struct net_port *p = open_ok("loopback");
	uint8_t f[200], g[200];
	const uint8_t *ip = g + HDR + 14;
	struct net_hdr got;
	size_t len = make_udp_partial(f, 31); /* odd length on purpose */
	uint16_t ulen = (uint16_t)(8 + 31);

	(void)state;
	/* the receive side did not enable CSUM: the port completes it */
	assert_int_equal(send_flat(p, f, len), 0);
	assert_int_equal(recv_flat(p, g, sizeof(g)), len);
	memcpy(&got, g, HDR);
	assert_int_equal(got.flags, 0);
	/* the full UDP sum with the pseudo header checks out to 0xffff */
	assert_int_equal(fold(sum16(ip + 20, ulen, sum16(ip + 12, 8, 17 + ulen))), 0xffff);

	/* a checksum field outside the frame is a drop */
	((struct net_hdr *)f)->csum_offset = 200;
	assert_int_equal(send_flat(p, f, len), -EINVAL);
	assert_int_equal(p->stats.tx_drops, 1);
	net_port_close(p);
}

static void test_loopback_data_valid_cleared(void **state)
{
	struct net_port *p = open_ok("loopback");
	struct net_hdr h = { .flags = NET_HDR_F_DATA_VALID };
	uint8_t f[64], g[64];

	(void)state;
	make_frame(f, sizeof(f), &h);
	assert_int_equal(send_flat(p, f, sizeof(f)), 0);
	assert_int_equal(recv_flat(p, g, sizeof(g)), sizeof(f));
	assert_int_equal(g[0], 0);
	net_port_close(p);
}

static void test_loopback_gso(void **state)
{
	struct net_port *p = open_ok("loopback");
	struct net_hdr h = {
		.flags = NET_HDR_F_NEEDS_CSUM, .gso_type = NET_HDR_GSO_TCPV4,
		.hdr_len = 54, .gso_size = 1448, .csum_start = 34, .csum_offset = 16,
	};
	uint8_t f[3000], g[3000];

	(void)state;
	make_frame(f, sizeof(f), &h);
	/* the receive side cannot take it and the port does not segment */
	assert_int_equal(send_flat(p, f, sizeof(f)), -EOPNOTSUPP);
	assert_int_equal(p->stats.tx_drops, 1);
	assert_int_equal(net_port_set_offloads(p, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4), 0);
	assert_int_equal(send_flat(p, f, sizeof(f)), 0);
	assert_int_equal(recv_flat(p, g, sizeof(g)), sizeof(f));
	assert_memory_equal(g, f, HDR);
	/* ECN needs its own offload; TCPv6 is not TSO4 */
	f[1] = NET_HDR_GSO_TCPV4 | NET_HDR_GSO_ECN;
	assert_int_equal(send_flat(p, f, sizeof(f)), -EOPNOTSUPP);
	f[1] = NET_HDR_GSO_TCPV6;
	assert_int_equal(send_flat(p, f, sizeof(f)), -EOPNOTSUPP);
	f[1] = NET_HDR_GSO_UDP;
	assert_int_equal(send_flat(p, f, sizeof(f)), -EOPNOTSUPP);
	net_port_close(p);
}

static void test_set_offloads_checks(void **state)
{
	const char *specs[] = { "loopback", "sink", "source" };

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		struct net_port *p = open_ok(specs[i]);

		assert_int_equal(net_port_set_offloads(p, NET_OFFLOAD_TSO4), -EINVAL);
		assert_int_equal(net_port_set_offloads(p, 0x10), -EINVAL);
		assert_int_equal(p->offloads, 0);
		assert_int_equal(net_port_set_offloads(p, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 |
						       NET_OFFLOAD_TSO6 | NET_OFFLOAD_TSO_ECN), 0);
		assert_int_equal(net_port_set_offloads(p, 0), 0);
		assert_int_equal(p->offloads, 0);
		net_port_close(p);
	}
}

/* ---- sink and source ---- */

static void test_sink_counts(void **state)
{
	struct net_port *p = open_ok("sink");
	struct net_hdr h = { 0 };
	uint8_t f[1514 + HDR], g[64];

	(void)state;
	make_frame(f, sizeof(f), &h);
	for (int i = 0; i < 3; i++)
		assert_int_equal(send_flat(p, f, sizeof(f)), 0);
	assert_int_equal(send_flat(p, f, 60 + HDR), 0);
	assert_int_equal(send_flat(p, f, HDR - 1), -EINVAL);
	assert_int_equal(p->stats.tx_packets, 4);
	assert_int_equal(p->stats.tx_bytes, 3 * 1514 + 60);
	assert_int_equal(p->stats.tx_drops, 1);
	assert_int_equal(recv_flat(p, g, sizeof(g)), -EAGAIN);
	assert_int_equal(p->stats.rx_packets, 0);
	net_port_close(p);
}

static void test_source_frames(void **state)
{
	struct net_port *p = open_ok("source:64");
	uint8_t g[200];
	struct net_hdr zero = { 0 };

	(void)state;
	assert_true(readable(p->rx_fd));
	for (int i = 0; i < 5; i++) {
		memset(g, 0xee, sizeof(g));
		assert_int_equal(recv_flat(p, g, sizeof(g)), 64 + HDR);
		assert_memory_equal(g, &zero, HDR);
		assert_memory_equal(g + HDR, "\xff\xff\xff\xff\xff\xff", 6);
		assert_int_equal(g[HDR + 12], 0x88);
		assert_int_equal(g[HDR + 13], 0xb5);
		assert_int_equal(g[64 + HDR], 0xee);
	}
	assert_true(readable(p->rx_fd));
	assert_int_equal(recv_flat(p, g, 63 + HDR), -EMSGSIZE);
	assert_int_equal(p->stats.rx_packets, 5);
	assert_int_equal(p->stats.rx_bytes, 5 * 64);
	assert_int_equal(p->stats.rx_drops, 1);
	/* and it sinks what it is sent */
	assert_int_equal(send_flat(p, g, 64 + HDR), 0);
	assert_int_equal(p->stats.tx_packets, 1);
	net_port_close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_without_err_buffer),
		cmocka_unit_test(test_open_names),
		cmocka_unit_test(test_loopback_swap_and_header),
		cmocka_unit_test(test_loopback_gather_scatter),
		cmocka_unit_test(test_loopback_ring_full),
		cmocka_unit_test(test_loopback_big_frames_wrap),
		cmocka_unit_test(test_loopback_eventfd),
		cmocka_unit_test(test_loopback_small_buffers),
		cmocka_unit_test(test_loopback_csum_completed),
		cmocka_unit_test(test_loopback_data_valid_cleared),
		cmocka_unit_test(test_loopback_gso),
		cmocka_unit_test(test_set_offloads_checks),
		cmocka_unit_test(test_sink_counts),
		cmocka_unit_test(test_source_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
