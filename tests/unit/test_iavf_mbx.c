// SPDX-License-Identifier: MIT
/*
 * The iavf admin queue mailbox and virtchnl, driven as the Linux iavf driver
 * drives them (iavf_harness.h): the PCI identity, the reset status, the
 * bring-up sequence and what each reply carries, the link event, the
 * errors a PF gives for unknown, unimplemented and malformed messages, and
 * hostile rings and descriptors (out of the ring, outside guest memory,
 * wrong opcodes, oversized buffers) that must leave the device working.
 */
#include "iavf_harness.h"

#include "pci/config.h"

#define CAPS_ASKED (VC_CAP_L2 | VC_CAP_RSS_PF | VC_CAP_RSS_AQ | VC_CAP_RSS_REG | VC_CAP_VLAN | \
		    VC_CAP_WB_ON_ITR | VC_CAP_RSS_PCTYPE_V2 | VC_CAP_REQ_QUEUES | VC_CAP_VLAN_V2 | \
		    VC_CAP_ADV_LINK_SPEED)

static int setup(void **state)
{
	*state = h_new("iavf,net=loopback,mac=52:54:00:00:00:01,queues=2,poll-us=0");
	return 0;
}

static int teardown(void **state)
{
	h_free(*state);
	return 0;
}

static void test_identity(void **state)
{
	struct h *h = *state;
	uint8_t cfg[PCI_CFG_SIZE_LEGACY];

	assert_int_equal(h->vfu->ops->region_read(h->vfu->opaque, VFU_PCI_CONFIG, 0, cfg,
						  sizeof(cfg)), 0);
	assert_int_equal(cfg[0] | cfg[1] << 8, 0x8086);
	assert_int_equal(cfg[2] | cfg[3] << 8, 0x1889);
	assert_int_equal(cfg[PCI_CLASS_DEVICE + 1], 0x02); /* network controller */
	assert_int_equal(cfg[PCI_INTERRUPT_PIN], 0);       /* a VF has no INTx */
	assert_int_equal(h->vfu->regions[IAVF_REGS_BAR].size, IAVF_REGS_SIZE);
	assert_int_equal(h->nvec, 3); /* mailbox + 2 queue pairs */
	assert_int_equal(rd(h, AVF_RSTAT) & AVF_RSTAT_MASK, AVF_VFR_VFACTIVE);
	/* The mailbox is off until the driver sets it up. */
	assert_int_equal(rd(h, AVF_ARQLEN) & AVF_AQLEN_ENABLE, 0);
}

static void test_bring_up(void **state)
{
	struct h *h = *state;
	struct vc_vf_resource res;
	struct vc_pf_event ev;
	uint32_t op;
	int32_t st;
	uint16_t len;

	aq_init(h);
	vc_hello(h, CAPS_ASKED, &res);
	assert_int_equal(res.num_vsis, 1);
	assert_int_equal(res.num_queue_pairs, 2);
	assert_int_equal(res.max_vectors, 3);
	/* Only what we implement is granted, whatever the driver asks. */
	assert_int_equal(res.vf_cap_flags, VC_CAP_L2 | VC_CAP_RSS_PF | VC_CAP_VLAN |
			 VC_CAP_RSS_PCTYPE_V2 | VC_CAP_ADV_LINK_SPEED);
	assert_int_equal(res.rss_key_size, VC_RSS_KEY_SIZE);
	assert_int_equal(res.rss_lut_size, VC_RSS_LUT_SIZE);
	assert_int_equal(res.vsi_res[0].vsi_id, IAVF_VSI_ID);
	assert_int_equal(res.vsi_res[0].vsi_type, VC_VSI_SRIOV);
	assert_memory_equal(res.vsi_res[0].default_mac, "\x52\x54\x00\x00\x00\x01", 6);
	/* The link event follows GET_VF_RESOURCES, with the speed in Mbit/s. */
	assert_true(vc_recv(h, &op, &st, &ev, &len));
	assert_int_equal(op, VC_OP_EVENT);
	assert_int_equal(len, sizeof(ev));
	assert_int_equal(ev.event, VC_EVENT_LINK_CHANGE);
	assert_int_equal(ev.data.link_adv.link_status, 1);
	assert_int_equal(ev.data.link_adv.link_speed, 100000);
	vc_queues_up(h, 2);
	/* ENABLE_QUEUES brings the carrier up again. */
	assert_true(vc_recv(h, &op, &st, &ev, &len));
	assert_int_equal(op, VC_OP_EVENT);
	assert_false(vc_recv(h, &op, &st, &ev, &len));
}

