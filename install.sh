#!/usr/bin/env bash
# Installs everything git-sops needs to build and test (Debian bookworm, as root), builds a
# Release binary and installs it as $PREFIX/bin/git-sops (default /usr/local). Idempotent:
# packages already present are not asked for again and the build is incremental.
set -euo pipefail
cd "$(dirname "$0")"
PREFIX=${PREFIX:-/usr/local}
BUILD_DIR=${BUILD_DIR:-build/release}

packages=(build-essential cmake ninja-build pkg-config git
          libgit2-dev libyaml-cpp-dev libsodium-dev libssl-dev libre2-dev libcli11-dev catch2 zlib1g-dev
          age git-crypt hyperfine tmux vim-tiny openssh-client python3)
# Node.js and npm run the interop peers in ../shared/peers; keep a node that is already there
# (Debian's npm package conflicts with NodeSource builds, which bring their own npm).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install.sh: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Tests are configured too (but not built here) so scripts/test.sh reuses these objects.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" >/dev/null
cmake --build "$BUILD_DIR" --target git-sops
if [ -w "$PREFIX/bin" ] || [ "$(id -u)" -eq 0 ]; then
  cmake --install "$BUILD_DIR" >/dev/null
else
  sudo cmake --install "$BUILD_DIR" >/dev/null
fi
echo "install.sh: installed $PREFIX/bin/git-sops ($("$PREFIX/bin/git-sops" --version))"
