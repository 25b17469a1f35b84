/* SPDX-License-Identifier: MIT */
/*
 * What the DPDK port's files share (dpdk_eal.c: EAL; dpdk_dev.c: ethdev
 * set-up and steering; dpdk.c: endpoints; dpdk_rx.c, dpdk_tx.c: the
 * datapath). See docs/net.md.
 *
 * One struct dpdk_dev per ethdev, shared by every device that names it:
 * each device queue pair opens a struct dpdk_ep (a net_port and a mux
 * member). Frames move as mbufs: a device's send copies the guest's
 * buffers into an mbuf once, its recv copies an mbuf into guest buffers
 * once; frames for several devices are shared by reference count.
 */
#ifndef IOMED_NET_DPDK_PRIV_H
#define IOMED_NET_DPDK_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

#include "net/backend.h"
#include "net/mux.h"

#define DPDK_MAX_QUEUES 16
#define DPDK_BURST 32
#define DPDK_INBOX 1024   /* frames waiting for one member */
/*
 * mbufs one member's inbox may hold (a frame from another member takes up
 * to 33): the pool has room for every member's, so a device that does not
 * receive (not booted, driver unloaded, flooded) cannot starve the others.
 */
#define DPDK_INBOX_MBUFS 256
/* mbufs each datapath thread keeps at hand (dpdk_thread_enter), up to 1.5 times that */
#define DPDK_CACHE 128
#define DPDK_RXD 256
#define DPDK_TXD 256

enum dpdk_steer { STEER_AUTO, STEER_HW, STEER_SW };

/* What an endpoint asks of its port ("dpdk:PORT[:steer=...][:queues=N]"). */
struct dpdk_opts {
	enum dpdk_steer steer;
	bool steer_given;
	unsigned queues; /* queue pairs; 0: as many as the port has, up to DPDK_MAX_QUEUES */
};

/* In each mbuf's private area: how the frame came. */
struct dpdk_meta {
	struct net_hdr hdr; /* a member's frame: its sender's offload state */
	uint8_t local;      /* 1: sent by a member, 0: from the wire */
	uint8_t pad[3];
};

struct dpdk_rxq {
	int owner;    /* member slot steered here, -1: a default queue */
	bool busy;    /* atomic: a thread is polling this queue (own or default) */
	struct rte_flow *flow;
};

struct dpdk_txq {
	rte_spinlock_t lock;
	unsigned users;
};

struct dpdk_stats {
	uint64_t rx_wire;      /* frames received from the port */
	uint64_t rx_direct;    /* of those: on their owner's own queue, no classification */
	uint64_t rx_inbox_full; /* deliveries dropped: a member's inbox was full */
	uint64_t tx_wire;
	uint64_t tx_sw_csum, tx_sw_gso; /* completed in software for lack of offload */
};

struct dpdk_dev {
	char name[64];           /* as given: port name or PCI address */
	uint16_t port_id;
	unsigned refs;           /* endpoints open */
	struct dpdk_dev *next;
	enum dpdk_steer steer;   /* as asked */
	unsigned queues;         /* as asked (queues=), 0: not given */
	bool hw;                 /* rte_flow steering in use */
	bool catch_all;          /* a rule sends unmatched frames to queue 0 */
	char why_sw[128];        /* when !hw: the reason */
	struct rte_flow *default_flow;
	struct rte_mempool *pool;
	uint16_t nrxq, ntxq, mtu;
	uint64_t tx_offloads, rx_offloads; /* enabled on the port */
	struct dpdk_rxq rxq[DPDK_MAX_QUEUES];
	struct dpdk_txq txq[DPDK_MAX_QUEUES];
	struct rte_ring *inbox[MUX_MAX_MEMBERS];
	uint32_t inbox_mbufs[MUX_MAX_MEMBERS]; /* atomics: mbufs each inbox holds */
	struct mux mux;
	struct dpdk_stats stats; /* atomics */
};

struct dpdk_ep {
	struct net_port port;
	struct dpdk_dev *dev;
	int slot;             /* mux member, -1 until set_mac */
	bool primary;
	int rxq;              /* own steered queue, -1: none */
	uint16_t txq;
	bool batching;        /* the device calls flush: hold sends for a burst */
	bool warned;
	/* own-queue frames ready for recv */
	struct rte_mbuf *pend[DPDK_BURST];
	unsigned npend, ipend;
	/* wire frames not yet given to the PMD */
	struct rte_mbuf *held[DPDK_BURST];
	unsigned nheld;
	unsigned tx_stuck;    /* flushes in a row that sent nothing */
	/* a GSO frame being segmented for a receiver without TSO, across recvs */
	struct net_gso gso;
	uint8_t *scratch;     /* NET_MAX_FRAME: that frame, linearized */
	/* sends segment a GSO frame in one go, but may come between those recvs */
	uint8_t *tx_scratch;  /* NET_MAX_FRAME: a sent GSO frame, linearized */
	uint8_t *seg;         /* NET_MAX_FRAME: one segment, either way */
};

static inline struct dpdk_meta *dpdk_meta(struct rte_mbuf *m)
{
	return rte_mbuf_to_priv(m);
}

static inline void dpdk_count(uint64_t *c, uint64_t n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

/* dpdk_eal.c */
int dpdk_eal_ready(char *err, size_t errlen);
/* The calling datapath thread as a DPDK lcore (its own mbuf cache); once per thread. */
void dpdk_thread_enter(void);

/* dpdk_dev.c: the ethdevs, under dpdk_devs_lock (control path only) */
extern pthread_mutex_t dpdk_devs_lock;
/* The ethdev @name, set up at its first open; -errno and a message in @err. */
int dpdk_dev_get(const char *name, const struct dpdk_opts *o, struct dpdk_dev **out, char *err,
		 size_t errlen);
/* "destination @mac -> @queue", or "anything -> @queue" without @mac. */
struct rte_flow *dpdk_flow_to_queue(uint16_t port, const uint8_t *mac, uint16_t queue,
				    struct rte_flow_error *e);
const char *dpdk_flow_msg(const struct rte_flow_error *e);
/* Close every ethdev (before EAL stops). */
void dpdk_devs_fini(void);

/* dpdk_rx.c */
ssize_t dpdk_recv(struct net_port *p, const struct iovec *iov, int iovcnt);
/* Hand @m to the members in @to (one reference each; consumes the caller's). */
void dpdk_dispatch(struct dpdk_ep *ep, struct rte_mbuf *m, uint64_t to);
void dpdk_ep_drain(struct dpdk_ep *ep);

/* dpdk_tx.c */
int dpdk_send(struct net_port *p, const struct iovec *iov, int iovcnt);
int dpdk_flush(struct net_port *p);
/* Give held frames to the PMD: 0, or -EAGAIN while some stay held. */
int dpdk_tx_flush(struct dpdk_ep *ep);
/* Copy @len bytes of @iov from byte @off into a new mbuf chain; NULL when out of mbufs. */
struct rte_mbuf *dpdk_mbuf_from_iov(struct dpdk_dev *d, const struct iovec *iov, int iovcnt,
				    size_t off, size_t len);

#endif
