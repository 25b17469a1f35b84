// SPDX-License-Identifier: MIT
/*
 * Trace records as text or JSON, one line each. Both forms carry the same
 * fields: text as "key=value" after the time and the record type, JSON as
 * an object with "type", "t_ns" (since the trace started) and "ts_ns".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "core/trace_read.h"
#include "vfio-user/wire.h"

/* Text shows this much of longer data; JSON shows all that was kept. */
#define TEXT_DATA_MAX 32

struct line {
	json_object *o; /* JSON output, NULL for text */
	FILE *out;
};

static void put_str(struct line *l, const char *k, const char *v)
{
	if (l->o)
		json_object_object_add(l->o, k, json_object_new_string(v));
	else
		fprintf(l->out, " %s=%s", k, v);
}

static void put_u64(struct line *l, const char *k, uint64_t v)
{
	if (l->o)
		json_object_object_add(l->o, k, json_object_new_uint64(v));
	else
		fprintf(l->out, " %s=%" PRIu64, k, v);
}

static void put_hex(struct line *l, const char *k, uint64_t v)
{
	if (l->o)
		json_object_object_add(l->o, k, json_object_new_uint64(v));
	else
		fprintf(l->out, " %s=0x%" PRIx64, k, v);
}

static void put_int(struct line *l, const char *k, int64_t v)
{
	if (l->o)
		json_object_object_add(l->o, k, json_object_new_int64(v));
	else
		fprintf(l->out, " %s=%" PRId64, k, v);
}

/* Text a model chose: quoted and escaped in text too. */
static void put_quoted(struct line *l, const char *k, const uint8_t *p, uint32_t len)
{
	json_object *s = json_object_new_string_len((const char *)p, (int)len);

	if (l->o) {
		json_object_object_add(l->o, k, s);
		return;
	}
	fprintf(l->out, " %s=%s", k, json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN));
	json_object_put(s);
}

static void put_bytes(struct line *l, const char *k, const uint8_t *p, uint32_t len)
{
	uint32_t show = l->o || len <= TEXT_DATA_MAX ? len : TEXT_DATA_MAX;
	char *hex = malloc(2 * (size_t)show + 4);

	if (!hex)
		return;
	for (uint32_t i = 0; i < show; i++)
		sprintf(hex + 2 * i, "%02x", p[i]);
	strcpy(hex + 2 * show, show < len ? "..." : "");
	put_str(l, k, hex);
	free(hex);
}

/* strerror of a -errno read from a file: any value may be there. */
static const char *err_text(int32_t v)
{
	return v < 0 && v > -4096 ? strerror(-v) : "unknown error";
}

static const char *region_name(uint32_t region, char *buf, size_t len)
{
	if (region <= VFU_PCI_BAR5)
		snprintf(buf, len, "bar%u", region);
	else if (region == VFU_PCI_ROM)
		snprintf(buf, len, "rom");
	else if (region == VFU_PCI_CONFIG)
		snprintf(buf, len, "config");
	else if (region == VFU_PCI_VGA)
		snprintf(buf, len, "vga");
	else
		snprintf(buf, len, "region%u", region);
	return buf;
}

static const char *irq_name(uint32_t index)
{
	static const char *const names[] = { "intx", "msi", "msix", "err", "req" };

	return index < 5 ? names[index] : "unknown";
}

/* Little-endian value of a 1, 2, 4 or 8-byte access. */
static void put_value(struct line *l, const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	if (len != 1 && len != 2 && len != 4 && len != 8)
		return;
	memcpy(&v, p, len);
	put_hex(l, "value", v);
}

static void print_access(struct line *l, const struct trace_rec *rec)
{
	const struct trace_access *a = (const void *)(rec + 1);
	const uint8_t *data = (const uint8_t *)(a + 1);
	uint32_t dlen = trace_rec_data_len(rec);
	char name[24];

	put_str(l, "region", region_name(a->region, name, sizeof(name)));
	put_hex(l, "offset", a->offset);
	put_u64(l, "count", a->count);
	if (dlen == a->count)
		put_value(l, data, dlen);
	if (dlen)
		put_bytes(l, "data", data, dlen);
	if (rec->flags & TRACE_F_CUT)
		put_str(l, "cut", "yes");
	if (rec->flags & TRACE_F_MULTI)
		put_str(l, "multi", "yes");
}

