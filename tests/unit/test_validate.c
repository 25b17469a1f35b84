// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/vfio-user/validate.c: every malformed client message
 * must be refused before a handler sees it. Each rejection is paired with
 * an accepted neighbour so that a validator rejecting everything fails too.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vfio-user/server.h"
#include "vfio-user/validate.h"

#define KIB 1024u

/* ---- the device validation sees ---- */

enum {
	BAR_RW = 0,      /* 4 KiB read/write */
	BAR_UNUSED = 1,  /* size 0 */
	BAR_BIG = 2,     /* 16 KiB read/write, bigger than the test max_data_xfer */
	BAR_RO = 3,      /* 256 bytes, read only */
	BAR_HUGE = 4,    /* 2^63 bytes */
	BAR_WO = 5,      /* 4 KiB write only */
};

#define TEST_MAX_XFER (4 * KIB)
#define HUGE_SIZE (1ull << 63)

static struct vfu_region_desc regions[VFU_PCI_NUM_REGIONS] = {
	[BAR_RW] = { .size = 4 * KIB, .flags = VFU_REGION_FLAG_READ | VFU_REGION_FLAG_WRITE,
		     .fd = -1 },
	[BAR_UNUSED] = { .size = 0, .flags = VFU_REGION_FLAG_READ | VFU_REGION_FLAG_WRITE,
			 .fd = -1 },
	[BAR_BIG] = { .size = 16 * KIB, .flags = VFU_REGION_FLAG_READ | VFU_REGION_FLAG_WRITE,
		      .fd = -1 },
	[BAR_RO] = { .size = 256, .flags = VFU_REGION_FLAG_READ, .fd = -1 },
	[BAR_HUGE] = { .size = HUGE_SIZE,
		       .flags = VFU_REGION_FLAG_READ | VFU_REGION_FLAG_WRITE, .fd = -1 },
	[BAR_WO] = { .size = 4 * KIB, .flags = VFU_REGION_FLAG_WRITE, .fd = -1 },
	[VFU_PCI_ROM] = { .size = 0, .fd = -1 },
	[VFU_PCI_CONFIG] = { .size = 4 * KIB,
			     .flags = VFU_REGION_FLAG_READ | VFU_REGION_FLAG_WRITE, .fd = -1 },
	[VFU_PCI_VGA] = { .size = 0, .fd = -1 },
};

/* INTx and MSI maskable, MSI-X deliberately not (to reach the MASKABLE check). */
static const struct vfu_irq_desc irqs[VFU_PCI_NUM_IRQS] = {
	[VFU_PCI_INTX] = { 1, VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_MASKABLE |
			      VFU_IRQ_INFO_AUTOMASKED },
	[VFU_PCI_MSI] = { 4, VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_MASKABLE },
	[VFU_PCI_MSIX] = { 8, VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_NORESIZE },
	[VFU_PCI_ERR] = { 1, VFU_IRQ_INFO_EVENTFD },
	[VFU_PCI_REQ] = { 1, VFU_IRQ_INFO_EVENTFD },
};

static const struct vfu_limits lim_new = {
	.regions = regions, .irqs = irqs, .negotiated = false, .max_data_xfer = TEST_MAX_XFER,
};

static const struct vfu_limits lim = {
	.regions = regions, .irqs = irqs, .negotiated = true, .max_data_xfer = TEST_MAX_XFER,
};

/* ---- helpers ---- */

/* Validate a message whose header is consistent with its payload. */
static int vc_lim(const struct vfu_limits *l, uint16_t cmd, uint32_t flags, const void *p,
		  size_t len, unsigned nfds)
{
	struct vfu_hdr hdr = {
		.msg_id = 7, .cmd = cmd, .msg_size = (uint32_t)(sizeof(hdr) + len),
		.flags = flags,
	};
	void *copy = NULL;
	int ret;

	/* A heap copy of exactly @len bytes: ASan catches any read past it. */
	if (len) {
		copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, p, len);
	}
	ret = vfu_validate_command(l, &hdr, copy, len, nfds);
	free(copy);
	return ret;
}

static int vc(uint16_t cmd, const void *p, size_t len, unsigned nfds)
{
	return vc_lim(&lim, cmd, 0, p, len, nfds);
}

static int vcf(uint16_t cmd, uint32_t flags, const void *p, size_t len, unsigned nfds)
{
	return vc_lim(&lim, cmd, flags, p, len, nfds);
}

static const char qemu_json[] =
	"{\"capabilities\":{\"max_msg_fds\":16,\"max_data_xfer_size\":1048576,"
	"\"pgsizes\":4096,\"max_dma_maps\":65535,\"write_multiple\":true,"
	"\"migration\":{\"pgsize\":4096,\"max_bitmap_size\":268435456}}}";

/* VERSION payload: major, minor, then @json_len bytes of @json. */
static size_t version_msg(uint8_t *buf, uint16_t major, uint16_t minor, const char *json,
			  size_t json_len)
{
	memcpy(buf, &major, 2);
	memcpy(buf + 2, &minor, 2);
	memcpy(buf + 4, json, json_len);
	return 4 + json_len;
}

static struct vfu_dma_map good_map(void)
{
	return (struct vfu_dma_map){
		.argsz = sizeof(struct vfu_dma_map), .flags = VFU_DMA_READ | VFU_DMA_WRITE,
		.offset = 0x2000, .addr = 0x100000, .size = 0x10000,
	};
}

static struct vfu_dma_unmap good_unmap(void)
{
	return (struct vfu_dma_unmap){
		.argsz = sizeof(struct vfu_dma_unmap), .addr = 0x100000, .size = 0x10000,
	};
}

