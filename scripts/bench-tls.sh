#!/usr/bin/env bash
# HTTPS side by side: Wharf, nginx and h2o, one worker each, the same ECDSA P-256 certificate and
# the same small file, on loopback, interleaved rounds (the order rotates each round). Two
# measurements per server and round:
#   handshakes  `h2load --h1 -H 'Connection: close'`: HANDSHAKES new connections from HS_CLIENTS
#               concurrent clients, each a full TLS 1.3 handshake (h2load never resumes a session),
#               SNI `localhost`, key share X25519, cipher suite TLS13_CIPHER only (so every server
#               picks the same one), then one small GET and a close; handshakes/s and server CPU
#               per handshake
#   keepalive   `h2load --h1 -c CONNS` for REQUESTS requests over keep-alive HTTPS connections
#               (the same single cipher suite); requests/s and server CPU per response
# Server CPU: utime+stime of the processes holding the listening socket (/proc/PID/stat), before
# and after each run — the same method as scripts/bench-anchors.sh's CPU per response. Before the
# rounds, `openssl s_client` shows what each server negotiates (version, cipher, key share,
# signature, session tickets per handshake): the script stops if they differ in anything but tickets.
#
#   scripts/bench-tls.sh                        # 5 rounds, 20000 handshakes, 200000 keep-alive requests
#   ROUNDS=3 HANDSHAKES=5000 REQUESTS=50000 scripts/bench-tls.sh
#   SERVERS="wharf wharf-b" WHARF_B=/path/to/other/wharf scripts/bench-tls.sh   # A/B of two builds
#   WHARF=/path/to/wharf scripts/bench-tls.sh   # a given binary instead of building one
#   REFERENCE=nginx scripts/bench-tls.sh        # the per-round ratios against nginx instead of h2o
# Needs nginx, h2o and h2load (nghttp2-client); installs them if missing (Debian). Everything listens
# on 127.0.0.1:18443-18449; servers started here are stopped by PID on exit. Prints one row per run,
# then per server the median and the range (min–max) over the rounds, then each server's CPU over
# the reference server's in the same round (robust to load that drifts during the run), then the commands.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
HANDSHAKES=${HANDSHAKES:-20000}
HS_CLIENTS=${HS_CLIENTS:-8}
REQUESTS=${REQUESTS:-200000}
CONNS=${CONNS:-64}
TLS13_CIPHER=${TLS13_CIPHER:-TLS_AES_128_GCM_SHA256}
SERVERS=${SERVERS:-wharf nginx h2o}
export PATH="$PATH:/usr/sbin:/sbin"
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v h2o >/dev/null || missing+=(h2o)
command -v h2load >/dev/null || missing+=(nghttp2-client)
[ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2

if [ -z "${WHARF:-}" ]; then
  swift build -c release --product wharf >&2
  WHARF=$(pwd)/.build/release/wharf
fi
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

declare -A PORT=([wharf]=18443 [nginx]=18444 [h2o]=18445 [wharf-b]=18448)
start_wharf() {  # $1 binary, $2 TLS port, $3 plain port, $4 admin port, $5 log
  WHARF_EDGE_TLS_LISTEN=127.0.0.1:$2 WHARF_EDGE_TLS_CERTIFICATES="$WORK/cert.pem=$WORK/key.pem" WHARF_EDGE_EARLY_HINTS=false \
    setsid "$1" edge --store "$WORK/store" --listen "127.0.0.1:$3" --admin-listen "127.0.0.1:$4" --workers 1 2>"$5" &
  PIDS+=($!)
}
for name in $SERVERS; do
  case $name in
    wharf) start_wharf "$WHARF" 18443 18446 18447 "$WORK/wharf.log" ;;
    wharf-b) start_wharf "${WHARF_B:?set WHARF_B to the second wharf binary}" 18448 18449 18450 "$WORK/wharf-b.log" ;;
    nginx)
      setsid nginx -p "$WORK/" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" -g 'daemon off;' >/dev/null 2>&1 &
      PIDS+=($!) ;;
    h2o)
      setsid h2o -c "$WORK/h2o.conf" >"$WORK/h2o.log" 2>&1 &
      PIDS+=($!) ;;
    *) echo "unknown server $name (wharf, wharf-b, nginx, h2o)" >&2; exit 1 ;;
  esac
done

# What each one negotiates, from a client offering the same as h2load below.
echo "What each server negotiates (openssl s_client -servername localhost -groups X25519:P-256 -ciphersuites $TLS13_CIPHER, one GET):"
echo
echo "| server | protocol | cipher | key share | signature | session tickets per handshake |"
echo "|---|---|---|---|---|---|"
reference=""
for name in $SERVERS; do
  port=${PORT[$name]}
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 -k "https://127.0.0.1:$port/small.txt" && break
    sleep 0.1
  done
  body=$(curl -s -k "https://127.0.0.1:$port/small.txt" | sha256sum | cut -c1-16)
  [ "$body" = "$(sha256sum <"$WORK/site/small.txt" | cut -c1-16)" ] || { echo "$name does not serve the fixture" >&2; exit 1; }
  hello=$(printf 'GET /small.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
    timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost -groups X25519:P-256 \
      -ciphersuites "$TLS13_CIPHER" -ign_eof -msg 2>&1 || true)
  protocol=$(sed -n 's/^ *Protocol *: *//p' <<<"$hello" | head -1)
  cipher=$(sed -n 's/^ *Cipher *: *//p' <<<"$hello" | head -1)
  share=$(sed -n 's/^Server Temp Key: *//p' <<<"$hello" | head -1)
  signature=$(sed -n 's/^Peer signature type: *//p' <<<"$hello" | head -1)
  tickets=$(grep -c 'NewSessionTicket' <<<"$hello" || true)
  echo "| $name | $protocol | $cipher | $share | $signature | $tickets |"
  line="$protocol $cipher $share $signature"
  [ -z "$reference" ] && reference=$line
  [ "$line" = "$reference" ] || { echo "$name negotiates something else: $line, not $reference" >&2; exit 1; }
