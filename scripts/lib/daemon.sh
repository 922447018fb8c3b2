# Sourced by scripts that run a paperboyd of their own (check-install, bench_smoke):
#   work=$(mktemp -d); source scripts/lib/daemon.sh; start_daemon PATH/TO/paperboyd [flags...]
# start_daemon starts it on a free port and returns once it listens, with $daemon_pid and
# $daemon_port set and its log in $work/daemon.log. When the script exits, however it exits, the
# daemon is stopped and $work removed.

daemon_pid=
daemon_port=

stop_daemon() {
  if [[ -n $daemon_pid ]]; then
    kill "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  daemon_pid=
  rm -rf "$work"
}
trap stop_daemon EXIT

start_daemon() {
  local binary=$1
  shift
  "$binary" --port 0 --log-level info "$@" 2>"$work/daemon.log" &
  daemon_pid=$!
  for _ in $(seq 200); do
    daemon_port=$(sed -n 's/.*server\.listening.*port=\([0-9]*\).*/\1/p' "$work/daemon.log" | head -n 1)
    [[ -n $daemon_port ]] && return 0
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "paperboyd did not start listening:" >&2
  cat "$work/daemon.log" >&2
  return 1
}
