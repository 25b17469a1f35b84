/* SPDX-License-Identifier: MIT */
/*
 * A PCI function as the vfio-user server sees it: config space, BAR
 * regions (trapped or mappable), MSI-X and INTx, behind the server's
 * region/IRQ tables. Emulated models embed one and supply register handlers.
 */
#ifndef IOMED_PCI_FUNCTION_H
#define IOMED_PCI_FUNCTION_H

#include <stdbool.h>
#include <stdint.h>

#include "pci/config.h"
#include "vfio-user/server.h"

struct pci_function;

struct pci_function_ops {
	/* BAR accesses the function does not handle itself (all but MSI-X). */
	int (*bar_read)(struct pci_function *f, unsigned bar, uint64_t off, void *buf,
			uint32_t len);
	int (*bar_write)(struct pci_function *f, unsigned bar, uint64_t off, const void *buf,
			 uint32_t len);
	/* Device reset (DEVICE_RESET, FLR, client gone): back to power-on state. */
	void (*reset)(struct pci_function *f);
	/* Optional hooks. */
	void (*config_changed)(struct pci_function *f, const struct pci_config_change *change);
	void (*dma_unmap)(struct pci_function *f, uint64_t addr, uint64_t size);
	void (*irqs_changed)(struct pci_function *f, unsigned index);
	/* See vfu_device_ops.quiesce/resume. */
	void (*quiesce)(struct pci_function *f);
	void (*resume)(struct pci_function *f);
};

struct pci_msix {
	unsigned nvec;
	unsigned bar;
	uint32_t table_off;
	uint32_t pba_off;
	uint8_t *table; /* shadow of the table, for clients that do not emulate it */
};

struct pci_function {
	struct vfu_device vfu;
	struct pci_config cfg;
	const struct pci_function_ops *ops;
	struct pci_msix msix;
	uint64_t resets;
};

/* Config space starts as @ids; add BARs and capabilities, then finalize. */
void pci_function_init(struct pci_function *f, const char *name, const struct pci_ids *ids,
		       const struct pci_function_ops *ops);

/*
 * Declare BAR @bar. With @fd >= 0 the region is backed by [fd_offset,
 * fd_offset + size) of @fd and the @nr_sparse areas (or all of it when
 * @nr_sparse is 0) may be mmapped by the client; accesses outside them still
 * come to bar_read/bar_write.
 */
int pci_function_add_bar(struct pci_function *f, unsigned bar, uint64_t size, uint8_t type,
			 int fd, uint64_t fd_offset, const struct vfu_sparse_mmap_area *sparse,
			 unsigned nr_sparse);
/* MSI-X with @nvec vectors, table and PBA in BAR @bar (declared before). */
int pci_function_add_msix(struct pci_function *f, unsigned nvec, unsigned bar,
			  uint32_t table_off, uint32_t pba_off);
/* Fill the IRQ table and record power-on config. Call last. */
int pci_function_finalize(struct pci_function *f);
void pci_function_fini(struct pci_function *f);

/*
 * Signal interrupt @vector: the MSI-X vector when MSI-X is enabled, else
 * assert INTx (if the function has a pin and INTx is not disabled); the
 * model deasserts INTx with pci_function_set_intx(f, false).
 */
void pci_function_raise(struct pci_function *f, unsigned vector);
void pci_function_set_intx(struct pci_function *f, bool level);

/* Guest memory, through the DMA table. */
static inline int pci_dma_read(struct pci_function *f, uint64_t addr, void *buf, uint64_t len)
{
	return vfu_dma_read(&f->vfu.dma, addr, buf, len);
}

static inline int pci_dma_write(struct pci_function *f, uint64_t addr, const void *buf,
				uint64_t len)
{
	return vfu_dma_write(&f->vfu.dma, addr, buf, len);
}

/* Reset as DEVICE_RESET does (also the vfu reset callback). */
int pci_function_reset(struct pci_function *f);

#endif
