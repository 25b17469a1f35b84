// SPDX-License-Identifier: MIT
/*
 * TAP port: frames go to and come from the host kernel through a tap
 * device opened with IFF_VNET_HDR and a 12-byte header, which is the
 * net_hdr as is. The kernel completes checksums and segments GSO frames we
 * send; TUNSETOFFLOAD tells it what it may leave partial in frames we read.
 */
#include "net/backend.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define TUN_PATH "/dev/net/tun"

struct tap_port {
	struct net_port port;
	int fd;
};

static struct tap_port *to_tap(struct net_port *p)
{
	return net_port_of(p, struct tap_port, port);
}

static int tap_send(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	struct tap_port *t = to_tap(p);
	ssize_t n = writev(t->fd, iov, iovcnt);

	if (n < 0) {
		if (errno == EAGAIN)
			return -EAGAIN;
		p->stats.tx_drops++;
		return -errno;
	}
	p->stats.tx_packets++;
	p->stats.tx_bytes += (size_t)n > NET_HDR_LEN ? (size_t)n - NET_HDR_LEN : 0;
	return 0;
}

/*
 * The kernel reports DATA_VALID whatever TUNSETOFFLOAD said; a driver
 * without GUEST_CSUM must see flags 0 (virtio 5.1.6.3.1).
 */
static void clear_flags(const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len) {
			*(uint8_t *)iov[i].iov_base = 0;
			return;
		}
	}
}

static ssize_t tap_recv(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	struct tap_port *t = to_tap(p);
	size_t room = net_iov_len(iov, iovcnt);
	ssize_t n;

	/* the kernel would dequeue and drop the frame on so small a buffer */
	if (room < NET_HDR_LEN)
		return -EINVAL;
	n = readv(t->fd, iov, iovcnt);
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : -errno;
	/* a truncated frame still reports its full length */
	if ((size_t)n > room) {
		p->stats.rx_drops++;
		return -EMSGSIZE;
	}
	if (!(p->offloads & NET_OFFLOAD_CSUM))
		clear_flags(iov, iovcnt);
	p->stats.rx_packets++;
	p->stats.rx_bytes += (size_t)n - NET_HDR_LEN;
	return n;
}

static int tap_set_offloads(struct net_port *p, unsigned offloads)
{
	struct tap_port *t = to_tap(p);
	unsigned long tun = 0;
	int ret = net_offloads_check(offloads);

	if (ret)
		return ret;
	if (offloads & NET_OFFLOAD_CSUM)
		tun |= TUN_F_CSUM;
	if (offloads & NET_OFFLOAD_TSO4)
		tun |= TUN_F_TSO4;
	if (offloads & NET_OFFLOAD_TSO6)
		tun |= TUN_F_TSO6;
	if (offloads & NET_OFFLOAD_TSO_ECN)
		tun |= TUN_F_TSO_ECN;
	if (ioctl(t->fd, TUNSETOFFLOAD, tun) < 0)
		return -errno;
	p->offloads = offloads;
	return 0;
}

static void tap_destroy(struct net_port *p)
{
	struct tap_port *t = to_tap(p);

	close(t->fd);
	free(t);
}

static const struct net_port_ops tap_ops = {
	.send = tap_send,
	.recv = tap_recv,
	.set_offloads = tap_set_offloads,
	.destroy = tap_destroy,
};

static int open_tun(char *err, size_t errlen)
{
	int fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	fd = -errno;
	if (fd == -ENOENT || fd == -ENODEV || fd == -ENXIO)
		return net_err(err, errlen, fd, "net tap: cannot open %s: %s (no tun support: modprobe tun?)",
			       TUN_PATH, strerror(-fd));
	if (fd == -EPERM || fd == -EACCES)
		return net_err(err, errlen, fd, "net tap: cannot open %s: %s (needs CAP_NET_ADMIN or access to it)",
			       TUN_PATH, strerror(-fd));
	return net_err(err, errlen, fd, "net tap: cannot open %s: %s", TUN_PATH, strerror(-fd));
}

