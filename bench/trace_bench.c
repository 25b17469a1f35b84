// SPDX-License-Identifier: MIT
/*
 * trace_bench: what the trace and capture hooks cost on the operations they
 * sit on, in this process (no sockets, nothing else in the way):
 *
 *   port send 60 B   net_port_send of one 60-byte frame to a sink port (datapath TX)
 *   port recv 60 B   net_port_recv of one 60-byte frame from a source port (datapath RX)
 *   irq raise        vfu_irq_raise of an MSI-X vector with an eventfd (an interrupt)
 *   irq latch        vfu_irq_raise of a masked vector (no syscall: the hook's worst case)
 *   dispatch read    vfu_dispatch of a 4-byte REGION_READ of testdev's BAR0 (a trapped access)
 *
 * each with the recording off and, when the hooks are built in, on (a pcap
 * or a trace to files in --dir). Built with -Dtrace_hooks=false the same
 * binary measures the hooks absent; bench/trace.sh runs both builds.
 * Each row: --runs runs of --ops operations, timed as a whole; the table
 * shows the median ns per operation, and the fastest and slowest run.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/opts.h"
#include "core/trace.h"
#include "devices/device.h"
#include "devices/testdev/testdev.h"
#include "net/capture.h"
#include "net/port.h"
#include "vfio-user/session.h"

#define MAX_RUNS 99
#define FRAME (sizeof(struct net_hdr) + 60)

struct bench {
	unsigned runs, ops;
	const char *dir;
	struct net_port_group group;
	struct net_port *sink, *source;
	struct net_capture cap;
	struct trace trace;
	struct iomed_device dev;
	struct opts opts;
	struct vfu_irqs irqs;
	int efd;
	uint8_t frame[FRAME], rxbuf[FRAME];
	uint8_t req[sizeof(struct vfu_region_access)];
	uint8_t reply[sizeof(struct vfu_region_access) + 8];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the operations: @n of each ---- */

static void op_send(struct bench *b, unsigned n)
{
	struct iovec iov = { b->frame, FRAME };

	for (unsigned i = 0; i < n; i++)
		net_port_send(b->sink, &iov, 1);
}

static void op_recv(struct bench *b, unsigned n)
{
	struct iovec iov = { b->rxbuf, FRAME };

	for (unsigned i = 0; i < n; i++)
		net_port_recv(b->source, &iov, 1);
}

static void op_raise(struct bench *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vfu_irq_raise(&b->irqs, VFU_PCI_MSIX, 0);
}

static void op_latch(struct bench *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vfu_irq_raise(&b->irqs, VFU_PCI_MSIX, 1);
}

static void op_dispatch(struct bench *b, unsigned n)
{
	struct vfu_hdr hdr = { .cmd = VFU_CMD_REGION_READ };
	struct vfu_session s = { .dev = b->dev.vfu };
	struct vfu_request req = { .hdr = &hdr, .payload = b->req, .len = sizeof(b->req) };
	struct vfu_reply rep = { .buf = b->reply, .cap = sizeof(b->reply), .fd = -1 };

	for (unsigned i = 0; i < n; i++)
		if (vfu_dispatch(&s, &req, &rep) < 0)
			abort();
}

/* ---- recording on and off ---- */

static void path_of(struct bench *b, char *path, size_t len, const char *name)
{
	snprintf(path, len, "%s/trace_bench.%s", b->dir, name);
}

/* Start (@st NULL) or stop recording, the totals in @st. */
static void capture(struct bench *b, struct spool_stats *st)
{
	char path[256], err[256];

	if (st) {
		net_port_group_set_capture(&b->group, NULL);
		net_capture_close(&b->cap, st);
		return;
	}
	path_of(b, path, sizeof(path), "pcap");
	if (net_capture_open(&b->cap, path, err, sizeof(err))) {
		fprintf(stderr, "trace_bench: %s\n", err);
		exit(1);
	}
	net_port_group_set_capture(&b->group, &b->cap);
}

static void trace(struct bench *b, struct spool_stats *st)
{
	char path[256], err[256];

	if (st) {
		vfu_device_set_trace(b->dev.vfu, NULL);
		hook_store(b->irqs.trace, NULL);
		trace_close(&b->trace, st);
		return;
	}
	path_of(b, path, sizeof(path), "trc");
	if (trace_open(&b->trace, path, "bench", "testdev", err, sizeof(err))) {
		fprintf(stderr, "trace_bench: %s\n", err);
		exit(1);
	}
	vfu_device_set_trace(b->dev.vfu, &b->trace);
	hook_store(b->irqs.trace, &b->trace);
}

/* ---- setup ---- */

static void setup_ports(struct bench *b)
{
	char err[256];

	memset(b->frame, 0x5a, sizeof(b->frame));
	memset(b->frame, 0, sizeof(struct net_hdr));
	net_port_group_init(&b->group);
	net_capture_init(&b->cap);
	net_port_group_enter(&b->group);
	if (net_port_open("sink", &b->sink, err, sizeof(err)) ||
	    net_port_open("source:60", &b->source, err, sizeof(err))) {
		fprintf(stderr, "trace_bench: %s\n", err);
		exit(1);
	}
	net_port_group_leave();
}

