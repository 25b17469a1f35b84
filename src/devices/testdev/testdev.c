// SPDX-License-Identifier: MIT
/*
 * testdev: the conformance and benchmark device of the foundation layer
 * (docs/testdev.md). Trapped registers, MSI-X/INTx, a DMA engine that goes
 * through the DMA table, and a BAR of shared memory with one trapped page.
 */
#include "devices/testdev/testdev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "devices/device.h"
#include "pci/function.h"

struct testdev {
	struct pci_function fn; /* first: the pci_function callbacks cast back */
	char name[80];
	int shm_fd;
	uint8_t *shm;
	uint8_t *dma_buf; /* bounce buffer, allocated once */
	uint32_t liveness;
	uint32_t irq_status;
	uint32_t peek_off;
	uint32_t scratch[8];
	uint32_t dma_src[2], dma_dst[2];
	uint32_t dma_len;
	uint32_t dma_status;
	uint32_t dma_vector;
	uint32_t sticky;
	uint32_t trap_count;
	bool selftest;           /* selftest=forbidden-syscall: SELFTEST works */
	uint32_t selftest_result;
};

static struct testdev *to_td(struct pci_function *f)
{
	return (struct testdev *)f;
}

static void shm_fill(struct testdev *td)
{
	for (uint32_t i = 0; i < TESTDEV_SHM_SIZE / 4; i++) {
		uint32_t v = TESTDEV_SHM_PATTERN + i;

		memcpy(td->shm + 4 * i, &v, 4);
	}
}

static void td_reset(struct pci_function *f)
{
	struct testdev *td = to_td(f);

	td->liveness = 0;
	td->irq_status = 0;
	td->peek_off = 0;
	memset(td->scratch, 0, sizeof(td->scratch));
	memset(td->dma_src, 0, sizeof(td->dma_src));
	memset(td->dma_dst, 0, sizeof(td->dma_dst));
	td->dma_len = 0;
	td->dma_status = TESTDEV_DMA_STATUS_IDLE;
	td->dma_vector = 0;
	td->selftest_result = 0;
	shm_fill(td);
}

static uint64_t hi_lo(const uint32_t v[2])
{
	return (uint64_t)v[1] << 32 | v[0];
}

static void raise_irq(struct testdev *td, uint32_t n)
{
	if (n >= 32)
		return;
	td->irq_status |= 1u << n;
	pci_function_raise(&td->fn, n);
}

static uint32_t dma_run(struct testdev *td)
{
	uint64_t src = hi_lo(td->dma_src), dst = hi_lo(td->dma_dst);

	if (!(pci_config_command(&td->fn.cfg) & PCI_COMMAND_MASTER))
		return TESTDEV_DMA_STATUS_ERROR | EPERM;
	if (!td->dma_len || td->dma_len > TESTDEV_DMA_MAX)
		return TESTDEV_DMA_STATUS_ERROR | EINVAL;
	if (pci_dma_read(&td->fn, src, td->dma_buf, td->dma_len) ||
	    pci_dma_write(&td->fn, dst, td->dma_buf, td->dma_len))
		return TESTDEV_DMA_STATUS_ERROR | EFAULT;
	return TESTDEV_DMA_STATUS_DONE;
}

static void dma_cmd(struct testdev *td, uint32_t cmd)
{
	if (!(cmd & TESTDEV_DMA_CMD_START))
		return;
	td->dma_status = dma_run(td);
	if (td->dma_status != TESTDEV_DMA_STATUS_DONE)
		pr_warn_rl("%s: DMA %#llx -> %#llx (%u bytes) failed", td->name,
			   (unsigned long long)hi_lo(td->dma_src),
			   (unsigned long long)hi_lo(td->dma_dst), td->dma_len);
	if (cmd & TESTDEV_DMA_CMD_IRQ)
		raise_irq(td, td->dma_vector);
}

/*
 * What a compromised device model would try first: a system call a
 * vfio-user server never makes. Inside the --isolate sandbox it never
 * returns (the process dies by SIGSYS); elsewhere it does, and SELFTEST
 * reads 0.
 */
static void selftest_run(struct testdev *td)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	td->selftest_result = fd < 0 ? (uint32_t)errno : 0;
	pr_warn("%s: self-test: socket(AF_INET) %s", td->name,
		fd < 0 ? strerror(errno) : "succeeded");
	if (fd >= 0)
		close(fd);
}

static uint32_t peek(struct testdev *td)
{
	uint32_t v;

	memcpy(&v, td->shm + td->peek_off, 4);
	return v;
}

