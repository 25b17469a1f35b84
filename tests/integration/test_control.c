// SPDX-License-Identifier: MIT
/*
 * The control socket against the real daemon: every method, and every kind
 * of bad request (malformed JSON, invalid request objects, batches, unknown
 * methods, wrong param types, unknown devices, clashes, oversize requests,
 * too many connections), each answered with the right JSON-RPC error; idle
 * connections closed after control.idle_timeout (its own daemon). After
 * every test the daemon is alive, answers on a new connection and still
 * serves its first device to a vfio-user client. The same tests run against
 * iomed --isolate (control-isolated), with more on the device processes:
 * each add starts a sandboxed one, each remove ends it, one that dies is
 * listed while it restarts and keeps its counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctltest.h"
#include "itest.h"
#include "core/control.h"
#include "devices/testdev/testdev.h"

struct ctest {
	struct test_daemon d;
	struct ctl_client *c; /* the test's connection */
	char sock[160];       /* a free device socket path for the test */
};

static int group_setup(void **state)
{
	struct ctest *t = calloc(1, sizeof(*t));

	if (!t || test_daemon_start_with_control(&t->d)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int group_teardown(void **state)
{
	struct ctest *t = *state;
	int ret = test_daemon_stop(&t->d);

	free(t);
	return ret ? -1 : 0;
}

static int setup(void **state)
{
	struct ctest *t = *state;

	t->c = ct_connect(t->d.control);
	snprintf(t->sock, sizeof(t->sock), "%s/added.sock", t->d.dir);
	return 0;
}

static void assert_td0_serves(struct ctest *t)
{
	struct vfu_client *vc = NULL;
	uint32_t id = 0;

	assert_int_equal(vfu_client_connect(&vc, t->d.socket[0]), 0);
	assert_int_equal(vfu_client_negotiate(vc, NULL), 0);
	assert_int_equal(vfu_client_region_read(vc, VFU_PCI_BAR0, TESTDEV_ID, &id, 4), 0);
	assert_int_equal(id, TESTDEV_ID_VALUE);
	vfu_client_close(vc);
}

/* The daemon is unharmed: alive, answers a new connection, td0 serves. */
static int teardown(void **state)
{
	struct ctest *t = *state;
	struct ctl_client *c;
	struct json_object *resp;

	ctl_client_close(t->c);
	t->c = NULL;
	assert_true(test_daemon_alive(&t->d));
	c = ct_connect(t->d.control);
	resp = ct_call(c, "device_list", NULL);
	assert_string_equal(ct_str(ct_result(resp), "devices.0.id"), "td0");
	json_object_put(resp);
	ctl_client_close(c);
	assert_td0_serves(t);
	return 0;
}

static struct json_object *call_id(struct ctest *t, const char *method, const char *id)
{
	char params[160];

	snprintf(params, sizeof(params), "{\"id\":\"%s\"}", id);
	return ct_call(t->c, method, params);
}

static void add_testdev(struct ctest *t, const char *id, const char *sock)
{
	char params[320];
	struct json_object *resp;

	snprintf(params, sizeof(params), "{\"model\":\"testdev\",\"id\":\"%s\",\"socket\":\"%s\"}",
		 id, sock);
	resp = ct_call(t->c, "device_add", params);
	assert_string_equal(ct_str(ct_result(resp), "id"), id);
	json_object_put(resp);
}

static void remove_dev(struct ctest *t, const char *id, bool had_client)
{
	struct json_object *resp = call_id(t, "device_remove", id), *r = ct_result(resp);

	assert_string_equal(ct_str(r, "id"), id);
	assert_int_equal(json_object_get_boolean(ct_get(r, "client_disconnected")), had_client);
	json_object_put(resp);
}

/* ---- methods ---- */

static void test_list(void **state)
{
	struct ctest *t = *state;
	struct json_object *resp = ct_call(t->c, "device_list", NULL), *r = ct_result(resp);

	assert_int_equal(json_object_array_length(ct_get(r, "devices")), 1);
	assert_string_equal(ct_str(r, "devices.0.model"), "testdev");
	assert_string_equal(ct_str(r, "devices.0.socket"), t->d.socket[0]);
	assert_false(json_object_get_boolean(ct_get(r, "devices.0.connected")));
	json_object_put(resp);
	/* Empty params are fine too. */
	resp = ct_call(t->c, "device_list", "{}");
	ct_result(resp);
	json_object_put(resp);
}

static void test_add_serve_remove_connected(void **state)
{
	struct ctest *t = *state;
	struct vfu_client *vc = NULL;
	struct json_object *resp;
	uint32_t id = 0;

	add_testdev(t, "td9", t->sock);
	assert_int_equal(vfu_client_connect(&vc, t->sock), 0);
	assert_int_equal(vfu_client_negotiate(vc, NULL), 0);
	assert_int_equal(vfu_client_region_read(vc, VFU_PCI_BAR0, TESTDEV_ID, &id, 4), 0);
	assert_int_equal(id, TESTDEV_ID_VALUE);

	resp = ct_call(t->c, "device_list", NULL);
	assert_string_equal(ct_str(ct_result(resp), "devices.1.id"), "td9");
	assert_true(json_object_get_boolean(ct_get(ct_result(resp), "devices.1.connected")));
	json_object_put(resp);

	/* Removed under a connected client: its session ends, the socket goes. */
	remove_dev(t, "td9", true);
	assert_int_not_equal(vfu_client_region_read(vc, VFU_PCI_BAR0, TESTDEV_ID, &id, 4), 0);
	vfu_client_close(vc);
	assert_int_equal(access(t->sock, F_OK), -1);
	resp = ct_call(t->c, "device_list", NULL);
	assert_int_equal(json_object_array_length(ct_get(ct_result(resp), "devices")), 1);
	json_object_put(resp);

	/* The id and the socket can be used again. */
	add_testdev(t, "td9", t->sock);
	remove_dev(t, "td9", false);
}

static void test_add_virtio_net(void **state)
{
	struct ctest *t = *state;
	char params[320];
	struct json_object *resp, *r;

	snprintf(params, sizeof(params), "{\"model\":\"virtio-net\",\"id\":\"n1\",\"socket\":\"%s\","
		 "\"net\":\"sink\",\"queues\":2,\"mac\":\"52:54:00:00:00:09\"}", t->sock);
	resp = ct_call(t->c, "device_add", params);
	ct_result(resp);
	json_object_put(resp);
	resp = ct_call(t->c, "device_list", NULL);
	r = ct_result(resp);
	assert_string_equal(ct_str(r, "devices.1.model"), "virtio-net");
	assert_string_equal(ct_str(r, "devices.1.options.queues"), "2");
	assert_string_equal(ct_str(r, "devices.1.options.net"), "sink");
	json_object_put(resp);

	resp = call_id(t, "device_stats", "n1");
	r = ct_result(resp);
	assert_int_equal(ct_int(r, "device.queue_pairs"), 2);
	assert_string_equal(ct_str(r, "device.queues.0.queue"), "rx0");
	assert_string_equal(ct_str(r, "device.queues.3.queue"), "tx1");
	assert_string_equal(ct_str(r, "device.queues.4.queue"), "ctrl");
	assert_int_equal(ct_int(r, "device.queues.1.packets"), 0);
	json_object_put(resp);
	remove_dev(t, "n1", false);
}

/* Counters follow what a client does: messages by type, interrupts, the model's own. */
static void test_stats_count(void **state)
{
	struct ctest *t = *state;
	struct vfu_client *vc = NULL;
	int64_t reads, sessions;
	uint32_t v;
	int efd = it_eventfd();

	reads = ct_stat(t->d.control, "td0", "vfio_user.messages.REGION_READ");
	sessions = ct_stat(t->d.control, "td0", "vfio_user.sessions");
	assert_int_equal(vfu_client_connect(&vc, t->d.socket[0]), 0);
	assert_int_equal(vfu_client_negotiate(vc, NULL), 0);
	for (int i = 0; i < 7; i++)
		assert_int_equal(vfu_client_region_read(vc, VFU_PCI_BAR0, TESTDEV_ID, &v, 4), 0);
	assert_int_equal(ct_stat(t->d.control, "td0", "vfio_user.messages.REGION_READ"),
			 reads + 7);
	assert_int_equal(ct_stat(t->d.control, "td0", "vfio_user.messages.VERSION") >= 1, 1);
	assert_int_equal(ct_stat(t->d.control, "td0", "vfio_user.sessions"), sessions + 1);

	/* One MSI-X interrupt: counted by the server and by the model. */
	assert_int_equal(vfu_client_set_irqs(vc, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_EVENTFD |
					     VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, &efd, 1, NULL, 0), 0);
	it_msix_enable(vc, true);
	it_reg_write(vc, TESTDEV_IRQ_RAISE, 0);
	assert_true(it_wait_readable(efd, 2000));
	assert_int_equal(ct_stat(t->d.control, "td0", "vfio_user.interrupts.msix"), 1);
	assert_int_equal(ct_stat(t->d.control, "td0", "device.irqs_raised"), 1);
	/* A refused message is counted as such. */
	assert_int_not_equal(vfu_client_region_read(vc, 99, 0, &v, 4), 0);
	assert_int_equal(ct_stat(t->d.control, "td0", "vfio_user.bad_messages"), 1);
	vfu_client_close(vc);
	close(efd);
}

static void test_reset(void **state)
{
	struct ctest *t = *state;
	struct vfu_client *vc = NULL;
	struct json_object *resp;

	assert_int_equal(vfu_client_connect(&vc, t->d.socket[0]), 0);
	assert_int_equal(vfu_client_negotiate(vc, NULL), 0);
	it_reg_write(vc, TESTDEV_SCRATCH0, 0xabcd1234);
	assert_int_equal(it_reg_read(vc, TESTDEV_SCRATCH0), 0xabcd1234);
	resp = call_id(t, "device_reset", "td0");
	assert_string_equal(ct_str(ct_result(resp), "id"), "td0");
	json_object_put(resp);
	/* The device is as after power-on; its client is still served. */
	assert_int_equal(it_reg_read(vc, TESTDEV_SCRATCH0), 0);
	assert_int_equal(it_reg_read(vc, TESTDEV_ID), TESTDEV_ID_VALUE);
	vfu_client_close(vc);
}

/* How many lines of the daemon's log (device processes included) hold @needle. */
static int log_count(const struct ctest *t, const char *needle)
{
	FILE *f = fopen(t->d.log, "re");
	char line[1024];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* A client comes and goes on td0; the "client connected" lines its server logged meanwhile. */
static int connect_logs(struct ctest *t)
{
	int before = log_count(t, "testdev td0: client connected");

	assert_td0_serves(t);
	return log_count(t, "testdev td0: client connected") - before;
}

static void test_log_level(void **state)
{
	struct ctest *t = *state;
	struct json_object *resp;

	resp = ct_call(t->c, "log_level", NULL);
	assert_string_equal(ct_str(ct_result(resp), "level"), "debug");
	json_object_put(resp);
	resp = ct_call(t->c, "log_level", "{\"level\":\"warn\"}");
	assert_string_equal(ct_str(ct_result(resp), "level"), "warn");
	json_object_put(resp);
	/* The device's server follows (under --isolate: in its own process). */
	assert_int_equal(connect_logs(t), 0);
	resp = ct_call(t->c, "log_level", "{}");
	assert_string_equal(ct_str(ct_result(resp), "level"), "warn");
	json_object_put(resp);
	resp = ct_call(t->c, "log_level", "{\"level\":\"loud\"}");
	ct_error(resp, RPC_INVALID_PARAMS);
	json_object_put(resp);
	resp = ct_call(t->c, "log_level", "{\"level\":3}");
	ct_error(resp, RPC_INVALID_PARAMS);
	json_object_put(resp);
	resp = ct_call(t->c, "log_level", "{\"level\":\"debug\"}");
	assert_string_equal(ct_str(ct_result(resp), "level"), "debug");
	json_object_put(resp);
	assert_int_equal(connect_logs(t), 1);
}

/* ---- bad requests ---- */

static void expect_raw_error(struct ctest *t, const char *text, int code, const char *id)
{
	struct json_object *resp = ct_raw(t->c, text);

	ct_error(resp, code);
	if (id)
		assert_string_equal(json_object_to_json_string(ct_get(resp, "id")), id);
	else
		assert_true(json_object_is_type(ct_get(resp, "id"), json_type_null));
	json_object_put(resp);
}

static void test_malformed_json(void **state)
{
	struct ctest *t = *state;
	static const char *const bad[] = {
		"{\"jsonrpc\":\"2.0\",\"method\":\"device_list\",\"id\":1,}\n",
		"{\"jsonrpc\" \"2.0\"}\n",
		"]\n",
		"{'jsonrpc':'2.0'}\n",
		"nul\n",
		"{\"method\":\"\xff\xfe\"}\n",
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_raw_error(t, bad[i], RPC_PARSE_ERROR, NULL);
		/* Framing is lost: the daemon closes that connection, and only that one. */
		ct_expect_closed(t->c);
		ctl_client_close(t->c);
		t->c = ct_connect(t->d.control);
	}
}

/* Send @text on a new connection, end our side of it; what comes back before the daemon's end. */
static const char *half_closed_answer(struct ctest *t, const char *text)
{
	static char buf[1024];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(t->d.control) < sizeof(addr.sun_path));
	memcpy(addr.sun_path, t->d.control, strlen(t->d.control));
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, CT_TIMEOUT_MS) != 1)
			fail_msg("no end of the connection after \"%s\"", text);
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		assert_true(n >= 0);
		if (!n)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* A request cut short by the end of the stream is answered as malformed, a bare value as itself. */
static void test_end_of_stream(void **state)
{
	struct ctest *t = *state;
	const char *got;

	got = half_closed_answer(t, "{\"jsonrpc\":\"2.0\",\"method\":\"device_list\",\"id\":1");
	if (!strstr(got, "\"code\":-32700"))
		fail_msg("a request cut short got: %s", got);
	got = half_closed_answer(t, "{\"jsonrpc\":\"2.0\",\"method\":\"log_level\",\"id\":1} 7");
	if (!strstr(got, "\"result\":{\"level\":") || !strstr(got, "\"code\":-32600"))
		fail_msg("a request and a bare 7 got: %s", got);
	got = half_closed_answer(t, "{\"jsonrpc\":\"2.0\",\"method\":\"log_level\",\"id\":2}");
	if (!strstr(got, "\"result\":{\"level\":") || strstr(got, "error"))
		fail_msg("a whole request got: %s", got);
}

static void test_invalid_requests(void **state)
{
	struct ctest *t = *state;

	expect_raw_error(t, "5\n", RPC_INVALID_REQUEST, NULL);
	expect_raw_error(t, "\"device_list\"\n", RPC_INVALID_REQUEST, NULL);
	expect_raw_error(t, "{\"method\":\"device_list\",\"id\":1}\n", RPC_INVALID_REQUEST, "1");
	expect_raw_error(t, "{\"jsonrpc\":\"1.0\",\"method\":\"device_list\",\"id\":2}\n",
			 RPC_INVALID_REQUEST, "2");
	expect_raw_error(t, "{\"jsonrpc\":2.0,\"method\":\"device_list\",\"id\":3}\n",
			 RPC_INVALID_REQUEST, "3");
	expect_raw_error(t, "{\"jsonrpc\":\"2.0\",\"method\":7,\"id\":\"x\"}\n",
			 RPC_INVALID_REQUEST, "\"x\"");
	expect_raw_error(t, "{\"jsonrpc\":\"2.0\",\"id\":4}\n", RPC_INVALID_REQUEST, "4");
	expect_raw_error(t, "{\"jsonrpc\":\"2.0\",\"method\":\"device_list\",\"id\":{\"a\":1}}\n",
			 RPC_INVALID_REQUEST, NULL);
	expect_raw_error(t, "{\"jsonrpc\":\"2.0\",\"method\":\"device_list\",\"id\":[1]}\n",
			 RPC_INVALID_REQUEST, NULL);
	expect_raw_error(t, "{\"jsonrpc\":\"2.0\",\"method\":\"device_list\",\"params\":\"x\","
			 "\"id\":5}\n", RPC_INVALID_REQUEST, "5");
	/* Positional params: a valid request, but our methods take them by name. */
	expect_raw_error(t, "{\"jsonrpc\":\"2.0\",\"method\":\"device_stats\",\"params\":[\"td0\"],"
			 "\"id\":6}\n", RPC_INVALID_PARAMS, "6");
	/* The connection still works after all that. */
	expect_raw_error(t, "{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":7}\n",
			 RPC_METHOD_NOT_FOUND, "7");
}

