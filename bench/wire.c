// SPDX-License-Identifier: MIT
/*
 * The far end of a wire for vnet_bench: a DPDK port (a memif client by
 * default) whose every received frame goes back out of the queue it came
 * from with its MACs swapped, polled from the driver's own loop. So the
 * benchmark of a shared dpdk: port needs no third busy process: the driver
 * side does the wire's work on its own CPU, as a NIC would on its own
 * silicon.
 */
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#define WIRE_DESC 1024
#define WIRE_BURST 32

static int eal_start(const char *vdev, char *err, size_t errlen)
{
	char prefix[64], *argv[] = { "vnet_bench", "--no-huge", "-m", "128", "--no-pci",
				     "--no-telemetry", "--log-level=notice", "--file-prefix", prefix,
				     "--vdev", (char *)vdev, NULL };
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	snprintf(prefix, sizeof(prefix), "vnet-bench-%d", (int)getpid());
	if (rte_eal_init(argc, argv) < 0) {
		snprintf(err, errlen, "wire: EAL: %s", rte_strerror(rte_errno));
		return -EINVAL;
	}
	return 0;
}

static int port_start(struct wire *w, char *err, size_t errlen)
{
	struct rte_eth_conf conf = { 0 };
	int ret;

	w->pool = rte_pktmbuf_pool_create("wire", 2 * w->nq * WIRE_DESC + 1024, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!w->pool) {
		snprintf(err, errlen, "wire: mbuf pool: %s", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	ret = rte_eth_dev_configure(w->port, w->nq, w->nq, &conf);
	for (uint16_t q = 0; !ret && q < w->nq; q++) {
		ret = rte_eth_rx_queue_setup(w->port, q, WIRE_DESC, (unsigned)rte_socket_id(), NULL,
					     w->pool);
		if (!ret)
			ret = rte_eth_tx_queue_setup(w->port, q, WIRE_DESC,
						     (unsigned)rte_socket_id(), NULL);
	}
	if (!ret)
		ret = rte_eth_dev_start(w->port);
	if (ret)
		snprintf(err, errlen, "wire: port set-up: %s", rte_strerror(-ret));
	return ret;
}

/* The far end connects when it is ready: wait for the link (10 s). */
static int link_wait(struct wire *w, char *err, size_t errlen)
{
	struct rte_eth_link link;

	for (int i = 0; i < 1000; i++) {
		if (!rte_eth_link_get_nowait(w->port, &link) && link.link_status)
			return 0;
		usleep(10000);
	}
	snprintf(err, errlen, "wire: the link never came up (is the other end there?)");
	return -ETIMEDOUT;
}

int wire_open(struct wire *w, const char *vdev, uint16_t nq, char *err, size_t errlen)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	int ret;

	memset(w, 0, sizeof(*w));
	w->nq = nq;
	ret = eal_start(vdev, err, errlen);
	if (ret)
		return ret;
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(vdev, ","), vdev);
	if (rte_eth_dev_get_port_by_name(name, &w->port)) {
		snprintf(err, errlen, "wire: no port %s", name);
		return -ENODEV;
	}
	ret = port_start(w, err, errlen);
	if (!ret)
		ret = link_wait(w, err, errlen);
	if (!ret)
		w->up = true;
	return ret;
}

static void swap_macs(struct rte_mbuf *m)
{
	uint8_t *eth = rte_pktmbuf_mtod(m, uint8_t *), tmp[6];

	if (rte_pktmbuf_data_len(m) < 12)
		return;
	memcpy(tmp, eth, 6);
	memcpy(eth, eth + 6, 6);
	memcpy(eth + 6, tmp, 6);
}

unsigned wire_poll(struct wire *w)
{
	struct rte_mbuf *bufs[WIRE_BURST];
	unsigned work = 0;

	for (uint16_t q = 0; q < w->nq; q++) {
		uint16_t n = rte_eth_rx_burst(w->port, q, bufs, WIRE_BURST), sent;

		for (uint16_t i = 0; i < n; i++)
			swap_macs(bufs[i]);
		sent = n ? rte_eth_tx_burst(w->port, q, bufs, n) : 0;
		if (sent < n) {
			rte_pktmbuf_free_bulk(bufs + sent, n - sent);
			w->dropped += n - sent;
		}
		w->frames += sent;
		work += n;
	}
	return work;
}

void wire_close(struct wire *w)
{
	if (w->up) {
		rte_eth_dev_stop(w->port);
		rte_eth_dev_close(w->port);
	}
	rte_eal_cleanup();
	w->up = false;
}
