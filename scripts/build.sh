#!/usr/bin/env bash
# Configures and builds the project into build/ (Release). Usage: scripts/build.sh [extra cmake args]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ECHO_BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=/usr/bin/python3 "$@"
cmake --build "$build" -j "$(nproc)"
ln -sf "$build/compile_commands.json" "$root/compile_commands.json"
