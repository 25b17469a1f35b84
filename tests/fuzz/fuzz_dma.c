// SPDX-License-Identifier: MIT
/*
 * The DMA map table (struct vfu_dma) driven by a sequence of operations and
 * cross-checked against a reference model: a plain sorted list of maps over
 * a few memfds whose bytes the harness also sees through its own mappings.
 *
 * Input: u8 max_regions (1..64; bit 7: u8 max_bytes in pages follows), then operations, each an op byte and its
 * arguments: add, remove, remove_all, translate, read, write, to_iov, find.
 * After every operation the table must equal the model; translate, to_iov
 * and read must show exactly the file bytes the model says; a write must
 * change exactly the bytes the model says and nothing else in any file.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "vfio-user/dma.h"
#include "vfio-user/wire.h"

#define NFILES 4
#define FILE_SIZE (8 * 4096)
#define MAX_MODEL 64
#define MAX_IOV 8
#define SMALL_LEN 0x10000

struct mreg {
	uint64_t addr, size, offset;
	uint32_t prot;
	int file; /* -1: no fd */
};

struct model {
	struct mreg r[MAX_MODEL];
	unsigned n;
	unsigned max;
	uint64_t max_bytes;
};

struct unmap_log {
	uint64_t addr[MAX_MODEL + 1], size[MAX_MODEL + 1];
	unsigned n;
};

static int files[NFILES];
static uint8_t *views[NFILES];   /* the harness's own view of each file */
static uint8_t pristine[NFILES][FILE_SIZE];
static uint8_t expect[NFILES][FILE_SIZE];

static void on_unmap(void *opaque, uint64_t addr, uint64_t size)
{
	struct unmap_log *log = opaque;

	fuzz_check(log->n <= MAX_MODEL, "too many unmap callbacks");
	log->addr[log->n] = addr;
	log->size[log->n] = size;
	log->n++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (unsigned f = 0; f < NFILES; f++) {
		files[f] = memfd_create("fuzz-dma", MFD_CLOEXEC);
		if (files[f] < 0 || ftruncate(files[f], FILE_SIZE))
			abort();
		views[f] = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, files[f], 0);
		if (views[f] == MAP_FAILED)
			abort();
		/* Bytes that say which file and offset they come from. */
		for (uint32_t o = 0; o < FILE_SIZE; o++)
			pristine[f][o] = (uint8_t)(((o * 2654435761u) >> 13) ^ (f * 0x5b) ^ (o >> 9));
	}
	return 0;
}

/* The model's region containing @a, or -1. */
static int m_find(const struct model *m, uint64_t a)
{
	for (unsigned i = 0; i < m->n; i++)
		if (a >= m->r[i].addr && a - m->r[i].addr < m->r[i].size)
			return (int)i;
	return -1;
}

static uint64_t m_mapped(const struct model *m)
{
	uint64_t bytes = 0;

	for (unsigned i = 0; i < m->n; i++)
		bytes += m->r[i].size;
	return bytes;
}

static bool m_overlaps(const struct model *m, uint64_t a, uint64_t size)
{
	for (unsigned i = 0; i < m->n; i++)
		if (a < m->r[i].addr + m->r[i].size && m->r[i].addr < a + size)
			return true;
	return false;
}

static bool m_allows(const struct mreg *r, uint32_t prot)
{
	return r->file >= 0 && (r->prot & prot) == prot;
}

static uint8_t file_byte(const struct mreg *r, uint64_t addr)
{
	return views[r->file][r->offset + (addr - r->addr)];
}

