// SPDX-License-Identifier: MIT
/*
 * Sink and source ports, for benchmarks: the sink counts what it is sent
 * and drops it; a source is a sink whose recv always has a frame, the same
 * preformatted one (broadcast, the IEEE local experimental EtherType
 * 0x88b5, so a guest stack drops it at once).
 */
#include "net/backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct sink_port {
	struct net_port port;
	int efd;          /* source: always readable; -1 for a sink */
	size_t len;       /* source frame length with its net_hdr; 0 for a sink */
	uint8_t frame[];
};

static struct sink_port *to_sink(struct net_port *p)
{
	return net_port_of(p, struct sink_port, port);
}

static int sink_send(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	size_t len = net_iov_len(iov, iovcnt);

	if (len < NET_HDR_LEN || len > NET_MAX_FRAME) {
		p->stats.tx_drops++;
		return len > NET_MAX_FRAME ? -EMSGSIZE : -EINVAL;
	}
	p->stats.tx_packets++;
	p->stats.tx_bytes += len - NET_HDR_LEN;
	return 0;
}

static ssize_t sink_recv(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	struct sink_port *s = to_sink(p);
	size_t room;

	if (!s->len)
		return -EAGAIN;
	room = net_iov_len(iov, iovcnt);
	if (room < NET_HDR_LEN)
		return -EINVAL;
	if (room < s->len) {
		p->stats.rx_drops++;
		return -EMSGSIZE;
	}
	net_iov_scatter(iov, iovcnt, s->frame, s->len);
	p->stats.rx_packets++;
	p->stats.rx_bytes += s->len - NET_HDR_LEN;
	return s->len;
}

static int sink_set_offloads(struct net_port *p, unsigned offloads)
{
	int ret = net_offloads_check(offloads);

	if (ret)
		return ret;
	/* the source frame never needs an offload: accepting all is honest */
	p->offloads = offloads;
	return 0;
}

static void sink_destroy(struct net_port *p)
{
	struct sink_port *s = to_sink(p);

	if (s->efd >= 0)
		close(s->efd);
	free(s);
}

static const struct net_port_ops sink_ops = {
	.send = sink_send,
	.recv = sink_recv,
	.set_offloads = sink_set_offloads,
	.destroy = sink_destroy,
};

/* @eth_len bytes after a zero net_hdr. */
static void format_frame(uint8_t *frame, size_t eth_len)
{
	static const uint8_t head[NET_ETH_HLEN] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,	/* broadcast */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01,	/* locally administered */
		0x88, 0xb5,
	};
	uint8_t *eth = frame + NET_HDR_LEN;

	memset(frame, 0, NET_HDR_LEN);
	memcpy(eth, head, sizeof(head));
	for (size_t i = sizeof(head); i < eth_len; i++)
		eth[i] = (uint8_t)i;
}

/* @source_len: 0 for a sink, else the source's frame length (no net_hdr). */
int net_sink_open(size_t source_len, struct net_port **out, char *err, size_t errlen)
{
	size_t len = source_len ? source_len + NET_HDR_LEN : 0;
	struct sink_port *s = calloc(1, sizeof(*s) + len);
	char name[32];

	if (!s)
		return net_err(err, errlen, -ENOMEM, "net sink: out of memory");
	s->efd = -1;
	s->len = len;
	if (source_len) {
		/* never read: a source always has a frame ready */
		s->efd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
		if (s->efd < 0) {
			int ret = -errno;

			free(s);
			return net_err(err, errlen, ret, "net source: eventfd: %s", strerror(-ret));
		}
		format_frame(s->frame, source_len);
	}
	if (source_len)
		snprintf(name, sizeof(name), "source:%zu", source_len);
	else
		snprintf(name, sizeof(name), "sink");
	net_port_init(&s->port, &sink_ops, name);
	s->port.rx_fd = s->efd;
	*out = &s->port;
	return 0;
}
