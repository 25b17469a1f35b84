/* SPDX-License-Identifier: MIT */
/*
 * Packet ports: where an emulated NIC's frames go. One interface, many
 * backends (TAP, loopback, sink/source; later DPDK and AF_XDP). Written once,
 * shared by every device model.
 *
 * Frames cross the interface with a virtio_net_hdr_v1 (12 bytes) in front:
 * it carries the checksum and segmentation offload state both ways, and it
 * is exactly what a TAP device with IFF_VNET_HDR and a 12-byte header size
 * takes, so virtio-net can hand guest buffers to the kernel without a copy.
 * Ports that cannot offload complete checksums/segmentation themselves or
 * report the offloads they accept (net_port_set_offloads).
 *
 * A port is used by one datapath thread at a time: no locks inside.
 */
#ifndef IOMED_NET_PORT_H
#define IOMED_NET_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <sys/types.h>
#include <sys/uio.h>

/* virtio_net_hdr_v1, little endian (virtio 1.x section 5.1.6). */
struct net_hdr {
	uint8_t flags;        /* NET_HDR_F_* */
	uint8_t gso_type;     /* NET_HDR_GSO_* */
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers; /* filled by the device on receive (MRG_RXBUF) */
} __attribute__((packed));

#define NET_HDR_F_NEEDS_CSUM 1
#define NET_HDR_F_DATA_VALID 2
#define NET_HDR_GSO_NONE 0
#define NET_HDR_GSO_TCPV4 1
#define NET_HDR_GSO_UDP 3
#define NET_HDR_GSO_TCPV6 4
#define NET_HDR_GSO_ECN 0x80

/* Offloads a port can take from the device (TUNSETOFFLOAD terms). */
#define NET_OFFLOAD_CSUM 0x1
#define NET_OFFLOAD_TSO4 0x2
#define NET_OFFLOAD_TSO6 0x4
#define NET_OFFLOAD_TSO_ECN 0x8

#define NET_MAX_FRAME (65536 + sizeof(struct net_hdr))

struct net_port;

struct net_port_stats {
	uint64_t tx_packets, tx_bytes, tx_drops;
	uint64_t rx_packets, rx_bytes, rx_drops;
};

struct net_port_ops {
	/*
	 * Send one frame (net_hdr first) gathered from @iov. Returns 0, or
	 * -EAGAIN when the port is full (the caller retries later), or another
	 * -errno when the frame was dropped.
	 */
	int (*send)(struct net_port *p, const struct iovec *iov, int iovcnt);
	/*
	 * Receive one frame (net_hdr first) into @iov. Returns its length,
	 * -EAGAIN when there is none, -EMSGSIZE (frame dropped) when it does
	 * not fit.
	 */
	ssize_t (*recv)(struct net_port *p, const struct iovec *iov, int iovcnt);
	/* Offloads the device may leave to the port (NET_OFFLOAD_*). */
	int (*set_offloads)(struct net_port *p, unsigned offloads);
	void (*destroy)(struct net_port *p);
};

struct net_port {
	const struct net_port_ops *ops;
	char name[64];
	/*
	 * Readable when recv may return a frame; -1 when the port is polled
	 * only (the datapath thread then never sleeps on it).
	 */
	int rx_fd;
	/* Writable when send may succeed again after -EAGAIN; -1 if never full. */
	int tx_fd;
	unsigned offloads; /* NET_OFFLOAD_* currently accepted */
	uint16_t mtu;
	struct net_port_stats stats;
};

/*
 * Open a port from a --device net= value: "tap:NAME" (created if missing,
 * IFF_VNET_HDR), "loopback" (frames come back to the same device with the
 * MAC addresses swapped), "sink" (frames are counted and dropped; nothing is
 * received). On error -errno and a message in @err.
 */
int net_port_open(const char *spec, struct net_port **out, char *err, size_t errlen);

static inline int net_port_send(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	return p->ops->send(p, iov, iovcnt);
}

static inline ssize_t net_port_recv(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	return p->ops->recv(p, iov, iovcnt);
}

static inline int net_port_set_offloads(struct net_port *p, unsigned offloads)
{
	return p->ops->set_offloads ? p->ops->set_offloads(p, offloads) : -EOPNOTSUPP;
}

static inline void net_port_close(struct net_port *p)
{
	if (p)
		p->ops->destroy(p);
}

#endif
