#!/usr/bin/env bash
# The daemon's instruction count over one fixed-count paperboy-bench run: the steady figure on a
# shared machine, where timed runs drift by tens of percent.
#   bench/callgrind_count.sh DAEMON BENCH NAME [paperboy-bench workload args...]
#   e.g. bench/callgrind_count.sh build/release/broker/paperboyd build/release/bench/paperboy-bench \
#          queue queue --size 128 --count 400000
# Writes $TMPDIR/NAME.callgrind (read it with callgrind_annotate) and prints the total.
set -euo pipefail
daemon=$1 bench=$2 name=$3
shift 3
out=${TMPDIR:-/tmp}/$name
port=$((30000 + RANDOM % 20000))
args=(--port "$port")
[[ $(basename "$daemon") == paperboy-limit ]] || args+=(--log-level warn)
valgrind --tool=callgrind --callgrind-out-file="$out.callgrind" "$daemon" "${args[@]}" 2>"$out.valgrind" &
daemon_pid=$!
# Under valgrind the daemon takes seconds to start on a loaded machine.
for _ in $(seq 600); do (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
"$bench" "$@" --port "$port" --json >"$out.json"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || true
total=$(grep -E '^(summary|totals):' "$out.callgrind" | tail -n 1 | cut -d' ' -f2)
echo "$name instructions=$total $(grep -o '"delivered":[0-9]*' "$out.json") $(grep -o '"lost":[0-9]*' "$out.json")"
