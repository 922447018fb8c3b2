#!/usr/bin/env bash
# The integration suite against ThreadSanitizer builds of paperboyd, the CLI, the test clients
# and the billing worker the newsstand tests run (the tsan preset). Its test preset leaves out the
# memory and stress tests, whose VmRSS bounds TSan's shadow memory (several times what the daemon
# holds) breaks; they run in the debug and ASan passes. Part of scripts/test.sh; runs alone too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh tsan paperboyd paperboy paperboy_integration_tests billing-worker
ctest --preset tsan -j "$(nproc)"
