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
#include "sock.h"
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
	struct vfu_fdset fds;
	int64_t started_ms;  /* session start: VERSION must come in time */
	int64_t msg_start_ms; /* first byte of the message being assembled */

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

/* Messages handled per wakeup, so a flooding client cannot starve stop. */
#define VFU_SESSION_BUDGET 64
/* Time a client has to negotiate, to finish a message, to take a reply. */
#define VFU_SESSION_TIMEOUT_MS 10000

/*
 * The session has waited too long for a client (no VERSION, or a message
 * left half sent): -ETIMEDOUT, else 0 and in *@next_ms the time left until
 * the next check is due (-1 none).
 */
int vfu_session_check_timeouts(struct vfu_session *s, int64_t now_ms, int *next_ms);

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

/*
 * Trace records of a message (record.c): what it asks before it runs,
 * what it read or how it failed after (@ret: vfu_dispatch's result).
 */
void vfu_record_request(struct trace *t, const struct vfu_request *req);
void vfu_record_reply(struct trace *t, const struct vfu_request *req,
		      const struct vfu_reply *rep, long ret);

#endif
