// SPDX-License-Identifier: MIT
/*
 * DPDK port: the ethdevs, set up by their first open and kept until
 * net_dpdk_fini (see dpdk.c for what the endpoints do with them): up to
 * DPDK_MAX_QUEUES queue pairs, promiscuous, the offloads it has of those the
 * net_hdr can express, and the steering mode. With rte_flow (steer=auto
 * when the PMD accepts the rules, steer=hw or fail) every device's
 * receiving endpoint gets its own Rx queue and a rule "destination MAC ->
 * queue", and a lower-priority rule sends the rest to queue 0; without it
 * there is one Rx queue and every frame is classified in software.
 */
#include "net/dpdk_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>

#include "core/log.h"

#define TX_OFFLOADS (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | \
		     RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO | \
		     RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
#define RX_OFFLOADS (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM | \
		     RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_SCATTER)
#define TAP_MAX_QUEUES 4
#define PRIO_MAC 0
#define PRIO_DEFAULT 1

pthread_mutex_t dpdk_devs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dpdk_dev *devs;

static const char *steer_name(enum dpdk_steer s)
{
	return s == STEER_HW ? "hw" : s == STEER_SW ? "sw" : "auto";
}

/* ---- rte_flow ---- */

/* "destination @mac -> @queue", or "anything -> @queue" without @mac. */
struct rte_flow *dpdk_flow_to_queue(uint16_t port, const uint8_t *mac, uint16_t queue,
				      struct rte_flow_error *e)
{
	struct rte_flow_attr attr = { .ingress = 1, .priority = mac ? PRIO_MAC : PRIO_DEFAULT };
	struct rte_flow_item_eth spec = { 0 }, mask = { 0 };
	struct rte_flow_action_queue q = { .index = queue };
	struct rte_flow_item pattern[2] = {
		{ .type = RTE_FLOW_ITEM_TYPE_ETH },
		{ .type = RTE_FLOW_ITEM_TYPE_END },
	};
	struct rte_flow_action actions[2] = {
		{ .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q },
		{ .type = RTE_FLOW_ACTION_TYPE_END },
	};

	memset(e, 0, sizeof(*e));
	if (mac) {
		memcpy(spec.dst.addr_bytes, mac, 6);
		memset(mask.dst.addr_bytes, 0xff, 6);
		pattern[0].spec = &spec;
		pattern[0].mask = &mask;
	}
	return rte_flow_create(port, &attr, pattern, actions, e);
}

const char *dpdk_flow_msg(const struct rte_flow_error *e)
{
	return e->message ? e->message : rte_strerror(rte_errno);
}

/*
 * Does the PMD take both kinds of rule? Created and destroyed again, since
 * rte_flow_validate may accept what creation then refuses (the tap PMD
 * validates without asking the kernel). The reason in d->why_sw if not.
 */
static bool probe_flows(struct dpdk_dev *d)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct rte_flow_error e;
	struct rte_flow *f;

	f = dpdk_flow_to_queue(d->port_id, mac, 1, &e);
	if (!f) {
		snprintf(d->why_sw, sizeof(d->why_sw), "rte_flow refused MAC -> queue: %s",
			 dpdk_flow_msg(&e));
		return false;
	}
	rte_flow_destroy(d->port_id, f, &e);
	f = dpdk_flow_to_queue(d->port_id, NULL, 0, &e);
	d->catch_all = f != NULL;
	if (f)
		rte_flow_destroy(d->port_id, f, &e);
	else
		pr_info("dpdk %s: no catch-all rule (%s): every unsteered queue is polled", d->name,
			dpdk_flow_msg(&e));
	return true;
}

/* ---- ethdev set-up ---- */

static int configure(struct dpdk_dev *d, char *err, size_t errlen)
{
	struct rte_eth_conf conf = { 0 };
	int ret;

	conf.txmode.offloads = d->tx_offloads;
	conf.rxmode.offloads = d->rx_offloads;
	ret = rte_eth_dev_configure(d->port_id, d->nrxq, d->ntxq, &conf);
	if (ret)
		return net_err(err, errlen, ret, "net dpdk:%s: configuring %u/%u queues: %s", d->name,
			       d->nrxq, d->ntxq, rte_strerror(-ret));
	return 0;
}

