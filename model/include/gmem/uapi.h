/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM and guest_memfd uAPI, defined locally.
 *
 * DUPLICATED from include/uapi/linux/kvm.h (Linux 6.18) so that neither the
 * model nor the kernel backend depends on the installed headers (Debian 12
 * ships 6.1, which predates guest_memfd).  Keep in sync with the kernel.
 * Items of in-flight series are marked PROPOSED with their series: their
 * numbers may still change.
 * Struct layouts and ioctl numbers are checked by static asserts below.
 */
#ifndef GMEM_UAPI_H
#define GMEM_UAPI_H

#include <stdint.h>

typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int64_t __s64;

#define KVMIO 0xAE

/* _IOC encoding (asm-generic/ioctl.h, x86-64 and arm64) */
#define GMEM_IOC(dir, type, nr, size)                                     \
	(((unsigned long)(dir) << 30) | ((unsigned long)(size) << 16) |   \
	 ((unsigned long)(type) << 8) | (unsigned long)(nr))
#define GMEM_IO(type, nr) GMEM_IOC(0U, type, nr, 0)
#define GMEM_IOW(type, nr, t) GMEM_IOC(1U, type, nr, sizeof(t))
#define GMEM_IOWR(type, nr, t) GMEM_IOC(3U, type, nr, sizeof(t))

struct kvm_userspace_memory_region {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
};

struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};

struct kvm_memory_attributes {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
};

struct kvm_create_guest_memfd {
	__u64 size;
	__u64 flags;
	__u64 reserved[6];
};

/*
 * PROPOSED: in-place conversion series (Ackerley Tng, v8, QUEUED in
 * linux-next):
 * KVM_SET_MEMORY_ATTRIBUTES2 is issued on the guest_memfd fd.  Same number
 * byte as the VM-level ioctl, read/write, 128 bytes.  Profile `inplace`.
 */
struct kvm_memory_attributes2 {
	union {
		__u64 address;
		__u64 offset;
	};
	__u64 size;
	__u64 attributes;
	__u64 flags;
	__u64 error_offset;
	__u64 reserved[11];
};

#define KVM_GET_API_VERSION GMEM_IO(KVMIO, 0x00)
#define KVM_CREATE_VM GMEM_IO(KVMIO, 0x01)
#define KVM_CHECK_EXTENSION GMEM_IO(KVMIO, 0x03)
#define KVM_SET_USER_MEMORY_REGION                                         \
	GMEM_IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)
#define KVM_SET_USER_MEMORY_REGION2                                        \
	GMEM_IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#define KVM_SET_MEMORY_ATTRIBUTES                                          \
	GMEM_IOW(KVMIO, 0xd2, struct kvm_memory_attributes)
#define KVM_CREATE_GUEST_MEMFD                                             \
	GMEM_IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)
#define KVM_SET_MEMORY_ATTRIBUTES2                                         \
	GMEM_IOWR(KVMIO, 0xd2, struct kvm_memory_attributes2)

#define KVM_API_VERSION 12

/* mm constants (asm-generic/mman-common.h, x86-64) */
#define GMEM_PROT_NONE 0x0
#define GMEM_PROT_READ 0x1
#define GMEM_PROT_WRITE 0x2
#define GMEM_PROT_EXEC 0x4
#define GMEM_MAP_SHARED 0x01
#define GMEM_MAP_PRIVATE 0x02
#define GMEM_MAP_SHARED_VALIDATE 0x03
#define GMEM_MAP_TYPE 0x0f
#define GMEM_MAP_FIXED 0x10
#define GMEM_MAP_ANONYMOUS 0x20
#define GMEM_MAP_POPULATE 0x8000
#define GMEM_MAP_SYNC 0x80000
#define GMEM_MADV_NORMAL 0
#define GMEM_MADV_RANDOM 1
#define GMEM_MADV_SEQUENTIAL 2
#define GMEM_MADV_WILLNEED 3
#define GMEM_MADV_DONTNEED 4
#define GMEM_MADV_FREE 8
#define GMEM_MADV_REMOVE 9
#define GMEM_MADV_DONTFORK 10
#define GMEM_MADV_DOFORK 11
#define GMEM_MADV_MERGEABLE 12
#define GMEM_MADV_UNMERGEABLE 13
#define GMEM_MADV_HUGEPAGE 14
#define GMEM_MADV_NOHUGEPAGE 15
#define GMEM_MADV_DONTDUMP 16
#define GMEM_MADV_DODUMP 17
#define GMEM_MADV_WIPEONFORK 18
#define GMEM_MADV_KEEPONFORK 19
#define GMEM_MADV_COLD 20
#define GMEM_MADV_PAGEOUT 21
#define GMEM_MADV_POPULATE_READ 22
#define GMEM_MADV_POPULATE_WRITE 23
#define GMEM_MADV_COLLAPSE 25

