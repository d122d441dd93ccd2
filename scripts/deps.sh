#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh PKG... - make sure the named Debian packages are installed.
#
# Installs only what is missing: nothing installed means nothing printed and
# exit 0.  Missing packages are installed with apt-get when running as root
# (one `apt-get update` first); otherwise the script says what to install and
# exits 1.  On a system without dpkg it warns and carries on, so the build
# itself reports whatever is really missing.
set -euo pipefail

[ "$#" -eq 0 ] && exit 0

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "gmemsim: no dpkg-query here (not Debian?); make sure these are installed: $*" >&2
	exit 0
fi

missing=()
for pkg in "$@"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	if [ "$status" != "install ok installed" ]; then
		missing+=("$pkg")
	fi
done

[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "gmemsim: missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi

echo "gmemsim: installing missing packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
