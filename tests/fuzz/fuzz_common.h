/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the libFuzzer harnesses: an input reader that never
 * fails (missing bytes read as zero), device models made through the
 * registry with their server tables, and an fd count to catch leaks.
 */
#ifndef IOMED_FUZZ_COMMON_H
#define IOMED_FUZZ_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "devices/device.h"

/* A finding: print why, then abort so libFuzzer saves the input. */
#define fuzz_check(cond, ...)                                             \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "fuzz invariant violated (%s:%d): ", \
				__FILE__, __LINE__);                      \
			fprintf(stderr, __VA_ARGS__);                     \
			fputc('\n', stderr);                              \
			abort();                                          \
		}                                                         \
	} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline bool fin_more(const struct fuzz_in *in)
{
	return in->left > 0;
}

static inline void fin_bytes(struct fuzz_in *in, void *out, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	memcpy(out, in->p, k);
	memset((uint8_t *)out + k, 0, n - k);
	in->p += k;
	in->left -= k;
}

static inline uint8_t fin_u8(struct fuzz_in *in)
{
	uint8_t v;

	fin_bytes(in, &v, 1);
	return v;
}

static inline uint16_t fin_u16(struct fuzz_in *in)
{
	uint16_t v;

	fin_bytes(in, &v, 2);
	return v;
}

static inline uint32_t fin_u32(struct fuzz_in *in)
{
	uint32_t v;

	fin_bytes(in, &v, 4);
	return v;
}

static inline uint64_t fin_u64(struct fuzz_in *in)
{
	uint64_t v;

	fin_bytes(in, &v, 8);
	return v;
}

/* Open file descriptors of this process. */
static inline int fuzz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		abort();
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* Every fd the run opened is closed again: @before were open when it began. */
static inline void fuzz_check_fds(int before)
{
	int now = fuzz_count_fds();

	fuzz_check(now == before, "fd leak: %d open before, %d after", before, now);
}

/* The client is gone, whatever state it left: nothing it gave the device stays. */
static inline void fuzz_client_gone(struct vfu_device *dev)
{
	vfu_device_client_gone(dev);
	fuzz_check(dev->dma.count == 0 && dev->dma.mapped_bytes == 0,
		   "%u DMA maps (%llu bytes) left after the session", dev->dma.count,
		   (unsigned long long)dev->dma.mapped_bytes);
	fuzz_check(dev->irq.intx_resample_fd < 0, "resample fd left open");
	for (unsigned i = 0; i < VFU_PCI_NUM_IRQS; i++)
		for (uint32_t v = 0; v < dev->irq.idx[i].count; v++)
			fuzz_check(dev->irq.idx[i].vec[v].fd < 0, "irq %u/%u fd left open", i, v);
}

/* A device through the model registry from a --device spec, as the daemon creates it. */
static inline struct vfu_device *fuzz_device_create(struct iomed_device *idev, const char *spec,
						    bool tables)
{
	struct opts o;
	char err[256];
	int ret;

	memset(idev, 0, sizeof(*idev));
	snprintf(idev->id, sizeof(idev->id), "fuzz");
	if (opts_parse(&o, spec, err, sizeof(err))) {
		fprintf(stderr, "bad spec %s: %s\n", spec, err);
		abort();
	}
	idev->model = iomed_model_find(o.model);
	ret = idev->model ? idev->model->create(idev, &o, err, sizeof(err)) : -ENOENT;
	opts_free(&o);
	if (ret) {
		fprintf(stderr, "cannot create %s: %s\n", spec, idev->model ? err : "no model");
		abort();
	}
	if (tables && vfu_device_init_tables(idev->vfu))
		abort();
	return idev->vfu;
}

static inline void fuzz_device_destroy(struct iomed_device *idev, bool tables)
{
	if (tables)
		vfu_device_fini_tables(idev->vfu);
	idev->model->destroy(idev);
}

static inline struct vfu_device *fuzz_testdev_create(struct iomed_device *idev, bool tables)
{
	return fuzz_device_create(idev, "testdev", tables);
}

static inline void fuzz_testdev_destroy(struct iomed_device *idev, bool tables)
{
	fuzz_device_destroy(idev, tables);
}

static inline void fuzz_quiet_logs(void)
{
	/* Hostile input makes the daemon warn on every message. */
	if (!getenv("IOMED_FUZZ_VERBOSE"))
		log_set_level(LOG_ERROR);
}

#endif
