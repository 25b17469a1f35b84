// SPDX-License-Identifier: MIT
/*
 * Spool: double-buffered record file with its own writer thread (see
 * spool.h for why it is built this way).
 */
#include "core/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

/* After the first record the writer lets a batch build up this long. */
#define SPOOL_BATCH_MS 20
#define SPOOL_TAIL_MAX 256

enum { WAIT_NONE, WAIT_DATA, WAIT_BATCH };

/* Every open spool, so that two never write the same file. */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct spool *open_spools;

void spool_init(struct spool *sp, const struct spool_format *fmt)
{
	pthread_condattr_t ca;

	memset(sp, 0, sizeof(*sp));
	sp->fmt = fmt;
	sp->fd = -1;
	sp->given_fd = -1;
	pthread_mutex_init(&sp->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sp->wake, &ca);
	pthread_condattr_destroy(&ca);
}

void spool_fini(struct spool *sp)
{
	spool_close(sp, NULL);
	if (sp->given_fd >= 0)
		close(sp->given_fd);
	pthread_cond_destroy(&sp->wake);
	pthread_mutex_destroy(&sp->lock);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void batch_wait(struct spool *sp)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += SPOOL_BATCH_MS * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	sp->waiting = WAIT_BATCH;
	pthread_cond_timedwait(&sp->wake, &sp->lock, &ts);
	sp->waiting = WAIT_NONE;
}

/* Called with the lock held; returns with it held. */
static void write_out(struct spool *sp)
{
	uint8_t *out = sp->buf[sp->fill];
	size_t n = sp->used;
	int ret;

	sp->fill ^= 1;
	sp->used = 0;
	pthread_mutex_unlock(&sp->lock);
	ret = sp->error ? 0 : write_all(sp->fd, out, n);
	pthread_mutex_lock(&sp->lock);
	if (ret) {
		sp->error = ret;
		pr_warn("trace/capture file: write failed: %s; later records are dropped",
			strerror(-ret));
	} else if (!sp->error) {
		sp->st.bytes += n;
	}
}

static void *writer(void *arg)
{
	struct spool *sp = arg;

	pthread_mutex_lock(&sp->lock);
	for (;;) {
		while (!sp->used && !sp->stop) {
			sp->waiting = WAIT_DATA;
			pthread_cond_wait(&sp->wake, &sp->lock);
			sp->waiting = WAIT_NONE;
		}
		if (!sp->used)
			break; /* stopping, and all written */
		if (!sp->stop && sp->used < sp->cap / 2)
			batch_wait(sp);
		write_out(sp);
	}
	pthread_mutex_unlock(&sp->lock);
	return NULL;
}

static void forget(struct spool *sp)
{
	pthread_mutex_lock(&open_lock);
	for (struct spool **pp = &open_spools; *pp; pp = &(*pp)->next_open) {
		if (*pp == sp) {
			*pp = sp->next_open;
			break;
		}
	}
	pthread_mutex_unlock(&open_lock);
}

static void release(struct spool *sp)
{
	forget(sp);
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
	free(sp->buf[0]);
	free(sp->buf[1]);
	sp->buf[0] = sp->buf[1] = NULL;
}

/*
 * Open @path for writing, but truncate it only if it is a regular file no
 * other spool writes (a typo must not clobber a device node or another
 * device's trace). Called with open_lock held.
 */
