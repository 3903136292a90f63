#!/usr/bin/env bash
# Issue 14's GPU check, as one step on a GPU machine (docs/model.md, section 2, "CUDA"): configures
# -DECHO_INFERENCE_ONLY=ON (echo_common + the inference engine + its tests and benchmarks; no OpenCV, GDCM
# or Eigen) against the CUDA LibTorch inside the machine's PyTorch, builds it with ninja, runs the inference
# tests (test_inference_cuda's on the GPU) and bench_inference_cuda (batched segmentation, FP16 and FP32,
# batch 32..1024; goal >= 5 000 frames/s), and writes into $OUT:
#   gpu_summary.txt            card, versions, step results, test counts, the agreement figures, frames/s
#   gpu_log.txt                everything printed
#   bench_inference_cuda.json  Google Benchmark's JSON
#   ctest_junit.xml            ctest's per-test results
#
# Usage:
#   scripts/gpu_check.sh --prepare-carry   on the project's Debian machine, once before the run: copies
#       tl-expected, nlohmann-json, GTest and Google Benchmark (headers, static GTest, libbenchmark.so, their
#       CMake configs) from the installed Debian packages into .gpu_carry/prefix (ignored by git; ~4 MB).
#   scripts/gpu_check.sh                   on the GPU machine (device tool: carry [".gpu_carry"]).
# Environment (all optional): OUT (default /tmp/gpu_check_out); GPU_CHECK_PYTHON (python3);
#   GPU_CHECK_TORCH_PREFIX (LibTorch's CMake prefix; default torch.utils.cmake_prefix_path of that python);
#   GPU_CHECK_CARRY (.gpu_carry/prefix); GPU_CHECK_BUILD_DIR (build-gpu); GPU_CHECK_JOBS (nproc);
#   GPU_CHECK_CMAKE_ARGS (more configure arguments); GPU_CHECK_BUDGET_S (360: all steps together);
#   GPU_CHECK_WITH_PYTEST=1 (also run the CPU training-recipe pytest, inference.training_recipe).
# Exit status: 0 when configure, build, tests and benchmark all succeeded, else 1. A missed speed goal is
# reported in the summary, not an error. Every step runs under a timeout, so the script never hangs.
set -uo pipefail
export PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=PASSIVE

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CARRY_DIR=${GPU_CHECK_CARRY:-$ROOT/.gpu_carry/prefix}

prepare_carry() {
  local prefix=$CARRY_DIR arch=lib/x86_64-linux-gnu
  rm -rf "$prefix" && mkdir -p "$prefix/include" "$prefix/share/cmake" "$prefix/$arch/cmake" || return 1
  cp -r /usr/include/tl /usr/include/nlohmann /usr/include/gtest /usr/include/gmock /usr/include/benchmark \
    "$prefix/include/" &&
    cp -r /usr/share/cmake/tl-expected /usr/share/cmake/nlohmann_json "$prefix/share/cmake/" &&
    cp -r /usr/$arch/cmake/GTest /usr/$arch/cmake/benchmark "$prefix/$arch/cmake/" &&
    cp -L /usr/$arch/libgtest.a /usr/$arch/libgtest_main.a /usr/$arch/libgmock.a /usr/$arch/libgmock_main.a \
      /usr/$arch/libbenchmark.so.1.7.1 /usr/$arch/libbenchmark.so.1debian /usr/$arch/libbenchmark_main.a \
      "$prefix/$arch/" || { echo "prepare-carry: a file is missing (scripts/setup.sh installs the packages)"; return 1; }
  # The device tool carries only ignored paths.
  local exclude="$ROOT/.git/info/exclude"
  if [ -d "$ROOT/.git" ] && ! grep -qx '/.gpu_carry/' "$exclude" 2>/dev/null; then
    mkdir -p "$ROOT/.git/info" && echo '/.gpu_carry/' >>"$exclude"
  fi
  echo "prepare-carry: $(du -sh "$prefix" | cut -f1) in $prefix; run on the GPU machine with carry [\".gpu_carry\"]"
}

if [ "${1:-}" = "--prepare-carry" ]; then
  prepare_carry
  exit $?
fi

OUT=${OUT:-/tmp/gpu_check_out}
mkdir -p "$OUT" || exit 1
LOG=$OUT/gpu_log.txt
SUMMARY=$OUT/gpu_summary.txt
PY=${GPU_CHECK_PYTHON:-python3}
BUILD=${GPU_CHECK_BUILD_DIR:-$ROOT/build-gpu}
JOBS=${GPU_CHECK_JOBS:-$(nproc)}
BUDGET_S=${GPU_CHECK_BUDGET_S:-360}
START_S=$SECONDS
export ROOT CARRY_DIR OUT PY BUILD JOBS

say() { echo "$*" | tee -a "$SUMMARY"; }

