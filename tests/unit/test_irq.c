// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/vfio-user/irq.c: eventfd assignment through SET_IRQS,
 * masking and pending bits, INTx level/automask/resample semantics, and fd
 * ownership. Interrupts are observed by reading the eventfd counters.
 *
 * Linked with -Wl,--wrap=calloc so that an allocation failure inside
 * vfu_irqs_init can be injected.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vfio-user/irq.h"
#include "vfio-user/wire.h"

/* ---- calloc failure injection ---- */

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

static int calloc_fail_at = -1; /* fail the Nth call from now, -1 never */

void *__wrap_calloc(size_t n, size_t size)
{
	if (calloc_fail_at >= 0 && calloc_fail_at-- == 0)
		return NULL;
	return __real_calloc(n, size);
}

/* ---- fixture: the testdev's interrupt layout ---- */

#define MSI_N 4
#define MSIX_N 8

static const uint32_t counts[VFU_PCI_NUM_IRQS] = { 1, MSI_N, MSIX_N, 1, 1 };
static const uint32_t flags[VFU_PCI_NUM_IRQS] = {
	[VFU_PCI_INTX] = VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_MASKABLE | VFU_IRQ_INFO_AUTOMASKED,
	[VFU_PCI_MSI] = VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_MASKABLE,
	[VFU_PCI_MSIX] = VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_MASKABLE,
	[VFU_PCI_ERR] = VFU_IRQ_INFO_EVENTFD,
	[VFU_PCI_REQ] = VFU_IRQ_INFO_EVENTFD,
};

static int setup(void **state)
{
	struct vfu_irqs *irqs = malloc(sizeof(*irqs));

	if (!irqs || vfu_irqs_init(irqs, counts, flags))
		return -1;
	*state = irqs;
	return 0;
}

static int teardown(void **state)
{
	struct vfu_irqs *irqs = *state;

	vfu_irqs_fini(irqs);
	free(irqs);
	return 0;
}

/* ---- helpers ---- */

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* Read and reset an eventfd counter: how many times it was signalled. */
static uint64_t fired(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v)) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return v;
}

static bool fd_is_closed(int fd)
{
	errno = 0;
	return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static int do_set(struct vfu_irqs *irqs, uint32_t flg, uint32_t index, uint32_t start,
		  uint32_t count, const void *data, size_t data_len, const int *fds,
		  unsigned nfds)
{
	struct vfu_irq_set set = {
		.argsz = (uint32_t)(sizeof(set) + data_len), .flags = flg, .index = index,
		.start = start, .count = count,
	};

	return vfu_irqs_set(irqs, &set, data, data_len, fds, nfds);
}

#define EVT_TRIG (VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER)
#define EVT_UNMASK (VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_UNMASK)
#define NONE_TRIG (VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER)
#define NONE_MASK (VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_MASK)
#define NONE_UNMASK (VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_UNMASK)
#define BOOL_TRIG (VFU_IRQ_SET_DATA_BOOL | VFU_IRQ_SET_ACTION_TRIGGER)
#define BOOL_MASK (VFU_IRQ_SET_DATA_BOOL | VFU_IRQ_SET_ACTION_MASK)

/* Assign a fresh eventfd to every vector of @index; returns them in @fds. */
static void assign_all(struct vfu_irqs *irqs, unsigned index, int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		fds[i] = new_eventfd();
	assert_int_equal(do_set(irqs, EVT_TRIG, index, 0, n, NULL, 0, fds, n), 0);
}

/* Set up INTx: trigger eventfd, optionally the resample eventfd. */
static void intx_assign(struct vfu_irqs *irqs, int *trig, int *resample)
{
	*trig = new_eventfd();
	assert_int_equal(do_set(irqs, EVT_TRIG, VFU_PCI_INTX, 0, 1, NULL, 0, trig, 1), 0);
	if (resample) {
		*resample = new_eventfd();
		assert_int_equal(do_set(irqs, EVT_UNMASK, VFU_PCI_INTX, 0, 1, NULL, 0,
					resample, 1), 0);
	}
}

static void intx_unmask(struct vfu_irqs *irqs)
{
	assert_int_equal(do_set(irqs, NONE_UNMASK, VFU_PCI_INTX, 0, 1, NULL, 0, NULL, 0), 0);
}

/* ---- MSI-X assignment and raise ---- */

static void test_msix_raise_hits_right_eventfd(void **state)
{
	struct vfu_irqs *irqs = *state;
	int fds[MSIX_N];

	assert_false(vfu_irq_enabled(irqs, VFU_PCI_MSIX));
	assign_all(irqs, VFU_PCI_MSIX, fds, MSIX_N);
	assert_true(vfu_irq_enabled(irqs, VFU_PCI_MSIX));
	assert_false(vfu_irq_enabled(irqs, VFU_PCI_MSI));

	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 3), 0);
	for (unsigned i = 0; i < MSIX_N; i++)
		assert_int_equal(fired(fds[i]), i == 3 ? 1 : 0);
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 7), 0);
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 7), 0);
	assert_int_equal(fired(fds[7]), 2);
	assert_int_equal(fired(fds[6]), 0);
	assert_false(vfu_irq_pending(irqs, VFU_PCI_MSIX, 7));
}

