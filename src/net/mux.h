/* SPDX-License-Identifier: MIT */
/*
 * The mux: who gets a frame when several devices share one port. It knows
 * the members (one per queue pair of each device, by MAC address), enforces
 * MAC ownership and classifies frames; moving the frames is the port's job
 * (dpdk.c). No allocation, no lock on the datapath.
 *
 * A device's queue pairs join with the same owner and MAC; the first to
 * join is the device's primary member and receives its frames, the others
 * only send. Members live in a fixed table and are named by their slot, so
 * a classification is a bit mask of slots.
 *
 * Concurrency: join, leave and set_promisc run on the control path (leave
 * and join may run while other devices' datapaths classify). Classifying
 * threads bracket their reads with mux_enter/mux_exit on their own member;
 * mux_leave waits until every member inside a bracket has left it once
 * (quiescent-state reclamation), so a slot is never reused under a reader.
 */
#ifndef IOMED_NET_MUX_H
#define IOMED_NET_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MUX_MAX_MEMBERS 64

struct mux_member {
	uint64_t mac;        /* 48-bit address, first byte in bits 40..47 */
	const void *owner;
	uint8_t state;       /* atomic: MUX_FREE, MUX_ACTIVE */
	bool primary;        /* receives its device's frames */
	bool promisc;        /* atomic */
	uint64_t qs;         /* atomic: odd while inside mux_enter/mux_exit */
};

#define MUX_FREE 0
#define MUX_ACTIVE 1

struct mux_stats {
	uint64_t spoofed;  /* frames from a member with another source MAC */
	uint64_t unknown;  /* unicast from the wire that no member owns */
	uint64_t local;    /* frames delivered member to member */
};

struct mux {
	struct mux_member m[MUX_MAX_MEMBERS];
	unsigned npromisc;   /* atomic: primary members in promiscuous mode */
	struct mux_stats stats; /* atomics */
};

/* Where a frame goes: members (bit i = slot i) and/or the wire. */
struct mux_verdict {
	uint64_t to;
	bool wire;
	bool spoofed;  /* dropped: the sender does not own the source MAC */
};

uint64_t mux_mac(const uint8_t mac[6]);
void mux_init(struct mux *x);
/*
 * Take a free slot for @owner's queue pair with address @mac. Returns the
 * slot, -EADDRINUSE when another owner has @mac, -ENOSPC when full,
 * -EINVAL for a multicast or zero address. @primary_out says whether it
 * receives (the first of its owner).
 */
int mux_join(struct mux *x, const uint8_t mac[6], const void *owner, bool *primary_out);
/* Free @slot once no classification can still see it; hands primary on. */
void mux_leave(struct mux *x, unsigned slot);
void mux_set_promisc(struct mux *x, unsigned slot, bool on);

/* Datapath: bracket every classification and use of its verdict. */
static inline void mux_enter(struct mux *x, unsigned self)
{
	__atomic_add_fetch(&x->m[self].qs, 1, __ATOMIC_SEQ_CST);
}

static inline void mux_exit(struct mux *x, unsigned self)
{
	__atomic_add_fetch(&x->m[self].qs, 1, __ATOMIC_RELEASE);
}

/*
 * Classify the Ethernet frame @eth (at least 12 bytes) sent by member
 * @from, or from the wire when @from is negative.
 *  - from the wire: unicast to its owner's primary member (none: counted
 *    unknown), broadcast and multicast to every primary member; promiscuous
 *    members get everything.
 *  - from a member: its source must be its own MAC (else spoofed, nowhere);
 *    unicast to another device's member stays inside, other unicast goes to
 *    the wire, broadcast and multicast go to the wire and every other
 *    device; promiscuous members of other devices get a copy. Nothing goes
 *    back to the sender's own device.
 */
void mux_classify(struct mux *x, const uint8_t *eth, int from, struct mux_verdict *v);
/* The primary slot whose MAC is @mac, or -1 (datapath, inside a bracket). */
int mux_lookup(struct mux *x, uint64_t mac);

static inline bool mux_is_multicast(const uint8_t *eth)
{
	return eth[0] & 1;
}

#endif
