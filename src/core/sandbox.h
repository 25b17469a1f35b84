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
 * USER, a name or a number, to its uid and primary group. Needs root (only
 * root can switch users). -errno with a message in @err.
 */
int sandbox_lookup_user(const char *name, struct sandbox_user *out, char *err, size_t errlen);

/* Close every fd from 3 up but @keep (-1 none) and point stdin at /dev/null. */
int sandbox_close_inherited(int keep);

/*
 * Enter the sandbox, for good: no dumps and no ptrace by other processes of
 * the user, an empty capability bounding set (when we may empty it), the
 * user of @user, no capabilities, no_new_privs, then the seccomp filter.
 * The parent-death signal survives the user switch. A forbidden system call
 * stores its number in *@bad_syscall (if not NULL), writes a line naming
 * @label to stderr, and kills the process with SIGSYS. -errno, logged.
 */
int sandbox_enter(const struct sandbox_user *user, const char *label, int32_t *bad_syscall);

/* The name of system call @nr of this architecture, in @buf (a number if unknown). */
const char *sandbox_syscall_name(int nr, char *buf, size_t len);

#endif
