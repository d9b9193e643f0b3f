#!/usr/bin/env bash
# Host side of the HIL update sequence (test/hil/run.sh): everything RAUC needs, made fresh for
# every run so no key outlives it:
#   - a test CA (openssl) whose certificate is the image's keyring, a release signing certificate
#     under it, and a rogue CA + signing certificate outside the keyring;
#   - slot images (ext4, mkfs.ext4 -d): each carries its version (/etc/os-release) and the board
#     config the image was built for (/etc/bodycam/board.json);
#   - bundles built with the real `rauc bundle`: 1.1.0 (good), 1.2.0 (its board config names a
#     camera this board lacks: its self-test fails on the camera), 1.3.0 signed by the rogue CA;
#   - the slot disks (slot A holds 1.0.0, slot B is empty), the data disk, and the boot
#     environment disk the custom bootloader backend (bootloader.sh) writes and run.sh reads;
#   - system.conf for `rauc service` in the guest.
# Usage: prepare.sh OUTDIR REPO
set -euo pipefail
OUT=$1
REPO=$2
COMPATIBLE=bodycam-qemu-hil
rm -rf "$OUT" && mkdir -p "$OUT"/{pki,img,bundles}
cd "$OUT"

# Short-lived EC keys: fast under emulation, and RAUC verifies CMS signatures made with them.
ca() { # name subject
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -keyout "pki/$1-ca.key.pem" -out "pki/$1-ca.cert.pem" -subj "/O=bodycam HIL/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
signer() { # ca-name subject
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "pki/$1-signing.key.pem" \
    -out "pki/$1-signing.csr.pem" -subj "/O=bodycam HIL/CN=$2" 2>/dev/null
  openssl x509 -req -in "pki/$1-signing.csr.pem" -CA "pki/$1-ca.cert.pem" -CAkey "pki/$1-ca.key.pem" \
    -CAcreateserial -days 30 -out "pki/$1-signing.cert.pem" \
    -extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,codeSigning\n') 2>/dev/null
}
ca release "bodycam HIL update CA"
signer release "bodycam HIL release signing"
ca rogue "not our CA"
signer rogue "not our release signing"

slot_image() { # version board-json-file out
  local root
  root=$(mktemp -d)
  mkdir -p "$root/etc/bodycam"
  printf 'NAME="bodycam"\nID=bodycam\nVERSION_ID=%s\nPRETTY_NAME="bodycam %s (HIL slot image)"\n' "$1" "$1" > "$root/etc/os-release"
  cp "$2" "$root/etc/bodycam/board.json"
  truncate -s 8M "$3"
  mkfs.ext4 -q -F -L "bodycam-$1" -d "$root" "$3"
  rm -rf "$root"
}
GOOD_BOARD=$REPO/board-configs/qemu-hil.json
# A board config for hardware this camera lacks: /dev/video9 does not exist in the VM.
BROKEN_BOARD=$OUT/img/broken-board.json
node -e 'const b=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); b.camera.device="/dev/video9"; process.stdout.write(JSON.stringify(b,null,2))' "$GOOD_BOARD" > "$BROKEN_BOARD"

bundle() { # version board signer-name
  local d=$OUT/bundles/$1-content
  mkdir -p "$d"
  slot_image "$1" "$2" "$d/rootfs.ext4"
  printf '[update]\ncompatible=%s\nversion=%s\n\n[image.rootfs]\nfilename=rootfs.ext4\n' "$COMPATIBLE" "$1" > "$d/manifest.raucm"
  rauc bundle --cert="pki/$3-signing.cert.pem" --key="pki/$3-signing.key.pem" "$d" "bundles/bodycam-$1.raucb" >/dev/null
  rm -rf "$d"
}
bundle 1.1.0 "$GOOD_BOARD" release
bundle 1.2.0 "$BROKEN_BOARD" release
bundle 1.3.0 "$GOOD_BOARD" rogue

# Slot disks: A holds the factory image 1.0.0, B is empty. Bigger than an image (RAUC writes the
# image into the slot device).
truncate -s 16M img/slot-a.img img/slot-b.img
slot_image 1.0.0 "$GOOD_BOARD" img/factory.ext4
dd if=img/factory.ext4 of=img/slot-a.img conv=notrunc status=none
truncate -s 256M img/data.img && mkfs.ext4 -q -F -L bodycam-data img/data.img
# The boot environment: one 4 KiB block of KEY=VALUE lines, like U-Boot's (bootloader.sh).
printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n' > img/bootenv.txt
dd if=img/bootenv.txt of=img/bootenv.img bs=4096 count=1 conv=sync status=none

# Slots by the guest's virtio order: vda data, vdb slot A, vdc slot B, vdd boot environment.
cat > system.conf <<CONF
[system]
compatible=$COMPATIBLE
bootloader=custom
mountprefix=/run/rauc/mnt
statusfile=/var/tmp/data/rauc/status.raucs

[handlers]
bootloader-custom-backend=$REPO/test/hil/rauc/bootloader.sh

[keyring]
path=$OUT/pki/release-ca.cert.pem
check-purpose=codesign

[slot.rootfs.0]
device=/dev/vdb
type=ext4
bootname=A

[slot.rootfs.1]
device=/dev/vdc
type=ext4
bootname=B
CONF
sha256sum bundles/*.raucb
