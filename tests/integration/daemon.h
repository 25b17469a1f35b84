/* SPDX-License-Identifier: MIT */
/* Start and watch an iomed daemon from a test. */
#ifndef IOMED_TESTS_DAEMON_H
#define IOMED_TESTS_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

struct test_daemon {
	pid_t pid;
	char dir[64];       /* private temp dir holding the sockets and the log */
	char socket[2][128];
	char log[128];
};

/*
 * Start $IOMED (default build/iomed) serving @ndev testdevs (at most 2) on
 * sockets in a new temp dir; waits until every socket exists. 0 or -errno.
 */
int test_daemon_start(struct test_daemon *d, unsigned ndev);
/* SIGTERM, wait, check it exited 0 and removed its sockets; -errno otherwise. */
int test_daemon_stop(struct test_daemon *d);
bool test_daemon_alive(const struct test_daemon *d);
/* Number of open fds of the daemon (/proc/PID/fd), -errno on error. */
int test_daemon_fd_count(const struct test_daemon *d);
/* Poll the fd count until it equals @want or @ms pass; returns the last count. */
int test_daemon_wait_fds(const struct test_daemon *d, int want, int ms);

#endif
