// SPDX-License-Identifier: MIT
/*
 * Passthrough to an upstream vfio-user server: an upstream daemon serves a
 * testdev, a middle daemon serves it on (passthrough,upstream=) beside a
 * testdev of its own, and the test's client talks to the middle one. The
 * middle daemon must hand on the upstream's region fds, DMA fds and
 * eventfds so that mapped BAR accesses, DMA and interrupts cost it no
 * message, and forward everything else exactly once.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "devices/testdev/testdev.h"
#include "pci/config.h"

#define GUEST_A 0x10000000ull
#define MAP_SIZE 0x10000ull
#define PT_ID "pt0"   /* the passthrough device of the middle daemon */
#define UP_ID "td0"   /* the testdev of the upstream daemon */
#define ROUNDS 100

struct ptest {
	struct itest it; /* first: the itest fixtures take the same state */
	struct test_daemon up;
	int up_baseline;
};

/* ---- fixtures ---- */

static int group_setup(void **state)
{
	struct ptest *p = calloc(1, sizeof(*p));
	struct itest *t = &p->it;

	if (!p || test_daemon_start(&p->up, 1))
		goto fail;
	if (test_daemon_prepare(&t->d, 2))
		goto fail;
	snprintf(t->d.spec[0], sizeof(t->d.spec[0]), "passthrough,upstream=%s,socket=%s,id=%s",
		 p->up.socket[0], t->d.socket[0], PT_ID);
	if (test_daemon_launch(&t->d) || it_baseline(t))
		goto fail;
	p->up_baseline = test_daemon_fd_count(&p->up);
	*state = p;
	return 0;
fail:
	fprintf(stderr, "cannot start the daemons (%s)\n", test_daemon_binary());
	free(p);
	return -1;
}

static int group_teardown(void **state)
{
	struct ptest *p = *state;
	int ret = test_daemon_stop(&p->it.d);

	/* The upstream outlives the middle daemon's connection to it. */
	if (test_daemon_stop(&p->up))
		ret = -1;
	free(p);
	return ret ? -1 : 0;
}

/* The middle daemon's checks, then the upstream's: back at its fds, none of our memory. */
static int teardown(void **state)
{
	struct ptest *p = *state;
	int ret = it_teardown(state), n;

	n = test_daemon_wait_fds(&p->up, p->up_baseline, IT_FD_WAIT_MS);
	if (n != p->up_baseline || test_daemon_mapped_bytes(&p->up, IT_MEMFD_MAPS)) {
		fprintf(stderr, "upstream: %d fds (baseline %d), %lld bytes of our memfds mapped\n",
			n, p->up_baseline,
			(long long)test_daemon_mapped_bytes(&p->up, IT_MEMFD_MAPS));
		return -1;
	}
	return ret;
}

/* ---- helpers ---- */

struct counts {
	uint64_t mid[VFU_CMD_MAX];
	uint64_t up[VFU_CMD_MAX];
};

static void snapshot(struct ptest *p, struct counts *c)
{
	assert_int_equal(test_daemon_stats(&p->it.d, PT_ID, c->mid), 0);
	assert_int_equal(test_daemon_stats(&p->up, UP_ID, c->up), 0);
}

/*
 * Between @a and @b the middle daemon handled exactly @writes REGION_WRITEs
 * and @reads REGION_READs and nothing else, and forwarded each once.
 */
static void assert_only_forwarded(const struct counts *a, const struct counts *b,
				  uint64_t writes, uint64_t reads)
{
	for (unsigned c = 0; c < VFU_CMD_MAX; c++) {
		uint64_t want = c == VFU_CMD_REGION_WRITE ? writes :
				c == VFU_CMD_REGION_READ ? reads : 0;

		if (b->mid[c] - a->mid[c] != want || b->up[c] - a->up[c] != want)
			fail_msg("%s: middle +%llu, upstream +%llu, expected +%llu each",
				 vfu_cmd_name(c), (unsigned long long)(b->mid[c] - a->mid[c]),
				 (unsigned long long)(b->up[c] - a->up[c]),
				 (unsigned long long)want);
	}
}

/* ---- tests ---- */