static void test_batch(void **state)
{
	struct ctest *t = *state;
	const char *notes = "[{\"jsonrpc\":\"2.0\",\"method\":\"log_level\"}]\n";
	struct json_object *resp;
	char *big;
	size_t len;

	resp = ct_raw(t->c, "[{\"jsonrpc\":\"2.0\",\"method\":\"device_list\",\"id\":\"a\"}, 5,"
			    " {\"jsonrpc\":\"2.0\",\"method\":\"log_level\"},"
			    " {\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":\"b\"}]\n");
	/* Answers in order; nothing for the notification. */
	assert_true(json_object_is_type(resp, json_type_array));
	assert_int_equal(json_object_array_length(resp), 3);
	assert_string_equal(ct_str(resp, "0.id"), "a");
	ct_result(json_object_array_get_idx(resp, 0));
	ct_error(json_object_array_get_idx(resp, 1), RPC_INVALID_REQUEST);
	ct_error(json_object_array_get_idx(resp, 2), RPC_METHOD_NOT_FOUND);
	assert_string_equal(ct_str(resp, "2.id"), "b");
	json_object_put(resp);

	expect_raw_error(t, "[]\n", RPC_INVALID_REQUEST, NULL);
	/* Notifications only: no answer at all, the next request's answer comes next. */
	assert_int_equal(ctl_client_send(t->c, notes, strlen(notes)), 0);
	ct_expect_silence(t->c, 200);
	resp = ct_call(t->c, "device_list", NULL);
	ct_result(resp);
	json_object_put(resp);

	/* More than RPC_MAX_BATCH requests in one batch. */
	len = 2 + (RPC_MAX_BATCH + 1) * 64;
	big = calloc(1, len + 8);
	strcpy(big, "[");
	for (int i = 0; i <= RPC_MAX_BATCH; i++)
		strcat(big, i ? ",{\"jsonrpc\":\"2.0\",\"method\":\"device_list\",\"id\":1}"
			      : "{\"jsonrpc\":\"2.0\",\"method\":\"device_list\",\"id\":1}");
	strcat(big, "]\n");
	expect_raw_error(t, big, RPC_INVALID_REQUEST, NULL);
	free(big);
}