static int setup_queues(struct dpdk_dev *d, char *err, size_t errlen)
{
	uint16_t rxd = DPDK_RXD, txd = DPDK_TXD;
	int socket = rte_eth_dev_socket_id(d->port_id);
	char pool[RTE_MEMPOOL_NAMESIZE];
	unsigned n;
	int ret;

	rte_eth_dev_adjust_nb_rx_tx_desc(d->port_id, &rxd, &txd);
	/* as many queues as a port can have: a retry after a failed start may want more */
	n = DPDK_MAX_QUEUES * (rxd + txd) + 4096 +
	    MUX_MAX_MEMBERS * (DPDK_INBOX_MBUFS + DPDK_CACHE * 3 / 2);
	snprintf(pool, sizeof(pool), "iomed_%u", d->port_id);
	/* left by an open that failed: the queues it set up still hold its mbufs */
	d->pool = rte_mempool_lookup(pool);
	if (d->pool && d->pool->size < n)
		return net_err(err, errlen, -ENOSPC,
			       "net dpdk:%s: the pool of an earlier open has %u mbufs, %u needed",
			       d->name, d->pool->size, n);
	/*
	 * The datapath threads are plain, preemptible threads without a
	 * per-lcore cache, often more of them than CPUs: with the default
	 * ring (multi-producer/consumer, each waiting for the ones before it
	 * to finish) one thread preempted inside a get or put makes every
	 * other one spin until it runs again. The relaxed-tail ring lets
	 * them carry on; the threads' caches (dpdk_thread_enter) spare most
	 * trips to it.
	 */
	if (!d->pool)
		d->pool = rte_pktmbuf_pool_create_by_ops(pool, n, DPDK_CACHE, sizeof(struct dpdk_meta),
							 RTE_MBUF_DEFAULT_BUF_SIZE, socket,
							 "ring_mt_rts");
	if (!d->pool)
		return net_err(err, errlen, -ENOMEM,
			       "net dpdk:%s: cannot create a pool of %u mbufs: %s (give EAL more memory with -m)",
			       d->name, n, rte_strerror(rte_errno));
	for (uint16_t q = 0; q < d->nrxq; q++) {
		ret = rte_eth_rx_queue_setup(d->port_id, q, rxd, socket, NULL, d->pool);
		if (ret)
			return net_err(err, errlen, ret, "net dpdk:%s: Rx queue %u: %s", d->name, q,
				       rte_strerror(-ret));
		d->rxq[q].owner = -1;
	}
	for (uint16_t q = 0; q < d->ntxq; q++) {
		ret = rte_eth_tx_queue_setup(d->port_id, q, txd, socket, NULL);
		if (ret)
			return net_err(err, errlen, ret, "net dpdk:%s: Tx queue %u: %s", d->name, q,
				       rte_strerror(-ret));
		rte_spinlock_init(&d->txq[q].lock);
	}
	return 0;
}

