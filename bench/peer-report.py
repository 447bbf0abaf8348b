#!/usr/bin/env python3
"""Report of the peer run (scripts/run-bench-peer.sh, issue 15): the
project's module against upstream's ntsync.ko, both run by ntsync-bench in
one boot of the 7.x PREEMPT_RT kernel, in alternating rounds.

For every series both drivers ran: each driver's median over the rounds of
the run medians, and the ratio ours / upstream (for us lower is better, for
ops/s higher).  Series that are the same code on both drivers (the PI
futex, the plain mutex, getppid) are "control" rows: their ratio is the
noise between runs.  Upstream's mutex has no PI, so inversion's ntsync-pi
row is compared with upstream's ntsync-pi-off row ("no PI").  Growth
scenarios: the steepness n=max / n=1 of each row group, per driver.  Then
issue 15's targets as figures (met / missed / n/a): they never fail the
run.  Series a driver could not run are listed, not dropped.

    peer-report.py --dir PEER_DIR --rounds R --ours-ko KO --upstream-ko KO
                   --kernel-release REL --host TEXT --vm-verdict PASS|FAIL
                   --seconds S --json OUT_JSON --table OUT_TABLE
    peer-report.py --not-run REASON --json OUT_JSON --table OUT_TABLE

PEER_DIR holds <driver>-<round>/bench.json and module.txt and runs.txt
(bench/peer-guest.sh).  Exits 1 when a run's results are missing (the
report is written all the same), 0 otherwise.
"""
import argparse
import glob
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys

DRIVERS = ("upstream", "ours")
# Upstream's counterpart of one of our series when its own is missing:
# upstream's mutex has no PI, which is what its ntsync-pi-off row measured.
PEER_FALLBACK = {("inversion", "ntsync-pi"): ("ntsync-pi-off", "no PI")}
# Numeric extras compared like series: (scenario, series, extra) -> unit.
EXTRA_ROWS = {("philosophers", "ntsync-wait-all", "meals_per_s"): "meals/s",
              ("philosophers", "ntsync-wait-all", "min_meals_per_s"): "meals/s",
              ("philosophers", "ntsync-wait-all", "fairness"): "ratio",
              ("philosophers", "ntsync-wait-all", "fairness_runnable"): "ratio"}
# A fairness (fewest / most meals) is better higher, as a rate is.
HIGHER_IS_BETTER = {"ops/s", "meals/s", "ratio"}


def median(values):
    return statistics.median(values) if values else None


