// SPDX-License-Identifier: MIT
/*
 * The iavf datapath, driven as the Linux iavf driver drives it
 * (iavf_harness.h): frames through Tx descriptors, the loopback port and
 * back into Rx descriptors (write-back fields, checksum state, RSS hash and
 * queue, VLAN insertion and stripping, interrupts); what the port gets for
 * checksum offload and TSO (a capturing port); and hostile descriptors
 * (unknown types, tails past the ring, buffers outside guest memory, TSO
 * lengths that lie), each of which must reset the VF and nothing else.
 */
#include "iavf_harness.h"

#include "net/backend.h"

#define TX_SLOT 40 /* PKT_BUF index of transmitted frames; Rx buffers use 0..31 */

static const uint8_t our_mac[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t peer_mac[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x02 };

/* ---- a port that keeps the last frame sent ---- */

struct cap_port {
	struct net_port port;
	uint8_t buf[NET_MAX_FRAME];
	size_t len;
	unsigned frames;
};

static int cap_send(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	struct cap_port *c = net_port_of(p, struct cap_port, port);

	c->len = net_iov_gather(c->buf, sizeof(c->buf), iov, iovcnt);
	__atomic_fetch_add(&c->frames, 1, __ATOMIC_RELEASE);
	return 0;
}

static ssize_t cap_recv(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	(void)p, (void)iov, (void)iovcnt;
	return -EAGAIN;
}

static int cap_offloads(struct net_port *p, unsigned offloads)
{
	p->offloads = offloads;
	return 0;
}

static void cap_destroy(struct net_port *p)
{
	(void)p;
}

static const struct net_port_ops cap_ops = {
	.send = cap_send, .recv = cap_recv, .set_offloads = cap_offloads, .destroy = cap_destroy,
};

/* ---- fixture ---- */

static int setup(void **state)
{
	struct h *h = h_new("iavf,net=loopback,mac=52:54:00:00:00:01,queues=2,poll-us=0");
	struct vc_vf_resource res;

	aq_init(h);
	vc_hello(h, VC_CAP_L2 | VC_CAP_VLAN | VC_CAP_RSS_PF, &res);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	h_free(*state);
	return 0;
}

/* ---- frames ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* An IPv4/UDP (or TCP) frame of @payload bytes from us to the peer; its length. */
static size_t make_frame(uint8_t *f, size_t payload, uint8_t proto)
{
	size_t l4 = proto == NET_IPPROTO_TCP ? 20 : proto == NET_IPPROTO_SCTP ? 12 : 8;
	size_t len = 14 + 20 + l4 + payload;

	memset(f, 0, len);
	memcpy(f, peer_mac, 6);
	memcpy(f + 6, our_mac, 6);
	put16(f + 12, NET_ETH_P_IPV4);
	f[14] = 0x45;
	put16(f + 16, (uint16_t)(len - 14));
	f[22] = 64;
	f[23] = proto;
	memcpy(f + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	put16(f + 24, (uint16_t)~net_csum_add(0, f + 14, 20));
	put16(f + 34, 1234);
	put16(f + 36, 80);
	if (proto == NET_IPPROTO_TCP)
		f[46] = 5 << 4;
	else if (proto == NET_IPPROTO_UDP)
		put16(f + 38, (uint16_t)(8 + payload));
	for (size_t i = 0; i < payload; i++)
		f[14 + 20 + l4 + i] = (uint8_t)i;
	/* The checksum left partial, as the stack does: the pseudo-header sum in the field. */
	if (proto != NET_IPPROTO_SCTP)
		put16(f + 34 + (proto == NET_IPPROTO_TCP ? 16 : 6),
		      net_csum_fold(net_csum_add(0, f + 26, 8) + proto + (uint32_t)(len - 34)));
	return len;
}

static uint64_t txd_qw1(uint16_t cmd, uint32_t offsets, uint32_t size, uint16_t tag)
{
	return AVF_TXD_DTYPE_DATA | (uint64_t)cmd << AVF_TXD_CMD_SHIFT |
	       (uint64_t)offsets << AVF_TXD_OFFSET_SHIFT | (uint64_t)size << AVF_TXD_BUF_SZ_SHIFT |
	       (uint64_t)tag << AVF_TXD_L2TAG1_SHIFT;
}

static struct avf_tx_desc *txd(struct h *h, unsigned q, unsigned i)
{
	return g(h, TX_RING(q) + i * 16ull);
}

static struct avf_rx_desc *rxd(struct h *h, unsigned q, unsigned i)
{
	return g(h, RX_RING(q) + i * 32ull);
}

static void rx_post(struct h *h, unsigned q, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		*rxd(h, q, i) = (struct avf_rx_desc){ .qw0 = PKT_BUF(16 * q + i) };
	wr(h, AVF_QRX_TAIL(q), n);
}

static bool wait_qw(const uint64_t *p, uint64_t mask)
{
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(p, __ATOMIC_ACQUIRE) & mask)
			return true;
		usleep(1000);
	}
	return false;
}

