/* SPDX-License-Identifier: MIT */
/*
 * PCI function config space: the header, BAR registers with their type bits,
 * the capability lists (standard and extended) and the write semantics
 * (read-only, read-write, write-1-to-clear bits) a guest sees.
 */
#ifndef IOMED_PCI_CONFIG_H
#define IOMED_PCI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCI_CFG_SIZE_LEGACY 256
#define PCI_CFG_SIZE_EXPRESS 4096
#define PCI_NUM_BARS 6

/* Header offsets (type 0). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0a
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER 0x0d
#define PCI_HEADER_TYPE 0x0e
#define PCI_BIST 0x0f
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_MIN_GNT 0x3e
#define PCI_MAX_LAT 0x3f

#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_COMMAND_PARITY 0x40
#define PCI_COMMAND_SERR 0x100
#define PCI_COMMAND_INTX_DISABLE 0x400

#define PCI_STATUS_INTERRUPT 0x08
#define PCI_STATUS_CAP_LIST 0x10
/* Parity error, signaled/received target and master aborts, SERR, detected parity: RW1C. */
#define PCI_STATUS_W1C 0xf900

/* BAR type bits. */
#define PCI_BAR_IO 0x1
#define PCI_BAR_MEM32 0x0
#define PCI_BAR_MEM64 0x4
#define PCI_BAR_PREFETCH 0x8

/* Capability IDs. */
#define PCI_CAP_ID_PM 0x01
#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_EXP 0x10
#define PCI_CAP_ID_MSIX 0x11

/* MSI-X capability fields (offsets from the capability). */
#define PCI_MSIX_FLAGS 2
#define PCI_MSIX_FLAGS_QSIZE 0x07ff
#define PCI_MSIX_FLAGS_MASKALL 0x4000
#define PCI_MSIX_FLAGS_ENABLE 0x8000
#define PCI_MSIX_TABLE 4
#define PCI_MSIX_PBA 8
#define PCI_MSIX_CAP_SIZE 12
#define PCI_MSIX_ENTRY_SIZE 16

/* PCIe capability. */
#define PCI_EXP_TYPE_ENDPOINT 0x0
#define PCI_EXP_TYPE_LEG_END 0x1
#define PCI_EXP_TYPE_RC_END 0x9
#define PCI_EXP_CAP_SIZE 0x3c
#define PCI_EXP_FLAGS 0x02
#define PCI_EXP_DEVSTA 0x0a
#define PCI_EXP_LNKCAP 0x0c
#define PCI_EXP_LNKCTL 0x10
#define PCI_EXP_LNKSTA 0x12
#define PCI_EXP_DEVCAP2 0x24
#define PCI_EXP_DEVCTL2 0x28
#define PCI_EXP_LNKCAP2 0x2c
#define PCI_EXP_LNKCTL2 0x30
#define PCI_EXP_DEVCTL 0x08
#define PCI_EXP_DEVCTL_BCR_FLR 0x8000
#define PCI_EXP_DEVCAP 0x04
#define PCI_EXP_DEVCAP_FLR 0x10000000

/* Power management capability. */
#define PCI_PM_CAP_SIZE 8
#define PCI_PM_CTRL 4
#define PCI_PM_CTRL_STATE_MASK 0x3
#define PCI_PM_PMC 2
#define PCI_PM_CTRL_NO_SOFT_RESET 0x0008
#define PCI_PM_CTRL_PME_STATUS 0x8000

/* Standard capabilities start here, each on a 16-byte boundary. */
#define PCI_CAP_START 0x40
#define PCI_CAP_ALIGN 16
#define PCI_EXT_CAP_START 0x100

struct pci_ids {
	uint16_t vendor;
	uint16_t device;
	uint16_t subsys_vendor;
	uint16_t subsys;
	uint32_t class_code; /* 24 bits: class, subclass, prog-if */
	uint8_t revision;
	uint8_t irq_pin; /* 0 none, 1 INTA .. 4 INTD */
};

/* What a config write changed, so the device can react. */
struct pci_config_change {
	bool command;       /* command register written */
	uint16_t old_command;
	bool msix_control;  /* MSI-X enable / function mask written */
	bool bar;           /* a BAR or the ROM BAR written */
	bool pm_state;      /* power state written */
	bool flr;           /* function level reset requested */
};

