#!/usr/bin/env bash
# `make package`: the release tarball and the .deb, from a built checkout (dist/ up to date).
#
#   .cache/package/bodycam-agent-VERSION.tgz       npm-pack layout (package/…): package.json, the
#       lockfile, dist/agent, dist/hal, board-configs, profiles — what runs on a device, no tests, no maps.
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
# Modes fixed here, not left to the umask of whoever builds (install -D makes directories by it).
find "$stage/package" -type d -exec chmod 0755 {} +
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
# What node-gyp left beside the addons it built (object files, Makefiles, .deps, config.gypi with
# this machine's paths) is not needed to run. Only in packages node-gyp built (a binding.gyp):
# a `build/` directory elsewhere is the package's own code (mqtt's is node_modules/mqtt/build, and
# pruning every build/ shipped a .deb whose `bodycam --help` died on ERR_MODULE_NOT_FOUND).
while IFS= read -r -d '' gyp; do
  built="$(dirname "$gyp")/build"
  [[ -d $built ]] || continue
  find "$built" -type f ! -regex '.*/build/Release/[^/]*\.node' -delete
  find "$built" -depth -type d -empty -delete
done < <(find "$tree/node_modules" -name binding.gyp -type f -print0)
chmod 755 "$tree/dist/agent/cli/main.js"
mkdir -p "$root/usr/bin"
ln -s ../lib/bodycam-agent/dist/agent/cli/main.js "$root/usr/bin/bodycam"

# The layer's unit. No board by default: the board is chosen in /etc/default/bodycam-agent, and
# until it is the agent refuses to start (exit 78, the unit stays failed and says so in the
# journal) instead of recording the sim board's test pattern on a real camera.
install -d "$root/usr/lib/systemd/system" "$root/etc/default" "$root/etc/bodycam" \
  "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" "$root/usr/lib/udev/rules.d" "$root/DEBIAN" \
  "$root/usr/share/doc/bodycam-agent"
sed -e 's,@BOARD@,${BODYCAM_BOARD},' \
    -e 's,^\[Service\]$,[Service]\nEnvironmentFile=-/etc/default/bodycam-agent,' \
    "$LAYER_FILES/bodycam-agent.service" > "$root/usr/lib/systemd/system/bodycam-agent.service"
cat > "$root/etc/default/bodycam-agent" <<'EOF'
# The board config the agent runs with: a name from /usr/lib/bodycam-agent/board-configs
# (e.g. rpi4-uvc) or the path of your own board config. Nothing is set on purpose: the agent
# refuses to start until a board is chosen (`sim` records a test pattern, for a demo only).
# Then: systemctl restart bodycam-agent
#BODYCAM_BOARD=
EOF
install -m 0640 "$LAYER_FILES/agent.json" "$root/etc/bodycam/agent.json"
# One agent per camera: the template unit as the layer has it (board, config, data dir per
# instance NAME under /etc/bodycam/cameras and /var/lib/bodycam/cameras). Never enabled by the
# package: `systemctl enable --now bodycam-agent@NAME` once that camera's files exist.
install -m 0644 "$LAYER_FILES/bodycam-agent@.service" "$root/usr/lib/systemd/system/bodycam-agent@.service"
install -d -m 0755 "$root/etc/bodycam/cameras"
install -m 0644 "$LAYER_FILES/bodycam-agent.sysusers" "$root/usr/lib/sysusers.d/bodycam-agent.conf"
install -m 0644 "$LAYER_FILES/bodycam-agent.tmpfiles" "$root/usr/lib/tmpfiles.d/bodycam-agent.conf"
install -m 0644 "$LAYER_FILES/90-bodycam.rules" "$root/usr/lib/udev/rules.d/90-bodycam.rules"

