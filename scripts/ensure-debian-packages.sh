#!/usr/bin/env bash
# Installs the named Debian packages that are missing, when run as root on a
# machine with apt-get; otherwise names them on stderr and fails.
#
#   bash scripts/ensure-debian-packages.sh PACKAGE...
#
# scripts/test.sh installs the test suite's packages with it, and
# `cargo xtask bench` the benchmark's.
set -euo pipefail

missing=()
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
	echo "== installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
	echo "== missing Debian packages (install them as root): ${missing[*]}" >&2
	exit 1
fi