static void test_notification(void **state)
{
	struct ctest *t = *state;
	const char *n = "{\"jsonrpc\":\"2.0\",\"method\":\"device_list\"}\n"
			"{\"jsonrpc\":\"2.0\",\"method\":\"no_such_method\"}\n";
	struct json_object *resp;

	assert_int_equal(ctl_client_send(t->c, n, strlen(n)), 0);
	ct_expect_silence(t->c, 200);
	resp = ct_call(t->c, "device_list", NULL);
	ct_result(resp);
	json_object_put(resp);
}

static void test_unknown_method(void **state)
{
	struct ctest *t = *state;
	struct json_object *resp = ct_call(t->c, "device_destroy_everything", "{\"id\":\"td0\"}");

	assert_non_null(strstr(ct_error(resp, RPC_METHOD_NOT_FOUND), "device_destroy_everything"));
	json_object_put(resp);
}

static void expect_params_error(struct ctest *t, const char *method, const char *params,
				const char *key)
{
	struct json_object *resp = ct_call(t->c, method, params);

	ct_error(resp, RPC_INVALID_PARAMS);
	if (key)
		assert_string_equal(ct_str(resp, "error.data.key"), key);
	json_object_put(resp);
}

static void test_wrong_param_types(void **state)
{
	struct ctest *t = *state;
	char p[320];

	expect_params_error(t, "device_stats", "{\"id\":5}", NULL);
	expect_params_error(t, "device_stats", "{}", NULL);
	expect_params_error(t, "device_stats", NULL, NULL);
	expect_params_error(t, "device_remove", "{\"id\":\"td0\",\"force\":true}", NULL);
	expect_params_error(t, "device_reset", "{\"id\":null}", NULL);
	expect_params_error(t, "device_list", "{\"verbose\":1}", NULL);
	expect_params_error(t, "device_add", NULL, NULL);
	expect_params_error(t, "device_add", "{\"model\":3}", "model");
	expect_params_error(t, "device_add", "{\"socket\":\"/tmp/x\"}", "model");
	snprintf(p, sizeof(p), "{\"model\":\"virtio-net\",\"socket\":\"%s\",\"net\":\"sink\","
		 "\"queues\":2.5}", t->sock);
	expect_params_error(t, "device_add", p, "queues");
	snprintf(p, sizeof(p), "{\"model\":\"virtio-net\",\"socket\":\"%s\",\"net\":\"sink\","
		 "\"queues\":99}", t->sock);
	expect_params_error(t, "device_add", p, "queues");
	snprintf(p, sizeof(p), "{\"model\":\"virtio-net\",\"socket\":\"%s\",\"net\":[\"sink\"]}",
		 t->sock);
	expect_params_error(t, "device_add", p, "net");
	snprintf(p, sizeof(p), "{\"model\":\"virtio-net\",\"socket\":\"%s\",\"net\":\"warp\"}",
		 t->sock);
	expect_params_error(t, "device_add", p, "net");
	snprintf(p, sizeof(p), "{\"model\":\"testdev\",\"socket\":\"%s\",\"colour\":\"red\"}",
		 t->sock);
	expect_params_error(t, "device_add", p, "colour");
	snprintf(p, sizeof(p), "{\"model\":\"warpdrive\",\"socket\":\"%s\"}", t->sock);
	expect_params_error(t, "device_add", p, "model");
	expect_params_error(t, "device_add", "{\"model\":\"testdev\"}", "socket");
	snprintf(p, sizeof(p), "{\"model\":\"testdev\",\"socket\":\"%s\",\"id\":\"a/b\"}", t->sock);
	expect_params_error(t, "device_add", p, "id");
	/* Nothing of it was created. */
	assert_int_equal(access(t->sock, F_OK), -1);
}

