// SPDX-License-Identifier: MIT
/*
 * vnet_bench: frames per second through an iomed virtio-net device whose
 * port is the loopback (every frame sent comes back, MACs swapped), driven
 * by the small virtio-net driver of vnet_drv.c over the in-tree vfio-user
 * client, the way a poll-mode driver (DPDK's virtio PMD) drives a NIC.
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

#define BUF_SIZE 2048
#define MAX_QSIZE 256
#define MIN_FRAME 60
#define MAX_FRAME (BUF_SIZE - VDRV_NET_HDR)
#define MEM_SIZE (4ull << 20)
#define ETH_P_LOCAL_EXP 0x88b5

static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

struct opts {
	const char *socket;
	unsigned size, seconds, warmup, qsize, burst;
	int cpu;
	pid_t device_pid; /* 0: not watched */
	bool irq, event_idx;
};

/* What one measurement saw. */
struct result {
	double secs;
	uint64_t frames;
	double cpu_driver, cpu_device; /* CPU seconds used meanwhile; device < 0: not known */
};

struct bench {
	struct opts o;
	struct vdrv d;
	uint8_t *rx_buf, *tx_buf;
	uint16_t free_tx[MAX_QSIZE];
	unsigned nfree;
	uint64_t tx, rx, bad, irqs;
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
		for (unsigned k = 14; k < b->o.size; k++)
			f[k] = (uint8_t)(k + i);
		vdrv_set_desc(tx, i, tx_gpa + (uint64_t)i * BUF_SIZE, VDRV_NET_HDR + b->o.size, 0);
		b->free_tx[b->nfree++] = i;
	}
	return vdrv_publish(&b->d, rx);
}

/* A looped frame: whole, one buffer, addressed back to the device. */
static bool frame_ok(struct bench *b, uint16_t id, uint32_t len)
{
	const uint8_t *p;

	if (id >= b->d.q[VDRV_RX].size || len != VDRV_NET_HDR + b->o.size)
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
	while (*n < b->o.burst && vdrv_reap(q, &id, &len)) {
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

	*n = b->nfree < b->o.burst ? b->nfree : b->o.burst;
	for (unsigned i = 0; i < *n; i++)
		vdrv_add(q, b->free_tx[--b->nfree]);
	b->tx += *n;
	return *n ? vdrv_publish(&b->d, q) : 0;
}

/* Interrupts on, sleep on both queue vectors, interrupts off. */
static void idle_wait(struct bench *b)
{
	struct vdrv *d = &b->d;
	struct pollfd p[2] = {
		{ .fd = d->q[VDRV_RX].irq_fd, .events = POLLIN },
		{ .fd = d->q[VDRV_TX].irq_fd, .events = POLLIN },
	};
	uint64_t v;

	if (!vdrv_irq(d, &d->q[VDRV_RX], true) && !vdrv_irq(d, &d->q[VDRV_TX], true) &&
	    poll(p, 2, 100) > 0) {
		for (unsigned i = 0; i < 2; i++)
			if ((p[i].revents & POLLIN) && read(p[i].fd, &v, sizeof(v)) == sizeof(v))
				b->irqs += v;
	}
	vdrv_irq(d, &d->q[VDRV_RX], false);
	vdrv_irq(d, &d->q[VDRV_TX], false);
}

/* Run until @until (ns); stop sending when !@sending and return once all came back. */
static int run_until(struct bench *b, uint64_t until, bool sending)
{
	unsigned ntx, nrx, loops = 0;
	int ret;

	for (;;) {
		reap_tx(b);
		ret = reap_rx(b, &nrx);
		ntx = 0;
		if (!ret && sending)
			ret = send_burst(b, &ntx);
		if (ret)
			return ret;
		if (!sending && b->rx >= b->tx)
			return 0;
		if (!(++loops & 63) && bench_now_ns() >= until)
			return sending ? 0 : -ETIMEDOUT;
		if (ntx || nrx)
			continue;
		if (b->o.irq)
			idle_wait(b);
		else
			__builtin_ia32_pause();
	}
}

static int measure(struct bench *b, struct result *res)
{
	uint64_t t0, t1, rx0;
	double drv0, dev0 = -1;
	int ret;

	vdrv_irq(&b->d, &b->d.q[VDRV_RX], false);
	vdrv_irq(&b->d, &b->d.q[VDRV_TX], false);
	ret = run_until(b, bench_now_ns() + b->o.warmup * 1000000000ull, true);
	if (ret)
		return ret;
	if (b->o.device_pid)
		dev0 = bench_cpu_seconds(b->o.device_pid);
	drv0 = bench_cpu_seconds(0);
	t0 = bench_now_ns();
	rx0 = b->rx;
	ret = run_until(b, t0 + b->o.seconds * 1000000000ull, true);
	t1 = bench_now_ns();
	if (ret)
		return ret;
	res->cpu_driver = bench_cpu_seconds(0) - drv0;
	res->cpu_device = dev0 < 0 ? -1 : bench_cpu_seconds(b->o.device_pid) - dev0;
	res->secs = (t1 - t0) / 1e9;
	res->frames = b->rx - rx0;
	/* Drain: every frame sent must come back. */
	return run_until(b, bench_now_ns() + 2000000000ull, false);
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vnet_bench --socket PATH [--size N] [--seconds N] [--warmup N]\n"
		"                  [--qsize N] [--burst N] [--cpu N] [--device-pid PID] [--irq]\n"
		"                  [--no-event-idx]\n"
		"  --socket PATH  a virtio-net device of a running iomed with net=loopback\n"
		"  --size N       Ethernet frame bytes, %u..%u (default 64); a 12-byte\n"
		"                 virtio net header goes in front\n"
		"  --seconds N    measured time (default 5), after --warmup N (default 1)\n"
		"  --qsize N      ring entries per queue, a power of two up to %u (default 256)\n"
		"  --burst N      frames sent / received per batch (default 32)\n"
		"  --cpu N        pin this process to CPU N\n"
		"  --device-pid P also report the CPU time process P (the daemon) used\n"
		"  --irq          sleep on the MSI-X eventfds when idle instead of spinning\n"
		"  --no-event-idx do not negotiate EVENT_IDX (kicks by the used ring flag)\n",
		MIN_FRAME, MAX_FRAME, MAX_QSIZE);
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned cpu, pid;
	int ch, ret = 0;

	*o = (struct opts){ .size = 64, .seconds = 5, .warmup = 1, .qsize = 256, .burst = 32,
			    .cpu = -1, .event_idx = true };
	while ((ch = getopt_long(argc, argv, "s:l:t:w:q:b:c:p:iEh", lo, NULL)) != -1) {
		switch (ch) {
		case 's': o->socket = optarg; break;
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
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
		if (ret)
			return ret;
	}
	if (o->qsize & (o->qsize - 1))
		return -EINVAL;
	return optind == argc && o->socket ? 0 : -EINVAL;
}

static uint64_t features(const struct opts *o)
{
	/* What DPDK's virtio PMD asks for on this path: mergeable RX buffers, no offloads. */
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VNET_F_MAC) |
		     VIRTIO_BIT(VNET_F_STATUS) | VIRTIO_BIT(VNET_F_MRG_RXBUF);

	return o->event_idx ? f | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : f;
}

