/* SPDX-License-Identifier: MIT */
/*
 * Packet capture of a device's traffic as a classic pcap file
 * (LINKTYPE_ETHERNET, microsecond timestamps), written by a spool thread.
 * Frames are recorded as they cross the port interface (port.h), without
 * their virtio_net_hdr: what the device sent to the backend and what it
 * received from it. Offloaded frames are recorded as the port saw them
 * (a TSO frame as one large frame, a NEEDS_CSUM frame with its checksum
 * still partial), as a capture on a host NIC with offloads shows them.
 */
#ifndef IOMED_NET_CAPTURE_H
#define IOMED_NET_CAPTURE_H

#include <stddef.h>
#include <sys/uio.h>

#include "core/spool.h"

#define NET_CAPTURE_BUFFER_BYTES (4u << 20)
#define NET_CAPTURE_SNAPLEN 262144

/* Lives as long as its device (see core/trace.h for why); open while capturing. */
struct net_capture {
	struct spool sp;
};

void net_capture_init(struct net_capture *c);
void net_capture_fini(struct net_capture *c);
/* Start writing @path. 0, or -errno and a message in @err (-EBUSY: already open). */
int net_capture_open(struct net_capture *c, const char *path, char *err, size_t errlen);
/* Write everything out and close. 0 or the first write error. */
int net_capture_close(struct net_capture *c, struct spool_stats *st);
/*
 * Record the frame in the first @len bytes of @iov (net_hdr first); @len
 * SIZE_MAX for all of @iov. Thread-safe; nothing happens while closed.
 */
void net_capture_frame(struct net_capture *c, const struct iovec *iov, int iovcnt, size_t len);

#endif
