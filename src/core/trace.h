/* SPDX-License-Identifier: MIT */
/*
 * A device's driver<->device trace: a binary record file (format in
 * core/trace_format.h, docs/trace.md) fed from the server thread and the
 * device's own threads, written by a spool thread. Every emitter is
 * thread-safe and does nothing while the trace is closed.
 *
 * The layers hold a `struct trace *` that is NULL while a device is not
 * traced (core/hook.h); the object itself lives as long as its device, so
 * a thread that loaded the pointer just before a stop finds it closed,
 * never freed.
 */
#ifndef IOMED_CORE_TRACE_H
#define IOMED_CORE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/spool.h"
#include "core/trace_format.h"

/* Buffer of a trace file's writer (two of them). */
#define TRACE_BUFFER_BYTES (1u << 20)

struct trace {
	struct spool sp;
};

void trace_init(struct trace *t);
void trace_fini(struct trace *t);
/*
 * Start writing to @path for @device (its id) of @model. 0, or -errno and
 * a message in @err (-EBUSY: already open).
 */
int trace_open(struct trace *t, const char *path, const char *device, const char *model,
	       char *err, size_t errlen);
/* Write everything out with an END record and close. 0 or the first write error. */
int trace_close(struct trace *t, struct spool_stats *st);

void trace_connect(struct trace *t);
void trace_disconnect(struct trace *t, int reason);
void trace_msg(struct trace *t, uint16_t cmd, uint16_t msg_id, int32_t result, uint16_t flags);
/* TRACE_REGION_READ or _WRITE; @data may be NULL (a failed read). */
void trace_access(struct trace *t, uint16_t type, uint16_t flags, uint32_t region,
		  uint64_t offset, const void *data, uint32_t count);
void trace_dma_map(struct trace *t, uint64_t addr, uint64_t size, uint64_t offset,
		   uint32_t prot, bool has_fd);
void trace_dma_unmap(struct trace *t, uint64_t addr, uint64_t size, uint32_t flags);
void trace_set_irqs(struct trace *t, uint32_t index, uint32_t flags, uint32_t start,
		    uint32_t count, uint32_t nfds);
void trace_irq(struct trace *t, uint32_t index, uint32_t vector, uint32_t outcome);
void trace_intx(struct trace *t, bool level);
void trace_reset(struct trace *t, uint32_t cause);
void trace_event(struct trace *t, uint16_t kind, uint32_t arg0, uint64_t arg1,
		 const void *data, uint32_t len);

#endif
