// SPDX-License-Identifier: MIT
/*
 * Unit tests for the trace writer (core/trace.c on core/spool.c) and the
 * decoder (core/trace_read.c, trace_print.c): every record type written and
 * read back, text and JSON output, concurrent producers, lost-record
 * markers, and damaged files (every truncation, every byte flipped, bad
 * headers and sizes) that must end with a clear error and no crash.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "core/trace.h"
#include "core/trace_read.h"
#include "vfio-user/wire.h"

static char dir[64];

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/iomed-trace-ut.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static const char *tmp_path(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc(n ? n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), n);
	fclose(f);
	*len = n;
	return buf;
}

static void open_trace(struct trace *t, const char *path)
{
	char err[256] = "";

	trace_init(t);
	if (trace_open(t, path, "dev0", "testdev", err, sizeof(err)))
		fail_msg("trace_open: %s", err);
}

static const uint8_t status_vq[] = { 0x00, 0x01, 0x00, 0x00, 0, 0, 0, 0,
				     1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
				     3, 0, 0, 0, 0, 0, 0, 0 };

/* One record of every type, in this order. */
static void write_all_types(const char *path)
{
	struct trace t;
	uint16_t vendor = 0x1af4;
	uint32_t val = 0xdeadbeef;
	struct spool_stats st;

	open_trace(&t, path);
	trace_connect(&t);
	trace_msg(&t, VFU_CMD_VERSION, 0, 95, 0);
	trace_access(&t, TRACE_REGION_READ, 0, VFU_PCI_CONFIG, 0, &vendor, 2);
	trace_access(&t, TRACE_REGION_WRITE, TRACE_F_MULTI, 0, 0x14, &val, 4);
	trace_dma_map(&t, 0x100000, 0x40000000, 0x1000, 3, true);
	trace_dma_unmap(&t, 0, UINT64_MAX, VFU_DMA_UNMAP_ALL);
	trace_set_irqs(&t, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER,
		       0, 3, 3);
	trace_irq(&t, VFU_PCI_MSIX, 2, TRACE_IRQ_DELIVERED);
	trace_intx(&t, true);
	trace_reset(&t, TRACE_RESET_FLR);
	trace_event(&t, TRACE_EV_VIRTIO_STATUS, 0xf, 0xb, NULL, 0);
	trace_event(&t, TRACE_EV_VIRTIO_QUEUE, 1, 1, status_vq, sizeof(status_vq));
	trace_event(&t, TRACE_EV_NOTE, 0, 0, "hello \"x\"\n", 10);
	trace_event(&t, TRACE_EV_MBOX_TO_DEV, 3, (uint64_t)-5, "\x01\x02", 2);
	trace_disconnect(&t, -ECONNRESET);
	assert_int_equal(trace_close(&t, &st), 0);
	assert_int_equal(st.records, 15);
	assert_int_equal(st.lost, 0);
	trace_fini(&t);
}

static const uint16_t all_types[] = {
	TRACE_CONNECT, TRACE_MSG, TRACE_REGION_READ, TRACE_REGION_WRITE, TRACE_DMA_MAP,
	TRACE_DMA_UNMAP, TRACE_SET_IRQS, TRACE_IRQ, TRACE_INTX, TRACE_RESET, TRACE_EVENT,
	TRACE_EVENT, TRACE_EVENT, TRACE_EVENT, TRACE_DISCONNECT, TRACE_END,
};

/* Decode @path printing each record (text or JSON) into one string. */
static char *print_file(const char *path, bool json, unsigned *nrec)
{
	struct trace_reader r;
	const struct trace_rec *rec;
	char err[256] = "", *out = NULL;
	size_t outlen = 0;
	FILE *f = fopen(path, "rb"), *o = open_memstream(&out, &outlen);
	int ret;

	assert_non_null(f);
	assert_int_equal(trace_reader_open(&r, f, err, sizeof(err)), 0);
	trace_print_header(&r.hdr, json, o);
	*nrec = 0;
	while ((ret = trace_reader_next(&r, &rec, err, sizeof(err))) > 0) {
		trace_print_record(&r.hdr, rec, json, o);
		(*nrec)++;
	}
	if (ret)
		fail_msg("reader: %s", err);
	trace_reader_fini(&r);
	fclose(f);
	fclose(o);
	return out;
}

