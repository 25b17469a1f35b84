// SPDX-License-Identifier: MIT
/*
 * Traces and packet captures started and stopped through the control
 * socket (trace_start / trace_stop, docs/usage.md) and iomedctl, while a
 * client is served: the file decodes with the client's accesses in it, and
 * device_stats shows what is recorded. Every bad request gets its JSON-RPC
 * error and changes nothing: unknown device, bad params, a path that cannot
 * be written, one that another recording writes, already running, not
 * running. Also iomed --check-config with trace= and pcap=, which must make
 * no file. The same tests run against iomed --isolate (trace_rpc-isolated),
 * where the daemon opens the file and hands it to the sandboxed device
 * process.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctltest.h"
#include "itest.h"
#include "core/jsonrpc.h"
#include "devices/testdev/testdev.h"

#define RUN_MS 10000

struct ttest {
	struct test_daemon d;
	struct ctl_client *c;
	char path[192]; /* a file in the daemon's temp dir, per test */
	char out[1 << 16];
};

static int group_setup(void **state)
{
	struct ttest *t = calloc(1, sizeof(*t));

	if (!t || test_daemon_start_with_control(&t->d)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int group_teardown(void **state)
{
	struct ttest *t = *state;
	int ret = test_daemon_stop(&t->d);

	free(t);
	return ret ? -1 : 0;
}

static int setup(void **state)
{
	struct ttest *t = *state;

	t->c = ct_connect(t->d.control);
	return 0;
}

/* The daemon lives on, and td0 still serves a client. */
static int teardown(void **state)
{
	struct ttest *t = *state;

	ctl_client_close(t->c);
	assert_true(test_daemon_alive(&t->d));
	it_assert_serves_at(t->d.socket[0]);
	return 0;
}

static const char *file(struct ttest *t, const char *name)
{
	snprintf(t->path, sizeof(t->path), "%s/%s", t->d.dir, name);
	return t->path;
}

/* trace_start with @params_json; the error code (0: success) and its message in t->out. */
static int call(struct ttest *t, const char *method, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int call(struct ttest *t, const char *method, const char *fmt, ...)
{
	struct json_object *resp, *err;
	char params[512];
	va_list ap;
	int code = 0;

	va_start(ap, fmt);
	vsnprintf(params, sizeof(params), fmt, ap);
	va_end(ap);
	resp = ct_call(t->c, method, params);
	err = ct_get(resp, "error");
	if (err)
		code = (int)ct_int(resp, "error.code");
	snprintf(t->out, sizeof(t->out), "%s",
		 json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(resp);
	return code;
}

static void expect(struct ttest *t, int code, const char *needle)
{
	if (!strstr(t->out, needle))
		fail_msg("expected \"%s\" (code %d) in %s", needle, code, t->out);
}

/* Write @text into @path, replacing what was there (asserts). */
static void put_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* @path holds exactly @text: a refused start must not have touched it (asserts). */
static void expect_text(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_string_equal(buf, text);
}

/* A client session on td0 the trace must show: a scratch register written and read back. */
static void touch_td0(struct ttest *t, uint32_t value)
{
	struct vfu_client *c = NULL;

	assert_int_equal(vfu_client_connect(&c, t->d.socket[0]), 0);
	assert_int_equal(vfu_client_negotiate(c, NULL), 0);
	it_reg_write(c, TESTDEV_SCRATCH0, value);
	assert_int_equal(it_reg_read(c, TESTDEV_SCRATCH0), value);
	vfu_client_close(c);
}

static const char *decoder(void)
{
	const char *bin = getenv("IOMED_TRACE");

	return bin && *bin ? bin : "build/iomed-trace";
}

/* iomed-trace @path must decode it whole (exit 0) and print @needle. */
static void expect_decoded(struct ttest *t, const char *path, const char *needle)
{
	char *argv[] = { (char *)decoder(), (char *)path, NULL };
	int ret = test_run(argv, t->out, sizeof(t->out), RUN_MS);

	if (ret || !strstr(t->out, needle))
		fail_msg("iomed-trace %s: exit status %d, no \"%s\" in:\n%s", path, ret, needle,
			 t->out);
}

static void test_start_stop(void **state)
{
	struct ttest *t = *state;
	struct json_object *resp;
	char path[192];

	snprintf(path, sizeof(path), "%s", file(t, "rt.trc"));
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"%s\"}", path), 0);
	expect(t, 0, "\"kind\":\"trace\"");
	resp = ct_call(t->c, "device_stats", "{\"id\":\"td0\"}");
	assert_string_equal(ct_str(ct_result(resp), "recording.trace.path"), path);
	assert_null(ct_get(ct_result(resp), "recording.pcap"));
	json_object_put(resp);

	touch_td0(t, 0x5a5a1234);
	resp = ct_call(t->c, "device_stats", "{\"id\":\"td0\"}");
	assert_true(ct_int(ct_result(resp), "recording.trace.records") >= 4);
	json_object_put(resp);
	assert_int_equal(call(t, "trace_stop", "{\"id\":\"td0\",\"kind\":\"trace\"}"), 0);
	expect(t, 0, path);
	expect(t, 0, "\"lost\":0");
	expect_decoded(t, path, "write region=bar0 offset=0x20 count=4 value=0x5a5a1234");
	expect_decoded(t, path, " end records=");

	/* Stopped: stats say so, and it starts again into the same file. */
	resp = ct_call(t->c, "device_stats", "{\"id\":\"td0\"}");
	assert_null(ct_get(ct_result(resp), "recording.trace"));
	json_object_put(resp);
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"%s\"}", path), 0);
	assert_int_equal(call(t, "trace_stop", "{\"id\":\"td0\"}"), 0);
	expect(t, 0, "\"records\":0");
}

