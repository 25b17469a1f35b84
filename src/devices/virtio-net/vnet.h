/* SPDX-License-Identifier: MIT */
/*
 * virtio-net, modern PCI (1af4:1041): the model's shared state.
 *
 * Two threads touch a device: the server thread (config space, the BAR
 * registers, reset) and the device's poller (the datapath, vnet_dp.c). The
 * poller owns the virtqueues while it runs; the server thread changes what
 * the poller reads only while it is parked (vnet_dp_quiesce) or stopped.
 * The few words both write (status NEEDS_RESET, ISR) are atomics.
 */
#ifndef IOMED_DEVICES_VIRTIO_NET_VNET_H
#define IOMED_DEVICES_VIRTIO_NET_VNET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pollthread.h"
#include "devices/virtio/virtqueue.h"
#include "net/port.h"
#include "pci/function.h"

#define VNET_MAX_PAIRS 16
#define VNET_MAX_QUEUES (2 * VNET_MAX_PAIRS + 1) /* rx/tx pairs + control */
#define VNET_QUEUE_SIZE 256
#define VNET_HDR_LEN 12 /* virtio_net_hdr_v1: VERSION_1 always has num_buffers */

/* Feature bits (virtio 1.2, 5.1.3). */
#define VNET_F_CSUM 0
#define VNET_F_GUEST_CSUM 1
#define VNET_F_MTU 3
#define VNET_F_MAC 5
#define VNET_F_GUEST_TSO4 7
#define VNET_F_GUEST_TSO6 8
#define VNET_F_HOST_TSO4 11
#define VNET_F_HOST_TSO6 12
#define VNET_F_MRG_RXBUF 15
#define VNET_F_STATUS 16
#define VNET_F_CTRL_VQ 17
#define VNET_F_CTRL_RX 18
#define VNET_F_MQ 22
#define VNET_F_CTRL_MAC_ADDR 23

#define VNET_S_LINK_UP 1

/* BAR layout: registers in BAR0 (a page each), MSI-X alone in BAR1. */
#define VNET_REGS_BAR 0
#define VNET_REGS_SIZE 0x4000
#define VNET_COMMON_OFF 0x0000
#define VNET_ISR_OFF 0x1000
#define VNET_DEVCFG_OFF 0x2000
#define VNET_DEVCFG_SIZE 0x14
#define VNET_NOTIFY_OFF 0x3000 /* its own page: kicks never share it */
#define VNET_NOTIFY_MULT 4
#define VNET_MSIX_BAR 1
#define VNET_MSIX_SIZE 0x1000
#define VNET_MSIX_PBA 0x800

struct vnet_queue_cfg {
	uint16_t size;
	uint16_t vector;
	bool enabled;
	uint64_t desc, avail, used;
};

#define VNET_TX_MAX_IOV 128

/* One RX queue's chains popped ahead of the frame that will fill them. */
#define VNET_RX_MAX_IOV 256
#define VNET_RX_MAX_CHAINS 64
#define VNET_RX_CHAIN_IOV 64 /* iovecs one RX chain may need */
struct vnet_rx_stash {
	unsigned n;            /* chains held */
	unsigned iovcnt;
	uint64_t cap;          /* bytes they hold */
	uint16_t head[VNET_RX_MAX_CHAINS];
	uint32_t len[VNET_RX_MAX_CHAINS];
	unsigned niov[VNET_RX_MAX_CHAINS];
	struct iovec iov[VNET_RX_MAX_IOV];
};

/*
 * RX filter (virtio 1.2, 5.1.6.5.1-2), set by control commands. Promiscuous
 * after reset, as QEMU's device is: a driver that never negotiates CTRL_RX
 * gets every frame. Otherwise a frame is accepted if it is broadcast, or
 * addressed to the device's MAC or a unicast table entry, or multicast with
 * ALLMULTI on or in the multicast table. More entries than the table holds
 * accept their whole class (uni_all / multi_all).
 */
#define VNET_MAC_TABLE 64
struct vnet_rx_filter {
	bool promisc, allmulti;
	bool uni_all, multi_all;
	unsigned nuni, nmulti;         /* unicast entries first, then multicast */
	uint8_t mac[VNET_MAC_TABLE][6];
};

struct vnet_dp {
	struct pollthread pt;

