#!/usr/bin/env bash
# Installs what the newsstand's browser test needs (headless Chromium, its WebDriver, Selenium)
# with apt-get, run as root or via sudo; re-run cmake afterwards to register ctest's
# newsstand_browser test.
set -euo pipefail
packages=(chromium chromium-driver python3-selenium)
installed=$(dpkg-query -W -f='${Status}\n' "${packages[@]}" 2>/dev/null | grep -c 'install ok installed' || true)
if ((installed < ${#packages[@]})); then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
