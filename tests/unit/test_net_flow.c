// SPDX-License-Identifier: MIT
/*
 * Frame parsing and the Toeplitz hash (src/net/flow.c): the hash against
 * the verification values of Microsoft's RSS specification, the parser on
 * IPv4/IPv6, VLAN tags, fragments and truncated or lying headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/flow.h"

/* The key of the RSS verification suite. */
static const uint8_t ms_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static void test_toeplitz_ipv4(void **state)
{
	/* source 66.9.149.187:2794, destination 161.142.100.80:1766 */
	const uint8_t in1[12] = { 66, 9, 149, 187, 161, 142, 100, 80, 0x0a, 0xea, 0x06, 0xe6 };
	/* source 199.92.111.2:14230, destination 65.69.140.83:4739 */
	const uint8_t in2[12] = { 199, 92, 111, 2, 65, 69, 140, 83, 0x37, 0x96, 0x12, 0x83 };

	(void)state;
	assert_int_equal(net_toeplitz(ms_key, 40, in1, 8), 0x323e8fc2);
	assert_int_equal(net_toeplitz(ms_key, 40, in1, 12), 0x51ccc178);
	assert_int_equal(net_toeplitz(ms_key, 40, in2, 8), 0xd718262a);
	assert_int_equal(net_toeplitz(ms_key, 40, in2, 12), 0xc626b0ea);
	/* A key too short for the input gives no hash rather than reading past it. */
	assert_int_equal(net_toeplitz(ms_key, 10, in1, 12), 0);
}

static void test_toeplitz_ipv6(void **state)
{
	/* source 3ffe:2501:200:1fff::7 port 2794, destination 3ffe:2501:200:3::1 port 1766 */
	const uint8_t in[36] = {
		0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x07,
		0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0x0a, 0xea, 0x06, 0xe6,
	};

	(void)state;
	assert_int_equal(net_toeplitz(ms_key, 40, in, 32), 0x2cc18cd5);
	assert_int_equal(net_toeplitz(ms_key, 40, in, 36), 0x40207d3d);
}

static size_t ipv4_udp(uint8_t *f, bool vlan)
{
	size_t o = vlan ? 4 : 0;

	memset(f, 0, 64);
	f[12] = 0x81, f[13] = 0x00, f[14] = 0x20, f[15] = 0x64; /* VLAN 100, priority 1 */
	f[12 + o] = 0x08, f[13 + o] = 0x00;
	f[14 + o] = 0x45;
	f[23 + o] = 17;
	memcpy(f + 26 + o, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	f[34 + o] = 0x12, f[35 + o] = 0x34, f[36 + o] = 0x00, f[37 + o] = 0x35;
	return 42 + o;
}

static void test_parse_ipv4(void **state)
{
	uint8_t f[64], in[36];
	struct net_flow fl;
	size_t len = ipv4_udp(f, true);

	(void)state;
	net_flow_parse(f, len, &fl);
	assert_true(fl.vlan);
	assert_int_equal(fl.vlan_tpid, NET_ETH_P_8021Q);
	assert_int_equal(fl.vlan_tci, 0x2064);
	assert_int_equal(fl.ethertype, NET_ETH_P_IPV4);
	assert_int_equal(fl.l3_off, 18);
	assert_int_equal(fl.l4_off, 38);
	assert_int_equal(fl.l4_proto, 17);
	assert_true(fl.ports);
	assert_int_equal(fl.sport, 0x1234);
	assert_int_equal(fl.dport, 53);
	assert_int_equal(net_flow_rss_input(&fl, true, in), 12);
	assert_memory_equal(in, "\x0a\x00\x00\x01\x0a\x00\x00\x02\x12\x34\x00\x35", 12);
	assert_int_equal(net_flow_rss_input(&fl, false, in), 8);
	/* A later fragment has no ports; the first one still has them. */
	len = ipv4_udp(f, false);
	f[20] = 0x00, f[21] = 0x10;
	net_flow_parse(f, len, &fl);
	assert_true(fl.frag);
	assert_false(fl.ports);
	assert_int_equal(fl.l4_off, 0);
	f[20] = 0x20, f[21] = 0x00; /* MF, offset 0 */
	net_flow_parse(f, len, &fl);
	assert_true(fl.frag);
	assert_true(fl.ports);
}

static void test_parse_ipv6(void **state)
{
	uint8_t f[128] = { 0 };
	struct net_flow fl;

	(void)state;
	f[12] = 0x86, f[13] = 0xdd;
	f[14] = 0x60;
	f[20] = 44; /* a fragment header, then TCP */
	f[54] = 6;
	f[62] = 0x01, f[63] = 0xbb, f[64] = 0xc0, f[65] = 0x00;
	f[62 + 13] = 0x12; /* SYN, ACK */
	net_flow_parse(f, 90, &fl);
	assert_true(fl.ipv6);
	assert_true(fl.frag);
	assert_int_equal(fl.l4_proto, 6);
	assert_int_equal(fl.l4_off, 62);
	assert_int_equal(fl.sport, 443);
	assert_true(fl.tcp_syn && fl.tcp_ack);
	assert_int_equal(fl.addr_len, 16);
}

static void test_parse_hostile(void **state)
{
	uint8_t f[64];
	struct net_flow fl;
	size_t len = ipv4_udp(f, false);

	(void)state;
	/* Every truncation parses without reading past the end. */
	for (size_t n = 0; n <= len; n++) {
		net_flow_parse(f, n, &fl);
		assert_true(!fl.ports || n >= 38);
		assert_true(!fl.l3_off || n >= 34);
	}
	/* An IHL below 5, or longer than the frame: not IP. */
	f[14] = 0x44;
	net_flow_parse(f, len, &fl);
	assert_int_equal(fl.l3_off, 0);
	f[14] = 0x4f;
	net_flow_parse(f, 40, &fl);
	assert_int_equal(fl.l3_off, 0);
	/* A version that does not match the ethertype. */
	f[14] = 0x65;
	net_flow_parse(f, len, &fl);
	assert_int_equal(fl.l3_off, 0);
	assert_int_equal(net_flow_rss_input(&fl, true, (uint8_t[36]){ 0 }), 0);
}

static void test_csum(void **state)
{
	/* RFC 1071's example: 0001 f203 f4f5 f6f7 sums to ddf2. */
	const uint8_t b[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	(void)state;
	assert_int_equal(net_csum_fold(net_csum_add(0, b, 8)), 0xddf2);
	/* Split in two pieces (even first) it is the same. */
	assert_int_equal(net_csum_fold(net_csum_add(net_csum_add(0, b, 4), b + 4, 4)), 0xddf2);
}

static void test_crc32c(void **state)
{
	(void)state;
	/* The CRC catalogue's check value, in one piece and in two. */
	assert_int_equal(~net_crc32c(~0u, (const uint8_t *)"123456789", 9), 0xe3069283);
	assert_int_equal(~net_crc32c(net_crc32c(~0u, (const uint8_t *)"1234", 4),
				     (const uint8_t *)"56789", 5), 0xe3069283);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_toeplitz_ipv4),
		cmocka_unit_test(test_toeplitz_ipv6),
		cmocka_unit_test(test_parse_ipv4),
		cmocka_unit_test(test_parse_ipv6),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_csum),
		cmocka_unit_test(test_crc32c),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
