// SPDX-License-Identifier: MIT
/*
 * PCI function config space. Every register lives in cfg->data as the guest
 * sees it (little endian); cfg->wmask and cfg->w1cmask say, bit by bit, what
 * a guest write may change. Setup code builds the space with the helpers
 * below; the guest only ever goes through pci_config_write.
 */
#include "pci/config.h"

#include <errno.h>
#include <string.h>

/* Command bits a guest may toggle; the rest are hardwired to 0. */
#define COMMAND_WMASK (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
		       PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)

#define BAR_MEM_TYPE_MASK 0xfu
#define BAR_IO_TYPE_MASK 0x3u
/* PCI forbids I/O BARs larger than 256 bytes. */
#define BAR_IO_MAX_SIZE 256u

/* PM: PMC version 3 (PCI PM 1.2), no PME, no D1/D2, no aux current. */
#define PM_PMC_VALUE 0x0003
#define PM_STATE_D0 0
#define PM_STATE_D3HOT 3

/* PCIe capability register values and masks (offsets from the capability). */
#define EXP_FLAGS_VERSION 2
#define EXP_DEVCAP_RBER 0x00008000     /* role-based error reporting, required */
#define EXP_DEVCAP_L0S_L1_ANY 0x00000fc0 /* endpoint L0s/L1 acceptable latency: no limit */
/*
 * DEVCTL: error reporting enables, relaxed ordering, max payload size,
 * no snoop, max read request size. Extended tags, phantom functions and aux
 * power are not supported, so those bits are hardwired to 0.
 */
#define EXP_DEVCTL_WMASK 0x78ff
/* Power-on DEVCTL: relaxed ordering and no snoop enabled, 512-byte MRRS. */
#define EXP_DEVCTL_RESET 0x2810
/* DEVSTA: correctable, non-fatal, fatal and unsupported request detected. */
#define EXP_DEVSTA_W1C 0x000f
/* LNKCAP: 2.5GT/s, x1, no ASPM, ASPM optionality compliance. */
#define EXP_LNKCAP_VALUE 0x00400011
/* LNKCTL: ASPM control, RCB, common clock, extended synch, HW width disable. */
#define EXP_LNKCTL_WMASK 0x02cb
/* LNKSTA: trained at 2.5GT/s x1 on the slot's reference clock. */
#define EXP_LNKSTA_VALUE 0x1011
/* DEVCAP2: completion timeout range B and completion timeout disable. */
#define EXP_DEVCAP2_VALUE 0x00000012
/* DEVCTL2: completion timeout value and disable; the rest is unsupported. */
#define EXP_DEVCTL2_WMASK 0x001f
#define EXP_LNKCAP2_VALUE 0x00000002 /* supported speeds vector: 2.5GT/s */
#define EXP_LNKCTL2_VALUE 0x0001     /* target link speed 2.5GT/s */

#define VNDR_HDR_LEN 3
#define EXT_CAP_HDR_LEN 4

/* Byte helpers: config space is little endian and not necessarily aligned. */
static void put16(uint8_t *p, unsigned off, uint16_t v)
{
	p[off] = v & 0xff;
	p[off + 1] = v >> 8;
}

static void put32(uint8_t *p, unsigned off, uint32_t v)
{
	put16(p, off, v & 0xffff);
	put16(p, off + 2, v >> 16);
}

