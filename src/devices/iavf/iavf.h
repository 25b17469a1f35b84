/* SPDX-License-Identifier: MIT */
/*
 * The emulated Intel Ethernet Adaptive Virtual Function (8086:1889): the
 * model's shared state.
 *
 * Three kinds of callers touch a device:
 *  - the server thread: BAR accesses (registers, the admin queue mailbox),
 *    config space, resets, DMA/IRQ table changes (quiesce .. resume);
 *  - whoever asks for a VF reset from outside (iavf_vf_reset);
 *  - the datapath thread (iavf_dp.c): the Tx/Rx rings and queue interrupts.
 * The first two serialize on `ctl`: BAR handlers and iavf_vf_reset take it,
 * quiesce takes it and resume releases it, so a table change never races a
 * reset. The datapath never takes it; the control path changes what the
 * datapath reads only with it parked or stopped. Words both sides write
 * (tails, interrupt enables, ITRs, the MDD flag) are atomics.
 */
#ifndef IOMED_DEVICES_IAVF_IAVF_H
#define IOMED_DEVICES_IAVF_IAVF_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/iavf/avf.h"
#include "devices/iavf/virtchnl.h"
#include "devices/pollthread.h"
#include "net/port.h"
#include "pci/function.h"

struct iomed_device;

#define IAVF_MAX_QP AVF_MAX_QUEUES
#define IAVF_MAX_VEC (IAVF_MAX_QP + 1) /* vector 0: mailbox and other causes */
#define IAVF_VSI_ID 1
#define IAVF_MAX_MACS 64
#define IAVF_MAX_FRAME 9728  /* the largest frame a VF sends or takes */
#define IAVF_MAX_RX_CHAIN 5   /* Rx descriptors one frame may span */
#define IAVF_MAX_TX_DESC 64   /* descriptors one Tx packet may use */
#define IAVF_TX_HDR_MAX 1024  /* headers rewritten for TSO, checksums, VLAN insertion */

/* BAR layout: registers in BAR0, the MSI-X table and PBA in BAR3 (as the VF has them). */
#define IAVF_REGS_BAR 0
#define IAVF_REGS_SIZE 0x20000
#define IAVF_MSIX_BAR 3
#define IAVF_MSIX_SIZE 0x4000
#define IAVF_MSIX_PBA 0x2000

/* One admin queue's registers. */
struct iavf_aq {
	uint32_t bal, bah, len, head, tail;
};

/* A queue vector's interrupt state (vectors 1..n; 0 is the mailbox's). */
struct iavf_vec {
	bool intena;          /* atomic: the driver enabled it; cleared when it fires */
	bool swint;           /* atomic: software interrupt requested */
	uint16_t itr[3];      /* atomic: ITR intervals, 2 us units */
	uint32_t dyn_ctl;     /* control path: what DYN_CTLN reads back */
	/* datapath only */
	bool pending_rx, pending_tx;
	uint64_t next_ns;     /* no interrupt before this (ITR) */
};

/* A descriptor ring as CONFIG_VSI_QUEUES and CONFIG_IRQ_MAP left it. */
struct iavf_ring {
	uint64_t base;   /* 128-byte aligned, as the queue context stores it */
	uint16_t len;    /* descriptors; 0: not configured */
	bool on;         /* ENABLE_QUEUES */
	uint8_t vec;     /* MSI-X vector, 0: none */
	uint8_t itr;     /* ITR index of its cause, AVF_ITR_NONE: none */
	uint16_t head;   /* datapath while on */
	uint32_t buf_len;  /* Rx: bytes per buffer */
	uint32_t max_pkt;  /* Rx: largest frame accepted */
};

/* Receive filters, RSS and offload settings the datapath applies. */
struct iavf_filter {
	uint8_t mac[IAVF_MAX_MACS][6];
	unsigned nmac;
	uint64_t vlan[4096 / 64];  /* VLAN IDs allowed (0 always) */
	bool uc_promisc, mc_promisc;
	bool vlan_strip;
	uint8_t rss_key[VC_RSS_KEY_SIZE];
	uint8_t rss_lut[VC_RSS_LUT_SIZE];
	uint64_t hena;
};

/* VSI counters in virtchnl_eth_stats order, written by the datapath only. */
enum iavf_stat {
	IAVF_RX_BYTES, IAVF_RX_UNICAST, IAVF_RX_MULTICAST, IAVF_RX_BROADCAST, IAVF_RX_DISCARDS,
	IAVF_RX_UNKNOWN_PROTOCOL, IAVF_TX_BYTES, IAVF_TX_UNICAST, IAVF_TX_MULTICAST,
	IAVF_TX_BROADCAST, IAVF_TX_DISCARDS, IAVF_TX_ERRORS, IAVF_MDD_EVENTS, IAVF_NSTATS
};

struct iavf_stats {
	uint64_t c[IAVF_NSTATS];
};

/* Single writer: plain adds through atomics so GET_STATS reads whole values. */
static inline void iavf_count(struct iavf_stats *s, enum iavf_stat i, uint64_t n)
{
	__atomic_store_n(&s->c[i], s->c[i] + n, __ATOMIC_RELAXED);
}

/* A frame read from a port and not yet delivered (its Rx ring had no room). */
struct iavf_rx_slot {
	uint8_t *buf;    /* NET_MAX_FRAME, net_hdr first */
	uint32_t len;    /* 0: empty */
	/* What classifying it decided: */
	uint16_t queue;  /* the Rx queue RSS chose */
	uint64_t qw0;    /* write-back word 0: RSS hash, stripped tag */
	uint64_t status; /* write-back status of its last descriptor */
	uint8_t ptype;
	bool strip;      /* its VLAN tag goes into the descriptor */
	uint32_t held_tail; /* the queue's tail when it had no room */
};