static void test_unknown_device(void **state)
{
	struct ctest *t = *state;
	static const char *const methods[] = { "device_stats", "device_remove", "device_reset" };

	for (unsigned i = 0; i < 3; i++) {
		struct json_object *resp = call_id(t, methods[i], "nosuchdev");

		ct_error(resp, RPC_NO_SUCH_DEVICE);
		assert_string_equal(ct_str(resp, "error.data.id"), "nosuchdev");
		json_object_put(resp);
	}
}

static void test_clashes(void **state)
{
	struct ctest *t = *state;
	struct json_object *resp;
	char p[320];
	int fd;

	/* An id or a socket another device has. */
	snprintf(p, sizeof(p), "{\"model\":\"testdev\",\"id\":\"td0\",\"socket\":\"%s\"}", t->sock);
	resp = ct_call(t->c, "device_add", p);
	ct_error(resp, RPC_DEVICE_EXISTS);
	assert_string_equal(ct_str(resp, "error.data.key"), "id");
	json_object_put(resp);
	snprintf(p, sizeof(p), "{\"model\":\"testdev\",\"id\":\"x1\",\"socket\":\"%s\"}",
		 t->d.socket[0]);
	resp = ct_call(t->c, "device_add", p);
	ct_error(resp, RPC_DEVICE_EXISTS);
	assert_string_equal(ct_str(resp, "error.data.key"), "socket");
	json_object_put(resp);
	/* A socket path another process listens on: left alone. */
	fd = test_unix_socket(t->sock, true);
	assert_true(fd >= 0);
	snprintf(p, sizeof(p), "{\"model\":\"testdev\",\"id\":\"x1\",\"socket\":\"%s\"}", t->sock);
	resp = ct_call(t->c, "device_add", p);
	assert_non_null(strstr(ct_error(resp, RPC_DEVICE_FAILED), "another server"));
	assert_int_equal(ct_int(resp, "error.data.errno"), EADDRINUSE);
	json_object_put(resp);
	assert_int_equal(access(t->sock, F_OK), 0);
	close(fd);
	unlink(t->sock);
}