static void test_version_10(void **state)
{
	struct h *h = *state;
	struct vc_version ver = { 1, 0 };
	struct vc_vf_resource res;
	uint16_t len;

	aq_init(h);
	vc_send(h, VC_OP_VERSION, &ver, sizeof(ver));
	assert_int_equal(vc_reply(h, VC_OP_VERSION, &ver, &len), 0);
	assert_int_equal(ver.minor, 0); /* a 1.0 VF gets 1.0 back */
	/* 1.0 sends GET_VF_RESOURCES without capabilities and gets L2 and VLAN. */
	vc_send(h, VC_OP_GET_VF_RESOURCES, NULL, 0);
	assert_int_equal(vc_reply(h, VC_OP_GET_VF_RESOURCES, &res, &len), 0);
	assert_int_equal(res.vf_cap_flags, VC_CAP_L2 | VC_CAP_VLAN);
}

/* The statuses ice answers with. */
static void test_vc_errors(void **state)
{
	struct h *h = *state;
	struct vc_queue_select sel = { .vsi_id = IAVF_VSI_ID, .rx_queues = 1, .tx_queues = 1 };
	struct vc_vf_resource res;
	uint8_t junk[VC_LEN_VSI_QUEUE_CONFIG] = { 0 };
	uint32_t caps = VC_CAP_L2, op;
	int32_t st;
	uint16_t len;

	aq_init(h);
	/* Before GET_VF_RESOURCES nothing but the session opcodes is taken. */
	assert_int_equal(vc_call(h, VC_OP_ENABLE_QUEUES, &sel, sizeof(sel)), VC_STATUS_ERR_PARAM);
	vc_hello(h, caps, &res);
	/* An opcode virtchnl does not have, and the PF-to-VF event. */
	assert_int_equal(vc_call(h, 999, junk, 8), VC_STATUS_ERR_PARAM);
	/* The reply to an EVENT sent by the VF is told from real events by its status. */
	vc_send(h, VC_OP_EVENT, junk, 16);
	do
		assert_true(vc_recv(h, &op, &st, NULL, &len));
	while (op == VC_OP_EVENT && !st);
	assert_int_equal(op, VC_OP_EVENT);
	assert_int_equal(st, VC_STATUS_ERR_PARAM);
	assert_int_equal(len, 0);
	/* Defined, not implemented here. */
	assert_int_equal(vc_call(h, 51, NULL, 0), VC_STATUS_ERR_NOT_SUPPORTED);
	assert_int_equal(vc_call(h, VC_OP_REQUEST_QUEUES, junk, 2), VC_STATUS_ERR_NOT_SUPPORTED);
	/* Lengths that do not match the opcode. */
	assert_int_equal(vc_call(h, VC_OP_VERSION, junk, 4), VC_STATUS_ERR_PARAM);
	assert_int_equal(vc_call(h, VC_OP_ENABLE_QUEUES, &sel, sizeof(sel) - 1), VC_STATUS_ERR_PARAM);
	assert_int_equal(vc_call(h, VC_OP_CONFIG_VSI_QUEUES, junk, VC_LEN_VSI_QUEUE_CONFIG),
			 VC_STATUS_ERR_PARAM); /* zero queue pairs */
	/* Fields ice refuses. */
	sel.vsi_id = 7;
	assert_int_equal(vc_call(h, VC_OP_ENABLE_QUEUES, &sel, sizeof(sel)), VC_STATUS_ERR_PARAM);
	sel.vsi_id = IAVF_VSI_ID;
	sel.rx_queues = 1u << 5; /* only 2 pairs */
	assert_int_equal(vc_call(h, VC_OP_ENABLE_QUEUES, &sel, sizeof(sel)), VC_STATUS_ERR_PARAM);
	sel.rx_queues = 1; /* not configured yet */
	assert_int_equal(vc_call(h, VC_OP_ENABLE_QUEUES, &sel, sizeof(sel)), VC_STATUS_ERR_PARAM);
	/* RSS and VLAN need their capability, which this VF did not ask for. */
	assert_int_equal(vc_call(h, VC_OP_ENABLE_VLAN_STRIPPING, NULL, 0), VC_STATUS_ERR_PARAM);
	assert_int_equal(vc_call(h, VC_OP_GET_RSS_HENA_CAPS, NULL, 0), VC_STATUS_ERR_PARAM);
}

