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
	bool isolate;       /* --isolate (IOMED_TEST_ISOLATE=1): pid is the supervisor */
	const char *dev_opts; /* more ",KEY=VALUE" options for every device, or NULL */
	const char *extra_arg; /* one more command-line argument, or NULL */
	bool reaped;        /* the process is gone; @status holds its wait status */
	int status;
	char dir[64];       /* private temp dir holding the sockets and the log */
	char socket[2][128];
	char log[128];
	/*
	 * Set between prepare and launch: spec[i] replaces device i's testdev
	 * spec (it must listen on socket[i]); with_control adds --control
	 * @control (a path in the temp dir); extra_args (NULL-terminated) go
	 * at the end of the command line, e.g. devices whose sockets are not
	 * waited for.
	 */
	char spec[2][320];
	bool with_control;
	char control[128];
	const char *const *extra_args;
};

/* $IOMED, or build/iomed when unset. */
const char *test_daemon_binary(void);
/* IOMED_TEST_ISOLATE=1: every daemon the tests start runs with --isolate. */
bool test_daemon_isolated(void);

/*
 * Start $IOMED serving @ndev testdevs (at most 2) on sockets in a new temp
 * dir; waits until every socket exists. 0 or -errno.
 */
int test_daemon_start(struct test_daemon *d, unsigned ndev);
/* The same with one testdev and a control socket (d->control). */
int test_daemon_start_with_control(struct test_daemon *d);
/*
 * The two halves of test_daemon_start: make the temp dir and names, then
 * run (set isolate, dev_opts, extra_arg in between).
 */
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
/*
 * The process serving device @dev: the daemon, or with --isolate the child
 * of the supervisor named iomed-td@dev; 0 if there is none right now.
 */
pid_t test_daemon_device_pid(const struct test_daemon *d, unsigned dev);
/*
 * The figures below are for the daemon's processes together: the daemon,
 * or the supervisor and its device processes.
 */
/* Number of open fds of the daemon (/proc/PID/fd), -errno on error. */
int test_daemon_fd_count(const struct test_daemon *d);
/* The lowest fd number device 0's process has free (what its next open would get), -errno on error. */
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
 * The message counters of device @id: SIGUSR2, then the "device ID stats:"
 * line the daemon logs for it, parsed into @msgs (per vfio-user command;
 * VFU_CMD_MAX entries). 0, or -ETIMEDOUT when no new line came within 2 s.
 */
int test_daemon_stats(struct test_daemon *d, const char *id, uint64_t *msgs);

/*
 * Run @argv (argv[0] the binary) to completion with stdout and stderr going
 * to @out (NUL-terminated, truncated to @outlen). Returns the exit status, or
 * -ETIMEDOUT after killing a process still running after @timeout_ms, or
 * -ECHILD when it died by a signal, or another -errno.
 */
int test_run(char *const argv[], char *out, size_t outlen, int timeout_ms);
/* test_run of @bin with the NULL-terminated @pre (may be NULL), then @args (at most 30 in all). */
int test_run_args(const char *bin, const char *const *pre, const char *const *args, char *out,
		  size_t outlen, int timeout_ms);
/* test_run_args of $IOMED (with --isolate when IOMED_TEST_ISOLATE=1) and @args. */
int test_run_iomed(const char *const *args, char *out, size_t outlen, int timeout_ms);
/* A Unix stream socket bound at @path, listening (backlog 4) if @listening; fd or -errno. */
int test_unix_socket(const char *path, bool listening);

#endif
