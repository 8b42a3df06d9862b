#!/usr/bin/env bash
# The README's run command: the backend on SQLite, an NDI test sender, and the director's
# switcher signed in as the demo director and live, printing the phone and viewer links.
# The switcher opens its window where there is a display and runs headless where there is
# not. Ctrl+C stops everything, in order: the switcher (it leaves the relay and closes its
# stream), the NDI sender, then the backend (its database closed cleanly).
#
# Environment: RETURNFEED_PORT (8000), RETURNFEED_SRT_PORT (8890), RETURNFEED_DATA_DIR
# (database, JWT secret and, without a keyring, the demo login), RETURNFEED_NDI_TEST=0 (no
# test sender), RETURNFEED_NDI_NAME (its NDI name), RETURNFEED_SKIP_SETUP=1 (no setup.sh),
# CLOUD_ARGS and APP_ARGS (extra flags; --source or --test-sources in APP_ARGS replaces
# the default sources and the test sender).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${RETURNFEED_SKIP_SETUP:-0}" = 1 ] || scripts/setup.sh run

# Each child in its own process group: a Ctrl+C reaches this script only, which then stops
# the children in order (a backend stopped before the switcher would strand its relay).
set -m
port=${RETURNFEED_PORT:-8000}
cloud_url="http://127.0.0.1:$port"
ndi_name=${RETURNFEED_NDI_NAME:-ReturnFeed Test}
app="" ndi="" cloud=""

stop_one() {  # pid: TERM, then KILL after 15 s
  local pid=$1 n=0
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && [ $n -lt 150 ]; do sleep 0.1; n=$((n + 1)); done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop() {
  trap - EXIT INT TERM
  set +m  # no job-status lines ("Terminated") for the children stopped below
  echo "run: stopping"
  stop_one "$app"
  stop_one "$ndi"
  stop_one "$cloud"
  echo "run: stopped"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Warnings only (RETURNFEED_LOG_LEVEL=info for every request): the links printed below
# would otherwise scroll away under the app's participant polls.
# shellcheck disable=SC2086  # CLOUD_ARGS is a list of flags by design
RETURNFEED_LOG_LEVEL=${RETURNFEED_LOG_LEVEL:-warning} \
  .venv/bin/returnfeed-cloud --port "$port" ${CLOUD_ARGS:-} &
cloud=$!

sources=()
case " ${APP_ARGS:-} " in
  *" --source"* | *" --test-sources"*) ;;  # the caller chose the sources
  *)
    if [ "${RETURNFEED_NDI_TEST:-1}" != 0 ]; then
      .venv/bin/returnfeed ndi-test --name "$ndi_name" &
      ndi=$!
      sources=(--source "ndi:$ndi_name=NDI test" --ndi-extra-ips 127.0.0.1 --test-sources 3)
    fi
    ;;
esac

for _ in $(seq 1 150); do
  if .venv/bin/python -c "import httpx,sys; sys.exit(httpx.get('$cloud_url/api/health', timeout=1).status_code != 200)" 2>/dev/null; then
    break
  fi
  kill -0 "$cloud" 2>/dev/null || { echo "run: the backend did not start" >&2; exit 1; }
  sleep 0.2
done
echo "run: backend on $cloud_url (API docs at $cloud_url/docs)"

window=()
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || [ "$(uname)" = Darwin ]; then
  echo "run: opening the switcher window"
else
  echo "run: no display found, so the switcher runs headless (engine + control API)."
  window=(--headless)
fi
# shellcheck disable=SC2086  # APP_ARGS is a list of flags by design
.venv/bin/returnfeed "${window[@]}" --cloud "$cloud_url" --demo "${sources[@]}" ${APP_ARGS:-} &
app=$!
# The switcher ending by itself (its window closed) ends the run; so does Ctrl+C.
wait "$app" || true
