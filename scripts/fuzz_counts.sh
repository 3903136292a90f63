#!/usr/bin/env bash
# Executions recorded by libFuzzer (-print_final_stats=1) in every log of scripts/fuzz.sh, per target, and how
# each run ended. usage: scripts/fuzz_counts.sh [build-fuzz dir]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
logs="${1:-${ECHO_FUZZ_BUILD_DIR:-$root/build-fuzz}}/fuzz/logs"
total=0
for target in dicom video frames capi model masks; do
  sum=0; runs=0; clean=0
  for log in "$logs/$target"-*.log; do
    [[ -e "$log" ]] || continue
    n=$(grep -m1 '^stat::number_of_executed_units:' "$log" | awk '{print $2}' || true)
    [[ -n "$n" ]] || continue
    sum=$((sum + n)); runs=$((runs + 1))
    grep -q '^Done [0-9]* runs' "$log" && clean=$((clean + 1))
  done
  [[ $runs -eq 0 ]] || printf '%-7s %12d executions in %d runs (%d ended without a finding)\n' "$target" "$sum" "$runs" "$clean"
  total=$((total + sum))
done
printf '%-7s %12d executions\n' total "$total"
