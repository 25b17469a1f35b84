/* SPDX-License-Identifier: MIT */
/*
 * Copies between flat buffers and scatter lists (guest buffers, often split
 * across descriptors): for ports and device models alike.
 */
#ifndef IOMED_NET_IOV_H
#define IOMED_NET_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Total length of @iov; SIZE_MAX if it overflows. */
size_t net_iov_len(const struct iovec *iov, int iovcnt);
/* Copies up to @len bytes out of / into @iov; returns the count copied. */
size_t net_iov_gather(void *dst, size_t len, const struct iovec *iov, int iovcnt);
/* The same, starting @skip bytes into @iov. */
size_t net_iov_gather_at(void *dst, size_t skip, size_t len, const struct iovec *iov,
			 int iovcnt);
size_t net_iov_scatter(const struct iovec *iov, int iovcnt, const void *src, size_t len);
/* The same from byte @off of @iov on. */
size_t net_iov_scatter_at(const struct iovec *iov, int iovcnt, size_t off, const void *src,
			  size_t len);

#endif
