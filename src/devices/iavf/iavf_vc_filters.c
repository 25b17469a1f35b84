// SPDX-License-Identifier: MIT
/*
 * virtchnl receive filters and offload settings: MAC and VLAN filters,
 * promiscuous modes, VLAN stripping, the RSS key, lookup table and hash
 * types. The datapath reads them, so they change with it parked.
 */
#include "devices/iavf/iavf_vc.h"

#include "core/log.h"

#define ADDR_TYPE_MASK 3
#define ADDR_TYPE_PRIMARY 1

uint64_t iavf_hena_caps(void)
{
	static const unsigned pctypes[] = {
		AVF_PCTYPE_IPV4_UDP_UC, AVF_PCTYPE_IPV4_UDP_MC, AVF_PCTYPE_IPV4_UDP,
		AVF_PCTYPE_IPV4_TCP_SYN_NO_ACK, AVF_PCTYPE_IPV4_TCP, AVF_PCTYPE_IPV4_SCTP,
		AVF_PCTYPE_IPV4_OTHER, AVF_PCTYPE_FRAG_IPV4, AVF_PCTYPE_IPV6_UDP_UC,
		AVF_PCTYPE_IPV6_UDP_MC, AVF_PCTYPE_IPV6_UDP, AVF_PCTYPE_IPV6_TCP_SYN_NO_ACK,
		AVF_PCTYPE_IPV6_TCP, AVF_PCTYPE_IPV6_SCTP, AVF_PCTYPE_IPV6_OTHER,
		AVF_PCTYPE_FRAG_IPV6,
	};
	uint64_t caps = 0;

	for (unsigned i = 0; i < sizeof(pctypes) / sizeof(pctypes[0]); i++)
		caps |= 1ull << pctypes[i];
	return caps;
}

static bool vsi_ok(const uint8_t *msg)
{
	return vc_u16(msg) == IAVF_VSI_ID;
}

void iavf_vc_filters_default(struct iavf *v)
{
	struct iavf_filter *f = &v->dp.filt;

	iavf_dp_park(v);
	f->nmac = 1;
	memcpy(f->mac[0], v->vc_mac, 6);
	memset(f->vlan, 0, sizeof(f->vlan));
	f->vlan[0] = 1; /* VLAN 0: untagged and priority-tagged frames */
	f->uc_promisc = f->mc_promisc = false;
	/* ice turns stripping on for a VF that negotiated VLAN offloads. */
	f->vlan_strip = v->vc.caps & VC_CAP_VLAN;
	f->hena = iavf_hena_caps();
	iavf_dp_unpark(v);
}

/* ---- MAC filters ---- */

static int mac_find(const struct iavf_filter *f, const uint8_t *mac)
{
	for (unsigned i = 0; i < f->nmac; i++)
		if (!memcmp(f->mac[i], mac, 6))
			return (int)i;
	return -1;
}

