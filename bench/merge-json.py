#!/usr/bin/env python3
"""Add a second boot's bench.json (e.g. the inversion scenario on the
generic kernel) to the first one's, in place.  Its scenarios keep their
"kernel" label; its targets get "@<kernel>" appended to their id; "runs"
lists every boot with its environment.  Used by scripts/run-bench.sh.

    merge-json.py MAIN_JSON EXTRA_JSON
"""
import json
import os
import sys


def flavour(env):
    return env.get("kernel_flavour") or \
        ("rt" if env.get("preempt_rt") else "generic")


def main(argv):
    if len(argv) != 2:
        print("usage: merge-json.py MAIN_JSON EXTRA_JSON", file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        main_data = json.load(f)
    with open(argv[1]) as f:
        extra = json.load(f)
    env = main_data.get("environment") or {}
    xenv = extra.get("environment") or {}
    runs = main_data.get("runs") or [{"kernel": flavour(env),
                                      "kernel_release": env.get("kernel_release"),
                                      "scenarios": [s.get("name") for s in
                                                    main_data.get("scenarios", [])]}]
    runs.append({"kernel": flavour(xenv),
                 "kernel_release": xenv.get("kernel_release"),
                 "scenarios": [s.get("name") for s in extra.get("scenarios", [])],
                 "environment": xenv})
    main_data["runs"] = runs
    for sc in extra.get("scenarios", []):
        sc.setdefault("kernel", flavour(xenv))
        main_data.setdefault("scenarios", []).append(sc)
    for t in extra.get("targets", []):
        if t.get("status") == "n/a":
            continue
        t["id"] = f"{t.get('id')}@{flavour(xenv)}"
        main_data.setdefault("targets", []).append(t)
    tmp = argv[0] + ".tmp"
    with open(tmp, "w") as f:
        json.dump(main_data, f, indent=2)
        f.write("\n")
    os.replace(tmp, argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
