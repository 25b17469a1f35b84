/* SPDX-License-Identifier: MIT */
/*
 * --isolate: the daemon supervises one process per device. Each process
 * sets its device up with the daemon's privileges, enters the sandbox
 * (core/sandbox.h) and serves; the supervisor reports a device process that
 * dies and starts a new one after a back-off, while the others go on.
 */
#ifndef IOMED_CORE_ISOLATE_H
#define IOMED_CORE_ISOLATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/cli.h"
#include "vfio-user/server.h"

struct isolate;

/* daemon_run with --isolate: same exit status (0 clean stop, 1 runtime error, 2 bad spec). */
int isolate_run(const struct cli *cli);

/*
 * The supervisor: blocks SIGINT, SIGTERM and SIGCHLD (they arrive through
 * isolate_fd). @user: --user, or NULL. -errno, logged (-EINVAL: bad user).
 * Device processes are forked from the calling thread: keep other threads
 * away from locks a child would need (malloc and stdio are fork-safe).
 */
int isolate_create(struct isolate **out, const char *user);
/*
 * Start a process serving the device of @spec and wait until it listens
 * inside its sandbox. 0, -EINVAL for a bad specification (logged by the
 * device process or here), or another -errno (logged).
 */
int isolate_spawn_device(struct isolate *iso, const char *spec);
/* Poll this fd (readable: call isolate_dispatch), at most isolate_timeout_ms (-1: no limit). */
int isolate_fd(const struct isolate *iso);
int isolate_timeout_ms(const struct isolate *iso);
/*
 * Reap and report dead device processes, restart the ones whose back-off
 * ran out. Returns SIGINT or SIGTERM when one of them came in, else 0.
 */
int isolate_dispatch(struct isolate *iso);
/*
 * SIGTERM every device process, wait for them (SIGKILL after a while),
 * remove their sockets, free. 0, or -EIO when one did not stop cleanly.
 */
int isolate_destroy(struct isolate *iso);

struct isolate_device_info {
	pid_t pid;         /* 0: dead, waiting for its restart */
	unsigned restarts; /* processes started after the first */
	/*
	 * The counters of the device's server, kept by its process in memory
	 * shared with the supervisor, across restarts. The process may be
	 * hostile: they are numbers to show, nothing to trust.
	 */
	struct vfu_stats stats;
};

/* A snapshot of device @id. 0 or -ENOENT. */
int isolate_device_info(const struct isolate *iso, const char *id,
			struct isolate_device_info *out);

#endif
