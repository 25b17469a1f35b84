// SPDX-License-Identifier: MIT
/*
 * Unit tests for packet capture: the pcap writer (net/capture.c) read back
 * byte by byte, and the port-layer hook: the ports a device opened (its
 * group) capture what they send and receive, without the net_hdr, and
 * stop when told; ports outside the group never do.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/capture.h"
#include "net/port.h"

#define HDR sizeof(struct net_hdr)

struct pcap_rec {
	uint32_t sec, usec, incl, orig;
};

static char path[] = "/tmp/iomed-pcap-ut.XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return unlink(path);
}

static void open_capture(struct net_capture *c)
{
	char err[256] = "";

	net_capture_init(c);
	if (net_capture_open(c, path, err, sizeof(err)))
		fail_msg("net_capture_open: %s", err);
}

/* Read the file back: checks the global header, returns the records' data. */
static unsigned read_pcap(struct pcap_rec *recs, uint8_t data[][128], unsigned max)
{
	FILE *f = fopen(path, "rb");
	uint32_t h[6];
	unsigned n = 0;

	assert_non_null(f);
	assert_int_equal(fread(h, 4, 6, f), 6);
	assert_int_equal(h[0], 0xa1b2c3d4);     /* microsecond timestamps */
	assert_int_equal(h[1], 2 | 4u << 16);  /* version 2.4 */
	assert_int_equal(h[2], 0);             /* thiszone */
	assert_int_equal(h[3], 0);             /* sigfigs */
	assert_int_equal(h[4], NET_CAPTURE_SNAPLEN);
	assert_int_equal(h[5], 1);             /* LINKTYPE_ETHERNET */
	while (n < max && fread(&recs[n], sizeof(recs[n]), 1, f) == 1) {
		assert_true(recs[n].incl <= 128);
		assert_int_equal(fread(data[n], 1, recs[n].incl, f), recs[n].incl);
		n++;
	}
	assert_int_equal(fgetc(f), EOF);
	fclose(f);
	return n;
}

static void test_writer(void **state)
{
	uint8_t frame[HDR + 60], data[4][128];
	struct pcap_rec recs[4];
	struct net_capture c;
	struct iovec iov[3] = {
		{ frame, 5 }, { frame + 5, 7 + 10 }, { frame + HDR + 10, 50 },
	};
	struct spool_stats st;

	(void)state;
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	open_capture(&c);
	net_capture_frame(&c, iov, 3, SIZE_MAX);  /* the net_hdr split over two iovecs */
	net_capture_frame(&c, iov, 3, HDR + 28); /* received: only @len bytes are the frame */
	net_capture_frame(&c, iov, 1, SIZE_MAX);  /* shorter than a net_hdr: nothing */
	net_capture_frame(&c, iov, 2, HDR);       /* a net_hdr alone: nothing */
	assert_int_equal(net_capture_close(&c, &st), 0);
	net_capture_fini(&c);
	assert_int_equal(st.records, 2);
	assert_int_equal(st.lost, 0);

	assert_int_equal(read_pcap(recs, data, 4), 2);
	assert_int_equal(recs[0].incl, 60);
	assert_int_equal(recs[0].orig, 60);
	assert_memory_equal(data[0], frame + HDR, 60);
	assert_int_equal(recs[1].incl, 28);
	assert_int_equal(recs[1].orig, 28);
	assert_memory_equal(data[1], frame + HDR, 28);
	assert_true(recs[0].usec < 1000000 && recs[0].sec > 1600000000u);
	assert_true(recs[1].sec > recs[0].sec ||
		    (recs[1].sec == recs[0].sec && recs[1].usec >= recs[0].usec));
}

static struct net_port *open_port(const char *spec)
{
	struct net_port *p = NULL;
	char err[256] = "";

	if (net_port_open(spec, &p, err, sizeof(err)))
		fail_msg("net_port_open %s: %s", spec, err);
	return p;
}

static int send_len(struct net_port *p, uint8_t *frame, size_t len)
{
	struct iovec iov = { frame, len };

	return net_port_send(p, &iov, 1);
}

static void test_port_group(void **state)
{
	uint8_t frame[HDR + 100] = { 0 }, buf[HDR + 200], data[8][128];
	struct iovec rx = { buf, sizeof(buf) };
	struct net_port *sink, *source, *outside;
	struct net_port_group g;
	struct pcap_rec recs[8];
	struct net_capture c;

	(void)state;
	memset(frame + HDR, 0x5a, 100);
	net_port_group_init(&g);
	net_port_group_enter(&g);
	sink = open_port("sink");
	source = open_port("source:80");
	net_port_group_leave();
	outside = open_port("sink");
	assert_ptr_equal(sink->group, &g);
	assert_null(outside->group);

	open_capture(&c);
	assert_int_equal(net_port_group_set_capture(&g, &c), 2);
	assert_int_equal(send_len(sink, frame, HDR + 48), 0);      /* captured */
	assert_int_equal(send_len(sink, frame, 5), -EINVAL);       /* refused: not captured */
	assert_int_equal(net_port_recv(source, &rx, 1), HDR + 80); /* captured */
	assert_int_equal(send_len(outside, frame, HDR + 30), 0);   /* not in the group */
	assert_int_equal(net_port_group_set_capture(&g, NULL), 2);
	assert_int_equal(send_len(sink, frame, HDR + 40), 0);      /* capture stopped */
	assert_int_equal(net_capture_close(&c, NULL), 0);

	assert_int_equal(read_pcap(recs, data, 8), 2);
	assert_int_equal(recs[0].orig, 48);
	assert_memory_equal(data[0], frame + HDR, 48);
	assert_int_equal(recs[1].orig, 80);
	assert_memory_equal(data[1], buf + HDR, 80);

	/* A port closed leaves its group; a closed capture records nothing. */
	net_port_close(source);
	assert_ptr_equal(g.ports, sink);
	assert_null(sink->group_next);
	net_capture_frame(&c, &rx, 1, SIZE_MAX);
	net_port_close(sink);
	assert_null(g.ports);
	net_port_close(outside);
	net_port_group_fini(&g);
	net_capture_fini(&c);
}

/* A port opened while capture is on captures from the start. */
static void test_join_while_capturing(void **state)
{
	uint8_t frame[HDR + 60] = { 0 }, data[2][128];
	struct pcap_rec recs[2];
	struct net_port_group g;
	struct net_capture c;
	struct net_port *p;

	(void)state;
	net_port_group_init(&g);
	open_capture(&c);
	assert_int_equal(net_port_group_set_capture(&g, &c), 0);
	net_port_group_enter(&g);
	p = open_port("loopback");
	net_port_group_leave();
	assert_int_equal(send_len(p, frame, sizeof(frame)), 0);
	net_port_group_set_capture(&g, NULL);
	assert_int_equal(net_capture_close(&c, NULL), 0);
	assert_int_equal(read_pcap(recs, data, 2), 1);
	assert_int_equal(recs[0].orig, 60);
	net_port_close(p);
	net_port_group_fini(&g);
	net_capture_fini(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_port_group),
		cmocka_unit_test(test_join_while_capturing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
