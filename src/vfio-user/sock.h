/* SPDX-License-Identifier: MIT */
/*
 * Socket plumbing both sides of the protocol share: sendmsg with fds and
 * partial writes, and recvmsg that collects the fds arriving with the data.
 * Sockets are non-blocking; waits are bounded by a deadline.
 */
#ifndef IOMED_VFIO_USER_SOCK_H
#define IOMED_VFIO_USER_SOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "wire.h"

#define VFU_SOCK_MAX_SEND_FDS 253 /* SCM_MAX_FD: hostile tests may exceed 16 */

/* Fds that came with one message. */
struct vfu_fdset {
	int fds[VFU_MAX_MSG_FDS];
	unsigned n;
	bool lost; /* more than VFU_MAX_MSG_FDS, or truncated ancillary data */
};

/* Close every fd still >= 0 and empty the set. */
void vfu_fdset_close(struct vfu_fdset *set);

/* CLOCK_MONOTONIC in milliseconds, for deadlines. */
int64_t vfu_now_ms(void);

/*
 * One recvmsg of at most @len bytes; fds that come along are added to @set
 * (the excess closed). Returns the byte count, 0 at EOF, or -errno
 * (-EAGAIN when nothing is there).
 */
ssize_t vfu_sock_recv(int sock, void *buf, size_t len, struct vfu_fdset *set);

/*
 * Send @cnt iovecs (advanced in place) with @nfds fds attached to the first
 * byte. On a full socket, waits for room until @deadline_ms (vfu_now_ms
 * time; negative: forever): -ETIMEDOUT then. *@started tells whether any
 * byte went out (the stream is then mid-message if the call failed).
 */
int vfu_sock_send(int sock, struct iovec *iov, int cnt, const int *fds, unsigned nfds,
		  int64_t deadline_ms, bool *started);

/*
 * Listen on a Unix stream socket at @path (non-blocking, close-on-exec,
 * the file's mode from the umask). An existing socket file nobody listens
 * on is stale and replaced; a live one gives -EADDRINUSE, any other file
 * -EEXIST, a path too long -ENAMETOOLONG. Returns the fd or -errno.
 */
int vfu_sock_listen(const char *path, int backlog);

#endif