def load_runs(peer_dir):
    """{driver: {round: bench.json data}}, {driver: {round: module.txt}},
    runs.txt lines as dicts."""
    data = {d: {} for d in DRIVERS}
    loaded = {d: {} for d in DRIVERS}
    for path in sorted(glob.glob(os.path.join(peer_dir, "*-*", "bench.json"))):
        name = os.path.basename(os.path.dirname(path))
        driver, _, rnd = name.rpartition("-")
        if driver not in DRIVERS or not rnd.isdigit():
            continue
        with open(path) as f:
            data[driver][int(rnd)] = json.load(f)
        mod = os.path.join(os.path.dirname(path), "module.txt")
        if os.path.exists(mod):
            with open(mod) as f:
                loaded[driver][int(rnd)] = dict(
                    line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    runs = []
    runs_txt = os.path.join(peer_dir, "runs.txt")
    if os.path.exists(runs_txt):
        with open(runs_txt) as f:
            for line in f:
                fields = dict(w.split("=", 1) for w in line.split() if "=" in w)
                if fields:
                    runs.append(fields)
    return data, loaded, runs


def module_identity(path):
    """What modinfo says of a .ko, and its sha256."""
    ident = {"path": path}
    for field in ("version", "srcversion", "vermagic", "intree", "name", "sig_key"):
        try:
            out = subprocess.run(["modinfo", "-F", field, path], check=True,
                                 capture_output=True, text=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            out = ""
        ident[field] = out or None
    try:
        with open(path, "rb") as f:
            ident["sha256"] = hashlib.sha256(f.read()).hexdigest()
    except OSError:
        ident["sha256"] = None
    if ident["version"]:
        ident["identity"] = f"ntsync {ident['version']}" + \
            (f" (srcversion {ident['srcversion']})" if ident["srcversion"] else "")
    elif ident["intree"] == "Y":
        ident["identity"] = "in-tree" + \
            (f" (srcversion {ident['srcversion']})" if ident["srcversion"] else "")
    else:
        ident["identity"] = ident["srcversion"] or "unknown"
    return ident


def series_table(data):
    """{(scenario, series): {round: series dict}} for one driver."""
    table = {}
    for rnd, bench in data.items():
        for sc in bench.get("scenarios", []):
            for s in sc.get("series", []):
                table.setdefault((sc["name"], s["name"]), {})[rnd] = s
    return table


def stat(rounds, extra=None):
    """Median over rounds of the run medians (or of an extra), the values,
    the worst (max) over rounds, and the reasons of rounds without one."""
    values, worst, reasons, by_round = [], [], [], {}
    for rnd in sorted(rounds):
        s = rounds[rnd]
        if s.get("status") != "ok":
            reasons.append(f"round {rnd}: {s.get('status')}: {s.get('reason', '')}")
            continue
        v = (s.get("extra") or {}).get(extra) if extra else s.get("median")
        if isinstance(v, (int, float)):
            values.append(v)
            by_round[str(rnd)] = v
            if not extra and isinstance(s.get("max"), (int, float)):
                worst.append(s["max"])
    return {"median": median(values), "rounds": values, "by_round": by_round,
            "max": max(worst) if worst else None,
            "spread": (max(values) - min(values)) / median(values)
            if len(values) > 1 and median(values) else None,
            "missing": reasons}


def reading(ratio, unit):
    if ratio is None:
        return None
    if abs(ratio - 1.0) < 1e-9:
        return "equal"
    better = ratio > 1 if unit in HIGHER_IS_BETTER else ratio < 1
    return "ours better" if better else "ours worse"


def is_control(scenario, series):
    return not (series.startswith("ntsync") or scenario.startswith("growth-"))


def compare(data):
    """Rows of both drivers' series, and the series one of them lacked."""
    tabs = {d: series_table(data[d]) for d in DRIVERS}
    order = []
    for d in ("ours", "upstream"):
        for rnd in sorted(data[d]):
            for sc in data[d][rnd].get("scenarios", []):
                for s in sc.get("series", []):
                    if (sc["name"], s["name"]) not in order:
                        order.append((sc["name"], s["name"]))
    rows, unsupported = [], []
    for key in order:
        scenario, series = key
        ours = tabs["ours"].get(key, {})
        up = tabs["upstream"].get(key, {})
        unit = next((s.get("unit") for s in list(ours.values()) + list(up.values())), "")
        so, su = stat(ours), stat(up)
        up_series, label = series, None
        if su["median"] is None and key in PEER_FALLBACK:
            up_series, label = PEER_FALLBACK[key]
            su = stat(tabs["upstream"].get((scenario, up_series), {}))
        for d, st, src in (("ours", so, ours), ("upstream", su, up)):
            if st["median"] is None:
                reason = next((s.get("reason") for s in src.values()
                               if s.get("status") != "ok"), None)
                unsupported.append({"scenario": scenario, "series": series,
                                    "driver": d,
                                    "status": next((s.get("status") for s in src.values()),
                                                   "absent"),
                                    "reason": reason or "not in its results"})
        if so["median"] is None or su["median"] is None:
            continue
        rows.append(make_row(scenario, series, unit, so, su, up_series, label))
        for (sc_name, s_name, extra), xunit in EXTRA_ROWS.items():
            if (sc_name, s_name) == key:
                xo, xu = stat(ours, extra), stat(up, extra)
                if xo["median"] is not None and xu["median"] is not None:
                    rows.append(make_row(scenario, f"{series} {extra}", xunit,
                                         xo, xu, f"{series} {extra}", None))
    return rows, unsupported


def paired(so, su, unit):
    """Round by round (a round runs both drivers back to back): ours /
    upstream in each round both ran, and in how many of them ours did
    better.  A sign count is robust to the host's regime changes, which
    move a whole round's figures."""
    ratios = []
    for rnd, vo in sorted(so["by_round"].items()):
        vu = su["by_round"].get(rnd)
        if isinstance(vu, (int, float)) and vu:
            ratios.append(vo / vu)
    better = sum(1 for r in ratios
                 if (r > 1 if unit in HIGHER_IS_BETTER else r < 1))
    return {"ratios": ratios, "ours_better": better, "of": len(ratios)}


def make_row(scenario, series, unit, so, su, up_series, label):
    ratio = so["median"] / su["median"] if su["median"] else None
    return {"scenario": scenario, "series": series, "unit": unit,
            "paired": paired(so, su, unit),
            "better": "higher" if unit in HIGHER_IS_BETTER else "lower",
            "kind": "control" if is_control(scenario, series) else "driver",
            "upstream_series": up_series, "upstream_label": label,
            "ours": so, "upstream": su, "ratio": ratio,
            "reading": reading(ratio, unit)}


def growth(rows):
    """Steepness n=max / n=1 of each growth row group, per driver."""
    groups = {}
    for r in rows:
        m = re.match(r"^(?:(.*)\.)?n=(\d+)$", r["series"])
        if not r["scenario"].startswith("growth-") or not m:
            continue
        groups.setdefault((r["scenario"], m.group(1) or ""), []).append(
            (int(m.group(2)), r))
    out = []
    for (scenario, prefix), pts in groups.items():
        pts.sort(key=lambda p: p[0])
        (n1, first), (nmax, last) = pts[0], pts[-1]
        if nmax == n1:
            continue
        steep = {d: last[d]["median"] / first[d]["median"] for d in DRIVERS}
        # The same ratio within each round: how far the rounds agree.
        per_round = {d: {r: last[d]["by_round"][r] / first[d]["by_round"][r]
                         for r in sorted(first[d]["by_round"])
                         if r in last[d]["by_round"] and first[d]["by_round"][r]}
                     for d in DRIVERS}
        out.append({"scenario": scenario, "group": prefix or None,
                    "n_min": n1, "n_max": nmax,
                    "upstream": steep["upstream"], "ours": steep["ours"],
                    "ratio": steep["ours"] / steep["upstream"],
                    "upstream_by_round": per_round["upstream"],
                    "ours_by_round": per_round["ours"]})
    return out


def find(rows, scenario, series):
    return next((r for r in rows if r["scenario"] == scenario
                 and r["series"] == series), None)


def wake_order_target(data):
    """Ours' ntsync-mutex woke in exact priority order in every run of
    every round (the series' 'exact' extra: runs in order / runs)."""
    t = {"id": "wake-order", "status": "n/a",
         "target": "wake-order ntsync-mutex exact in every run (ours)",
         "detail": "not measured (not run, or a driver could not run it)"}
    good = runs = 0
    for rnd, s in sorted(series_table(data["ours"]).get(
            ("wake-order", "ntsync-mutex"), {}).items()):
        m = re.match(r"^(\d+)/(\d+)$", str((s.get("extra") or {}).get("exact", "")))
        if s.get("status") == "ok" and m:
            good, runs = good + int(m.group(1)), runs + int(m.group(2))
    if runs:
        t.update(ours=good, runs=runs, status="met" if good == runs else "missed",
                 detail=f"{good}/{runs} runs in exact priority order")
    return t


def inversion_target(rows):
    """ntsync-pi's worst case against the PI futex's, both from the boots
    of ours (the futex runs in the same boots, in the same rounds)."""
    t = {"id": "inversion", "status": "n/a",
         "target": "inversion ntsync-pi worst case <= 1.0x the PI futex's (same boots)",
         "detail": "not measured (not run, or a driver could not run it)"}
    pi, futex = find(rows, "inversion", "ntsync-pi"), find(rows, "inversion", "pi-futex")
    ours = pi and pi["ours"]["max"]
    ref = futex and futex["ours"]["max"]
    if ours and ref:
        t.update(ratio=ours / ref, ours=ours, pi_futex=ref,
                 status="met" if ours <= ref else "missed",
                 detail=f"{ours / ref:.2f}x ({fmt(ours)} vs {fmt(ref)} us, the max "
                        f"of {len(pi['ours']['rounds'])} rounds)")
    return t


def targets(rows, steep):
    out = []

    def add(tid, text, row, ok):
        t = {"id": tid, "target": text, "status": "n/a",
             "detail": "not measured (not run, or a driver could not run it)"}
        if row:
            t["ratio"] = row["ratio"]
            t["ours"] = row["ours"]["median"]
            t["upstream"] = row["upstream"]["median"]
            t["status"] = "met" if ok(row["ratio"]) else "missed"
            t["detail"] = (f"{row['ratio']:.2f}x ({fmt(t['ours'])} vs "
                           f"{fmt(t['upstream'])} {row['unit']})")
        out.append(t)

    add("floor", "uncontended WAIT_ANY median <= 0.8x upstream's",
        find(rows, "floor", "ntsync-wait-any"), lambda r: r <= 0.8)
    for n in (2, 4):
        add(f"handoff-{n}", f"handoff-{n} ops/s >= 1.0x upstream's",
            find(rows, f"handoff-{n}", "ntsync-mutex"), lambda r: r >= 1.0)
    add("philosophers", "philosophers meals/s >= 1.0x upstream's",
        find(rows, "philosophers", "ntsync-wait-all meals_per_s"), lambda r: r >= 1.0)
    for extra in ("fairness", "fairness_runnable", "min_meals_per_s"):
        add(f"philosophers.{extra}", f"philosophers {extra} >= 1.0x upstream's",
            find(rows, "philosophers", f"ntsync-wait-all {extra}"), lambda r: r >= 1.0)
    for n in ("call", "latency"):
        add(f"growth-wake.{n}", f"growth-wake {n} at n=64 <= 1.0x upstream's",
            find(rows, "growth-wake", f"{n}.n=64"), lambda r: r <= 1.0)
    out.append(inversion_target(rows))
    for g in steep:
        name = g["scenario"] + (f".{g['group']}" if g["group"] else "")
        out.append({"id": f"growth:{name}",
                    "target": f"{name} n={g['n_max']} / n={g['n_min']} no steeper than upstream's",
                    "status": "met" if g["ours"] <= g["upstream"] else "missed",
                    "ratio": g["ratio"], "ours": g["ours"], "upstream": g["upstream"],
                    "detail": f"ours {g['ours']:.2f}x, upstream {g['upstream']:.2f}x"
                              f" ({g['ratio']:.2f}x as steep)"})
    return out


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def pct(v):
    return "-" if v is None else f"{100 * v:.0f}%"


def environment(data, args):
    envs = [b.get("environment") or {} for d in DRIVERS for b in data[d].values()]
    env = envs[0] if envs else {}
    return {"kernel_release": env.get("kernel_release") or args.kernel_release,
            "kernel_version": env.get("kernel_version"),
            "preempt_rt": env.get("preempt_rt"),
            "vcpus": env.get("vcpus"), "accel": env.get("accel"),
            "host": args.host, "date": env.get("date"),
            "config": env.get("config"), "rounds": args.rounds,
            "order": "upstream first in odd rounds, ours first in even ones",
            "vm_verdict": args.vm_verdict, "vm_seconds": args.seconds}


def render(report):
    env = report["environment"]
    mods = report["modules"]
    lines = [
        "ntsync-bench peer run: ours / upstream's ntsync.ko (ratio = ours median / "
        "upstream median,",
        "each the median over the rounds of the run medians; us: < 1 = ours faster, "
        "ops/s and meals/s: > 1 = ours faster;",
        "control rows run the same code on both drivers: their ratio is the noise)",
        f"kernel {env['kernel_release']}, {env['vcpus']} CPUs, accel {env['accel']}, "
        f"{env['rounds']} rounds each ({env['order']}), host: {env['host']}",
        f"ours: {mods['ours']['identity']}, sha256 {(mods['ours']['sha256'] or '-')[:16]}; "
        f"upstream: {mods['upstream']['identity']}, sha256 "
        f"{(mods['upstream']['sha256'] or '-')[:16]}",
        "",
        f"{'scenario':<16} {'series':<30} {'unit':<7} {'upstream':>9} {'ours':>9} "
        f"{'ratio':>7}  {'reading':<12} spread u/o  ours better",
    ]
    last = None
    for r in report["rows"]:
        name = r["series"] + (f" vs {r['upstream_label']}" if r["upstream_label"] else "")
        what = "control" if r["kind"] == "control" else r["reading"]
        lines.append(
            f"{r['scenario'] if r['scenario'] != last else '':<16} {name:<30} "
            f"{r['unit']:<7} {fmt(r['upstream']['median']):>9} {fmt(r['ours']['median']):>9} "
            f"{r['ratio']:>6.2f}x  {what:<12} "
            f"{pct(r['upstream']['spread']) + '/' + pct(r['ours']['spread']):<11} "
            f"{r['paired']['ours_better']}/{r['paired']['of']} rounds")
        if r["scenario"] == "inversion" and r["kind"] == "driver":
            lines.append(
                f"{'':<16} {'  worst case':<30} {r['unit']:<7} {fmt(r['upstream']['max']):>9} "
                f"{fmt(r['ours']['max']):>9} "
                f"{r['ours']['max'] / r['upstream']['max']:>6.2f}x")
        last = r["scenario"]
    if report["growth"]:
        lines += ["", "Growth steepness (row median at n=max / at n=1; ratio ours / upstream;"
                  " last: the same within each round):",
                  f"  {'rows':<28} {'upstream':>9} {'ours':>9} {'ratio':>7}  rounds upstream | ours"]
        for g in report["growth"]:
            name = g["scenario"] + (f".{g['group']}" if g["group"] else "") + \
                f" n={g['n_min']}..{g['n_max']}"
            rounds = " | ".join(" ".join(f"{v:.2f}x" for v in g[f"{d}_by_round"].values())
                                 for d in DRIVERS)
            lines.append(f"  {name:<28} {g['upstream']:>8.2f}x {g['ours']:>8.2f}x "
                         f"{g['ratio']:>6.2f}x  {rounds}")
    lines += ["", "Targets (issue 15; figures, not pass/fail):"]
    for t in report["targets"]:
        lines.append(f"  {t['id']:<26} {t['status'].upper() if t['status'] == 'missed' else t['status']:<7}"
                     f" {t['target']}: {t['detail']}")
    if report["not_compared"]:
        lines += ["", "Not compared (a driver did not run them):"]
        for u in report["not_compared"]:
            lines.append(f"  {u['scenario']:<16} {u['series']:<22} {u['driver']}: "
                         f"{u['status']} ({u['reason']})")
    if report.get("problems"):
        lines += ["", "Problems:"] + [f"  {p}" for p in report["problems"]]
    return "\n".join(lines) + "\n"


def write(report, table, args):
    tmp = args.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    os.replace(tmp, args.json)
    with open(args.table, "w") as f:
        f.write(table)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--ours-ko")
    p.add_argument("--upstream-ko")
    p.add_argument("--kernel-release")
    p.add_argument("--host", default="")
    p.add_argument("--vm-verdict", default="unknown")
    p.add_argument("--seconds", type=int)
    p.add_argument("--not-run")
    p.add_argument("--json", required=True)
    p.add_argument("--table", required=True)
    args = p.parse_args(argv)

    if args.not_run:
        report = {"tool": "peer-report", "version": 1, "status": "not-run",
                  "reason": args.not_run}
        write(report, f"ntsync-bench peer run: NOT RUN: {args.not_run}\n", args)
        return 0
    if not (args.dir and args.ours_ko and args.upstream_ko):
        p.error("--dir, --ours-ko and --upstream-ko are needed")

    data, loaded, runs = load_runs(args.dir) if os.path.isdir(args.dir) else \
        ({d: {} for d in DRIVERS}, {d: {} for d in DRIVERS}, [])
    problems = []
    if args.vm_verdict != "PASS":
        problems.append(f"VM verdict {args.vm_verdict} (see the console log)")
    for d in DRIVERS:
        lost = [r for r in range(1, args.rounds + 1) if r not in data[d]]
        if lost:
            problems.append(f"{d}: no results from round(s) {lost}")
    for run in runs:
        if run.get("bench_rc") != "0":
            problems.append(f"{run.get('driver')} round {run.get('round')}: "
                            f"ntsync-bench exit status {run.get('bench_rc')}")
    modules = {"ours": module_identity(args.ours_ko),
               "upstream": module_identity(args.upstream_ko)}
    for d in DRIVERS:
        modules[d]["loaded"] = [dict(v, round=r) for r, v in sorted(loaded[d].items())]
        # What sysfs showed in the guest must be the module we copied in.
        for r, v in sorted(loaded[d].items()):
            want = modules[d]["srcversion"] or "none"
            if v.get("srcversion") not in (want, None):
                problems.append(f"{d} round {r}: loaded srcversion {v.get('srcversion')},"
                                f" the file has {want}")
    rows, unsupported = compare(data)
    steep = growth(rows)
    report = {"tool": "peer-report", "version": 1,
              "status": "ok" if not problems else "incomplete",
              "environment": environment(data, args), "modules": modules,
              "runs": runs,
              "ratio_definition": "ours median / upstream median, each the median over "
                                  "the rounds of the run medians; 'better' says which "
                                  "direction is better for the unit; growth: steepness "
                                  "= median at n=max / median at n=1, ratio = ours / "
                                  "upstream",
              "rows": rows, "growth": steep, "targets": targets(rows, steep) + [wake_order_target(data)],
              "not_compared": unsupported, "problems": problems}
    table = render(report)
    write(report, table, args)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
