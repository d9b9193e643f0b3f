#!/usr/bin/env bash
# `make package`: the release tarball and the .deb, from a built checkout (dist/ up to date).
#
#   .cache/package/bodycam-agent-VERSION.tgz       npm-pack layout (package/…): package.json, the
#       lockfile, dist/agent, dist/hal, board-configs — what runs on a device, no tests, no maps.
#       Installable anywhere with `npm ci --omit=dev` inside it; it is what the .deb carries. (The
#       Yocto recipe builds from a git revision: it compiles the sources itself.)
#   .cache/package/bodycam-agent_VERSION_ARCH.deb  for Debian-based boards (Raspberry Pi OS,
#       Debian, arm64/amd64 — built for the architecture of the machine that runs this).
#
# The .deb's native addons (i2c-bus, epoll, sd-notify) are compiled for the Node that runs this
# script (NODE, default the distro's /usr/bin/node), so Depends pins that major: a Node ABI
# mismatch would only show at run time.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${PACKAGE_OUT:-$REPO/.cache/package}
NODE=${NODE:-/usr/bin/node}
LAYER_FILES="$REPO/yocto-layer/recipes-bodycam/bodycam-agent/files"
cd "$REPO"

[[ -f dist/agent/cli/main.js ]] || { echo "package: run make build first" >&2; exit 1; }
version=$("$NODE" -p "require('./package.json').version")
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
arch=$(dpkg --print-architecture)
# Reproducible archives: every timestamp is the last commit's.
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$OUT"

# --- release tarball --------------------------------------------------------------------------
# npm decides the file list from package.json "files" (npm pack drops package-lock.json, which
# the recipe and `npm ci` need, so the archive itself is made here).
mkdir -p "$stage/package"
npm pack --dry-run --json --ignore-scripts 2>/dev/null \
  | "$NODE" -e 'for (const f of JSON.parse(require("fs").readFileSync(0, "utf8"))[0].files) console.log(f.path)' \
  > "$stage/files"
echo package-lock.json >> "$stage/files"
while read -r f; do install -D -m "$([[ -x $f ]] && echo 755 || echo 644)" "$f" "$stage/package/$f"; done < "$stage/files"
tarball="$OUT/bodycam-agent-$version.tgz"
tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner -C "$stage" -cf - package | gzip -n9 > "$tarball"
echo ">> $tarball ($(wc -l < "$stage/files") files, $(du -k "$tarball" | cut -f1) KiB)"

# --- .deb -------------------------------------------------------------------------------------
root="$stage/deb"
tree="$root/usr/lib/bodycam-agent"
mkdir -p "$tree"
tar -xzf "$tarball" -C "$tree" --strip-components=1
# Production dependencies only, native addons built here for Node $node_major.
(cd "$tree" && PATH="$(dirname "$NODE"):$PATH" npm ci --omit=dev --no-audit --no-fund --loglevel=error \
  --nodedir="$(dirname "$(dirname "$NODE")")" >/dev/null)
rm -f "$tree/package-lock.json"
# Build leftovers of node-gyp (object files, Makefiles) are not needed to run.
find "$tree/node_modules" -path '*/build/*' ! -name '*.node' -type f -delete
find "$tree/node_modules" -type d -empty -delete
chmod 755 "$tree/dist/agent/cli/main.js"
mkdir -p "$root/usr/bin"
ln -s ../lib/bodycam-agent/dist/agent/cli/main.js "$root/usr/bin/bodycam"

# The layer's unit, board from /etc/default/bodycam-agent (Debian boards choose it after install).
install -d "$root/usr/lib/systemd/system" "$root/etc/default" "$root/etc/bodycam" \
  "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" "$root/usr/lib/udev/rules.d" "$root/DEBIAN"
sed -e 's,@BOARD@,${BODYCAM_BOARD},' \
    -e 's,^\[Service\]$,[Service]\nEnvironment=BODYCAM_BOARD=sim\nEnvironmentFile=-/etc/default/bodycam-agent,' \
    "$LAYER_FILES/bodycam-agent.service" > "$root/usr/lib/systemd/system/bodycam-agent.service"
printf '# The board config the agent runs with (a name from %s/board-configs, or a path).\nBODYCAM_BOARD=sim\n' \
  /usr/lib/bodycam-agent > "$root/etc/default/bodycam-agent"
install -m 0640 "$LAYER_FILES/agent.json" "$root/etc/bodycam/agent.json"
install -m 0644 "$LAYER_FILES/bodycam-agent.sysusers" "$root/usr/lib/sysusers.d/bodycam-agent.conf"
install -m 0644 "$LAYER_FILES/bodycam-agent.tmpfiles" "$root/usr/lib/tmpfiles.d/bodycam-agent.conf"
install -m 0644 "$LAYER_FILES/90-bodycam.rules" "$root/usr/lib/udev/rules.d/90-bodycam.rules"

installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: bodycam-agent
Version: $version
Architecture: $arch
Maintainer: bodycam firmware team <firmware@bodycam.invalid>
Section: misc
Priority: optional
Installed-Size: $installed_kb
Depends: nodejs (>= $node_major), nodejs (<< $((node_major + 1))), ffmpeg, v4l-utils, gpiod, util-linux, i2c-tools, fonts-dejavu-core, systemd
Description: control agent of a body-worn evidence camera
 Shift policy, gapless recording through ffmpeg, hash-chained signed evidence,
 MQTT telemetry and signed commands, offload to an S3-compatible evidence store.
 Built for Node.js $node_major (native addons); the board is set in /etc/default/bodycam-agent.
EOF
printf '/etc/bodycam/agent.json\n/etc/default/bodycam-agent\n' > "$root/DEBIAN/conffiles"
# Users, tmpfiles and udev first; the unit is enabled but not started: the board must be chosen.
cat > "$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  systemd-sysusers bodycam-agent.conf
  systemd-tmpfiles --create bodycam-agent.conf || true
  chgrp bodycam /etc/bodycam/agent.json
  udevadm control --reload >/dev/null 2>&1 || true
  if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
  systemctl enable bodycam-agent.service >/dev/null 2>&1 || true
fi
EOF
cat > "$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl stop bodycam-agent.service || true; fi
if [ "$1" = remove ]; then systemctl disable bodycam-agent.service >/dev/null 2>&1 || true; fi
EOF
cat > "$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
# Evidence in /var/lib/bodycam and the bodycam user stay: evidence is never deleted by a package.
EOF
chmod 755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
find "$root" -exec touch -h -d "@$epoch" {} +
deb="$OUT/bodycam-agent_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo ">> $deb ($(du -k "$deb" | cut -f1) KiB, Node $node_major)"
