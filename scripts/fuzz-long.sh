#!/usr/bin/env bash
# The long fuzzing run (CI runs each fuzzer for seconds only): builds the fuzz preset, then runs
# each libFuzzer target, one at a time and niced, for a fixed number of executions over a scratch
# copy of its committed corpus, and prints per target the executions, seconds, executions per
# second, final coverage (cov: edges, ft: features) and whether it found anything.
#
#   scripts/fuzz-long.sh [TARGET...]        targets: decoder session config users (default: all)
#
# Environment: PAPERBOY_FUZZ_RUNS (executions per target, default 10000000),
# PAPERBOY_FUZZ_WORK (scratch directory, default build/fuzz/long: each target's growing corpus,
# its full log and any crash reproducer), PAPERBOY_FUZZ_RSS_MB (memory limit, default 2048),
# PAPERBOY_FUZZ_TIMEOUT (seconds one input may take, default 60).
# Exit code: 0 when no target found anything, 1 otherwise. The committed corpora are never
# written to: copy an input that adds coverage into tests/fuzz/ by hand if it is worth keeping.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${PAPERBOY_FUZZ_RUNS:-10000000}
work=${PAPERBOY_FUZZ_WORK:-build/fuzz/long}
rss_mb=${PAPERBOY_FUZZ_RSS_MB:-2048}
timeout_s=${PAPERBOY_FUZZ_TIMEOUT:-60}
targets=("$@")
((${#targets[@]})) || targets=(decoder session config users)

declare -A seeds=([decoder]=corpus [session]=session_corpus [config]=config_corpus
  [users]=users_corpus)
for target in "${targets[@]}"; do
  [[ -n ${seeds[$target]:-} ]] || {
    echo "fuzz-long: unknown target '$target' (decoder, session, config, users)" >&2
    exit 2
  }
done

bash scripts/build.sh fuzz "${targets[@]/#/paperboy_fuzz_}"

found=0
header() { printf '%-8s %12s %9s %9s %7s %7s %s\n' target executions seconds exec/s cov ft result; }
for target in "${targets[@]}"; do
  dir=$work/$target
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp tests/fuzz/"${seeds[$target]}"/* "$dir/corpus/"
  echo "== $target: $runs executions, log $dir/log (started $(date -u +%H:%M:%S) UTC)"
  start=$(date +%s)
  status=0
  nice -n 19 build/fuzz/tests/fuzz/paperboy_fuzz_"$target" -runs="$runs" \
    -rss_limit_mb="$rss_mb" -timeout="$timeout_s" -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1 || status=$?
  seconds=$(($(date +%s) - start))
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
  per_second=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
  coverage=$(grep -E '^#[0-9]+.* cov: ' "$dir/log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$coverage")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$coverage")
  result="no finding"
  if ((status != 0)) || compgen -G "$dir/artifacts/*" >/dev/null; then
    found=1
    result="FINDING (exit $status): $(ls "$dir/artifacts" | tr '\n' ' ')see $dir/log"
  fi
  header
  printf '%-8s %12s %9s %9s %7s %7s %s\n' "$target" "${executions:-?}" "$seconds" \
    "${per_second:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
exit "$found"
