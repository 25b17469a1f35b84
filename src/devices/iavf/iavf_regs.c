// SPDX-License-Identifier: MIT
/*
 * iavf BAR0 registers: the reset status, the admin queue registers, the
 * queue tail doorbells, the interrupt registers (vector 0's cause and
 * enable, every vector's DYN_CTL and ITRs). Control path only (ctl held);
 * what the datapath reads is atomic or changed with it parked.
 */
#include <string.h>

#include "core/log.h"
#include "devices/iavf/iavf.h"

static uint32_t load32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

void iavf_misc_irq_update(struct iavf *v)
{
	if (!(v->icr0 & v->icr0_ena & AVF_ICR0_ADMINQ) || !(v->dyn_ctl01 & AVF_DYN_INTENA))
		return;
	/* The vector masks itself when it fires; the driver enables it again. */
	v->dyn_ctl01 &= ~AVF_DYN_INTENA;
	vfu_irq_raise(&v->fn.vfu.irq, VFU_PCI_MSIX, 0);
}

/* ---- reads ---- */

static bool in_block(uint32_t off, uint32_t base, unsigned n, unsigned *idx)
{
	if (off < base || off >= base + 4 * n)
		return false;
	*idx = (off - base) / 4;
	return true;
}

static uint32_t vec_read(struct iavf *v, uint32_t off)
{
	unsigned i;

	if (in_block(off, AVF_DYN_CTLN(0), v->nvec - 1, &i)) {
		struct iavf_vec *vec = &v->dp.vec[i + 1];
		uint32_t ena = __atomic_load_n(&vec->intena, __ATOMIC_ACQUIRE);

		return (vec->dyn_ctl & ~AVF_DYN_INTENA) | (ena ? AVF_DYN_INTENA : 0);
	}
	for (unsigned k = 0; k < 3; k++)
		if (in_block(off, AVF_ITRN(k, 0), v->nvec - 1, &i))
			return __atomic_load_n(&v->dp.vec[i + 1].itr[k], __ATOMIC_ACQUIRE);
	return 0;
}

static uint32_t aq_read(struct iavf *v, uint32_t off)
{
	switch (off) {
	case AVF_ATQBAL: return v->atq.bal;
	case AVF_ATQBAH: return v->atq.bah;
	case AVF_ATQLEN: return v->atq.len;
	case AVF_ATQH: return v->atq.head;
	case AVF_ATQT: return v->atq.tail;
	case AVF_ARQBAL: return v->arq.bal;
	case AVF_ARQBAH: return v->arq.bah;
	case AVF_ARQLEN: return v->arq.len;
	case AVF_ARQH: return v->arq.head;
	case AVF_ARQT: return v->arq.tail;
	default: return 0;
	}
}

static uint32_t misc_read(struct iavf *v, uint32_t off)
{
	uint32_t val;
	unsigned i;

	switch (off) {
	case AVF_RSTAT: return v->rstat;
	case AVF_ICR01:
		/* Read to clear, as the driver's vector 0 handler expects. */
		val = v->icr0;
		v->icr0 = 0;
		return val;
	case AVF_ICR0_ENA1: return v->icr0_ena;
	case AVF_DYN_CTL01: return v->dyn_ctl01;
	default: break;
	}
	if (in_block(off, AVF_ITR01(0), 3, &i))
		return v->itr01[i];
	if (in_block(off, AVF_HENA(0), 2, &i))
		return v->hena_reg[i];
	if (in_block(off, AVF_HKEY(0), 13, &i))
		return v->hkey[i];
	if (in_block(off, AVF_HLUT(0), 16, &i))
		return v->hlut[i];
	return aq_read(v, off);
}

uint32_t iavf_reg_read(struct iavf *v, uint32_t off)
{
	unsigned q;

	if (in_block(off, AVF_QTX_TAIL(0), v->pairs, &q))
		return load32(&v->tx_tail[q]);
	if (in_block(off, AVF_QRX_TAIL(0), v->pairs, &q))
		return load32(&v->rx_tail[q]);
	if (off >= AVF_ITRN(0, 0) && off < AVF_ICR01)
		return vec_read(v, off);
	return misc_read(v, off);
}

/* ---- writes ---- */

static void itr_write(uint16_t *itr, uint32_t val)
{
	unsigned idx = (val & AVF_DYN_ITR_INDX_MASK) >> AVF_DYN_ITR_INDX_SHIFT;

	/* ITR index 3 means "leave the intervals alone". */
	if (idx < 3)
		__atomic_store_n(&itr[idx],
				 (uint16_t)((val & AVF_DYN_INTERVAL_MASK) >> AVF_DYN_INTERVAL_SHIFT),
				 __ATOMIC_RELEASE);
}

static void dyn_ctln_write(struct iavf *v, unsigned n, uint32_t val)
{
	struct iavf_vec *vec = &v->dp.vec[n];

	itr_write(vec->itr, val);
	vec->dyn_ctl = val & ~(AVF_DYN_SWINT_TRIG | AVF_DYN_CLEARPBA);
	if (!(val & AVF_DYN_INTENA_MSK))
		__atomic_store_n(&vec->intena, !!(val & AVF_DYN_INTENA), __ATOMIC_RELEASE);
	if (val & AVF_DYN_SWINT_TRIG)
		__atomic_store_n(&vec->swint, true, __ATOMIC_RELEASE);
	/* A pending cause or a software trigger may fire now: let the datapath look. */
	if (val & (AVF_DYN_INTENA | AVF_DYN_SWINT_TRIG))
		iavf_dp_kick(v);
}