static void print_msg(struct line *l, const struct trace_rec *rec)
{
	const struct trace_msg *m = (const void *)(rec + 1);

	put_str(l, "cmd", vfu_cmd_name(m->cmd));
	if (!strcmp(vfu_cmd_name(m->cmd), "UNKNOWN"))
		put_u64(l, "cmd_id", m->cmd);
	put_u64(l, "id", m->msg_id);
	put_int(l, "result", m->result);
	if (m->result < 0)
		put_str(l, "error", err_text(m->result));
	if (rec->flags & TRACE_F_INVALID)
		put_str(l, "refused", "yes");
}

static void print_dma(struct line *l, const struct trace_rec *rec)
{
	if (rec->type == TRACE_DMA_MAP) {
		const struct trace_dma_map *m = (const void *)(rec + 1);
		static const char *const prot[] = { "none", "r", "w", "rw" };

		put_hex(l, "addr", m->addr);
		put_hex(l, "size", m->size);
		put_hex(l, "fd_offset", m->offset);
		put_str(l, "prot", prot[m->prot & 3]);
		put_str(l, "fd", m->has_fd ? "yes" : "no");
		return;
	}
	const struct trace_dma_unmap *u = (const void *)(rec + 1);

	put_hex(l, "addr", u->addr);
	put_hex(l, "size", u->size);
	if (u->flags & VFU_DMA_UNMAP_ALL)
		put_str(l, "all", "yes");
}

static void print_set_irqs(struct line *l, const struct trace_rec *rec)
{
	const struct trace_set_irqs *s = (const void *)(rec + 1);
	uint32_t data = s->flags & VFU_IRQ_SET_DATA_MASK;
	uint32_t action = s->flags & VFU_IRQ_SET_ACTION_MASK_ALL;

	put_str(l, "index", irq_name(s->index));
	put_str(l, "data", data == VFU_IRQ_SET_DATA_EVENTFD ? "eventfd" :
			   data == VFU_IRQ_SET_DATA_BOOL ? "bool" : "none");
	put_str(l, "action", action == VFU_IRQ_SET_ACTION_MASK ? "mask" :
			     action == VFU_IRQ_SET_ACTION_UNMASK ? "unmask" : "trigger");
	put_u64(l, "start", s->start);
	put_u64(l, "count", s->count);
	put_u64(l, "nfds", s->nfds);
}

static void print_irq(struct line *l, const struct trace_rec *rec)
{
	static const char *const outcome[] = { "delivered", "masked", "no-eventfd", "coalesced" };
	const struct trace_irq *i = (const void *)(rec + 1);

	put_str(l, "index", irq_name(i->index));
	put_u64(l, "vector", i->vector);
	put_str(l, "outcome", i->outcome < 4 ? outcome[i->outcome] : "unknown");
}

static void print_reset(struct line *l, const struct trace_rec *rec)
{
	static const char *const cause[] = { "unknown", "message", "client-gone", "flr" };
	const struct trace_reset *r = (const void *)(rec + 1);

	put_str(l, "cause", r->cause < 4 ? cause[r->cause] : "unknown");
}

static void print_disconnect(struct line *l, const struct trace_rec *rec)
{
	const struct trace_disconnect *d = (const void *)(rec + 1);

	put_int(l, "reason", d->reason);
	put_str(l, "why", d->reason == -ECONNRESET ? "closed by the client" : err_text(d->reason));
}

static void put_virtio_status(struct line *l, uint64_t status)
{
	static const char *const bits[8] = {
		"ACKNOWLEDGE", "DRIVER", "DRIVER_OK", "FEATURES_OK", "bit4", "bit5", "NEEDS_RESET",
		"FAILED",
	};
	char text[96] = "";

	for (unsigned b = 0; b < 8; b++) {
		if (!(status & (1u << b)))
			continue;
		if (*text)
			strcat(text, "|");
		strcat(text, bits[b]);
	}
	put_str(l, "bits", *text ? text : "RESET");
}

static void print_vq(struct line *l, const struct trace_event *e, const uint8_t *data,
		     uint32_t len)
{
	struct trace_ev_vq q;

	put_u64(l, "queue", e->arg0);
	put_u64(l, "enabled", e->arg1);
	if (len < sizeof(q))
		return;
	memcpy(&q, data, sizeof(q));
	put_u64(l, "size", q.size);
	put_u64(l, "vector", q.vector);
	put_hex(l, "desc", q.desc);
	put_hex(l, "avail", q.avail);
	put_hex(l, "used", q.used);
}

