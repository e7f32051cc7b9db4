#!/usr/bin/env bash
# Install the Debian packages giftflow's tests and benchmarks need, only when missing.
# Idempotent; never starts the system PostgreSQL (tests start their own clusters).
set -euo pipefail

missing=()
# initdb and pgbench both ship in Debian's postgresql-NN server package
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v wrk >/dev/null || missing+=(wrk)  # HTTP load for make bench
test -x /usr/bin/chromium || missing+=(chromium)  # the console's browser tests (Playwright)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "warning: missing Debian packages: ${missing[*]}" >&2
  echo "warning: not root and no sudo: install them by hand (apt-get install ${missing[*]})." >&2
  exit 0
fi

echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
# Debian starts a default cluster on install; giftflow never uses it.
if command -v pg_lsclusters >/dev/null; then
  pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
    "${SUDO[@]}" pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
  done
fi
# Likewise the packaged redis service; tests start their own servers.
"${SUDO[@]}" service redis-server stop >/dev/null 2>&1 || true