static void test_msix_partial_assign(void **state)
{
	struct vfu_irqs *irqs = *state;
	int fds[2] = { new_eventfd(), new_eventfd() };

	/* Vectors 5 and 6 only. */
	assert_int_equal(do_set(irqs, EVT_TRIG, VFU_PCI_MSIX, 5, 2, NULL, 0, fds, 2), 0);
	assert_true(vfu_irq_enabled(irqs, VFU_PCI_MSIX));
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 6), 0);
	assert_int_equal(fired(fds[1]), 1);
	assert_int_equal(fired(fds[0]), 0);
	/* An unassigned vector latches. */
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 0), 0);
	assert_true(vfu_irq_pending(irqs, VFU_PCI_MSIX, 0));
	assert_int_equal(fired(fds[0]) + fired(fds[1]), 0);
	/* Assigning it delivers what was latched. */
	{
		int late = new_eventfd();

		assert_int_equal(do_set(irqs, EVT_TRIG, VFU_PCI_MSIX, 0, 1, NULL, 0, &late, 1),
				 0);
		assert_int_equal(fired(late), 1);
		assert_false(vfu_irq_pending(irqs, VFU_PCI_MSIX, 0));
	}
}

/* ---- mask / pending / unmask ---- */

static void test_mask_pending_unmask(void **state)
{
	struct vfu_irqs *irqs = *state;
	int fds[MSIX_N];

	assign_all(irqs, VFU_PCI_MSIX, fds, MSIX_N);
	assert_int_equal(do_set(irqs, NONE_MASK, VFU_PCI_MSIX, 3, 1, NULL, 0, NULL, 0), 0);

	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 3), 0);
	assert_int_equal(fired(fds[3]), 0);
	assert_true(vfu_irq_pending(irqs, VFU_PCI_MSIX, 3));
	/* Neighbours are not masked. */
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 4), 0);
	assert_int_equal(fired(fds[4]), 1);
	assert_false(vfu_irq_pending(irqs, VFU_PCI_MSIX, 4));

	/* UNMASK delivers the pending interrupt, once. */
	assert_int_equal(do_set(irqs, NONE_UNMASK, VFU_PCI_MSIX, 3, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(fds[3]), 1);
	assert_false(vfu_irq_pending(irqs, VFU_PCI_MSIX, 3));
	assert_int_equal(do_set(irqs, NONE_UNMASK, VFU_PCI_MSIX, 3, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(fds[3]), 0);
	/* Unmasked again: raise goes straight through. */
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 3), 0);
	assert_int_equal(fired(fds[3]), 1);

	/* UNMASK without anything pending fires nothing. */
	assert_int_equal(do_set(irqs, NONE_MASK, VFU_PCI_MSIX, 0, 2, NULL, 0, NULL, 0), 0);
	assert_int_equal(do_set(irqs, NONE_UNMASK, VFU_PCI_MSIX, 0, 2, NULL, 0, NULL, 0), 0);
	assert_int_equal(fired(fds[0]) + fired(fds[1]), 0);
}