static void test_queue_config_checks(void **state)
{
	struct h *h = *state;
	uint8_t msg[VC_LEN_VSI_QUEUE_CONFIG + sizeof(struct vc_queue_pair_info)] = { 0 };
	struct vc_vsi_queue_config *c = (void *)msg;
	struct vc_queue_pair_info *qp = (void *)(msg + sizeof(*c));
	uint8_t map[VC_LEN_IRQ_MAP + sizeof(struct vc_vector_map)] = { 0 };
	struct vc_vector_map *vm = (void *)(map + 2);
	struct vc_vf_resource res;

	aq_init(h);
	vc_hello(h, VC_CAP_L2, &res);
	c->vsi_id = IAVF_VSI_ID;
	c->num_queue_pairs = 1;
	qp->txq = (struct vc_txq_info){ .vsi_id = 1, .queue_id = 0, .ring_len = 100 };
	qp->rxq = (struct vc_rxq_info){ .vsi_id = 1, .queue_id = 0 };
	/* Ring lengths must be 0 or a multiple of 32 in [64, 8160]. */
	assert_int_equal(vc_call(h, VC_OP_CONFIG_VSI_QUEUES, msg, sizeof(msg)), VC_STATUS_ERR_PARAM);
	qp->txq.ring_len = 64;
	qp->rxq.queue_id = 1; /* Tx and Rx of a pair must match */
	assert_int_equal(vc_call(h, VC_OP_CONFIG_VSI_QUEUES, msg, sizeof(msg)), VC_STATUS_ERR_PARAM);
	qp->rxq.queue_id = 0;
	qp->rxq.ring_len = 64;
	qp->rxq.databuffer_size = 512; /* below 1 KiB */
	qp->rxq.max_pkt_size = 1518;
	assert_int_equal(vc_call(h, VC_OP_CONFIG_VSI_QUEUES, msg, sizeof(msg)), VC_STATUS_ERR_PARAM);
	qp->rxq.databuffer_size = 2048;
	assert_int_equal(vc_call(h, VC_OP_CONFIG_VSI_QUEUES, msg, sizeof(msg)), 0);
	/* Vector 0 is the mailbox's; vectors past MSI-X count do not exist. */
	map[0] = 1;
	*vm = (struct vc_vector_map){ .vsi_id = 1, .vector_id = 0, .rxq_map = 1 };
	assert_int_equal(vc_call(h, VC_OP_CONFIG_IRQ_MAP, map, sizeof(map)), VC_STATUS_ERR_PARAM);
	*vm = (struct vc_vector_map){ .vsi_id = 1, .vector_id = 3, .rxq_map = 1 };
	assert_int_equal(vc_call(h, VC_OP_CONFIG_IRQ_MAP, map, sizeof(map)), VC_STATUS_ERR_PARAM);
	*vm = (struct vc_vector_map){ .vsi_id = 1, .vector_id = 1, .rxq_map = 4 };
	assert_int_equal(vc_call(h, VC_OP_CONFIG_IRQ_MAP, map, sizeof(map)), VC_STATUS_ERR_PARAM);
	*vm = (struct vc_vector_map){ .vsi_id = 1, .vector_id = 1, .rxq_map = 1, .txq_map = 1 };
	assert_int_equal(vc_call(h, VC_OP_CONFIG_IRQ_MAP, map, sizeof(map)), 0);
}

/* The driver's ARQ buffers hold what GET_STATS, HENA and filters answer. */
static void test_filters_rss_stats(void **state)
{
	struct h *h = *state;
	uint8_t msg[VC_LEN_RSS_KEY + VC_RSS_KEY_SIZE] = { 1, 0, VC_RSS_KEY_SIZE, 0 };
	uint8_t addrs[VC_LEN_ETHER_ADDR_LIST + 16] = { 1, 0, 2, 0 };
	struct vc_queue_select sel = { .vsi_id = IAVF_VSI_ID };
	struct vc_eth_stats stats;
	struct vc_vf_resource res;
	uint64_t hena;
	uint16_t len;

	aq_init(h);
	vc_hello(h, VC_CAP_L2 | VC_CAP_RSS_PF | VC_CAP_VLAN, &res);
	assert_int_equal(vc_call(h, VC_OP_CONFIG_RSS_KEY, msg, sizeof(msg)), 0);
	msg[2] = 40; /* ice takes its key size only */
	assert_int_equal(vc_call(h, VC_OP_CONFIG_RSS_KEY, msg, VC_LEN_RSS_KEY + 40), VC_STATUS_ERR_PARAM);
	vc_send(h, VC_OP_GET_RSS_HENA_CAPS, NULL, 0);
	assert_int_equal(vc_reply(h, VC_OP_GET_RSS_HENA_CAPS, &hena, &len), 0);
	assert_int_equal(len, 8);
	assert_true(hena & (1ull << AVF_PCTYPE_IPV4_TCP));
	assert_int_equal(vc_call(h, VC_OP_SET_RSS_HENA, &hena, 8), 0);
	hena |= 1ull << 2; /* a hash type we do not compute */
	assert_int_equal(vc_call(h, VC_OP_SET_RSS_HENA, &hena, 8), VC_STATUS_ERR_PARAM);
	/* Two addresses, one of them a multicast group. */
	memcpy(addrs + 4, "\x52\x54\x00\x00\x00\x09\x02\x00\x01\x00\x5e\x00\x00\x01\x02\x00", 16);
	assert_int_equal(vc_call(h, VC_OP_ADD_ETH_ADDR, addrs, VC_LEN_ETHER_ADDR_LIST + 8),
			 VC_STATUS_ERR_PARAM); /* the count says 2 but the length holds 1 */
	assert_int_equal(vc_call(h, VC_OP_ADD_ETH_ADDR, addrs, sizeof(addrs)), 0);
	assert_int_equal(h->v->dp.filt.nmac, 3); /* its own MAC and the two */
	assert_int_equal(vc_call(h, VC_OP_DEL_ETH_ADDR, addrs, sizeof(addrs)), 0);
	assert_int_equal(h->v->dp.filt.nmac, 1);
	vc_send(h, VC_OP_GET_STATS, &sel, sizeof(sel));
	assert_int_equal(vc_reply(h, VC_OP_GET_STATS, &stats, &len), 0);
	assert_int_equal(len, sizeof(stats));
	assert_int_equal(stats.rx_bytes + stats.tx_bytes, 0);
}

