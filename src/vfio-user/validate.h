/* SPDX-License-Identifier: MIT */
/*
 * Message validation: every field of every client message is checked here,
 * once, before a handler sees it. Handlers may then trust sizes, indices,
 * ranges and fd counts.
 */
#ifndef IOMED_VFIO_USER_VALIDATE_H
#define IOMED_VFIO_USER_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct vfu_region_desc;
struct vfu_irq_desc;

/* What validation needs to know of the device and the session. */
struct vfu_limits {
	const struct vfu_region_desc *regions; /* VFU_PCI_NUM_REGIONS entries */
	const struct vfu_irq_desc *irqs;       /* VFU_PCI_NUM_IRQS entries */
	bool negotiated;                       /* VERSION done */
	uint32_t max_data_xfer;
};

/*
 * Check the framing of a header as soon as its 16 bytes arrived: -EINVAL
 * for a msg_size below the header, -E2BIG above VFU_MAX_MSG_SIZE. Either
 * way the stream cannot be followed any further.
 */
int vfu_validate_header(const struct vfu_hdr *hdr);

/*
 * Check a whole command message (flags, sequence, payload): @payload holds @len bytes after the
 * header, @nfds file descriptors came with it. Returns 0 or the -errno to
 * send back.
 */
int vfu_validate_command(const struct vfu_limits *lim, const struct vfu_hdr *hdr,
			 const void *payload, size_t len, unsigned nfds);

/*
 * Check the fds of a message vfu_validate_command accepted: interrupt fds
 * must be eventfds. Returns 0 or -EINVAL.
 */
int vfu_validate_fds(const struct vfu_hdr *hdr, const void *payload, const int *fds,
		     unsigned nfds);

/* A region access [offset, offset + count) inside region @index? */
int vfu_validate_region_access(const struct vfu_limits *lim, uint32_t index, uint64_t offset,
			       uint64_t count, bool write);

#endif
