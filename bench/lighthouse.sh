#!/usr/bin/env bash
# Lighthouse (mobile) on the volunteer home (/app/) and the merchant till (/merchant/), logged in.
#
# Starts the app with the demo data in a temporary instance folder, logs in with curl (CSRF token from the
# login form) and hands the session cookie to Lighthouse. Prints performance, accessibility and best-practices
# scores (targets: >= 90 each). Needs Node.js/npm for Lighthouse only; the app itself never needs Node.
#
#   bench/lighthouse.sh            # PORT=5077 CHROME_PATH=/usr/bin/chromium by default
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PORT=${PORT:-5077}
BASE="http://127.0.0.1:${PORT}"
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
LH_DIR="$ROOT/bench/.lighthouse"
LH="$LH_DIR/node_modules/.bin/lighthouse"
OUT="$ROOT/bench/out"
mkdir -p "$OUT"

if [ ! -x "$LH" ]; then
  echo "installing lighthouse into bench/.lighthouse ..."
  npm install --silent --no-audit --no-fund --prefix "$LH_DIR" lighthouse >/dev/null
fi

WORK=$(mktemp -d)
export TIMEBANK_INSTANCE_PATH="$WORK/instance"
unset TIMEBANK_DATABASE_URL TIMEBANK_REDIS_URL
GUNICORN_PID=""
cleanup() {
  if [ -n "$GUNICORN_PID" ]; then kill "$GUNICORN_PID" 2>/dev/null || true; wait "$GUNICORN_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

.venv/bin/timebank db upgrade heads >/dev/null 2>&1
.venv/bin/timebank demo >/dev/null
.venv/bin/gunicorn --bind "127.0.0.1:${PORT}" --workers 2 --log-level warning timebank.wsgi:app \
  >"$OUT/lighthouse-server.log" 2>&1 &
GUNICORN_PID=$!
for _ in $(seq 1 50); do
  curl -fsS "$BASE/app/login" >/dev/null 2>&1 && break
  sleep 0.2
done

# login AREA PHONE -> prints "name=value" of the session cookie
login() {
  local area=$1 phone=$2 jar="$WORK/$1.jar" token
  token=$(curl -fsS -c "$jar" -b "$jar" "$BASE/$area/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
  curl -fsS -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" \
    --data-urlencode "phone=$phone" --data-urlencode "password=demo-pass-2024" "$BASE/$area/login"
  awk '$6 ~ /session/ {print $6 "=" $7}' "$jar" | tail -1
}

run() {
  local name=$1 url=$2 cookie=$3
  "$LH" "$url" --quiet --form-factor=mobile \
    --only-categories=performance,accessibility,best-practices \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" \
    --extra-headers="{\"Cookie\": \"$cookie\"}" \
    --output=json --output-path="$OUT/lighthouse-$name.json" >/dev/null 2>"$OUT/lighthouse-$name.log"
  python3 - "$OUT/lighthouse-$name.json" "$name" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
if report.get("finalDisplayedUrl", report.get("finalUrl", "")).rstrip("/").endswith("/login"):
    sys.exit(f"{sys.argv[2]}: Lighthouse was sent to the login page; the cookie did not work")
scores = {k: round(v["score"] * 100) for k, v in report["categories"].items()}
print(f"{sys.argv[2]:<16} performance {scores['performance']:>3}  accessibility {scores['accessibility']:>3}  "
      f"best-practices {scores['best-practices']:>3}  ({report['finalDisplayedUrl']})")
PY
}

VOLUNTEER=$(login app 13900000000)
CLERK=$(login merchant 13800000007)
run volunteer-home "$BASE/app/" "$VOLUNTEER"
run merchant-till "$BASE/merchant/" "$CLERK"
