#!/usr/bin/env bash
# Everything the tests need on a fresh Debian machine (run as root, or with sudo available):
# Debian packages (Chromium for browser tests, python3-onnx for the ONNX checker, PyTorch for the
# weight, self-supervised and YOLOX parity tests, the Fashion-MNIST data set, Mesa's EGL/OpenGL
# for the webgpu engine's tests on a software adapter, Open MPI and a C compiler for the MPI binding
# of the data-parallel tests, oneDNN's development files for the addon that runs wasm-ort's convolutions, Slurm and munge for the one-node cluster of the submit test), the npm
# dependencies, and the end-to-end harness (code-server, playwright-core).
# Users of the extension and of `cvw` need none of this.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(chromium ripgrep libkrb5-dev python3-onnx python3-numpy dataset-fashion-mnist python3-pil python3-torch python3-torchvision unzip libegl1 libegl-mesa0 libgl1-mesa-dri openmpi-bin libopenmpi-dev libdnnl-dev pkg-config make g++ slurm-wlm munge)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "setup: npm ci" >&2
npm ci --no-audit --no-fund

if [ -f scripts/setup-e2e.sh ]; then bash scripts/setup-e2e.sh; fi
