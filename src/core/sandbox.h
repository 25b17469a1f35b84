/* SPDX-License-Identifier: MIT */
/*
 * What an isolated device process (core/isolate.c) gives up once its device
 * is set up: inherited fds, other users' identity, every capability, the
 * right to gain privileges again, and every system call a vfio-user server
 * does not make (a seccomp allow-list). docs/security.md, "Isolation", says
 * what each of them defends and why each allowed call is there.
 */
#ifndef IOMED_CORE_SANDBOX_H
#define IOMED_CORE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sandbox_user {
	bool set; /* false: keep the uid and gids the daemon runs with */
	uid_t uid;
	gid_t gid; /* the user's primary group, also its only supplementary one */
};

/*
 * System calls one device makes once it serves beyond those of every
 * vfio-user server (kernel VFIO passthrough: the ioctls of its DMA maps,
 * interrupts and reset, pread/pwrite on its device fd). Each is allowed on
 * the fd it names only.
 */
#define SANDBOX_MAX_IOCTLS 8
#define SANDBOX_MAX_RW_FDS 2
struct sandbox_extra {
	unsigned nioctl;
	struct {
		int fd;
		unsigned long request;
	} ioctl[SANDBOX_MAX_IOCTLS];
	unsigned nrw;
	int rw_fd[SANDBOX_MAX_RW_FDS]; /* pread64 and pwrite64 */
};

/* Add ioctl(@fd, @request) to @x; -ENOSPC when full. */
int sandbox_allow_ioctl(struct sandbox_extra *x, int fd, unsigned long request);
/* Add pread64/pwrite64 on @fd to @x; -ENOSPC when full. */
int sandbox_allow_rw(struct sandbox_extra *x, int fd);

/*
 * USER, a name or a number, to its uid and primary group. Needs root (only
 * root can switch users). -errno with a message in @err.
 */
int sandbox_lookup_user(const char *name, struct sandbox_user *out, char *err, size_t errlen);

/* Close every fd from 3 up but @keep (-1 none) and point stdin at /dev/null. */
int sandbox_close_inherited(int keep);

/*
 * Enter the sandbox, for good: no dumps and no ptrace by other processes of
 * the user, an empty capability bounding set (when we may empty it), the
 * user of @user, no capabilities, no_new_privs, then the seccomp filter
 * with the calls of @extra (may be NULL) allowed too. The parent-death
 * signal survives the user switch. A forbidden system call stores its
 * number in *@bad_syscall (if not NULL), writes a line naming @label to
 * stderr, and kills the process with SIGSYS. -errno, logged. Call it with
 * no other thread running: capabilities belong to each thread.
 */
int sandbox_enter(const struct sandbox_user *user, const char *label, int32_t *bad_syscall,
		  const struct sandbox_extra *extra);

/* The name of system call @nr of this architecture, in @buf (a number if unknown). */
const char *sandbox_syscall_name(int nr, char *buf, size_t len);

#endif