/* Put @len bytes at the Tx slot and post one data descriptor at @i with @cmd. */
static void tx_one(struct h *h, unsigned q, unsigned i, const uint8_t *f, size_t len,
		   uint16_t cmd, uint32_t offsets, uint16_t tag)
{
	memcpy(g(h, PKT_BUF(TX_SLOT)), f, len);
	txd(h, q, i)->addr = PKT_BUF(TX_SLOT);
	txd(h, q, i)->qw1 = txd_qw1(cmd | AVF_TXD_CMD_EOP | AVF_TXD_CMD_RS, offsets,
				    (uint32_t)len, tag);
	wr(h, AVF_QTX_TAIL(q), i + 1);
}

static uint32_t rx_len(const struct avf_rx_desc *d)
{
	return (uint32_t)((d->qw1 >> AVF_RXD_LEN_SHIFT) & AVF_RXD_LEN_MASK);
}

static unsigned rx_ptype(const struct avf_rx_desc *d)
{
	return (unsigned)((d->qw1 >> AVF_RXD_PTYPE_SHIFT) & 0xff);
}

/* ---- tests ---- */

static void test_loopback(void **state)
{
	struct h *h = *state;
	uint8_t f[256], *got = g(h, PKT_BUF(0));
	size_t len = make_frame(f, 100, NET_IPPROTO_UDP);
	struct avf_rx_desc *d = rxd(h, 0, 0);

	vc_queues_up(h, 2);
	rx_post(h, 0, 8);
	/* UDP checksum left to the device (L4T UDP, MACLEN 14/2, IPLEN 20/4). */
	tx_one(h, 0, 0, f, len, AVF_TXD_CMD_L4T_UDP | AVF_TXD_CMD_IIPT_IPV4, 7 | 5 << 7, 0);
	assert_true(wait_qw(&txd(h, 0, 0)->qw1, AVF_TXD_DTYPE_DONE));
	assert_int_equal(txd(h, 0, 0)->qw1 & AVF_TXD_DTYPE_MASK, AVF_TXD_DTYPE_DONE);
	assert_true(wait_qw(&d->qw1, AVF_RXD_DD));
	assert_int_equal(rx_len(d), len);
	assert_true(d->qw1 & AVF_RXD_EOF);
	assert_int_equal(rx_ptype(d), AVF_PTYPE_IPV4_UDP);
	/* The loopback handed back a partial checksum: completed, and reported good. */
	assert_true(d->qw1 & AVF_RXD_L3L4P);
	assert_int_equal(net_csum_fold(net_csum_add(0, got + 34, len - 34) + 0x0a00 + 0x0001 +
				       0x0a00 + 0x0002 + NET_IPPROTO_UDP + (len - 34)), 0xffff);
	/* MACs swapped by the loopback, payload intact. */
	assert_memory_equal(got, our_mac, 6);
	assert_memory_equal(got + 42, f + 42, 100);
	assert_true(h_irq(h, 1, 1000));
	assert_int_equal(rd(h, AVF_QRX_TAIL(0)), 8);
}

