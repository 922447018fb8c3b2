#!/usr/bin/env bash
# Checks the systemd units as an install configures them: `systemd-analyze verify` on the service
# and the socket, and `systemd-analyze security --offline=yes` on the service, failing when its
# exposure score is above 2.0. Works without systemd running (in a container, in CI).
#   scripts/check-units.sh [BINDIR]   BINDIR: where paperboyd is (default: build/debug/broker)
set -euo pipefail
cd "$(dirname "$0")/.."
bindir=$(realpath "${1:-build/debug/broker}")
max_exposure=2.0

if ! command -v systemd-analyze >/dev/null; then
  echo "check-units: systemd-analyze not found (apt-get install systemd)" >&2
  exit 1
fi
if [[ ! -x $bindir/paperboyd ]]; then
  echo "check-units: no paperboyd in $bindir (verify checks that ExecStart exists)" >&2
  exit 1
fi

units=$(mktemp -d)
trap 'rm -rf "$units"' EXIT
# As cmake/Install.cmake's configure_file does, with this build's paperboyd as the binary.
for unit in paperboyd.service paperboyd.socket; do
  sed -e "s|@CMAKE_INSTALL_FULL_BINDIR@|$bindir|g" \
      -e "s|@CMAKE_INSTALL_FULL_DOCDIR@|/usr/share/doc/paperboy|g" \
      -e "s|@CMAKE_INSTALL_FULL_SYSCONFDIR@|/etc|g" \
      "systemd/$unit.in" >"$units/$unit"
  if grep -n '@[A-Z_]*@' "$units/$unit"; then
    echo "check-units: $unit.in has a variable this script does not configure" >&2
    exit 1
  fi
done

# verify prints warnings and errors; either fails the check.
output=$(systemd-analyze verify --man=no "$units/paperboyd.service" "$units/paperboyd.socket" 2>&1)
if [[ -n $output ]]; then
  echo "$output" >&2
  echo "check-units: systemd-analyze verify complained" >&2
  exit 1
fi
echo "check-units: verify ok"

report=$(systemd-analyze security --offline=yes --no-pager "$units/paperboyd.service")
score=$(sed -n 's/^→ Overall exposure level for paperboyd.service: \([0-9.]*\).*/\1/p' <<<"$report")
if [[ -z $score ]]; then
  echo "$report" >&2
  echo "check-units: no exposure level in the report" >&2
  exit 1
fi
echo "check-units: paperboyd.service exposure $score (at most $max_exposure)"
if ! awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }'; then
  grep '✗' <<<"$report" >&2 || true
  exit 1
fi
