/* SPDX-License-Identifier: MIT */
/*
 * The DMA map table: guest memory regions a client shares with the server,
 * kept sorted by guest address so translation is a binary search.
 */
#ifndef IOMED_VFIO_USER_DMA_H
#define IOMED_VFIO_USER_DMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Guest memory one device may map: far above any VM, far below the address space. */
#define VFU_DMA_MAX_BYTES (1ull << 40)

struct vfu_dma_region {
	uint64_t addr;   /* guest (IO virtual) address */
	uint64_t size;
	uint64_t offset; /* into fd */
	uint32_t prot;   /* VFU_DMA_READ | VFU_DMA_WRITE */
	void *map;       /* mmap of [offset, offset + size) of the client's fd; NULL
			  * when it sent none (the region is then not accessible) */
};

struct vfu_dma {
	struct vfu_dma_region *regions; /* sorted by addr, never overlapping */
	unsigned count;
	unsigned capacity;
	unsigned max_regions;
	uint64_t max_bytes; /* bound on mapped_bytes (VFU_DMA_MAX_BYTES by default) */
	uint64_t mapped_bytes;
};

void vfu_dma_init(struct vfu_dma *dma, unsigned max_regions);
/* Unmaps and closes everything. */
void vfu_dma_fini(struct vfu_dma *dma);

/*
 * Add a region. Takes ownership of @fd (-1 for none) and closes it, on
 * error too: the mapping keeps the file alive, so a client cannot pin one
 * daemon fd per map and starve other devices of fds.
 * -EEXIST on overlap, -EINVAL for a zero size, wrap-around, bad flags or
 * an fd that is not memory of a file this size, -ENOSPC past max_regions
 * or max_bytes, -errno from mmap.
 */
int vfu_dma_add(struct vfu_dma *dma, uint64_t addr, uint64_t size, int fd, uint64_t offset,
		uint32_t prot);
/* Told about a region just before it is unmapped, so users can let go of it. */
typedef void (*vfu_dma_unmap_cb)(void *opaque, uint64_t addr, uint64_t size);

/*
 * Remove every region inside [addr, addr + size), as the kernel's VFIO type1
 * v2 IOMMU does: the range may end exactly at 2^64 and may cover several
 * regions or none (QEMU with a vIOMMU unmaps whole invalidated ranges), but
 * a range that would cut a region in two is refused with -EINVAL and
 * removes nothing. @cb (optional) runs for each region before it goes.
 * Returns the number of regions removed.
 */
int vfu_dma_remove(struct vfu_dma *dma, uint64_t addr, uint64_t size, vfu_dma_unmap_cb cb,
		   void *opaque);
void vfu_dma_remove_all(struct vfu_dma *dma, vfu_dma_unmap_cb cb, void *opaque);

/* Index of the region containing @addr, or -1. */
int vfu_dma_find(const struct vfu_dma *dma, uint64_t addr);

/*
 * Pointer to [addr, addr + len) if it lies inside one mapped region that
 * allows @prot; NULL otherwise. len 0 is refused.
 */
void *vfu_dma_translate(const struct vfu_dma *dma, uint64_t addr, uint64_t len, uint32_t prot);

/*
 * Scatter list for [addr, addr + len), which may span adjacent regions.
 * Returns the number of iovecs used, -EFAULT for a hole, an unbacked region
 * or missing @prot, -ENOSPC if more than @max_iov are needed.
 */
int vfu_dma_to_iov(const struct vfu_dma *dma, uint64_t addr, uint64_t len, uint32_t prot,
		   struct iovec *iov, int max_iov);

/* Copy between guest memory and a buffer, across adjacent regions; 0 or -EFAULT. */
int vfu_dma_read(const struct vfu_dma *dma, uint64_t addr, void *buf, uint64_t len);
int vfu_dma_write(const struct vfu_dma *dma, uint64_t addr, const void *buf, uint64_t len);

#endif
