// SPDX-License-Identifier: MIT
/*
 * Daemon lifecycle: clean stop on SIGTERM/SIGINT, sockets already in use or
 * stale, command line errors and their exit statuses (0 clean stop, 1
 * runtime error, 2 bad command line).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "devices/testdev/testdev.h"
#include "pci/config.h"

#define RUN_MS 5000

static char out[8192];

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in the output:\n%s", needle, hay);
}

/* Run iomed with @args (NULL-terminated), expect exit status @status. */
static void run_iomed(int status, const char *const *args)
{
	char *argv[16];
	unsigned n = 0;
	int ret;

	argv[n++] = (char *)test_daemon_binary();
	if (test_daemon_isolated())
		argv[n++] = "--isolate";
	for (; *args; args++) {
		assert_true(n < 15);
		argv[n++] = (char *)*args;
	}
	argv[n] = NULL;
	ret = test_run(argv, out, sizeof(out), RUN_MS);
	if (ret != status)
		fail_msg("iomed exited with %d, expected %d; output:\n%s", ret, status, out);
}

static void test_sigterm_clean(void **state)
{
	struct test_daemon d;
	struct vfu_client *c = NULL;
	int efd, mfd, status;

	(void)state;
	assert_int_equal(test_daemon_start(&d, 2), 0);
	it_assert_serves_at(d.socket[0]);
	it_assert_serves_at(d.socket[1]);
	assert_int_equal(test_daemon_stop(&d), 0);
	assert_int_equal(access(d.socket[0], F_OK), -1);

	/* With a client connected, holding maps and eventfds, another mid-message. */
	assert_int_equal(test_daemon_start(&d, 2), 0);
	assert_int_equal(vfu_client_connect(&c, d.socket[0]), 0);
	assert_int_equal(vfu_client_negotiate(c, NULL), 0);
	mfd = it_memfd(0x1000);
	efd = it_eventfd();
	assert_int_equal(vfu_client_dma_map(c, 0x100000, 0x1000, mfd, 0, VFU_DMA_READ), 0);
	assert_int_equal(vfu_client_set_irqs(c, VFU_PCI_ERR, VFU_IRQ_SET_DATA_EVENTFD |
					     VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, &efd, 1, NULL, 0),
			 0);
	{
		struct vfu_client *c2 = NULL;

		assert_int_equal(vfu_client_connect(&c2, d.socket[1]), 0);
		assert_int_equal(vfu_client_send_raw(c2, "\x01\x00\x01\x00\x40", 5, NULL, 0), 0);
		usleep(50 * 1000);
		assert_int_equal(test_daemon_stop(&d), 0);
		vfu_client_close(c2);
	}
	vfu_client_close(c);
	close(mfd);
	close(efd);

	/* SIGINT works the same. */
	assert_int_equal(test_daemon_start(&d, 1), 0);
	assert_int_equal(kill(d.pid, SIGINT), 0);
	assert_int_equal(waitpid(d.pid, &status, 0), d.pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(access(d.socket[0], F_OK), -1);
	test_daemon_cleanup(&d);
}

/* SIGUSR1 asks devices for a device-side reset: a testdev has none, and the daemon goes on. */
static void test_sigusr1_keeps_serving(void **state)
{
	struct test_daemon d;

	(void)state;
	assert_int_equal(test_daemon_start(&d, 1), 0);
	assert_int_equal(kill(d.pid, SIGUSR1), 0);
	assert_int_equal(kill(d.pid, SIGUSR1), 0);
	usleep(100 * 1000);
	assert_true(test_daemon_alive(&d));
	it_assert_serves_at(d.socket[0]);
	assert_int_equal(test_daemon_stop(&d), 0);
}

struct flood {
	struct vfu_client *c;
	atomic_bool stop;
	atomic_ulong sent;
};

#define FLOOD_BATCH 1024

/*
 * Posted writes starting a 1 MiB DMA copy each, a batch of them per send:
 * each costs the daemon far more than it costs us, so the daemon never
 * finds the socket empty. Until told to stop or cut off.
 */
static void *flood_thread(void *arg)
{
	static struct {
		struct vfu_hdr h;
		struct vfu_region_access a;
		uint32_t v;
	} __attribute__((packed)) batch[FLOOD_BATCH];
	struct flood *f = arg;

	for (unsigned i = 0; i < FLOOD_BATCH; i++) {
		batch[i].h = (struct vfu_hdr){ .msg_id = (uint16_t)i, .cmd = VFU_CMD_REGION_WRITE,
					       .msg_size = sizeof(batch[i]),
					       .flags = VFU_F_NO_REPLY };
		batch[i].a = (struct vfu_region_access){ .offset = TESTDEV_DMA_CMD,
							 .region = VFU_PCI_BAR0, .count = 4 };
		batch[i].v = TESTDEV_DMA_CMD_START;
	}
	while (!f->stop) {
		if (vfu_client_send_raw(f->c, batch, sizeof(batch), NULL, 0))
			break;
		f->sent += FLOOD_BATCH;
	}
	return NULL;
}

/*
 * A client floods the daemon with posted writes: the daemon still hears
 * SIGTERM between them (a bounded number of messages per wakeup) and exits
 * cleanly within 3 s.
 */
static void test_sigterm_while_flooded(void **state)
{
	/* Static: a failed assertion leaves the thread running until the socket dies. */
	static struct flood f;
	struct test_daemon d;
	pthread_t th;
	int64_t start;
	int mfd;

	(void)state;
	f.c = NULL;
	f.stop = false;
	f.sent = 0;
	assert_int_equal(test_daemon_start(&d, 1), 0);
	assert_int_equal(vfu_client_connect(&f.c, d.socket[0]), 0);
	assert_int_equal(vfu_client_negotiate(f.c, NULL), 0);
	/* The DMA engine set up to copy 1 MiB within a 2 MiB map. */
	mfd = it_memfd(2 * TESTDEV_DMA_MAX);
	assert_int_equal(vfu_client_dma_map(f.c, 0x100000, 2 * TESTDEV_DMA_MAX, mfd, 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	close(mfd);
	it_cfg_command(f.c, PCI_COMMAND_MASTER, true);
	it_reg_write(f.c, TESTDEV_DMA_SRC_LO, 0x100000);
	it_reg_write(f.c, TESTDEV_DMA_DST_LO, 0x100000 + TESTDEV_DMA_MAX);
	it_reg_write(f.c, TESTDEV_DMA_LEN, TESTDEV_DMA_MAX);
	assert_int_equal(pthread_create(&th, NULL, flood_thread, &f), 0);
	usleep(300 * 1000);
	/* Flooding for real: more is queued than the daemon can get through. */
	assert_true(f.sent >= 2 * FLOOD_BATCH);
	start = it_now_ms();
	assert_int_equal(test_daemon_stop_within(&d, 3000), 0);
	fprintf(stderr, "daemon stopped %lld ms after SIGTERM, %lu writes sent\n",
		(long long)(it_now_ms() - start), (unsigned long)f.sent);
	f.stop = true;
	pthread_join(th, NULL);
	vfu_client_close(f.c);
}

static void test_socket_in_use(void **state)
{
	struct test_daemon d;
	char spec[256];
	const char *args[] = { "--device", spec, NULL };

	(void)state;
	assert_int_equal(test_daemon_start(&d, 1), 0);
	snprintf(spec, sizeof(spec), "testdev,socket=%s,id=second", d.socket[0]);
	run_iomed(1, args);
	assert_contains(out, d.socket[0]);
	assert_contains(out, "another server is listening");
	/* The first daemon keeps its socket and serves. */
	assert_true(test_daemon_alive(&d));
	assert_int_equal(access(d.socket[0], F_OK), 0);
	it_assert_serves_at(d.socket[0]);
	assert_int_equal(test_daemon_stop(&d), 0);
}

static void make_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* the file stays, nobody listens */
}

static void test_stale_socket(void **state)
{
	struct test_daemon d;
	struct stat st;

	(void)state;
	assert_int_equal(test_daemon_prepare(&d, 2), 0);
	make_stale_socket(d.socket[0]);
	make_stale_socket(d.socket[1]);
	assert_int_equal(lstat(d.socket[0], &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(test_daemon_launch(&d), 0);
	it_assert_serves_at(d.socket[0]);
	it_assert_serves_at(d.socket[1]);
	assert_int_equal(test_daemon_stop(&d), 0);
}

/* A path holding something that is not a socket is not ours to replace. */
static void test_socket_path_not_socket(void **state)
{
	struct test_daemon d;
	char spec[256];
	const char *args[] = { "--device", spec, NULL };
	int fd;

	(void)state;
	assert_int_equal(test_daemon_prepare(&d, 1), 0);
	fd = open(d.socket[0], O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	snprintf(spec, sizeof(spec), "testdev,socket=%s", d.socket[0]);
	run_iomed(1, args);
	assert_contains(out, d.socket[0]);
	assert_int_equal(access(d.socket[0], F_OK), 0);
	/* A directory that does not exist. */
	snprintf(spec, sizeof(spec), "testdev,socket=%s/nodir/td.sock", d.dir);
	run_iomed(1, args);
	assert_contains(out, "nodir/td.sock");
	test_daemon_cleanup(&d);
}

static void test_bad_command_lines(void **state)
{
	struct test_daemon d;
	char sock[200], spec[256], spec2[256];

	(void)state;
	assert_int_equal(test_daemon_prepare(&d, 1), 0);
	snprintf(sock, sizeof(sock), "%s", d.socket[0]);

	snprintf(spec, sizeof(spec), "nosuchmodel,socket=%s", sock);
	run_iomed(2, (const char *[]){ "--device", spec, NULL });
	assert_contains(out, "unknown device model 'nosuchmodel'");

	run_iomed(2, (const char *[]){ "--bogus-option", NULL });
	assert_contains(out, "--bogus-option");

	snprintf(spec, sizeof(spec), "testdev,socket=%s,frobnicate=1", sock);
	run_iomed(2, (const char *[]){ "--device", spec, NULL });
	assert_contains(out, "frobnicate");

	run_iomed(2, (const char *[]){ "--device", "testdev,id=x", NULL });
	assert_contains(out, "socket=PATH is required");
	run_iomed(2, (const char *[]){ "--device", "testdev,socket=", NULL });
	assert_contains(out, "socket=PATH is required");

	run_iomed(2, (const char *[]){ NULL });
	assert_contains(out, "--device");
	run_iomed(2, (const char *[]){ "--device", NULL });
	assert_contains(out, "--device");
	run_iomed(2, (const char *[]){ "--device", "socket=/x", NULL });
	assert_contains(out, "socket=/x");
	run_iomed(2, (const char *[]){ "--log-level", "loud", "--device", spec, NULL });
	assert_contains(out, "loud");
	run_iomed(2, (const char *[]){ "--device", spec, "extra", NULL });
	assert_contains(out, "extra");

	/* Two devices on one socket, or with one id. */
	snprintf(spec, sizeof(spec), "testdev,socket=%s,id=a", sock);
	snprintf(spec2, sizeof(spec2), "testdev,socket=%s,id=b", sock);
	run_iomed(2, (const char *[]){ "--device", spec, "--device", spec2, NULL });
	assert_contains(out, "used twice");
	snprintf(spec2, sizeof(spec2), "testdev,socket=%s.2,id=a", sock);
	run_iomed(2, (const char *[]){ "--device", spec, "--device", spec2, NULL });
	assert_contains(out, "used twice");

	/* None of it left a socket behind. */
	assert_int_equal(access(sock, F_OK), -1);
	test_daemon_cleanup(&d);
}

static void test_help_version(void **state)
{
	(void)state;
	run_iomed(0, (const char *[]){ "--help", NULL });
	assert_contains(out, "Usage: iomed");
	assert_contains(out, "testdev");
	assert_contains(out, "iavf");
	assert_contains(out, "SIGUSR1");
	run_iomed(0, (const char *[]){ "-h", NULL });
	assert_contains(out, "Usage: iomed");
	run_iomed(0, (const char *[]){ "--version", NULL });
	assert_contains(out, "iomed ");
	run_iomed(0, (const char *[]){ "-V", NULL });
	assert_contains(out, "iomed ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigterm_clean),
		cmocka_unit_test(test_sigusr1_keeps_serving),
		cmocka_unit_test(test_sigterm_while_flooded),
		cmocka_unit_test(test_socket_in_use),
		cmocka_unit_test(test_stale_socket),
		cmocka_unit_test(test_socket_path_not_socket),
		cmocka_unit_test(test_bad_command_lines),
		cmocka_unit_test(test_help_version),
	};

	return cmocka_run_group_tests_name("daemon", tests, NULL, NULL);
}
