#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS on its corpus (docs/reliability.md).
#   scripts/fuzz.sh TARGET SECONDS [extra libFuzzer flags...]
# TARGET: dicom video frames capi model masks. Builds the fuzz tree (clang-14, -DECHO_FUZZ=ON) when needed in
# ${ECHO_FUZZ_BUILD_DIR:-build-fuzz}. The corpus is build-fuzz/fuzz/corpus/TARGET (seeds made at build time from
# phantoms; new inputs are added there); ../shared/data/dicom is read as extra seeds of the dicom target when
# present (never copied). Crashes, leaks, timeouts and OOMs go to build-fuzz/fuzz/artifacts/TARGET/, the log to
# build-fuzz/fuzz/logs/. Exit status: libFuzzer's (0 = nothing found).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -lt 2 ]]; then
  sed -n '2,9p' "${BASH_SOURCE[0]}" >&2
  exit 64
fi
target="$1"; seconds="$2"; shift 2
build="${ECHO_FUZZ_BUILD_DIR:-$root/build-fuzz}"

# Per-target input size limit (small inputs: more executions) and extra flags.
extra=()
case "$target" in
  dicom)  max_len=20000; [[ -d "$root/../shared/data/dicom" ]] && extra_corpus=("$root/../shared/data/dicom") ;;
  video)  max_len=12000 ;;
  frames) max_len=50000 ;;
  masks)  max_len=20000 ;;
  # capi and model run LibTorch (a model load, 16-frame analyses): ~0.1-1.5 s per input alone, but on the shared
  # 2-core machine the 5 s alarm fired on inputs that replay in 1.5 s. They get a 30 s alarm, and every input
  # over 5 s is written as a slow-unit-* artifact, to be replayed alone (docs/reliability.md).
  capi)   max_len=4096; extra=(-timeout=30 -report_slow_units=5) ;;
  model)  max_len=2000000; extra=(-timeout=30 -report_slow_units=5) ;;
  *) echo "fuzz.sh: unknown target '$target' (dicom video frames capi model masks)" >&2; exit 64 ;;
esac

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-14 \
        -DCMAKE_CXX_COMPILER=clang++-14 -DECHO_FUZZ=ON -DECHO_BUILD_TESTS=OFF -DECHO_BUILD_BENCHMARKS=OFF \
        -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
fi
# One build at a time in the tree (runs of several targets start together; two builds at once raced on the
# seed corpus), and never a run of a binary older than the sources: a failed build stops here.
if ! flock "$build/.fuzz-build.lock" cmake --build "$build" --target "fuzz_$target" -j "$(nproc)" >"$build/fuzz-build-$target.log" 2>&1; then
  tail -n 20 "$build/fuzz-build-$target.log" >&2
  echo "fuzz.sh: building fuzz_$target failed ($build/fuzz-build-$target.log)" >&2
  exit 1
fi

corpus="$build/fuzz/corpus/$target"
artifacts="$build/fuzz/artifacts/$target"
logs="$build/fuzz/logs"
mkdir -p "$corpus" "$artifacts" "$logs"
log="$logs/$target-$(date -u +%Y%m%dT%H%M%S).log"

export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
export TMPDIR="${TMPDIR:-/tmp}"

set +e
"$build/fuzz/fuzz_$target" "$corpus" ${extra_corpus[@]+"${extra_corpus[@]}"} \
  -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=5 -max_len="$max_len" \
  -print_final_stats=1 -artifact_prefix="$artifacts/" -close_fd_mask=1 ${extra[@]+"${extra[@]}"} "$@" 2>&1 | tee "$log" |
  grep -E '^(#[0-9]+ +(INITED|DONE)|==[0-9]+==|stat::|SUMMARY|Done )' 
status=${PIPESTATUS[0]}
echo "fuzz.sh: $target exit $status; log $log"
exit "$status"
