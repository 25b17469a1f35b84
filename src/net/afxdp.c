// SPDX-License-Identifier: MIT
/*
 * AF_XDP port: "afxdp:IFNAME[:queue=N]" binds an XDP socket to one queue
 * of a kernel NIC (libxdp loads its default program, which redirects that
 * queue's frames to the socket). One port per queue: a device with several
 * queue pairs needs as many queues, so a second open of a busy queue fails.
 *
 * UMEM: AFXDP_FRAMES frames of 4 KiB, the first half for receiving (kept
 * in the fill ring), the second for sending (a free stack, refilled from
 * the completion ring). One copy each way, UMEM to guest buffers and back.
 * AF_XDP carries no offload metadata: checksums a device leaves partial are
 * completed and GSO frames segmented in software before they go out;
 * received frames come with their checksums as the wire had them.
 */
#include "net/backend.h"

#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <stdarg.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "core/log.h"

#define AFXDP_FRAMES 4096u
#define AFXDP_FRAME XSK_UMEM__DEFAULT_FRAME_SIZE
#define AFXDP_RX_FRAMES (AFXDP_FRAMES / 2)
#define AFXDP_RING 2048u

struct afxdp_port {
	struct net_port port;
	int ifindex;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	uint8_t *area;            /* AFXDP_FRAMES * AFXDP_FRAME */
	uint64_t free_tx[AFXDP_FRAMES - AFXDP_RX_FRAMES];
	unsigned nfree_tx;
	unsigned tx_pending;      /* submitted, not yet kicked */
	bool batching;            /* the device flushes: kick once per batch */
	struct net_gso gso;
	uint8_t *scratch;         /* NET_MAX_FRAME: a GSO frame, linearized */
};

static struct afxdp_port *to_xp(struct net_port *p)
{
	return net_port_of(p, struct afxdp_port, port);
}

/* ---- receive ---- */

static void refill(struct afxdp_port *x, uint64_t addr)
{
	uint32_t idx;

	/* the fill ring holds every Rx frame: there is always room for one back */
	if (xsk_ring_prod__reserve(&x->fill, 1, &idx) == 1) {
		*xsk_ring_prod__fill_addr(&x->fill, idx) = addr;
		xsk_ring_prod__submit(&x->fill, 1);
	}
}

static ssize_t afxdp_recv(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	struct afxdp_port *x = to_xp(p);
	size_t room = net_iov_len(iov, iovcnt);
	const struct xdp_desc *d;
	struct net_hdr h = { 0 };
	uint32_t idx;
	size_t len;

	if (room < NET_HDR_LEN)
		return -EINVAL;
	if (xsk_ring_cons__peek(&x->rx, 1, &idx) != 1)
		return -EAGAIN;
	d = xsk_ring_cons__rx_desc(&x->rx, idx);
	len = NET_HDR_LEN + d->len;
	if (len <= room) {
		net_iov_scatter(iov, iovcnt, &h, sizeof(h));
		net_iov_scatter_at(iov, iovcnt, NET_HDR_LEN,
				   xsk_umem__get_data(x->area, d->addr), d->len);
	}
	xsk_ring_cons__release(&x->rx, 1);
	refill(x, xsk_umem__extract_addr(d->addr));
	if (len > room) {
		p->stats.rx_drops++;
		return -EMSGSIZE;
	}
	p->stats.rx_packets++;
	p->stats.rx_bytes += len - NET_HDR_LEN;
	return (ssize_t)len;
}

/* ---- send ---- */

static void reclaim(struct afxdp_port *x)
{
	uint32_t idx, n = xsk_ring_cons__peek(&x->comp, AFXDP_RING, &idx);

	for (uint32_t i = 0; i < n; i++)
		x->free_tx[x->nfree_tx++] = *xsk_ring_cons__comp_addr(&x->comp, idx + i);
	xsk_ring_cons__release(&x->comp, n);
}