static void dyn_ctl01_write(struct iavf *v, uint32_t val)
{
	uint16_t itr[3] = { (uint16_t)v->itr01[0], (uint16_t)v->itr01[1], (uint16_t)v->itr01[2] };

	itr_write(itr, val);
	for (unsigned i = 0; i < 3; i++)
		v->itr01[i] = itr[i];
	if (!(val & AVF_DYN_INTENA_MSK))
		v->dyn_ctl01 = val & ~(AVF_DYN_SWINT_TRIG | AVF_DYN_CLEARPBA);
	if ((val & AVF_DYN_SWINT_TRIG) && (v->dyn_ctl01 & AVF_DYN_INTENA)) {
		v->dyn_ctl01 &= ~AVF_DYN_INTENA;
		vfu_irq_raise(&v->fn.vfu.irq, VFU_PCI_MSIX, 0);
		return;
	}
	iavf_misc_irq_update(v);
}

static bool vec_write(struct iavf *v, uint32_t off, uint32_t val)
{
	unsigned i;

	if (in_block(off, AVF_DYN_CTLN(0), v->nvec - 1, &i)) {
		dyn_ctln_write(v, i + 1, val);
		return true;
	}
	for (unsigned k = 0; k < 3; k++) {
		if (in_block(off, AVF_ITRN(k, 0), v->nvec - 1, &i)) {
			__atomic_store_n(&v->dp.vec[i + 1].itr[k], (uint16_t)(val & AVF_ITR_MAX),
					 __ATOMIC_RELEASE);
			return true;
		}
	}
	return false;
}

static void aq_write(struct iavf *v, uint32_t off, uint32_t val)
{
	switch (off) {
	case AVF_ATQBAL: v->atq.bal = val; break;
	case AVF_ATQBAH: v->atq.bah = val; break;
	case AVF_ATQLEN: v->atq.len = val; break;
	case AVF_ATQH: v->atq.head = val & AVF_AQ_HT_MASK; break;
	case AVF_ATQT:
		v->atq.tail = val & AVF_AQ_HT_MASK;
		iavf_atq_process(v);
		break;
	case AVF_ARQBAL: v->arq.bal = val; break;
	case AVF_ARQBAH: v->arq.bah = val; break;
	case AVF_ARQLEN: v->arq.len = val; break;
	case AVF_ARQH: v->arq.head = val & AVF_AQ_HT_MASK; break;
	case AVF_ARQT: v->arq.tail = val & AVF_AQ_HT_MASK; break;
	default: break;
	}
}

static void misc_write(struct iavf *v, uint32_t off, uint32_t val)
{
	unsigned i;

	switch (off) {
	case AVF_ICR0_ENA1:
		v->icr0_ena = val & AVF_ICR0_ADMINQ;
		iavf_misc_irq_update(v);
		return;
	case AVF_DYN_CTL01:
		dyn_ctl01_write(v, val);
		return;
	default: break;
	}
	if (in_block(off, AVF_ITR01(0), 3, &i))
		v->itr01[i] = val & AVF_ITR_MAX;
	else if (in_block(off, AVF_HENA(0), 2, &i))
		v->hena_reg[i] = val;
	else if (in_block(off, AVF_HKEY(0), 13, &i))
		v->hkey[i] = val;
	else if (in_block(off, AVF_HLUT(0), 16, &i))
		v->hlut[i] = val;
	else
		aq_write(v, off, val);
}

void iavf_reg_write(struct iavf *v, uint32_t off, uint32_t val)
{
	unsigned q;

	if (in_block(off, AVF_QTX_TAIL(0), v->pairs, &q)) {
		store32(&v->tx_tail[q], val);
		iavf_dp_kick(v);
		return;
	}
	if (in_block(off, AVF_QRX_TAIL(0), v->pairs, &q)) {
		store32(&v->rx_tail[q], val);
		iavf_dp_kick(v);
		return;
	}
	if (off >= AVF_ITRN(0, 0) && off < AVF_ICR01) {
		vec_write(v, off, val);
		return;
	}
	/* VFGEN_RSTAT and ICR01 are read-only for the VF. */
	misc_write(v, off, val);
}

/* ---- reset ---- */

static void vectors_reset(struct iavf *v)
{
	for (unsigned i = 0; i < IAVF_MAX_VEC; i++)
		v->dp.vec[i] = (struct iavf_vec){ 0 };
	v->icr0 = v->icr0_ena = v->dyn_ctl01 = 0;
	memset(v->itr01, 0, sizeof(v->itr01));
}

void iavf_reset_state(struct iavf *v)
{
	memset(&v->atq, 0, sizeof(v->atq));
	memset(&v->arq, 0, sizeof(v->arq));
	vectors_reset(v);
	for (unsigned q = 0; q < IAVF_MAX_QP; q++) {
		store32(&v->tx_tail[q], 0);
		store32(&v->rx_tail[q], 0);
		v->dp.tx[q] = (struct iavf_ring){ .itr = AVF_ITR_NONE };
		v->dp.rx[q] = (struct iavf_ring){ .itr = AVF_ITR_NONE };
	}
	memset(v->hkey, 0, sizeof(v->hkey));
	memset(v->hlut, 0, sizeof(v->hlut));
	memset(v->hena_reg, 0, sizeof(v->hena_reg));
	memset(&v->dp.filt, 0, sizeof(v->dp.filt));
	/* The driver does not send VERSION again after a VF reset: the version stays. */
	v->vc.caps = 0;
	v->vc.active = false;
	__atomic_store_n(&v->mdd, false, __ATOMIC_RELEASE);
	/* The reset is done at once: the VF may come up again right away. */
	v->rstat = AVF_VFR_VFACTIVE;
}
