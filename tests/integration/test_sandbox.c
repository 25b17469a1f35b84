// SPDX-License-Identifier: MIT
/*
 * --isolate: a device process that makes a forbidden system call dies by
 * SIGSYS and is reported and restarted; a crashed device process leaves the
 * other devices serving, their clients undisturbed; device processes hold
 * no capabilities, no_new_privs, a seccomp filter, only their own fds, and
 * with --user another uid; the supervisor stops them and removes sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "devices/testdev/testdev.h"
#include "pci/config.h"

#define RESTART_WAIT_MS 5000
#define NOBODY "65534"

static char logbuf[1 << 16];

static void start(struct test_daemon *d, unsigned ndev, bool isolate, const char *dev_opts,
		  const char *extra_arg)
{
	assert_int_equal(test_daemon_prepare(d, ndev), 0);
	d->isolate = isolate;
	d->dev_opts = dev_opts;
	d->extra_arg = extra_arg;
	assert_int_equal(test_daemon_launch(d), 0);
}

static const char *read_log(const struct test_daemon *d)
{
	int fd = open(d->log, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, logbuf, sizeof(logbuf) - 1);

	if (fd >= 0)
		close(fd);
	logbuf[n > 0 ? n : 0] = '\0';
	return logbuf;
}

/* The daemon's log has @needle within @ms. */
static bool log_wait(const struct test_daemon *d, const char *needle, int ms)
{
	for (int t = 0; t <= ms / 10; t++) {
		if (strstr(read_log(d), needle))
			return true;
		usleep(10 * 1000);
	}
	fprintf(stderr, "not in the daemon log: \"%s\"\n", needle);
	test_daemon_dump_log(d, "log_wait");
	return false;
}

/* The process of device @dev once it is not @old (a restart), within @ms; 0 if none. */
static pid_t wait_pid_change(const struct test_daemon *d, unsigned dev, pid_t old, int ms)
{
	for (int t = 0; t <= ms / 10; t++) {
		pid_t pid = test_daemon_device_pid(d, dev);

		if (pid && pid != old)
			return pid;
		usleep(10 * 1000);
	}
	return 0;
}

static struct vfu_client *connect_dev(const struct test_daemon *d, unsigned dev)
{
	struct vfu_client *c = NULL;
	int ret;

	assert_int_equal(vfu_client_connect(&c, d->socket[dev]), 0);
	vfu_client_set_timeout(c, 5000);
	ret = vfu_client_negotiate(c, NULL);
	if (ret) {
		vfu_client_close(c);
		test_daemon_dump_log(d, "negotiation failed");
		fail_msg("device %u: negotiation: %s", dev, strerror(-ret));
	}
	return c;
}

static void assert_serves(const struct test_daemon *d, unsigned dev)
{
	struct vfu_client *c = connect_dev(d, dev);

	assert_int_equal(it_reg_read(c, TESTDEV_ID), TESTDEV_ID_VALUE);
	vfu_client_close(c);
}

/* ---- the trigger works, and is refused in the sandbox ---- */

/* Without --isolate the self-test's socket() succeeds: the trigger is real. */
static void test_selftest_unsandboxed(void **state)
{
	struct test_daemon d;
	struct vfu_client *c;

	(void)state;
	start(&d, 1, false, "selftest=forbidden-syscall", NULL);
	c = connect_dev(&d, 0);
	it_reg_write(c, TESTDEV_SELFTEST, 1);
	assert_int_equal(it_reg_read(c, TESTDEV_SELFTEST), 0);
	vfu_client_close(c);
	assert_true(log_wait(&d, "self-test: socket(AF_INET) succeeded", 1000));
	assert_int_equal(test_daemon_stop(&d), 0);
}

