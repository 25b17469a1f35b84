// SPDX-License-Identifier: MIT
/*
 * The seccomp allow-list of an isolated device process: the system calls a
 * vfio-user server and its device models make once set up, and nothing else
 * (docs/security.md, "Isolation", has the reasons line by line). Anything
 * else traps: the process logs the call and dies by SIGSYS, and its
 * supervisor reports it and starts a new one. A few calls that library code
 * makes and copes with failing are refused quietly with an errno instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "core/sandbox.h"

int sandbox_load_filter(pid_t self);

static const char *const allowed[] = {
	/* the client's socket: messages with fds, then the next client */
	"recvmsg", "sendmsg", "accept4",
	/* the fds the device holds: client eventfds, its own eventfds, the TAP */
	"read", "write", "readv", "writev", "preadv2", "close",
	/* waiting: epoll of the server and of the datapath poller, send deadlines, naps */
	"epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll", "nanosleep",
	"clock_nanosleep", "restart_syscall",
	/* json-c seeds its hash tables when it parses VERSION's capabilities */
	"getrandom",
	/* time, when the vDSO does not answer */
	"clock_gettime", "gettimeofday", "time",
	/* memory: malloc, thread stacks, DMA maps (mmap and mprotect below) */
	"brk", "munmap", "mremap", "madvise",
	/* DMA map fds must be memory-file-system files; IRQ fds must be eventfds */
	"fstat", "fstatfs", "readlink",
	/* threads (the virtio-net datapath) and their locks */
	"futex", "set_robust_list", "rseq", "sched_yield", "sched_getaffinity",
	"rt_sigprocmask", "rt_sigreturn", "gettid", "getpid", "getppid", "exit", "exit_group",
};

#ifdef IOMED_SANITIZER_RUNTIME
/*
 * Test builds (meson -Db_sanitize): what the ASan/LSan/UBSan runtime needs
 * for its reports and for the leak check at exit, which stops the world
 * from a clone()d tracer that ptrace()s every thread and reads /proc.
 */
static const char *const sanitizer_allowed[] = {
	"open", "openat", "lseek", "getdents", "newfstatat", "ptrace", "wait4", "prctl",
	"sigaltstack",
};
#endif

struct rule {
	const char *name;
	uint32_t action;
	unsigned nargs; /* 0 or 1: arg */
	struct scmp_arg_cmp arg; /* every field given: datum_b is 0 but for MASKED_EQ */
};

static int add(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned nargs,
	       const struct scmp_arg_cmp *arg)
{
	int nr = seccomp_syscall_resolve_name(name);

	/* A call this architecture does not have (open on arm64...) needs no rule. */
	if (nr == __NR_SCMP_ERROR || nr < 0)
		return 0;
	return seccomp_rule_add_array(ctx, action, nr, nargs, arg);
}

static int add_list(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++)
		ret = add(ctx, SCMP_ACT_ALLOW, names[i], 0, NULL);
	return ret;
}

/* Calls allowed with one argument condition, or refused with an errno. */
static int add_conditional(scmp_filter_ctx ctx, pid_t self)
{
	static const int fcntl_cmds[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_DUPFD_CLOEXEC };
	const struct rule rules[] = {
		/* memory may be mapped or made writable, never executable */
		{ .name = "mmap", .action = SCMP_ACT_ALLOW, .nargs = 1,
		  .arg = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0) },
		{ .name = "mprotect", .action = SCMP_ACT_ALLOW, .nargs = 1,
		  .arg = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0) },
		/* threads, not processes; glibc falls back from clone3, whose flags are out of reach */
		{ .name = "clone", .action = SCMP_ACT_ALLOW, .nargs = 1,
#ifdef IOMED_SANITIZER_RUNTIME
		  .arg = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_VM, CLONE_VM) },
#else
		  .arg = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD) },
#endif
		{ .name = "clone3", .action = SCMP_ACT_ERRNO(ENOSYS) },
		/* signals to ourselves only; the SIGSYS handler stays ours */
		{ .name = "kill", .action = SCMP_ACT_ALLOW, .nargs = 1,
		  .arg = SCMP_A0(SCMP_CMP_EQ, (uint64_t)self, 0) },
		{ .name = "tgkill", .action = SCMP_ACT_ALLOW, .nargs = 1,
		  .arg = SCMP_A0(SCMP_CMP_EQ, (uint64_t)self, 0) },
		{ .name = "rt_sigaction", .action = SCMP_ACT_ALLOW, .nargs = 1,
		  .arg = SCMP_A0(SCMP_CMP_NE, SIGSYS, 0) },
		/* the TAP port follows the offloads the guest driver negotiated */
		{ .name = "ioctl", .action = SCMP_ACT_ALLOW, .nargs = 1,
		  .arg = SCMP_A1(SCMP_CMP_EQ, TUNSETOFFLOAD, 0) },
#ifdef IOMED_SANITIZER_RUNTIME
		/* reports: isatty(stderr) picks their colours */
		{ .name = "ioctl", .action = SCMP_ACT_ALLOW, .nargs = 1,
		  .arg = SCMP_A1(SCMP_CMP_EQ, TCGETS, 0) },
#else
		/* fstat() is fstatat(fd, "", AT_EMPTY_PATH) in glibc */
		{ .name = "newfstatat", .action = SCMP_ACT_ALLOW, .nargs = 1,
		  .arg = SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH) },
		/* glibc opens files lazily (malloc reads overcommit_memory) and copes with failure */
		{ .name = "openat", .action = SCMP_ACT_ERRNO(EACCES) },
		{ .name = "open", .action = SCMP_ACT_ERRNO(EACCES) },
#endif
		/* the teardown removes the socket file: the supervisor does that */
		{ .name = "unlink", .action = SCMP_ACT_ERRNO(EPERM) },
		{ .name = "unlinkat", .action = SCMP_ACT_ERRNO(EPERM) },
	};
	int ret = 0;

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]) && !ret; i++)
		ret = add(ctx, rules[i].action, rules[i].name, rules[i].nargs, &rules[i].arg);
	for (size_t i = 0; i < sizeof(fcntl_cmds) / sizeof(fcntl_cmds[0]) && !ret; i++) {
		struct scmp_arg_cmp cmd = SCMP_A1(SCMP_CMP_EQ, (uint64_t)fcntl_cmds[i], 0);

		ret = add(ctx, SCMP_ACT_ALLOW, "fcntl", 1, &cmd);
	}
	return ret;
}

int sandbox_load_filter(pid_t self)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int ret;

	if (!ctx)
		return -ENOMEM;
	/* Another ABI's numbering (i386 int 0x80, x32) gets nowhere. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* Every thread, should the device have started one already. */
	if (!ret)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!ret)
		ret = add_list(ctx, allowed, sizeof(allowed) / sizeof(allowed[0]));
#ifdef IOMED_SANITIZER_RUNTIME
	if (!ret)
		ret = add_list(ctx, sanitizer_allowed,
			       sizeof(sanitizer_allowed) / sizeof(sanitizer_allowed[0]));
#endif
	if (!ret)
		ret = add_conditional(ctx, self);
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}

const char *sandbox_syscall_name(int nr, char *buf, size_t len)
{
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "#%d", nr);
	free(name);
	return buf;
}
