#!/usr/bin/env bash
# Prepares and runs BitBake for the layer check, one build directory per Yocto series.
#
#   scripts/yocto-env.sh prepare SERIES        host (user, locale) and the series' sources only
#   scripts/yocto-env.sh setup SERIES          prepare + build dir + local clone of the checkout
#   scripts/yocto-env.sh bitbake SERIES ARGS…  runs `bitbake ARGS…` in that build dir
#   scripts/yocto-env.sh run SERIES CMD…       runs CMD in that build dir's environment
#   scripts/yocto-env.sh stop SERIES           stops the BitBake server kept warm between steps
#
# BitBake refuses to run as root: as root, everything BitBake touches runs as $YOCTO_USER
# (created here). BitBake, openembedded-core and meta-oe come from $YOCTO_TARBALLS
# (yocto-<series>.tar.gz, see NOTES-YOCTO.md); nothing else is downloaded except the npm
# tarballs the recipe's SRC_URI names (DL_DIR is shared by the series and kept between runs).
#
# Layout under .cache/yocto: src/<series>/ (unpacked tarball), build-<series>/ (parse cache
# survives between runs), downloads/ (DL_DIR), checkout.git (the checkout's revision to build),
# layer/yocto-layer (a copy of this checkout's layer, the one bblayers.conf names).
#
# The build user reads nothing under the checkout or beside it: a checkout in root's home or in a
# `mktemp -d` folder (mode 700) is closed to it. Everything crosses over through pipes opened by
# the caller (the tarballs, the layer, the revision's objects) into $CACHE, which the user owns.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${YOCTO_CACHE:-$REPO/.cache/yocto}
TARBALLS=${YOCTO_TARBALLS:-$REPO/../shared/yocto}
USER_NAME=${YOCTO_USER:-yocto-ci}
# Keep the server alive between the steps of one check: each step then skips the cache load.
SERVER_TIMEOUT=${YOCTO_SERVER_TIMEOUT:-120}

die() { echo "yocto-env: $*" >&2; exit 1; }

# Runs a command as the unprivileged build user (or as ourselves when we are not root).
as_user() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u "$USER_NAME" -- "$@"
  else
    "$@"
  fi
}

host_setup() {
  [[ $(id -u) -eq 0 ]] || return 0
  if ! id "$USER_NAME" >/dev/null 2>&1; then
    useradd --system --create-home --shell /bin/bash "$USER_NAME"
    echo ">> created user $USER_NAME (BitBake refuses to run as root)"
  fi
  # BitBake's sanity check wants en_US.UTF-8 itself; C.UTF-8 is refused.
  if ! locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
    sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' /etc/locale.gen
    grep -q '^en_US.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >> /etc/locale.gen
    locale-gen >/dev/null
    echo ">> generated locale en_US.UTF-8"
  fi
  mkdir -p "$CACHE"
  chown "$USER_NAME": "$CACHE"
}

sources() {
  local series=$1 tarball="$TARBALLS/yocto-$1.tar.gz" dir="$CACHE/src"
  [[ -f $tarball ]] || die "no $tarball (YOCTO_TARBALLS=$TARBALLS)"
  # Re-extract only when the tarball changed: the parse cache depends on these files' mtimes.
  local stamp="$dir/$series.sha256" sum
  sum=$(sha256sum "$tarball" | cut -d' ' -f1)
  if [[ ! -d $dir/$series || $(cat "$stamp" 2>/dev/null) != "$sum" ]]; then
    as_user mkdir -p "$dir"
    as_user rm -rf "$dir/$series"
    # The caller opens the tarball: the build user may not enter the folder that holds it.
    as_user tar -xzf - -C "$dir" <"$tarball"
    as_user sh -c "echo $sum > '$stamp'"
  fi
  # meta-rauc of the same series (A/B updates: the layer's dynamic-layers/rauc), beside meta-oe.
  local rtar="$TARBALLS/meta-rauc-$series.tar.gz" rstamp="$dir/$series.meta-rauc.sha256" rsum
  [[ -f $rtar ]] || die "no $rtar (YOCTO_TARBALLS=$TARBALLS)"
  rsum=$(sha256sum "$rtar" | cut -d' ' -f1)
  if [[ ! -d $dir/$series/meta-rauc || $(cat "$rstamp" 2>/dev/null) != "$rsum" ]]; then
    as_user rm -rf "$dir/$series/meta-rauc"
    as_user tar -xzf - -C "$dir/$series" <"$rtar"
    as_user sh -c "echo $rsum > '$rstamp'"
  fi
}

# The revision BitBake builds: HEAD plus tracked, uncommitted changes (`git stash create`), in a
# bare repository the build user owns, on branch yocto-check. Prints the commit (fixed dates and
# names: the same content gives the same commit).
local_clone() {
  local rev bare="$CACHE/checkout.git"
  rev=$(GIT_AUTHOR_NAME=yocto-check GIT_AUTHOR_EMAIL=yocto-check@bodycam.invalid GIT_AUTHOR_DATE=2000-01-01T00:00:00Z \
        GIT_COMMITTER_NAME=yocto-check GIT_COMMITTER_EMAIL=yocto-check@bodycam.invalid GIT_COMMITTER_DATE=2000-01-01T00:00:00Z \
        git -C "$REPO" stash create 2>/dev/null || true)
  [[ -n $rev ]] || rev=$(git -C "$REPO" rev-parse HEAD)
  [[ -d $bare ]] || as_user git init -q --bare "$bare"
  # Objects cross over through a pack (the build user cannot read a root-owned .git).
  git -C "$REPO" pack-objects --revs --stdout -q <<<"$rev" \
    | as_user git -C "$bare" unpack-objects -q
  as_user git -C "$bare" update-ref refs/heads/yocto-check "$rev"
  echo "$rev"
}