static void test_bad_requests(void **state)
{
	struct ttest *t = *state;
	char path[192];

	snprintf(path, sizeof(path), "%s", file(t, "bad.trc"));
	/* params */
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\"}"), RPC_INVALID_PARAMS);
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":7}"), RPC_INVALID_PARAMS);
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"\"}"),
			 RPC_INVALID_PARAMS);
	expect(t, RPC_INVALID_PARAMS, "expected a file path");
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"%s\",\"kind\":\"x\"}",
			      path), RPC_INVALID_PARAMS);
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"%s\",\"size\":1}",
			      path), RPC_INVALID_PARAMS);
	assert_int_equal(call(t, "trace_stop", "{\"id\":\"td0\",\"path\":\"%s\"}", path),
			 RPC_INVALID_PARAMS);
	assert_int_equal(call(t, "trace_stop", "[\"td0\"]"), RPC_INVALID_PARAMS);
	/* unknown device */
	assert_int_equal(call(t, "trace_start", "{\"id\":\"nope\",\"path\":\"%s\"}", path),
			 RPC_NO_SUCH_DEVICE);
	assert_int_equal(call(t, "trace_stop", "{\"id\":\"nope\"}"), RPC_NO_SUCH_DEVICE);
	/* files that cannot be written */
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"%s/no-dir/x.trc\"}",
			      t->d.dir), RPC_DEVICE_FAILED);
	expect(t, RPC_DEVICE_FAILED, "No such file or directory");
	expect(t, RPC_DEVICE_FAILED, "\"errno\":2");
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"/dev/null\"}"),
			 RPC_INVALID_PARAMS);
	expect(t, RPC_INVALID_PARAMS, "not a regular file");
	/* a testdev has no packet port: refused, and no file is left behind */
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"%s\",\"kind\":\"pcap\"}",
			      file(t, "td0.pcap")), RPC_INVALID_PARAMS);
	expect(t, RPC_INVALID_PARAMS, "no packet port");
	assert_int_equal(access(file(t, "td0.pcap"), F_OK), -1);
	/* ...and a file that was there keeps what it had */
	put_text(file(t, "keep.pcap"), "keep me\n");
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"%s\",\"kind\":\"pcap\"}",
			      file(t, "keep.pcap")), RPC_INVALID_PARAMS);
	expect(t, RPC_INVALID_PARAMS, "no packet port");
	expect_text(file(t, "keep.pcap"), "keep me\n");
	/* not running, then already running */
	assert_int_equal(call(t, "trace_stop", "{\"id\":\"td0\"}"), RPC_RECORDING_STATE);
	expect(t, RPC_RECORDING_STATE, "no trace is running");
	assert_int_equal(call(t, "trace_stop", "{\"id\":\"td0\",\"kind\":\"pcap\"}"),
			 RPC_RECORDING_STATE);
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"%s\"}", path), 0);
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"%s\"}",
			      file(t, "other.trc")), RPC_RECORDING_STATE);
	expect(t, RPC_RECORDING_STATE, "already running");
	/* the same file again: still the one trace, not truncated under it */
	touch_td0(t, 0x600d);
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"%s\"}", path),
			 RPC_RECORDING_STATE);
	assert_int_equal(call(t, "trace_stop", "{\"id\":\"td0\"}"), 0);
	expect_decoded(t, path, "value=0x600d");
}

