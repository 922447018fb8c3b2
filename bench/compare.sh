#!/usr/bin/env bash
# Runs paperboyd side by side with nats-server, redis-server and paperboy-limit (the minimal PB1
# forwarder that marks the hardware limit) on loopback, every workload against each in turn,
# interleaved and repeated, and prints one table: median and spread per broker, paperboy's ratio
# to each peer and its fraction of the limit.
#
#   bench/compare.sh [--rounds N] [--seconds S] [--quick] [--only CASE,...] [--out FILE] [--no-build]
#
# Installs nats-server and redis-server with apt-get when they are missing, builds the release
# preset, and stops every process it started when it exits. A default run takes about 10 minutes
# on a 2-core machine; --quick takes about 1.
set -euo pipefail
cd "$(dirname "$0")/.."

command_line="bench/compare.sh $*"
rounds=3
seconds=3
connections=10000
only=
out=
build=1
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --quick) rounds=1; seconds=1; connections=2000; shift ;;
    --only) only=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

# ---------------------------------------------------------------------------------------------
# Tools and build

missing=()
command -v nats-server >/dev/null || missing+=(nats-server)
command -v redis-server >/dev/null || missing+=(redis-server)
if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  echo "compare: installing ${missing[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ((build)); then
  echo "compare: building the release preset" >&2
  cmake --preset release >&2
  cmake --build --preset release --target paperboyd paperboy-bench paperboy-limit >&2
fi
# What was measured: the commit, and whether the tree had changes on top of it.
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if ! git diff --quiet HEAD -- broker protocol 2>/dev/null; then
  commit+=" + uncommitted changes in broker/ or protocol/"
fi

# 10,000 idle connections need that many descriptors in the bench and in each broker.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---------------------------------------------------------------------------------------------
# Brokers

work=$(mktemp -d "${TMPDIR:-/tmp}/paperboy-compare.XXXXXX")
declare -A pid port
cleanup() {
  for name in "${!pid[@]}"; do
    kill "${pid[$name]}" 2>/dev/null || true
  done
  for name in "${!pid[@]}"; do
    wait "${pid[$name]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run copies, so a rebuild of build/release during the run cannot change what is measured.
mkdir -p "$work/bin"
cp build/release/broker/paperboyd build/release/bench/paperboy-bench \
  build/release/bench/paperboy-limit "$work/bin/"
paperboyd=$work/bin/paperboyd
bench=$work/bin/paperboy-bench
limit=$work/bin/paperboy-limit

free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 30000))
    (: </dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
  done
  echo "compare: no free port found" >&2
  exit 1
}

# Waits for a log line naming the bound port: wait_port NAME PATTERN
wait_port() {
  local name=$1 pattern=$2 p
  for _ in $(seq 100); do
    p=$(grep -o "$pattern" "$work/$name.log" | head -n 1 | grep -o '[0-9]*$' || true)
    if [[ -n $p ]]; then
      port[$name]=$p
      return 0
    fi
    kill -0 "${pid[$name]}" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# Waits until something accepts connections on a port: wait_listening NAME
wait_listening() {
  local name=$1
  for _ in $(seq 100); do
    (: </dev/tcp/127.0.0.1/"${port[$name]}") 2>/dev/null && return 0
    kill -0 "${pid[$name]}" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# Each broker with its defaults, except what a benchmark must change: persistence off for Redis,
# room for 10,000 clients, and no per-connection info lines from paperboyd (the peers log none).
start_broker() {
  local name=$1
  for _ in 1 2 3 4 5; do
    : >"$work/$name.log"
    case $name in
      paperboy)
        port[$name]=$(free_port)
        "$paperboyd" --port "${port[$name]}" --log-level warn 2>"$work/$name.log" &
        pid[$name]=$!
        wait_listening "$name" && return
        ;;
      nats)
        nats-server -a 127.0.0.1 -p -1 >"$work/$name.log" 2>&1 &
        pid[$name]=$!
        wait_port nats 'Listening for client connections on 127.0.0.1:[0-9]*' && return
        ;;
      redis)
        port[$name]=$(free_port)
        redis-server --bind 127.0.0.1 --port "${port[$name]}" --save '' --appendonly no \
          --maxclients 20000 --daemonize no --loglevel warning >"$work/$name.log" 2>&1 &
        pid[$name]=$!
        wait_listening "$name" && return
        ;;
      limit)
        port[$name]=$(free_port)
        "$limit" --port "${port[$name]}" 2>"$work/$name.log" &
        pid[$name]=$!
        wait_listening "$name" && return
        ;;
    esac
    # Most likely the port was taken after all: try another.
    kill "${pid[$name]}" 2>/dev/null || true
    wait "${pid[$name]}" 2>/dev/null || true
  done
  echo "compare: $name did not start; its log:" >&2
  cat "$work/$name.log" >&2
  exit 1
}

stop_broker() {
  kill "${pid[$1]}" 2>/dev/null || true
  wait "${pid[$1]}" 2>/dev/null || true
}

