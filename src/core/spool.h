/* SPDX-License-Identifier: MIT */
/*
 * A spool: an append-only record file written by a thread of its own, so
 * that the threads producing records (a device's server thread, its
 * datapath poller) never wait for the disk.
 *
 * Producers copy a record into the fill buffer under a mutex held only for
 * that copy; the writer thread swaps the full buffer for the empty one and
 * writes it out with the mutex released. When the disk falls behind and
 * the fill buffer is full, a record is dropped and counted, never waited
 * for; the next record that fits is preceded by a marker saying how many
 * were lost (when the file format has one).
 *
 * Why a mutex and not a lock-free ring: there are at most two producers
 * per device (server thread, poller) and tracing is for experiments, so
 * the lock is uncontended and costs a few tens of nanoseconds; it keeps
 * records whole and in timestamp order (the stamp is taken under the lock)
 * and lets variable-sized records be copied in place. Nothing on the path
 * of an untraced device touches it.
 */
#ifndef IOMED_CORE_SPOOL_H
#define IOMED_CORE_SPOOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct spool_stats {
	uint64_t records; /* taken into the buffer */
	uint64_t lost;    /* dropped: the buffer was full */
	uint64_t bytes;   /* written to the file, header included */
};

/* What the file format adds around the records. Every member is optional. */
struct spool_format {
	/* Marker for @lost dropped records, exactly marker_len bytes at @buf. */
	size_t marker_len;
	void (*marker)(void *buf, uint64_t lost);
	/* Last bytes of the file, written at close (at most @room). */
	size_t (*tail)(void *buf, size_t room, const struct spool_stats *st);
};

struct spool {
	const struct spool_format *fmt;
	pthread_mutex_t lock;
	pthread_cond_t wake;  /* the writer waits here */
	pthread_t thread;
	int fd;
	int given_fd;         /* for the next open (spool_give_fd), -1 none */
	bool open;            /* records are taken */
	bool stop;            /* the writer drains and exits */
	int waiting;          /* what the writer waits for (spool.c) */
	uint8_t *buf[2];
	size_t cap;           /* bytes per buffer */
	size_t used;          /* bytes in buf[fill] */
	unsigned fill;
	uint64_t unmarked;    /* dropped since the last marker */
	struct spool_stats st;
	int error;            /* first write error, -errno */
	dev_t dev;            /* the file, while open */
	ino_t ino;
	struct spool *next_open;
};

void spool_init(struct spool *sp, const struct spool_format *fmt);
/* Closes the spool if it is open. */
void spool_fini(struct spool *sp);

/*
 * Create @path (mode 0600: it holds guest data; an existing regular file
 * is truncated), write @head to it and start the writer with two buffers
 * of @cap bytes. 0, -EBUSY when already open, -EINVAL when @path is not a
 * regular file, -EEXIST when another spool writes it, or -errno.
 */
int spool_open(struct spool *sp, const char *path, size_t cap, const void *head,
	       size_t head_len);
/*
 * The next spool_open writes to @fd, open for writing on its path and
 * already truncated, instead of opening the path (a process that may not
 * open files: its supervisor opened it). spool_open takes @fd over, also
 * when it fails.
 */
void spool_give_fd(struct spool *sp, int fd);
/*
 * Room for one record of @len bytes: on success the spool is locked until
 * spool_commit (fill the record in between, nothing else). NULL when the
 * spool is closed, or the record is dropped for want of room.
 */
void *spool_reserve(struct spool *sp, size_t len);
void spool_commit(struct spool *sp);
/*
 * Stop taking records, write out everything taken, then the format's
 * tail, and close the file. Returns the first write error (-errno) or 0;
 * -ENOENT if the spool was not open. @st (optional) gets the totals.
 */
int spool_close(struct spool *sp, struct spool_stats *st);
bool spool_is_open(struct spool *sp);
/* spool_open's errors said plainly. */
const char *spool_strerror(int err);
void spool_get_stats(struct spool *sp, struct spool_stats *st);

#endif
