// SPDX-License-Identifier: MIT
/*
 * virtchnl as the PF speaks it: message checks, the session (VERSION,
 * GET_VF_RESOURCES, RESET_VF), statistics, link events, and dispatch to
 * the queue and filter handlers. Errors are the ones ice gives a VF:
 *  - an opcode virtchnl does not define, or a length that does not match
 *    its opcode: VIRTCHNL_STATUS_ERR_PARAM (ice's virtchnl_vc_validate_vf_msg);
 *  - an opcode virtchnl defines but this device does not implement (RDMA,
 *    channels, flow director, VLAN v2, ...): VIRTCHNL_STATUS_ERR_NOT_SUPPORTED;
 *  - a request before GET_VF_RESOURCES, for another VSI, or with bad
 *    fields: VIRTCHNL_STATUS_ERR_PARAM.
 * Every message but RESET_VF gets a reply with the same opcode.
 */
#include "devices/iavf/iavf_vc.h"

#include "core/log.h"

/* What we grant a VF that asks (GET_VF_RESOURCES). */
#define CAPS_OFFERED (VC_CAP_L2 | VC_CAP_VLAN | VC_CAP_RSS_PF | VC_CAP_RSS_PCTYPE_V2 | \
		      VC_CAP_ADV_LINK_SPEED)
/* What a virtchnl 1.0 VF gets without asking (as ice does). */
#define CAPS_V10 (VC_CAP_L2 | VC_CAP_VLAN)

static void reply(struct iavf *v, uint32_t op, int32_t status, const void *msg, uint16_t len)
{
	if (status)
		pr_debug("%s: virtchnl opcode %u: status %d", v->name, op, status);
	iavf_arq_send(v, op, status, msg, len);
}

/* ---- lengths (virtchnl_vc_validate_vf_msg for the opcodes we implement) ---- */

/* A list message: a fixed part counting one element, plus n elements; n at @count_off. */
static bool list_len(const uint8_t *msg, uint16_t len, unsigned fixed, unsigned count_off,
		     unsigned elem, bool count32)
{
	uint32_t n;

	if (len < fixed)
		return false;
	n = count32 ? vc_u32(msg + count_off) : vc_u16(msg + count_off);
	return n && (uint64_t)fixed + (uint64_t)n * elem == len;
}

static bool rss_len(const uint8_t *msg, uint16_t len, unsigned fixed)
{
	return len >= fixed && fixed + vc_u16(msg + 2) == len;
}

static bool len_ok(const struct iavf *v, uint32_t op, const uint8_t *msg, uint16_t len)
{
	switch (op) {
	case VC_OP_VERSION: return len == sizeof(struct vc_version);
	case VC_OP_RESET_VF: return len == 0;
	case VC_OP_GET_VF_RESOURCES: return len == (v->vc.ver.minor >= 1 ? 4 : 0);
	case VC_OP_CONFIG_VSI_QUEUES:
		return list_len(msg, len, VC_LEN_VSI_QUEUE_CONFIG, 2,
				sizeof(struct vc_queue_pair_info), false);
	case VC_OP_CONFIG_IRQ_MAP:
		return list_len(msg, len, VC_LEN_IRQ_MAP, 0, sizeof(struct vc_vector_map), false);
	case VC_OP_ENABLE_QUEUES:
	case VC_OP_DISABLE_QUEUES:
	case VC_OP_GET_STATS:
		return len == sizeof(struct vc_queue_select);
	case VC_OP_ADD_ETH_ADDR:
	case VC_OP_DEL_ETH_ADDR:
		return list_len(msg, len, VC_LEN_ETHER_ADDR_LIST, 2, sizeof(struct vc_ether_addr),
				false);
	case VC_OP_ADD_VLAN:
	case VC_OP_DEL_VLAN:
		return list_len(msg, len, VC_LEN_VLAN_FILTER_LIST, 2, 2, false);
	case VC_OP_CONFIG_PROMISCUOUS_MODE: return len == sizeof(struct vc_promisc_info);
	case VC_OP_CONFIG_RSS_KEY: return rss_len(msg, len, VC_LEN_RSS_KEY);
	case VC_OP_CONFIG_RSS_LUT: return rss_len(msg, len, VC_LEN_RSS_LUT);
	case VC_OP_GET_RSS_HENA_CAPS: return len == 0;
	case VC_OP_SET_RSS_HENA: return len == sizeof(uint64_t);
	case VC_OP_ENABLE_VLAN_STRIPPING:
	case VC_OP_DISABLE_VLAN_STRIPPING:
		return len == 0;
	default: return false;
	}
}