static void check_table(const struct vfu_dma *d, const struct model *m)
{
	uint64_t bytes = 0;

	fuzz_check(d->count == m->n, "table has %u maps, model %u", d->count, m->n);
	for (unsigned i = 0; i < m->n; i++) {
		const struct vfu_dma_region *a = &d->regions[i];
		const struct mreg *b = &m->r[i];

		fuzz_check(a->addr == b->addr && a->size == b->size && a->prot == b->prot,
			   "map %u differs: %#llx+%#llx/%u vs model %#llx+%#llx/%u", i,
			   (unsigned long long)a->addr, (unsigned long long)a->size, a->prot,
			   (unsigned long long)b->addr, (unsigned long long)b->size, b->prot);
		fuzz_check((a->map != NULL) == (b->file >= 0), "map %u backing differs", i);
		if (b->file >= 0)
			fuzz_check(a->offset == b->offset, "map %u offset differs", i);
		bytes += b->size;
	}
	fuzz_check(d->mapped_bytes == bytes, "mapped_bytes %llu, model %llu",
		   (unsigned long long)d->mapped_bytes, (unsigned long long)bytes);
}

static uint64_t dec_addr(struct fuzz_in *in)
{
	uint8_t mode = fin_u8(in);

	switch (mode & 3) {
	case 0:
		return (uint64_t)(mode >> 2) * 4096; /* 64 pages: dense, collisions */
	case 1:
		return (uint64_t)(mode >> 2) * 4096 + fin_u16(in) % 4096;
	case 2:
		return 0 - (uint64_t)((mode >> 2) + 1) * 4096; /* just below 2^64 */
	default:
		return fin_u64(in);
	}
}

static uint64_t dec_size(struct fuzz_in *in, uint64_t addr)
{
	uint8_t mode = fin_u8(in);

	switch (mode & 3) {
	case 0:
		return (uint64_t)((mode >> 2) % 16 + 1) * 4096;
	case 1:
		return fin_u16(in);
	case 2:
		return 0 - addr - (mode >> 2); /* ends at (or near) 2^64 */
	default:
		return fin_u64(in);
	}
}

static void op_add(struct vfu_dma *d, struct model *m, struct fuzz_in *in)
{
	uint64_t addr = dec_addr(in), size = dec_size(in, addr);
	uint8_t fsel = fin_u8(in), psel = fin_u8(in);
	int file = fsel % (NFILES + 1) == NFILES ? -1 : fsel % (NFILES + 1);
	uint64_t offset = (fsel >> 3) & 1 ? fin_u64(in) : (uint64_t)(fsel >> 4) * 4096;
	uint32_t prot = psel & 3 ? psel & 3 : 0;
	int expect_ret, ret, fd = -1;

	if (psel & 0x80)
		prot |= 4;
	if (!size || addr + size < addr || (prot & ~3u))
		expect_ret = -EINVAL;
	else if (m_overlaps(m, addr, size))
		expect_ret = -EEXIST;
	else if (m->n >= m->max || size > m->max_bytes - m_mapped(m))
		expect_ret = -ENOSPC;
	else if (file >= 0 && (offset > FILE_SIZE || size > FILE_SIZE - offset))
		expect_ret = -EINVAL;
	else if (file >= 0 && (offset & 4095))
		expect_ret = -EINVAL; /* mmap refuses */
	else
		expect_ret = 0;
	if (file >= 0) {
		fd = dup(files[file]);
		if (fd < 0)
			abort();
	}
	ret = vfu_dma_add(d, addr, size, fd, offset, prot);
	fuzz_check(ret == expect_ret, "add %#llx+%#llx fd %d off %#llx prot %u: %d, model %d",
		   (unsigned long long)addr, (unsigned long long)size, file,
		   (unsigned long long)offset, prot, ret, expect_ret);
	if (ret)
		return;
	unsigned i = 0;

	while (i < m->n && m->r[i].addr < addr)
		i++;
	memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof(m->r[0]));
	m->r[i] = (struct mreg){ .addr = addr, .size = size, .offset = file >= 0 ? offset : 0,
				 .prot = prot, .file = file };
	m->n++;
}

