// SPDX-License-Identifier: MIT
/*
 * DPDK port, endpoints: "dpdk:PORT[:steer=auto|hw|sw][:queues=N]" opens one queue
 * pair's endpoint on the ethdev PORT (its name, e.g. net_tap0, or its PCI
 * address; set up by dpdk_dev.c). Every device naming the same PORT shares
 * it through the mux: an endpoint joins as a member when the device gives
 * its MAC, gets its own Rx queue when the port steers in hardware, and a Tx
 * queue of its own (shared under a spinlock when there are more endpoints
 * than queues).
 */
#include "net/dpdk.h"
#include "net/dpdk_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>

#include "core/log.h"

/* ---- endpoints ---- */

static struct dpdk_ep *to_ep(struct net_port *p)
{
	return net_port_of(p, struct dpdk_ep, port);
}

static int dpdk_set_offloads(struct net_port *p, unsigned offloads)
{
	int ret = net_offloads_check(offloads);

	/* frames from other devices keep their offload state only where enabled */
	if (!ret)
		p->offloads = offloads;
	return ret;
}

static int inbox(struct dpdk_dev *d, unsigned slot, char *err, size_t errlen)
{
	char name[RTE_RING_NAMESIZE];
	struct rte_ring *r;

	if (d->inbox[slot])
		return 0;
	snprintf(name, sizeof(name), "iomed_%u_%u", d->port_id, slot);
	/* relaxed tail sync for the producers, for the pool's reason (dpdk_dev.c) */
	r = rte_ring_create(name, DPDK_INBOX, rte_eth_dev_socket_id(d->port_id),
			    RING_F_MP_RTS_ENQ | RING_F_SC_DEQ);
	if (!r)
		return net_err(err, errlen, -ENOMEM, "net dpdk:%s: inbox: %s", d->name,
			       rte_strerror(rte_errno));
	__atomic_store_n(&d->inbox[slot], r, __ATOMIC_RELEASE);
	return 0;
}

/* A primary endpoint's own Rx queue, steered by its MAC; stays -1 when there is none. */
static void steer(struct dpdk_ep *ep, const uint8_t mac[6])
{
	struct dpdk_dev *d = ep->dev;
	struct rte_flow_error e;

	if (!d->hw || !ep->primary)
		return;
	for (uint16_t q = 1; q < d->nrxq; q++) {
		if (d->rxq[q].owner >= 0)
			continue;
		d->rxq[q].flow = dpdk_flow_to_queue(d->port_id, mac, q, &e);
		if (!d->rxq[q].flow) {
			pr_warn("dpdk %s: rule for %02x:%02x:%02x:%02x:%02x:%02x refused (%s): classified in software",
				d->name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], dpdk_flow_msg(&e));
			return;
		}
		__atomic_store_n(&d->rxq[q].owner, ep->slot, __ATOMIC_RELEASE);
		ep->rxq = q;
		return;
	}
}

static void unsteer(struct dpdk_ep *ep)
{
	struct dpdk_dev *d = ep->dev;
	struct rte_flow_error e;

	if (ep->rxq < 0)
		return;
	rte_flow_destroy(d->port_id, d->rxq[ep->rxq].flow, &e);
	d->rxq[ep->rxq].flow = NULL;
	/* what is still queued there is polled and classified by everyone */
	__atomic_store_n(&d->rxq[ep->rxq].owner, -1, __ATOMIC_RELEASE);
	ep->rxq = -1;
}

static void leave(struct dpdk_ep *ep)
{
	if (ep->slot < 0)
		return;
	unsteer(ep);
	mux_leave(&ep->dev->mux, (unsigned)ep->slot);
	dpdk_ep_drain(ep);
	ep->slot = -1;
}

