#!/usr/bin/env bash
# Side-by-side run of Wharf with nginx and h2o through the shared anchors harness
# (ANCHORS, default ../shared/bench/anchors.sh): builds wharf in release mode, makes the
# anchors' fixture, publishes it into a scratch store, and lets the harness start
# `wharf edge` on that store beside nginx and h2o (one worker each, wrk -c64, A B A B).
#
#   scripts/bench-anchors.sh                      # index-br js-br wasm, 3 rounds of 10 s
#   CASES="index-br" REPEATS=1 scripts/bench-anchors.sh
#   CLIENT_COST=1 scripts/bench-anchors.sh        # also: wrk's own CPU time per response, per server
#
# Every knob of the harness passes through (CASES, REPEATS, DURATION, WORKERS_SET,
# NGINX_TCP_NOPUSH, OUT…). Wharf runs with early hints off: wrk counts a 103 interim response
# as a response of its own, and neither anchor sends one.
set -euo pipefail
cd "$(dirname "$0")/.."
ANCHORS=${ANCHORS:-../shared/bench/anchors.sh}
[ -x "$ANCHORS" ] || { echo "no anchors harness at $ANCHORS (set ANCHORS=)" >&2; exit 1; }
HARNESS_DIR=$(cd "$(dirname "$ANCHORS")" && pwd)

swift build -c release --product wharf >&2
WHARF=$(pwd)/.build/release/wharf
WORK=$(mktemp -d /tmp/wharf-anchors.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"

"$HARNESS_DIR/make-fixture.sh" "$WORK/fixture" >&2
echo "publishing the fixture into a scratch store" >&2
"$WHARF" publish bench "$WORK/fixture" --store "$WORK/store" >/dev/null
printf 'edge:\n  early_hints: false\n' >"$WORK/wharf.yaml"

export FIXTURE="$WORK/fixture" TARGET_NAME=wharf
export TARGET_CMD="exec '$WHARF' edge --config '$WORK/wharf.yaml' --store '$WORK/store' --listen 127.0.0.1:\$PORT --admin-listen 127.0.0.1:0 --workers \$WORKERS"
export WORKERS_SET=${WORKERS_SET:-1}
export NGINX_TCP_NOPUSH=${NGINX_TCP_NOPUSH:-off}

if [ "${CLIENT_COST:-0}" != 1 ]; then
  "$ANCHORS"
  exit
fi

# CLIENT_COST=1: a wrk first in PATH runs the real one and appends the CPU time it used to its
# output; the harness keeps its run directory, and the table below divides that time by the
# responses wrk counted. When the client's CPU per response is the same whichever server answers,
# and the client saturates its core, requests/s is the client's limit, not the server's.
REAL_WRK=$(command -v wrk || true)
[ -n "$REAL_WRK" ] || { echo "CLIENT_COST=1 needs wrk installed first (run once without it)" >&2; exit 1; }
mkdir "$WORK/bin"
cat >"$WORK/bin/wrk" <<WRAP
#!/usr/bin/env bash
# The server's CPU ticks: every process holding the listening socket of the URL's port.
port=\$(printf '%s\\n' "\$@" | sed -n 's|^http://127.0.0.1:\\([0-9]*\\)/.*|\\1|p' | tail -1)
server_ticks() {
  local total=0 pid
  for pid in \$(ss -ltnpH "sport = :\$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    total=\$((total + \$(awk '{print \$14 + \$15}' /proc/\$pid/stat 2>/dev/null || echo 0)))
  done
  echo \$total
}
before=\$(server_ticks)
TIMEFORMAT='client CPU seconds: %U user %S sys'
time "$REAL_WRK" "\$@"
status=\$?
echo "server CPU seconds: \$(awk -v a="\$before" -v b="\$(server_ticks)" -v hz="\$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", (b - a) / hz}')"
exit \$status
WRAP
chmod 755 "$WORK/bin/wrk"
export PATH="$WORK/bin:$PATH" KEEP=1
"$ANCHORS" 2> >(tee "$WORK/anchors.log" >&2)
sleep 0.5   # let tee finish
RUN_DIR=$(sed -n 's/.*kept \(\/tmp\/bench-run\.[A-Za-z0-9]*\).*/\1/p' "$WORK/anchors.log" | tail -1)
[ -d "$RUN_DIR" ] || { echo "the harness did not report its run directory" >&2; exit 1; }
python3 - "$RUN_DIR" "$TARGET_NAME" <<'PY'
import glob, os, re, statistics, sys
run, target = sys.argv[1], sys.argv[2]
cells = {}
for path in glob.glob(os.path.join(run, "wrk-w*-*.txt")):
    m = re.match(r"wrk-w(\d+)-(.+)-(nginx|h2o|target)-(\d+)\.txt$", os.path.basename(path))
    text = open(path).read()
    n = re.search(r"(\d+) requests in", text)
    cpu = re.search(r"client CPU seconds: ([\d.]+) user ([\d.]+) sys", text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    server = re.search(r"server CPU seconds: ([\d.]+)", text)
    if not (m and n and cpu and rps and server) or int(n.group(1)) == 0:
        continue
    us = (float(cpu.group(1)) + float(cpu.group(2))) * 1e6 / int(n.group(1))
    server_us = float(server.group(1)) * 1e6 / int(n.group(1))
    name = target if m.group(3) == "target" else m.group(3)
    cells.setdefault((int(m.group(1)), m.group(2), name), []).append((us, float(rps.group(1)), server_us))
print("\n### CPU per response (medians over repeats)\n")
print("| workers | case | server | req/s | server CPU µs/response | wrk CPU µs/response | wrk core busy |")
print("|---:|---|---|---:|---:|---:|---:|")
for key in sorted(cells):
    us = statistics.median(c[0] for c in cells[key])
    rps = statistics.median(c[1] for c in cells[key])
    server_us = statistics.median(c[2] for c in cells[key])
    print(f"| {key[0]} | {key[1]} | {key[2]} | {rps:.0f} | {server_us:.2f} | {us:.2f} | {us * rps / 1e4:.0f}% |")
PY
rm -rf "$RUN_DIR"
