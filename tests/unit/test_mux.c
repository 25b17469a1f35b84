// SPDX-License-Identifier: MIT
/*
 * Unit tests for the mux (src/net/mux.c: membership, MAC ownership,
 * classification, leaving under a reader) and for software segmentation
 * (src/net/gso.c).
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/backend.h"
#include "net/mux.h"

static const uint8_t mac_a[6] = { 0x52, 0x54, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0, 0, 0, 0x0b };
static const uint8_t mac_c[6] = { 0x52, 0x54, 0, 0, 0, 0x0c };
static const uint8_t mac_x[6] = { 0x52, 0x54, 0, 0, 0, 0xee };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 0x01 };
static int dev_a, dev_b, dev_c, dev_d; /* owners */

struct three {
	struct mux x;
	int a, a2, b, c; /* a2: a's second queue pair */
};

static uint8_t eth[14];

static const uint8_t *frame(const uint8_t *dst, const uint8_t *src)
{
	memcpy(eth, dst, 6);
	memcpy(eth + 6, src, 6);
	return eth;
}

static int setup(void **state)
{
	static struct three t;
	bool primary;

	mux_init(&t.x);
	t.a = mux_join(&t.x, mac_a, &dev_a, &primary);
	assert_true(t.a >= 0 && primary);
	t.a2 = mux_join(&t.x, mac_a, &dev_a, &primary);
	assert_true(t.a2 >= 0 && !primary);
	t.b = mux_join(&t.x, mac_b, &dev_b, &primary);
	assert_true(t.b >= 0 && primary);
	t.c = mux_join(&t.x, mac_c, &dev_c, &primary);
	assert_true(t.c >= 0 && primary);
	*state = &t;
	return 0;
}

#define BIT(i) (1ull << (i))

/* ---- membership ---- */

static void test_join_ownership(void **state)
{
	struct three *t = *state;
	int other = 0;
	bool primary;

	assert_int_equal(mux_join(&t->x, mac_b, &other, &primary), -EADDRINUSE);
	assert_int_equal(mux_join(&t->x, bcast, &other, &primary), -EINVAL);
	assert_int_equal(mux_join(&t->x, mcast, &other, &primary), -EINVAL);
	assert_int_equal(mux_join(&t->x, (const uint8_t[6]){ 0 }, &other, &primary), -EINVAL);
	/* one device, one address */
	assert_int_equal(mux_join(&t->x, mac_x, &dev_a, &primary), -EINVAL);
}

static void test_join_full(void **state)
{
	struct mux x;
	uint8_t mac[6] = { 0x52, 0x54, 0, 0, 1, 0 };
	int owners[MUX_MAX_MEMBERS + 1];
	bool primary;

	(void)state;
	mux_init(&x);
	for (int i = 0; i < MUX_MAX_MEMBERS; i++) {
		mac[5] = (uint8_t)i;
		assert_int_equal(mux_join(&x, mac, &owners[i], &primary), i);
	}
	mac[4] = 2;
	assert_int_equal(mux_join(&x, mac, &owners[MUX_MAX_MEMBERS], &primary), -ENOSPC);
	mux_leave(&x, 7);
	assert_int_equal(mux_join(&x, mac, &owners[MUX_MAX_MEMBERS], &primary), 7);
}

static void test_leave_hands_on_primary(void **state)
{
	struct three *t = *state;
	struct mux_verdict v;
	bool primary;
	int again;

	mux_leave(&t->x, (unsigned)t->a);
	mux_classify(&t->x, frame(mac_a, mac_x), -1, &v);
	assert_int_equal(v.to, BIT(t->a2));
	/* the address is free once the device is gone */
	mux_leave(&t->x, (unsigned)t->a2);
	mux_classify(&t->x, frame(mac_a, mac_x), -1, &v);
	assert_int_equal(v.to, 0);
	again = mux_join(&t->x, mac_a, &dev_d, &primary);
	assert_true(again >= 0 && primary);
}

/* ---- from the wire ---- */

