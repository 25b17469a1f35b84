// SPDX-License-Identifier: MIT
/*
 * Privilege drop of an isolated device process (sandbox.h). The order is
 * forced: the bounding set can only shrink while CAP_SETPCAP is effective,
 * so before the user switch; the switch clears the parent-death signal and
 * resets the dumpable flag, so both are set after it; the seccomp filter
 * comes last because it forbids every call made before it.
 */
#include "core/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/log.h"

int sandbox_load_filter(pid_t self); /* sandbox_filter.c */

/* What sandbox_enter's steps need. */
struct enter {
	const struct sandbox_user *user;
	const char *label;
	int32_t *bad_syscall;
	int pdeath;
};

int sandbox_lookup_user(const char *name, struct sandbox_user *out, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(name);
	unsigned long n;
	char *end;

	if (geteuid() != 0) {
		snprintf(err, errlen, "--user needs root (iomed runs as uid %u)", (unsigned)geteuid());
		return -EPERM;
	}
	memset(out, 0, sizeof(*out));
	out->set = true;
	if (pw) {
		out->uid = pw->pw_uid;
		out->gid = pw->pw_gid;
		return 0;
	}
	/* A bare uid, for containers without a passwd entry: its group is the same number. */
	errno = 0;
	n = strtoul(name, &end, 10);
	if (!*name || *end || errno || n >= UINT32_MAX) {
		snprintf(err, errlen, "--user %s: no such user", name);
		return -EINVAL;
	}
	pw = getpwuid((uid_t)n);
	out->uid = (uid_t)n;
	out->gid = pw ? pw->pw_gid : (gid_t)n;
	return 0;
}

int sandbox_close_inherited(int keep)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), ret = 0;

	if (null < 0)
		return -errno;
	if (null != 0) {
		if (dup2(null, 0) < 0)
			ret = -errno;
		close(null);
	}
	if (ret)
		return ret;
	if (keep > 3 && close_range(3, (unsigned)keep - 1, 0))
		return -errno;
	if (close_range(keep >= 3 ? (unsigned)keep + 1 : 3, ~0U, 0))
		return -errno;
	return 0;
}

/* ---- capabilities ---- */

static int caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return syscall(SYS_capget, &hdr, data) ? -errno : 0;
}

static bool cap_effective(unsigned cap)
{
	struct __user_cap_data_struct data[2];

	return !caps_get(data) && (data[cap / 32].effective & (1u << (cap % 32)));
}

/*
 * Without CAP_SETPCAP the set cannot shrink; then nothing in it can be
 * gained back either, as no_new_privs keeps execve from granting any.
 */
static int drop_bounding_set(struct enter *e)
{
	bool may = cap_effective(CAP_SETPCAP);

	(void)e;

	for (unsigned long cap = 0;; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (in < 0)
			return 0; /* past the last capability this kernel knows */
		if (!in)
			continue;
		if (!may) {
			pr_debug("capability bounding set kept: no CAP_SETPCAP");
			return 0;
		}
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			return -errno;
	}
}

static int drop_caps(struct enter *e)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	(void)e;
	memset(data, 0, sizeof(data));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -errno;
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

static int switch_user(struct enter *e)
{
	const struct sandbox_user *u = e->user;

	if (!u || !u->set)
		return 0;
	if (setgroups(1, &u->gid) || setresgid(u->gid, u->gid, u->gid) ||
	    setresuid(u->uid, u->uid, u->uid))
		return -errno;
	return 0;
}

/* ---- forbidden system calls ---- */

static char sigsys_label[96];
static int32_t *sigsys_report;

static size_t append(char *buf, size_t n, size_t cap, const char *s)
{
	while (*s && n < cap)
		buf[n++] = *s++;
	return n;
}

/* Async-signal-safe: no stdio, no allocation. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char line[192], num[12];
	unsigned v = (unsigned)si->si_syscall;
	size_t n = 0, d = sizeof(num);

	(void)uc;
	if (sigsys_report)
		__atomic_store_n(sigsys_report, si->si_syscall, __ATOMIC_RELAXED);
	num[--d] = '\0';
	do {
		num[--d] = (char)('0' + v % 10);
		v /= 10;
	} while (v && d);
	n = append(line, n, sizeof(line) - 1, "iomed error: ");
	n = append(line, n, sizeof(line) - 1, sigsys_label);
	n = append(line, n, sizeof(line) - 1, ": forbidden system call ");
	n = append(line, n, sizeof(line) - 1, num + d);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		n = 0;
	/* SA_RESETHAND made SIGSYS fatal: it is delivered once we return. */
	raise(sig);
}

static int install_sigsys(struct enter *e)
{
	struct sigaction sa;

	snprintf(sigsys_label, sizeof(sigsys_label), "%s", e->label);
	sigsys_report = e->bad_syscall;
	if (sigsys_report)
		*sigsys_report = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) ? -errno : 0;
}

/* ---- all of it, in order ---- */

static int get_pdeath(struct enter *e)
{
	return prctl(PR_GET_PDEATHSIG, &e->pdeath, 0, 0, 0) ? -errno : 0;
}

static int set_flags(struct enter *e)
{
	if (prctl(PR_SET_PDEATHSIG, e->pdeath, 0, 0, 0) || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return 0;
}

static int load_filter(struct enter *e)
{
	(void)e;
	return sandbox_load_filter(getpid());
}

int sandbox_enter(const struct sandbox_user *user, const char *label, int32_t *bad_syscall)
{
	static const struct {
		const char *what;
		int (*run)(struct enter *e);
	} steps[] = {
		{ "reading the parent-death signal", get_pdeath },
		{ "emptying the capability bounding set", drop_bounding_set },
		{ "switching user", switch_user },
		{ "dropping capabilities", drop_caps },
		{ "setting no_new_privs, not dumpable", set_flags },
		{ "installing the SIGSYS handler", install_sigsys },
		{ "loading the seccomp filter", load_filter },
	};
	struct enter e = { .user = user, .label = label, .bad_syscall = bad_syscall };

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int ret = steps[i].run(&e);

		if (ret) {
			pr_err("%s: cannot enter the sandbox: %s: %s", label, steps[i].what,
			       strerror(-ret));
			return ret;
		}
	}
	return 0;
}
