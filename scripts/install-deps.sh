#!/bin/sh
# Installs the Debian packages the build and the tests need, when any is missing.
# lua5.4 goes in the same apt transaction as lua-busted: without it apt picks lua5.2
# to satisfy busted's "lua" dependency.
# clang-14 and libclang-rt-14-dev build the libFuzzer targets (fuzz/), valgrind runs
# scripts/valgrind.sh; zsh and fish let the completion spec run their completion scripts.
set -eu
PKGS="build-essential cmake pkg-config curl python3 lua5.4 liblua5.4-dev lua-cjson lua-cjson-dev lua-busted libcurl4-openssl-dev libyaml-dev zlib1g-dev libjq-dev zsh fish clang-14 libclang-rt-14-dev valgrind"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
