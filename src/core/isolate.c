// SPDX-License-Identifier: MIT
/*
 * The supervisor of --isolate (isolate.h). Starting a device process is a
 * short conversation on a socketpair: the process sets its device up as a
 * thread of the daemon would (devtab_setup: model, socket), enters the
 * sandbox and says how it went. Only then does the caller go on, so the
 * socket exists once a device is added. The socketpair stays open: the
 * supervisor's commands go over it (isolate_cmd.c).
 *
 * Each device has memory shared with its process, mapped before the fork
 * and unmapped by every other device process: its counters, and the
 * forbidden system call that killed it.
 */
#include "core/isolate.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/counter.h"
#include "core/devtab_priv.h"
#include "core/isolate_priv.h"
#include "core/log.h"
#include "vfio-user/sock.h"

#define SPAWN_TIMEOUT_MS 10000  /* fork to ready, for one device */
#define STOP_TIMEOUT_MS 10000   /* SIGTERM to exit; then SIGKILL */
#define RESTART_MIN_MS 250      /* back-off after the first death, doubling... */
#define RESTART_MAX_MS 30000    /* ...up to this */
#define RESTART_STABLE_MS 60000 /* a process that lived this long starts the back-off over */

/* ---- starting one ---- */

int iso_wait_msg(int sock, void *buf, size_t len, int64_t deadline)
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

static void wait_exit(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/* A device process that never said ready: what it said instead, or how it ended. */
static int spawn_failed(struct iso_dev *dev, int why, struct iso_result *r, struct devtab_error *e)
{
	char what[160];
	int status = 0;

	/* Gone or failed, it exits by itself; stuck or talking nonsense, it is killed. */
	if (why == -ETIMEDOUT || why == -EPROTO)
		kill(dev->pid, SIGKILL);
	wait_exit(dev->pid, &status);
	dev->pid = 0;
	if (!why) { /* it said why */
		r->key[sizeof(r->key) - 1] = r->msg[sizeof(r->msg) - 1] = '\0';
		snprintf(e->key, sizeof(e->key), "%s", r->key);
		snprintf(e->msg, sizeof(e->msg), "%s", r->msg);
		e->backend = r->backend;
		return r->ret < 0 ? r->ret : -EIO;
	}
	e->key[0] = '\0';
	if (why == -ETIMEDOUT) {
		snprintf(e->msg, sizeof(e->msg), "device process not ready after %d ms",
			 SPAWN_TIMEOUT_MS);
		return why;
	}
	describe_status(status, dev, what, sizeof(what));
	snprintf(e->msg, sizeof(e->msg), "device process %s during set-up", what);
	return -EIO;
}

static int spawn(struct iso_dev *dev, struct devtab_error *e)
{
	int64_t deadline = vfu_now_ms() + SPAWN_TIMEOUT_MS;
	struct iso_result r;
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		snprintf(e->msg, sizeof(e->msg), "socketpair: %s", strerror(-ret));
		return ret;
	}
	dev->shared->bad_syscall = -1;
	fflush(NULL); /* or the child would write our buffered output again */
	dev->pid = fork();
	if (!dev->pid) {
		close(sv[0]);
		isolate_child_main(dev, sv[1]);
	}
	ret = dev->pid < 0 ? -errno : 0;
	close(sv[1]);
	if (ret) {
		dev->pid = 0;
		close(sv[0]);
		snprintf(e->msg, sizeof(e->msg), "fork: %s", strerror(-ret));
		return ret;
	}
	ret = iso_wait_msg(sv[0], &r, sizeof(r), deadline);
	if (ret || r.ret) {
		close(sv[0]);
		return spawn_failed(dev, ret, &r, e);
	}
	dev->sock = sv[0];
	dev->listened = true;
	dev->started_ms = vfu_now_ms();
	pr_info("device %s: served by process %d, sandboxed", dev->d->dev.id, (int)dev->pid);
	return 0;
}

static void free_dev(struct iso_dev *dev)
{
	if (dev->shared)
		munmap(dev->shared, dev->shared_size);
	free(dev);
}

/* The shared counters: a whole number of pages, zeroed. */
static int map_shared(struct iso_dev *dev)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = sizeof(*dev->shared) + dev->d->dev.model->stats_size;

	dev->shared_size = (size + page - 1) / page * page;
	dev->shared = mmap(NULL, dev->shared_size, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (dev->shared != MAP_FAILED)
		return 0;
	dev->shared = NULL;
	return -ENOMEM;
}

