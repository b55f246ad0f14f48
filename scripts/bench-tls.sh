#!/usr/bin/env bash
# HTTPS side by side: Wharf, nginx and h2o, one worker each, the same ECDSA P-256 certificate and
# the same small file, on loopback, interleaved rounds (A B C A B C …). Two measurements per server:
#   handshakes  `openssl s_time -new` for DURATION s: a new TLS 1.3 connection (full handshake,
#               no resumption) and one small GET each; handshakes/s and server CPU per handshake
#   keepalive   `h2load --h1 -c CONNS -t 1` for REQUESTS requests over keep-alive HTTPS
#               connections; requests/s and server CPU per response
# Server CPU: utime+stime of the processes holding the listening socket (/proc/PID/stat), before
# and after each run — the same method as scripts/bench-anchors.sh's CPU per response.
#
#   scripts/bench-tls.sh                   # 3 rounds, 10 s handshakes, 200000 keep-alive requests
#   ROUNDS=1 DURATION=5 REQUESTS=50000 scripts/bench-tls.sh
# Needs nginx, h2o and h2load (nghttp2-client); installs them if missing (Debian). Everything listens
# on 127.0.0.1:18443-18445; servers started here are stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
REQUESTS=${REQUESTS:-200000}
CONNS=${CONNS:-64}
export PATH="$PATH:/usr/sbin:/sbin"
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v h2o >/dev/null || missing+=(h2o)
command -v h2load >/dev/null || missing+=(nghttp2-client)
[ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2

swift build -c release --product wharf >&2
WHARF=$(pwd)/.build/release/wharf
WORK=$(mktemp -d /tmp/wharf-bench-tls.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
chmod 755 "$WORK"

# The fixture: one 2 KB text file (served identity: no Accept-Encoding is sent).
mkdir -p "$WORK/site"
head -c 1536 /dev/urandom | base64 -w 76 >"$WORK/site/small.txt"
"$WHARF" publish bench "$WORK/site" --store "$WORK/store" >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
chmod 644 "$WORK/key.pem"

cat >"$WORK/nginx.conf" <<NGX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type text/plain;
  keepalive_requests 10000000;
  client_body_temp_path $WORK/nginx-body;
  proxy_temp_path $WORK/nginx-proxy;
  fastcgi_temp_path $WORK/nginx-fastcgi;
  uwsgi_temp_path $WORK/nginx-uwsgi;
  scgi_temp_path $WORK/nginx-scgi;
  server {
    listen 127.0.0.1:18444 ssl;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets on;
    root $WORK/site;
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
hosts:
  default:
    paths:
      /:
        file.dir: $WORK/site
H2O
} >"$WORK/h2o.conf"
chmod -R a+rX "$WORK"

WHARF_EDGE_TLS_LISTEN=127.0.0.1:18443 WHARF_EDGE_TLS_CERTIFICATES="$WORK/cert.pem=$WORK/key.pem" WHARF_EDGE_EARLY_HINTS=false \
  setsid "$WHARF" edge --store "$WORK/store" --listen 127.0.0.1:18446 --admin-listen 127.0.0.1:18447 --workers 1 2>"$WORK/wharf.log" &
PIDS+=($!)
setsid nginx -p "$WORK/" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" -g 'daemon off;' >/dev/null 2>&1 &
PIDS+=($!)
setsid h2o -c "$WORK/h2o.conf" >"$WORK/h2o.log" 2>&1 &
PIDS+=($!)

declare -A PORT=([wharf]=18443 [nginx]=18444 [h2o]=18445)
for name in wharf nginx h2o; do
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 -k "https://127.0.0.1:${PORT[$name]}/small.txt" && break
    sleep 0.1
  done
  body=$(curl -s -k "https://127.0.0.1:${PORT[$name]}/small.txt" | sha256sum | cut -c1-16)
  [ "$body" = "$(sha256sum <"$WORK/site/small.txt" | cut -c1-16)" ] || { echo "$name does not serve the fixture" >&2; exit 1; }
done

server_ticks() {  # CPU ticks of every process listening on port $1
  local total=0 pid
  for pid in $(ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)
echo "| round | server | handshakes/s | server CPU µs/handshake | keep-alive req/s | server CPU µs/response |"
echo "|---|---|---|---|---|---|"
for round in $(seq "$ROUNDS"); do
  for name in wharf nginx h2o; do
    port=${PORT[$name]}
    before=$(server_ticks "$port")
    out=$(timeout $((DURATION + 30)) openssl s_time -connect "127.0.0.1:$port" -new -time "$DURATION" -www /small.txt 2>&1 || true)
    after=$(server_ticks "$port")
    conns=$(sed -n 's/^\([0-9]*\) connections in [0-9.]*s.*/\1/p' <<<"$out" | head -1)
    secs=$(sed -n 's/^[0-9]* connections in \([0-9.]*\)s.*/\1/p' <<<"$out" | head -1)
    hs=$(awk -v c="${conns:-0}" -v s="${secs:-1}" 'BEGIN{printf "%.0f", c / s}')
    hs_cpu=$(awk -v a="$before" -v b="$after" -v hz="$HZ" -v c="${conns:-0}" 'BEGIN{printf "%.0f", c ? (b - a) / hz * 1e6 / c : 0}')
    before=$(server_ticks "$port")
    load=$(timeout 300 h2load --h1 -n "$REQUESTS" -c "$CONNS" -t 1 "https://127.0.0.1:$port/small.txt" 2>&1 || true)
    after=$(server_ticks "$port")
    ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$load")
    rps=$(sed -n 's/^finished in [0-9.]*m\?s, \([0-9.]*\) req\/s.*/\1/p' <<<"$load")
    ka_cpu=$(awk -v a="$before" -v b="$after" -v hz="$HZ" -v n="${ok:-0}" 'BEGIN{printf "%.1f", n ? (b - a) / hz * 1e6 / n : 0}')
    echo "| $round | $name | $hs | $hs_cpu | ${rps%.*} (${ok:-0} ok) | $ka_cpu |"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
