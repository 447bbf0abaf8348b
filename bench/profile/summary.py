#!/usr/bin/env python3
"""Summarize a function_graph trace (scripts/run-profile.sh): for every call
path up to DEPTH functions below a traced system call, the number of calls
and the median inclusive duration.  Medians, not means: an interrupt that
lands in one call inflates that call only.  Durations include the tracer's
own cost, which under TCG is large: compare paths with each other, not with
untraced figures.

    summary.py TRACE [DEPTH [MIN_CALLS]]
"""
import collections
import re
import statistics
import sys

# "CPU) [TASK-PID |] [DURATION] | CALLS": the last two '|' fields matter.
CPU = re.compile(r'^\s*\d+\)')
DURATION = re.compile(r'([\d.]+) us')


def summarize(lines, depth, min_calls):
    stacks = collections.defaultdict(list)
    calls = collections.defaultdict(list)
    for line in lines:
        fields = line.split('|')
        if not CPU.match(line) or len(fields) < 2:
            continue
        # With funcgraph-proc, calls nest per task (a call that slept may
        # end on another CPU); without it, per CPU.
        if len(fields) >= 3:
            key = fields[0].split(')', 1)[1].strip()
        else:
            key = fields[0].split(')', 1)[0].strip()
        stack = stacks[key]
        m = DURATION.search(fields[-2])
        dur = float(m.group(1)) if m else None
        body = fields[-1].strip()
        if body.endswith('{'):
            stack.append(body[:-1].strip().removesuffix('()'))
        elif body.startswith('}'):
            if stack:
                name = stack.pop()
                if len(stack) < depth and dur is not None:
                    calls[tuple(stack + [name])].append(dur)
        elif body.endswith(';') and len(stack) < depth and dur is not None:
            calls[tuple(stack + [body[:-1].strip().removesuffix('()')])].append(dur)
    for path in sorted(calls):
        durs = calls[path]
        if len(durs) < min_calls:
            continue
        print(f"{'  ' * (len(path) - 1)}{path[-1]:<{60 - 2 * len(path)}} "
              f"calls {len(durs):6d}  median {statistics.median(durs):9.2f} us")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    depth = int(argv[2]) if len(argv) > 2 else 4
    min_calls = int(argv[3]) if len(argv) > 3 else 50
    with open(argv[1], errors='replace') as f:
        summarize(f.read().splitlines(), depth, min_calls)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
