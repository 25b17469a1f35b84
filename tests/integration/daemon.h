/* SPDX-License-Identifier: MIT */
/* Start and watch an iomed daemon from a test. */
#ifndef IOMED_TESTS_DAEMON_H
#define IOMED_TESTS_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct test_daemon {
	pid_t pid;
	unsigned ndev;
	bool reaped;        /* the process is gone; @status holds its wait status */
	int status;
	char dir[64];       /* private temp dir holding the sockets and the log */
	char socket[2][128];
	char log[128];
	/* Appended to each testdev's spec (",key=value..."); set between prepare and launch. */
	const char *dev_opts[2];
};

/* $IOMED, or build/iomed when unset. */
const char *test_daemon_binary(void);

/*
 * Start $IOMED serving @ndev testdevs (at most 2) on sockets in a new temp
 * dir; waits until every socket exists. 0 or -errno.
 */
int test_daemon_start(struct test_daemon *d, unsigned ndev);
/* The two halves of test_daemon_start: make the temp dir and names, then run. */
int test_daemon_prepare(struct test_daemon *d, unsigned ndev);
int test_daemon_launch(struct test_daemon *d);
/*
 * SIGTERM, wait, check it exited 0 and removed its sockets; -errno otherwise
 * (-EIO bad exit, -EEXIST a socket left behind). On failure the daemon's log
 * goes to stderr. The temp dir is removed either way.
 */
int test_daemon_stop(struct test_daemon *d);
/*
 * The same, but a daemon still running @ms after SIGTERM is killed and
 * -ETIMEDOUT returned (its log goes to stderr). @ms < 0 waits forever.
 */
int test_daemon_stop_within(struct test_daemon *d, int ms);
/* Remove the temp dir and what the harness put in it (for a daemon never launched). */
void test_daemon_cleanup(struct test_daemon *d);
/* Still running? Reaps (and remembers the status of) a daemon that died. */
bool test_daemon_alive(struct test_daemon *d);
/* Print the tail of the daemon's log to stderr, with @why as a heading. */
void test_daemon_dump_log(const struct test_daemon *d, const char *why);
/* Number of open fds of the daemon (/proc/PID/fd), -errno on error. */
int test_daemon_fd_count(const struct test_daemon *d);
/* The lowest fd number the daemon has free (what its next open would get), -errno on error. */
int test_daemon_lowest_free_fd(const struct test_daemon *d);
/* Poll the fd count until it equals @want or @ms pass; returns the last count. */
int test_daemon_wait_fds(const struct test_daemon *d, int want, int ms);
/* CPU time the daemon used so far, user + system, all threads (ms); -errno on error. */
long test_daemon_cpu_ms(const struct test_daemon *d);
/*
 * Bytes of the daemon's address space mapped from files whose path in
 * /proc/PID/maps starts with @prefix (a memfd shows as "/memfd:NAME");
 * -errno on error.
 */
int64_t test_daemon_mapped_bytes(const struct test_daemon *d, const char *prefix);

/*
 * Run @argv (argv[0] the binary) to completion with stdout and stderr going
 * to @out (NUL-terminated, truncated to @outlen). Returns the exit status, or
 * -ETIMEDOUT after killing a process still running after @timeout_ms, or
 * -ECHILD when it died by a signal, or another -errno.
 */
int test_run(char *const argv[], char *out, size_t outlen, int timeout_ms);

#endif