static int region_rd(uint32_t region, uint64_t offset, uint32_t count)
{
	struct vfu_region_access a = { .offset = offset, .region = region, .count = count };

	return vc(VFU_CMD_REGION_READ, &a, sizeof(a), 0);
}

/* REGION_WRITE announcing @count bytes and carrying @data_len. */
static int region_wr(uint32_t region, uint64_t offset, uint32_t count, size_t data_len)
{
	size_t len = sizeof(struct vfu_region_access) + data_len;
	struct vfu_region_access *a = calloc(1, len);
	int ret;

	assert_non_null(a);
	a->offset = offset;
	a->region = region;
	a->count = count;
	ret = vc(VFU_CMD_REGION_WRITE, a, len, 0);
	free(a);
	return ret;
}

static int set_irqs(uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
		    size_t data_len, unsigned nfds)
{
	size_t len = sizeof(struct vfu_irq_set) + data_len;
	struct vfu_irq_set *s = calloc(1, len);
	int ret;

	assert_non_null(s);
	s->argsz = (uint32_t)len;
	s->flags = flags;
	s->index = index;
	s->start = start;
	s->count = count;
	memset(s->data, 1, data_len);
	ret = vc(VFU_CMD_DEVICE_SET_IRQS, s, len, nfds);
	free(s);
	return ret;
}

#define EVT_TRIG (VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER)
#define NONE_TRIG (VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER)

static struct vfu_write_multi_entry wm_entry(uint32_t region, uint64_t offset, uint32_t count)
{
	return (struct vfu_write_multi_entry){ .offset = offset, .region = region,
					       .count = count };
}

/* WRITE_MULTI with header wr_cnt @wr_cnt and @n entries, all copies of @e. */
static int write_multi(uint64_t wr_cnt, size_t n, struct vfu_write_multi_entry e, uint32_t flags)
{
	size_t len = sizeof(struct vfu_region_write_multi) + n * sizeof(e);
	struct vfu_region_write_multi *m = calloc(1, len);
	int ret;

	assert_non_null(m);
	m->wr_cnt = wr_cnt;
	for (size_t i = 0; i < n; i++)
		m->wrs[i] = e;
	ret = vcf(VFU_CMD_REGION_WRITE_MULTI, flags, m, len, 0);
	free(m);
	return ret;
}

/* ---- header ---- */

static void test_header_size_bounds(void **state)
{
	struct vfu_hdr h = { .cmd = VFU_CMD_VERSION };

	(void)state;
	h.msg_size = 0;
	assert_int_equal(vfu_validate_header(&h), -EINVAL);
	h.msg_size = 15;
	assert_int_equal(vfu_validate_header(&h), -EINVAL);
	h.msg_size = 16;
	assert_int_equal(vfu_validate_header(&h), 0);
	h.msg_size = VFU_MAX_MSG_SIZE;
	assert_int_equal(vfu_validate_header(&h), 0);
	h.msg_size = VFU_MAX_MSG_SIZE + 1;
	assert_int_equal(vfu_validate_header(&h), -E2BIG);
	h.msg_size = UINT32_MAX;
	assert_int_equal(vfu_validate_header(&h), -E2BIG);
}

static void test_msg_size_must_match_payload(void **state)
{
	struct vfu_device_info di = { .argsz = sizeof(di) };
	struct vfu_hdr h = { .cmd = VFU_CMD_DEVICE_GET_INFO };

	(void)state;
	h.msg_size = sizeof(h) + sizeof(di);
	assert_int_equal(vfu_validate_command(&lim, &h, &di, sizeof(di), 0), 0);
	h.msg_size = sizeof(h) + sizeof(di) + 1;
	assert_int_equal(vfu_validate_command(&lim, &h, &di, sizeof(di), 0), -EINVAL);
	h.msg_size = sizeof(h) + sizeof(di) - 1;
	assert_int_equal(vfu_validate_command(&lim, &h, &di, sizeof(di), 0), -EINVAL);
	h.msg_size = sizeof(h);
	assert_int_equal(vfu_validate_command(&lim, &h, &di, sizeof(di), 0), -EINVAL);
}

/* ---- header flags ---- */

static void test_flags(void **state)
{
	struct vfu_device_info di = { .argsz = sizeof(di) };
	uint32_t bad[] = { VFU_F_TYPE_REPLY, 0x2, 0xf, VFU_F_ERROR,
			   VFU_F_TYPE_REPLY | VFU_F_ERROR, 0x40, 0x100, 0x80000000u };

	(void)state;
	assert_int_equal(vcf(VFU_CMD_DEVICE_GET_INFO, 0, &di, sizeof(di), 0), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vcf(VFU_CMD_DEVICE_GET_INFO, bad[i], &di, sizeof(di), 0),
				 -EINVAL);
}

