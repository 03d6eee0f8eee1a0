/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhost-user wire format: message numbers, flags, feature bits and payload
 * structs. The one place these numbers live; both vdaxd (backend) and
 * libvdax (frontend) and the tests include it. All fields are in the host's
 * byte order (vhost-user is a same-host protocol). LGPL so that libvdax
 * (the frontend) can include it too.
 *
 * Spec: docs/interop/vhost-user.rst in QEMU. "Backend" = the old "slave".
 */
#ifndef VDAX_VHOST_USER_H
#define VDAX_VHOST_USER_H

#include <stdint.h>

/* Header flags. */
#define VHOST_USER_VERSION 0x1u
#define VHOST_USER_VERSION_MASK 0x3u
#define VHOST_USER_REPLY_MASK (0x1u << 2)
#define VHOST_USER_NEED_REPLY_MASK (0x1u << 3)

/* Virtio device feature bit owned by vhost-user. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30

/* Protocol feature bits. */
#define VHOST_USER_PROTOCOL_F_MQ 0
#define VHOST_USER_PROTOCOL_F_LOG_SHMFD 1
#define VHOST_USER_PROTOCOL_F_RARP 2
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_MTU 4
#define VHOST_USER_PROTOCOL_F_BACKEND_REQ 5 /* formerly SLAVE_REQ */
#define VHOST_USER_PROTOCOL_F_CROSS_ENDIAN 6
#define VHOST_USER_PROTOCOL_F_CRYPTO_SESSION 7
#define VHOST_USER_PROTOCOL_F_PAGEFAULT 8
#define VHOST_USER_PROTOCOL_F_CONFIG 9
#define VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD 10 /* formerly SLAVE_SEND_FD */
#define VHOST_USER_PROTOCOL_F_HOST_NOTIFIER 11
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD 12
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE 13
#define VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS 14
#define VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15
#define VHOST_USER_PROTOCOL_F_STATUS 16
#define VHOST_USER_PROTOCOL_F_XEN_MMAP 17
#define VHOST_USER_PROTOCOL_F_SHARED_OBJECT 18
#define VHOST_USER_PROTOCOL_F_DEVICE_STATE 19
#define VHOST_USER_PROTOCOL_F_GET_VRING_BASE_INFLIGHT 20
/*
 * VIRTIO Shared Memory Regions (SHMEM_MAP/UNMAP, GET_SHMEM_CONFIG). The
 * early drafts of the series took bit 20; bit 20 then went to
 * GET_VRING_BASE_INFLIGHT in QEMU and the SHMEM series moved to 21, which is
 * what rust-vmm vhost 0.16 ("shift feature bits to accommodate
 * GET_VRING_BASE_INFLIGHT") speaks. We use 21 so that we never collide with
 * a QEMU that implements GET_VRING_BASE_INFLIGHT. The bit is only offered
 * when a DAX window is configured, so a peer that disagrees simply runs
 * without DAX. If the number changes again, this is the only line to edit.
 */
#define VHOST_USER_PROTOCOL_F_SHMEM 21

/* Frontend -> backend requests. */
enum vhost_user_request {
	VHOST_USER_NONE = 0,
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SEND_RARP = 19,
	VHOST_USER_NET_SET_MTU = 20,
	VHOST_USER_SET_BACKEND_REQ_FD = 21, /* formerly SET_SLAVE_REQ_FD */
	VHOST_USER_IOTLB_MSG = 22,
	VHOST_USER_SET_VRING_ENDIAN = 23,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_CREATE_CRYPTO_SESSION = 26,
	VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
	VHOST_USER_POSTCOPY_ADVISE = 28,
	VHOST_USER_POSTCOPY_LISTEN = 29,
	VHOST_USER_POSTCOPY_END = 30,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_GPU_SET_SOCKET = 33,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_VRING_KICK = 35,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
	VHOST_USER_GET_SHARED_OBJECT = 41,
	VHOST_USER_SET_DEVICE_STATE_FD = 42,
	VHOST_USER_CHECK_DEVICE_STATE = 43,
	VHOST_USER_GET_SHMEM_CONFIG = 44,
	VHOST_USER_MAX
};