/* Queues, offloads and the steering mode, before the first start. */
static int plan(struct dpdk_dev *d, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	uint16_t nq;
	int ret;

	ret = rte_eth_dev_info_get(d->port_id, &info);
	if (ret)
		return net_err(err, errlen, ret, "net dpdk:%s: %s", d->name, rte_strerror(-ret));
	nq = RTE_MIN(info.max_rx_queues, info.max_tx_queues);
	nq = RTE_MIN(nq, DPDK_MAX_QUEUES);
	/*
	 * DPDK 22.11's tap PMD passes every queue's fd in one multi-process
	 * message at start, which holds 8 (RTE_MP_MAX_FD_NUM): more queues
	 * overrun it (a stack overflow, even with no secondary process).
	 */
	if (info.driver_name && !strcmp(info.driver_name, "net_tap")) {
		nq = RTE_MIN(nq, TAP_MAX_QUEUES);
		/*
		 * Its TSO refuses segments of MSS + headers above the MTU (it
		 * leaves out the Ethernet header), i.e. every full-sized one,
		 * and it is rte_gso in software anyway: ours does the same.
		 */
		info.tx_offload_capa &= ~RTE_ETH_TX_OFFLOAD_TCP_TSO;
	}
	if (!nq)
		return net_err(err, errlen, -ENODEV, "net dpdk:%s: the port has no queues", d->name);
	if (d->queues > nq)
		return net_err(err, errlen, -EINVAL, "net dpdk:%s: queues=%u: the port has %u queue pair(s)",
			       d->name, d->queues, nq);
	if (d->queues)
		nq = (uint16_t)d->queues;
	d->ntxq = nq;
	d->nrxq = nq;
	d->tx_offloads = info.tx_offload_capa & TX_OFFLOADS;
	d->rx_offloads = info.rx_offload_capa & RX_OFFLOADS;
	ret = configure(d, err, errlen);
	if (ret)
		return ret;
	if (d->steer == STEER_SW)
		snprintf(d->why_sw, sizeof(d->why_sw), "steer=sw");
	else if (nq < 2)
		snprintf(d->why_sw, sizeof(d->why_sw), "the port has one Rx queue");
	else
		d->hw = probe_flows(d);
	if (!d->hw && d->steer == STEER_HW)
		return net_err(err, errlen, -EOPNOTSUPP, "net dpdk:%s: steer=hw impossible: %s",
			       d->name, d->why_sw);
	/*
	 * Asked for queues=: a peer (memif, vhost-user) may answer on any of
	 * them; every one is polled.
	 */
	if (d->hw || d->nrxq == 1 || d->queues)
		return 0;
	/* one Rx queue: nothing spreads frames to where no one polls */
	d->nrxq = 1;
	if (!configure(d, NULL, 0))
		return 0;
	d->ntxq = 1; /* as many Tx queues as Rx (the tap PMD) */
	return configure(d, err, errlen);
}

static int start(struct dpdk_dev *d, char *err, size_t errlen)
{
	struct rte_flow_error e;
	int ret;

	ret = rte_eth_dev_start(d->port_id);
	if (ret)
		return net_err(err, errlen, ret, "net dpdk:%s: start: %s", d->name, rte_strerror(-ret));
	/* every device's address and whatever a promiscuous device wants */
	ret = rte_eth_promiscuous_enable(d->port_id);
	if (ret)
		pr_warn("dpdk %s: promiscuous mode refused (%s): only the port's own address is received",
			d->name, rte_strerror(-ret));
	rte_eth_allmulticast_enable(d->port_id);
	if (d->hw && d->catch_all) {
		d->default_flow = dpdk_flow_to_queue(d->port_id, NULL, 0, &e);
		d->catch_all = d->default_flow != NULL;
	}
	if (rte_eth_dev_get_mtu(d->port_id, &d->mtu) || !d->mtu)
		d->mtu = NET_DEFAULT_MTU;
	return 0;
}

static void list_ports(char *buf, size_t len)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t used = 0;
	uint16_t id;

	buf[0] = '\0';
	RTE_ETH_FOREACH_DEV(id) {
		if (rte_eth_dev_get_name_by_port(id, name) || used >= len)
			continue;
		used += snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
	}
	if (!used)
		snprintf(buf, len, "none");
}

