// SPDX-License-Identifier: MIT
/*
 * region_bench: latency and ops/s of 4-byte BAR accesses through the in-tree
 * vfio-user client against a real iomed daemon serving a testdev.
 *
 * Every run measures, in this order, a same-run peer (a 32-byte round trip
 * over an AF_UNIX socketpair to an echo thread: the floor for any socket
 * protocol) and then each vfio-user row. A row's ratio is taken per run
 * against that run's peer and the median of the per-run ratios is printed,
 * so slow drift of a shared machine cancels out.
 *
 * Rows timed op by op (clock_gettime around each call) report the median
 * and p99 of that run; throughput rows (posted writes, WRITE_MULTI) time a
 * whole batch closed by one REGION_READ that acts as a barrier and report
 * the amortized time per write. The mmapped BAR2 rows time blocks of
 * MMAP_BLOCK accesses, as one access is far below the clock's resolution.
 * The table shows the median over runs of each per-run figure.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "daemon.h"
#include "vfio-user/client.h"

#define BAR0 0
#define BAR2 2
#define SCRATCH0 0x20
#define CFG_SIZE 4096
#define PEER_MSG 32
#define MMAP_BLOCK 1000
#define MAX_RUNS 100

struct opts {
	const char *socket;
	unsigned runs;
	unsigned ops;
	unsigned warmup;
	unsigned multi;
	int client_cpu; /* -1: not pinned */
	int server_cpu;
	bool verbose;
};

/* One row in one run. us: median (or amortized) time per op; p99 NAN if none. */
struct result {
	double us;
	double p99;
	double ops_s;
};

struct bench {
	struct opts o;
	struct vfu_client *c;
	struct vfu_client_region bar2;
	volatile uint32_t *shm;
	uint64_t *lat;
	int peer_fd;
	int echo_fd;
	uint32_t seq; /* value of the next write, so every write differs */
};

struct row {
	const char *name;
	int (*run)(struct bench *b, struct result *r);
	bool amortized;
	bool skip;
	struct result res[MAX_RUNS];
	double ratio[MAX_RUNS];
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Per-op latencies of one run (@n samples, each @per ops) into @r. */
static void summarize(uint64_t *lat, unsigned n, unsigned per, uint64_t total_ns,
		      struct result *r)
{
	unsigned i99 = (unsigned)ceil(n * 0.99) - 1;

	qsort(lat, n, sizeof(*lat), cmp_u64);
	r->us = (n % 2 ? lat[n / 2] : (lat[n / 2 - 1] + lat[n / 2]) / 2.0) / 1e3 / per;
	r->p99 = lat[i99] / 1e3 / per;
	r->ops_s = (double)n * per / (total_ns / 1e9);
}

/* ---- same-run peer: 32 bytes to an echo thread and back ---- */

static int xfer_all(int fd, void *buf, size_t len, bool wr)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = wr ? write(fd, (char *)buf + done, len - done)
			       : read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		done += n;
	}
	return 0;
}

/* The peer's server side, on the daemon's CPU so both see the same hops. */
static void *echo_thread(void *arg)
{
	struct bench *b = arg;
	int fd = b->echo_fd;
	char buf[PEER_MSG];

	if (bench_pin(pthread_self(), b->o.server_cpu))
		fprintf(stderr, "region_bench: cannot pin the echo thread to CPU %d\n",
			b->o.server_cpu);
	while (!xfer_all(fd, buf, sizeof(buf), false) && !xfer_all(fd, buf, sizeof(buf), true))
		;
	return NULL;
}

static int op_peer(struct bench *b)
{
	char buf[PEER_MSG];
	int ret;

	memset(buf, (int)b->seq++, sizeof(buf));
	ret = xfer_all(b->peer_fd, buf, sizeof(buf), true);
	return ret ? ret : xfer_all(b->peer_fd, buf, sizeof(buf), false);
}

/* ---- vfio-user ops ---- */

static int op_read(struct bench *b)
{
	uint32_t v;

	return vfu_client_region_read(b->c, BAR0, SCRATCH0, &v, sizeof(v));
}

static int op_write(struct bench *b)
{
	uint32_t v = b->seq++;

	return vfu_client_region_write(b->c, BAR0, SCRATCH0, &v, sizeof(v));
}