	/* Poller-owned while running. */
	struct virtqueue vq[VNET_MAX_QUEUES];
	uint16_t vector[VNET_MAX_QUEUES];
	unsigned nqueues;
	unsigned pairs;        /* queue pairs the device has */
	unsigned active_pairs; /* VQ_PAIRS_SET */
	uint64_t features;
	uint32_t rx_need;      /* bytes a receive buffer set must hold */
	bool kicks_on;
	bool rx_starved[VNET_MAX_PAIRS];
	bool tx_blocked[VNET_MAX_PAIRS];
	uint32_t ep[VNET_MAX_PAIRS][2]; /* epoll events registered: rx_fd, tx_fd */
	struct vnet_rx_stash *stash; /* one per pair */
	struct iovec *tx_iov;
	uint8_t mac[6];
	struct vnet_rx_filter filter;
	uint64_t rx_filtered; /* frames the RX filter dropped */
	uint64_t breaks;
};

struct vnet {
	struct pci_function fn; /* first: the pci_function callbacks cast back */
	char name[80];
	struct net_port *port[VNET_MAX_PAIRS];
	unsigned pairs;
	unsigned nqueues; /* 2 * pairs + 1 */
	uint8_t mac[6];
	uint16_t mtu;
	uint64_t host_features;

	/* Common configuration registers (server thread). */
	uint32_t dfselect, gfselect;
	uint64_t guest_features;
	uint16_t config_vector;
	uint16_t qsel;
	uint8_t status; /* atomic: the poller sets NEEDS_RESET */
	uint8_t isr;    /* atomic */
	struct vnet_queue_cfg q[VNET_MAX_QUEUES];

	struct vnet_dp dp;
};

static inline struct vnet *to_vnet(struct pci_function *f)
{
	return (struct vnet *)f;
}

static inline bool vnet_has(uint64_t features, unsigned bit)
{
	return features & (1ull << bit);
}

/* Common configuration structure accesses (vnet_regs.c). */
void vnet_common_read(struct vnet *v, uint64_t off, void *buf, uint32_t len);
void vnet_common_write(struct vnet *v, uint64_t off, const void *buf, uint32_t len);
/* Back to power-on state: poller stopped, registers cleared. */
void vnet_reset(struct vnet *v);

/* The datapath thread (vnet_dp.c). */
int vnet_dp_init(struct vnet *v);
void vnet_dp_fini(struct vnet *v);
/* DRIVER_OK: snapshot the queue configuration and start polling. */
int vnet_dp_start(struct vnet *v);
void vnet_dp_stop(struct vnet *v);
void vnet_dp_quiesce(struct vnet *v);
void vnet_dp_resume(struct vnet *v);
/* A guest kick (server thread). */
void vnet_dp_kick(struct vnet *v);
/* The poller found a broken queue: NEEDS_RESET and a config interrupt. */
void vnet_needs_reset(struct vnet *v, unsigned q);
void vnet_raise(struct vnet *v, uint16_t vector, uint8_t isr);

/* Queue processing, on the poller (vnet_rxtx.c). Each returns work done. */
unsigned vnet_tx(struct vnet *v, unsigned pair);
unsigned vnet_rx(struct vnet *v, unsigned pair);
unsigned vnet_ctrl(struct vnet *v);
/* Before a park: hand unused RX chains back (their iovecs may go stale). */
void vnet_rx_release(struct vnet *v);
/* Copy between a scatter list and @buf from byte @off of the list; returns bytes copied. */
size_t vnet_iov_copy(const struct iovec *iov, unsigned cnt, size_t off, void *buf, size_t len,
		     bool to_iov);

/* Control commands and the RX filter, on the poller (vnet_ctrl.c). */
/* Run the command in @c's readable part; returns the ack (VIRTIO_NET_OK or _ERR). */
uint8_t vnet_ctrl_cmd(struct vnet *v, const struct vq_chain *c);
/* Back to the reset state: promiscuous, empty table. */
void vnet_rx_filter_reset(struct vnet_rx_filter *f);
/* May the frame of @len bytes (header included) in @iov go up? */
bool vnet_rx_accept(const struct vnet_dp *dp, const struct iovec *iov, unsigned cnt,
		    uint32_t len);

#endif