static void kick(struct afxdp_port *x)
{
	if (!x->tx_pending)
		return;
	/*
	 * Copy mode needs the syscall to send at all. Any failure (ENOBUFS,
	 * EAGAIN, EBUSY; ENETDOWN while the link is down) leaves the frames
	 * queued, and so the need to kick again: forgetting it would leave
	 * them there for good once every Tx frame waits in the ring.
	 */
	if (sendto(xsk_socket__fd(x->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) < 0)
		return;
	x->tx_pending = 0;
}

static int afxdp_flush(struct net_port *p)
{
	struct afxdp_port *x = to_xp(p);

	x->batching = true;
	kick(x);
	reclaim(x);
	return 0;
}

/* A free Tx frame, or NULL. */
static uint8_t *tx_frame(struct afxdp_port *x, uint64_t *addr)
{
	if (!x->nfree_tx)
		reclaim(x);
	if (!x->nfree_tx) {
		kick(x);
		return NULL;
	}
	*addr = x->free_tx[--x->nfree_tx];
	return xsk_umem__get_data(x->area, *addr);
}

/* Queue the frame built at @addr (net_hdr first, @len with it). */
static int tx_submit(struct afxdp_port *x, uint64_t addr, size_t len)
{
	struct xdp_desc *d;
	uint32_t idx;

	if (xsk_ring_prod__reserve(&x->tx, 1, &idx) != 1) {
		x->free_tx[x->nfree_tx++] = addr;
		kick(x);
		return -EAGAIN;
	}
	d = xsk_ring_prod__tx_desc(&x->tx, idx);
	d->addr = addr + NET_HDR_LEN;
	d->len = (uint32_t)(len - NET_HDR_LEN);
	xsk_ring_prod__submit(&x->tx, 1);
	x->tx_pending++;
	if (!x->batching || x->tx_pending >= 32)
		kick(x);
	return 0;
}

/* Each segment into its own Tx frame: all of them, or -EAGAIN with nothing taken. */
static int send_segments(struct afxdp_port *x, const struct iovec *iov, int iovcnt, size_t len)
{
	size_t payload, nseg;
	uint64_t addr = 0;
	ssize_t n;

	net_iov_gather(x->scratch, len, iov, iovcnt);
	if (net_gso_start(&x->gso, x->scratch, len))
		return -EINVAL;
	payload = len - NET_HDR_LEN - x->gso.hlen;
	nseg = (payload + x->gso.mss - 1) / x->gso.mss;
	/* a tiny gso_size: more segments than Tx frames would be -EAGAIN for ever */
	if (nseg > AFXDP_FRAMES - AFXDP_RX_FRAMES || nseg > AFXDP_RING)
		return -EMSGSIZE;
	if (x->nfree_tx < nseg)
		reclaim(x);
	if (x->nfree_tx < nseg || xsk_prod_nb_free(&x->tx, (uint32_t)nseg) < nseg) {
		kick(x);
		return -EAGAIN;
	}
	/* exactly nseg frames: asking for one more could hand back one just submitted */
	for (size_t i = 0; i < nseg; i++) {
		uint8_t *f = tx_frame(x, &addr);

		n = net_gso_next(&x->gso, f, AFXDP_FRAME);
		if (n <= 0) {
			/* too big for a frame: the first segment already (the others are no longer) */
			x->free_tx[x->nfree_tx++] = addr;
			return -EMSGSIZE;
		}
		tx_submit(x, addr, (size_t)n);
	}
	return 0;
}

static int afxdp_send(struct net_port *p, const struct iovec *iov, int iovcnt)
{
	struct afxdp_port *x = to_xp(p);
	size_t len = net_iov_len(iov, iovcnt);
	struct net_hdr h;
	uint64_t addr;
	uint8_t *f;
	int ret;

	if (len < NET_HDR_LEN + NET_ETH_HLEN || len > NET_MAX_FRAME) {
		p->stats.tx_drops++;
		return len > NET_MAX_FRAME ? -EMSGSIZE : -EINVAL;
	}
	net_iov_gather(&h, sizeof(h), iov, iovcnt);
	if (h.gso_type != NET_HDR_GSO_NONE) {
		ret = send_segments(x, iov, iovcnt, len);
		if (ret == -EAGAIN)
			return ret;
		goto out;
	}
	if (len > AFXDP_FRAME) {
		p->stats.tx_drops++;
		return -EMSGSIZE;
	}
	f = tx_frame(x, &addr);
	if (!f)
		return -EAGAIN;
	net_iov_gather(f, len, iov, iovcnt);
	if ((h.flags & NET_HDR_F_NEEDS_CSUM) && net_csum_complete(f, len)) {
		x->free_tx[x->nfree_tx++] = addr;
		ret = -EINVAL;
		goto out;
	}
	ret = tx_submit(x, addr, len);
	if (ret == -EAGAIN)
		return ret;
out:
	if (ret) {
		p->stats.tx_drops++;
		return ret;
	}
	p->stats.tx_packets++;
	p->stats.tx_bytes += len - NET_HDR_LEN;
	return 0;
}

static int afxdp_set_offloads(struct net_port *p, unsigned offloads)
{
	int ret = net_offloads_check(offloads);

	/* nothing partial ever arrives: whatever the device takes is honest */
	if (!ret)
		p->offloads = offloads;
	return ret;
}

/*
 * XDP sockets per interface: libxdp attaches its redirect program with the
 * first and, without a bpffs to keep count in, never takes it away; the
 * last one closed does, or no socket could bind there again.
 */
static pthread_mutex_t ifs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { int ifindex; unsigned refs; } ifs[16];

static void if_ref(int ifindex)
{
	pthread_mutex_lock(&ifs_lock);
	for (unsigned i = 0; i < sizeof(ifs) / sizeof(ifs[0]); i++) {
		if (ifs[i].ifindex == ifindex || !ifs[i].refs) {
			ifs[i].ifindex = ifindex;
			ifs[i].refs++;
			break;
		}
	}
	pthread_mutex_unlock(&ifs_lock);
}

static void detach_default_prog(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *prog;

	if (libxdp_get_error(mp))
		return;
	prog = xdp_multiprog__main_prog(mp);
	if (xdp_multiprog__is_legacy(mp) && prog && !strcmp(xdp_program__name(prog), "xsk_def_prog"))
		xdp_multiprog__detach(mp);
	xdp_multiprog__close(mp);
}

static void if_unref(int ifindex)
{
	bool last = false;

	pthread_mutex_lock(&ifs_lock);
	for (unsigned i = 0; i < sizeof(ifs) / sizeof(ifs[0]); i++) {
		if (ifs[i].ifindex == ifindex && ifs[i].refs) {
			last = !--ifs[i].refs;
			break;
		}
	}
	if (last)
		detach_default_prog(ifindex);
	pthread_mutex_unlock(&ifs_lock);
}

static void afxdp_destroy(struct net_port *p)
{
	struct afxdp_port *x = to_xp(p);

	xsk_socket__delete(x->xsk);
	if_unref(x->ifindex);
	xsk_umem__delete(x->umem);
	munmap(x->area, (size_t)AFXDP_FRAMES * AFXDP_FRAME);
	free(x->scratch);
	free(x);
}

static const struct net_port_ops afxdp_ops = {
	.send = afxdp_send,
	.recv = afxdp_recv,
	.set_offloads = afxdp_set_offloads,
	.flush = afxdp_flush,
	.destroy = afxdp_destroy,
};

/* ---- open ---- */

/* libbpf and libxdp talk on stderr (no bpffs, fallbacks): into the debug log. */
static int quiet(const char *fmt, va_list ap)
{
	char line[256];

	if (!log_enabled(LOG_DEBUG))
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	pr_debug("afxdp: %s", line);
	return 0;
}

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return quiet(fmt, ap);
}

