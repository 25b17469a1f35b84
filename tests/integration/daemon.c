// SPDX-License-Identifier: MIT
#include "daemon.h"

#include "vfio-user/wire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_TAIL 16384

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

const char *test_daemon_binary(void)
{
	const char *bin = getenv("IOMED");

	return bin && *bin ? bin : "build/iomed";
}

bool test_daemon_isolated(void)
{
	const char *v = getenv("IOMED_TEST_ISOLATE");

	return v && !strcmp(v, "1");
}

/*
 * A sanitizer report must end the daemon (so the tests see it die), not
 * scroll by in a log nobody reads. meson test sets these too; keep theirs.
 */
static void sanitizer_env(void)
{
	setenv("UBSAN_OPTIONS", "halt_on_error=1:abort_on_error=1:print_stacktrace=1", 0);
	setenv("ASAN_OPTIONS", "abort_on_error=1", 0);
}

int test_daemon_start_with_control(struct test_daemon *d)
{
	int ret = test_daemon_prepare(d, 1);

	if (ret)
		return ret;
	d->with_control = true;
	return test_daemon_launch(d);
}

int test_daemon_prepare(struct test_daemon *d, unsigned ndev)
{
	if (ndev < 1 || ndev > 2)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->ndev = ndev;
	d->isolate = test_daemon_isolated();
	snprintf(d->dir, sizeof(d->dir), "/tmp/iomed-it.XXXXXX");
	if (!mkdtemp(d->dir))
		return -errno;
	snprintf(d->log, sizeof(d->log), "%s/iomed.log", d->dir);
	snprintf(d->control, sizeof(d->control), "%s/ctl.sock", d->dir);
	for (unsigned i = 0; i < ndev; i++)
		snprintf(d->socket[i], sizeof(d->socket[i]), "%s/td%u.sock", d->dir, i);
	return 0;
}

/* The daemon said it serves: every device of its command line is set up (or left out). */
static bool says_serving(const struct test_daemon *d)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(d->log, "re");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "iomed info: serving ") != NULL;
	if (f)
		fclose(f);
	return found;
}

int test_daemon_launch(struct test_daemon *d)
{
	const char *bin = test_daemon_binary();
	char *argv[24];
	unsigned argc = 0;
	struct stat old[2];

	argv[argc++] = (char *)bin;
	if (d->isolate)
		argv[argc++] = "--isolate";
	if (d->extra_arg)
		argv[argc++] = (char *)d->extra_arg;
	for (unsigned i = 0; i < d->ndev; i++) {
		char spec[sizeof(d->spec[i])];

		/* built aside: gcc sees d->socket and d->spec in one object (-Wrestrict) */
		if (!d->spec[i][0]) {
			snprintf(spec, sizeof(spec), "testdev,socket=%s,id=td%u%s%s", d->socket[i], i,
				 d->dev_opts ? "," : "", d->dev_opts ? d->dev_opts : "");
			memcpy(d->spec[i], spec, sizeof(spec));
		}
		argv[argc++] = "--device";
		argv[argc++] = d->spec[i];
	}
	argv[argc++] = "--log-level";
	argv[argc++] = "debug";
	if (d->with_control) {
		argv[argc++] = "--control";
		argv[argc++] = d->control;
	}
	for (unsigned i = 0; d->extra_args && d->extra_args[i]; i++) {
		if (argc >= sizeof(argv) / sizeof(argv[0]) - 1)
			return -E2BIG;
		argv[argc++] = (char *)d->extra_args[i];
	}
	argv[argc] = NULL;

	/*
	 * A stale socket file may be there already: wait for a new one (the
	 * inode number may be reused, its change time is not).
	 */
	memset(old, 0, sizeof(old));
	for (unsigned i = 0; i < d->ndev && i < 2; i++) {
		struct stat st;

		if (!lstat(d->socket[i], &st))
			old[i] = st;
	}
	d->reaped = false;
	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (!d->pid) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* Never outlive the test, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sanitizer_env();
		execv(bin, argv);
		_exit(127);
	}
	for (int t = 0; t < 1000; t++) {
		bool all = true;

		for (unsigned i = 0; i < d->ndev; i++) {
			struct stat st;

			if (lstat(d->socket[i], &st) || (st.st_ino == old[i].st_ino &&
			    st.st_ctim.tv_sec == old[i].st_ctim.tv_sec &&
			    st.st_ctim.tv_nsec == old[i].st_ctim.tv_nsec))
				all = false;
		}
		if (d->with_control && access(d->control, F_OK))
			all = false;
		/* --isolate sets devices up one process after the other, past the first sockets. */
		if (all && says_serving(d))
			return 0;
		if (!test_daemon_alive(d)) {
			test_daemon_dump_log(d, "daemon died at start");
			return -ECHILD;
		}
		sleep_ms(10);
	}
	test_daemon_dump_log(d, "daemon sockets never appeared");
	return -ETIMEDOUT;
}

