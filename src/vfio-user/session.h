/* SPDX-License-Identifier: MIT */
/*
 * One client connection: reassembles messages from a non-blocking stream
 * (a client that stops mid-message stalls nobody), collects the fds that
 * came with them, validates, dispatches and replies.
 */
#ifndef IOMED_VFIO_USER_SESSION_H
#define IOMED_VFIO_USER_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server.h"
#include "wire.h"

struct vfu_session {
	int fd;
	struct vfu_device *dev;
	struct vfu_stats *stats;
	bool negotiated;
	uint32_t max_data_xfer;

	/* Message being received. */
	struct vfu_hdr hdr;
	size_t hdr_got;
	uint8_t *body;
	size_t body_cap;
	size_t body_got;
	int fds[VFU_MAX_MSG_FDS];
	unsigned nfds;
	bool fds_lost; /* more fds than allowed, or truncated ancillary data */

	/* Reply scratch. */
	uint8_t *reply;
	size_t reply_cap;
};

int vfu_session_init(struct vfu_session *s, int fd, struct vfu_device *dev,
		     struct vfu_stats *stats);
/*
 * The socket is readable: take in what is there and handle every complete
 * message. Returns 0 to keep going, or a negative errno when the session
 * must end (peer closed, framing lost, reply could not be sent).
 */
int vfu_session_on_readable(struct vfu_session *s);
/* Ends the session: closes the socket and every fd it still holds. */
void vfu_session_fini(struct vfu_session *s);

/* Send one message (header built by the caller) with optional fds. */
int vfu_send_msg(int sock, const struct vfu_hdr *hdr, const void *payload, size_t len,
		 const int *fds, unsigned nfds);

/* Command handlers (dispatch.c): fill the reply payload, return its length or -errno. */
struct vfu_request {
	const struct vfu_hdr *hdr;
	const void *payload;
	size_t len;
	int *fds; /* a handler that keeps an fd sets its slot to -1 */
	unsigned nfds;
};
struct vfu_reply {
	void *buf;    /* room for payload */
	size_t cap;
	int fd;       /* at most one fd to send back, -1 none */
};
/* Bracket changes of the DMA/IRQ tables (see vfu_device_ops.quiesce). */
void vfu_device_quiesce(struct vfu_device *dev);
void vfu_device_resume(struct vfu_device *dev);
/* vfu_dma_unmap_cb that tells the device (@opaque) a DMA region goes away. */
void vfu_notify_dma_unmap(void *opaque, uint64_t addr, uint64_t size);
long vfu_dispatch(struct vfu_session *s, const struct vfu_request *req, struct vfu_reply *rep);

#endif