# run_step <name> <cap_s> <command...>: runs under timeout min(cap, what is left of the budget) and writes
# "step <name>: ok | FAILED | TIMED OUT | NOT RUN" into the summary, which decides the exit status.
run_step() {
  local name=$1 cap=$2
  shift 2
  local left=$((BUDGET_S - (SECONDS - START_S)))
  ((left < cap)) && cap=$left
  if ((cap < 5)); then
    say "step $name: NOT RUN (budget of ${BUDGET_S} s spent)"
    return 1
  fi
  echo "=== step $name (limit ${cap} s): $*"
  local t0=$SECONDS rc
  # bash -c: the command may be one of this script's (exported) functions; timeout ends its process group.
  timeout -k 10 "$cap" bash -c '"$@"' "$name" "$@"
  rc=$?
  local took=$((SECONDS - t0))
  if ((rc == 0)); then
    say "step $name: ok (${took} s)"
  elif ((rc == 124 || rc == 137)); then
    say "step $name: TIMED OUT after ${took} s"
  else
    say "step $name: FAILED, exit $rc (${took} s)"
  fi
  return $rc
}

machine_facts() {
  say "EchoAnalyzer GPU check (issue 14), $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
  if command -v nvidia-smi >/dev/null; then
    say "card: $(timeout 30 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -1)"
    timeout 30 nvidia-smi
  else
    say "card: none (no nvidia-smi)"
  fi
  say "host: $(nproc) cores, $(uname -m), $(${CXX:-c++} --version 2>/dev/null | head -1), $(cmake --version | head -1), ninja $(ninja --version 2>/dev/null || echo absent)"
  say "nvcc: $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' || echo absent)"
  say "python torch: $(timeout 120 "$PY" -c 'import torch
c = torch.cuda.is_available()
print(torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version() if c else None,
      "gpu", torch.cuda.get_device_name(0) if c else None, "cxx11_abi", torch._C._GLIBCXX_USE_CXX11_ABI)' 2>&1 | tail -1)"
}

# The C++ standard the LibTorch headers need (>= 2.14 refuse anything below C++20).
cxx_standard_for() {
  local torch_root
  torch_root=$(cd "$1/../.." 2>/dev/null && pwd) || { echo 17; return; }
  if grep -qs '202002L' "$torch_root/include/ATen/ATen.h" "$torch_root/include/torch/csrc/api/include/torch/all.h"; then
    echo 20
  else
    echo 17
  fi
}

configure() {
  local torch_prefix=$1 std=$2 arch=lib/x86_64-linux-gnu
  local args=(-S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DECHO_INFERENCE_ONLY=ON
    -DCMAKE_CXX_STANDARD="$std" -DPython3_EXECUTABLE="$(command -v "$PY")"
    -DCMAKE_PREFIX_PATH="$torch_prefix;$CARRY_DIR")
  if [ -d "$CARRY_DIR" ]; then
    args+=(-Dtl-expected_DIR="$CARRY_DIR/share/cmake/tl-expected" -Dnlohmann_json_DIR="$CARRY_DIR/share/cmake/nlohmann_json"
      -DGTest_DIR="$CARRY_DIR/$arch/cmake/GTest" -Dbenchmark_DIR="$CARRY_DIR/$arch/cmake/benchmark")
  fi
  if command -v nvcc >/dev/null; then
    args+=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc)" -DCMAKE_CUDA_ARCHITECTURES=90)
  fi
  # shellcheck disable=SC2206
  args+=(${GPU_CHECK_CMAKE_ARGS:-})
  cmake "${args[@]}"
}

ctest_step() {
  local exclude='^inference\.training_recipe$'
  [ "${GPU_CHECK_WITH_PYTEST:-0}" = 1 ] && exclude='^$'
  (cd "$BUILD" && ctest -j "$JOBS" --output-on-failure --timeout 240 -E "$exclude" --output-junit "$OUT/ctest_junit.xml")
}

# Counts from ctest's JUnit file, then the figures test_inference_cuda printed.
test_summary() {
  [ -f "$OUT/ctest_junit.xml" ] && "$PY" - "$OUT/ctest_junit.xml" <<'EOF' | tee -a "$SUMMARY"
import sys, xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
passed, failed, skipped = [], [], []
for c in cases:
    status = c.get("status", "")
    if c.find("failure") is not None or c.find("error") is not None or status == "fail":
        failed.append(c.get("name"))
    elif c.find("skipped") is not None or status in ("notrun", "disabled"):
        skipped.append(c.get("name"))
    else:
        passed.append(c.get("name"))
print(f"tests: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")
for name in failed: print(f"  FAILED {name}")
for name in skipped: print(f"  skipped {name}")
EOF
  grep -h '^\[ figure \]' "$LOG" 2>/dev/null | sort -u | tee -a "$SUMMARY"
}