/*
 * Multi-queue first, so a device can open one port per queue pair; a tap
 * made without multi_queue (ip tuntap add) refuses it with EINVAL.
 */
static int attach(int fd, const char *name, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int ret;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	if (!ioctl(fd, TUNSETIFF, &ifr))
		return 0;
	if (errno == EINVAL) {
		ifr.ifr_flags &= ~IFF_MULTI_QUEUE;
		if (!ioctl(fd, TUNSETIFF, &ifr))
			return 0;
	}
	ret = -errno;
	if (ret == -EPERM)
		return net_err(err, errlen, ret, "net tap:%s: TUNSETIFF: %s (needs CAP_NET_ADMIN)",
			       name, strerror(-ret));
	if (ret == -EBUSY)
		return net_err(err, errlen, ret, "net tap:%s: TUNSETIFF: %s (a single-queue tap already in use)",
			       name, strerror(-ret));
	if (ret == -EINVAL)
		return net_err(err, errlen, ret, "net tap:%s: TUNSETIFF: %s (a device of that name that is not a tap?)",
			       name, strerror(-ret));
	return net_err(err, errlen, ret, "net tap:%s: TUNSETIFF: %s", name, strerror(-ret));
}

static int setup_vnet(int fd, const char *name, char *err, size_t errlen)
{
	int sz = NET_HDR_LEN;
	int le = 1;

	const char *what;

	what = "TUNSETVNETHDRSZ";
	if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0)
		goto fail;
	/* virtio 1.x headers are little endian whatever the host is */
	what = "TUNSETVNETLE";
	if (ioctl(fd, TUNSETVNETLE, &le) < 0)
		goto fail;
	/* a persistent tap may keep a previous user's offloads */
	what = "TUNSETOFFLOAD";
	if (ioctl(fd, TUNSETOFFLOAD, 0ul) < 0)
		goto fail;
	return 0;
fail:
	sz = -errno;
	return net_err(err, errlen, sz, "net tap:%s: %s: %s", name, what, strerror(-sz));
}

/* Link up (so a test only adds addresses) and read the MTU. */
static int link_up(const char *name, uint16_t *mtu, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (s < 0)
		return net_err(err, errlen, -errno, "net tap:%s: socket: %s", name, strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			goto fail;
	}
	if (ioctl(s, SIOCGIFMTU, &ifr) < 0)
		goto fail;
	*mtu = ifr.ifr_mtu > UINT16_MAX ? UINT16_MAX : (uint16_t)ifr.ifr_mtu;
	goto out;
fail:
	ret = -errno;
	net_err(err, errlen, ret, "net tap:%s: bringing the link up: %s", name, strerror(-ret));
out:
	close(s);
	return ret;
}

int net_tap_open(const char *name, struct net_port **out, char *err, size_t errlen)
{
	struct tap_port *t;
	char pname[sizeof(t->port.name)];
	int ret;

	t = calloc(1, sizeof(*t));
	if (!t)
		return net_err(err, errlen, -ENOMEM, "net tap:%s: out of memory", name);
	t->fd = open_tun(err, errlen);
	if (t->fd < 0) {
		ret = t->fd;
		goto out_free;
	}
	ret = attach(t->fd, name, err, errlen);
	if (ret)
		goto out_close;
	ret = setup_vnet(t->fd, name, err, errlen);
	if (ret)
		goto out_close;
	snprintf(pname, sizeof(pname), "tap:%s", name);
	net_port_init(&t->port, &tap_ops, pname);
	ret = link_up(name, &t->port.mtu, err, errlen);
	if (ret)
		goto out_close;
	t->port.rx_fd = t->fd;
	t->port.tx_fd = t->fd;
	*out = &t->port;
	return 0;
out_close:
	close(t->fd);
out_free:
	free(t);
	return ret;
}
