#!/usr/bin/env bash
# Installs what the newsstand's browser test needs (headless Chromium, its WebDriver, Selenium)
# with apt-get, as root or via sudo; re-run cmake afterwards to register ctest's newsstand_browser.
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"
apt_install_missing setup-browser chromium chromium-driver python3-selenium
