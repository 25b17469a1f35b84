// SPDX-License-Identifier: MIT
/*
 * Every command on the good path, against the real daemon serving one
 * testdev (docs/testdev.md). Each test ends with the daemon alive, back at
 * its idle fd count, and serving a fresh client (it_teardown).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "itest.h"
#include "devices/testdev/testdev.h"
#include "pci/config.h"

#define GUEST_A 0x10000000ull /* guest address of the main DMA map */
#define MAP_SIZE 0x10000ull

/* ---- VERSION ---- */

/* VERSION by hand with @json; returns the reply's JSON object (caller puts it). */
static struct json_object *version_raw(struct vfu_client *c, uint16_t minor, const char *json,
				       uint16_t *minor_out)
{
	/* Static: a failed assertion must not leak (ASan runs check leaks). */
	static uint8_t req_buf[4 + VFU_MAX_VERSION_JSON], rep_buf[4 + VFU_MAX_VERSION_JSON];
	struct vfu_version *req = (void *)req_buf, *rep = (void *)rep_buf;
	size_t jlen = strlen(json) + 1, rlen = 0;
	struct json_object *root;

	assert_true(jlen <= VFU_MAX_VERSION_JSON);
	req->major = 0;
	req->minor = minor;
	memcpy(req->json, json, jlen);
	assert_int_equal(vfu_client_call(c, VFU_CMD_VERSION, req, sizeof(*req) + jlen, NULL, 0,
					 rep, sizeof(*rep) + VFU_MAX_VERSION_JSON, &rlen, NULL,
					 NULL), 0);
	assert_true(rlen > sizeof(*rep));
	assert_int_equal(rep->major, 0);
	/* NUL-terminated, exactly at the end of the payload. */
	assert_int_equal(rep->json[rlen - sizeof(*rep) - 1], '\0');
	assert_int_equal(strlen(rep->json), rlen - sizeof(*rep) - 1);
	*minor_out = rep->minor;
	root = json_tokener_parse(rep->json);
	assert_non_null(root);
	return root;
}

static struct json_object *caps_of(struct json_object *root)
{
	struct json_object *caps;

	assert_true(json_object_object_get_ex(root, "capabilities", &caps));
	assert_true(json_object_is_type(caps, json_type_object));
	return caps;
}

static int64_t cap_int(struct json_object *caps, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(caps, key, &v));
	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}

static void test_version_caps(void **state)
{
	struct itest *t = *state;
	struct json_object *root, *caps, *v;
	uint16_t minor;

	root = version_raw(t->c, 0, vfu_client_default_caps, &minor);
	assert_int_equal(minor, 0);
	caps = caps_of(root);
	assert_int_equal(cap_int(caps, "max_msg_fds"), 16);
	assert_int_equal(cap_int(caps, "max_data_xfer_size"), 1048576);
	assert_int_equal(cap_int(caps, "pgsizes"), 4096);
	assert_int_equal(cap_int(caps, "max_dma_maps"), 65535);
	assert_true(json_object_object_get_ex(caps, "write_multiple", &v));
	assert_true(json_object_get_boolean(v));
	assert_false(json_object_object_get_ex(caps, "twin_socket", &v));
	assert_false(json_object_object_get_ex(caps, "migration", &v));
	json_object_put(root);
	/* The session works after it. */
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
}

static void test_version_variants(void **state)
{
	struct itest *t = *state;
	struct json_object *root, *caps, *v;
	const struct vfu_client_caps *cc;
	uint16_t minor;

	/* A smaller transfer size and no write_multiple: the reply follows. */
	root = version_raw(t->c, 0,
			   "{\"capabilities\":{\"max_msg_fds\":8,\"max_data_xfer_size\":8192}}",
			   &minor);
	caps = caps_of(root);
	assert_int_equal(cap_int(caps, "max_data_xfer_size"), 8192);
	assert_true(cap_int(caps, "max_msg_fds") <= 16);
	assert_false(json_object_object_get_ex(caps, "write_multiple", &v));
	json_object_put(root);
	it_close(t, t->c);

	/* A higher minor: the server answers with one it supports, not above. */
	t->c = it_connect(t, 0, false);
	root = version_raw(t->c, 7, "{}", &minor);
	assert_true(minor <= 7);
	caps = caps_of(root);
	assert_int_equal(cap_int(caps, "max_data_xfer_size"), 1048576);
	assert_false(json_object_object_get_ex(caps, "write_multiple", &v));
	json_object_put(root);
	it_close(t, t->c);

	/* The client library's view of the default negotiation. */
	t->c = it_connect(t, 0, true);
	cc = vfu_client_caps(t->c);
	assert_int_equal(cc->major, 0);
	assert_int_equal(cc->max_msg_fds, 16);
	assert_int_equal(cc->max_data_xfer_size, 1048576);
	assert_int_equal(cc->pgsizes, 4096);
	assert_int_equal(cc->max_dma_maps, 65535);
	assert_true(cc->write_multiple);
}

/* ---- device, region and IRQ info ---- */

static void test_device_info(void **state)
{
	struct itest *t = *state;
	struct vfu_device_info info;

	assert_int_equal(vfu_client_get_device_info(t->c, &info), 0);
	assert_int_equal(info.argsz, sizeof(info));
	assert_int_equal(info.flags, VFU_DEV_FLAG_PCI | VFU_DEV_FLAG_RESET);
	assert_int_equal(info.num_regions, 9);
	assert_int_equal(info.num_irqs, 5);
}

static void test_region_info_all(void **state)
{
	static const uint64_t sizes[9] = { 4096, 4096, 16384, 0, 0, 0, 0, 4096, 0 };
	struct itest *t = *state;

	for (uint32_t i = 0; i < 9; i++) {
		struct vfu_client_region r;

		assert_int_equal(vfu_client_get_region_info(t->c, i, &r), 0);
		assert_int_equal(r.info.index, i);
		assert_int_equal(r.info.size, sizes[i]);
		if (sizes[i])
			assert_int_equal(r.info.flags & (VFU_REGION_FLAG_READ |
							 VFU_REGION_FLAG_WRITE),
					 VFU_REGION_FLAG_READ | VFU_REGION_FLAG_WRITE);
		if (i == 2) {
			assert_int_equal(r.info.flags, VFU_REGION_FLAG_READ |
					 VFU_REGION_FLAG_WRITE | VFU_REGION_FLAG_MMAP |
					 VFU_REGION_FLAG_CAPS);
			assert_true(r.fd >= 0);
			assert_true(r.sparse);
			assert_int_equal(r.nr_areas, 2);
			assert_int_equal(r.areas[0].offset, 0);
			assert_int_equal(r.areas[0].size, 0x2000);
			assert_int_equal(r.areas[1].offset, 0x3000);
			assert_int_equal(r.areas[1].size, 0x1000);
		} else {
			assert_false(r.info.flags & (VFU_REGION_FLAG_MMAP | VFU_REGION_FLAG_CAPS));
			assert_int_equal(r.fd, -1);
		}
		vfu_client_region_release(&r);
	}
	/* The region fd went to us; the daemon keeps only its own copy. */
	it_assert_fds(t, 1);
}

