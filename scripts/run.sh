#!/usr/bin/env bash
# The README's run command: the backend on SQLite plus the director's switcher. The
# switcher opens its window where there is a display and runs headless where there is not.
# Ctrl+C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run

port=${RETURNFEED_PORT:-8000}
# shellcheck disable=SC2086  # ARGS is a list of flags by design
.venv/bin/returnfeed-cloud --port "$port" ${CLOUD_ARGS:-} &
cloud=$!
stop() {
  kill "$cloud" 2>/dev/null || true
  wait "$cloud" 2>/dev/null || true
}
trap stop EXIT INT TERM

for _ in $(seq 1 100); do
  if .venv/bin/python -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:$port/api/health', timeout=1).status_code != 200)" 2>/dev/null; then
    break
  fi
  kill -0 "$cloud" 2>/dev/null || { echo "run: the backend did not start" >&2; exit 1; }
  sleep 0.2
done

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || [ "$(uname)" = Darwin ]; then
  # shellcheck disable=SC2086
  .venv/bin/returnfeed ${APP_ARGS:-}
else
  echo "run: no display found, so the switcher runs headless (engine + control API, test sources)."
  # shellcheck disable=SC2086
  .venv/bin/returnfeed --headless ${APP_ARGS:-}
fi