static void test_roundtrip(void **state)
{
	const char *path = tmp_path("all.trc");
	struct trace_reader r;
	const struct trace_rec *rec;
	uint64_t last_ts = 0;
	char err[256] = "";
	unsigned n = 0;
	FILE *f;

	(void)state;
	write_all_types(path);
	f = fopen(path, "rb");
	assert_int_equal(trace_reader_open(&r, f, err, sizeof(err)), 0);
	assert_memory_equal(r.hdr.magic, TRACE_MAGIC, 8);
	assert_int_equal(r.hdr.version, TRACE_VERSION);
	assert_string_equal(r.hdr.device, "dev0");
	assert_string_equal(r.hdr.model, "testdev");
	while (trace_reader_next(&r, &rec, err, sizeof(err)) > 0) {
		assert_true(n < sizeof(all_types) / sizeof(all_types[0]));
		assert_int_equal(rec->type, all_types[n]);
		assert_true(rec->ts_ns >= last_ts && rec->ts_ns >= r.hdr.start_mono_ns);
		last_ts = rec->ts_ns;
		if (rec->type == TRACE_REGION_WRITE) {
			const struct trace_access *a = (const void *)(rec + 1);

			assert_int_equal(a->offset, 0x14);
			assert_int_equal(a->count, 4);
			assert_int_equal(trace_rec_data_len(rec), 4);
			assert_int_equal(rec->flags, TRACE_F_MULTI);
		}
		n++;
	}
	assert_int_equal(n, sizeof(all_types) / sizeof(all_types[0]));
	assert_true(r.ended);
	assert_int_equal(r.end.records, 15);
	assert_int_equal(r.records, 15);
	trace_reader_fini(&r);
	fclose(f);
}

static void assert_contains(const char *hay, const char *needle)
{
	assert_non_null(hay);
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static void test_text(void **state)
{
	unsigned n;
	char *out;

	(void)state;
	write_all_types(tmp_path("text.trc"));
	out = print_file(tmp_path("text.trc"), false, &n);
	assert_int_equal(n, 16);
	assert_contains(out, "# iomed trace v1 device=dev0 model=testdev");
	assert_contains(out, " connect\n");
	assert_contains(out, " msg cmd=VERSION id=0 result=95\n");
	assert_contains(out, " read region=config offset=0x0 count=2 value=0x1af4 data=f41a\n");
	assert_contains(out, " write region=bar0 offset=0x14 count=4 value=0xdeadbeef data=efbeadde multi=yes\n");
	assert_contains(out, " dma_map addr=0x100000 size=0x40000000 fd_offset=0x1000 prot=rw fd=yes\n");
	assert_contains(out, " dma_unmap addr=0x0 size=0xffffffffffffffff all=yes\n");
	assert_contains(out, " set_irqs index=msix data=eventfd action=trigger start=0 count=3 nfds=3\n");
	assert_contains(out, " irq index=msix vector=2 outcome=delivered\n");
	assert_contains(out, " intx level=1\n");
	assert_contains(out, " reset cause=flr\n");
	assert_contains(out, " event kind=virtio-status status=0xf old=0xb bits=ACKNOWLEDGE|DRIVER|DRIVER_OK|FEATURES_OK\n");
	assert_contains(out, " event kind=virtio-queue queue=1 enabled=1 size=256 vector=0 desc=0x1 avail=0x2 used=0x3\n");
	assert_contains(out, " event kind=note text=\"hello \\\"x\\\"\\n\"\n");
	assert_contains(out, " event kind=mbox-to-dev opcode=3 retval=-5 len=2 data=0102\n");
	assert_contains(out, " disconnect reason=-104 why=closed by the client\n");
	assert_contains(out, " end records=15 lost=0\n");
	free(out);
}

static void test_json(void **state)
{
	unsigned n, lines = 0;
	char *out, *save = NULL;

	(void)state;
	write_all_types(tmp_path("json.trc"));
	out = print_file(tmp_path("json.trc"), true, &n);
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++) {
		json_object *o = json_tokener_parse(l), *v;

		if (!o || !json_object_is_type(o, json_type_object))
			fail_msg("not a JSON object: %s", l);
		assert_true(json_object_object_get_ex(o, "type", &v));
		if (lines == 0) {
			assert_string_equal(json_object_get_string(v), "header");
		} else if (!strcmp(json_object_get_string(v), "read")) {
			assert_true(json_object_object_get_ex(o, "value", &v));
			assert_int_equal(json_object_get_int64(v), 0x1af4);
			assert_true(json_object_object_get_ex(o, "region", &v));
			assert_string_equal(json_object_get_string(v), "config");
		} else if (!strcmp(json_object_get_string(v), "dma_unmap")) {
			assert_true(json_object_object_get_ex(o, "size", &v));
			assert_true(json_object_get_uint64(v) == UINT64_MAX);
		}
		if (lines) {
			assert_true(json_object_object_get_ex(o, "t_ns", &v));
			assert_true(json_object_get_int64(v) >= 0);
		}
		json_object_put(o);
	}
	assert_int_equal(lines, n + 1);
	free(out);
}