/* The two-step argsz exchange QEMU does, by hand. */
static void test_region_info_argsz(void **state)
{
	struct itest *t = *state;
	struct vfu_region_info req = { .argsz = sizeof(req), .index = 2 };
	struct vfu_region_info_cap_sparse_mmap *sp;
	uint8_t buf[256];
	struct vfu_region_info *info = (void *)buf;
	int fds[4];
	unsigned nfds = 4;
	size_t len;
	uint32_t need;

	assert_int_equal(vfu_client_call(t->c, VFU_CMD_DEVICE_GET_REGION_INFO, &req,
					 sizeof(req), NULL, 0, buf, sizeof(buf), &len, fds,
					 &nfds), 0);
	assert_int_equal(len, sizeof(*info)); /* never more than we asked for */
	assert_int_equal(nfds, 0);           /* no fd with the short reply */
	assert_true(info->argsz > sizeof(*info));
	assert_true(info->flags & VFU_REGION_FLAG_CAPS);
	assert_true(info->flags & VFU_REGION_FLAG_MMAP);
	assert_int_equal(info->cap_offset, sizeof(*info));
	assert_int_equal(info->size, 16384);
	need = info->argsz;
	assert_true(need <= sizeof(buf));

	req.argsz = need;
	nfds = 4;
	assert_int_equal(vfu_client_call(t->c, VFU_CMD_DEVICE_GET_REGION_INFO, &req,
					 sizeof(req), NULL, 0, buf, sizeof(buf), &len, fds,
					 &nfds), 0);
	assert_int_equal(len, need);
	assert_int_equal(nfds, 1);
	assert_int_equal(info->argsz, need);
	assert_int_equal(info->cap_offset, sizeof(*info));
	sp = (void *)(buf + info->cap_offset);
	assert_int_equal(sp->header.id, VFU_REGION_INFO_CAP_SPARSE_MMAP);
	assert_int_equal(sp->header.version, 1);
	assert_int_equal(sp->header.next, 0);
	assert_int_equal(sp->nr_areas, 2);
	assert_int_equal(need, sizeof(*info) + sizeof(*sp) + 2 * sizeof(sp->areas[0]));
	assert_int_equal(sp->areas[0].offset, 0);
	assert_int_equal(sp->areas[0].size, 0x2000);
	assert_int_equal(sp->areas[1].offset, 0x3000);
	assert_int_equal(sp->areas[1].size, 0x1000);
	close(fds[0]);

	/* A region without caps answers the first request in full. */
	req.argsz = sizeof(req);
	req.index = 0;
	nfds = 4;
	assert_int_equal(vfu_client_call(t->c, VFU_CMD_DEVICE_GET_REGION_INFO, &req,
					 sizeof(req), NULL, 0, buf, sizeof(buf), &len, fds,
					 &nfds), 0);
	assert_int_equal(len, sizeof(*info));
	assert_int_equal(nfds, 0);
	assert_int_equal(info->argsz, sizeof(*info));
	assert_int_equal(info->size, 4096);
}

static void test_bar2_mmap(void **state)
{
	struct itest *t = *state;
	struct vfu_client_region r;

	assert_int_equal(vfu_client_get_region_info(t->c, 2, &r), 0);
	assert_int_equal(vfu_client_region_mmap(&r, PROT_READ | PROT_WRITE), 0);
	for (uint32_t off = 0; off < 0x4000; off += 4) {
		uint32_t *p = vfu_client_region_ptr(&r, off, 4);

		if (off >= 0x2000 && off < 0x3000) {
			assert_null(p); /* the trapped page is not mapped */
			continue;
		}
		assert_non_null(p);
		assert_int_equal(*p, TESTDEV_SHM_PATTERN + off / 4);
	}
	vfu_client_region_release(&r);
}

static void test_region_io_fds(void **state)
{
	struct itest *t = *state;
	struct vfu_region_io_fds_request req = { .argsz = sizeof(req), .index = 0 }, rep;
	size_t len;

	assert_int_equal(vfu_client_call(t->c, VFU_CMD_DEVICE_GET_REGION_IO_FDS, &req,
					 sizeof(req), NULL, 0, &rep, sizeof(rep), &len, NULL,
					 NULL), 0);
	assert_int_equal(len, sizeof(rep));
	assert_int_equal(rep.index, 0);
	assert_int_equal(rep.count, 0);
}

static void test_irq_info(void **state)
{
	static const struct { uint32_t count, flags; } want[5] = {
		{ 1, VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_MASKABLE | VFU_IRQ_INFO_AUTOMASKED },
		{ 0, VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_NORESIZE },
		{ 8, VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_MASKABLE | VFU_IRQ_INFO_NORESIZE },
		{ 1, VFU_IRQ_INFO_EVENTFD },
		{ 1, VFU_IRQ_INFO_EVENTFD },
	};
	struct itest *t = *state;

	for (uint32_t i = 0; i < 5; i++) {
		struct vfu_irq_info info;

		assert_int_equal(vfu_client_get_irq_info(t->c, i, &info), 0);
		assert_int_equal(info.index, i);
		assert_int_equal(info.count, want[i].count);
		assert_int_equal(info.flags, want[i].flags);
	}
}

/* ---- interrupts ---- */

static uint8_t pba(struct vfu_client *c)
{
	uint8_t v[8];

	assert_int_equal(vfu_client_region_read(c, VFU_PCI_BAR0 + 1, TESTDEV_MSIX_PBA, v, 8), 0);
	return v[0];
}

