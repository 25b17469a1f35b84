// SPDX-License-Identifier: MIT
/*
 * Passthrough devices that cannot be served: a malformed specification is
 * a command-line error (exit 2); a host device or upstream server that is
 * not there costs only that device, with a clear log line, while the
 * daemon serves the others; an upstream that dies mid-session turns into
 * error replies, not a hang or a crash, and is reconnected once it is back
 * and the client holds nothing there.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "devices/testdev/testdev.h"

#define RUN_MS 5000
#define NO_DEVICE "0000:ff:1f.7" /* bus ff, device 31, function 7: not on a test host */

static char out[8192];

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static void run_iomed(int status, const char *spec)
{
	char *argv[] = { (char *)test_daemon_binary(), "--device", (char *)spec, NULL };
	int ret = test_run(argv, out, sizeof(out), RUN_MS);

	if (ret != status)
		fail_msg("iomed --device %s exited with %d, expected %d:\n%s", spec, ret, status,
			 out);
}

static void test_bad_specs(void **state)
{
	(void)state;
	run_iomed(2, "passthrough,socket=/tmp/iomed-pt-x.sock");
	assert_contains(out, "give one of host=");
	run_iomed(2, "passthrough,host=" NO_DEVICE ",upstream=/tmp/u.sock,socket=/tmp/x.sock");
	assert_contains(out, "give one of host=");
	run_iomed(2, "passthrough,host=1:2:3,socket=/tmp/iomed-pt-x.sock");
	assert_contains(out, "host=1:2:3 is not a PCI address");
	run_iomed(2, "passthrough,host=0000:00:20.0,socket=/tmp/iomed-pt-x.sock");
	assert_contains(out, "not a PCI address");
	run_iomed(2, "passthrough,host=" NO_DEVICE ",noiommu=maybe,socket=/tmp/iomed-pt-x.sock");
	assert_contains(out, "noiommu=maybe");
	run_iomed(2, "passthrough,upstream=/tmp/u.sock,noiommu=on,socket=/tmp/iomed-pt-x.sock");
	assert_contains(out, "noiommu= applies to host= only");
	run_iomed(2, "passthrough,upstream=,socket=/tmp/iomed-pt-x.sock");
	assert_contains(out, "upstream= needs a socket path");
	run_iomed(2, "passthrough,upstream=/tmp/u.sock,hots=1,socket=/tmp/iomed-pt-x.sock");
	assert_contains(out, "unknown option 'hots'");
	assert_int_equal(access("/tmp/iomed-pt-x.sock", F_OK), -1);
}

/* The only device cannot be served: nothing to do, exit 1. */
static void test_nothing_to_serve(void **state)
{
	(void)state;
	run_iomed(1, "passthrough,host=" NO_DEVICE ",socket=/tmp/iomed-pt-x.sock");
	assert_contains(out, "no PCI device " NO_DEVICE);
	assert_contains(out, "no device could be served");
	run_iomed(1, "passthrough,upstream=/tmp/iomed-no-such.sock,socket=/tmp/iomed-pt-x.sock");
	assert_contains(out, "cannot connect to upstream vfio-user server "
			     "/tmp/iomed-no-such.sock: No such file or directory");
	assert_int_equal(access("/tmp/iomed-pt-x.sock", F_OK), -1);
}

