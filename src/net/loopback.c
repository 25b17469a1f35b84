// SPDX-License-Identifier: MIT
/*
 * Loopback port: every frame sent comes back on recv with its destination
 * and source MAC swapped, so a device talks to itself (benchmarks, tests).
 *
 * Frames wait in one preallocated byte ring, each stored contiguously (a
 * frame that does not fit before the end starts again at 0), indexed by a
 * ring of slots. 1 MiB holds 256 frames of up to 4 KiB, 116 jumbo frames or
 * 15 GSO frames of 64 KiB: bounded memory, no allocation per frame (256
 * fixed slots of NET_MAX_FRAME would be 16 MiB per port).
 */
#include "net/backend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/eventfd.h"

#define LOOP_SLOTS 256u
#define LOOP_BYTES (1u << 20)

struct loop_slot {
	uint32_t off, len;
};

struct loop_port {
	struct net_port port;
	int efd;           /* readable while count > 0 */
	uint32_t head;     /* slot of the oldest frame */
	uint32_t count;    /* frames queued */
	uint32_t tail;     /* byte offset after the newest frame */
	struct loop_slot slot[LOOP_SLOTS];
	uint8_t *buf;      /* LOOP_BYTES */
};

static struct loop_port *to_loop(struct net_port *p)
{
	return net_port_of(p, struct loop_port, port);
}

/* Where a frame of @len bytes can go, or -1 when the ring is full. */
static long loop_alloc(const struct loop_port *l, uint32_t len)
{
	uint32_t head;

	if (l->count == LOOP_SLOTS)
		return -1;
	if (!l->count)
		return 0;
	head = l->slot[l->head].off;
	/* frames are never empty, so tail > head means the used bytes do not wrap */
	if (l->tail > head) {
		if (LOOP_BYTES - l->tail >= len)
			return l->tail;
		return head >= len ? 0 : -1;
	}
	if (head - l->tail >= len)
		return l->tail;
	return -1;
}

static bool gso_enabled(unsigned offloads, uint8_t gso_type)
{
	unsigned need;

	switch (gso_type & ~NET_HDR_GSO_ECN) {
	case NET_HDR_GSO_TCPV4:
		need = NET_OFFLOAD_TSO4;
		break;
	case NET_HDR_GSO_TCPV6:
		need = NET_OFFLOAD_TSO6;
		break;
	default:
		return false; /* UFO has no NET_OFFLOAD_* */
	}
	if (gso_type & NET_HDR_GSO_ECN)
		need |= NET_OFFLOAD_TSO_ECN;
	return (offloads & need) == need;
}

/*
 * The frame goes back to the sender's receive side: give it only what that
 * side enabled. Checksums are completed here; GSO frames cannot be
 * segmented here and are refused.
 */
static int fit_offloads(unsigned offloads, uint8_t *frame, size_t len)
{
	const struct net_hdr *h = (const struct net_hdr *)frame;
	int ret;

	if (h->gso_type != NET_HDR_GSO_NONE && !gso_enabled(offloads, h->gso_type))
		return -EOPNOTSUPP;
	if (offloads & NET_OFFLOAD_CSUM)
		return 0;
	if (h->flags & NET_HDR_F_NEEDS_CSUM) {
		ret = net_csum_complete(frame, len);
		if (ret)
			return ret;
	}
	frame[0] = 0; /* flags: no DATA_VALID without GUEST_CSUM either */
	return 0;
}

static void swap_macs(uint8_t *eth)
{
	uint8_t tmp[6];

	memcpy(tmp, eth, 6);
	memcpy(eth, eth + 6, 6);
	memcpy(eth + 6, tmp, 6);
}

static int loop_send(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	struct loop_port *l = to_loop(p);
	size_t len = net_iov_len(iov, iovcnt);
	uint8_t *frame;
	long off;
	int ret;

	if (len < NET_HDR_LEN + NET_ETH_HLEN || len > NET_MAX_FRAME) {
		p->stats.tx_drops++;
		return len > NET_MAX_FRAME ? -EMSGSIZE : -EINVAL;
	}
	off = loop_alloc(l, len);
	if (off < 0)
		return -EAGAIN;
	frame = l->buf + off;
	net_iov_gather(frame, len, iov, iovcnt);
	ret = fit_offloads(p->offloads, frame, len);
	if (ret) {
		p->stats.tx_drops++;
		return ret;
	}
	swap_macs(frame + NET_HDR_LEN);
	l->slot[(l->head + l->count) % LOOP_SLOTS] = (struct loop_slot){ off, len };
	l->tail = off + len;
	if (!l->count++)
		efd_signal(l->efd);
	p->stats.tx_packets++;
	p->stats.tx_bytes += len - NET_HDR_LEN;
	return 0;
}

static void loop_pop(struct loop_port *l)
{
	l->head = (l->head + 1) % LOOP_SLOTS;
	if (!--l->count)
		efd_drain(l->efd);
}

static ssize_t loop_recv(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	struct loop_port *l = to_loop(p);
	struct loop_slot s;
	size_t room;

	if (!l->count)
		return -EAGAIN;
	room = net_iov_len(iov, iovcnt);
	if (room < NET_HDR_LEN)
		return -EINVAL;
	s = l->slot[l->head];
	if (s.len > room) {
		loop_pop(l);
		p->stats.rx_drops++;
		return -EMSGSIZE;
	}
	net_iov_scatter(iov, iovcnt, l->buf + s.off, s.len);
	loop_pop(l);
	p->stats.rx_packets++;
	p->stats.rx_bytes += s.len - NET_HDR_LEN;
	return s.len;
}

static int loop_set_offloads(struct net_port *p, unsigned offloads)
{
	int ret = net_offloads_check(offloads);

	if (ret)
		return ret;
	p->offloads = offloads;
	return 0;
}

static void loop_destroy(struct net_port *p)
{
	struct loop_port *l = to_loop(p);

	close(l->efd);
	free(l->buf);
	free(l);
}

static const struct net_port_ops loop_ops = {
	.send = loop_send,
	.recv = loop_recv,
	.set_offloads = loop_set_offloads,
	.destroy = loop_destroy,
};

int net_loopback_open(struct net_port **out, char *err, size_t errlen)
{
	struct loop_port *l = calloc(1, sizeof(*l));

	if (!l)
		goto nomem;
	l->buf = malloc(LOOP_BYTES);
	if (!l->buf)
		goto nomem;
	l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->efd < 0) {
		int ret = -errno;

		free(l->buf);
		free(l);
		return net_err(err, errlen, ret, "net loopback: eventfd: %s", strerror(-ret));
	}
	net_port_init(&l->port, &loop_ops, "loopback");
	l->port.rx_fd = l->efd;
	*out = &l->port;
	return 0;
nomem:
	if (l)
		free(l->buf);
	free(l);
	return net_err(err, errlen, -ENOMEM, "net loopback: out of memory");
}