static void test_forbidden_syscall(void **state)
{
	struct test_daemon d;
	struct vfu_client *c, *other;
	pid_t pid0, pid1, again;
	char line[160];
	uint32_t v = 1;

	(void)state;
	start(&d, 2, true, "selftest=forbidden-syscall", NULL);
	pid0 = test_daemon_device_pid(&d, 0);
	pid1 = test_daemon_device_pid(&d, 1);
	assert_true(pid0 > 0 && pid1 > 0 && pid0 != d.pid && pid1 != d.pid);
	other = connect_dev(&d, 1);
	c = connect_dev(&d, 0);
	/* The write never completes: the process dies inside socket(). */
	assert_int_not_equal(vfu_client_region_write(c, VFU_PCI_BAR0, TESTDEV_SELFTEST, &v, 4), 0);
	vfu_client_close(c);
	assert_true(log_wait(&d, "device td0: forbidden system call 41", 2000));
	snprintf(line, sizeof(line),
		 "device td0 (pid %d) killed by signal 31 (Bad system call): "
		 "forbidden system call socket; restarting it",
		 (int)pid0);
	assert_true(log_wait(&d, line, 2000));
	assert_null(strstr(read_log(&d), "self-test: socket(AF_INET) succeeded"));
	/* The other device and its client never noticed. */
	it_reg_write(other, TESTDEV_SCRATCH0, 0x5afe);
	assert_int_equal(it_reg_read(other, TESTDEV_SCRATCH0), 0x5afe);
	assert_int_equal(test_daemon_device_pid(&d, 1), pid1);
	/* Device 0 comes back, in a sandbox again. */
	again = wait_pid_change(&d, 0, pid0, RESTART_WAIT_MS);
	assert_true(again > 0);
	assert_true(log_wait(&d, "device td0: restarted (1 restart)", 1000));
	assert_serves(&d, 0);
	it_assert_proc_status(again, "Seccomp", "2");
	vfu_client_close(other);
	assert_true(test_daemon_alive(&d));
	assert_int_equal(test_daemon_stop(&d), 0);
}

/* ---- a crash ---- */

/* SIGTERM and wait for a clean exit, keeping the log; asserts. */
static void stop_keep_log(struct test_daemon *d)
{
	int status;

	assert_int_equal(kill(d->pid, SIGTERM), 0);
	assert_int_equal(waitpid(d->pid, &status, 0), d->pid);
	d->reaped = true;
	d->status = status;
	read_log(d);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("bad exit %#x; log:\n%s", status, logbuf);
	for (unsigned i = 0; i < d->ndev; i++)
		assert_int_equal(access(d->socket[i], F_OK), -1);
}

static void test_crash_leaves_others(void **state)
{
	struct test_daemon d;
	struct vfu_client *other;
	pid_t pid0, pid1, again;
	char line[128];

	(void)state;
	start(&d, 2, true, NULL, NULL);
	pid0 = test_daemon_device_pid(&d, 0);
	pid1 = test_daemon_device_pid(&d, 1);
	other = connect_dev(&d, 1);
	it_reg_write(other, TESTDEV_SCRATCH0, 0x1234);

	assert_int_equal(kill(pid0, SIGSEGV), 0);
	/* ASan turns the SEGV into an abort after its report; a plain build dies by SEGV. */
	snprintf(line, sizeof(line), "device td0 (pid %d) killed by signal", (int)pid0);
	assert_true(log_wait(&d, line, 5000));
	assert_non_null(strstr(read_log(&d), "restarting it in 250 ms"));
	/* Device 1's session goes on; after it, the next client is served. */
	assert_int_equal(it_reg_read(other, TESTDEV_SCRATCH0), 0x1234);
	vfu_client_close(other);
	assert_serves(&d, 1);
	assert_int_equal(test_daemon_device_pid(&d, 1), pid1);
	assert_true(log_wait(&d, "device td0: restarted (1 restart)", RESTART_WAIT_MS));
	again = wait_pid_change(&d, 0, pid0, 0);
	assert_true(again > 0);
	assert_serves(&d, 0);
	assert_true(test_daemon_alive(&d));

	/* Counters kept by the device processes, read by the supervisor at stop. */
	stop_keep_log(&d);
	assert_non_null(strstr(logbuf, "device td0: 1 session, "));
	assert_non_null(strstr(logbuf, "1 restart\n"));
	assert_non_null(strstr(logbuf, "device td1: 2 sessions, "));
	assert_int_equal(kill(again, 0), -1);
	assert_int_equal(kill(pid1, 0), -1);
	test_daemon_cleanup(&d);
}

