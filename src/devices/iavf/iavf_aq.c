// SPDX-License-Identifier: MIT
/*
 * The admin queue mailbox between the VF and its (emulated) PF: two rings
 * of 32-byte descriptors in guest memory, each carrying a virtchnl message
 * in an indirect buffer. The VF's send queue (ATQ) is processed when the
 * driver moves ATQT; replies and events go to its receive queue (ARQ) in
 * the buffers the driver posted, with vector 0's ADMINQ cause.
 *
 * Everything read from guest memory is copied once, then checked. A ring
 * or register the driver got wrong sets the queue's critical-error bit
 * (what the driver reads back in ATQLEN/ARQLEN) and stops the queue there;
 * a malformed descriptor is completed with ERR and a return code.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "core/log.h"
#include "devices/iavf/iavf.h"

static unsigned aq_entries(const struct iavf_aq *q)
{
	return q->len & AVF_AQLEN_LEN;
}

static bool aq_enabled(const struct iavf_aq *q)
{
	return (q->len & AVF_AQLEN_ENABLE) && aq_entries(q);
}

static uint64_t desc_addr(const struct iavf_aq *q, unsigned i)
{
	return ((uint64_t)q->bah << 32 | q->bal) + (uint64_t)i * sizeof(struct avf_aq_desc);
}

static uint64_t buf_addr(const struct avf_aq_desc *d)
{
	return (uint64_t)le32toh(d->addr_high) << 32 | le32toh(d->addr_low);
}

static bool aq_sane(struct iavf *v, struct iavf_aq *q, const char *which)
{
	unsigned n = aq_entries(q);

	if (q->head < n && q->tail < n)
		return true;
	if (!(q->len & AVF_AQLEN_CRIT))
		pr_warn_rl("%s: %s head %u / tail %u outside a ring of %u", v->name, which,
			   q->head, q->tail, n);
	q->len |= AVF_AQLEN_CRIT;
	return false;
}

static void complete(struct iavf *v, unsigned i, struct avf_aq_desc *d, uint16_t rc)
{
	uint16_t flags = le16toh(d->flags) | AVF_AQ_FLAG_DD | AVF_AQ_FLAG_CMP;

	if (rc)
		flags |= AVF_AQ_FLAG_ERR;
	d->flags = htole16(flags);
	d->retval = htole16(rc);
	if (pci_dma_write(&v->fn, desc_addr(&v->atq, i), d, sizeof(*d)))
		v->atq.len |= AVF_AQLEN_CRIT;
}

/* Check a send descriptor and fetch its message; an admin queue return code. */
static uint16_t fetch(struct iavf *v, const struct avf_aq_desc *d, uint8_t *buf, uint16_t *len)
{
	uint16_t flags = le16toh(d->flags);

	*len = le16toh(d->datalen);
	if (le16toh(d->opcode) != AVF_AQC_SEND_MSG_TO_PF)
		return AVF_AQ_RC_ENOSYS;
	if (*len > AVF_AQ_BUF_MAX || (*len && !(flags & AVF_AQ_FLAG_BUF)))
		return AVF_AQ_RC_EINVAL;
	if (*len && pci_dma_read(&v->fn, buf_addr(d), buf, *len))
		return AVF_AQ_RC_BAD_ADDR;
	return AVF_AQ_RC_OK;
}

/* One send descriptor: complete it, then hand its message to virtchnl. */
static void atq_one(struct iavf *v, unsigned i, uint8_t *buf)
{
	struct avf_aq_desc d;
	uint16_t len, rc;

	if (pci_dma_read(&v->fn, desc_addr(&v->atq, i), &d, sizeof(d))) {
		pr_warn_rl("%s: ATQ descriptor %u is not in guest memory", v->name, i);
		v->atq.len |= AVF_AQLEN_CRIT;
		return;
	}
	rc = fetch(v, &d, buf, &len);
	if (rc)
		pr_warn_rl("%s: ATQ descriptor %u refused (opcode %#x, %u bytes): error %u", v->name,
			   i, le16toh(d.opcode), le16toh(d.datalen), rc);
	/* Completion first: a RESET_VF takes the queue down with it. */
	complete(v, i, &d, rc);
	if (!rc)
		iavf_vc_handle(v, le32toh(d.cookie_high), buf, len);
}

