#!/usr/bin/env bash
# HTTP/2 over TLS side by side: Wharf, nginx and h2o, one worker each, the same ECDSA P-256
# certificate and the shared anchors fixture (../shared/bench/make-fixture.sh: a 2 KB index, a
# 300 KB JS bundle (66 KB as br), a 5 MiB wasm, precompressed .br/.gz beside each text file,
# served precompressed by nginx's brotli_static/gzip_static and h2o's file.send-compressed), on
# loopback, interleaved rounds (wharf nginx h2o, wharf nginx h2o, …). The client is h2load
# (nghttp2), which costs far less per response than wrk, so here the server is the limit.
#
# Per case, server and round: requests/s (h2load), server CPU µs per response (utime+stime of the
# processes holding the listening socket, from /proc, before and after), and p50/p99 latency of
# every request from h2load's per-request log. Printed: every round, then the medians with the
# spread (min–max) and the ratio Wharf / better anchor.
#
#   scripts/bench-h2.sh                                      # 3 rounds of index-br js-br wasm, -c16 -m32
#   ROUNDS=1 CASES="index-br" scripts/bench-h2.sh
# Knobs: ROUNDS, CASES, CONNS (16), STREAMS (32), N_INDEX (200000), N_JS (40000), N_WASM (1500),
# SERVERS ("wharf nginx h2o"; loadtests/run without --compare passes "wharf").
# Needs nginx (+ libnginx-mod-http-brotli-static), h2o and h2load (nghttp2-client); installs them if
# missing (Debian). Listens on 127.0.0.1:18443-18447; servers started here are stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
CASES=${CASES:-"index-br js-br wasm"}
CONNS=${CONNS:-16}
STREAMS=${STREAMS:-32}
N_INDEX=${N_INDEX:-200000}
N_JS=${N_JS:-40000}
N_WASM=${N_WASM:-1500}
SERVERS=${SERVERS:-"wharf nginx h2o"}
FIXTURE_SCRIPT=${FIXTURE_SCRIPT:-../shared/bench/make-fixture.sh}
export PATH="$PATH:/usr/sbin:/sbin"
missing=()
command -v nginx >/dev/null || missing+=(nginx)
[ -f /usr/lib/nginx/modules/ngx_http_brotli_static_module.so ] || missing+=(libnginx-mod-http-brotli-static)
command -v h2o >/dev/null || missing+=(h2o)
command -v h2load >/dev/null || missing+=(nghttp2-client)
command -v brotli >/dev/null || missing+=(brotli)
[ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
[ -x "$FIXTURE_SCRIPT" ] || { echo "no fixture script at $FIXTURE_SCRIPT (set FIXTURE_SCRIPT=)" >&2; exit 1; }

swift build -c release --product wharf >&2
WHARF=$(pwd)/.build/release/wharf
WORK=$(mktemp -d /tmp/wharf-bench-h2.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
chmod 755 "$WORK"

"$FIXTURE_SCRIPT" "$WORK/fixture" >&2
FIXTURE="$WORK/fixture"
asset() { (cd "$FIXTURE" && ls assets/$1 | head -1); }
JS=$(asset 'main.*.js'); WASM=$(asset 'app.*.wasm')
"$WHARF" publish bench "$FIXTURE" --store "$WORK/store" >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
chmod 644 "$WORK/key.pem"

cat >"$WORK/nginx.conf" <<NGX
load_module /usr/lib/nginx/modules/ngx_http_brotli_static_module.so;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  keepalive_requests 10000000;
  http2_max_requests 10000000;
  open_file_cache max=1000 inactive=60s;
  gzip_static on;
  brotli_static on;
  client_body_temp_path $WORK/nginx-body;
  proxy_temp_path $WORK/nginx-proxy;
  fastcgi_temp_path $WORK/nginx-fastcgi;
  uwsgi_temp_path $WORK/nginx-uwsgi;
  scgi_temp_path $WORK/nginx-scgi;
  server {
    listen 127.0.0.1:18444 ssl http2;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $FIXTURE;
  }
}
NGX
{
  [ "$(id -u)" = 0 ] && echo "user: nobody"
  cat <<H2O
error-log: $WORK/h2o-error.log
num-threads: 1
max-connections: 10240
listen:
  host: 127.0.0.1
  port: 18445
  ssl:
    certificate-file: $WORK/cert.pem
    key-file: $WORK/key.pem
    minimum-version: TLSv1.2
file.send-compressed: ON
file.mime.addtypes:
  application/wasm: .wasm
hosts:
  default:
    paths:
      /:
        file.dir: $FIXTURE
H2O
} >"$WORK/h2o.conf"
chmod -R a+rX "$WORK"

# Early hints off: neither anchor sends a 103 here.
WHARF_EDGE_TLS_LISTEN=127.0.0.1:18443 WHARF_EDGE_TLS_CERTIFICATES="$WORK/cert.pem=$WORK/key.pem" WHARF_EDGE_EARLY_HINTS=false \
  setsid "$WHARF" edge --store "$WORK/store" --listen 127.0.0.1:18446 --admin-listen 127.0.0.1:18447 --workers 1 2>"$WORK/wharf.log" &
PIDS+=($!)
setsid nginx -p "$WORK/" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" -g 'daemon off;' >/dev/null 2>&1 &
PIDS+=($!)
setsid h2o -c "$WORK/h2o.conf" >"$WORK/h2o.log" 2>&1 &
PIDS+=($!)

declare -A PORT=([wharf]=18443 [nginx]=18444 [h2o]=18445)
case_def() {  # case -> "path|accept-encoding|file whose bytes must come back|requests"
  case $1 in
    index-br) echo "/index.html|br, gzip|index.html.br|$N_INDEX" ;;
    js-br)    echo "/$JS|br, gzip|$JS.br|$N_JS" ;;
    wasm)     echo "/$WASM|br, gzip|$WASM|$N_WASM" ;;
    *) echo "unknown case $1" >&2; exit 1 ;;
  esac
}
for name in $SERVERS; do
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 -k "https://127.0.0.1:${PORT[$name]}/index.html" && break
    sleep 0.1
  done
  for c in $CASES; do
    IFS='|' read -r path enc file _ <<<"$(case_def "$c")"
    got=$(curl -s -k --http2 -H "accept-encoding: $enc" -w '%{http_version}' -D "$WORK/check.head" -o "$WORK/check" "https://127.0.0.1:${PORT[$name]}$path")
    [ "$got" = 2 ] || { echo "$name: $c not over HTTP/2 ($got)" >&2; exit 1; }
    # Each server compresses with its own settings (Wharf at publish): compare what they decode to.
    decoded="$WORK/check"
    coding=$(sed -n 's/^content-encoding: *\([a-z]*\).*/\1/Ip' "$WORK/check.head" | tr -d '\r')
    case "$coding" in
      br) brotli -dc "$WORK/check" >"$WORK/check.plain"; decoded="$WORK/check.plain" ;;
      gzip) gzip -dc "$WORK/check" >"$WORK/check.plain"; decoded="$WORK/check.plain" ;;
    esac
    if [ "${file%.br}" != "$file" ] && [ "$coding" != br ]; then echo "$name: $c not served as br" >&2; exit 1; fi
    echo "$name $c: ${coding:-identity}, $(stat -c %s "$WORK/check") bytes" >&2
    cmp -s "$decoded" "$FIXTURE/${file%.br}" || { echo "$name: $c body differs from ${file%.br}" >&2; exit 1; }
  done
