#!/usr/bin/env bash
# Brings the whole newsstand up on this machine: installs what is missing (apt), builds the
# release preset, generates the database if it is absent, then runs paperboyd, two billing
# workers and the app on 127.0.0.1:8000 until Ctrl-C, which stops them all.
#   NEWSSTAND_DB (default build/newsstand/newsstand.db), BROKER_PORT (25000), APP_PORT (8000),
#   TOTALS_INTERVAL (2 s) change the defaults; logs go to build/newsstand/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=$root/build/newsstand
db=${NEWSSTAND_DB:-$state/newsstand.db}
broker_port=${BROKER_PORT:-25000}
app_port=${APP_PORT:-8000}
totals_interval=${TOTALS_INTERVAL:-2}
python=/usr/bin/python3  # Debian's, with the python3-* packages (not a pyenv or venv one)

bash scripts/setup-debian.sh
bash scripts/build.sh release paperboyd billing-worker
mkdir -p "$state/logs"
if [[ ! -e $db ]]; then
  echo "newsstand: generating $db"
  (cd services/newsstand && "$python" -m newsstand.datagen --db "$db" --seed 1)
fi

broker_pid=
services=()  # the workers and the app
# The workers and the app go first, while the broker is still there for them to drain through.
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "newsstand: stopping"
  if ((${#services[@]})); then
    kill "${services[@]}" 2>/dev/null || true
    wait "${services[@]}" 2>/dev/null || true
  fi
  if [[ -n $broker_pid ]]; then
    kill "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

# wait_for WHAT COMMAND...: until COMMAND succeeds, for up to 30 s.
wait_for() {
  local what=$1
  shift
  for _ in $(seq 300); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "newsstand: $what did not come up; see $state/logs/" >&2
  exit 1
}

# http_ok URL METHOD: succeeds when the app answers 2xx.
http_ok() {
  "$python" -c 'import sys, urllib.request as r; r.urlopen(r.Request(sys.argv[1], method=sys.argv[2]), timeout=5)' "$@"
}

rm -f "$state/logs/paperboyd.log"  # the wait below reads this run's log, not the last one's
build/release/broker/paperboyd --bind 127.0.0.1 --port "$broker_port" 2>"$state/logs/paperboyd.log" &
broker_pid=$!
wait_for paperboyd grep -q server.listening "$state/logs/paperboyd.log"

for n in 1 2; do
  build/release/services/billing-worker/billing-worker --server "127.0.0.1:$broker_port" \
    --db "$db" --name "billing-worker-$n" 2>"$state/logs/billing-worker-$n.log" &
  services+=($!)
done

(cd services/newsstand && exec env PYTHONPATH="$root/services/newsstand:$root/clients/python/src" \
  "$python" -m newsstand --broker "127.0.0.1:$broker_port" --db "$db" --port "$app_port" \
  --totals-interval "$totals_interval") 2>"$state/logs/newsstand.log" &
services+=($!)
wait_for "the app" http_ok "http://127.0.0.1:$app_port/healthz" GET
wait_for "the billing workers" \
  http_ok "http://127.0.0.1:$app_port/billing/total/payable?billing_date=2026-01-01" POST

cat <<EOM
newsstand is up (logs in $state/logs/, database $db):
  dashboard     http://127.0.0.1:$app_port/
  health        http://127.0.0.1:$app_port/healthz
  payables      curl -X POST 'http://127.0.0.1:$app_port/billing/total/payable?billing_date=2026-06-30'
  messenger     curl -X POST -H 'content-type: application/json' -d '{"messenger_id": 7, "status": "delivered"}' http://127.0.0.1:$app_port/messenger/send
  broker        paperboyd on 127.0.0.1:$broker_port
Ctrl-C stops everything.
EOM
wait -n || true
echo "newsstand: a process ended; stopping the rest (see $state/logs/)"
