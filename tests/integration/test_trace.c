// SPDX-License-Identifier: MIT
/*
 * Traces through the real daemon: a testdev started with trace=PATH, a
 * client session through every kind of interaction, then iomed-trace
 * ($IOMED_TRACE) decodes the file and the records must come in the order
 * the client caused them, with their values. Also the errors of the
 * trace= and pcap= options, and iomed-trace's exit statuses on damaged
 * files. With IOMED_TEST_ISOLATE=1 (trace-isolated) the device writes its
 * trace from inside its sandbox.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "itest.h"
#include "devices/testdev/testdev.h"

#define RUN_MS 10000
#define OUT_MAX (1 << 20)

static char dir[64];
static char *out;

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/iomed-it-trace.XXXXXX");
	out = malloc(OUT_MAX);
	return mkdtemp(dir) && out ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	free(out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static const char *decoder(void)
{
	const char *bin = getenv("IOMED_TRACE");

	return bin && *bin ? bin : "build/iomed-trace";
}

/* Run iomed-trace [--json] @path; its exit status. Output (stdout + stderr) in out. */
static int decode(const char *path, bool json)
{
	char *argv[] = { (char *)decoder(), json ? "--json" : (char *)path,
			 json ? (char *)path : NULL, NULL };

	return test_run(argv, out, OUT_MAX, RUN_MS);
}

/* ---- the expected records, in order (others may come in between) ---- */

struct want {
	const char *type;
	const char *fields[5]; /* "key=value": value compared as JSON text */
};

static bool field_is(json_object *o, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char key[32];
	json_object *v;

	snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
	if (!json_object_object_get_ex(o, key, &v))
		return false;
	if (json_object_is_type(v, json_type_string))
		return !strcmp(json_object_get_string(v), eq + 1);
	if (eq[1] == '-')
		return json_object_get_int64(v) == strtoll(eq + 1, NULL, 0);
	return json_object_get_uint64(v) == strtoull(eq + 1, NULL, 0);
}

static bool matches(json_object *o, const struct want *w)
{
	json_object *type;

	if (!json_object_object_get_ex(o, "type", &type) ||
	    strcmp(json_object_get_string(type), w->type))
		return false;
	for (unsigned i = 0; i < 5 && w->fields[i]; i++)
		if (!field_is(o, w->fields[i]))
			return false;
	return true;
}

/* Each of @want[] matches a record after the one matching the previous. */
static void expect_in_order(const char *json_lines, const struct want *want, unsigned n)
{
	char *copy = strdup(json_lines), *save = NULL;
	unsigned next = 0;

	assert_non_null(copy);
	for (char *l = strtok_r(copy, "\n", &save); l && next < n; l = strtok_r(NULL, "\n", &save)) {
		json_object *o = json_tokener_parse(l);

		if (!o)
			fail_msg("iomed-trace --json printed a line that is not JSON: %s", l);
		if (matches(o, &want[next]))
			next++;
		json_object_put(o);
	}
	free(copy);
	if (next < n)
		fail_msg("no %s record with %s %s ... after the ones before it; trace:\n%s",
			 want[next].type, want[next].fields[0] ? want[next].fields[0] : "",
			 want[next].fields[1] ? want[next].fields[1] : "", json_lines);
}

static const struct want session[] = {
	{ "header", { "device=td0", "model=testdev" } },
	{ "connect", { NULL } },
	{ "msg", { "cmd=VERSION", "id=0" } },
	{ "read", { "region=config", "offset=0", "count=2", "value=0x1234" } },
	{ "read", { "region=config", "offset=2", "count=2", "value=0x11ed" } },
	{ "write", { "region=bar0", "offset=0x20", "count=4", "value=0x12345678" } },
	{ "read", { "region=bar0", "offset=0x20", "value=0x12345678" } },
	{ "dma_map", { "addr=0x10000000", "size=0x100000", "fd=yes", "prot=rw" } },
	{ "dma_unmap", { "addr=0x10000000", "size=0x100000" } },
	{ "set_irqs", { "index=msix", "data=eventfd", "action=trigger", "count=1", "nfds=1" } },
	{ "write", { "region=bar0", "offset=0x8", "value=0" } },
	{ "irq", { "index=msix", "vector=0", "outcome=delivered" } },
	{ "reset", { "cause=message" } },
	{ "msg", { "cmd=REGION_READ", "refused=yes", "result=-22" } },
	{ "disconnect", { "reason=-104" } },
	{ "reset", { "cause=client-gone" } },
	{ "end", { "lost=0" } },
};

