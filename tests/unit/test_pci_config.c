// SPDX-License-Identifier: MIT
/* Unit tests for src/pci/config.c: what a guest (through QEMU) sees and may change. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pci/config.h"

static const struct pci_ids testdev_ids = {
	.vendor = 0x1234,
	.device = 0x11ed,
	.subsys_vendor = 0x1234,
	.subsys = 0x0001,
	.class_code = 0x00ff00,
	.revision = 0x01,
	.irq_pin = 1,
};

static const uint8_t vendor_payload[] = { 'i', 'o', 'm', 'e', 'd' };

/* ---- helpers: access the space only as the guest would ---- */

static uint32_t rd(const struct pci_config *cfg, uint64_t off, size_t len)
{
	uint8_t b[4] = { 0 };

	assert_true(len <= 4);
	assert_int_equal(pci_config_read(cfg, off, b, len), 0);
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static struct pci_config_change wr(struct pci_config *cfg, uint64_t off, uint32_t val, size_t len)
{
	struct pci_config_change c;
	uint8_t b[4] = { val & 0xff, (val >> 8) & 0xff, (val >> 16) & 0xff, val >> 24 };

	memset(&c, 0xa5, sizeof(c));
	assert_true(len <= 4);
	assert_int_equal(pci_config_write(cfg, off, b, len, &c), 0);
	return c;
}

static struct pci_config *new_cfg(const struct pci_ids *ids)
{
	struct pci_config *cfg = malloc(sizeof(*cfg));

	assert_non_null(cfg);
	memset(cfg, 0xee, sizeof(*cfg)); /* init must not rely on zeroed memory */
	pci_config_init(cfg, ids);
	return cfg;
}

/* The testdev layout from docs/testdev.md, plus a 64-bit 8 GiB BAR at 3-4. */
static int setup_testdev(void **state)
{
	struct pci_config *cfg = new_cfg(&testdev_ids);

	assert_int_equal(pci_config_set_bar(cfg, 0, 4096, PCI_BAR_MEM32), 0);
	assert_int_equal(pci_config_set_bar(cfg, 1, 4096, PCI_BAR_MEM32), 0);
	assert_int_equal(pci_config_set_bar(cfg, 2, 16384, PCI_BAR_MEM32 | PCI_BAR_PREFETCH), 0);
	assert_int_equal(pci_config_set_bar(cfg, 3, 8ull << 30, PCI_BAR_MEM64 | PCI_BAR_PREFETCH), 0);
	assert_int_equal(pci_config_add_pm(cfg), 0x40);
	assert_int_equal(pci_config_add_msix(cfg, 8, 1, 0, 1, 0x800), 0x50);
	assert_int_equal(pci_config_add_pcie(cfg, PCI_EXP_TYPE_ENDPOINT, true), 0x60);
	assert_int_equal(pci_config_add_vendor(cfg, vendor_payload, sizeof(vendor_payload)), 0xa0);
	pci_config_seal(cfg);
	*state = cfg;
	return 0;
}

static int setup_bare(void **state)
{
	*state = new_cfg(&testdev_ids);
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* ---- header ---- */

static void test_header_ids_whole_read(void **state)
{
	struct pci_config *cfg = *state;
	uint8_t *buf = malloc(PCI_CFG_SIZE_EXPRESS);

	assert_non_null(buf);
	assert_int_equal(cfg->size, PCI_CFG_SIZE_EXPRESS);
	/* QEMU reads the whole space in one REGION_READ. */
	assert_int_equal(pci_config_read(cfg, 0, buf, PCI_CFG_SIZE_EXPRESS), 0);
	assert_int_equal(buf[0x00], 0x34);
	assert_int_equal(buf[0x01], 0x12);
	assert_int_equal(buf[0x02], 0xed);
	assert_int_equal(buf[0x03], 0x11);
	assert_int_equal(buf[0x04] | buf[0x05] << 8, 0); /* command */
	assert_int_equal(buf[0x06] | buf[0x07] << 8, PCI_STATUS_CAP_LIST);
	assert_int_equal(buf[PCI_REVISION_ID], 0x01);
	assert_int_equal(buf[0x09], 0x00); /* prog-if */
	assert_int_equal(buf[0x0a], 0xff); /* subclass */
	assert_int_equal(buf[0x0b], 0x00); /* class */
	assert_int_equal(buf[PCI_HEADER_TYPE], 0);
	assert_int_equal(buf[0x2c], 0x34);
	assert_int_equal(buf[0x2d], 0x12);
	assert_int_equal(buf[0x2e], 0x01);
	assert_int_equal(buf[0x2f], 0x00);
	assert_int_equal(buf[PCI_CAPABILITY_LIST], 0x40);
	assert_int_equal(buf[PCI_INTERRUPT_PIN], 1);
	assert_int_equal(buf[PCI_INTERRUPT_LINE], 0);
	/* BAR type bits are what QEMU reads from our BAR registers. */
	assert_int_equal(buf[0x10], 0x00);
	assert_int_equal(buf[0x18], 0x08);
	assert_int_equal(buf[0x1c], 0x0c);
	assert_int_equal(buf[0x24], 0x00);
	free(buf);
}

static void test_header_class_byte_order(void **state)
{
	struct pci_ids ids = testdev_ids;
	struct pci_config *cfg;

	(void)state;
	ids.class_code = 0x0c0330; /* USB xHCI: class 0c, subclass 03, prog-if 30 */
	ids.irq_pin = 0;
	cfg = new_cfg(&ids);
	assert_int_equal(rd(cfg, PCI_REVISION_ID, 4), 0x0c033001);
	assert_int_equal(rd(cfg, PCI_INTERRUPT_PIN, 1), 0);
	/* No capability: no CAP_LIST bit, null pointer, legacy size. */
	assert_int_equal(rd(cfg, PCI_STATUS, 2), 0);
	assert_int_equal(rd(cfg, PCI_CAPABILITY_LIST, 1), 0);
	assert_int_equal(cfg->size, PCI_CFG_SIZE_LEGACY);
	free(cfg);
}

static void test_header_writable_bytes(void **state)
{
	struct pci_config *cfg = *state;

	/* Interrupt line, cache line size, latency timer: read-write. */
	wr(cfg, PCI_INTERRUPT_LINE, 0xffff, 2);
	assert_int_equal(rd(cfg, PCI_INTERRUPT_LINE, 1), 0xff);
	assert_int_equal(rd(cfg, PCI_INTERRUPT_PIN, 1), 1);
	wr(cfg, PCI_CACHE_LINE_SIZE, 0xffffffff, 4);
	assert_int_equal(rd(cfg, PCI_CACHE_LINE_SIZE, 4), 0x0000ffff);
	/* IDs, class, revision, subsystem, capability pointer: read-only. */
	wr(cfg, 0, 0, 4);
	wr(cfg, PCI_REVISION_ID, 0xffffffff, 4);
	wr(cfg, PCI_SUBSYSTEM_VENDOR_ID, 0, 4);
	wr(cfg, PCI_CAPABILITY_LIST, 0, 4);
	assert_int_equal(rd(cfg, 0, 4), 0x11ed1234);
	assert_int_equal(rd(cfg, PCI_REVISION_ID, 4), 0x00ff0001);
	assert_int_equal(rd(cfg, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00011234);
	assert_int_equal(rd(cfg, PCI_CAPABILITY_LIST, 1), 0x40);
}

static void test_command_writable_bits(void **state)
{
	struct pci_config *cfg = *state;
	struct pci_config_change c;
	const uint16_t rw = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			    PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE;

	c = wr(cfg, PCI_COMMAND, 0xffff, 2);
	assert_true(c.command);
	assert_int_equal(c.old_command, 0);
	assert_false(c.bar);
	assert_false(c.msix_control);
	assert_false(c.flr);
	assert_int_equal(rd(cfg, PCI_COMMAND, 2), rw);
	assert_int_equal(pci_config_command(cfg), rw);

	c = wr(cfg, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_true(c.command);
	assert_int_equal(c.old_command, rw);
	assert_int_equal(pci_config_command(cfg), PCI_COMMAND_MEMORY);

	/* A byte write to the upper half counts as a command write too. */
	c = wr(cfg, PCI_COMMAND + 1, 0xff, 1);
	assert_true(c.command);
	assert_int_equal(c.old_command, PCI_COMMAND_MEMORY);
	assert_int_equal(pci_config_command(cfg),
			 PCI_COMMAND_MEMORY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);

	/* A write elsewhere does not report a command change. */
	c = wr(cfg, PCI_INTERRUPT_LINE, 5, 1);
	assert_false(c.command);
}

static void test_status_rw1c(void **state)
{
	struct pci_config *cfg = *state;

	/* The device (not the guest) sets error bits and INTx status. */
	cfg->data[PCI_STATUS + 1] |= 0xf9;
	pci_config_set_intx_status(cfg, true);
	assert_int_equal(rd(cfg, PCI_STATUS, 2), 0xf900 | PCI_STATUS_CAP_LIST | PCI_STATUS_INTERRUPT);

	/* Writing 0 changes nothing. */
	wr(cfg, PCI_STATUS, 0, 2);
	assert_int_equal(rd(cfg, PCI_STATUS, 2), 0xf900 | PCI_STATUS_CAP_LIST | PCI_STATUS_INTERRUPT);

	/* Writing 1 clears exactly those bits. */
	wr(cfg, PCI_STATUS, 0x8100, 2);
	assert_int_equal(rd(cfg, PCI_STATUS, 2), 0x7800 | PCI_STATUS_CAP_LIST | PCI_STATUS_INTERRUPT);

	/* All ones: CAP_LIST and INTERRUPT are read-only. */
	wr(cfg, PCI_STATUS, 0xffff, 2);
	assert_int_equal(rd(cfg, PCI_STATUS, 2), PCI_STATUS_CAP_LIST | PCI_STATUS_INTERRUPT);

	pci_config_set_intx_status(cfg, false);
	assert_int_equal(rd(cfg, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);

	/* A dword write to command+status: command gets set, status untouched. */
	pci_config_set_intx_status(cfg, true);
	wr(cfg, PCI_COMMAND, 0xffff0006, 4);
	assert_int_equal(rd(cfg, PCI_COMMAND, 4),
			 (uint32_t)(PCI_STATUS_CAP_LIST | PCI_STATUS_INTERRUPT) << 16 | 0x0006);
}

static void test_unaligned_write_across_registers(void **state)
{
	struct pci_config *cfg = *state;
	struct pci_config_change c;

	/* Bytes 0x02..0x05: device ID (RO) and command (RW). */
	c = wr(cfg, PCI_DEVICE_ID, 0x0007ffff, 4);
	assert_true(c.command);
	assert_int_equal(rd(cfg, 0, 4), 0x11ed1234);
	assert_int_equal(pci_config_command(cfg), 0x0007);
}

/* ---- BARs ---- */

static void test_bar_sizing_32(void **state)
{
	struct pci_config *cfg = *state;
	struct pci_config_change c;

	c = wr(cfg, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	assert_true(c.bar);
	assert_false(c.command);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0, 4), 0xfffff000);

	wr(cfg, PCI_BASE_ADDRESS_0 + 8, 0xffffffff, 4);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0 + 8, 4), 0xffffc000 | PCI_BAR_PREFETCH);

	/* Programming an address keeps the type bits; low bits are ignored. */
	wr(cfg, PCI_BASE_ADDRESS_0 + 8, 0xfebc3fff, 4);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0 + 8, 4), 0xfebc0008);
	wr(cfg, PCI_BASE_ADDRESS_0, 0xfeb00000, 4);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0, 4), 0xfeb00000);
}

