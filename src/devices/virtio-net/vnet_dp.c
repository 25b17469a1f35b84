// SPDX-License-Identifier: MIT
/*
 * virtio-net datapath thread: one per device, started at DRIVER_OK and
 * joined at reset. It polls the rings with guest kicks suppressed; after
 * poll_ns without work it turns kicks on, looks once more, and sleeps in
 * epoll on the kick eventfd, the ports and the control eventfd.
 *
 * Quiesce protocol (the server brackets every DMA/IRQ table change with
 * it): the server sets park_req and writes ctl_fd; the poller, between two
 * polls, drops every pointer into guest memory, says parked and waits on
 * the condvar until park_req is cleared or stop is set, then maps the rings
 * again. The mutex and condvar are used only there, never on the hot path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/eventfd.h"
#include "core/log.h"
#include "devices/virtio-net/vnet.h"

static bool flag(const bool *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void set_flag(bool *p, bool v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

void vnet_raise(struct vnet *v, uint16_t vector, uint8_t isr)
{
	__atomic_fetch_or(&v->isr, isr, __ATOMIC_RELEASE);
	if (vector != VIRTIO_MSI_NO_VECTOR)
		vfu_irq_raise(&v->fn.vfu.irq, VFU_PCI_MSIX, vector);
}

void vnet_needs_reset(struct vnet *v, unsigned q)
{
	uint8_t old = __atomic_fetch_or(&v->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_ACQ_REL);

	if (old & VIRTIO_STATUS_NEEDS_RESET)
		return;
	vfu_device_event(&v->fn.vfu, TRACE_EV_VIRTIO_STATUS, old | VIRTIO_STATUS_NEEDS_RESET, old,
			 NULL, 0);
	v->dp.breaks++;
	if (q < VNET_MAX_QUEUES)
		pr_warn_rl("%s: queue %u: %s: device needs reset", v->name, q,
			   v->dp.vq[q].why ? v->dp.vq[q].why : "broken");
	else
		pr_warn_rl("%s: cannot start the datapath: device needs reset", v->name);
	vnet_raise(v, v->config_vector, VIRTIO_ISR_CONFIG);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- rings and kicks ---- */

static void map_queues(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;

	for (unsigned i = 0; i < dp->nqueues; i++) {
		struct virtqueue *vq = &dp->vq[i];

		/* -EFAULT: not mapped right now; the next resume tries again. */
		if (vq->size && !vq->broken && vq_map(vq) == -EINVAL)
			vnet_needs_reset(v, i);
	}
}

static void unmap_queues(struct vnet *v)
{
	for (unsigned i = 0; i < v->dp.nqueues; i++)
		vq_unmap(&v->dp.vq[i]);
}

static bool is_rx(struct vnet *v, unsigned q)
{
	return q < 2 * v->dp.pairs && !(q & 1);
}

/* A TX queue whose port is full waits for the port (tx_fd), not for kicks. */
static bool is_blocked_tx(struct vnet *v, unsigned q)
{
	return q < 2 * v->dp.pairs && (q & 1) && v->dp.tx_blocked[q / 2];
}

/*
 * Kicks on or off for the queues that need them to make progress: TX and
 * control, RX only when it waits for buffers. True if work arrived.
 */
static bool kicks(struct vnet *v, bool on)
{
	struct vnet_dp *dp = &v->dp;
	bool work = false;

	for (unsigned i = 0; i < dp->nqueues; i++) {
		if (on && ((is_rx(v, i) && !dp->rx_starved[i / 2]) || is_blocked_tx(v, i)))
			continue;
		if (vq_set_notify(&dp->vq[i], on))
			work = true;
	}
	dp->kicks_on = on;
	return work;
}

/* ---- epoll interest ---- */

static void ep_set(struct vnet_dp *dp, int fd, uint32_t *cur, uint32_t want, unsigned pair)
{
	struct epoll_event ev = { .events = want, .data.u32 = pair };

	if (fd < 0 || *cur == want)
		return;
	if (!epoll_ctl(dp->epfd, EPOLL_CTL_MOD, fd, &ev))
		*cur = want;
}

static void ep_update(struct vnet *v, unsigned pair)
{
	struct vnet_dp *dp = &v->dp;
	struct net_port *p = v->port[pair];
	uint32_t in = pair < dp->active_pairs && !dp->rx_starved[pair] ? EPOLLIN : 0;
	uint32_t out = dp->tx_blocked[pair] ? EPOLLOUT : 0;

	if (p->rx_fd == p->tx_fd) {
		ep_set(dp, p->rx_fd, &dp->ep_rx[pair], in | out, pair);
		return;
	}
	ep_set(dp, p->rx_fd, &dp->ep_rx[pair], in, pair);
	ep_set(dp, p->tx_fd, &dp->ep_tx[pair], out, pair);
}

