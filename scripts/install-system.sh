#!/usr/bin/env bash
# System packages the platform needs, installed with apt-get when missing and running as root.
#   scripts/install-system.sh run   -> SpatiaLite (the embedded database)
#   scripts/install-system.sh test  -> also PostGIS for the local PostgreSQL, and Chromium
set -euo pipefail
mode=${1:-run}
pkgs=()
have_lib() { ls /usr/lib/*/"$1"* >/dev/null 2>&1 || ls /usr/lib/"$1"* >/dev/null 2>&1; }
have_lib mod_spatialite.so || pkgs+=(libsqlite3-mod-spatialite)
if [ "$mode" = test ]; then
  ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || {
    pg=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
    pkgs+=("postgresql-${pg:-15}-postgis-3")
  }
  command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
fi
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
if [ ${#pkgs[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "Missing system packages: ${pkgs[*]}" >&2
  echo "Install them as root: sudo apt-get install -y ${pkgs[*]}" >&2
  exit 1
fi
echo "Installing system packages: ${pkgs[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