static int create_file(struct spool *sp, const char *path, int given)
{
	struct stat st;

	/* O_NONBLOCK: a FIFO without a reader fails instead of hanging the caller. */
	sp->fd = given >= 0 ? given
			    : open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
	if (sp->fd < 0)
		return -errno;
	if (fstat(sp->fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	for (struct spool *o = open_spools; o; o = o->next_open)
		if (o->dev == st.st_dev && o->ino == st.st_ino)
			return -EEXIST;
	if (given < 0 && ftruncate(sp->fd, 0))
		return -errno;
	sp->dev = st.st_dev;
	sp->ino = st.st_ino;
	return 0;
}

static int start(struct spool *sp, const char *path, int given, size_t cap, const void *head,
		 size_t head_len)
{
	int ret;

	pthread_mutex_lock(&open_lock);
	ret = create_file(sp, path, given);
	if (!ret) {
		sp->next_open = open_spools;
		open_spools = sp;
	}
	pthread_mutex_unlock(&open_lock);
	if (ret)
		return ret;
	sp->buf[0] = malloc(cap);
	sp->buf[1] = malloc(cap);
	if (!sp->buf[0] || !sp->buf[1])
		return -ENOMEM;
	ret = write_all(sp->fd, head, head_len);
	if (ret)
		return ret;
	sp->cap = cap;
	sp->used = 0;
	sp->fill = 0;
	sp->unmarked = 0;
	sp->error = 0;
	sp->stop = false;
	memset(&sp->st, 0, sizeof(sp->st));
	sp->st.bytes = head_len;
	ret = pthread_create(&sp->thread, NULL, writer, sp);
	return -ret;
}

int spool_open(struct spool *sp, const char *path, size_t cap, const void *head,
	       size_t head_len)
{
	int ret, given;

	pthread_mutex_lock(&sp->lock);
	given = sp->given_fd;
	sp->given_fd = -1;
	if (sp->open || sp->fd >= 0) {
		pthread_mutex_unlock(&sp->lock);
		if (given >= 0)
			close(given);
		return -EBUSY;
	}
	ret = start(sp, path, given, cap, head, head_len);
	if (ret)
		release(sp);
	else
		sp->open = true;
	pthread_mutex_unlock(&sp->lock);
	return ret;
}

void spool_give_fd(struct spool *sp, int fd)
{
	pthread_mutex_lock(&sp->lock);
	if (sp->given_fd >= 0)
		close(sp->given_fd);
	sp->given_fd = fd;
	pthread_mutex_unlock(&sp->lock);
}

void *spool_reserve(struct spool *sp, size_t len)
{
	size_t mark = sp->fmt->marker ? sp->fmt->marker_len : 0;
	uint8_t *at;

	pthread_mutex_lock(&sp->lock);
	if (!sp->open)
		goto drop;
	if (sp->unmarked)
		len += mark;
	if (len > sp->cap - sp->used) {
		sp->unmarked++;
		sp->st.lost++;
		goto drop;
	}
	at = sp->buf[sp->fill] + sp->used;
	sp->used += len;
	sp->st.records++;
	if (sp->unmarked && mark) {
		sp->fmt->marker(at, sp->unmarked);
		at += mark;
	}
	sp->unmarked = 0;
	return at;
drop:
	pthread_mutex_unlock(&sp->lock);
	return NULL;
}

void spool_commit(struct spool *sp)
{
	/* Wake the writer for the first record, or when a batch is half full. */
	if (sp->waiting == WAIT_DATA || (sp->waiting == WAIT_BATCH && sp->used >= sp->cap / 2)) {
		sp->waiting = WAIT_NONE;
		pthread_cond_signal(&sp->wake);
	}
	pthread_mutex_unlock(&sp->lock);
}

int spool_close(struct spool *sp, struct spool_stats *st)
{
	uint8_t tail[SPOOL_TAIL_MAX];
	size_t n = 0;
	int ret;

	pthread_mutex_lock(&sp->lock);
	if (!sp->open) {
		pthread_mutex_unlock(&sp->lock);
		return -ENOENT;
	}
	sp->open = false;
	sp->stop = true;
	pthread_cond_signal(&sp->wake);
	pthread_mutex_unlock(&sp->lock);
	pthread_join(sp->thread, NULL);

	/* The writer is gone: nobody else touches the spool now but close. */
	pthread_mutex_lock(&sp->lock);
	if (sp->fmt->tail)
		n = sp->fmt->tail(tail, sizeof(tail), &sp->st);
	ret = sp->error;
	if (!ret && n)
		ret = write_all(sp->fd, tail, n);
	if (!ret)
		sp->st.bytes += n;
	if (!ret && close(sp->fd))
		ret = -errno;
	else if (ret)
		close(sp->fd);
	sp->fd = -1;
	release(sp);
	if (st)
		*st = sp->st;
	pthread_mutex_unlock(&sp->lock);
	return ret;
}

bool spool_is_open(struct spool *sp)
{
	bool open;

	pthread_mutex_lock(&sp->lock);
	open = sp->open;
	pthread_mutex_unlock(&sp->lock);
	return open;
}

void spool_get_stats(struct spool *sp, struct spool_stats *st)
{
	pthread_mutex_lock(&sp->lock);
	*st = sp->st;
	pthread_mutex_unlock(&sp->lock);
}

const char *spool_strerror(int err)
{
	if (err == -EINVAL)
		return "not a regular file";
	if (err == -EEXIST)
		return "another trace or capture is writing this file";
	return strerror(-err);
}