static void test_rss_queue(void **state)
{
	struct h *h = *state;
	uint8_t key[VC_LEN_RSS_KEY + VC_RSS_KEY_SIZE] = { 1, 0, VC_RSS_KEY_SIZE, 0 };
	uint8_t lut[VC_LEN_RSS_LUT + VC_RSS_LUT_SIZE] = { 1, 0, VC_RSS_LUT_SIZE, 0 };
	uint8_t f[128], in[12];
	size_t len = make_frame(f, 20, NET_IPPROTO_TCP);
	struct avf_rx_desc *d = rxd(h, 1, 0);
	uint32_t hash;

	for (unsigned i = 0; i < VC_RSS_KEY_SIZE; i++)
		key[4 + i] = (uint8_t)(i * 37 + 11);
	memset(lut + 4, 1, VC_RSS_LUT_SIZE); /* every hash to queue 1 */
	assert_int_equal(vc_call(h, VC_OP_CONFIG_RSS_KEY, key, sizeof(key)), 0);
	assert_int_equal(vc_call(h, VC_OP_CONFIG_RSS_LUT, lut, sizeof(lut)), 0);
	vc_queues_up(h, 2);
	rx_post(h, 0, 4);
	rx_post(h, 1, 4);
	tx_one(h, 0, 0, f, len, AVF_TXD_CMD_L4T_TCP | AVF_TXD_CMD_IIPT_IPV4, 7 | 5 << 7 | 5 << 14, 0);
	assert_true(wait_qw(&d->qw1, AVF_RXD_DD));
	assert_false(rxd(h, 0, 0)->qw1 & AVF_RXD_DD);
	assert_int_equal(d->qw1 & AVF_RXD_FLTSTAT_RSS, AVF_RXD_FLTSTAT_RSS);
	assert_int_equal(rx_ptype(d), AVF_PTYPE_IPV4_TCP);
	/* The loopback swaps MACs only: the hash input is our source and destination. */
	memcpy(in, "\x0a\x00\x00\x01\x0a\x00\x00\x02\x04\xd2\x00\x50", 12);
	hash = net_toeplitz(key + 4, 40, in, sizeof(in));
	assert_int_equal(d->qw0 >> AVF_RXD_RSS_SHIFT, hash);
	assert_true(h_irq(h, 2, 1000)); /* queue 1's vector */
}

static void test_vlan(void **state)
{
	struct h *h = *state;
	uint8_t vlans[VC_LEN_VLAN_FILTER_LIST + 4] = { 1, 0, 2, 0, 100, 0, 200, 0 };
	uint8_t f[256], *got = g(h, PKT_BUF(0));
	size_t len = make_frame(f, 50, NET_IPPROTO_UDP);
	struct avf_rx_desc *d = rxd(h, 0, 0);

	assert_int_equal(vc_call(h, VC_OP_ADD_VLAN, vlans, sizeof(vlans)), 0);
	vc_queues_up(h, 2);
	rx_post(h, 0, 8);
	/* Inserted from the descriptor on Tx, stripped into the descriptor on Rx. */
	tx_one(h, 0, 0, f, len, AVF_TXD_CMD_IL2TAG1, 0, 100);
	assert_true(wait_qw(&d->qw1, AVF_RXD_DD));
	assert_true(d->qw1 & AVF_RXD_L2TAG1P);
	assert_int_equal((d->qw0 >> AVF_RXD_L2TAG1_SHIFT) & 0xffff, 100);
	assert_int_equal(rx_len(d), len);
	assert_memory_equal(got + 12, f + 12, len - 12);
	/* Stripping off: the tag stays in the frame. */
	assert_int_equal(vc_call(h, VC_OP_DISABLE_VLAN_STRIPPING, NULL, 0), 0);
	tx_one(h, 0, 1, f, len, AVF_TXD_CMD_IL2TAG1, 0, 100);
	d = rxd(h, 0, 1);
	assert_true(wait_qw(&d->qw1, AVF_RXD_DD));
	assert_false(d->qw1 & AVF_RXD_L2TAG1P);
	assert_int_equal(rx_len(d), len + 4);
	/* A VLAN not in the filter is dropped; after DEL_VLAN too. */
	tx_one(h, 0, 2, f, len, AVF_TXD_CMD_IL2TAG1, 0, 300);
	assert_true(wait_qw(&txd(h, 0, 2)->qw1, AVF_TXD_DTYPE_DONE));
	assert_int_equal(vc_call(h, VC_OP_DEL_VLAN, vlans, sizeof(vlans)), 0);
	tx_one(h, 0, 3, f, len, AVF_TXD_CMD_IL2TAG1, 0, 100);
	assert_true(wait_qw(&txd(h, 0, 3)->qw1, AVF_TXD_DTYPE_DONE));
	usleep(20000);
	assert_false(rxd(h, 0, 2)->qw1 & AVF_RXD_DD);
}