/* A file another device writes: refused at device_add and at trace_start. */
static void test_file_of_another_device(void **state)
{
	struct ttest *t = *state;
	char path[192], sock[192];

	snprintf(path, sizeof(path), "%s", file(t, "td1.trc"));
	snprintf(sock, sizeof(sock), "%s", file(t, "td1.sock"));
	assert_int_equal(call(t, "device_add", "{\"model\":\"testdev\",\"id\":\"td1\",\"socket\":"
			      "\"%s\",\"trace\":\"%s\"}", sock, path), 0);
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"%s\"}", path),
			 RPC_DEVICE_FAILED);
	expect(t, RPC_DEVICE_FAILED, "is already written by device td1");
	expect(t, RPC_DEVICE_FAILED, "\"errno\":17");
	assert_int_equal(call(t, "device_add", "{\"model\":\"testdev\",\"id\":\"td2\",\"socket\":"
			      "\"%s2\",\"trace\":\"%s\"}", sock, path), RPC_DEVICE_EXISTS);
	expect(t, RPC_DEVICE_EXISTS, "\"key\":\"trace\"");
	/* ...and under another name (a symbolic link): refused, and td1's trace goes on whole */
	assert_int_equal(symlink(path, file(t, "alias.trc")), 0);
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"%s\"}",
			      file(t, "alias.trc")), RPC_DEVICE_FAILED);
	expect(t, RPC_DEVICE_FAILED, "is already written by device td1");
	expect(t, RPC_DEVICE_FAILED, "\"errno\":17");
	assert_int_equal(call(t, "trace_stop", "{\"id\":\"td0\"}"), RPC_RECORDING_STATE);
	assert_int_equal(call(t, "device_add", "{\"model\":\"testdev\",\"id\":\"td2\",\"socket\":"
			      "\"%s2\",\"pcap\":\"%s\"}", sock, file(t, "alias.trc")),
			 RPC_DEVICE_EXISTS);
	assert_int_equal(call(t, "device_add", "{\"model\":\"testdev\",\"id\":\"td2\",\"socket\":"
			      "\"%s2\",\"trace\":\"%s\"}", sock, file(t, "alias.trc")),
			 RPC_DEVICE_EXISTS);
	expect(t, RPC_DEVICE_EXISTS, "\"key\":\"trace\"");
	unlink(file(t, "alias.trc"));
	/* trace= given at creation stops through the socket too, and the file is written out */
	it_assert_serves_at(sock);
	assert_int_equal(call(t, "trace_stop", "{\"id\":\"td1\"}"), 0);
	expect_decoded(t, path, "read region=bar0");
	expect_decoded(t, path, "VERSION");
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"%s\"}", path), 0);
	assert_int_equal(call(t, "trace_stop", "{\"id\":\"td0\"}"), 0);
	assert_int_equal(call(t, "device_remove", "{\"id\":\"td1\"}"), 0);
}

static const char *ctl_binary(void)
{
	const char *bin = getenv("IOMEDCTL");

	return bin && *bin ? bin : "build/iomedctl";
}

static int ctl(struct ttest *t, const char *const *args)
{
	const char *pre[] = { "-s", t->d.control, NULL };

	return test_run_args(ctl_binary(), pre, args, t->out, sizeof(t->out), RUN_MS);
}

static void test_iomedctl(void **state)
{
	struct ttest *t = *state;
	char path[192];

	snprintf(path, sizeof(path), "%s", file(t, "ctl.trc"));
	assert_int_equal(ctl(t, (const char *[]){ "trace", "start", "td0", path, NULL }), 0);
	expect(t, 0, "trace of td0 started: ");
	assert_int_equal(ctl(t, (const char *[]){ "stats", "td0", NULL }), 0);
	expect(t, 0, "trace:       ");
	expect(t, 0, "pcap:        off");
	assert_int_equal(ctl(t, (const char *[]){ "trace", "stop", "td0", NULL }), 0);
	expect(t, 0, "trace of td0 stopped: ");
	expect(t, 0, " records, 0 lost");
	assert_int_equal(ctl(t, (const char *[]){ "trace", "stop", "td0", NULL }), 1);
	expect(t, 1, "no trace is running (error -32005)");
	assert_int_equal(ctl(t, (const char *[]){ "pcap", "start", "td0", path, NULL }), 1);
	expect(t, 1, "no packet port");
	assert_int_equal(ctl(t, (const char *[]){ "trace", "begin", "td0", NULL }), 2);
	assert_int_equal(ctl(t, (const char *[]){ "trace", "start", "td0", NULL }), 2);
}