static bool log_has(const struct test_daemon *d, const char *needle)
{
	FILE *f = fopen(d->log, "re");
	char line[1024];
	bool found = false;

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* Devices whose backend is missing are reported; the testdev beside them is served. */
static void test_others_served(void **state)
{
	struct test_daemon d;
	char bad_host[256], bad_up[400], bad_sock[2][160];
	const char *extra[5];

	(void)state;
	assert_int_equal(test_daemon_prepare(&d, 1), 0);
	snprintf(bad_sock[0], sizeof(bad_sock[0]), "%s/pt-host.sock", d.dir);
	snprintf(bad_sock[1], sizeof(bad_sock[1]), "%s/pt-up.sock", d.dir);
	snprintf(bad_host, sizeof(bad_host), "passthrough,host=" NO_DEVICE ",socket=%s,id=h",
		 bad_sock[0]);
	snprintf(bad_up, sizeof(bad_up), "passthrough,upstream=%s/none.sock,socket=%s,id=u",
		 d.dir, bad_sock[1]);
	extra[0] = "--device";
	extra[1] = bad_host;
	extra[2] = "--device";
	extra[3] = bad_up;
	extra[4] = NULL;
	d.extra = extra;
	assert_int_equal(test_daemon_launch(&d), 0);
	it_assert_serves_at(d.socket[0]);
	assert_true(log_has(&d, "device h (passthrough): no PCI device " NO_DEVICE));
	assert_true(log_has(&d, "device u (passthrough): cannot connect to upstream"));
	assert_true(log_has(&d, "serving 1 device"));
	assert_int_equal(access(bad_sock[0], F_OK), -1);
	assert_int_equal(access(bad_sock[1], F_OK), -1);
	assert_int_equal(test_daemon_stop(&d), 0);
}

static int read_id(struct vfu_client *c, uint32_t *v)
{
	return vfu_client_region_read(c, VFU_PCI_BAR0, TESTDEV_ID, v, 4);
}

/*
 * The upstream dies under a connected client that holds a DMA map there:
 * requests that need it fail with an error reply, the daemon goes on
 * serving its other device, and the upstream, once back, is not taken up
 * again while the client's map is missing from it. The next client is
 * served through it.
 */
static void test_upstream_dies(void **state)
{
	struct test_daemon up, mid;
	struct vfu_client *c = NULL;
	int fd = it_memfd(0x1000);
	uint32_t v = 0;
	int ret;

	(void)state;
	assert_int_equal(test_daemon_start(&up, 1), 0);
	assert_int_equal(test_daemon_prepare(&mid, 2), 0);
	snprintf(mid.spec[0], sizeof(mid.spec[0]), "passthrough,upstream=%s,socket=%s,id=pt",
		 up.socket[0], mid.socket[0]);
	assert_int_equal(test_daemon_launch(&mid), 0);
	assert_int_equal(vfu_client_connect(&c, mid.socket[0]), 0);
	assert_int_equal(vfu_client_negotiate(c, NULL), 0);
	assert_int_equal(vfu_client_dma_map(c, 0x100000, 0x1000, fd, 0, VFU_DMA_READ), 0);
	assert_int_equal(it_reg_read(c, TESTDEV_ID), TESTDEV_ID_VALUE);

	assert_int_equal(kill(up.pid, SIGKILL), 0);
	assert_int_equal(waitpid(up.pid, NULL, 0), up.pid);
	up.reaped = true;
	ret = read_id(c, &v);
	assert_true(ret == -ECONNRESET || ret == -EPIPE);
	assert_int_equal(read_id(c, &v), -ENOTCONN);
	assert_true(test_daemon_alive(&mid));
	assert_true(log_has(&mid, "upstream"));
	it_assert_serves_at(mid.socket[1]);

	/* Back, but this client's map is not there: it stays cut off. */
	assert_int_equal(test_daemon_launch(&up), 0);
	usleep(1100 * 1000); /* past the once-a-second reconnect limit */
	assert_int_equal(read_id(c, &v), -ENOTCONN);
	vfu_client_close(c);

	/* The next client is served through the upstream again. */
	assert_int_equal(vfu_client_connect(&c, mid.socket[0]), 0);
	assert_int_equal(vfu_client_negotiate(c, NULL), 0);
	for (int i = 0; i < 30; i++) {
		ret = read_id(c, &v);
		if (ret != -ENOTCONN)
			break;
		usleep(100 * 1000);
	}
	assert_int_equal(ret, 0);
	assert_int_equal(v, TESTDEV_ID_VALUE);
	assert_int_equal(vfu_client_dma_map(c, 0x100000, 0x1000, fd, 0, VFU_DMA_READ), 0);
	assert_int_equal(test_daemon_mapped_bytes(&up, IT_MEMFD_MAPS), 0x1000);
	vfu_client_close(c);
	close(fd);
	assert_true(log_has(&mid, "reconnected to upstream"));
	assert_int_equal(test_daemon_stop(&mid), 0);
	assert_int_equal(test_daemon_stop(&up), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_nothing_to_serve),
		cmocka_unit_test(test_others_served),
		cmocka_unit_test(test_upstream_dies),
	};

	return cmocka_run_group_tests_name("passthrough-errors", tests, NULL, NULL);
}