static uint32_t reg_read(struct testdev *td, uint64_t off)
{
	if (off >= TESTDEV_SCRATCH0 && off <= TESTDEV_SCRATCH7)
		return td->scratch[(off - TESTDEV_SCRATCH0) / 4];
	switch (off) {
	case TESTDEV_ID: return TESTDEV_ID_VALUE;
	case TESTDEV_LIVENESS: return ~td->liveness;
	case TESTDEV_IRQ_STATUS: return td->irq_status;
	case TESTDEV_RESET_COUNT: return (uint32_t)td->fn.resets;
	case TESTDEV_SHM_PEEK_OFF: return td->peek_off;
	case TESTDEV_SHM_PEEK: return peek(td);
	case TESTDEV_DMA_SRC_LO: return td->dma_src[0];
	case TESTDEV_DMA_SRC_HI: return td->dma_src[1];
	case TESTDEV_DMA_DST_LO: return td->dma_dst[0];
	case TESTDEV_DMA_DST_HI: return td->dma_dst[1];
	case TESTDEV_DMA_LEN: return td->dma_len;
	case TESTDEV_DMA_STATUS: return td->dma_status;
	case TESTDEV_DMA_VECTOR: return td->dma_vector;
	case TESTDEV_STICKY: return td->sticky;
	case TESTDEV_TRAP_COUNT: return td->trap_count;
	case TESTDEV_SELFTEST: return td->selftest_result;
	default: return 0;
	}
}

static void reg_write(struct testdev *td, uint64_t off, uint32_t v)
{
	if (off >= TESTDEV_SCRATCH0 && off <= TESTDEV_SCRATCH7) {
		td->scratch[(off - TESTDEV_SCRATCH0) / 4] = v;
		return;
	}
	switch (off) {
	case TESTDEV_LIVENESS: td->liveness = v; break;
	case TESTDEV_IRQ_RAISE: raise_irq(td, v); break;
	case TESTDEV_IRQ_ACK:
		td->irq_status &= ~v;
		if (!td->irq_status)
			pci_function_set_intx(&td->fn, false);
		break;
	case TESTDEV_SHM_PEEK_OFF:
		/* Kept aligned and inside the BAR, so SHM_PEEK needs no check. */
		td->peek_off = v % TESTDEV_SHM_SIZE & ~3u;
		break;
	case TESTDEV_SHM_PEEK: memcpy(td->shm + td->peek_off, &v, 4); break;
	case TESTDEV_DMA_SRC_LO: td->dma_src[0] = v; break;
	case TESTDEV_DMA_SRC_HI: td->dma_src[1] = v; break;
	case TESTDEV_DMA_DST_LO: td->dma_dst[0] = v; break;
	case TESTDEV_DMA_DST_HI: td->dma_dst[1] = v; break;
	case TESTDEV_DMA_LEN: td->dma_len = v; break;
	case TESTDEV_DMA_CMD: dma_cmd(td, v); break;
	case TESTDEV_DMA_VECTOR: td->dma_vector = v; break;
	case TESTDEV_STICKY: td->sticky = v; break;
	case TESTDEV_SELFTEST:
		if (td->selftest)
			selftest_run(td);
		break;
	default: break;
	}
}

static bool in_trap_page(uint64_t off, uint32_t len)
{
	return off >= TESTDEV_SHM_TRAP_OFF &&
	       off + len <= TESTDEV_SHM_TRAP_OFF + TESTDEV_SHM_TRAP_SIZE;
}

static int td_bar_read(struct pci_function *f, unsigned bar, uint64_t off, void *buf,
		       uint32_t len)
{
	struct testdev *td = to_td(f);
	uint32_t v;

	if (bar == TESTDEV_SHM_BAR) {
		/* Trapped page, or a client that reads the mappable part by message. */
		if (in_trap_page(off, len))
			td->trap_count++;
		memcpy(buf, td->shm + off, len);
		return 0;
	}
	if (bar == TESTDEV_MSIX_BAR) {
		/* Outside the table and PBA: reads 0, like unknown registers. */
		memset(buf, 0, len);
		return 0;
	}
	if (bar != TESTDEV_REGS_BAR)
		return -EINVAL;
	if (len != 4 || off & 3) {
		memset(buf, 0xff, len);
		return 0;
	}
	v = reg_read(td, off);
	memcpy(buf, &v, 4);
	return 0;
}

static int td_bar_write(struct pci_function *f, unsigned bar, uint64_t off, const void *buf,
			uint32_t len)
{
	struct testdev *td = to_td(f);
	uint32_t v;

	if (bar == TESTDEV_SHM_BAR) {
		if (in_trap_page(off, len))
			td->trap_count++;
		memcpy(td->shm + off, buf, len);
		return 0;
	}
	if (bar == TESTDEV_MSIX_BAR)
		return 0;
	if (bar != TESTDEV_REGS_BAR)
		return -EINVAL;
	if (len != 4 || off & 3)
		return 0;
	memcpy(&v, buf, 4);
	reg_write(td, off, v);
	return 0;
}

static const struct pci_function_ops testdev_ops = {
	.bar_read = td_bar_read,
	.bar_write = td_bar_write,
	.reset = td_reset,
};

