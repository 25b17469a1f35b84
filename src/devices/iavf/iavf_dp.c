// SPDX-License-Identifier: MIT
/*
 * iavf datapath: the pollthread's hooks (poll every enabled Tx ring and
 * every port, then fire the queue vectors), interrupt moderation (ITR), and
 * the hostile-descriptor path.
 *
 * Queue vectors follow the hardware: a cause (a written-back descriptor)
 * fires the vector when the driver enabled it (DYN_CTLN.INTENA) and its
 * ITR interval has passed since the vector last fired; firing masks the
 * vector until the driver enables it again (which its NAPI poll does), and
 * a cause that comes while masked waits for that.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "core/log.h"
#include "devices/iavf/iavf.h"

#define ITR_UNIT_NS 2000ull /* ITR registers count 2 us */

/* ---- interrupts ---- */

void iavf_dp_cause(struct iavf *v, const struct iavf_ring *r, bool rx)
{
	struct iavf_vec *vec;

	if (!r->vec || r->vec >= v->nvec)
		return;
	vec = &v->dp.vec[r->vec];
	if (rx)
		vec->pending_rx = true;
	else
		vec->pending_tx = true;
}

/* The interval a vector waits after firing: the shortest ITR among its causes. */
static uint64_t itr_ns(struct iavf *v, unsigned n)
{
	struct iavf_vec *vec = &v->dp.vec[n];
	uint64_t best = UINT64_MAX;

	for (unsigned q = 0; q < v->pairs; q++) {
		const struct iavf_ring *rings[2] = { &v->dp.rx[q], &v->dp.tx[q] };
		bool pending[2] = { vec->pending_rx, vec->pending_tx };

		for (unsigned k = 0; k < 2; k++) {
			uint64_t ns;

			if (!pending[k] || rings[k]->vec != n || rings[k]->itr >= AVF_ITR_NONE)
				continue;
			ns = __atomic_load_n(&vec->itr[rings[k]->itr], __ATOMIC_ACQUIRE) * ITR_UNIT_NS;
			if (ns < best)
				best = ns;
		}
	}
	return best == UINT64_MAX ? 0 : best;
}

static void fire(struct iavf *v, unsigned n, uint64_t now)
{
	struct iavf_vec *vec = &v->dp.vec[n];

	vec->next_ns = now + itr_ns(v, n);
	vec->pending_rx = vec->pending_tx = false;
	__atomic_store_n(&vec->swint, false, __ATOMIC_RELEASE);
	vfu_irq_raise(&v->fn.vfu.irq, VFU_PCI_MSIX, n);
}

