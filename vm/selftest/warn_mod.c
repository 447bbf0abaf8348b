// SPDX-License-Identifier: GPL-2.0
/* ntsync-vm self-test module: its init triggers a kernel WARNING, which the
 * harness must catch in the dmesg section and turn into a failed run. */
#include <linux/bug.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static int __init vmtest_warn_init(void)
{
	pr_info("ntsync-vm selftest: warn module about to WARN\n");
	WARN_ON(1);
	return 0;
}

static void __exit vmtest_warn_exit(void)
{
}

module_init(vmtest_warn_init);
module_exit(vmtest_warn_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ntsync-vm self-test: module that WARNs on load");
