// SPDX-License-Identifier: MIT
/*
 * dpdk_retry: an open of a DPDK port whose start fails leaves the port
 * ready for another open. The port is a bonding device without members
 * (sets up its queues, refuses to start) until a null PMD joins it.
 *
 *   dpdk_retry
 *
 * Checks: the open fails with the start's error; the queues it set up are
 * left released or over a pool that still exists (not a freed one); a
 * second open fails the same way; once the bond has a member, an open
 * succeeds and receives. One line per check; exits 0 only if all passed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eth_bond.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "net/dpdk.h"
#include "net/port.h"

#define EAL "--no-huge -m 256 --no-pci --vdev net_null0"
#define BOND "net_bonding0"
#define SPEC "dpdk:" BOND

static int failures;

static void check(bool ok, const char *name, const char *detail)
{
	printf("%s %s%s%s\n", ok ? "ok:  " : "FAIL:", name, ok ? "" : ": ", ok ? "" : detail);
	failures += !ok;
}

static void check_open_fails(const char *name)
{
	struct net_port *p = NULL;
	char err[256] = "";
	int ret = net_port_open(SPEC, &p, err, sizeof(err));

	check(ret && strstr(err, "start"), name, ret ? err : "the open succeeded");
	if (!ret)
		net_port_close(p);
}

/* Every Rx queue still set up has a live pool: iomed names it iomed_PORT. */
static void check_queues_over_live_pool(uint16_t port)
{
	struct rte_eth_rxq_info qi;
	char name[RTE_MEMPOOL_NAMESIZE], why[128];
	bool set_up = rte_eth_rx_queue_info_get(port, 0, &qi) != -EINVAL;

	snprintf(name, sizeof(name), "iomed_%u", port);
	snprintf(why, sizeof(why), "Rx queue 0 is set up, its pool %s is gone", name);
	check(!set_up || rte_mempool_lookup(name), "failed-start-keeps-pool", why);
}

static void check_open_receives(void)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0a };
	struct net_dpdk_info info = { 0 };
	struct net_port *p = NULL;
	char err[256] = "", buf[2048];
	struct iovec iov = { buf, sizeof(buf) };
	int ret = net_port_open(SPEC, &p, err, sizeof(err));

	check(!ret, "open-after-retry", err);
	if (ret)
		return;
	check(!net_port_set_mac(p, mac, p), "join-after-retry", "set_mac failed");
	/* the null PMD receives a burst on every poll once the bond has made it active */
	for (int i = 0; i < 200 && !info.rx_wire; i++) {
		net_port_recv(p, &iov, 1);
		net_dpdk_info(p, &info);
		usleep(10 * 1000);
	}
	check(info.rx_wire > 0, "receives-after-retry", "no frame came from the port");
	net_port_close(p);
}

int main(void)
{
	uint16_t member;
	char err[512];
	int bond;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (net_dpdk_init(EAL, err, sizeof(err))) {
		printf("FAIL: %s\n", err);
		return 1;
	}
	/* made here, not by --vdev: a bond from devargs refuses its first configure without members */
	bond = rte_eth_bond_create(BOND, BONDING_MODE_ROUND_ROBIN, 0);
	if (bond < 0 || rte_eth_dev_get_port_by_name("net_null0", &member)) {
		printf("FAIL: no bond (%d) or no net_null0\n", bond);
		return 1;
	}
	check_open_fails("start-fails");
	check_queues_over_live_pool((uint16_t)bond);
	check_open_fails("start-fails-again");
	check(!rte_eth_bond_slave_add((uint16_t)bond, member), "add-member", "rte_eth_bond_slave_add failed");
	check_open_receives();
	net_dpdk_fini();
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
