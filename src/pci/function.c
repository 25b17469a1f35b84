// SPDX-License-Identifier: MIT
/*
 * The generic half of an emulated PCI function: routes the server's region
 * accesses to config space, the MSI-X table/PBA or the model's BAR
 * handlers, and turns the model's interrupts into MSI-X or INTx.
 */
#include "pci/function.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define MSIX_VECTOR_CTRL 12
#define MSIX_CTRL_MASKED 0x1

static struct pci_function *to_fn(void *opaque)
{
	return opaque;
}

static bool in_range(uint64_t off, uint32_t len, uint64_t start, uint64_t size)
{
	return off >= start && off - start < size && len <= size - (off - start);
}

static uint64_t pba_size(const struct pci_msix *m)
{
	return ((m->nvec + 63) / 64) * 8;
}

static bool msix_table_access(const struct pci_function *f, unsigned bar, uint64_t off,
			      uint32_t len)
{
	const struct pci_msix *m = &f->msix;

	return m->nvec && bar == m->bar &&
	       in_range(off, len, m->table_off, (uint64_t)m->nvec * PCI_MSIX_ENTRY_SIZE);
}

static bool msix_pba_access(const struct pci_function *f, unsigned bar, uint64_t off,
			    uint32_t len)
{
	const struct pci_msix *m = &f->msix;

	return m->nvec && bar == m->bar && in_range(off, len, m->pba_off, pba_size(m));
}

static void pba_read(struct pci_function *f, uint64_t off, uint8_t *buf, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		uint64_t byte = off - f->msix.pba_off + i;
		uint8_t v = 0;

		for (unsigned b = 0; b < 8; b++) {
			unsigned vec = byte * 8 + b;

			if (vec < f->msix.nvec &&
			    vfu_irq_pending(&f->vfu.irq, VFU_PCI_MSIX, vec))
				v |= 1u << b;
		}
		buf[i] = v;
	}
}

static int fn_region_read(void *opaque, unsigned region, uint64_t off, void *buf, uint32_t len)
{
	struct pci_function *f = to_fn(opaque);

	if (region == VFU_PCI_CONFIG)
		return pci_config_read(&f->cfg, off, buf, len);
	if (region >= PCI_NUM_BARS)
		return -EINVAL;
	if (msix_table_access(f, region, off, len)) {
		memcpy(buf, f->msix.table + (off - f->msix.table_off), len);
		return 0;
	}
	if (msix_pba_access(f, region, off, len)) {
		pba_read(f, off, buf, len);
		return 0;
	}
	return f->ops->bar_read(f, region, off, buf, len);
}

static void intx_update(struct pci_function *f)
{
	bool level = f->vfu.irq.intx_level;

	pci_config_set_intx_status(&f->cfg, level);
}

static int config_write(struct pci_function *f, uint64_t off, const void *buf, uint32_t len)
{
	struct pci_config_change chg = { 0 };
	int ret;

	ret = pci_config_write(&f->cfg, off, buf, len, &chg);
	if (ret)
		return ret;
	if (chg.flr) {
		struct trace *t = vfu_device_trace(&f->vfu);

		if (hook_on(t))
			trace_reset(t, TRACE_RESET_FLR);
		pr_debug("%s: function level reset", f->vfu.name);
		return pci_function_reset(f);
	}
	if (chg.command && (pci_config_command(&f->cfg) & PCI_COMMAND_INTX_DISABLE)) {
		vfu_irq_set_intx(&f->vfu.irq, false);
		intx_update(f);
	}
	if (f->ops->config_changed)
		f->ops->config_changed(f, &chg);
	return 0;
}

static int fn_region_write(void *opaque, unsigned region, uint64_t off, const void *buf,
			   uint32_t len)
{
	struct pci_function *f = to_fn(opaque);

	if (region == VFU_PCI_CONFIG)
		return config_write(f, off, buf, len);
	if (region >= PCI_NUM_BARS)
		return -EINVAL;
	if (msix_table_access(f, region, off, len)) {
		memcpy(f->msix.table + (off - f->msix.table_off), buf, len);
		return 0;
	}
	if (msix_pba_access(f, region, off, len))
		return 0; /* the PBA is read-only */
	return f->ops->bar_write(f, region, off, buf, len);
}

static void msix_table_reset(struct pci_msix *m)
{
	if (!m->table)
		return;
	memset(m->table, 0, (size_t)m->nvec * PCI_MSIX_ENTRY_SIZE);
	for (unsigned v = 0; v < m->nvec; v++)
		m->table[v * PCI_MSIX_ENTRY_SIZE + MSIX_VECTOR_CTRL] = MSIX_CTRL_MASKED;
}

int pci_function_reset(struct pci_function *f)
{
	pci_config_reset(&f->cfg);
	msix_table_reset(&f->msix);
	vfu_irq_set_intx(&f->vfu.irq, false);
	intx_update(f);
	f->resets++;
	f->ops->reset(f);
	return 0;
}

static int fn_reset(void *opaque)
{
	return pci_function_reset(to_fn(opaque));
}

static void fn_dma_unmap(void *opaque, uint64_t addr, uint64_t size)
{
	struct pci_function *f = to_fn(opaque);

	if (f->ops->dma_unmap)
		f->ops->dma_unmap(f, addr, size);
}

static void fn_irqs_changed(void *opaque, unsigned index)
{
	struct pci_function *f = to_fn(opaque);

	if (f->ops->irqs_changed)
		f->ops->irqs_changed(f, index);
}

