/* SPDX-License-Identifier: MIT */
/*
 * DPDK's Environment Abstraction Layer, once per daemon: the daemon
 * starts it with the user's --dpdk arguments before any device opens a
 * dpdk: port (a port opened without it starts EAL with no arguments), and
 * stops it after the last device is gone.
 */
#ifndef IOMED_NET_DPDK_H
#define IOMED_NET_DPDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * @args: EAL arguments separated by spaces (no quoting). iomed adds
 * --in-memory (--no-shconf with --no-huge), --no-telemetry and
 * --log-level=notice unless @args say otherwise (--in-memory, --no-shconf,
 * --file-prefix or --proc-type; --telemetry; --log-level). 0, or -errno
 * with the reason in @err.
 */
int net_dpdk_init(const char *args, char *err, size_t errlen);
void net_dpdk_fini(void);

struct net_port;

/* How a dpdk: port steers, for tests and diagnostics. */
struct net_dpdk_info {
	bool hw;            /* rte_flow steering on this ethdev */
	int rxq;            /* the endpoint's own Rx queue, -1: none */
	uint64_t rx_wire;   /* frames the ethdev received */
	uint64_t rx_direct; /* of those, on their owner's own queue */
};

/* -EINVAL when @p is not a dpdk: port. */
int net_dpdk_info(struct net_port *p, struct net_dpdk_info *out);

#endif