static void test_no_reply_only_where_allowed(void **state)
{
	struct vfu_device_info di = { .argsz = sizeof(di) };
	struct vfu_region_info ri = { .argsz = sizeof(ri), .index = VFU_PCI_CONFIG };
	struct vfu_irq_info ii = { .argsz = sizeof(ii), .index = VFU_PCI_MSIX };
	uint8_t ver[256];
	size_t vlen = version_msg(ver, 0, 0, "{}", 3);

	(void)state;
	/* Commands that must be answered. */
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_VERSION, VFU_F_NO_REPLY, ver, vlen, 0),
			 -EINVAL);
	assert_int_equal(vcf(VFU_CMD_DEVICE_GET_INFO, VFU_F_NO_REPLY, &di, sizeof(di), 0),
			 -EINVAL);
	assert_int_equal(vcf(VFU_CMD_DEVICE_GET_REGION_INFO, VFU_F_NO_REPLY, &ri, sizeof(ri), 0),
			 -EINVAL);
	assert_int_equal(vcf(VFU_CMD_DEVICE_GET_IRQ_INFO, VFU_F_NO_REPLY, &ii, sizeof(ii), 0),
			 -EINVAL);
	assert_int_equal(vcf(VFU_CMD_DEVICE_RESET, VFU_F_NO_REPLY, NULL, 0, 0), -EINVAL);
	{
		struct vfu_region_access a = { .offset = 0, .region = BAR_RW, .count = 4 };

		assert_int_equal(vcf(VFU_CMD_REGION_READ, VFU_F_NO_REPLY, &a, sizeof(a), 0),
				 -EINVAL);
		assert_int_equal(vcf(VFU_CMD_REGION_READ, 0, &a, sizeof(a), 0), 0);
	}
	/* Posted writes are fine. */
	{
		uint8_t buf[sizeof(struct vfu_region_access) + 4] = { 0 };
		struct vfu_region_access a = { .offset = 0, .region = BAR_RW, .count = 4 };

		memcpy(buf, &a, sizeof(a));
		assert_int_equal(vcf(VFU_CMD_REGION_WRITE, VFU_F_NO_REPLY, buf, sizeof(buf), 0),
				 0);
	}
	assert_int_equal(write_multi(1, 1, wm_entry(BAR_RW, 0, 4), VFU_F_NO_REPLY), 0);
}

/* ---- VERSION and sequencing ---- */

static void test_version_ok(void **state)
{
	uint8_t buf[512];
	size_t len = version_msg(buf, 0, 0, qemu_json, sizeof(qemu_json));

	(void)state;
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_VERSION, 0, buf, len, 0), 0);
	/* A bare NUL is a (trivially) terminated empty JSON. */
	len = version_msg(buf, 0, 1, "", 1);
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_VERSION, 0, buf, len, 0), 0);
}

static void test_version_json_not_terminated(void **state)
{
	uint8_t buf[512];
	size_t len;

	(void)state;
	/* The JSON without its NUL. */
	len = version_msg(buf, 0, 0, qemu_json, sizeof(qemu_json) - 1);
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_VERSION, 0, buf, len, 0), -EINVAL);
	len = version_msg(buf, 0, 0, "{}", 2);
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_VERSION, 0, buf, len, 0), -EINVAL);
	/* No JSON at all, and a payload shorter than major/minor. */
	len = version_msg(buf, 0, 0, "", 0);
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_VERSION, 0, buf, len, 0), -EINVAL);
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_VERSION, 0, buf, 2, 0), -EINVAL);
}

static void test_version_json_too_long(void **state)
{
	size_t json_len = VFU_MAX_VERSION_JSON + 1;
	char *json = malloc(json_len);
	uint8_t *buf = malloc(4 + json_len);

	(void)state;
	assert_non_null(json);
	assert_non_null(buf);
	memset(json, ' ', json_len);
	json[json_len - 1] = '\0';
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_VERSION, 0, buf,
				version_msg(buf, 0, 0, json, json_len), 0), -EINVAL);
	/* Exactly at the limit is fine. */
	json[json_len - 2] = '\0';
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_VERSION, 0, buf,
				version_msg(buf, 0, 0, json, json_len - 1), 0), 0);
	free(json);
	free(buf);
}

static void test_version_wrong_major_and_fds(void **state)
{
	uint8_t buf[512];
	size_t len;

	(void)state;
	len = version_msg(buf, 1, 0, qemu_json, sizeof(qemu_json));
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_VERSION, 0, buf, len, 0), -ENOTSUP);
	len = version_msg(buf, 0xffff, 0, qemu_json, sizeof(qemu_json));
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_VERSION, 0, buf, len, 0), -ENOTSUP);
	len = version_msg(buf, 0, 0, qemu_json, sizeof(qemu_json));
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_VERSION, 0, buf, len, 1), -EINVAL);
}

static void test_version_sequence(void **state)
{
	uint8_t buf[512];
	size_t len = version_msg(buf, 0, 0, qemu_json, sizeof(qemu_json));
	struct vfu_device_info di = { .argsz = sizeof(di) };
	struct vfu_dma_map m = good_map();

	(void)state;
	/* VERSION twice. */
	assert_int_equal(vc_lim(&lim, VFU_CMD_VERSION, 0, buf, len, 0), -EINVAL);
	/* Anything else before VERSION, even well-formed. */
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_DEVICE_GET_INFO, 0, &di, sizeof(di), 0),
			 -EINVAL);
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_DMA_MAP, 0, &m, sizeof(m), 1), -EINVAL);
	assert_int_equal(vc_lim(&lim_new, VFU_CMD_DEVICE_RESET, 0, NULL, 0, 0), -EINVAL);
	/* ... and accepted after it. */
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), 0), 0);
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 1), 0);
}

/* ---- DMA_MAP / DMA_UNMAP ---- */

