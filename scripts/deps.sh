#!/usr/bin/env bash
# Installs the Debian packages a make target needs, and says what it installs.
# Usage: scripts/deps.sh GROUP...   (groups below). Idempotent: installed packages are skipped,
# and `apt-get update` runs only when something is actually missing.
set -euo pipefail

declare -A GROUP=(
  [build]="build-essential python3 pkg-config libsystemd-dev"
  [media]="ffmpeg fonts-dejavu-core v4l-utils openssl"
  [mqtt]="mosquitto mosquitto-clients protobuf-compiler openssl"
  [browser]="chromium fonts-dejavu-core"
  [gnss]="gpsd gpsd-clients"
  [faults]="faketime"
  # A real RTSP server on loopback for the IP-camera backend (GStreamer's gst-rtsp-server through
  # PyGObject; x264enc is in -ugly, rtph264pay in -good).
  [rtsp]="python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly"
  [hil]="qemu-system-x86 busybox-static kmod xz-utils zstd cpio gpiod i2c-tools v4l-utils e2fsprogs gcc make bc flex bison libelf-dev libssl-dev mosquitto openssl rauc rauc-service squashfs-tools dbus"
  [ceph]="ceph-mon ceph-osd radosgw ceph-common"
  # The live-view media gateway (Janus 1.1, streaming plugin: RTP in, WebRTC out); test/helpers/janus.ts writes its config.
  [janus]="janus"
  [yocto]="chrpath diffstat gawk cpio locales git file lz4 zstd xz-utils bzip2 patch perl python3 wget util-linux ffmpeg v4l-utils gpiod i2c-tools fonts-dejavu-core systemd dbus rauc rauc-service"
)

want=()
for g in "$@"; do
  [[ -n "${GROUP[$g]:-}" ]] || { echo "deps.sh: unknown group '$g' (known: ${!GROUP[*]})" >&2; exit 2; }
  for p in ${GROUP[$g]}; do want+=("$p"); done
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "deps.sh: these Debian packages are needed: ${missing[*]} (run as root, or install them)" >&2
  exit 1
fi
echo ">> installing Debian packages for [$*]: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo ">> installed: ${missing[*]}"
