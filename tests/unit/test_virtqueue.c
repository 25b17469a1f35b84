// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/devices/virtio/virtqueue.c against well-formed and
 * hostile split rings. Guest memory is two adjacent memfd-backed DMA maps,
 * so chains may cross from one to the other.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/virtqueue.h"
#include "vfio-user/wire.h"

#define MAP_A 0x10000ull
#define MAP_B 0x50000ull /* right after A */
#define MAP_SIZE 0x40000ull
#define QSIZE 8
#define DESC 0x10000ull
#define AVAIL 0x11000ull
#define USED 0x12000ull
#define BUF 0x20000ull
#define NIOV 16

struct fake {
	struct vfu_dma dma;
	uint8_t *view[2];
	struct virtqueue vq;
	struct iovec iov[NIOV];
	struct vq_chain c;
	uint16_t avail_idx;
};

static uint8_t *g(struct fake *f, uint64_t addr)
{
	if (addr >= MAP_A && addr < MAP_A + MAP_SIZE)
		return f->view[0] + (addr - MAP_A);
	assert_true(addr >= MAP_B && addr < MAP_B + MAP_SIZE);
	return f->view[1] + (addr - MAP_B);
}

static void add_map(struct fake *f, unsigned i, uint64_t addr)
{
	int fd = memfd_create("iomed-test-vq", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, MAP_SIZE), 0);
	f->view[i] = mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(f->view[i] != MAP_FAILED);
	assert_int_equal(vfu_dma_add(&f->dma, addr, MAP_SIZE, fd, 0,
				     VFU_DMA_READ | VFU_DMA_WRITE), 0);
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	vfu_dma_init(&f->dma, 16);
	add_map(f, 0, MAP_A);
	add_map(f, 1, MAP_B);
	f->vq.size = QSIZE;
	f->vq.desc_addr = DESC;
	f->vq.avail_addr = AVAIL;
	f->vq.used_addr = USED;
	f->vq.indirect = true;
	f->vq.dma = &f->dma;
	vq_reset(&f->vq);
	assert_int_equal(vq_map(&f->vq), 0);
	f->c.iov = f->iov;
	f->c.max_iov = NIOV;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	vfu_dma_fini(&f->dma);
	munmap(f->view[0], MAP_SIZE);
	munmap(f->view[1], MAP_SIZE);
	free(f);
	return 0;
}

/* ---- guest-side helpers ---- */

static void set_desc_at(struct fake *f, uint64_t table, unsigned i, uint64_t addr,
			uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = { addr, len, flags, next };

	memcpy(g(f, table + 16ull * i), &d, sizeof(d));
}

static void set_desc(struct fake *f, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	set_desc_at(f, DESC, i, addr, len, flags, next);
}

static struct vring_avail *avail(struct fake *f)
{
	return (struct vring_avail *)g(f, AVAIL);
}

static struct vring_used *used(struct fake *f)
{
	return (struct vring_used *)g(f, USED);
}

static void publish(struct fake *f, uint16_t head)
{
	avail(f)->ring[f->avail_idx % QSIZE] = head;
	avail(f)->idx = ++f->avail_idx;
}

static uint16_t *used_event(struct fake *f)
{
	return &avail(f)->ring[QSIZE];
}

static uint16_t *avail_event(struct fake *f)
{
	return (uint16_t *)&used(f)->ring[QSIZE];
}

/* Does @p (the table's own mapping) show guest memory at @addr? */
static bool same_mem(struct fake *f, void *p, uint64_t addr)
{
	uint8_t *q = p;

	*g(f, addr) = 0xa5;
	if (*q != 0xa5)
		return false;
	*g(f, addr) = 0x5a;
	return *q == 0x5a;
}

static void expect_broken(struct fake *f)
{
	assert_int_equal(vq_pop(&f->vq, &f->c), -EIO);
	assert_true(f->vq.broken);
	assert_non_null(f->vq.why);
	/* Broken stays broken. */
	assert_int_equal(vq_pop(&f->vq, &f->c), -EIO);
}

