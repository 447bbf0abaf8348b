// SPDX-License-Identifier: GPL-2.0-only
/*
 * ntsync-nspa: observability.  Owns the counters (per-CPU, summed on
 * read), their sysfs files under /sys/class/misc/ntsync/ (stats/<name>,
 * one number each, and "features"), and the tracepoints' definitions
 * (ntsync_trace.h).
 *
 * No lock: counters are per-CPU (this_cpu ops are safe in any context,
 * including under the driver's raw spinlocks), and a reader sums them
 * without stopping writers, so a read is a snapshot, not an atomic one.
 * Gauges (live objects, pending entries...) are kept as +1/-1 pairs whose
 * sum is exact once no operation is in flight.
 */

#include <linux/device.h>
#include <linux/percpu.h>
#include <linux/sysfs.h>

#include "ntsync_internal.h"

#define CREATE_TRACE_POINTS
#include "ntsync_trace.h"

DEFINE_PER_CPU(struct ntsync_stats, ntsync_stats);

struct ntsync_stat_attr {
	struct device_attribute attr;
	enum ntsync_stat stat;
};

static ssize_t ntsync_stat_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct ntsync_stat_attr *sa = container_of(attr, struct ntsync_stat_attr,
						   attr);
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(ntsync_stats, cpu).count[sa->stat];
	/*
	 * A gauge read while an increment on one CPU and its decrement on
	 * another race can sum below zero for a moment: show 0, not 2^64-1.
	 */
	if ((s64)sum < 0)
		sum = 0;
	return sysfs_emit(buf, "%llu\n", sum);
}

#define NTSYNC_STAT_ATTR(_name, _stat)					\
	static struct ntsync_stat_attr ntsync_stat_##_name = {		\
		.attr = __ATTR(_name, 0444, ntsync_stat_show, NULL),	\
		.stat = _stat,						\
	}

NTSYNC_STAT_ATTR(objects_sem, NTSYNC_STAT_OBJECTS_SEM);
NTSYNC_STAT_ATTR(objects_mutex, NTSYNC_STAT_OBJECTS_MUTEX);
NTSYNC_STAT_ATTR(objects_event, NTSYNC_STAT_OBJECTS_EVENT);
NTSYNC_STAT_ATTR(objects_channel, NTSYNC_STAT_OBJECTS_CHANNEL);
NTSYNC_STAT_ATTR(waits, NTSYNC_STAT_WAITS);
NTSYNC_STAT_ATTR(wakes, NTSYNC_STAT_WAKES);
NTSYNC_STAT_ATTR(spins, NTSYNC_STAT_SPINS);
NTSYNC_STAT_ATTR(spin_claims, NTSYNC_STAT_SPIN_CLAIMS);
NTSYNC_STAT_ATTR(wakes_ahead, NTSYNC_STAT_WAKES_AHEAD);
NTSYNC_STAT_ATTR(pi_boosts_applied, NTSYNC_STAT_PI_BOOSTS_APPLIED);
NTSYNC_STAT_ATTR(pi_boosts_restored, NTSYNC_STAT_PI_BOOSTS_RESTORED);
NTSYNC_STAT_ATTR(pi_boosts_skipped, NTSYNC_STAT_PI_BOOSTS_SKIPPED);
NTSYNC_STAT_ATTR(pi_records, NTSYNC_STAT_PI_RECORDS);
NTSYNC_STAT_ATTR(pi_reevaluations, NTSYNC_STAT_PI_REEVALUATIONS);
NTSYNC_STAT_ATTR(event_pi_staged, NTSYNC_STAT_EVENT_PI_STAGED);
NTSYNC_STAT_ATTR(event_pi_consumed, NTSYNC_STAT_EVENT_PI_CONSUMED);
NTSYNC_STAT_ATTR(event_pi_cancelled, NTSYNC_STAT_EVENT_PI_CANCELLED);
NTSYNC_STAT_ATTR(channel_sends, NTSYNC_STAT_CHANNEL_SENDS);
NTSYNC_STAT_ATTR(channel_replies, NTSYNC_STAT_CHANNEL_REPLIES);
NTSYNC_STAT_ATTR(channel_cancelled, NTSYNC_STAT_CHANNEL_CANCELLED);
NTSYNC_STAT_ATTR(channel_pending, NTSYNC_STAT_CHANNEL_PENDING);
NTSYNC_STAT_ATTR(channel_dispatched, NTSYNC_STAT_CHANNEL_DISPATCHED);
NTSYNC_STAT_ATTR(channel_registrations, NTSYNC_STAT_CHANNEL_REGISTRATIONS);

static struct attribute *ntsync_stat_attrs[] = {
	&ntsync_stat_objects_sem.attr.attr,
	&ntsync_stat_objects_mutex.attr.attr,
	&ntsync_stat_objects_event.attr.attr,
	&ntsync_stat_objects_channel.attr.attr,
	&ntsync_stat_waits.attr.attr,
	&ntsync_stat_wakes.attr.attr,
	&ntsync_stat_spins.attr.attr,
	&ntsync_stat_spin_claims.attr.attr,
	&ntsync_stat_wakes_ahead.attr.attr,
	&ntsync_stat_pi_boosts_applied.attr.attr,
	&ntsync_stat_pi_boosts_restored.attr.attr,
	&ntsync_stat_pi_boosts_skipped.attr.attr,
	&ntsync_stat_pi_records.attr.attr,
	&ntsync_stat_pi_reevaluations.attr.attr,
	&ntsync_stat_event_pi_staged.attr.attr,
	&ntsync_stat_event_pi_consumed.attr.attr,
	&ntsync_stat_event_pi_cancelled.attr.attr,
	&ntsync_stat_channel_sends.attr.attr,
	&ntsync_stat_channel_replies.attr.attr,
	&ntsync_stat_channel_cancelled.attr.attr,
	&ntsync_stat_channel_pending.attr.attr,
	&ntsync_stat_channel_dispatched.attr.attr,
	&ntsync_stat_channel_registrations.attr.attr,
	NULL
};

static const struct attribute_group ntsync_stats_group = {
	.name = "stats",
	.attrs = ntsync_stat_attrs,
};

/* The NSPA extensions this module implements, for tools to check. */
static ssize_t features_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "event_set_pi channel aggregate_wait uring_fd\n");
}
static DEVICE_ATTR_RO(features);

static struct attribute *ntsync_dev_attrs[] = {
	&dev_attr_features.attr,
	NULL
};

static const struct attribute_group ntsync_dev_group = {
	.attrs = ntsync_dev_attrs,
};

const struct attribute_group *ntsync_attr_groups[] = {
	&ntsync_dev_group,
	&ntsync_stats_group,
	NULL
};
