// SPDX-License-Identifier: MIT
/*
 * Traces started and stopped while a device serves a client: a testdev
 * served in this process (server thread), a client hammering it from
 * another thread (accesses, interrupts, reconnects), a third thread
 * emitting device events as a datapath poller would, and the test thread
 * starting and stopping traces all along. Every trace must decode whole,
 * end with its END record and count what it holds. Run under ASan/UBSan
 * (scripts/test.sh), this is the check that start/stop never races the
 * producers into freed or half-written memory.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/opts.h"
#include "core/trace_read.h"
#include "devices/device.h"
#include "devices/testdev/testdev.h"
#include "vfio-user/client.h"
#include "vfio-user/server.h"

#define ROUNDS 20

struct live {
	char dir[64];
	char sock[128];
	struct opts opts;
	struct iomed_device dev;
	struct vfu_server *srv;
	pthread_t server, client, events;
	_Atomic bool stop;
	_Atomic unsigned client_ops;
	int client_err; /* first failure in the client thread (line) */
};

static void *server_main(void *arg)
{
	struct live *l = arg;

	vfu_server_run(l->srv);
	return NULL;
}

static int client_round(struct live *l, unsigned n)
{
	struct vfu_client *c = NULL;
	uint32_t v;
	int ret;

	ret = vfu_client_connect(&c, l->sock);
	if (!ret)
		ret = vfu_client_negotiate(c, NULL);
	for (unsigned i = 0; i < n && !ret && !l->stop; i++) {
		ret = vfu_client_region_read(c, VFU_PCI_BAR0, TESTDEV_ID, &v, 4);
		if (!ret && v != TESTDEV_ID_VALUE)
			ret = -EIO;
		v = i;
		if (!ret)
			ret = vfu_client_region_write(c, VFU_PCI_BAR0, TESTDEV_SCRATCH0, &v, 4);
		v = 1;
		if (!ret)
			ret = vfu_client_region_write(c, VFU_PCI_BAR0, TESTDEV_IRQ_RAISE, &v, 4);
		if (!ret)
			ret = vfu_client_region_write(c, VFU_PCI_BAR0, TESTDEV_IRQ_ACK, &v, 4);
		l->client_ops++;
	}
	vfu_client_close(c);
	return ret;
}

/* Rounds of 50 ops on one connection, then a reconnect (connect/reset records). */
static void *client_main(void *arg)
{
	struct live *l = arg;

	while (!l->stop) {
		if (client_round(l, 50)) {
			l->client_err = __LINE__;
			break;
		}
	}
	return NULL;
}

/* What a model's datapath thread does: events from outside the server thread. */
static void *events_main(void *arg)
{
	struct live *l = arg;
	uint32_t n = 0;

	while (!l->stop) {
		vfu_device_event(l->dev.vfu, TRACE_EV_NOTE, n, n, "poller", 6);
		if (!(++n % 64))
			usleep(100);
	}
	return NULL;
}

static int setup(void **state)
{
	struct live *l = calloc(1, sizeof(*l));
	char err[256] = "", spec[256];

	if (!l)
		return -1;
	snprintf(l->dir, sizeof(l->dir), "/tmp/iomed-live.XXXXXX");
	if (!mkdtemp(l->dir))
		return -1;
	snprintf(l->sock, sizeof(l->sock), "%s/td.sock", l->dir);
	snprintf(spec, sizeof(spec), "testdev,id=live0");
	if (opts_parse(&l->opts, spec, err, sizeof(err)))
		return -1;
	l->dev.model = iomed_model_find("testdev");
	snprintf(l->dev.id, sizeof(l->dev.id), "live0");
	opts_get(&l->opts, "id");
	if (iomed_device_create(&l->dev, &l->opts, err, sizeof(err))) {
		fprintf(stderr, "create: %s\n", err);
		return -1;
	}
	if (vfu_server_create(&l->srv, l->sock, l->dev.vfu))
		return -1;
	if (pthread_create(&l->server, NULL, server_main, l))
		return -1;
	*state = l;
	return 0;
}

