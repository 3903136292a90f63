#!/usr/bin/env bash
# Quick start, command 2: install what is missing, build, and run the whole test suite through ctest
# (unit tests, the sanitizer build of the DICOM readers, the Python tests).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "${ECHO_BUILD_DIR:-$root/build}"
# Idle OpenMP workers must not spin while other tests need the cores (see tests/CMakeLists.txt).
export OMP_WAIT_POLICY=PASSIVE
ctest --output-on-failure -j "$(nproc)"