static void test_dma_map(void **state)
{
	struct vfu_dma_map m;
	uint8_t big[sizeof(m) + 8] = { 0 };

	(void)state;
	m = good_map();
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 1), 0);
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 0), 0); /* no fd: ROM */
	assert_int_equal(vcf(VFU_CMD_DMA_MAP, VFU_F_NO_REPLY, &m, sizeof(m), 1), 0);
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 2), -EINVAL);

	/* argsz lies, both ways, and payload length mismatches. */
	m.argsz = sizeof(m) - 1;
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 1), -EINVAL);
	m.argsz = sizeof(m) + 8;
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 1), -EINVAL);
	memcpy(big, &m, sizeof(m));
	assert_int_equal(vc(VFU_CMD_DMA_MAP, big, sizeof(big), 1), -EINVAL);
	m.argsz = UINT32_MAX;
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 1), -EINVAL);
	m = good_map();
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m) - 8, 1), -EINVAL);

	/* Alignment of every field. */
	m = good_map();
	m.addr |= 0x800;
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 1), -EINVAL);
	m = good_map();
	m.size += 1;
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 1), -EINVAL);
	m = good_map();
	m.offset += 0x10;
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 1), -EINVAL);

	/* Zero size, wrap-around of addr + size and of offset + size. */
	m = good_map();
	m.size = 0;
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 1), -EINVAL);
	m = good_map();
	m.addr = 0xfffffffffffff000ull;
	m.size = 0x2000;
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 1), -EINVAL);
	m = good_map();
	m.offset = 0xffffffffffff0000ull;
	m.size = 0x20000;
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 1), -EINVAL);

	/* Unknown flags. */
	m = good_map();
	m.flags = 0x4;
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 1), -EINVAL);
	m.flags = VFU_DMA_READ | 0x80000000u;
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 1), -EINVAL);
	m.flags = VFU_DMA_READ;
	assert_int_equal(vc(VFU_CMD_DMA_MAP, &m, sizeof(m), 1), 0);
}

static void test_dma_unmap(void **state)
{
	struct vfu_dma_unmap u;
	uint8_t big[sizeof(u) + 16] = { 0 };

	(void)state;
	u = good_unmap();
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u), 0), 0);
	assert_int_equal(vcf(VFU_CMD_DMA_UNMAP, VFU_F_NO_REPLY, &u, sizeof(u), 0), 0);
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u), 1), -EINVAL);

	/* argsz tricks: small, large (a dirty bitmap would follow), huge. */
	u.argsz = sizeof(u) - 1;
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u), 0), -EINVAL);
	u.argsz = sizeof(u) + 16;
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u), 0), -EINVAL);
	memcpy(big, &u, sizeof(u));
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, big, sizeof(big), 0), -EINVAL);
	u.argsz = 0x40000000u;
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u), 0), -EINVAL);
	u.argsz = UINT32_MAX;
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u), 0), -EINVAL);
	u = good_unmap();
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u) - 4, 0), -EINVAL);

	/* UNMAP_ALL needs addr = size = 0. */
	u = good_unmap();
	u.flags = VFU_DMA_UNMAP_ALL;
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u), 0), -EINVAL);
	u.addr = 0;
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u), 0), -EINVAL);
	u.size = 0;
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u), 0), 0);
	u.addr = 0x1000;
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u), 0), -EINVAL);

	/* Plain unmap: zero size, wrap-around, unknown flags (incl. dirty bitmap, 1). */
	u = good_unmap();
	u.size = 0;
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u), 0), -EINVAL);
	u = good_unmap();
	u.addr = 0xfffffffffffff000ull;
	u.size = 0x2000;
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u), 0), -EINVAL);
	u = good_unmap();
	u.flags = 0x1;
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u), 0), -EINVAL);
	u.flags = 0x4;
	assert_int_equal(vc(VFU_CMD_DMA_UNMAP, &u, sizeof(u), 0), -EINVAL);
}

/* ---- GET_INFO / GET_REGION_INFO / GET_REGION_IO_FDS / GET_IRQ_INFO ---- */

static void test_get_info(void **state)
{
	struct vfu_device_info di = { .argsz = sizeof(di) };

	(void)state;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), 0), 0);
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), 1), -EINVAL);
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di) - 4, 0), -EINVAL);
	di.argsz = 4096;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), 0), 0);
	di.argsz = sizeof(di) - 1;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), 0), -EINVAL);
	di.argsz = 0;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), 0), -EINVAL);
}

static void test_get_region_info(void **state)
{
	struct vfu_region_info ri = { .argsz = sizeof(ri), .index = VFU_PCI_CONFIG };
	uint8_t big[sizeof(ri) + 8] = { 0 };

	(void)state;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), 0), 0);
	/* argsz below 32 is refused; above is how QEMU asks again for the caps. */
	ri.argsz = 31;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), 0), -EINVAL);
	ri.argsz = 16;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), 0), -EINVAL);
	ri.argsz = 0;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), 0), -EINVAL);
	ri.argsz = 4096;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), 0), 0);
	ri.argsz = UINT32_MAX;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), 0), 0);

	/* Payload length must be the fixed part. */
	ri.argsz = sizeof(ri);
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_INFO, &ri, 16, 0), -EINVAL);
	memcpy(big, &ri, sizeof(ri));
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_INFO, big, sizeof(big), 0), -EINVAL);
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), 1), -EINVAL);

	/* Every index of a PCI device, and none past it. */
	for (uint32_t i = 0; i < VFU_PCI_NUM_REGIONS; i++) {
		ri.index = i;
		assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), 0), 0);
	}
	ri.index = VFU_PCI_NUM_REGIONS;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), 0), -EINVAL);
	ri.index = UINT32_MAX;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), 0), -EINVAL);
}