/* Opcodes virtchnl defines that this device does not implement. */
static bool defined_elsewhere(uint32_t op)
{
	switch (op) {
	case VC_OP_CONFIG_TX_QUEUE:      /* legacy, superseded by CONFIG_VSI_QUEUES */
	case VC_OP_CONFIG_RX_QUEUE:
	case 18:                         /* CONFIG_RSS_HFUNC */
	case 20: case 21: case 22:       /* RDMA */
	case VC_OP_REQUEST_QUEUES:       /* needs REQ_QUEUES, not offered */
	case 30: case 31:                /* channels (ADq) */
	case 32: case 33:                /* cloud filters */
	case 44:                         /* GET_SUPPORTED_RXDIDS */
	case 45: case 46:                /* advanced RSS */
	case 47: case 48:                /* flow director */
	case 51: case 52: case 53: case 54: case 55: case 56: case 57: /* VLAN v2 */
	case 60: case 61:                /* PTP */
	case 66: case 112: case 113:     /* QoS */
		return true;
	default:
		return false;
	}
}

/* ---- session ---- */

static void version(struct iavf *v, const uint8_t *msg)
{
	struct vc_version ours = { htole32(VC_VERSION_MAJOR), htole32(VC_VERSION_MINOR) };

	v->vc.ver.major = vc_u32(msg);
	v->vc.ver.minor = vc_u32(msg + 4);
	/* A 1.0 VF gets 1.0 back; anything else is answered with ours, never an error. */
	if (v->vc.ver.major == 1 && v->vc.ver.minor == 0)
		ours.minor = 0;
	reply(v, VC_OP_VERSION, VC_STATUS_SUCCESS, &ours, sizeof(ours));
}

static void vf_resources(struct iavf *v, const uint8_t *msg, uint16_t len)
{
	uint32_t want = len ? vc_u32(msg) : CAPS_V10;
	struct vc_vf_resource r = { 0 };

	v->vc.caps = want & CAPS_OFFERED;
	r.num_vsis = htole16(1);
	r.num_queue_pairs = htole16((uint16_t)v->pairs);
	r.max_vectors = htole16((uint16_t)v->nvec);
	/* A frame size, despite the name, as ice reports it: the AVF largest. */
	r.max_mtu = htole16(IAVF_MAX_FRAME);
	r.vf_cap_flags = htole32(v->vc.caps);
	r.rss_key_size = htole32(VC_RSS_KEY_SIZE);
	r.rss_lut_size = htole32(VC_RSS_LUT_SIZE);
	r.vsi_res[0].vsi_id = htole16(IAVF_VSI_ID);
	r.vsi_res[0].num_queue_pairs = htole16((uint16_t)v->pairs);
	r.vsi_res[0].vsi_type = (int32_t)htole32(VC_VSI_SRIOV);
	memcpy(r.vsi_res[0].default_mac, v->vc_mac, 6);
	v->vc.active = true;
	iavf_vc_filters_default(v);
	reply(v, VC_OP_GET_VF_RESOURCES, VC_STATUS_SUCCESS, &r, sizeof(r));
	iavf_vc_link_event(v);
}

void iavf_vc_link_event(struct iavf *v)
{
	struct vc_pf_event e = { 0 };

	e.event = (int32_t)htole32(VC_EVENT_LINK_CHANGE);
	e.severity = (int32_t)htole32(VC_EVENT_SEVERITY_INFO);
	if (v->vc.caps & VC_CAP_ADV_LINK_SPEED) {
		e.data.link_adv.link_speed = htole32(v->speed_mbps);
		e.data.link_adv.link_status = 1;
	} else {
		e.data.link.link_speed = htole32(VC_LINK_SPEED_40GB);
		e.data.link.link_status = 1;
	}
	iavf_arq_send(v, VC_OP_EVENT, VC_STATUS_SUCCESS, &e, sizeof(e));
}

static void stats(struct iavf *v, const uint8_t *msg)
{
	const uint64_t *src = v->dp.stats.c;
	uint64_t out[sizeof(struct vc_eth_stats) / 8];

	if (vc_u16(msg) != IAVF_VSI_ID) {
		reply(v, VC_OP_GET_STATS, VC_STATUS_ERR_PARAM, NULL, 0);
		return;
	}
	for (unsigned i = 0; i < sizeof(out) / 8; i++)
		out[i] = htole64(__atomic_load_n(&src[i], __ATOMIC_RELAXED));
	reply(v, VC_OP_GET_STATS, VC_STATUS_SUCCESS, out, sizeof(out));
}

