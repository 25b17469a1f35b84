/* SPDX-License-Identifier: MIT */
/*
 * virtchnl, the VF <-> PF message protocol carried in the admin queue's
 * indirect buffers: opcodes, status codes, capability flags and the message
 * layouts this device takes and sends (little endian, packed, sizes as the
 * Linux iavf and ice drivers send and check them).
 */
#ifndef IOMED_DEVICES_IAVF_VIRTCHNL_H
#define IOMED_DEVICES_IAVF_VIRTCHNL_H

#include <stdint.h>

#define VC_VERSION_MAJOR 1
#define VC_VERSION_MINOR 1

enum vc_op {
	VC_OP_UNKNOWN = 0,
	VC_OP_VERSION = 1,
	VC_OP_RESET_VF = 2,
	VC_OP_GET_VF_RESOURCES = 3,
	VC_OP_CONFIG_TX_QUEUE = 4,
	VC_OP_CONFIG_RX_QUEUE = 5,
	VC_OP_CONFIG_VSI_QUEUES = 6,
	VC_OP_CONFIG_IRQ_MAP = 7,
	VC_OP_ENABLE_QUEUES = 8,
	VC_OP_DISABLE_QUEUES = 9,
	VC_OP_ADD_ETH_ADDR = 10,
	VC_OP_DEL_ETH_ADDR = 11,
	VC_OP_ADD_VLAN = 12,
	VC_OP_DEL_VLAN = 13,
	VC_OP_CONFIG_PROMISCUOUS_MODE = 14,
	VC_OP_GET_STATS = 15,
	VC_OP_EVENT = 17,
	VC_OP_CONFIG_RSS_KEY = 23,
	VC_OP_CONFIG_RSS_LUT = 24,
	VC_OP_GET_RSS_HENA_CAPS = 25,
	VC_OP_SET_RSS_HENA = 26,
	VC_OP_ENABLE_VLAN_STRIPPING = 27,
	VC_OP_DISABLE_VLAN_STRIPPING = 28,
	VC_OP_REQUEST_QUEUES = 29,
};

/* virtchnl_status_code, sent in the descriptor's cookie_low. */
#define VC_STATUS_SUCCESS 0
#define VC_STATUS_ERR_PARAM (-5)
#define VC_STATUS_ERR_NO_MEMORY (-18)
#define VC_STATUS_ERR_OPCODE_MISMATCH (-38)
#define VC_STATUS_ERR_NOT_SUPPORTED (-64)

/* VF capability flags (GET_VF_RESOURCES). */
#define VC_CAP_L2 (1u << 0)
#define VC_CAP_RSS_AQ (1u << 3)
#define VC_CAP_RSS_REG (1u << 4)
#define VC_CAP_WB_ON_ITR (1u << 5)
#define VC_CAP_REQ_QUEUES (1u << 6)
#define VC_CAP_ADV_LINK_SPEED (1u << 7)
#define VC_CAP_VLAN_V2 (1u << 15)
#define VC_CAP_VLAN (1u << 16)
#define VC_CAP_RX_POLLING (1u << 17)
#define VC_CAP_RSS_PCTYPE_V2 (1u << 18)
#define VC_CAP_RSS_PF (1u << 19)

#define VC_VSI_SRIOV 6
#define VC_RSS_KEY_SIZE 52 /* 40-byte Toeplitz key + 12 extended, as ice */
#define VC_RSS_LUT_SIZE 64
#define VC_RING_LEN_MIN 64 /* ring lengths ice accepts: 0 or a multiple of 32 in [64, 8160] */
#define VC_RING_LEN_MAX 8160
#define VC_RING_LEN_MULT 32

struct vc_version {
	uint32_t major, minor;
} __attribute__((packed));

struct vc_vsi_resource {
	uint16_t vsi_id;
	uint16_t num_queue_pairs;
	int32_t vsi_type;
	uint16_t qset_handle;
	uint8_t default_mac[6];
} __attribute__((packed));

struct vc_vf_resource {
	uint16_t num_vsis;
	uint16_t num_queue_pairs;
	uint16_t max_vectors;
	uint16_t max_mtu;
	uint32_t vf_cap_flags;
	uint32_t rss_key_size;
	uint32_t rss_lut_size;
	struct vc_vsi_resource vsi_res[1];
} __attribute__((packed));

struct vc_txq_info {
	uint16_t vsi_id;
	uint16_t queue_id;
	uint16_t ring_len;
	uint16_t headwb_enabled;
	uint64_t dma_ring_addr;
	uint64_t dma_headwb_addr;
} __attribute__((packed));

