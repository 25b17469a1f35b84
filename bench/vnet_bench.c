// SPDX-License-Identifier: MIT
/*
 * vnet_bench: frames per second through iomed virtio-net devices whose
 * port sends every frame back with the MACs swapped (net=loopback, or a
 * shared dpdk: port whose peer forwards in macswap), driven by the small
 * virtio-net driver of vnet_drv.c over the in-tree vfio-user client, the
 * way a poll-mode driver (DPDK's virtio PMD) drives a NIC. --socket may be
 * given up to MAX_DEVICES times: one thread then drives all the devices in
 * turn, as one testpmd core serves several queues, and the result gives
 * each device's share besides the total.
 *
 * TX: --qsize descriptors, each bound once to its own buffer holding a
 * prebuilt frame (net header, then --size bytes of Ethernet frame from the
 * device's MAC to a peer MAC), so sending a frame is one avail entry. RX:
 * --qsize 2 KiB buffers, each reposted as soon as its frame was checked
 * (length, num_buffers, both MACs: the looped frame is addressed to the
 * device). Each loop reaps TX completions, reaps and reposts up to --burst
 * received frames, and sends up to --burst frames while TX descriptors are
 * free; the avail index is published once per batch and the device kicked
 * only when it asks (EVENT_IDX). Interrupts stay off and the driver spins,
 * unless --irq: then an idle driver turns them on and sleeps on the MSI-X
 * eventfds.
 *
 * Counted: frames received back during --seconds after --warmup seconds;
 * at the end the driver stops sending and waits for every frame in flight,
 * so a lost or damaged frame fails the run.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "devices/virtio-net/vnet.h"
#include "vnet_drv.h"
#include "wire.h"

#define BUF_SIZE 2048
#define MAX_QSIZE 256
#define MIN_FRAME 60
#define MAX_FRAME (BUF_SIZE - VDRV_NET_HDR)
#define MEM_SIZE (4ull << 20)
#define ETH_P_LOCAL_EXP 0x88b5
#define MAX_DEVICES 8

static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

struct opts {
	const char *socket[MAX_DEVICES];
	unsigned ndev;
	unsigned size, seconds, warmup, qsize, burst;
	int cpu;
	pid_t device_pid; /* 0: not watched */
	bool irq, event_idx;
	bool lossy; /* the port may drop (a peer that falls behind): count, do not fail */
	const char *wire; /* a DPDK vdev this process answers for: the far end of the port */
};

/* What one measurement saw. */
struct result {
	double secs;
	uint64_t frames, dev_frames[MAX_DEVICES];
	uint64_t lost; /* --lossy: sent and never back */
	double cpu_driver, cpu_device; /* CPU seconds used meanwhile; device < 0: not known */
};

/* One device and its driver. */
struct bench {
	const struct opts *o;
	struct vdrv d;
	uint8_t *rx_buf, *tx_buf;
	uint16_t free_tx[MAX_QSIZE];
	unsigned nfree;
	uint64_t tx, rx, bad;
};

/* ---- buffers ---- */

static int setup_buffers(struct bench *b)
{
	struct vdrv_queue *rx = &b->d.q[VDRV_RX], *tx = &b->d.q[VDRV_TX];
	uint64_t rx_gpa, tx_gpa;

	b->rx_buf = vdrv_alloc(&b->d, (uint64_t)rx->size * BUF_SIZE, 4096, &rx_gpa);
	b->tx_buf = vdrv_alloc(&b->d, (uint64_t)tx->size * BUF_SIZE, 4096, &tx_gpa);
	if (!b->rx_buf || !b->tx_buf)
		return -ENOMEM;
	for (uint16_t i = 0; i < rx->size; i++) {
		vdrv_set_desc(rx, i, rx_gpa + (uint64_t)i * BUF_SIZE, BUF_SIZE, VRING_DESC_F_WRITE);
		vdrv_add(rx, i);
	}
	for (uint16_t i = 0; i < tx->size; i++) {
		uint8_t *f = b->tx_buf + (size_t)i * BUF_SIZE + VDRV_NET_HDR;

		memcpy(f, peer_mac, 6);
		memcpy(f + 6, b->d.mac, 6);
		f[12] = ETH_P_LOCAL_EXP >> 8;
		f[13] = ETH_P_LOCAL_EXP & 0xff;
		for (unsigned k = 14; k < b->o->size; k++)
			f[k] = (uint8_t)(k + i);
		vdrv_set_desc(tx, i, tx_gpa + (uint64_t)i * BUF_SIZE, VDRV_NET_HDR + b->o->size, 0);
		b->free_tx[b->nfree++] = i;
	}
	return vdrv_publish(&b->d, rx);
}

