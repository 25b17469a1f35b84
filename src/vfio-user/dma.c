// SPDX-License-Identifier: MIT
/*
 * DMA map table. Regions are kept in an array sorted by guest address and
 * never overlap, so lookup is a binary search and an access spanning two
 * adjacent regions is a walk forward from the first.
 */
#include "dma.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "sigbus.h"
#include "wire.h"

void vfu_dma_init(struct vfu_dma *dma, unsigned max_regions)
{
	memset(dma, 0, sizeof(*dma));
	dma->max_regions = max_regions;
	dma->max_bytes = VFU_DMA_MAX_BYTES;
}

static void region_release(struct vfu_dma_region *r)
{
	if (r->map)
		munmap(r->map, r->size);
	r->map = NULL;
}

void vfu_dma_remove_all(struct vfu_dma *dma, vfu_dma_unmap_cb cb, void *opaque)
{
	for (unsigned i = 0; i < dma->count; i++) {
		if (cb)
			cb(opaque, dma->regions[i].addr, dma->regions[i].size);
		region_release(&dma->regions[i]);
	}
	dma->count = 0;
	dma->mapped_bytes = 0;
}

void vfu_dma_fini(struct vfu_dma *dma)
{
	vfu_dma_remove_all(dma, NULL, NULL);
	free(dma->regions);
	dma->regions = NULL;
	dma->capacity = 0;
}