/* Only efd[@n] (or none for n < 0) was signalled since the last look. */
static void assert_fired(const int *efd, unsigned nvec, int n)
{
	for (unsigned v = 0; v < nvec; v++)
		assert_int_equal(it_efd_count(efd[v]), (int)v == n ? 1 : 0);
}

static void test_msix(void **state)
{
	struct itest *t = *state;
	uint8_t bools[2] = { 0, 1 };
	int efd[8];

	for (unsigned v = 0; v < 8; v++)
		efd[v] = it_eventfd();
	it_set_irq_fds(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_ACTION_TRIGGER, 0, 8, efd);
	it_assert_fds(t, 1 + 8);
	it_msix_enable(t->c, true);

	for (unsigned v = 0; v < 8; v++) {
		it_reg_write(t->c, TESTDEV_IRQ_RAISE, v);
		assert_fired(efd, 8, v);
	}
	assert_int_equal(it_reg_read(t->c, TESTDEV_IRQ_STATUS), 0xff);
	it_reg_write(t->c, TESTDEV_IRQ_ACK, 0xff);
	assert_int_equal(it_reg_read(t->c, TESTDEV_IRQ_STATUS), 0);

	/* Masked: latched in the PBA, delivered on unmask. */
	it_set_irq_none(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_ACTION_MASK, 3, 1);
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 3);
	assert_fired(efd, 8, -1);
	assert_int_equal(pba(t->c), 1u << 3);
	it_set_irq_none(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_ACTION_UNMASK, 3, 1);
	assert_fired(efd, 8, 3);
	assert_int_equal(pba(t->c), 0);
	/* Unmasking with nothing pending delivers nothing. */
	it_set_irq_none(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_ACTION_UNMASK, 3, 1);
	assert_fired(efd, 8, -1);

	/* DATA_BOOL trigger: only the vectors set to 1. */
	assert_int_equal(vfu_client_set_irqs(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_BOOL |
					     VFU_IRQ_SET_ACTION_TRIGGER, 4, 2, NULL, 0, bools, 2),
			 0);
	assert_fired(efd, 8, 5);
	/* DATA_NONE trigger fires the vector. */
	it_set_irq_none(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_ACTION_TRIGGER, 6, 1);
	assert_fired(efd, 8, 6);

	/* Unassign vectors 4-7 by sending fewer fds than count. */
	it_set_irq_fds(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_ACTION_TRIGGER, 4, 4, NULL);
	it_assert_fds(t, 1 + 4);
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 5);
	assert_fired(efd, 8, -1);
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 1);
	assert_fired(efd, 8, 1);

	/* Disable the index: every eventfd released. */
	it_set_irq_none(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_ACTION_TRIGGER, 0, 0);
	it_assert_fds(t, 1);
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 0);
	assert_fired(efd, 8, -1);
	for (unsigned v = 0; v < 8; v++)
		close(efd[v]);
}

static void test_msix_disabled_goes_intx(void **state)
{
	struct itest *t = *state;
	int msix = it_eventfd(), intx = it_eventfd();

	it_set_irq_fds(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, &msix);
	it_set_irq_fds(t->c, VFU_PCI_INTX, VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, &intx);
	/* MSI-X not enabled in config: the interrupt is INTx. */
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 0);
	assert_int_equal(it_efd_count(msix), 0);
	assert_int_equal(it_efd_count(intx), 1);
	it_reg_write(t->c, TESTDEV_IRQ_ACK, 1);
	/* Enabled: MSI-X, not INTx. */
	it_msix_enable(t->c, true);
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 0);
	assert_int_equal(it_efd_count(msix), 1);
	assert_int_equal(it_efd_count(intx), 0);
	close(msix);
	close(intx);
}

static void intx_unmask(struct vfu_client *c)
{
	it_set_irq_none(c, VFU_PCI_INTX, VFU_IRQ_SET_ACTION_UNMASK, 0, 1);
}

static bool intx_status(struct vfu_client *c)
{
	return it_cfg_read16(c, PCI_STATUS) & PCI_STATUS_INTERRUPT;
}

static void test_intx(void **state)
{
	struct itest *t = *state;
	int efd = it_eventfd();

	it_set_irq_fds(t->c, VFU_PCI_INTX, VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, &efd);
	it_assert_fds(t, 2);
	assert_false(intx_status(t->c));

	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 0);
	assert_int_equal(it_efd_count(efd), 1);
	assert_true(intx_status(t->c));
	/* Automasked: a second raise while asserted does not fire. */
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 1);
	assert_int_equal(it_efd_count(efd), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_IRQ_STATUS), 3);
	/* Unmask with the line still asserted: fires again. */
	intx_unmask(t->c);
	assert_int_equal(it_efd_count(efd), 1);
	/* Partial ack keeps the line up. */
	it_reg_write(t->c, TESTDEV_IRQ_ACK, 1);
	assert_true(intx_status(t->c));
	intx_unmask(t->c);
	assert_int_equal(it_efd_count(efd), 1);
	/* Full ack deasserts; unmask then fires nothing. */
	it_reg_write(t->c, TESTDEV_IRQ_ACK, 2);
	assert_false(intx_status(t->c));
	intx_unmask(t->c);
	assert_int_equal(it_efd_count(efd), 0);
	/* A new rising edge fires. */
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 4);
	assert_int_equal(it_efd_count(efd), 1);
	it_reg_write(t->c, TESTDEV_IRQ_ACK, 1u << 4);
	intx_unmask(t->c);

	/* INTx disabled in the command register: nothing fires. */
	it_cfg_command(t->c, PCI_COMMAND_INTX_DISABLE, true);
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 0);
	assert_int_equal(it_efd_count(efd), 0);
	assert_false(intx_status(t->c));
	it_reg_write(t->c, TESTDEV_IRQ_ACK, 1);
	it_cfg_command(t->c, PCI_COMMAND_INTX_DISABLE, false);

	/* Disable the index. */
	it_set_irq_none(t->c, VFU_PCI_INTX, VFU_IRQ_SET_ACTION_TRIGGER, 0, 0);
	it_assert_fds(t, 1);
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 0);
	assert_int_equal(it_efd_count(efd), 0);
	close(efd);
}

/* Signal the resample eventfd as KVM does at EOI; wait until the daemon took it. */
static void resample(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
	for (int i = 0; i < 200 && it_wait_readable(fd, 0); i++)
		usleep(5000);
	assert_false(it_wait_readable(fd, 0));
}

