#!/usr/bin/env bash
# Installs what is missing (apt), then checks everything CI checks: formatting, the decoder,
# session, users-file and config-file fuzzers (short runs; scripts/fuzz-long.sh is the long one),
# and the whole test suite (unit + integration against the real daemon) in a debug build and
# again under ASan+UBSan, the integration suite under TSan (scripts/test-tsan.sh), a plain
# Release build with clang, and the installed package (scripts/check-install.sh, a plain Release
# build with GCC), and the Debian packages (scripts/check-deb.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
bash scripts/setup-browser.sh  # the newsstand dashboard test runs in headless Chromium

step() { printf '\n== %s\n' "$*"; }

step "format (clang-format --dry-run --Werror)"
git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

fuzz_seconds=${PAPERBOY_FUZZ_SECONDS:=30}
session_fuzz_seconds=${PAPERBOY_SESSION_FUZZ_SECONDS:=20}
parser_fuzz_seconds=${PAPERBOY_PARSER_FUZZ_SECONDS:=15}
step "fuzz: build and run the decoder fuzzer for ${fuzz_seconds}s, the session fuzzer for ${session_fuzz_seconds}s, the users and config file fuzzers for ${parser_fuzz_seconds}s each"
bash scripts/build.sh fuzz paperboy_fuzz_decoder paperboy_fuzz_session paperboy_fuzz_users \
  paperboy_fuzz_config
# TARGET SECONDS SEEDS: libFuzzer saves what it finds in build/fuzz/SEEDS, reads tests/fuzz/SEEDS;
# a crash reproducer goes to build/fuzz/TARGET-crash-*, never into the checkout.
run_fuzzer() {
  mkdir -p "build/fuzz/$3"
  build/fuzz/tests/fuzz/paperboy_fuzz_"$1" -max_total_time="$2" -print_final_stats=0 \
    -artifact_prefix="build/fuzz/$1-" "build/fuzz/$3" "tests/fuzz/$3" 2>&1 | tail -n 3
}
run_fuzzer decoder "$fuzz_seconds" corpus
run_fuzzer session "$session_fuzz_seconds" session_corpus
run_fuzzer users "$parser_fuzz_seconds" users_corpus
run_fuzzer config "$parser_fuzz_seconds" config_corpus

for preset in debug asan; do
  step "$preset: build and run every test"
  bash scripts/build.sh "$preset"
  ctest --preset "$preset" -j "$(nproc)"
done

step "tsan: the integration suite under ThreadSanitizer"
bash scripts/test-tsan.sh

step "clang: a plain Release build with clang 14 (-Werror) and its unit tests"
cmake -S . -B build/clang-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
  -DPAPERBOY_WERROR=ON >/dev/null
cmake --build build/clang-release -j "$(nproc)"
ctest --test-dir build/clang-release -L unit -j "$(nproc)" --output-on-failure

step "install: Release build with GCC, install, a consumer project against the prefix"
bash scripts/check-install.sh

step "deb: build the Debian package, check its contents, install it and run the daemon from it"
bash scripts/check-deb.sh