static void test_oversize_request(void **state)
{
	struct ctest *t = *state;
	size_t len = CTL_MAX_REQUEST + 4096;
	char *big = malloc(len + 1);
	struct json_object *resp;

	/* One string that never ends within the limit. */
	memset(big, 'a', len);
	memcpy(big, "{\"jsonrpc\":\"2.0\",\"method\":\"", 27);
	big[len] = '\0';
	/* The daemon may close before reading it all: a failed send is fine. */
	ctl_client_send(t->c, big, len);
	free(big);
	if (ctl_client_recv(t->c, &resp, CT_TIMEOUT_MS) == 0) {
		assert_non_null(strstr(ct_error(resp, RPC_INVALID_REQUEST), "larger than"));
		json_object_put(resp);
	}
	ct_expect_closed(t->c);
}

static void test_pipelined_and_split(void **state)
{
	struct ctest *t = *state;
	const char *two = "{\"jsonrpc\":\"2.0\",\"method\":\"device_list\",\"id\":1}"
			  "{\"jsonrpc\":\"2.0\",\"method\":\"log_level\",\"id\":2}";
	const char *one = "{\"jsonrpc\": \"2.0\",\n \"method\": \"device_list\",\n \"id\": 3}\n";
	struct json_object *resp;

	assert_int_equal(ctl_client_send(t->c, two, strlen(two)), 0);
	for (int i = 1; i <= 2; i++) {
		assert_int_equal(ctl_client_recv(t->c, &resp, CT_TIMEOUT_MS), 0);
		assert_int_equal(ct_int(resp, "id"), i);
		json_object_put(resp);
	}
	/* Byte by byte. */
	for (const char *p = one; *p; p++) {
		assert_int_equal(ctl_client_send(t->c, p, 1), 0);
		if (p[1])
			usleep(200);
	}
	assert_int_equal(ctl_client_recv(t->c, &resp, CT_TIMEOUT_MS), 0);
	assert_int_equal(ct_int(resp, "id"), 3);
	json_object_put(resp);
}