/* The client's side: one of each kind of interaction. */
static void run_session(const char *sock)
{
	struct vfu_client *c = NULL;
	struct vfu_region_access bad = { .offset = 0x10000, .region = VFU_PCI_CONFIG, .count = 4 };
	uint16_t id;
	uint32_t v;
	int mfd = it_memfd(1 << 20), efd = it_eventfd();

	assert_int_equal(vfu_client_connect(&c, sock), 0);
	assert_int_equal(vfu_client_negotiate(c, NULL), 0);
	assert_int_equal(it_cfg_read16(c, 0), TESTDEV_VENDOR);
	assert_int_equal(it_cfg_read16(c, 2), TESTDEV_DEVICE);
	it_reg_write(c, TESTDEV_SCRATCH0, 0x12345678);
	assert_int_equal(it_reg_read(c, TESTDEV_SCRATCH0), 0x12345678);
	assert_int_equal(vfu_client_dma_map(c, 0x10000000, 1 << 20, mfd, 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	assert_int_equal(vfu_client_dma_unmap(c, 0x10000000, 1 << 20, 0), 0);
	assert_int_equal(vfu_client_set_irqs(c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_EVENTFD |
					     VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, &efd, 1, NULL, 0),
			 0);
	it_msix_enable(c, true);
	it_reg_write(c, TESTDEV_IRQ_RAISE, 0);
	assert_int_equal(it_efd_count(efd), 1);
	assert_int_equal(vfu_client_reset(c), 0);
	id = it_send_cmd(c, VFU_CMD_REGION_READ, 0, &bad, sizeof(bad), NULL, 0);
	it_expect_error(c, id, VFU_CMD_REGION_READ, EINVAL);
	assert_int_equal(vfu_client_region_read(c, VFU_PCI_BAR0, TESTDEV_ID, &v, 4), 0);
	vfu_client_close(c);
	close(mfd);
	close(efd);
}

static void test_session_trace(void **state)
{
	char opts[160], path[128], cut[160];
	struct test_daemon d;
	size_t len;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/td0.trc", dir);
	snprintf(opts, sizeof(opts), "trace=%s", path);
	assert_int_equal(test_daemon_prepare(&d, 1), 0);
	d.dev_opts = opts;
	assert_int_equal(test_daemon_launch(&d), 0);
	run_session(d.socket[0]);
	/* The trace is written out, END last, when the daemon stops. */
	assert_int_equal(test_daemon_stop(&d), 0);

	assert_int_equal(decode(path, true), 0);
	expect_in_order(out, session, sizeof(session) / sizeof(session[0]));
	assert_int_equal(decode(path, false), 0);
	if (!strstr(out, " read region=config offset=0x0 count=2 value=0x1234 data=3412\n"))
		fail_msg("text output:\n%s", out);

	/* Cut in the middle of a record: what came before prints, exit status 1. */
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	fclose(f);
	snprintf(cut, sizeof(cut), "%s/cut.trc", dir);
	assert_int_equal(truncate(path, (off_t)len - 3), 0);
	assert_int_equal(rename(path, cut), 0);
	assert_int_equal(decode(cut, false), 1);
	assert_non_null(strstr(out, " connect\n"));
	assert_non_null(strstr(out, ": truncated record at offset "));
	/* Not a trace at all: exit status 2. */
	f = fopen(cut, "wb");
	assert_non_null(f);
	fputs("#!/bin/sh\necho this is no trace\n", f);
	fclose(f);
	assert_int_equal(decode(cut, false), 2);
	assert_non_null(strstr(out, "not an iomed trace"));
}

/* iomed with @spec (and a second testdev spec, or NULL) must exit @status saying @msg. */
static void expect_refused(int status, const char *spec, const char *spec2, const char *msg)
{
	const char *args[] = { "--device", spec, spec2 ? "--device" : NULL, spec2, NULL };
	int ret = test_run_iomed(args, out, OUT_MAX, RUN_MS);

	if (ret != status || !strstr(out, msg))
		fail_msg("iomed --device %s: exit status %d, output:\n%s\n(expected status %d and \"%s\")",
			 spec, ret, out, status, msg);
}

static void test_option_errors(void **state)
{
	char spec[256], spec2[256];

	(void)state;
	/* A file that cannot be made: a runtime error (1); a bad value: the configuration's (3). */
	snprintf(spec, sizeof(spec), "testdev,socket=%s/a.sock,id=a,trace=/nonexistent-dir/a.trc", dir);
	expect_refused(1, spec, NULL, "trace: cannot write a trace to /nonexistent-dir/a.trc: No such file or directory");
	snprintf(spec, sizeof(spec), "testdev,socket=%s/a.sock,id=a,trace=/dev/null", dir);
	expect_refused(3, spec, NULL, "cannot write a trace to /dev/null: not a regular file");
	snprintf(spec, sizeof(spec), "testdev,socket=%s/a.sock,id=a,trace=", dir);
	expect_refused(3, spec, NULL, "trace: expected a file path");
	snprintf(spec, sizeof(spec), "testdev,socket=%s/a.sock,id=a,pcap=%s/a.pcap", dir, dir);
	expect_refused(3, spec, NULL, "pcap: this device has no packet port");
	snprintf(spec, sizeof(spec), "testdev,socket=%s/a.sock,id=a,trace=%s/same.trc", dir, dir);
	snprintf(spec2, sizeof(spec2), "testdev,socket=%s/b.sock,id=b,trace=%s/same.trc", dir, dir);
	expect_refused(3, spec, spec2, "is already written by device a");
	/* A typo next to trace= is refused before any trace file is made. */
	snprintf(spec, sizeof(spec), "testdev,socket=%s/a.sock,id=a,trace=%s/typo.trc,bogus=1", dir, dir);
	expect_refused(3, spec, NULL, "unknown option 'bogus' for testdev");
	snprintf(spec, sizeof(spec), "%s/typo.trc", dir);
	assert_int_equal(access(spec, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_trace),
		cmocka_unit_test(test_option_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