void iavf_atq_process(struct iavf *v)
{
	struct iavf_aq *q = &v->atq;

	if (!aq_enabled(q) || (q->len & AVF_AQLEN_CRIT) || !aq_sane(v, q, "ATQ"))
		return;
	/* At most one lap: the tail cannot move while we run. */
	for (unsigned n = aq_entries(q); n && q->head != q->tail; n--) {
		unsigned i = q->head;

		q->head = (i + 1) % aq_entries(q);
		atq_one(v, i, v->aq_buf);
		if (!aq_enabled(q) || (q->len & AVF_AQLEN_CRIT))
			return;
	}
}

/* Write one message into the receive descriptor at the head; a return code. */
static uint16_t arq_fill(struct iavf *v, struct avf_aq_desc *d, uint32_t op, int32_t status,
			 const void *msg, uint16_t len)
{
	uint16_t flags = le16toh(d->flags);
	uint16_t room = le16toh(d->datalen);
	uint16_t rc = AVF_AQ_RC_OK;

	if (len && (!(flags & AVF_AQ_FLAG_BUF) || len > room))
		rc = AVF_AQ_RC_EINVAL;
	else if (len && pci_dma_write(&v->fn, buf_addr(d), msg, len))
		rc = AVF_AQ_RC_BAD_ADDR;
	flags = (flags & (AVF_AQ_FLAG_BUF | AVF_AQ_FLAG_LB)) | AVF_AQ_FLAG_DD | AVF_AQ_FLAG_CMP;
	if (rc)
		flags |= AVF_AQ_FLAG_ERR;
	d->flags = htole16(flags);
	d->opcode = htole16(AVF_AQC_SEND_MSG_TO_VF);
	d->datalen = htole16(rc ? 0 : len);
	d->retval = htole16(rc);
	d->cookie_high = htole32(op);
	d->cookie_low = htole32((uint32_t)status);
	d->param0 = d->param1 = 0;
	return rc;
}

int iavf_arq_send(struct iavf *v, uint32_t op, int32_t status, const void *msg, uint16_t len)
{
	struct iavf_aq *q = &v->arq;
	struct avf_aq_desc d;
	unsigned i = q->head;

	if (!aq_enabled(q) || (q->len & AVF_AQLEN_CRIT))
		return -ENODEV;
	if (!aq_sane(v, q, "ARQ"))
		return -EINVAL;
	if (i == q->tail) {
		/* No buffer posted: the message is lost, and the driver is told. */
		q->len |= AVF_AQLEN_OVFL;
		pr_warn_rl("%s: ARQ full, virtchnl opcode %u dropped", v->name, op);
		return -ENOSPC;
	}
	if (pci_dma_read(&v->fn, desc_addr(q, i), &d, sizeof(d))) {
		pr_warn_rl("%s: ARQ descriptor %u is not in guest memory", v->name, i);
		q->len |= AVF_AQLEN_CRIT;
		return -EFAULT;
	}
	if (arq_fill(v, &d, op, status, msg, len))
		pr_warn_rl("%s: ARQ buffer %u cannot take %u bytes of opcode %u", v->name, i, len,
			   op);
	if (pci_dma_write(&v->fn, desc_addr(q, i), &d, sizeof(d))) {
		q->len |= AVF_AQLEN_CRIT;
		return -EFAULT;
	}
	q->head = (i + 1) % aq_entries(q);
	v->icr0 |= AVF_ICR0_ADMINQ;
	iavf_misc_irq_update(v);
	return 0;
}
