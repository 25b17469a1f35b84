/* SPDX-License-Identifier: MIT */
/* Client internals shared by client.c (transport) and client_cmds.c (commands). */
#ifndef IOMED_VFIO_USER_CLIENT_PRIV_H
#define IOMED_VFIO_USER_CLIENT_PRIV_H

#include "client.h"

#define MAX_XFER_LIMIT (64u << 20)    /* what QEMU accepts from a server too */
#define MAX_REGION_ARGSZ (64u << 10)  /* bounds a hostile argsz */
#define NR_STALE 4

struct dma_ent {
	uint64_t addr;
	uint64_t size;
	uint32_t prot;
	void *local;
};

struct vfu_client {
	int fd;
	int timeout_ms;
	uint16_t next_id;
	bool broken; /* a message was cut in the middle: the stream is lost */
	struct vfu_client_caps caps;
	struct dma_ent *dma;
	unsigned ndma;
	unsigned dma_cap;
	/* ids of requests that timed out: their late replies are dropped */
	uint16_t stale[NR_STALE];
	unsigned nstale;
};

/* Close every fd >= 0 of @fds. */
void vfu_client_close_fds(int *fds, unsigned n);

#endif