static void test_bool_mask_selects_vectors(void **state)
{
	struct vfu_irqs *irqs = *state;
	int fds[MSIX_N];
	uint8_t sel[4] = { 1, 0, 0, 1 };

	assign_all(irqs, VFU_PCI_MSIX, fds, MSIX_N);
	/* Mask vectors 2 and 5 of 2..5. */
	assert_int_equal(do_set(irqs, BOOL_MASK, VFU_PCI_MSIX, 2, 4, sel, 4, NULL, 0), 0);
	for (unsigned v = 0; v < MSIX_N; v++)
		assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, v), 0);
	for (unsigned v = 0; v < MSIX_N; v++) {
		bool masked = v == 2 || v == 5;

		assert_int_equal(fired(fds[v]), masked ? 0 : 1);
		assert_int_equal(vfu_irq_pending(irqs, VFU_PCI_MSIX, v), masked);
	}
}

static void test_bool_trigger_fires_true_entries_only(void **state)
{
	struct vfu_irqs *irqs = *state;
	int fds[MSIX_N];
	uint8_t sel[4] = { 1, 0, 1, 0 };

	assign_all(irqs, VFU_PCI_MSIX, fds, MSIX_N);
	assert_int_equal(do_set(irqs, BOOL_TRIG, VFU_PCI_MSIX, 0, 4, sel, 4, NULL, 0), 0);
	for (unsigned v = 0; v < MSIX_N; v++)
		assert_int_equal(fired(fds[v]), (v == 0 || v == 2) ? 1 : 0);
	/* Offset by start. */
	assert_int_equal(do_set(irqs, BOOL_TRIG, VFU_PCI_MSIX, 4, 4, sel, 4, NULL, 0), 0);
	for (unsigned v = 0; v < MSIX_N; v++)
		assert_int_equal(fired(fds[v]), (v == 4 || v == 6) ? 1 : 0);
	/* DATA_NONE | TRIGGER fires the whole range. */
	assert_int_equal(do_set(irqs, NONE_TRIG, VFU_PCI_MSIX, 1, 2, NULL, 0, NULL, 0), 0);
	for (unsigned v = 0; v < MSIX_N; v++)
		assert_int_equal(fired(fds[v]), (v == 1 || v == 2) ? 1 : 0);
	/* Too little bool data is refused. */
	assert_int_equal(do_set(irqs, BOOL_TRIG, VFU_PCI_MSIX, 0, 4, sel, 3, NULL, 0), -EINVAL);
}

/* ---- disabling and unassigning ---- */

static void test_disable_index_closes_fds(void **state)
{
	struct vfu_irqs *irqs = *state;
	int fds[MSIX_N], msi[MSI_N];

	assign_all(irqs, VFU_PCI_MSIX, fds, MSIX_N);
	assign_all(irqs, VFU_PCI_MSI, msi, MSI_N);
	assert_int_equal(do_set(irqs, NONE_MASK, VFU_PCI_MSIX, 0, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 0), 0);
	assert_true(vfu_irq_pending(irqs, VFU_PCI_MSIX, 0));

	assert_int_equal(do_set(irqs, NONE_TRIG, VFU_PCI_MSIX, 0, 0, NULL, 0, NULL, 0), 0);
	for (unsigned v = 0; v < MSIX_N; v++)
		assert_true(fd_is_closed(fds[v]));
	assert_false(vfu_irq_enabled(irqs, VFU_PCI_MSIX));
	assert_false(vfu_irq_pending(irqs, VFU_PCI_MSIX, 0));
	/* Other indices untouched. */
	assert_true(vfu_irq_enabled(irqs, VFU_PCI_MSI));
	for (unsigned v = 0; v < MSI_N; v++)
		assert_true(fd_is_open(msi[v]));
	/* Raising a disabled vector is harmless. */
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 1), 0);

	/* Re-enabling starts unmasked. */
	assign_all(irqs, VFU_PCI_MSIX, fds, MSIX_N);
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 0), 0);
	assert_int_equal(fired(fds[0]), 1);
}

