// SPDX-License-Identifier: MIT
/*
 * virtio-net's register interface and its ring processing over fuzzed
 * guest memory. The model is made through the registry with a loopback,
 * sink or source port and its datapath in manual mode: no poller thread,
 * the harness runs the poller's work (pollthread_poll_manual) between register
 * accesses, guest memory writes and DMA/IRQ table changes, synchronously.
 * Region accesses are filtered by vfu_validate_region_access, as the server
 * does; table changes are bracketed by quiesce/resume, as the server does.
 *
 * Input: u8 device (bit 0 two queue pairs, bits 1-2 port: loopback, sink,
 * source, loopback; bit 3 mtu 9000; then for a source u8 (frame length - 60) / 8);
 * u8 number of maps (0: one read-write map of all guest RAM at 0, 1-4: that
 * many fuzz_guest.h map records); u8 eventfd mask; guest memory blocks
 * (fuzz_guest_fill); then operations, each an u8 (op % 12):
 *   0/1 region read/write (u8 region | 0x80 u64 offset, u8 length select,
 *       offset, data), 2 common-config write (u8 offset, u8 length, u64),
 *   3 driver bring-up (u64 feature mask, u8 queue flags [, u8 enable mask]
 *       [, per queue u16 size and u64 desc/avail/used]),
 *   4 a descriptor chain on a queue set up by 3 (u8 queue | flags, u8
 *       count | flags, [u8 repeats], [u16 indirect table], per descriptor
 *       u16 offset, u16 length or (raw) u32 length and u8 flags, [u64
 *       address], [26 header bytes]), 5 the last chain again (u8 queue,
 *       u8 times),
 *   6 a control command (u8 length - 2, u8 class, u8 command, payload),
 *   7 guest memory write (u16 offset, u8 length, bytes),
 *   8/9 poll (u8 count), 10 DMA unmap or map, 11 reset, IRQ mask, ISR read.
 *
 * Invariants: the model never writes guest memory outside the maps the
 * client made writable; after a poll every chain a ready queue popped is
 * back in the used ring, except RX chains held for the next frame; a queue
 * the poll found broken is reported (NEEDS_RESET); the active pairs stay in
 * [1, pairs]; after the client goes, config space and the common
 * configuration are at power-on, no datapath runs, no fd is left.
 */
#include <errno.h>

#define FUZZ_RAM_PAGES 32 /* room for 64 KiB GSO frames */

#include "devices/virtio-net/vnet.h"
#include "fuzz_common.h"
#include "fuzz_guest.h"
#include "pci/config.h"
#include "vfio-user/validate.h"

/* Queue q's rings at q * RING_STRIDE (desc, avail, used), up to 128 entries. */
#define RING_STRIDE 0x1000
#define RING_AVAIL 0x800
#define RING_USED 0x980
#define MAX_PAIRS 2
#define BUF_BASE ((2 * MAX_PAIRS + 1) * (uint64_t)RING_STRIDE) /* then buffers */
#define BUF_SIZE (FUZZ_RAM_SIZE - BUF_BASE)

struct hq { /* the harness's driver view of a queue it set up */
	bool set;
	uint16_t size, avail_idx, next_desc, last_head;
	uint64_t desc, avail;
};

struct harness {
	struct iomed_device idev;
	struct vfu_device *dev;
	struct vnet *v;
	struct vfu_limits lim;
	struct fuzz_guest g;
	struct hq q[VNET_MAX_QUEUES];
	uint8_t *snap;      /* guest RAM before a poll */
	uint8_t *writable;  /* per RAM byte: some map lets the device write it */
};

static uint8_t poweron_cfg[PCI_CFG_SIZE_EXPRESS];
static uint8_t poweron_common[VIRTIO_PCI_COMMON_SIZE];

static void wreg(struct harness *h, uint64_t off, uint64_t v, uint32_t len)
{
	fuzz_check(!fuzz_wr(h->dev, VNET_REGS_BAR, off, &v, len), "BAR0 write %#llx failed",
		   (unsigned long long)off);
}

