#!/usr/bin/env bash
# Builds the Debian packages (cmake/Packaging.cmake) the way a release would, a Release build with
# GCC and -Werror under the prefix /usr in build/deb, `cpack -G DEB`, and checks them:
#   - their control fields (names, version, Depends computed by dpkg-shlibdeps), the conffile, and
#     that each holds what it should (and paperboy-bench is in neither);
#   - the packaged service starts /usr/bin/paperboyd with /etc/paperboy/paperboyd.toml;
#   - as root with apt-get: installs both with `apt-get install`, checks the installed
#     configuration, units (systemd-analyze verify) and CMake package, runs /usr/bin/paperboyd from
#     the package, makes a round trip through it with /usr/bin/paperboy, stops it with SIGTERM
#     (exit 0), then purges both packages, leaving the machine as it was. Packages left installed
#     by an earlier run are purged first. Not root: the contents are checked, the install skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/deb
deadline_seconds=20
fail() {
  echo "check-deb: $*" >&2
  exit 1
}

rm -f "$build"/*.deb
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
  -DPAPERBOY_WERROR=ON -DCMAKE_INSTALL_PREFIX=/usr -DPAPERBOY_BUILD_TESTS=OFF \
  -DPAPERBOY_BUILD_BENCH=OFF -DPAPERBOY_BUILD_SERVICES=OFF >/dev/null
cmake --build "$build" -j "$(nproc)"
if ! cpack_log=$(cd "$build" && cpack -G DEB 2>&1); then
  echo "$cpack_log" >&2
  fail "cpack failed"
fi

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
arch=$(dpkg --print-architecture)
daemon_deb=$(realpath "$build/paperboy_${version}-1_$arch.deb")
dev_deb=$(realpath "$build/libpaperboy-dev_${version}-1_$arch.deb")

# Control fields: expect_field DEB FIELD GLOB
expect_field() {
  local value
  value=$(dpkg-deb -f "$1" "$2")
  # shellcheck disable=SC2053  # $3 is a glob
  [[ $value == $3 ]] || fail "$(basename "$1"): $2 is \"$value\", expected $3"
}
expect_field "$daemon_deb" Package paperboy
expect_field "$daemon_deb" Version "$version-1"
expect_field "$daemon_deb" Depends "*libspdlog*"
expect_field "$daemon_deb" Depends "*libstdc++6*"
expect_field "$dev_deb" Package libpaperboy-dev
expect_field "$dev_deb" Version "$version-1"
expect_field "$dev_deb" Depends "*libasio-dev*"
expect_field "$dev_deb" Depends "*libssl-dev*"

# Contents: expect_contents DEB REGEX... (each matching a whole path in the package)
expect_contents() {
  local deb=$1 paths pattern
  shift
  paths=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
  for pattern in "$@"; do
    grep -Eqx "$pattern" <<<"$paths" || fail "$(basename "$deb") has no $pattern"
  done
  if grep -q paperboy-bench <<<"$paths"; then
    fail "$(basename "$deb") holds paperboy-bench, which is not packaged"
  fi
}
expect_contents "$daemon_deb" /usr/bin/paperboyd /usr/bin/paperboy \
  /usr/lib/systemd/system/paperboyd.service /usr/lib/systemd/system/paperboyd.socket \
  /etc/paperboy/paperboyd.toml /usr/share/doc/paperboy/README.md
expect_contents "$dev_deb" /usr/include/paperboy/client/client.hpp \
  /usr/include/paperboy/client/async_client.hpp /usr/include/paperboy/protocol/frame.hpp \
  '/usr/lib/[^/]+/libpaperboy_client\.a' '/usr/lib/[^/]+/libpaperboy_protocol\.a' \
  '/usr/lib/[^/]+/cmake/paperboy/paperboyConfig\.cmake' \
  '/usr/lib/[^/]+/cmake/paperboy/paperboyTargets\.cmake' '/usr/lib/[^/]+/pkgconfig/paperboy\.pc'

work=$(mktemp -d)
# shellcheck source=lib/daemon.sh
source scripts/lib/daemon.sh # stops the daemon and removes $work on exit

dpkg-deb -e "$daemon_deb" "$work/control"
grep -qx /etc/paperboy/paperboyd.toml "$work/control/conffiles" ||
  fail "/etc/paperboy/paperboyd.toml is not a conffile"
dpkg-deb -x "$daemon_deb" "$work/root"
service=$work/root/usr/lib/systemd/system/paperboyd.service
grep -qx 'ExecStart=/usr/bin/paperboyd --config /etc/paperboy/paperboyd.toml' "$service" ||
  fail "the packaged service does not start /usr/bin/paperboyd with /etc/paperboy/paperboyd.toml"
if grep -n '/usr/local\|@[A-Z_]*@' "$service" "${service%.service}.socket"; then
  fail "the packaged units name /usr/local or an unconfigured variable"
fi

if command -v lintian >/dev/null; then
  echo "check-deb: lintian says (not a failure):"
  lintian "$daemon_deb" "$dev_deb" || true
fi
echo "check-deb: contents ok ($(basename "$daemon_deb"), $(basename "$dev_deb"))"

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "check-deb: not root with apt-get: skipped installing the packages"
  exit 0
fi

packages=(paperboy libpaperboy-dev)
purge_installed() {
  local installed=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' && installed+=("$p")
  done
  ((${#installed[@]})) || return 0
  echo "check-deb: purging ${installed[*]}"
  apt_get purge "${installed[@]}"
}
# apt-get quietly, its output shown only when it fails.
apt_get() {
  local output
  output=$(DEBIAN_FRONTEND=noninteractive apt-get -y -q "$@" 2>&1) || {
    echo "$output" >&2
    fail "apt-get $* failed"
  }
}
trap 'stop_daemon; purge_installed' EXIT
purge_installed # an earlier run that stopped half-way
apt_get install "$daemon_deb" "$dev_deb"
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" | grep -q 'install ok installed' || fail "$p did not install"
done
dpkg-query -W -f='${Conffiles}' paperboy | grep -q '/etc/paperboy/paperboyd.toml' ||
  fail "dpkg does not list /etc/paperboy/paperboyd.toml as paperboy's conffile"

/usr/bin/paperboyd --check-config --config /etc/paperboy/paperboyd.toml ||
  fail "the installed configuration does not pass --check-config"
if command -v systemd-analyze >/dev/null; then
  output=$(systemd-analyze verify --man=no /usr/lib/systemd/system/paperboyd.service \
    /usr/lib/systemd/system/paperboyd.socket 2>&1)
  [[ -z $output ]] || fail "systemd-analyze verify on the installed units: $output"
fi
# The CMake package as a consumer finds it: no prefix path, /usr is searched anyway.
cmake -S tests/consumer -B "$work/consumer" -G Ninja >/dev/null ||
  fail "find_package(paperboy) does not find the installed libpaperboy-dev"

# The daemon from the package, with the packaged configuration, on a free port.
start_daemon /usr/bin/paperboyd --config /etc/paperboy/paperboyd.toml
message="from the package $$"
timeout "$deadline_seconds" /usr/bin/paperboy send --port "$daemon_port" --channel /queue/check-deb \
  --data "$message" --confirm
received=$(timeout "$deadline_seconds" /usr/bin/paperboy listen --port "$daemon_port" \
  --channel /queue/check-deb --count 1)
[[ $received == "$message" ]] || fail "listen got \"$received\", expected \"$message\""

kill -TERM "$daemon_pid"
for _ in $(seq $((deadline_seconds * 20))); do
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.05
done
kill -0 "$daemon_pid" 2>/dev/null && fail "paperboyd did not exit within ${deadline_seconds}s of SIGTERM"
status=0
wait "$daemon_pid" || status=$?
daemon_pid=
((status == 0)) || fail "paperboyd exited $status on SIGTERM"

purge_installed
for f in /usr/bin/paperboyd /etc/paperboy/paperboyd.toml /usr/include/paperboy; do
  [[ ! -e $f ]] || fail "$f is still there after the purge"
done
echo "check-deb: ok (contents, apt-get install, paperboyd from the package served and stopped on SIGTERM, purge)"
