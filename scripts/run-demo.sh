#!/usr/bin/env bash
# `make run`: publish the bundled demo app into STORE and serve it on LISTEN (edge + scheduler).
set -euo pipefail
store="${1:-.wharf}"
listen="${2:-127.0.0.1:8080}"
bin="$(swift build -c release --show-bin-path)/wharf"
"$bin" publish demo demo/site --store "$store" --version "demo-$(git rev-parse --short HEAD 2>/dev/null || echo local)" --message "make run"
echo "Serving the demo app at http://$listen/  (admin token: \$WHARF_ADMIN_TOKEN or $store/admin-token)"
exec "$bin" serve --store "$store" --listen "$listen"