/* ---- hostile admin queues ---- */

static void test_bad_descriptors(void **state)
{
	struct h *h = *state;
	struct vc_version ver = { 1, 1 };
	struct avf_aq_desc *d;
	uint32_t op;
	int32_t st;
	uint16_t len;

	aq_init(h);
	/* A descriptor with another admin opcode: completed with ERR, no reply. */
	d = atq(h, 0);
	memset(d, 0, sizeof(*d));
	d->opcode = 0x0001;
	h->atq_ntu = 1;
	wr(h, AVF_ATQT, 1);
	assert_true(d->flags & AVF_AQ_FLAG_ERR);
	assert_int_equal(d->retval, AVF_AQ_RC_ENOSYS);
	assert_false(vc_recv(h, &op, &st, NULL, &len));
	/* A buffer larger than any message, or outside guest memory. */
	d = atq(h, 1);
	*d = (struct avf_aq_desc){ .flags = AVF_AQ_FLAG_BUF, .opcode = AVF_AQC_SEND_MSG_TO_PF,
				   .datalen = 4097, .cookie_high = VC_OP_VERSION };
	h->atq_ntu = 2;
	wr(h, AVF_ATQT, 2);
	assert_int_equal(d->retval, AVF_AQ_RC_EINVAL);
	d = atq(h, 2);
	*d = (struct avf_aq_desc){ .flags = AVF_AQ_FLAG_BUF, .opcode = AVF_AQC_SEND_MSG_TO_PF,
				   .datalen = 8, .cookie_high = VC_OP_VERSION,
				   .addr_low = 0xfff00000 };
	h->atq_ntu = 3;
	wr(h, AVF_ATQT, 3);
	assert_int_equal(d->retval, AVF_AQ_RC_BAD_ADDR);
	/* A message without its buffer flag. */
	d = atq(h, 3);
	*d = (struct avf_aq_desc){ .opcode = AVF_AQC_SEND_MSG_TO_PF, .datalen = 8,
				   .cookie_high = VC_OP_VERSION };
	h->atq_ntu = 4;
	wr(h, AVF_ATQT, 4);
	assert_int_equal(d->retval, AVF_AQ_RC_EINVAL);
	assert_false(vc_recv(h, &op, &st, NULL, &len));
	/* The queue goes on. */
	vc_send(h, VC_OP_VERSION, &ver, sizeof(ver));
	assert_int_equal(vc_reply(h, VC_OP_VERSION, &ver, &len), 0);
}

