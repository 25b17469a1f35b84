/* SPDX-License-Identifier: MIT */
/*
 * What the emulated NICs share at creation: the common --device options
 * (net=, mac=, queues=, poll-us=) and one packet port per queue pair.
 */
#ifndef IOMED_DEVICES_NIC_H
#define IOMED_DEVICES_NIC_H

#include <stddef.h>
#include <stdint.h>

#include "core/opts.h"
#include "net/port.h"

#define NIC_DEFAULT_POLL_US 50

struct nic_opts {
	uint8_t mac[6];
	unsigned pairs;   /* queues=, 1 by default */
	uint64_t poll_ns; /* poll-us= */
	const char *net;  /* net=, required */
};

/*
 * Consume mac= (a unicast address; by default 52:54:00 and three bytes
 * hashed from @id), queues= (1 to @max_pairs), poll-us= and net=. On error
 * -EINVAL and a message in @err.
 */
int nic_opts_parse(struct opts *o, const char *id, unsigned max_pairs, struct nic_opts *out,
		   char *err, size_t errlen);

/*
 * The options one NIC model takes: the common ones with at most @max_pairs
 * queue pairs, then its own (speed=, mtu=), which @parse_own takes into
 * @state, the model's device state (@state_size bytes), along with what it
 * keeps of @nic. On error -EINVAL and a message in @err.
 */
struct nic_model_opts {
	unsigned max_pairs;
	size_t state_size;
	int (*parse_own)(void *state, const struct nic_opts *nic, struct opts *o, char *err,
			 size_t errlen);
};

/* nic_opts_parse into @nic, then the model's own options into @state. */
int nic_model_parse(const struct nic_model_opts *m, void *state, const char *id, struct opts *o,
		    struct nic_opts *nic, char *err, size_t errlen);

/*
 * iomed --check-config for a NIC model: the options as create takes them
 * (into a state thrown away after) and net=, no port opened.
 */
int nic_model_check(const struct nic_model_opts *m, const char *id, struct opts *o, char *err,
		    size_t errlen);

/*
 * Open nic->pairs ports on nic->net (a tap gets one queue per port) and
 * give each the device's address with @owner, the device (a shared port,
 * dpdk:, steers by it and drops frames from other sources); closes them
 * again on error. A zero *@mtu (none configured) becomes the first port's
 * MTU, 1500 if the port has none.
 */
int nic_ports_open(const struct nic_opts *nic, const void *owner, struct net_port **ports,
		   uint16_t *mtu, char *err, size_t errlen);

#endif