static int op_cfg_read(struct bench *b)
{
	uint8_t buf[CFG_SIZE];
	int ret;

	ret = vfu_client_region_read(b->c, VFU_PCI_CONFIG, 0, buf, sizeof(buf));
	/* vendor 1234, device 11ed: the read really went through */
	if (!ret && (buf[0] != 0x34 || buf[1] != 0x12 || buf[2] != 0xed || buf[3] != 0x11))
		ret = -EPROTO;
	return ret;
}

static int op_mmap_read(struct bench *b)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i < MMAP_BLOCK; i++)
		sum += *b->shm;
	/* keeps the loads observable without a store to the mapping */
	__asm__ volatile("" : : "r"(sum));
	return 0;
}

static int op_mmap_write(struct bench *b)
{
	for (unsigned i = 0; i < MMAP_BLOCK; i++)
		*b->shm = b->seq++;
	return 0;
}

/* Warm up, then time @op one call at a time; @per accesses per call. */
static int timed_loop(struct bench *b, int (*op)(struct bench *), unsigned per,
		      struct result *r)
{
	uint64_t start, t;
	int ret;

	for (unsigned i = 0; i < b->o.warmup; i++) {
		ret = op(b);
		if (ret)
			return ret;
	}
	start = bench_now_ns();
	for (unsigned i = 0; i < b->o.ops; i++) {
		t = bench_now_ns();
		ret = op(b);
		b->lat[i] = bench_now_ns() - t;
		if (ret)
			return ret;
	}
	summarize(b->lat, b->o.ops, per, bench_now_ns() - start, r);
	return 0;
}

/* SCRATCH0 must hold @want: checks that every write before it landed. */
static int barrier(struct bench *b, uint32_t want)
{
	uint32_t v;
	int ret;

	ret = vfu_client_region_read(b->c, BAR0, SCRATCH0, &v, sizeof(v));
	if (!ret && v != want) {
		fprintf(stderr, "region_bench: SCRATCH0 reads %#x, expected %#x\n", v, want);
		ret = -EIO;
	}
	return ret;
}

static int run_read(struct bench *b, struct result *r)
{
	return timed_loop(b, op_read, 1, r);
}

static int run_write(struct bench *b, struct result *r)
{
	int ret = timed_loop(b, op_write, 1, r);

	return ret ? ret : barrier(b, b->seq - 1);
}

static int posted_batch(struct bench *b, unsigned n)
{
	uint32_t v = 0;
	int ret;

	if (!n)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		v = b->seq++;
		ret = vfu_client_region_write_posted(b->c, BAR0, SCRATCH0, &v, sizeof(v));
		if (ret)
			return ret;
	}
	return barrier(b, v);
}

static int run_posted(struct bench *b, struct result *r)
{
	uint64_t t;
	int ret;

	ret = posted_batch(b, b->o.warmup);
	if (ret)
		return ret;
	t = bench_now_ns();
	ret = posted_batch(b, b->o.ops);
	t = bench_now_ns() - t;
	r->us = t / 1e3 / b->o.ops;
	r->p99 = NAN;
	r->ops_s = b->o.ops / (t / 1e9);
	return ret;
}

/* @nmsg WRITE_MULTI messages of o.multi 4-byte writes each, then a barrier. */
static int multi_batch(struct bench *b, unsigned nmsg)
{
	struct vfu_write_multi_entry e[VFU_MAX_WRITE_MULTI];
	uint32_t v = 0;
	int ret;

	if (!nmsg)
		return 0;
	memset(e, 0, sizeof(e));
	for (unsigned m = 0; m < nmsg; m++) {
		for (unsigned i = 0; i < b->o.multi; i++) {
			v = b->seq++;
			e[i].offset = SCRATCH0;
			e[i].region = BAR0;
			e[i].count = sizeof(v);
			memcpy(e[i].data, &v, sizeof(v));
		}
		ret = vfu_client_region_write_multi(b->c, e, b->o.multi);
		if (ret)
			return ret;
	}
	return barrier(b, v);
}

