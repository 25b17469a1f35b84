// SPDX-License-Identifier: MIT
/*
 * A vfio-user session fed whole message streams. The harness plays a hostile
 * client on one end of a socketpair; the other end is served by a real
 * vfu_session in front of a testdev, as the daemon does, minus the listener.
 *
 * Input: a sequence of records, each starting with an op byte.
 *   op < 0xf0: a chunk of the stream. Bits 0-4: number of fds attached
 *     (SCM_RIGHTS, up to 31: more than the 16 the server takes); bits 5-6:
 *     their kind (0 guest RAM memfd, 1 eventfd, 2 sealed guest RAM memfd,
 *     3 memfd too small for most maps); bit 7: "fix up", set msg_size to the
 *     chunk length so the fuzzer gets past framing easily. Then u16 length
 *     and the bytes. The server then runs (vfu_session_on_readable).
 *   0xf0: write guest RAM: u16 offset, u8 length, bytes.
 *   0xf1: end of stream (shutdown SHUT_WR): the server sees EOF.
 *   0xf2: hostile client: shrink the unsealed guest RAM memfd to 0 bytes.
 *   0xf3: the INTx resample eventfd fires (as the server's epoll would see).
 * At the end the session ends as the server's session_end does; then every
 * fd and map must be gone (a leak aborts).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "vfio-user/session.h"
#include "vfio-user/sigbus.h"

#define GUEST_RAM_SIZE (16 * 4096)
#define SMALL_RAM_SIZE (2 * 4096)
#define MAX_SEND_FDS 31

enum fd_kind { FD_RAM, FD_EVENT, FD_SEALED_RAM, FD_SMALL_RAM, FD_KINDS };

struct harness {
	struct iomed_device idev;
	struct vfu_device *dev;
	struct vfu_session s;
	struct vfu_stats stats;
	int peer;         /* the client's end */
	bool alive;       /* session still running */
	int kind_fd[FD_KINDS]; /* one fd per kind, sent as often as asked */
	bool allow_shrink;
};

/* Reads every reply the server sends, checks its framing, closes its fds. */
static void *drain(void *arg)
{
	int sock = *(int *)arg;
	uint8_t *buf = malloc(1 << 16);
	struct vfu_hdr hdr;
	size_t hdr_got = 0;
	uint64_t body_left = 0;

	for (;;) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * VFU_MAX_MSG_FDS)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = buf, .iov_len = 1 << 16 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
		struct cmsghdr *c;
		unsigned nfds = 0;
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
				close(fd);
				nfds++;
			}
		}
		/* Each fd-carrying reply ends a read: more than one means a reply had two. */
		fuzz_check(nfds <= 1 && !(mh.msg_flags & MSG_CTRUNC),
			   "a reply carried %u fds", nfds);
		for (ssize_t off = 0; off < n;) {
			if (body_left) {
				uint64_t k = (uint64_t)(n - off) < body_left ? (uint64_t)(n - off)
									: body_left;

				body_left -= k;
				off += k;
				continue;
			}
			((uint8_t *)&hdr)[hdr_got++] = buf[off++];
			if (hdr_got < sizeof(hdr))
				continue;
			hdr_got = 0;
			fuzz_check((hdr.flags & VFU_F_TYPE_MASK) == VFU_F_TYPE_REPLY &&
				   !(hdr.flags & ~(uint32_t)(VFU_F_TYPE_MASK | VFU_F_ERROR)),
				   "reply flags %#x", hdr.flags);
			fuzz_check(hdr.msg_size >= sizeof(hdr) && hdr.msg_size <= VFU_MAX_MSG_SIZE,
				   "reply msg_size %u", hdr.msg_size);
			fuzz_check(!(hdr.flags & VFU_F_ERROR) ||
				   (hdr.msg_size == sizeof(hdr) && hdr.error_no),
				   "error reply of %u bytes, errno %u", hdr.msg_size, hdr.error_no);
			body_left = hdr.msg_size - sizeof(hdr);
		}
	}
	free(buf);
	return NULL;
}

static int kind_fd(struct harness *h, unsigned kind)
{
	int fd;

	if (h->kind_fd[kind] >= 0)
		return h->kind_fd[kind];
	switch (kind) {
	case FD_EVENT:
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		break;
	case FD_SMALL_RAM:
		fd = memfd_create("fuzz-small", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, SMALL_RAM_SIZE))
			abort();
		break;
	default:
		fd = memfd_create("fuzz-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd >= 0 && ftruncate(fd, GUEST_RAM_SIZE))
			abort();
		if (fd >= 0 && kind == FD_SEALED_RAM &&
		    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
			abort();
		break;
	}
	if (fd < 0)
		abort();
	h->kind_fd[kind] = fd;
	return fd;
}

/* Let the server take in what is there, as its epoll loop would. */
static void pump(struct harness *h)
{
	struct pollfd p = { .fd = h->s.fd, .events = POLLIN };

	if (!h->alive)
		return;
	/* Level triggered: called again while input is left (per-wakeup budget). */
	do {
		if (vfu_session_on_readable(&h->s)) {
			h->alive = false;
			return;
		}
	} while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN));
}