protocol_of() {
  case $1 in
    paperboy | limit) echo pb1 ;;
    *) echo "$1" ;;
  esac
}

brokers=(paperboy nats redis limit)
for b in "${brokers[@]}"; do start_broker "$b"; done
for b in "${brokers[@]}"; do echo "compare: $b pid ${pid[$b]} port ${port[$b]}" >&2; done

# ---------------------------------------------------------------------------------------------
# Workloads: case name, brokers it runs on, paperboy-bench arguments.

cases=(
  "fanout-128B|paperboy nats redis limit|fanout --size 128 --seconds $seconds"
  "fanout-16B|paperboy nats redis limit|fanout --size 16 --seconds $seconds"
  "fanout-4KiB|paperboy nats redis limit|fanout --size 4096 --seconds $seconds"
  "queue-128B|paperboy nats limit|queue --size 128 --seconds $seconds"
  # Reliable queues: every delivery ACKed by its consumer. Only paperboyd has them.
  "queue-manual-p1|paperboy|queue --size 128 --seconds $seconds --ack manual --prefetch 1"
  "queue-manual-p10|paperboy|queue --size 128 --seconds $seconds --ack manual --prefetch 10"
  "queue-manual-p100|paperboy|queue --size 128 --seconds $seconds --ack manual --prefetch 100"
  "fanin-8to1|paperboy nats redis limit|fanin --size 128 --seconds $seconds"
  "latency-20k|paperboy nats redis limit|latency --size 128 --rate 20000 --seconds $seconds"
  "conns-idle|paperboy nats redis|conns --connections $connections"
  "slow-sub|paperboy nats redis|slow --size 128 --seconds $seconds --drain 12"
)

