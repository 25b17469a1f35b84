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

#include "core/hook.h"
#include "core/trace.h"
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
	/* The device's trace, NULL while it is not traced (vfu_device_set_trace). */
	struct trace *trace;
};

static inline struct trace *vfu_device_trace(struct vfu_device *dev)
{
	return hook_load(dev->trace);
}

/*
 * Trace @dev into @t from now on, or stop (NULL). Safe while the device
 * serves a client; @t must outlive the device (see core/trace.h).
 */
void vfu_device_set_trace(struct vfu_device *dev, struct trace *t);

/* A model reports an event of its own (TRACE_EV_*) into its device's trace. */
static inline void vfu_device_event(struct vfu_device *dev, uint16_t kind, uint32_t arg0,
				    uint64_t arg1, const void *data, uint32_t len)
{
	struct trace *t = vfu_device_trace(dev);

	if (hook_on(t))
		trace_event(t, kind, arg0, arg1, data, len);
}

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
 * Per-device counters, written by the server thread (interrupts: by any
 * thread of the device) with core/counter.h, read relaxed by anyone.
 */
struct vfu_stats {
	uint64_t msgs[VFU_CMD_MAX]; /* messages received, by command */
	uint64_t errors;            /* commands that failed */
	uint64_t sessions;          /* clients accepted */
	uint64_t bad_msgs;          /* messages refused by validation */
	uint64_t connected;         /* 1 while a client is connected */
	uint64_t irqs[VFU_PCI_NUM_IRQS]; /* interrupts signalled, by index */
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
/*
 * From another thread: run @fn on the server's thread between two client
 * messages (nothing else of the server runs meanwhile) and wait for it to
 * return. Returns 0, or -ESRCH when vfu_server_run has returned (@fn not run).
 */
int vfu_server_call(struct vfu_server *srv, void (*fn)(struct vfu_device *dev, void *arg),
		     void *arg);
/*
 * Reset the device as a client's DEVICE_RESET does, with its threads
 * quiesced; for vfu_server_call. The client's DMA maps and eventfds stay.
 */
void vfu_device_reset(struct vfu_device *dev, void *unused);
/*
 * Ends a connected client's session as if it had gone (DMA maps dropped,
 * eventfds closed, device reset), closes the listener, removes the socket
 * file, frees. Call after vfu_server_run returned (or never ran).
 */
void vfu_server_destroy(struct vfu_server *srv);
const struct vfu_stats *vfu_server_stats(const struct vfu_server *srv);
/*
 * Count in @stats, from the values it holds, instead of the server's own
 * counters: memory the caller owns, e.g. shared with a supervisor process
 * that outlives this one. Call before vfu_server_run.
 */
void vfu_server_set_stats(struct vfu_server *srv, struct vfu_stats *stats);

#endif
