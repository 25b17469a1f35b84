// SPDX-License-Identifier: MIT
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "devices/testdev/testdev.h"
#include "pci/config.h"

/* ---- fixtures ---- */

int it_baseline(struct itest *t)
{
	/* Let the daemon settle: every socket made, nothing else in flight. */
	usleep(50 * 1000);
	for (unsigned dev = 0; dev < t->d.ndev; dev++)
		t->pids[dev] = test_daemon_device_pid(&t->d, dev);
	t->baseline = test_daemon_fd_count(&t->d);
	return t->baseline > 0 ? 0 : -1;
}

static int group_setup(void **state, unsigned ndev)
{
	struct itest *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	if (test_daemon_start(&t->d, ndev) || it_baseline(t)) {
		fprintf(stderr, "cannot start %s\n", test_daemon_binary());
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

int it_group_setup_1dev(void **state)
{
	return group_setup(state, 1);
}

int it_group_setup_2dev(void **state)
{
	return group_setup(state, 2);
}

int it_group_teardown(void **state)
{
	struct itest *t = *state;
	int ret = test_daemon_stop(&t->d);

	if (ret)
		fprintf(stderr, "daemon stop: %s\n", strerror(-ret));
	free(t);
	return ret ? -1 : 0;
}

struct vfu_client *it_connect(struct itest *t, unsigned dev, bool negotiate)
{
	struct vfu_client *c = NULL;
	unsigned i;

	for (i = 0; i < IT_MAX_CLIENTS && t->clients[i]; i++)
		;
	assert_true(i < IT_MAX_CLIENTS);
	assert_int_equal(vfu_client_connect(&c, t->d.socket[dev]), 0);
	t->clients[i] = c;
	if (negotiate)
		assert_int_equal(vfu_client_negotiate(c, NULL), 0);
	return c;
}

void it_close(struct itest *t, struct vfu_client *c)
{
	for (unsigned i = 0; i < IT_MAX_CLIENTS; i++)
		if (t->clients[i] == c)
			t->clients[i] = NULL;
	if (t->c == c)
		t->c = NULL;
	vfu_client_close(c);
}

static int setup(void **state, bool negotiate)
{
	struct itest *t = *state;

	t->c = it_connect(t, 0, negotiate);
	return 0;
}

int it_setup(void **state)
{
	return setup(state, true);
}

int it_setup_raw(void **state)
{
	return setup(state, false);
}

void it_assert_fds(struct itest *t, int extra)
{
	int want = t->baseline + extra;
	int n = test_daemon_wait_fds(&t->d, want, IT_FD_WAIT_MS);

	assert_true(test_daemon_alive(&t->d));
	if (n != want)
		fprintf(stderr, "daemon fds: %d, expected %d (baseline %d + %d)\n", n, want,
			t->baseline, extra);
	assert_int_equal(n, want);
}

void it_assert_serves(struct itest *t, unsigned dev)
{
	struct vfu_client *c = it_connect(t, dev, true);

	assert_int_equal(it_reg_read(c, TESTDEV_ID), TESTDEV_ID_VALUE);
	it_close(t, c);
}

void it_assert_serves_at(const char *path)
{
	struct vfu_client *c = NULL;
	uint32_t id = 0;

	assert_int_equal(vfu_client_connect(&c, path), 0);
	assert_int_equal(vfu_client_negotiate(c, NULL), 0);
	assert_int_equal(vfu_client_region_read(c, VFU_PCI_BAR0, TESTDEV_ID, &id, 4), 0);
	vfu_client_close(c);
	assert_int_equal(id, TESTDEV_ID_VALUE);
}

void it_assert_dma_mapped(struct itest *t, uint64_t bytes)
{
	int64_t n = test_daemon_mapped_bytes(&t->d, IT_MEMFD_MAPS);

	/* A client that just left: the daemon unmaps after closing its socket. */
	for (int i = 0; i < IT_FD_WAIT_MS / 10 && n >= 0 && (uint64_t)n != bytes; i++) {
		usleep(10 * 1000);
		n = test_daemon_mapped_bytes(&t->d, IT_MEMFD_MAPS);
	}
	assert_true(n >= 0);
	if ((uint64_t)n != bytes)
		fprintf(stderr, "daemon maps %#llx bytes of our memfds, expected %#llx\n",
			(unsigned long long)n, (unsigned long long)bytes);
	assert_true((uint64_t)n == bytes);
}

void it_assert_no_spin(struct itest *t)
{
	long before = test_daemon_cpu_ms(&t->d), used;

	assert_true(before >= 0);
	usleep(IT_SPIN_WINDOW_MS * 1000);
	assert_true(test_daemon_alive(&t->d));
	used = test_daemon_cpu_ms(&t->d) - before;
	if (used >= IT_SPIN_MAX_CPU_MS)
		fail_msg("the daemon used %ld ms of CPU in %d ms: it spins", used,
			 IT_SPIN_WINDOW_MS);
}

int64_t it_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_clients(struct itest *t)
{
	for (unsigned i = 0; i < IT_MAX_CLIENTS; i++) {
		if (t->clients[i])
			vfu_client_close(t->clients[i]);
		t->clients[i] = NULL;
	}
	t->c = NULL;
}

/* The checks every test ends with; failures are reported, not asserted. */
static int check_clean(struct itest *t)
{
	int n;

	if (!test_daemon_alive(&t->d)) {
		fprintf(stderr, "the daemon died\n");
		return -1;
	}
	for (unsigned dev = 0; dev < t->d.ndev; dev++) {
		if (test_daemon_device_pid(&t->d, dev) != t->pids[dev]) {
			fprintf(stderr, "the process of device %u died\n", dev);
			return -1;
		}
	}
	n = test_daemon_wait_fds(&t->d, t->baseline, IT_FD_WAIT_MS);
	if (n != t->baseline) {
		fprintf(stderr, "daemon fds after the test: %d, baseline %d\n", n, t->baseline);
		return -1;
	}
	for (unsigned dev = 0; dev < t->d.ndev; dev++) {
		struct vfu_client *c = NULL;
		uint32_t id = 0;
		int ret;

		ret = vfu_client_connect(&c, t->d.socket[dev]);
		if (!ret)
			ret = vfu_client_negotiate(c, NULL);
		if (!ret)
			ret = vfu_client_region_read(c, VFU_PCI_BAR0, TESTDEV_ID, &id, 4);
		vfu_client_close(c);
		if (ret || id != TESTDEV_ID_VALUE) {
			fprintf(stderr, "a new client on device %u is not served: %s (id %#x)\n",
				dev, strerror(-ret), id);
			return -1;
		}
	}
	n = test_daemon_wait_fds(&t->d, t->baseline, IT_FD_WAIT_MS);
	if (n != t->baseline) {
		fprintf(stderr, "daemon fds after a fresh client: %d, baseline %d\n", n,
			t->baseline);
		return -1;
	}
	/* The fresh client was served, so the last session's maps are gone by now. */
	if (test_daemon_mapped_bytes(&t->d, IT_MEMFD_MAPS)) {
		fprintf(stderr, "the daemon still maps our memfds after the client left\n");
		return -1;
	}
	return 0;
}

int it_teardown(void **state)
{
	struct itest *t = *state;
	unsigned ndev = t->d.ndev;
	int ret;

	close_clients(t);
	ret = check_clean(t);
	if (!ret)
		return 0;
	usleep(100 * 1000); /* a daemon on its way out is not alive */
	if (!test_daemon_alive(&t->d)) {
		/* Keep the rest of the group running on a fresh daemon (stop shows the log). */
		test_daemon_stop(&t->d);
		if (test_daemon_start(&t->d, ndev) || it_baseline(t))
			fprintf(stderr, "cannot restart the daemon\n");
	} else {
		test_daemon_dump_log(&t->d, "after a failed test");
		/* Start the next test from wherever the daemon is now. */
		usleep(500 * 1000); /* a device process being restarted */
		it_baseline(t);
	}
	return -1;
}

/* ---- registers and config space ---- */

uint32_t it_reg_read(struct vfu_client *c, uint32_t off)
{
	uint32_t v = 0;

	assert_int_equal(vfu_client_region_read(c, VFU_PCI_BAR0, off, &v, 4), 0);
	return v;
}

void it_reg_write(struct vfu_client *c, uint32_t off, uint32_t v)
{
	assert_int_equal(vfu_client_region_write(c, VFU_PCI_BAR0, off, &v, 4), 0);
}

uint16_t it_cfg_read16(struct vfu_client *c, uint32_t off)
{
	uint16_t v = 0;

	assert_int_equal(vfu_client_region_read(c, VFU_PCI_CONFIG, off, &v, 2), 0);
	return v;
}

uint32_t it_cfg_read32(struct vfu_client *c, uint32_t off)
{
	uint32_t v = 0;

	assert_int_equal(vfu_client_region_read(c, VFU_PCI_CONFIG, off, &v, 4), 0);
	return v;
}

void it_cfg_write16(struct vfu_client *c, uint32_t off, uint16_t v)
{
	assert_int_equal(vfu_client_region_write(c, VFU_PCI_CONFIG, off, &v, 2), 0);
}

void it_cfg_write32(struct vfu_client *c, uint32_t off, uint32_t v)
{
	assert_int_equal(vfu_client_region_write(c, VFU_PCI_CONFIG, off, &v, 4), 0);
}

void it_cfg_command(struct vfu_client *c, uint16_t bits, bool on)
{
	uint16_t cmd = it_cfg_read16(c, PCI_COMMAND);

	cmd = on ? cmd | bits : cmd & ~bits;
	it_cfg_write16(c, PCI_COMMAND, cmd);
	assert_int_equal(it_cfg_read16(c, PCI_COMMAND) & bits, on ? bits : 0);
}

#define TESTDEV_MSIX_CAP 0x50

void it_msix_enable(struct vfu_client *c, bool on)
{
	uint32_t off = TESTDEV_MSIX_CAP + PCI_MSIX_FLAGS;
	uint16_t ctl = it_cfg_read16(c, off);

	ctl = on ? ctl | PCI_MSIX_FLAGS_ENABLE : ctl & ~PCI_MSIX_FLAGS_ENABLE;
	it_cfg_write16(c, off, ctl);
	assert_int_equal(it_cfg_read16(c, off) & PCI_MSIX_FLAGS_ENABLE,
			 on ? PCI_MSIX_FLAGS_ENABLE : 0);
}

void it_set_irq_fds(struct vfu_client *c, uint32_t index, uint32_t action, uint32_t start,
		    uint32_t count, const int *fds)
{
	assert_int_equal(vfu_client_set_irqs(c, index, VFU_IRQ_SET_DATA_EVENTFD | action, start,
					     count, fds, fds ? count : 0, NULL, 0), 0);
}

void it_set_irq_none(struct vfu_client *c, uint32_t index, uint32_t action, uint32_t start,
		     uint32_t count)
{
	assert_int_equal(vfu_client_set_irqs(c, index, VFU_IRQ_SET_DATA_NONE | action, start,
					     count, NULL, 0, NULL, 0), 0);
}

uint32_t it_dma_run(struct vfu_client *c, uint64_t src, uint64_t dst, uint32_t len,
		    uint32_t cmd)
{
	it_reg_write(c, TESTDEV_DMA_SRC_LO, (uint32_t)src);
	it_reg_write(c, TESTDEV_DMA_SRC_HI, (uint32_t)(src >> 32));
	it_reg_write(c, TESTDEV_DMA_DST_LO, (uint32_t)dst);
	it_reg_write(c, TESTDEV_DMA_DST_HI, (uint32_t)(dst >> 32));
	it_reg_write(c, TESTDEV_DMA_LEN, len);
	it_reg_write(c, TESTDEV_DMA_CMD, cmd);
	return it_reg_read(c, TESTDEV_DMA_STATUS);
}

void it_assert_dma_free(struct vfu_client *c, uint64_t addr, uint64_t size)
{
	assert_int_equal(vfu_client_dma_map(c, addr, size, -1, 0, VFU_DMA_READ), 0);
	assert_int_equal(vfu_client_dma_unmap(c, addr, size, 0), 0);
}

/* ---- fds ---- */

int it_memfd(size_t size)
{
	int fd = memfd_create("iomed-it", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	return fd;
}

void *it_map(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

int it_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(fd >= 0);
	return fd;
}

uint64_t it_efd_count(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v)) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return v;
}

bool it_wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* ---- hand-built messages ---- */

uint16_t it_send(struct vfu_client *c, uint16_t cmd, uint32_t flags, uint32_t msg_size,
		 const void *payload, size_t len, const int *fds, unsigned nfds)
{
	struct vfu_hdr h = {
		.msg_id = vfu_client_take_id(c), .cmd = cmd, .msg_size = msg_size, .flags = flags,
	};
	uint8_t *buf = malloc(sizeof(h) + len);

	assert_non_null(buf);
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), payload, len);
	assert_int_equal(vfu_client_send_raw(c, buf, sizeof(h) + len, fds, nfds), 0);
	free(buf);
	return h.msg_id;
}

