// SPDX-License-Identifier: MIT
/*
 * virtio-net queue processing, on the poller thread: TX chains go to the
 * port as iovecs over guest memory (no copy), frames from the port land in
 * guest RX buffers, control commands are answered. Nothing here allocates
 * or locks; each queue's used updates are published once per batch.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/counter.h"
#include "core/log.h"
#include "devices/virtio-net/vnet.h"

#define BUDGET 64

size_t vnet_iov_copy(const struct iovec *iov, unsigned cnt, size_t off, void *buf, size_t len,
		     bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < cnt && done < len; i++) {
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off < len - done ? iov[i].iov_len - off : len - done;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off, (uint8_t *)buf + done, n);
		else
			memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

static void complete(struct vnet *v, unsigned q)
{
	struct virtqueue *vq = &v->dp.vq[q];

	vq_flush(vq);
	if (!vq_needs_interrupt(vq))
		return;
	vnet_raise(v, v->dp.vector[q], VIRTIO_ISR_QUEUE);
	counter_inc(&vnet_qstats(v, q)->interrupts);
}

static void broken(struct vnet *v, unsigned q, const char *why)
{
	vq_break(&v->dp.vq[q], why);
	vnet_needs_reset(v, q);
}

/* ---- transmit ---- */

_Static_assert(sizeof(struct net_hdr) == VNET_HDR_LEN, "the header TX copies is the one on the ring");

/* Offloads the driver asks for must have been negotiated (5.1.6.2.1). */
static bool tx_hdr_ok(struct vnet *v, const struct net_hdr *h)
{
	uint64_t f = v->dp.features;

	if ((h->flags & NET_HDR_F_NEEDS_CSUM) && !vnet_has(f, VNET_F_CSUM))
		return false;
	switch (h->gso_type & ~NET_HDR_GSO_ECN) {
	case NET_HDR_GSO_NONE: return true;
	case NET_HDR_GSO_TCPV4: return vnet_has(f, VNET_F_HOST_TSO4);
	case NET_HDR_GSO_TCPV6: return vnet_has(f, VNET_F_HOST_TSO6);
	default: return false;
	}
}

/*
 * The frame of chain @c as the port gets it: the header copied out of
 * guest memory once into @h (the copy that was checked is the one sent: a
 * guest rewriting it meanwhile changes nothing), then the rest of the
 * chain. Uses the spare iovec in front of c->iov; returns the first one.
 */
static struct iovec *tx_frame(struct vq_chain *c, struct net_hdr *h, int *iovcnt)
{
	size_t skip = VNET_HDR_LEN;
	unsigned i = 0;

	vnet_iov_copy(c->iov, c->out_num, 0, h, sizeof(*h), false);
	while (i < c->out_num && c->iov[i].iov_len <= skip)
		skip -= c->iov[i++].iov_len;
	if (i < c->out_num) {
		c->iov[i].iov_base = (uint8_t *)c->iov[i].iov_base + skip;
		c->iov[i].iov_len -= skip;
	}
	c->iov[(int)i - 1] = (struct iovec){ .iov_base = h, .iov_len = sizeof(*h) };
	*iovcnt = (int)(c->out_num - i) + 1;
	return &c->iov[(int)i - 1];
}

unsigned vnet_tx(struct vnet *v, unsigned pair)
{
	struct vnet_dp *dp = &v->dp;
	unsigned q = 2 * pair + 1, n = 0;
	struct virtqueue *vq = &dp->vq[q];
	struct vq_chain c = { .iov = dp->tx_iov + 1, .max_iov = VNET_TX_MAX_IOV };
	struct vnet_queue_stats *st = &v->stats->tx[pair];
	struct net_hdr h;
	struct iovec *frame;
	int ret, iovcnt;

	while (n < BUDGET) {
		ret = vq_pop(vq, &c);
		if (ret < 0)
			vnet_needs_reset(v, q);
		if (ret <= 0)
			break;
		if (c.in_num) {
			broken(v, q, "writable descriptor in a TX chain");
			break;
		}
		ret = -EINVAL;
		if (c.out_len >= VNET_HDR_LEN) {
			frame = tx_frame(&c, &h, &iovcnt);
			if (tx_hdr_ok(v, &h))
				ret = net_port_send(v->port[pair], frame, iovcnt);
		}
		if (ret == -EAGAIN) {
			vq_unpop(vq, 1);
			dp->tx_blocked[pair] = true;
			break;
		}
		dp->tx_blocked[pair] = false;
		if (ret) {
			counter_inc(&st->drops);
		} else {
			counter_inc(&st->packets);
			counter_add(&st->bytes, c.out_len - VNET_HDR_LEN);
		}
		vq_push(vq, c.head, 0);
		n++;
	}
	if (n)
		complete(v, q);
	net_port_flush(v->port[pair]);
	return n;
}

/* ---- receive ---- */

static bool stash_ready(const struct vnet_dp *dp, const struct vnet_rx_stash *st)
{
	if (!st->n)
		return false;
	/* Without MRG_RXBUF a frame gets exactly one chain, big enough or not. */
	if (!vnet_has(dp->features, VNET_F_MRG_RXBUF))
		return true;
	return st->cap >= dp->rx_need || st->n == VNET_RX_MAX_CHAINS ||
	       VNET_RX_MAX_IOV - st->iovcnt < VNET_RX_CHAIN_IOV;
}

