#!/usr/bin/env bash
# Lighthouse scores of the timeline and an event page of the seeded story, served
# as in production: DEBUG off, gunicorn, collectstatic's compressed and hashed
# files, the embedded Redis as cache. Prints a Markdown table for bench/README.md.
#
#   bench/lighthouse.sh            # Lighthouse is installed in $LH_DIR (/tmp/lh) if missing
#
# Needs Debian's chromium and npm. Everything it builds is under var/lighthouse.
set -euo pipefail
cd "$(dirname "$0")/.."

LH_DIR=${LH_DIR:-/tmp/lh}
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
export DEBUG=0 SECRET_KEY=lighthouse-only-secret-key SECURE_SSL_REDIRECT=0 \
  ALLOWED_HOSTS=127.0.0.1 TRACKER_VAR_DIR=var/lighthouse LOG_LEVEL=WARNING
PAGES=(/stories/meta-scale-ai/ /stories/meta-scale-ai/events/closing/ /stories/meta-scale-ai/changes/)
PY=.venv/bin/python

if [ ! -x "$LH_DIR/node_modules/.bin/lighthouse" ]; then
  mkdir -p "$LH_DIR"
  (cd "$LH_DIR" && npm install --no-save --no-audit --no-fund lighthouse >/dev/null)
fi

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

rm -rf var/lighthouse && mkdir -p var/lighthouse
$PY -m config.embedded_redis >/dev/null & pids+=($!)
$PY manage.py migrate --noinput -v0
$PY manage.py importstory fixtures/meta-scale-ai.json >/dev/null
$PY manage.py collectstatic --noinput -v0
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.venv/bin/gunicorn config.wsgi --bind "127.0.0.1:$PORT" --workers 2 --threads 2 \
  --log-level warning & pids+=($!)
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT${PAGES[0]}" && break; sleep 0.2; done

echo "| page | performance | accessibility | best practices | SEO |"
echo "| --- | ---: | ---: | ---: | ---: |"
for page in "${PAGES[@]}"; do
  report=var/lighthouse/report-$(echo "$page" | tr -c 'a-z0-9\n' '-').json
  # A loaded machine now and then loses the trace (NO_NAVSTART): try again.
  for attempt in 1 2 3; do
    "$LH_DIR/node_modules/.bin/lighthouse" "http://127.0.0.1:$PORT$page" --quiet --output=json \
      --output-path="$report" --chrome-flags="--headless --no-sandbox --disable-gpu \
--disable-background-networking --disable-component-update --disable-sync --no-first-run" \
      && break
    [ "$attempt" = 3 ] && exit 1
  done
  $PY - "$page" "$report" <<'PYTHON'
import json, sys
page, report = sys.argv[1], json.load(open(sys.argv[2]))
scores = [round(report["categories"][c]["score"] * 100)
          for c in ("performance", "accessibility", "best-practices", "seo")]
print(f"| `{page}` | " + " | ".join(map(str, scores)) + " |")
for audit in report["audits"].values():
    if audit.get("scoreDisplayMode") in ("binary", "numeric") and (audit["score"] or 0) < 1:
        print(f"|   {audit['id']}: {audit.get('displayValue') or audit['score']} | | | | |",
              file=sys.stderr)
PYTHON
done
echo
echo "Lighthouse $("$LH_DIR/node_modules/.bin/lighthouse" --version), $($CHROME_PATH --version)"