/* EOI (on @rfd) with the line still asserted: the interrupt fires again on @efd. */
static void expect_refire(int efd, int rfd)
{
	resample(rfd);
	assert_true(it_wait_readable(efd, 1000));
	assert_int_equal(it_efd_count(efd), 1);
}

static void test_intx_resample(void **state)
{
	struct itest *t = *state;
	int efd = it_eventfd(), rfd = it_eventfd();

	it_set_irq_fds(t->c, VFU_PCI_INTX, VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, &efd);
	it_set_irq_fds(t->c, VFU_PCI_INTX, VFU_IRQ_SET_ACTION_UNMASK, 0, 1, &rfd);
	/* Session, trigger, and the resample fd twice: the IRQ table's and epoll's dup. */
	it_assert_fds(t, 4);

	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 0);
	assert_int_equal(it_efd_count(efd), 1);
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 1);
	assert_int_equal(it_efd_count(efd), 0);
	expect_refire(efd, rfd);
	/* Acked, then EOI: nothing. */
	it_reg_write(t->c, TESTDEV_IRQ_ACK, 3);
	resample(rfd);
	it_reg_read(t->c, TESTDEV_ID); /* a round trip after the resample */
	assert_false(it_wait_readable(efd, 100));
	/* And the next raise is delivered. */
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 2);
	assert_int_equal(it_efd_count(efd), 1);
	it_reg_write(t->c, TESTDEV_IRQ_ACK, 4);
	resample(rfd); /* the guest's EOI unmasks */

	/* Replace the resample fd, then drop it with an empty DATA_EVENTFD|UNMASK. */
	close(rfd);
	rfd = it_eventfd();
	it_set_irq_fds(t->c, VFU_PCI_INTX, VFU_IRQ_SET_ACTION_UNMASK, 0, 1, &rfd);
	/* The old fd and its dup are gone, the new one held twice. */
	it_assert_fds(t, 4);
	it_reg_write(t->c, TESTDEV_IRQ_RAISE, 0);
	assert_int_equal(it_efd_count(efd), 1);
	expect_refire(efd, rfd);
	it_set_irq_fds(t->c, VFU_PCI_INTX, VFU_IRQ_SET_ACTION_UNMASK, 0, 1, NULL);
	/* Both copies of the resample fd dropped: session and trigger left. */
	it_assert_fds(t, 2);
	close(efd);
	close(rfd);
}

static void test_err_req_irqs(void **state)
{
	struct itest *t = *state;
	int e = it_eventfd(), r = it_eventfd();

	it_set_irq_fds(t->c, VFU_PCI_ERR, VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, &e);
	it_set_irq_fds(t->c, VFU_PCI_REQ, VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, &r);
	it_assert_fds(t, 3);
	it_set_irq_none(t->c, VFU_PCI_ERR, VFU_IRQ_SET_ACTION_TRIGGER, 0, 0);
	it_assert_fds(t, 2);
	close(e);
	close(r);
	/* REQ's eventfd is still set: the disconnect must release it. */
}

/* ---- region access ---- */

static void test_registers(void **state)
{
	struct itest *t = *state;
	uint16_t half = 0;
	uint32_t v;

	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
	it_reg_write(t->c, TESTDEV_ID, 0); /* read-only */
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
	assert_int_equal(it_reg_read(t->c, TESTDEV_LIVENESS), 0xffffffff);
	it_reg_write(t->c, TESTDEV_LIVENESS, 0x12345678);
	assert_int_equal(it_reg_read(t->c, TESTDEV_LIVENESS), 0xedcba987);
	for (uint32_t i = 0; i < 8; i++)
		it_reg_write(t->c, TESTDEV_SCRATCH0 + 4 * i, 0xc0de0000 + i);
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(it_reg_read(t->c, TESTDEV_SCRATCH0 + 4 * i), 0xc0de0000 + i);
	/* Unknown offsets read 0 and ignore writes. */
	it_reg_write(t->c, 0x800, 0xffffffff);
	assert_int_equal(it_reg_read(t->c, 0x800), 0);
	assert_int_equal(it_reg_read(t->c, 0xffc), 0);
	/* Accesses that are not 4 bytes wide read all ones and are ignored. */
	assert_int_equal(vfu_client_region_read(t->c, VFU_PCI_BAR0, TESTDEV_SCRATCH0, &half, 2),
			 0);
	assert_int_equal(half, 0xffff);
	half = 0;
	assert_int_equal(vfu_client_region_write(t->c, VFU_PCI_BAR0, TESTDEV_SCRATCH0, &half,
						 2), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SCRATCH0), 0xc0de0000);
	/* Unaligned 4-byte access: all ones. */
	assert_int_equal(vfu_client_region_read(t->c, VFU_PCI_BAR0, TESTDEV_SCRATCH0 + 1, &v, 4),
			 0);
	assert_int_equal(v, 0xffffffff);
}

static void test_posted_writes(void **state)
{
	struct itest *t = *state;

	for (uint32_t i = 0; i < 8; i++) {
		uint32_t v = 0xbeef0000 + i;

		assert_int_equal(vfu_client_region_write_posted(t->c, VFU_PCI_BAR0,
								TESTDEV_SCRATCH0 + 4 * i, &v, 4),
				 0);
	}
	/* No reply came for them: the next reply is the read's. */
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(it_reg_read(t->c, TESTDEV_SCRATCH0 + 4 * i), 0xbeef0000 + i);
}

static void test_write_multi(void **state)
{
	struct itest *t = *state;
	struct vfu_write_multi_entry e[10];
	uint32_t trap0 = it_reg_read(t->c, TESTDEV_TRAP_COUNT);
	uint64_t shm = 0;

	assert_true(vfu_client_caps(t->c)->write_multiple);
	memset(e, 0, sizeof(e));
	for (uint32_t i = 0; i < 8; i++) {
		uint32_t v = 0xa0a00000 + i;

		e[i].offset = TESTDEV_SCRATCH0 + 4 * i;
		e[i].region = VFU_PCI_BAR0;
		e[i].count = 4;
		memcpy(e[i].data, &v, 4);
	}
	/* Later entries win over earlier ones to the same register. */
	e[8] = e[0];
	memcpy(e[8].data, &(uint32_t){ 0x11111111 }, 4);
	/* An 8-byte write to BAR2's trapped page. */
	e[9].offset = 0x2008;
	e[9].region = 2;
	e[9].count = 8;
	memcpy(e[9].data, &(uint64_t){ 0x0123456789abcdefull }, 8);
	assert_int_equal(vfu_client_region_write_multi(t->c, e, 10), 0);

	assert_int_equal(it_reg_read(t->c, TESTDEV_SCRATCH0), 0x11111111);
	for (uint32_t i = 1; i < 8; i++)
		assert_int_equal(it_reg_read(t->c, TESTDEV_SCRATCH0 + 4 * i), 0xa0a00000 + i);
	assert_int_equal(it_reg_read(t->c, TESTDEV_TRAP_COUNT), trap0 + 1);
	assert_int_equal(vfu_client_region_read(t->c, 2, 0x2008, &shm, 8), 0);
	assert_int_equal(shm, 0x0123456789abcdefull);
}