static void hena_caps(struct iavf *v)
{
	uint64_t caps = htole64(iavf_hena_caps());

	reply(v, VC_OP_GET_RSS_HENA_CAPS, VC_STATUS_SUCCESS, &caps, sizeof(caps));
}

/* ---- dispatch ---- */

static int32_t needs_cap(struct iavf *v, uint32_t cap)
{
	return v->vc.caps & cap ? VC_STATUS_SUCCESS : VC_STATUS_ERR_PARAM;
}

/* The opcodes that answer with a status only. */
static int32_t simple(struct iavf *v, uint32_t op, const uint8_t *msg)
{
	int32_t st;

	switch (op) {
	case VC_OP_CONFIG_VSI_QUEUES: return iavf_vc_config_queues(v, msg);
	case VC_OP_CONFIG_IRQ_MAP: return iavf_vc_irq_map(v, msg);
	case VC_OP_ENABLE_QUEUES: return iavf_vc_queues_enable(v, msg, true);
	case VC_OP_DISABLE_QUEUES: return iavf_vc_queues_enable(v, msg, false);
	case VC_OP_ADD_ETH_ADDR: return iavf_vc_eth_addr(v, msg, true);
	case VC_OP_DEL_ETH_ADDR: return iavf_vc_eth_addr(v, msg, false);
	case VC_OP_CONFIG_PROMISCUOUS_MODE: return iavf_vc_promisc(v, msg);
	case VC_OP_ADD_VLAN:
	case VC_OP_DEL_VLAN:
		st = needs_cap(v, VC_CAP_VLAN);
		return st ? st : iavf_vc_vlan(v, msg, op == VC_OP_ADD_VLAN);
	case VC_OP_ENABLE_VLAN_STRIPPING:
	case VC_OP_DISABLE_VLAN_STRIPPING:
		st = needs_cap(v, VC_CAP_VLAN);
		return st ? st : iavf_vc_vlan_strip(v, op == VC_OP_ENABLE_VLAN_STRIPPING);
	case VC_OP_CONFIG_RSS_KEY:
		st = needs_cap(v, VC_CAP_RSS_PF);
		return st ? st : iavf_vc_rss_key(v, msg);
	case VC_OP_CONFIG_RSS_LUT:
		st = needs_cap(v, VC_CAP_RSS_PF);
		return st ? st : iavf_vc_rss_lut(v, msg);
	case VC_OP_SET_RSS_HENA:
		st = needs_cap(v, VC_CAP_RSS_PF);
		return st ? st : iavf_vc_set_hena(v, msg);
	default:
		return VC_STATUS_ERR_NOT_SUPPORTED;
	}
}

/* Opcodes allowed before GET_VF_RESOURCES made the VF active. */
static bool before_active(uint32_t op)
{
	return op == VC_OP_VERSION || op == VC_OP_RESET_VF || op == VC_OP_GET_VF_RESOURCES;
}

void iavf_vc_handle(struct iavf *v, uint32_t op, const uint8_t *msg, uint16_t len)
{
	if (defined_elsewhere(op)) {
		reply(v, op, VC_STATUS_ERR_NOT_SUPPORTED, NULL, 0);
		return;
	}
	if (!len_ok(v, op, msg, len)) {
		pr_warn_rl("%s: virtchnl opcode %u with %u bytes refused", v->name, op, len);
		reply(v, op, VC_STATUS_ERR_PARAM, NULL, 0);
		return;
	}
	if (!v->vc.active && !before_active(op)) {
		reply(v, op, VC_STATUS_ERR_PARAM, NULL, 0);
		return;
	}
	switch (op) {
	case VC_OP_VERSION: version(v, msg); return;
	case VC_OP_RESET_VF: iavf_do_reset(v, "RESET_VF from the driver"); return;
	case VC_OP_GET_VF_RESOURCES: vf_resources(v, msg, len); return;
	case VC_OP_GET_STATS: stats(v, msg); return;
	case VC_OP_GET_RSS_HENA_CAPS:
		if (needs_cap(v, VC_CAP_RSS_PF))
			reply(v, op, VC_STATUS_ERR_PARAM, NULL, 0);
		else
			hena_caps(v);
		return;
	default:
		reply(v, op, simple(v, op, msg), NULL, 0);
		if (op == VC_OP_ENABLE_QUEUES)
			iavf_vc_link_event(v); /* as ice: the carrier comes up with the queues */
		return;
	}
}