static bool mac_zero(const uint8_t *mac)
{
	return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

static int32_t mac_add(struct iavf *v, const struct vc_ether_addr *a)
{
	struct iavf_filter *f = &v->dp.filt;

	if (mac_zero(a->addr))
		return VC_STATUS_ERR_PARAM;
	/* A unicast primary address becomes the VF's MAC, kept across VF resets. */
	if (!(a->addr[0] & 1) && (a->type & ADDR_TYPE_MASK) == ADDR_TYPE_PRIMARY)
		memcpy(v->vc_mac, a->addr, 6);
	if (mac_find(f, a->addr) >= 0)
		return VC_STATUS_SUCCESS;
	if (f->nmac == IAVF_MAX_MACS)
		return VC_STATUS_ERR_PARAM;
	memcpy(f->mac[f->nmac++], a->addr, 6);
	return VC_STATUS_SUCCESS;
}

static void mac_del(struct iavf_filter *f, const struct vc_ether_addr *a)
{
	int i = mac_find(f, a->addr);

	if (i < 0)
		return;
	memmove(f->mac[i], f->mac[i + 1], (f->nmac - (unsigned)i - 1) * 6);
	f->nmac--;
}

int32_t iavf_vc_eth_addr(struct iavf *v, const uint8_t *msg, bool add)
{
	const struct vc_ether_addr *list = (const void *)(msg + 4);
	unsigned n = vc_u16(msg + 2);
	int32_t st = VC_STATUS_SUCCESS;

	if (!vsi_ok(msg))
		return VC_STATUS_ERR_PARAM;
	iavf_dp_park(v);
	for (unsigned i = 0; i < n && !st; i++) {
		struct vc_ether_addr a;

		memcpy(&a, list + i, sizeof(a));
		if (add)
			st = mac_add(v, &a);
		else
			mac_del(&v->dp.filt, &a);
	}
	iavf_dp_unpark(v);
	return st;
}

/* ---- VLAN ---- */

int32_t iavf_vc_vlan(struct iavf *v, const uint8_t *msg, bool add)
{
	struct iavf_filter *f = &v->dp.filt;
	unsigned n = vc_u16(msg + 2);

	if (!vsi_ok(msg))
		return VC_STATUS_ERR_PARAM;
	for (unsigned i = 0; i < n; i++)
		if (vc_u16(msg + 4 + 2 * i) >= 4096)
			return VC_STATUS_ERR_PARAM;
	iavf_dp_park(v);
	for (unsigned i = 0; i < n; i++) {
		uint16_t vid = vc_u16(msg + 4 + 2 * i);

		if (add)
			f->vlan[vid / 64] |= 1ull << (vid % 64);
		else if (vid)
			f->vlan[vid / 64] &= ~(1ull << (vid % 64));
	}
	iavf_dp_unpark(v);
	return VC_STATUS_SUCCESS;
}

int32_t iavf_vc_vlan_strip(struct iavf *v, bool on)
{
	iavf_dp_park(v);
	v->dp.filt.vlan_strip = on;
	iavf_dp_unpark(v);
	return VC_STATUS_SUCCESS;
}

int32_t iavf_vc_promisc(struct iavf *v, const uint8_t *msg)
{
	uint16_t flags = vc_u16(msg + 2);

	if (!vsi_ok(msg))
		return VC_STATUS_ERR_PARAM;
	iavf_dp_park(v);
	v->dp.filt.uc_promisc = flags & VC_PROMISC_UNICAST;
	v->dp.filt.mc_promisc = flags & VC_PROMISC_MULTICAST;
	/* a shared port (dpdk:) then gives this VF other devices' unicast too */
	for (unsigned p = 0; p < v->pairs; p++)
		net_port_set_promisc(v->port[p], v->dp.filt.uc_promisc);
	iavf_dp_unpark(v);
	return VC_STATUS_SUCCESS;
}

/* ---- RSS ---- */

int32_t iavf_vc_rss_key(struct iavf *v, const uint8_t *msg)
{
	if (!vsi_ok(msg) || vc_u16(msg + 2) != VC_RSS_KEY_SIZE)
		return VC_STATUS_ERR_PARAM;
	iavf_dp_park(v);
	memcpy(v->dp.filt.rss_key, msg + 4, VC_RSS_KEY_SIZE);
	iavf_dp_unpark(v);
	return VC_STATUS_SUCCESS;
}

int32_t iavf_vc_rss_lut(struct iavf *v, const uint8_t *msg)
{
	if (!vsi_ok(msg) || vc_u16(msg + 2) != VC_RSS_LUT_SIZE)
		return VC_STATUS_ERR_PARAM;
	iavf_dp_park(v);
	memcpy(v->dp.filt.rss_lut, msg + 4, VC_RSS_LUT_SIZE);
	iavf_dp_unpark(v);
	return VC_STATUS_SUCCESS;
}

int32_t iavf_vc_set_hena(struct iavf *v, const uint8_t *msg)
{
	uint64_t hena;

	memcpy(&hena, msg, sizeof(hena));
	hena = le64toh(hena);
	if (hena & ~iavf_hena_caps())
		return VC_STATUS_ERR_PARAM;
	iavf_dp_park(v);
	v->dp.filt.hena = hena;
	iavf_dp_unpark(v);
	return VC_STATUS_SUCCESS;
}