static void test_eventfd_without_fds_unassigns(void **state)
{
	struct vfu_irqs *irqs = *state;
	int fds[MSIX_N];

	assign_all(irqs, VFU_PCI_MSIX, fds, MSIX_N);
	/* Unassign vector 2 only. */
	assert_int_equal(do_set(irqs, EVT_TRIG, VFU_PCI_MSIX, 2, 1, NULL, 0, NULL, 0), 0);
	assert_true(fd_is_closed(fds[2]));
	assert_true(fd_is_open(fds[1]));
	assert_true(fd_is_open(fds[3]));
	assert_true(vfu_irq_enabled(irqs, VFU_PCI_MSIX));
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 3), 0);
	assert_int_equal(fired(fds[3]), 1);
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 2), 0);
	assert_true(vfu_irq_pending(irqs, VFU_PCI_MSIX, 2));

	/* Fewer fds than count: the first gets a new fd, the rest are unassigned. */
	{
		int nfd = new_eventfd();

		assert_int_equal(do_set(irqs, EVT_TRIG, VFU_PCI_MSIX, 4, 3, NULL, 0, &nfd, 1),
				 0);
		assert_true(fd_is_closed(fds[4]));
		assert_true(fd_is_closed(fds[5]));
		assert_true(fd_is_closed(fds[6]));
		assert_true(fd_is_open(fds[7]));
		assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 4), 0);
		assert_int_equal(fired(nfd), 1);
		fds[4] = nfd;
	}

	/* All of them: the index is no longer enabled. */
	assert_int_equal(do_set(irqs, EVT_TRIG, VFU_PCI_MSIX, 0, MSIX_N, NULL, 0, NULL, 0), 0);
	assert_true(fd_is_closed(fds[0]));
	assert_true(fd_is_closed(fds[4]));
	assert_true(fd_is_closed(fds[7]));
	assert_false(vfu_irq_enabled(irqs, VFU_PCI_MSIX));
}

static void test_reassign_closes_old_fd(void **state)
{
	struct vfu_irqs *irqs = *state;
	int old = new_eventfd(), nfd = new_eventfd();

	assert_int_equal(do_set(irqs, EVT_TRIG, VFU_PCI_ERR, 0, 1, NULL, 0, &old, 1), 0);
	assert_int_equal(do_set(irqs, EVT_TRIG, VFU_PCI_ERR, 0, 1, NULL, 0, &nfd, 1), 0);
	assert_true(fd_is_closed(old));
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_ERR, 0), 0);
	assert_int_equal(fired(nfd), 1);
}

/* ---- INTx ---- */