static void test_too_many_connections(void **state)
{
	struct ctest *t = *state;
	struct ctl_client *cs[CTL_MAX_CONNS];
	struct ctl_client *extra;
	struct json_object *resp;

	/* The test's own connection is one of them. */
	for (int i = 0; i < CTL_MAX_CONNS - 1; i++) {
		cs[i] = ct_connect(t->d.control);
		resp = ct_call(cs[i], "device_list", NULL);
		json_object_put(resp);
	}
	extra = ct_connect(t->d.control);
	assert_int_equal(ctl_client_recv(extra, &resp, CT_TIMEOUT_MS), 0);
	ct_error(resp, RPC_BUSY);
	json_object_put(resp);
	ct_expect_closed(extra);
	ctl_client_close(extra);
	for (int i = 0; i < CTL_MAX_CONNS - 1; i++)
		ctl_client_close(cs[i]);
}

/* A daemon whose control connections time out after 1 s idle. */
static void start_idle_daemon(struct test_daemon *d, char *cfg, size_t len)
{
	static const char *args[3];
	FILE *f;

	assert_int_equal(test_daemon_prepare(d, 1), 0);
	d->with_control = true;
	snprintf(cfg, len, "%s/idle.json", d->dir);
	f = fopen(cfg, "w");
	assert_non_null(f);
	fprintf(f, "{ \"control\": { \"socket\": \"%s\", \"idle_timeout\": 1 } }\n", d->control);
	fclose(f);
	args[0] = "--config";
	args[1] = cfg;
	d->extra_args = args;
	assert_int_equal(test_daemon_launch(d), 0);
}

/*
 * Connections on which nothing moves are closed after the idle timeout,
 * one in use is not; slots idle clients held become free for new ones.
 */
static void test_idle_timeout(void **state)
{
	struct test_daemon d = { 0 };
	struct ctl_client *idle, *busy, *cs[CTL_MAX_CONNS];
	struct json_object *resp = NULL;
	char cfg[160];

	(void)state;
	start_idle_daemon(&d, cfg, sizeof(cfg));
	idle = ct_connect(d.control);
	busy = ct_connect(d.control);
	for (int i = 0; i < 8; i++) {
		json_object_put(ct_call(busy, "device_list", NULL));
		usleep(300 * 1000);
	}
	/* 2.4 s later: the idle one is closed already, the busy one still served */
	assert_int_equal(ctl_client_recv(idle, &resp, 100), -ECONNRESET);
	resp = ct_call(busy, "device_list", NULL);
	ct_result(resp);
	json_object_put(resp);
	ctl_client_close(idle);
	ctl_client_close(busy);

	/* every slot held by a client that says nothing: the next one waits for the timeout */
	for (int i = 0; i < CTL_MAX_CONNS; i++)
		cs[i] = ct_connect(d.control);
	busy = ct_connect(d.control);
	assert_int_equal(ctl_client_recv(busy, &resp, CT_TIMEOUT_MS), 0);
	ct_error(resp, RPC_BUSY);
	json_object_put(resp);
	ctl_client_close(busy);
	for (int i = 0; i < CTL_MAX_CONNS; i++) {
		assert_int_equal(ctl_client_recv(cs[i], &resp, CT_TIMEOUT_MS), -ECONNRESET);
		ctl_client_close(cs[i]);
	}
	busy = ct_connect(d.control);
	resp = ct_call(busy, "device_list", NULL);
	ct_result(resp);
	json_object_put(resp);
	ctl_client_close(busy);
	assert_int_equal(test_daemon_stop(&d), 0);
}

/* The lowest fd number @pid has free: what its next accept would get. */
static int lowest_free_fd(pid_t pid)
{
	char path[64];

	for (int fd = 0;; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		if (access(path, F_OK))
			return fd;
	}
}

/*
 * Out of fds, a connection cannot be accepted: the daemon waits for fds
 * instead of spinning on the listener, and serves the client once it has
 * them again.
 */