static void report(struct bench *b, const struct result *r)
{
	double pps = r->frames / r->secs;
	char dev[32] = "?";

	if (r->cpu_device >= 0)
		snprintf(dev, sizeof(dev), "%.2f", r->cpu_device);
	printf("vnet_bench: %u B frames, %s, %.2f s: %llu frames back, %.3f Mpps, %.3f Gbit/s; "
	       "kicks tx %llu rx %llu, interrupts %llu, sent %llu, received %llu; "
	       "CPU s driver %.2f device %s\n",
	       b->o.size, b->o.irq ? "interrupts" : "polling", r->secs,
	       (unsigned long long)r->frames, pps / 1e6, pps * b->o.size * 8 / 1e9,
	       (unsigned long long)b->d.q[VDRV_TX].kicks, (unsigned long long)b->d.q[VDRV_RX].kicks,
	       (unsigned long long)b->irqs, (unsigned long long)b->tx, (unsigned long long)b->rx,
	       r->cpu_driver, dev);
	printf("RESULT mpps=%.4f gbps=%.4f secs=%.3f cpu_driver=%.3f cpu_device=%.3f\n", pps / 1e6,
	       pps * b->o.size * 8 / 1e9, r->secs, r->cpu_driver, r->cpu_device);
}

int main(int argc, char **argv)
{
	static struct bench b;
	char err[256] = "";
	struct result res = { 0 };
	int ret;

	if (parse_opts(argc, argv, &b.o)) {
		usage(stderr);
		return 2;
	}
	if (bench_pin(pthread_self(), b.o.cpu)) {
		fprintf(stderr, "vnet_bench: cannot use CPU %d\n", b.o.cpu);
		return 1;
	}
	ret = vdrv_open(&b.d, b.o.socket, MEM_SIZE, err, sizeof(err));
	if (!ret)
		ret = vdrv_start(&b.d, features(&b.o), (uint16_t)b.o.qsize, err, sizeof(err));
	if (!ret && setup_buffers(&b)) {
		snprintf(err, sizeof(err), "buffers do not fit in guest memory");
		ret = -ENOMEM;
	}
	if (!ret) {
		ret = measure(&b, &res);
		if (ret)
			snprintf(err, sizeof(err), "%s (sent %llu, received %llu)",
				 ret == -ETIMEDOUT ? "frames lost" : strerror(-ret),
				 (unsigned long long)b.tx, (unsigned long long)b.rx);
	}
	if (!ret && b.bad) {
		snprintf(err, sizeof(err), "%llu bad frames or used entries",
			 (unsigned long long)b.bad);
		ret = -EIO;
	}
	if (!ret && (vdrv_status(&b.d) & VIRTIO_STATUS_NEEDS_RESET)) {
		snprintf(err, sizeof(err), "the device needs a reset");
		ret = -EIO;
	}
	if (ret)
		fprintf(stderr, "vnet_bench: %s\n", err);
	else
		report(&b, &res);
	vdrv_close(&b.d);
	return ret ? 1 : 0;
}