static void test_wire_unicast(void **state)
{
	struct three *t = *state;
	struct mux_verdict v;

	mux_classify(&t->x, frame(mac_b, mac_x), -1, &v);
	assert_int_equal(v.to, BIT(t->b));
	assert_false(v.wire);
	assert_false(v.spoofed);
	mux_classify(&t->x, frame(mac_x, mac_a), -1, &v);
	assert_int_equal(v.to, 0);
	assert_int_equal(t->x.stats.unknown, 1);
}

static void test_wire_broadcast_multicast(void **state)
{
	struct three *t = *state;
	uint64_t all = BIT(t->a) | BIT(t->b) | BIT(t->c);
	struct mux_verdict v;

	mux_classify(&t->x, frame(bcast, mac_x), -1, &v);
	assert_int_equal(v.to, all); /* a's second pair does not receive */
	mux_classify(&t->x, frame(mcast, mac_x), -1, &v);
	assert_int_equal(v.to, all);
	assert_false(v.wire);
}

static void test_wire_promisc(void **state)
{
	struct three *t = *state;
	struct mux_verdict v;

	mux_set_promisc(&t->x, (unsigned)t->c, true);
	mux_classify(&t->x, frame(mac_b, mac_x), -1, &v);
	assert_int_equal(v.to, BIT(t->b) | BIT(t->c));
	mux_classify(&t->x, frame(mac_x, mac_x), -1, &v);
	assert_int_equal(v.to, BIT(t->c));
	mux_set_promisc(&t->x, (unsigned)t->c, false);
	mux_classify(&t->x, frame(mac_x, mac_x), -1, &v);
	assert_int_equal(v.to, 0);
	/* only receiving members count */
	mux_set_promisc(&t->x, (unsigned)t->a2, true);
	assert_int_equal(t->x.npromisc, 0);
}

/* ---- from a member ---- */

static void test_member_unicast(void **state)
{
	struct three *t = *state;
	struct mux_verdict v;

	mux_classify(&t->x, frame(mac_b, mac_a), t->a, &v);
	assert_int_equal(v.to, BIT(t->b));
	assert_false(v.wire);
	mux_classify(&t->x, frame(mac_b, mac_a), t->a2, &v); /* a's other pair: same */
	assert_int_equal(v.to, BIT(t->b));
	mux_classify(&t->x, frame(mac_x, mac_a), t->a, &v);
	assert_int_equal(v.to, 0);
	assert_true(v.wire);
	/* to its own address: nowhere */
	mux_classify(&t->x, frame(mac_a, mac_a), t->a2, &v);
	assert_int_equal(v.to, 0);
	assert_false(v.wire);
	assert_int_equal(t->x.stats.local, 2);
}

static void test_member_broadcast(void **state)
{
	struct three *t = *state;
	struct mux_verdict v;

	mux_classify(&t->x, frame(bcast, mac_b), t->b, &v);
	assert_int_equal(v.to, BIT(t->a) | BIT(t->c));
	assert_true(v.wire);
	mux_classify(&t->x, frame(mcast, mac_a), t->a2, &v);
	assert_int_equal(v.to, BIT(t->b) | BIT(t->c));
	assert_true(v.wire);
}

static void test_member_promisc(void **state)
{
	struct three *t = *state;
	struct mux_verdict v;

	mux_set_promisc(&t->x, (unsigned)t->c, true);
	mux_set_promisc(&t->x, (unsigned)t->a, true);
	mux_classify(&t->x, frame(mac_b, mac_a), t->a, &v);
	assert_int_equal(v.to, BIT(t->b) | BIT(t->c)); /* not back to a */
	mux_classify(&t->x, frame(mac_x, mac_b), t->b, &v);
	assert_int_equal(v.to, BIT(t->a) | BIT(t->c));
	assert_true(v.wire);
}

static void test_member_spoof(void **state)
{
	struct three *t = *state;
	struct mux_verdict v;

	mux_set_promisc(&t->x, (unsigned)t->c, true);
	mux_classify(&t->x, frame(mac_c, mac_b), t->a, &v);
	assert_true(v.spoofed);
	assert_int_equal(v.to, 0);
	assert_false(v.wire);
	mux_classify(&t->x, frame(bcast, mac_x), t->a, &v);
	assert_true(v.spoofed);
	assert_int_equal(v.to, 0);
	mux_classify(&t->x, frame(bcast, bcast), t->b, &v);
	assert_true(v.spoofed);
	assert_int_equal(t->x.stats.spoofed, 3);
}

