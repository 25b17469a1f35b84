// SPDX-License-Identifier: MIT
/*
 * IRQ table. The server raises an interrupt by writing the client's eventfd
 * directly (QEMU wires it to KVM's irqfd or polls it); nothing else is
 * between a device and the guest.
 */
#include "irq.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/hook.h"
#include "core/trace.h"
#include "core/counter.h"

int vfu_irqs_init(struct vfu_irqs *irqs, const uint32_t counts[VFU_PCI_NUM_IRQS],
		  const uint32_t flags[VFU_PCI_NUM_IRQS])
{
	memset(irqs, 0, sizeof(*irqs));
	irqs->intx_resample_fd = -1;
	for (unsigned i = 0; i < VFU_PCI_NUM_IRQS; i++) {
		struct vfu_irq_index *x = &irqs->idx[i];

		x->flags = flags[i];
		if (!counts[i])
			continue;
		x->vec = calloc(counts[i], sizeof(*x->vec));
		if (!x->vec) {
			vfu_irqs_fini(irqs);
			return -ENOMEM;
		}
		/* count only once vec exists: fini walks count entries */
		x->count = counts[i];
		for (uint32_t v = 0; v < x->count; v++)
			x->vec[v].fd = -1;
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void index_disable(struct vfu_irqs *irqs, unsigned index)
{
	struct vfu_irq_index *x = &irqs->idx[index];

	for (uint32_t v = 0; v < x->count; v++) {
		close_fd(&x->vec[v].fd);
		x->vec[v].masked = false;
		x->vec[v].pending = false;
	}
	x->enabled = false;
	if (index == VFU_PCI_INTX && irqs->intx_resample_fd >= 0) {
		close_fd(&irqs->intx_resample_fd);
		irqs->resample_gen++;
	}
}

void vfu_irqs_reset(struct vfu_irqs *irqs)
{
	for (unsigned i = 0; i < VFU_PCI_NUM_IRQS; i++)
		index_disable(irqs, i);
	irqs->intx_level = false;
}

void vfu_irqs_fini(struct vfu_irqs *irqs)
{
	vfu_irqs_reset(irqs);
	for (unsigned i = 0; i < VFU_PCI_NUM_IRQS; i++) {
		free(irqs->idx[i].vec);
		irqs->idx[i].vec = NULL;
		irqs->idx[i].count = 0;
	}
}

/* True if the eventfd was written, false if its counter was full. */
static bool signal_fd(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	uint64_t one = 1;

	/*
	 * The fd is an eventfd (validate.c) made non-blocking when it arrived,
	 * but the client shares the file and could make it blocking again:
	 * only write when the counter has room, so a write can never block the
	 * device thread. A full counter still means "pending": nothing is lost.
	 */
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
		return false;
	return write(fd, &one, sizeof(one)) == sizeof(one);
}

static void make_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Deliver or latch vector @v. */
static void fire(struct vfu_irqs *irqs, unsigned index, unsigned v)
{
	struct vfu_irq_vector *vec = &irqs->idx[index].vec[v];
	struct trace *t = hook_load(irqs->trace);
	uint32_t outcome;

	if (vec->masked || vec->fd < 0) {
		vec->pending = true;
		if (hook_on(t))
			trace_irq(t, index, v, vec->masked ? TRACE_IRQ_MASKED : TRACE_IRQ_NO_FD);
		return;
	}
	vec->pending = false;
	outcome = signal_fd(vec->fd) ? TRACE_IRQ_DELIVERED : TRACE_IRQ_COALESCED;
	if (irqs->signalled)
		counter_add_shared(&irqs->signalled[index], 1);
	/* INTx is level triggered and automasked until the guest's EOI. */
	if (index == VFU_PCI_INTX)
		vec->masked = true;
	if (hook_on(t))
		trace_irq(t, index, v, outcome);
}

static void unmask(struct vfu_irqs *irqs, unsigned index, unsigned v)
{
	struct vfu_irq_vector *vec = &irqs->idx[index].vec[v];

	vec->masked = false;
	if (index == VFU_PCI_INTX) {
		/* Resample: a line still asserted fires again. */
		if (irqs->intx_level)
			fire(irqs, index, v);
		else
			vec->pending = false;
		return;
	}
	if (vec->pending)
		fire(irqs, index, v);
}

static void update_enabled(struct vfu_irq_index *x)
{
	x->enabled = false;
	for (uint32_t v = 0; v < x->count; v++)
		if (x->vec[v].fd >= 0)
			x->enabled = true;
}

static int set_eventfds(struct vfu_irqs *irqs, const struct vfu_irq_set *set, const int *fds,
			unsigned nfds)
{
	struct vfu_irq_index *x = &irqs->idx[set->index];

	if (set->flags & VFU_IRQ_SET_ACTION_UNMASK) {
		/* INTx resample eventfd (validated: INTx, count 1). */
		close_fd(&irqs->intx_resample_fd);
		if (nfds) {
			irqs->intx_resample_fd = fds[0];
			make_nonblocking(fds[0]);
		}
		irqs->resample_gen++;
		return 0;
	}
	for (uint32_t i = 0; i < set->count; i++) {
		struct vfu_irq_vector *vec = &x->vec[set->start + i];

		close_fd(&vec->fd);
		/* Vectors past the fds sent are unassigned (QEMU sends none to unassign). */
		vec->fd = i < nfds ? fds[i] : -1;
		if (vec->fd >= 0)
			make_nonblocking(vec->fd);
		if (vec->fd >= 0 && vec->pending && !vec->masked)
			fire(irqs, set->index, set->start + i);
	}
	update_enabled(x);
	return 0;
}

int vfu_irqs_set(struct vfu_irqs *irqs, const struct vfu_irq_set *set, const void *data,
		 size_t data_len, const int *fds, unsigned nfds)
{
	uint32_t action = set->flags & VFU_IRQ_SET_ACTION_MASK_ALL;
	uint32_t type = set->flags & VFU_IRQ_SET_DATA_MASK;
	const uint8_t *bools = data;

	if (set->index >= VFU_PCI_NUM_IRQS)
		return -EINVAL;
	if (!set->count) {
		index_disable(irqs, set->index);
		return 0;
	}
	if ((uint64_t)set->start + set->count > irqs->idx[set->index].count)
		return -EINVAL;
	if (type == VFU_IRQ_SET_DATA_EVENTFD)
		return set_eventfds(irqs, set, fds, nfds);
	if (type == VFU_IRQ_SET_DATA_BOOL && data_len < set->count)
		return -EINVAL;

	for (uint32_t i = 0; i < set->count; i++) {
		unsigned v = set->start + i;

		if (type == VFU_IRQ_SET_DATA_BOOL && !bools[i])
			continue;
		if (action == VFU_IRQ_SET_ACTION_MASK)
			irqs->idx[set->index].vec[v].masked = true;
		else if (action == VFU_IRQ_SET_ACTION_UNMASK)
			unmask(irqs, set->index, v);
		else
			fire(irqs, set->index, v);
	}
	return 0;
}

int vfu_irq_raise(struct vfu_irqs *irqs, unsigned index, unsigned vec)
{
	if (index >= VFU_PCI_NUM_IRQS || vec >= irqs->idx[index].count)
		return -EINVAL;
	fire(irqs, index, vec);
	return 0;
}

void vfu_irq_set_intx(struct vfu_irqs *irqs, bool level)
{
	bool rising = level && !irqs->intx_level;
	struct trace *t = hook_load(irqs->trace);

	if (hook_on(t) && level != irqs->intx_level)
		trace_intx(t, level);
	irqs->intx_level = level;
	if (!irqs->idx[VFU_PCI_INTX].count)
		return;
	if (rising)
		fire(irqs, VFU_PCI_INTX, 0);
	else if (!level)
		irqs->idx[VFU_PCI_INTX].vec[0].pending = false;
}

int vfu_irq_intx_resample(struct vfu_irqs *irqs)
{
	uint64_t v;
	struct iovec iov = { .iov_base = &v, .iov_len = sizeof(v) };
	ssize_t n;

	if (irqs->intx_resample_fd < 0)
		return 0;
	/* RWF_NOWAIT: the client shares the file and may have made it blocking. */
	n = preadv2(irqs->intx_resample_fd, &iov, 1, -1, RWF_NOWAIT);
	if (n < 0 && errno == EOPNOTSUPP) {
		/* Kernels without RWF_NOWAIT here: read only what poll says is there. */
		struct pollfd p = { .fd = irqs->intx_resample_fd, .events = POLLIN };

		if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
			return -EAGAIN;
		n = read(irqs->intx_resample_fd, &v, sizeof(v));
	}
	if (n < 0)
		return -errno;
	if (n != sizeof(v))
		return -EIO;
	if (irqs->idx[VFU_PCI_INTX].count)
		unmask(irqs, VFU_PCI_INTX, 0);
	return 0;
}

bool vfu_irq_enabled(const struct vfu_irqs *irqs, unsigned index)
{
	return index < VFU_PCI_NUM_IRQS && irqs->idx[index].enabled;
}

bool vfu_irq_pending(const struct vfu_irqs *irqs, unsigned index, unsigned vec)
{
	if (index >= VFU_PCI_NUM_IRQS || vec >= irqs->idx[index].count)
		return false;
	return irqs->idx[index].vec[vec].pending;
}
