// SPDX-License-Identifier: MIT
/*
 * Options and ports the emulated NICs share (see nic.h).
 */
#include "devices/nic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	/* A NIC address is unicast and not all zeros. */
	if (mac[0] & 1 || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -EINVAL;
	return 0;
}

/* 52:54:00 (the QEMU/KVM prefix) and three bytes of a hash of the id. */
static void default_mac(const char *id, uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (const char *p = id; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	mac[0] = 0x52, mac[1] = 0x54, mac[2] = 0x00;
	mac[3] = h >> 16, mac[4] = h >> 8, mac[5] = h;
}

int nic_opts_parse(struct opts *o, const char *id, unsigned max_pairs, struct nic_opts *out,
		   char *err, size_t errlen)
{
	const char *mac = opts_get(o, "mac");
	uint64_t x;
	int ret;

	if (mac && parse_mac(mac, out->mac)) {
		snprintf(err, errlen, "mac=%s: expected a unicast address like 52:54:00:12:34:56",
			 mac);
		return -EINVAL;
	}
	if (!mac)
		default_mac(id, out->mac);
	out->pairs = 1;
	ret = opts_get_u64(o, "queues", 1, max_pairs, &x);
	if (ret == -EINVAL) {
		snprintf(err, errlen, "queues= must be a number of queue pairs from 1 to %u",
			 max_pairs);
		return ret;
	}
	if (!ret)
		out->pairs = (unsigned)x;
	out->poll_ns = NIC_DEFAULT_POLL_US * 1000ull;
	ret = opts_get_u64(o, "poll-us", 0, 1000000, &x);
	if (ret == -EINVAL) {
		snprintf(err, errlen, "poll-us= must be from 0 to 1000000");
		return ret;
	}
	if (!ret)
		out->poll_ns = x * 1000;
	out->net = opts_get(o, "net");
	if (!out->net) {
		snprintf(err, errlen, "net=tap:NAME|loopback|sink is required");
		return -EINVAL;
	}
	return 0;
}

int nic_model_parse(const struct nic_model_opts *m, void *state, const char *id, struct opts *o,
		    struct nic_opts *nic, char *err, size_t errlen)
{
	int ret = nic_opts_parse(o, id, m->max_pairs, nic, err, errlen);

	if (ret)
		return ret;
	return m->parse_own(state, nic, o, err, errlen);
}

int nic_model_check(const struct nic_model_opts *m, const char *id, struct opts *o, char *err,
		    size_t errlen)
{
	void *state = calloc(1, m->state_size);
	struct nic_opts nic;
	int ret;

	if (!state)
		return -ENOMEM;
	ret = nic_model_parse(m, state, id, o, &nic, err, errlen);
	free(state);
	if (ret)
		return ret;
	return net_port_check(nic.net, err, errlen);
}

static int open_one(const struct nic_opts *nic, const void *owner, struct net_port **port,
		    char *err, size_t errlen)
{
	const uint8_t *m = nic->mac;
	int ret = net_port_open(nic->net, port, err, errlen);

	if (ret)
		return ret;
	ret = net_port_set_mac(*port, nic->mac, owner);
	if (!ret)
		return 0;
	snprintf(err, errlen, "net=%s: mac %02x:%02x:%02x:%02x:%02x:%02x: %s", nic->net, m[0], m[1],
		 m[2], m[3], m[4], m[5],
		 ret == -EADDRINUSE ? "another device on the port has this address" : strerror(-ret));
	net_port_close(*port);
	*port = NULL;
	/* two devices with one address on a port: the configuration is wrong, not the port */
	return ret == -EADDRINUSE ? -EINVAL : ret;
}

int nic_ports_open(const struct nic_opts *nic, const void *owner, struct net_port **ports,
		   uint16_t *mtu, char *err, size_t errlen)
{
	int ret;

	for (unsigned p = 0; p < nic->pairs; p++) {
		ret = open_one(nic, owner, &ports[p], err, errlen);
		if (!ret)
			continue;
		while (p--) {
			net_port_close(ports[p]);
			ports[p] = NULL;
		}
		return ret;
	}
	if (!*mtu)
		*mtu = ports[0]->mtu ? ports[0]->mtu : 1500;
	return 0;
}