static int dpdk_set_mac(struct net_port *p, const uint8_t mac[6], const void *owner)
{
	struct dpdk_ep *ep = to_ep(p);
	struct dpdk_dev *d = ep->dev;
	char err[160];
	int ret;

	pthread_mutex_lock(&dpdk_devs_lock);
	leave(ep);
	ret = mux_join(&d->mux, mac, owner, &ep->primary);
	if (ret < 0) {
		pr_err("dpdk %s: %02x:%02x:%02x:%02x:%02x:%02x: %s", d->name, mac[0], mac[1], mac[2],
		       mac[3], mac[4], mac[5],
		       ret == -EADDRINUSE ? "another device on the port owns this address" :
		       ret == -ENOSPC ? "too many devices on the port" : "not a unicast address");
		goto out;
	}
	ep->slot = ret;
	ret = inbox(d, (unsigned)ep->slot, err, sizeof(err));
	if (ret) {
		pr_err("%s", err);
		mux_leave(&d->mux, (unsigned)ep->slot);
		ep->slot = -1;
		goto out;
	}
	steer(ep, mac);
	pr_info("dpdk %s: %02x:%02x:%02x:%02x:%02x:%02x joins as member %d (%s), Tx queue %u, %s",
		d->name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], ep->slot,
		ep->primary ? "receives" : "sends only", ep->txq,
		ep->rxq >= 0 ? "own Rx queue (hw steering)" : "software classification");
	if (ep->rxq >= 0)
		pr_debug("dpdk %s: member %d on Rx queue %d", d->name, ep->slot, ep->rxq);
out:
	pthread_mutex_unlock(&dpdk_devs_lock);
	return ret;
}

static int dpdk_set_promisc(struct net_port *p, bool on)
{
	struct dpdk_ep *ep = to_ep(p);

	if (ep->slot < 0)
		return -ENOTCONN;
	mux_set_promisc(&ep->dev->mux, (unsigned)ep->slot, on);
	pr_debug("dpdk %s: member %d promiscuous %s", ep->dev->name, ep->slot, on ? "on" : "off");
	return 0;
}

static void dpdk_destroy(struct net_port *p)
{
	struct dpdk_ep *ep = to_ep(p);
	struct dpdk_dev *d = ep->dev;

	pthread_mutex_lock(&dpdk_devs_lock);
	dpdk_tx_flush(ep);
	leave(ep);
	dpdk_ep_drain(ep);
	d->txq[ep->txq].users--;
	d->refs--;
	pthread_mutex_unlock(&dpdk_devs_lock);
	pr_debug("dpdk %s: endpoint closed: rx %llu tx %llu drops %llu/%llu spoofed %llu", d->name,
		 (unsigned long long)p->stats.rx_packets, (unsigned long long)p->stats.tx_packets,
		 (unsigned long long)p->stats.rx_drops, (unsigned long long)p->stats.tx_drops,
		 (unsigned long long)p->stats.tx_spoofed);
	free(ep->scratch);
	free(ep->tx_scratch);
	free(ep->seg);
	free(ep);
}

static const struct net_port_ops dpdk_ops = {
	.send = dpdk_send,
	.recv = dpdk_recv,
	.set_offloads = dpdk_set_offloads,
	.set_mac = dpdk_set_mac,
	.flush = dpdk_flush,
	.set_promisc = dpdk_set_promisc,
	.destroy = dpdk_destroy,
};

/* One ":key=value" option of a dpdk: endpoint. */
static int parse_opt(const char *arg, const char *opt, struct dpdk_opts *o, char *err,
		     size_t errlen)
{
	const char *end = strchr(opt + 1, ':'), *v = strchr(opt, '=') + 1;
	size_t vlen = end ? (size_t)(end - v) : strlen(v);
	char *stop;
	unsigned long n;

	if (!strncmp(opt, ":steer=", 7)) {
		o->steer_given = true;
		if (vlen == 4 && !strncmp(v, "auto", 4))
			o->steer = STEER_AUTO;
		else if (vlen == 2 && !strncmp(v, "hw", 2))
			o->steer = STEER_HW;
		else if (vlen == 2 && !strncmp(v, "sw", 2))
			o->steer = STEER_SW;
		else
			return net_err(err, errlen, -EINVAL, "net 'dpdk:%s': steer= takes auto, hw or sw", arg);
		return 0;
	}
	n = strtoul(v, &stop, 10);
	if (v[0] < '0' || v[0] > '9' || stop != v + vlen || !n || n > DPDK_MAX_QUEUES)
		return net_err(err, errlen, -EINVAL, "net 'dpdk:%s': queues= takes 1 to %u", arg,
			       DPDK_MAX_QUEUES);
	o->queues = (unsigned)n;
	return 0;
}