/* An access longer than TRACE_MAX_DATA keeps its first bytes and says so. */
static void test_cut(void **state)
{
	static uint8_t big[TRACE_MAX_DATA * 2];
	unsigned n;
	char *out;
	struct trace t;

	(void)state;
	memset(big, 0xab, sizeof(big));
	open_trace(&t, tmp_path("cut.trc"));
	trace_access(&t, TRACE_REGION_READ, 0, VFU_PCI_CONFIG, 0, big, sizeof(big));
	assert_int_equal(trace_close(&t, NULL), 0);
	trace_fini(&t);
	out = print_file(tmp_path("cut.trc"), false, &n);
	assert_int_equal(n, 2);
	assert_contains(out, " read region=config offset=0x0 count=8192 data=abababababababababababababababababababababababababababababababab... cut=yes\n");
	free(out);
}

#define PRODUCED 20000

static void *producer(void *arg)
{
	struct trace *t = arg;
	static _Atomic unsigned ids;
	uint32_t id = ids++;

	/* Each thread writes its own region with a rising counter. */
	for (uint32_t i = 0; i < PRODUCED; i++)
		trace_access(t, TRACE_REGION_WRITE, 0, id, i, &i, 4);
	return NULL;
}

static void test_concurrent(void **state)
{
	struct trace t;
	struct trace_reader r;
	const struct trace_rec *rec;
	pthread_t th[2];
	uint64_t next[2] = { 0, 0 }, last_ts = 0;
	char err[256];
	FILE *f;

	(void)state;
	open_trace(&t, tmp_path("mt.trc"));
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, producer, &t), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(trace_close(&t, NULL), 0);
	trace_fini(&t);

	f = fopen(tmp_path("mt.trc"), "rb");
	assert_int_equal(trace_reader_open(&r, f, err, sizeof(err)), 0);
	while (trace_reader_next(&r, &rec, err, sizeof(err)) > 0) {
		const struct trace_access *a = (const void *)(rec + 1);

		assert_true(rec->ts_ns >= last_ts);
		last_ts = rec->ts_ns;
		if (rec->type != TRACE_REGION_WRITE)
			continue;
		/* Whole, in order per thread; a gap only where records were lost. */
		assert_true(a->region < 2);
		assert_true(a->offset >= next[a->region]);
		assert_memory_equal(a + 1, &a->offset, 4);
		next[a->region] = a->offset + 1;
	}
	assert_true(r.ended);
	assert_int_equal(r.records, r.end.records);
	assert_int_equal(r.records + r.end.lost, 2 * PRODUCED);
	assert_true(r.lost <= r.end.lost);
	trace_reader_fini(&r);
	fclose(f);
}

