#!/usr/bin/env bash
# Installs the Debian packages the project needs, only those missing (idempotent, non-interactive).
# Run as root on Debian 12. Every build and test script calls this first.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libtorch-dev python3-torch python3-numpy python3-pytest python3-opencv
  libopencv-dev libgdcm-dev libgdcm-tools libeigen3-dev libexpected-dev
  libbenchmark-dev libgtest-dev nlohmann-json3-dev
  dcmtk ffmpeg clang-14 libclang-rt-14-dev libjpeg-dev libturbojpeg0-dev libopenjp2-7-dev libcharls-dev zlib1g-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  python3-dask python3-distributed
  python3-torchvision
  orthanc orthanc-dev dicom3tools python3-pydicom
  chromium chromium-driver python3-selenium
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