/* ---- leaving waits for readers ---- */

struct reader {
	struct mux *x;
	unsigned self;
	int in, out; /* set when inside, when about to leave the bracket */
};

static void *read_slowly(void *arg)
{
	struct reader *r = arg;

	mux_enter(r->x, r->self);
	__atomic_store_n(&r->in, 1, __ATOMIC_SEQ_CST);
	usleep(100 * 1000);
	__atomic_store_n(&r->out, 1, __ATOMIC_SEQ_CST);
	mux_exit(r->x, r->self);
	return NULL;
}

static void test_leave_waits_for_reader(void **state)
{
	struct three *t = *state;
	struct reader r = { .x = &t->x, .self = (unsigned)t->a };
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, read_slowly, &r), 0);
	while (!__atomic_load_n(&r.in, __ATOMIC_SEQ_CST))
		usleep(1000);
	mux_leave(&t->x, (unsigned)t->b);
	assert_int_equal(__atomic_load_n(&r.out, __ATOMIC_SEQ_CST), 1);
	pthread_join(th, NULL);
	/* a reader entering now no longer sees b */
	mux_leave(&t->x, (unsigned)t->c); /* nobody inside: returns at once */
}

/* ---- software segmentation ---- */

#define HDR NET_HDR_LEN

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A TCP frame (IPv4 or IPv6) with @payload bytes, GSO with @mss, flags PSH|ACK|FIN|CWR. */
static size_t tcp_frame(uint8_t *f, bool v6, size_t payload, uint16_t mss)
{
	size_t l3 = HDR + 14, l3len = v6 ? 40 : 20, l4 = l3 + l3len;
	struct net_hdr h = {
		.flags = NET_HDR_F_NEEDS_CSUM,
		.gso_type = v6 ? NET_HDR_GSO_TCPV6 : NET_HDR_GSO_TCPV4,
		.gso_size = htole16(mss),
		.csum_start = htole16(14 + l3len),
		.csum_offset = htole16(16),
	};

	memset(f, 0, l4 + 20 + payload);
	memcpy(f, &h, sizeof(h));
	memcpy(f + HDR, mac_b, 6);
	memcpy(f + HDR + 6, mac_a, 6);
	f[HDR + 12] = v6 ? 0x86 : 0x08;
	f[HDR + 13] = v6 ? 0xdd : 0x00;
	if (v6) {
		f[l3] = 0x60;
		f[l3 + 4] = (uint8_t)((20 + payload) >> 8);
		f[l3 + 5] = (uint8_t)(20 + payload);
		f[l3 + 6] = 6;
		f[l3 + 23] = 1, f[l3 + 39] = 2;
	} else {
		f[l3] = 0x45;
		f[l3 + 2] = (uint8_t)((20 + 20 + payload) >> 8);
		f[l3 + 3] = (uint8_t)(20 + 20 + payload);
		f[l3 + 4] = 0x12, f[l3 + 5] = 0x34;
		f[l3 + 9] = 6;
		f[l3 + 12] = 10, f[l3 + 15] = 1, f[l3 + 16] = 10, f[l3 + 19] = 2;
	}
	f[l4 + 4] = 0x10; /* seq 0x10000000 */
	f[l4 + 12] = 5 << 4;
	f[l4 + 13] = 0x80 | 0x18 | 0x01; /* CWR PSH ACK FIN */
	for (size_t i = 0; i < payload; i++)
		f[l4 + 20 + i] = (uint8_t)(i * 7);
	return l4 + 20 + payload;
}

/* The L4 checksum over pseudo header and segment sums to 0xffff. */
static bool seg_csum_ok(const uint8_t *eth, size_t len, bool v6)
{
	size_t l3 = 14, l4 = v6 ? 54 : 34, tlen = len - l4;
	uint32_t s = v6 ? net_csum_add(0, eth + l3 + 8, 32) : net_csum_add(0, eth + l3 + 12, 8);

	s += 6 + (uint32_t)tlen;
	return net_csum_fold(net_csum_add(s, eth + l4, tlen)) == 0xffff;
}