static void check_unmaps(const struct unmap_log *log, const struct mreg *gone, unsigned n)
{
	fuzz_check(log->n == n, "%u unmap callbacks, model %u", log->n, n);
	for (unsigned i = 0; i < n; i++)
		fuzz_check(log->addr[i] == gone[i].addr && log->size[i] == gone[i].size,
			   "unmap callback %u for the wrong map", i);
}

static void op_remove(struct vfu_dma *d, struct model *m, struct fuzz_in *in)
{
	uint64_t addr = dec_addr(in), size = dec_size(in, addr);
	uint64_t last = addr + size - 1;
	struct unmap_log log = { .n = 0 };
	struct mreg gone[MAX_MODEL];
	unsigned ngone = 0, keep = 0;
	int expect_ret, ret, i;

	if (!size || last < addr) {
		expect_ret = -EINVAL;
	} else if ((i = m_find(m, addr)) >= 0 && m->r[i].addr != addr) {
		expect_ret = -EINVAL;
	} else if ((i = m_find(m, last)) >= 0 && m->r[i].addr + m->r[i].size - 1 != last) {
		expect_ret = -EINVAL;
	} else {
		for (unsigned k = 0; k < m->n; k++) {
			if (m->r[k].addr >= addr && m->r[k].addr <= last)
				gone[ngone++] = m->r[k];
			else
				m->r[keep++] = m->r[k];
		}
		m->n = keep;
		expect_ret = (int)ngone;
	}
	ret = vfu_dma_remove(d, addr, size, on_unmap, &log);
	fuzz_check(ret == expect_ret, "remove %#llx+%#llx: %d, model %d",
		   (unsigned long long)addr, (unsigned long long)size, ret, expect_ret);
	check_unmaps(&log, gone, ngone);
}

static void op_remove_all(struct vfu_dma *d, struct model *m)
{
	struct unmap_log log = { .n = 0 };

	vfu_dma_remove_all(d, on_unmap, &log);
	check_unmaps(&log, m->r, m->n);
	m->n = 0;
}

static void op_translate(struct vfu_dma *d, struct model *m, struct fuzz_in *in)
{
	uint64_t addr = dec_addr(in), len = dec_size(in, addr);
	uint32_t prot = fin_u8(in) & 3;
	uint8_t *p = vfu_dma_translate(d, addr, len, prot);
	int i = m_find(m, addr);
	bool ok = len && i >= 0 && m_allows(&m->r[i], prot) &&
		  len <= m->r[i].size - (addr - m->r[i].addr);

	fuzz_check(ok == (p != NULL), "translate %#llx+%#llx prot %u: %p, model %s",
		   (unsigned long long)addr, (unsigned long long)len, prot, (void *)p,
		   ok ? "ok" : "refused");
	if (!ok || !(m->r[i].prot & VFU_DMA_READ))
		return;
	fuzz_check(p[0] == file_byte(&m->r[i], addr) &&
		   p[len - 1] == file_byte(&m->r[i], addr + len - 1) &&
		   p[len / 2] == file_byte(&m->r[i], addr + len / 2),
		   "translate %#llx points at the wrong bytes", (unsigned long long)addr);
}

/* The chunks a walk over [addr, addr + len) touches before it stops. */
struct walk {
	unsigned n;
	int reg[MAX_MODEL];
	uint64_t addr[MAX_MODEL], len[MAX_MODEL];
	uint64_t done; /* bytes before the stop */
	int result;
};

/* vfu_dma_read/write semantics: chunk by chunk, every byte mapped with @prot. */
static void m_walk(const struct model *m, uint64_t addr, uint64_t len, uint32_t prot,
		   struct walk *w)
{
	int i;

