// SPDX-License-Identifier: MIT
/*
 * virtio-net control commands (virtio 1.2, 5.1.6.5) and the RX filter
 * they program, on the poller thread. A command is read from the guest's
 * buffers into locals (each field once) and checked whole before anything
 * changes: a malformed one gets VIRTIO_NET_ERR and leaves the state as it
 * was.
 */
#include <endian.h>
#include <string.h>

#include "devices/virtio-net/vnet.h"

/* virtio_net_ctrl_hdr classes and commands. */
#define CTRL_RX 0
#define CTRL_RX_PROMISC 0
#define CTRL_RX_ALLMULTI 1
#define CTRL_MAC 1
#define CTRL_MAC_TABLE_SET 0
#define CTRL_MAC_ADDR_SET 1
#define CTRL_MQ 4
#define CTRL_MQ_VQ_PAIRS_SET 0

#define HDR 2 /* class, command */
#define ETH_ALEN 6

void vnet_rx_filter_reset(struct vnet_rx_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->promisc = true;
}

static bool in_table(const struct vnet_rx_filter *f, unsigned first, unsigned n,
		     const uint8_t *mac)
{
	for (unsigned i = first; i < first + n; i++)
		if (!memcmp(f->mac[i], mac, ETH_ALEN))
			return true;
	return false;
}

bool vnet_rx_accept(const struct vnet_dp *dp, const struct iovec *iov, unsigned cnt,
		    uint32_t len)
{
	const struct vnet_rx_filter *f = &dp->filter;
	static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t dst[ETH_ALEN];

	if (f->promisc)
		return true;
	if (len < VNET_HDR_LEN + ETH_ALEN ||
	    vnet_iov_copy(iov, cnt, VNET_HDR_LEN, dst, ETH_ALEN, false) != ETH_ALEN)
		return false;
	if (dst[0] & 1) {
		if (f->allmulti || f->multi_all || !memcmp(dst, bcast, ETH_ALEN))
			return true;
		return in_table(f, f->nuni, f->nmulti, dst);
	}
	if (!memcmp(dst, dp->mac, ETH_ALEN) || f->uni_all)
		return true;
	return in_table(f, 0, f->nuni, dst);
}

/* One virtio_net_ctrl_mac (le32 entries, then the MACs) at *off; moves *off past it. */
static bool read_macs(const struct vq_chain *c, size_t *off, struct vnet_rx_filter *f,
		      bool multi)
{
	unsigned first = multi ? f->nuni : 0;
	uint32_t n;
	size_t bytes;

	if (c->out_len - *off < sizeof(n) ||
	    vnet_iov_copy(c->iov, c->out_num, *off, &n, sizeof(n), false) != sizeof(n))
		return false;
	n = le32toh(n);
	*off += sizeof(n);
	if (n > (c->out_len - *off) / ETH_ALEN)
		return false;
	bytes = (size_t)n * ETH_ALEN;
	if (n > VNET_MAC_TABLE - first) {
		/* More than the table holds: accept the whole class, as QEMU does. */
		*(multi ? &f->multi_all : &f->uni_all) = true;
	} else {
		if (vnet_iov_copy(c->iov, c->out_num, *off, f->mac[first], bytes, false) != bytes)
			return false;
		*(multi ? &f->nmulti : &f->nuni) = n;
	}
	*off += bytes;
	return true;
}

/* MAC TABLE_SET: the unicast table, the multicast table, nothing after (5.1.6.5.2). */
static uint8_t mac_table_set(struct vnet_dp *dp, const struct vq_chain *c)
{
	struct vnet_rx_filter f = dp->filter;
	size_t off = HDR;

	f.uni_all = f.multi_all = false;
	f.nuni = f.nmulti = 0;
	if (!read_macs(c, &off, &f, false) || !read_macs(c, &off, &f, true) || off != c->out_len)
		return VNET_CTRL_ERR;
	dp->filter = f;
	return VNET_CTRL_OK;
}

/* RX PROMISC / ALLMULTI: one byte, 0 off, anything else on. */
static uint8_t rx_mode(const struct vq_chain *c, bool *mode)
{
	uint8_t on;

	if (c->out_len != HDR + 1 || vnet_iov_copy(c->iov, c->out_num, HDR, &on, 1, false) != 1)
		return VNET_CTRL_ERR;
	*mode = on;
	return VNET_CTRL_OK;
}

/* PROMISC also tells the ports: a shared one (dpdk:) then gives us other devices' frames. */
static uint8_t rx_promisc(struct vnet *v, const struct vq_chain *c)
{
	uint8_t ret = rx_mode(c, &v->dp.filter.promisc);

	for (unsigned p = 0; p < v->dp.pairs && ret == VNET_CTRL_OK; p++)
		net_port_set_promisc(v->port[p], v->dp.filter.promisc);
	return ret;
}

static uint8_t mac_addr_set(struct vnet_dp *dp, const struct vq_chain *c)
{
	uint8_t mac[ETH_ALEN];

	if (c->out_len != HDR + ETH_ALEN ||
	    vnet_iov_copy(c->iov, c->out_num, HDR, mac, ETH_ALEN, false) != ETH_ALEN)
		return VNET_CTRL_ERR;
	memcpy(dp->mac, mac, ETH_ALEN);
	return VNET_CTRL_OK;
}

static uint8_t vq_pairs_set(struct vnet_dp *dp, const struct vq_chain *c)
{
	uint16_t pairs;

	if (c->out_len != HDR + sizeof(pairs) ||
	    vnet_iov_copy(c->iov, c->out_num, HDR, &pairs, sizeof(pairs), false) != sizeof(pairs))
		return VNET_CTRL_ERR;
	pairs = le16toh(pairs);
	if (!pairs || pairs > dp->pairs)
		return VNET_CTRL_ERR;
	dp->active_pairs = pairs;
	return VNET_CTRL_OK;
}

uint8_t vnet_ctrl_cmd(struct vnet *v, const struct vq_chain *c)
{
	struct vnet_dp *dp = &v->dp;
	uint8_t hdr[HDR];
	uint64_t f = dp->features;

	if (c->out_len < HDR || vnet_iov_copy(c->iov, c->out_num, 0, hdr, HDR, false) != HDR)
		return VNET_CTRL_ERR;
	switch (hdr[0] << 8 | hdr[1]) {
	case CTRL_RX << 8 | CTRL_RX_PROMISC:
		return vnet_has(f, VNET_F_CTRL_RX) ? rx_promisc(v, c) : VNET_CTRL_ERR;
	case CTRL_RX << 8 | CTRL_RX_ALLMULTI:
		return vnet_has(f, VNET_F_CTRL_RX) ? rx_mode(c, &dp->filter.allmulti) : VNET_CTRL_ERR;
	case CTRL_MAC << 8 | CTRL_MAC_TABLE_SET:
		return vnet_has(f, VNET_F_CTRL_RX) ? mac_table_set(dp, c) : VNET_CTRL_ERR;
	case CTRL_MAC << 8 | CTRL_MAC_ADDR_SET:
		return vnet_has(f, VNET_F_CTRL_MAC_ADDR) ? mac_addr_set(dp, c) : VNET_CTRL_ERR;
	case CTRL_MQ << 8 | CTRL_MQ_VQ_PAIRS_SET:
		return vnet_has(f, VNET_F_MQ) ? vq_pairs_set(dp, c) : VNET_CTRL_ERR;
	default:
		return VNET_CTRL_ERR;
	}
}
