/* SPDX-License-Identifier: MIT */
/*
 * The Intel Ethernet Adaptive Virtual Function as hardware: BAR0 register
 * offsets and bits, the admin queue descriptor, and the 16-byte Tx and
 * 32-byte Rx descriptor formats. Values from the AVF specification as the
 * Linux iavf driver uses them (iavf_register.h, iavf_type.h,
 * iavf_adminq_cmd.h); every multi-byte field is little endian.
 */
#ifndef IOMED_DEVICES_IAVF_AVF_H
#define IOMED_DEVICES_IAVF_AVF_H

#include <stdint.h>

#define AVF_VENDOR_INTEL 0x8086
#define AVF_DEVICE_VF 0x1889

/* ---- BAR0 registers ---- */
#define AVF_QTX_TAIL(q) (0x0000 + 4 * (q))
#define AVF_QRX_TAIL(q) (0x2000 + 4 * (q))
#define AVF_ITRN(i, v) (0x2800 + 64 * (i) + 4 * (v)) /* ITR i of queue vector v + 1 */
#define AVF_DYN_CTLN(v) (0x3800 + 4 * (v))           /* queue vector v + 1 */
#define AVF_ICR01 0x4800
#define AVF_ITR01(i) (0x4c00 + 4 * (i))
#define AVF_ICR0_ENA1 0x5000
#define AVF_DYN_CTL01 0x5c00
#define AVF_ARQBAH 0x6000
#define AVF_ATQH 0x6400
#define AVF_ATQLEN 0x6800
#define AVF_ARQBAL 0x6c00
#define AVF_ARQT 0x7000
#define AVF_ARQH 0x7400
#define AVF_ATQBAH 0x7800
#define AVF_ATQBAL 0x7c00
#define AVF_ARQLEN 0x8000
#define AVF_ATQT 0x8400
#define AVF_RSTAT 0x8800
#define AVF_HENA(i) (0xc400 + 4 * (i))  /* i = 0, 1 */
#define AVF_HKEY(i) (0xcc00 + 4 * (i))  /* i = 0 .. 12 */
#define AVF_HLUT(i) (0xd000 + 4 * (i))  /* i = 0 .. 15 */

#define AVF_MAX_QUEUES 16 /* tail and vector registers exist for 16 */
#define AVF_ITR_NONE 3     /* ITR index meaning "no ITR" */

/* ATQLEN / ARQLEN */
#define AVF_AQLEN_LEN 0x3ffu
#define AVF_AQLEN_VFE (1u << 28)
#define AVF_AQLEN_OVFL (1u << 29)
#define AVF_AQLEN_CRIT (1u << 30)
#define AVF_AQLEN_ENABLE (1u << 31)
#define AVF_AQ_HT_MASK 0x3ffu /* head and tail registers */

/* VFGEN_RSTAT: the reset state (virtchnl_vfr_states). */
#define AVF_RSTAT_MASK 0x3u
#define AVF_VFR_INPROGRESS 0
#define AVF_VFR_COMPLETED 1
#define AVF_VFR_VFACTIVE 2

/* VFINT_DYN_CTL01 / VFINT_DYN_CTLN */
#define AVF_DYN_INTENA (1u << 0)
#define AVF_DYN_CLEARPBA (1u << 1)
#define AVF_DYN_SWINT_TRIG (1u << 2)
#define AVF_DYN_ITR_INDX_SHIFT 3
#define AVF_DYN_ITR_INDX_MASK (3u << 3)
#define AVF_DYN_INTERVAL_SHIFT 5
#define AVF_DYN_INTERVAL_MASK (0xfffu << 5)
#define AVF_DYN_SW_ITR_INDX_ENA (1u << 24)
#define AVF_DYN_WB_ON_ITR (1u << 30)
#define AVF_DYN_INTENA_MSK (1u << 31)
#define AVF_ITR_MAX 0xfffu /* 2 us units */

/* VFINT_ICR01 / VFINT_ICR0_ENA1 */
#define AVF_ICR0_ADMINQ (1u << 30)

/* ---- admin queue ---- */
struct avf_aq_desc {
	uint16_t flags;
	uint16_t opcode;
	uint16_t datalen;
	uint16_t retval;
	uint32_t cookie_high; /* virtchnl opcode */
	uint32_t cookie_low;  /* virtchnl status */
	uint32_t param0;
	uint32_t param1;
	uint32_t addr_high;   /* indirect buffer */
	uint32_t addr_low;
} __attribute__((packed));

_Static_assert(sizeof(struct avf_aq_desc) == 32, "admin queue descriptor is 32 bytes");

#define AVF_AQ_FLAG_DD (1u << 0)
#define AVF_AQ_FLAG_CMP (1u << 1)
#define AVF_AQ_FLAG_ERR (1u << 2)
#define AVF_AQ_FLAG_LB (1u << 9)
#define AVF_AQ_FLAG_RD (1u << 10)
#define AVF_AQ_FLAG_BUF (1u << 12)
#define AVF_AQ_FLAG_SI (1u << 13)

#define AVF_AQC_SEND_MSG_TO_PF 0x0801
#define AVF_AQC_SEND_MSG_TO_VF 0x0802
#define AVF_AQ_BUF_MAX 4096 /* the largest message either side sends */