done
echo

server_ticks() {  # CPU ticks of every process listening on port $1
  local total=0 pid
  for pid in $(ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)
HS_CMD="h2load --h1 -n $HANDSHAKES -c $HS_CLIENTS -t 1 -H 'Connection: close' --groups X25519 --tls13-ciphers $TLS13_CIPHER --connect-to 127.0.0.1:PORT https://localhost:PORT/small.txt"
KA_CMD="h2load --h1 -n $REQUESTS -c $CONNS -t 1 --tls13-ciphers $TLS13_CIPHER https://127.0.0.1:PORT/small.txt"
RESULTS="$WORK/results"
: >"$RESULTS"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| round | server | handshakes/s | server CPU µs/handshake | keep-alive req/s | server CPU µs/response |"
echo "|---|---|---|---|---|---|"
read -ra order <<<"$SERVERS"
for round in $(seq "$ROUNDS"); do
  for name in "${order[@]}"; do
    port=${PORT[$name]}
    before=$(server_ticks "$port")
    load=$(timeout 600 h2load --h1 -n "$HANDSHAKES" -c "$HS_CLIENTS" -t 1 -H 'Connection: close' --groups X25519 \
      --tls13-ciphers "$TLS13_CIPHER" --connect-to "127.0.0.1:$port" "https://localhost:$port/small.txt" 2>&1 || true)
    after=$(server_ticks "$port")
    conns=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$load")
    hs=$(sed -n 's/^finished in [0-9.]*m\?s, \([0-9.]*\) req\/s.*/\1/p' <<<"$load")
    hs_cpu=$(awk -v a="$before" -v b="$after" -v hz="$HZ" -v c="${conns:-0}" 'BEGIN{printf "%.0f", c ? (b - a) / hz * 1e6 / c : 0}')
    before=$(server_ticks "$port")
    load=$(timeout 600 h2load --h1 -n "$REQUESTS" -c "$CONNS" -t 1 --tls13-ciphers "$TLS13_CIPHER" "https://127.0.0.1:$port/small.txt" 2>&1 || true)
    after=$(server_ticks "$port")
    ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$load")
    rps=$(sed -n 's/^finished in [0-9.]*m\?s, \([0-9.]*\) req\/s.*/\1/p' <<<"$load")
    ka_cpu=$(awk -v a="$before" -v b="$after" -v hz="$HZ" -v n="${ok:-0}" 'BEGIN{printf "%.1f", n ? (b - a) / hz * 1e6 / n : 0}')
    echo "| $round | $name | ${hs%.*} (${conns:-0} ok) | $hs_cpu | ${rps%.*} (${ok:-0} ok) | $ka_cpu |"
    echo "$name ${hs%.*} $hs_cpu ${rps%.*} $ka_cpu $round" >>"$RESULTS"
  done
  order=("${order[@]:1}" "${order[0]}")  # the next round starts with the next server
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "Median (min–max) over $ROUNDS rounds:"
echo
echo "| server | handshakes/s | server CPU µs/handshake | keep-alive req/s | server CPU µs/response |"
echo "|---|---|---|---|---|"
summary() {  # median (min–max) of column $2 for server $1
  awk -v s="$1" -v c="$2" '$1 == s { print $c }' "$RESULTS" | sort -g |
    awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%g (%g–%g)", m, v[1], v[NR] }'
}
for name in $SERVERS; do
  echo "| $name | $(summary "$name" 2) | $(summary "$name" 3) | $(summary "$name" 4) | $(summary "$name" 5) |"
done
# Load from other work drifts during a run; a server's CPU divided by the reference's in the same
# round (measured seconds apart) cancels most of it.
REFERENCE=${REFERENCE:-h2o}
if [[ " $SERVERS " == *" $REFERENCE "* ]]; then
  echo
  echo "Server CPU relative to $REFERENCE in the same round, median (min–max):"
  echo
  echo "| server | CPU per handshake ÷ $REFERENCE's | CPU per response ÷ $REFERENCE's |"
  echo "|---|---|---|"
  ratio() {  # median (min–max) over rounds of server $1's column $2 over the reference's
    awk -v s="$1" -v r="$REFERENCE" -v c="$2" '$1 == r { ref[$6] = $c } $1 == s { own[$6] = $c }
      END { for (k in own) if (ref[k] > 0) print own[k] / ref[k] }' "$RESULTS" | sort -g |
      awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f (%.2f–%.2f)", m, v[1], v[NR] }'
  }
  for name in $SERVERS; do
    [ "$name" = "$REFERENCE" ] || echo "| $name | $(ratio "$name" 3) | $(ratio "$name" 5) |"
  done
fi
echo
echo "Commands (PORT: wharf 18443, nginx 18444, h2o 18445, wharf-b 18448):"
echo "  handshakes: $HS_CMD"
echo "  keep-alive: $KA_CMD"