static int run_multi(struct bench *b, struct result *r)
{
	unsigned nmsg = b->o.ops;
	uint64_t t;
	int ret;

	ret = multi_batch(b, b->o.warmup);
	if (ret)
		return ret;
	t = bench_now_ns();
	ret = multi_batch(b, nmsg);
	t = bench_now_ns() - t;
	r->us = t / 1e3 / ((double)nmsg * b->o.multi);
	r->p99 = NAN;
	r->ops_s = (double)nmsg * b->o.multi / (t / 1e9);
	return ret;
}

static int run_cfg(struct bench *b, struct result *r)
{
	return timed_loop(b, op_cfg_read, 1, r);
}

static int run_mmap_read(struct bench *b, struct result *r)
{
	return timed_loop(b, op_mmap_read, MMAP_BLOCK, r);
}

static int run_mmap_write(struct bench *b, struct result *r)
{
	return timed_loop(b, op_mmap_write, MMAP_BLOCK, r);
}

static int run_peer(struct bench *b, struct result *r)
{
	return timed_loop(b, op_peer, 1, r);
}

/* ---- setup ---- */

static int open_peer(struct bench *b, pthread_t *thr)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	b->echo_fd = sv[1];
	if (pthread_create(thr, NULL, echo_thread, b)) {
		close(sv[0]);
		close(sv[1]);
		b->echo_fd = -1;
		return -EAGAIN;
	}
	b->peer_fd = sv[0];
	return 0;
}

static int open_device(struct bench *b)
{
	const struct vfu_client_caps *caps;
	int ret;

	ret = vfu_client_connect(&b->c, b->o.socket);
	if (ret)
		return ret;
	ret = vfu_client_negotiate(b->c, NULL);
	if (ret)
		return ret;
	caps = vfu_client_caps(b->c);
	if (caps->max_data_xfer_size < CFG_SIZE)
		fprintf(stderr, "region_bench: max_data_xfer_size %u: config read is split\n",
			caps->max_data_xfer_size);
	ret = vfu_client_get_region_info(b->c, BAR2, &b->bar2);
	if (ret)
		return ret;
	ret = vfu_client_region_mmap(&b->bar2, PROT_READ | PROT_WRITE);
	if (ret)
		return ret;
	b->shm = vfu_client_region_ptr(&b->bar2, 0, sizeof(uint32_t));
	return b->shm ? 0 : -ENXIO;
}

/* ---- output ---- */

static void fmt_us(char *buf, size_t len, double us)
{
	if (isnan(us))
		snprintf(buf, len, "-");
	else if (us < 0.01)
		snprintf(buf, len, "%.5f", us);
	else if (us < 0.1)
		snprintf(buf, len, "%.4f", us);
	else if (us < 100)
		snprintf(buf, len, "%.2f", us);
	else
		snprintf(buf, len, "%.1f", us);
}

static void print_table(struct row *rows, unsigned nrows, const struct row *peer, unsigned runs)
{
	double v[MAX_RUNS];

	printf("| %-32s | %19s | %9s | %11s | %4s | %12s |\n", "op", "median latency (us)",
	       "p99 (us)", "ops/s", "runs", "x socketpair");
	printf("|%s|%s|%s|%s|%s|%s|\n", "----------------------------------",
	       "--------------------:", "----------:", "------------:", "-----:",
	       "-------------:");
	for (unsigned i = 0; i < nrows + 1; i++) {
		const struct row *r = i < nrows ? &rows[i] : peer;
		char lat[32], p99[32], ratio[32], name[64];
		double ops;

		snprintf(name, sizeof(name), "%s%s", r->name, r->amortized ? " *" : "");
		if (r->skip) {
			printf("| %-32s | %19s | %9s | %11s | %4s | %12s |\n", name, "n/a", "n/a",
			       "n/a", "0", "n/a");
			continue;
		}
		for (unsigned k = 0; k < runs; k++)
			v[k] = r->res[k].us;
		fmt_us(lat, sizeof(lat), bench_median(v, runs));
		for (unsigned k = 0; k < runs; k++)
			v[k] = r->res[k].p99;
		fmt_us(p99, sizeof(p99), r->amortized ? NAN : bench_median(v, runs));
		for (unsigned k = 0; k < runs; k++)
			v[k] = r->res[k].ops_s;
		ops = bench_median(v, runs);
		if (r == peer) {
			snprintf(ratio, sizeof(ratio), "1 (peer)");
		} else {
			double x = bench_median(r->ratio, runs);

			snprintf(ratio, sizeof(ratio), x < 0.01 ? "%.1e" : "%.2f", x);
		}
		printf("| %-32s | %19s | %9s | %11.0f | %4u | %12s |\n", name, lat, p99, ops,
		       runs, ratio);
	}
}