/* ---- config space ---- */

static void test_config_space(void **state)
{
	struct itest *t = *state;
	static uint8_t cfg[4096];
	uint8_t part[256];
	uint16_t w;
	uint32_t d;

	assert_int_equal(vfu_client_region_read(t->c, VFU_PCI_CONFIG, 0, cfg, 4096), 0);
	memcpy(&w, cfg + PCI_VENDOR_ID, 2);
	assert_int_equal(w, TESTDEV_VENDOR);
	memcpy(&w, cfg + PCI_DEVICE_ID, 2);
	assert_int_equal(w, TESTDEV_DEVICE);
	memcpy(&w, cfg + PCI_SUBSYSTEM_VENDOR_ID, 2);
	assert_int_equal(w, TESTDEV_VENDOR);
	memcpy(&w, cfg + PCI_SUBSYSTEM_ID, 2);
	assert_int_equal(w, 0x0001);
	assert_int_equal(cfg[PCI_REVISION_ID], 1);
	assert_int_equal(cfg[PCI_CLASS_PROG], 0x00);
	assert_int_equal(cfg[PCI_CLASS_DEVICE], 0xff);
	assert_int_equal(cfg[PCI_CLASS_DEVICE + 1], 0x00);
	assert_int_equal(cfg[PCI_HEADER_TYPE] & 0x7f, 0);
	assert_int_equal(cfg[PCI_INTERRUPT_PIN], 1);
	memcpy(&w, cfg + PCI_STATUS, 2);
	assert_true(w & PCI_STATUS_CAP_LIST);
	/* BAR type bits. */
	memcpy(&d, cfg + PCI_BASE_ADDRESS_0 + 8, 4);
	assert_int_equal(d & 0xf, PCI_BAR_PREFETCH);

	/* Capability list: PM 0x40 -> MSI-X 0x50 -> PCIe 0x60 -> vendor 0xa0. */
	assert_int_equal(cfg[PCI_CAPABILITY_LIST], 0x40);
	assert_int_equal(cfg[0x40], PCI_CAP_ID_PM);
	assert_int_equal(cfg[0x41], 0x50);
	assert_int_equal(cfg[0x50], PCI_CAP_ID_MSIX);
	assert_int_equal(cfg[0x51], 0x60);
	assert_int_equal(cfg[0x60], PCI_CAP_ID_EXP);
	assert_int_equal(cfg[0x61], 0xa0);
	assert_int_equal(cfg[0xa0], PCI_CAP_ID_VNDR);
	assert_int_equal(cfg[0xa1], 0);
	/* MSI-X: 8 vectors, disabled; table at BAR1 + 0, PBA at BAR1 + 0x800. */
	memcpy(&w, cfg + 0x50 + PCI_MSIX_FLAGS, 2);
	assert_int_equal(w & PCI_MSIX_FLAGS_QSIZE, 7);
	assert_false(w & PCI_MSIX_FLAGS_ENABLE);
	memcpy(&d, cfg + 0x50 + PCI_MSIX_TABLE, 4);
	assert_int_equal(d, 0x000 | 1);
	memcpy(&d, cfg + 0x50 + PCI_MSIX_PBA, 4);
	assert_int_equal(d, 0x800 | 1);
	/* PCIe endpoint, capability version 2. */
	memcpy(&w, cfg + 0x60 + PCI_EXP_FLAGS, 2);
	assert_int_equal(w & 0xf, 2);
	assert_int_equal((w >> 4) & 0xf, PCI_EXP_TYPE_ENDPOINT);

	/* Reads in pieces see the same bytes. */
	for (uint32_t off = 0; off < 4096; off += sizeof(part)) {
		assert_int_equal(vfu_client_region_read(t->c, VFU_PCI_CONFIG, off, part,
							sizeof(part)), 0);
		assert_memory_equal(part, cfg + off, sizeof(part));
	}
}

static void test_bar_sizing(void **state)
{
	static const uint32_t sized[6] = {
		0xfffff000, 0xfffff000, 0xffffc000 | PCI_BAR_PREFETCH, 0, 0, 0,
	};
	struct itest *t = *state;

	for (uint32_t bar = 0; bar < 6; bar++) {
		uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * bar;
		uint32_t old = it_cfg_read32(t->c, reg);

		it_cfg_write32(t->c, reg, 0xffffffff);
		assert_int_equal(it_cfg_read32(t->c, reg), sized[bar]);
		it_cfg_write32(t->c, reg, old);
		assert_int_equal(it_cfg_read32(t->c, reg), old);
	}
	/* An address sticks, the type bits stay. */
	it_cfg_write32(t->c, PCI_BASE_ADDRESS_0 + 8, 0xfebf4000);
	assert_int_equal(it_cfg_read32(t->c, PCI_BASE_ADDRESS_0 + 8),
			 0xfebf4000 | PCI_BAR_PREFETCH);
	/* No ROM. */
	it_cfg_write32(t->c, PCI_ROM_ADDRESS, 0xfffff800);
	assert_int_equal(it_cfg_read32(t->c, PCI_ROM_ADDRESS), 0);
	/* IDs are read-only. */
	it_cfg_write32(t->c, PCI_VENDOR_ID, 0);
	assert_int_equal(it_cfg_read16(t->c, PCI_VENDOR_ID), TESTDEV_VENDOR);
}

/* ---- DMA ---- */