/* Admin queue return codes (iavf_admin_queue_err). */
#define AVF_AQ_RC_OK 0
#define AVF_AQ_RC_EINVAL 14
#define AVF_AQ_RC_ENOSYS 17
#define AVF_AQ_RC_BAD_ADDR 20

/* ---- Tx descriptors (16 bytes: buffer address, then a control word) ---- */
#define AVF_TXD_DTYPE_MASK 0xfull
#define AVF_TXD_DTYPE_DATA 0x0
#define AVF_TXD_DTYPE_CONTEXT 0x1
#define AVF_TXD_DTYPE_DONE 0xf

/* data descriptor */
#define AVF_TXD_CMD_SHIFT 4
#define AVF_TXD_CMD_EOP 0x0001
#define AVF_TXD_CMD_RS 0x0002
#define AVF_TXD_CMD_IL2TAG1 0x0008
#define AVF_TXD_CMD_IIPT_MASK 0x0060
#define AVF_TXD_CMD_IIPT_IPV6 0x0020
#define AVF_TXD_CMD_IIPT_IPV4 0x0040
#define AVF_TXD_CMD_IIPT_IPV4_CSUM 0x0060
#define AVF_TXD_CMD_L4T_MASK 0x0300
#define AVF_TXD_CMD_L4T_TCP 0x0100
#define AVF_TXD_CMD_L4T_SCTP 0x0200
#define AVF_TXD_CMD_L4T_UDP 0x0300
#define AVF_TXD_OFFSET_SHIFT 16 /* MACLEN 7 bits (2 B units), IPLEN 7 bits, L4LEN 4 bits (4 B) */
#define AVF_TXD_BUF_SZ_SHIFT 34
#define AVF_TXD_BUF_SZ_MASK 0x3fffull
#define AVF_TXD_L2TAG1_SHIFT 48

/* context descriptor */
#define AVF_TXC_CMD_SHIFT 4
#define AVF_TXC_CMD_TSO 0x01
#define AVF_TXC_TSO_LEN_SHIFT 30
#define AVF_TXC_TSO_LEN_MASK 0x3ffffull
#define AVF_TXC_MSS_SHIFT 50
#define AVF_TXC_MSS_MASK 0x3fffull

struct avf_tx_desc {
	uint64_t addr;
	uint64_t qw1;
};

/* ---- Rx descriptors (32 bytes; read format: packet and header address) ---- */
struct avf_rx_desc {
	uint64_t qw0; /* write-back: mirror/FCoE 16, l2tag1 16, RSS hash 32 */
	uint64_t qw1; /* write-back: status 19, error 8, ptype 8, lengths */
	uint64_t qw2; /* write-back: ext status, l2tag2 */
	uint64_t qw3;
};

_Static_assert(sizeof(struct avf_rx_desc) == 32, "Rx descriptor is 32 bytes");

#define AVF_RXD_DD (1ull << 0)
#define AVF_RXD_EOF (1ull << 1)
#define AVF_RXD_L2TAG1P (1ull << 2)
#define AVF_RXD_L3L4P (1ull << 3)
#define AVF_RXD_FLTSTAT_RSS (3ull << 12)
#define AVF_RXD_ERROR_SHIFT 19
#define AVF_RXD_PTYPE_SHIFT 30
#define AVF_RXD_LEN_SHIFT 38
#define AVF_RXD_LEN_MASK 0x3fffull
#define AVF_RXD_L2TAG1_SHIFT 16
#define AVF_RXD_RSS_SHIFT 32

/* Packet types the Rx descriptor reports (the hardware's PTYPE table). */
#define AVF_PTYPE_L2 1
#define AVF_PTYPE_IPV4_FRAG 22
#define AVF_PTYPE_IPV4 23
#define AVF_PTYPE_IPV4_UDP 24
#define AVF_PTYPE_IPV4_TCP 26
#define AVF_PTYPE_IPV4_SCTP 27
#define AVF_PTYPE_IPV4_ICMP 28
#define AVF_PTYPE_IPV6_FRAG 88
#define AVF_PTYPE_IPV6 89
#define AVF_PTYPE_IPV6_UDP 90
#define AVF_PTYPE_IPV6_TCP 92
#define AVF_PTYPE_IPV6_SCTP 93
#define AVF_PTYPE_IPV6_ICMP 94

/* Packet classifier types: the bits of the RSS hash enable (HENA) word. */
#define AVF_PCTYPE_IPV4_UDP_UC 29
#define AVF_PCTYPE_IPV4_UDP_MC 30
#define AVF_PCTYPE_IPV4_UDP 31
#define AVF_PCTYPE_IPV4_TCP_SYN_NO_ACK 32
#define AVF_PCTYPE_IPV4_TCP 33
#define AVF_PCTYPE_IPV4_SCTP 34
#define AVF_PCTYPE_IPV4_OTHER 35
#define AVF_PCTYPE_FRAG_IPV4 36
#define AVF_PCTYPE_IPV6_UDP_UC 39
#define AVF_PCTYPE_IPV6_UDP_MC 40
#define AVF_PCTYPE_IPV6_UDP 41
#define AVF_PCTYPE_IPV6_TCP_SYN_NO_ACK 42
#define AVF_PCTYPE_IPV6_TCP 43
#define AVF_PCTYPE_IPV6_SCTP 44
#define AVF_PCTYPE_IPV6_OTHER 45
#define AVF_PCTYPE_FRAG_IPV6 46
#define AVF_PCTYPE_L2_PAYLOAD 63

#endif
