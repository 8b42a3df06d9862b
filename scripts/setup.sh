#!/usr/bin/env bash
# Installs what ReturnFeed needs on a fresh Debian/Ubuntu machine: the Debian
# packages (only those missing) and a .venv with the project and its extras.
# Usage: scripts/setup.sh run|test|bench  (bench = test + plotting, for bench/report)
set -euo pipefail
cd "$(dirname "$0")/.."

purpose=${1:-run}
# Media peers and servers the product and its tests talk to for real.
# python3-dev, gcc and libc6-dev build the gateway's C send path (cloud/gateway/_rtpout.c).
apt_run=(python3-venv python3-dev gcc libc6-dev libsrt1.5-openssl ffmpeg libportaudio2 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
         fonts-noto-cjk)
apt_test=(libsrt-openssl-dev srt-tools chromium xvfb
          postgresql redis-server pulseaudio libasound2-plugins caddy coturn iproute2
          libnss3-tools prometheus haproxy)
want=("${apt_run[@]}")
[ "$purpose" != run ] && want+=("${apt_test[@]}")
# The OIDC login tests run a real provider on Node (tests/support/oidc); Debian's nodejs and
# npm unless a node and npm are there already (e.g. NodeSource's, which bundles npm).
if [ "$purpose" != run ]; then
  command -v node >/dev/null 2>&1 || want+=(nodejs)
  command -v npm >/dev/null 2>&1 || want+=(npm)
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${want[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
  done
fi

if [ ${#missing[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && sudo=(sudo -n)
  if [ "$(id -u)" -eq 0 ] || [ ${#sudo[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: these Debian packages are missing and I may not install them:" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: Python 3.11 or newer is needed (found $("$python" --version 2>&1))" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv

extras=""
[ "$purpose" = test ] && extras="[dev]"
[ "$purpose" = bench ] && extras="[dev,bench]"
stamp=".venv/.installed-$purpose"
# Reinstall only when the dependency list or the C extension changed since the last install
# (the editable install builds the extension in place).
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ] \
    || [ cloud/gateway/_rtpout.c -nt "$stamp" ] || ! compgen -G "cloud/gateway/_rtpout*.so" >/dev/null; then
  # pip's build warnings go to a log; it is shown only if the install fails.
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e ".$extras" \
      > .venv/pip-install.log 2>&1; then
    cat .venv/pip-install.log >&2
    echo "setup: pip install failed (log above, also in .venv/pip-install.log)" >&2
    exit 1
  fi
  touch "$stamp"
fi

if [ "$purpose" != run ]; then
  oidc=tests/support/oidc
  if [ ! -f "$oidc/node_modules/.package-lock.json" ] || [ "$oidc/package-lock.json" -nt "$oidc/node_modules/.package-lock.json" ]; then
    (cd "$oidc" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