static void setup_irqs(struct bench *b)
{
	uint32_t counts[VFU_PCI_NUM_IRQS] = { [VFU_PCI_MSIX] = 2 };
	uint32_t flags[VFU_PCI_NUM_IRQS] = { [VFU_PCI_MSIX] = VFU_IRQ_INFO_EVENTFD };
	struct vfu_irq_set set = {
		.argsz = sizeof(set), .index = VFU_PCI_MSIX, .start = 0, .count = 1,
		.flags = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER,
	};
	struct vfu_irq_set mask = {
		.argsz = sizeof(mask), .index = VFU_PCI_MSIX, .start = 1, .count = 1,
		.flags = VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_MASK,
	};

	b->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->efd < 0 || vfu_irqs_init(&b->irqs, counts, flags) ||
	    vfu_irqs_set(&b->irqs, &set, NULL, 0, &b->efd, 1) ||
	    vfu_irqs_set(&b->irqs, &mask, NULL, 0, NULL, 0)) {
		fprintf(stderr, "trace_bench: cannot set up the IRQ table\n");
		exit(1);
	}
}

static void setup_device(struct bench *b)
{
	struct vfu_region_access a = { .offset = TESTDEV_ID, .region = VFU_PCI_BAR0, .count = 4 };
	char err[256];

	trace_init(&b->trace);
	b->dev.model = iomed_model_find("testdev");
	snprintf(b->dev.id, sizeof(b->dev.id), "bench");
	if (opts_parse(&b->opts, "testdev", err, sizeof(err)) ||
	    iomed_device_create(&b->dev, &b->opts, err, sizeof(err)) ||
	    vfu_device_init_tables(b->dev.vfu)) {
		fprintf(stderr, "trace_bench: cannot create a testdev: %s\n", err);
		exit(1);
	}
	memcpy(b->req, &a, sizeof(a));
}

/* ---- measuring ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double row(struct bench *b, const char *name, const char *state,
		  void (*op)(struct bench *, unsigned))
{
	double ns[MAX_RUNS];

	op(b, b->ops / 10); /* warm-up */
	for (unsigned r = 0; r < b->runs; r++) {
		uint64_t t0 = now_ns();

		op(b, b->ops);
		ns[r] = (double)(now_ns() - t0) / b->ops;
	}
	qsort(ns, b->runs, sizeof(ns[0]), cmp_double);
	printf("| %-16s | %-6s | %9.1f | %9.1f | %9.1f |", name, state, ns[b->runs / 2], ns[0],
	       ns[b->runs - 1]);
	fflush(stdout);
	return ns[b->runs / 2];
}

static void rows(struct bench *b, const char *name, void (*op)(struct bench *, unsigned),
		 void (*record)(struct bench *, struct spool_stats *))
{
	struct spool_stats st;

	row(b, name, IOMED_TRACE_HOOKS ? "off" : "absent", op);
	printf("             |\n");
	if (!IOMED_TRACE_HOOKS)
		return;
	record(b, NULL);
	row(b, name, "on", op);
	record(b, &st);
	printf(" %10.1f %% |\n", 100.0 * (double)st.lost / (double)(st.records + st.lost));
}

static int parse(int argc, char **argv, struct bench *b)
{
	static const struct option lo[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ "ops", required_argument, NULL, 'n' },
		{ "dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	b->runs = 7;
	b->ops = 200000;
	b->dir = "/tmp";
	while ((c = getopt_long(argc, argv, "r:n:d:", lo, NULL)) != -1) {
		if (c == 'r')
			b->runs = (unsigned)atoi(optarg);
		else if (c == 'n')
			b->ops = (unsigned)atoi(optarg);
		else if (c == 'd')
			b->dir = optarg;
		else
			return -1;
	}
	return b->runs < 1 || b->runs > MAX_RUNS || b->ops < 10 ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct bench b;

	if (parse(argc, argv, &b)) {
		fprintf(stderr, "usage: trace_bench [--runs N (1-%d)] [--ops N] [--dir DIR]\n",
			MAX_RUNS);
		return 2;
	}
	setup_ports(&b);
	setup_irqs(&b);
	setup_device(&b);
	printf("trace_bench: hooks %s, %u runs x %u ops per row, files in %s\n\n",
	       IOMED_TRACE_HOOKS ? "built in" : "compiled out (-Dtrace_hooks=false)", b.runs,
	       b.ops, b.dir);
	printf("| %-16s | %-6s | %9s | %9s | %9s | %12s |\n", "op", "record", "ns/op", "fastest",
	       "slowest", "records lost");
	printf("|------------------|--------|----------:|----------:|----------:|-------------:|\n");
	rows(&b, "port send 60 B", op_send, capture);
	rows(&b, "port recv 60 B", op_recv, capture);
	rows(&b, "irq raise", op_raise, trace);
	rows(&b, "irq latch", op_latch, trace);
	rows(&b, "dispatch read", op_dispatch, trace);
	return 0;
}
