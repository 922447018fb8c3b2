#!/usr/bin/env bash
# Configures and builds one CMake preset (debug, release, asan, tsan, fuzz), optionally only some
# targets: scripts/build.sh PRESET [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift || true
targets=()
(($#)) && targets=(--target "$@")
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" "${targets[@]}"
