#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Summarize latency-trace's output (scripts/run-latency-trace.sh).

    latency-report.py OUTPUT JSON TRACES [KEY=VALUE...]

OUTPUT is the program's section of the console log.  Prints the table,
writes JSON (every run, the per-n summaries, the issue 13 criterion per
phase; KEY=VALUE pairs go into "environment") and TRACES (the trace lines
of every run).  Exit status 1 when a run reported an error or a round is
missing, else 0: the criterion is a figure, not a verdict.
"""
import json
import re
import statistics
import sys

PHASES = ("setup", "ops", "wake-all", "teardown")
RUN_RE = re.compile(r"^latency-trace (round=\d+ n=\d+ phase=[\w-]+ .*)$")
TRACE_RE = re.compile(r"^latency-trace-trace round=(\d+) n=(\d+) phase=([\w-]+) \|(.*)$")
HEAD_RE = re.compile(r"^latency-trace (tracer=.*)$")


def fields(text):
    return dict(kv.split("=", 1) for kv in text.split() if "=" in kv)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    src, json_path, traces_path = sys.argv[1:4]
    env = dict(a.split("=", 1) for a in sys.argv[4:])
    runs, errors, traces, head = [], [], [], {}
    with open(src, errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            m = TRACE_RE.match(line)
            if m:
                traces.append(line)
                continue
            m = RUN_RE.match(line)
            if m:
                if " error: " in line:
                    errors.append(line)
                    continue
                d = fields(m.group(1))
                for k in ("round", "n", "max_us", "ops"):
                    d[k] = int(d[k])
                d["secs"] = float(d["secs"])
                d["in_ntsync"] = d["in_ntsync"] == "yes"
                runs.append(d)
                continue
            m = HEAD_RE.match(line)
            if m:
                head = fields(m.group(1))
    rounds = int(head.get("rounds", 0))
    ns = sorted({r["n"] for r in runs})

    # Per round and n, the whole run: the longest of its phases but
    # wake-all, whose one call wakes every waiter (judged per woken task).
    whole = {}
    for r in runs:
        if r["phase"] == "wake-all":
            continue
        key = (r["round"], r["n"])
        if key not in whole or r["max_us"] > whole[key]["max_us"]:
            whole[key] = dict(r, phase="all")
    phases = PHASES + ("all",)
    rows = runs + list(whole.values())

    summary, missing = [], []
    for ph in phases:
        for n in ns:
            sel = [r for r in rows if r["phase"] == ph and r["n"] == n]
            if len(sel) < rounds:
                missing.append(f"{ph} n={n}: {len(sel)} of {rounds} rounds")
            if not sel:
                continue
            top = max(sel, key=lambda r: r["max_us"])
            summary.append({
                "phase": ph, "n": n, "rounds": len(sel),
                "max_us": top["max_us"],
                "median_us": statistics.median(r["max_us"] for r in sel),
                "started_at": top["started_at"], "ended_at": top["ended_at"],
                "in_ntsync": top["in_ntsync"],
                "stack": top["stack"], "stack_ntsync": top["stack_ntsync"],
                "in_ntsync_rounds": sum(r["in_ntsync"] for r in sel),
                "task": top["task"],
            })

    # The criterion, round by round: the longest section of a round at the
    # largest n is not ntsync's, or is within 2x of the longest at n = 1
    # (over every round: the reference is the noise floor's worst).  Issue 13
    # exempts the tasks an operation wakes: wake-all's one SEM_RELEASE wakes
    # min(n, waiters_max) tasks under the object's lock (the kernel's wake_q
    # is not exported to modules), so its section is divided by the tasks it
    # woke, against n = 1, where it wakes one.
    wmax = int(head.get("waiters_max", 0) or 0)

    def woken(n):
        return min(n, wmax) if wmax else 1

    criteria = []
    if len(ns) >= 2:
        lo, hi = ns[0], ns[-1]
        for ph in phases:
            a = next((s for s in summary if s["phase"] == ph and s["n"] == lo), None)
            b = next((s for s in summary if s["phase"] == ph and s["n"] == hi), None)
            if not a or not b:
                continue
            ref = a["max_us"]
            per = woken(hi) / woken(lo) if ph == "wake-all" else 1
            rel = (lambda us: us / per / ref if ref else float("inf"))
            sel = [r for r in rows if r["phase"] == ph and r["n"] == hi]
            ours = [r for r in sel if r["in_ntsync"]]
            missed = [r for r in ours if rel(r["max_us"]) > 2.0]
            criteria.append({
                "phase": ph, "n_ref": lo, "n": hi, "rounds": len(sel),
                "per_woken_task": per != 1,
                "ratio_max": round(rel(b["max_us"]), 2),
                "ratio_median": round(b["median_us"] / per / a["median_us"], 2)
                if a["median_us"] else None,
                "ntsync_rounds": len(ours),
                "ntsync_max_us": max((r["max_us"] for r in ours), default=None),
                "ntsync_ratio": round(rel(max(r["max_us"] for r in ours)), 2)
                if ours else None,
                "rounds_missed": len(missed),
                "met": not missed,
            })

    print(f"latency-trace: tracer {head.get('tracer', '?')}, uid {head.get('uid', '?')}, "
          f"{rounds} round(s), {head.get('iters', '?')} iterations per ops phase, "
          + ", ".join(f"{k} {v}" for k, v in env.items()))
    print(f"{'phase':9} {'n':>6} {'rounds':>6} {'max_us':>8} {'median':>8}  "
          f"{'in_ntsync':9}  started_at -> ended_at  [end stack: first frames]")
    for s in summary:
        print(f"{s['phase']:9} {s['n']:>6} {s['rounds']:>6} {s['max_us']:>8} "
              f"{s['median_us']:>8g}  {('yes' if s['in_ntsync'] else 'no'):3} "
              f"({s['in_ntsync_rounds']}/{s['rounds']})  {s['started_at']} -> "
              f"{s['ended_at']}  [{s['stack']}]")
    print("criterion (issue 13), per round at the largest n: the longest section is not"
          " ntsync's, or is within 2x of the longest at n = 1 (wake-all: per task its call"
          " woke; all: every phase but wake-all)")
    for c in criteria:
        ours = (f"ntsync's in {c['ntsync_rounds']}/{c['rounds']} rounds, longest "
                f"{c['ntsync_max_us']} us = {c['ntsync_ratio']:g}x"
                if c["ntsync_rounds"] else f"ntsync's in 0/{c['rounds']} rounds")
        med = "-" if c["ratio_median"] is None else f"{c['ratio_median']:g}"
        verdict = "met" if c["met"] else f"NOT met in {c['rounds_missed']}/{c['rounds']} rounds"
        per = " per woken task" if c["per_woken_task"] else ""
        print(f"  {c['phase']:9} n={c['n']}: max{per}/max(n={c['n_ref']}) = {c['ratio_max']:g}"
              f" (medians {med}); {ours} -> {verdict}")
    # wake-all's longest section per woken task, for the record.
    per_wake = []
    if wmax:
        for n in ns:
            s = next((s for s in summary if s["phase"] == "wake-all" and s["n"] == n), None)
            if s:
                woken = min(n, wmax)
                per_wake.append({"n": n, "woken": woken, "max_us": s["max_us"],
                                 "in_ntsync": s["in_ntsync"],
                                 "us_per_woken": round(s["max_us"] / woken, 1)})
        print("wake-all per woken task (one SEM_RELEASE wakes min(n, waiters) tasks under"
              " the object's lock):")
        for w in per_wake:
            print(f"  n={w['n']}: {w['max_us']} us for {w['woken']} woken"
                  f" = {w['us_per_woken']:g} us per woken task"
                  f" ({'ntsync' if w['in_ntsync'] else 'not ntsync'})")
    for e in errors:
        print(e)
    for m in missing:
        print(f"latency-trace: missing: {m}")

    with open(json_path, "w") as f:
        json.dump({"environment": dict(head, **env), "runs": runs,
                   "summary": summary, "criterion": criteria,
                   "wake_all_per_woken": per_wake,
                   "errors": errors, "missing": missing}, f, indent=1)
    with open(traces_path, "w") as f:
        f.write("\n".join(traces) + "\n")
    return 1 if errors or missing or not runs else 0


if __name__ == "__main__":
    sys.exit(main())