static void send_chunk(struct harness *h, uint8_t *data, size_t len, unsigned nfds,
		       unsigned kind)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_SEND_FDS)];
		struct cmsghdr align;
	} ctl;
	size_t done = 0;

	if (!len)
		return; /* fds cannot travel without a byte */
	while (done < len && h->alive) {
		struct iovec iov = { .iov_base = data + done, .iov_len = len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (nfds && !done) {
			struct cmsghdr *c;
			int fd = kind_fd(h, kind);

			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			for (unsigned i = 0; i < nfds; i++)
				memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(fd));
		}
		n = sendmsg(h->peer, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				pump(h);
				continue;
			}
			return; /* the server end is gone */
		}
		done += n;
	}
}

static void ram_write(struct harness *h, struct fuzz_in *in)
{
	uint16_t off = fin_u16(in) % GUEST_RAM_SIZE;
	uint8_t len = fin_u8(in);
	uint8_t data[256];

	fin_bytes(in, data, len);
	if (len > GUEST_RAM_SIZE - off)
		len = GUEST_RAM_SIZE - off;
	/* A shrunk memfd grows again here: the client may do that too. */
	if (pwrite(kind_fd(h, FD_RAM), data, len, off) < 0 ||
	    pwrite(kind_fd(h, FD_SEALED_RAM), data, len, off) < 0)
		abort();
}

static void intx_resample(struct harness *h)
{
	int fd = h->dev->irq.intx_resample_fd;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t one = 1;

	if (fd < 0)
		return;
	if (write(fd, &one, sizeof(one)) < 0)
		return;
	/* The server reads it only when epoll says it is readable. */
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
		vfu_irq_intx_resample(&h->dev->irq);
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
	static uint8_t chunk[1 << 16];
	struct fuzz_in in = { data, size };
	struct harness h;
	pthread_t thr;
	int sv[2], fds_before;

	/*
	 * What vfu_server_create installs: survive a client that shrinks guest
	 * RAM. Here, after libFuzzer and ASan set their own handlers.
	 */
	static bool sigbus_ready;

	if (!sigbus_ready && vfu_sigbus_init())
		abort();
	sigbus_ready = true;
	fds_before = fuzz_count_fds();
	memset(&h, 0, sizeof(h));
	for (unsigned k = 0; k < FD_KINDS; k++)
		h.kind_fd[k] = -1;
	h.allow_shrink = !getenv("IOMED_FUZZ_NO_SHRINK");
	h.dev = fuzz_testdev_create(&h.idev, true);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	h.peer = sv[1];
	if (vfu_session_init(&h.s, sv[0], h.dev, &h.stats))
		abort();
	h.alive = true;
	if (pthread_create(&thr, NULL, drain, &h.peer))
		abort();

	while (fin_more(&in) && h.alive) {
		uint8_t op = fin_u8(&in);

		if (op < 0xf0) {
			unsigned nfds = op & 0x1f, kind = (op >> 5) & 3;
			uint16_t len = fin_u16(&in);

			if (len > in.left)
				len = (uint16_t)in.left;
			fin_bytes(&in, chunk, len);
			if ((op & 0x80) && len >= sizeof(struct vfu_hdr)) {
				uint32_t msg_size = len;

				memcpy(chunk + offsetof(struct vfu_hdr, msg_size), &msg_size,
				       sizeof(msg_size));
			}
			send_chunk(&h, chunk, len, nfds, kind);
			pump(&h);
			continue;
		}
		switch (op) {
		case 0xf0:
			ram_write(&h, &in);
			break;
		case 0xf1:
			shutdown(h.peer, SHUT_WR);
			pump(&h);
			break;
		case 0xf2:
			if (h.allow_shrink && ftruncate(kind_fd(&h, FD_RAM), 0))
				abort();
			break;
		case 0xf3:
			intx_resample(&h);
			break;
		default:
			break;
		}
	}

	/* The client is gone, whatever state it left: what session_end does. */
	vfu_session_fini(&h.s);
	fuzz_client_gone(h.dev);
	pthread_join(thr, NULL);
	close(h.peer);
	for (unsigned k = 0; k < FD_KINDS; k++)
		if (h.kind_fd[k] >= 0)
			close(h.kind_fd[k]);
	fuzz_testdev_destroy(&h.idev, true);
	fuzz_check_fds(fds_before);
	return 0;
}