/* ---- spool: dropped records and their markers ---- */

static void mark(void *buf, uint64_t lost)
{
	memset(buf, 'L', 8);
	memcpy((uint8_t *)buf + 8, &lost, 8);
}

static size_t tail(void *buf, size_t room, const struct spool_stats *st)
{
	assert_true(room >= 17);
	return (size_t)snprintf(buf, room, "T%02llu/%02llu", (unsigned long long)st->records,
				(unsigned long long)st->lost);
}

static void put(struct spool *sp, char c, size_t len, bool fits)
{
	uint8_t *at = spool_reserve(sp, len);

	if (!fits) {
		assert_null(at);
		return;
	}
	assert_non_null(at);
	memset(at, c, len);
	spool_commit(sp);
}

static void test_spool_lost(void **state)
{
	static const struct spool_format fmt = { .marker_len = 16, .marker = mark, .tail = tail };
	uint64_t two = 2;
	uint8_t want[128], *got;
	struct spool sp;
	struct spool_stats st;
	size_t len, n = 0;

	(void)state;
	spool_init(&sp, &fmt);
	assert_int_equal(spool_open(&sp, tmp_path("spool"), 64, "HEAD", 4), 0);
	assert_int_equal(spool_open(&sp, tmp_path("spool"), 64, "HEAD", 4), -EBUSY);
	/* Records larger than a buffer never fit, whatever the writer does. */
	put(&sp, 'a', 10, true);
	put(&sp, 'x', 65, false);
	put(&sp, 'y', 100, false);
	put(&sp, 'b', 5, true);
	put(&sp, 'z', 200, false);
	assert_int_equal(spool_close(&sp, &st), 0);
	assert_int_equal(spool_close(&sp, NULL), -ENOENT);
	assert_int_equal(st.records, 2);
	assert_int_equal(st.lost, 3);
	spool_fini(&sp);

	memcpy(want, "HEAD", 4), n = 4;
	memset(want + n, 'a', 10), n += 10;
	memset(want + n, 'L', 8), n += 8;
	memcpy(want + n, &two, 8), n += 8;
	memset(want + n, 'b', 5), n += 5;
	memcpy(want + n, "T02/03", 6), n += 6;
	got = slurp(tmp_path("spool"), &len);
	assert_int_equal(len, n);
	assert_memory_equal(got, want, n);
	assert_int_equal(st.bytes, n);
	free(got);
}

static void test_open_errors(void **state)
{
	struct trace a, b;
	char err[256] = "";

	(void)state;
	trace_init(&a);
	assert_int_equal(trace_open(&a, "/nonexistent-dir/x.trc", "d", "m", err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "cannot write a trace to /nonexistent-dir/x.trc: No such file or directory");
	assert_int_equal(trace_open(&a, "/dev/null", "d", "m", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "cannot write a trace to /dev/null: not a regular file");
	assert_int_equal(trace_close(&a, NULL), -ENOENT);

	/* Two traces never share a file, however it is spelled. */
	trace_init(&b);
	assert_int_equal(trace_open(&a, tmp_path("one.trc"), "d", "m", err, sizeof(err)), 0);
	assert_int_equal(trace_open(&b, tmp_path("./one.trc"), "d", "m", err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, ": another trace or capture is writing this file"));
	assert_int_equal(trace_open(&a, tmp_path("two.trc"), "d", "m", err, sizeof(err)), -EBUSY);
	assert_int_equal(trace_close(&a, NULL), 0);
	assert_int_equal(trace_open(&b, tmp_path("one.trc"), "d", "m", err, sizeof(err)), 0);
	assert_int_equal(trace_close(&b, NULL), 0);
	trace_fini(&a);
	trace_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_spool_lost),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