int test_daemon_start(struct test_daemon *d, unsigned ndev)
{
	int ret = test_daemon_prepare(d, ndev);

	return ret ? ret : test_daemon_launch(d);
}

bool test_daemon_alive(struct test_daemon *d)
{
	int status;

	if (d->pid <= 0 || d->reaped)
		return false;
	if (waitpid(d->pid, &status, WNOHANG) == 0)
		return true;
	d->reaped = true;
	d->status = status;
	return false;
}

void test_daemon_dump_log(const struct test_daemon *d, const char *why)
{
	static char buf[LOG_TAIL + 1];
	struct stat st;
	ssize_t n;
	int fd;

	fprintf(stderr, "---- %s: iomed log %s ----\n", why, d->log);
	if (d->reaped) {
		if (WIFSIGNALED(d->status))
			fprintf(stderr, "(daemon killed by signal %d)\n", WTERMSIG(d->status));
		else if (WIFEXITED(d->status))
			fprintf(stderr, "(daemon exited with status %d)\n", WEXITSTATUS(d->status));
	}
	fd = open(d->log, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "(cannot open the log: %s)\n", strerror(errno));
		return;
	}
	if (!fstat(fd, &st) && st.st_size > LOG_TAIL) {
		lseek(fd, st.st_size - LOG_TAIL, SEEK_SET);
		fprintf(stderr, "(last %d bytes)\n", LOG_TAIL);
	}
	n = read(fd, buf, LOG_TAIL);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		fputs(buf, stderr);
	}
	fprintf(stderr, "---- end of iomed log ----\n");
}

void test_daemon_cleanup(struct test_daemon *d)
{
	for (unsigned i = 0; i < 2; i++)
		if (d->socket[i][0])
			unlink(d->socket[i]);
	unlink(d->control);
	unlink(d->log);
	rmdir(d->dir);
}

int test_daemon_stop_within(struct test_daemon *d, int ms)
{
	int status, ret = 0;
	pid_t w;

	if (d->pid <= 0)
		return -ESRCH;
	if (!d->reaped) {
		if (kill(d->pid, SIGTERM))
			return -errno;
		for (int t = 0; (w = waitpid(d->pid, &status, ms < 0 ? 0 : WNOHANG)) == 0; t++) {
			if (t >= ms / 10) {
				test_daemon_dump_log(d, "still running after SIGTERM");
				kill(d->pid, SIGKILL);
				waitpid(d->pid, &status, 0);
				d->pid = 0;
				test_daemon_cleanup(d);
				return -ETIMEDOUT;
			}
			sleep_ms(10);
		}
		if (w != d->pid)
			return -errno;
		d->reaped = true;
		d->status = status;
	}
	if (!WIFEXITED(d->status) || WEXITSTATUS(d->status))
		ret = -EIO;
	for (unsigned i = 0; i < 2; i++)
		if (d->socket[i][0] && !access(d->socket[i], F_OK))
			ret = ret ? ret : -EEXIST;
	if (d->with_control && !access(d->control, F_OK))
		ret = ret ? ret : -EEXIST;
	if (ret)
		test_daemon_dump_log(d, ret == -EIO ? "bad exit on SIGTERM" : "socket left behind");
	d->pid = 0;
	test_daemon_cleanup(d);
	return ret;
}