static void fn_quiesce(void *opaque)
{
	struct pci_function *f = to_fn(opaque);

	if (f->ops->quiesce)
		f->ops->quiesce(f);
}

static void fn_resume(void *opaque)
{
	struct pci_function *f = to_fn(opaque);

	if (f->ops->resume)
		f->ops->resume(f);
}

static const struct vfu_device_ops pci_function_vfu_ops = {
	.region_read = fn_region_read,
	.region_write = fn_region_write,
	.reset = fn_reset,
	.dma_unmap = fn_dma_unmap,
	.irqs_changed = fn_irqs_changed,
	.quiesce = fn_quiesce,
	.resume = fn_resume,
};

void pci_function_init(struct pci_function *f, const char *name, const struct pci_ids *ids,
		       const struct pci_function_ops *ops)
{
	memset(f, 0, sizeof(*f));
	f->ops = ops;
	f->vfu.name = name;
	f->vfu.flags = VFU_DEV_FLAG_PCI | VFU_DEV_FLAG_RESET;
	f->vfu.ops = &pci_function_vfu_ops;
	f->vfu.opaque = f;
	for (unsigned i = 0; i < VFU_PCI_NUM_REGIONS; i++)
		f->vfu.regions[i].fd = -1;
	pci_config_init(&f->cfg, ids);
}

int pci_function_add_bar(struct pci_function *f, unsigned bar, uint64_t size, uint8_t type,
			 int fd, uint64_t fd_offset, const struct vfu_sparse_mmap_area *sparse,
			 unsigned nr_sparse)
{
	struct vfu_region_desc *r;
	int ret;

	if (bar >= PCI_NUM_BARS || nr_sparse > VFU_MAX_SPARSE)
		return -EINVAL;
	for (unsigned i = 0; i < nr_sparse; i++)
		if (!in_range(sparse[i].offset, 0, 0, size) || sparse[i].size > size ||
		    sparse[i].offset > size - sparse[i].size ||
		    ((sparse[i].offset | sparse[i].size) & (VFU_PGSIZE - 1)))
			return -EINVAL;
	ret = pci_config_set_bar(&f->cfg, bar, size, type);
	if (ret)
		return ret;
	r = &f->vfu.regions[bar];
	r->size = size;
	r->flags = VFU_REGION_FLAG_READ | VFU_REGION_FLAG_WRITE;
	r->fd = fd;
	r->fd_offset = fd_offset;
	if (fd >= 0) {
		r->flags |= VFU_REGION_FLAG_MMAP;
		r->nr_sparse = nr_sparse;
		memcpy(r->sparse, sparse, nr_sparse * sizeof(*sparse));
	}
	return 0;
}

int pci_function_add_msix(struct pci_function *f, unsigned nvec, unsigned bar,
			  uint32_t table_off, uint32_t pba_off)
{
	struct pci_msix *m = &f->msix;
	int ret;

	if (bar >= PCI_NUM_BARS || !f->vfu.regions[bar].size)
		return -EINVAL;
	ret = pci_config_add_msix(&f->cfg, nvec, bar, table_off, bar, pba_off);
	if (ret < 0)
		return ret;
	m->table = calloc(nvec, PCI_MSIX_ENTRY_SIZE);
	if (!m->table)
		return -ENOMEM;
	m->nvec = nvec;
	m->bar = bar;
	m->table_off = table_off;
	m->pba_off = pba_off;
	msix_table_reset(m);
	return 0;
}

int pci_function_finalize(struct pci_function *f)
{
	struct vfu_irq_desc *irqs = f->vfu.irqs;
	struct vfu_region_desc *cfg = &f->vfu.regions[VFU_PCI_CONFIG];

	cfg->size = f->cfg.size;
	cfg->flags = VFU_REGION_FLAG_READ | VFU_REGION_FLAG_WRITE;
	if (f->cfg.data[PCI_INTERRUPT_PIN]) {
		irqs[VFU_PCI_INTX].count = 1;
		irqs[VFU_PCI_INTX].flags = VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_MASKABLE |
					   VFU_IRQ_INFO_AUTOMASKED;
	}
	irqs[VFU_PCI_MSI].flags = VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_NORESIZE;
	if (f->msix.nvec) {
		irqs[VFU_PCI_MSIX].count = f->msix.nvec;
		irqs[VFU_PCI_MSIX].flags = VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_MASKABLE |
					   VFU_IRQ_INFO_NORESIZE;
	}
	irqs[VFU_PCI_ERR].count = 1;
	irqs[VFU_PCI_ERR].flags = VFU_IRQ_INFO_EVENTFD;
	irqs[VFU_PCI_REQ].count = 1;
	irqs[VFU_PCI_REQ].flags = VFU_IRQ_INFO_EVENTFD;
	pci_config_seal(&f->cfg);
	return 0;
}

void pci_function_fini(struct pci_function *f)
{
	free(f->msix.table);
	f->msix.table = NULL;
}

void pci_function_set_intx(struct pci_function *f, bool level)
{
	if (!f->cfg.data[PCI_INTERRUPT_PIN])
		return;
	if (pci_config_command(&f->cfg) & PCI_COMMAND_INTX_DISABLE)
		level = false;
	vfu_irq_set_intx(&f->vfu.irq, level);
	intx_update(f);
}

void pci_function_raise(struct pci_function *f, unsigned vector)
{
	if (pci_config_msix_enabled(&f->cfg)) {
		if (vector < f->msix.nvec)
			vfu_irq_raise(&f->vfu.irq, VFU_PCI_MSIX, vector);
		return;
	}
	pci_function_set_intx(f, true);
}
