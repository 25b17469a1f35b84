// SPDX-License-Identifier: MIT
/*
 * The trace decoder on damaged files: every truncation of a good trace,
 * every byte of it flipped, and hand-made bad headers and records. Each
 * must end in a clear error (or a clean end at a record boundary), never a
 * crash or a read past the data (run under ASan), and everything printed
 * before the damage must print.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/trace.h"
#include "core/trace_read.h"
#include "vfio-user/wire.h"

struct decoded {
	int ret;          /* of the last trace_reader_next, or of open */
	unsigned records; /* returned before it */
	bool ended;
	char err[256];
};

/* Decode and print (text and JSON, to /dev/null) what @len bytes of @buf hold. */
static void decode(const uint8_t *buf, size_t len, struct decoded *d)
{
	FILE *f = len ? fmemopen((void *)buf, len, "rb") : fopen("/dev/null", "rb");
	FILE *null = fopen("/dev/null", "w");
	struct trace_reader r;
	const struct trace_rec *rec;

	assert_non_null(f);
	assert_non_null(null);
	memset(d, 0, sizeof(*d));
	d->ret = trace_reader_open(&r, f, d->err, sizeof(d->err));
	if (!d->ret) {
		while ((d->ret = trace_reader_next(&r, &rec, d->err, sizeof(d->err))) > 0) {
			trace_print_record(&r.hdr, rec, false, null);
			trace_print_record(&r.hdr, rec, true, null);
			d->records++;
		}
		d->ended = r.ended;
	}
	trace_reader_fini(&r);
	fclose(f);
	fclose(null);
}

static uint8_t *good;
static size_t good_len;
static size_t bounds[32]; /* record boundaries in good */
static unsigned nbounds;

static int make_good(void **state)
{
	char path[] = "/tmp/iomed-trace-rd.XXXXXX", err[256];
	uint8_t data[40] = { 1, 2, 3 };
	struct trace t;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	trace_init(&t);
	if (trace_open(&t, path, "dev0", "testdev", err, sizeof(err)))
		return -1;
	trace_connect(&t);
	trace_access(&t, TRACE_REGION_READ, 0, VFU_PCI_CONFIG, 0, data, 4);
	trace_access(&t, TRACE_REGION_WRITE, 0, 0, 0x14, data, sizeof(data));
	trace_msg(&t, VFU_CMD_DMA_MAP, 7, -EINVAL, TRACE_F_INVALID);
	trace_event(&t, TRACE_EV_MBOX_TO_DRV, 1, 0, data, sizeof(data));
	trace_event(&t, TRACE_EV_NOTE, 0, 0, "note", 4);
	trace_irq(&t, VFU_PCI_MSIX, 0, TRACE_IRQ_MASKED);
	trace_disconnect(&t, -ETIMEDOUT);
	trace_close(&t, NULL);
	trace_fini(&t);

	f = fopen(path, "rb");
	unlink(path);
	if (!f)
		return -1;
	good = malloc(1 << 16);
	good_len = fread(good, 1, 1 << 16, f);
	fclose(f);
	/* Record boundaries, from the sizes in the file. */
	for (size_t off = sizeof(struct trace_file_header); off < good_len && nbounds < 32;) {
		struct trace_rec rec;

		bounds[nbounds++] = off;
		memcpy(&rec, good + off, sizeof(rec));
		off += rec.size;
	}
	bounds[nbounds++] = good_len;
	return 0;
}

static int free_good(void **state)
{
	(void)state;
	free(good);
	return 0;
}

static bool at_boundary(size_t len)
{
	for (unsigned i = 0; i < nbounds; i++)
		if (bounds[i] == len)
			return true;
	return false;
}

static void test_good(void **state)
{
	struct decoded d;

	(void)state;
	decode(good, good_len, &d);
	assert_int_equal(d.ret, 0);
	assert_int_equal(d.records, 9);
	assert_true(d.ended);
}

/* Every prefix: a clean end exactly at a record boundary, else a truncation error. */
static void test_truncated(void **state)
{
	struct decoded d;

	(void)state;
	for (size_t len = 0; len < good_len; len++) {
		decode(good, len, &d);
		assert_false(d.ended);
		if (len < sizeof(struct trace_file_header)) {
			assert_true(d.ret < 0);
			if (len >= 8)
				assert_non_null(strstr(d.err, "truncated file header"));
			continue;
		}
		if (at_boundary(len)) {
			assert_int_equal(d.ret, 0);
			continue;
		}
		assert_int_equal(d.ret, -EIO);
		if (!strstr(d.err, "truncated record"))
			fail_msg("at %zu bytes: %s", len, d.err);
	}
}

