/* SPDX-License-Identifier: MIT */
/*
 * The trace file format (docs/trace.md): a header, then records, all
 * little endian and packed. Shared by the writer (core/trace.c) and the
 * decoder (core/trace_decode.c, iomed-trace).
 */
#ifndef IOMED_CORE_TRACE_FORMAT_H
#define IOMED_CORE_TRACE_FORMAT_H

#include <stdint.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "trace files are little endian and written in host order");

#define TRACE_MAGIC "IOMEDTRC"
#define TRACE_VERSION 1
/* Bytes of an access's data or an event's payload kept; the rest is cut. */
#define TRACE_MAX_DATA 4096
/* No record is larger: a reader takes a larger size for corruption. */
#define TRACE_MAX_RECORD 65536

struct trace_file_header {
	char magic[8];          /* TRACE_MAGIC, no NUL */
	uint16_t version;       /* TRACE_VERSION */
	uint16_t header_size;   /* offset of the first record */
	uint32_t flags;         /* 0 */
	uint64_t start_mono_ns; /* CLOCK_MONOTONIC when the trace started */
	uint64_t start_real_ns; /* CLOCK_REALTIME at the same moment */
	char device[64];        /* device id, NUL-padded */
	char model[32];         /* device model, NUL-padded */
} __attribute__((packed));

/* Every record starts with this. */
struct trace_rec {
	uint16_t type;  /* enum trace_type */
	uint16_t flags; /* TRACE_F_* */
	uint32_t size;  /* the whole record, this header included */
	uint64_t ts_ns; /* CLOCK_MONOTONIC */
} __attribute__((packed));

enum trace_type {
	TRACE_CONNECT = 1,      /* a client connected: no payload */
	TRACE_DISCONNECT = 2,   /* struct trace_disconnect */
	TRACE_MSG = 3,          /* struct trace_msg */
	TRACE_REGION_READ = 4,  /* struct trace_access + data read */
	TRACE_REGION_WRITE = 5, /* struct trace_access + data written */
	TRACE_DMA_MAP = 6,      /* struct trace_dma_map */
	TRACE_DMA_UNMAP = 7,    /* struct trace_dma_unmap */
	TRACE_SET_IRQS = 8,     /* struct trace_set_irqs */
	TRACE_IRQ = 9,          /* struct trace_irq */
	TRACE_INTX = 10,        /* struct trace_intx */
	TRACE_RESET = 11,       /* struct trace_reset */
	TRACE_EVENT = 12,       /* struct trace_event + payload */
	TRACE_LOST = 13,        /* struct trace_lost */
	TRACE_END = 14,         /* struct trace_end: the trace was stopped cleanly */
	TRACE_TYPE_MAX,
};

#define TRACE_F_CUT 0x1     /* data shorter than count (TRACE_MAX_DATA) */
#define TRACE_F_MULTI 0x2   /* REGION_WRITE: an entry of a REGION_WRITE_MULTI */
#define TRACE_F_INVALID 0x4 /* MSG: refused by validation, never dispatched */

struct trace_disconnect {
	int32_t reason; /* -errno; -ECONNRESET (-104): the client closed */
} __attribute__((packed));

/*
 * A message without a record of its own (VERSION, GET_INFO, ...: result is
 * the reply payload length), a message refused by validation, and the
 * failure of any message (result -errno), after the message's own record.
 */
struct trace_msg {
	uint16_t cmd;    /* vfio-user command */
	uint16_t msg_id;
	int32_t result;
} __attribute__((packed));

struct trace_access {
	uint64_t offset;
	uint32_t region; /* 0-5 BARs, 6 ROM, 7 config space, 8 VGA */
	uint32_t count;  /* bytes accessed; data follows (none for a failed read) */
} __attribute__((packed));

struct trace_dma_map {
	uint64_t addr;
	uint64_t size;
	uint64_t offset; /* into the client's fd */
	uint32_t prot;   /* 1 read, 2 write */
	uint32_t has_fd; /* 1: the client sent memory to map */
} __attribute__((packed));

struct trace_dma_unmap {
	uint64_t addr;
	uint64_t size;
	uint32_t flags; /* 2: unmap all */
} __attribute__((packed));

struct trace_set_irqs {
	uint32_t index; /* 0 INTx, 1 MSI, 2 MSI-X, 3 ERR, 4 REQ */
	uint32_t flags; /* VFIO data type (1 none, 2 bool, 4 eventfd) | action (8 mask, 16 unmask, 32 trigger) */
	uint32_t start;
	uint32_t count;
	uint32_t nfds;
} __attribute__((packed));

enum trace_irq_outcome {
	TRACE_IRQ_DELIVERED = 0, /* the client's eventfd was written */
	TRACE_IRQ_MASKED = 1,    /* latched pending: the vector is masked */
	TRACE_IRQ_NO_FD = 2,     /* latched pending: no eventfd assigned */
	TRACE_IRQ_COALESCED = 3, /* the eventfd counter was full: merged with earlier ones */
};

struct trace_irq {
	uint32_t index;   /* as in trace_set_irqs */
	uint32_t vector;
	uint32_t outcome; /* enum trace_irq_outcome */
} __attribute__((packed));

struct trace_intx {
	uint32_t level; /* the device's INTx line: 1 asserted, 0 deasserted */
} __attribute__((packed));

enum trace_reset_cause {
	TRACE_RESET_MESSAGE = 1, /* DEVICE_RESET from the client */
	TRACE_RESET_CLIENT_GONE = 2,
	TRACE_RESET_FLR = 3,     /* function level reset through config space */
};

struct trace_reset {
	uint32_t cause; /* enum trace_reset_cause */
} __attribute__((packed));

/* Device events: what a model reports of its own state (payload after). */
enum trace_event_kind {
	TRACE_EV_NOTE = 1,           /* payload: text */
	TRACE_EV_VIRTIO_STATUS = 2,  /* arg0 new status, arg1 old status */
	TRACE_EV_VIRTIO_QUEUE = 3,   /* arg0 queue, arg1 1 enabled; payload trace_ev_vq */
	TRACE_EV_MBOX_TO_DEV = 4,    /* mailbox message from the driver: arg0 opcode, arg1 retval; payload: message */
	TRACE_EV_MBOX_TO_DRV = 5,    /* mailbox message to the driver: the same */
	/* 0x8000 and above: private to a model, shown as numbers */
};

struct trace_event {
	uint16_t kind; /* enum trace_event_kind */
	uint16_t reserved;
	uint32_t arg0;
	uint64_t arg1;
} __attribute__((packed));

struct trace_ev_vq {
	uint16_t size;
	uint16_t vector;
	uint32_t reserved;
	uint64_t desc, avail, used;
} __attribute__((packed));

struct trace_lost {
	uint64_t count; /* records dropped just before this one (the writer fell behind) */
} __attribute__((packed));

struct trace_end {
	uint64_t records; /* records in the file, this one excluded */
	uint64_t lost;    /* records dropped in all */
} __attribute__((packed));

_Static_assert(sizeof(struct trace_file_header) == 128, "trace_file_header");
_Static_assert(sizeof(struct trace_rec) == 16, "trace_rec");

#endif
