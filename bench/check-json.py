#!/usr/bin/env python3
"""Check a bench.json written by ntsync-bench: it parses, names its
environment, and every series of every scenario has a figure (status "ok"
with a numeric median) or says "unsupported".  Prints TAP-style lines."""
import json
import math
import sys


def main(path):
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
    for sc in scenarios:
        bad = []
        for s in sc.get("series", []):
            status = s.get("status")
            median = s.get("median")
            if status == "unsupported":
                continue
            if status != "ok" or not isinstance(median, (int, float)) \
                    or math.isnan(median):
                bad.append(f"{s.get('name')}: status={status} median={median}")
        if not sc.get("series"):
            bad.append("no series")
        result(not bad, f"{sc.get('name')}_has_figures", "; ".join(bad))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/bench/bench.json"))
