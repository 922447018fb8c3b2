#!/usr/bin/env bash
# Installs everything paperboy needs to build, test and benchmark on Debian 12, with apt-get.
# Idempotent: packages already present are not fetched again. Run as root (or via sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libasio-dev libspdlog-dev libfmt-dev libcli11-dev doctest-dev
  clang clang-format libclang-rt-14-dev
  python3 python3-pytest python3-pytest-asyncio python3-setuptools python3-pip python3-venv
  # the newsstand services (services/): SQLite for the billing worker, the FastAPI app and its tests
  libsqlite3-dev sqlite3 python3-fastapi python3-uvicorn python3-rx python3-httpx python3-websockets
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
