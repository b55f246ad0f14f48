#!/usr/bin/env bash
# A/B of two wharf binaries on one HTTP/2 case, interleaved (A B A B …) in one run, for a shared
# machine where absolute numbers drift: both edges run side by side (one worker each, TLS, the
# shared anchors fixture), and each round loads one then the other with the same h2load command
# as scripts/bench-h2.sh. Per round: req/s and server CPU µs per response (utime+stime of the
# edge process from /proc, before and after). Printed: every round, then medians with the spread.
#
#   scripts/bench-h2-ab.sh OLD_WHARF NEW_WHARF                 # 7 rounds of index-br
#   ROUNDS=5 CASE=js-br scripts/bench-h2-ab.sh old/wharf .build/release/wharf
#   PERF=B scripts/bench-h2-ab.sh … # also `perf record -g` the B edge for one extra round (PERF_DATA=file keeps it)
# Knobs: ROUNDS (7), CASE (index-br | js-br | wasm), CONNS (16), STREAMS (32), N (per case).
# Listens on 127.0.0.1:18453-18458; the edges started here are stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$(realpath "${1:?usage: bench-h2-ab.sh OLD_WHARF NEW_WHARF}")
B=$(realpath "${2:?usage: bench-h2-ab.sh OLD_WHARF NEW_WHARF}")
ROUNDS=${ROUNDS:-7}
CASE=${CASE:-index-br}
CONNS=${CONNS:-16}
STREAMS=${STREAMS:-32}
FIXTURE_SCRIPT=${FIXTURE_SCRIPT:-../shared/bench/make-fixture.sh}
WORK=$(mktemp -d -t wharf-bench-h2-ab.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

"$FIXTURE_SCRIPT" "$WORK/fixture" >&2
FIXTURE="$WORK/fixture"
JS=$(cd "$FIXTURE" && ls assets/main.*.js | head -1); WASM=$(cd "$FIXTURE" && ls assets/app.*.wasm | head -1)
case $CASE in
  index-br) path=/index.html; N=${N:-200000} ;;
  js-br) path=/$JS; N=${N:-40000} ;;
  wasm) path=/$WASM; N=${N:-1500} ;;
  *) echo "unknown case $CASE" >&2; exit 1 ;;
esac
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

declare -A PORT=([A]=18453 [B]=18456) PID
start() {  # name binary port
  "$2" publish bench "$FIXTURE" --store "$WORK/store-$1" >/dev/null
  WHARF_EDGE_TLS_LISTEN=127.0.0.1:$3 WHARF_EDGE_TLS_CERTIFICATES="$WORK/cert.pem=$WORK/key.pem" WHARF_EDGE_EARLY_HINTS=false \
    setsid "$2" edge --store "$WORK/store-$1" --listen 127.0.0.1:$(($3 + 1)) --admin-listen 127.0.0.1:$(($3 + 2)) --workers 1 2>"$WORK/$1.log" &
  PIDS+=($!)
  PID[$1]=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 -k "https://127.0.0.1:$3/index.html" && return
    sleep 0.1
  done
  echo "edge $1 did not start" >&2; cat "$WORK/$1.log" >&2; exit 1
}
start A "$A" "${PORT[A]}"
start B "$B" "${PORT[B]}"
for s in A B; do  # the same bytes from both
  curl -s -k --http2 -H 'accept-encoding: br, gzip' -o "$WORK/body-$s" "https://127.0.0.1:${PORT[$s]}$path"
done
cmp -s "$WORK/body-A" "$WORK/body-B" || { echo "A and B answer $path differently" >&2; exit 1; }

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
load() {  # name -> "req/s cpu-µs/response"
  local before after out ok rps
  before=$(ticks "${PID[$1]}")
  out=$(timeout 600 h2load -n "$N" -c "$CONNS" -m "$STREAMS" -t 1 -H 'accept-encoding: br, gzip' \
        "https://127.0.0.1:${PORT[$1]}$path" 2>&1 || true)
  after=$(ticks "${PID[$1]}")
  ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$out")
  rps=$(sed -n 's/^finished in [0-9.]*m\?s, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
  awk -v a="$before" -v b="$after" -v hz="$HZ" -v n="${ok:-0}" -v r="${rps:-0}" 'BEGIN{printf "%.0f %.2f\n", r, n ? (b - a) / hz * 1e6 / n : 0}'
}
load A >/dev/null; load B >/dev/null  # warm-up
echo "| round | binary | req/s | server CPU µs/response |"
echo "|---|---|---:|---:|"
: >"$WORK/results"
for round in $(seq "$ROUNDS"); do
  for s in A B; do
    read -r rps cpu < <(load "$s")
    echo "| $round | $s | $rps | $cpu |"
    echo "$s $rps $cpu" >>"$WORK/results"
  done
done
python3 - "$WORK/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    s, rps, cpu = line.split()
    rows.setdefault(s, []).append((float(rps), float(cpu)))
print("\n| binary | req/s median (min–max) | CPU µs/response median (min–max) |")
print("|---|---:|---:|")
for s in sorted(rows):
    rps, cpu = zip(*rows[s])
    print(f"| {s} | {statistics.median(rps):.0f} ({min(rps):.0f}–{max(rps):.0f}) | {statistics.median(cpu):.2f} ({min(cpu):.2f}–{max(cpu):.2f}) |")
if len(rows) == 2:
    a, b = (statistics.median(c for _, c in rows[s]) for s in ("A", "B"))
    print(f"\nB / A CPU per response: {b / a:.3f}")
PY
if [ -n "${PERF:-}" ]; then
  perf record -g -o "$WORK/perf.data" -p "${PID[$PERF]}" -- sleep 4 >/dev/null 2>&1 &
  perfpid=$!
  sleep 0.2
  load "$PERF" >/dev/null
  wait "$perfpid" || true
  perf report -i "$WORK/perf.data" --no-children --sort dso,symbol -g none --stdio 2>/dev/null | grep -v '^#' | grep '%' | cut -c1-160 | head -45 || true
  echo
  [ -n "${PERF_DATA:-}" ] && cp "$WORK/perf.data" "$PERF_DATA"
  perf report -i "$WORK/perf.data" --no-children --sort dso -g none --stdio 2>/dev/null | grep -v '^#' | grep "%" | head -10 || true
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
