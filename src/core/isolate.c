// SPDX-License-Identifier: MIT
/*
 * The supervisor of --isolate (isolate.h). Starting a device process is a
 * short conversation on a socketpair: the process parses its --device and
 * creates the model, says which id and socket it got (the supervisor
 * refuses one used twice, as the daemon does without --isolate), binds the
 * socket, enters the sandbox and says it is ready. Only then does the next
 * one start, so every socket exists once the daemon says it serves.
 *
 * Each device has a page of memory shared with its process, mapped before
 * the first fork and unmapped by every other device process: its server's
 * counters, and the forbidden system call that killed it.
 */
#include "core/isolate.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/isolate_priv.h"
#include "core/log.h"
#include "core/sandbox.h"
#include "vfio-user/sock.h"

#define SPAWN_TIMEOUT_MS 10000  /* fork to ready, for one device */
#define STOP_TIMEOUT_MS 10000   /* SIGTERM to exit; then SIGKILL */
#define RESTART_MIN_MS 250      /* back-off after the first death, doubling... */
#define RESTART_MAX_MS 30000    /* ...up to this */
#define RESTART_STABLE_MS 60000 /* a process that lived this long starts the back-off over */

/* ---- starting one ---- */

/*
 * One message of exactly @len bytes before @deadline: 0, -ECONNRESET (the
 * process is gone), -EPROTO (anything else), -ETIMEDOUT.
 */
static int wait_msg(int sock, void *buf, size_t len, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		int64_t left = deadline - vfu_now_ms();
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = recv(sock, buf, len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return -ECONNRESET;
		return n == (ssize_t)len ? 0 : -EPROTO;
	}
}

static void describe_status(int status, const struct iso_dev *dev, char *buf, size_t len)
{
	int32_t nr = __atomic_load_n(&dev->shared->bad_syscall, __ATOMIC_RELAXED);
	int sig = WTERMSIG(status);
	char name[32];

	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (sig == SIGSYS && nr >= 0)
		snprintf(buf, len, "killed by signal %d (%s): forbidden system call %s", sig,
			 strsignal(sig), sandbox_syscall_name(nr, name, sizeof(name)));
	else
		snprintf(buf, len, "killed by signal %d (%s)%s", sig, strsignal(sig),
			 WCOREDUMP(status) ? ", core dumped" : "");
}

/* A device process that never said ready: its exit status says why. */
static int spawn_failed(struct iso_dev *dev, int why)
{
	char what[160];
	int status = 0;

	if (why == -ETIMEDOUT)
		pr_err("--device %s: not ready after %d ms; killing it", dev->spec, SPAWN_TIMEOUT_MS);
	/* Gone or told to go, it exits by itself; stuck or talking nonsense, it is killed. */
	if (why == -ETIMEDOUT || why == -EPROTO)
		kill(dev->pid, SIGKILL);
	while (waitpid(dev->pid, &status, 0) < 0 && errno == EINTR)
		;
	dev->pid = 0;
	if (why == -EINVAL || (WIFEXITED(status) && WEXITSTATUS(status) == 2))
		return -EINVAL;
	if (why != -ETIMEDOUT && !(WIFEXITED(status) && WEXITSTATUS(status) == 1)) {
		describe_status(status, dev, what, sizeof(what));
		pr_err("--device %s: device process %s during set-up", dev->spec, what);
	}
	return why == -ETIMEDOUT ? why : -EIO;
}

/* The id and socket a new device process got must be its own. */
static int check_hello(struct isolate *iso, struct iso_dev *dev, struct iso_hello *h)
{
	h->id[sizeof(h->id) - 1] = '\0';
	h->socket[sizeof(h->socket) - 1] = '\0';
	for (unsigned i = 0; i < iso->ndev; i++) {
		const struct iso_dev *o = iso->devs[i];

		if (o == dev || !o->id[0])
			continue;
		if (!strcmp(o->id, h->id)) {
			pr_err("--device %s: id '%s' is used twice", dev->spec, h->id);
			return -EINVAL;
		}
		if (!strcmp(o->socket, h->socket)) {
			pr_err("--device %s: socket %s is used twice", dev->spec, h->socket);
			return -EINVAL;
		}
	}
	memcpy(dev->id, h->id, sizeof(dev->id));
	memcpy(dev->socket, h->socket, sizeof(dev->socket));
	return 0;
}