/* What the port gets: the net_hdr the offloads make and the headers TSO needs. */
static void test_tso_to_port(void **state)
{
	struct h *h = *state;
	static struct cap_port cap;
	struct net_port *loop = h->v->port[0];
	uint8_t f[3200], *ip = cap.buf + sizeof(struct net_hdr) + 14;
	size_t len = make_frame(f, 3000, NET_IPPROTO_TCP);
	struct net_hdr nh;
	uint32_t sum;

	net_port_init(&cap.port, &cap_ops, "capture");
	h->v->port[0] = &cap.port;
	/* What iavf_tso leaves: IP length and checksum 0, the pseudo-header sum without length. */
	put16(f + 16, 0);
	put16(f + 24, 0);
	vc_queues_up(h, 2);
	txd(h, 0, 0)->addr = 0;
	txd(h, 0, 0)->qw1 = AVF_TXD_DTYPE_CONTEXT | (uint64_t)AVF_TXC_CMD_TSO << AVF_TXC_CMD_SHIFT |
			    (uint64_t)(len - 54) << AVF_TXC_TSO_LEN_SHIFT |
			    (uint64_t)1448 << AVF_TXC_MSS_SHIFT;
	memcpy(g(h, PKT_BUF(TX_SLOT)), f, len);
	/* Headers and payload in two buffers, as an skb's head and a page fragment. */
	txd(h, 0, 1)->addr = PKT_BUF(TX_SLOT);
	txd(h, 0, 1)->qw1 = txd_qw1(AVF_TXD_CMD_L4T_TCP | AVF_TXD_CMD_IIPT_IPV4_CSUM,
				    7 | 5 << 7 | 5 << 14, 54, 0);
	txd(h, 0, 2)->addr = PKT_BUF(TX_SLOT) + 54;
	txd(h, 0, 2)->qw1 = txd_qw1(AVF_TXD_CMD_EOP | AVF_TXD_CMD_RS | AVF_TXD_CMD_L4T_TCP |
				    AVF_TXD_CMD_IIPT_IPV4_CSUM, 7 | 5 << 7 | 5 << 14,
				    (uint32_t)len - 54, 0);
	wr(h, AVF_QTX_TAIL(0), 3);
	assert_true(wait_qw(&txd(h, 0, 2)->qw1, AVF_TXD_DTYPE_DONE));
	assert_int_equal(cap.frames, 1);
	assert_int_equal(cap.len, sizeof(nh) + len);
	memcpy(&nh, cap.buf, sizeof(nh));
	assert_int_equal(nh.gso_type, NET_HDR_GSO_TCPV4);
	assert_int_equal(nh.gso_size, 1448);
	assert_int_equal(nh.hdr_len, 54);
	assert_int_equal(nh.flags, NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(nh.csum_start, 34);
	assert_int_equal(nh.csum_offset, 16);
	/* IP total length and header checksum are back, the TCP field holds the pseudo-header sum. */
	assert_int_equal(ip[2] << 8 | ip[3], len - 14);
	assert_int_equal(net_csum_fold(net_csum_add(0, ip, 20)), 0xffff);
	sum = net_csum_add(0, ip + 12, 8) + NET_IPPROTO_TCP + (uint32_t)(len - 34);
	assert_int_equal(ip[36] << 8 | ip[37], net_csum_fold(sum));
	assert_memory_equal(cap.buf + sizeof(nh) + 54, f + 54, len - 54);
	/* The guest's buffer was not touched. */
	assert_int_equal(((uint8_t *)g(h, PKT_BUF(TX_SLOT)))[16], 0);
	h->v->port[0] = loop;
}

/* SCTP's CRC32c is the device's to compute (the guest leaves 0, as Linux does). */
static void test_sctp_crc(void **state)
{
	struct h *h = *state;
	static struct cap_port cap;
	struct net_port *loop = h->v->port[0];
	uint8_t f[256], *sctp = cap.buf + sizeof(struct net_hdr) + 34;
	size_t len = make_frame(f, 100, NET_IPPROTO_SCTP);
	uint32_t crc, want;

	net_port_init(&cap.port, &cap_ops, "capture");
	h->v->port[0] = &cap.port;
	memset(f + 34 + 8, 0, 4);
	vc_queues_up(h, 2);
	tx_one(h, 0, 0, f, len, AVF_TXD_CMD_L4T_SCTP | AVF_TXD_CMD_IIPT_IPV4, 7 | 5 << 7 | 3 << 14, 0);
	assert_true(wait_qw(&txd(h, 0, 0)->qw1, AVF_TXD_DTYPE_DONE));
	assert_int_equal(cap.len, sizeof(struct net_hdr) + len);
	memcpy(&crc, sctp + 8, 4);
	memset(sctp + 8, 0, 4);
	want = htole32(~net_crc32c(~0u, sctp, len - 34));
	assert_int_equal(crc, want);
	assert_int_equal(cap.buf[0], 0); /* nothing left for the port to finish */
	h->v->port[0] = loop;
}

/* ---- hostile descriptors: each resets the VF, which the driver then brings up again ---- */

static void expect_mdd_reset(struct h *h)
{
	uint64_t resets = h->v->resets;

	for (int i = 0; i < 2000 && !__atomic_load_n(&h->v->mdd, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	assert_true(__atomic_load_n(&h->v->mdd, __ATOMIC_ACQUIRE));
	/* The next register access does the reset; the driver sees its mailbox gone. */
	assert_int_equal(rd(h, AVF_ARQLEN) & AVF_AQLEN_ENABLE, 0);
	assert_int_equal(h->v->resets, resets + 1);
	assert_int_equal(rd(h, AVF_RSTAT) & AVF_RSTAT_MASK, AVF_VFR_VFACTIVE);
	/* And it comes back. */
	aq_init(h);
	vc_send(h, VC_OP_GET_VF_RESOURCES, &(uint32_t){ VC_CAP_L2 }, 4);
	assert_int_equal(vc_reply(h, VC_OP_GET_VF_RESOURCES, NULL, NULL), 0);
	vc_queues_up(h, 2);
}

static void test_hostile_tx(void **state)
{
	struct h *h = *state;
	uint8_t f[256];
	size_t len = make_frame(f, 100, NET_IPPROTO_UDP);

	vc_queues_up(h, 2);
	/* A descriptor type the hardware does not have. */
	txd(h, 0, 0)->qw1 = 5;
	wr(h, AVF_QTX_TAIL(0), 1);
	expect_mdd_reset(h);
	/* A tail past the ring. */
	wr(h, AVF_QTX_TAIL(1), RING_LEN + 5);
	expect_mdd_reset(h);
	/* A buffer outside guest memory. */
	txd(h, 0, 0)->addr = 0x7000000000ull;
	txd(h, 0, 0)->qw1 = txd_qw1(AVF_TXD_CMD_EOP | AVF_TXD_CMD_RS, 0, 100, 0);
	wr(h, AVF_QTX_TAIL(0), 1);
	expect_mdd_reset(h);
	/* TSO whose length does not match the packet. */
	memcpy(g(h, PKT_BUF(TX_SLOT)), f, len);
	txd(h, 0, 0)->qw1 = AVF_TXD_DTYPE_CONTEXT | (uint64_t)AVF_TXC_CMD_TSO << AVF_TXC_CMD_SHIFT |
			    (uint64_t)5000 << AVF_TXC_TSO_LEN_SHIFT | (uint64_t)1000 << AVF_TXC_MSS_SHIFT;
	txd(h, 0, 1)->addr = PKT_BUF(TX_SLOT);
	txd(h, 0, 1)->qw1 = txd_qw1(AVF_TXD_CMD_EOP | AVF_TXD_CMD_RS | AVF_TXD_CMD_L4T_TCP |
				    AVF_TXD_CMD_IIPT_IPV4, 7 | 5 << 7 | 5 << 14, (uint32_t)len, 0);
	wr(h, AVF_QTX_TAIL(0), 2);
	expect_mdd_reset(h);
	/* More than 64 descriptors for one packet. */
	for (unsigned i = 0; i < RING_LEN; i++)
		txd(h, 0, i)->qw1 = txd_qw1(0, 0, 0, 0);
	wr(h, AVF_QTX_TAIL(0), RING_LEN - 1);
	usleep(20000); /* not EOP yet: the device waits for the rest, no reset */
	assert_false(__atomic_load_n(&h->v->mdd, __ATOMIC_ACQUIRE));
	/* The device works after all that. */
	rx_post(h, 0, 4);
	tx_one(h, 1, 0, f, len, 0, 0, 0);
	assert_true(wait_qw(&rxd(h, 0, 0)->qw1, AVF_RXD_DD));
	assert_true(h->v->dp.stats.c[IAVF_MDD_EVENTS] >= 4);
}

static void test_hostile_rx(void **state)
{
	struct h *h = *state;
	uint8_t f[256];
	size_t len = make_frame(f, 100, NET_IPPROTO_UDP);

	vc_queues_up(h, 2);
	/* A receive buffer outside guest memory. */
	*rxd(h, 0, 0) = (struct avf_rx_desc){ .qw0 = 0x7000000000ull };
	wr(h, AVF_QRX_TAIL(0), 1);
	tx_one(h, 0, 0, f, len, 0, 0, 0);
	expect_mdd_reset(h);
	/* A receive tail past the ring. */
	wr(h, AVF_QRX_TAIL(0), RING_LEN);
	tx_one(h, 0, 0, f, len, 0, 0, 0);
	expect_mdd_reset(h);
}

/* No buffers: the frame waits in the port's slot and lands once buffers come. */
static void test_rx_waits_for_buffers(void **state)
{
	struct h *h = *state;
	uint8_t f[256];
	size_t len = make_frame(f, 64, NET_IPPROTO_UDP);

	vc_queues_up(h, 2);
	tx_one(h, 0, 0, f, len, 0, 0, 0);
	assert_true(wait_qw(&txd(h, 0, 0)->qw1, AVF_TXD_DTYPE_DONE));
	usleep(20000);
	rx_post(h, 0, 2);
	assert_true(wait_qw(&rxd(h, 0, 0)->qw1, AVF_RXD_DD));
	assert_int_equal(rx_len(rxd(h, 0, 0)), len);
}

/* A queue vector masks itself when it fires, and waits for the driver's INTENA. */
static void test_irq_automask(void **state)
{
	struct h *h = *state;
	uint8_t f[256];
	size_t len = make_frame(f, 64, NET_IPPROTO_UDP);

	vc_queues_up(h, 2);
	rx_post(h, 0, 8);
	tx_one(h, 0, 0, f, len, 0, 0, 0);
	assert_true(h_irq(h, 1, 1000));
	tx_one(h, 0, 1, f, len, 0, 0, 0);
	assert_true(wait_qw(&rxd(h, 0, 1)->qw1, AVF_RXD_DD));
	assert_false(h_irq(h, 1, 50));
	wr(h, AVF_DYN_CTLN(0), AVF_DYN_INTENA | (3u << 3));
	assert_true(h_irq(h, 1, 1000));
	/* A software trigger fires an enabled vector without a cause. */
	wr(h, AVF_DYN_CTLN(1), AVF_DYN_INTENA | AVF_DYN_SWINT_TRIG | (3u << 3));
	assert_true(h_irq(h, 2, 1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rss_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vlan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tso_to_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sctp_crc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_tx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_rx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_waits_for_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_automask, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
