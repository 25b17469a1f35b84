// SPDX-License-Identifier: MIT
#include "daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int test_daemon_start(struct test_daemon *d, unsigned ndev)
{
	const char *bin = getenv("IOMED") ? getenv("IOMED") : "build/iomed";
	char specs[2][200];
	char *argv[8];
	unsigned argc = 0;

	if (ndev < 1 || ndev > 2)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/iomed-it.XXXXXX");
	if (!mkdtemp(d->dir))
		return -errno;
	snprintf(d->log, sizeof(d->log), "%s/iomed.log", d->dir);
	argv[argc++] = (char *)bin;
	for (unsigned i = 0; i < ndev; i++) {
		snprintf(d->socket[i], sizeof(d->socket[i]), "%s/td%u.sock", d->dir, i);
		snprintf(specs[i], sizeof(specs[i]), "testdev,socket=%s,id=td%u", d->socket[i], i);
		argv[argc++] = "--device";
		argv[argc++] = specs[i];
	}
	argv[argc++] = "--log-level";
	argv[argc++] = "debug";
	argv[argc] = NULL;

	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (!d->pid) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd >= 0)
			dup2(fd, 2);
		execv(bin, argv);
		_exit(127);
	}
	for (int t = 0; t < 1000; t++) {
		bool all = true;

		for (unsigned i = 0; i < ndev; i++)
			if (access(d->socket[i], F_OK))
				all = false;
		if (all)
			return 0;
		if (!test_daemon_alive(d))
			return -ECHILD;
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

bool test_daemon_alive(const struct test_daemon *d)
{
	int status;

	return d->pid > 0 && waitpid(d->pid, &status, WNOHANG) == 0;
}

int test_daemon_stop(struct test_daemon *d)
{
	int status, ret = 0;

	if (d->pid <= 0)
		return -ESRCH;
	if (kill(d->pid, SIGTERM))
		return -errno;
	if (waitpid(d->pid, &status, 0) != d->pid)
		return -errno;
	d->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		ret = -EIO;
	for (unsigned i = 0; i < 2; i++)
		if (d->socket[i][0] && !access(d->socket[i], F_OK))
			ret = -EEXIST;
	unlink(d->log);
	rmdir(d->dir);
	return ret;
}

int test_daemon_fd_count(const struct test_daemon *d)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)d->pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
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