static void test_get_region_io_fds(void **state)
{
	struct vfu_region_io_fds_request r = { .argsz = sizeof(r), .index = 0 };

	(void)state;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_IO_FDS, &r, sizeof(r), 0), 0);
	r.argsz = sizeof(r) - 1;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_IO_FDS, &r, sizeof(r), 0), -EINVAL);
	r.argsz = sizeof(r);
	r.index = VFU_PCI_NUM_REGIONS;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_REGION_IO_FDS, &r, sizeof(r), 0), -EINVAL);
}

static void test_get_irq_info(void **state)
{
	struct vfu_irq_info ii = { .argsz = sizeof(ii) };

	(void)state;
	for (uint32_t i = 0; i < VFU_PCI_NUM_IRQS; i++) {
		ii.index = i;
		assert_int_equal(vc(VFU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), 0), 0);
	}
	ii.index = VFU_PCI_NUM_IRQS;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), 0), -EINVAL);
	ii.index = UINT32_MAX;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), 0), -EINVAL);
	ii.index = VFU_PCI_MSIX;
	ii.argsz = sizeof(ii) - 1;
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), 0), -EINVAL);
	ii.argsz = sizeof(ii);
	assert_int_equal(vc(VFU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), 1), -EINVAL);
}

/* ---- SET_IRQS ---- */

static void test_set_irqs_range(void **state)
{
	(void)state;
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_MSIX, 0, 8, 0, 8), 0);
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_MSIX, 7, 1, 0, 1), 0);
	/* start + count wraps to 1 in 32 bits. */
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_MSIX, 0xffffffffu, 2, 0, 2), -EINVAL);
	assert_int_equal(set_irqs(NONE_TRIG, VFU_PCI_MSIX, 0xffffffffu, 2, 0, 0), -EINVAL);
	/* Past the index's count. */
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_MSIX, 6, 3, 0, 3), -EINVAL);
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_MSIX, 0, 9, 0, 9), -EINVAL);
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_MSIX, 8, 1, 0, 1), -EINVAL);
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_INTX, 0, 2, 0, 2), -EINVAL);
	/* Bad index. */
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_NUM_IRQS, 0, 1, 0, 1), -EINVAL);
	assert_int_equal(set_irqs(EVT_TRIG, UINT32_MAX, 0, 1, 0, 1), -EINVAL);
}

static void test_set_irqs_flag_bits(void **state)
{
	(void)state;
	assert_int_equal(set_irqs(NONE_TRIG, VFU_PCI_MSIX, 0, 1, 0, 0), 0);
	/* Two data types. */
	assert_int_equal(set_irqs(VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_DATA_BOOL |
				  VFU_IRQ_SET_ACTION_TRIGGER, VFU_PCI_MSIX, 0, 1, 1, 0), -EINVAL);
	assert_int_equal(set_irqs(VFU_IRQ_SET_DATA_BOOL | VFU_IRQ_SET_DATA_EVENTFD |
				  VFU_IRQ_SET_ACTION_TRIGGER, VFU_PCI_MSIX, 0, 1, 0, 1), -EINVAL);
	/* No data type, no action, two actions. */
	assert_int_equal(set_irqs(VFU_IRQ_SET_ACTION_TRIGGER, VFU_PCI_MSIX, 0, 1, 0, 0),
			 -EINVAL);
	assert_int_equal(set_irqs(VFU_IRQ_SET_DATA_NONE, VFU_PCI_MSIX, 0, 1, 0, 0), -EINVAL);
	assert_int_equal(set_irqs(VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_MASK |
				  VFU_IRQ_SET_ACTION_UNMASK, VFU_PCI_MSI, 0, 1, 0, 0), -EINVAL);
	/* Unknown bits. */
	assert_int_equal(set_irqs(NONE_TRIG | 0x40, VFU_PCI_MSIX, 0, 1, 0, 0), -EINVAL);
	assert_int_equal(set_irqs(NONE_TRIG | 0x80000000u, VFU_PCI_MSIX, 0, 1, 0, 0), -EINVAL);
}

static void test_set_irqs_argsz(void **state)
{
	struct vfu_irq_set s = { .argsz = sizeof(s), .flags = NONE_TRIG,
				 .index = VFU_PCI_MSIX, .count = 1 };

	(void)state;
	assert_int_equal(vc(VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), 0), 0);
	s.argsz = sizeof(s) + 1;
	assert_int_equal(vc(VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), 0), -EINVAL);
	s.argsz = sizeof(s) - 1;
	assert_int_equal(vc(VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), 0), -EINVAL);
	s.argsz = sizeof(s);
	assert_int_equal(vc(VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s) - 4, 0), -EINVAL);
}

static void test_set_irqs_data(void **state)
{
	uint32_t bool_trig = VFU_IRQ_SET_DATA_BOOL | VFU_IRQ_SET_ACTION_TRIGGER;

	(void)state;
	/* DATA_BOOL: exactly one byte per vector, no fds. */
	assert_int_equal(set_irqs(bool_trig, VFU_PCI_MSIX, 0, 4, 4, 0), 0);
	assert_int_equal(set_irqs(bool_trig, VFU_PCI_MSIX, 0, 4, 3, 0), -EINVAL);
	assert_int_equal(set_irqs(bool_trig, VFU_PCI_MSIX, 0, 4, 5, 0), -EINVAL);
	assert_int_equal(set_irqs(bool_trig, VFU_PCI_MSIX, 0, 4, 0, 0), -EINVAL);
	assert_int_equal(set_irqs(bool_trig, VFU_PCI_MSIX, 0, 4, 4, 1), -EINVAL);
	/* DATA_NONE: no data, no fds. */
	assert_int_equal(set_irqs(NONE_TRIG, VFU_PCI_MSIX, 0, 4, 1, 0), -EINVAL);
	assert_int_equal(set_irqs(NONE_TRIG, VFU_PCI_MSIX, 0, 4, 0, 1), -EINVAL);
	/* DATA_EVENTFD: fds as SCM_RIGHTS only, at most count of them. */
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_MSIX, 0, 2, 0, 2), 0);
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_MSIX, 0, 2, 0, 3), -EINVAL);
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_MSIX, 0, 2, 8, 2), -EINVAL);
	/* Fewer fds than count unassigns the rest; none unassigns all. */
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_MSIX, 0, 8, 0, 3), 0);
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_MSIX, 0, 8, 0, 0), 0);
}