static void test_bar_sizing_64(void **state)
{
	struct pci_config *cfg = *state;
	struct pci_config *small = new_cfg(&testdev_ids);

	/* 8 GiB: the low dword has no address bits at all. */
	wr(cfg, PCI_BASE_ADDRESS_0 + 12, 0xffffffff, 4);
	wr(cfg, PCI_BASE_ADDRESS_0 + 16, 0xffffffff, 4);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0 + 12, 4), PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0 + 16, 4), 0xfffffffe);
	assert_int_equal(cfg->bar_size[3], 8ull << 30);
	assert_int_equal(cfg->bar_size[4], 0);

	/* 16 KiB 64-bit: low dword carries the mask, high dword all writable. */
	assert_int_equal(pci_config_set_bar(small, 4, 16384, PCI_BAR_MEM64), 0);
	assert_int_equal(rd(small, PCI_BASE_ADDRESS_0 + 16, 4), PCI_BAR_MEM64);
	wr(small, PCI_BASE_ADDRESS_0 + 16, 0xffffffff, 4);
	wr(small, PCI_BASE_ADDRESS_0 + 20, 0xffffffff, 4);
	assert_int_equal(rd(small, PCI_BASE_ADDRESS_0 + 16, 4), 0xffffc000 | PCI_BAR_MEM64);
	assert_int_equal(rd(small, PCI_BASE_ADDRESS_0 + 20, 4), 0xffffffff);
	wr(small, PCI_BASE_ADDRESS_0 + 16, 0x80000000, 4);
	wr(small, PCI_BASE_ADDRESS_0 + 20, 0x00000012, 4);
	assert_int_equal(rd(small, PCI_BASE_ADDRESS_0 + 16, 4), 0x80000004);
	assert_int_equal(rd(small, PCI_BASE_ADDRESS_0 + 20, 4), 0x12);
	free(small);
}