static void print_event(struct line *l, const struct trace_rec *rec)
{
	const struct trace_event *e = (const void *)(rec + 1);
	const uint8_t *data = (const uint8_t *)(e + 1);
	uint32_t len = trace_rec_data_len(rec);

	switch (e->kind) {
	case TRACE_EV_NOTE:
		put_str(l, "kind", "note");
		put_quoted(l, "text", data, len);
		return;
	case TRACE_EV_VIRTIO_STATUS:
		put_str(l, "kind", "virtio-status");
		put_hex(l, "status", e->arg0);
		put_hex(l, "old", e->arg1);
		put_virtio_status(l, e->arg0);
		return;
	case TRACE_EV_VIRTIO_QUEUE:
		put_str(l, "kind", "virtio-queue");
		print_vq(l, e, data, len);
		return;
	case TRACE_EV_MBOX_TO_DEV:
	case TRACE_EV_MBOX_TO_DRV:
		put_str(l, "kind", e->kind == TRACE_EV_MBOX_TO_DEV ? "mbox-to-dev" : "mbox-to-drv");
		put_u64(l, "opcode", e->arg0);
		put_int(l, "retval", (int64_t)e->arg1);
		break;
	default:
		put_hex(l, "kind", e->kind);
		put_hex(l, "arg0", e->arg0);
		put_hex(l, "arg1", e->arg1);
		break;
	}
	put_u64(l, "len", len);
	if (len)
		put_bytes(l, "data", data, len);
	if (rec->flags & TRACE_F_CUT)
		put_str(l, "cut", "yes");
}

static void print_fields(struct line *l, const struct trace_rec *rec)
{
	const void *p = rec + 1;

	switch (rec->type) {
	case TRACE_DISCONNECT: print_disconnect(l, rec); break;
	case TRACE_MSG: print_msg(l, rec); break;
	case TRACE_REGION_READ:
	case TRACE_REGION_WRITE: print_access(l, rec); break;
	case TRACE_DMA_MAP:
	case TRACE_DMA_UNMAP: print_dma(l, rec); break;
	case TRACE_SET_IRQS: print_set_irqs(l, rec); break;
	case TRACE_IRQ: print_irq(l, rec); break;
	case TRACE_INTX: put_u64(l, "level", ((const struct trace_intx *)p)->level); break;
	case TRACE_RESET: print_reset(l, rec); break;
	case TRACE_EVENT: print_event(l, rec); break;
	case TRACE_LOST: put_u64(l, "count", ((const struct trace_lost *)p)->count); break;
	case TRACE_END:
		put_u64(l, "records", ((const struct trace_end *)p)->records);
		put_u64(l, "lost", ((const struct trace_end *)p)->lost);
		break;
	default:
		break;
	}
}

static void finish(struct line *l)
{
	if (l->o) {
		fprintf(l->out, "%s\n", json_object_to_json_string_ext(l->o, JSON_C_TO_STRING_PLAIN));
		json_object_put(l->o);
	} else {
		fputc('\n', l->out);
	}
}

void trace_print_header(const struct trace_file_header *h, bool json, FILE *out)
{
	struct line l = { .o = json ? json_object_new_object() : NULL, .out = out };

	if (l.o)
		put_str(&l, "type", "header");
	else
		fprintf(out, "# iomed trace v%u", h->version);
	put_str(&l, "device", h->device);
	put_str(&l, "model", h->model);
	put_u64(&l, "start_mono_ns", h->start_mono_ns);
	put_u64(&l, "start_real_ns", h->start_real_ns);
	if (!l.o) {
		time_t sec = (time_t)(h->start_real_ns / 1000000000u);
		struct tm tm;
		char when[32];

		gmtime_r(&sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		put_str(&l, "started", when);
	}
	finish(&l);
}

void trace_print_record(const struct trace_file_header *h, const struct trace_rec *rec,
			bool json, FILE *out)
{
	struct line l = { .o = json ? json_object_new_object() : NULL, .out = out };
	const char *name = trace_type_name(rec->type);
	bool before = rec->ts_ns < h->start_mono_ns;
	uint64_t t = before ? h->start_mono_ns - rec->ts_ns : rec->ts_ns - h->start_mono_ns;

	if (l.o) {
		put_str(&l, "type", name ? name : "unknown");
		put_int(&l, "t_ns", before ? -(int64_t)(t & INT64_MAX) : (int64_t)(t & INT64_MAX));
		put_u64(&l, "ts_ns", rec->ts_ns);
	} else {
		fprintf(out, "%s%" PRIu64 ".%09" PRIu64 " %s", before ? "-" : "", t / 1000000000,
			t % 1000000000, name ? name : "unknown");
	}
	if (!name) {
		put_u64(&l, "type_id", rec->type);
		put_u64(&l, "size", rec->size);
	}
	print_fields(&l, rec);
	finish(&l);
}