static void test_out_of_fds(void **state)
{
	struct ctest *t = *state;
	struct rlimit old, low;
	struct ctl_client *late;
	struct json_object *resp;
	long before, used;

	assert_int_equal(prlimit(t->d.pid, RLIMIT_NOFILE, NULL, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest_free_fd(t->d.pid);
	assert_int_equal(prlimit(t->d.pid, RLIMIT_NOFILE, &low, NULL), 0);
	late = ct_connect(t->d.control); /* in the listen backlog */
	before = test_daemon_cpu_ms(&t->d);
	usleep(IT_SPIN_WINDOW_MS * 1000);
	used = test_daemon_cpu_ms(&t->d) - before;
	assert_int_equal(prlimit(t->d.pid, RLIMIT_NOFILE, &old, NULL), 0);
	if (used >= IT_SPIN_MAX_CPU_MS)
		fail_msg("out of fds, the daemon used %ld ms of CPU in %d ms: it spins", used,
			 IT_SPIN_WINDOW_MS);
	resp = ct_call(late, "device_list", NULL);
	ct_result(resp);
	json_object_put(resp);
	ctl_client_close(late);
}

static void test_socket_mode(void **state)
{
	struct ctest *t = *state;
	struct stat st;

	assert_int_equal(stat(t->d.control, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* Adds and removes of other devices never stop td0's client. */
static void test_churn_while_serving(void **state)
{
	struct ctest *t = *state;
	struct vfu_client *vc = NULL;
	char id[16];

	assert_int_equal(vfu_client_connect(&vc, t->d.socket[0]), 0);
	assert_int_equal(vfu_client_negotiate(vc, NULL), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "churn%d", i);
		add_testdev(t, id, t->sock);
		it_reg_write(vc, TESTDEV_SCRATCH0 + 4 * (i % 8), (uint32_t)i);
		assert_int_equal(it_reg_read(vc, TESTDEV_SCRATCH0 + 4 * (i % 8)), (uint32_t)i);
		remove_dev(t, id, false);
	}
	vfu_client_close(vc);
}

/* ---- signals ---- */

/*
 * SIGUSR2 logs the counters device_stats reports; SIGUSR1 (device-side
 * resets, which testdev has none of) harms nothing; neither kills a device
 * process that gets one from a signal to the process group.
 */
static void test_signals(void **state)
{
	struct ctest *t = *state;
	pid_t dev_pid = test_daemon_device_pid(&t->d, 0);
	uint64_t msgs[VFU_CMD_MAX];

	assert_td0_serves(t);
	assert_int_equal(kill(t->d.pid, SIGUSR1), 0);
	assert_int_equal(test_daemon_stats(&t->d, "td0", msgs), 0);
	assert_true(msgs[VFU_CMD_REGION_READ] >= 1);
	assert_int_equal((int64_t)msgs[VFU_CMD_REGION_READ],
			 ct_stat(t->d.control, "td0", "vfio_user.messages.REGION_READ"));
	assert_int_equal((int64_t)msgs[VFU_CMD_VERSION],
			 ct_stat(t->d.control, "td0", "vfio_user.messages.VERSION"));
	if (t->d.isolate) {
		assert_int_equal(kill(dev_pid, SIGUSR1), 0);
		assert_int_equal(kill(dev_pid, SIGUSR2), 0);
	}
	usleep(100 * 1000);
	assert_true(test_daemon_alive(&t->d));
	assert_int_equal(test_daemon_device_pid(&t->d, 0), dev_pid);
}

/* ---- --isolate: the device processes behind the methods ---- */

/* Device @id of device_list's result (borrowed from @resp), asserts. */
static struct json_object *listed(struct json_object *resp, const char *id)
{
	struct json_object *devs = ct_get(ct_result(resp), "devices");

	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		struct json_object *d = json_object_array_get_idx(devs, i);

		if (!strcmp(ct_str(d, "id"), id))
			return d;
	}
	fail_msg("device %s not listed", id);
	return NULL;
}

/* Device @id's process (pid, state "running", @restarts) as device_list tells it. */
static pid_t listed_pid(struct ctest *t, const char *id, int64_t restarts)
{
	struct json_object *resp = ct_call(t->c, "device_list", NULL), *d = listed(resp, id);
	pid_t pid = (pid_t)ct_int(d, "pid");

	assert_string_equal(ct_str(d, "state"), "running");
	assert_int_equal(ct_int(d, "restarts"), restarts);
	json_object_put(resp);
	return pid;
}

static void assert_sandboxed_child(struct ctest *t, pid_t pid, const char *id)
{
	char buf[64], comm[32] = "", path[64];
	int fd;

	assert_true(pid > 0 && pid != t->d.pid);
	it_assert_proc_status(pid, "Seccomp", "2");
	it_assert_proc_status(pid, "NoNewPrivs", "1");
	assert_int_equal(strtol(it_proc_status(pid, "PPid", buf, sizeof(buf)), NULL, 10), t->d.pid);
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0 && read(fd, comm, sizeof(comm) - 1) > 0);
	close(fd);
	snprintf(buf, sizeof(buf), "iomed-%s\n", id);
	assert_string_equal(comm, buf);
}

static bool connected(struct ctest *t, const char *id)
{
	struct json_object *resp = call_id(t, "device_stats", id);
	bool yes = json_object_get_boolean(ct_get(ct_result(resp), "vfio_user.connected"));

	json_object_put(resp);
	return yes;
}

/* Until device @id's server has seen its last client go (2 s at most). */
static void wait_idle(struct ctest *t, const char *id)
{
	for (int i = 0; i < 200 && connected(t, id); i++)
		usleep(10 * 1000);
}

/* device_add starts a sandboxed process, device_remove ends it and removes its socket. */
static void test_isolated_add_remove(void **state)
{
	struct ctest *t = *state;
	pid_t pid;

	if (!t->d.isolate)
		skip();
	add_testdev(t, "iso1", t->sock);
	pid = listed_pid(t, "iso1", 0);
	assert_sandboxed_child(t, pid, "iso1");
	it_assert_serves_at(t->sock);
	wait_idle(t, "iso1");
	remove_dev(t, "iso1", false);
	/* Gone, and reaped by the supervisor before it answered. */
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(access(t->sock, F_OK), -1);
	/* A client connected: device_remove ends its session with the process. */
	add_testdev(t, "iso1", t->sock);
	pid = listed_pid(t, "iso1", 0);
	{
		struct vfu_client *vc = NULL;
		uint32_t v;

		assert_int_equal(vfu_client_connect(&vc, t->sock), 0);
		assert_int_equal(vfu_client_negotiate(vc, NULL), 0);
		remove_dev(t, "iso1", true);
		assert_int_not_equal(vfu_client_region_read(vc, VFU_PCI_BAR0, TESTDEV_ID, &v, 4), 0);
		vfu_client_close(vc);
	}
	assert_int_equal(kill(pid, 0), -1);
}

/* Device @id's process once it is not @old and runs again, within 5 s; 0 if it does not. */
static pid_t wait_restarted(struct ctest *t, const char *id, pid_t old)
{
	for (int i = 0; i < 500; i++) {
		struct json_object *resp = ct_call(t->c, "device_list", NULL), *d = listed(resp, id);
		pid_t pid = (pid_t)ct_int(d, "pid");
		bool running = !strcmp(ct_str(d, "state"), "running");

		if (!running)
			assert_string_equal(ct_str(d, "state"), "restarting");
		json_object_put(resp);
		if (running && pid != old)
			return pid;
		usleep(10 * 1000);
	}
	return 0;
}

/*
 * A device process that dies is listed while it restarts; its counters
 * (in the page it shares with the supervisor) count a client session's
 * messages and outlive it; the new process serves and resets.
 */
static void test_isolated_crash_stats(void **state)
{
	struct ctest *t = *state;
	struct vfu_client *vc = NULL;
	struct json_object *resp;
	pid_t pid, again;
	uint32_t v;

	if (!t->d.isolate)
		skip();
	add_testdev(t, "iso2", t->sock);
	pid = listed_pid(t, "iso2", 0);
	assert_int_equal(vfu_client_connect(&vc, t->sock), 0);
	assert_int_equal(vfu_client_negotiate(vc, NULL), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(vfu_client_region_read(vc, VFU_PCI_BAR0, TESTDEV_ID, &v, 4), 0);
	assert_int_equal(ct_stat(t->d.control, "iso2", "vfio_user.messages.REGION_READ"), 5);
	assert_int_equal(ct_stat(t->d.control, "iso2", "vfio_user.messages.VERSION"), 1);
	assert_int_equal(ct_stat(t->d.control, "iso2", "vfio_user.sessions"), 1);
	assert_true(connected(t, "iso2"));

	assert_int_equal(kill(pid, SIGKILL), 0);
	again = wait_restarted(t, "iso2", pid);
	assert_true(again > 0);
	vfu_client_close(vc);
	assert_int_equal(listed_pid(t, "iso2", 1), again);
	assert_sandboxed_child(t, again, "iso2");
	/* The counters outlived the process; nobody is connected now. */
	assert_int_equal(ct_stat(t->d.control, "iso2", "vfio_user.messages.REGION_READ"), 5);
	assert_false(connected(t, "iso2"));
	assert_int_equal(ct_stat(t->d.control, "iso2", "restarts"), 1);
	assert_int_equal(ct_stat(t->d.control, "iso2", "pid"), again);

	/* The new process serves and takes device_reset. */
	assert_int_equal(vfu_client_connect(&vc, t->sock), 0);
	assert_int_equal(vfu_client_negotiate(vc, NULL), 0);
	it_reg_write(vc, TESTDEV_SCRATCH0, 0x77);
	resp = call_id(t, "device_reset", "iso2");
	ct_result(resp);
	json_object_put(resp);
	assert_int_equal(it_reg_read(vc, TESTDEV_SCRATCH0), 0);
	vfu_client_close(vc);
	wait_idle(t, "iso2");
	remove_dev(t, "iso2", false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_serve_remove_connected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_virtio_net, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_of_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notification, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_method, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_param_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clashes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_and_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_connections, setup, teardown),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test_setup_teardown(test_out_of_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_churn_while_serving, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolated_add_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolated_crash_stats, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