static int bpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return quiet(fmt, ap);
}

/* "IFNAME[:queue=N]" */
static int parse(const char *arg, char *ifname, unsigned *queue, char *err, size_t errlen)
{
	const char *opt = arg ? strchr(arg, ':') : NULL;
	size_t n = opt ? (size_t)(opt - arg) : (arg ? strlen(arg) : 0);
	unsigned long q = 0;
	char *end;

	if (!n || n >= IFNAMSIZ)
		return net_err(err, errlen, -EINVAL, "net 'afxdp:%s': expected afxdp:IFNAME[:queue=N]",
			       arg ? arg : "");
	memcpy(ifname, arg, n);
	ifname[n] = '\0';
	if (opt) {
		if (strncmp(opt, ":queue=", 7))
			return net_err(err, errlen, -EINVAL, "net 'afxdp:%s': the only option is queue=N", arg);
		q = strtoul(opt + 7, &end, 10);
		if (end == opt + 7 || *end || q > 255)
			return net_err(err, errlen, -EINVAL, "net 'afxdp:%s': queue= takes 0 to 255", arg);
	}
	*queue = (unsigned)q;
	return 0;
}

static int umem_setup(struct afxdp_port *x, char *err, size_t errlen, const char *name)
{
	struct xsk_umem_config ucfg = {
		.fill_size = AFXDP_RING, .comp_size = AFXDP_RING, .frame_size = AFXDP_FRAME,
	};
	size_t size = (size_t)AFXDP_FRAMES * AFXDP_FRAME;
	int ret;

	x->area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		return net_err(err, errlen, -ENOMEM, "net afxdp:%s: out of memory", name);
	}
	ret = xsk_umem__create(&x->umem, x->area, size, &x->fill, &x->comp, &ucfg);
	if (ret)
		return net_err(err, errlen, ret, "net afxdp:%s: UMEM: %s%s", name, strerror(-ret),
			       ret == -EPERM ? " (needs CAP_NET_RAW, CAP_BPF or root)" : "");
	return 0;
}