/* @pid has died and waits to be reaped (a zombie), within 5 s. */
static void wait_zombie(pid_t pid)
{
	char path[64], line[128];
	bool zombie = false;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	for (int i = 0; i < 500 && !zombie; i++) {
		FILE *f = fopen(path, "r");

		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "State:", 6))
				zombie = strchr(line, 'Z') != NULL;
		if (f)
			fclose(f);
		if (!zombie)
			usleep(10 * 1000);
	}
	assert_true(zombie);
}

/*
 * A device process that died just before SIGTERM (both signals pending at
 * once) is a crash like any other: the stop is still clean (status 0), not
 * reported as a device that failed to stop.
 */
static void test_crash_then_sigterm(void **state)
{
	struct test_daemon d;
	pid_t pid0;

	(void)state;
	start(&d, 2, true, NULL, NULL);
	pid0 = test_daemon_device_pid(&d, 0);
	assert_int_equal(kill(d.pid, SIGSTOP), 0);
	assert_int_equal(kill(pid0, SIGKILL), 0);
	wait_zombie(pid0);
	assert_int_equal(kill(d.pid, SIGTERM), 0);
	assert_int_equal(kill(d.pid, SIGCONT), 0);
	stop_keep_log(&d);
	assert_non_null(strstr(logbuf, "device td0 (pid "));
	if (strstr(logbuf, "while stopping"))
		fail_msg("a crash before the stop reported as a failed stop:\n%s", logbuf);
	test_daemon_cleanup(&d);
}

/* ---- what a device process holds ---- */

/*
 * Every fd of @pid but 0-2 is one of the device's own kinds; two sockets
 * when idle: its listener and the supervisor's command socketpair.
 */
static void assert_own_fds(pid_t pid)
{
	static const char *const kinds[] = { "socket:", "anon_inode:[eventfd]",
					     "anon_inode:[eventpoll]", "/memfd:iomed-testdev-shm" };
	char path[64], target[256];
	unsigned sockets = 0;

	for (int fd = 3; fd < 1024; fd++) {
		bool known = false;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			known |= !strncmp(target, kinds[k], strlen(kinds[k]));
		if (!known)
			fail_msg("pid %d holds fd %d -> %s", (int)pid, fd, target);
		sockets += !strncmp(target, "socket:", 7);
	}
	assert_int_equal(sockets, 2);
}