static uint32_t rreg(struct harness *h, uint64_t off, uint32_t len)
{
	uint32_t v = 0;

	fuzz_check(!fuzz_rd(h->dev, VNET_REGS_BAR, off, &v, len), "BAR0 read %#llx failed",
		   (unsigned long long)off);
	return v;
}

/* Guest writes to its own memory land wherever a map with an fd covers them. */
static void gwrite(struct harness *h, uint64_t gpa, const void *buf, uint64_t len)
{
	if (fuzz_guest_range_ok(&h->g, gpa, len, 0))
		fuzz_guest_copy(&h->g, gpa, (void *)buf, len, true);
}

static void gwrite16(struct harness *h, uint64_t gpa, uint16_t v)
{
	gwrite(h, gpa, &v, 2);
}

/* ---- ops ---- */

static void op_access(struct harness *h, struct fuzz_in *in, bool write)
{
	unsigned region;
	uint64_t off;
	uint32_t len;
	uint8_t *buf;
	int ret;

	buf = fuzz_access(in, h->dev, &h->lim, write, &region, &off, &len);
	if (!buf)
		return;
	ret = write ? fuzz_wr(h->dev, region, off, buf, len) :
		      fuzz_rd(h->dev, region, off, buf, len);
	fuzz_check(ret <= 0 && ret > -4096, "region access returned %d", ret);
	free(buf);
}

static void op_common_write(struct harness *h, struct fuzz_in *in)
{
	static const uint32_t lens[] = { 1, 2, 4, 8 };
	uint8_t off = fin_u8(in) % VIRTIO_PCI_COMMON_SIZE;
	uint32_t len = lens[fin_u8(in) & 3];

	wreg(h, VNET_COMMON_OFF + off, fin_u64(in), len);
}

