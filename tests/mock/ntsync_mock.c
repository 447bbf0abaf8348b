// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync_mock: a userspace model of the upstream /dev/ntsync ABI, linked
 * into the test binaries with -Wl,--wrap=open,--wrap=ioctl ("make mock").
 *
 * It exists to check the TEST SUITE's logic on a machine without the
 * driver; it proves nothing about the driver.  Known differences from the
 * kernel: state is per process (a forked child works on a copy), objects
 * are never freed, a thread asleep in a wait is asleep in futex(), not in
 * ioctl(), a non-zero pad (uring_fd) is always rejected, and a wait with a
 * deadline interrupted by an SA_RESTART handler fails with EINTR (futex()
 * does not restart those).  Hence two tests are expected to fail here:
 * fd_lifetime.forked_child_shares_objects and
 * interrupt.sa_restart_keeps_the_absolute_deadline.
 *
 * Objects are memfds; dup()ed fds share the inode, which names the object.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/ntsync.h>

int __real_open(const char *path, int flags, ...);
int __real_ioctl(int fd, unsigned long request, ...);

enum type { T_DEV, T_SEM, T_MUTEX, T_EVENT };

struct obj {
	dev_t sdev;
	ino_t ino;
	enum type type;
	struct obj *dev;
	uint32_t a, b;		/* sem: count,max  mutex: owner,count  event: signaled,manual */
	bool ownerdead;
	struct obj *next;
};

struct waiter {
	_Atomic int signaled;	/* -1 while waiting, else index */
	bool all;
	bool ownerdead;
	uint32_t owner;
	uint32_t count;
	struct obj *objs[NTSYNC_MAX_WAIT_COUNT + 1];	/* alert last */
	struct obj *alert;
	struct waiter *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct obj *objects;
static struct waiter *waiters;	/* FIFO: head is the oldest */

static int copy_in(void *dst, uint64_t src, size_t len)
{
	struct iovec local = { dst, len };
	struct iovec remote = { (void *)(uintptr_t)src, len };

	if (!src || process_vm_readv(getpid(), &local, 1, &remote, 1, 0) !=
	    (ssize_t)len)
		return -EFAULT;
	return 0;
}

static int copy_out(uint64_t dst, const void *src, size_t len)
{
	struct iovec local = { (void *)src, len };
	struct iovec remote = { (void *)(uintptr_t)dst, len };

	if (!dst || process_vm_writev(getpid(), &local, 1, &remote, 1, 0) !=
	    (ssize_t)len)
		return -EFAULT;
	return 0;
}

static struct obj *lookup(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st))
		return NULL;
	for (struct obj *o = objects; o; o = o->next)
		if (o->sdev == st.st_dev && o->ino == st.st_ino)
			return o;
	return NULL;
}

static int new_obj(enum type type, struct obj *dev, uint32_t a, uint32_t b)
{
	int fd = memfd_create(type == T_DEV ? "ntsync-dev" : "ntsync-obj",
			      MFD_CLOEXEC);
	struct obj *o;
	struct stat st;

	if (fd < 0)
		return -errno;
	o = calloc(1, sizeof(*o));
	if (!o || fstat(fd, &st)) {
		close(fd);
		free(o);
		return -ENOMEM;
	}
	o->sdev = st.st_dev;
	o->ino = st.st_ino;
	o->type = type;
	o->dev = dev;
	o->a = a;
	o->b = b;
	pthread_mutex_lock(&lock);
	o->next = objects;
	objects = o;
	pthread_mutex_unlock(&lock);
	return fd;
}

int __wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	int mode, fd;

	if (strcmp(path, "/dev/ntsync") == 0) {
		fd = new_obj(T_DEV, NULL, 0, 0);
		if (fd < 0) {
			errno = -fd;
			return -1;
		}
		return fd;
	}
	va_start(ap, flags);
	mode = va_arg(ap, int);
	va_end(ap);
	return __real_open(path, flags, mode);
}

/* ---- Object predicates (lock held) ----------------------------------- */

static bool is_signaled(const struct obj *o, uint32_t owner)
{
	switch (o->type) {
	case T_SEM:
		return o->a > 0;
	case T_MUTEX:
		if (o->a && o->a != owner)
			return false;
		return o->b != UINT32_MAX;
	case T_EVENT:
		return o->a;
	default:
		return false;
	}
}

static void acquire(struct obj *o, struct waiter *q)
{
	switch (o->type) {
	case T_SEM:
		o->a--;
		break;
	case T_MUTEX:
		if (o->ownerdead)
			q->ownerdead = true;
		o->ownerdead = false;
		o->a = q->owner;
		o->b++;
		break;
	case T_EVENT:
		if (!o->b)
			o->a = 0;
		break;
	default:
		break;
	}
}

