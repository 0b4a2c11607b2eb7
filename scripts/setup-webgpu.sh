#!/usr/bin/env bash
# Installs Mesa 25's lavapipe (Vulkan on the CPU) from bookworm-backports so Dawn (npm `webgpu`) finds an adapter
# on a machine without a GPU. Debian 12 only; elsewhere it says so and does nothing. Needs root (or sudo).
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
if ! grep -q 'bookworm' /etc/os-release 2>/dev/null; then
  echo "setup-webgpu: not Debian 12 (bookworm); install a Vulkan driver (Mesa >= 24 lavapipe or a GPU driver) yourself."
  exit 0
fi
if ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^25'; then
  echo "setup-webgpu: Mesa 25 lavapipe already installed"; exit 0
fi
$SUDO tee /etc/apt/sources.list.d/backports.sources >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
echo "setup-webgpu: installed $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