static void test_dma_map_unmap(void **state)
{
	struct itest *t = *state;
	int a = it_memfd(MAP_SIZE), b = it_memfd(MAP_SIZE);

	assert_int_equal(vfu_client_dma_map(t->c, GUEST_A, MAP_SIZE, a, 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	/* The daemon maps the memfd and closes its fd: only the session's fd is held. */
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, MAP_SIZE);
	/* At an offset into the fd. */
	assert_int_equal(vfu_client_dma_map(t->c, GUEST_A + MAP_SIZE, 0x4000, b, 0x8000,
					    VFU_DMA_READ), 0);
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, MAP_SIZE + 0x4000);
	/* Without fd (ROM-like): accepted, nothing mapped. */
	assert_int_equal(vfu_client_dma_map(t->c, 0xfffc0000, 0x40000, -1, 0, VFU_DMA_READ), 0);
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, MAP_SIZE + 0x4000);
	/* Our copies may go: the daemon's mappings keep the memory. */
	close(a);
	close(b);
	it_assert_dma_mapped(t, MAP_SIZE + 0x4000);

	assert_int_equal(vfu_client_dma_unmap(t->c, GUEST_A, MAP_SIZE, 0), 0);
	it_assert_dma_mapped(t, 0x4000);
	/* Remapping the freed range works. */
	a = it_memfd(MAP_SIZE);
	assert_int_equal(vfu_client_dma_map(t->c, GUEST_A, MAP_SIZE, a, 0, VFU_DMA_WRITE), 0);
	close(a);
	it_assert_dma_mapped(t, MAP_SIZE + 0x4000);
	assert_int_equal(vfu_client_dma_unmap(t->c, 0xfffc0000, 0x40000, 0), 0);
	assert_int_equal(vfu_client_dma_unmap(t->c, 0, 0, VFU_DMA_UNMAP_ALL), 0);
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, 0);
	it_assert_dma_free(t->c, GUEST_A, MAP_SIZE);
	/* Unmapping nothing, or UNMAP_ALL with nothing mapped, is fine (VFIO type1). */
	assert_int_equal(vfu_client_dma_unmap(t->c, GUEST_A, MAP_SIZE, 0), 0);
	assert_int_equal(vfu_client_dma_unmap(t->c, 0, 0, VFU_DMA_UNMAP_ALL), 0);

	/* One range covering several maps (and the gaps between) removes them all. */
	a = it_memfd(MAP_SIZE);
	assert_int_equal(vfu_client_dma_map(t->c, GUEST_A, 0x1000, a, 0, VFU_DMA_READ), 0);
	assert_int_equal(vfu_client_dma_map(t->c, GUEST_A + 0x1000, 0x2000, a, 0x1000,
					    VFU_DMA_READ), 0);
	assert_int_equal(vfu_client_dma_map(t->c, GUEST_A + 0x8000, 0x1000, -1, 0,
					    VFU_DMA_READ), 0);
	assert_int_equal(vfu_client_dma_map(t->c, GUEST_A + MAP_SIZE, 0x1000, a, 0,
					    VFU_DMA_READ), 0);
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, 0x4000);
	assert_int_equal(vfu_client_dma_unmap(t->c, GUEST_A, MAP_SIZE, 0), 0);
	it_assert_dma_mapped(t, 0x1000);
	it_assert_dma_free(t->c, GUEST_A, MAP_SIZE);
	/* The one past the range stays. */
	assert_int_equal(vfu_client_dma_map(t->c, GUEST_A + MAP_SIZE, 0x1000, -1, 0,
					    VFU_DMA_READ), -EEXIST);
	/* An unmap range reaching the top of the address space (2^64). */
	assert_int_equal(vfu_client_dma_map(t->c, 0xffffffffffffe000ull, 0x1000, a, 0,
					    VFU_DMA_READ), 0);
	it_assert_dma_mapped(t, 0x2000);
	assert_int_equal(vfu_client_dma_unmap(t->c, 0x8000000000000000ull,
					      0x8000000000000000ull, 0), 0);
	it_assert_dma_mapped(t, 0x1000);
	it_assert_dma_free(t->c, 0xffffffffffffe000ull, 0x1000);
	it_assert_fds(t, 1);
	close(a);
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void test_dma_engine(void **state)
{
	struct itest *t = *state;
	int fd = it_memfd(MAP_SIZE), efd = it_eventfd();
	uint8_t *mem = it_map(fd, MAP_SIZE), want[4096];

	assert_int_equal(vfu_client_dma_map(t->c, GUEST_A, MAP_SIZE, fd, 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_DMA_STATUS), TESTDEV_DMA_STATUS_IDLE);
	/* Without bus mastering the engine refuses. */
	fill(mem + 0x100, 256, 1);
	assert_int_equal(it_dma_run(t->c, GUEST_A + 0x100, GUEST_A + 0x2000, 256, 1),
			 TESTDEV_DMA_STATUS_ERROR | EPERM);

	it_cfg_command(t->c, PCI_COMMAND_MASTER, true);
	assert_int_equal(it_dma_run(t->c, GUEST_A + 0x100, GUEST_A + 0x2000, 256, 1),
			 TESTDEV_DMA_STATUS_DONE);
	assert_memory_equal(mem + 0x2000, mem + 0x100, 256);

	/* A larger, unaligned copy. */
	fill(want, sizeof(want), 0x33);
	memcpy(mem + 0x4003, want, sizeof(want));
	assert_int_equal(it_dma_run(t->c, GUEST_A + 0x4003, GUEST_A + 0x9001, sizeof(want), 1),
			 TESTDEV_DMA_STATUS_DONE);
	assert_memory_equal(mem + 0x9001, want, sizeof(want));

	/* Length 0 and more than 1 MiB are refused. */
	assert_int_equal(it_dma_run(t->c, GUEST_A, GUEST_A + 0x1000, 0, 1),
			 TESTDEV_DMA_STATUS_ERROR | EINVAL);
	assert_int_equal(it_dma_run(t->c, GUEST_A, GUEST_A + 0x1000, TESTDEV_DMA_MAX + 1, 1),
			 TESTDEV_DMA_STATUS_ERROR | EINVAL);

	/* Completion interrupt on MSI-X vector 2. */
	it_set_irq_fds(t->c, VFU_PCI_MSIX, VFU_IRQ_SET_ACTION_TRIGGER, 2, 1, &efd);
	it_msix_enable(t->c, true);
	it_reg_write(t->c, TESTDEV_DMA_VECTOR, 2);
	fill(mem + 0x100, 64, 9);
	assert_int_equal(it_dma_run(t->c, GUEST_A + 0x100, GUEST_A + 0x3000, 64,
				 TESTDEV_DMA_CMD_START | TESTDEV_DMA_CMD_IRQ),
			 TESTDEV_DMA_STATUS_DONE);
	assert_memory_equal(mem + 0x3000, mem + 0x100, 64);
	assert_int_equal(it_efd_count(efd), 1);
	assert_int_equal(it_reg_read(t->c, TESTDEV_IRQ_STATUS), 1u << 2);
	/* Without the IRQ bit: no interrupt. */
	assert_int_equal(it_dma_run(t->c, GUEST_A + 0x100, GUEST_A + 0x3000, 64, 1),
			 TESTDEV_DMA_STATUS_DONE);
	assert_int_equal(it_efd_count(efd), 0);

	munmap(mem, MAP_SIZE);
	close(fd);
	close(efd);
}

