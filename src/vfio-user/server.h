/* SPDX-License-Identifier: MIT */
/*
 * The server side: what a device looks like to the vfio-user layer (its
 * region and IRQ tables plus a few callbacks) and the listener that serves
 * it to one client at a time on a Unix socket.
 */
#ifndef IOMED_VFIO_USER_SERVER_H
#define IOMED_VFIO_USER_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "dma.h"
#include "irq.h"
#include "wire.h"

#define VFU_MAX_SPARSE 8

struct vfu_region_desc {
	uint64_t size;     /* 0: region not implemented */
	uint32_t flags;    /* VFU_REGION_FLAG_READ / WRITE / MMAP */
	int fd;            /* mappable backing, -1 none */
	uint64_t fd_offset;
	unsigned nr_sparse; /* 0 with MMAP: the whole region is mappable */
	struct vfu_sparse_mmap_area sparse[VFU_MAX_SPARSE];
};

struct vfu_irq_desc {
	uint32_t count;
	uint32_t flags; /* VFU_IRQ_INFO_* */
};

struct vfu_device_ops {
	/*
	 * Region accesses, already checked to lie inside the region. Return 0
	 * or -errno (sent to the client as the error).
	 */
	int (*region_read)(void *opaque, unsigned region, uint64_t off, void *buf, uint32_t len);
	int (*region_write)(void *opaque, unsigned region, uint64_t off, const void *buf,
			    uint32_t len);
	/* DEVICE_RESET, and when a client goes away. */
	int (*reset)(void *opaque);
	/*
	 * Called before [addr, addr + size) is unmapped: the device must stop
	 * using guest memory there before it returns. Optional.
	 */
	void (*dma_unmap)(void *opaque, uint64_t addr, uint64_t size);
	/* SET_IRQS changed the table of @index. Optional. */
	void (*irqs_changed)(void *opaque, unsigned index);
	/*
	 * Optional, for devices whose memory accesses happen elsewhere (an
	 * IOMMU, another server): DMA_MAP added @r to the table; @fd is the
	 * client's file (-1 when it sent none), open for the call only. A
	 * non-zero return takes the map out of the table again and is the
	 * client's error. @r is valid for the call only; dma_unmap still
	 * announces its removal.
	 */
	int (*dma_map)(void *opaque, const struct vfu_dma_region *r, int fd);
	/*
	 * Optional: the device takes SET_IRQS itself (passthrough hands the
	 * client's eventfds to its backend) and the server's IRQ table stays
	 * empty. @set was validated; @set->data holds @data_len bytes, @fds
	 * the @nfds eventfds, which stay the server's (dup what you keep).
	 * When the client goes, it is called with count 0 (DATA_NONE|TRIGGER)
	 * for every index that has vectors.
	 */
	int (*set_irqs)(void *opaque, const struct vfu_irq_set *set, size_t data_len,
			const int *fds, unsigned nfds);
	/*
	 * Optional, for devices with threads of their own (datapath pollers):
	 * quiesce returns once no other thread of the device touches guest
	 * memory, the DMA table or the IRQ table; resume lets them go on. The
	 * server brackets every change of those tables (DMA_MAP, DMA_UNMAP,
	 * SET_IRQS, client gone) with the pair, so the hot path needs no lock.
	 */
	void (*quiesce)(void *opaque);
	void (*resume)(void *opaque);
};

struct vfu_device {
	const char *name; /* for logs */
	uint32_t flags;   /* VFU_DEV_FLAG_* */
	struct vfu_region_desc regions[VFU_PCI_NUM_REGIONS];
	struct vfu_irq_desc irqs[VFU_PCI_NUM_IRQS];
	const struct vfu_device_ops *ops;
	void *opaque;
	/* Owned by the server, valid while it runs; the device uses them. */
	struct vfu_dma dma;
	struct vfu_irqs irq;
};

struct vfu_server;

/*
 * The server's tables of @dev (DMA maps, IRQs), which vfu_server_create and
 * vfu_server_destroy set up and free; exported for harnesses that drive a
 * vfu_session without a listener (tests/fuzz).
 */
int vfu_device_init_tables(struct vfu_device *dev);
void vfu_device_fini_tables(struct vfu_device *dev);
/*
 * The client is gone: with the device quiesced, tell it about every DMA map
 * going, close all maps and eventfds, reset it (what the server does when a
 * session ends).
 */
void vfu_device_client_gone(struct vfu_device *dev);

/*
 * Per-command counters (also used by later layers for stats). Written by
 * the server thread only; another thread may read them for a dump.
 */
struct vfu_stats {
	uint64_t msgs[VFU_CMD_MAX];
	uint64_t errors;
	uint64_t sessions;
	uint64_t bad_msgs;
};

/*
 * "sessions=1 errors=0 bad=0 VERSION=1 DMA_MAP=4 ..." (commands never seen
 * left out) into @buf; returns @buf.
 */
const char *vfu_stats_format(const struct vfu_stats *st, char *buf, size_t len);

/*
 * Bind @path (an existing stale socket file is replaced; any other file is
 * an error) and prepare to serve @dev. The server runs in the caller's
 * thread through vfu_server_run.
 */
int vfu_server_create(struct vfu_server **out, const char *path, struct vfu_device *dev);
/* Serve until vfu_server_stop; returns 0 or -errno. */
int vfu_server_run(struct vfu_server *srv);
/* Thread-safe, async-signal-safe: makes vfu_server_run return. */
void vfu_server_stop(struct vfu_server *srv);
/* Closes the listener, removes the socket file, frees. */
void vfu_server_destroy(struct vfu_server *srv);
const struct vfu_stats *vfu_server_stats(const struct vfu_server *srv);
/*
 * Count in @stats, from the values it holds, instead of the server's own
 * counters: memory the caller owns, e.g. shared with a supervisor process
 * that outlives this one. Call before vfu_server_run.
 */
void vfu_server_set_stats(struct vfu_server *srv, struct vfu_stats *stats);

#endif
