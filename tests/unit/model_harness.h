/* SPDX-License-Identifier: MIT */
/*
 * A device model as the daemon serves it, without a socket: created from a
 * --device string through the model registry, guest memory a memfd in its
 * DMA table, every MSI-X vector an eventfd in its IRQ table. Shared by the
 * unit tests that drive a model the way a guest driver does (cmocka).
 */
#ifndef IOMED_TESTS_MODEL_HARNESS_H
#define IOMED_TESTS_MODEL_HARNESS_H

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/device.h"
#include "vfio-user/wire.h"

#define MODEL_H_MAX_VEC 40

struct model_h {
	struct iomed_device dev;
	struct opts o;
	struct vfu_device *vfu;
	uint8_t *mem;      /* guest memory [gpa, gpa + size) */
	uint64_t gpa, size;
	int efd[MODEL_H_MAX_VEC];
	unsigned nvec;     /* MSI-X vectors, one eventfd each */
};

static inline void model_h_irqs(struct model_h *m)
{
	uint32_t counts[VFU_PCI_NUM_IRQS], flags[VFU_PCI_NUM_IRQS];
	struct vfu_irq_set set = {
		.argsz = sizeof(set), .flags = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER,
		.index = VFU_PCI_MSIX, .start = 0,
	};
	int fds[MODEL_H_MAX_VEC];

	for (unsigned i = 0; i < VFU_PCI_NUM_IRQS; i++) {
		counts[i] = m->vfu->irqs[i].count;
		flags[i] = m->vfu->irqs[i].flags;
	}
	m->nvec = counts[VFU_PCI_MSIX];
	assert_true(m->nvec && m->nvec <= MODEL_H_MAX_VEC);
	set.count = m->nvec;
	assert_int_equal(vfu_irqs_init(&m->vfu->irq, counts, flags), 0);
	for (unsigned i = 0; i < m->nvec; i++) {
		m->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		fds[i] = dup(m->efd[i]);
	}
	assert_int_equal(vfu_irqs_set(&m->vfu->irq, &set, NULL, 0, fds, m->nvec), 0);
}

/* Model @model from @spec (a --device string without socket=), id "ut0". */
static inline void model_h_init(struct model_h *m, const char *model, const char *spec,
				uint64_t gpa, uint64_t size)
{
	char err[256] = "";
	int fd;

	memset(m, 0, sizeof(*m));
	assert_int_equal(opts_parse(&m->o, spec, err, sizeof(err)), 0);
	snprintf(m->dev.id, sizeof(m->dev.id), "ut0");
	m->dev.model = iomed_model_find(model);
	assert_non_null(m->dev.model);
	assert_int_equal(m->dev.model->create(&m->dev, &m->o, err, sizeof(err)), 0);
	assert_null(opts_first_unused(&m->o));
	m->vfu = m->dev.vfu;
	m->gpa = gpa;
	m->size = size;
	vfu_dma_init(&m->vfu->dma, 16);
	fd = memfd_create("iomed-test-model", MFD_CLOEXEC);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	m->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(m->mem != MAP_FAILED);
	assert_int_equal(vfu_dma_add(&m->vfu->dma, gpa, size, fd, 0,
				     VFU_DMA_READ | VFU_DMA_WRITE), 0);
	model_h_irqs(m);
}

static inline void model_h_fini(struct model_h *m)
{
	/* As the daemon does: the server's tables go first (with the datapath stopped). */
	m->vfu->ops->reset(m->vfu->opaque);
	vfu_dma_fini(&m->vfu->dma);
	vfu_irqs_fini(&m->vfu->irq);
	m->dev.model->destroy(&m->dev);
	for (unsigned i = 0; i < m->nvec; i++)
		close(m->efd[i]);
	munmap(m->mem, m->size);
	opts_free(&m->o);
}

static inline void *model_h_mem(struct model_h *m, uint64_t gpa)
{
	assert_true(gpa >= m->gpa && gpa < m->gpa + m->size);
	return m->mem + (gpa - m->gpa);
}

/* Vector @vec fired within @timeout_ms (and is consumed). */
static inline bool model_h_irq(struct model_h *m, unsigned vec, int timeout_ms)
{
	struct pollfd p = { .fd = m->efd[vec], .events = POLLIN };
	uint64_t n;

	if (poll(&p, 1, timeout_ms) != 1)
		return false;
	return read(m->efd[vec], &n, sizeof(n)) == sizeof(n);
}

#endif
