// SPDX-License-Identifier: MIT
/* Trace records: built in place in the spool, stamped under its lock. */
#include "core/trace.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void rec_header(void *at, uint16_t type, uint16_t flags, uint32_t size)
{
	struct trace_rec r = {
		.type = type, .flags = flags, .size = size, .ts_ns = clock_ns(CLOCK_MONOTONIC),
	};

	memcpy(at, &r, sizeof(r));
}

static void lost_marker(void *buf, uint64_t lost)
{
	struct trace_lost l = { .count = lost };

	rec_header(buf, TRACE_LOST, 0, sizeof(struct trace_rec) + sizeof(l));
	memcpy((uint8_t *)buf + sizeof(struct trace_rec), &l, sizeof(l));
}

static size_t end_record(void *buf, size_t room, const struct spool_stats *st)
{
	struct trace_end e = { .records = st->records, .lost = st->lost };
	size_t len = sizeof(struct trace_rec) + sizeof(e);

	if (room < len)
		return 0;
	rec_header(buf, TRACE_END, 0, len);
	memcpy((uint8_t *)buf + sizeof(struct trace_rec), &e, sizeof(e));
	return len;
}

static const struct spool_format trace_spool_format = {
	.marker_len = sizeof(struct trace_rec) + sizeof(struct trace_lost),
	.marker = lost_marker,
	.tail = end_record,
};

void trace_init(struct trace *t)
{
	spool_init(&t->sp, &trace_spool_format);
}

void trace_fini(struct trace *t)
{
	spool_fini(&t->sp);
}

int trace_open(struct trace *t, const char *path, const char *device, const char *model,
	       char *err, size_t errlen)
{
	struct trace_file_header h = {
		.version = TRACE_VERSION,
		.header_size = sizeof(h),
		.start_mono_ns = clock_ns(CLOCK_MONOTONIC),
		.start_real_ns = clock_ns(CLOCK_REALTIME),
	};
	int ret;

	memcpy(h.magic, TRACE_MAGIC, sizeof(h.magic));
	strncpy(h.device, device, sizeof(h.device) - 1);
	strncpy(h.model, model, sizeof(h.model) - 1);
	ret = spool_open(&t->sp, path, TRACE_BUFFER_BYTES, &h, sizeof(h));
	if (ret == -EBUSY)
		snprintf(err, errlen, "a trace of this device is already running");
	else if (ret)
		snprintf(err, errlen, "cannot write a trace to %s: %s", path, spool_strerror(ret));
	return ret;
}

int trace_close(struct trace *t, struct spool_stats *st)
{
	return spool_close(&t->sp, st);
}

/* One record: header, fixed part, then up to TRACE_MAX_DATA bytes of @data. */
static void emit(struct trace *t, uint16_t type, uint16_t flags, const void *fixed,
		 size_t flen, const void *data, uint32_t dlen)
{
	size_t len;
	uint8_t *at;

	if (dlen > TRACE_MAX_DATA) {
		dlen = TRACE_MAX_DATA;
		flags |= TRACE_F_CUT;
	}
	if (!data)
		dlen = 0;
	len = sizeof(struct trace_rec) + flen + dlen;
	at = spool_reserve(&t->sp, len);
	if (!at)
		return;
	rec_header(at, type, flags, (uint32_t)len);
	at += sizeof(struct trace_rec);
	if (flen)
		memcpy(at, fixed, flen);
	if (dlen)
		memcpy(at + flen, data, dlen);
	spool_commit(&t->sp);
}

void trace_connect(struct trace *t)
{
	emit(t, TRACE_CONNECT, 0, NULL, 0, NULL, 0);
}

void trace_disconnect(struct trace *t, int reason)
{
	struct trace_disconnect d = { .reason = reason };

	emit(t, TRACE_DISCONNECT, 0, &d, sizeof(d), NULL, 0);
}

void trace_msg(struct trace *t, uint16_t cmd, uint16_t msg_id, int32_t result, uint16_t flags)
{
	struct trace_msg m = { .cmd = cmd, .msg_id = msg_id, .result = result };

	emit(t, TRACE_MSG, flags, &m, sizeof(m), NULL, 0);
}

void trace_access(struct trace *t, uint16_t type, uint16_t flags, uint32_t region,
		  uint64_t offset, const void *data, uint32_t count)
{
	struct trace_access a = { .offset = offset, .region = region, .count = count };

	emit(t, type, flags, &a, sizeof(a), data, count);
}

void trace_dma_map(struct trace *t, uint64_t addr, uint64_t size, uint64_t offset,
		   uint32_t prot, bool has_fd)
{
	struct trace_dma_map m = {
		.addr = addr, .size = size, .offset = offset, .prot = prot, .has_fd = has_fd,
	};

	emit(t, TRACE_DMA_MAP, 0, &m, sizeof(m), NULL, 0);
}

void trace_dma_unmap(struct trace *t, uint64_t addr, uint64_t size, uint32_t flags)
{
	struct trace_dma_unmap u = { .addr = addr, .size = size, .flags = flags };

	emit(t, TRACE_DMA_UNMAP, 0, &u, sizeof(u), NULL, 0);
}

void trace_set_irqs(struct trace *t, uint32_t index, uint32_t flags, uint32_t start,
		    uint32_t count, uint32_t nfds)
{
	struct trace_set_irqs s = {
		.index = index, .flags = flags, .start = start, .count = count, .nfds = nfds,
	};

	emit(t, TRACE_SET_IRQS, 0, &s, sizeof(s), NULL, 0);
}

void trace_irq(struct trace *t, uint32_t index, uint32_t vector, uint32_t outcome)
{
	struct trace_irq i = { .index = index, .vector = vector, .outcome = outcome };

	emit(t, TRACE_IRQ, 0, &i, sizeof(i), NULL, 0);
}

void trace_intx(struct trace *t, bool level)
{
	struct trace_intx i = { .level = level };

	emit(t, TRACE_INTX, 0, &i, sizeof(i), NULL, 0);
}

void trace_reset(struct trace *t, uint32_t cause)
{
	struct trace_reset r = { .cause = cause };

	emit(t, TRACE_RESET, 0, &r, sizeof(r), NULL, 0);
}

void trace_event(struct trace *t, uint16_t kind, uint32_t arg0, uint64_t arg1,
		 const void *data, uint32_t len)
{
	struct trace_event e = { .kind = kind, .arg0 = arg0, .arg1 = arg1 };

	emit(t, TRACE_EVENT, 0, &e, sizeof(e), data, len);
}