static void test_set_irqs_mask(void **state)
{
	uint32_t none_mask = VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_MASK;
	uint32_t none_unmask = VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_UNMASK;

	(void)state;
	/* MSI is maskable, MSI-X (here), ERR and REQ are not. */
	assert_int_equal(set_irqs(none_mask, VFU_PCI_MSI, 0, 4, 0, 0), 0);
	assert_int_equal(set_irqs(none_unmask, VFU_PCI_MSI, 1, 2, 0, 0), 0);
	assert_int_equal(set_irqs(none_mask, VFU_PCI_MSIX, 0, 1, 0, 0), -EINVAL);
	assert_int_equal(set_irqs(none_unmask, VFU_PCI_MSIX, 0, 1, 0, 0), -EINVAL);
	assert_int_equal(set_irqs(none_mask, VFU_PCI_ERR, 0, 1, 0, 0), -EINVAL);
	assert_int_equal(set_irqs(VFU_IRQ_SET_DATA_BOOL | VFU_IRQ_SET_ACTION_MASK, VFU_PCI_REQ,
				  0, 1, 1, 0), -EINVAL);
}

static void test_set_irqs_disable(void **state)
{
	(void)state;
	/* The disable pattern: DATA_NONE | TRIGGER, start 0, count 0, nothing else. */
	assert_int_equal(set_irqs(NONE_TRIG, VFU_PCI_MSIX, 0, 0, 0, 0), 0);
	assert_int_equal(set_irqs(NONE_TRIG, VFU_PCI_INTX, 0, 0, 0, 0), 0);
	assert_int_equal(set_irqs(NONE_TRIG, VFU_PCI_MSIX, 1, 0, 0, 0), -EINVAL);
	assert_int_equal(set_irqs(NONE_TRIG, VFU_PCI_MSIX, 0, 0, 1, 0), -EINVAL);
	assert_int_equal(set_irqs(NONE_TRIG, VFU_PCI_MSIX, 0, 0, 0, 1), -EINVAL);
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_MSIX, 0, 0, 0, 0), -EINVAL);
	assert_int_equal(set_irqs(EVT_TRIG, VFU_PCI_MSIX, 0, 0, 0, 1), -EINVAL);
	assert_int_equal(set_irqs(VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_MASK, VFU_PCI_MSI,
				  0, 0, 0, 0), -EINVAL);
	assert_int_equal(set_irqs(NONE_TRIG, VFU_PCI_NUM_IRQS, 0, 0, 0, 0), -EINVAL);
}

static void test_set_irqs_eventfd_unmask_intx_only(void **state)
{
	uint32_t evt_unmask = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_UNMASK;
	uint32_t evt_mask = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_MASK;

	(void)state;
	/* The INTx resample eventfd (and its removal). */
	assert_int_equal(set_irqs(evt_unmask, VFU_PCI_INTX, 0, 1, 0, 1), 0);
	assert_int_equal(set_irqs(evt_unmask, VFU_PCI_INTX, 0, 1, 0, 0), 0);
	/* Not for MSI, even though MSI is maskable here. */
	assert_int_equal(set_irqs(evt_unmask, VFU_PCI_MSI, 0, 1, 0, 1), -EINVAL);
	/* Never with MASK. */
	assert_int_equal(set_irqs(evt_mask, VFU_PCI_INTX, 0, 1, 0, 1), -EINVAL);
	assert_int_equal(set_irqs(evt_mask, VFU_PCI_MSI, 0, 1, 0, 1), -EINVAL);
}

/* ---- REGION_READ / REGION_WRITE ---- */

