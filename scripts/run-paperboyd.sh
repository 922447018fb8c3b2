#!/usr/bin/env bash
# Installs what is missing (apt), builds the release preset and runs paperboyd in the foreground
# on 127.0.0.1:25000. Extra arguments go to paperboyd (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
bash scripts/build.sh release
exec build/release/broker/paperboyd "$@"
