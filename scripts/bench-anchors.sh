#!/usr/bin/env bash
# Side-by-side run of Wharf with nginx and h2o through the shared anchors harness
# (ANCHORS, default ../shared/bench/anchors.sh): builds wharf in release mode, makes the
# anchors' fixture, publishes it into a scratch store, and lets the harness start
# `wharf edge` on that store beside nginx and h2o (one worker each, wrk -c64, A B A B).
#
#   scripts/bench-anchors.sh                      # index-br js-br wasm, 3 rounds of 10 s
#   CASES="index-br" REPEATS=1 scripts/bench-anchors.sh
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
"$ANCHORS"
