/* SPDX-License-Identifier: GPL-2.0 */
/*
 * STUBBED: kernel helpers a policy may call that have no meaning in the
 * model (locking assertions); in a port this file goes away.
 */
#ifndef GMEM_SHIM_STUBS_H
#define GMEM_SHIM_STUBS_H

/* the caller holds the inode's invalidate_lock for write */
#define lockdep_assert_held_write(lock) ((void)0)

#endif /* GMEM_SHIM_STUBS_H */
