// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/vfio-user/dispatch.c: which requests a device sees
 * inside its quiesce/resume bracket. A config space write can reset the
 * function or gate its interrupts, so it must come bracketed however the
 * client sends it (REGION_WRITE or an entry of REGION_WRITE_MULTI).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vfio-user/session.h"

struct fake {
	bool quiesced;
	unsigned quiesces;
	unsigned config_writes, config_writes_quiesced;
	unsigned bar_writes;
};

static int fake_read(void *opaque, unsigned region, uint64_t off, void *buf, uint32_t len)
{
	(void)opaque, (void)region, (void)off;
	memset(buf, 0, len);
	return 0;
}

static int fake_write(void *opaque, unsigned region, uint64_t off, const void *buf, uint32_t len)
{
	struct fake *f = opaque;

	(void)off, (void)buf, (void)len;
	if (region != VFU_PCI_CONFIG) {
		f->bar_writes++;
		return 0;
	}
	f->config_writes++;
	if (f->quiesced)
		f->config_writes_quiesced++;
	return 0;
}

static int fake_reset(void *opaque)
{
	(void)opaque;
	return 0;
}

static void fake_quiesce(void *opaque)
{
	struct fake *f = opaque;

	assert_false(f->quiesced);
	f->quiesced = true;
	f->quiesces++;
}

static void fake_resume(void *opaque)
{
	struct fake *f = opaque;

	assert_true(f->quiesced);
	f->quiesced = false;
}

static const struct vfu_device_ops fake_ops = {
	.region_read = fake_read,
	.region_write = fake_write,
	.reset = fake_reset,
	.quiesce = fake_quiesce,
	.resume = fake_resume,
};

static long send(struct vfu_device *dev, uint16_t cmd, const void *payload, size_t len)
{
	struct vfu_session s = { .fd = -1, .dev = dev, .negotiated = true };
	struct vfu_hdr hdr = { .cmd = cmd, .msg_size = (uint32_t)(sizeof(hdr) + len) };
	struct vfu_request req = { .hdr = &hdr, .payload = payload, .len = len };
	uint8_t buf[256];
	struct vfu_reply rep = { .buf = buf, .cap = sizeof(buf), .fd = -1 };

	return vfu_dispatch(&s, &req, &rep);
}

static void test_config_write_quiesced(void **state)
{
	struct fake f = { 0 };
	struct vfu_device dev = { .name = "fake", .ops = &fake_ops, .opaque = &f };
	struct {
		struct vfu_region_access a;
		uint16_t v;
	} __attribute__((packed)) w = { { .offset = 0x4, .region = VFU_PCI_CONFIG, .count = 2 }, 4 };

	(void)state;
	assert_int_equal(send(&dev, VFU_CMD_REGION_WRITE, &w, sizeof(w)), sizeof(w.a));
	assert_int_equal(f.config_writes, 1);
	assert_int_equal(f.config_writes_quiesced, 1);
	assert_false(f.quiesced);
}

static void test_write_multi_config_quiesced(void **state)
{
	struct fake f = { 0 };
	struct vfu_device dev = { .name = "fake", .ops = &fake_ops, .opaque = &f };
	struct {
		struct vfu_region_write_multi m;
		struct vfu_write_multi_entry e[2];
	} __attribute__((packed)) w = { .m.wr_cnt = 2 };

	(void)state;
	w.e[0] = (struct vfu_write_multi_entry){ .offset = 0, .region = VFU_PCI_BAR0, .count = 4 };
	/* Device Control with Initiate FLR: the function resets under this write. */
	w.e[1] = (struct vfu_write_multi_entry){ .offset = 0x58, .region = VFU_PCI_CONFIG,
						 .count = 2, .data = { 0x00, 0x80 } };
	send(&dev, VFU_CMD_REGION_WRITE_MULTI, &w, sizeof(w));
	assert_int_equal(f.bar_writes, 1);
	assert_int_equal(f.config_writes, 1);
	assert_int_equal(f.config_writes_quiesced, 1);
	assert_false(f.quiesced);

	/* BAR writes alone go through without a bracket (the hot path). */
	w.m.wr_cnt = 1;
	f.quiesces = 0;
	send(&dev, VFU_CMD_REGION_WRITE_MULTI, &w, sizeof(w.m) + sizeof(w.e[0]));
	assert_int_equal(f.bar_writes, 2);
	assert_int_equal(f.quiesces, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_write_quiesced),
		cmocka_unit_test(test_write_multi_config_quiesced),
	};

	return cmocka_run_group_tests_name("dispatch", tests, NULL, NULL);
}