done

server_ticks() {
  local total=0 pid
  for pid in $(ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
echo "| round | case | server | req/s | server CPU µs/response | p50 ms | p99 ms |"
echo "|---|---|---|---:|---:|---:|---:|"
for round in $(seq "$ROUNDS"); do
  for c in $CASES; do
    IFS='|' read -r path enc _ n <<<"$(case_def "$c")"
    for name in $SERVERS; do
      port=${PORT[$name]}
      log="$WORK/h2load-$name-$c-$round.log"
      before=$(server_ticks "$port")
      out=$(timeout 600 h2load -n "$n" -c "$CONNS" -m "$STREAMS" -t 1 -H "accept-encoding: $enc" --log-file="$log" \
            "https://127.0.0.1:$port$path" 2>&1 || true)
      after=$(server_ticks "$port")
      ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$out")
      rps=$(sed -n 's/^finished in [0-9.]*m\?s, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
      cpu=$(awk -v a="$before" -v b="$after" -v hz="$HZ" -v n="${ok:-0}" 'BEGIN{printf "%.2f", n ? (b - a) / hz * 1e6 / n : 0}')
      read -r p50 p99 < <(python3 -c '
import sys
d = sorted(int(l.split()[2]) for l in open(sys.argv[1]) if len(l.split()) >= 3)
q = lambda p: d[min(len(d) - 1, int(p * len(d)))] / 1000 if d else 0
print(f"{q(0.5):.2f} {q(0.99):.2f}")' "$log")
      rm -f "$log"
      echo "| $round | $c | $name | ${rps%.*} (${ok:-0} ok) | $cpu | $p50 | $p99 |"
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$name" "${rps:-0}" "$cpu" "$p50" "$p99" >>"$RESULTS"
    done
  done
done
python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    c, name, rps, cpu, p50, p99 = line.split("\t")
    rows.setdefault((c, name), []).append((float(rps), float(cpu), float(p50), float(p99)))
print("\n### Medians (spread min–max) and Wharf / better anchor\n")
print("| case | server | req/s | server CPU µs/response | p50 ms | p99 ms |")
print("|---|---|---:|---:|---:|---:|")
med = {}
for (c, name), values in sorted(rows.items()):
    cols = list(zip(*values))
    med[(c, name)] = [statistics.median(col) for col in cols]
    cells = [f"{statistics.median(col):.{d}f} ({min(col):.{d}f}–{max(col):.{d}f})" for col, d in zip(cols, (0, 2, 2, 2))]
    print(f"| {c} | {name} | " + " | ".join(cells) + " |")
print("\n| case | req/s ratio (≥ is better) | CPU/response ratio (≤ 1 is better) | p99 ratio (≤ 1 is better) |")
print("|---|---:|---:|---:|")
for c in sorted({c for c, _ in med}):
    w = med.get((c, "wharf")); a = [med[(c, n)] for n in ("nginx", "h2o") if (c, n) in med]
    if not w or not a:
        continue
    best_rps = max(x[0] for x in a); best_cpu = min(x[1] for x in a); best_p99 = min(x[3] for x in a)
    print(f"| {c} | {w[0] / best_rps:.2f} | {w[1] / best_cpu:.2f} | {w[3] / best_p99:.2f} |")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