struct pci_config {
	uint8_t data[PCI_CFG_SIZE_EXPRESS];
	uint8_t wmask[PCI_CFG_SIZE_EXPRESS];   /* bits the guest may write */
	uint8_t w1cmask[PCI_CFG_SIZE_EXPRESS]; /* bits a written 1 clears */
	uint8_t reset_data[PCI_CFG_SIZE_EXPRESS]; /* power-on values, see pci_config_seal */
	uint32_t size;                         /* 256, or 4096 with PCIe */
	uint64_t bar_size[PCI_NUM_BARS];
	uint8_t bar_type[PCI_NUM_BARS];
	uint16_t next_cap;      /* where the next standard capability goes */
	uint16_t last_cap;      /* offset of the last standard capability, 0 none */
	uint16_t next_ext_cap;  /* where the next extended capability goes */
	uint16_t last_ext_cap;
	uint16_t msix_cap;      /* offset of the MSI-X capability, 0 none */
	uint16_t pcie_cap;
	uint16_t pm_cap;
};

void pci_config_init(struct pci_config *cfg, const struct pci_ids *ids);

/*
 * Declare BAR @bar of @size bytes (a power of two >= 16, or >= 4 for I/O)
 * with PCI_BAR_* @type bits. A 64-bit BAR takes @bar and @bar + 1.
 * Returns 0 or -EINVAL.
 */
int pci_config_set_bar(struct pci_config *cfg, unsigned bar, uint64_t size, uint8_t type);

/*
 * Append a standard capability of @len bytes (header included) and link it
 * into the list. Returns its offset, or -ENOSPC / -EINVAL.
 * Capabilities go on 16-byte boundaries from 0x40 so that offsets are
 * predictable (testdev: PM 0x40, MSI-X 0x50, PCIe 0x60, vendor 0xa0).
 * The pci_config_add_* helpers return -EEXIST for a second PM, PCIe or
 * MSI-X capability.
 */
int pci_config_add_cap(struct pci_config *cfg, uint8_t id, size_t len);
/* Append an extended capability (config size 4096 only). */
int pci_config_add_ext_cap(struct pci_config *cfg, uint16_t id, uint8_t version, size_t len);

int pci_config_add_pm(struct pci_config *cfg);
/* Also sets the config size to 4096. @flr advertises function level reset. */
int pci_config_add_pcie(struct pci_config *cfg, uint8_t port_type, bool flr);
int pci_config_add_msix(struct pci_config *cfg, unsigned nvec, unsigned table_bar,
			uint32_t table_off, unsigned pba_bar, uint32_t pba_off);
/* Vendor-specific capability carrying @len bytes of @payload after its 3-byte header. */
int pci_config_add_vendor(struct pci_config *cfg, const void *payload, size_t len);

/* Bounds-checked accesses; -EINVAL if [off, off + len) is not inside the space. */
int pci_config_read(const struct pci_config *cfg, uint64_t off, void *buf, size_t len);
int pci_config_write(struct pci_config *cfg, uint64_t off, const void *buf, size_t len,
		     struct pci_config_change *change);

/*
 * Record the current contents as the power-on values. pci_config_init,
 * pci_config_set_bar and the pci_config_add_* helpers already do; call it
 * again only after changing cfg->data directly.
 */
void pci_config_seal(struct pci_config *cfg);

/*
 * Restore the power-on values of every writable register (FLR, device
 * reset), and clear PCI_STATUS_INTERRUPT: the reset device asserts nothing.
 */
void pci_config_reset(struct pci_config *cfg);

uint16_t pci_config_command(const struct pci_config *cfg);
bool pci_config_msix_enabled(const struct pci_config *cfg);
bool pci_config_msix_masked(const struct pci_config *cfg);
/* Set or clear PCI_STATUS_INTERRUPT (the INTx status bit). */
void pci_config_set_intx_status(struct pci_config *cfg, bool asserted);

/* Little-endian register reads; offsets past the space read as 0. */
uint8_t pci_config_get8(const struct pci_config *cfg, unsigned off);
uint16_t pci_config_get16(const struct pci_config *cfg, unsigned off);
uint32_t pci_config_get32(const struct pci_config *cfg, unsigned off);

#endif