static int spawn(struct isolate *iso, struct iso_dev *dev)
{
	int64_t deadline = vfu_now_ms() + SPAWN_TIMEOUT_MS;
	struct iso_hello hello;
	int sv[2], ret;
	int32_t verdict;
	char ready;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	dev->shared->bad_syscall = -1;
	fflush(NULL); /* or the child would write our buffered output again */
	dev->pid = fork();
	if (!dev->pid) {
		close(sv[0]);
		isolate_child_main(iso, dev, sv[1]);
	}
	ret = dev->pid < 0 ? -errno : 0;
	close(sv[1]);
	if (ret) {
		dev->pid = 0;
		close(sv[0]);
		return ret;
	}
	ret = wait_msg(sv[0], &hello, sizeof(hello), deadline);
	if (!ret) {
		verdict = check_hello(iso, dev, &hello);
		if (send(sv[0], &verdict, sizeof(verdict), MSG_NOSIGNAL) != sizeof(verdict))
			ret = -ECONNRESET;
		ret = verdict ? verdict : ret;
	}
	if (!ret)
		ret = wait_msg(sv[0], &ready, 1, deadline);
	if (!ret && ready != ISO_READY)
		ret = -EPROTO;
	close(sv[0]);
	if (ret)
		return spawn_failed(dev, ret);
	dev->listened = true;
	dev->started_ms = vfu_now_ms();
	pr_info("device %s: served by process %d, sandboxed", dev->id, (int)dev->pid);
	return 0;
}

static void free_dev(struct iso_dev *dev)
{
	if (!dev)
		return;
	if (dev->shared)
		munmap(dev->shared, sizeof(*dev->shared));
	free(dev->spec);
	free(dev);
}

