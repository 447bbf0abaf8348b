#!/bin/bash
# readme-bench-table.sh: write the benchmark table of README.md from the
# output of a full benchmark run, so that it is never edited by hand.
#
#   scripts/readme-bench-table.sh [BENCH.JSON [README]]
#
# BENCH.JSON defaults to $NTSYNC_BUILD_DIR/bench/bench.json (build/bench),
# README to the repository's README.md.  Only the lines between the markers
#   <!-- bench-table: begin ... -->   and   <!-- bench-table: end -->
# are replaced.  A --quick run (config.quick in the JSON) is not written:
# its figures are too few to stand for the driver.  scripts/run-bench.sh
# calls this after a run whose VM verdict is PASS.
# Exit status: 0 written or skipped (quick run), 1 on an error.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${NTSYNC_BUILD_DIR:-$top/build}
json=${1:-$build/bench/bench.json}
readme=${2:-$top/README.md}

[ -f "$json" ] || { echo "readme-bench-table: no $json (run make bench)" >&2; exit 1; }
if ! grep -q '^<!-- bench-table: begin' "$readme" ||
	! grep -q '^<!-- bench-table: end' "$readme"; then
	echo "readme-bench-table: no bench-table markers in $readme" >&2
	exit 1
fi

block=$(mktemp)
trap 'rm -f "$block" "$block.new"' EXIT
python3 - "$json" >"$block" <<'EOF'
import json, re, sys

d = json.load(open(sys.argv[1]))
env = d["environment"]
if env.get("config", {}).get("quick"):
    print("quick")
    sys.exit(0)


def num(v, unit):
    if v is None:
        return ""
    if unit == "us":
        return "%.3g ms" % (v / 1000) if v >= 1000 else "%.3g µs" % v
    return "%.3gk ops/s" % (v / 1000) if v >= 1000 else "%.3g ops/s" % v


pi = env.get("module_parameters", {}).get("pi", "?")
print("One `make bench` run (%s, %s, %s vCPUs, %s, ntsync pi=%s; host: %s)."
      % (env.get("date", "?"), env.get("kernel_release", "?"),
         env.get("vcpus", "?"), env.get("accel", "?"), pi,
         env.get("host", "?")))
host = env.get("host", "")
m = re.search(r"(\d+) CPUs, loadavg ([\d.]+).*other QEMUs (\d+)", host)
if m and (float(m.group(2)) > int(m.group(1)) or int(m.group(3)) > 0):
    print()
    print("**The host was busy during this run (load above its CPU count or "
          "other virtual machines): every figure below is noisy; run `make "
          "bench` on a quiet host for figures that mean something.**")
print()
print("| scenario | series | median | max | ratio | notes |")
print("|---|---|---|---|---|---|")
for s in d["scenarios"]:
    series = s["series"]
    # Growth curves: their ends only (the plots have the rest).
    if s["name"].startswith("growth-"):
        series = [r for r in series
                  if r["name"].endswith(".n=1") or r["name"].endswith(".n=64")
                  or r["name"] in ("n=1", "n=64")]
    first = True
    for r in series:
        if r.get("status") != "ok":
            row = [r["name"], "", "", "", r.get("status", "")]
        else:
            extra = r.get("extra", {})
            notes = ", ".join("%s %s" % (k, ("%.0f" if v >= 1000 else "%.3g") % v
                                         if isinstance(v, float)
                                         else v)
                              for k, v in extra.items()
                              if k in ("exact", "handoff", "hog_bound",
                                       "boost_seen", "per_wait",
                                       "meals_per_s"))
            ratio = "ref" if r.get("reference") else (
                "%.2f×" % r["ratio"] if r.get("ratio") is not None else "")
            row = [r["name"], num(r.get("median"), r["unit"]),
                   num(r.get("max"), r["unit"]), ratio, notes]
        print("| %s | %s |" % (s["name"] if first else "", " | ".join(row)))
        first = False
print()
print("| target | met? | this run |")
print("|---|---|---|")
for t in d.get("targets", []):
    print("| %s | %s | %s |" % (t["target"], t["status"], t.get("detail", "")))
EOF

if [ "$(cat "$block")" = quick ]; then
	echo "readme-bench-table: $json is from a --quick run: README left alone" >&2
	exit 0
fi
awk -v blockfile="$block" '
	/^<!-- bench-table: begin/ {
		print
		while ((getline line < blockfile) > 0)
			print line
		skip = 1
		next
	}
	/^<!-- bench-table: end/ { skip = 0 }
	!skip
' "$readme" >"$block.new"
cat "$block.new" >"$readme"
echo "readme-bench-table: $readme: benchmark table written from $json" >&2