static void test_dma_spans_maps(void **state)
{
	struct itest *t = *state;
	const uint64_t base = 0x20000000;
	int a = it_memfd(0x1000), b = it_memfd(0x1000), m = it_memfd(MAP_SIZE);
	uint8_t *pa = it_map(a, 0x1000), *pb = it_map(b, 0x1000), *pm = it_map(m, MAP_SIZE);
	uint8_t want[0x200];

	assert_int_equal(vfu_client_dma_map(t->c, base, 0x1000, a, 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	assert_int_equal(vfu_client_dma_map(t->c, base + 0x1000, 0x1000, b, 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	assert_int_equal(vfu_client_dma_map(t->c, GUEST_A, MAP_SIZE, m, 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	it_cfg_command(t->c, PCI_COMMAND_MASTER, true);

	/* Source across the boundary of a and b. */
	fill(want, sizeof(want), 0x5c);
	memcpy(pa + 0x1000 - 0x100, want, 0x100);
	memcpy(pb, want + 0x100, 0x100);
	assert_int_equal(it_dma_run(t->c, base + 0x1000 - 0x100, GUEST_A, sizeof(want), 1),
			 TESTDEV_DMA_STATUS_DONE);
	assert_memory_equal(pm, want, sizeof(want));

	/* Destination across it. */
	fill(pm + 0x1000, sizeof(want), 0xa1);
	assert_int_equal(it_dma_run(t->c, GUEST_A + 0x1000, base + 0x1000 - 0x80, sizeof(want), 1),
			 TESTDEV_DMA_STATUS_DONE);
	assert_memory_equal(pa + 0x1000 - 0x80, pm + 0x1000, 0x80);
	assert_memory_equal(pb, pm + 0x1000 + 0x80, sizeof(want) - 0x80);

	/* Running past the end of b: fault, nothing else breaks. */
	assert_int_equal(it_dma_run(t->c, base + 0x1f00, GUEST_A, 0x200, 1),
			 TESTDEV_DMA_STATUS_ERROR | EFAULT);

	munmap(pa, 0x1000);
	munmap(pb, 0x1000);
	munmap(pm, MAP_SIZE);
	close(a);
	close(b);
	close(m);
}

static void test_dma_faults(void **state)
{
	struct itest *t = *state;
	int fd = it_memfd(MAP_SIZE), ro = it_memfd(0x1000);
	uint8_t *mem = it_map(fd, MAP_SIZE);

	assert_int_equal(vfu_client_dma_map(t->c, GUEST_A, MAP_SIZE, fd, 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	assert_int_equal(vfu_client_dma_map(t->c, 0x30000000, 0x1000, ro, 0, VFU_DMA_READ), 0);
	assert_int_equal(vfu_client_dma_map(t->c, 0x40000000, 0x1000, -1, 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	it_cfg_command(t->c, PCI_COMMAND_MASTER, true);

	/* Unmapped source, unmapped destination. */
	assert_int_equal(it_dma_run(t->c, 0x50000000, GUEST_A, 64, 1),
			 TESTDEV_DMA_STATUS_ERROR | EFAULT);
	assert_int_equal(it_dma_run(t->c, GUEST_A, 0x50000000, 64, 1),
			 TESTDEV_DMA_STATUS_ERROR | EFAULT);
	/* Wrapping around the top of the address space. */
	assert_int_equal(it_dma_run(t->c, 0xffffffffffffff00ull, GUEST_A, 0x200, 1),
			 TESTDEV_DMA_STATUS_ERROR | EFAULT);
	/* Writing a read-only map. */
	assert_int_equal(it_dma_run(t->c, GUEST_A, 0x30000000, 64, 1),
			 TESTDEV_DMA_STATUS_ERROR | EFAULT);
	/* Reading it is fine. */
	assert_int_equal(it_dma_run(t->c, 0x30000000, GUEST_A, 64, 1), TESTDEV_DMA_STATUS_DONE);
	/* A map without fd cannot be reached by the engine (no server DMA messages). */
	assert_int_equal(it_dma_run(t->c, 0x40000000, GUEST_A, 64, 1),
			 TESTDEV_DMA_STATUS_ERROR | EFAULT);
	/* After the map goes, the range faults. */
	assert_int_equal(vfu_client_dma_unmap(t->c, GUEST_A, MAP_SIZE, 0), 0);
	assert_int_equal(it_dma_run(t->c, 0x30000000, GUEST_A, 64, 1),
			 TESTDEV_DMA_STATUS_ERROR | EFAULT);
	/* UNMAP_ALL drops the rest. */
	assert_int_equal(vfu_client_dma_unmap(t->c, 0, 0, VFU_DMA_UNMAP_ALL), 0);
	it_assert_fds(t, 1);
	it_assert_dma_mapped(t, 0);
	assert_int_equal(it_dma_run(t->c, 0x30000000, 0x30000000, 64, 1),
			 TESTDEV_DMA_STATUS_ERROR | EFAULT);
	assert_int_equal(it_reg_read(t->c, TESTDEV_ID), TESTDEV_ID_VALUE);
	munmap(mem, MAP_SIZE);
	close(fd);
	close(ro);
}

/* ---- reset and shared memory ---- */

static void test_reset(void **state)
{
	struct itest *t = *state;
	uint32_t resets = it_reg_read(t->c, TESTDEV_RESET_COUNT);
	uint32_t peek = 0x5a5a5a5a;

	it_reg_write(t->c, TESTDEV_SCRATCH0, 0x1234);
	it_reg_write(t->c, TESTDEV_SCRATCH7, 0x5678);
	it_reg_write(t->c, TESTDEV_STICKY, 0xfeedf00d);
	it_reg_write(t->c, TESTDEV_LIVENESS, 0);
	it_reg_write(t->c, TESTDEV_SHM_PEEK_OFF, 0x10);
	it_reg_write(t->c, TESTDEV_SHM_PEEK, peek);
	it_cfg_command(t->c, PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY, true);
	it_msix_enable(t->c, true);

	assert_int_equal(vfu_client_reset(t->c), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SCRATCH0), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SCRATCH7), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_STICKY), 0xfeedf00d);
	assert_int_equal(it_reg_read(t->c, TESTDEV_RESET_COUNT), resets + 1);
	assert_int_equal(it_reg_read(t->c, TESTDEV_LIVENESS), 0xffffffff);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SHM_PEEK_OFF), 0);
	/* BAR2 refilled. */
	it_reg_write(t->c, TESTDEV_SHM_PEEK_OFF, 0x10);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SHM_PEEK), TESTDEV_SHM_PATTERN + 4);
	/* Config back to power-on: no bus master, MSI-X off. */
	assert_int_equal(it_cfg_read16(t->c, PCI_COMMAND) &
			 (PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY), 0);
	assert_int_equal(it_cfg_read16(t->c, 0x50 + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE, 0);

	assert_int_equal(vfu_client_reset(t->c), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_RESET_COUNT), resets + 2);
	assert_int_equal(it_reg_read(t->c, TESTDEV_STICKY), 0xfeedf00d);
	it_reg_write(t->c, TESTDEV_STICKY, 0);
}

static void test_shm_peek(void **state)
{
	struct itest *t = *state;
	struct vfu_client_region r;
	uint32_t *p;

	assert_int_equal(vfu_client_get_region_info(t->c, 2, &r), 0);
	assert_int_equal(vfu_client_region_mmap(&r, PROT_READ | PROT_WRITE), 0);

	/* Written through our mapping, seen by the daemon. */
	p = vfu_client_region_ptr(&r, 0x100, 4);
	assert_non_null(p);
	*p = 0xdeadbeef;
	it_reg_write(t->c, TESTDEV_SHM_PEEK_OFF, 0x100);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SHM_PEEK), 0xdeadbeef);
	/* In the second area too. */
	p = vfu_client_region_ptr(&r, 0x3ffc, 4);
	assert_non_null(p);
	*p = 0x0badcafe;
	it_reg_write(t->c, TESTDEV_SHM_PEEK_OFF, 0x3ffc);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SHM_PEEK), 0x0badcafe);
	/* Written by the daemon, seen in our mapping. */
	it_reg_write(t->c, TESTDEV_SHM_PEEK_OFF, 0x3004);
	it_reg_write(t->c, TESTDEV_SHM_PEEK, 0x600dd00d);
	p = vfu_client_region_ptr(&r, 0x3004, 4);
	assert_non_null(p);
	assert_int_equal(*p, 0x600dd00d);
	/* SHM_PEEK_OFF is kept aligned and inside the BAR. */
	it_reg_write(t->c, TESTDEV_SHM_PEEK_OFF, 0x4103);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SHM_PEEK_OFF), 0x100);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SHM_PEEK), 0xdeadbeef);
	/* The mappable part can be read by message too. */
	{
		uint32_t v = 0;

		assert_int_equal(vfu_client_region_read(t->c, 2, 0x100, &v, 4), 0);
		assert_int_equal(v, 0xdeadbeef);
	}
	vfu_client_region_release(&r);
}

