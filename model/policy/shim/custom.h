/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CUSTOMISED: how the model hosts the policies.  The gmem_huge_page
 * accessors of gmem_huge_policy.h are implemented in model/huge.c over the
 * model's state; in a port they are implemented in guest_memfd.c over the
 * filemap and the attribute maple tree.  Nothing here is included by a
 * policy file.
 */
#ifndef GMEM_SHIM_CUSTOM_H
#define GMEM_SHIM_CUSTOM_H

struct gm_host;
struct gmem_inode;
struct gmem_huge_overlay;

/* The model's concrete huge page (opaque to policies). */
struct gmem_huge_page {
	struct gm_host *h;
	struct gmem_inode *inode;
	u64 base;		/* first index of the huge page */
	const struct gmem_huge_overlay *ov;	/* conversion in flight */
};

#endif /* GMEM_SHIM_CUSTOM_H */