static void check_segments(bool v6)
{
	static uint8_t f[8192], out[4096];
	size_t len = tcp_frame(f, v6, 2500, 1000), hl = v6 ? 74 : 54;
	struct net_gso g;
	ssize_t n;

	assert_int_equal(net_gso_start(&g, f, len), 0);
	assert_int_equal(net_gso_next(&g, out, 100), -EMSGSIZE); /* nothing consumed */
	for (unsigned i = 0; i < 3; i++) {
		const uint8_t *eth = out + HDR, *tcp = eth + hl - 20;
		size_t plen = i < 2 ? 1000 : 500;

		n = net_gso_next(&g, out, sizeof(out));
		assert_int_equal(n, HDR + hl + plen);
		assert_int_equal(out[0], 0); /* flags: checksums complete */
		assert_int_equal(out[1], NET_HDR_GSO_NONE);
		if (v6) {
			assert_int_equal(be16(eth + 14 + 4), 20 + plen);
		} else {
			assert_int_equal(be16(eth + 14 + 2), 40 + plen);
			assert_int_equal(be16(eth + 14 + 4), 0x1234 + i);
			assert_int_equal(net_csum_fold(net_csum_add(0, eth + 14, 20)), 0xffff);
		}
		assert_int_equal(be32(tcp + 4), 0x10000000 + 1000 * i);
		assert_int_equal(tcp[13] & 0x01, i == 2);       /* FIN on the last */
		assert_int_equal(tcp[13] & 0x08, i == 2 ? 8 : 0); /* PSH on the last */
		assert_int_equal(tcp[13] & 0x80, i == 0 ? 0x80 : 0); /* CWR on the first */
		assert_int_equal(eth[hl], (uint8_t)(1000 * i * 7));
		assert_true(seg_csum_ok(eth, (size_t)n - HDR, v6));
	}
	assert_int_equal(net_gso_next(&g, out, sizeof(out)), 0);
}

static void test_gso_tcp4(void **state)
{
	(void)state;
	check_segments(false);
}

static void test_gso_tcp6(void **state)
{
	(void)state;
	check_segments(true);
}

static void test_gso_refuses(void **state)
{
	static uint8_t f[4096];
	struct net_gso g;
	size_t len = tcp_frame(f, false, 1500, 1000);

	(void)state;
	f[HDR + 14 + 9] = 17; /* UDP */
	assert_int_equal(net_gso_start(&g, f, len), -EINVAL);
	len = tcp_frame(f, false, 1500, 0);
	assert_int_equal(net_gso_start(&g, f, len), -EINVAL); /* no MSS */
	len = tcp_frame(f, true, 1500, 1000);
	f[1] = NET_HDR_GSO_TCPV4; /* the header says IPv4, the frame is IPv6 */
	assert_int_equal(net_gso_start(&g, f, len), -EINVAL);
	len = tcp_frame(f, false, 1500, 1000);
	assert_int_equal(net_gso_start(&g, f, HDR + 14 + 30), -EINVAL); /* truncated */
	f[HDR + 14 + 20 + 12] = 0xf0; /* TCP header of 60 bytes: beyond the frame's end */
	assert_int_equal(net_gso_start(&g, f, HDR + 14 + 20 + 40), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_join_ownership, setup),
		cmocka_unit_test(test_join_full),
		cmocka_unit_test_setup(test_leave_hands_on_primary, setup),
		cmocka_unit_test_setup(test_wire_unicast, setup),
		cmocka_unit_test_setup(test_wire_broadcast_multicast, setup),
		cmocka_unit_test_setup(test_wire_promisc, setup),
		cmocka_unit_test_setup(test_member_unicast, setup),
		cmocka_unit_test_setup(test_member_broadcast, setup),
		cmocka_unit_test_setup(test_member_promisc, setup),
		cmocka_unit_test_setup(test_member_spoof, setup),
		cmocka_unit_test_setup(test_leave_waits_for_reader, setup),
		cmocka_unit_test(test_gso_tcp4),
		cmocka_unit_test(test_gso_tcp6),
		cmocka_unit_test(test_gso_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
