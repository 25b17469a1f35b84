/* SPDX-License-Identifier: MIT */
/*
 * vfio-user client: the other side of the protocol. Used by the integration
 * tests, the benchmarks and the passthrough-to-vfio-user backend.
 *
 * One client is one connection; calls are synchronous and not thread-safe.
 * Every request/reply exchange is bounded by the client's timeout, so a dead
 * server returns -ETIMEDOUT instead of hanging (a late reply to a timed-out
 * request is recognised by its msg_id and skipped). A message cut in the
 * middle leaves the stream unusable: every later call returns -EPIPE.
 * Server-initiated DMA_READ/DMA_WRITE arriving while a reply is awaited are
 * answered from memory registered with vfu_client_dma_map_local(), with an
 * ERROR reply (EFAULT) otherwise. Errors are negative errno values; an ERROR
 * reply from the server returns -error_no.
 *
 * Fds passed in (DMA map, eventfds) stay owned by the caller. Fds handed out
 * (region fd) are owned by the caller and released with
 * vfu_client_region_release().
 */
#ifndef IOMED_VFIO_USER_CLIENT_H
#define IOMED_VFIO_USER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define VFU_CLIENT_TIMEOUT_MS 5000

struct vfu_client;

/* What the server's VERSION reply granted (protocol defaults when absent). */
struct vfu_client_caps {
	uint16_t major;
	uint16_t minor;
	uint32_t max_msg_fds;
	uint32_t max_data_xfer_size; /* never above what this client accepts */
	uint64_t pgsizes;
	uint32_t max_dma_maps;
	bool write_multiple;
};

/* One mmappable area of a region, relative to the region's start. */
struct vfu_client_area {
	uint64_t offset;
	uint64_t size;
	void *map; /* set by vfu_client_region_mmap(), NULL otherwise */
};

struct vfu_client_region {
	struct vfu_region_info info; /* as last received */
	int fd;                      /* -1 when the reply carried none */
	bool sparse;                 /* areas came from a sparse-mmap cap */
	unsigned nr_areas;           /* whole region as one area if MMAP w/o cap */
	struct vfu_client_area *areas;
};

/* The capabilities JSON QEMU 11.1 proposes; negotiate() sends it by default. */
extern const char vfu_client_default_caps[];

/* Connection. */
int vfu_client_connect(struct vfu_client **out, const char *path);
/* Takes ownership of @fd (a connected AF_UNIX stream socket), sets O_NONBLOCK. */
int vfu_client_from_fd(struct vfu_client **out, int fd);
void vfu_client_close(struct vfu_client *c);
/* Per-call timeout in ms; negative waits forever. */
void vfu_client_set_timeout(struct vfu_client *c, int ms);
int vfu_client_fd(const struct vfu_client *c);
const struct vfu_client_caps *vfu_client_caps(const struct vfu_client *c);

/* VERSION exchange; @caps_json NULL sends vfu_client_default_caps. */
int vfu_client_negotiate(struct vfu_client *c, const char *caps_json);

/* DMA. @fd -1 for none; it is not consumed. */
int vfu_client_dma_map(struct vfu_client *c, uint64_t addr, uint64_t size, int fd,
		       uint64_t offset, uint32_t prot);
/* Same, and serve server DMA_READ/WRITE of [addr, addr+size) from @local. */
int vfu_client_dma_map_local(struct vfu_client *c, uint64_t addr, uint64_t size, int fd,
			     uint64_t offset, uint32_t prot, void *local);
/*
 * @flags VFU_DMA_UNMAP_ALL (with addr = size = 0) drops every mapping. The
 * local memory of the range is no longer served, even when the server
 * refuses the unmap.
 */
int vfu_client_dma_unmap(struct vfu_client *c, uint64_t addr, uint64_t size, uint32_t flags);

/* Device, region and IRQ info. */
int vfu_client_get_device_info(struct vfu_client *c, struct vfu_device_info *out);
int vfu_client_get_region_info(struct vfu_client *c, uint32_t index,
			       struct vfu_client_region *out);
/* mmap every area of @r (needs r->fd); all or nothing. */
int vfu_client_region_mmap(struct vfu_client_region *r, int prot);
void vfu_client_region_munmap(struct vfu_client_region *r);
/* Local pointer for [offset, offset+len) of a mapped region, or NULL. */
void *vfu_client_region_ptr(const struct vfu_client_region *r, uint64_t offset, uint64_t len);
/* munmap, close the fd, free the areas. Safe on a zeroed or released struct. */
void vfu_client_region_release(struct vfu_client_region *r);

int vfu_client_get_irq_info(struct vfu_client *c, uint32_t index, struct vfu_irq_info *out);
int vfu_client_set_irqs(struct vfu_client *c, uint32_t index, uint32_t flags, uint32_t start,
			uint32_t count, const int *fds, unsigned nfds, const void *data,
			size_t len);

/* Region access, split into max_data_xfer_size chunks. */
int vfu_client_region_read(struct vfu_client *c, uint32_t region, uint64_t offset, void *buf,
			   size_t len);
int vfu_client_region_write(struct vfu_client *c, uint32_t region, uint64_t offset,
			    const void *buf, size_t len);
/* NO_REPLY: returns once sent; errors show up only as the server's behaviour. */
int vfu_client_region_write_posted(struct vfu_client *c, uint32_t region, uint64_t offset,
				   const void *buf, size_t len);
/*
 * Always NO_REPLY; 1..VFU_MAX_WRITE_MULTI entries, count <= 8 each. Whether
 * the server granted write_multiple is the caller's business (see caps).
 */
int vfu_client_region_write_multi(struct vfu_client *c, const struct vfu_write_multi_entry *e,
				  unsigned n);

int vfu_client_reset(struct vfu_client *c);

/*
 * Low level. vfu_client_call() sends one command and waits for its reply:
 * msg_id, REPLY type and cmd echo checked. @fds_out NULL means no fd is
 * expected (any received fd fails the call with -EPROTO); otherwise
 * *nfds_out is the capacity on entry and the count on return. A reply
 * larger than @reply_max fails with -EMSGSIZE. Received fds are closed on
 * every error path.
 */
int vfu_client_call(struct vfu_client *c, uint16_t cmd, const void *req, size_t req_len,
		    const int *fds, unsigned nfds, void *reply, size_t reply_max,
		    size_t *reply_len, int *fds_out, unsigned *nfds_out);
/* Send a command with NO_REPLY set; no reply is awaited. */
int vfu_client_post(struct vfu_client *c, uint16_t cmd, const void *req, size_t req_len,
		    const int *fds, unsigned nfds);
/* Send exactly these bytes and fds (hostile tests). */
int vfu_client_send_raw(struct vfu_client *c, const void *buf, size_t len, const int *fds,
			unsigned nfds);
/*
 * Receive the next reply whatever its id (server commands in between are
 * served). ERROR replies are returned as received (0, flags in @hdr).
 * *nfds is the capacity on entry (0 if @fds NULL) and the count on return;
 * more fds than that fails with -EMSGSIZE, all closed.
 */
int vfu_client_recv_reply(struct vfu_client *c, struct vfu_hdr *hdr, void *payload, size_t max,
			  size_t *len, int *fds, unsigned *nfds);
/* Consume a msg_id for a hand-built raw message (keeps ids unique). */
uint16_t vfu_client_take_id(struct vfu_client *c);

#endif
