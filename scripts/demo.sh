#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, and run the main job on a bundled default input.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
out="$root/out/demo"
mkdir -p "$out"
echoa="${ECHO_BUILD_DIR:-$root/build}/tools/echoa/echoa"
if "$echoa" --help | grep -q '^  synth'; then
  "$echoa" synth --view a4c --ef 55 --hr 70 --seed 7 --out "$out/phantom_a4c.dcm"
  "$echoa" info "$out/phantom_a4c.dcm"
else
  "$echoa" version
fi