static void test_intx_level_automask(void **state)
{
	struct vfu_irqs *irqs = *state;
	int trig;

	intx_assign(irqs, &trig, NULL);

	/* Assert: fires once and masks itself. */
	vfu_irq_set_intx(irqs, true);
	assert_int_equal(fired(trig), 1);
	/* Still asserted, asserted again: nothing, not even a pending bit. */
	vfu_irq_set_intx(irqs, true);
	assert_int_equal(fired(trig), 0);
	assert_false(vfu_irq_pending(irqs, VFU_PCI_INTX, 0));
	/* Automasked: a raise does not get through either. */
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_INTX, 0), 0);
	assert_int_equal(fired(trig), 0);

	/* EOI with the line still asserted: resampled, fires again, masks again. */
	intx_unmask(irqs);
	assert_int_equal(fired(trig), 1);
	vfu_irq_set_intx(irqs, true);
	assert_int_equal(fired(trig), 0);

	/* The device deasserts, then the EOI: nothing fires. */
	vfu_irq_set_intx(irqs, false);
	intx_unmask(irqs);
	assert_int_equal(fired(trig), 0);
	assert_false(vfu_irq_pending(irqs, VFU_PCI_INTX, 0));

	/* Unmasked now: the next assertion is delivered. */
	vfu_irq_set_intx(irqs, true);
	assert_int_equal(fired(trig), 1);
}

static void test_intx_deassert_while_masked_drops_pending(void **state)
{
	struct vfu_irqs *irqs = *state;
	int trig;

	intx_assign(irqs, &trig, NULL);
	vfu_irq_set_intx(irqs, true);
	assert_int_equal(fired(trig), 1);
	/* Pulse while masked. */
	vfu_irq_set_intx(irqs, false);
	vfu_irq_set_intx(irqs, true);
	assert_int_equal(fired(trig), 0);
	assert_true(vfu_irq_pending(irqs, VFU_PCI_INTX, 0));
	vfu_irq_set_intx(irqs, false);
	assert_false(vfu_irq_pending(irqs, VFU_PCI_INTX, 0));
	intx_unmask(irqs);
	assert_int_equal(fired(trig), 0);
}

/* vfu_irq_raise on INTx: automasked too; an EOI with the line low drops it. */
static void test_intx_raise_is_automasked(void **state)
{
	struct vfu_irqs *irqs = *state;
	int trig;

	intx_assign(irqs, &trig, NULL);
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_INTX, 0), 0);
	assert_int_equal(fired(trig), 1);
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_INTX, 0), 0);
	assert_int_equal(fired(trig), 0);
	assert_true(vfu_irq_pending(irqs, VFU_PCI_INTX, 0));
	intx_unmask(irqs);
	assert_int_equal(fired(trig), 0);
	assert_false(vfu_irq_pending(irqs, VFU_PCI_INTX, 0));
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_INTX, 0), 0);
	assert_int_equal(fired(trig), 1);
}

static void test_intx_resample_eventfd(void **state)
{
	struct vfu_irqs *irqs = *state;
	uint64_t one = 1;
	uint32_t gen;
	int trig, rs;

	gen = irqs->resample_gen;
	intx_assign(irqs, &trig, &rs);
	assert_int_equal(irqs->intx_resample_fd, rs);
	assert_int_not_equal(irqs->resample_gen, gen);

	vfu_irq_set_intx(irqs, true);
	assert_int_equal(fired(trig), 1);

	/* KVM signals the resample eventfd at EOI; the line is still up: fire again. */
	assert_int_equal(write(rs, &one, sizeof(one)), (ssize_t)sizeof(one));
	vfu_irq_intx_resample(irqs);
	assert_int_equal(fired(rs), 0); /* consumed */
	assert_int_equal(fired(trig), 1);

	/* Line down, EOI: no interrupt, but unmasked. */
	vfu_irq_set_intx(irqs, false);
	assert_int_equal(write(rs, &one, sizeof(one)), (ssize_t)sizeof(one));
	vfu_irq_intx_resample(irqs);
	assert_int_equal(fired(rs), 0);
	assert_int_equal(fired(trig), 0);
	vfu_irq_set_intx(irqs, true);
	assert_int_equal(fired(trig), 1);

	/* A spurious wakeup (nothing to read) does not unmask. */
	vfu_irq_intx_resample(irqs);
	assert_int_equal(fired(trig), 0);

	/* Replacing the resample fd closes the old one; removing it too. */
	{
		int rs2 = new_eventfd();

		gen = irqs->resample_gen;
		assert_int_equal(do_set(irqs, EVT_UNMASK, VFU_PCI_INTX, 0, 1, NULL, 0, &rs2, 1),
				 0);
		assert_true(fd_is_closed(rs));
		assert_int_equal(irqs->intx_resample_fd, rs2);
		assert_int_not_equal(irqs->resample_gen, gen);
		assert_int_equal(do_set(irqs, EVT_UNMASK, VFU_PCI_INTX, 0, 1, NULL, 0, NULL, 0),
				 0);
		assert_true(fd_is_closed(rs2));
		assert_int_equal(irqs->intx_resample_fd, -1);
	}
}