/* memslot flags */
#define KVM_MEM_LOG_DIRTY_PAGES (1UL << 0)
#define KVM_MEM_READONLY (1UL << 1)
#define KVM_MEM_GUEST_MEMFD (1UL << 2)

/* guest_memfd creation flags */
#define GUEST_MEMFD_FLAG_MMAP (1ULL << 0)
#define GUEST_MEMFD_FLAG_INIT_SHARED (1ULL << 1)

#define KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3)

/* PROPOSED (direct map removal series): not supported by any profile */
#define GUEST_MEMFD_FLAG_NO_DIRECT_MAP (1ULL << 2)
/*
 * PROPOSED (HugeTLB guest_memfd WIP, Ackerley Tng / Vishal Annapurve): a
 * HugeTLB-backed file, its huge page size encoded like MFD_HUGE_* (log2 of
 * the size in bits 26..31).  Profile `hugetlb`.
 */
#define GUEST_MEMFD_FLAG_HUGETLB (1ULL << 3)
#define GUEST_MEMFD_HUGETLB_SHIFT 26
#define GUEST_MEMFD_HUGETLB_MASK (0x3fULL << GUEST_MEMFD_HUGETLB_SHIFT)
#define GUEST_MEMFD_HUGETLB_2MB (21ULL << GUEST_MEMFD_HUGETLB_SHIFT)
#define GUEST_MEMFD_HUGETLB_1GB (30ULL << GUEST_MEMFD_HUGETLB_SHIFT)

/* capabilities */
#define KVM_CAP_NR_MEMSLOTS 10
#define KVM_CAP_READONLY_MEM 81
#define KVM_CAP_MULTI_ADDRESS_SPACE 118
#define KVM_CAP_USER_MEMORY2 231
#define KVM_CAP_MEMORY_FAULT_INFO 232
#define KVM_CAP_MEMORY_ATTRIBUTES 233
#define KVM_CAP_GUEST_MEMFD 234
#define KVM_CAP_VM_TYPES 235
#define KVM_CAP_PRE_FAULT_MEMORY 236
#define KVM_CAP_GUEST_MEMFD_FLAGS 244
/* PROPOSED (in-place series): moved between revisions (245/248/249) */
#define KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES 249

/* x86 VM types (arch/x86/include/uapi/asm/kvm.h) */
#define KVM_X86_DEFAULT_VM 0
#define KVM_X86_SW_PROTECTED_VM 1
#define KVM_X86_SEV_VM 2
#define KVM_X86_SEV_ES_VM 3
#define KVM_X86_SNP_VM 4
#define KVM_X86_TDX_VM 5
/* arm64 protected VM (arch/arm64/include/uapi/asm/kvm.h) */
#define KVM_VM_TYPE_ARM_PROTECTED (1UL << 31)

#define KVM_EXIT_MEMORY_FAULT 39
#define KVM_MEMORY_EXIT_FLAG_PRIVATE (1ULL << 3)

/* fallocate modes (linux/falloc.h) */
#define GMEM_FALLOC_FL_KEEP_SIZE 0x01
#define GMEM_FALLOC_FL_PUNCH_HOLE 0x02
#define GMEM_FALLOC_FL_NO_HIDE_STALE 0x04
#define GMEM_FALLOC_FL_COLLAPSE_RANGE 0x08
#define GMEM_FALLOC_FL_ZERO_RANGE 0x10
#define GMEM_FALLOC_FL_INSERT_RANGE 0x20
#define GMEM_FALLOC_FL_UNSHARE_RANGE 0x40
#define GMEM_FALLOC_FL_WRITE_ZEROES 0x80

_Static_assert(sizeof(struct kvm_userspace_memory_region2) == 160,
	       "region2 layout");
_Static_assert(sizeof(struct kvm_create_guest_memfd) == 64,
	       "create_guest_memfd layout");
_Static_assert(KVM_SET_USER_MEMORY_REGION2 == 0x40A0AE49UL, "ioctl nr");
_Static_assert(sizeof(struct kvm_memory_attributes2) == 128,
	       "memory_attributes2 layout");
_Static_assert(KVM_CREATE_GUEST_MEMFD == 0xC040AED4UL, "ioctl nr");
_Static_assert(KVM_SET_MEMORY_ATTRIBUTES == 0x4020AED2UL, "ioctl nr");
_Static_assert(KVM_SET_USER_MEMORY_REGION == 0x4020AE46UL, "ioctl nr");

#endif /* GMEM_UAPI_H */