static int dev_new(const char *name, const struct dpdk_opts *o, struct dpdk_dev **out, char *err,
		   size_t errlen)
{
	struct dpdk_dev *d;
	char ports[256];
	int ret;

	d = calloc(1, sizeof(*d));
	if (!d)
		return net_err(err, errlen, -ENOMEM, "net dpdk:%s: out of memory", name);
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->steer = o->steer;
	d->queues = o->queues;
	mux_init(&d->mux);
	if (rte_eth_dev_get_port_by_name(name, &d->port_id)) {
		list_ports(ports, sizeof(ports));
		free(d);
		return net_err(err, errlen, -ENODEV,
			       "net dpdk:%s: no such DPDK port (ports: %s); create it with --dpdk \"--vdev ...\" or bind the NIC to vfio-pci",
			       name, ports);
	}
	ret = plan(d, err, errlen);
	if (!ret)
		ret = setup_queues(d, err, errlen);
	if (!ret)
		ret = start(d, err, errlen);
	if (ret) {
		/*
		 * Stopped, the queues it set up keep the pool (DPDK 22.11 cannot
		 * release them, and closing a virtual port ends it): the next
		 * open configures the port again and sets them up over it.
		 */
		rte_eth_dev_stop(d->port_id);
		free(d);
		return ret;
	}
	pr_info("dpdk %s: port %u up, %u Rx / %u Tx queues, mtu %u, steering %s%s%s, Tx offloads %#llx",
		d->name, d->port_id, d->nrxq, d->ntxq, d->mtu,
		d->hw ? "hw (rte_flow: destination MAC -> queue)" : "sw", d->hw ? "" : ": ",
		d->hw ? "" : d->why_sw, (unsigned long long)d->tx_offloads);
	d->next = devs;
	devs = d;
	*out = d;
	return 0;
}

int dpdk_dev_get(const char *name, const struct dpdk_opts *o, struct dpdk_dev **out, char *err,
		 size_t errlen)
{
	for (struct dpdk_dev *d = devs; d; d = d->next) {
		if (strcmp(d->name, name))
			continue;
		if (o->steer_given && o->steer != d->steer)
			return net_err(err, errlen, -EINVAL,
				       "net dpdk:%s: the port is already open with steer=%s", name,
				       steer_name(d->steer));
		/* without queues= the first open may have kept one Rx queue: not the same */
		if (o->queues && o->queues != d->queues && d->queues)
			return net_err(err, errlen, -EINVAL,
				       "net dpdk:%s: the port is already open with queues=%u", name,
				       d->queues);
		if (o->queues && o->queues != d->queues)
			return net_err(err, errlen, -EINVAL,
				       "net dpdk:%s: the port is already open without queues= (%u Rx / %u Tx queues)",
				       name, d->nrxq, d->ntxq);
		*out = d;
		return 0;
	}
	return dev_new(name, o, out, err, errlen);
}

static void dev_free(struct dpdk_dev *d)
{
	struct rte_flow_error e;
	struct dpdk_stats *s = &d->stats;

	pr_info("dpdk %s: steering %s; rx %llu (%llu on their device's own queue), tx %llu, "
		"member to member %llu, spoofed %llu, unknown destination %llu, inbox full %llu, "
		"software checksums %llu, software segmentation %llu",
		d->name, d->hw ? "hw" : "sw", (unsigned long long)s->rx_wire,
		(unsigned long long)s->rx_direct, (unsigned long long)s->tx_wire,
		(unsigned long long)d->mux.stats.local, (unsigned long long)d->mux.stats.spoofed,
		(unsigned long long)d->mux.stats.unknown, (unsigned long long)s->rx_inbox_full,
		(unsigned long long)s->tx_sw_csum, (unsigned long long)s->tx_sw_gso);
	rte_flow_flush(d->port_id, &e);
	rte_eth_dev_stop(d->port_id);
	rte_eth_dev_close(d->port_id);
	for (unsigned i = 0; i < MUX_MAX_MEMBERS; i++)
		rte_ring_free(d->inbox[i]);
	rte_mempool_free(d->pool);
	free(d);
}

void dpdk_devs_fini(void)
{
	pthread_mutex_lock(&dpdk_devs_lock);
	while (devs) {
		struct dpdk_dev *d = devs;

		devs = d->next;
		if (d->refs)
			pr_warn("dpdk %s: %u endpoint(s) still open at exit", d->name, d->refs);
		dev_free(d);
	}
	pthread_mutex_unlock(&dpdk_devs_lock);
}