static void print_runs(const struct row *r, unsigned runs)
{
	char s[32];

	printf("  %-34s", r->name);
	for (unsigned k = 0; k < runs; k++) {
		fmt_us(s, sizeof(s), r->res[k].us);
		printf(" %9s", s);
	}
	printf("\n");
}

static const char *cpu_name(int cpu, char *buf)
{
	if (cpu < 0)
		return "any";
	snprintf(buf, 16, "%d", cpu);
	return buf;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: region_bench [--socket PATH] [--runs N] [--ops N] [--warmup N]\n"
		"                    [--multi N] [--client-cpu N] [--server-cpu N] [--verbose]\n"
		"  --socket PATH  testdev socket of a running daemon (default: start\n"
		"                 $IOMED, or the iomed built next to this binary)\n"
		"  --runs N       runs per row, median reported (default 5, max %d)\n"
		"  --ops N        timed ops per row and run (default 20000); messages for\n"
		"                 the posted and WRITE_MULTI rows\n"
		"  --warmup N     untimed ops before each row's run (default 2000)\n"
		"  --multi N      4-byte writes per REGION_WRITE_MULTI (default 64, max %d)\n"
		"  --client-cpu N pin the client (this process) to CPU N\n"
		"  --server-cpu N pin the echo thread to CPU N, and the daemon when this\n"
		"                 process starts it (with --socket, pin it yourself)\n"
		"  --verbose      also print each run's median latency\n",
		MAX_RUNS, VFU_MAX_WRITE_MULTI);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'r' },
		{ "ops", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "multi", required_argument, NULL, 'm' },
		{ "client-cpu", required_argument, NULL, 'c' },
		{ "server-cpu", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, ret = 0;
	unsigned cpu;

	*o = (struct opts){ .runs = 5, .ops = 20000, .warmup = 2000, .multi = 64,
			    .client_cpu = -1, .server_cpu = -1 };
	while ((ch = getopt_long(argc, argv, "s:r:n:w:m:c:S:vh", lo, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->socket = optarg;
			break;
		case 'r':
			ret = bench_parse_uint(optarg, 1, MAX_RUNS, &o->runs);
			break;
		case 'n':
			ret = bench_parse_uint(optarg, 1, 100000000, &o->ops);
			break;
		case 'w':
			ret = bench_parse_uint(optarg, 0, 100000000, &o->warmup);
			break;
		case 'm':
			ret = bench_parse_uint(optarg, 1, VFU_MAX_WRITE_MULTI, &o->multi);
			break;
		case 'c':
		case 'S':
			ret = bench_parse_uint(optarg, 0, CPU_SETSIZE - 1, &cpu);
			*(ch == 'c' ? &o->client_cpu : &o->server_cpu) = (int)cpu;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
		if (ret)
			return ret;
	}
	return optind == argc ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct row rows[] = {
		{ .name = "REGION_READ 4 B", .run = run_read },
		{ .name = "REGION_WRITE 4 B (reply)", .run = run_write },
		{ .name = "REGION_WRITE 4 B posted", .run = run_posted, .amortized = true },
		{ .name = "REGION_WRITE_MULTI 4 B", .run = run_multi, .amortized = true },
		{ .name = "REGION_READ config 4 KiB", .run = run_cfg },
		{ .name = "BAR2 mmap read 4 B", .run = run_mmap_read, .amortized = true },
		{ .name = "BAR2 mmap write 4 B", .run = run_mmap_write, .amortized = true },
	};
	static struct row peer = { .name = "socketpair 32 B echo", .run = run_peer };
	const unsigned nrows = sizeof(rows) / sizeof(rows[0]);
	struct test_daemon d = { 0 };
	struct bench b = { .peer_fd = -1, .echo_fd = -1, .bar2.fd = -1 };
	bool own_daemon = false;
	pthread_t echo;
	uint32_t shm_saved = 0;
	int ret;
	char multi_name[64], cpu_c[16], cpu_s[16];

	if (parse_opts(argc, argv, &b.o)) {
		usage(stderr);
		return 2;
	}
	b.lat = calloc(b.o.ops, sizeof(*b.lat));
	if (!b.lat)
		return 1;
	if (!b.o.socket) {
		bench_default_daemon();
		/* the daemon and its device threads inherit the mask at fork */
		if (bench_pin(pthread_self(), b.o.server_cpu)) {
			fprintf(stderr, "region_bench: cannot use CPU %d\n", b.o.server_cpu);
			return 1;
		}
		ret = test_daemon_start(&d, 1);
		if (ret) {
			fprintf(stderr, "region_bench: cannot start %s: %s\n",
				test_daemon_binary(), strerror(-ret));
			if (d.pid > 0)
				test_daemon_stop(&d); /* reaps it and removes its temp dir */
			return 1;
		}
		own_daemon = true;
		b.o.socket = d.socket[0];
	}
	ret = bench_pin(pthread_self(), b.o.client_cpu);
	if (ret) {
		fprintf(stderr, "region_bench: cannot use CPU %d\n", b.o.client_cpu);
		goto out;
	}
	ret = open_device(&b);
	if (ret) {
		fprintf(stderr, "region_bench: %s: %s\n", b.o.socket, strerror(-ret));
		goto out;
	}
	shm_saved = *b.shm;
	snprintf(multi_name, sizeof(multi_name), "REGION_WRITE_MULTI %ux4 B", b.o.multi);
	for (unsigned i = 0; i < nrows; i++) {
		if (rows[i].run != run_multi)
			continue;
		rows[i].name = multi_name;
		rows[i].skip = !vfu_client_caps(b.c)->write_multiple;
	}
	ret = open_peer(&b, &echo);
	if (ret)
		goto out;

	printf("region_bench: %s, %u runs x %u ops (+%u warm-up) per row, WRITE_MULTI %u "
	       "writes/msg, client CPU %s, server CPU %s\n\n", b.o.socket, b.o.runs, b.o.ops,
	       b.o.warmup, b.o.multi, cpu_name(b.o.client_cpu, cpu_c), cpu_name(b.o.server_cpu, cpu_s));
	for (unsigned k = 0; k < b.o.runs; k++) {
		ret = peer.run(&b, &peer.res[k]);
		if (ret)
			goto out;
		for (unsigned i = 0; i < nrows; i++) {
			if (rows[i].skip)
				continue;
			ret = rows[i].run(&b, &rows[i].res[k]);
			if (ret) {
				fprintf(stderr, "region_bench: %s: %s\n", rows[i].name,
					strerror(-ret));
				goto out;
			}
			rows[i].ratio[k] = rows[i].res[k].us / peer.res[k].us;
		}
	}
	print_table(rows, nrows, &peer, b.o.runs);
	printf("\n* amortized: run time / ops, no per-op timing (no p99). The posted and\n"
	       "  WRITE_MULTI rows send --ops messages, then one REGION_READ barrier that\n"
	       "  checks the last value; WRITE_MULTI ops/s counts each 4-byte write. mmap\n"
	       "  rows time blocks of %d accesses. x socketpair: median of the per-run\n"
	       "  latency ratios.\n", MMAP_BLOCK);
	if (b.o.verbose) {
		printf("\nper-run median latency (us):\n");
		print_runs(&peer, b.o.runs);
		for (unsigned i = 0; i < nrows; i++)
			if (!rows[i].skip)
				print_runs(&rows[i], b.o.runs);
	}
out:
	if (b.shm)
		*b.shm = shm_saved;
	if (b.peer_fd >= 0) {
		shutdown(b.peer_fd, SHUT_RDWR);
		pthread_join(echo, NULL);
		close(b.peer_fd);
		close(b.echo_fd);
	}
	vfu_client_region_release(&b.bar2);
	if (b.c)
		vfu_client_close(b.c);
	if (own_daemon && test_daemon_stop(&d) && !ret) {
		fprintf(stderr, "region_bench: daemon did not stop cleanly\n");
		ret = -EIO;
	}
	free(b.lat);
	return ret ? 1 : 0;
}
