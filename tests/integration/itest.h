/* SPDX-License-Identifier: MIT */
/*
 * Shared fixtures and helpers of the integration tests: one daemon per test
 * group, a connected client per test, and the checks every test ends with
 * (the daemon is alive, its fd count is back at the idle baseline, a fresh
 * client is served).
 *
 * Include after <cmocka.h>.
 */
#ifndef IOMED_TESTS_ITEST_H
#define IOMED_TESTS_ITEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon.h"
#include "vfio-user/client.h"

#define IT_FD_WAIT_MS 2000
#define IT_MAX_CLIENTS 8
/* it_memfd's memfds show in the daemon's /proc/PID/maps under this path. */
#define IT_MEMFD_MAPS "/memfd:iomed-it "
/* it_assert_no_spin: the daemon may use at most this much CPU in IT_SPIN_WINDOW_MS. */
#define IT_SPIN_WINDOW_MS 1000
#define IT_SPIN_MAX_CPU_MS 200

struct itest {
	struct test_daemon d;
	int baseline;          /* daemon fds with no client connected */
	pid_t pids[2];         /* the device processes (--isolate): none may die in a test */
	struct vfu_client *c;  /* the test's client on device 0 (NULL if none) */
	/* Every client a test opened with it_connect, closed by it_teardown. */
	struct vfu_client *clients[IT_MAX_CLIENTS];
};

/* Group fixtures: a daemon with one or two testdevs. */
/*
 * Let a just-launched daemon settle, then record what every test's end is
 * checked against: the device processes and the fd count. 0 or -1.
 */
int it_baseline(struct itest *t);
int it_group_setup_1dev(void **state);
int it_group_setup_2dev(void **state);
/* SIGTERM: exit status 0 and sockets removed, or the group fails. */
int it_group_teardown(void **state);

/* Per-test fixtures: a client on device 0, negotiated or not. */
int it_setup(void **state);
int it_setup_raw(void **state);
/*
 * Close the test's client; then the daemon must be alive, back at its fd
 * baseline, serve a new client (VERSION and a register read) and map none
 * of the tests' memfds. A daemon found dead is restarted so the next tests run.
 */
int it_teardown(void **state);

/*
 * Connect a client to device @dev (asserts); VERSION with default caps if
 * @negotiate. it_teardown closes it unless the test did with it_close.
 */
struct vfu_client *it_connect(struct itest *t, unsigned dev, bool negotiate);
void it_close(struct itest *t, struct vfu_client *c);
/* The daemon is alive and holds @extra fds above its baseline (asserts). */
void it_assert_fds(struct itest *t, int extra);
/* A fresh client on @dev negotiates and reads the ID register (asserts). */
void it_assert_serves(struct itest *t, unsigned dev);
/* The same for the testdev at socket @path, of any daemon. */
void it_assert_serves_at(const char *path);
/*
 * The daemon maps exactly @bytes of it_memfd memfds, now or within
 * IT_FD_WAIT_MS (DMA maps hold no fd: the mapping keeps the memory; asserts).
 */
void it_assert_dma_mapped(struct itest *t, uint64_t bytes);
/* The daemon is alive and uses little CPU over the next second: nothing spins (asserts). */
void it_assert_no_spin(struct itest *t);
/* The value of "@key:" in /proc/@pid/status ("Seccomp", "Uid"...), as text (asserts). */
const char *it_proc_status(pid_t pid, const char *key, char *buf, size_t len);
/* It is @want (asserts). */
void it_assert_proc_status(pid_t pid, const char *key, const char *want);
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t it_now_ms(void);

/* BAR0 registers and config space (asserting success). */
uint32_t it_reg_read(struct vfu_client *c, uint32_t off);
void it_reg_write(struct vfu_client *c, uint32_t off, uint32_t v);
uint16_t it_cfg_read16(struct vfu_client *c, uint32_t off);
uint32_t it_cfg_read32(struct vfu_client *c, uint32_t off);
void it_cfg_write16(struct vfu_client *c, uint32_t off, uint16_t v);
void it_cfg_write32(struct vfu_client *c, uint32_t off, uint32_t v);
/* Set or clear @bits in the config command register. */
void it_cfg_command(struct vfu_client *c, uint16_t bits, bool on);
/* MSI-X enable bit in the MSI-X capability's message control. */
void it_msix_enable(struct vfu_client *c, bool on);
/*
 * SET_IRQS of @index, vectors @start to @start + @count - 1, asserting success:
 * @action (VFU_IRQ_SET_ACTION_*) with @count eventfds from @fds (NULL: none,
 * which releases the vectors' fds), or with no data.
 */
void it_set_irq_fds(struct vfu_client *c, uint32_t index, uint32_t action, uint32_t start,
		    uint32_t count, const int *fds);
void it_set_irq_none(struct vfu_client *c, uint32_t index, uint32_t action, uint32_t start,
		     uint32_t count);

/* Program testdev's DMA engine (DMA_CMD = @cmd) and return DMA_STATUS. */
uint32_t it_dma_run(struct vfu_client *c, uint64_t src, uint64_t dst, uint32_t len,
		    uint32_t cmd);

/* Nothing is DMA-mapped in [addr, addr + size): a map there succeeds (then goes). */
void it_assert_dma_free(struct vfu_client *c, uint64_t addr, uint64_t size);

/* A memfd of @size bytes (asserts) and a shared mapping of it (asserts). */
int it_memfd(size_t size);
void *it_map(int fd, size_t size);
int it_eventfd(void);
/* Counter of a non-blocking eventfd, 0 when nothing was signalled. */
uint64_t it_efd_count(int fd);
/* Wait up to @ms for @fd to become readable; true if it did. */
bool it_wait_readable(int fd, int ms);

/* Hand-built messages. Send a command with an explicit msg_size; returns its msg_id. */
uint16_t it_send(struct vfu_client *c, uint16_t cmd, uint32_t flags, uint32_t msg_size,
		 const void *payload, size_t len, const int *fds, unsigned nfds);
/* Same with msg_size = header + @len. */
uint16_t it_send_cmd(struct vfu_client *c, uint16_t cmd, uint32_t flags, const void *payload,
		     size_t len, const int *fds, unsigned nfds);
/* The next reply is an ERROR reply to (@id, @cmd) with error_no @err (asserts). */
void it_expect_error(struct vfu_client *c, uint16_t id, uint16_t cmd, int err);
/* The next reply is a success reply to (@id, @cmd); returns its payload length. */
size_t it_expect_ok(struct vfu_client *c, uint16_t id, uint16_t cmd, void *payload,
		    size_t max);
/* Send one raw command and expect an ERROR reply with @err. */
void it_call_error(struct vfu_client *c, uint16_t cmd, const void *payload, size_t len,
		   const int *fds, unsigned nfds, int err);
/* The server closed the connection: the next receive sees the end. */
void it_expect_closed(struct vfu_client *c);
/* Nothing arrives on the client's socket within @ms. */
void it_expect_silence(struct vfu_client *c, int ms);

#endif
