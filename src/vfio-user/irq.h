/* SPDX-License-Identifier: MIT */
/*
 * The IRQ table: per interrupt index (INTx, MSI, MSI-X, ERR, REQ) the
 * eventfds a client assigned with SET_IRQS, and the mask and pending bits.
 */
#ifndef IOMED_VFIO_USER_IRQ_H
#define IOMED_VFIO_USER_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

struct trace;

struct vfu_irq_vector {
	int fd;       /* trigger eventfd, -1 unassigned */
	bool masked;
	bool pending; /* raised while masked or unassigned */
};

struct vfu_irq_index {
	uint32_t count;  /* vectors the device offers */
	uint32_t flags;  /* VFU_IRQ_INFO_* */
	struct vfu_irq_vector *vec;
	bool enabled;    /* at least one trigger assigned */
};

struct vfu_irqs {
	struct vfu_irq_index idx[VFU_PCI_NUM_IRQS];
	int intx_resample_fd; /* unmask eventfd for INTx, -1 none */
	bool intx_level;      /* the device's INTx line is asserted */
	uint32_t resample_gen; /* bumped whenever intx_resample_fd changes */
	struct trace *trace;   /* interrupts are traced here; NULL: off (core/hook.h) */
	/* Optional: interrupts signalled, per index (any thread; atomic adds). */
	uint64_t *signalled;
};

/* @counts and @flags per index. Returns 0 or -ENOMEM. */
int vfu_irqs_init(struct vfu_irqs *irqs, const uint32_t counts[VFU_PCI_NUM_IRQS],
		  const uint32_t flags[VFU_PCI_NUM_IRQS]);
void vfu_irqs_fini(struct vfu_irqs *irqs);
/* Close every eventfd and clear state (client gone, device reset). */
void vfu_irqs_reset(struct vfu_irqs *irqs);

/*
 * Apply a validated SET_IRQS: @set's fields were range-checked, @fds holds
 * @nfds eventfds (DATA_EVENTFD only) whose ownership passes to the table on
 * success and stays with the caller on error. Returns 0 or -errno.
 */
int vfu_irqs_set(struct vfu_irqs *irqs, const struct vfu_irq_set *set, const void *data,
		 size_t data_len, const int *fds, unsigned nfds);

/*
 * Raise vector @vec of @index: write the eventfd, or remember it as pending
 * while masked or unassigned. INTx is automasked: raising it masks it until
 * an UNMASK. Returns 0, -EINVAL for a bad index/vector.
 */
int vfu_irq_raise(struct vfu_irqs *irqs, unsigned index, unsigned vec);
/*
 * Drive the INTx line: asserting triggers the eventfd unless masked (and
 * masks, INTx is automasked); an UNMASK with the line still asserted
 * triggers again, which is how a level interrupt is resampled.
 */
void vfu_irq_set_intx(struct vfu_irqs *irqs, bool level);
/*
 * The INTx resample eventfd fired: consume it and unmask. 0, or -errno
 * when it could not be read (-EAGAIN: nothing there after all).
 */
int vfu_irq_intx_resample(struct vfu_irqs *irqs);
bool vfu_irq_enabled(const struct vfu_irqs *irqs, unsigned index);
bool vfu_irq_pending(const struct vfu_irqs *irqs, unsigned index, unsigned vec);

#endif
