// SPDX-License-Identifier: MIT
/*
 * The seccomp filter of --isolate, rule by rule: each case runs in a forked
 * child that enters the sandbox (without a user switch) and tries one call.
 * Refused calls must kill it by SIGSYS and leave their number in the report
 * word; quietly refused ones must fail with their errno; allowed ones work.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/sandbox.h"

static int32_t *report; /* MAP_SHARED: what the child's SIGSYS handler stored */

/* Run @fn in a sandboxed child; its wait status. */
static int run_sandboxed(int (*fn)(void))
{
	int status;
	pid_t pid;

	*report = -1;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		if (sandbox_enter(NULL, "unit test", report))
			_exit(100);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_trapped(int (*fn)(void), long nr)
{
	int status = run_sandboxed(fn);

	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fail_msg("expected death by SIGSYS, got wait status %#x", status);
	assert_int_equal(*report, nr);
}

static void assert_exits(int (*fn)(void), int code)
{
	int status = run_sandboxed(fn);

	if (!WIFEXITED(status))
		fail_msg("killed by signal %d (report %d)", WTERMSIG(status), *report);
	assert_int_equal(WEXITSTATUS(status), code);
}

/* ---- refused: the process dies ---- */

static int do_socket(void)
{
	return socket(AF_INET, SOCK_DGRAM, 0) >= 0 ? 0 : errno;
}

static int do_execve(void)
{
	char *argv[] = { "/bin/true", NULL };

	execve(argv[0], argv, argv + 1);
	return errno;
}

static int do_fork(void)
{
	pid_t pid = fork();

	if (!pid)
		_exit(0);
	return pid > 0 ? 0 : errno;
}

static int do_mmap_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? errno : 0;
}

static int do_mprotect_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return mprotect(p, 4096, PROT_READ | PROT_EXEC) ? errno : 0;
}

static int do_kill_parent(void)
{
	return kill(getppid(), 0) ? errno : 0;
}

static int do_sigaction_sigsys(void)
{
	return sigaction(SIGSYS, &(struct sigaction){ .sa_handler = SIG_IGN }, NULL) ? errno : 0;
}

static int do_ioctl_other(void)
{
	int on = 1;

	return ioctl(STDERR_FILENO, FIONBIO, &on) ? errno : 0;
}

static int do_eventfd(void)
{
	return eventfd(0, 0) >= 0 ? 0 : errno;
}

static void test_refused(void **state)
{
	(void)state;
	assert_trapped(do_socket, SYS_socket);
	assert_trapped(do_execve, SYS_execve);
	assert_trapped(do_fork, SYS_clone);
	assert_trapped(do_mmap_exec, SYS_mmap);
	assert_trapped(do_mprotect_exec, SYS_mprotect);
	assert_trapped(do_kill_parent, SYS_kill);
	assert_trapped(do_sigaction_sigsys, SYS_rt_sigaction);
	assert_trapped(do_ioctl_other, SYS_ioctl);
	/* New fds come from setup, not from a running device. */
	assert_trapped(do_eventfd, SYS_eventfd2);
}

/* ---- refused quietly ---- */

static int do_clone3(void)
{
	return syscall(SYS_clone3, NULL, 0) ? errno : 0;
}

static int do_unlink(void)
{
	return unlink("/nonexistent-iomed-unit") ? errno : 0;
}

static int do_open(void)
{
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	return fd < 0 ? errno : 0;
}

static void test_errno(void **state)
{
	(void)state;
	assert_exits(do_clone3, ENOSYS);
	assert_exits(do_unlink, EPERM);
#ifdef IOMED_SANITIZER_RUNTIME
	assert_exits(do_open, 0); /* the sanitizers' reports read files */
#else
	assert_exits(do_open, EACCES);
#endif
}

/* ---- allowed: what a device does ---- */

static int device_fds[2]; /* a socketpair made before the sandbox, like a client's socket */

static void *thread_fn(void *arg)
{
	uint64_t v = 7;

	(void)arg;
	return write(device_fds[1], &v, sizeof(v)) == sizeof(v) ? NULL : (void *)1;
}

/* A thread, a message on the socket, a read-only mapping, the eventfd check's readlink. */
static int do_device(void)
{
	char path[64], target[64];
	pthread_t th;
	void *ret;
	uint64_t v;
	void *p;

	if (pthread_create(&th, NULL, thread_fn, NULL) || pthread_join(th, &ret) || ret)
		return 1;
	if (read(device_fds[0], &v, sizeof(v)) != sizeof(v) || v != 7)
		return 2;
	p = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || munmap(p, 8192))
		return 3;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", device_fds[0]);
	if (readlink(path, target, sizeof(target)) <= 0)
		return 4;
	if (fcntl(device_fds[0], F_SETFL, fcntl(device_fds[0], F_GETFL) | O_NONBLOCK))
		return 5;
	return 0;
}

static void test_allowed(void **state)
{
	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, device_fds), 0);
	assert_exits(do_device, 0);
	close(device_fds[0]);
	close(device_fds[1]);
}

static void test_syscall_name(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(sandbox_syscall_name(SYS_socket, buf, sizeof(buf)), "socket");
	assert_string_equal(sandbox_syscall_name(99999, buf, sizeof(buf)), "#99999");
}

static int group_setup(void **state)
{
	(void)state;
	report = mmap(NULL, sizeof(*report), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	return report == MAP_FAILED ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	munmap(report, sizeof(*report));
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_errno),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_syscall_name),
	};

	return cmocka_run_group_tests_name("sandbox", tests, group_setup, group_teardown);
}
