#!/usr/bin/env bash
# bench_smoke: a functional run of paperboy-bench against the real daemon, so the tool cannot rot.
# Starts paperboyd on a free port, runs the fanout and queue workloads (and queue in the PB0
# dialect, fan-out to version 2 subscribers, to wildcard subscribers, and next to idle wildcard
# patterns) with small counts, and fails unless every message arrived exactly once; then the
# confirm and drain workloads, which must see every PUB confirmed and consumed. No timing is
# asserted: a benchmark is not a test.
#   usage: smoke_test.sh PATH/TO/paperboyd PATH/TO/paperboy-bench
set -euo pipefail

daemon=$1
bench=$2
count=2000
work=$(mktemp -d)
# shellcheck source=../scripts/lib/daemon.sh
source "$(dirname "$0")/../scripts/lib/daemon.sh"

fail() {
  echo "bench_smoke: FAIL: $*" >&2
  echo "--- paperboyd log (tail)" >&2
  tail -n 20 "$work/daemon.log" >&2 || true
  exit 1
}

# A JSON field of paperboy-bench's one-line report (numbers and booleans only).
field() { grep -o "\"$2\":[^,}]*" <<<"$1" | head -n 1 | cut -d: -f2; }

start_daemon "$daemon" || fail "paperboyd did not start"
port=$daemon_port

passed=0
# broker:workload[:extra options, comma-separated]
for case in pb1:fanout pb1:queue pb0:queue pb1:fanout:--sub-version=2 \
  pb1:fanout:--channel=smoke/fan,--sub-pattern=/topic/smoke/* pb1:fanout:--idle-patterns=1000; do
  IFS=: read -r broker workload extra <<<"$case"
  IFS=, read -r -a extra_args <<<"$extra"
  pubs=2
  subs=3
  out=$("$bench" "$workload" --broker "$broker" --port "$port" --count "$count" --pubs "$pubs" \
          --subs "$subs" --deadline 60 --broker-pid "$daemon_pid" --json "${extra_args[@]}") ||
    fail "$case: paperboy-bench exited $?: $out"
  echo "$out"
  expected=$((count * pubs))
  [[ $workload == fanout ]] && expected=$((expected * subs))
  [[ $(field "$out" published) == $((count * pubs)) ]] || fail "$case: published != $((count * pubs))"
  [[ $(field "$out" expected) == "$expected" ]] || fail "$case: expected != $expected"
  [[ $(field "$out" delivered) == "$expected" ]] || fail "$case: delivered != $expected"
  [[ $(field "$out" lost) == 0 ]] || fail "$case: lost messages"
  [[ $(field "$out" duplicates) == 0 ]] || fail "$case: duplicate messages"
  [[ $(field "$out" corrupt) == 0 ]] || fail "$case: corrupt payloads"
  [[ $(field "$out" disconnected) == 0 ]] || fail "$case: a subscriber was disconnected"
  passed=$((passed + 1))
done
# Confirmed publishing (every PUB answered with its OK) and draining a backlog with manual acks.
for workload in confirm drain; do
  out=$("$bench" "$workload" --port "$port" --count "$count" --pubs 2 --window 100 --ack manual \
          --prefetch 100 --deadline 60 --json) || fail "$workload: paperboy-bench exited $?: $out"
  echo "$out"
  [[ $(field "$out" error_count) == 0 ]] || fail "$workload: errors"
  if [[ $workload == confirm ]]; then
    [[ $(field "$out" confirmed) == $((count * 2)) ]] || fail "confirm: confirmed != $((count * 2))"
    [[ $(field "$out" consumed) == $((count * 2)) ]] || fail "confirm: consumed != $((count * 2))"
  else
    [[ $(field "$out" fill_confirmed) == $((count * 2)) ]] || fail "drain: confirmed != $((count * 2))"
    [[ $(field "$out" consumed) == $((count * 2)) ]] || fail "drain: consumed != $((count * 2))"
  fi
  passed=$((passed + 1))
done
echo "bench_smoke: $passed passed, 0 failed"
