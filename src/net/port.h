/* SPDX-License-Identifier: MIT */
/*
 * Packet ports: where an emulated NIC's frames go. One interface, many
 * backends (TAP, DPDK, AF_XDP, loopback, sink/source). Written once, shared
 * by every device model.
 *
 * Frames cross the interface with a virtio_net_hdr_v1 (12 bytes) in front:
 * it carries the checksum and segmentation offload state both ways, and it
 * is exactly what a TAP device with IFF_VNET_HDR and a 12-byte header size
 * takes, so virtio-net can hand guest buffers to the kernel without a copy.
 *
 * Offloads, by direction:
 *  - send: every port takes frames with NEEDS_CSUM and GSO headers (the TAP
 *    kernel side completes and segments them; see docs/net.md for the rest).
 *  - recv: a frame carries NEEDS_CSUM, DATA_VALID or a GSO type only if the
 *    device enabled that offload with net_port_set_offloads (virtio-net: the
 *    guest's GUEST_CSUM/GUEST_TSO* features; QEMU does the same with its
 *    tap). Nothing is enabled when a port opens.
 *
 * A port is used by one datapath thread at a time: no locks inside. For
 * several queue pairs open the same spec once per pair (a tap then gets one
 * queue per port; its offloads are the tap's, shared by the queues and reset
 * when one opens: set them on every port once all are open).
 *
 * Ports that several devices share (dpdk:, through the mux) need to know
 * whose frames are whose: the device gives its MAC address with
 * net_port_set_mac before the datapath starts, and says when it wants every
 * frame with net_port_set_promisc. Ports of one device alone ignore both.
 */
#ifndef IOMED_NET_PORT_H
#define IOMED_NET_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "core/hook.h"

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

/* Offloads recv may leave to the device (TUNSETOFFLOAD terms). */
#define NET_OFFLOAD_CSUM 0x1
#define NET_OFFLOAD_TSO4 0x2
#define NET_OFFLOAD_TSO6 0x4
#define NET_OFFLOAD_TSO_ECN 0x8

#define NET_MAX_FRAME (65536 + sizeof(struct net_hdr))

struct net_port;
struct net_port_group;
struct net_capture;

struct net_port_stats {
	uint64_t tx_packets, tx_bytes, tx_drops;
	uint64_t rx_packets, rx_bytes, rx_drops;
	uint64_t tx_spoofed; /* of tx_drops: sent from a MAC the device does not own */
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
	 * not fit, -EINVAL (nothing consumed) when @iov cannot even hold the
	 * net_hdr. num_buffers is left for the device to fill.
	 */
	ssize_t (*recv)(struct net_port *p, const struct iovec *iov, int iovcnt);
	/*
	 * Offloads recv may leave to the device (NET_OFFLOAD_*): 0, or
	 * -EINVAL for unknown bits or TSO without CSUM.
	 */
	int (*set_offloads)(struct net_port *p, unsigned offloads);
	/*
	 * The device's own unicast address (control path, before the datapath
	 * starts): frames to it come to this port, frames the port is sent
	 * from any other source are dropped (counted in tx_spoofed). @owner
	 * says which device the port serves: the ports of one device's queue
	 * pairs pass the same pointer and share the address. -EADDRINUSE when
	 * another device on the same port owns it. Optional.
	 */
	int (*set_mac)(struct net_port *p, const uint8_t mac[6], const void *owner);
	/*
	 * Give the frames send holds to the wire. A port that batches (dpdk)
	 * holds sends only for a device that calls this after each batch; it
	 * sends at once for one that never does. Optional.
	 */
	int (*flush)(struct net_port *p);
	/* Receive every frame the port sees, whatever its destination. Optional. */
	int (*set_promisc)(struct net_port *p, bool on);
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
	/*
	 * Writable when send may succeed again after -EAGAIN; -1 when there
	 * is nothing to wait for (never full, or only the caller's own recv
	 * frees room: loopback).
	 */
	int tx_fd;
	unsigned offloads; /* NET_OFFLOAD_* recv may currently deliver */
	uint16_t mtu;      /* IP MTU: the tap's when opened, else 1500 */
	/* Frames and bytes after the net_hdr; drops of frames given up. */
	struct net_port_stats stats;
	/* Packet capture of the frames that cross the port; NULL: off (hook.h). */
	struct net_capture *capture;
	struct net_port_group *group; /* the device's ports this one belongs to */
	struct net_port *group_next;
};

/*
 * Open a port from a --device net= value: "tap:NAME" (created if missing,
 * IFF_VNET_HDR, link brought up), "loopback" (frames come back to the same
 * device with the MAC addresses swapped), "sink" (frames are counted and
 * dropped; nothing is received), "source[:LEN]" (a sink whose recv always
 * returns a LEN-byte test frame, 60 by default), "dpdk:PORT[:steer=...]"
 * (a DPDK ethdev shared by every device naming it, through the mux),
 * "afxdp:IFNAME[:queue=N]" (an XDP socket on a kernel NIC's queue). On
 * error -errno and a message in @err naming what was expected.
 */
int net_port_open(const char *spec, struct net_port **out, char *err, size_t errlen);
/* Check a net= value as net_port_open would, opening nothing. */
int net_port_check(const char *spec, char *err, size_t errlen);

/* net/capture.c; see there. */
void net_capture_frame(struct net_capture *c, const struct iovec *iov, int iovcnt, size_t len);

/* Frames are captured once the port took them (sent) or gave them (received). */
static inline int net_port_send(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	struct net_capture *c = hook_load(p->capture);
	int ret = p->ops->send(p, iov, iovcnt);

	if (hook_on(c) && !ret)
		net_capture_frame(c, iov, iovcnt, SIZE_MAX);
	return ret;
}

static inline ssize_t net_port_recv(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	struct net_capture *c = hook_load(p->capture);
	ssize_t ret = p->ops->recv(p, iov, iovcnt);

	if (hook_on(c) && ret > 0)
		net_capture_frame(c, iov, iovcnt, (size_t)ret);
	return ret;
}

static inline int net_port_set_offloads(struct net_port *p, unsigned offloads)
{
	return p->ops->set_offloads ? p->ops->set_offloads(p, offloads) : -EOPNOTSUPP;
}

void net_port_close(struct net_port *p);

/*
 * The ports of one device, so that a capture reaches all of them without
 * the model's help: every port a thread opens between net_port_group_enter
 * and net_port_group_leave (the device's create) joins the group, and
 * leaves it when closed. Ports a model opens later, outside create, are
 * not in it.
 */
struct net_port_group {
	pthread_mutex_t lock;
	struct net_port *ports;
	struct net_capture *capture; /* what every member captures to, NULL none */
};

void net_port_group_init(struct net_port_group *g);
/* The group must be empty (its ports closed). */
void net_port_group_fini(struct net_port_group *g);
void net_port_group_enter(struct net_port_group *g);
void net_port_group_leave(void);
/* Capture every member's frames to @c (NULL: stop). Returns the member count. */
unsigned net_port_group_set_capture(struct net_port_group *g, struct net_capture *c);

static inline int net_port_flush(struct net_port *p)
{
	return p->ops->flush ? p->ops->flush(p) : 0;
}

/* Ports that nothing shares accept any address: 0. */
static inline int net_port_set_mac(struct net_port *p, const uint8_t mac[6], const void *owner)
{
	return p->ops->set_mac ? p->ops->set_mac(p, mac, owner) : 0;
}

static inline int net_port_set_promisc(struct net_port *p, bool on)
{
	return p->ops->set_promisc ? p->ops->set_promisc(p, on) : 0;
}

#endif
