// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-nspa: the driver's dedicated slab caches.
 *
 * Owns: ntsync_wait_q (wait queues of up to NTSYNC_Q_CACHE_ENTRIES entries;
 * larger waits use kmalloc, and WAIT_ANY/WAIT_ALL queues of up to
 * NTSYNC_Q_STACK_ENTRIES live on the ioctl's stack), ntsync_pi_owner
 * (boost records of tasks) and
 * ntsync_event_pi (the records EVENT_SET_PI stages on an event, which become
 * the consuming task's boost record) and ntsync_channel_entry (one per
 * channel request).  Every cache is SLAB_HWCACHE_ALIGN so
 * that hot objects do not share cachelines with their neighbours, and
 * SLAB_NO_MERGE so that SLUB does not fold them into the generic kmalloc
 * caches, which would undo the isolation and hide them from slabinfo.
 *
 * The caches are created before the device is registered and destroyed
 * after it is gone, so no ioctl ever sees a missing cache.  The free
 * helpers accept NULL, because kmem_cache_free() does not.  No lock.
 *
 * Every slab free of the driver goes through this file (the lint checks
 * it), and each one starts with might_sleep(): on PREEMPT_RT a free may
 * take the slab's sleeping locks, so freeing under a raw spinlock is a bug.
 * The slab does not always say so itself: KASAN's quarantine delays the
 * real free past the lock, which hid a deliberate kfree() under obj->lock
 * from our debug kernel.  CONFIG_DEBUG_ATOMIC_SLEEP reports it here, at
 * the call, whatever the slab does later.
 */

#include <linux/overflow.h>
#include <linux/slab.h>

#include "ntsync_internal.h"

static struct kmem_cache *ntsync_wait_q_cache;
static struct kmem_cache *ntsync_pi_owner_cache;
static struct kmem_cache *ntsync_event_pi_cache;
static struct kmem_cache *ntsync_channel_entry_cache;

#define NTSYNC_CACHE_FLAGS	(SLAB_HWCACHE_ALIGN | SLAB_NO_MERGE)

/* kfree() for the driver's kmalloc'ed memory; see the rule above. */
void ntsync_kfree(const void *mem)
{
	might_sleep();
	kfree(mem);
}

static struct kmem_cache *ntsync_cache_create(const char *name, size_t size)
{
	return kmem_cache_create(name, size, 0, NTSYNC_CACHE_FLAGS, NULL);
}

int ntsync_caches_init(void)
{
	size_t q_size = struct_size_t(struct ntsync_q, entries,
				      NTSYNC_Q_CACHE_ENTRIES);

	ntsync_wait_q_cache = ntsync_cache_create("ntsync_wait_q", q_size);
	if (!ntsync_wait_q_cache)
		goto err;
	ntsync_pi_owner_cache = ntsync_cache_create("ntsync_pi_owner",
						    ntsync_boost_size());
	if (!ntsync_pi_owner_cache)
		goto err_pi_owner;
	ntsync_event_pi_cache = ntsync_cache_create("ntsync_event_pi",
						    ntsync_boost_size());
	if (!ntsync_event_pi_cache)
		goto err_event_pi;
	ntsync_channel_entry_cache =
		ntsync_cache_create("ntsync_channel_entry",
				    ntsync_channel_entry_size());
	if (!ntsync_channel_entry_cache)
		goto err_channel_entry;
	return 0;

err_channel_entry:
	kmem_cache_destroy(ntsync_event_pi_cache);
err_event_pi:
	kmem_cache_destroy(ntsync_pi_owner_cache);
err_pi_owner:
	kmem_cache_destroy(ntsync_wait_q_cache);
err:
	return -ENOMEM;
}

void ntsync_caches_exit(void)
{
	kmem_cache_destroy(ntsync_channel_entry_cache);
	kmem_cache_destroy(ntsync_event_pi_cache);
	kmem_cache_destroy(ntsync_pi_owner_cache);
	kmem_cache_destroy(ntsync_wait_q_cache);
}

/* A wait queue for @total_count entries; small ones come from the cache. */
struct ntsync_q *ntsync_alloc_q(__u32 total_count)
{
	struct ntsync_q *q;

	if (total_count <= NTSYNC_Q_CACHE_ENTRIES) {
		q = kmem_cache_alloc(ntsync_wait_q_cache, GFP_KERNEL_ACCOUNT);
		if (q)
			q->home = NTSYNC_Q_FROM_CACHE;
	} else {
		q = kmalloc(struct_size(q, entries, total_count),
			    GFP_KERNEL_ACCOUNT);
		if (q)
			q->home = NTSYNC_Q_FROM_KMALLOC;
	}
	return q;
}

void ntsync_free_q(struct ntsync_q *q)
{
	might_sleep();
	if (!q)
		return;
	if (q->home == NTSYNC_Q_FROM_CACHE)
		kmem_cache_free(ntsync_wait_q_cache, q);
	else if (q->home == NTSYNC_Q_FROM_KMALLOC)
		kfree(q);
	/* NTSYNC_Q_ON_STACK: nothing to free. */
}

/* Zeroed memory for a boost record from the cache of its first use. */
void *ntsync_alloc_boost_mem(bool staged)
{
	return kmem_cache_zalloc(staged ? ntsync_event_pi_cache :
				 ntsync_pi_owner_cache, GFP_KERNEL_ACCOUNT);
}

void ntsync_free_boost_mem(void *mem, bool staged)
{
	might_sleep();
	if (!mem)
		return;
	kmem_cache_free(staged ? ntsync_event_pi_cache : ntsync_pi_owner_cache,
			mem);
}

void *ntsync_alloc_channel_entry(void)
{
	return kmem_cache_zalloc(ntsync_channel_entry_cache, GFP_KERNEL_ACCOUNT);
}

void ntsync_free_channel_entry(void *entry)
{
	might_sleep();
	if (entry)
		kmem_cache_free(ntsync_channel_entry_cache, entry);
}