/* The first ":steer=" or ":queues=": PORT itself may hold ':' (a PCI address). */
static const char *first_opt(const char *arg)
{
	const char *s = strstr(arg, ":steer="), *q = strstr(arg, ":queues=");

	return !s ? q : !q ? s : s < q ? s : q;
}

/* "PORT[:steer=auto|hw|sw][:queues=N]", options in any order. */
static int parse(const char *arg, char *name, size_t len, struct dpdk_opts *o, char *err,
		 size_t errlen)
{
	const char *opt = arg ? first_opt(arg) : NULL;
	int ret;

	*o = (struct dpdk_opts){ .steer = STEER_AUTO };
	if (!arg || !*arg || arg == opt)
		return net_err(err, errlen, -EINVAL, "net 'dpdk:%s': expected dpdk:PORT (a port name or PCI address)",
			       arg ? arg : "");
	if ((size_t)(opt ? opt - arg : (long)strlen(arg)) >= len)
		return net_err(err, errlen, -EINVAL, "net 'dpdk:%s': port name too long", arg);
	snprintf(name, len, "%.*s", (int)(opt ? opt - arg : (long)strlen(arg)), arg);
	for (; opt; opt = strchr(opt + 1, ':')) {
		if (strncmp(opt, ":steer=", 7) && strncmp(opt, ":queues=", 8))
			return net_err(err, errlen, -EINVAL,
				       "net 'dpdk:%s': options after the port are steer= and queues=", arg);
		ret = parse_opt(arg, opt, o, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

static unsigned pick_txq(struct dpdk_dev *d)
{
	unsigned best = 0;

	for (unsigned q = 1; q < d->ntxq; q++)
		if (d->txq[q].users < d->txq[best].users)
			best = q;
	return best;
}

int net_dpdk_open(const char *arg, struct net_port **out, char *err, size_t errlen)
{
	char name[56], pname[sizeof(((struct net_port *)0)->name)];
	struct dpdk_opts o;
	struct dpdk_ep *ep;
	struct dpdk_dev *d = NULL;
	int ret;

	ret = parse(arg, name, sizeof(name), &o, err, errlen);
	if (!ret)
		ret = dpdk_eal_ready(err, errlen);
	if (ret)
		return ret;
	ep = calloc(1, sizeof(*ep));
	if (ep) {
		ep->scratch = malloc(NET_MAX_FRAME);
		ep->tx_scratch = malloc(NET_MAX_FRAME);
		ep->seg = malloc(NET_MAX_FRAME);
	}
	if (!ep || !ep->scratch || !ep->tx_scratch || !ep->seg) {
		ret = net_err(err, errlen, -ENOMEM, "net dpdk:%s: out of memory", name);
		goto fail;
	}
	pthread_mutex_lock(&dpdk_devs_lock);
	ret = dpdk_dev_get(name, &o, &d, err, errlen);
	if (!ret) {
		ep->dev = d;
		ep->txq = pick_txq(d);
		d->txq[ep->txq].users++;
		d->refs++;
	}
	pthread_mutex_unlock(&dpdk_devs_lock);
	if (ret)
		goto fail;
	ep->slot = -1;
	ep->rxq = -1;
	snprintf(pname, sizeof(pname), "dpdk:%s", name);
	net_port_init(&ep->port, &dpdk_ops, pname);
	ep->port.mtu = d->mtu;
	*out = &ep->port;
	return 0;
fail:
	if (ep) {
		free(ep->scratch);
		free(ep->tx_scratch);
		free(ep->seg);
	}
	free(ep);
	return ret;
}

int net_dpdk_info(struct net_port *p, struct net_dpdk_info *out)
{
	struct dpdk_ep *ep;

	if (p->ops != &dpdk_ops)
		return -EINVAL;
	ep = to_ep(p);
	out->hw = ep->dev->hw;
	out->rxq = ep->rxq;
	out->rx_wire = __atomic_load_n(&ep->dev->stats.rx_wire, __ATOMIC_RELAXED);
	out->rx_direct = __atomic_load_n(&ep->dev->stats.rx_direct, __ATOMIC_RELAXED);
	return 0;
}
