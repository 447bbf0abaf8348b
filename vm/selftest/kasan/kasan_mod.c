// SPDX-License-Identifier: GPL-2.0
/*
 * ntsync-vm oracle check for the debug kernel: its init reads 8 bytes of a
 * slab object it has just freed.  Booted with the debug kernel's command
 * line (vm/debug-kernel.cmdline), KASAN must report it and the harness must
 * turn the report into an unclean dmesg: proof that the arguments the debug
 * runs boot with leave the oracle working.
 */
#include <linux/compiler.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/slab.h>

static int __init vmtest_kasan_init(void)
{
	u64 *object = kmalloc(64, GFP_KERNEL);
	u64 stale;

	if (!object)
		return -ENOMEM;
	kfree(object);
	/* Hidden from the compiler, so the read below is really made. */
	OPTIMIZER_HIDE_VAR(object);
	stale = READ_ONCE(object[1]);
	pr_info("ntsync-vm selftest: read %llu from a freed object\n", stale);
	return 0;
}

static void __exit vmtest_kasan_exit(void)
{
}

module_init(vmtest_kasan_init);
module_exit(vmtest_kasan_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ntsync-vm self-test: use-after-free on load, for KASAN");
