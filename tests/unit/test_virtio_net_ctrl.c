// SPDX-License-Identifier: MIT
/*
 * virtio-net control queue and RX filter (virtio 1.2, 5.1.6.5): commands
 * through the control queue of the unit-test fixture (vnet_fixture.h), and
 * which looped frames reach the RX ring. The loopback port swaps the MACs,
 * so a frame sent from X arrives addressed to X. A frame the filter drops
 * never shows in the RX ring, counts in rx_filtered, and leaves its buffers
 * for the next frame: each check sends the frame under test and then one
 * addressed to the device, and looks at what the RX ring got.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vnet_fixture.h"

#define CTRL_FEATURES (BASE_FEATURES | VIRTIO_BIT(VNET_F_CTRL_VQ) | VIRTIO_BIT(VNET_F_CTRL_RX) | \
		       VIRTIO_BIT(VNET_F_CTRL_MAC_ADDR))
#define CTRL_BUF (2 * QSIZE) /* buffer slots of the control commands */
#define OK 0
#define ERR 1

static const uint8_t foreign[6] = { 0x52, 0x54, 0, 0, 0, 0x33 };
static const uint8_t foreign2[6] = { 0x52, 0x54, 0, 0, 0, 0x44 };
static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 0xfb };
static const uint8_t mcast2[6] = { 0x33, 0x33, 0, 0, 0, 0x01 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Counters of the test: entries used so far on each queue. */
struct ctr {
	uint16_t tx, rx, ctrl;
};
static struct ctr n;

static struct vnet *model(struct t *t)
{
	return t->m.dev.state;
}

/* Send a control command (header, then @len bytes of @data); returns the device's ack. */
static uint8_t ctrl(struct t *t, uint8_t cls, uint8_t cmd, const void *data, size_t len)
{
	unsigned d = (2u * n.ctrl) % QSIZE;
	uint8_t *out = g(t, buf_gpa(CTRL_BUF)), *ack = g(t, buf_gpa(CTRL_BUF + 1));

	assert_true(len + 2 <= BUF_SIZE);
	out[0] = cls;
	out[1] = cmd;
	memcpy(out + 2, data, len);
	*ack = 0xee;
	set_desc(t, Q_CTRL, d, buf_gpa(CTRL_BUF), (uint32_t)len + 2, VRING_DESC_F_NEXT, d + 1);
	set_desc(t, Q_CTRL, d + 1, buf_gpa(CTRL_BUF + 1), 1, VRING_DESC_F_WRITE, 0);
	publish(t, Q_CTRL, (uint16_t)d);
	kick(t, Q_CTRL);
	assert_true(wait_used(t, Q_CTRL, ++n.ctrl));
	return *ack;
}

static uint8_t rx_mode(struct t *t, uint8_t cmd, uint8_t on)
{
	return ctrl(t, 0, cmd, &on, 1);
}

/* MAC TABLE_SET with @nu unicast then @nm multicast entries from @macs. */
static uint8_t mac_table(struct t *t, const uint8_t (*macs)[6], uint32_t nu, uint32_t nm)
{
	uint8_t buf[8 + 6 * 80];
	size_t off = 0;

	memcpy(buf, &nu, 4);
	memcpy(buf + 4, macs, 6 * nu);
	off = 4 + 6 * nu;
	memcpy(buf + off, &nm, 4);
	memcpy(buf + off + 4, macs + nu, 6 * nm);
	return ctrl(t, 1, 0, buf, off + 4 + 6 * nm);
}

/* A frame arriving addressed to @dst. */
static void arrive(struct t *t, const uint8_t dst[6])
{
	tx_frame(t, n.tx % 8, mac_b, dst);
	assert_true(wait_used(t, Q_TX, ++n.tx));
}

/* The frame to @dst is (@pass) or is not delivered; the RX ring holds what it should. */
static void expect(struct t *t, const uint8_t dst[6], bool pass)
{
	uint64_t dropped = model(t)->dp.rx_filtered;
	struct vring_used_elem e;

	arrive(t, dst);
	arrive(t, mac_a); /* a marker behind it, always accepted */
	n.rx += pass ? 2 : 1;
	assert_true(wait_used(t, Q_RX, n.rx));
	memcpy(&e, &used(t, Q_RX)->ring[(uint16_t)(n.rx - 1) % QSIZE], sizeof(e));
	assert_memory_equal((uint8_t *)g(t, buf_gpa(e.id)) + VNET_HDR_LEN, mac_a, 6);
	if (pass) {
		memcpy(&e, &used(t, Q_RX)->ring[(uint16_t)(n.rx - 2) % QSIZE], sizeof(e));
		assert_memory_equal((uint8_t *)g(t, buf_gpa(e.id)) + VNET_HDR_LEN, dst, 6);
	}
	assert_int_equal(model(t)->dp.rx_filtered, dropped + !pass);
	rx_post(t, pass ? 2 : 1);
}

static void up(struct t *t, uint64_t features)
{
	memset(&n, 0, sizeof(n));
	bring_up(t, features);
	rx_post(t, 8);
}

/* ---- tests ---- */

static void test_promiscuous_after_reset(void **state)
{
	struct t *t = *state;

	up(t, CTRL_FEATURES);
	expect(t, foreign, true);
	expect(t, mcast, true);
	assert_int_equal(model(t)->dp.rx_filtered, 0);
}

static void test_unicast(void **state)
{
	struct t *t = *state;
	const uint8_t table[1][6] = { { 0x52, 0x54, 0, 0, 0, 0x33 } };

	up(t, CTRL_FEATURES);
	assert_int_equal(rx_mode(t, 0, 0), OK);
	expect(t, foreign, false);
	expect(t, mac_a, true);
	expect(t, bcast, true);
	/* A unicast table entry lets its frames through, others still not. */
	assert_int_equal(mac_table(t, table, 1, 0), OK);
	expect(t, foreign, true);
	expect(t, foreign2, false);
	/* Promiscuous again: everything. */
	assert_int_equal(rx_mode(t, 0, 1), OK);
	expect(t, foreign2, true);
}

static void test_multicast(void **state)
{
	struct t *t = *state;
	const uint8_t table[2][6] = { { 0x52, 0x54, 0, 0, 0, 0x33 },
				      { 0x01, 0x00, 0x5e, 0, 0, 0xfb } };

	up(t, CTRL_FEATURES);
	assert_int_equal(rx_mode(t, 0, 0), OK);
	expect(t, mcast, false);
	assert_int_equal(mac_table(t, table, 1, 1), OK);
	expect(t, mcast, true);
	expect(t, mcast2, false);
	expect(t, bcast, true);
	assert_int_equal(rx_mode(t, 1, 1), OK); /* ALLMULTI */
	expect(t, mcast2, true);
	expect(t, foreign2, false); /* unicast is not multicast */
	assert_int_equal(rx_mode(t, 1, 0), OK);
	expect(t, mcast2, false);
}

/* ADDR_SET moves the device's own address: frames to the old one are dropped. */
static void test_mac_addr_set(void **state)
{
	struct t *t = *state;
	struct vring_used_elem e;

	up(t, CTRL_FEATURES);
	assert_int_equal(rx_mode(t, 0, 0), OK);
	assert_int_equal(ctrl(t, 1, 1, foreign, 6), OK);
	arrive(t, mac_a);
	arrive(t, foreign);
	assert_true(wait_used(t, Q_RX, ++n.rx));
	memcpy(&e, &used(t, Q_RX)->ring[(uint16_t)(n.rx - 1) % QSIZE], sizeof(e));
	assert_memory_equal((uint8_t *)g(t, buf_gpa(e.id)) + VNET_HDR_LEN, foreign, 6);
	assert_int_equal(model(t)->dp.rx_filtered, 1);
}

/* Too many entries for the table: the whole class goes through. */
static void test_table_overflow(void **state)
{
	struct t *t = *state;
	uint8_t table[VNET_MAC_TABLE + 1][6];

	for (unsigned i = 0; i <= VNET_MAC_TABLE; i++)
		memcpy(table[i], (uint8_t[6]){ 0x52, 0x54, 1, 0, 0, (uint8_t)i }, 6);
	up(t, CTRL_FEATURES);
	assert_int_equal(rx_mode(t, 0, 0), OK);
	assert_int_equal(mac_table(t, (const uint8_t (*)[6])table, VNET_MAC_TABLE + 1, 0), OK);
	expect(t, foreign, true);
	expect(t, mcast, false);
	/* The table is full with unicast: one multicast entry more overflows that class. */
	memcpy(table[VNET_MAC_TABLE], mcast, 6);
	assert_int_equal(mac_table(t, (const uint8_t (*)[6])table, VNET_MAC_TABLE, 1), OK);
	expect(t, mcast2, true);
	expect(t, foreign2, false);
}

/* Malformed commands get ERR and change nothing. */
static void test_malformed(void **state)
{
	struct t *t = *state;
	const uint8_t table[1][6] = { { 0x52, 0x54, 0, 0, 0, 0x33 } };
	uint8_t buf[32] = { 0 };
	uint32_t big = 1000;

	up(t, CTRL_FEATURES);
	assert_int_equal(rx_mode(t, 0, 0), OK);
	assert_int_equal(mac_table(t, table, 1, 0), OK);
	/* A trailing byte, a count past the data, a missing multicast part. */
	memcpy(buf, (uint32_t[]){ 0 }, 4);
	assert_int_equal(ctrl(t, 1, 0, buf, 9), ERR);
	memcpy(buf, &big, 4);
	assert_int_equal(ctrl(t, 1, 0, buf, 20), ERR);
	memcpy(buf, (uint32_t[]){ 1 }, 4);
	assert_int_equal(ctrl(t, 1, 0, buf, 10), ERR);
	/* Wrong lengths and unknown commands. */
	assert_int_equal(ctrl(t, 0, 0, buf, 2), ERR);
	assert_int_equal(ctrl(t, 0, 0, buf, 0), ERR);
	assert_int_equal(ctrl(t, 1, 1, buf, 5), ERR);
	assert_int_equal(ctrl(t, 0, 2, buf, 1), ERR); /* ALLUNI: needs CTRL_RX_EXTRA */
	assert_int_equal(ctrl(t, 9, 0, buf, 1), ERR);
	assert_int_equal(ctrl(t, 4, 0, (uint16_t[]){ 1 }, 2), ERR); /* MQ not negotiated */
	/* The table and modes set before still hold. */
	expect(t, foreign, true);
	expect(t, foreign2, false);
	assert_false(status(t) & VIRTIO_STATUS_NEEDS_RESET);
}

/* Without CTRL_RX the filter cannot be changed: every frame goes up. */
static void test_needs_ctrl_rx(void **state)
{
	struct t *t = *state;

	up(t, BASE_FEATURES | VIRTIO_BIT(VNET_F_CTRL_VQ));
	assert_int_equal(rx_mode(t, 0, 0), ERR);
	assert_int_equal(mac_table(t, &foreign, 0, 0), ERR);
	assert_int_equal(ctrl(t, 1, 1, foreign, 6), ERR);
	expect(t, foreign, true);
	expect(t, mcast, true);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_promiscuous_after_reset), T(test_unicast), T(test_multicast),
		T(test_mac_addr_set), T(test_table_overflow), T(test_malformed),
		T(test_needs_ctrl_rx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