results=$work/results.jsonl
: >"$results"
started=$(date +%s)
for ((round = 1; round <= rounds; round++)); do
  for entry in "${cases[@]}"; do
    IFS='|' read -r name on args <<<"$entry"
    if [[ -n $only && ",$only," != *",$name,"* ]]; then continue; fi
    read -r -a runners <<<"$on"
    # Rotate the order every round, so no broker always runs right after the same one.
    n=${#runners[@]}
    for ((k = 0; k < n; k++)); do
      b=${runners[$(((k + round - 1) % n))]}
      if ! kill -0 "${pid[$b]}" 2>/dev/null; then
        echo "compare: $b had exited; restarting it (round $round, $name)" >&2
        start_broker "$b"
      elif [[ $name == conns-* ]]; then
        # Memory per connection is measured on a fresh process: one that ran other workloads
        # before has freed heap to hand the new connections, and would look cheaper than it is.
        stop_broker "$b"
        start_broker "$b"
        sleep 1
      fi
      read -r -a argv <<<"$args"
      line=$("$bench" "${argv[@]}" --broker "$(protocol_of "$b")" --port "${port[$b]}" \
               --broker-pid "${pid[$b]}" --label "$name|$b|$round" --json 2>>"$work/bench.err" || true)
      if [[ $line == \{* ]]; then
        echo "$line" >>"$results"
      else
        echo "compare: no result from $b for $name in round $round" >&2
      fi
      printf '\rcompare: round %d/%d  %-17s %-8s  (%ds)   ' "$round" "$rounds" "$name" "$b" $(($(date +%s) - started)) >&2
      # Let the broker close the connections of the run before the next one starts.
      if [[ $name == conns-* ]]; then sleep 2; else sleep 0.3; fi
    done
  done
done
echo >&2

if [[ -n $out ]]; then cp "$results" "$out"; fi

# ---------------------------------------------------------------------------------------------
# The table

cat <<EOF

paperboy compare: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
commit $commit, $rounds round(s) of ${seconds}s runs, $(($(date +%s) - started))s: $command_line
median +-spread (half the min-max range, % of the median) over the rounds; ratios are of medians.
EOF

awk -v rounds="$rounds" '
function json_fields(line,    rest, key, value, colon, pair) {
  split("", f)
  rest = line
  while (match(rest, /"[a-z_0-9]+":("([^"\\]|\\.)*"|[^,}]*)/)) {
    pair = substr(rest, RSTART, RLENGTH)
    rest = substr(rest, RSTART + RLENGTH)
    colon = index(pair, ":")
    key = substr(pair, 2, colon - 3)
    value = substr(pair, colon + 1)
    gsub(/^"|"$/, "", value)
    f[key] = value
  }
}
function add(c, b, metric, value) {
  if (value == "" || value == "null") return
  key = c SUBSEP b SUBSEP metric
  n[key]++
  v[key, n[key]] = value + 0
}
function median_of(key,    i, j, t, m, a) {
  m = n[key]
  if (m == 0) return ""
  for (i = 1; i <= m; i++) a[i] = v[key, i]
  for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  lo[key] = a[1]; hi[key] = a[m]
  return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
function sum_of(key,    i, s) { s = 0; for (i = 1; i <= n[key]; i++) s += v[key, i]; return s }
function fmt(x, unit) {
  if (unit == "M") return sprintf("%.2fM", x / 1e6)
  if (unit == "us") return sprintf("%.0fus", x)
  if (unit == "B") return (x >= 10240) ? sprintf("%.1fkB", x / 1024) : sprintf("%.0fB", x)
  if (unit == "%") return sprintf("%.0f%%", x * 100)
  if (unit == "MB") return sprintf("%.0fMB", x)
  if (unit == "x") return sprintf("%.2fx", x)
  return sprintf("%.3g", x)
}
function cell(c, b, metric, unit,    key, m, spread) {
  key = c SUBSEP b SUBSEP metric
  m = median_of(key)
  if (m == "") return "-"
  med[c, b, metric] = m
  # Load from other processes: the median and the worst round say more than a spread.
  if (unit == "cores") return sprintf("%.2f max %.2f", m, hi[key])
  spread = (m != 0) ? (hi[key] - lo[key]) / 2 / (m < 0 ? -m : m) * 100 : 0
  return sprintf("%s +-%.0f%%", fmt(m, unit), spread)
}
function ratio(c, a, b, metric,    x, y) {
  x = med[c, a, metric]; y = med[c, b, metric]
  if (x == "" || y == "" || y == 0) return "-"
  return sprintf("%.3g", x / y)
}
function row(c, label, metric, unit,    p, na, r, l) {
  p = cell(c, "paperboy", metric, unit); na = cell(c, "nats", metric, unit)
  r = cell(c, "redis", metric, unit); l = cell(c, "limit", metric, unit)
  if (unit == "cores") {
    printf "%-17s %-24s %-15s %-15s %-15s %-15s\n", c, label, p, na, r, l
    return
  }
  printf "%-17s %-24s %-15s %-15s %-15s %-15s %7s %8s %8s\n", c, label, p, na, r, l,
    ratio(c, "paperboy", "nats", metric), ratio(c, "paperboy", "redis", metric),
    ratio(c, "paperboy", "limit", metric)
}
function loss_row(c,    b, k, text, lost, dup, cnt) {
  text = ""
  for (k = 1; k <= 4; k++) {
    b = B[k]
    cnt = n[c SUBSEP b SUBSEP "lost"]
    if (cnt == 0) { cells[k] = "-"; continue }
    lost = sum_of(c SUBSEP b SUBSEP "lost"); dup = sum_of(c SUBSEP b SUBSEP "duplicates")
    cells[k] = sprintf("%d/%d", lost, dup)
  }
  printf "%-17s %-24s %-15s %-15s %-15s %-15s\n", c, "lost/dup (all rounds)", cells[1], cells[2], cells[3], cells[4]
}
BEGIN { B[1] = "paperboy"; B[2] = "nats"; B[3] = "redis"; B[4] = "limit" }
{
  json_fields($0)
  split(f["label"], parts, "|")
  c = parts[1]; b = parts[2]
  if (!(c in seen)) { seen[c] = 1; order[++ncases] = c }
  for (k in f) add(c, b, k, f[k])
}
END {
  printf "%-17s %-24s %-15s %-15s %-15s %-15s %7s %8s %8s\n", "workload", "figure", "paperboy", "nats", "redis", "limit", "pb/nats", "pb/redis", "pb/limit"
  for (i = 1; i <= ncases; i++) {
    c = order[i]
    if (c ~ /^(fanout|queue|fanin)/) {
      row(c, "delivered msgs/s", "msgs_per_sec", "M")
      if (c ~ /4KiB/) row(c, "delivered MB/s", "mb_per_sec", "MB")
      row(c, "deliveries/broker CPU-s", "deliveries_per_cpu_s", "M")
      row(c, "p99 latency", "p99_us", "us")
      row(c, "other processes (cores)", "other_cores", "cores")
      loss_row(c)
    } else if (c ~ /^latency/) {
      row(c, "p50 latency", "p50_us", "us")
      row(c, "p90 latency", "p90_us", "us")
      row(c, "p99 latency", "p99_us", "us")
      row(c, "p99.9 latency", "p999_us", "us")
      row(c, "max latency", "max_us", "us")
      row(c, "other processes (cores)", "other_cores", "cores")
      loss_row(c)
    } else if (c ~ /^conns/) {
      row(c, "RSS per idle conn", "bytes_per_conn", "B")
      row(c, "seconds to open all", "open_seconds", "")
    } else if (c ~ /^slow/) {
      row(c, "others rate vs base", "others_rate_ratio", "%")
      row(c, "publisher rate vs base", "publish_rate_ratio", "%")
      row(c, "others p99 vs base", "p99_ratio", "x")
      row(c, "others p99", "p99_us", "us")
      row(c, "broker RSS growth", "rss_growth_mb", "MB")
      row(c, "other processes (cores)", "other_cores", "cores")
      loss_row(c)
    }
  }
}' "$results"

cat <<'EOF'

Figures: msgs/s are deliveries summed over subscribers (first publish to last delivery); lost and
dup are summed over rounds (for slow: the subscribers that kept reading). Ratios pb/x above 1 mean
paperboy is higher, which is better for rates and worse for latency and memory.
EOF
