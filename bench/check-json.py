#!/usr/bin/env python3
"""Check a bench.json written by ntsync-bench: it parses, names its
environment, every scenario is labelled with its kernel ("rt" or
"generic"), every boot listed in "runs" (scripts/run-bench.sh adds the
generic kernel's inversion run) has its scenarios in the list, and every
series of every scenario has a figure (status "ok" with a numeric median).  A series the benchmark marked "unsupported" (no
NSPA extensions, no SCHED_FIFO...) fails, since make check runs it on this
project's module; --allow-unsupported accepts it, for a run elsewhere.
Prints TAP-style lines, then the plan; exits 1 if a check failed.

    check-json.py [--allow-unsupported] [BENCH_JSON]
"""
import json
import math
import sys


def main(argv):
    allow_unsupported = "--allow-unsupported" in argv
    args = [a for a in argv if a != "--allow-unsupported"]
    if len(args) > 1 or any(a.startswith("-") for a in args):
        print("usage: check-json.py [--allow-unsupported] [BENCH_JSON]",
              file=sys.stderr)
        return 2
    path = args[0] if args else "build/bench/bench.json"
    failed = 0
    n = 0

    def result(ok, name, why=""):
        nonlocal failed, n
        n += 1
        print(f"{'ok' if ok else 'not ok'} {n} - bench.{name}")
        if not ok:
            failed += 1
            print(f"# {why}")

    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        result(False, "json_parses", str(e))
        print(f"1..{n}")
        return 1
    result(True, "json_parses")
    env = data.get("environment") or {}
    missing = [k for k in ("kernel_release", "vcpus", "accel", "module_parameters")
               if k not in env]
    result(not missing, "environment_recorded",
           f"missing {missing} in environment: {env}")
    scenarios = data.get("scenarios") or []
    result(len(scenarios) >= 8, "all_scenarios_present",
           f"{len(scenarios)} scenarios")
    unlabelled = [sc.get("name") for sc in scenarios
                  if sc.get("kernel") not in ("rt", "generic")]
    result(not unlabelled, "scenarios_labelled_by_kernel",
           f"no kernel label on {unlabelled}")
    for run in data.get("runs") or []:
        have = {sc.get("name") for sc in scenarios
                if sc.get("kernel") == run.get("kernel")}
        lost = [name for name in run.get("scenarios") or [] if name not in have]
        result(bool(run.get("scenarios")) and not lost,
               f"run_{run.get('kernel')}_present",
               f"scenarios {lost or 'none'} of the {run.get('kernel')} run missing")
    for sc in scenarios:
        bad = []
        for s in sc.get("series", []):
            status = s.get("status")
            median = s.get("median")
            if status == "unsupported":
                if not allow_unsupported:
                    bad.append(f"{s.get('name')}: unsupported"
                               f" ({s.get('reason') or 'no reason given'})")
                continue
            if status != "ok" or not isinstance(median, (int, float)) \
                    or math.isnan(median):
                bad.append(f"{s.get('name')}: status={status} median={median}")
        if not sc.get("series"):
            bad.append("no series")
        label = "" if sc.get("kernel") in (None, "rt") else f"@{sc.get('kernel')}"
        result(not bad, f"{sc.get('name')}{label}_has_figures", "; ".join(bad))
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
