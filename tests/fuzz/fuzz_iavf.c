// SPDX-License-Identifier: MIT
/*
 * The iavf model as a guest driver drives it, with everything the guest
 * controls fuzzed: BAR0 register writes and reads, guest memory (admin
 * queue rings and buffers, Tx/Rx descriptor rings and packet buffers),
 * virtchnl messages, and datapath polls (Tx rings to the loopback port and
 * frames back into Rx rings, so fuzzed frames are parsed, hashed and
 * checksummed too); VF resets, function resets and quiesce/resume between.
 * The datapath runs in this thread (pollthread.manual), so a run is
 * deterministic.
 *
 * Input: u8 guest memory fill length in 256-byte blocks (the rest of RAM is
 * zero), those bytes, then operations until the input ends:
 *   0 write  u16 register (4-byte aligned), u32 value
 *   1 read   u16 register
 *   2 poll   the datapath once
 *   3 poke   u16 guest offset, u8 length, bytes
 *   4 msg    u32 virtchnl opcode, u16 length, bytes: placed at the ATQ head as the driver
 *            sends it (ring at RAM + 0, buffer at RAM + 0x800) with ATQT moved past it
 *   5 reset  the daemon's VF reset, 6 function reset, 7 quiesce + resume
 *
 * Invariants: VFGEN_RSTAT always reads VF active; an admin queue head the
 * device moves stays inside its ring; a function reset leaves the mailbox
 * disabled; no fd is leaked by a run.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/iavf/iavf.h"
#include "fuzz_common.h"

#define GPA 0x100000ull
#define RAM_SIZE 0x20000ull
#define ATQ_AT 0x0
#define ATQ_BUF 0x800
#define ATQ_ENTRIES 8

struct harness {
	struct iomed_device dev;
	struct opts o;
	struct vfu_device *vfu;
	struct iavf *v;
	int ram_fd;
	uint8_t *ram;
};

static uint32_t rd(struct harness *h, uint32_t off)
{
	uint32_t v = 0;

	h->vfu->ops->region_read(h->vfu->opaque, IAVF_REGS_BAR, off, &v, 4);
	return v;
}

static void wr(struct harness *h, uint32_t off, uint32_t v)
{
	h->vfu->ops->region_write(h->vfu->opaque, IAVF_REGS_BAR, off, &v, 4);
}

static bool setup(struct harness *h)
{
	char err[256];

	memset(h, 0, sizeof(*h));
	if (opts_parse(&h->o, "iavf,net=loopback,queues=2,poll-us=0", err, sizeof(err)))
		abort();
	snprintf(h->dev.id, sizeof(h->dev.id), "fuzz");
	h->dev.model = iomed_model_find("iavf");
	if (!h->dev.model || h->dev.model->create(&h->dev, &h->o, err, sizeof(err))) {
		fprintf(stderr, "cannot create iavf: %s\n", err);
		abort();
	}
	h->vfu = h->dev.vfu;
	h->v = h->dev.state;
	h->v->dp.pt.manual = true;
	if (vfu_device_init_tables(h->vfu))
		abort();
	h->ram_fd = memfd_create("fuzz-iavf", MFD_CLOEXEC);
	if (h->ram_fd < 0 || ftruncate(h->ram_fd, RAM_SIZE))
		abort();
	h->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, h->ram_fd, 0);
	if (h->ram == MAP_FAILED)
		abort();
	/* The table takes its own fd. */
	if (vfu_dma_add(&h->vfu->dma, GPA, RAM_SIZE, dup(h->ram_fd), 0,
			VFU_DMA_READ | VFU_DMA_WRITE))
		abort();
	return true;
}

static void teardown(struct harness *h)
{
	vfu_device_client_gone(h->vfu);
	vfu_device_fini_tables(h->vfu);
	h->dev.model->destroy(&h->dev);
	munmap(h->ram, RAM_SIZE);
	close(h->ram_fd);
	opts_free(&h->o);
}