static void assert_dropped(pid_t pid, bool other_user)
{
	static const char *const caps[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	char uid[64];

	for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		it_assert_proc_status(pid, caps[i], "0000000000000000");
	it_assert_proc_status(pid, "NoNewPrivs", "1");
	it_assert_proc_status(pid, "Seccomp", "2");
	if (other_user) {
		it_assert_proc_status(pid, "Uid", NOBODY "\t" NOBODY "\t" NOBODY "\t" NOBODY);
		it_assert_proc_status(pid, "Groups", NOBODY);
	} else {
		snprintf(uid, sizeof(uid), "%u\t%u\t%u\t%u", getuid(), getuid(), getuid(), getuid());
		it_assert_proc_status(pid, "Uid", uid);
	}
	assert_own_fds(pid);
}

/* A DMA map and an eventfd checked in /proc/self/fd: what the sandboxed user still may do. */
static void assert_serves_dma_irq(const struct test_daemon *d, unsigned dev)
{
	struct vfu_client *c = connect_dev(d, dev);
	int mfd = it_memfd(0x2000), efd = it_eventfd();
	uint8_t *mem = it_map(mfd, 0x2000);

	memset(mem, 0xab, 0x1000);
	assert_int_equal(vfu_client_dma_map(c, 0x100000, 0x2000, mfd, 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	assert_int_equal(vfu_client_set_irqs(c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_EVENTFD |
					     VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, &efd, 1, NULL, 0),
			 0);
	it_cfg_command(c, PCI_COMMAND_MASTER, true);
	it_reg_write(c, TESTDEV_DMA_SRC_LO, 0x100000);
	it_reg_write(c, TESTDEV_DMA_DST_LO, 0x101000);
	it_reg_write(c, TESTDEV_DMA_LEN, 0x1000);
	it_reg_write(c, TESTDEV_DMA_CMD, TESTDEV_DMA_CMD_START);
	assert_int_equal(it_reg_read(c, TESTDEV_DMA_STATUS), TESTDEV_DMA_STATUS_DONE);
	assert_int_equal(mem[0x1fff], 0xab);
	vfu_client_close(c);
	munmap(mem, 0x2000);
	close(mfd);
	close(efd);
}

static void check_privileges(const char *user_arg)
{
	bool root = !getuid();
	struct test_daemon d;
	char buf[128];

	start(&d, 2, true, NULL, user_arg);
	for (unsigned dev = 0; dev < 2; dev++) {
		pid_t pid = test_daemon_device_pid(&d, dev);

		assert_true(pid > 0);
		if (root)
			assert_dropped(pid, user_arg != NULL);
		else
			it_assert_proc_status(pid, "Seccomp", "2");
		assert_serves_dma_irq(&d, dev);
		/* Still the same process: nothing above was forbidden. */
		assert_int_equal(test_daemon_device_pid(&d, dev), pid);
	}
	/* The supervisor keeps what it needs to start device processes again. */
	it_assert_proc_status(d.pid, "Seccomp", "0");
	assert_int_equal(strtoul(it_proc_status(d.pid, "Uid", buf, sizeof(buf)), NULL, 10), getuid());
	assert_int_equal(test_daemon_stop(&d), 0);
}

static void test_privileges_dropped(void **state)
{
	(void)state;
	check_privileges(NULL);
}

static void test_privileges_user(void **state)
{
	(void)state;
	if (getuid())
		skip();
	check_privileges("--user=" NOBODY);
}

static void test_command_line(void **state)
{
	char out[4096];
	char *user_only[] = { (char *)test_daemon_binary(), "--user", NOBODY, "--device",
			      "testdev,socket=/nonexistent/x.sock", NULL };
	char *no_user[] = { (char *)test_daemon_binary(), "--isolate", "--user", "no-such-user",
			    "--device", "testdev,socket=/nonexistent/x.sock", NULL };
	char *bad_spec[] = { (char *)test_daemon_binary(), "--isolate", "--device",
			     "testdev,socket=/nonexistent/x.sock,frobnicate=1", NULL };

	(void)state;
	assert_int_equal(test_run(user_only, out, sizeof(out), 5000), 2);
	assert_non_null(strstr(out, "--user works with --isolate only"));
	assert_int_equal(test_run(no_user, out, sizeof(out), 5000), 2);
	assert_non_null(strstr(out, getuid() ? "--user no-such-user: switching users needs root"
					    : "--user no-such-user: no such user 'no-such-user'"));
	/* A bad specification is a bad configuration, found before any process starts. */
	assert_int_equal(test_run(bad_spec, out, sizeof(out), 5000), 3);
	assert_non_null(strstr(out, "unknown option 'frobnicate'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_unsandboxed),
		cmocka_unit_test(test_forbidden_syscall),
		cmocka_unit_test(test_crash_leaves_others),
		cmocka_unit_test(test_crash_then_sigterm),
		cmocka_unit_test(test_privileges_dropped),
		cmocka_unit_test(test_privileges_user),
		cmocka_unit_test(test_command_line),
	};

	return cmocka_run_group_tests_name("sandbox", tests, NULL, NULL);
}