	memset(w, 0, sizeof(*w));
	if (!len)
		return;
	w->result = -EFAULT;
	if (addr + len < addr || (i = m_find(m, addr)) < 0)
		return;
	for (; len; i++) {
		const struct mreg *r;
		uint64_t off, chunk;

		if ((unsigned)i >= m->n)
			return;
		r = &m->r[i];
		if (r->addr > addr || !m_allows(r, prot))
			return;
		off = addr - r->addr;
		chunk = r->size - off < len ? r->size - off : len;
		w->reg[w->n] = i;
		w->addr[w->n] = addr;
		w->len[w->n] = chunk;
		w->n++;
		w->done += chunk;
		addr += chunk;
		len -= chunk;
	}
	w->result = 0;
}

static uint64_t dec_len(struct fuzz_in *in)
{
	uint8_t mode = fin_u8(in);

	if (mode & 1)
		return fin_u64(in);
	return fin_u16(in);
}

static void op_read(struct vfu_dma *d, struct model *m, struct fuzz_in *in)
{
	uint64_t addr = dec_addr(in), len = dec_len(in);
	struct walk w;
	uint8_t *buf;
	int ret;

	m_walk(m, addr, len, VFU_DMA_READ, &w);
	/* Exactly as large as the model says the copy may go: ASan sees the rest. */
	buf = malloc(w.done ? w.done : 1);
	if (!buf)
		abort();
	ret = vfu_dma_read(d, addr, buf, len);
	fuzz_check(ret == w.result, "read %#llx+%#llx: %d, model %d", (unsigned long long)addr,
		   (unsigned long long)len, ret, w.result);
	if (!ret) {
		uint64_t pos = 0;

		for (unsigned c = 0; c < w.n; c++) {
			const struct mreg *r = &m->r[w.reg[c]];

			fuzz_check(!memcmp(buf + pos, views[r->file] + r->offset +
						    (w.addr[c] - r->addr), w.len[c]),
				   "read %#llx: chunk %u has the wrong bytes",
				   (unsigned long long)addr, c);
			pos += w.len[c];
		}
	}
	free(buf);
}

static void op_write(struct vfu_dma *d, struct model *m, struct fuzz_in *in)
{
	uint64_t addr = dec_addr(in), len = dec_len(in);
	uint8_t seed = fin_u8(in);
	uint64_t pos = 0;
	struct walk w;
	uint8_t *buf;
	int ret;

	m_walk(m, addr, len, VFU_DMA_WRITE, &w);
	buf = malloc(w.done ? w.done : 1);
	if (!buf)
		abort();
	for (uint64_t k = 0; k < w.done; k++)
		buf[k] = (uint8_t)(seed + k * 7 + (k >> 8));
	for (unsigned f = 0; f < NFILES; f++)
		memcpy(expect[f], views[f], FILE_SIZE);
	/* A failing write still copies the chunks before the fault, in order. */
	for (unsigned c = 0; c < w.n; c++) {
		const struct mreg *r = &m->r[w.reg[c]];

		memcpy(expect[r->file] + r->offset + (w.addr[c] - r->addr), buf + pos, w.len[c]);
		pos += w.len[c];
	}
	ret = vfu_dma_write(d, addr, buf, len);
	fuzz_check(ret == w.result, "write %#llx+%#llx: %d, model %d", (unsigned long long)addr,
		   (unsigned long long)len, ret, w.result);
	for (unsigned f = 0; f < NFILES; f++)
		fuzz_check(!memcmp(expect[f], views[f], FILE_SIZE),
			   "write %#llx+%#llx changed file %u other than the model says",
			   (unsigned long long)addr, (unsigned long long)len, f);
	free(buf);
}

