/* SPDX-License-Identifier: MIT */
/* The far end of a wire for vnet_bench (wire.c): a DPDK port that sends every frame back. */
#ifndef IOMED_BENCH_WIRE_H
#define IOMED_BENCH_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rte_mempool;

struct wire {
	uint16_t port, nq;
	struct rte_mempool *pool;
	bool up;
	uint64_t frames, dropped;
};

/*
 * Start DPDK with the port @vdev (e.g. "net_memif0,role=client,socket=P"),
 * @nq queue pairs, and wait for its link. 0 or -errno; @err says why.
 */
int wire_open(struct wire *w, const char *vdev, uint16_t nq, char *err, size_t errlen);
/* Every queue once: frames received go back out, MACs swapped. Returns the frames seen. */
unsigned wire_poll(struct wire *w);
void wire_close(struct wire *w);

#endif