/* Index of the first region whose end is above @addr (may not contain it). */
static unsigned lower_bound(const struct vfu_dma *dma, uint64_t addr)
{
	unsigned lo = 0, hi = dma->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct vfu_dma_region *r = &dma->regions[mid];

		if (r->addr + r->size <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int vfu_dma_find(const struct vfu_dma *dma, uint64_t addr)
{
	unsigned i = lower_bound(dma, addr);

	if (i < dma->count && dma->regions[i].addr <= addr)
		return (int)i;
	return -1;
}

static int grow(struct vfu_dma *dma)
{
	unsigned cap = dma->capacity ? dma->capacity * 2 : 16;
	struct vfu_dma_region *n;

	if (cap > dma->max_regions)
		cap = dma->max_regions;
	n = realloc(dma->regions, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	dma->regions = n;
	dma->capacity = cap;
	return 0;
}

/*
 * Mapping past the end of a file "works" until the first access raises
 * SIGBUS, so the backing must be a regular file of a memory file system
 * (memfd, /dev/shm, hugetlbfs) that covers the whole range now. (A client
 * that shrinks it later is survived: see sigbus.h.)
 */
static int check_backing(int fd, uint64_t offset, uint64_t size)
{
	struct statfs fs;
	struct stat st;

	if (fstat(fd, &st) || fstatfs(fd, &fs))
		return -errno;
	/*
	 * Memory file systems only: a page of a file on disk, FUSE or NFS can
	 * stall the device thread on every access for as long as its server likes.
	 */
	if (!S_ISREG(st.st_mode) || (fs.f_type != TMPFS_MAGIC && fs.f_type != HUGETLBFS_MAGIC))
		return -EINVAL;
	if (offset > (uint64_t)st.st_size || size > (uint64_t)st.st_size - offset)
		return -EINVAL;
	return 0;
}

int vfu_dma_add(struct vfu_dma *dma, uint64_t addr, uint64_t size, int fd, uint64_t offset,
		uint32_t prot)
{
	struct vfu_dma_region r = { .addr = addr, .size = size, .offset = offset,
				    .prot = prot };
	unsigned i;
	int ret;

	if (!size || addr + size < addr || (prot & ~(uint32_t)(VFU_DMA_READ | VFU_DMA_WRITE))) {
		ret = -EINVAL;
		goto err;
	}
	i = lower_bound(dma, addr);
	if (i < dma->count && dma->regions[i].addr < addr + size) {
		ret = -EEXIST;
		goto err;
	}
	/* Bounded in count and in address space, so one client cannot starve the others. */
	if (dma->count >= dma->max_regions || size > dma->max_bytes - dma->mapped_bytes) {
		ret = -ENOSPC;
		goto err;
	}
	if (dma->count == dma->capacity) {
		ret = grow(dma);
		if (ret)
			goto err;
	}
	if (fd >= 0) {
		int mprot = (prot & VFU_DMA_READ ? PROT_READ : 0) |
			    (prot & VFU_DMA_WRITE ? PROT_WRITE : 0);

		ret = check_backing(fd, offset, size);
		if (ret)
			goto err;
		r.map = mmap(NULL, size, mprot ? mprot : PROT_NONE, MAP_SHARED, fd, (off_t)offset);
		if (r.map == MAP_FAILED) {
			r.map = NULL;
			ret = -errno;
			goto err;
		}
	}
	memmove(&dma->regions[i + 1], &dma->regions[i], (dma->count - i) * sizeof(r));
	dma->regions[i] = r;
	dma->count++;
	dma->mapped_bytes += size;
	ret = 0;
err:
	if (fd >= 0)
		close(fd);
	return ret;
}

int vfu_dma_remove(struct vfu_dma *dma, uint64_t addr, uint64_t size, vfu_dma_unmap_cb cb,
		   void *opaque)
{
	uint64_t last = addr + size - 1; /* inclusive: the range may end at 2^64 */
	unsigned first, end;
	int i;

	if (!size || last < addr)
		return -EINVAL;
	/* Neither end may fall inside a region. */
	i = vfu_dma_find(dma, addr);
	if (i >= 0 && dma->regions[i].addr != addr)
		return -EINVAL;
	i = vfu_dma_find(dma, last);
	if (i >= 0 && dma->regions[i].addr + dma->regions[i].size - 1 != last)
		return -EINVAL;

	first = lower_bound(dma, addr);
	for (end = first; end < dma->count && dma->regions[end].addr <= last; end++) {
		struct vfu_dma_region *r = &dma->regions[end];

		if (cb)
			cb(opaque, r->addr, r->size);
		dma->mapped_bytes -= r->size;
		region_release(r);
	}
	/* Nothing to move in an empty table (regions may be NULL then). */
	if (end > first)
		memmove(&dma->regions[first], &dma->regions[end],
			(dma->count - end) * sizeof(dma->regions[0]));
	dma->count -= end - first;
	return (int)(end - first);
}

static bool region_allows(const struct vfu_dma_region *r, uint32_t prot)
{
	return r->map && (r->prot & prot) == prot;
}

void *vfu_dma_translate(const struct vfu_dma *dma, uint64_t addr, uint64_t len, uint32_t prot)
{
	const struct vfu_dma_region *r;
	int i;

	if (!len)
		return NULL;
	i = vfu_dma_find(dma, addr);
	if (i < 0)
		return NULL;
	r = &dma->regions[i];
	if (!region_allows(r, prot) || len > r->size - (addr - r->addr))
		return NULL;
	return (uint8_t *)r->map + (addr - r->addr);
}

int vfu_dma_to_iov(const struct vfu_dma *dma, uint64_t addr, uint64_t len, uint32_t prot,
		   struct iovec *iov, int max_iov)
{
	int i, n = 0;

	if (!len || addr + len < addr)
		return -EFAULT;
	i = vfu_dma_find(dma, addr);
	if (i < 0)
		return -EFAULT;
	while (len) {
		const struct vfu_dma_region *r = &dma->regions[i];
		uint64_t off = addr - r->addr;
		uint64_t chunk = r->size - off;

		if (r->addr > addr || !region_allows(r, prot))
			return -EFAULT;
		if (n == max_iov)
			return -ENOSPC;
		if (chunk > len)
			chunk = len;
		iov[n].iov_base = (uint8_t *)r->map + off;
		iov[n].iov_len = chunk;
		n++;
		addr += chunk;
		len -= chunk;
		/* The rest must start exactly where the next region begins. */
		if (len && (unsigned)++i >= dma->count)
			return -EFAULT;
	}
	return n;
}

/* Walk [addr, addr + len) region by region; every byte must be mapped with @prot. */
static int copy(const struct vfu_dma *dma, uint64_t addr, uint8_t *buf, uint64_t len, bool write)
{
	uint32_t prot = write ? VFU_DMA_WRITE : VFU_DMA_READ;
	uint64_t faults;
	int i;

	if (!len)
		return 0;
	if (addr + len < addr)
		return -EFAULT;
	i = vfu_dma_find(dma, addr);
	if (i < 0)
		return -EFAULT;
	for (; len; i++) {
		const struct vfu_dma_region *r;
		uint64_t off, chunk;

		if ((unsigned)i >= dma->count)
			return -EFAULT;
		r = &dma->regions[i];
		if (r->addr > addr || !region_allows(r, prot))
			return -EFAULT;
		off = addr - r->addr;
		chunk = r->size - off < len ? r->size - off : len;
		faults = vfu_sigbus_faults();
		if (write)
			memcpy((uint8_t *)r->map + off, buf, chunk);
		else
			memcpy(buf, (uint8_t *)r->map + off, chunk);
		/* The client shrank the file under the map (see sigbus.h). */
		if (vfu_sigbus_faults() != faults)
			return -EFAULT;
		buf += chunk;
		addr += chunk;
		len -= chunk;
	}
	return 0;
}

int vfu_dma_read(const struct vfu_dma *dma, uint64_t addr, void *buf, uint64_t len)
{
	return copy(dma, addr, buf, len, false);
}

int vfu_dma_write(const struct vfu_dma *dma, uint64_t addr, const void *buf, uint64_t len)
{
	return copy(dma, addr, (uint8_t *)buf, len, true);
}