static void test_bar_io(void **state)
{
	struct pci_config *cfg = *state;

	assert_int_equal(pci_config_set_bar(cfg, 0, 32, PCI_BAR_IO), 0);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0, 4), PCI_BAR_IO);
	wr(cfg, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0, 4), 0xffffffe0 | PCI_BAR_IO);
	/* The smallest I/O BAR: 4 bytes, bit 1 reserved. */
	assert_int_equal(pci_config_set_bar(cfg, 1, 4, PCI_BAR_IO), 0);
	wr(cfg, PCI_BASE_ADDRESS_0 + 4, 0xffffffff, 4);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0 + 4, 4), 0xfffffffc | PCI_BAR_IO);
	/* Too small, too large, not a pure I/O type. */
	assert_int_equal(pci_config_set_bar(cfg, 2, 2, PCI_BAR_IO), -EINVAL);
	assert_int_equal(pci_config_set_bar(cfg, 2, 512, PCI_BAR_IO), -EINVAL);
	assert_int_equal(pci_config_set_bar(cfg, 2, 16, PCI_BAR_IO | PCI_BAR_MEM64), -EINVAL);
}

static void test_bar_unused_and_rom(void **state)
{
	struct pci_config *cfg = *state;
	struct pci_config_change c;

	c = wr(cfg, PCI_BASE_ADDRESS_0 + 20, 0xffffffff, 4);
	assert_true(c.bar);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0 + 20, 4), 0);
	c = wr(cfg, PCI_ROM_ADDRESS, 0xffffffff, 4);
	assert_true(c.bar);
	assert_int_equal(rd(cfg, PCI_ROM_ADDRESS, 4), 0);
	/* Cardbus CIS pointer, min_gnt, max_lat: read-only 0. */
	wr(cfg, 0x28, 0xffffffff, 4);
	wr(cfg, PCI_MIN_GNT, 0xffff, 2);
	assert_int_equal(rd(cfg, 0x28, 4), 0);
	assert_int_equal(rd(cfg, PCI_MIN_GNT, 2), 0);
}

static void test_bar_rejects(void **state)
{
	struct pci_config *cfg = *state;

	assert_int_equal(pci_config_set_bar(cfg, 5, 4096, PCI_BAR_MEM64), -EINVAL);
	assert_int_equal(pci_config_set_bar(cfg, 5, 4097, PCI_BAR_MEM32), -EINVAL);
	assert_int_equal(pci_config_set_bar(cfg, 5, 3 << 12, PCI_BAR_MEM32), -EINVAL);
	assert_int_equal(pci_config_set_bar(cfg, 5, 0, PCI_BAR_MEM32), -EINVAL);
	assert_int_equal(pci_config_set_bar(cfg, 5, 8, PCI_BAR_MEM32), -EINVAL);
	assert_int_equal(pci_config_set_bar(cfg, 5, 4ull << 30, PCI_BAR_MEM32), -EINVAL);
	assert_int_equal(pci_config_set_bar(cfg, 5, 4096, 0x2), -EINVAL);
	assert_int_equal(pci_config_set_bar(cfg, 5, 4096, 0x10), -EINVAL);
	assert_int_equal(pci_config_set_bar(cfg, 6, 4096, PCI_BAR_MEM32), -EINVAL);
	/* BAR 4 is the upper half of BAR 3; BAR 0 is taken. */
	assert_int_equal(pci_config_set_bar(cfg, 4, 4096, PCI_BAR_MEM32), -EINVAL);
	assert_int_equal(pci_config_set_bar(cfg, 2, 4096, PCI_BAR_MEM64), -EINVAL);
	assert_int_equal(pci_config_set_bar(cfg, 0, 4096, PCI_BAR_MEM32), -EINVAL);
	/* Nothing above changed BAR 5: it still reads 0 and is not writable. */
	wr(cfg, PCI_BASE_ADDRESS_0 + 20, 0xffffffff, 4);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0 + 20, 4), 0);
	/* The largest 32-bit BAR is fine. */
	assert_int_equal(pci_config_set_bar(cfg, 5, 2ull << 30, PCI_BAR_MEM32), 0);
	wr(cfg, PCI_BASE_ADDRESS_0 + 20, 0xffffffff, 4);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0 + 20, 4), 0x80000000);
}

