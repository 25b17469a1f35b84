// SPDX-License-Identifier: MIT
/* Guest side of tests/vm/test_dma.sh: the testdev DMA engine on real guest RAM. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "guest_test.h"

enum {
	ID = 0x00, IRQ_STATUS = 0x0c, IRQ_ACK = 0x10,
	DMA_SRC_LO = 0x40, DMA_SRC_HI = 0x44, DMA_DST_LO = 0x48, DMA_DST_HI = 0x4c,
	DMA_LEN = 0x50, DMA_CMD = 0x54, DMA_STATUS = 0x58, DMA_VECTOR = 0x5c,
};
#define ST_DONE 1u
#define ST_ERR 0x80000000u
#define PG 4096ul

static volatile uint32_t *bar0;
static int cfg_fd;

static uint32_t rd(unsigned off) { return bar0[off / 4]; }
static void wr(unsigned off, uint32_t v) { bar0[off / 4] = v; }


static uint64_t phys(const void *p)
{
	static int fd = -1;
	uint64_t e = 0, va = (uintptr_t)p;

	if (fd < 0 && (fd = open("/proc/self/pagemap", O_RDONLY)) < 0)
		return 0;
	if (pread(fd, &e, 8, (off_t)(va / PG * 8)) != 8 || !(e & (1ull << 63)))
		return 0;
	return (e & ((1ull << 55) - 1)) * PG + va % PG;
}

static void set_master(int on)
{
	uint16_t cmd;
	if (pread(cfg_fd, &cmd, 2, 4) != 2) { perror("config"); exit(1); }
	cmd = on ? (cmd | 0x6) : (cmd & ~0x4);
	if (pwrite(cfg_fd, &cmd, 2, 4) != 2) { perror("config"); exit(1); }
}

/* start a copy, wait (2 s at most) for DMA_STATUS to leave idle */
static uint32_t dma(uint64_t src, uint64_t dst, uint32_t len, uint32_t cmd)
{
	struct timespec t0, t;
	uint32_t st;

	wr(DMA_SRC_LO, (uint32_t)src);
	wr(DMA_SRC_HI, (uint32_t)(src >> 32));
	wr(DMA_DST_LO, (uint32_t)dst);
	wr(DMA_DST_HI, (uint32_t)(dst >> 32));
	wr(DMA_LEN, len);
	wr(DMA_CMD, cmd);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		st = rd(DMA_STATUS);
		if (st)
			return st;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 2)
			return 0;
	}
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

int main(int argc, char **argv)
{
	char path[512];
	int fd;

	if (argc != 2) { fprintf(stderr, "usage: dmatest /sys/bus/pci/devices/BDF\n"); return 2; }
	snprintf(path, sizeof(path), "%s/resource0", argv[1]);
	if ((fd = open(path, O_RDWR | O_SYNC)) < 0) { fail("dma-setup", "open %s: %s", path, strerror(errno)); return 1; }
	bar0 = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bar0 == MAP_FAILED) { fail("dma-setup", "mmap resource0: %s", strerror(errno)); return 1; }
	snprintf(path, sizeof(path), "%s/config", argv[1]);
	if ((cfg_fd = open(path, O_RDWR)) < 0) { fail("dma-setup", "open config: %s", strerror(errno)); return 1; }
	check_u32("bar0-mmap-id", rd(ID), 0x010011ed);

	uint8_t *buf = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
	if (buf == MAP_FAILED) { fail("dma-setup", "mmap: %s", strerror(errno)); return 1; }
	uint8_t *src = buf, *dst = buf + PG;
	uint8_t ref[PG];
	uint64_t psrc = phys(src), pdst = phys(dst);
	if (!psrc || !pdst) { fail("dma-setup", "no physical address from pagemap"); return 1; }
	printf("IOMED-TEST: INFO src at 0x%llx, dst at 0x%llx\n", (unsigned long long)psrc, (unsigned long long)pdst);

	/* no bus mastering: the device must refuse */
	set_master(0);
	fill(src, PG, 1);
	memset(dst, 0, PG);
	check_u32("dma-no-master", dma(psrc, pdst, PG, 1), ST_ERR | EPERM);
	set_master(1);

	/* one page */
	check_u32("dma-page-status", dma(psrc, pdst, PG, 1), ST_DONE);
	if (memcmp(src, dst, PG) == 0) pass("dma-page-data"); else fail("dma-page-data", "destination differs from source");

	/* odd offsets and length; the bytes around the target stay as they were */
	fill(src, PG, 2);
	memset(dst, 0xee, PG);
	memcpy(ref, dst, PG);
	memcpy(ref + 2001, src + 101, 999);
	check_u32("dma-offset-status", dma(psrc + 101, pdst + 2001, 999, 1), ST_DONE);
	if (memcmp(ref, dst, PG) == 0) pass("dma-offset-data"); else fail("dma-offset-data", "wrong bytes in or around the copy");

	/* errors: nothing is written */
	memset(dst, 0x55, PG);
	memcpy(ref, dst, PG);
	check_u32("dma-efault-src", dma(0x7f00000000ull, pdst, 64, 1), ST_ERR | EFAULT);
	check_u32("dma-efault-dst", dma(psrc, 0x7f00000000ull, 64, 1), ST_ERR | EFAULT);
	check_u32("dma-efault-wrap", dma(0xfffffffffffff000ull, pdst, 8192, 1), ST_ERR | EFAULT);
	check_u32("dma-too-long", dma(psrc, pdst, (1u << 20) + 1, 1), ST_ERR | EINVAL);
	check_u32("dma-zero-len", dma(psrc, pdst, 0, 1), ST_ERR | EINVAL);
	if (memcmp(ref, dst, PG) == 0) pass("dma-errors-no-write"); else fail("dma-errors-no-write", "destination changed by a failed DMA");

	/* completion interrupt: IRQ_STATUS bit DMA_VECTOR (INTx, MSI-X is off) */
	wr(IRQ_ACK, 0xffffffffu);
	wr(DMA_VECTOR, 5);
	check_u32("dma-irq-status", dma(psrc, pdst, 64, 3), ST_DONE);
	check_u32("dma-irq-bit", rd(IRQ_STATUS), 1u << 5);
	wr(IRQ_ACK, 1u << 5);
	check_u32("dma-irq-ack", rd(IRQ_STATUS), 0);

	/* 1 MiB inside one 2 MiB huge page: physically contiguous, many pages of the DMA table */
	uint8_t *huge = mmap(NULL, 2u << 20, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	if (huge == MAP_FAILED) {
		fail("dma-1m-status", "no huge page: %s", strerror(errno));
	} else {
		uint64_t ph = phys(huge);
		fill(huge, 1u << 20, 3);
		memset(huge + (1u << 20), 0, 1u << 20);
		printf("IOMED-TEST: INFO huge page at 0x%llx\n", (unsigned long long)ph);
		check_u32("dma-1m-status", dma(ph, ph + (1u << 20), 1u << 20, 1), ST_DONE);
		if (memcmp(huge, huge + (1u << 20), 1u << 20) == 0) pass("dma-1m-data"); else fail("dma-1m-data", "1 MiB copy differs");
	}
	return fails ? 1 : 0;
}
