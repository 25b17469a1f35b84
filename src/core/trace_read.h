/* SPDX-License-Identifier: MIT */
/*
 * Reading and printing trace files (the iomed-trace decoder). The reader
 * trusts nothing in the file: every size is checked before use, and a
 * truncated or corrupt file ends with a message naming the offset.
 */
#ifndef IOMED_CORE_TRACE_READ_H
#define IOMED_CORE_TRACE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/trace_format.h"

struct trace_reader {
	FILE *f;
	struct trace_file_header hdr;
	uint64_t off;     /* file offset of the next record */
	uint8_t *buf;     /* the current record */
	uint64_t records; /* read so far, LOST and END excluded */
	uint64_t lost;    /* sum of the LOST records */
	bool ended;       /* an END record was read */
	struct trace_end end;
};

/* Read and check the file header. 0, or -errno and a message in @err. */
int trace_reader_open(struct trace_reader *r, FILE *f, char *err, size_t errlen);
/*
 * The next record in *@rec (valid until the next call): 1; 0 at the end of
 * the file; -EINVAL (corrupt) or -EIO (truncated, read error) and a message
 * in @err. A record's fixed part is known to be complete when it is returned.
 */
int trace_reader_next(struct trace_reader *r, const struct trace_rec **rec, char *err,
		      size_t errlen);
void trace_reader_fini(struct trace_reader *r);

/* Bytes of data after a record's fixed part. */
uint32_t trace_rec_data_len(const struct trace_rec *rec);
const char *trace_type_name(unsigned type);

/* One line per header or record, as text or as a JSON object. */
void trace_print_header(const struct trace_file_header *h, bool json, FILE *out);
void trace_print_record(const struct trace_file_header *h, const struct trace_rec *rec,
			bool json, FILE *out);

#endif
