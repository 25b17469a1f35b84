// SPDX-License-Identifier: MIT
/*
 * Member table and frame classification of the mux (see mux.h).
 */
#include "net/mux.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

uint64_t mux_mac(const uint8_t mac[6])
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | mac[i];
	return v;
}

static uint8_t state(const struct mux_member *m)
{
	return __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
}

void mux_init(struct mux *x)
{
	memset(x, 0, sizeof(*x));
}

static int find_owner(struct mux *x, uint64_t mac, const void *owner)
{
	for (unsigned i = 0; i < MUX_MAX_MEMBERS; i++) {
		struct mux_member *m = &x->m[i];

		if (state(m) != MUX_ACTIVE)
			continue;
		if (m->mac == mac && m->owner != owner)
			return -EADDRINUSE;
		if (m->owner == owner && m->mac != mac)
			return -EINVAL; /* one device, one address */
	}
	return 0;
}

static bool has_primary(struct mux *x, const void *owner)
{
	for (unsigned i = 0; i < MUX_MAX_MEMBERS; i++)
		if (state(&x->m[i]) == MUX_ACTIVE && x->m[i].owner == owner && x->m[i].primary)
			return true;
	return false;
}

int mux_join(struct mux *x, const uint8_t mac[6], const void *owner, bool *primary_out)
{
	uint64_t v = mux_mac(mac);
	int ret;

	if ((mac[0] & 1) || !v)
		return -EINVAL;
	ret = find_owner(x, v, owner);
	if (ret)
		return ret;
	for (unsigned i = 0; i < MUX_MAX_MEMBERS; i++) {
		struct mux_member *m = &x->m[i];

		if (state(m) != MUX_FREE)
			continue;
		m->mac = v;
		m->owner = owner;
		m->primary = !has_primary(x, owner);
		__atomic_store_n(&m->promisc, false, __ATOMIC_RELAXED);
		__atomic_store_n(&m->state, MUX_ACTIVE, __ATOMIC_RELEASE);
		*primary_out = m->primary;
		return (int)i;
	}
	return -ENOSPC;
}

/* Wait until every member that was inside a bracket has come out once. */
static void quiesce(struct mux *x)
{
	uint64_t seen[MUX_MAX_MEMBERS];

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < MUX_MAX_MEMBERS; i++)
		seen[i] = __atomic_load_n(&x->m[i].qs, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < MUX_MAX_MEMBERS; i++)
		while ((seen[i] & 1) && __atomic_load_n(&x->m[i].qs, __ATOMIC_ACQUIRE) == seen[i])
			sched_yield();
}

void mux_leave(struct mux *x, unsigned slot)
{
	struct mux_member *m = &x->m[slot];

	if (slot >= MUX_MAX_MEMBERS || state(m) != MUX_ACTIVE)
		return;
	mux_set_promisc(x, slot, false);
	__atomic_store_n(&m->state, MUX_FREE, __ATOMIC_SEQ_CST);
	quiesce(x);
	if (!m->primary)
		return;
	/* the device's next queue pair receives from now on */
	for (unsigned i = 0; i < MUX_MAX_MEMBERS; i++) {
		if (state(&x->m[i]) == MUX_ACTIVE && x->m[i].owner == m->owner) {
			x->m[i].primary = true;
			break;
		}
	}
	m->primary = false;
}

void mux_set_promisc(struct mux *x, unsigned slot, bool on)
{
	struct mux_member *m = &x->m[slot];

	if (slot >= MUX_MAX_MEMBERS || !m->primary || m->promisc == on)
		return;
	__atomic_store_n(&m->promisc, on, __ATOMIC_RELEASE);
	if (on)
		__atomic_add_fetch(&x->npromisc, 1, __ATOMIC_RELEASE);
	else
		__atomic_sub_fetch(&x->npromisc, 1, __ATOMIC_RELEASE);
}

int mux_lookup(struct mux *x, uint64_t mac)
{
	for (unsigned i = 0; i < MUX_MAX_MEMBERS; i++) {
		struct mux_member *m = &x->m[i];

		if (state(m) == MUX_ACTIVE && m->primary && m->mac == mac)
			return (int)i;
	}
	return -1;
}

/* Primary members, promiscuous ones only or all, except @owner's. */
static uint64_t primaries(struct mux *x, bool promisc_only, const void *except)
{
	uint64_t to = 0;

	for (unsigned i = 0; i < MUX_MAX_MEMBERS; i++) {
		struct mux_member *m = &x->m[i];

		if (state(m) != MUX_ACTIVE || !m->primary || (except && m->owner == except))
			continue;
		if (promisc_only && !__atomic_load_n(&m->promisc, __ATOMIC_ACQUIRE))
			continue;
		to |= 1ull << i;
	}
	return to;
}

static void count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

void mux_classify(struct mux *x, const uint8_t *eth, int from, struct mux_verdict *v)
{
	const void *self = from >= 0 ? x->m[from].owner : NULL;
	bool promisc = __atomic_load_n(&x->npromisc, __ATOMIC_ACQUIRE);
	uint64_t dst = mux_mac(eth);
	int to;

	memset(v, 0, sizeof(*v));
	if (from >= 0 && mux_mac(eth + 6) != x->m[from].mac) {
		v->spoofed = true;
		count(&x->stats.spoofed);
		return;
	}
	if (mux_is_multicast(eth)) {
		v->to = primaries(x, false, self);
		v->wire = from >= 0;
		return;
	}
	to = mux_lookup(x, dst);
	if (to >= 0 && (!self || x->m[to].owner != self))
		v->to = 1ull << to;
	else if (from >= 0)
		v->wire = to < 0;
	else
		count(&x->stats.unknown);
	if (promisc)
		v->to |= primaries(x, true, self);
	if (from >= 0 && v->to)
		count(&x->stats.local);
}