/* ---- capabilities ---- */

static void test_cap_walk(void **state)
{
	struct pci_config *cfg = *state;
	const uint8_t want_id[] = { PCI_CAP_ID_PM, PCI_CAP_ID_MSIX, PCI_CAP_ID_EXP, PCI_CAP_ID_VNDR };
	const uint8_t want_off[] = { 0x40, 0x50, 0x60, 0xa0 };
	unsigned n = 0;
	uint8_t pos;

	assert_true(rd(cfg, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	pos = rd(cfg, PCI_CAPABILITY_LIST, 1);
	while (pos && n < 48) {
		assert_true(n < 4);
		assert_int_equal(pos, want_off[n]);
		assert_int_equal(pos & 3, 0);
		assert_int_equal(rd(cfg, pos, 1), want_id[n]);
		pos = rd(cfg, pos + 1, 1);
		n++;
	}
	assert_int_equal(n, 4);
	assert_int_equal(cfg->pm_cap, 0x40);
	assert_int_equal(cfg->msix_cap, 0x50);
	assert_int_equal(cfg->pcie_cap, 0x60);
}

static void test_vendor_cap(void **state)
{
	struct pci_config *cfg = *state;
	uint8_t buf[sizeof(vendor_payload)];

	assert_int_equal(rd(cfg, 0xa2, 1), 3 + sizeof(vendor_payload));
	assert_int_equal(pci_config_read(cfg, 0xa3, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, vendor_payload, sizeof(buf));
	/* Payload, length and next pointer are read-only. */
	wr(cfg, 0xa0, 0xffffffff, 4);
	wr(cfg, 0xa4, 0xffffffff, 4);
	assert_int_equal(rd(cfg, 0xa0, 4), 0x69080009);
	assert_int_equal(pci_config_read(cfg, 0xa3, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, vendor_payload, sizeof(buf));
	/* A payload whose length no longer fits the length byte. */
	assert_int_equal(pci_config_add_vendor(cfg, buf, 253), -EINVAL);
	assert_int_equal(pci_config_add_vendor(cfg, NULL, 1), -EINVAL);
}

static void test_cap_enospc(void **state)
{
	struct pci_config *cfg = *state;
	unsigned n = 0;
	int off;

	assert_int_equal(pci_config_add_cap(cfg, 0x42, 1), -EINVAL);
	assert_int_equal(pci_config_add_cap(cfg, 0x42, 0xc1), -ENOSPC);
	for (;;) {
		off = pci_config_add_cap(cfg, 0x42, 16);
		if (off < 0)
			break;
		assert_int_equal(off, 0x40 + 16 * n);
		n++;
	}
	assert_int_equal(off, -ENOSPC);
	assert_int_equal(n, 12);
	assert_int_equal(pci_config_add_pm(cfg), -ENOSPC);
	assert_int_equal(pci_config_add_vendor(cfg, NULL, 0), -ENOSPC);
	assert_int_equal(pci_config_add_pcie(cfg, PCI_EXP_TYPE_ENDPOINT, false), -ENOSPC);
	/* A failed add leaves a consistent list: the last cap still ends it. */
	assert_int_equal(rd(cfg, 0xf0 + 1, 1), 0);
	assert_int_equal(rd(cfg, 0xe0 + 1, 1), 0xf0);
	assert_int_equal(cfg->pcie_cap, 0);
	assert_int_equal(cfg->size, PCI_CFG_SIZE_LEGACY);
}

static void test_cap_fills_to_end(void **state)
{
	struct pci_config *cfg = *state;

	/* A cap may end exactly at 0x100. */
	assert_int_equal(pci_config_add_cap(cfg, 0x42, 0xb0), 0x40);
	assert_int_equal(pci_config_add_cap(cfg, 0x43, 0x10), 0xf0);
	assert_int_equal(pci_config_add_cap(cfg, 0x44, 2), -ENOSPC);
}

static void test_msix_encoding(void **state)
{
	struct pci_config *cfg = *state;
	struct pci_config *big = new_cfg(&testdev_ids);

	assert_int_equal(rd(cfg, 0x50, 2), PCI_CAP_ID_MSIX | 0x60 << 8);
	assert_int_equal(rd(cfg, 0x50 + PCI_MSIX_FLAGS, 2), 7);
	assert_int_equal(rd(cfg, 0x50 + PCI_MSIX_TABLE, 4), 0x00000001);
	assert_int_equal(rd(cfg, 0x50 + PCI_MSIX_PBA, 4), 0x00000801);

	/* 2048 vectors in a 64-bit BAR, PBA in another BAR. */
	assert_int_equal(pci_config_set_bar(big, 2, 64 << 10, PCI_BAR_MEM64), 0);
	assert_int_equal(pci_config_set_bar(big, 5, 4096, PCI_BAR_MEM32), 0);
	assert_int_equal(pci_config_add_msix(big, 2048, 2, 0x8000, 5, 0xf00), 0x40);
	assert_int_equal(rd(big, 0x40 + PCI_MSIX_FLAGS, 2), 0x7ff);
	assert_int_equal(rd(big, 0x40 + PCI_MSIX_TABLE, 4), 0x8002);
	assert_int_equal(rd(big, 0x40 + PCI_MSIX_PBA, 4), 0xf05);
	free(big);
}

static void test_msix_rejects(void **state)
{
	struct pci_config *cfg = *state;

	assert_int_equal(pci_config_set_bar(cfg, 0, 32768, PCI_BAR_MEM32), 0);
	assert_int_equal(pci_config_set_bar(cfg, 1, 4096, PCI_BAR_MEM64), 0);
	assert_int_equal(pci_config_set_bar(cfg, 3, 16, PCI_BAR_IO), 0);
	assert_int_equal(pci_config_add_msix(cfg, 0, 0, 0, 0, 0x800), -EINVAL);
	assert_int_equal(pci_config_add_msix(cfg, 2049, 0, 0, 0, 0x7000), -EINVAL);
	assert_int_equal(pci_config_add_msix(cfg, 8, 6, 0, 0, 0x800), -EINVAL);
	assert_int_equal(pci_config_add_msix(cfg, 8, 0, 0, 6, 0x800), -EINVAL);
	assert_int_equal(pci_config_add_msix(cfg, 8, 0, 4, 0, 0x800), -EINVAL);
	assert_int_equal(pci_config_add_msix(cfg, 8, 0, 0, 0, 0x804), -EINVAL);
	/* BAR 4 is undeclared (or the upper half of 1), BAR 3 is I/O. */
	assert_int_equal(pci_config_add_msix(cfg, 8, 4, 0, 0, 0x800), -EINVAL);
	assert_int_equal(pci_config_add_msix(cfg, 8, 2, 0, 0, 0x800), -EINVAL);
	assert_int_equal(pci_config_add_msix(cfg, 1, 3, 0, 0, 0x800), -EINVAL);
	/* Table or PBA past the end of the BAR, or overlapping each other. */
	assert_int_equal(pci_config_add_msix(cfg, 257, 1, 0, 0, 0), -EINVAL);
	assert_int_equal(pci_config_add_msix(cfg, 8, 0, 0, 1, 4096), -EINVAL);
	assert_int_equal(pci_config_add_msix(cfg, 8, 0, 0xfffffff8, 1, 0), -EINVAL);
	assert_int_equal(pci_config_add_msix(cfg, 8, 0, 0, 0, 0x40), -EINVAL);
	assert_int_equal(cfg->msix_cap, 0);
	/* A table filling BAR 1 exactly is fine; a second MSI-X is not. */
	assert_int_equal(pci_config_add_msix(cfg, 256, 1, 0, 0, 0), 0x40);
	assert_int_equal(pci_config_add_msix(cfg, 8, 0, 0, 0, 0x800), -EEXIST);
	assert_int_equal(rd(cfg, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(rd(cfg, 0x41, 1), 0);
}

static void test_msix_enable_mask(void **state)
{
	struct pci_config *cfg = *state;
	const unsigned ctrl = 0x50 + PCI_MSIX_FLAGS;
	struct pci_config_change c;

	assert_false(pci_config_msix_enabled(cfg));
	assert_false(pci_config_msix_masked(cfg));

	/* Only ENABLE and MASKALL are writable; the table size stays. */
	c = wr(cfg, ctrl, 0xffff, 2);
	assert_true(c.msix_control);
	assert_false(c.command);
	assert_int_equal(rd(cfg, ctrl, 2), 0xc007);
	assert_true(pci_config_msix_enabled(cfg));
	assert_true(pci_config_msix_masked(cfg));

	c = wr(cfg, ctrl + 1, 0x80, 1);
	assert_true(c.msix_control);
	assert_true(pci_config_msix_enabled(cfg));
	assert_false(pci_config_msix_masked(cfg));

	/* A dword write at the capability start covers the control word. */
	c = wr(cfg, 0x50, 0x00000000, 4);
	assert_true(c.msix_control);
	assert_false(pci_config_msix_enabled(cfg));
	assert_int_equal(rd(cfg, 0x50, 4), 0x00076011);

	/* Table offset/BIR are read-only; writing them is no control write. */
	c = wr(cfg, 0x50 + PCI_MSIX_TABLE, 0xffffffff, 4);
	assert_false(c.msix_control);
	assert_int_equal(rd(cfg, 0x50 + PCI_MSIX_TABLE, 4), 1);
}

static void test_pm(void **state)
{
	struct pci_config *cfg = *state;
	const unsigned pmcsr = 0x40 + PCI_PM_CTRL;
	struct pci_config_change c;

	assert_int_equal(rd(cfg, 0x40, 4), 0x00035001); /* id, next 0x50, PMC v3 */
	assert_int_equal(rd(cfg, pmcsr, 2), PCI_PM_CTRL_NO_SOFT_RESET); /* D0 */

	c = wr(cfg, pmcsr, 3, 2);
	assert_true(c.pm_state);
	assert_int_equal(rd(cfg, pmcsr, 2) & PCI_PM_CTRL_STATE_MASK, 3);
	/* D1 is not supported: the write completes but the state stays. */
	c = wr(cfg, pmcsr, 1, 2);
	assert_true(c.pm_state);
	assert_int_equal(rd(cfg, pmcsr, 2) & PCI_PM_CTRL_STATE_MASK, 3);
	c = wr(cfg, pmcsr, 0, 2);
	assert_int_equal(rd(cfg, pmcsr, 2), PCI_PM_CTRL_NO_SOFT_RESET);

	/* PME status is RW1C; PME enable is not supported; PMC is read-only. */
	cfg->data[pmcsr + 1] |= 0x80;
	c = wr(cfg, pmcsr, 0x0100, 2);
	assert_int_equal(rd(cfg, pmcsr, 2), PCI_PM_CTRL_PME_STATUS | PCI_PM_CTRL_NO_SOFT_RESET);
	c = wr(cfg, pmcsr + 1, 0x80, 1);
	assert_false(c.pm_state);
	assert_int_equal(rd(cfg, pmcsr, 2), PCI_PM_CTRL_NO_SOFT_RESET);
	wr(cfg, 0x40 + PCI_PM_PMC, 0xffff, 2);
	assert_int_equal(rd(cfg, 0x40 + PCI_PM_PMC, 2), 3);
	assert_int_equal(pci_config_add_pm(cfg), -EEXIST);
}

/* ---- PCIe ---- */

static void test_pcie_regs(void **state)
{
	struct pci_config *cfg = *state;
	const unsigned e = 0x60;

	assert_int_equal(rd(cfg, e, 4), (PCI_EXP_TYPE_ENDPOINT << 4 | 2) << 16 | 0xa0 << 8 | 0x10);
	assert_true(rd(cfg, e + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR);
	/* x1 at 2.5GT/s, trained. */
	assert_int_equal(rd(cfg, e + PCI_EXP_LNKCAP, 4) & 0x3ff, 0x11);
	assert_int_equal(rd(cfg, e + PCI_EXP_LNKSTA, 2) & 0x3ff, 0x11);
	assert_int_equal(rd(cfg, e + PCI_EXP_LNKCAP2, 4), 0x2);

	/* DEVCTL: everything but the unsupported bits. */
	wr(cfg, e + PCI_EXP_DEVCTL, 0x7fff, 2);
	assert_int_equal(rd(cfg, e + PCI_EXP_DEVCTL, 2), 0x78ff);
	/* Link status and capabilities are read-only. */
	wr(cfg, e + PCI_EXP_LNKSTA, 0xffff, 2);
	wr(cfg, e + PCI_EXP_LNKCAP, 0, 4);
	assert_int_equal(rd(cfg, e + PCI_EXP_LNKSTA, 2), 0x1011);
	assert_int_equal(rd(cfg, e + PCI_EXP_LNKCAP, 4) & 0x3ff, 0x11);
	/* DEVCTL2: completion timeout value and disable only. */
	wr(cfg, e + PCI_EXP_DEVCTL2, 0xffff, 2);
	assert_int_equal(rd(cfg, e + PCI_EXP_DEVCTL2, 2), 0x001f);
	/* The flags/version word is read-only. */
	wr(cfg, e + PCI_EXP_FLAGS, 0, 2);
	assert_int_equal(rd(cfg, e + PCI_EXP_FLAGS, 2), 2);
}

static void test_pcie_devsta_rw1c(void **state)
{
	struct pci_config *cfg = *state;
	const unsigned sta = 0x60 + PCI_EXP_DEVSTA;

	cfg->data[sta] = 0x3f; /* errors 0-3, aux power, transactions pending */
	wr(cfg, sta, 0x0005, 2);
	assert_int_equal(rd(cfg, sta, 2), 0x3a);
	wr(cfg, sta, 0xffff, 2);
	assert_int_equal(rd(cfg, sta, 2), 0x30);
}

static void test_pcie_flr(void **state)
{
	struct pci_config *cfg = *state;
	const unsigned ctl = 0x60 + PCI_EXP_DEVCTL;
	struct pci_config_change c;
	uint16_t before = rd(cfg, ctl, 2);

	c = wr(cfg, ctl, before | PCI_EXP_DEVCTL_BCR_FLR, 2);
	assert_true(c.flr);
	assert_int_equal(rd(cfg, ctl, 2), before);
	/* Just the high byte, as a driver may write it. */
	c = wr(cfg, ctl + 1, PCI_EXP_DEVCTL_BCR_FLR >> 8, 1);
	assert_true(c.flr);
	assert_int_equal(rd(cfg, ctl, 2) & PCI_EXP_DEVCTL_BCR_FLR, 0);
	/* Writing 0 there is no FLR. */
	c = wr(cfg, ctl, 0x0001, 2);
	assert_false(c.flr);
	assert_int_equal(rd(cfg, ctl, 2), 0x0001);
}

static void test_pcie_no_flr(void **state)
{
	struct pci_config *cfg = *state;
	struct pci_config_change c;
	int e;

	e = pci_config_add_pcie(cfg, PCI_EXP_TYPE_ENDPOINT, false);
	assert_int_equal(e, 0x40);
	assert_int_equal(cfg->size, PCI_CFG_SIZE_EXPRESS);
	assert_false(rd(cfg, e + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR);
	c = wr(cfg, e + PCI_EXP_DEVCTL, 0xffff, 2);
	assert_false(c.flr);
	assert_int_equal(rd(cfg, e + PCI_EXP_DEVCTL, 2), 0x78ff);
	assert_int_equal(pci_config_add_pcie(cfg, PCI_EXP_TYPE_ENDPOINT, true), -EEXIST);
}

static void test_pcie_port_types(void **state)
{
	struct pci_config *cfg = *state;
	int e;

	assert_int_equal(pci_config_add_pcie(cfg, 0x4, false), -EINVAL); /* root port */
	assert_int_equal(pci_config_add_pcie(cfg, 0x5, false), -EINVAL); /* upstream */
	assert_int_equal(cfg->size, PCI_CFG_SIZE_LEGACY);
	assert_int_equal(rd(cfg, PCI_CAPABILITY_LIST, 1), 0);
	e = pci_config_add_pcie(cfg, PCI_EXP_TYPE_RC_END, false);
	assert_int_equal(e, 0x40);
	assert_int_equal(rd(cfg, e + PCI_EXP_FLAGS, 2), PCI_EXP_TYPE_RC_END << 4 | 2);
	/* An integrated endpoint has no link. */
	assert_int_equal(rd(cfg, e + PCI_EXP_LNKCAP, 4), 0);
	assert_int_equal(rd(cfg, e + PCI_EXP_LNKSTA, 2), 0);
}

static void test_ext_caps(void **state)
{
	struct pci_config *cfg = *state;
	const uint16_t want_id[] = { 0x0001, 0x000b, 0x0003 };
	const uint8_t want_ver[] = { 2, 1, 1 };
	unsigned pos = 0x100, n = 0;

	/* Empty extended list: a zero header. */
	assert_int_equal(rd(cfg, 0x100, 4), 0);
	assert_int_equal(pci_config_add_ext_cap(cfg, 0x0001, 2, 0x48), 0x100);
	assert_int_equal(pci_config_add_ext_cap(cfg, 0x000b, 1, 0x0e), 0x148);
	assert_int_equal(pci_config_add_ext_cap(cfg, 0x0003, 1, 12), 0x158);

	while (pos) {
		uint32_t hdr = rd(cfg, pos, 4);

		assert_true(n < 3);
		assert_int_equal(hdr & 0xffff, want_id[n]);
		assert_int_equal((hdr >> 16) & 0xf, want_ver[n]);
		pos = hdr >> 20;
		assert_true(pos == 0 || pos >= 0x100);
		n++;
	}
	assert_int_equal(n, 3);
	/* Headers are read-only. */
	wr(cfg, 0x100, 0, 4);
	assert_int_equal(rd(cfg, 0x100, 4), 0x14820001);

	assert_int_equal(pci_config_add_ext_cap(cfg, 0x0001, 16, 8), -EINVAL);
	assert_int_equal(pci_config_add_ext_cap(cfg, 0x0001, 1, 3), -EINVAL);
	assert_int_equal(pci_config_add_ext_cap(cfg, 0x0001, 1, 4096), -ENOSPC);
	assert_int_equal(pci_config_add_ext_cap(cfg, 0x0001, 1, 0x1000 - 0x164), 0x164);
	assert_int_equal(pci_config_add_ext_cap(cfg, 0x0001, 1, 4), -ENOSPC);
}

static void test_ext_cap_needs_express(void **state)
{
	struct pci_config *cfg = *state;

	assert_int_equal(pci_config_add_ext_cap(cfg, 0x0001, 1, 8), -EINVAL);
	assert_int_equal(cfg->size, PCI_CFG_SIZE_LEGACY);
}

/* ---- bounds ---- */

static void test_out_of_range(void **state)
{
	struct pci_config *cfg = *state;
	struct pci_config *legacy = new_cfg(&testdev_ids);
	uint8_t buf[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *big = calloc(1, PCI_CFG_SIZE_EXPRESS + 1);
	const uint64_t size = cfg->size;

	assert_non_null(big);
	assert_int_equal(pci_config_read(cfg, size, buf, 1), -EINVAL);
	assert_int_equal(pci_config_read(cfg, size - 1, buf, 2), -EINVAL);
	assert_int_equal(pci_config_read(cfg, UINT64_MAX, buf, 2), -EINVAL);
	assert_int_equal(pci_config_read(cfg, UINT64_MAX - 2, buf, 4), -EINVAL);
	assert_int_equal(pci_config_read(cfg, (1ull << 32) + 4, buf, 4), -EINVAL);
	assert_int_equal(pci_config_read(cfg, 0, buf, 0), -EINVAL);
	assert_int_equal(pci_config_read(cfg, 0, big, size + 1), -EINVAL);
	assert_int_equal(pci_config_read(cfg, 1, buf, SIZE_MAX), -EINVAL);

	assert_int_equal(pci_config_write(cfg, size, buf, 1, NULL), -EINVAL);
	assert_int_equal(pci_config_write(cfg, size - 1, buf, 2, NULL), -EINVAL);
	assert_int_equal(pci_config_write(cfg, UINT64_MAX, buf, 2, NULL), -EINVAL);
	assert_int_equal(pci_config_write(cfg, UINT64_MAX - 2, buf, 4, NULL), -EINVAL);
	assert_int_equal(pci_config_write(cfg, (1ull << 32) + 4, buf, 4, NULL), -EINVAL);
	assert_int_equal(pci_config_write(cfg, 4, buf, 0, NULL), -EINVAL);
	assert_int_equal(pci_config_write(cfg, 0, big, size + 1, NULL), -EINVAL);
	assert_int_equal(pci_config_write(cfg, 4, buf, SIZE_MAX, NULL), -EINVAL);
	/* The command register was never written. */
	assert_int_equal(pci_config_command(cfg), 0);

	/* The edges themselves are fine; NULL change is allowed. */
	assert_int_equal(pci_config_read(cfg, size - 1, buf, 1), 0);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(pci_config_write(cfg, size - 4, buf, 4, NULL), 0);
	assert_int_equal(pci_config_write(cfg, PCI_COMMAND, buf, 2, NULL), 0);
	assert_int_equal(pci_config_command(cfg), 0x0547);

	/* Without PCIe, the space ends at 256. */
	assert_int_equal(pci_config_read(legacy, 0, big, 256), 0);
	assert_int_equal(pci_config_read(legacy, 0x100, buf, 4), -EINVAL);
	assert_int_equal(pci_config_read(legacy, 0, big, 4096), -EINVAL);
	assert_int_equal(pci_config_write(legacy, 0xfe, buf, 4, NULL), -EINVAL);
	free(big);
	free(legacy);
}

/* ---- reset ---- */

static void test_reset(void **state)
{
	struct pci_config *cfg = *state;
	uint8_t *before = malloc(PCI_CFG_SIZE_EXPRESS);
	uint8_t *after = malloc(PCI_CFG_SIZE_EXPRESS);

	assert_non_null(before);
	assert_non_null(after);
	assert_int_equal(pci_config_read(cfg, 0, before, PCI_CFG_SIZE_EXPRESS), 0);

	/* A guest that has been busy. */
	wr(cfg, PCI_COMMAND, 0x0007, 2);
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		wr(cfg, PCI_BASE_ADDRESS_0 + 4 * i, 0xfe000000 + i * 0x10000, 4);
	wr(cfg, PCI_CACHE_LINE_SIZE, 0x4010, 2);
	wr(cfg, PCI_INTERRUPT_LINE, 11, 1);
	wr(cfg, 0x50 + PCI_MSIX_FLAGS, 0xc000, 2);
	wr(cfg, 0x40 + PCI_PM_CTRL, 3, 2);
	wr(cfg, 0x60 + PCI_EXP_DEVCTL, 0x000f, 2);
	wr(cfg, 0x60 + PCI_EXP_DEVCTL2, 0x0010, 2);
	cfg->data[PCI_STATUS + 1] |= 0x80;
	pci_config_set_intx_status(cfg, true);
	assert_true(pci_config_msix_enabled(cfg));
	assert_int_not_equal(rd(cfg, PCI_BASE_ADDRESS_0, 4), 0);

	pci_config_reset(cfg);

	assert_int_equal(pci_config_command(cfg), 0);
	assert_false(pci_config_msix_enabled(cfg));
	assert_false(pci_config_msix_masked(cfg));
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0, 4), 0);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0 + 8, 4), PCI_BAR_PREFETCH);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0 + 12, 4), PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
	assert_int_equal(rd(cfg, PCI_BASE_ADDRESS_0 + 16, 4), 0);
	assert_int_equal(rd(cfg, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	assert_int_equal(rd(cfg, 0x60 + PCI_EXP_DEVCTL, 2), 0x2810);
	assert_int_equal(rd(cfg, 0x40 + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK, 0);
	/* Every byte, IDs and capabilities included, is back to power-on. */
	assert_int_equal(pci_config_read(cfg, 0, after, PCI_CFG_SIZE_EXPRESS), 0);
	assert_memory_equal(before, after, PCI_CFG_SIZE_EXPRESS);
	assert_int_equal(rd(cfg, 0, 4), 0x11ed1234);
	free(before);
	free(after);
}

static void test_reset_keeps_device_ro_state(void **state)
{
	struct pci_config *cfg = *state;

	/* A read-only byte the device set after sealing is not the guest's to reset. */
	cfg->data[PCI_MAX_LAT] = 0x12;
	wr(cfg, PCI_COMMAND, 0x0002, 2);
	pci_config_reset(cfg);
	assert_int_equal(rd(cfg, PCI_MAX_LAT, 1), 0x12);
	assert_int_equal(pci_config_command(cfg), 0);
	/* Without an explicit seal, setup helpers still record power-on values. */
	assert_int_equal(pci_config_set_bar(cfg, 0, 4096, PCI_BAR_MEM32), 0);
	assert_int_equal(pci_config_add_pcie(cfg, PCI_EXP_TYPE_ENDPOINT, true), 0x40);
	wr(cfg, 0x40 + PCI_EXP_DEVCTL, 0, 2);
	pci_config_reset(cfg);
	assert_int_equal(rd(cfg, 0x40 + PCI_EXP_DEVCTL, 2), 0x2810);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_header_ids_whole_read, setup_testdev),
		cmocka_unit_test(test_header_class_byte_order),
		T(test_header_writable_bytes, setup_testdev),
		T(test_command_writable_bits, setup_testdev),
		T(test_status_rw1c, setup_testdev),
		T(test_unaligned_write_across_registers, setup_testdev),
		T(test_bar_sizing_32, setup_testdev),
		T(test_bar_sizing_64, setup_testdev),
		T(test_bar_io, setup_bare),
		T(test_bar_unused_and_rom, setup_testdev),
		T(test_bar_rejects, setup_testdev),
		T(test_cap_walk, setup_testdev),
		T(test_vendor_cap, setup_testdev),
		T(test_cap_enospc, setup_bare),
		T(test_cap_fills_to_end, setup_bare),
		T(test_msix_encoding, setup_testdev),
		T(test_msix_rejects, setup_bare),
		T(test_msix_enable_mask, setup_testdev),
		T(test_pm, setup_testdev),
		T(test_pcie_regs, setup_testdev),
		T(test_pcie_devsta_rw1c, setup_testdev),
		T(test_pcie_flr, setup_testdev),
		T(test_pcie_no_flr, setup_bare),
		T(test_pcie_port_types, setup_bare),
		T(test_ext_caps, setup_testdev),
		T(test_ext_cap_needs_express, setup_bare),
		T(test_out_of_range, setup_testdev),
		T(test_reset, setup_testdev),
		T(test_reset_keeps_device_ro_state, setup_bare),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
