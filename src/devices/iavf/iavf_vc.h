/* SPDX-License-Identifier: MIT */
/*
 * virtchnl handlers shared by iavf_vc*.c. Each takes a message whose length
 * iavf_vc.c already checked against its opcode and returns the virtchnl
 * status the reply carries.
 */
#ifndef IOMED_DEVICES_IAVF_IAVF_VC_H
#define IOMED_DEVICES_IAVF_IAVF_VC_H

#include <endian.h>
#include <string.h>

#include "devices/iavf/iavf.h"

/* Queues and interrupts (iavf_vc_queues.c). */
int32_t iavf_vc_config_queues(struct iavf *v, const uint8_t *msg);
int32_t iavf_vc_irq_map(struct iavf *v, const uint8_t *msg);
int32_t iavf_vc_queues_enable(struct iavf *v, const uint8_t *msg, bool on);

/* Filters, RSS and VLAN offloads (iavf_vc_filters.c). */
int32_t iavf_vc_eth_addr(struct iavf *v, const uint8_t *msg, bool add);
int32_t iavf_vc_vlan(struct iavf *v, const uint8_t *msg, bool add);
int32_t iavf_vc_promisc(struct iavf *v, const uint8_t *msg);
int32_t iavf_vc_rss_key(struct iavf *v, const uint8_t *msg);
int32_t iavf_vc_rss_lut(struct iavf *v, const uint8_t *msg);
int32_t iavf_vc_set_hena(struct iavf *v, const uint8_t *msg);
int32_t iavf_vc_vlan_strip(struct iavf *v, bool on);
/* The filters a VF starts with after GET_VF_RESOURCES: its MAC and VLAN 0. */
void iavf_vc_filters_default(struct iavf *v);

/* The RSS hash types this device computes (HENA capability bits). */
uint64_t iavf_hena_caps(void);

static inline uint16_t vc_u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static inline uint32_t vc_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

#endif