static int shm_create(struct testdev *td)
{
	td->shm_fd = memfd_create("iomed-testdev-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (td->shm_fd < 0)
		return -errno;
	/*
	 * The client gets this fd (BAR2 is mappable): sealed, it cannot shrink
	 * the file under our own mapping and turn our accesses into SIGBUS.
	 */
	if (ftruncate(td->shm_fd, TESTDEV_SHM_SIZE) ||
	    fcntl(td->shm_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		return -errno;
	td->shm = mmap(NULL, TESTDEV_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, td->shm_fd, 0);
	if (td->shm == MAP_FAILED) {
		td->shm = NULL;
		return -errno;
	}
	return 0;
}

static int build_function(struct testdev *td)
{
	static const struct pci_ids ids = {
		.vendor = TESTDEV_VENDOR, .device = TESTDEV_DEVICE,
		.subsys_vendor = TESTDEV_VENDOR, .subsys = 0x0001,
		.class_code = 0x00ff00, .revision = 1, .irq_pin = 1,
	};
	static const struct vfu_sparse_mmap_area shm_areas[] = {
		{ .offset = 0, .size = TESTDEV_SHM_TRAP_OFF },
		{ .offset = TESTDEV_SHM_TRAP_OFF + TESTDEV_SHM_TRAP_SIZE,
		  .size = TESTDEV_SHM_SIZE - TESTDEV_SHM_TRAP_OFF - TESTDEV_SHM_TRAP_SIZE },
	};
	static const char vendor_cap[] = "iomed";
	struct pci_function *f = &td->fn;
	int ret;

	pci_function_init(f, td->name, &ids, &testdev_ops);
	ret = pci_function_add_bar(f, TESTDEV_REGS_BAR, TESTDEV_REGS_SIZE, PCI_BAR_MEM32, -1, 0,
				   NULL, 0);
	if (!ret)
		ret = pci_function_add_bar(f, TESTDEV_MSIX_BAR, TESTDEV_MSIX_SIZE, PCI_BAR_MEM32,
					   -1, 0, NULL, 0);
	if (!ret)
		ret = pci_function_add_bar(f, TESTDEV_SHM_BAR, TESTDEV_SHM_SIZE,
					   PCI_BAR_MEM32 | PCI_BAR_PREFETCH, td->shm_fd, 0,
					   shm_areas, 2);
	if (!ret)
		ret = pci_config_add_pm(&f->cfg);
	if (ret >= 0)
		ret = pci_function_add_msix(f, TESTDEV_MSIX_VECTORS, TESTDEV_MSIX_BAR,
					    TESTDEV_MSIX_TABLE, TESTDEV_MSIX_PBA);
	if (ret >= 0)
		ret = pci_config_add_pcie(&f->cfg, PCI_EXP_TYPE_ENDPOINT, true);
	if (ret >= 0)
		ret = pci_config_add_vendor(&f->cfg, vendor_cap, sizeof(vendor_cap));
	if (ret >= 0)
		ret = pci_function_finalize(f);
	return ret < 0 ? ret : 0;
}

static void testdev_free(struct testdev *td)
{
	pci_function_fini(&td->fn);
	if (td->shm)
		munmap(td->shm, TESTDEV_SHM_SIZE);
	if (td->shm_fd >= 0)
		close(td->shm_fd);
	free(td->dma_buf);
	free(td);
}

static int testdev_create(struct iomed_device *dev, struct opts *o, char *err, size_t errlen)
{
	const char *selftest = opts_get(o, "selftest");
	struct testdev *td;
	int ret;

	if (selftest && strcmp(selftest, "forbidden-syscall")) {
		snprintf(err, errlen, "selftest must be forbidden-syscall");
		return -EINVAL;
	}
	td = calloc(1, sizeof(*td));
	if (!td)
		return -ENOMEM;
	td->selftest = selftest;
	td->shm_fd = -1;
	snprintf(td->name, sizeof(td->name), "testdev %s", dev->id);
	td->dma_buf = malloc(TESTDEV_DMA_MAX);
	ret = td->dma_buf ? shm_create(td) : -ENOMEM;
	if (!ret)
		ret = build_function(td);
	if (ret) {
		snprintf(err, errlen, "cannot build the test device: %s", strerror(-ret));
		testdev_free(td);
		return ret;
	}
	td_reset(&td->fn);
	dev->vfu = &td->fn.vfu;
	dev->state = td;
	return 0;
}

static void testdev_destroy(struct iomed_device *dev)
{
	testdev_free(dev->state);
}

const struct iomed_model testdev_model = {
	.name = "testdev",
	.summary = "conformance/benchmark device: registers, MSI-X, DMA engine, shared-memory BAR",
	.create = testdev_create,
	.destroy = testdev_destroy,
};
