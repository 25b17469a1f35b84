/* SPDX-License-Identifier: MIT */
/*
 * What the port backends share and the rest of iomed does not see: their
 * open functions (dispatched from net_port_open) and the frame helpers.
 */
#ifndef IOMED_NET_BACKEND_H
#define IOMED_NET_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "net/flow.h"
#include "net/iov.h"
#include "net/port.h"

#define NET_HDR_LEN sizeof(struct net_hdr)
#define NET_ETH_HLEN 14
#define NET_DEFAULT_MTU 1500

#define net_port_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Each takes the text after "kind:" (NULL if there was none). */
int net_tap_open(const char *name, struct net_port **out, char *err, size_t errlen);
int net_loopback_open(struct net_port **out, char *err, size_t errlen);
int net_sink_open(size_t source_len, struct net_port **out, char *err, size_t errlen);
/* "PORT[:steer=auto|hw|sw]" (dpdk.c) and "IFNAME[:queue=N]" (afxdp.c). */
int net_dpdk_open(const char *arg, struct net_port **out, char *err, size_t errlen);
int net_afxdp_open(const char *arg, struct net_port **out, char *err, size_t errlen);

/* Fills the fields every backend sets the same way. */
void net_port_init(struct net_port *p, const struct net_port_ops *ops, const char *name);
/* snprintf into @err when there is one; returns @ret to chain. */
int net_err(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Validates NET_OFFLOAD_* bits as set_offloads must (0 or -EINVAL). */
int net_offloads_check(unsigned offloads);

/*
 * Software segmentation of a TCP GSO frame (gso.c), for ports and receivers
 * that cannot take one whole. net_gso_start checks @frame (net_hdr first,
 * flat) and returns 0 or -EINVAL (not TCP over IPv4/IPv6 as the header
 * says, or a zero gso_size). net_gso_next writes the next segment, net_hdr
 * first (flags 0: checksums complete), into @out and returns its length; 0
 * when all are out, -EMSGSIZE when @room is too small (nothing consumed).
 */
struct net_gso {
	const uint8_t *frame;
	size_t len;        /* with the net_hdr */
	uint16_t l3, l4, hlen, mss; /* offsets from the Ethernet header */
	bool ipv6;
	size_t off;        /* next payload byte, from the Ethernet header */
	unsigned seg;
};
int net_gso_start(struct net_gso *g, const uint8_t *frame, size_t len);
ssize_t net_gso_next(struct net_gso *g, uint8_t *out, size_t room);

#endif
