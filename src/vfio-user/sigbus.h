/* SPDX-License-Identifier: MIT */
/*
 * Guest memory is a client's file mapped into the daemon. A client that
 * truncates the file after DMA_MAP turns every later access into SIGBUS,
 * which would kill every device of the daemon. The handler installed here
 * puts a page of zeros over the vanished page instead, so the access
 * completes, and counts the fault per thread so the copy that hit it can
 * report -EFAULT.
 */
#ifndef IOMED_VFIO_USER_SIGBUS_H
#define IOMED_VFIO_USER_SIGBUS_H

#include <stdint.h>

/* Install the handler (once per process; later calls do nothing). 0 or -errno. */
int vfu_sigbus_init(void);
/* Faults this thread survived so far: compare before and after an access. */
uint64_t vfu_sigbus_faults(void);
/* Faults in the whole process. */
uint64_t vfu_sigbus_total(void);

#endif
