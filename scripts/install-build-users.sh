#!/usr/bin/env bash
# Creates the unprivileged users builds run as: wharf-build, and wharf-build-1 ... wharf-build-N (one
# uid per build slot). No home, no login shell. Needs root; without it, says so and changes nothing
# (Wharf then runs builds as its own user, and says that at start).
set -euo pipefail
base="${1:-wharf-build}"
slots="${2:-10}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-build-users: not root; builds will run as the invoking user (see README, build sandbox)" >&2
  exit 0
fi
for name in "$base" $(seq -f "$base-%g" 1 "$slots"); do
  id -u "$name" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$name"
done