static void test_intx_disable_closes_resample_fd(void **state)
{
	struct vfu_irqs *irqs = *state;
	int trig, rs;

	intx_assign(irqs, &trig, &rs);
	vfu_irq_set_intx(irqs, true);
	assert_int_equal(fired(trig), 1);
	assert_int_equal(do_set(irqs, NONE_TRIG, VFU_PCI_INTX, 0, 0, NULL, 0, NULL, 0), 0);
	assert_true(fd_is_closed(trig));
	assert_true(fd_is_closed(rs));
	assert_int_equal(irqs->intx_resample_fd, -1);
	assert_false(vfu_irq_enabled(irqs, VFU_PCI_INTX));
}

/* ---- reset, bad arguments ---- */

static void test_reset_closes_every_fd(void **state)
{
	struct vfu_irqs *irqs = *state;
	int msi[MSI_N], msix[MSIX_N], err, req, trig, rs;

	intx_assign(irqs, &trig, &rs);
	assign_all(irqs, VFU_PCI_MSI, msi, MSI_N);
	assign_all(irqs, VFU_PCI_MSIX, msix, MSIX_N);
	assign_all(irqs, VFU_PCI_ERR, &err, 1);
	assign_all(irqs, VFU_PCI_REQ, &req, 1);
	vfu_irq_set_intx(irqs, true);
	assert_int_equal(do_set(irqs, NONE_MASK, VFU_PCI_MSIX, 1, 1, NULL, 0, NULL, 0), 0);
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 1), 0);

	vfu_irqs_reset(irqs);

	assert_true(fd_is_closed(trig));
	assert_true(fd_is_closed(rs));
	assert_true(fd_is_closed(err));
	assert_true(fd_is_closed(req));
	for (unsigned v = 0; v < MSI_N; v++)
		assert_true(fd_is_closed(msi[v]));
	for (unsigned v = 0; v < MSIX_N; v++)
		assert_true(fd_is_closed(msix[v]));
	for (unsigned i = 0; i < VFU_PCI_NUM_IRQS; i++)
		assert_false(vfu_irq_enabled(irqs, i));
	assert_false(vfu_irq_pending(irqs, VFU_PCI_MSIX, 1));
	assert_false(irqs->intx_level);
	assert_int_equal(irqs->intx_resample_fd, -1);

	/* Usable afterwards, masks cleared. */
	assign_all(irqs, VFU_PCI_MSIX, msix, MSIX_N);
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, 1), 0);
	assert_int_equal(fired(msix[1]), 1);
}

