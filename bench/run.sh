#!/usr/bin/env bash
# The whole benchmark suite: validate 10,000; plan 10,000 against 10,000; apply 1,000
# creates and 1,000 updates at 20 ms latency; serve with 10,000 clients for 100 cycles.
# Each script prints the machine, medians, peak memory and its ratios.
set -euo pipefail
cd "$(dirname "$0")"
for scenario in validate plan apply update serve; do
  echo "== $scenario"
  bash "./$scenario.sh"
  echo
done