/* Backend -> frontend requests (on the SET_BACKEND_REQ_FD channel). */
enum vhost_user_backend_request {
	VHOST_USER_BACKEND_NONE = 0,
	VHOST_USER_BACKEND_IOTLB_MSG = 1,
	VHOST_USER_BACKEND_CONFIG_CHANGE_MSG = 2,
	VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
	VHOST_USER_BACKEND_VRING_CALL = 4,
	VHOST_USER_BACKEND_VRING_ERR = 5,
	VHOST_USER_BACKEND_SHARED_OBJECT_ADD = 6,
	VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE = 7,
	VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP = 8,
	VHOST_USER_BACKEND_SHMEM_MAP = 9,
	VHOST_USER_BACKEND_SHMEM_UNMAP = 10,
	VHOST_USER_BACKEND_MAX
};

/* Regions in one SET_MEM_TABLE (and fds in one message). */
#define VHOST_USER_MAX_FDS 8
#define VHOST_USER_MEM_REGIONS_MAX 8

/* SET_VRING_KICK/CALL/ERR payload: index in bits 0..7, bit 8 = no fd. */
#define VHOST_USER_VRING_IDX_MASK 0xffull
#define VHOST_USER_VRING_NOFD_MASK (0x1ull << 8)

#define VHOST_USER_SHMEM_MAP_F_WRITABLE (1ull << 0)
#define VHOST_USER_SHMEM_MAX_REGIONS 256

struct vhost_user_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* payload bytes that follow */
} __attribute__((packed));

struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
} __attribute__((packed));

struct vhost_user_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
} __attribute__((packed));

struct vhost_user_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_USER_MEM_REGIONS_MAX];
} __attribute__((packed));

/* ADD_MEM_REG / REM_MEM_REG */
struct vhost_user_mem_reg {
	uint64_t padding;
	struct vhost_user_mem_region region;
} __attribute__((packed));

/* BACKEND_SHMEM_MAP / BACKEND_SHMEM_UNMAP */
struct vhost_user_shmem_map {
	uint8_t shmid;
	uint8_t padding[7];
	uint64_t fd_offset;
	uint64_t shm_offset;
	uint64_t len;
	uint64_t flags;
} __attribute__((packed));

/* GET_SHMEM_CONFIG reply */
struct vhost_user_shmem_config {
	uint32_t nregions;
	uint32_t padding;
	uint64_t memory_sizes[VHOST_USER_SHMEM_MAX_REGIONS];
} __attribute__((packed));

/* GET_CONFIG / SET_CONFIG: a header, then @size bytes of device config. */
#define VHOST_USER_CONFIG_HDR 12
#define VHOST_USER_CONFIG_MAX 256
struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHOST_USER_CONFIG_MAX];
} __attribute__((packed));

/* virtio-fs device configuration (virtio spec 5.11.4). */
struct virtio_fs_config_le {
	uint8_t tag[36];
	uint32_t num_request_queues; /* little endian */
} __attribute__((packed));

/* Largest payload any request or reply we handle carries. */
#define VHOST_USER_PAYLOAD_MAX sizeof(struct vhost_user_shmem_config)

struct vhost_user_msg {
	struct vhost_user_hdr hdr;
	union {
		uint64_t u64;
		struct vhost_user_vring_state state;
		struct vhost_user_vring_addr addr;
		struct vhost_user_mem_table memory;
		struct vhost_user_mem_reg mem_reg;
		struct vhost_user_shmem_map shmem_map;
		struct vhost_user_shmem_config shmem_config;
		struct vhost_user_config config;
		uint8_t raw[VHOST_USER_PAYLOAD_MAX];
	} payload;
} __attribute__((packed));

_Static_assert(sizeof(struct vhost_user_hdr) == 12, "vhost-user header");
_Static_assert(sizeof(struct vhost_user_vring_addr) == 40, "vring addr");
_Static_assert(sizeof(struct vhost_user_mem_region) == 32, "mem region");
_Static_assert(sizeof(struct vhost_user_shmem_map) == 40, "shmem map");
_Static_assert(sizeof(struct vhost_user_shmem_config) == 2056, "shmem cfg");

#endif