/* Every byte flipped in turn: whatever comes out, nothing crashes. */
static void test_flipped(void **state)
{
	uint8_t *bad = malloc(good_len);
	struct decoded d;

	(void)state;
	assert_non_null(bad);
	for (size_t i = 0; i < good_len; i++) {
		for (unsigned x = 0; x < 3; x++) {
			static const uint8_t masks[] = { 0xff, 0x80, 0x01 };

			memcpy(bad, good, good_len);
			bad[i] ^= masks[x];
			decode(bad, good_len, &d);
			if (d.ret < 0)
				assert_true(strlen(d.err) > 10);
		}
	}
	free(bad);
}

static uint8_t *with_record(size_t *len, uint16_t type, uint32_t size, const void *payload,
			    size_t plen)
{
	uint8_t *buf = calloc(1, sizeof(struct trace_file_header) + 16 + plen);
	struct trace_rec rec = { .type = type, .size = size };

	memcpy(buf, good, sizeof(struct trace_file_header));
	memcpy(buf + sizeof(struct trace_file_header), &rec, sizeof(rec));
	if (plen)
		memcpy(buf + sizeof(struct trace_file_header) + 16, payload, plen);
	*len = sizeof(struct trace_file_header) + 16 + plen;
	return buf;
}

static void expect_error(const uint8_t *buf, size_t len, int ret, const char *msg)
{
	struct decoded d;

	decode(buf, len, &d);
	assert_int_equal(d.ret, ret);
	if (!strstr(d.err, msg))
		fail_msg("expected \"%s\" in \"%s\"", msg, d.err);
}

static void test_bad_header(void **state)
{
	struct trace_file_header h;
	uint8_t buf[sizeof(h)];

	(void)state;
	expect_error((const uint8_t *)"GIF89a..............", 20, -EINVAL,
		     "not an iomed trace (no IOMEDTRC magic at the start)");
	expect_error((const uint8_t *)"host\n", 5, -EINVAL, "not an iomed trace");
	expect_error(good, 4, -EINVAL, "truncated file header: 4 of 128 bytes");
	expect_error(good, 100, -EINVAL, "truncated file header: 100 of 128 bytes");
	memcpy(&h, good, sizeof(h));
	h.version = 99;
	memcpy(buf, &h, sizeof(h));
	expect_error(buf, sizeof(buf), -EINVAL,
		     "trace format version 99 is not supported (this decoder reads 1)");
	h.version = TRACE_VERSION;
	h.header_size = 12;
	memcpy(buf, &h, sizeof(h));
	expect_error(buf, sizeof(buf), -EINVAL, "corrupt file header: header_size 12");
}

static void test_bad_records(void **state)
{
	struct trace_access a = { .offset = 0, .region = 7, .count = 2 };
	uint8_t payload[32] = { 0 };
	uint8_t *buf;
	size_t len;

	(void)state;
	buf = with_record(&len, TRACE_CONNECT, 0, NULL, 0);
	expect_error(buf, len, -EINVAL, "corrupt record at offset 128: size 0 (type 1)");
	free(buf);
	buf = with_record(&len, TRACE_CONNECT, 1u << 30, NULL, 0);
	expect_error(buf, len, -EINVAL, "corrupt record at offset 128: size 1073741824");
	free(buf);
	/* A type whose fixed part does not fit in the record. */
	buf = with_record(&len, TRACE_MSG, 16 + 4, payload, 4);
	expect_error(buf, len, -EINVAL, "corrupt msg record at offset 128: 20 bytes, at least 24 expected");
	free(buf);
	/* More data than the access it records. */
	memcpy(payload, &a, sizeof(a));
	buf = with_record(&len, TRACE_REGION_READ, 16 + 16 + 8, payload, 24);
	expect_error(buf, len, -EINVAL, "8 bytes of data for a 2-byte access");
	free(buf);
	/* A size past the end of the file. */
	buf = with_record(&len, TRACE_IRQ, 16 + 200, payload, 12);
	expect_error(buf, len, -EIO, "truncated record at offset 128: 28 of 216 bytes");
	free(buf);
}

/* Unknown types are skipped by their size (a later version may add some). */
static void test_unknown_type(void **state)
{
	uint8_t payload[8] = { 0 };
	struct decoded d;
	uint8_t *buf;
	size_t len;

	(void)state;
	buf = with_record(&len, 999, 16 + 8, payload, 8);
	decode(buf, len, &d);
	assert_int_equal(d.ret, 0);
	assert_int_equal(d.records, 1);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_flipped),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_unknown_type),
	};

	return cmocka_run_group_tests(tests, make_good, free_good);
}