static uint16_t get16(const uint8_t *p, unsigned off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t get32(const uint8_t *p, unsigned off)
{
	return get16(p, off) | (uint32_t)get16(p, off + 2) << 16;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static unsigned align_up(unsigned v, unsigned a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Does the access [off, off + len) touch [reg, reg + reg_len)? */
static bool touches(uint64_t off, size_t len, unsigned reg, unsigned reg_len)
{
	return off < (uint64_t)reg + reg_len && reg < off + len;
}

uint8_t pci_config_get8(const struct pci_config *cfg, unsigned off)
{
	return off < cfg->size ? cfg->data[off] : 0;
}

uint16_t pci_config_get16(const struct pci_config *cfg, unsigned off)
{
	return (uint16_t)(pci_config_get8(cfg, off) | pci_config_get8(cfg, off + 1) << 8);
}

uint32_t pci_config_get32(const struct pci_config *cfg, unsigned off)
{
	return pci_config_get16(cfg, off) | (uint32_t)pci_config_get16(cfg, off + 2) << 16;
}

void pci_config_seal(struct pci_config *cfg)
{
	memcpy(cfg->reset_data, cfg->data, sizeof(cfg->data));
}

void pci_config_init(struct pci_config *cfg, const struct pci_ids *ids)
{
	uint8_t *d = cfg->data;

	memset(cfg, 0, sizeof(*cfg));
	cfg->size = PCI_CFG_SIZE_LEGACY;
	cfg->next_cap = PCI_CAP_START;
	cfg->next_ext_cap = PCI_EXT_CAP_START;

	put16(d, PCI_VENDOR_ID, ids->vendor);
	put16(d, PCI_DEVICE_ID, ids->device);
	d[PCI_REVISION_ID] = ids->revision;
	d[PCI_CLASS_PROG] = ids->class_code & 0xff;
	put16(d, PCI_CLASS_DEVICE, (ids->class_code >> 8) & 0xffff);
	d[PCI_HEADER_TYPE] = 0;
	put16(d, PCI_SUBSYSTEM_VENDOR_ID, ids->subsys_vendor);
	put16(d, PCI_SUBSYSTEM_ID, ids->subsys);
	/* Pins beyond INTD do not exist; advertise none rather than garbage. */
	d[PCI_INTERRUPT_PIN] = ids->irq_pin <= 4 ? ids->irq_pin : 0;

	put16(cfg->wmask, PCI_COMMAND, COMMAND_WMASK);
	put16(cfg->w1cmask, PCI_STATUS, PCI_STATUS_W1C);
	cfg->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	cfg->wmask[PCI_LATENCY_TIMER] = 0xff;
	cfg->wmask[PCI_INTERRUPT_LINE] = 0xff;

	pci_config_seal(cfg);
}

/* Is @bar the upper half of a 64-bit BAR declared at @bar - 1? */
static bool bar_is_upper(const struct pci_config *cfg, unsigned bar)
{
	return bar > 0 && cfg->bar_size[bar - 1] &&
	       (cfg->bar_type[bar - 1] & PCI_BAR_MEM64);
}

static bool bar_in_use(const struct pci_config *cfg, unsigned bar)
{
	return cfg->bar_size[bar] || bar_is_upper(cfg, bar);
}

static int check_bar_type_size(uint64_t size, uint8_t type)
{
	if (!is_pow2(size))
		return -EINVAL;
	if (type & PCI_BAR_IO) {
		if (type != PCI_BAR_IO || size < 4 || size > BAR_IO_MAX_SIZE)
			return -EINVAL;
		return 0;
	}
	/* Bit 1 (below 1 MiB) is obsolete; anything above bit 3 is not a type. */
	if (type & ~(PCI_BAR_MEM64 | PCI_BAR_PREFETCH))
		return -EINVAL;
	if (size < 16)
		return -EINVAL;
	if (!(type & PCI_BAR_MEM64) && size > (1ull << 31))
		return -EINVAL;
	if (size > (1ull << 63))
		return -EINVAL;
	return 0;
}

int pci_config_set_bar(struct pci_config *cfg, unsigned bar, uint64_t size, uint8_t type)
{
	unsigned reg = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint32_t type_mask = (type & PCI_BAR_IO) ? BAR_IO_TYPE_MASK : BAR_MEM_TYPE_MASK;
	bool is64 = !(type & PCI_BAR_IO) && (type & PCI_BAR_MEM64);
	int ret;

	if (bar >= PCI_NUM_BARS)
		return -EINVAL;
	ret = check_bar_type_size(size, type);
	if (ret)
		return ret;
	if (bar_in_use(cfg, bar))
		return -EINVAL;
	if (is64 && (bar + 1 >= PCI_NUM_BARS || bar_in_use(cfg, bar + 1)))
		return -EINVAL;

	cfg->bar_size[bar] = size;
	cfg->bar_type[bar] = type;
	put32(cfg->data, reg, type);
	put32(cfg->wmask, reg, (uint32_t)~(size - 1) & ~type_mask);
	if (is64) {
		put32(cfg->data, reg + 4, 0);
		put32(cfg->wmask, reg + 4, (uint32_t)~((size - 1) >> 32));
	}
	pci_config_seal(cfg);
	return 0;
}

int pci_config_add_cap(struct pci_config *cfg, uint8_t id, size_t len)
{
	unsigned off = cfg->next_cap;

	if (len < 2)
		return -EINVAL;
	if (off >= PCI_CFG_SIZE_LEGACY || len > PCI_CFG_SIZE_LEGACY - off)
		return -ENOSPC;

	memset(cfg->data + off, 0, len);
	cfg->data[off] = id;
	cfg->data[off + 1] = 0;
	if (cfg->last_cap)
		cfg->data[cfg->last_cap + 1] = off;
	else
		cfg->data[PCI_CAPABILITY_LIST] = off;
	cfg->data[PCI_STATUS] |= PCI_STATUS_CAP_LIST;

	cfg->last_cap = off;
	cfg->next_cap = align_up(off + len, PCI_CAP_ALIGN);
	pci_config_seal(cfg);
	return off;
}

int pci_config_add_ext_cap(struct pci_config *cfg, uint16_t id, uint8_t version, size_t len)
{
	unsigned off = cfg->next_ext_cap;
	uint32_t hdr;

	if (cfg->size != PCI_CFG_SIZE_EXPRESS || version > 0xf || len < EXT_CAP_HDR_LEN)
		return -EINVAL;
	if (off >= PCI_CFG_SIZE_EXPRESS || len > PCI_CFG_SIZE_EXPRESS - off)
		return -ENOSPC;

	memset(cfg->data + off, 0, len);
	put32(cfg->data, off, id | (uint32_t)version << 16);
	/* The first one sits at 0x100 by definition; later ones are linked. */
	if (cfg->last_ext_cap) {
		hdr = get32(cfg->data, cfg->last_ext_cap);
		put32(cfg->data, cfg->last_ext_cap, (hdr & 0x000fffff) | (uint32_t)off << 20);
	}

	cfg->last_ext_cap = off;
	cfg->next_ext_cap = align_up(off + len, 4);
	pci_config_seal(cfg);
	return off;
}

int pci_config_add_pm(struct pci_config *cfg)
{
	int off;

	if (cfg->pm_cap)
		return -EEXIST;
	off = pci_config_add_cap(cfg, PCI_CAP_ID_PM, PCI_PM_CAP_SIZE);
	if (off < 0)
		return off;

	put16(cfg->data, off + PCI_PM_PMC, PM_PMC_VALUE);
	/* Our state survives D3hot -> D0: no reset is done on that transition. */
	put16(cfg->data, off + PCI_PM_CTRL, PCI_PM_CTRL_NO_SOFT_RESET | PM_STATE_D0);
	put16(cfg->wmask, off + PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK);
	put16(cfg->w1cmask, off + PCI_PM_CTRL, PCI_PM_CTRL_PME_STATUS);
	cfg->pm_cap = off;
	pci_config_seal(cfg);
	return off;
}

static void fill_pcie_link(struct pci_config *cfg, unsigned off)
{
	put32(cfg->data, off + PCI_EXP_LNKCAP, EXP_LNKCAP_VALUE);
	put16(cfg->wmask, off + PCI_EXP_LNKCTL, EXP_LNKCTL_WMASK);
	put16(cfg->data, off + PCI_EXP_LNKSTA, EXP_LNKSTA_VALUE);
	put32(cfg->data, off + PCI_EXP_LNKCAP2, EXP_LNKCAP2_VALUE);
	/*
	 * Read-only: there is no link to retrain, so a target speed the guest
	 * could change would promise something that never happens.
	 */
	put16(cfg->data, off + PCI_EXP_LNKCTL2, EXP_LNKCTL2_VALUE);
}

int pci_config_add_pcie(struct pci_config *cfg, uint8_t port_type, bool flr)
{
	uint32_t devcap = EXP_DEVCAP_RBER;
	uint16_t devctl_wmask = EXP_DEVCTL_WMASK;
	int off;

	if (cfg->pcie_cap)
		return -EEXIST;
	/* Only functions with a type 0 header: no ports, no bridges. */
	if (port_type != PCI_EXP_TYPE_ENDPOINT && port_type != PCI_EXP_TYPE_LEG_END &&
	    port_type != PCI_EXP_TYPE_RC_END)
		return -EINVAL;
	off = pci_config_add_cap(cfg, PCI_CAP_ID_EXP, PCI_EXP_CAP_SIZE);
	if (off < 0)
		return off;

	put16(cfg->data, off + PCI_EXP_FLAGS, EXP_FLAGS_VERSION | port_type << 4);
	/* Root complex integrated endpoints have no link: those fields stay 0. */
	if (port_type != PCI_EXP_TYPE_RC_END) {
		devcap |= EXP_DEVCAP_L0S_L1_ANY;
		fill_pcie_link(cfg, off);
	}
	if (flr) {
		devcap |= PCI_EXP_DEVCAP_FLR;
		devctl_wmask |= PCI_EXP_DEVCTL_BCR_FLR;
	}
	put32(cfg->data, off + PCI_EXP_DEVCAP, devcap);
	put16(cfg->data, off + PCI_EXP_DEVCTL, EXP_DEVCTL_RESET);
	put16(cfg->wmask, off + PCI_EXP_DEVCTL, devctl_wmask);
	put16(cfg->w1cmask, off + PCI_EXP_DEVSTA, EXP_DEVSTA_W1C);
	put32(cfg->data, off + PCI_EXP_DEVCAP2, EXP_DEVCAP2_VALUE);
	put16(cfg->wmask, off + PCI_EXP_DEVCTL2, EXP_DEVCTL2_WMASK);

	cfg->pcie_cap = off;
	cfg->size = PCI_CFG_SIZE_EXPRESS;
	/* An empty extended list is a zero header at 0x100. */
	if (!cfg->last_ext_cap)
		put32(cfg->data, PCI_EXT_CAP_START, 0);
	pci_config_seal(cfg);
	return off;
}

/* Does [off, off + len) fit in memory BAR @bar? */
static bool msix_area_ok(const struct pci_config *cfg, unsigned bar, uint32_t off, uint64_t len)
{
	if (bar >= PCI_NUM_BARS || (off & 7) || !cfg->bar_size[bar])
		return false;
	if (cfg->bar_type[bar] & PCI_BAR_IO)
		return false;
	return off <= cfg->bar_size[bar] && len <= cfg->bar_size[bar] - off;
}

int pci_config_add_msix(struct pci_config *cfg, unsigned nvec, unsigned table_bar,
			uint32_t table_off, unsigned pba_bar, uint32_t pba_off)
{
	uint64_t table_len = (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE;
	uint64_t pba_len = ((uint64_t)nvec + 63) / 64 * 8;
	int off;

	if (cfg->msix_cap)
		return -EEXIST;
	if (nvec < 1 || nvec > PCI_MSIX_FLAGS_QSIZE + 1)
		return -EINVAL;
	if (!msix_area_ok(cfg, table_bar, table_off, table_len) ||
	    !msix_area_ok(cfg, pba_bar, pba_off, pba_len))
		return -EINVAL;
	if (table_bar == pba_bar && table_off < pba_off + pba_len &&
	    pba_off < table_off + table_len)
		return -EINVAL;
	off = pci_config_add_cap(cfg, PCI_CAP_ID_MSIX, PCI_MSIX_CAP_SIZE);
	if (off < 0)
		return off;

	put16(cfg->data, off + PCI_MSIX_FLAGS, nvec - 1);
	put16(cfg->wmask, off + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	put32(cfg->data, off + PCI_MSIX_TABLE, table_off | table_bar);
	put32(cfg->data, off + PCI_MSIX_PBA, pba_off | pba_bar);
	cfg->msix_cap = off;
	pci_config_seal(cfg);
	return off;
}

int pci_config_add_vendor(struct pci_config *cfg, const void *payload, size_t len)
{
	int off;

	/* The length byte counts the header too. */
	if (len > 0xff - VNDR_HDR_LEN || (len && !payload))
		return -EINVAL;
	off = pci_config_add_cap(cfg, PCI_CAP_ID_VNDR, VNDR_HDR_LEN + len);
	if (off < 0)
		return off;

	cfg->data[off + 2] = VNDR_HDR_LEN + len;
	if (len)
		memcpy(cfg->data + off + VNDR_HDR_LEN, payload, len);
	pci_config_seal(cfg);
	return off;
}

static bool access_ok(const struct pci_config *cfg, uint64_t off, size_t len)
{
	return len && len <= cfg->size && off <= cfg->size - len;
}

int pci_config_read(const struct pci_config *cfg, uint64_t off, void *buf, size_t len)
{
	if (!access_ok(cfg, off, len))
		return -EINVAL;
	memcpy(buf, cfg->data + off, len);
	return 0;
}

/* PMCSR: D1 and D2 are not supported, so a write of either is discarded. */
static void pm_fixup(struct pci_config *cfg, uint8_t old_state)
{
	uint8_t *ctrl = &cfg->data[cfg->pm_cap + PCI_PM_CTRL];
	uint8_t state = *ctrl & PCI_PM_CTRL_STATE_MASK;

	if (state != PM_STATE_D0 && state != PM_STATE_D3HOT)
		*ctrl = (*ctrl & ~PCI_PM_CTRL_STATE_MASK) | old_state;
}

/* Initiate FLR is an action, not state: it always reads back 0. */
static bool flr_fixup(struct pci_config *cfg)
{
	unsigned reg = cfg->pcie_cap + PCI_EXP_DEVCTL;
	uint16_t devctl = get16(cfg->data, reg);

	if (!(devctl & PCI_EXP_DEVCTL_BCR_FLR))
		return false;
	put16(cfg->data, reg, devctl & ~PCI_EXP_DEVCTL_BCR_FLR);
	return true;
}

static void write_bytes(struct pci_config *cfg, unsigned off, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned o = off + i;
		uint8_t wm = cfg->wmask[o];
		uint8_t v = src[i];
		uint8_t val = (cfg->data[o] & ~wm) | (v & wm);

		cfg->data[o] = val & ~(v & cfg->w1cmask[o]);
	}
}

int pci_config_write(struct pci_config *cfg, uint64_t off, const void *buf, size_t len,
		     struct pci_config_change *change)
{
	struct pci_config_change c = { 0 };
	uint8_t old_pm_state = 0;

	if (!access_ok(cfg, off, len))
		return -EINVAL;

	c.old_command = pci_config_command(cfg);
	if (cfg->pm_cap)
		old_pm_state = cfg->data[cfg->pm_cap + PCI_PM_CTRL] & PCI_PM_CTRL_STATE_MASK;

	write_bytes(cfg, off, buf, len);

	c.command = touches(off, len, PCI_COMMAND, 2);
	c.bar = touches(off, len, PCI_BASE_ADDRESS_0, 4 * PCI_NUM_BARS) ||
		touches(off, len, PCI_ROM_ADDRESS, 4);
	if (cfg->msix_cap)
		c.msix_control = touches(off, len, cfg->msix_cap + PCI_MSIX_FLAGS, 2);
	if (cfg->pm_cap && touches(off, len, cfg->pm_cap + PCI_PM_CTRL, 1)) {
		pm_fixup(cfg, old_pm_state);
		c.pm_state = true;
	}
	if (cfg->pcie_cap && touches(off, len, cfg->pcie_cap + PCI_EXP_DEVCTL, 2))
		c.flr = flr_fixup(cfg);

	if (change)
		*change = c;
	return 0;
}

void pci_config_reset(struct pci_config *cfg)
{
	for (unsigned i = 0; i < cfg->size; i++) {
		uint8_t m = cfg->wmask[i] | cfg->w1cmask[i];

		cfg->data[i] = (cfg->data[i] & ~m) | (cfg->reset_data[i] & m);
	}
	pci_config_set_intx_status(cfg, false);
}

uint16_t pci_config_command(const struct pci_config *cfg)
{
	return get16(cfg->data, PCI_COMMAND);
}

static uint16_t msix_control(const struct pci_config *cfg)
{
	return cfg->msix_cap ? get16(cfg->data, cfg->msix_cap + PCI_MSIX_FLAGS) : 0;
}

bool pci_config_msix_enabled(const struct pci_config *cfg)
{
	return msix_control(cfg) & PCI_MSIX_FLAGS_ENABLE;
}

bool pci_config_msix_masked(const struct pci_config *cfg)
{
	return msix_control(cfg) & PCI_MSIX_FLAGS_MASKALL;
}

void pci_config_set_intx_status(struct pci_config *cfg, bool asserted)
{
	if (asserted)
		cfg->data[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		cfg->data[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
}
