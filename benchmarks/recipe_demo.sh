#!/usr/bin/env bash
# Benchmark: the recipe's default (synthetic corpora, tiny random XEUS), stages 1-7,
# from scratch in a throw-away copy of egs2/punser/ser1. Prints the time of every stage
# and the total (the README quotes this). Not a test.
#
# Usage: benchmarks/recipe_demo.sh [WORKDIR] [-- run.sh options]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${1:-$(mktemp -d /tmp/punser_demo.XXXXXX)}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
rm -rf "${work}/ser1"
mkdir -p "${work}"
cp -rL "${repo}/egs2/punser/ser1" "${work}/ser1"
rm -rf "${work}/ser1/data" "${work}/ser1/dump" "${work}/ser1/exp" "${work}/ser1/downloads" "${work}/ser1/RESULTS.md"
cd "${work}/ser1"
echo "recipe copy: ${work}/ser1 ($(nproc) CPUs, $(python3 -c 'import os; print(os.cpu_count())') cores seen by Python)"
start=${SECONDS}
MAIN_ROOT=${repo} ./run.sh "$@" > demo.log 2>&1 || { tail -n 30 demo.log; exit 1; }
total=$((SECONDS - start))
echo "| stage | seconds |"
echo "|---|---|"
sed -n 's/.*(ser.sh) stage \([0-9]\) (\([a-z]*\)): done in \([0-9]*\) s/| \1 \2 | \3 |/p' demo.log
echo "| **total (stages 1-7)** | **${total}** |"
grep -E "\(score\) INFO: (PUNSER|XEUS)" demo.log | sed 's/^.*INFO: /    /'