/* Pop RX chains until they can hold the largest frame. False: not enough (yet). */
static bool stash_fill(struct vnet *v, unsigned q, struct vnet_rx_stash *st)
{
	struct vnet_dp *dp = &v->dp;
	struct virtqueue *vq = &dp->vq[q];
	struct vq_chain c;
	int ret;

	while (!stash_ready(dp, st)) {
		c.iov = st->iov + st->iovcnt;
		c.max_iov = VNET_RX_CHAIN_IOV;
		ret = vq_pop(vq, &c);
		if (ret < 0)
			vnet_needs_reset(v, q);
		if (ret <= 0)
			return false;
		if (c.out_num || c.in_len < VNET_HDR_LEN) {
			broken(v, q, c.out_num ? "readable descriptor in an RX chain"
					       : "RX buffer shorter than the header");
			return false;
		}
		st->head[st->n] = c.head;
		st->len[st->n] = c.in_len;
		st->niov[st->n] = c.in_num;
		st->n++;
		st->iovcnt += c.in_num;
		st->cap += c.in_len;
	}
	return true;
}

/* How many of the stash's chains @len bytes fill. */
static uint16_t chains_for(const struct vnet_rx_stash *st, uint32_t len)
{
	unsigned i = 0;

	while (len && i < st->n) {
		len -= st->len[i] < len ? st->len[i] : len;
		i++;
	}
	return (uint16_t)i;
}

/* Hand the first @k chains of the stash to the guest, @len bytes in all. */
static void stash_consume(struct virtqueue *vq, struct vnet_rx_stash *st, unsigned k,
			  uint32_t len)
{
	unsigned iovs = 0;
	uint64_t bytes = 0;

	for (unsigned i = 0; i < k; i++) {
		uint32_t l = st->len[i] < len ? st->len[i] : len;

		vq_push(vq, st->head[i], l);
		len -= l;
		bytes += st->len[i];
		iovs += st->niov[i];
	}
	st->n -= k;
	st->iovcnt -= iovs;
	st->cap -= bytes;
	memmove(st->head, st->head + k, st->n * sizeof(st->head[0]));
	memmove(st->len, st->len + k, st->n * sizeof(st->len[0]));
	memmove(st->niov, st->niov + k, st->n * sizeof(st->niov[0]));
	memmove(st->iov, st->iov + iovs, st->iovcnt * sizeof(st->iov[0]));
}

/* Fill the header's num_buffers (1 without MRG_RXBUF), then give the chains back used. */
static void deliver(struct vnet *v, unsigned q, struct vnet_rx_stash *st, uint32_t len)
{
	uint16_t k = chains_for(st, len);
	uint16_t le = htole16(k);

	vnet_iov_copy(st->iov, st->iovcnt, offsetof(struct net_hdr, num_buffers), &le, sizeof(le),
		      true);
	stash_consume(&v->dp.vq[q], st, k, len);
}

unsigned vnet_rx(struct vnet *v, unsigned pair)
{
	struct vnet_dp *dp = &v->dp;
	struct vnet_rx_stash *st = &dp->stash[pair];
	unsigned q = 2 * pair, n = 0;
	ssize_t len;

	while (n < BUDGET) {
		if (!stash_fill(v, q, st)) {
			dp->rx_starved[pair] = true;
			break;
		}
		dp->rx_starved[pair] = false;
		len = net_port_recv(v->port[pair], st->iov, (int)st->iovcnt);
		if (len == -EAGAIN)
			break;
		if (len == -EMSGSIZE) {
			n++; /* the port dropped a frame too big for the buffers */
			counter_inc(&v->stats->rx[pair].drops);
			continue;
		}
		if (len < VNET_HDR_LEN) {
			pr_warn_rl("%s: port %s: receive failed: %s", v->name,
				   v->port[pair]->name, strerror(len < 0 ? (int)-len : EIO));
			break;
		}
		n++;
		/* A filtered frame leaves the chains in the stash for the next one. */
		if (!vnet_rx_accept(dp, st->iov, st->iovcnt, (uint32_t)len)) {
			counter_inc(&v->stats->rx[pair].filtered);
			continue;
		}
		deliver(v, q, st, (uint32_t)len);
		counter_inc(&v->stats->rx[pair].packets);
		counter_add(&v->stats->rx[pair].bytes, (uint64_t)len - VNET_HDR_LEN);
	}
	if (n)
		complete(v, q);
	return n;
}

void vnet_rx_release(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;

	for (unsigned p = 0; p < dp->pairs; p++) {
		struct vnet_rx_stash *st = &dp->stash[p];

		vq_unpop(&dp->vq[2 * p], (uint16_t)st->n);
		st->n = st->iovcnt = 0;
		st->cap = 0;
	}
}

/* ---- control queue (commands: vnet_ctrl.c) ---- */

unsigned vnet_ctrl(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;
	unsigned q = 2 * dp->pairs, n = 0;
	struct vq_chain c = { .iov = dp->tx_iov, .max_iov = VNET_TX_MAX_IOV };
	uint8_t ack;
	int ret;

	while (n < BUDGET) {
		ret = vq_pop(&dp->vq[q], &c);
		if (ret < 0)
			vnet_needs_reset(v, q);
		if (ret <= 0)
			break;
		if (!c.in_len) {
			broken(v, q, "control command without room for the ack");
			break;
		}
		ack = vnet_ctrl_cmd(v, &c);
		vnet_iov_copy(c.iov + c.out_num, c.in_num, c.in_len - 1, &ack, 1, true);
		vq_push(&dp->vq[q], c.head, 1);
		counter_inc(&v->stats->ctrl.packets);
		if (ack != VNET_CTRL_OK)
			counter_inc(&v->stats->ctrl.drops);
		n++;
	}
	if (n)
		complete(v, q);
	return n;
}