static void test_region_read(void **state)
{
	struct vfu_region_access a = { .offset = 0, .region = BAR_RW, .count = 4 };

	(void)state;
	assert_int_equal(region_rd(BAR_RW, 0, 4), 0);
	assert_int_equal(region_rd(BAR_RW, 4 * KIB - 4, 4), 0);
	assert_int_equal(region_rd(VFU_PCI_CONFIG, 0, 4 * KIB), 0);
	assert_int_equal(region_rd(BAR_RO, 0, 256), 0);
	/* Past the end, straddling it, and wrapping around UINT64_MAX. */
	assert_int_equal(region_rd(BAR_RW, 4 * KIB, 4), -EINVAL);
	assert_int_equal(region_rd(BAR_RW, 4 * KIB - 2, 4), -EINVAL);
	assert_int_equal(region_rd(BAR_RW, UINT64_MAX, 1), -EINVAL);
	assert_int_equal(region_rd(BAR_RW, UINT64_MAX - 7, 16), -EINVAL);
	assert_int_equal(region_rd(BAR_HUGE, HUGE_SIZE - 8, 8), 0);
	assert_int_equal(region_rd(BAR_HUGE, HUGE_SIZE - 4, 8), -EINVAL);
	assert_int_equal(region_rd(BAR_HUGE, UINT64_MAX - 3, 8), -EINVAL);
	/* count 0 and count above max_data_xfer (the region is bigger). */
	assert_int_equal(region_rd(BAR_RW, 0, 0), -EINVAL);
	assert_int_equal(region_rd(BAR_BIG, 0, TEST_MAX_XFER), 0);
	assert_int_equal(region_rd(BAR_BIG, 0, TEST_MAX_XFER + 1), -EINVAL);
	assert_int_equal(region_rd(BAR_BIG, 0, UINT32_MAX), -EINVAL);
	/* Unimplemented regions, bad index, write-only region. */
	assert_int_equal(region_rd(BAR_UNUSED, 0, 4), -EINVAL);
	assert_int_equal(region_rd(VFU_PCI_ROM, 0, 4), -EINVAL);
	assert_int_equal(region_rd(VFU_PCI_NUM_REGIONS, 0, 4), -EINVAL);
	assert_int_equal(region_rd(UINT32_MAX, 0, 4), -EINVAL);
	assert_int_equal(region_rd(BAR_WO, 0, 4), -EPERM);
	/* A read request carries no data, and no fds. */
	{
		uint8_t buf[sizeof(a) + 4] = { 0 };

		memcpy(buf, &a, sizeof(a));
		assert_int_equal(vc(VFU_CMD_REGION_READ, buf, sizeof(buf), 0), -EINVAL);
		assert_int_equal(vc(VFU_CMD_REGION_READ, &a, sizeof(a), 1), -EINVAL);
		assert_int_equal(vc(VFU_CMD_REGION_READ, &a, sizeof(a) - 1, 0), -EINVAL);
	}
}

static void test_region_write(void **state)
{
	(void)state;
	assert_int_equal(region_wr(BAR_RW, 0, 4, 4), 0);
	assert_int_equal(region_wr(BAR_WO, 8, 8, 8), 0);
	assert_int_equal(region_wr(BAR_BIG, 0, TEST_MAX_XFER, TEST_MAX_XFER), 0);
	/* Announced count and carried data disagree. */
	assert_int_equal(region_wr(BAR_RW, 0, 8, 4), -EINVAL);
	assert_int_equal(region_wr(BAR_RW, 0, 4, 8), -EINVAL);
	assert_int_equal(region_wr(BAR_RW, 0, 4, 0), -EINVAL);
	assert_int_equal(region_wr(BAR_RW, 0, UINT32_MAX, 4), -EINVAL);
	/* Range, wrap, count limits. */
	assert_int_equal(region_wr(BAR_RW, 4 * KIB, 4, 4), -EINVAL);
	assert_int_equal(region_wr(BAR_RW, 4 * KIB - 2, 4, 4), -EINVAL);
	assert_int_equal(region_wr(BAR_RW, UINT64_MAX - 7, 16, 16), -EINVAL);
	assert_int_equal(region_wr(BAR_RW, 0, 0, 0), -EINVAL);
	assert_int_equal(region_wr(BAR_BIG, 0, TEST_MAX_XFER + 4, TEST_MAX_XFER + 4), -EINVAL);
	assert_int_equal(region_wr(BAR_UNUSED, 0, 4, 4), -EINVAL);
	assert_int_equal(region_wr(VFU_PCI_NUM_REGIONS, 0, 4, 4), -EINVAL);
	/* Read-only region. */
	assert_int_equal(region_wr(BAR_RO, 0, 4, 4), -EPERM);
}

static void test_region_access_direct(void **state)
{
	(void)state;
	assert_int_equal(vfu_validate_region_access(&lim, BAR_RW, 0, 4 * KIB, false), 0);
	assert_int_equal(vfu_validate_region_access(&lim, BAR_RW, 1, 4 * KIB, false), -EINVAL);
	assert_int_equal(vfu_validate_region_access(&lim, BAR_RW, 0, 1ull << 32, true), -EINVAL);
	assert_int_equal(vfu_validate_region_access(&lim, BAR_RO, 0, 4, true), -EPERM);
	assert_int_equal(vfu_validate_region_access(&lim, BAR_RO, 0, 4, false), 0);
	assert_int_equal(vfu_validate_region_access(&lim, BAR_HUGE, 16, UINT64_MAX - 8, false),
			 -EINVAL);
}

/* ---- REGION_WRITE_MULTI ---- */