# /usr/share/doc/bodycam-agent/copyright, machine-readable (DEP-5): the agent itself (package.json
# "license") and every npm package the .deb carries, with the licence and copyright lines its
# package.json and LICENSE file state.
"$NODE" - "$tree" "$root/usr/share/doc/bodycam-agent/copyright" <<'EOF'
const fs = require('fs'), path = require('path');
const [tree, out] = process.argv.slice(2);
const self = JSON.parse(fs.readFileSync(path.join(tree, 'package.json'), 'utf8'));
const pkgs = [];
(function walk(dir) {
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) { walk(path.join(dir, name)); continue; }
    const d = path.join(dir, name), pj = path.join(d, 'package.json');
    if (!fs.existsSync(pj)) continue;
    const p = JSON.parse(fs.readFileSync(pj, 'utf8'));
    const lic = typeof p.license === 'string' ? p.license : p.license?.type ?? (p.licenses ?? []).map((l) => l.type).join(' or ');
    const lf = fs.readdirSync(d).find((f) => /^licen[cs]e/i.test(f));
    const text = lf ? fs.readFileSync(path.join(d, lf), 'utf8') : '';
    const holders = [...new Set(text.split('\n').map((l) => l.replace(/^[\s#*>]+/, '').trim())
      .filter((l) => /^copyright\b/i.test(l) && !/\[|notice|license|owner/i.test(l))
      .map((l) => l.replace(/^copyright\s*(\(c\)|©)?\s*/i, '').trim()).filter(Boolean))];
    const author = typeof p.author === 'string' ? p.author : p.author?.name;
    pkgs.push({ rel: path.relative(tree, d), name: p.name, version: p.version, lic: (lic || 'UNKNOWN').replace(/^\((.*)\)$/, '$1'), holders: holders.length ? holders : [author ?? `the ${p.name} authors`], lf });
    walk(path.join(d, 'node_modules'));
  }
})(path.join(tree, 'node_modules'));
const common = new Set(fs.existsSync('/usr/share/common-licenses') ? fs.readdirSync('/usr/share/common-licenses') : []);
const para = [
  ['Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/', `Upstream-Name: ${self.name}`,
   'Comment: Paths are relative to /usr/lib/bodycam-agent. The npm packages are unmodified',
   ' releases from registry.npmjs.org, pinned by the lockfile of this release.'].join('\n'),
  ['Files: *', 'Copyright: bodycam firmware team <firmware@bodycam.invalid>', `License: ${self.license}`].join('\n'),
  ...pkgs.map((p) => [`Files: ${p.rel}/*`, `Copyright: ${p.holders.join('\n ')}`, `License: ${p.lic}`,
    `Comment: ${p.name} ${p.version}${p.lf ? `; full licence text in ${p.rel}/${p.lf}` : ''}`].join('\n')),
];
const ids = new Set([self.license, ...pkgs.flatMap((p) => p.lic.split(/ (?:or|and|OR|AND) /))]);
for (const id of [...ids].sort()) {
  const body = id === self.license && id === 'UNLICENSED'
    ? ' Proprietary: all rights reserved. No licence to copy, modify or redistribute is granted.'
    : common.has(id) ? ` On Debian systems the full text is in /usr/share/common-licenses/${id}.`
    : ' The full text is in the LICENSE file of each package under this licence (see the Comment of its Files paragraph).';
  para.push(`License: ${id}\n${body}`);
}
fs.writeFileSync(out, para.join('\n\n') + '\n');
EOF

installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: bodycam-agent
Version: $version
Architecture: $arch
Maintainer: bodycam firmware team <firmware@bodycam.invalid>
Section: misc
Priority: optional
Installed-Size: $installed_kb
Depends: nodejs (>= $node_major), nodejs (<< $((node_major + 1))), ffmpeg, v4l-utils, gpiod, util-linux, i2c-tools, fonts-dejavu-core, systemd, init-system-helpers
Description: control agent of a body-worn evidence camera
 Shift policy, gapless recording through ffmpeg, hash-chained signed evidence,
 MQTT telemetry and signed commands, offload to an S3-compatible evidence store.
 Built for Node.js $node_major (native addons). No board is chosen on install: set
 BODYCAM_BOARD in /etc/default/bodycam-agent; the agent refuses to start without it.
EOF
printf '/etc/bodycam/agent.json\n/etc/default/bodycam-agent\n' > "$root/DEBIAN/conffiles"
# Life cycle as debhelper's dh_installsystemd --restart-after-upgrade writes it: an upgrade keeps
# the camera recording until postinst restarts it on the new code (prerm stops only on removal:
# stopping on upgrade and never starting again left cameras not recording until a reboot).
# deb-systemd-invoke honours policy-rc.d and an administrator's `systemctl disable`.
cat > "$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  systemd-sysusers bodycam-agent.conf
  systemd-tmpfiles --create bodycam-agent.conf || true
  chgrp bodycam /etc/bodycam/agent.json
  udevadm control --reload >/dev/null 2>&1 || true
fi
if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] || [ "$1" = abort-remove ]; then
  # was-enabled is true on a first install; an administrator's disable survives upgrades.
  if deb-systemd-helper --quiet was-enabled bodycam-agent.service; then
    deb-systemd-helper enable bodycam-agent.service >/dev/null || true
  else
    deb-systemd-helper update-state bodycam-agent.service >/dev/null || true
  fi
  if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    # $2 is the version configured before: an upgrade restarts (the new code), an install starts.
    if [ -n "$2" ]; then action=restart; else action=start; fi
    if ! deb-systemd-invoke "$action" bodycam-agent.service >/dev/null 2>&1; then
      echo "bodycam-agent: the service did not $action; see journalctl -u bodycam-agent." >&2
      echo "bodycam-agent: is a board set (BODYCAM_BOARD in /etc/default/bodycam-agent)?" >&2
    fi
  fi
fi
EOF
cat > "$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
# Only a removal stops the agent; an upgrade leaves it recording until postinst restarts it.
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  deb-systemd-invoke stop bodycam-agent.service >/dev/null || true
fi
EOF
cat > "$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || true; fi
if [ "$1" = remove ] && [ -x /usr/bin/deb-systemd-helper ]; then
  deb-systemd-helper mask bodycam-agent.service >/dev/null || true
fi
if [ "$1" = purge ] && [ -x /usr/bin/deb-systemd-helper ]; then
  deb-systemd-helper purge bodycam-agent.service >/dev/null || true
  deb-systemd-helper unmask bodycam-agent.service >/dev/null || true
fi
# Evidence in /var/lib/bodycam and the bodycam user stay: evidence is never deleted by a package.
EOF

chmod 755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

# Reproducible like the tarball: normalized permissions (the umask of whoever builds must not
# show), md5sums in path order, every mtime the last commit's, entries sorted by dpkg-deb, owner
# root, and SOURCE_DATE_EPOCH for the ar members' own timestamps.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -perm /0111 -exec chmod 0755 {} +
find "$root" -type f ! -perm /0111 -exec chmod 0644 {} +
chmod 0640 "$root/etc/bodycam/agent.json"
(cd "$root" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | LC_ALL=C sort -z \
  | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
find "$root" -exec touch -h -d "@$epoch" {} +
deb="$OUT/bodycam-agent_${version}_${arch}.deb"
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo ">> $deb ($(du -k "$deb" | cut -f1) KiB, Node $node_major, sha256 $(sha256sum "$deb" | cut -c1-16)…)"
