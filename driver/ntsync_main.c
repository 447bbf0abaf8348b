// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-nspa: the /dev/ntsync misc device, its ioctls, and the files that
 * carry objects.
 *
 * Owns: module init and exit, one struct ntsync_device per open() of the
 * device, and the lifetime of objects through their anon-inode files.  No
 * lock of its own: an object is reached only through a file reference, and
 * a device only through its file or an object that pins that file.
 */

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "ntsync_internal.h"

static const struct file_operations ntsync_obj_fops;

struct ntsync_obj *ntsync_alloc_obj(struct ntsync_device *dev,
				    enum ntsync_type type)
{
	struct ntsync_obj *obj;

	obj = kzalloc(sizeof(*obj), GFP_KERNEL_ACCOUNT);
	if (!obj)
		return NULL;
	obj->type = type;
	obj->dev = dev;
	ntsync_stat_add(NTSYNC_STAT_OBJECTS_SEM + type, 1);
	/* The object pins its device; dropped in ntsync_free_obj(). */
	get_file(dev->file);
	raw_spin_lock_init(&obj->lock);
	ntsync_wq_init(&obj->any_waiters);
	ntsync_wq_init(&obj->all_waiters);
	return obj;
}

/* For an object that never got a file, and from the file's release. */
void ntsync_free_obj(struct ntsync_obj *obj)
{
	ntsync_obj_destroy(obj);
	ntsync_stat_add(NTSYNC_STAT_OBJECTS_SEM + obj->type, -1);
	fput(obj->dev->file);
	ntsync_kfree(obj);
}

/*
 * Give the object a file and an fd.  On failure the caller still owns the
 * object; on success the file owns it, and since another thread may close
 * the new fd at once, the caller must not touch the object again.
 */
int ntsync_install_obj_fd(struct ntsync_obj *obj)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	file = anon_inode_getfile("ntsync", &ntsync_obj_fops, obj, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	obj->file = file;
	fd_install(fd, file);
	return fd;
}

/*
 * Look up an object of @dev by fd and take a file reference on it, or return
 * NULL for anything else: a bad fd, another kind of file, an object of
 * another device.
 */
struct ntsync_obj *ntsync_get_obj(struct ntsync_device *dev, int fd)
{
	struct file *file = fget(fd);
	struct ntsync_obj *obj;

	if (!file)
		return NULL;
	if (file->f_op != &ntsync_obj_fops) {
		fput(file);
		return NULL;
	}
	obj = file->private_data;
	if (obj->dev != dev) {
		fput(file);
		return NULL;
	}
	return obj;
}

void ntsync_put_obj(struct ntsync_obj *obj)
{
	fput(obj->file);
}

static int ntsync_obj_release(struct inode *inode, struct file *file)
{
	ntsync_free_obj(file->private_data);
	return 0;
}

static const struct file_operations ntsync_obj_fops = {
	.owner		= THIS_MODULE,
	.release	= ntsync_obj_release,
	.unlocked_ioctl	= ntsync_obj_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static int ntsync_char_open(struct inode *inode, struct file *file)
{
	struct ntsync_device *dev;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL_ACCOUNT);
	if (!dev)
		return -ENOMEM;
	rt_mutex_init(&dev->wait_all_lock);
	atomic64_set(&dev->wait_seq, 0);
	dev->file = file;
	file->private_data = dev;
	return nonseekable_open(inode, file);
}

/* Runs when the last object of the device is gone too (they pin it). */
static int ntsync_char_release(struct inode *inode, struct file *file)
{
	ntsync_pi_device_release(file->private_data);
	ntsync_kfree(file->private_data);
	return 0;
}

static long ntsync_char_ioctl(struct file *file, unsigned int cmd,
			      unsigned long parm)
{
	struct ntsync_device *dev = file->private_data;
	void __user *argp = (void __user *)parm;

	switch (cmd) {
	case NTSYNC_IOC_CREATE_SEM:
		return ntsync_create_sem(dev, argp);
	case NTSYNC_IOC_CREATE_MUTEX:
		return ntsync_create_mutex(dev, argp);
	case NTSYNC_IOC_CREATE_EVENT:
		return ntsync_create_event(dev, argp);
	case NTSYNC_IOC_CREATE_CHANNEL:
		return ntsync_create_channel(dev, argp);
	case NTSYNC_IOC_WAIT_ANY:
		return ntsync_wait_any(dev, argp);
	case NTSYNC_IOC_WAIT_ALL:
		return ntsync_wait_all(dev, argp);
	case NTSYNC_IOC_AGGREGATE_WAIT:
		return ntsync_aggregate_wait(dev, argp);
	default:
		return -ENOIOCTLCMD;
	}
}

static const struct file_operations ntsync_fops = {
	.owner		= THIS_MODULE,
	.open		= ntsync_char_open,
	.release	= ntsync_char_release,
	.unlocked_ioctl	= ntsync_char_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice ntsync_misc = {
	.minor		= MISC_DYNAMIC_MINOR,
	.name		= "ntsync",
	.fops		= &ntsync_fops,
	.groups		= ntsync_attr_groups,
	.mode		= 0666,
};

static int __init ntsync_init(void)
{
	int ret;

	/* Caches first: no ioctl may run before they exist. */
	ret = ntsync_caches_init();
	if (ret)
		return ret;
	ret = misc_register(&ntsync_misc);
	if (ret)
		ntsync_caches_exit();
	return ret;
}

static void __exit ntsync_exit(void)
{
	/* Every file is gone (they pin the module), and so every object. */
	misc_deregister(&ntsync_misc);
	ntsync_pi_exit();
	ntsync_caches_exit();
}

module_init(ntsync_init);
module_exit(ntsync_exit);

MODULE_AUTHOR("ntsync-nspa developers");
MODULE_DESCRIPTION("NT synchronization primitives with real-time extensions");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