static void op_to_iov(struct vfu_dma *d, struct model *m, struct fuzz_in *in)
{
	uint64_t addr = dec_addr(in), len = dec_len(in);
	uint8_t sel = fin_u8(in);
	uint32_t prot = sel & 3;
	int max_iov = (sel >> 2) % (MAX_IOV + 1);
	struct iovec iov[MAX_IOV];
	int expect_ret = 0, ret, i;
	uint64_t a = addr, left = len;

	/* vfu_dma_to_iov's order of checks: hole/permission, then room. */
	if (!len || addr + len < addr || (i = m_find(m, addr)) < 0) {
		expect_ret = -EFAULT;
	} else {
		while (left) {
			const struct mreg *r = &m->r[i];
			uint64_t chunk = r->size - (a - r->addr);

			if (r->addr > a || !m_allows(r, prot)) {
				expect_ret = -EFAULT;
				break;
			}
			if (expect_ret == max_iov) {
				expect_ret = -ENOSPC;
				break;
			}
			if (chunk > left)
				chunk = left;
			expect_ret++;
			a += chunk;
			left -= chunk;
			if (left && (unsigned)++i >= m->n) {
				expect_ret = -EFAULT;
				break;
			}
		}
	}
	ret = vfu_dma_to_iov(d, addr, len, prot, iov, max_iov);
	fuzz_check(ret == expect_ret, "to_iov %#llx+%#llx prot %u max %d: %d, model %d",
		   (unsigned long long)addr, (unsigned long long)len, prot, max_iov, ret,
		   expect_ret);
	if (ret <= 0)
		return;
	a = addr;
	for (int k = 0; k < ret; k++) {
		const struct mreg *r = &m->r[m_find(m, a)];
		const uint8_t *p = iov[k].iov_base;

		fuzz_check(iov[k].iov_len && iov[k].iov_len <= r->size - (a - r->addr),
			   "iov %d of %#llx runs past its map", k, (unsigned long long)addr);
		if (r->prot & VFU_DMA_READ)
			fuzz_check(p[0] == file_byte(r, a) &&
				   p[iov[k].iov_len - 1] == file_byte(r, a + iov[k].iov_len - 1),
				   "iov %d of %#llx points at the wrong bytes", k,
				   (unsigned long long)addr);
		a += iov[k].iov_len;
	}
	fuzz_check(a - addr == len, "iovs of %#llx cover %llu bytes, not %llu",
		   (unsigned long long)addr, (unsigned long long)(a - addr),
		   (unsigned long long)len);
}

static void op_find(struct vfu_dma *d, struct model *m, struct fuzz_in *in)
{
	uint64_t addr = dec_addr(in);
	int got = vfu_dma_find(d, addr), want = m_find(m, addr);

	fuzz_check(got == want, "find %#llx: %d, model %d", (unsigned long long)addr, got, want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct model m;
	struct vfu_dma d;
	int fds_before = fuzz_count_fds();

	for (unsigned f = 0; f < NFILES; f++)
		if (memcmp(views[f], pristine[f], FILE_SIZE))
			memcpy(views[f], pristine[f], FILE_SIZE);
	memset(&m, 0, sizeof(m));
	m.max = 1 + fin_u8(&in) % MAX_MODEL;
	vfu_dma_init(&d, m.max);
	/* The bound on mapped bytes: the default, or a few pages (bit 7 of the first byte). */
	m.max_bytes = d.max_bytes;
	if (size && (data[0] & 0x80))
		d.max_bytes = m.max_bytes = (uint64_t)(fin_u8(&in) + 1) * 4096;

	while (fin_more(&in)) {
		switch (fin_u8(&in) % 10) {
		case 0:
		case 1:
		case 2:
			op_add(&d, &m, &in);
			break;
		case 3:
			op_remove(&d, &m, &in);
			break;
		case 4:
			op_remove_all(&d, &m);
			break;
		case 5:
			op_translate(&d, &m, &in);
			break;
		case 6:
			op_read(&d, &m, &in);
			break;
		case 7:
			op_write(&d, &m, &in);
			break;
		case 8:
			op_to_iov(&d, &m, &in);
			break;
		default:
			op_find(&d, &m, &in);
			break;
		}
		check_table(&d, &m);
	}
	vfu_dma_fini(&d);
	fuzz_check_fds(fds_before);
	return 0;
}