int test_daemon_stop(struct test_daemon *d)
{
	return test_daemon_stop_within(d, -1);
}

/* Fields 4 (ppid), 14 and 15 (utime, stime) of /proc/PID/stat; -errno. */
static int proc_stat(pid_t pid, pid_t *ppid, unsigned long *utime, unsigned long *stime)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, pp;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* After "pid (comm)": state is field 3. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &pp, utime,
			 stime) != 3)
		return -EIO;
	*ppid = pp;
	return 0;
}

static pid_t proc_ppid(pid_t pid)
{
	unsigned long u, s;
	pid_t ppid;

	return proc_stat(pid, &ppid, &u, &s) ? -1 : ppid;
}

static bool proc_comm_is(pid_t pid, const char *want)
{
	char path[64], comm[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return false;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return !strcmp(comm, want);
}

/* The daemon, and with --isolate its device processes: their pids, at most @max. */
static int daemon_pids(const struct test_daemon *d, pid_t *pids, int max)
{
	struct dirent *e;
	int n = 0;
	DIR *dir;

	pids[n++] = d->pid;
	if (!d->isolate)
		return n;
	dir = opendir("/proc");
	if (!dir)
		return n;
	while ((e = readdir(dir)) && n < max) {
		pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);

		if (pid > 0 && proc_ppid(pid) == d->pid)
			pids[n++] = pid;
	}
	closedir(dir);
	return n;
}

pid_t test_daemon_device_pid(const struct test_daemon *d, unsigned dev)
{
	pid_t pids[16];
	char want[32];
	int n;

	if (!d->isolate)
		return d->pid;
	snprintf(want, sizeof(want), "iomed-td%u", dev);
	n = daemon_pids(d, pids, 16);
	for (int i = 1; i < n; i++)
		if (proc_comm_is(pids[i], want))
			return pids[i];
	return 0;
}

static int fd_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

int test_daemon_fd_count(const struct test_daemon *d)
{
	pid_t pids[16];
	int n = daemon_pids(d, pids, 16), total = 0;

	for (int i = 0; i < n; i++) {
		int c = fd_count(pids[i]);

		/* A device process may just have ended; the daemon may not. */
		if (c < 0 && !i)
			return c;
		total += c > 0 ? c : 0;
	}
	return total;
}

int test_daemon_lowest_free_fd(const struct test_daemon *d)
{
	static bool used[4096];
	char path[64];
	struct dirent *e;
	DIR *dir;
	int fd = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)test_daemon_device_pid(d, 0));
	dir = opendir(path);
	if (!dir)
		return -errno;
	memset(used, 0, sizeof(used));
	while ((e = readdir(dir))) {
		long n = strtol(e->d_name, NULL, 10);

		if (e->d_name[0] != '.' && n >= 0 && n < (long)sizeof(used))
			used[n] = true;
	}
	closedir(dir);
	while (fd < (int)sizeof(used) && used[fd])
		fd++;
	return fd < (int)sizeof(used) ? fd : -EMFILE;
}

int test_daemon_wait_fds(const struct test_daemon *d, int want, int ms)
{
	int n = test_daemon_fd_count(d);

	for (int t = 0; t < ms / 10 && n != want; t++) {
		sleep_ms(10);
		n = test_daemon_fd_count(d);
	}
	return n;
}

long test_daemon_cpu_ms(const struct test_daemon *d)
{
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long total = 0;
	pid_t pids[16];
	int n = daemon_pids(d, pids, 16);

	if (hz <= 0)
		return -EIO;
	for (int i = 0; i < n; i++) {
		unsigned long utime, stime;
		pid_t ppid;
		int ret = proc_stat(pids[i], &ppid, &utime, &stime);

		if (ret && !i)
			return ret;
		if (!ret)
			total += utime + stime;
	}
	return (long)(total * 1000 / (unsigned long)hz);
}

