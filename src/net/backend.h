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

/* Fills the fields every backend sets the same way. */
void net_port_init(struct net_port *p, const struct net_port_ops *ops, const char *name);
/* snprintf into @err when there is one; returns @ret to chain. */
int net_err(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Validates NET_OFFLOAD_* bits as set_offloads must (0 or -EINVAL). */
int net_offloads_check(unsigned offloads);

#endif
