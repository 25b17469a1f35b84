// SPDX-License-Identifier: MIT
/*
 * virtio-net datapath: one pollthread per device, started at DRIVER_OK and
 * joined at reset. It polls the rings with guest kicks suppressed; before
 * it sleeps it turns kicks on (and port fds the queues wait for), looks
 * once more, and turns them off again when it wakes. A park drops every
 * pointer into guest memory; the rings are mapped again after it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "core/counter.h"
#include "core/eventfd.h"
#include "core/log.h"
#include "devices/virtio-net/vnet.h"

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
	counter_add_shared(&v->stats->needs_reset, 1);
	if (q < VNET_MAX_QUEUES)
		pr_warn_rl("%s: queue %u: %s: device needs reset", v->name, q,
			   v->dp.vq[q].why ? v->dp.vq[q].why : "broken");
	else
		pr_warn_rl("%s: cannot start the datapath: device needs reset", v->name);
	vnet_raise(v, v->config_vector, VIRTIO_ISR_CONFIG);
}

struct vnet_queue_stats *vnet_qstats(struct vnet *v, unsigned q)
{
	/* The control queue follows the pairs in use (5.1.2). */
	if (q == 2 * v->dp.pairs)
		return &v->stats->ctrl;
	return q & 1 ? &v->stats->tx[q / 2] : &v->stats->rx[q / 2];
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

static void ep_update(struct vnet *v, unsigned pair)
{
	struct vnet_dp *dp = &v->dp;
	struct net_port *p = v->port[pair];

	pollthread_port_events(&dp->pt, p->rx_fd, p->tx_fd, pair, dp->ep[pair],
			       pair < dp->active_pairs && !dp->rx_starved[pair], dp->tx_blocked[pair]);
}

/* ---- the thread's hooks ---- */

static unsigned dp_poll(void *opaque)
{
	struct vnet *v = opaque;
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

static void dp_park(void *opaque)
{
	struct vnet *v = opaque;

	vnet_rx_release(v);
	unmap_queues(v);
}

static void dp_unpark(void *opaque)
{
	struct vnet *v = opaque;

	map_queues(v);
	kicks(v, false);
}

static bool dp_sleep_prepare(void *opaque, int *timeout)
{
	struct vnet *v = opaque;
	struct vnet_dp *dp = &v->dp;

	if (kicks(v, true))
		return false;
	for (unsigned p = 0; p < dp->pairs; p++) {
		ep_update(v, p);
		/* A port without rx_fd can only be polled: nap instead of sleeping. */
		if (v->port[p]->rx_fd < 0 && p < dp->active_pairs && !dp->rx_starved[p])
			*timeout = 1;
		/*
		 * A full port says so by its fd, but not every port wakes it when
		 * room comes back (an AF_XDP socket in copy mode sends only when
		 * asked): nap while one is full.
		 */
		if (dp->tx_blocked[p])
			*timeout = 1;
	}
	return true;
}

static void dp_sleep_done(void *opaque)
{
	kicks(opaque, false);
}

static const struct pollthread_ops vnet_pollthread_ops = {
	.poll = dp_poll,
	.park = dp_park,
	.unpark = dp_unpark,
	.sleep_prepare = dp_sleep_prepare,
	.sleep_done = dp_sleep_done,
};

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
	vnet_rx_filter_reset(&dp->filter);
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
	ret = pollthread_start(&dp->pt);
	if (ret)
		return ret;
	pr_debug("%s: datapath started, features %#llx, %u pair(s)", v->name,
		 (unsigned long long)dp->features, dp->pairs);
	return 0;
}

void vnet_dp_stop(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;

	if (!dp->pt.running)
		return;
	pollthread_stop(&dp->pt);
	for (unsigned i = 0; i < VNET_MAX_QUEUES; i++)
		vq_reset(&dp->vq[i]);
}

void vnet_dp_quiesce(struct vnet *v)
{
	pollthread_park(&v->dp.pt);
}

void vnet_dp_resume(struct vnet *v)
{
	pollthread_unpark(&v->dp.pt);
}

void vnet_dp_kick(struct vnet *v)
{
	pollthread_wake(&v->dp.pt);
}

int vnet_dp_init(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;
	int ret;

	ret = pollthread_init(&dp->pt, &vnet_pollthread_ops, v, v->name);
	if (ret)
		return ret;
	dp->stash = calloc(v->pairs, sizeof(*dp->stash));
	/* One more in front: TX puts the copied header there (vnet_tx). */
	dp->tx_iov = calloc(VNET_TX_MAX_IOV + 1, sizeof(*dp->tx_iov));
	if (!dp->stash || !dp->tx_iov)
		return -ENOMEM;
	for (unsigned p = 0; p < v->pairs && !ret; p++)
		ret = pollthread_add_port(&dp->pt, v->port[p]->rx_fd, v->port[p]->tx_fd, p);
	return ret;
}

void vnet_dp_fini(struct vnet *v)
{
	struct vnet_dp *dp = &v->dp;

	vnet_dp_stop(v);
	pollthread_fini(&dp->pt);
	free(dp->stash);
	free(dp->tx_iov);
}