static void futex_wake(_Atomic int *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Serve every waiter that can be served, oldest first. */
static void try_wake(void)
{
	for (struct waiter *q = waiters; q; q = q->next) {
		int idx = -1;

		if (atomic_load(&q->signaled) != -1)
			continue;
		if (q->all) {
			bool ok = true;

			for (uint32_t i = 0; i < q->count; i++)
				ok = ok && is_signaled(q->objs[i], q->owner);
			if (ok && q->count) {
				for (uint32_t i = 0; i < q->count; i++)
					acquire(q->objs[i], q);
				idx = 0;
			} else if (q->alert && is_signaled(q->alert, q->owner)) {
				acquire(q->alert, q);
				idx = (int)q->count;
			}
		} else {
			for (uint32_t i = 0; i < q->count; i++) {
				if (is_signaled(q->objs[i], q->owner)) {
					acquire(q->objs[i], q);
					idx = (int)i;
					break;
				}
			}
			if (idx < 0 && q->alert && is_signaled(q->alert, q->owner)) {
				acquire(q->alert, q);
				idx = (int)q->count;
			}
		}
		if (idx >= 0) {
			atomic_store(&q->signaled, idx);
			futex_wake(&q->signaled);
		}
	}
}

static void dequeue(struct waiter *q)
{
	for (struct waiter **p = &waiters; *p; p = &(*p)->next) {
		if (*p == q) {
			*p = q->next;
			return;
		}
	}
}

/* ---- Waits ------------------------------------------------------------ */

static int do_wait(struct obj *dev, uint64_t uargs, bool all)
{
	struct ntsync_wait_args args;
	int fds[NTSYNC_MAX_WAIT_COUNT];
	struct waiter q;
	bool has_mutex = false;
	struct timespec ts;
	int ret;

	if (copy_in(&args, uargs, sizeof(args)))
		return -EFAULT;
	if (args.pad || (args.flags & ~NTSYNC_WAIT_REALTIME))
		return -EINVAL;
	if (args.count > NTSYNC_MAX_WAIT_COUNT)
		return -EINVAL;
	if (args.count && copy_in(fds, args.objs, args.count * sizeof(int)))
		return -EFAULT;

	memset(&q, 0, sizeof(q));
	atomic_store(&q.signaled, -1);
	q.all = all;
	q.owner = args.owner;
	q.count = args.count;
	pthread_mutex_lock(&lock);
	ret = 0;
	for (uint32_t i = 0; i < args.count && !ret; i++) {
		struct obj *o = lookup(fds[i]);

		if (!o || o->type == T_DEV || o->dev != dev)
			ret = -EINVAL;
		q.objs[i] = o;
		has_mutex |= o && o->type == T_MUTEX;
	}
	if (!ret && args.alert) {
		struct obj *o = lookup((int)args.alert);

		if (!o || o->type != T_EVENT || o->dev != dev)
			ret = -EINVAL;
		q.alert = o;
	}
	pthread_mutex_unlock(&lock);
	if (ret)
		return ret;
	if (all) {
		for (uint32_t i = 0; i < q.count; i++) {
			for (uint32_t j = i + 1; j < q.count; j++)
				if (q.objs[i] == q.objs[j])
					return -EINVAL;
			if (q.objs[i] == q.alert)
				return -EINVAL;
		}
	}
	if (has_mutex && !q.owner)
		return -EINVAL;

	pthread_mutex_lock(&lock);
	/* enqueue at the tail */
	struct waiter **tail = &waiters;
	while (*tail)
		tail = &(*tail)->next;
	*tail = &q;
	try_wake();
	pthread_mutex_unlock(&lock);

	ts.tv_sec = (time_t)(args.timeout / 1000000000ull);
	ts.tv_nsec = (long)(args.timeout % 1000000000ull);
	ret = 0;
	for (;;) {
		int r;

		if (atomic_load(&q.signaled) != -1)
			break;
		if (args.timeout != UINT64_MAX && args.timeout > INT64_MAX) {
			ret = -ETIMEDOUT;	/* negative ktime: already past */
			break;
		}
		r = (int)syscall(SYS_futex, &q.signaled,
				 FUTEX_WAIT_BITSET |
				 ((args.flags & NTSYNC_WAIT_REALTIME) ?
				  FUTEX_CLOCK_REALTIME : 0),
				 -1, args.timeout == UINT64_MAX ? NULL : &ts,
				 NULL, FUTEX_BITSET_MATCH_ANY);
		if (r < 0 && errno == ETIMEDOUT) {
			ret = -ETIMEDOUT;
			break;
		}
		if (r < 0 && errno == EINTR) {
			ret = -EINTR;
			break;
		}
	}
	pthread_mutex_lock(&lock);
	dequeue(&q);
	pthread_mutex_unlock(&lock);
	if (atomic_load(&q.signaled) != -1) {
		uint32_t index = (uint32_t)atomic_load(&q.signaled);

		ret = q.ownerdead ? -EOWNERDEAD : 0;
		if (copy_out(uargs + offsetof(struct ntsync_wait_args, index),
			     &index, sizeof(index)))
			ret = -EFAULT;
	}
	return ret;
}

/* ---- ioctl dispatch ---------------------------------------------------- */

static int dev_ioctl(struct obj *dev, unsigned long req, uint64_t arg)
{
	struct ntsync_sem_args s;
	struct ntsync_mutex_args m;
	struct ntsync_event_args e;

	switch (req) {
	case NTSYNC_IOC_CREATE_SEM:
		if (copy_in(&s, arg, sizeof(s)))
			return -EFAULT;
		if (s.count > s.max)
			return -EINVAL;
		return new_obj(T_SEM, dev, s.count, s.max);
	case NTSYNC_IOC_CREATE_MUTEX:
		if (copy_in(&m, arg, sizeof(m)))
			return -EFAULT;
		if (!m.owner != !m.count)
			return -EINVAL;
		return new_obj(T_MUTEX, dev, m.owner, m.count);
	case NTSYNC_IOC_CREATE_EVENT:
		if (copy_in(&e, arg, sizeof(e)))
			return -EFAULT;
		return new_obj(T_EVENT, dev, !!e.signaled, !!e.manual);
	case NTSYNC_IOC_WAIT_ANY:
		return do_wait(dev, arg, false);
	case NTSYNC_IOC_WAIT_ALL:
		return do_wait(dev, arg, true);
	default:
		return -ENOTTY;
	}
}

static int obj_ioctl_locked(struct obj *o, unsigned long req, uint64_t arg)
{
	uint32_t v, prev;
	struct ntsync_mutex_args m;
	struct ntsync_sem_args s;
	struct ntsync_event_args e;

	switch (req) {
	case NTSYNC_IOC_SEM_RELEASE:
		if (copy_in(&v, arg, sizeof(v)))
			return -EFAULT;
		if (o->type != T_SEM)
			return -EINVAL;
		if (o->a + v < o->a || o->a + v > o->b)
			return -EOVERFLOW;
		prev = o->a;
		o->a += v;
		try_wake();
		return copy_out(arg, &prev, sizeof(prev));
	case NTSYNC_IOC_MUTEX_UNLOCK:
		if (copy_in(&m, arg, sizeof(m)))
			return -EFAULT;
		if (o->type != T_MUTEX)
			return -EINVAL;
		if (!m.owner)
			return -EINVAL;
		if (o->a != m.owner)
			return -EPERM;
		prev = o->b;
		if (!--o->b)
			o->a = 0;
		try_wake();
		m.count = prev;
		return copy_out(arg, &m, sizeof(m));
	case NTSYNC_IOC_MUTEX_KILL:
		if (copy_in(&v, arg, sizeof(v)))
			return -EFAULT;
		if (o->type != T_MUTEX)
			return -EINVAL;
		if (!v)
			return -EINVAL;
		if (o->a != v)
			return -EPERM;
		o->a = 0;
		o->b = 0;
		o->ownerdead = true;
		try_wake();
		return 0;
	case NTSYNC_IOC_EVENT_SET:
	case NTSYNC_IOC_EVENT_RESET:
	case NTSYNC_IOC_EVENT_PULSE:
		if (o->type != T_EVENT)
			return -EINVAL;
		prev = o->a;
		if (req == NTSYNC_IOC_EVENT_RESET) {
			o->a = 0;
		} else {
			o->a = 1;
			try_wake();
			if (req == NTSYNC_IOC_EVENT_PULSE)
				o->a = 0;
		}
		return copy_out(arg, &prev, sizeof(prev));
	case NTSYNC_IOC_SEM_READ:
		if (o->type != T_SEM)
			return -EINVAL;
		s.count = o->a;
		s.max = o->b;
		return copy_out(arg, &s, sizeof(s));
	case NTSYNC_IOC_MUTEX_READ:
		if (o->type != T_MUTEX)
			return -EINVAL;
		m.owner = o->ownerdead ? 0 : o->a;
		m.count = o->ownerdead ? 0 : o->b;
		if (copy_out(arg, &m, sizeof(m)))
			return -EFAULT;
		return o->ownerdead ? -EOWNERDEAD : 0;
	case NTSYNC_IOC_EVENT_READ:
		if (o->type != T_EVENT)
			return -EINVAL;
		e.signaled = o->a;
		e.manual = o->b;
		return copy_out(arg, &e, sizeof(e));
	default:
		return -ENOTTY;
	}
}

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	struct obj *o;
	uint64_t arg;
	va_list ap;
	int ret;

	va_start(ap, req);
	arg = (uint64_t)(uintptr_t)va_arg(ap, void *);
	va_end(ap);

	pthread_mutex_lock(&lock);
	o = lookup(fd);
	pthread_mutex_unlock(&lock);
	if (!o)
		return __real_ioctl(fd, req, (void *)(uintptr_t)arg);
	if (o->type == T_DEV) {
		ret = dev_ioctl(o, req, arg);
	} else {
		pthread_mutex_lock(&lock);
		ret = obj_ioctl_locked(o, req, arg);
		pthread_mutex_unlock(&lock);
	}
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}