static void test_trap_page(void **state)
{
	struct itest *t = *state;
	uint32_t n0 = it_reg_read(t->c, TESTDEV_TRAP_COUNT), v = 0;
	uint8_t page[4096];

	assert_int_equal(vfu_client_region_read(t->c, 2, 0x2000, &v, 4), 0);
	assert_int_equal(v, TESTDEV_SHM_PATTERN + 0x2000 / 4);
	assert_int_equal(it_reg_read(t->c, TESTDEV_TRAP_COUNT), n0 + 1);
	v = 0x7a7a7a7a;
	assert_int_equal(vfu_client_region_write(t->c, 2, 0x2ffc, &v, 4), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_TRAP_COUNT), n0 + 2);
	it_reg_write(t->c, TESTDEV_SHM_PEEK_OFF, 0x2ffc);
	assert_int_equal(it_reg_read(t->c, TESTDEV_SHM_PEEK), 0x7a7a7a7a);
	/* The whole page in one access counts once. */
	assert_int_equal(vfu_client_region_read(t->c, 2, 0x2000, page, sizeof(page)), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_TRAP_COUNT), n0 + 3);
	/* Outside the trapped page: not counted. */
	assert_int_equal(vfu_client_region_read(t->c, 2, 0x1ffc, &v, 4), 0);
	assert_int_equal(vfu_client_region_read(t->c, 2, 0x3000, &v, 4), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_TRAP_COUNT), n0 + 3);
	/* TRAP_COUNT survives reset. */
	assert_int_equal(vfu_client_reset(t->c), 0);
	assert_int_equal(it_reg_read(t->c, TESTDEV_TRAP_COUNT), n0 + 3);
}

#define T(f) cmocka_unit_test_setup_teardown(f, it_setup, it_teardown)
#define T_RAW(f) cmocka_unit_test_setup_teardown(f, it_setup_raw, it_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T_RAW(test_version_caps),
		T_RAW(test_version_variants),
		T(test_device_info),
		T(test_region_info_all),
		T(test_region_info_argsz),
		T(test_bar2_mmap),
		T(test_region_io_fds),
		T(test_irq_info),
		T(test_msix),
		T(test_msix_disabled_goes_intx),
		T(test_intx),
		T(test_intx_resample),
		T(test_err_req_irqs),
		T(test_registers),
		T(test_posted_writes),
		T(test_write_multi),
		T(test_config_space),
		T(test_bar_sizing),
		T(test_dma_map_unmap),
		T(test_dma_engine),
		T(test_dma_spans_maps),
		T(test_dma_faults),
		T(test_reset),
		T(test_shm_peek),
		T(test_trap_page),
	};

	return cmocka_run_group_tests_name("commands", tests, it_group_setup_1dev,
					   it_group_teardown);
}