static int socket_setup(struct afxdp_port *x, const char *ifname, unsigned queue, char *err,
			size_t errlen)
{
	struct xsk_socket_config cfg = { .rx_size = AFXDP_RING, .tx_size = AFXDP_RING };
	int ret;

	/* driver mode where the NIC has it, else the generic (skb) hook */
	cfg.xdp_flags = XDP_FLAGS_DRV_MODE;
	ret = xsk_socket__create(&x->xsk, ifname, queue, x->umem, &x->rx, &x->tx, &cfg);
	if (ret && ret != -EBUSY) {
		cfg.xdp_flags = XDP_FLAGS_SKB_MODE;
		ret = xsk_socket__create(&x->xsk, ifname, queue, x->umem, &x->rx, &x->tx, &cfg);
	}
	if (!ret)
		return 0;
	return net_err(err, errlen, ret, "net afxdp:%s:queue=%u: XDP socket: %s%s", ifname, queue,
		       strerror(-ret),
		       ret == -EBUSY ? " (the queue has an XDP socket already)" :
		       ret == -EINVAL ? " (no such queue?)" :
		       ret == -EPERM ? " (needs CAP_NET_ADMIN, CAP_BPF or root)" : "");
}

static void frames_setup(struct afxdp_port *x)
{
	uint32_t idx = 0;

	xsk_ring_prod__reserve(&x->fill, AFXDP_RX_FRAMES, &idx);
	for (unsigned i = 0; i < AFXDP_RX_FRAMES; i++)
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) = (uint64_t)i * AFXDP_FRAME;
	xsk_ring_prod__submit(&x->fill, AFXDP_RX_FRAMES);
	for (unsigned i = AFXDP_RX_FRAMES; i < AFXDP_FRAMES; i++)
		x->free_tx[x->nfree_tx++] = (uint64_t)i * AFXDP_FRAME;
}

static uint16_t if_mtu(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint16_t mtu = NET_DEFAULT_MTU;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (s >= 0 && !ioctl(s, SIOCGIFMTU, &ifr) && ifr.ifr_mtu > 0)
		mtu = ifr.ifr_mtu > AFXDP_FRAME - NET_ETH_HLEN ? AFXDP_FRAME - NET_ETH_HLEN : (uint16_t)ifr.ifr_mtu;
	if (s >= 0)
		close(s);
	return mtu;
}

int net_afxdp_open(const char *arg, struct net_port **out, char *err, size_t errlen)
{
	char ifname[IFNAMSIZ], name[64];
	struct afxdp_port *x;
	unsigned queue = 0;
	int ret;

	ret = parse(arg, ifname, &queue, err, errlen);
	if (ret)
		return ret;
	if (!if_nametoindex(ifname))
		return net_err(err, errlen, -ENODEV, "net afxdp:%s: no such interface", ifname);
	libxdp_set_print(xdp_print);
	libbpf_set_print(bpf_print);
	x = calloc(1, sizeof(*x));
	if (x)
		x->scratch = malloc(NET_MAX_FRAME);
	if (!x || !x->scratch) {
		ret = net_err(err, errlen, -ENOMEM, "net afxdp:%s: out of memory", ifname);
		goto fail;
	}
	ret = umem_setup(x, err, errlen, ifname);
	if (!ret)
		ret = socket_setup(x, ifname, queue, err, errlen);
	if (ret)
		goto fail;
	x->ifindex = (int)if_nametoindex(ifname);
	if_ref(x->ifindex);
	frames_setup(x);
	snprintf(name, sizeof(name), "afxdp:%s:%u", ifname, queue);
	net_port_init(&x->port, &afxdp_ops, name);
	x->port.rx_fd = xsk_socket__fd(x->xsk);
	x->port.tx_fd = x->port.rx_fd;
	x->port.mtu = if_mtu(ifname);
	*out = &x->port;
	return 0;
fail:
	if (x) {
		if (x->xsk)
			xsk_socket__delete(x->xsk);
		if (x->umem)
			xsk_umem__delete(x->umem);
		if (x->area)
			munmap(x->area, (size_t)AFXDP_FRAMES * AFXDP_FRAME);
		free(x->scratch);
	}
	free(x);
	return ret;
}