static void queue_setup(struct harness *h, unsigned q, uint8_t fl, bool enable, struct fuzz_in *in)
{
	uint64_t base = (uint64_t)q * RING_STRIDE, desc = base, avail = base + RING_AVAIL,
		 used = base + RING_USED;
	uint16_t size = (uint16_t)(1u << (fl & 7));

	if (fl & 8) {
		size = fin_u16(in);
		desc = fin_u64(in), avail = fin_u64(in), used = fin_u64(in);
	}
	wreg(h, VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
	wreg(h, VIRTIO_PCI_COMMON_Q_SIZE, size, 2);
	wreg(h, VIRTIO_PCI_COMMON_Q_MSIX, q + 1, 2);
	wreg(h, VIRTIO_PCI_COMMON_Q_DESCLO, desc, 8);
	wreg(h, VIRTIO_PCI_COMMON_Q_AVAILLO, avail, 8);
	wreg(h, VIRTIO_PCI_COMMON_Q_USEDLO, used, 8);
	wreg(h, VIRTIO_PCI_COMMON_Q_ENABLE, enable, 2);
	h->q[q] = (struct hq){ .set = true, .size = (uint16_t)rreg(h, VIRTIO_PCI_COMMON_Q_SIZE, 2),
			       .desc = desc, .avail = avail };
	if (!(fl & 8)) { /* a driver zeroes its rings */
		static const uint8_t zero[RING_STRIDE];

		gwrite(h, base, zero, sizeof(zero));
	}
}

/* The driver's side of the handshake (3.1.1), fuzzed features and queue layout. */
static void op_bringup(struct harness *h, struct fuzz_in *in)
{
	uint64_t mask = fin_u64(in), f;
	uint8_t fl = fin_u8(in), enable = fl & 0x20 ? fin_u8(in) : 0xff;

	wreg(h, VIRTIO_PCI_COMMON_STATUS, 0, 1);
	wreg(h, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
	wreg(h, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	f = rreg(h, VIRTIO_PCI_COMMON_DF, 4);
	wreg(h, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	f = (f | (uint64_t)rreg(h, VIRTIO_PCI_COMMON_DF, 4) << 32) & mask;
	wreg(h, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	wreg(h, VIRTIO_PCI_COMMON_GF, (uint32_t)f, 4);
	wreg(h, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	wreg(h, VIRTIO_PCI_COMMON_GF, (uint32_t)(f >> 32), 4);
	wreg(h, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	     VIRTIO_STATUS_FEATURES_OK, 1);
	memset(h->q, 0, sizeof(h->q));
	for (unsigned q = 0; q < h->v->nqueues; q++)
		queue_setup(h, q, fl, enable & (1u << q), in);
	wreg(h, VIRTIO_PCI_COMMON_MSIX, 0, 2);
	if (!(fl & 0x10))
		wreg(h, VIRTIO_PCI_COMMON_STATUS, rreg(h, VIRTIO_PCI_COMMON_STATUS, 1) |
		     VIRTIO_STATUS_DRIVER_OK, 1);
}

static bool is_ctrl(struct harness *h, unsigned q)
{
	return q == h->v->nqueues - 1 || (!vnet_has(h->v->guest_features, VNET_F_MQ) && q == 2);
}

/* Descriptor @slot of a table at @table: address, length, flags, next. */
static void put_desc(struct harness *h, uint64_t table, uint16_t slot, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	gwrite(h, table + 16ull * slot, &d, sizeof(d));
}

/* Make @head available (and move used_event along with it, as Linux does). */
static void publish(struct harness *h, struct hq *hq, uint16_t head)
{
	gwrite16(h, hq->avail + 4 + 2ull * (hq->avail_idx % hq->size), head);
	hq->avail_idx++;
	gwrite16(h, hq->avail + 4 + 2ull * hq->size, hq->avail_idx);
	gwrite16(h, hq->avail + 2, hq->avail_idx);
}

/* One descriptor of a chain: from the input, or (@again) the previous one once more. */
struct dsc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

static void next_dsc(struct harness *h, struct fuzz_in *in, unsigned q, uint8_t qsel, bool raw,
		     struct dsc *d)
{
	bool ctrl = is_ctrl(h, q);

	d->addr = BUF_BASE + fin_u16(in) % BUF_SIZE;
	d->len = raw ? fin_u32(in) : fin_u16(in) % 0x4000u;
	d->flags = (!ctrl && !(q & 1)) ? VRING_DESC_F_WRITE : 0;
	if (raw)
		d->flags = fin_u8(in);
	if (qsel & 0x40)
		d->addr = fin_u64(in);
}

/*
 * A chain of 1-8 descriptors from the input, plus (count bit 3) up to 255
 * more that repeat the last one: RX buffers writable, TX readable, a
 * control command readable then writable, unless the input gives raw
 * flags and lengths. Optionally through an indirect table.
 */
static void op_chain(struct harness *h, struct fuzz_in *in)
{
	uint8_t qsel = fin_u8(in), nsel = fin_u8(in);
	unsigned q = (qsel & 0x1fu) % h->v->nqueues, given = 1 + (nsel & 7), n = given;
	bool indirect = nsel & 0x80, raw = nsel & 0x40, ctrl = is_ctrl(h, q);
	struct hq *hq = &h->q[q];
	uint64_t table = hq->desc, first = 0;
	uint16_t base = hq->next_desc, tsize;
	struct dsc d = { 0 };

	if (!hq->set || !hq->size)
		return;
	if (nsel & 8)
		n += fin_u8(in);
	if (indirect)
		table = BUF_BASE + (fin_u16(in) % BUF_SIZE & ~15ull), base = 0;
	tsize = indirect ? (uint16_t)n : hq->size;
	for (unsigned i = 0; i < n && (indirect || i < hq->size); i++) {
		uint16_t flags;

		if (i < given)
			next_dsc(h, in, q, qsel, raw, &d);
		flags = d.flags;
		if (!raw && i + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		if (!raw && ctrl)
			flags = i + 1 < n ? VRING_DESC_F_NEXT : VRING_DESC_F_WRITE;
		if (!i)
			first = d.addr;
		put_desc(h, table, (uint16_t)((base + i) % tsize), d.addr, d.len, flags,
			 (uint16_t)((base + i + 1) % tsize));
	}
	if (indirect) {
		put_desc(h, hq->desc, hq->next_desc, table, 16 * n, VRING_DESC_F_INDIRECT, 0);
		n = 1;
	}
	if (qsel & 0x20) { /* a net_hdr and an Ethernet header in the first buffer */
		uint8_t hdr[26];

		fin_bytes(in, hdr, sizeof(hdr));
		gwrite(h, first, hdr, sizeof(hdr));
	}
	hq->last_head = hq->next_desc;
	publish(h, hq, hq->next_desc);
	hq->next_desc = (uint16_t)((hq->next_desc + n) % hq->size);
}

/* The last chain of a queue made available again, 1-128 times (a hostile or buggy driver). */
static void op_repeat(struct harness *h, struct fuzz_in *in)
{
	struct hq *hq = &h->q[(fin_u8(in) & 0x1fu) % h->v->nqueues];
	unsigned n = 1 + fin_u8(in) % 128;

	if (!hq->set || !hq->size)
		return;
	for (unsigned i = 0; i < n; i++)
		publish(h, hq, hq->last_head);
}

static void op_ctrl(struct harness *h, struct fuzz_in *in)
{
	unsigned q = 2 * (vnet_has(h->v->guest_features, VNET_F_MQ) ? h->v->pairs : 1);
	struct hq *hq = &h->q[q];
	uint8_t cmd[2 + 16];
	unsigned len = 2 + fin_u8(in) % 17;
	uint64_t buf = BUF_BASE + 0x100ull * q;

	fin_bytes(in, cmd, len);
	if (!hq->set || !hq->size)
		return;
	gwrite(h, buf, cmd, len);
	put_desc(h, hq->desc, hq->next_desc, buf, len, VRING_DESC_F_NEXT,
		 (uint16_t)((hq->next_desc + 1) % hq->size));
	put_desc(h, hq->desc, (uint16_t)((hq->next_desc + 1) % hq->size), buf + 0x80, 1,
		 VRING_DESC_F_WRITE, 0);
	publish(h, hq, hq->next_desc);
	hq->next_desc = (uint16_t)((hq->next_desc + 2) % hq->size);
}

static void op_ram_write(struct harness *h, struct fuzz_in *in)
{
	uint16_t off = fin_u16(in) % FUZZ_RAM_SIZE;
	uint8_t len = fin_u8(in);

	fin_bytes(in, h->g.ram + off, off + len <= FUZZ_RAM_SIZE ? len : FUZZ_RAM_SIZE - off);
}

static void op_dma(struct harness *h, struct fuzz_in *in)
{
	uint8_t sel = fin_u8(in);
	struct fuzz_map m = { .addr = 0, .size = FUZZ_RAM_SIZE, .prot = 3, .fd = true };

	if (sel & 0x80 && h->g.nmaps) {
		fuzz_guest_unmap(&h->g, h->dev, sel % h->g.nmaps);
		return;
	}
	if (sel & 0x40) {
		m.addr = (uint64_t)fin_u8(in) * 4096;
		m.size = (uint64_t)(fin_u8(in) % FUZZ_RAM_PAGES + 1) * 4096;
		m.offset = (uint64_t)(fin_u8(in) % FUZZ_RAM_PAGES) * 4096;
		m.prot = sel & 3;
	}
	/* As DMA_MAP does: the datapath is parked while the table changes. */
	vfu_device_quiesce(h->dev);
	fuzz_guest_add(&h->g, &h->dev->dma, m);
	vfu_device_resume(h->dev);
}

static void op_misc(struct harness *h, struct fuzz_in *in)
{
	uint8_t sel = fin_u8(in);

	switch (sel >> 6) {
	case 0:
		fuzz_check(!h->dev->ops->reset(h->dev->opaque), "reset failed");
		memset(h->q, 0, sizeof(h->q));
		break;
	case 1:
		fuzz_guest_irq_mask(h->dev, sel & ~0x20, h->dev->irqs[VFU_PCI_MSIX].count); /* no INTx */
		break;
	case 2:
		rreg(h, VNET_ISR_OFF, 1);
		break;
	default:
		wreg(h, VNET_NOTIFY_OFF + VNET_NOTIFY_MULT * (sel & 7u), sel & 7u, 2);
		break;
	}
}

/* ---- polling and its invariants ---- */

static bool polled(struct vnet_dp *dp, unsigned q)
{
	if (q < 2 * dp->pairs)
		return (q & 1) || q / 2 < dp->active_pairs;
	return q == 2 * dp->pairs && vnet_has(dp->features, VNET_F_CTRL_VQ);
}

static void mark_writable(struct harness *h)
{
	memset(h->writable, 0, FUZZ_RAM_SIZE);
	for (unsigned i = 0; i < h->g.nmaps; i++)
		if (h->g.maps[i].fd && (h->g.maps[i].prot & VFU_DMA_WRITE))
			memset(h->writable + h->g.maps[i].offset, 1, h->g.maps[i].size);
}

/* Bytes the poll changed must be in maps the client made writable. */
static void check_writes(struct harness *h)
{
	if (!memcmp(h->g.ram, h->snap, FUZZ_RAM_SIZE))
		return;
	for (unsigned i = 0; i < FUZZ_RAM_SIZE; i++)
		fuzz_check(h->writable[i] || h->g.ram[i] == h->snap[i],
			   "device wrote guest RAM byte %#x, which no writable map covers", i);
}

static void check_after_poll(struct harness *h, const bool *was_broken)
{
	struct vnet_dp *dp = &h->v->dp;
	uint8_t status = __atomic_load_n(&h->v->status, __ATOMIC_ACQUIRE);

	check_writes(h);
	fuzz_check(dp->active_pairs >= 1 && dp->active_pairs <= dp->pairs,
		   "%u active pairs of %u", dp->active_pairs, dp->pairs);
	for (unsigned q = 0; q < dp->nqueues; q++) {
		struct virtqueue *vq = &dp->vq[q];
		uint16_t inflight = (uint16_t)(vq->last_avail - vq->used_idx);
		unsigned held = q < 2 * dp->pairs && !(q & 1) ? dp->stash[q / 2].n : 0;

		if (was_broken[q] && polled(dp, q))
			fuzz_check(status & VIRTIO_STATUS_NEEDS_RESET,
				   "queue %u broken (%s) but no NEEDS_RESET", q, vq->why);
		if (!vq_ready(vq))
			continue;
		fuzz_check(inflight == held, "queue %u: %u chains popped and not used, %u held",
			   q, inflight, held);
	}
}

static void op_poll(struct harness *h, struct fuzz_in *in)
{
	unsigned rounds = 1 + fin_u8(in) % 4;
	bool was_broken[VNET_MAX_QUEUES];

	mark_writable(h);
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned q = 0; q < VNET_MAX_QUEUES; q++)
			was_broken[q] = h->v->dp.vq[q].broken;
		memcpy(h->snap, h->g.ram, FUZZ_RAM_SIZE);
		pollthread_poll_manual(&h->v->dp.pt);
		if (!h->v->dp.pt.running || pollthread_flag(&h->v->dp.pt.park_req))
			return;
		check_after_poll(h, was_broken);
	}
}

/* ---- setup and the end ---- */

static void create(struct harness *h, struct fuzz_in *in)
{
	static const char *const ports[] = { "loopback", "sink", "source", "loopback" };
	uint8_t sel = fin_u8(in);
	char spec[160], port[32];

	snprintf(port, sizeof(port), "%s", ports[(sel >> 1) & 3]);
	if (((sel >> 1) & 3) == 2)
		snprintf(port, sizeof(port), "source:%u", 60 + 8u * fin_u8(in));
	snprintf(spec, sizeof(spec), "virtio-net,net=%s,queues=%u%s", port, 1 + (sel & 1) % MAX_PAIRS,
		 sel & 8 ? ",mtu=9000" : "");
	h->dev = fuzz_device_create(&h->idev, spec, true);
	h->v = h->idev.state;
	h->v->dp.pt.manual = true;
	h->lim = (struct vfu_limits){ .regions = h->dev->regions, .irqs = h->dev->irqs,
				     .negotiated = true, .max_data_xfer = VFU_MAX_DATA_XFER };
	fuzz_check(!fuzz_rd(h->dev, VFU_PCI_CONFIG, 0, poweron_cfg,
			    h->dev->regions[VFU_PCI_CONFIG].size) &&
		   !fuzz_rd(h->dev, VNET_REGS_BAR, 0, poweron_common, sizeof(poweron_common)),
		   "power-on read failed");
}

static void setup(struct harness *h, struct fuzz_in *in)
{
	unsigned n = fin_u8(in) % (FUZZ_MAX_MAPS + 1);

	fuzz_guest_open(&h->g);
	if (n)
		fuzz_guest_maps(&h->g, &h->dev->dma, in, n);
	else
		fuzz_guest_add(&h->g, &h->dev->dma, (struct fuzz_map){
			.size = FUZZ_RAM_SIZE, .prot = 3, .fd = true });
	fuzz_guest_eventfds(h->dev, fin_u8(in));
	fuzz_guest_fill(&h->g, in);
	h->snap = malloc(FUZZ_RAM_SIZE);
	h->writable = malloc(FUZZ_RAM_SIZE);
	if (!h->snap || !h->writable)
		abort();
}

static void check_poweron(struct harness *h)
{
	uint32_t size = h->dev->regions[VFU_PCI_CONFIG].size;
	uint8_t cfg[PCI_CFG_SIZE_EXPRESS], common[VIRTIO_PCI_COMMON_SIZE];

	fuzz_check(!h->v->dp.pt.running, "datapath still running after the client went");
	fuzz_check(!fuzz_rd(h->dev, VFU_PCI_CONFIG, 0, cfg, size) &&
		   !fuzz_rd(h->dev, VNET_REGS_BAR, 0, common, sizeof(common)), "reads failed");
	for (unsigned i = 0; i < size; i++)
		fuzz_check(cfg[i] == poweron_cfg[i], "config byte %#x is %#x, %#x at power-on", i,
			   cfg[i], poweron_cfg[i]);
	for (unsigned i = 0; i < sizeof(common); i++)
		fuzz_check(common[i] == poweron_common[i],
			   "common config byte %#x is %#x, %#x at power-on", i, common[i],
			   poweron_common[i]);
}

/* IOMED_FUZZ_VERBOSE: what the input made the datapath do (for writing seeds). */
static void show_stats(struct harness *h)
{
	for (unsigned p = 0; p < h->v->pairs; p++) {
		const struct net_port_stats *st = &h->v->port[p]->stats;

		fprintf(stderr, "pair %u: tx %llu (%llu drops), rx %llu (%llu drops); used idx", p,
			(unsigned long long)st->tx_packets, (unsigned long long)st->tx_drops,
			(unsigned long long)st->rx_packets, (unsigned long long)st->rx_drops);
		for (unsigned q = 2 * p; q < 2 * p + 2; q++)
			fprintf(stderr, " q%u %u", q, h->v->dp.vq[q].used_idx);
		fputc('\n', stderr);
	}
	fprintf(stderr, "status %#x, %llu queue breaks\n", h->v->status,
		(unsigned long long)h->v->stats->needs_reset);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct harness h;
	int fds_before = fuzz_count_fds();

	memset(&h, 0, sizeof(h));
	create(&h, &in);
	setup(&h, &in);
	while (fin_more(&in)) {
		switch (fin_u8(&in) % 12) {
		case 0: op_access(&h, &in, false); break;
		case 1: op_access(&h, &in, true); break;
		case 2: op_common_write(&h, &in); break;
		case 3: op_bringup(&h, &in); break;
		case 4: op_chain(&h, &in); break;
		case 5: op_repeat(&h, &in); break;
		case 6: op_ctrl(&h, &in); break;
		case 7: op_ram_write(&h, &in); break;
		case 8:
		case 9: op_poll(&h, &in); break;
		case 10: op_dma(&h, &in); break;
		default: op_misc(&h, &in); break;
		}
	}
	if (getenv("IOMED_FUZZ_VERBOSE"))
		show_stats(&h);
	fuzz_client_gone(h.dev);
	check_poweron(&h);
	fuzz_device_destroy(&h.idev, true);
	fuzz_guest_close(&h.g);
	free(h.snap);
	free(h.writable);
	fuzz_check_fds(fds_before);
	return 0;
}