struct vc_rxq_info {
	uint16_t vsi_id;
	uint16_t queue_id;
	uint32_t ring_len;
	uint16_t hdr_size;
	uint16_t splithdr_enabled;
	uint32_t databuffer_size;
	uint32_t max_pkt_size;
	uint8_t crc_disable;
	uint8_t rxdid;
	uint8_t flags;
	uint8_t pad1;
	uint64_t dma_ring_addr;
	int32_t rx_split_pos;
	uint32_t pad2;
} __attribute__((packed));

struct vc_queue_pair_info {
	struct vc_txq_info txq;
	struct vc_rxq_info rxq;
} __attribute__((packed));

/* Followed by num_queue_pairs queue pairs and one pair's worth of padding. */
struct vc_vsi_queue_config {
	uint16_t vsi_id;
	uint16_t num_queue_pairs;
	uint32_t pad;
} __attribute__((packed));

struct vc_vector_map {
	uint16_t vsi_id;
	uint16_t vector_id;
	uint16_t rxq_map;
	uint16_t txq_map;
	uint16_t rxitr_idx;
	uint16_t txitr_idx;
} __attribute__((packed));

struct vc_queue_select {
	uint16_t vsi_id;
	uint16_t pad;
	uint32_t rx_queues;
	uint32_t tx_queues;
} __attribute__((packed));

struct vc_ether_addr {
	uint8_t addr[6];
	uint8_t type;
	uint8_t pad;
} __attribute__((packed));

struct vc_promisc_info {
	uint16_t vsi_id;
	uint16_t flags;
} __attribute__((packed));

#define VC_PROMISC_UNICAST 0x1
#define VC_PROMISC_MULTICAST 0x2

/* The VSI statistics GET_STATS answers with (virtchnl_eth_stats). */
struct vc_eth_stats {
	uint64_t rx_bytes, rx_unicast, rx_multicast, rx_broadcast, rx_discards;
	uint64_t rx_unknown_protocol;
	uint64_t tx_bytes, tx_unicast, tx_multicast, tx_broadcast, tx_discards, tx_errors;
} __attribute__((packed));

#define VC_EVENT_LINK_CHANGE 1
#define VC_EVENT_RESET_IMPENDING 2
#define VC_EVENT_SEVERITY_INFO 0
#define VC_EVENT_SEVERITY_CERTAIN_DOOM 255

struct vc_pf_event {
	int32_t event;
	union {
		struct {
			uint32_t link_speed; /* one VC_LINK_SPEED_* bit */
			uint8_t link_status;
			uint8_t pad[3];
		} __attribute__((packed)) link;
		struct {
			uint32_t link_speed; /* Mbit/s */
			uint8_t link_status;
			uint8_t pad[3];
		} __attribute__((packed)) link_adv;
	} data;
	int32_t severity;
} __attribute__((packed));

#define VC_LINK_SPEED_40GB (1u << 4) /* the fastest legacy speed code */

/*
 * Fixed message lengths as ice validates them: the legacy struct sizes, each
 * of which counts one trailing element (so a list of n elements is sent as
 * the legacy size plus n elements).
 */
#define VC_LEN_VSI_QUEUE_CONFIG 72u /* + 64 per queue pair */
#define VC_LEN_IRQ_MAP 14u          /* + 12 per vector */
#define VC_LEN_ETHER_ADDR_LIST 12u  /* + 8 per address */
#define VC_LEN_VLAN_FILTER_LIST 6u  /* + 2 per VLAN */
#define VC_LEN_RSS_KEY 5u           /* + key_len */
#define VC_LEN_RSS_LUT 5u           /* + lut_entries */
#define VC_LEN_VF_RESOURCE 36u      /* one VSI */

_Static_assert(sizeof(struct vc_vsi_resource) == 16, "virtchnl_vsi_resource");
_Static_assert(sizeof(struct vc_vf_resource) == VC_LEN_VF_RESOURCE, "virtchnl_vf_resource");
_Static_assert(sizeof(struct vc_txq_info) == 24, "virtchnl_txq_info");
_Static_assert(sizeof(struct vc_rxq_info) == 40, "virtchnl_rxq_info");
_Static_assert(sizeof(struct vc_queue_pair_info) == 64, "virtchnl_queue_pair_info");
_Static_assert(sizeof(struct vc_vector_map) == 12, "virtchnl_vector_map");
_Static_assert(sizeof(struct vc_queue_select) == 12, "virtchnl_queue_select");
_Static_assert(sizeof(struct vc_ether_addr) == 8, "virtchnl_ether_addr");
_Static_assert(sizeof(struct vc_eth_stats) == 96, "virtchnl_eth_stats");
_Static_assert(sizeof(struct vc_pf_event) == 16, "virtchnl_pf_event");

#endif