# A copy of the checkout's layer where the build user can read it, refreshed on every setup. File
# times are kept (tar), so recipes that did not change keep their parse cache; the copy is swapped
# in whole, so a file removed from the layer goes too.
layer_copy() {
  local dir="$CACHE/layer"
  as_user rm -rf "$dir.new"
  as_user mkdir -p "$dir.new"
  tar -C "$REPO" -cf - yocto-layer | as_user tar -xf - -C "$dir.new" --no-same-owner
  as_user rm -rf "$dir"
  as_user mv "$dir.new" "$dir"
}

build_dir() {
  local series=$1 rev=$2 src="$CACHE/src/$1" build="$CACHE/build-$1"
  local layer="$CACHE/layer/yocto-layer"
  # A build dir from before the layer copy names a checkout's own layer (maybe one that is gone).
  if [[ -f $build/conf/bblayers.conf ]] && ! { grep -qF "$layer" "$build/conf/bblayers.conf" && grep -qF "$src/meta-rauc" "$build/conf/bblayers.conf"; }; then
    as_user rm -f "$build/conf/bblayers.conf"
  fi
  if [[ ! -f $build/conf/bblayers.conf ]]; then
    as_user env -i HOME="$(eval echo "~$USER_NAME")" PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=en_US.UTF-8 \
      bash -c "cd '$src/openembedded-core' && TEMPLATECONF=meta/conf/templates/default source ./oe-init-build-env '$build' >/dev/null && bitbake-layers add-layer '$src/meta-openembedded/meta-oe' '$src/meta-rauc' '$layer' >/dev/null"
  fi
  # auto.conf is rewritten on every run (local.conf stays the template's), with the same content,
  # so recipes outside this layer keep their parse cache.
  as_user tee "$build/conf/auto.conf" >/dev/null <<EOF
MACHINE = "qemuarm64"
DL_DIR = "$CACHE/downloads"
BB_NUMBER_PARSE_THREADS = "2"
BB_NUMBER_THREADS = "2"
# Parse and graph steps prove the layer needs no network; only the unpack step opens it, to the
# npm registry only (BB_NO_NETWORK=0 through the environment, ignored by the parse cache's hash).
BB_NO_NETWORK ?= "1"
BB_ALLOWED_NETWORKS = "registry.npmjs.org"
BB_HASHCONFIG_IGNORE_VARS:append = " BB_NO_NETWORK"
CONNECTIVITY_CHECK_URIS = ""
# uninative's shim comes from downloads.yoctoproject.org (unreachable here): failing, it disables
# itself at the first build command, which changes the configuration and costs a second parse.
INHERIT:remove = "uninative"
# What the layer README tells a firmware engineer to put in local.conf.
INIT_MANAGER = "systemd"
DISTRO_FEATURES:append = " rauc"
LICENSE_FLAGS_ACCEPTED += "commercial_ffmpeg commercial_x264"
BODYCAM_BOARD = "rpi4-uvc"
BODYCAM_GIT_URI = "git://$CACHE/checkout.git;protocol=file;branch=yocto-check"
# The branch's head ($rev now), found by a local ls-remote (no network). Not the hash itself:
# the configuration stays the same from commit to commit, so a kept .cache/yocto reparses only
# this layer's recipes instead of all ~1,900.
BODYCAM_SRCREV = "\${AUTOREV}"
EOF
}

in_build() {
  local series=$1; shift
  local src="$CACHE/src/$series" build="$CACHE/build-$series"
  [[ -f $build/conf/auto.conf ]] || die "run: $0 setup $series"
  as_user env -i HOME="$(eval echo "~$USER_NAME")" PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=en_US.UTF-8 \
    BB_NO_NETWORK="${BB_NO_NETWORK:-1}" BB_SERVER_TIMEOUT="$SERVER_TIMEOUT" \
    BB_ENV_PASSTHROUGH_ADDITIONS="BB_NO_NETWORK BB_SERVER_TIMEOUT" \
    bash -c 'cd "$1/openembedded-core" && source ./oe-init-build-env "$2" >/dev/null && shift 2 && exec "$@"' \
    _ "$src" "$build" "$@"
}

cmd=${1:-}; series=${2:-}
[[ -n $cmd && -n $series ]] || die "usage: $0 prepare|setup|bitbake|run|stop SERIES [ARGS…]"
shift 2
case $cmd in
  prepare) host_setup; sources "$series" ;;
  setup) host_setup; sources "$series"; layer_copy; rev=$(local_clone); build_dir "$series" "$rev"; echo "$rev" ;;
  bitbake) in_build "$series" bitbake "$@" ;;
  run) in_build "$series" "$@" ;;
  stop) in_build "$series" bitbake -m >/dev/null 2>&1 || true ;;
  *) die "unknown command '$cmd'" ;;
esac
