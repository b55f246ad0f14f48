#!/usr/bin/env bash
# `make run`: publish the bundled demo app into STORE and serve it on LISTEN (edge + scheduler).
set -euo pipefail
store="${1:-.wharf}"
listen="${2:-127.0.0.1:8080}"
bin="$(swift build -c release --show-bin-path)/wharf"
"$bin" publish demo demo/site --store "$store" --version "demo-$(git rev-parse --short HEAD 2>/dev/null || echo local)" --message "make run"
# HTTPS beside HTTP (WHARF_EDGE_TLS_ENABLED=false turns it off): with no certificate configured the
# edge creates a local CA and a localhost certificate under $store/tls/ once and prints how to trust it.
export WHARF_EDGE_TLS_ENABLED="${WHARF_EDGE_TLS_ENABLED:-true}"
tls_listen="${WHARF_EDGE_TLS_LISTEN:-127.0.0.1:8443}"
tls_url=""
if [ "$WHARF_EDGE_TLS_ENABLED" = "true" ]; then tls_url=" and https://localhost:${tls_listen##*:}/"; fi
# The access log is off by default (benchmarks) and on here: combined format, SIGUSR1 reopens it.
export WHARF_EDGE_ACCESS_LOG_PATH="${WHARF_EDGE_ACCESS_LOG_PATH:-$store/access.log}"
echo "Access log: $WHARF_EDGE_ACCESS_LOG_PATH (rotate: mv it, then kill -USR1 the wharf process)"
echo "Serving the demo app at http://$listen/$tls_url  (admin token: \$WHARF_ADMIN_TOKEN or $store/admin-token; CA for HTTPS: $store/tls/ca.pem)"
exec "$bin" serve --store "$store" --listen "$listen"