/* A virtchnl message at the ATQ head, as iavf_aq_send_msg_to_pf writes it. */
static void send_msg(struct harness *h, struct fuzz_in *in)
{
	uint32_t op = fin_u32(in);
	uint16_t len = fin_u16(in) % (AVF_AQ_BUF_MAX + 1);
	unsigned head = rd(h, AVF_ATQH) % ATQ_ENTRIES;
	struct avf_aq_desc d = {
		.flags = AVF_AQ_FLAG_SI | (len ? AVF_AQ_FLAG_BUF | AVF_AQ_FLAG_RD : 0),
		.opcode = AVF_AQC_SEND_MSG_TO_PF, .datalen = len, .cookie_high = op,
		.addr_high = (uint32_t)((GPA + ATQ_BUF) >> 32), .addr_low = (uint32_t)(GPA + ATQ_BUF),
	};

	fin_bytes(in, h->ram + ATQ_BUF, len);
	if (!(rd(h, AVF_ATQLEN) & AVF_AQLEN_ENABLE)) {
		/* Set the queue up as iavf_init_adminq does. */
		wr(h, AVF_ATQH, 0);
		wr(h, AVF_ATQT, 0);
		wr(h, AVF_ATQLEN, ATQ_ENTRIES | AVF_AQLEN_ENABLE);
		wr(h, AVF_ATQBAL, (uint32_t)(GPA + ATQ_AT));
		wr(h, AVF_ATQBAH, 0);
		head = 0;
	}
	memcpy(h->ram + ATQ_AT + head * sizeof(d), &d, sizeof(d));
	wr(h, AVF_ATQT, (head + 1) % ATQ_ENTRIES);
}

static void poke(struct harness *h, struct fuzz_in *in)
{
	uint16_t off = fin_u16(in) % RAM_SIZE;
	uint8_t len = fin_u8(in);

	if (len > RAM_SIZE - off)
		len = (uint8_t)(RAM_SIZE - off);
	fin_bytes(in, h->ram + off, len);
}

/* A head the device moved (not one the driver wrote) is inside its ring. */
static void check_head(uint32_t len, uint32_t before, uint32_t after, const char *which)
{
	fuzz_check(before == after || !(len & AVF_AQLEN_LEN) || after < (len & AVF_AQLEN_LEN),
		   "%s head moved to %u, outside a ring of %u", which, after, len & AVF_AQLEN_LEN);
}

static void op(struct harness *h, struct fuzz_in *in)
{
	uint32_t atqh = rd(h, AVF_ATQH), arqh = rd(h, AVF_ARQH);
	unsigned kind = fin_u8(in) % 8;

	switch (kind) {
	case 0: {
		uint32_t reg = (fin_u16(in) * 4u) % IAVF_REGS_SIZE;

		wr(h, reg, fin_u32(in));
		/* The head registers are the driver's to write too. */
		if (reg == AVF_ATQH || reg == AVF_ARQH)
			return;
		break;
	}
	case 1: rd(h, (fin_u16(in) * 4u) % IAVF_REGS_SIZE); break;
	case 2: pollthread_poll_manual(&h->v->dp.pt); break;
	case 3: poke(h, in); break;
	case 4: send_msg(h, in); break;
	case 5: iavf_vf_reset(&h->dev); break;
	case 6:
		h->vfu->ops->reset(h->vfu->opaque);
		fuzz_check(!(rd(h, AVF_ARQLEN) | rd(h, AVF_ATQLEN)), "mailbox on after a reset");
		break;
	default:
		h->vfu->ops->quiesce(h->vfu->opaque);
		h->vfu->ops->resume(h->vfu->opaque);
		break;
	}
	fuzz_check((rd(h, AVF_RSTAT) & AVF_RSTAT_MASK) == AVF_VFR_VFACTIVE, "RSTAT not active");
	check_head(rd(h, AVF_ATQLEN), atqh, rd(h, AVF_ATQH), "ATQ");
	check_head(rd(h, AVF_ARQLEN), arqh, rd(h, AVF_ARQH), "ARQ");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct harness h;
	size_t fill;
	int baseline_fds;

	fuzz_quiet_logs();
	/* Counted per run: libFuzzer opens pipes of its own between runs (symbolizer). */
	baseline_fds = fuzz_count_fds();
	setup(&h);
	fill = (size_t)fin_u8(&in) * 256;
	fin_bytes(&in, h.ram, fill < RAM_SIZE ? fill : RAM_SIZE);
	while (fin_more(&in))
		op(&h, &in);
	teardown(&h);
	fuzz_check_fds(baseline_fds);
	return 0;
}