/* The device pops one chain at @head of @out_num readable and @in_num writable pieces. */
static void expect_chain(struct fake *f, uint16_t head, unsigned out_num, unsigned in_num,
			 uint32_t out_len, uint32_t in_len)
{
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.head, head);
	assert_int_equal(f->c.out_num, out_num);
	assert_int_equal(f->c.in_num, in_num);
	assert_int_equal(f->c.out_len, out_len);
	assert_int_equal(f->c.in_len, in_len);
}

/* The driver makes @head available; the device must break on it. */
static void expect_head_broken(struct fake *f, uint16_t head)
{
	publish(f, head);
	expect_broken(f);
}

/* The same with descriptor 0 (set here) as the head. */
static void expect_desc_broken(struct fake *f, uint64_t addr, uint32_t len, uint16_t flags,
			       uint16_t next)
{
	set_desc(f, 0, addr, len, flags, next);
	expect_head_broken(f, 0);
}

/* Both sides' ring indices start at @idx (to run them through a wrap). */
static void start_at(struct fake *f, uint16_t idx)
{
	f->vq.last_avail = f->vq.shadow_avail = idx;
	f->vq.used_idx = idx;
	f->avail_idx = idx;
	avail(f)->idx = idx;
}

/* The driver offers descriptor 0, the device uses it (10 bytes) and publishes that. */
static void complete_one(struct fake *f)
{
	publish(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	vq_push(&f->vq, 0, 10);
	vq_flush(&f->vq);
}

/* ---- correct operation ---- */

static void test_empty(void **state)
{
	struct fake *f = *state;

	assert_int_equal(vq_pop(&f->vq, &f->c), 0);
	assert_false(vq_avail(&f->vq));
}

static void test_pop_push(void **state)
{
	struct fake *f = *state;

	set_desc(f, 3, BUF, 100, VRING_DESC_F_NEXT, 5);
	set_desc(f, 5, BUF + 0x1000, 200, VRING_DESC_F_WRITE, 0);
	publish(f, 3);
	assert_true(vq_avail(&f->vq));
	expect_chain(f, 3, 1, 1, 100, 200);
	assert_true(same_mem(f, f->iov[0].iov_base, BUF));
	assert_true(same_mem(f, f->iov[1].iov_base, BUF + 0x1000));
	assert_int_equal(vq_pop(&f->vq, &f->c), 0);

	vq_push(&f->vq, 3, 42);
	assert_int_equal(used(f)->idx, 0); /* not yet published */
	vq_flush(&f->vq);
	assert_int_equal(used(f)->idx, 1);
	assert_int_equal(used(f)->ring[0].id, 3);
	assert_int_equal(used(f)->ring[0].len, 42);
}

static void test_unpop(void **state)
{
	struct fake *f = *state;

	set_desc(f, 0, BUF, 64, VRING_DESC_F_WRITE, 0);
	set_desc(f, 1, BUF + 64, 64, VRING_DESC_F_WRITE, 0);
	publish(f, 0);
	publish(f, 1);
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	vq_unpop(&f->vq, 2);
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.head, 0);
}

static void test_span_maps(void **state)
{
	struct fake *f = *state;

	/* One descriptor straddling the boundary between the two DMA maps. */
	set_desc(f, 0, MAP_B - 0x10, 0x30, 0, 0);
	publish(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.out_num, 2);
	assert_int_equal(f->c.out_len, 0x30);
	assert_true(same_mem(f, f->iov[0].iov_base, MAP_B - 0x10));
	assert_int_equal(f->iov[0].iov_len, 0x10);
	assert_true(same_mem(f, f->iov[1].iov_base, MAP_B));
	assert_int_equal(f->iov[1].iov_len, 0x20);
}

