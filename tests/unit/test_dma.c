// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/vfio-user/dma.c: the DMA map table, translation and
 * copies across regions, and ownership of the fds the client sent.
 * Guest memory is simulated with memfds.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "vfio-user/dma.h"
#include "vfio-user/wire.h"

#define PG 0x1000ull
#define RW (VFU_DMA_READ | VFU_DMA_WRITE)

/* ---- helpers ---- */

static int new_memfd(uint64_t size)
{
	int fd = memfd_create("iomed-test-dma", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* Our own view of a memfd, independent of the table's mapping. */
static uint8_t *map_fd(int fd, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static bool fd_is_closed(int fd)
{
	errno = 0;
	return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

/*
 * Add a memfd-backed region; the table closes the fd it was given (its
 * mapping keeps the file), so the test keeps a duplicate to look at the
 * memory through. Returns that duplicate.
 */
static int add_memfd(struct vfu_dma *dma, uint64_t addr, uint64_t size, uint32_t prot)
{
	int fd = new_memfd(size);
	int keep = dup(fd);

	assert_true(keep >= 0);
	assert_int_equal(vfu_dma_add(dma, addr, size, fd, 0, prot), 0);
	assert_true(fd_is_closed(fd));
	return keep;
}

/* The table is sorted and its regions do not overlap. */
static void assert_sorted(const struct vfu_dma *dma)
{
	for (unsigned i = 1; i < dma->count; i++)
		assert_true(dma->regions[i - 1].addr + dma->regions[i - 1].size <=
			    dma->regions[i].addr);
}

static int setup(void **state)
{
	struct vfu_dma *dma = calloc(1, sizeof(*dma));

	if (!dma)
		return -1;
	vfu_dma_init(dma, VFU_MAX_DMA_MAPS);
	*state = dma;
	return 0;
}

static int teardown(void **state)
{
	struct vfu_dma *dma = *state;

	vfu_dma_fini(dma);
	free(dma);
	return 0;
}

/* ---- add / find / translate ---- */

static void test_add_find_translate(void **state)
{
	struct vfu_dma *dma = *state;
	int fd = new_memfd(8 * PG);
	uint8_t *mine = map_fd(fd, 8 * PG);
	uint8_t *p;

	/* Map file pages 2..5 at guest 0x10000. */
	assert_int_equal(vfu_dma_add(dma, 0x10000, 4 * PG, fd, 2 * PG, RW), 0);
	assert_int_equal(dma->count, 1);
	assert_int_equal(dma->mapped_bytes, 4 * PG);

	assert_int_equal(vfu_dma_find(dma, 0x10000), 0);
	assert_int_equal(vfu_dma_find(dma, 0x10000 + 4 * PG - 1), 0);
	assert_int_equal(vfu_dma_find(dma, 0x10000 + 4 * PG), -1);
	assert_int_equal(vfu_dma_find(dma, 0xffff), -1);
	assert_int_equal(vfu_dma_find(dma, 0), -1);
	assert_int_equal(vfu_dma_find(dma, UINT64_MAX), -1);

	p = vfu_dma_translate(dma, 0x10010, 16, RW);
	assert_non_null(p);
	memcpy(p, "guest memory ok", 16);
	/* It lands at file offset 2 pages + 0x10. */
	assert_memory_equal(mine + 2 * PG + 0x10, "guest memory ok", 16);
	/* And the other way round. */
	mine[5 * PG + PG - 1] = 0x5a;
	p = vfu_dma_translate(dma, 0x10000 + 4 * PG - 1, 1, VFU_DMA_READ);
	assert_non_null(p);
	assert_int_equal(*p, 0x5a);
	/* The whole region in one go. */
	assert_non_null(vfu_dma_translate(dma, 0x10000, 4 * PG, RW));
	munmap(mine, 8 * PG);
}

static void test_translate_refusals(void **state)
{
	struct vfu_dma *dma = *state;

	add_memfd(dma, 0x10000, PG, RW);
	add_memfd(dma, 0x20000, PG, VFU_DMA_READ);
	assert_int_equal(vfu_dma_add(dma, 0x30000, PG, -1, 0, RW), 0);

	/* Crossing the region end, len 0, huge len, outside any region. */
	assert_non_null(vfu_dma_translate(dma, 0x10000 + PG - 8, 8, RW));
	assert_null(vfu_dma_translate(dma, 0x10000 + PG - 8, 16, RW));
	assert_null(vfu_dma_translate(dma, 0x10000, 0, RW));
	assert_null(vfu_dma_translate(dma, 0x10000, UINT64_MAX, RW));
	assert_null(vfu_dma_translate(dma, 0x10008, UINT64_MAX - 4, RW));
	assert_null(vfu_dma_translate(dma, 0x10000 + PG, 1, RW));
	assert_null(vfu_dma_translate(dma, 0xffff, 2, RW));

	/* Read-only region: READ yes, WRITE no. */
	assert_non_null(vfu_dma_translate(dma, 0x20000, 8, VFU_DMA_READ));
	assert_null(vfu_dma_translate(dma, 0x20000, 8, VFU_DMA_WRITE));
	assert_null(vfu_dma_translate(dma, 0x20000, 8, RW));

	/* No fd: present in the table, never accessible. */
	assert_int_equal(vfu_dma_find(dma, 0x30000), 2);
	assert_null(vfu_dma_translate(dma, 0x30000, 8, VFU_DMA_READ));
	assert_null(vfu_dma_translate(dma, 0x30000, 8, RW));
}

/* ---- overlap and adjacency ---- */

static void test_overlap_rejected(void **state)
{
	struct vfu_dma *dma = *state;
	struct { uint64_t addr, size; } bad[] = {
		{ 0x10000, 0x4000 }, /* exact */
		{ 0xf000, 0x2000 },  /* partial front */
		{ 0x13000, 0x2000 }, /* partial back */
		{ 0x8000, 0x10000 }, /* containing */
		{ 0x11000, 0x1000 }, /* contained */
		{ 0x13000, 0x1000 }, /* contained, touching the end */
		{ 0x10000, 0x1000 }, /* contained, touching the start */
		{ 0x14000, 0x10000 }, /* front of the second region */
		{ 0x1000, 0x40000 },  /* containing both */
	};

	assert_int_equal(vfu_dma_add(dma, 0x10000, 0x4000, -1, 0, RW), 0);
	assert_int_equal(vfu_dma_add(dma, 0x20000, 0x1000, -1, 0, RW), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = new_memfd(bad[i].size);

		assert_int_equal(vfu_dma_add(dma, bad[i].addr, bad[i].size, fd, 0, RW), -EEXIST);
		assert_true(fd_is_closed(fd));
		assert_int_equal(dma->count, 2);
	}
	assert_int_equal(dma->mapped_bytes, 0x5000);
}

static void test_adjacent_allowed(void **state)
{
	struct vfu_dma *dma = *state;

	assert_int_equal(vfu_dma_add(dma, 0x10000, 0x4000, -1, 0, RW), 0);
	assert_int_equal(vfu_dma_add(dma, 0x14000, 0x1000, -1, 0, RW), 0); /* right after */
	assert_int_equal(vfu_dma_add(dma, 0xf000, 0x1000, -1, 0, RW), 0);  /* right before */
	assert_int_equal(vfu_dma_add(dma, 0, 0x1000, -1, 0, RW), 0);
	assert_int_equal(dma->count, 4);
	assert_sorted(dma);
	assert_int_equal(dma->regions[0].addr, 0);
	assert_int_equal(dma->regions[1].addr, 0xf000);
	assert_int_equal(dma->regions[2].addr, 0x10000);
	assert_int_equal(dma->regions[3].addr, 0x14000);
	assert_int_equal(vfu_dma_find(dma, 0xffff), 1);
	assert_int_equal(vfu_dma_find(dma, 0x10000), 2);
	assert_int_equal(vfu_dma_find(dma, 0x13fff), 2);
	assert_int_equal(vfu_dma_find(dma, 0x14000), 3);
	assert_int_equal(vfu_dma_find(dma, 0x1000), -1);
}

static void test_add_invalid(void **state)
{
	struct vfu_dma *dma = *state;

	assert_int_equal(vfu_dma_add(dma, 0x10000, 0, -1, 0, RW), -EINVAL);
	assert_int_equal(vfu_dma_add(dma, 0xfffffffffffff000ull, 0x2000, -1, 0, RW), -EINVAL);
	assert_int_equal(vfu_dma_add(dma, 0x10000, PG, -1, 0, 0x4), -EINVAL);
	assert_int_equal(vfu_dma_add(dma, 0x10000, PG, -1, 0, RW | 0x80000000u), -EINVAL);
	assert_int_equal(dma->count, 0);
	assert_int_equal(vfu_dma_add(dma, 0x10000, PG, -1, 0, RW), 0);
}

/* ---- remove ---- */

static void test_remove_range(void **state)
{
	struct vfu_dma *dma = *state;
	int fd = new_memfd(0x4000);

	assert_int_equal(vfu_dma_add(dma, 0x10000, 0x4000, fd, 0, RW), 0);
	assert_int_equal(vfu_dma_add(dma, 0x20000, 0x1000, -1, 0, RW), 0);

	/* A range that would cut a region in two removes nothing. */
	assert_int_equal(vfu_dma_remove(dma, 0x10000, 0x1000, NULL, NULL), -EINVAL);  /* head */
	assert_int_equal(vfu_dma_remove(dma, 0x11000, 0x1000, NULL, NULL), -EINVAL);  /* inner */
	assert_int_equal(vfu_dma_remove(dma, 0x11000, 0x3000, NULL, NULL), -EINVAL);  /* tail */
	assert_int_equal(vfu_dma_remove(dma, 0x11000, 0x4000, NULL, NULL), -EINVAL);  /* shifted */
	assert_int_equal(vfu_dma_remove(dma, 0x10000, 0x10800, NULL, NULL), -EINVAL); /* 2nd cut */
	assert_int_equal(vfu_dma_remove(dma, 0x10000, 0, NULL, NULL), -EINVAL);       /* empty */
	/* Covering nothing is not an error (QEMU unmaps invalidated ranges). */
	assert_int_equal(vfu_dma_remove(dma, 0x30000, 0x1000, NULL, NULL), 0);
	assert_int_equal(vfu_dma_remove(dma, 0x14000, 0xc000, NULL, NULL), 0);
	assert_int_equal(dma->count, 2);
	assert_true(fd_is_closed(fd)); /* the mapping holds the file, not an fd */
	assert_non_null(vfu_dma_translate(dma, 0x10000, 8, RW));

	assert_int_equal(vfu_dma_remove(dma, 0x10000, 0x4000, NULL, NULL), 1);
	assert_int_equal(dma->count, 1);
	assert_int_equal(dma->mapped_bytes, 0x1000);
	assert_int_equal(vfu_dma_find(dma, 0x10000), -1);
	assert_null(vfu_dma_translate(dma, 0x10000, 8, RW));
	assert_int_equal(vfu_dma_find(dma, 0x20000), 0);
	assert_int_equal(vfu_dma_remove(dma, 0x10000, 0x4000, NULL, NULL), 0);
	/* The range is free again. */
	assert_int_equal(vfu_dma_add(dma, 0x10000, 0x4000, -1, 0, RW), 0);
}

struct unmap_log {
	unsigned n;
	uint64_t addr[4];
};

static void log_unmap(void *opaque, uint64_t addr, uint64_t size)
{
	struct unmap_log *l = opaque;

	(void)size;
	if (l->n < 4)
		l->addr[l->n] = addr;
	l->n++;
}

static void test_remove_superset(void **state)
{
	struct vfu_dma *dma = *state;
	struct unmap_log log = { 0 };

	assert_int_equal(vfu_dma_add(dma, 0x10000, 0x1000, -1, 0, RW), 0);
	assert_int_equal(vfu_dma_add(dma, 0x11000, 0x1000, -1, 0, RW), 0);
	assert_int_equal(vfu_dma_add(dma, 0x20000, 0x1000, -1, 0, RW), 0);
	assert_int_equal(vfu_dma_add(dma, 0x40000, 0x1000, -1, 0, RW), 0);
	/* Whole regions inside the range go, each announced first; others stay. */
	assert_int_equal(vfu_dma_remove(dma, 0xf000, 0x12000, log_unmap, &log), 3);
	assert_int_equal(log.n, 3);
	assert_int_equal(log.addr[0], 0x10000);
	assert_int_equal(log.addr[1], 0x11000);
	assert_int_equal(log.addr[2], 0x20000);
	assert_int_equal(dma->count, 1);
	assert_int_equal(dma->regions[0].addr, 0x40000);
	/* A range ending exactly at 2^64 is valid; one past it wraps. */
	assert_int_equal(vfu_dma_remove(dma, 0x30000, 0 - 0x30000ull, NULL, NULL), 1);
	assert_int_equal(dma->count, 0);
	assert_int_equal(vfu_dma_remove(dma, 0x30000, 0 - 0x2f000ull, NULL, NULL), -EINVAL);
}

static void test_remove_all(void **state)
{
	struct vfu_dma *dma = *state;
	int fds[3];

	for (int i = 0; i < 3; i++)
		fds[i] = add_memfd(dma, 0x10000 * (uint64_t)(i + 1), PG, RW);
	assert_int_equal(dma->count, 3);
	vfu_dma_remove_all(dma, NULL, NULL);
	assert_int_equal(dma->count, 0);
	assert_int_equal(dma->mapped_bytes, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(vfu_dma_find(dma, 0x10000 * (uint64_t)(i + 1)), -1);
		close(fds[i]);
	}
	/* Usable afterwards. */
	add_memfd(dma, 0x10000, PG, RW);
	assert_int_equal(vfu_dma_find(dma, 0x10000), 0);
}

/* ---- copies across regions ---- */

static void test_rw_across_adjacent_regions(void **state)
{
	struct vfu_dma *dma = *state;
	int fa = new_memfd(PG), fb = new_memfd(PG);
	uint8_t *a = map_fd(fa, PG), *b = map_fd(fb, PG);
	uint8_t out[64], in[64];

	assert_int_equal(vfu_dma_add(dma, 0x10000, PG, fa, 0, RW), 0);
	assert_int_equal(vfu_dma_add(dma, 0x11000, PG, fb, 0, RW), 0);
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + 1);

	/* 32 bytes before the boundary, 32 after. */
	assert_int_equal(vfu_dma_write(dma, 0x11000 - 32, out, sizeof(out)), 0);
	assert_memory_equal(a + PG - 32, out, 32);
	assert_memory_equal(b, out + 32, 32);

	memset(in, 0, sizeof(in));
	assert_int_equal(vfu_dma_read(dma, 0x11000 - 32, in, sizeof(in)), 0);
	assert_memory_equal(in, out, sizeof(in));

	/* Data written by "the guest" is read back. */
	a[PG - 1] = 0xa1;
	b[0] = 0xb2;
	assert_int_equal(vfu_dma_read(dma, 0x11000 - 1, in, 2), 0);
	assert_int_equal(in[0], 0xa1);
	assert_int_equal(in[1], 0xb2);

	/* Both regions entirely; len 0 is a no-op. */
	{
		uint8_t *big = malloc(2 * PG);

		assert_non_null(big);
		memset(big, 0x3c, 2 * PG);
		assert_int_equal(vfu_dma_write(dma, 0x10000, big, 2 * PG), 0);
		assert_int_equal(a[0], 0x3c);
		assert_int_equal(b[PG - 1], 0x3c);
		assert_int_equal(vfu_dma_read(dma, 0x10000, big, 2 * PG + 1), -EFAULT);
		free(big);
	}
	assert_int_equal(vfu_dma_read(dma, 0x10000, in, 0), 0);
	munmap(a, PG);
	munmap(b, PG);
}

static void test_rw_failures(void **state)
{
	struct vfu_dma *dma = *state;
	uint8_t buf[64] = { 0 };
	int fa = new_memfd(PG);
	uint8_t *a = map_fd(fa, PG);

	assert_int_equal(vfu_dma_add(dma, 0x10000, PG, fa, 0, RW), 0);
	add_memfd(dma, 0x12000, PG, RW);                         /* hole before it */
	add_memfd(dma, 0x13000, PG, VFU_DMA_READ);               /* read only */
	assert_int_equal(vfu_dma_add(dma, 0x14000, PG, -1, 0, RW), 0); /* no fd */

	/* A hole between two regions. */
	assert_int_equal(vfu_dma_write(dma, 0x11000 - 32, buf, sizeof(buf)), -EFAULT);
	assert_int_equal(vfu_dma_read(dma, 0x11000 - 32, buf, sizeof(buf)), -EFAULT);
	/* Starting in the hole, past the last region, before the first. */
	assert_int_equal(vfu_dma_read(dma, 0x11000, buf, 8), -EFAULT);
	assert_int_equal(vfu_dma_read(dma, 0x15000, buf, 8), -EFAULT);
	assert_int_equal(vfu_dma_read(dma, 0x8000, buf, 8), -EFAULT);
	/* Into a read-only region: reading is fine, writing is not. */
	assert_int_equal(vfu_dma_read(dma, 0x13000 - 32, buf, sizeof(buf)), 0);
	assert_int_equal(vfu_dma_write(dma, 0x13000 - 32, buf, sizeof(buf)), -EFAULT);
	assert_int_equal(vfu_dma_write(dma, 0x13000, buf, 8), -EFAULT);
	/* Into a region without fd. */
	assert_int_equal(vfu_dma_read(dma, 0x14000 - 32, buf, sizeof(buf)), -EFAULT);
	assert_int_equal(vfu_dma_read(dma, 0x14000, buf, 8), -EFAULT);

	/* addr + len wrapping around: nothing may be touched. */
	memset(a, 0x77, PG);
	memset(buf, 0x11, sizeof(buf));
	assert_int_equal(vfu_dma_write(dma, 0x10000, buf, UINT64_MAX - 0xff), -EFAULT);
	assert_int_equal(vfu_dma_read(dma, 0x10000, buf, UINT64_MAX), -EFAULT);
	assert_int_equal(a[0], 0x77);
	munmap(a, PG);
}

static void test_rw_wrap_at_top(void **state)
{
	struct vfu_dma *dma = *state;
	uint64_t top = 0xffffffffffffe000ull;
	uint8_t *buf = calloc(1, 0x1020);

	assert_non_null(buf);
	add_memfd(dma, 0, PG, RW);
	add_memfd(dma, top, PG, RW);
	/* [top + PG - 0x10, 2^64 + 0x10): would wrap into the region at 0. */
	assert_int_equal(vfu_dma_read(dma, top + PG - 0x10, buf, 0x1020), -EFAULT);
	assert_int_equal(vfu_dma_write(dma, top + PG - 0x10, buf, 0x1020), -EFAULT);
	assert_int_equal(vfu_dma_write(dma, UINT64_MAX - 0xf, buf, 0x20), -EFAULT);
	assert_int_equal(vfu_dma_read(dma, top, buf, PG), 0);
	free(buf);
}

/* ---- scatter lists ---- */

static void test_to_iov(void **state)
{
	struct vfu_dma *dma = *state;
	struct iovec iov[4];
	uint8_t *pa, *pb;

	add_memfd(dma, 0x10000, PG, RW);
	add_memfd(dma, 0x11000, PG, RW);
	add_memfd(dma, 0x13000, PG, VFU_DMA_READ);
	add_memfd(dma, 0x20000, PG, RW);
	add_memfd(dma, 0x22000, PG, RW);
	pa = vfu_dma_translate(dma, 0x10000, PG, RW);
	pb = vfu_dma_translate(dma, 0x11000, PG, RW);
	assert_non_null(pa);
	assert_non_null(pb);

	/* Inside one region. */
	assert_int_equal(vfu_dma_to_iov(dma, 0x10100, 0x100, RW, iov, 4), 1);
	assert_ptr_equal(iov[0].iov_base, pa + 0x100);
	assert_int_equal(iov[0].iov_len, 0x100);

	/* Across the two adjacent regions. */
	assert_int_equal(vfu_dma_to_iov(dma, 0x10f00, 0x200, RW, iov, 4), 2);
	assert_ptr_equal(iov[0].iov_base, pa + 0xf00);
	assert_int_equal(iov[0].iov_len, 0x100);
	assert_ptr_equal(iov[1].iov_base, pb);
	assert_int_equal(iov[1].iov_len, 0x100);
	assert_int_equal(vfu_dma_to_iov(dma, 0x10f00, 0x200, RW, iov, 1), -ENOSPC);
	assert_int_equal(vfu_dma_to_iov(dma, 0x10f00, 0x100, RW, iov, 1), 1);

	/* Holes, past the end, missing prot, len 0, wrap. */
	assert_int_equal(vfu_dma_to_iov(dma, 0x11f00, 0x200, RW, iov, 4), -EFAULT);
	assert_int_equal(vfu_dma_to_iov(dma, 0x12000, 0x10, RW, iov, 4), -EFAULT);
	assert_int_equal(vfu_dma_to_iov(dma, 0x20f00, 0x200, RW, iov, 4), -EFAULT);
	assert_int_equal(vfu_dma_to_iov(dma, 0x20f00, 0x100, RW, iov, 4), 1);
	assert_int_equal(vfu_dma_to_iov(dma, 0x13f00, 0x200, VFU_DMA_READ, iov, 4), -EFAULT);
	assert_int_equal(vfu_dma_to_iov(dma, 0x13000, 0x10, VFU_DMA_READ, iov, 4), 1);
	assert_int_equal(vfu_dma_to_iov(dma, 0x13000, 0x10, VFU_DMA_WRITE, iov, 4), -EFAULT);
	assert_int_equal(vfu_dma_to_iov(dma, 0x10000, 0, RW, iov, 4), -EFAULT);
	assert_int_equal(vfu_dma_to_iov(dma, 0x10000, UINT64_MAX, RW, iov, 4), -EFAULT);
}

/* ---- fd ownership and backing checks ---- */

static void test_add_closes_fd_on_every_error(void **state)
{
	struct vfu_dma *dma = *state;
	struct vfu_dma small;
	int fd, ro, pfd[2];
	char path[64];

	assert_int_equal(vfu_dma_add(dma, 0x10000, PG, -1, 0, RW), 0);

	fd = new_memfd(PG); /* zero size */
	assert_int_equal(vfu_dma_add(dma, 0x20000, 0, fd, 0, RW), -EINVAL);
	assert_true(fd_is_closed(fd));
	fd = new_memfd(PG); /* wrap */
	assert_int_equal(vfu_dma_add(dma, UINT64_MAX & ~(PG - 1), 2 * PG, fd, 0, RW), -EINVAL);
	assert_true(fd_is_closed(fd));
	fd = new_memfd(PG); /* bad prot */
	assert_int_equal(vfu_dma_add(dma, 0x20000, PG, fd, 0, 0x10), -EINVAL);
	assert_true(fd_is_closed(fd));
	fd = new_memfd(PG); /* overlap */
	assert_int_equal(vfu_dma_add(dma, 0x10000, PG, fd, 0, RW), -EEXIST);
	assert_true(fd_is_closed(fd));
	fd = new_memfd(PG); /* backing too small */
	assert_int_equal(vfu_dma_add(dma, 0x20000, 2 * PG, fd, 0, RW), -EINVAL);
	assert_true(fd_is_closed(fd));
	fd = new_memfd(2 * PG); /* mmap itself fails: offset not page aligned */
	assert_true(vfu_dma_add(dma, 0x20000, PG, fd, 0x800, RW) < 0);
	assert_true(fd_is_closed(fd));

	/* A read-only fd cannot back a writable shared mapping: mmap -EACCES. */
	fd = new_memfd(PG);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(ro >= 0);
	close(fd);
	assert_int_equal(vfu_dma_add(dma, 0x20000, PG, ro, 0, RW), -EACCES);
	assert_true(fd_is_closed(ro));

	/* Not a regular file. */
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(vfu_dma_add(dma, 0x20000, PG, pfd[0], 0, RW), -EINVAL);
	assert_true(fd_is_closed(pfd[0]));
	close(pfd[1]);
	fd = eventfd(0, EFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(vfu_dma_add(dma, 0x20000, PG, fd, 0, RW), -EINVAL);
	assert_true(fd_is_closed(fd));
	/* A directory has a size (4 KiB on ext4) but is no memory either. */
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(vfu_dma_add(dma, 0x20000, PG, fd, 0, VFU_DMA_READ), -EINVAL);
	assert_true(fd_is_closed(fd));

	/* Table full. */
	vfu_dma_init(&small, 1);
	assert_int_equal(vfu_dma_add(&small, 0, PG, -1, 0, RW), 0);
	fd = new_memfd(PG);
	assert_int_equal(vfu_dma_add(&small, 0x10000, PG, fd, 0, RW), -ENOSPC);
	assert_true(fd_is_closed(fd));
	vfu_dma_fini(&small);

	/* None of the failures left anything behind. */
	assert_int_equal(dma->count, 1);
	assert_int_equal(vfu_dma_find(dma, 0x20000), -1);
	assert_int_equal(dma->mapped_bytes, PG);
}

static void test_backing_must_cover_range(void **state)
{
	struct vfu_dma *dma = *state;
	int fd;

	fd = new_memfd(PG);
	assert_int_equal(vfu_dma_add(dma, 0x10000, 2 * PG, fd, 0, RW), -EINVAL);
	fd = new_memfd(PG);
	assert_int_equal(vfu_dma_add(dma, 0x10000, PG, fd, PG, RW), -EINVAL);
	fd = new_memfd(2 * PG);
	assert_int_equal(vfu_dma_add(dma, 0x10000, PG, fd, 4 * PG, RW), -EINVAL);
	fd = new_memfd(2 * PG);
	assert_int_equal(vfu_dma_add(dma, 0x10000, 2 * PG, fd, PG, RW), -EINVAL);
	fd = new_memfd(2 * PG);
	/* offset + size wraps to a small value. */
	assert_int_equal(vfu_dma_add(dma, 0x10000, 2 * PG, fd, UINT64_MAX & ~(PG - 1), RW),
			 -EINVAL);
	fd = new_memfd(2 * PG);
	/* offset inside the file, offset + size wraps to 0 (refused by the byte bound first). */
	assert_int_equal(vfu_dma_add(dma, 0, 0 - 2 * PG, fd, 2 * PG, RW), -ENOSPC);
	fd = new_memfd(2 * PG);
	/* Nearly 2^64 bytes: past the bound on mapped bytes before anything else. */
	assert_int_equal(vfu_dma_add(dma, 0, 0 - PG, fd, PG, RW), -ENOSPC);
	assert_true(fd_is_closed(fd));
	fd = new_memfd(0);
	assert_int_equal(vfu_dma_add(dma, 0x10000, PG, fd, 0, RW), -EINVAL);
	assert_int_equal(dma->count, 0);

	/* Exact fit at an offset; the last byte is accessible (no SIGBUS). */
	fd = new_memfd(2 * PG);
	assert_int_equal(vfu_dma_add(dma, 0x10000, PG, fd, PG, RW), 0);
	{
		uint8_t v = 0x42, r = 0;

		assert_int_equal(vfu_dma_write(dma, 0x10000 + PG - 1, &v, 1), 0);
		assert_int_equal(vfu_dma_read(dma, 0x10000 + PG - 1, &r, 1), 0);
		assert_int_equal(r, 0x42);
	}
}

/* A read-only map needs only a read-only fd, and is mapped read-only. */
static void test_read_only_fd(void **state)
{
	struct vfu_dma *dma = *state;
	int fd = new_memfd(PG), ro;
	uint8_t *mine = map_fd(fd, PG), v = 0;
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(ro >= 0);
	close(fd);
	mine[0x80] = 0x99;
	assert_int_equal(vfu_dma_add(dma, 0x10000, PG, ro, 0, VFU_DMA_READ), 0);
	assert_int_equal(vfu_dma_read(dma, 0x10080, &v, 1), 0);
	assert_int_equal(v, 0x99);
	assert_int_equal(vfu_dma_write(dma, 0x10080, &v, 1), -EFAULT);
	munmap(mine, PG);
}

static void test_max_regions(void **state)
{
	struct vfu_dma dma;
	int fd;

	(void)state;
	vfu_dma_init(&dma, 4);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(vfu_dma_add(&dma, i * 0x10000, PG, -1, 0, RW), 0);
	assert_int_equal(vfu_dma_add(&dma, 0x100000, PG, -1, 0, RW), -ENOSPC);
	fd = new_memfd(PG);
	assert_int_equal(vfu_dma_add(&dma, 0x100000, PG, fd, 0, RW), -ENOSPC);
	assert_true(fd_is_closed(fd));
	assert_int_equal(dma.count, 4);
	assert_int_equal(vfu_dma_remove(&dma, 0x20000, PG, NULL, NULL), 1);
	assert_int_equal(vfu_dma_add(&dma, 0x100000, PG, -1, 0, RW), 0);
	assert_int_equal(vfu_dma_add(&dma, 0x200000, PG, -1, 0, RW), -ENOSPC);
	vfu_dma_fini(&dma);

	/* A table that accepts nothing. */
	vfu_dma_init(&dma, 0);
	assert_int_equal(vfu_dma_add(&dma, 0, PG, -1, 0, RW), -ENOSPC);
	vfu_dma_fini(&dma);
}

/* ---- many regions: ordering and binary search ---- */

#define MANY 1000

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static void test_many_regions_random_order(void **state)
{
	struct vfu_dma *dma = *state;
	static unsigned order[MANY];
	/* Region k: [k * 3 pages, k * 3 pages + size_k), size 1 or 2 pages: holes vary. */
	uint64_t stride = 3 * PG;

	for (unsigned k = 0; k < MANY; k++)
		order[k] = k;
	for (unsigned k = MANY - 1; k > 0; k--) {
		unsigned j = rng() % (k + 1), t = order[k];

		order[k] = order[j];
		order[j] = t;
	}
	for (unsigned n = 0; n < MANY; n++) {
		unsigned k = order[n];

		assert_int_equal(vfu_dma_add(dma, k * stride, (1 + k % 2) * PG, -1, 0, RW), 0);
	}
	assert_int_equal(dma->count, MANY);
	assert_sorted(dma);
	for (unsigned k = 0; k < MANY; k++) {
		uint64_t base = k * stride, size = (1 + k % 2) * PG;

		assert_int_equal(dma->regions[k].addr, base);
		assert_int_equal(vfu_dma_find(dma, base), (int)k);
		assert_int_equal(vfu_dma_find(dma, base + size / 2), (int)k);
		assert_int_equal(vfu_dma_find(dma, base + size - 1), (int)k);
		assert_int_equal(vfu_dma_find(dma, base + size), -1);
		assert_int_equal(vfu_dma_find(dma, base + stride - 1), -1);
		/* Overlaps are still caught with many neighbours. */
		assert_int_equal(vfu_dma_add(dma, base + size - PG, 2 * PG, -1, 0, RW), -EEXIST);
	}

	/* Remove every other one in random order; the rest stays searchable. */
	for (unsigned n = 0; n < MANY; n++) {
		unsigned k = order[n];

		if (k % 2 == 0)
			assert_int_equal(vfu_dma_remove(dma, k * stride, PG, NULL, NULL), 1);
	}
	assert_int_equal(dma->count, MANY / 2);
	assert_sorted(dma);
	for (unsigned k = 0; k < MANY; k++) {
		int want = k % 2 ? (int)(k / 2) : -1;

		assert_int_equal(vfu_dma_find(dma, k * stride + PG - 1), want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_find_translate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_translate_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adjacent_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_superset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rw_across_adjacent_regions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rw_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rw_wrap_at_top, setup, teardown),
		cmocka_unit_test_setup_teardown(test_to_iov, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_closes_fd_on_every_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backing_must_cover_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_fd, setup, teardown),
		cmocka_unit_test(test_max_regions),
		cmocka_unit_test_setup_teardown(test_many_regions_random_order, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