static void test_bad_index_and_vector(void **state)
{
	struct vfu_irqs *irqs = *state;
	int fds[2] = { new_eventfd(), new_eventfd() };

	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_NUM_IRQS, 0), -EINVAL);
	assert_int_equal(vfu_irq_raise(irqs, UINT32_MAX, 0), -EINVAL);
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, MSIX_N), -EINVAL);
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, UINT32_MAX), -EINVAL);
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_INTX, 1), -EINVAL);
	assert_int_equal(vfu_irq_raise(irqs, VFU_PCI_MSIX, MSIX_N - 1), 0);
	assert_false(vfu_irq_pending(irqs, VFU_PCI_MSIX, MSIX_N));
	assert_false(vfu_irq_pending(irqs, VFU_PCI_NUM_IRQS, 0));
	assert_false(vfu_irq_enabled(irqs, VFU_PCI_NUM_IRQS));

	/* vfu_irqs_set guards itself too; on error the fds stay with the caller. */
	assert_int_equal(do_set(irqs, EVT_TRIG, VFU_PCI_MSIX, 0xffffffffu, 2, NULL, 0, fds, 2),
			 -EINVAL);
	assert_int_equal(do_set(irqs, EVT_TRIG, VFU_PCI_MSIX, MSIX_N - 1, 2, NULL, 0, fds, 2),
			 -EINVAL);
	assert_int_equal(do_set(irqs, EVT_TRIG, VFU_PCI_NUM_IRQS, 0, 1, NULL, 0, fds, 1),
			 -EINVAL);
	assert_true(fd_is_open(fds[0]));
	assert_true(fd_is_open(fds[1]));
	assert_false(vfu_irq_enabled(irqs, VFU_PCI_MSIX));
	close(fds[0]);
	close(fds[1]);
}

/* An index with count 0 (a device without INTx) ignores the INTx calls. */
static void test_no_intx(void **state)
{
	const uint32_t c[VFU_PCI_NUM_IRQS] = { 0, 0, 2, 0, 0 };
	struct vfu_irqs irqs;

	(void)state;
	assert_int_equal(vfu_irqs_init(&irqs, c, flags), 0);
	vfu_irq_set_intx(&irqs, true);
	assert_int_equal(vfu_irq_raise(&irqs, VFU_PCI_INTX, 0), -EINVAL);
	vfu_irq_intx_resample(&irqs);
	vfu_irqs_fini(&irqs);
}

/*
 * BUG (src/vfio-user/irq.c, vfu_irqs_init): when calloc fails for index i,
 * idx[i].count is already set while idx[i].vec is NULL, and the cleanup
 * (vfu_irqs_fini -> vfu_irqs_reset -> index_disable) walks count vectors of
 * the NULL array: a NULL dereference instead of -ENOMEM. Run in a child so
 * the crash is reported as a failure without killing the other tests.
 */
static void test_init_enomem(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	/* vfu_irqs_init makes one calloc per index with vectors: five here. */
	for (int fail_at = 0; fail_at < VFU_PCI_NUM_IRQS; fail_at++) {
		/* The child must not flush a copy of our buffered output. */
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		assert_true(pid >= 0);
		if (!pid) {
			const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
			struct vfu_irqs irqs;
			int ret;

			/* Die of a crash rather than land in cmocka's handler. */
			for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
				signal(sigs[i], SIG_DFL);
			calloc_fail_at = fail_at;
			ret = vfu_irqs_init(&irqs, counts, flags);
			calloc_fail_at = -1;
			_exit(ret == -ENOMEM ? 0 : 42);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (WIFSIGNALED(status))
			fail_msg("vfu_irqs_init killed by signal %d when calloc #%d fails",
				 WTERMSIG(status), fail_at);
		if (WEXITSTATUS(status) == 42)
			fail_msg("vfu_irqs_init did not return -ENOMEM when calloc #%d fails",
				 fail_at);
		if (WEXITSTATUS(status))
			fail_msg("vfu_irqs_init crashed (sanitizer exit %d) when calloc #%d fails",
				 WEXITSTATUS(status), fail_at);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_msix_raise_hits_right_eventfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_partial_assign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mask_pending_unmask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bool_mask_selects_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bool_trigger_fires_true_entries_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_disable_index_closes_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eventfd_without_fds_unassigns, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reassign_closes_old_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_level_automask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_deassert_while_masked_drops_pending,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_raise_is_automasked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_resample_eventfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_disable_closes_resample_fd, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset_closes_every_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_index_and_vector, setup, teardown),
		cmocka_unit_test(test_no_intx),
		cmocka_unit_test(test_init_enomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