int isolate_spawn_device(struct isolate *iso, const char *spec)
{
	struct iso_dev *dev = calloc(1, sizeof(*dev)), **devs;
	int ret;

	devs = realloc(iso->devs, (iso->ndev + 1) * sizeof(*devs));
	if (devs)
		iso->devs = devs;
	if (!dev || !devs || !(dev->spec = strdup(spec))) {
		free_dev(dev);
		return -ENOMEM;
	}
	dev->shared = mmap(NULL, sizeof(*dev->shared), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (dev->shared == MAP_FAILED) {
		dev->shared = NULL;
		free_dev(dev);
		return -ENOMEM;
	}
	dev->index = iso->ndev;
	iso->devs[iso->ndev++] = dev;
	ret = spawn(iso, dev);
	if (ret) {
		iso->ndev--;
		free_dev(dev);
	}
	return ret;
}

/* ---- watching them ---- */

static struct iso_dev *find_pid(struct isolate *iso, pid_t pid)
{
	for (unsigned i = 0; i < iso->ndev; i++)
		if (iso->devs[i]->pid == pid)
			return iso->devs[i];
	return NULL;
}

static unsigned backoff_ms(struct iso_dev *dev, int64_t now)
{
	unsigned ms = RESTART_MIN_MS;

	if (now - dev->started_ms >= RESTART_STABLE_MS)
		dev->failures = 0;
	for (unsigned i = 0; i < dev->failures && ms < RESTART_MAX_MS; i++)
		ms *= 2;
	dev->failures++;
	return ms < RESTART_MAX_MS ? ms : RESTART_MAX_MS;
}

static void on_exit_status(struct isolate *iso, struct iso_dev *dev, int status)
{
	int64_t now = vfu_now_ms();
	pid_t pid = dev->pid;
	char what[160];
	unsigned ms;

	dev->pid = 0;
	describe_status(status, dev, what, sizeof(what));
	if (iso->stopping) {
		if (WIFEXITED(status) && !WEXITSTATUS(status)) {
			pr_debug("device %s (pid %d) stopped", dev->id, (int)pid);
			return;
		}
		iso->unclean = true;
		pr_err("device %s (pid %d) %s while stopping", dev->id, (int)pid, what);
		return;
	}
	ms = backoff_ms(dev, now);
	dev->restart_at_ms = now + ms;
	pr_err("device %s (pid %d) %s; restarting it in %u ms", dev->id, (int)pid, what, ms);
}

static void reap(struct isolate *iso)
{
	struct iso_dev *dev;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if ((dev = find_pid(iso, pid)))
			on_exit_status(iso, dev, status);
}

static void restart_due(struct isolate *iso)
{
	int64_t now = vfu_now_ms();

	for (unsigned i = 0; i < iso->ndev; i++) {
		struct iso_dev *dev = iso->devs[i];
		unsigned ms;

		if (!dev->restart_at_ms || now < dev->restart_at_ms)
			continue;
		dev->restart_at_ms = 0;
		if (!spawn(iso, dev)) {
			dev->restarts++;
			pr_info("device %s: restarted (%u restart%s)", dev->id, dev->restarts,
				dev->restarts == 1 ? "" : "s");
			continue;
		}
		ms = backoff_ms(dev, now);
		dev->restart_at_ms = vfu_now_ms() + ms;
		pr_err("device %s: restart failed; trying again in %u ms", dev->id, ms);
	}
}

int isolate_fd(const struct isolate *iso)
{
	return iso->sigfd;
}

int isolate_timeout_ms(const struct isolate *iso)
{
	int64_t now = vfu_now_ms(), next = -1;

	for (unsigned i = 0; i < iso->ndev; i++) {
		int64_t at = iso->devs[i]->restart_at_ms;

		if (at && (next < 0 || at < next))
			next = at;
	}
	if (next < 0)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

/* SIGUSR2: every device's message counters, from the pages the device processes count in. */
static void dump_stats(const struct isolate *iso)
{
	char buf[512];

	for (unsigned i = 0; i < iso->ndev; i++)
		pr_info("device %s stats: %s", iso->devs[i]->id,
			vfu_stats_format(&iso->devs[i]->shared->stats, buf, sizeof(buf)));
}

/* The signals that came in: SIGINT or SIGTERM if one did. */
static int drain_signals(struct isolate *iso)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(iso->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
			stop = (int)si.ssi_signo;
		else if (si.ssi_signo == SIGUSR2)
			dump_stats(iso);
		else if (si.ssi_signo == SIGUSR1)
			pr_warn("SIGUSR1: device-side resets are not available with --isolate");
	}
	return stop;
}

int isolate_dispatch(struct isolate *iso)
{
	int stop = drain_signals(iso);

	reap(iso);
	if (!stop)
		restart_due(iso);
	return stop;
}

/* ---- the supervisor ---- */

int isolate_create(struct isolate **out, const char *user)
{
	struct isolate *iso = calloc(1, sizeof(*iso));
	char err[160];
	sigset_t set;
	int ret;

	if (!iso)
		return -ENOMEM;
	iso->sigfd = -1;
	iso->self = getpid();
	if (user && sandbox_lookup_user(user, &iso->user, err, sizeof(err))) {
		pr_err("%s", err);
		free(iso);
		return -EINVAL;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	iso->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (iso->sigfd < 0) {
		ret = -errno;
		pr_err("signalfd: %s", strerror(-ret));
		free(iso);
		return ret;
	}
	*out = iso;
	return 0;
}

static bool any_running(const struct isolate *iso)
{
	for (unsigned i = 0; i < iso->ndev; i++)
		if (iso->devs[i]->pid)
			return true;
	return false;
}

static void stop_all(struct isolate *iso)
{
	int64_t deadline = vfu_now_ms() + STOP_TIMEOUT_MS;

	iso->stopping = true;
	for (unsigned i = 0; i < iso->ndev; i++)
		if (iso->devs[i]->pid)
			kill(iso->devs[i]->pid, SIGTERM);
	while (any_running(iso) && vfu_now_ms() < deadline) {
		struct pollfd p = { .fd = iso->sigfd, .events = POLLIN };

		poll(&p, 1, (int)(deadline - vfu_now_ms()));
		drain_signals(iso);
		reap(iso);
	}
	for (unsigned i = 0; i < iso->ndev; i++) {
		struct iso_dev *dev = iso->devs[i];
		int status;

		if (!dev->pid)
			continue;
		pr_err("device %s (pid %d) still running %d ms after SIGTERM: killing it", dev->id,
		       (int)dev->pid, STOP_TIMEOUT_MS);
		kill(dev->pid, SIGKILL);
		while (waitpid(dev->pid, &status, 0) < 0 && errno == EINTR)
			;
		on_exit_status(iso, dev, status);
	}
}

static void log_stats(const struct isolate *iso, const struct iso_dev *dev)
{
	struct isolate_device_info info;
	uint64_t msgs = 0;

	if (isolate_device_info(iso, dev->id, &info))
		return;
	for (unsigned c = 0; c < VFU_CMD_MAX; c++)
		msgs += info.stats.msgs[c];
	pr_info("device %s: %llu session%s, %llu messages (%llu errors, %llu malformed), %u restart%s",
		dev->id, (unsigned long long)info.stats.sessions, info.stats.sessions == 1 ? "" : "s",
		(unsigned long long)msgs, (unsigned long long)info.stats.errors,
		(unsigned long long)info.stats.bad_msgs, info.restarts, info.restarts == 1 ? "" : "s");
}

/* The device processes cannot: they are sandboxed. */
static void remove_socket(const struct iso_dev *dev)
{
	struct stat st;

	if (dev->listened && !lstat(dev->socket, &st) && S_ISSOCK(st.st_mode))
		unlink(dev->socket);
}

int isolate_destroy(struct isolate *iso)
{
	bool unclean;

	if (!iso)
		return 0;
	stop_all(iso);
	for (unsigned i = 0; i < iso->ndev; i++) {
		log_stats(iso, iso->devs[i]);
		remove_socket(iso->devs[i]);
	}
	for (unsigned i = 0; i < iso->ndev; i++)
		free_dev(iso->devs[i]);
	unclean = iso->unclean;
	free(iso->devs);
	close(iso->sigfd);
	free(iso);
	return unclean ? -EIO : 0;
}

int isolate_device_info(const struct isolate *iso, const char *id,
			struct isolate_device_info *out)
{
	for (unsigned i = 0; i < iso->ndev; i++) {
		const struct iso_dev *dev = iso->devs[i];

		if (strcmp(dev->id, id))
			continue;
		out->pid = dev->pid;
		out->restarts = dev->restarts;
		/* Written by the device process as we read: a snapshot, word by word. */
		memcpy(&out->stats, (const void *)&dev->shared->stats, sizeof(out->stats));
		return 0;
	}
	return -ENOENT;
}

int isolate_run(const struct cli *cli)
{
	struct isolate *iso;
	int status = 0, sig = 0, ret;

	ret = isolate_create(&iso, cli->user);
	if (ret)
		return ret == -EINVAL ? 2 : 1;
	for (unsigned i = 0; i < cli->ndevices && !status; i++) {
		ret = isolate_spawn_device(iso, cli->device_specs[i]);
		if (ret)
			status = ret == -EINVAL ? 2 : 1;
	}
	if (!status)
		pr_info("serving %u device%s, each in a sandboxed process of its own", cli->ndevices,
			cli->ndevices == 1 ? "" : "s");
	while (!status && !sig) {
		struct pollfd p = { .fd = isolate_fd(iso), .events = POLLIN };

		if (poll(&p, 1, isolate_timeout_ms(iso)) < 0 && errno != EINTR) {
			pr_err("poll: %s", strerror(errno));
			status = 1;
		}
		sig = isolate_dispatch(iso);
	}
	if (sig)
		pr_info("%s: stopping", strsignal(sig));
	if (isolate_destroy(iso) && !status)
		status = 1;
	return status;
}
