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
  # the HTTP listener (/metrics, /stats) and the CLI that reads it; the metrics tests' parser
  libcpp-httplib-dev nlohmann-json3-dev python3-prometheus-client
  # the --users file: Argon2id token hashes (libsodium) and its TOML [[user]] tables (toml++)
  libsodium-dev libtomlplusplus-dev
  # TLS in paperboyd and the clients (OpenSSL 3); the openssl command makes the tests' certificates
  libssl-dev openssl
  # systemd-analyze for scripts/check-units.sh (the systemd_units test); works without systemd running
  systemd
  # the Debian packages (scripts/check-deb.sh): cpack runs dpkg-shlibdeps, and file to find the ELF files
  dpkg-dev file
)

source "$(dirname "$0")/lib/apt.sh"
apt_install_missing setup "${packages[@]}"
