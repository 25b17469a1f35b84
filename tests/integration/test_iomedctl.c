// SPDX-License-Identifier: MIT
/*
 * iomedctl against a running daemon: every command with its human output
 * and --json, and its exit statuses (0 success, 1 refused by the daemon,
 * also a connection too many, 2 bad command line, 3 no answer).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctltest.h"
#include "itest.h"
#include "core/control.h"
#include "ctl/client.h"
#include "devices/testdev/testdev.h"

#define RUN_MS 10000

static char out[16384];

static const char *ctl_binary(void)
{
	const char *bin = getenv("IOMEDCTL");

	return bin && *bin ? bin : "build/iomedctl";
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in the output:\n%s", needle, hay);
}

/* iomedctl -s CONTROL ARGS...; expect @status; output in out[]. */
static void ctl(struct test_daemon *d, int status, const char *const *args)
{
	const char *pre[] = { "-s", d->control, NULL };
	int ret = test_run_args(ctl_binary(), pre, args, out, sizeof(out), RUN_MS);

	if (ret != status)
		fail_msg("iomedctl exited with %d, expected %d; output:\n%s", ret, status, out);
}

static int group_setup(void **state)
{
	struct test_daemon *d = calloc(1, sizeof(*d));

	if (!d || test_daemon_start_with_control(d)) {
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static int group_teardown(void **state)
{
	struct test_daemon *d = *state;
	int ret = test_daemon_stop(d);

	free(d);
	return ret ? -1 : 0;
}

static void test_list(void **state)
{
	struct test_daemon *d = *state;

	char pid[32];

	ctl(d, 0, (const char *[]){ "list", NULL });
	assert_contains(out, "ID");
	assert_contains(out, "td0");
	assert_contains(out, "testdev");
	assert_contains(out, d->socket[0]);
	/* --isolate: the process serving each device. */
	if (d->isolate) {
		snprintf(pid, sizeof(pid), " %d ", (int)test_daemon_device_pid(d, 0));
		assert_contains(out, "PROCESS");
		assert_contains(out, pid);
		ctl(d, 0, (const char *[]){ "stats", "td0", NULL });
		snprintf(pid, sizeof(pid), "process:     %d, 0 restart(s)",
			 (int)test_daemon_device_pid(d, 0));
		assert_contains(out, pid);
	}
}

static void test_add_stats_reset_remove(void **state)
{
	struct test_daemon *d = *state;
	char spec[256], sock[160];
	struct vfu_client *vc = NULL;
	uint32_t v;

	snprintf(sock, sizeof(sock), "%s/n7.sock", d->dir);
	snprintf(spec, sizeof(spec), "virtio-net,id=n7,socket=%s,net=sink,queues=2", sock);
	ctl(d, 0, (const char *[]){ "add", spec, NULL });
	assert_contains(out, "added n7");
	ctl(d, 0, (const char *[]){ "list", NULL });
	assert_contains(out, "n7");
	assert_contains(out, "net=sink,queues=2");

	/* A client that negotiated and read: the counters show it. */
	assert_int_equal(vfu_client_connect(&vc, sock), 0);
	assert_int_equal(vfu_client_negotiate(vc, NULL), 0);
	assert_int_equal(vfu_client_region_read(vc, VFU_PCI_CONFIG, 0, &v, 4), 0);
	ctl(d, 0, (const char *[]){ "stats", "n7", NULL });
	assert_contains(out, "n7 (virtio-net)");
	assert_contains(out, "client:      connected, 1 session(s)");
	assert_contains(out, "VERSION 1, ");
	assert_contains(out, "REGION_READ 1");
	assert_contains(out, "queue_pairs    2");
	assert_contains(out, "tx1");
	assert_contains(out, "ctrl");

	ctl(d, 0, (const char *[]){ "reset", "n7", NULL });
	assert_contains(out, "reset n7");
	ctl(d, 0, (const char *[]){ "remove", "n7", NULL });
	assert_contains(out, "removed n7 (its client was disconnected)");
	vfu_client_close(vc);
	ctl(d, 1, (const char *[]){ "remove", "n7", NULL });
	assert_contains(out, "no device 'n7' (error -32000)");
	ctl(d, 1, (const char *[]){ "stats", "n7", NULL });
	ctl(d, 1, (const char *[]){ "reset", "n7", NULL });
}

static void test_add_refused(void **state)
{
	struct test_daemon *d = *state;
	char spec[256];

	snprintf(spec, sizeof(spec), "virtio-net,socket=%s/q.sock,net=sink,queues=0", d->dir);
	ctl(d, 1, (const char *[]){ "add", spec, NULL });
	assert_contains(out, "queues= must be");
	assert_contains(out, "-32602");
	snprintf(spec, sizeof(spec), "testdev,id=td0,socket=%s/q.sock", d->dir);
	ctl(d, 1, (const char *[]){ "add", spec, NULL });
	assert_contains(out, "already in use (error -32001)");
	ctl(d, 2, (const char *[]){ "add", "socket=/x", NULL });
	assert_contains(out, "does not start with a device model");
}

static void test_json_output(void **state)
{
	struct test_daemon *d = *state;
	struct json_object *o;

	ctl(d, 0, (const char *[]){ "--json", "stats", "td0", NULL });
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_string_equal(ct_str(o, "result.id"), "td0");
	assert_true(ct_int(o, "result.vfio_user.messages.VERSION") >= 0);
	json_object_put(o);
	ctl(d, 1, (const char *[]){ "-j", "stats", "nope", NULL });
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_int_equal(ct_int(o, "error.code"), -32000);
	json_object_put(o);
}

static void test_log_level(void **state)
{
	struct test_daemon *d = *state;

	ctl(d, 0, (const char *[]){ "log-level", NULL });
	assert_contains(out, "log level debug");
	ctl(d, 0, (const char *[]){ "log-level", "info", NULL });
	assert_contains(out, "log level info");
	ctl(d, 1, (const char *[]){ "log-level", "shouty", NULL });
	ctl(d, 0, (const char *[]){ "log-level", "debug", NULL });
}

static void test_call(void **state)
{
	struct test_daemon *d = *state;

	ctl(d, 0, (const char *[]){ "call", "device_list", NULL });
	assert_contains(out, "\"devices\"");
	ctl(d, 0, (const char *[]){ "call", "device_stats", "{\"id\":\"td0\"}", NULL });
	assert_contains(out, "\"vfio_user\"");
	ctl(d, 1, (const char *[]){ "call", "no_such_method", NULL });
	assert_contains(out, "-32601");
	ctl(d, 2, (const char *[]){ "call", "device_stats", "[1]", NULL });
	assert_contains(out, "params must be a JSON object");
	ctl(d, 2, (const char *[]){ "call", "device_stats", "{oops", NULL });
}

static void test_usage_errors(void **state)
{
	struct test_daemon *d = *state;

	ctl(d, 2, (const char *[]){ "frobnicate", NULL });
	assert_contains(out, "unknown command");
	ctl(d, 2, (const char *[]){ "remove", NULL });
	ctl(d, 2, (const char *[]){ "stats", "a", "b", NULL });
	ctl(d, 2, (const char *[]){ "--bogus", "list", NULL });
	ctl(d, 2, (const char *[]){ "-t", "0", "list", NULL });
	ctl(d, 0, (const char *[]){ "--help", NULL });
	assert_contains(out, "Usage: iomedctl");
}

/* No daemon, or one that never answers: status 3. */
static void test_unreachable(void **state)
{
	struct test_daemon *d = *state;
	char path[160];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/mute.sock", d->dir);
	ret = test_run_args(ctl_binary(), NULL, (const char *[]){ "-s", path, "list", NULL }, out,
			    sizeof(out), RUN_MS);
	assert_int_equal(ret, 3);
	assert_contains(out, "cannot connect");

	/* Listening, but never accepting nor answering. */
	fd = test_unix_socket(path, true);
	assert_true(fd >= 0);
	ret = test_run_args(ctl_binary(), NULL, (const char *[]){ "-s", path, "-t", "1", "list", NULL },
			    out, sizeof(out), RUN_MS);
	assert_int_equal(ret, 3);
	assert_contains(out, "no answer");
	close(fd);
	unlink(path);
}

/* A connection too many is refused: status 1 and the daemon's reason, not "no answer". */
static void test_too_many_connections(void **state)
{
	struct test_daemon *d = *state;
	const char *pre[] = { "-s", d->control, NULL };
	struct ctl_client *cs[CTL_MAX_CONNS];
	struct json_object *resp;
	bool refused = true;
	int status = 1;

	for (int i = 0; i < CTL_MAX_CONNS; i++) {
		cs[i] = ct_connect(d->control);
		resp = ct_call(cs[i], "device_list", NULL);
		json_object_put(resp);
	}
	/* The refusal may come before iomedctl has sent its request, or after. */
	for (int i = 0; i < 5 && status == 1 && refused; i++) {
		status = test_run_args(ctl_binary(), pre, (const char *[]){ "list", NULL }, out,
				       sizeof(out), RUN_MS);
		refused = strstr(out, "too many control connections (error -32004)");
	}
	for (int i = 0; i < CTL_MAX_CONNS; i++)
		ctl_client_close(cs[i]);
	if (status != 1 || !refused)
		fail_msg("iomedctl exited with %d, expected 1 and the refusal; output:\n%s", status, out);
}

/*
 * The refusal came and the connection closed before the request went out:
 * the send fails (EPIPE), and the refusal is still the answer.
 */
static void test_refusal_before_request(void **state)
{
	static const char busy[] = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32004,"
				   "\"message\":\"too many control connections\"},\"id\":null}\n";
	struct test_daemon *d = *state;
	struct ctl_client *c;
	struct json_object *resp = NULL;
	char path[160];
	int lfd, fd;

	snprintf(path, sizeof(path), "%s/refusing.sock", d->dir);
	lfd = test_unix_socket(path, true);
	assert_true(lfd >= 0);
	assert_int_equal(ctl_client_connect(&c, path), 0);
	fd = accept(lfd, NULL, NULL);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, busy, sizeof(busy) - 1), (ssize_t)(sizeof(busy) - 1));
	close(fd);
	assert_int_equal(ctl_client_call(c, "device_list", NULL, &resp, 2000), 0);
	assert_non_null(strstr(ct_error(resp, -32004), "too many control connections"));
	json_object_put(resp);
	ctl_client_close(c);
	close(lfd);
	unlink(path);
}

/* $IOMED_CONTROL names the socket when -s does not. */
static void test_env_socket(void **state)
{
	struct test_daemon *d = *state;
	char *argv[] = { (char *)ctl_binary(), "list", NULL };
	int ret;

	setenv("IOMED_CONTROL", d->control, 1);
	ret = test_run(argv, out, sizeof(out), RUN_MS);
	unsetenv("IOMED_CONTROL");
	assert_int_equal(ret, 0);
	assert_contains(out, "td0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_add_stats_reset_remove),
		cmocka_unit_test(test_add_refused),
		cmocka_unit_test(test_json_output),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_call),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_too_many_connections),
		cmocka_unit_test(test_refusal_before_request),
		cmocka_unit_test(test_env_socket),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