static void test_indirect(void **state)
{
	struct fake *f = *state;
	uint64_t tbl = MAP_B + 0x100;

	set_desc_at(f, tbl, 0, BUF, 12, VRING_DESC_F_NEXT, 2);
	set_desc_at(f, tbl, 2, BUF + 12, 1000, VRING_DESC_F_NEXT, 1);
	set_desc_at(f, tbl, 1, BUF + 0x2000, 1500, VRING_DESC_F_WRITE, 0);
	set_desc(f, 4, tbl, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(f, 4);
	expect_chain(f, 4, 2, 1, 1012, 1500);
	assert_false(f->vq.broken);
}

static void test_zero_length_desc(void **state)
{
	struct fake *f = *state;

	set_desc(f, 0, BUF, 0, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 10, 0, 0);
	publish(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	assert_int_equal(f->c.out_num, 1);
	assert_int_equal(f->c.out_len, 10);
}

static void test_ring_wrap(void **state)
{
	struct fake *f = *state;

	/* Indices run through 65535 -> 0 many times over. */
	start_at(f, 0xfff0);
	set_desc(f, 0, BUF, 10, VRING_DESC_F_WRITE, 0);
	for (unsigned i = 0; i < 40; i++)
		complete_one(f);
	assert_int_equal(used(f)->idx, (uint16_t)(0xfff0 + 40));
	assert_false(f->vq.broken);
}

/* ---- interrupt and kick suppression ---- */

static void test_no_interrupt_flag(void **state)
{
	struct fake *f = *state;

	set_desc(f, 0, BUF, 10, VRING_DESC_F_WRITE, 0);
	complete_one(f);
	avail(f)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_false(vq_needs_interrupt(&f->vq));
	/* Nothing new: no interrupt whatever the flags say. */
	avail(f)->flags = 0;
	assert_false(vq_needs_interrupt(&f->vq));
	complete_one(f);
	assert_true(vq_needs_interrupt(&f->vq));
}

static void test_event_idx(void **state)
{
	struct fake *f = *state;

	f->vq.event_idx = true;
	set_desc(f, 0, BUF, 10, VRING_DESC_F_WRITE, 0);
	complete_one(f);
	assert_true(vq_needs_interrupt(&f->vq)); /* the first decision always signals */
	/* The driver wants an interrupt when used idx passes 3. */
	*used_event(f) = 3;
	complete_one(f); /* used 2 */
	assert_false(vq_needs_interrupt(&f->vq));
	complete_one(f); /* used 3 */
	assert_false(vq_needs_interrupt(&f->vq));
	complete_one(f); /* used 4: crossed 3 */
	assert_true(vq_needs_interrupt(&f->vq));
	/* Several at once crossing the event also signal. */
	*used_event(f) = 5;
	complete_one(f);
	complete_one(f);
	complete_one(f); /* 4 -> 7 */
	assert_true(vq_needs_interrupt(&f->vq));
}

static void test_event_idx_wrap(void **state)
{
	struct fake *f = *state;

	f->vq.event_idx = true;
	start_at(f, 0xfffd);
	set_desc(f, 0, BUF, 10, VRING_DESC_F_WRITE, 0);
	complete_one(f); /* used 0xfffe */
	assert_true(vq_needs_interrupt(&f->vq));
	*used_event(f) = 0x0000; /* interrupt once used idx moves past 0 */
	complete_one(f); /* 0xffff */
	assert_false(vq_needs_interrupt(&f->vq));
	complete_one(f); /* 0x0000 */
	assert_false(vq_needs_interrupt(&f->vq));
	complete_one(f); /* 0x0001: crossed */
	assert_true(vq_needs_interrupt(&f->vq));
	/* An event far behind (stale) does not signal. */
	*used_event(f) = 0x8000;
	complete_one(f);
	assert_false(vq_needs_interrupt(&f->vq));
}

static void test_notify_suppression(void **state)
{
	struct fake *f = *state;

	assert_false(vq_set_notify(&f->vq, false));
	assert_int_equal(used(f)->flags, VRING_USED_F_NO_NOTIFY);
	assert_false(vq_set_notify(&f->vq, true));
	assert_int_equal(used(f)->flags, 0);
	/* A chain that arrived while kicks were off is reported on re-enable. */
	vq_set_notify(&f->vq, false);
	set_desc(f, 0, BUF, 10, 0, 0);
	publish(f, 0);
	assert_true(vq_set_notify(&f->vq, true));
}

static void test_notify_event_idx(void **state)
{
	struct fake *f = *state;

	f->vq.event_idx = true;
	set_desc(f, 0, BUF, 10, 0, 0);
	*avail_event(f) = 0x1234;
	assert_false(vq_set_notify(&f->vq, false));
	assert_int_equal(*avail_event(f), 0x1234); /* left alone: stale means no kicks */
	assert_int_equal(used(f)->flags, 0);
	publish(f, 0);
	publish(f, 0);
	assert_true(vq_set_notify(&f->vq, true));
	assert_int_equal(*avail_event(f), 2);
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	assert_false(vq_set_notify(&f->vq, true));
	assert_int_equal(*avail_event(f), 2);
}

/* ---- mapping ---- */

static void test_map_errors(void **state)
{
	struct fake *f = *state;

	f->vq.used_addr = 0x900000; /* not mapped: may be mapped later */
	assert_int_equal(vq_map(&f->vq), -EFAULT);
	assert_false(f->vq.broken);
	assert_int_equal(vq_pop(&f->vq, &f->c), 0);
	f->vq.used_addr = USED + 2; /* misaligned: the driver broke the rules */
	assert_int_equal(vq_map(&f->vq), -EINVAL);
	assert_true(f->vq.broken);
	vq_reset(&f->vq);
	f->vq.used_addr = USED;
	f->vq.size = 6;
	assert_int_equal(vq_map(&f->vq), -EINVAL);
	vq_reset(&f->vq);
	f->vq.size = QSIZE;
	/* The desc table may not hang over the end of guest memory. */
	f->vq.desc_addr = MAP_B + MAP_SIZE - 16 * (QSIZE - 1);
	assert_int_equal(vq_map(&f->vq), -EFAULT);
}

/* ---- hostile rings ---- */

static void test_loop(void **state)
{
	struct fake *f = *state;

	set_desc(f, 1, BUF, 10, VRING_DESC_F_NEXT, 0);
	expect_desc_broken(f, BUF, 10, VRING_DESC_F_NEXT, 1);
}

static void test_self_loop(void **state)
{
	struct fake *f = *state;

	set_desc(f, 2, BUF, 10, VRING_DESC_F_NEXT, 2);
	expect_head_broken(f, 2);
}

static void test_chain_longer_than_ring(void **state)
{
	struct fake *f = *state;

	/* An indirect table of QSIZE entries after a direct one: QSIZE + 1. */
	uint64_t tbl = BUF + 0x4000;

	for (unsigned i = 0; i < QSIZE; i++)
		set_desc_at(f, tbl, i, BUF, 1, i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0, i + 1);
	set_desc(f, 1, tbl, QSIZE * 16, VRING_DESC_F_INDIRECT, 0);
	expect_desc_broken(f, BUF, 1, VRING_DESC_F_NEXT, 1);
}

static void test_addr_out_of_range(void **state)
{
	expect_desc_broken(*state, 0x1000, 10, 0, 0);
}

static void test_len_past_map(void **state)
{
	expect_desc_broken(*state, MAP_B + MAP_SIZE - 8, 16, 0, 0);
}

static void test_addr_wraps(void **state)
{
	expect_desc_broken(*state, UINT64_MAX - 4, 0x100, 0, 0);
}

static void test_bad_head(void **state)
{
	expect_head_broken(*state, QSIZE);
}

static void test_bad_next(void **state)
{
	expect_desc_broken(*state, BUF, 10, VRING_DESC_F_NEXT, 0xffff);
}

static void test_avail_idx_jump(void **state)
{
	struct fake *f = *state;

	set_desc(f, 0, BUF, 10, 0, 0);
	avail(f)->idx = QSIZE + 1;
	expect_broken(f);
	assert_false(vq_avail(&f->vq));
}

static void test_avail_idx_full_ring_ok(void **state)
{
	struct fake *f = *state;

	set_desc(f, 0, BUF, 10, 0, 0);
	for (unsigned i = 0; i < QSIZE; i++)
		publish(f, 0);
	for (unsigned i = 0; i < QSIZE; i++)
		assert_int_equal(vq_pop(&f->vq, &f->c), 1);
	assert_int_equal(vq_pop(&f->vq, &f->c), 0);
}

static void test_write_then_read(void **state)
{
	struct fake *f = *state;

	set_desc(f, 1, BUF, 10, 0, 0);
	expect_desc_broken(f, BUF, 10, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
}

static void test_indirect_bad_len(void **state)
{
	static const uint32_t lens[] = { 0, 15, 17, (QSIZE + 1) * 16, 0xfffffff0 };
	struct fake *f = *state;

	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		vq_reset(&f->vq);
		assert_int_equal(vq_map(&f->vq), 0);
		f->avail_idx = 0;
		expect_desc_broken(f, BUF + 0x4000, lens[i], VRING_DESC_F_INDIRECT, 0);
	}
}

static void test_indirect_outside(void **state)
{
	struct fake *f = *state;

	/* Entry 0 is the last 16 bytes of guest memory, entry 1 past its end. */
	set_desc_at(f, MAP_B + MAP_SIZE - 16, 0, BUF, 10, VRING_DESC_F_NEXT, 1);
	expect_desc_broken(f, MAP_B + MAP_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
}

static void test_nested_indirect(void **state)
{
	struct fake *f = *state;
	uint64_t tbl = BUF + 0x4000, tbl2 = BUF + 0x5000;

	set_desc_at(f, tbl2, 0, BUF, 10, 0, 0);
	set_desc_at(f, tbl, 0, tbl2, 16, VRING_DESC_F_INDIRECT, 0);
	expect_desc_broken(f, tbl, 16, VRING_DESC_F_INDIRECT, 0);
}

static void test_indirect_with_next(void **state)
{
	struct fake *f = *state;
	uint64_t tbl = BUF + 0x4000;

	set_desc_at(f, tbl, 0, BUF, 10, 0, 0);
	set_desc(f, 1, BUF, 10, 0, 0);
	expect_desc_broken(f, tbl, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
}

static void test_indirect_loop(void **state)
{
	struct fake *f = *state;
	uint64_t tbl = BUF + 0x4000;

	set_desc_at(f, tbl, 0, BUF, 10, VRING_DESC_F_NEXT, 1);
	set_desc_at(f, tbl, 1, BUF, 10, VRING_DESC_F_NEXT, 0);
	expect_desc_broken(f, tbl, 32, VRING_DESC_F_INDIRECT, 0);
}

static void test_indirect_next_out_of_table(void **state)
{
	struct fake *f = *state;
	uint64_t tbl = BUF + 0x4000;

	set_desc_at(f, tbl, 0, BUF, 10, VRING_DESC_F_NEXT, 2); /* table has 2 entries */
	expect_desc_broken(f, tbl, 32, VRING_DESC_F_INDIRECT, 0);
}

static void test_indirect_not_negotiated(void **state)
{
	struct fake *f = *state;
	uint64_t tbl = BUF + 0x4000;

	f->vq.indirect = false;
	set_desc_at(f, tbl, 0, BUF, 10, 0, 0);
	expect_desc_broken(f, tbl, 16, VRING_DESC_F_INDIRECT, 0);
}

static void test_too_many_iov(void **state)
{
	struct fake *f = *state;

	f->c.max_iov = 1;
	expect_desc_broken(f, MAP_B - 0x10, 0x20, 0, 0); /* needs two iovecs */
}

static void test_broken_is_inert(void **state)
{
	struct fake *f = *state;

	vq_break(&f->vq, "test");
	vq_push(&f->vq, 0, 1);
	vq_flush(&f->vq);
	assert_int_equal(used(f)->idx, 0);
	assert_false(vq_needs_interrupt(&f->vq));
	assert_false(vq_set_notify(&f->vq, true));
	assert_string_equal(f->vq.why, "test");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_empty), T(test_pop_push), T(test_unpop), T(test_span_maps),
		T(test_indirect), T(test_zero_length_desc), T(test_ring_wrap),
		T(test_no_interrupt_flag), T(test_event_idx), T(test_event_idx_wrap),
		T(test_notify_suppression), T(test_notify_event_idx), T(test_map_errors),
		T(test_loop), T(test_self_loop), T(test_chain_longer_than_ring),
		T(test_addr_out_of_range), T(test_len_past_map), T(test_addr_wraps),
		T(test_bad_head), T(test_bad_next), T(test_avail_idx_jump),
		T(test_avail_idx_full_ring_ok), T(test_write_then_read), T(test_indirect_bad_len),
		T(test_indirect_outside), T(test_nested_indirect), T(test_indirect_with_next),
		T(test_indirect_loop), T(test_indirect_next_out_of_table),
		T(test_indirect_not_negotiated), T(test_too_many_iov), T(test_broken_is_inert),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