static int teardown(void **state)
{
	struct live *l = *state;
	char cmd[128];

	vfu_server_stop(l->srv);
	pthread_join(l->server, NULL);
	vfu_server_destroy(l->srv);
	iomed_device_destroy(&l->dev);
	opts_free(&l->opts);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", l->dir);
	free(l);
	return system(cmd);
}

/* The trace at @path decodes whole: END last, its count right. Returns the records. */
static uint64_t check_trace(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct trace_reader r;
	const struct trace_rec *rec;
	char err[256] = "";
	int ret;

	assert_non_null(f);
	assert_int_equal(trace_reader_open(&r, f, err, sizeof(err)), 0);
	assert_string_equal(r.hdr.device, "live0");
	assert_string_equal(r.hdr.model, "testdev");
	while ((ret = trace_reader_next(&r, &rec, err, sizeof(err))) > 0) {
		assert_non_null(trace_type_name(rec->type));
		assert_false(r.ended && rec->type != TRACE_END);
	}
	if (ret)
		fail_msg("%s: %s", path, err);
	assert_true(r.ended);
	assert_int_equal(r.records, r.end.records);
	assert_int_equal(r.lost, r.end.lost);
	trace_reader_fini(&r);
	fclose(f);
	return r.records;
}

static void test_start_stop_while_serving(void **state)
{
	struct live *l = *state;
	struct iomed_recording_info info;
	char err[512] = "", path[160];
	uint64_t total = 0;

	assert_int_equal(pthread_create(&l->client, NULL, client_main, l), 0);
	assert_int_equal(pthread_create(&l->events, NULL, events_main, l), 0);
	for (unsigned i = 0; i < ROUNDS; i++) {
		struct timespec ts = { 0, (long)(i % 5) * 2000000L };

		snprintf(path, sizeof(path), "%s/t%u.trc", l->dir, i % 3);
		if (iomed_trace_start(&l->dev, path, err, sizeof(err)))
			fail_msg("start: %s", err);
		iomed_recording_get(&l->dev, &info);
		assert_true(info.tracing);
		assert_string_equal(info.trace_path, path);
		nanosleep(&ts, NULL);
		assert_int_equal(iomed_trace_stop(&l->dev, err, sizeof(err)), 0);
		total += check_trace(path);
	}
	l->stop = true;
	pthread_join(l->client, NULL);
	pthread_join(l->events, NULL);
	assert_int_equal(l->client_err, 0);
	assert_true(l->client_ops > 0);
	assert_true(total > 0);
	print_message("%llu records in %u traces, %u client ops\n", (unsigned long long)total,
		      ROUNDS, (unsigned)l->client_ops);
}

static void test_api_errors(void **state)
{
	struct live *l = *state;
	struct iomed_recording_info info;
	char err[512] = "", path[160];

	snprintf(path, sizeof(path), "%s/e.trc", l->dir);
	assert_int_equal(iomed_trace_stop(&l->dev, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "trace: not running on this device");
	assert_int_equal(iomed_trace_start(&l->dev, "", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "trace: expected a file path");
	assert_int_equal(iomed_trace_start(&l->dev, path, err, sizeof(err)), 0);
	assert_int_equal(iomed_trace_start(&l->dev, path, err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "a trace of this device is already running");
	assert_int_equal(iomed_trace_stop(&l->dev, err, sizeof(err)), 0);
	/* testdev has no packet port: nothing to capture. */
	assert_int_equal(iomed_pcap_start(&l->dev, path, err, sizeof(err)), -ENODEV);
	assert_string_equal(err, "pcap: this device has no packet port");
	assert_int_equal(iomed_pcap_stop(&l->dev, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "pcap: not running on this device");
	iomed_recording_get(&l->dev, &info);
	assert_false(info.tracing);
	assert_false(info.capturing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_errors),
		cmocka_unit_test(test_start_stop_while_serving),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