struct iavf_dp {
	struct pollthread pt;
	struct iavf_ring tx[IAVF_MAX_QP], rx[IAVF_MAX_QP];
	struct iavf_vec vec[IAVF_MAX_VEC];
	struct iavf_filter filt;
	struct iavf_rx_slot slot[IAVF_MAX_QP]; /* one per port */
	bool tx_blocked[IAVF_MAX_QP];          /* port full: wait for its tx_fd */
	uint32_t ep[IAVF_MAX_QP][2];           /* epoll events registered: rx_fd, tx_fd */
	struct iavf_stats stats;
	uint8_t *tx_hdr;                       /* IAVF_TX_HDR_MAX */
	struct iovec *tx_iov;
	bool offload_csum;                     /* the ports hand us DATA_VALID / NEEDS_CSUM */
};

/* virtchnl session state (control path). */
struct iavf_vc {
	struct vc_version ver; /* the VF's, from VERSION */
	uint32_t caps;         /* granted by GET_VF_RESOURCES */
	bool active;           /* GET_VF_RESOURCES answered */
};

struct iavf {
	struct pci_function fn; /* first: the pci_function callbacks cast back */
	char name[80];
	struct net_port *port[IAVF_MAX_QP];
	unsigned pairs;
	unsigned nvec;          /* MSI-X vectors: 1 + pairs */
	uint8_t mac[6];
	uint16_t mtu;
	uint32_t speed_mbps;
	pthread_mutex_t ctl;

	/* Registers (control path, under ctl; tails atomic). */
	uint32_t rstat;
	struct iavf_aq atq, arq;
	uint32_t icr0, icr0_ena, dyn_ctl01, itr01[3];
	uint32_t tx_tail[IAVF_MAX_QP], rx_tail[IAVF_MAX_QP];
	uint32_t hkey[13], hlut[16], hena_reg[2]; /* RSS_REG registers: storage only */

	struct iavf_vc vc;
	uint8_t vc_mac[6];  /* the VF's MAC: the option's, or the last primary it set */
	uint8_t aq_buf[AVF_AQ_BUF_MAX];
	struct iavf_dp dp;
	bool mdd;         /* atomic: the datapath saw a hostile descriptor; reset pending */
	uint64_t resets;  /* VF resets done */
};

static inline struct iavf *to_iavf(struct pci_function *f)
{
	return (struct iavf *)f;
}

/* ---- control path (ctl held) ---- */

/* Registers (iavf_regs.c). */
uint32_t iavf_reg_read(struct iavf *v, uint32_t off);
void iavf_reg_write(struct iavf *v, uint32_t off, uint32_t val);
/* Back to the state after a VF reset (datapath stopped): mailbox down, VFR active. */
void iavf_reset_state(struct iavf *v);
/* Raise vector 0 if an enabled cause waits and the vector is enabled. */
void iavf_misc_irq_update(struct iavf *v);

/* The admin queue mailbox (iavf_aq.c). */
void iavf_atq_process(struct iavf *v);
/* Post a message to the VF's receive queue; 0, or -errno when it was dropped. */
int iavf_arq_send(struct iavf *v, uint32_t op, int32_t status, const void *msg, uint16_t len);

/* virtchnl (iavf_vc.c): one message from the VF; replies through iavf_arq_send. */
void iavf_vc_handle(struct iavf *v, uint32_t op, const uint8_t *msg, uint16_t len);
void iavf_vc_link_event(struct iavf *v);

/* Do a VF reset now (RESET_VF, MDD, iavf_vf_reset). */
void iavf_do_reset(struct iavf *v, const char *why);

/* ---- datapath (iavf_dp.c, iavf_tx.c, iavf_rx.c) ---- */

int iavf_dp_init(struct iavf *v);
void iavf_dp_fini(struct iavf *v);
/* Start the thread if queues are on and it is not running. */
int iavf_dp_start(struct iavf *v);
void iavf_dp_stop(struct iavf *v);
/* Bracket changes of what the datapath reads (rings, vectors, filters). */
void iavf_dp_park(struct iavf *v);
void iavf_dp_unpark(struct iavf *v);
/* A tail or interrupt enable moved: wake the thread if it sleeps. */
void iavf_dp_kick(struct iavf *v);
/* A hostile descriptor: stop the queues and have the VF reset (on the datapath). */
void iavf_dp_mdd(struct iavf *v, const char *what, unsigned q);
/* A queue's cause for its vector (on the datapath). */
void iavf_dp_cause(struct iavf *v, const struct iavf_ring *r, bool rx);

unsigned iavf_tx(struct iavf *v, unsigned q);
unsigned iavf_rx(struct iavf *v, unsigned port);
/* Fire the queue vectors whose causes and ITR allow it; ns until the next, or UINT64_MAX. */
uint64_t iavf_irq_poll(struct iavf *v);

/* ---- outside: the daemon's reset hook ---- */

/*
 * Reset the VF from the device side, as a PF does: queues stop, the mailbox
 * goes down, VFGEN_RSTAT reports the reset done; the guest driver sees the
 * disabled mailbox (its watchdog checks every 2 s) and brings the VF up
 * again. Safe from any thread but the device's own datapath thread.
 * Returns -EINVAL if @dev is not an iavf device.
 */
int iavf_vf_reset(struct iomed_device *dev);

#endif