static int ep_add(struct vnet_dp *dp, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = 0, .data.u32 = tag };

	if (fd < 0)
		return 0;
	return epoll_ctl(dp->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* ---- the thread ---- */

static unsigned poll_once(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;
	unsigned work = 0;

	for (unsigned p = 0; p < dp->pairs; p++)
		work += vnet_tx(v, p);
	for (unsigned p = 0; p < dp->active_pairs; p++)
		work += vnet_rx(v, p);
	if (vnet_has(dp->features, VNET_F_CTRL_VQ))
		work += vnet_ctrl(v);
	return work;
}

static void park(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;

	vnet_rx_release(v);
	unmap_queues(v);
	pthread_mutex_lock(&dp->lock);
	dp->parked = true;
	pthread_cond_broadcast(&dp->cond);
	while (flag(&dp->park_req) && !flag(&dp->stop))
		pthread_cond_wait(&dp->cond, &dp->lock);
	dp->parked = false;
	pthread_mutex_unlock(&dp->lock);
	if (flag(&dp->stop))
		return;
	map_queues(v);
	kicks(v, false);
}

static void sleep_once(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;
	struct epoll_event evs[8];
	int timeout = -1;

	if (kicks(v, true)) {
		kicks(v, false);
		return;
	}
	for (unsigned p = 0; p < dp->pairs; p++) {
		ep_update(v, p);
		/* A port without rx_fd can only be polled: nap instead of sleeping. */
		if (v->port[p]->rx_fd < 0 && p < dp->active_pairs && !dp->rx_starved[p])
			timeout = 1;
	}
	if (epoll_wait(dp->epfd, evs, 8, timeout) < 0 && errno != EINTR)
		pr_warn_rl("%s: epoll_wait: %s", v->name, strerror(errno));
	efd_drain(dp->kick_fd);
	efd_drain(dp->ctl_fd);
	kicks(v, false);
}

static void *poller(void *arg)
{
	struct vnet *v = arg;
	struct vnet_dp *dp = &v->dp;
	uint64_t idle_since = 0;

	map_queues(v);
	kicks(v, false);
	while (!flag(&dp->stop)) {
		if (flag(&dp->park_req)) {
			park(v);
			idle_since = 0;
			continue;
		}
		if (poll_once(v)) {
			idle_since = 0;
			continue;
		}
		if (!idle_since) {
			idle_since = now_ns();
			continue;
		}
		if (now_ns() - idle_since < dp->poll_ns)
			continue;
		sleep_once(v);
		idle_since = 0;
	}
	vnet_rx_release(v);
	return NULL;
}

/* ---- control path ---- */

static unsigned port_offloads(uint64_t f)
{
	unsigned o = 0;

	if (vnet_has(f, VNET_F_GUEST_CSUM))
		o |= NET_OFFLOAD_CSUM;
	if (vnet_has(f, VNET_F_GUEST_TSO4))
		o |= NET_OFFLOAD_TSO4;
	if (vnet_has(f, VNET_F_GUEST_TSO6))
		o |= NET_OFFLOAD_TSO6;
	return o;
}

static void snapshot(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;
	uint64_t f = v->guest_features;
	bool ctrl = vnet_has(f, VNET_F_CTRL_VQ);

	dp->features = f;
	dp->pairs = vnet_has(f, VNET_F_MQ) ? v->pairs : 1;
	dp->active_pairs = 1;
	/* The control queue follows the pairs the driver uses (5.1.2). */
	dp->nqueues = 2 * dp->pairs + ctrl;
	memcpy(dp->mac, v->mac, sizeof(dp->mac));
	dp->rx_need = VNET_HDR_LEN + v->mtu + 18; /* Ethernet header, one VLAN tag */
	if (vnet_has(f, VNET_F_GUEST_TSO4) || vnet_has(f, VNET_F_GUEST_TSO6))
		dp->rx_need = NET_MAX_FRAME;
	for (unsigned i = 0; i < VNET_MAX_QUEUES; i++) {
		struct virtqueue *vq = &dp->vq[i];
		const struct vnet_queue_cfg *q = &v->q[i];
		bool use = i < dp->nqueues && q->enabled;

		vq_reset(vq);
		vq->size = use ? q->size : 0;
		vq->desc_addr = q->desc;
		vq->avail_addr = q->avail;
		vq->used_addr = q->used;
		vq->event_idx = f & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
		vq->indirect = f & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
		vq->dma = &v->fn.vfu.dma;
		dp->vector[i] = q->vector;
	}
	memset(dp->rx_starved, 0, sizeof(dp->rx_starved));
	memset(dp->tx_blocked, 0, sizeof(dp->tx_blocked));
	for (unsigned p = 0; p < v->pairs; p++)
		dp->stash[p].n = dp->stash[p].iovcnt = 0, dp->stash[p].cap = 0;
}

int vnet_dp_start(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;
	int ret;

	snapshot(v);
	for (unsigned p = 0; p < dp->pairs; p++) {
		ret = net_port_set_offloads(v->port[p], port_offloads(dp->features));
		if (ret && ret != -EOPNOTSUPP)
			pr_warn("%s: port %s refused offloads: %s", v->name, v->port[p]->name,
				strerror(-ret));
	}
	set_flag(&dp->stop, false);
	dp->parked = false;
	ret = pthread_create(&dp->thread, NULL, poller, v);
	if (ret) {
		pr_err("%s: cannot start the datapath thread: %s", v->name, strerror(ret));
		return -ret;
	}
	dp->running = true;
	pr_debug("%s: datapath started, features %#llx, %u pair(s)", v->name,
		 (unsigned long long)dp->features, dp->pairs);
	return 0;
}

void vnet_dp_stop(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;

	if (!dp->running)
		return;
	pthread_mutex_lock(&dp->lock);
	set_flag(&dp->stop, true);
	pthread_cond_broadcast(&dp->cond);
	pthread_mutex_unlock(&dp->lock);
	efd_signal(dp->ctl_fd);
	pthread_join(dp->thread, NULL);
	dp->running = false;
	for (unsigned i = 0; i < VNET_MAX_QUEUES; i++)
		vq_reset(&dp->vq[i]);
}

void vnet_dp_quiesce(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;

	pthread_mutex_lock(&dp->lock);
	set_flag(&dp->park_req, true);
	if (dp->running) {
		efd_signal(dp->ctl_fd);
		while (!dp->parked)
			pthread_cond_wait(&dp->cond, &dp->lock);
	}
	pthread_mutex_unlock(&dp->lock);
}

void vnet_dp_resume(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;

	pthread_mutex_lock(&dp->lock);
	set_flag(&dp->park_req, false);
	pthread_cond_broadcast(&dp->cond);
	pthread_mutex_unlock(&dp->lock);
}

void vnet_dp_kick(struct vnet *v)
{
	efd_signal(v->dp.kick_fd);
}

int vnet_dp_init(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;
	int ret = 0;

	pthread_mutex_init(&dp->lock, NULL);
	pthread_cond_init(&dp->cond, NULL);
	dp->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	dp->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	dp->epfd = epoll_create1(EPOLL_CLOEXEC);
	dp->stash = calloc(v->pairs, sizeof(*dp->stash));
	dp->tx_iov = calloc(VNET_TX_MAX_IOV, sizeof(*dp->tx_iov));
	if (dp->kick_fd < 0 || dp->ctl_fd < 0 || dp->epfd < 0)
		return -errno;
	if (!dp->stash || !dp->tx_iov)
		return -ENOMEM;
	ret = ep_add(dp, dp->kick_fd, UINT32_MAX);
	if (!ret)
		ret = ep_add(dp, dp->ctl_fd, UINT32_MAX);
	if (!ret)
		ret = epoll_ctl(dp->epfd, EPOLL_CTL_MOD, dp->kick_fd,
				&(struct epoll_event){ .events = EPOLLIN }) ? -errno : 0;
	if (!ret)
		ret = epoll_ctl(dp->epfd, EPOLL_CTL_MOD, dp->ctl_fd,
				&(struct epoll_event){ .events = EPOLLIN }) ? -errno : 0;
	for (unsigned p = 0; p < v->pairs && !ret; p++) {
		struct net_port *port = v->port[p];

		ret = ep_add(dp, port->rx_fd, p);
		if (!ret && port->tx_fd != port->rx_fd)
			ret = ep_add(dp, port->tx_fd, p);
	}
	return ret;
}

void vnet_dp_fini(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;

	vnet_dp_stop(v);
	if (dp->epfd >= 0)
		close(dp->epfd);
	if (dp->kick_fd >= 0)
		close(dp->kick_fd);
	if (dp->ctl_fd >= 0)
		close(dp->ctl_fd);
	free(dp->stash);
	free(dp->tx_iov);
	pthread_cond_destroy(&dp->cond);
	pthread_mutex_destroy(&dp->lock);
}
