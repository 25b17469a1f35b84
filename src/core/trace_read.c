// SPDX-License-Identifier: MIT
/* Trace file reader: header and record checks (the printer trusts them). */
#include "core/trace_read.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[TRACE_TYPE_MAX] = {
	[TRACE_CONNECT] = "connect",       [TRACE_DISCONNECT] = "disconnect",
	[TRACE_MSG] = "msg",               [TRACE_REGION_READ] = "read",
	[TRACE_REGION_WRITE] = "write",    [TRACE_DMA_MAP] = "dma_map",
	[TRACE_DMA_UNMAP] = "dma_unmap",   [TRACE_SET_IRQS] = "set_irqs",
	[TRACE_IRQ] = "irq",               [TRACE_INTX] = "intx",
	[TRACE_RESET] = "reset",           [TRACE_EVENT] = "event",
	[TRACE_LOST] = "lost",             [TRACE_END] = "end",
};

/* Size of each type's fixed part: a record must hold at least that. */
static const uint32_t fixed_size[TRACE_TYPE_MAX] = {
	[TRACE_DISCONNECT] = sizeof(struct trace_disconnect),
	[TRACE_MSG] = sizeof(struct trace_msg),
	[TRACE_REGION_READ] = sizeof(struct trace_access),
	[TRACE_REGION_WRITE] = sizeof(struct trace_access),
	[TRACE_DMA_MAP] = sizeof(struct trace_dma_map),
	[TRACE_DMA_UNMAP] = sizeof(struct trace_dma_unmap),
	[TRACE_SET_IRQS] = sizeof(struct trace_set_irqs),
	[TRACE_IRQ] = sizeof(struct trace_irq),
	[TRACE_INTX] = sizeof(struct trace_intx),
	[TRACE_RESET] = sizeof(struct trace_reset),
	[TRACE_EVENT] = sizeof(struct trace_event),
	[TRACE_LOST] = sizeof(struct trace_lost),
	[TRACE_END] = sizeof(struct trace_end),
};

const char *trace_type_name(unsigned type)
{
	return type < TRACE_TYPE_MAX && type_names[type] ? type_names[type] : NULL;
}

static uint32_t fixed_of(unsigned type)
{
	return type < TRACE_TYPE_MAX ? fixed_size[type] : 0;
}

uint32_t trace_rec_data_len(const struct trace_rec *rec)
{
	return rec->size - (uint32_t)sizeof(*rec) - fixed_of(rec->type);
}

int trace_reader_open(struct trace_reader *r, FILE *f, char *err, size_t errlen)
{
	struct trace_file_header *h = &r->hdr;
	size_t n;

	memset(r, 0, sizeof(*r));
	r->f = f;
	n = fread(h, 1, sizeof(*h), f);
	if (memcmp(h->magic, TRACE_MAGIC, n < sizeof(h->magic) ? n : sizeof(h->magic))) {
		snprintf(err, errlen, "not an iomed trace (no %s magic at the start)", TRACE_MAGIC);
		return -EINVAL;
	}
	if (n < sizeof(*h)) {
		snprintf(err, errlen, "truncated file header: %zu of %zu bytes", n, sizeof(*h));
		return ferror(f) ? -EIO : -EINVAL;
	}
	if (h->version != TRACE_VERSION) {
		snprintf(err, errlen, "trace format version %u is not supported (this decoder reads %u)",
			 h->version, TRACE_VERSION);
		return -EINVAL;
	}
	if (h->header_size < sizeof(*h)) {
		snprintf(err, errlen, "corrupt file header: header_size %u, at least %zu expected",
			 h->header_size, sizeof(*h));
		return -EINVAL;
	}
	/* A later minor version may append to the header: skip what we do not know. */
	if (h->header_size > sizeof(*h) && fseek(f, h->header_size, SEEK_SET)) {
		snprintf(err, errlen, "cannot skip the %u-byte header", h->header_size);
		return -EIO;
	}
	h->device[sizeof(h->device) - 1] = '\0';
	h->model[sizeof(h->model) - 1] = '\0';
	r->off = h->header_size;
	r->buf = malloc(TRACE_MAX_RECORD);
	return r->buf ? 0 : -ENOMEM;
}

static int check_record(const struct trace_reader *r, const struct trace_rec *rec, char *err,
			size_t errlen)
{
	const char *name = trace_type_name(rec->type);
	uint32_t need = (uint32_t)sizeof(*rec) + fixed_of(rec->type);

	if (rec->size < need) {
		snprintf(err, errlen, "corrupt %s record at offset %llu: %u bytes, at least %u expected",
			 name ? name : "unknown", (unsigned long long)r->off, rec->size, need);
		return -EINVAL;
	}
	if (rec->type == TRACE_REGION_READ || rec->type == TRACE_REGION_WRITE) {
		const struct trace_access *a = (const void *)(rec + 1);

		if (trace_rec_data_len(rec) > a->count) {
			snprintf(err, errlen, "corrupt %s record at offset %llu: %u bytes of data for a %u-byte access",
				 name, (unsigned long long)r->off, trace_rec_data_len(rec), a->count);
			return -EINVAL;
		}
	}
	return 0;
}

static void account(struct trace_reader *r, const struct trace_rec *rec)
{
	if (rec->type == TRACE_LOST) {
		r->lost += ((const struct trace_lost *)(rec + 1))->count;
	} else if (rec->type == TRACE_END) {
		r->ended = true;
		memcpy(&r->end, rec + 1, sizeof(r->end));
	} else {
		r->records++;
	}
}

int trace_reader_next(struct trace_reader *r, const struct trace_rec **out, char *err,
		      size_t errlen)
{
	struct trace_rec *rec = (struct trace_rec *)r->buf;
	size_t n = fread(rec, 1, sizeof(*rec), r->f);
	int ret;

	if (!n && !ferror(r->f))
		return 0;
	if (n < sizeof(*rec)) {
		snprintf(err, errlen, "truncated record header at offset %llu: %zu of %zu bytes",
			 (unsigned long long)r->off, n, sizeof(*rec));
		return -EIO;
	}
	if (rec->size < sizeof(*rec) || rec->size > TRACE_MAX_RECORD) {
		snprintf(err, errlen, "corrupt record at offset %llu: size %u (type %u)",
			 (unsigned long long)r->off, rec->size, rec->type);
		return -EINVAL;
	}
	n = fread(rec + 1, 1, rec->size - sizeof(*rec), r->f);
	if (n < rec->size - sizeof(*rec)) {
		snprintf(err, errlen, "truncated record at offset %llu: %zu of %u bytes",
			 (unsigned long long)r->off, n + sizeof(*rec), rec->size);
		return -EIO;
	}
	ret = check_record(r, rec, err, errlen);
	if (ret)
		return ret;
	account(r, rec);
	r->off += rec->size;
	*out = rec;
	return 1;
}

void trace_reader_fini(struct trace_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}
