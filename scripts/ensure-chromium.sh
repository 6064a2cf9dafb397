#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright's own browser download does not work here).
# Install it with apt when it is missing and we may; otherwise say how.
set -euo pipefail
if [ -n "${TIMEBANK_CHROMIUM:-}" ] && [ -x "${TIMEBANK_CHROMIUM}" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
else
  echo "Chromium is missing: run 'sudo apt-get install chromium' (or set TIMEBANK_CHROMIUM) for the browser tests." >&2
  exit 1
fi