uint64_t iavf_irq_poll(struct iavf *v)
{
	uint64_t now = 0, next = UINT64_MAX;

	for (unsigned n = 1; n < v->nvec; n++) {
		struct iavf_vec *vec = &v->dp.vec[n];
		bool swint = __atomic_load_n(&vec->swint, __ATOMIC_ACQUIRE);
		bool on = true;

		if (!vec->pending_rx && !vec->pending_tx && !swint)
			continue;
		if (!__atomic_load_n(&vec->intena, __ATOMIC_ACQUIRE))
			continue; /* waits for the driver to enable it */
		if (!now)
			now = pollthread_now_ns();
		if (!swint && now < vec->next_ns) {
			next = vec->next_ns - now < next ? vec->next_ns - now : next;
			continue;
		}
		/* The driver may have disabled it meanwhile: only fire what we masked. */
		if (__atomic_compare_exchange_n(&vec->intena, &on, false, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			fire(v, n, now);
	}
	return next;
}

/* ---- hostile descriptors ---- */

void iavf_dp_mdd(struct iavf *v, const char *what, unsigned q)
{
	/* Stop every queue at once; the VF reset the control path does restarts them. */
	for (unsigned i = 0; i < v->pairs; i++)
		v->dp.tx[i].on = v->dp.rx[i].on = false;
	iavf_count(&v->dp.stats, IAVF_MDD_EVENTS, 1);
	pr_warn_rl("%s: queue %u: %s: the VF will be reset", v->name, q, what);
	__atomic_store_n(&v->mdd, true, __ATOMIC_RELEASE);
}

/* ---- the thread ---- */

static bool rx_on(const struct iavf *v)
{
	for (unsigned q = 0; q < v->pairs; q++)
		if (v->dp.rx[q].on)
			return true;
	return false;
}

static unsigned dp_poll(void *opaque)
{
	struct iavf *v = opaque;
	unsigned work = 0;

	for (unsigned q = 0; q < v->pairs; q++)
		if (v->dp.tx[q].on)
			work += iavf_tx(v, q);
	if (rx_on(v))
		for (unsigned p = 0; p < v->pairs; p++)
			work += iavf_rx(v, p);
	iavf_irq_poll(v);
	return work;
}

/*
 * Work a tail write announced before we said we sleep (its kick went
 * nowhere): packets to send, buffers for a frame that waits.
 */
static bool work_waiting(struct iavf *v)
{
	for (unsigned q = 0; q < v->pairs; q++) {
		struct iavf_ring *tx = &v->dp.tx[q];
		struct iavf_rx_slot *s = &v->dp.slot[q];

		if (tx->on && !v->dp.tx_blocked[q] &&
		    __atomic_load_n(&v->tx_tail[q], __ATOMIC_ACQUIRE) != tx->head)
			return true;
		if (s->len && __atomic_load_n(&v->rx_tail[s->queue], __ATOMIC_ACQUIRE) != s->held_tail)
			return true;
	}
	return false;
}

static void ep_update(struct iavf *v, unsigned p, bool rx)
{
	struct iavf_dp *dp = &v->dp;
	struct net_port *port = v->port[p];

	/* A held frame waits for Rx descriptors (a tail write), not for the port. */
	pollthread_port_events(&dp->pt, port->rx_fd, port->tx_fd, p, dp->ep[p],
			       rx && !dp->slot[p].len, dp->tx_blocked[p]);
}

static bool dp_sleep_prepare(void *opaque, int *timeout)
{
	struct iavf *v = opaque;
	bool rx = rx_on(v);
	uint64_t next;

	if (work_waiting(v))
		return false;
	next = iavf_irq_poll(v);
	/* epoll counts milliseconds: a vector due sooner is waited for by polling. */
	if (next < 1000000)
		return false;
	if (next != UINT64_MAX)
		*timeout = (int)(next / 1000000);
	for (unsigned p = 0; p < v->pairs; p++) {
		ep_update(v, p, rx);
		/* A port without an fd can only be polled: nap instead of sleeping. */
		if (rx && v->port[p]->rx_fd < 0)
			*timeout = 1;
		/* A full port does not always wake us when room comes back (vnet_dp.c). */
		if (v->dp.tx_blocked[p])
			*timeout = 1;
	}
	return true;
}

static const struct pollthread_ops iavf_pollthread_ops = {
	.poll = dp_poll,
	.sleep_prepare = dp_sleep_prepare,
};

/* ---- control path ---- */

static void set_port_offloads(struct iavf *v)
{
	int ret = 0;

	/* Checksums left to us are completed in software; TSO would need segmentation. */
	for (unsigned p = 0; p < v->pairs && !ret; p++)
		ret = net_port_set_offloads(v->port[p], NET_OFFLOAD_CSUM);
	v->dp.offload_csum = !ret;
	if (ret)
		for (unsigned p = 0; p < v->pairs; p++)
			net_port_set_offloads(v->port[p], 0);
}

int iavf_dp_start(struct iavf *v)
{
	struct iavf_dp *dp = &v->dp;

	if (dp->pt.running)
		return 0;
	set_port_offloads(v);
	memset(dp->tx_blocked, 0, sizeof(dp->tx_blocked));
	for (unsigned p = 0; p < v->pairs; p++)
		dp->slot[p].len = 0;
	return pollthread_start(&dp->pt);
}

void iavf_dp_stop(struct iavf *v)
{
	pollthread_stop(&v->dp.pt);
	for (unsigned p = 0; p < v->pairs; p++)
		v->dp.slot[p].len = 0;
}

void iavf_dp_park(struct iavf *v)
{
	pollthread_park(&v->dp.pt);
}

void iavf_dp_unpark(struct iavf *v)
{
	pollthread_unpark(&v->dp.pt);
}

void iavf_dp_kick(struct iavf *v)
{
	pollthread_kick(&v->dp.pt);
}

int iavf_dp_init(struct iavf *v)
{
	struct iavf_dp *dp = &v->dp;
	int ret = pollthread_init(&dp->pt, &iavf_pollthread_ops, v, v->name);

	if (ret)
		return ret;
	dp->tx_hdr = malloc(IAVF_TX_HDR_MAX);
	dp->tx_iov = calloc(IAVF_MAX_TX_DESC * 2 + 2, sizeof(*dp->tx_iov));
	if (!dp->tx_hdr || !dp->tx_iov)
		return -ENOMEM;
	for (unsigned p = 0; p < v->pairs; p++) {
		struct net_port *port = v->port[p];

		dp->slot[p].buf = malloc(NET_MAX_FRAME);
		if (!dp->slot[p].buf)
			return -ENOMEM;
		ret = pollthread_add_port(&dp->pt, port->rx_fd, port->tx_fd, p);
		if (ret)
			return ret;
	}
	return 0;
}

void iavf_dp_fini(struct iavf *v)
{
	struct iavf_dp *dp = &v->dp;

	pollthread_fini(&dp->pt);
	free(dp->tx_hdr);
	free(dp->tx_iov);
	for (unsigned p = 0; p < IAVF_MAX_QP; p++)
		free(dp->slot[p].buf);
}
