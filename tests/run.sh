#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine: installs what the tests need, then pytest.
#   bash tests/run.sh [pytest args...]
# System packages: Debian's chromium (driven by Playwright; no browser download ever), CJK fonts, nginx,
# iproute2 (ss), and a C compiler if there is none.
# Python packages go into .venv; axe-core comes from npm into node_modules/.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need_apt+=(fonts-noto-cjk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
command -v ss >/dev/null 2>&1 || need_apt+=(iproute2)  # (ss: the listening sockets' backlog, tests/test_workers.py)
# A C compiler and Python's headers, so pip builds the Traditional-script accelerator and its tests run.
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  || need_apt+=(python3-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# Exact versions from constraints.txt, as the image installs them (deploy/update-constraints.sh renews them);
# PIP_CONSTRAINT pins the build backend in pip's isolated build environment too.
PIP_CONSTRAINT="$PWD/constraints.txt" .venv/bin/python -m pip install -q --disable-pip-version-check \
  -c constraints.txt -e '.[test]'

if [ ! -f node_modules/axe-core/axe.min.js ]; then
  npm install --no-audit --no-fund --silent >/dev/null
fi

exec .venv/bin/python -m pytest "$@"