static void test_bad_rings(void **state)
{
	struct h *h = *state;
	struct vc_version ver = { 1, 1 };
	uint16_t len;

	aq_init(h);
	/* A tail outside the ring: critical error, nothing processed. */
	wr(h, AVF_ATQT, AQ_LEN + 3);
	assert_true(rd(h, AVF_ATQLEN) & AVF_AQLEN_CRIT);
	assert_int_equal(rd(h, AVF_ATQH), 0);
	/* The driver sets the queue up again and it works. */
	aq_init(h);
	vc_send(h, VC_OP_VERSION, &ver, sizeof(ver));
	assert_int_equal(vc_reply(h, VC_OP_VERSION, &ver, &len), 0);
	/* A ring outside guest memory. */
	wr(h, AVF_ATQBAL, 0x10000000);
	wr(h, AVF_ATQT, (h->atq_ntu + 1) % AQ_LEN);
	assert_true(rd(h, AVF_ATQLEN) & AVF_AQLEN_CRIT);
	/* A receive queue with no buffer posted: the message is dropped, OVFL says so. */
	aq_init(h);
	wr(h, AVF_ARQT, 0);
	vc_send(h, VC_OP_VERSION, &ver, sizeof(ver));
	assert_true(rd(h, AVF_ARQLEN) & AVF_AQLEN_OVFL);
	assert_int_equal(rd(h, AVF_ARQH), 0);
	/* A receive buffer too small for the reply: ERR, nothing copied, the queue goes on. */
	aq_init(h);
	arq(h, 0)->datalen = 4;
	vc_send(h, VC_OP_VERSION, &ver, sizeof(ver));
	assert_true(arq(h, 0)->flags & AVF_AQ_FLAG_ERR);
	assert_int_equal(arq(h, 0)->datalen, 0);
	assert_int_equal(rd(h, AVF_ARQH), 1);
	/* A disabled mailbox ignores its tail. */
	wr(h, AVF_ATQLEN, 0);
	wr(h, AVF_ATQT, 5);
	assert_int_equal(rd(h, AVF_ATQH), h->atq_ntu);
}

/* RESET_VF: no reply, the mailbox goes down, the driver sets it up and starts over. */
static void test_reset_vf(void **state)
{
	struct h *h = *state;
	struct vc_vf_resource res;
	uint32_t op;
	int32_t st;
	uint16_t len;

	aq_init(h);
	vc_hello(h, VC_CAP_L2, &res);
	vc_queues_up(h, 2);
	while (vc_recv(h, &op, &st, NULL, &len))
		;
	vc_send(h, VC_OP_RESET_VF, NULL, 0);
	assert_int_equal(rd(h, AVF_ARQLEN) & AVF_AQLEN_ENABLE, 0);
	assert_int_equal(rd(h, AVF_ATQLEN) & AVF_AQLEN_ENABLE, 0);
	assert_int_equal(rd(h, AVF_RSTAT) & AVF_RSTAT_MASK, AVF_VFR_VFACTIVE);
	assert_false(h->v->dp.tx[0].on);
	assert_int_equal(h->v->resets, 1);
	/* After a VF reset the driver sends GET_VF_RESOURCES again, not VERSION. */
	aq_init(h);
	vc_send(h, VC_OP_GET_VF_RESOURCES, &(uint32_t){ VC_CAP_L2 }, 4);
	assert_int_equal(vc_reply(h, VC_OP_GET_VF_RESOURCES, &res, &len), 0);
	vc_queues_up(h, 1);
	/* The daemon's reset does the same. */
	assert_int_equal(iavf_vf_reset(h->dev), 0);
	assert_int_equal(rd(h, AVF_ARQLEN) & AVF_AQLEN_ENABLE, 0);
	assert_int_equal(h->v->resets, 2);
	assert_int_equal(iavf_vf_reset(NULL), -EINVAL);
}

/* Vector 0: the ADMINQ cause fires it when enabled; it masks itself until enabled again. */
static void test_mailbox_irq(void **state)
{
	struct h *h = *state;
	struct vc_version ver = { 1, 1 };
	uint16_t len;

	aq_init(h);
	wr(h, AVF_DYN_CTL01, AVF_DYN_INTENA | (3u << 3));
	wr(h, AVF_ICR0_ENA1, AVF_ICR0_ADMINQ);
	vc_send(h, VC_OP_VERSION, &ver, sizeof(ver));
	assert_true(h_irq(h, 0, 1000));
	assert_int_equal(rd(h, AVF_ICR01) & AVF_ICR0_ADMINQ, AVF_ICR0_ADMINQ);
	assert_int_equal(rd(h, AVF_ICR01), 0); /* read to clear */
	assert_int_equal(vc_reply(h, VC_OP_VERSION, &ver, &len), 0);
	vc_send(h, VC_OP_VERSION, &ver, sizeof(ver));
	assert_false(h_irq(h, 0, 50)); /* masked since it fired */
	wr(h, AVF_DYN_CTL01, AVF_DYN_INTENA | (3u << 3));
	assert_true(h_irq(h, 0, 1000)); /* the waiting cause fires on enable */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bring_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_10, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vc_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_config_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters_rss_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_descriptors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_vf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_irq, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
