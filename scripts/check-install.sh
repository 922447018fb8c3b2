#!/usr/bin/env bash
# Checks what a user of the installed package gets: a plain `cmake -DCMAKE_BUILD_TYPE=Release`
# (no preset) with GCC and -Werror, `cmake --install` into a temporary prefix, the consumer
# project in tests/consumer (a blocking client and an AsyncClient service) built against that
# prefix with find_package(paperboy CONFIG), then run against the installed paperboyd on a free
# port; and `pkg-config paperboy` compiles and links.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/install-check
work=$(mktemp -d)
# The prefix is fixed when configuring: the unit's ExecStart and paperboy.pc name it.
prefix=$PWD/$build/prefix
rm -rf "$prefix"
# shellcheck source=lib/daemon.sh
source scripts/lib/daemon.sh

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
  -DPAPERBOY_WERROR=ON -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build "$build" -j "$(nproc)"
cmake --install "$build" >/dev/null

for f in bin/paperboyd bin/paperboy bin/paperboy-bench include/paperboy/client/client.hpp \
  lib/systemd/system/paperboyd.service lib/systemd/system/paperboyd.socket; do
  [[ -e $prefix/$f ]] || { echo "check-install: $f was not installed" >&2; exit 1; }
done
grep -qx "ExecStart=$prefix/bin/paperboyd .*" "$prefix/lib/systemd/system/paperboyd.service" ||
  { echo "check-install: the unit does not start the installed paperboyd" >&2; exit 1; }

cmake -S tests/consumer -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer"

start_daemon "$prefix/bin/paperboyd"

"$work/consumer/paperboy_consumer" "$daemon_port"
"$work/consumer/paperboy_service" "$daemon_port" --check

# pkg-config: the same consumer, compiled and linked by hand, must make the same round trip.
pc_dir=$(dirname "$(find "$prefix" -name paperboy.pc -print -quit)")
flags=$(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs paperboy)
# shellcheck disable=SC2086  # the flags are words
g++ -std=c++20 -o "$work/pc_consumer" tests/consumer/main.cpp $flags
"$work/pc_consumer" "$daemon_port"
echo "check-install: ok (prefix, find_package, pkg-config, installed daemon)"