/*
 * --isolate: a trace started through the socket ends with its device's
 * process. Once trace_stop said it is not running, its file is free for
 * another device.
 */
static void test_isolated_restart_frees_file(void **state)
{
	struct ttest *t = *state;
	char path[192], sock[192];
	int64_t pid;

	if (!t->d.isolate)
		skip();
	snprintf(path, sizeof(path), "%s", file(t, "crash.trc"));
	snprintf(sock, sizeof(sock), "%s", file(t, "td1.sock"));
	assert_int_equal(call(t, "device_add", "{\"model\":\"testdev\",\"id\":\"td1\",\"socket\":"
			      "\"%s\"}", sock), 0);
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td1\",\"path\":\"%s\"}", path), 0);
	pid = ct_stat(t->d.control, "td1", "pid");
	assert_true(pid > 0);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	for (int i = 0; i < 500 && ct_stat(t->d.control, "td1", "restarts") < 1; i++)
		usleep(10000);
	assert_int_equal(ct_stat(t->d.control, "td1", "restarts"), 1);
	assert_int_equal(call(t, "trace_stop", "{\"id\":\"td1\"}"), RPC_RECORDING_STATE);
	assert_int_equal(call(t, "trace_start", "{\"id\":\"td0\",\"path\":\"%s\"}", path), 0);
	assert_int_equal(call(t, "trace_stop", "{\"id\":\"td0\"}"), 0);
	assert_int_equal(call(t, "device_remove", "{\"id\":\"td1\"}"), 0);
}

/* A relative PATH is iomedctl's (taken from its working directory), not the daemon's. */
static void test_iomedctl_relative_path(void **state)
{
	struct ttest *t = *state;
	char cwd[256], want[256];
	int ret;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(t->d.dir), 0);
	ret = ctl(t, (const char *[]){ "trace", "start", "td0", "rel.trc", NULL });
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(ret, 0);
	snprintf(want, sizeof(want), "started: %s/rel.trc", t->d.dir);
	expect(t, 0, want);
	assert_int_equal(ctl(t, (const char *[]){ "trace", "stop", "td0", NULL }), 0);
	expect_decoded(t, file(t, "rel.trc"), " end records=");
}

/* --check-config takes trace= and pcap= and makes no file; a bad one is refused (3). */
static void test_check_config(void **state)
{
	struct ttest *t = *state;
	char spec[1024], trc[192];

	snprintf(trc, sizeof(trc), "%s", file(t, "cc.trc"));
	snprintf(spec, sizeof(spec), "virtio-net,socket=%s,net=loopback,trace=%s,pcap=%s.pcap",
		 file(t, "cc.sock"), trc, trc);
	assert_int_equal(test_run_iomed((const char *[]){ "--check-config", "--device", spec, NULL },
					t->out, sizeof(t->out), RUN_MS), 0);
	expect(t, 0, "configuration valid: 1 device");
	assert_int_equal(access(trc, F_OK), -1);
	snprintf(spec, sizeof(spec), "%s.pcap", trc);
	assert_int_equal(access(spec, F_OK), -1);
	snprintf(spec, sizeof(spec), "testdev,socket=%s,trace=", file(t, "cc.sock"));
	assert_int_equal(test_run_iomed((const char *[]){ "--check-config", "--device", spec, NULL },
					t->out, sizeof(t->out), RUN_MS), 3);
	expect(t, 3, "trace: expected a file path");
	snprintf(spec, sizeof(spec), "testdev,socket=%s,trace=%s,pcap=%s", file(t, "cc.sock"), trc,
		 trc);
	assert_int_equal(test_run_iomed((const char *[]){ "--check-config", "--device", spec, NULL },
					t->out, sizeof(t->out), RUN_MS), 3);
	expect(t, 3, "the same file as trace=");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_of_another_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iomedctl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iomedctl_relative_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolated_restart_frees_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_config, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
