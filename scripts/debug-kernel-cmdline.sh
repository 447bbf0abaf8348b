#!/bin/bash
# Print the kernel command line arguments every boot of the debug kernel
# takes (vm/debug-kernel.cmdline, comments left out), on one line.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
grep -v '^#' "$top/vm/debug-kernel.cmdline" | grep -v '^$' | paste -sd ' '