bench_summary() {
  [ -f "$OUT/bench_inference_cuda.json" ] || return 0
  "$PY" - "$OUT/bench_inference_cuda.json" <<'EOF' | tee -a "$SUMMARY"
import json, re, sys
runs = json.load(open(sys.argv[1])).get("benchmarks", [])
for r in runs:
    r["short"] = re.sub(r"/(min_time:[0-9.]+|real_time)", "", r["name"])
errors = [r for r in runs if r.get("error_occurred")]
ok = [r for r in runs if not r.get("error_occurred")]
print("bench_inference_cuda (segment() end to end: check, copy in, forward, copy out, masks):")
if errors:
    print(f"  {len(errors)} of {len(runs)} benchmarks failed; the first: {errors[0]['short']}: {errors[0].get('error_message', '')}")
for r in ok:
    print(f"  {r['short']:<38} {r['real_time']:9.3f} {r['time_unit']}/call {r.get('frames_per_s', 0.0):10.0f} frames/s")
if ok:
    best = max(ok, key=lambda r: r.get("frames_per_s", 0.0))
    single = [r for r in ok if "threads:" not in r["name"]]
    best_single = max(single, key=lambda r: r.get("frames_per_s", 0.0)) if single else best
    verdict = "met" if best.get("frames_per_s", 0.0) >= 5000 else "NOT met"
    print(f"best: {best.get('frames_per_s', 0.0):.0f} frames/s ({best['short']}); one host thread: "
          f"{best_single.get('frames_per_s', 0.0):.0f} frames/s ({best_single['short']}); goal >= 5000 frames/s: {verdict}")
    for r in single:
        if r["short"].endswith("/100"):
            print(f"100-frame clip, inference stage on the GPU ({r['short']}): {r['real_time']:.2f} {r['time_unit']}")
else:
    print("no benchmark result")
EOF
}

export -f configure ctest_step

main() {
  : >"$SUMMARY"
  # LibTorch's CMake looks for the CUDA toolkit (nvcc); TORCH_CUDA_ARCH_LIST (Hopper) keeps it from probing.
  [ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"
  export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
  machine_facts
  local torch_prefix=${GPU_CHECK_TORCH_PREFIX:-}
  if [ -z "$torch_prefix" ]; then
    torch_prefix=$(timeout 120 "$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null | tail -1)
  fi
  [ -d "$torch_prefix" ] || echo "warning: LibTorch prefix '$torch_prefix' does not exist; CMake searches its defaults"
  [ -d "$CARRY_DIR" ] || echo "warning: $CARRY_DIR is absent (run --prepare-carry here and carry .gpu_carry); relying on system packages"
  local std
  std=$(cxx_standard_for "$torch_prefix")
  say "LibTorch prefix: $torch_prefix (C++$std); build: $BUILD, -j$JOBS"

  run_step configure 180 configure "$torch_prefix" "$std" || return 1
  # Keep going past a target that fails (e.g. the carried libbenchmark not linking): the others still run.
  run_step build 300 cmake --build "$BUILD" -j "$JOBS" -- -k 0
  # The CUDA tests once directly (their agreement figures go to the log), the benchmark (the figure the
  # issue asks for, before anything slower), then the whole inference suite through ctest.
  run_step cuda_tests 120 "$BUILD/tests/inference/test_inference_cuda"
  grep -q 'no CUDA: this build links' "$LOG" && say "CUDA: NOT available to the engine (the CUDA tests skipped)"
  run_step benchmark 200 "$BUILD/benchmarks/bench_inference_cuda" --benchmark_counters_tabular=true \
    --benchmark_out="$OUT/bench_inference_cuda.json" --benchmark_out_format=json
  bench_summary
  run_step ctest 240 ctest_step
  test_summary
  say "full analysis: not run on this machine (ECHO_INFERENCE_ONLY has no OpenCV/GDCM); the 100-frame clip's"
  say "  inference stage above plus the CPU stages of bench_analyzer give an estimate, labelled as such"
}

: >"$LOG"
main 2>&1 | tee -a "$LOG"
# Failed: a step failed, timed out or was not run, or no benchmark ran on CUDA (Google Benchmark exits 0 when
# every benchmark reported an error, e.g. "CUDA was requested but ...").
if grep -qE '^step [a-z_]+: (FAILED|TIMED OUT|NOT RUN)' "$SUMMARY" || ! grep -q '^best: ' "$SUMMARY"; then
  echo "gpu_check: FAILED (see $SUMMARY)" | tee -a "$SUMMARY" "$LOG" >/dev/null
  cat "$SUMMARY"
  exit 1
fi
echo "gpu_check: all steps ok (see $SUMMARY)" | tee -a "$SUMMARY" "$LOG" >/dev/null
cat "$SUMMARY"
exit 0
