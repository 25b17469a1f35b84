/* SPDX-License-Identifier: MIT */
/*
 * vfio-user wire format: message header, command payloads and constants.
 * All fields are in host byte order (the protocol runs over AF_UNIX only).
 */
#ifndef IOMED_VFIO_USER_WIRE_H
#define IOMED_VFIO_USER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define VFU_VERSION_MAJOR 0
#define VFU_VERSION_MINOR 1

enum vfu_cmd {
	VFU_CMD_VERSION = 1,
	VFU_CMD_DMA_MAP = 2,
	VFU_CMD_DMA_UNMAP = 3,
	VFU_CMD_DEVICE_GET_INFO = 4,
	VFU_CMD_DEVICE_GET_REGION_INFO = 5,
	VFU_CMD_DEVICE_GET_REGION_IO_FDS = 6,
	VFU_CMD_DEVICE_GET_IRQ_INFO = 7,
	VFU_CMD_DEVICE_SET_IRQS = 8,
	VFU_CMD_REGION_READ = 9,
	VFU_CMD_REGION_WRITE = 10,
	VFU_CMD_DMA_READ = 11,
	VFU_CMD_DMA_WRITE = 12,
	VFU_CMD_DEVICE_RESET = 13,
	VFU_CMD_REGION_WRITE_MULTI = 15,
	VFU_CMD_DEVICE_FEATURE = 16,
	VFU_CMD_MIG_DATA_READ = 17,
	VFU_CMD_MIG_DATA_WRITE = 18,
	VFU_CMD_MAX = 19,
};

/* Header flags. */
#define VFU_F_TYPE_MASK 0xf
#define VFU_F_TYPE_COMMAND 0x0
#define VFU_F_TYPE_REPLY 0x1
#define VFU_F_NO_REPLY 0x10
#define VFU_F_ERROR 0x20

struct vfu_hdr {
	uint16_t msg_id;
	uint16_t cmd;
	uint32_t msg_size; /* header included */
	uint32_t flags;
	uint32_t error_no;
} __attribute__((packed));

/* Limits this implementation advertises and enforces. */
#define VFU_MAX_MSG_FDS 16
#define VFU_MAX_DATA_XFER (1u << 20)       /* REGION_READ/WRITE payload */
#define VFU_MAX_DMA_MAPS 65535
#define VFU_PGSIZE 4096
#define VFU_MAX_VERSION_JSON 4096
#define VFU_MAX_WRITE_MULTI 200
#define VFU_MAX_MULTI_DATA 8
#define VFU_MAX_IRQ_COUNT 2048
/* Largest message accepted: a full data transfer plus its header. */
#define VFU_MAX_MSG_SIZE (VFU_MAX_DATA_XFER + 64)

struct vfu_version {
	uint16_t major;
	uint16_t minor;
	char json[]; /* NUL-terminated */
} __attribute__((packed));

#define VFU_DMA_READ 0x1
#define VFU_DMA_WRITE 0x2
#define VFU_DMA_UNMAP_ALL 0x2

struct vfu_dma_map {
	uint32_t argsz;
	uint32_t flags;
	uint64_t offset;
	uint64_t addr;
	uint64_t size;
} __attribute__((packed));

struct vfu_dma_unmap {
	uint32_t argsz;
	uint32_t flags;
	uint64_t addr;
	uint64_t size;
} __attribute__((packed));

#define VFU_DEV_FLAG_RESET 0x1
#define VFU_DEV_FLAG_PCI 0x2

struct vfu_device_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t num_regions;
	uint32_t num_irqs;
} __attribute__((packed));

#define VFU_REGION_FLAG_READ 0x1
#define VFU_REGION_FLAG_WRITE 0x2
#define VFU_REGION_FLAG_MMAP 0x4
#define VFU_REGION_FLAG_CAPS 0x8

struct vfu_region_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t cap_offset;
	uint64_t size;
	uint64_t offset;
} __attribute__((packed));

struct vfu_info_cap_header {
	uint16_t id;
	uint16_t version;
	uint32_t next;
} __attribute__((packed));

#define VFU_REGION_INFO_CAP_SPARSE_MMAP 1

struct vfu_sparse_mmap_area {
	uint64_t offset;
	uint64_t size;
} __attribute__((packed));

struct vfu_region_info_cap_sparse_mmap {
	struct vfu_info_cap_header header;
	uint32_t nr_areas;
	uint32_t reserved;
	struct vfu_sparse_mmap_area areas[];
} __attribute__((packed));

struct vfu_region_io_fds_request {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
} __attribute__((packed));

#define VFU_IRQ_INFO_EVENTFD 0x1
#define VFU_IRQ_INFO_MASKABLE 0x2
#define VFU_IRQ_INFO_AUTOMASKED 0x4
#define VFU_IRQ_INFO_NORESIZE 0x8

struct vfu_irq_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
} __attribute__((packed));

#define VFU_IRQ_SET_DATA_NONE 0x1
#define VFU_IRQ_SET_DATA_BOOL 0x2
#define VFU_IRQ_SET_DATA_EVENTFD 0x4
#define VFU_IRQ_SET_DATA_MASK 0x7
#define VFU_IRQ_SET_ACTION_MASK 0x8
#define VFU_IRQ_SET_ACTION_UNMASK 0x10
#define VFU_IRQ_SET_ACTION_TRIGGER 0x20
#define VFU_IRQ_SET_ACTION_MASK_ALL 0x38

struct vfu_irq_set {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t start;
	uint32_t count;
	uint8_t data[];
} __attribute__((packed));

struct vfu_region_access {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
	uint8_t data[];
} __attribute__((packed));

struct vfu_write_multi_entry {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
	uint8_t data[VFU_MAX_MULTI_DATA];
} __attribute__((packed));

struct vfu_region_write_multi {
	uint64_t wr_cnt;
	struct vfu_write_multi_entry wrs[];
} __attribute__((packed));

struct vfu_dma_access {
	uint64_t addr;
	uint64_t count;
	uint8_t data[];
} __attribute__((packed));

/* Region and IRQ indices of a PCI device. */
enum vfu_pci_region {
	VFU_PCI_BAR0 = 0,
	VFU_PCI_BAR5 = 5,
	VFU_PCI_ROM = 6,
	VFU_PCI_CONFIG = 7,
	VFU_PCI_VGA = 8,
	VFU_PCI_NUM_REGIONS = 9,
};

enum vfu_pci_irq {
	VFU_PCI_INTX = 0,
	VFU_PCI_MSI = 1,
	VFU_PCI_MSIX = 2,
	VFU_PCI_ERR = 3,
	VFU_PCI_REQ = 4,
	VFU_PCI_NUM_IRQS = 5,
};

_Static_assert(sizeof(struct vfu_hdr) == 16, "vfu_hdr");
_Static_assert(sizeof(struct vfu_dma_map) == 32, "vfu_dma_map");
_Static_assert(sizeof(struct vfu_dma_unmap) == 24, "vfu_dma_unmap");
_Static_assert(sizeof(struct vfu_region_info) == 32, "vfu_region_info");
_Static_assert(sizeof(struct vfu_irq_set) == 20, "vfu_irq_set");
_Static_assert(sizeof(struct vfu_region_access) == 16, "vfu_region_access");
_Static_assert(sizeof(struct vfu_write_multi_entry) == 24, "vfu_write_multi_entry");

const char *vfu_cmd_name(unsigned cmd);

#endif
