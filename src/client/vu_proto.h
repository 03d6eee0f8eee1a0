/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vhost-user wire format, frontend side (as in the vhost-user spec). */
#ifndef VDAX_CLIENT_VU_PROTO_H
#define VDAX_CLIENT_VU_PROTO_H

#include <stdint.h>

enum vdx_vu_request {
	VDX_VU_GET_FEATURES = 1,
	VDX_VU_SET_FEATURES = 2,
	VDX_VU_SET_OWNER = 3,
	VDX_VU_SET_MEM_TABLE = 5,
	VDX_VU_SET_VRING_NUM = 8,
	VDX_VU_SET_VRING_ADDR = 9,
	VDX_VU_SET_VRING_BASE = 10,
	VDX_VU_GET_VRING_BASE = 11,
	VDX_VU_SET_VRING_KICK = 12,
	VDX_VU_SET_VRING_CALL = 13,
	VDX_VU_GET_PROTOCOL_FEATURES = 15,
	VDX_VU_SET_PROTOCOL_FEATURES = 16,
	VDX_VU_GET_QUEUE_NUM = 17,
	VDX_VU_SET_VRING_ENABLE = 18,
	VDX_VU_SET_BACKEND_REQ_FD = 21, /* formerly SET_SLAVE_REQ_FD */
};

/* Backend-to-frontend requests on the backend channel. */
enum vdx_vu_backend_request {
	VDX_VU_BACKEND_SHMEM_MAP = 9,
	VDX_VU_BACKEND_SHMEM_UNMAP = 10,
};

#define VDX_VU_VERSION 0x1u
#define VDX_VU_FLAG_REPLY (1u << 2)
#define VDX_VU_FLAG_NEED_REPLY (1u << 3)
#define VDX_VU_VRING_NOFD (1ull << 8)

#define VDX_VIRTIO_F_VERSION_1 32
#define VDX_VIRTIO_RING_F_EVENT_IDX 29
#define VDX_VU_F_PROTOCOL_FEATURES 30

#define VDX_VU_PROTO_F_MQ 0
#define VDX_VU_PROTO_F_REPLY_ACK 3
#define VDX_VU_PROTO_F_BACKEND_REQ 5
#define VDX_VU_PROTO_F_BACKEND_SEND_FD 10

#define VDX_VU_MAX_FDS 8
#define VDX_VU_MAX_PAYLOAD 4096 /* generous; larger messages are dropped */

struct vdx_vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vdx_vu_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

struct vdx_vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vdx_vu_region regions[1];
};

struct vdx_vu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vdx_vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

#endif
