// SPDX-License-Identifier: GPL-2.0
/* ntsync-vm self-test module: loads and unloads cleanly. */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static int __init vmtest_hello_init(void)
{
	pr_info("ntsync-vm selftest: hello module loaded\n");
	return 0;
}

static void __exit vmtest_hello_exit(void)
{
	pr_info("ntsync-vm selftest: hello module unloaded\n");
}

module_init(vmtest_hello_init);
module_exit(vmtest_hello_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ntsync-vm self-test: clean module");