uint16_t it_send_cmd(struct vfu_client *c, uint16_t cmd, uint32_t flags, const void *payload,
		     size_t len, const int *fds, unsigned nfds)
{
	return it_send(c, cmd, flags, sizeof(struct vfu_hdr) + len, payload, len, fds, nfds);
}

void it_expect_error(struct vfu_client *c, uint16_t id, uint16_t cmd, int err)
{
	struct vfu_hdr h;
	uint8_t buf[64];
	size_t len = 0;

	assert_int_equal(vfu_client_recv_reply(c, &h, buf, sizeof(buf), &len, NULL, NULL), 0);
	assert_int_equal(h.msg_id, id);
	assert_int_equal(h.cmd, cmd);
	assert_int_equal(h.flags & VFU_F_TYPE_MASK, VFU_F_TYPE_REPLY);
	assert_true(h.flags & VFU_F_ERROR);
	assert_int_equal(h.error_no, err);
	assert_int_equal(len, 0);
}

size_t it_expect_ok(struct vfu_client *c, uint16_t id, uint16_t cmd, void *payload, size_t max)
{
	struct vfu_hdr h;
	size_t len = 0;

	assert_int_equal(vfu_client_recv_reply(c, &h, payload, max, &len, NULL, NULL), 0);
	assert_int_equal(h.msg_id, id);
	assert_int_equal(h.cmd, cmd);
	if (h.flags & VFU_F_ERROR)
		fail_msg("unexpected error reply: %s", strerror(h.error_no));
	return len;
}