/* A looped frame: whole, one buffer, addressed back to the device. */
static bool frame_ok(struct bench *b, uint16_t id, uint32_t len)
{
	const uint8_t *p;

	if (id >= b->d.q[VDRV_RX].size || len != VDRV_NET_HDR + b->o->size)
		return false;
	p = b->rx_buf + (size_t)id * BUF_SIZE;
	return (p[10] | p[11] << 8) == 1 && !memcmp(p + VDRV_NET_HDR, b->d.mac, 6) &&
	       !memcmp(p + VDRV_NET_HDR + 6, peer_mac, 6);
}

/* ---- the loop ---- */

static unsigned reap_tx(struct bench *b)
{
	struct vdrv_queue *q = &b->d.q[VDRV_TX];
	unsigned n = 0;
	uint32_t len;
	uint16_t id;

	while (vdrv_reap(q, &id, &len)) {
		if (id >= q->size || b->nfree == q->size) {
			b->bad++;
			continue;
		}
		b->free_tx[b->nfree++] = id;
		n++;
	}
	return n;
}

static int reap_rx(struct bench *b, unsigned *n)
{
	struct vdrv_queue *q = &b->d.q[VDRV_RX];
	uint32_t len;
	uint16_t id;

	*n = 0;
	while (*n < b->o->burst && vdrv_reap(q, &id, &len)) {
		if (!frame_ok(b, id, len)) {
			b->bad++;
			if (id >= q->size)
				continue;
		}
		vdrv_add(q, id);
		++*n;
	}
	b->rx += *n;
	return *n ? vdrv_publish(&b->d, q) : 0;
}

static int send_burst(struct bench *b, unsigned *n)
{
	struct vdrv_queue *q = &b->d.q[VDRV_TX];

	*n = b->nfree < b->o->burst ? b->nfree : b->o->burst;
	for (unsigned i = 0; i < *n; i++)
		vdrv_add(q, b->free_tx[--b->nfree]);
	b->tx += *n;
	return *n ? vdrv_publish(&b->d, q) : 0;
}

/* The devices being driven, all in one thread. */
struct fleet {
	struct bench b[MAX_DEVICES];
	unsigned n;
	unsigned opened; /* vdrv_open tried: vdrv_close is owed */
	const struct opts *o;
	uint64_t irqs;
	struct wire *wire; /* NULL: the port loops back by itself */
};

static void irqs_set(struct fleet *f, bool on, bool *pending)
{
	for (unsigned i = 0; i < f->n; i++) {
		struct vdrv *d = &f->b[i].d;

		if (vdrv_irq(d, &d->q[VDRV_RX], on) | vdrv_irq(d, &d->q[VDRV_TX], on))
			*pending = true;
	}
}

/* Interrupts on, sleep on every queue vector, interrupts off. */
static void idle_wait(struct fleet *f)
{
	struct pollfd p[2 * MAX_DEVICES];
	bool pending = false;
	uint64_t v;

	for (unsigned i = 0; i < f->n; i++) {
		p[2 * i] = (struct pollfd){ .fd = f->b[i].d.q[VDRV_RX].irq_fd, .events = POLLIN };
		p[2 * i + 1] = (struct pollfd){ .fd = f->b[i].d.q[VDRV_TX].irq_fd, .events = POLLIN };
	}
	irqs_set(f, true, &pending);
	if (!pending && poll(p, 2 * f->n, 100) > 0) {
		for (unsigned i = 0; i < 2 * f->n; i++)
			if ((p[i].revents & POLLIN) && read(p[i].fd, &v, sizeof(v)) == sizeof(v))
				f->irqs += v;
	}
	irqs_set(f, false, &pending);
}

/* One pass over device @b: completions, received frames, a burst to send. */
static int step(struct bench *b, bool sending, unsigned *work)
{
	unsigned ntx = 0, nrx;
	int ret;

	reap_tx(b);
	ret = reap_rx(b, &nrx);
	if (!ret && sending)
		ret = send_burst(b, &ntx);
	*work += ntx + nrx;
	return ret;
}