static void test_write_multi(void **state)
{
	struct vfu_write_multi_entry ok = wm_entry(BAR_RW, 0x10, 8);

	(void)state;
	assert_int_equal(write_multi(1, 1, ok, VFU_F_NO_REPLY), 0);
	assert_int_equal(write_multi(VFU_MAX_WRITE_MULTI, VFU_MAX_WRITE_MULTI, ok,
				     VFU_F_NO_REPLY), 0);
	/* wr_cnt 0, above 200, disagreeing with the length, or wrapping the multiply. */
	assert_int_equal(write_multi(0, 0, ok, VFU_F_NO_REPLY), -EINVAL);
	assert_int_equal(write_multi(0, 1, ok, VFU_F_NO_REPLY), -EINVAL);
	assert_int_equal(write_multi(VFU_MAX_WRITE_MULTI + 1, VFU_MAX_WRITE_MULTI + 1, ok,
				     VFU_F_NO_REPLY), -EINVAL);
	assert_int_equal(write_multi(2, 1, ok, VFU_F_NO_REPLY), -EINVAL);
	assert_int_equal(write_multi(1, 2, ok, VFU_F_NO_REPLY), -EINVAL);
	assert_int_equal(write_multi(UINT64_MAX / 24 + 2, 1, ok, VFU_F_NO_REPLY), -EINVAL);
	/* Entries: more than 8 bytes, out of range, read-only, unimplemented. */
	assert_int_equal(write_multi(1, 1, wm_entry(BAR_RW, 0, 9), VFU_F_NO_REPLY), -EINVAL);
	assert_int_equal(write_multi(1, 1, wm_entry(BAR_RW, 0, UINT32_MAX), VFU_F_NO_REPLY),
			 -EINVAL);
	assert_int_equal(write_multi(1, 1, wm_entry(BAR_RW, 4 * KIB - 4, 8), VFU_F_NO_REPLY),
			 -EINVAL);
	assert_int_equal(write_multi(1, 1, wm_entry(BAR_RW, UINT64_MAX - 3, 8), VFU_F_NO_REPLY),
			 -EINVAL);
	assert_int_equal(write_multi(1, 1, wm_entry(BAR_RO, 0, 4), VFU_F_NO_REPLY), -EPERM);
	assert_int_equal(write_multi(1, 1, wm_entry(BAR_UNUSED, 0, 4), VFU_F_NO_REPLY), -EINVAL);
	assert_int_equal(write_multi(1, 1, wm_entry(VFU_PCI_NUM_REGIONS, 0, 4), VFU_F_NO_REPLY),
			 -EINVAL);
	/* Truncated below wr_cnt itself; fds. */
	{
		uint32_t half = 1;

		assert_int_equal(vcf(VFU_CMD_REGION_WRITE_MULTI, VFU_F_NO_REPLY, &half,
				     sizeof(half), 0), -EINVAL);
	}
}

static void test_write_multi_bad_entry_last(void **state)
{
	size_t n = 5;
	size_t len = sizeof(struct vfu_region_write_multi) + n * sizeof(struct vfu_write_multi_entry);
	struct vfu_region_write_multi *m = calloc(1, len);

	(void)state;
	assert_non_null(m);
	m->wr_cnt = n;
	for (size_t i = 0; i < n; i++)
		m->wrs[i] = wm_entry(BAR_RW, i * 8, 8);
	assert_int_equal(vcf(VFU_CMD_REGION_WRITE_MULTI, VFU_F_NO_REPLY, m, len, 0), 0);
	/* Only the last entry is bad: every entry must be checked. */
	m->wrs[n - 1].offset = 4 * KIB;
	assert_int_equal(vcf(VFU_CMD_REGION_WRITE_MULTI, VFU_F_NO_REPLY, m, len, 0), -EINVAL);
	m->wrs[n - 1] = wm_entry(BAR_RO, 0, 4);
	assert_int_equal(vcf(VFU_CMD_REGION_WRITE_MULTI, VFU_F_NO_REPLY, m, len, 0), -EPERM);
	free(m);
}

/* ---- DEVICE_RESET, unknown and server->client commands ---- */

static void test_device_reset(void **state)
{
	uint32_t junk = 0;

	(void)state;
	assert_int_equal(vc(VFU_CMD_DEVICE_RESET, NULL, 0, 0), 0);
	assert_int_equal(vc(VFU_CMD_DEVICE_RESET, &junk, sizeof(junk), 0), -EINVAL);
	assert_int_equal(vc(VFU_CMD_DEVICE_RESET, NULL, 0, 1), -EINVAL);
}

static void test_unknown_and_server_commands(void **state)
{
	uint16_t cmds[] = { 0, 14, VFU_CMD_DMA_READ, VFU_CMD_DMA_WRITE,
			    VFU_CMD_DEVICE_FEATURE, VFU_CMD_MIG_DATA_READ,
			    VFU_CMD_MIG_DATA_WRITE, VFU_CMD_MAX, 0x7fff, 0xffff };
	struct vfu_dma_access da = { .addr = 0x1000, .count = 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		assert_int_equal(vc(cmds[i], NULL, 0, 0), -ENOTSUP);
		assert_int_equal(vc(cmds[i], &da, sizeof(da), 0), -ENOTSUP);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_size_bounds),
		cmocka_unit_test(test_msg_size_must_match_payload),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_no_reply_only_where_allowed),
		cmocka_unit_test(test_version_ok),
		cmocka_unit_test(test_version_json_not_terminated),
		cmocka_unit_test(test_version_json_too_long),
		cmocka_unit_test(test_version_wrong_major_and_fds),
		cmocka_unit_test(test_version_sequence),
		cmocka_unit_test(test_dma_map),
		cmocka_unit_test(test_dma_unmap),
		cmocka_unit_test(test_get_info),
		cmocka_unit_test(test_get_region_info),
		cmocka_unit_test(test_get_region_io_fds),
		cmocka_unit_test(test_get_irq_info),
		cmocka_unit_test(test_set_irqs_range),
		cmocka_unit_test(test_set_irqs_flag_bits),
		cmocka_unit_test(test_set_irqs_argsz),
		cmocka_unit_test(test_set_irqs_data),
		cmocka_unit_test(test_set_irqs_mask),
		cmocka_unit_test(test_set_irqs_disable),
		cmocka_unit_test(test_set_irqs_eventfd_unmask_intx_only),
		cmocka_unit_test(test_region_read),
		cmocka_unit_test(test_region_write),
		cmocka_unit_test(test_region_access_direct),
		cmocka_unit_test(test_write_multi),
		cmocka_unit_test(test_write_multi_bad_entry_last),
		cmocka_unit_test(test_device_reset),
		cmocka_unit_test(test_unknown_and_server_commands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