static int64_t mapped_bytes(pid_t pid, const char *prefix)
{
	char path[64], line[512];
	int64_t total = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		int name = 0;

		/* start-end perms offset dev inode   path */
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &start, &end, &name) == 2 && name &&
		    !strncmp(line + name, prefix, strlen(prefix)))
			total += (int64_t)(end - start);
	}
	fclose(f);
	return total;
}

int64_t test_daemon_mapped_bytes(const struct test_daemon *d, const char *prefix)
{
	pid_t pids[16];
	int n = daemon_pids(d, pids, 16);
	int64_t total = 0;

	for (int i = 0; i < n; i++) {
		int64_t b = mapped_bytes(pids[i], prefix);

		if (b < 0 && !i)
			return b;
		total += b > 0 ? b : 0;
	}
	return total;
}

int test_run(char *const argv[], char *out, size_t outlen, int timeout_ms)
{
	char path[] = "/tmp/iomed-run.XXXXXX";
	int fd, status, ret;
	ssize_t n;
	pid_t pid;

	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	unlink(path);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (!pid) {
		dup2(fd, 1);
		dup2(fd, 2);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sanitizer_env();
		execv(argv[0], argv);
		_exit(127);
	}
	ret = -ETIMEDOUT;
	for (int t = 0; t <= timeout_ms / 10; t++) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid) {
			ret = WIFEXITED(status) ? WEXITSTATUS(status) : -ECHILD;
			break;
		}
		sleep_ms(10);
	}
	if (ret == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	if (outlen) {
		n = pread(fd, out, outlen - 1, 0);
		out[n > 0 ? n : 0] = '\0';
	}
	close(fd);
	return ret;
}

/* How many "device ID stats:" lines the log holds; the last one into @last. */
static int stats_lines(const struct test_daemon *d, const char *id, char *last, size_t len)
{
	char key[96], line[1024];
	int n = 0;
	FILE *f;

	snprintf(key, sizeof(key), "device %s stats: ", id);
	f = fopen(d->log, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, key);

		if (!p)
			continue;
		n++;
		snprintf(last, len, "%s", p + strlen(key));
	}
	fclose(f);
	return n;
}

int test_daemon_stats(struct test_daemon *d, const char *id, uint64_t *msgs)
{
	char line[1024] = "", *tok, *save = NULL;
	int before = stats_lines(d, id, line, sizeof(line)), now = before;

	if (before < 0)
		return before;
	if (kill(d->pid, SIGUSR2))
		return -errno;
	for (int t = 0; t < 200 && now == before; t++) {
		sleep_ms(10);
		now = stats_lines(d, id, line, sizeof(line));
	}
	if (now <= before)
		return -ETIMEDOUT;
	memset(msgs, 0, sizeof(*msgs) * VFU_CMD_MAX);
	for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			continue;
		*eq = '\0';
		for (unsigned c = 0; c < VFU_CMD_MAX; c++)
			if (!strcmp(tok, vfu_cmd_name(c)))
				msgs[c] = strtoull(eq + 1, NULL, 10);
	}
	return 0;
}

int test_run_args(const char *bin, const char *const *pre, const char *const *args, char *out,
		  size_t outlen, int timeout_ms)
{
	char *argv[32];
	unsigned n = 0;

	argv[n++] = (char *)bin;
	for (; pre && *pre && n < 31; pre++)
		argv[n++] = (char *)*pre;
	for (; *args && n < 31; args++)
		argv[n++] = (char *)*args;
	if (*args)
		return -E2BIG;
	argv[n] = NULL;
	return test_run(argv, out, outlen, timeout_ms);
}

int test_run_iomed(const char *const *args, char *out, size_t outlen, int timeout_ms)
{
	static const char *const isolate[] = { "--isolate", NULL };

	return test_run_args(test_daemon_binary(), test_daemon_isolated() ? isolate : NULL, args,
			     out, outlen, timeout_ms);
}

int test_unix_socket(const char *path, bool listening)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || (listening && listen(fd, 4))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}