/* The passthrough device describes itself exactly as a testdev does (device 1). */
static void test_describe(void **state)
{
	struct ptest *p = *state;
	struct vfu_client *td = it_connect(&p->it, 1, true), *pt = p->it.c;
	struct vfu_device_info a, b;
	uint8_t cfg_a[256], cfg_b[256];

	assert_int_equal(vfu_client_get_device_info(pt, &a), 0);
	assert_int_equal(vfu_client_get_device_info(td, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	for (uint32_t i = 0; i < VFU_PCI_NUM_REGIONS; i++) {
		struct vfu_client_region ra, rb;

		assert_int_equal(vfu_client_get_region_info(pt, i, &ra), 0);
		assert_int_equal(vfu_client_get_region_info(td, i, &rb), 0);
		assert_int_equal(ra.info.size, rb.info.size);
		assert_int_equal(ra.info.flags, rb.info.flags);
		assert_int_equal(ra.fd >= 0, rb.fd >= 0);
		assert_int_equal(ra.nr_areas, rb.nr_areas);
		for (unsigned k = 0; k < ra.nr_areas; k++) {
			assert_int_equal(ra.areas[k].offset, rb.areas[k].offset);
			assert_int_equal(ra.areas[k].size, rb.areas[k].size);
		}
		vfu_client_region_release(&ra);
		vfu_client_region_release(&rb);
	}
	for (uint32_t i = 0; i < VFU_PCI_NUM_IRQS; i++) {
		struct vfu_irq_info ia, ib;

		assert_int_equal(vfu_client_get_irq_info(pt, i, &ia), 0);
		assert_int_equal(vfu_client_get_irq_info(td, i, &ib), 0);
		assert_memory_equal(&ia, &ib, sizeof(ia));
	}
	assert_int_equal(vfu_client_region_read(pt, VFU_PCI_CONFIG, 0, cfg_a, sizeof(cfg_a)), 0);
	assert_int_equal(vfu_client_region_read(td, VFU_PCI_CONFIG, 0, cfg_b, sizeof(cfg_b)), 0);
	assert_memory_equal(cfg_a, cfg_b, sizeof(cfg_a));
	it_close(&p->it, td);
}

static void test_registers(void **state)
{
	struct ptest *p = *state;
	struct vfu_client *c = p->it.c;

	assert_int_equal(it_reg_read(c, TESTDEV_ID), TESTDEV_ID_VALUE);
	it_reg_write(c, TESTDEV_LIVENESS, 0x12345678);
	assert_int_equal(it_reg_read(c, TESTDEV_LIVENESS), 0xedcba987);
	it_reg_write(c, TESTDEV_SCRATCH7, 0xa5a5f00d);
	assert_int_equal(it_reg_read(c, TESTDEV_SCRATCH7), 0xa5a5f00d);
	assert_int_equal(it_cfg_read32(c, 0), TESTDEV_DEVICE << 16 | TESTDEV_VENDOR);
}

/*
 * BAR2's mappable pages are the upstream's own memory (its memfd, handed
 * on): accesses through the mapping are seen by the upstream device and
 * cost neither daemon a message.
 */
static void test_bar_mmap(void **state)
{
	struct ptest *p = *state;
	struct vfu_client *c = p->it.c;
	struct vfu_client_region r;
	struct counts a, b;
	volatile uint32_t *w;
	char link[64], target[128];
	ssize_t n;

	assert_int_equal(vfu_client_get_region_info(c, TESTDEV_SHM_BAR, &r), 0);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", r.fd);
	n = readlink(link, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_non_null(strstr(target, "iomed-testdev-shm"));
	assert_int_equal(vfu_client_region_mmap(&r, PROT_READ | PROT_WRITE), 0);
	assert_null(vfu_client_region_ptr(&r, TESTDEV_SHM_TRAP_OFF, 4));
	w = vfu_client_region_ptr(&r, 0, TESTDEV_SHM_TRAP_OFF);
	assert_non_null(w);
	assert_int_equal(w[4], TESTDEV_SHM_PATTERN + 4);

	snapshot(p, &a);
	for (uint32_t i = 0; i < ROUNDS; i++) {
		w[0x100 / 4 + i] = 0xc0de0000 + i;
		assert_int_equal(w[0x100 / 4 + i], 0xc0de0000 + i);
	}
	snapshot(p, &b);
	assert_only_forwarded(&a, &b, 0, 0);

	/* The upstream device reads what we stored, through a forwarded register. */
	it_reg_write(c, TESTDEV_SHM_PEEK_OFF, 0x100 + 4 * (ROUNDS - 1));
	assert_int_equal(it_reg_read(c, TESTDEV_SHM_PEEK), 0xc0de0000 + ROUNDS - 1);
	/* The trapped page goes by message, through both daemons. */
	assert_int_equal(vfu_client_region_read(c, TESTDEV_SHM_BAR, TESTDEV_SHM_TRAP_OFF,
						(void *)&n, 4), 0);
	vfu_client_region_release(&r);
}

/* DMA maps reach the upstream with their fd: it copies guest memory itself. */
static void test_dma(void **state)
{
	struct ptest *p = *state;
	struct vfu_client *c = p->it.c;
	int fd = it_memfd(MAP_SIZE);
	uint8_t *mem = it_map(fd, MAP_SIZE);
	struct counts a, b;

	assert_int_equal(vfu_client_dma_map(c, GUEST_A, MAP_SIZE, fd, 0,
					    VFU_DMA_READ | VFU_DMA_WRITE), 0);
	assert_int_equal(test_daemon_mapped_bytes(&p->up, IT_MEMFD_MAPS), MAP_SIZE);
	it_cfg_command(c, PCI_COMMAND_MASTER, true);
	for (unsigned i = 0; i < 256; i++)
		mem[0x100 + i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(it_dma_run(c, GUEST_A + 0x100, GUEST_A + 0x2000, 256,
				    TESTDEV_DMA_CMD_START),
			 TESTDEV_DMA_STATUS_DONE);
	assert_memory_equal(mem + 0x2000, mem + 0x100, 256);

	/* Memory the client does not have: refused here, never sent upstream. */
	snapshot(p, &a);
	assert_int_equal(vfu_client_dma_map(c, GUEST_A + MAP_SIZE, MAP_SIZE, fd, MAP_SIZE,
					    VFU_DMA_READ), -EINVAL);
	snapshot(p, &b);
	assert_int_equal(b.mid[VFU_CMD_DMA_MAP] - a.mid[VFU_CMD_DMA_MAP], 1);
	assert_int_equal(b.up[VFU_CMD_DMA_MAP], a.up[VFU_CMD_DMA_MAP]);

	/* Unmapped: gone upstream too, the copy faults there. */
	assert_int_equal(vfu_client_dma_unmap(c, GUEST_A, MAP_SIZE, 0), 0);
	it_assert_dma_mapped(&p->it, 0);
	assert_int_equal(test_daemon_mapped_bytes(&p->up, IT_MEMFD_MAPS), 0);
	assert_int_equal(it_dma_run(c, GUEST_A + 0x100, GUEST_A + 0x2000, 256,
				    TESTDEV_DMA_CMD_START),
			 TESTDEV_DMA_STATUS_ERROR | EFAULT);
	munmap(mem, MAP_SIZE);
	close(fd);
}

/*
 * MSI-X eventfds go upstream and stay there: the middle daemon holds none
 * of them, and an interrupt costs it only the register write that raised it.
 */
static void test_msix(void **state)
{
	struct ptest *p = *state;
	struct vfu_client *c = p->it.c;
	struct counts a, b;
	int efd[8];

	for (unsigned v = 0; v < 8; v++)
		efd[v] = it_eventfd();
	assert_int_equal(vfu_client_set_irqs(c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_EVENTFD |
					     VFU_IRQ_SET_ACTION_TRIGGER, 0, 8, efd, 8, NULL, 0),
			 0);
	it_assert_fds(&p->it, 1);
	assert_int_equal(test_daemon_fd_count(&p->up), p->up_baseline + 8);
	it_msix_enable(c, true);

	for (unsigned v = 0; v < 8; v++) {
		it_reg_write(c, TESTDEV_IRQ_RAISE, v);
		for (unsigned k = 0; k < 8; k++)
			assert_int_equal(it_efd_count(efd[k]), k == v ? 1 : 0);
	}
	it_reg_write(c, TESTDEV_IRQ_ACK, 0xff);

	snapshot(p, &a);
	for (unsigned i = 0; i < ROUNDS; i++) {
		it_reg_write(c, TESTDEV_IRQ_RAISE, i % 8);
		assert_int_equal(it_efd_count(efd[i % 8]), 1);
		it_reg_write(c, TESTDEV_IRQ_ACK, 1u << (i % 8));
	}
	snapshot(p, &b);
	assert_only_forwarded(&a, &b, 2 * ROUNDS, 0);

	/* Disabled: the upstream lets go of them. */
	assert_int_equal(vfu_client_set_irqs(c, VFU_PCI_MSIX, VFU_IRQ_SET_DATA_NONE |
					     VFU_IRQ_SET_ACTION_TRIGGER, 0, 0, NULL, 0, NULL, 0),
			 0);
	assert_int_equal(test_daemon_wait_fds(&p->up, p->up_baseline, IT_FD_WAIT_MS),
			 p->up_baseline);
	for (unsigned v = 0; v < 8; v++)
		close(efd[v]);
}

/* INTx and its resample eventfd, both signalled by the upstream directly. */
static void test_intx_resample(void **state)
{
	struct ptest *p = *state;
	struct vfu_client *c = p->it.c;
	int efd = it_eventfd(), rfd = it_eventfd();
	uint64_t one = 1;

	assert_int_equal(vfu_client_set_irqs(c, VFU_PCI_INTX, VFU_IRQ_SET_DATA_EVENTFD |
					     VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, &efd, 1, NULL, 0),
			 0);
	assert_int_equal(vfu_client_set_irqs(c, VFU_PCI_INTX, VFU_IRQ_SET_DATA_EVENTFD |
					     VFU_IRQ_SET_ACTION_UNMASK, 0, 1, &rfd, 1, NULL, 0),
			 0);
	it_assert_fds(&p->it, 1);
	it_reg_write(c, TESTDEV_IRQ_RAISE, 0);
	assert_int_equal(it_efd_count(efd), 1);
	/* The guest's EOI with the line still up: the upstream fires again. */
	assert_int_equal(write(rfd, &one, sizeof(one)), sizeof(one));
	assert_true(it_wait_readable(efd, 2000));
	assert_int_equal(it_efd_count(efd), 1);
	it_reg_write(c, TESTDEV_IRQ_ACK, 1);
	close(efd);
	close(rfd);
}

static void test_reset(void **state)
{
	struct ptest *p = *state;
	struct vfu_client *c = p->it.c;
	uint32_t resets = it_reg_read(c, TESTDEV_RESET_COUNT);

	it_reg_write(c, TESTDEV_SCRATCH0, 0x1234);
	assert_int_equal(vfu_client_reset(c), 0);
	assert_int_equal(it_reg_read(c, TESTDEV_SCRATCH0), 0);
	assert_int_equal(it_reg_read(c, TESTDEV_RESET_COUNT), resets + 1);
}

/*
 * A client that leaves with maps and eventfds: the middle daemon takes them
 * back upstream (teardown checks the upstream holds none) and the next
 * client finds a freshly reset device.
 */
static void test_client_gone(void **state)
{
	struct ptest *p = *state;
	struct vfu_client *c = p->it.c, *c2;
	int fd = it_memfd(MAP_SIZE), efd = it_eventfd();
	uint32_t resets;

	assert_int_equal(vfu_client_dma_map(c, GUEST_A, MAP_SIZE, fd, 0, VFU_DMA_READ), 0);
	assert_int_equal(vfu_client_set_irqs(c, VFU_PCI_ERR, VFU_IRQ_SET_DATA_EVENTFD |
					     VFU_IRQ_SET_ACTION_TRIGGER, 0, 1, &efd, 1, NULL, 0),
			 0);
	resets = it_reg_read(c, TESTDEV_RESET_COUNT);
	it_reg_write(c, TESTDEV_SCRATCH0, 0x77);
	it_close(&p->it, c);
	it_assert_dma_mapped(&p->it, 0);
	assert_int_equal(test_daemon_wait_fds(&p->up, p->up_baseline, IT_FD_WAIT_MS),
			 p->up_baseline);
	c2 = it_connect(&p->it, 0, true);
	assert_int_equal(it_reg_read(c2, TESTDEV_SCRATCH0), 0);
	assert_int_equal(it_reg_read(c2, TESTDEV_RESET_COUNT), resets + 1);
	close(fd);
	close(efd);
}

#define T(f) cmocka_unit_test_setup_teardown(f, it_setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_describe),
		T(test_registers),
		T(test_bar_mmap),
		T(test_dma),
		T(test_msix),
		T(test_intx_resample),
		T(test_reset),
		T(test_client_gone),
	};

	return cmocka_run_group_tests_name("passthrough-upstream", tests, group_setup,
					   group_teardown);
}