static bool all_back(const struct fleet *f)
{
	for (unsigned i = 0; i < f->n; i++)
		if (f->b[i].rx < f->b[i].tx)
			return false;
	return true;
}

/* Run until @until (ns); stop sending when !@sending and return once all came back. */
static int run_until(struct fleet *f, uint64_t until, bool sending)
{
	unsigned work, loops = 0;
	int ret;

	for (;;) {
		work = f->wire ? wire_poll(f->wire) : 0;
		for (unsigned i = 0; i < f->n; i++) {
			ret = step(&f->b[i], sending, &work);
			if (ret)
				return ret;
		}
		if (!sending && all_back(f))
			return 0;
		if (!(++loops & 63) && bench_now_ns() >= until)
			return sending || f->o->lossy ? 0 : -ETIMEDOUT;
		if (work)
			continue;
		if (f->o->irq && !f->wire)
			idle_wait(f);
		else
			__builtin_ia32_pause();
	}
}

static int measure(struct fleet *f, struct result *res)
{
	uint64_t t0, t1, rx0[MAX_DEVICES];
	double drv0, dev0 = -1;
	bool pending;
	int ret;

	irqs_set(f, false, &pending);
	ret = run_until(f, bench_now_ns() + f->o->warmup * 1000000000ull, true);
	if (ret)
		return ret;
	if (f->o->device_pid)
		dev0 = bench_cpu_seconds(f->o->device_pid);
	drv0 = bench_cpu_seconds(0);
	t0 = bench_now_ns();
	for (unsigned i = 0; i < f->n; i++)
		rx0[i] = f->b[i].rx;
	ret = run_until(f, t0 + f->o->seconds * 1000000000ull, true);
	t1 = bench_now_ns();
	if (ret)
		return ret;
	res->cpu_driver = bench_cpu_seconds(0) - drv0;
	res->cpu_device = dev0 < 0 ? -1 : bench_cpu_seconds(f->o->device_pid) - dev0;
	res->secs = (t1 - t0) / 1e9;
	for (unsigned i = 0; i < f->n; i++) {
		res->dev_frames[i] = f->b[i].rx - rx0[i];
		res->frames += res->dev_frames[i];
	}
	/* Drain: every frame sent must come back (--lossy: what comes back in time). */
	ret = run_until(f, bench_now_ns() + (f->o->lossy ? 500000000ull : 2000000000ull), false);
	for (unsigned i = 0; i < f->n; i++)
		res->lost += f->b[i].tx - f->b[i].rx;
	return ret;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vnet_bench --socket PATH [--size N] [--seconds N] [--warmup N]\n"
		"                  [--qsize N] [--burst N] [--cpu N] [--device-pid PID] [--irq]\n"
		"                  [--no-event-idx] [--lossy] [--wire VDEV]\n"
		"  --socket PATH  a virtio-net device of a running iomed whose port loops\n"
		"                 frames back with the MACs swapped; up to %u times (one\n"
		"                 thread drives them all in turn)\n"
		"  --size N       Ethernet frame bytes, %u..%u (default 64); a 12-byte\n"
		"                 virtio net header goes in front\n"
		"  --seconds N    measured time (default 5), after --warmup N (default 1)\n"
		"  --qsize N      ring entries per queue, a power of two up to %u (default 256)\n"
		"  --burst N      frames sent / received per batch (default 32)\n"
		"  --cpu N        pin this process to CPU N\n"
		"  --device-pid P also report the CPU time process P (the daemon) used\n"
		"  --irq          sleep on the MSI-X eventfds when idle instead of spinning\n"
		"  --no-event-idx do not negotiate EVENT_IDX (kicks by the used ring flag)\n"
		"  --wire VDEV    be the far end of the devices' port too: start DPDK with\n"
		"                 the port VDEV (e.g. net_memif0,role=client,socket=PATH,\n"
		"                 the other end being the daemon's dpdk: port), one queue\n"
		"                 pair per device, and send every frame it receives back\n"
		"                 with the MACs swapped, in the same loop (implies --lossy)\n"
		"  --lossy        the port may drop frames (a peer that falls behind): count\n"
		"                 the frames that never came back instead of failing\n",
		MAX_DEVICES, MIN_FRAME, MAX_FRAME, MAX_QSIZE);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'l' },
		{ "seconds", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "qsize", required_argument, NULL, 'q' },
		{ "burst", required_argument, NULL, 'b' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "device-pid", required_argument, NULL, 'p' },
		{ "irq", no_argument, NULL, 'i' },
		{ "no-event-idx", no_argument, NULL, 'E' },
		{ "lossy", no_argument, NULL, 'L' },
		{ "wire", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned cpu, pid;
	int ch, ret = 0;

	*o = (struct opts){ .size = 64, .seconds = 5, .warmup = 1, .qsize = 256, .burst = 32,
			    .cpu = -1, .event_idx = true };
	while ((ch = getopt_long(argc, argv, "s:l:t:w:q:b:c:p:iELW:h", lo, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (o->ndev == MAX_DEVICES)
				return -EINVAL;
			o->socket[o->ndev++] = optarg;
			break;
		case 'l': ret = bench_parse_uint(optarg, MIN_FRAME, MAX_FRAME, &o->size); break;
		case 't': ret = bench_parse_uint(optarg, 1, 3600, &o->seconds); break;
		case 'w': ret = bench_parse_uint(optarg, 0, 3600, &o->warmup); break;
		case 'q': ret = bench_parse_uint(optarg, 2, MAX_QSIZE, &o->qsize); break;
		case 'b': ret = bench_parse_uint(optarg, 1, MAX_QSIZE, &o->burst); break;
		case 'c':
			ret = bench_parse_uint(optarg, 0, CPU_SETSIZE - 1, &cpu);
			o->cpu = (int)cpu;
			break;
		case 'p':
			ret = bench_parse_uint(optarg, 1, INT32_MAX, &pid);
			o->device_pid = (pid_t)pid;
			break;
		case 'i': o->irq = true; break;
		case 'E': o->event_idx = false; break;
		case 'L': o->lossy = true; break;
		case 'W': o->wire = optarg; o->lossy = true; break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
		if (ret)
			return ret;
	}
	if (o->qsize & (o->qsize - 1))
		return -EINVAL;
	return optind == argc && o->ndev ? 0 : -EINVAL;
}

static uint64_t features(const struct opts *o)
{
	/* What DPDK's virtio PMD asks for on this path: mergeable RX buffers, no offloads. */
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VNET_F_MAC) |
		     VIRTIO_BIT(VNET_F_STATUS) | VIRTIO_BIT(VNET_F_MRG_RXBUF);

	return o->event_idx ? f | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : f;
}

/*
 * Each device's share of the frames and Jain's fairness index over them,
 * (sum x)^2 / (n sum x^2): 1 when all got the same, 1/n when one got all.
 */
static double fairness(const struct result *r, unsigned n)
{
	double sum = 0, sq = 0;

	for (unsigned i = 0; i < n; i++) {
		sum += (double)r->dev_frames[i];
		sq += (double)r->dev_frames[i] * (double)r->dev_frames[i];
	}
	return sq > 0 ? sum * sum / (n * sq) : 0;
}

static void report(const struct fleet *f, const struct result *r)
{
	double pps = r->frames / r->secs, lo = 1e300, hi = 0;
	uint64_t kicks_tx = 0, kicks_rx = 0, tx = 0, rx = 0;
	char dev[32] = "?";

	if (r->cpu_device >= 0)
		snprintf(dev, sizeof(dev), "%.2f", r->cpu_device);
	for (unsigned i = 0; i < f->n; i++) {
		const struct bench *b = &f->b[i];
		double mpps = r->dev_frames[i] / r->secs / 1e6;

		kicks_tx += b->d.q[VDRV_TX].kicks;
		kicks_rx += b->d.q[VDRV_RX].kicks;
		tx += b->tx;
		rx += b->rx;
		lo = mpps < lo ? mpps : lo;
		hi = mpps > hi ? mpps : hi;
		if (f->n > 1)
			printf("DEVICE %u mpps=%.4f\n", i, mpps);
	}
	printf("vnet_bench: %u device(s), %u B frames, %s, %.2f s: %llu frames back, %.3f Mpps, "
	       "%.3f Gbit/s; kicks tx %llu rx %llu, interrupts %llu, sent %llu, received %llu; "
	       "CPU s driver %.2f device %s\n",
	       f->n, f->o->size, f->o->irq ? "interrupts" : "polling", r->secs,
	       (unsigned long long)r->frames, pps / 1e6, pps * f->o->size * 8 / 1e9,
	       (unsigned long long)kicks_tx, (unsigned long long)kicks_rx,
	       (unsigned long long)f->irqs, (unsigned long long)tx, (unsigned long long)rx,
	       r->cpu_driver, dev);
	if (f->wire)
		printf("wire: %llu frames sent back, %llu dropped (the port refused them)\n",
		       (unsigned long long)f->wire->frames, (unsigned long long)f->wire->dropped);
	printf("RESULT mpps=%.4f gbps=%.4f secs=%.3f cpu_driver=%.3f cpu_device=%.3f devices=%u "
	       "fairness=%.4f min=%.4f max=%.4f lost=%llu\n",
	       pps / 1e6, pps * f->o->size * 8 / 1e9, r->secs, r->cpu_driver, r->cpu_device, f->n,
	       fairness(r, f->n), lo, hi, (unsigned long long)r->lost);
}

/* Connect, negotiate and post the buffers of every device. */
static int fleet_start(struct fleet *f, char *err, size_t errlen)
{
	int ret;

	for (unsigned i = 0; i < f->n; i++) {
		struct bench *b = &f->b[i];

		b->o = f->o;
		f->opened = i + 1;
		ret = vdrv_open(&b->d, f->o->socket[i], MEM_SIZE, err, errlen);
		if (!ret)
			ret = vdrv_start(&b->d, features(f->o), (uint16_t)f->o->qsize, err, errlen);
		if (!ret && setup_buffers(b)) {
			snprintf(err, errlen, "buffers do not fit in guest memory");
			ret = -ENOMEM;
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* After the run: bad frames or a device asking for a reset fail it. */
static int fleet_check(struct fleet *f, char *err, size_t errlen)
{
	for (unsigned i = 0; i < f->n; i++) {
		struct bench *b = &f->b[i];

		if (b->bad) {
			snprintf(err, errlen, "%s: %llu bad frames or used entries", f->o->socket[i],
				 (unsigned long long)b->bad);
			return -EIO;
		}
		if (vdrv_status(&b->d) & VIRTIO_STATUS_NEEDS_RESET) {
			snprintf(err, errlen, "%s: the device needs a reset", f->o->socket[i]);
			return -EIO;
		}
	}
	return 0;
}

static void sent_received(const struct fleet *f, uint64_t *tx, uint64_t *rx)
{
	*tx = *rx = 0;
	for (unsigned i = 0; i < f->n; i++) {
		*tx += f->b[i].tx;
		*rx += f->b[i].rx;
	}
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct fleet f;
	static struct wire wire;
	char err[256] = "";
	struct result res = { 0 };
	uint64_t tx, rx;
	int ret;

	if (parse_opts(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	/* first: DPDK pins this thread to its main lcore, bench_pin puts it where asked */
	if (o.wire && wire_open(&wire, o.wire, (uint16_t)o.ndev, err, sizeof(err))) {
		fprintf(stderr, "vnet_bench: %s\n", err);
		return 1;
	}
	if (o.wire)
		f.wire = &wire;
	if (bench_pin(pthread_self(), o.cpu)) {
		fprintf(stderr, "vnet_bench: cannot use CPU %d\n", o.cpu);
		return 1;
	}
	f.o = &o;
	f.n = o.ndev;
	ret = fleet_start(&f, err, sizeof(err));
	if (!ret) {
		ret = measure(&f, &res);
		sent_received(&f, &tx, &rx);
		if (ret)
			snprintf(err, sizeof(err), "%s (sent %llu, received %llu)",
				 ret == -ETIMEDOUT ? "frames lost" : strerror(-ret),
				 (unsigned long long)tx, (unsigned long long)rx);
	}
	if (!ret)
		ret = fleet_check(&f, err, sizeof(err));
	if (ret)
		fprintf(stderr, "vnet_bench: %s\n", err);
	else
		report(&f, &res);
	for (unsigned i = 0; i < f.opened; i++)
		vdrv_close(&f.b[i].d);
	if (f.wire)
		wire_close(f.wire);
	return ret ? 1 : 0;
}