void it_call_error(struct vfu_client *c, uint16_t cmd, const void *payload, size_t len,
		   const int *fds, unsigned nfds, int err)
{
	uint16_t id = it_send_cmd(c, cmd, 0, payload, len, fds, nfds);

	it_expect_error(c, id, cmd, err);
}

void it_expect_closed(struct vfu_client *c)
{
	struct vfu_hdr h;
	uint8_t buf[64];
	size_t len;
	int ret;

	ret = vfu_client_recv_reply(c, &h, buf, sizeof(buf), &len, NULL, NULL);
	if (ret != -ECONNRESET && ret != -EPIPE)
		fail_msg("expected the server to close the connection, got %d (%s)", ret,
			 ret < 0 ? strerror(-ret) : "a reply");
}

void it_expect_silence(struct vfu_client *c, int ms)
{
	assert_false(it_wait_readable(vfu_client_fd(c), ms));
}

const char *it_proc_status(pid_t pid, const char *key, char *buf, size_t len)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	assert_non_null(f);
	buf[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		snprintf(buf, len, "%s", line + klen + 1 + strspn(line + klen + 1, " \t"));
		/* Trailing blanks too ("Groups:\t65534 \n"). */
		for (size_t n = strlen(buf); n && strchr(" \t\n", buf[n - 1]); n--)
			buf[n - 1] = '\0';
		break;
	}
	fclose(f);
	assert_true(buf[0]);
	return buf;
}

void it_assert_proc_status(pid_t pid, const char *key, const char *want)
{
	char buf[128];

	if (strcmp(it_proc_status(pid, key, buf, sizeof(buf)), want))
		fail_msg("pid %d %s: %s, expected %s", (int)pid, key, buf, want);
}