static void forget(struct isolate *iso, struct iso_dev *dev)
{
	for (unsigned i = 0; i < iso->ndev; i++) {
		if (iso->devs[i] != dev)
			continue;
		memmove(&iso->devs[i], &iso->devs[i + 1], (iso->ndev - i - 1) * sizeof(dev));
		iso->ndev--;
		break;
	}
	dev->d->iso = NULL;
	dev->d->vfu_stats = NULL;
	dev->d->model_stats = NULL;
	free_dev(dev);
}

int isolate_start(struct isolate *iso, struct devtab_entry *d, struct devtab_error *e)
{
	struct iso_dev *dev = calloc(1, sizeof(*dev)), **devs;
	int ret;

	devs = realloc(iso->devs, (iso->ndev + 1) * sizeof(*devs));
	if (devs)
		iso->devs = devs;
	if (!dev || !devs) {
		free(dev);
		snprintf(e->msg, sizeof(e->msg), "out of memory");
		return -ENOMEM;
	}
	dev->iso = iso;
	dev->d = d;
	dev->sock = -1;
	if (map_shared(dev)) {
		free_dev(dev);
		snprintf(e->msg, sizeof(e->msg), "out of memory");
		return -ENOMEM;
	}
	d->iso = dev;
	d->vfu_stats = &dev->shared->stats;
	d->model_stats = d->dev.model->stats_size ? dev->shared->model_stats : NULL;
	iso->devs[iso->ndev++] = dev;
	ret = spawn(dev, e);
	if (ret)
		forget(iso, dev);
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

/* @dev's process ended with @status; @stopping: we asked it to; @restart: start another. */
static void on_exit_status(struct iso_dev *dev, int status, bool stopping, bool restart)
{
	int64_t now = vfu_now_ms();
	const char *id = dev->d->dev.id;
	pid_t pid = dev->pid;
	char what[160];
	unsigned ms;

	dev->pid = 0;
	if (dev->sock >= 0)
		close(dev->sock);
	dev->sock = -1;
	/* It may have died with a client: nobody is connected now. */
	counter_set(&dev->shared->stats.connected, 0);
	describe_status(status, dev, what, sizeof(what));
	if (stopping) {
		if (WIFEXITED(status) && !WEXITSTATUS(status)) {
			pr_debug("device %s (pid %d) stopped", id, (int)pid);
			return;
		}
		dev->iso->unclean = true;
		pr_err("device %s (pid %d) %s while stopping", id, (int)pid, what);
		return;
	}
	if (!restart) {
		pr_err("device %s (pid %d) %s", id, (int)pid, what);
		return;
	}
	ms = backoff_ms(dev, now);
	dev->restart_at_ms = now + ms;
	pr_err("device %s (pid %d) %s; restarting it in %u ms", id, (int)pid, what, ms);
}

void isolate_reap(struct isolate *iso)
{
	struct iso_dev *dev;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if ((dev = find_pid(iso, pid)))
			on_exit_status(dev, status, iso->stopping, !iso->stopping);
}

void isolate_restart_due(struct isolate *iso)
{
	int64_t now = vfu_now_ms();

	for (unsigned i = 0; i < iso->ndev && !iso->stopping; i++) {
		struct iso_dev *dev = iso->devs[i];
		struct devtab_error e = { .msg = "" };
		unsigned ms;

		if (!dev->restart_at_ms || now < dev->restart_at_ms)
			continue;
		dev->restart_at_ms = 0;
		if (!spawn(dev, &e)) {
			dev->restarts++;
			pr_info("device %s: restarted (%u restart%s)", dev->d->dev.id, dev->restarts,
				dev->restarts == 1 ? "" : "s");
			continue;
		}
		ms = backoff_ms(dev, now);
		dev->restart_at_ms = vfu_now_ms() + ms;
		pr_err("device %s: restart failed: %s; trying again in %u ms", dev->d->dev.id, e.msg,
		       ms);
	}
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

/* ---- stopping them ---- */

static void nap_ms(int ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };

	nanosleep(&ts, NULL);
}

static bool any_running(const struct isolate *iso)
{
	for (unsigned i = 0; i < iso->ndev; i++)
		if (iso->devs[i]->pid)
			return true;
	return false;
}

/* Those still running STOP_TIMEOUT_MS after SIGTERM get SIGKILL. */
static void kill_stragglers(struct isolate *iso)
{
	for (unsigned i = 0; i < iso->ndev; i++) {
		struct iso_dev *dev = iso->devs[i];
		int status = 0;

		if (!dev->pid)
			continue;
		pr_err("device %s (pid %d) still running %d ms after SIGTERM: killing it",
		       dev->d->dev.id, (int)dev->pid, STOP_TIMEOUT_MS);
		kill(dev->pid, SIGKILL);
		wait_exit(dev->pid, &status);
		on_exit_status(dev, status, true, false);
	}
}

/*
 * A process dead before we ask it to stop (its SIGCHLD not read yet)
 * crashed: reported as such, not as a stop that failed. True if it had.
 */
static bool reap_crashed(struct iso_dev *dev)
{
	int status;

	if (!dev->pid || waitpid(dev->pid, &status, WNOHANG) <= 0)
		return false;
	on_exit_status(dev, status, false, false);
	return true;
}

void isolate_stop_all(struct isolate *iso)
{
	int64_t deadline = vfu_now_ms() + STOP_TIMEOUT_MS;

	for (unsigned i = 0; i < iso->ndev; i++)
		reap_crashed(iso->devs[i]);
	iso->stopping = true;
	for (unsigned i = 0; i < iso->ndev; i++) {
		iso->devs[i]->restart_at_ms = 0;
		if (iso->devs[i]->pid)
			kill(iso->devs[i]->pid, SIGTERM);
	}
	while (any_running(iso) && vfu_now_ms() < deadline) {
		isolate_reap(iso);
		if (any_running(iso))
			nap_ms(5);
	}
	kill_stragglers(iso);
}

static void stop_one(struct iso_dev *dev)
{
	int64_t deadline = vfu_now_ms() + STOP_TIMEOUT_MS;
	int status = 0;
	pid_t got = 0;

	if (reap_crashed(dev))
		return;
	kill(dev->pid, SIGTERM);
	while (vfu_now_ms() < deadline) {
		got = waitpid(dev->pid, &status, WNOHANG);
		if (got)
			break;
		nap_ms(5);
	}
	if (got > 0) {
		on_exit_status(dev, status, true, false);
		return;
	}
	if (got == 0) {
		pr_err("device %s (pid %d) still running %d ms after SIGTERM: killing it",
		       dev->d->dev.id, (int)dev->pid, STOP_TIMEOUT_MS);
		kill(dev->pid, SIGKILL);
	}
	wait_exit(dev->pid, &status);
	on_exit_status(dev, status, true, false);
}

static void log_stats(const struct iso_dev *dev)
{
	const struct vfu_stats *st = &dev->shared->stats;
	uint64_t msgs = 0, sessions = counter_get(&st->sessions);

	for (unsigned c = 0; c < VFU_CMD_MAX; c++)
		msgs += counter_get(&st->msgs[c]);
	pr_info("device %s: %llu session%s, %llu messages (%llu errors, %llu malformed), %u restart%s",
		dev->d->dev.id, (unsigned long long)sessions, sessions == 1 ? "" : "s",
		(unsigned long long)msgs, (unsigned long long)counter_get(&st->errors),
		(unsigned long long)counter_get(&st->bad_msgs), dev->restarts,
		dev->restarts == 1 ? "" : "s");
}

/* The device process cannot: it is sandboxed. */
static void remove_socket(const struct iso_dev *dev)
{
	struct stat st;

	if (dev->listened && !lstat(dev->d->socket, &st) && S_ISSOCK(st.st_mode))
		unlink(dev->d->socket);
}

void isolate_stop(struct devtab_entry *d)
{
	struct iso_dev *dev = d->iso;

	if (!dev)
		return;
	dev->restart_at_ms = 0;
	if (dev->pid)
		stop_one(dev);
	log_stats(dev);
	remove_socket(dev);
	forget(dev->iso, dev);
}

/* ---- the supervisor ---- */

int isolate_create(struct isolate **out, const char *user, char *err, size_t errlen)
{
	struct isolate *iso = calloc(1, sizeof(*iso));
	int ret;

	if (!iso) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	iso->self = getpid();
	if (user) {
		ret = sandbox_lookup_user(user, &iso->user, err, errlen);
		if (ret) {
			free(iso);
			return ret;
		}
	}
	*out = iso;
	return 0;
}

int isolate_destroy(struct isolate *iso)
{
	bool unclean;

	if (!iso)
		return 0;
	while (iso->ndev)
		isolate_stop(iso->devs[iso->ndev - 1]->d);
	unclean = iso->unclean;
	free(iso->devs);
	free(iso);
	return unclean ? -EIO : 0;
}
