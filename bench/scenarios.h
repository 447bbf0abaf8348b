/* SPDX-License-Identifier: GPL-2.0-only */
/* ntsync-bench: the scenario entry points (see ntsync-bench.c's table). */
#ifndef NTSYNC_BENCH_SCENARIOS_H
#define NTSYNC_BENCH_SCENARIOS_H

#include "bench.h"

void run_floor(const struct bench_cfg *cfg, struct result *res);
void run_handoff2(const struct bench_cfg *cfg, struct result *res);
void run_handoff4(const struct bench_cfg *cfg, struct result *res);
void run_philosophers(const struct bench_cfg *cfg, struct result *res);
void run_wake_order(const struct bench_cfg *cfg, struct result *res);
void run_inversion(const struct bench_cfg *cfg, struct result *res);
void run_channel_rtt(const struct bench_cfg *cfg, struct result *res);
void run_burst(const struct bench_cfg *cfg, struct result *res);
void run_growth_any(const struct bench_cfg *cfg, struct result *res);
void run_growth_all(const struct bench_cfg *cfg, struct result *res);
void run_growth_wake(const struct bench_cfg *cfg, struct result *res);
void run_raw_sections(const struct bench_cfg *cfg, struct result *res);

#endif /* NTSYNC_BENCH_SCENARIOS_H */
