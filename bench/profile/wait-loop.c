// SPDX-License-Identifier: GPL-2.0-only
/*
 * wait-loop: the subject of scripts/run-profile.sh.  Makes N uncontended
 * WAIT_ANY calls on K signaled manual-reset events, then N getppid() calls
 * (the null-syscall floor), so that a function_graph trace of the ioctl and
 * of getppid() can be compared call for call.
 *   wait-loop [N [K]]      (default 300 calls on 1 event, K <= 64)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/ntsync.h>

#include "ntsync.h"

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 300;
	int k = argc > 2 ? atoi(argv[2]) : 1;
	int events[NTSYNC_MAX_WAIT_COUNT];
	uint32_t index;
	int dev, i, ret;

	if (n < 1 || k < 1 || k > NTSYNC_MAX_WAIT_COUNT) {
		fprintf(stderr, "usage: wait-loop [N [K]] (N >= 1, 1 <= K <= %d)\n",
			NTSYNC_MAX_WAIT_COUNT);
		return 2;
	}
	dev = ntsync_open();
	if (dev < 0) {
		fprintf(stderr, "wait-loop: /dev/ntsync: %s\n", strerror(-dev));
		return 1;
	}
	for (i = 0; i < k; i++) {
		events[i] = ntsync_event_create(dev, 1, 1);
		if (events[i] < 0) {
			fprintf(stderr, "wait-loop: CREATE_EVENT: %s\n",
				strerror(-events[i]));
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		ret = ntsync_wait_any(dev, events, k, 1, NTSYNC_NO_ALERT,
				      NTSYNC_TIMEOUT_INFINITE, 0, &index);
		if (ret) {
			fprintf(stderr, "wait-loop: WAIT_ANY: %s\n", strerror(-ret));
			return 1;
		}
	}
	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
	printf("wait-loop: %d WAIT_ANY on %d event(s), %d getppid()\n", n, k, n);
	return 0;
}
