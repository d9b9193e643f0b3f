#!/usr/bin/env bash
# Builds what the HIL VM needs, cached under .cache/hil/ and reused between runs:
#   - Debian's current kernel (the package linux-image-amd64 depends on), its modules tree
#     (depmod'ed), and the uncompressed vmlinux (boots in ~3 s instead of ~8 s under TCG);
#   - the gpio-sim module, built out of tree from the matching linux-source + headers: Debian
#     does not enable CONFIG_GPIO_SIM;
#   - an initramfs: static busybox, the virtio/9p modules and test/hil/init.sh as /init.
# Everything is keyed by the kernel version: when Debian moves the kernel, it is rebuilt.
# Prints the path of an env file (KVER, VMLINUX, INITRD, KTREE) on its last line.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
CACHE=$REPO/.cache/hil
mkdir -p "$CACHE/debs"

say() { echo ">> hil: $*" >&2; }

KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
if [[ -z "$KPKG" ]]; then
  apt-get update -qq
  KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
fi
KVER=${KPKG#linux-image-}                 # e.g. 6.1.0-56-amd64
KSER=$(echo "$KVER" | cut -d. -f1-2)      # e.g. 6.1
DVER=$(apt-cache policy "$KPKG" | awk '/Candidate:/{print $2}')   # Debian version, e.g. 6.1.192-2
BUILD=$CACHE/$KVER
mkdir -p "$BUILD"

fetch() { # package=version: downloads into the .deb cache once
  local spec=$1 name=${1%%=*}
  if ! ls "$CACHE/debs/${name}_"*.deb >/dev/null 2>&1; then
    say "downloading $spec"
    (cd "$CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "$spec" >/dev/null) || {
      apt-get update -qq && (cd "$CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "$spec" >/dev/null)
    }
  fi
  ls "$CACHE/debs/${name}_"*.deb | head -1
}

# Old kernels' debs are dropped from the cache so it does not grow with every Debian update.
for d in "$CACHE"/debs/*.deb; do
  [[ -e "$d" ]] || continue
  case "$(basename "$d")" in *"${KVER%-amd64}"*|*"_${DVER}_"*|linux-kbuild-${KSER}_*|linux-compiler-*) ;; *) rm -f "$d" ;; esac
done

if [[ ! -f "$BUILD/.kernel" ]]; then
  KDEB=$(fetch "$KPKG=$DVER")
  rm -rf "$BUILD/tree" && mkdir -p "$BUILD/tree"
  say "unpacking $KPKG $DVER"
  dpkg-deb -x "$KDEB" "$BUILD/tree"
  touch "$BUILD/.kernel"
fi
KTREE=$BUILD/tree

if [[ ! -f "$BUILD/.src" ]]; then
  SDEB=$(fetch "linux-source-$KSER=$DVER")
  HDEB=$(fetch "linux-headers-$KVER=$DVER")
  CDEB=$(fetch "linux-headers-${KVER%-amd64}-common=$DVER")
  BDEB=$(fetch "linux-kbuild-$KSER=$DVER")
  rm -rf "$BUILD/hdr" "$BUILD/src" && mkdir -p "$BUILD/hdr" "$BUILD/src"
  for d in "$HDEB" "$CDEB" "$BDEB"; do dpkg-deb -x "$d" "$BUILD/hdr"; done
  # The arch headers include the common ones by absolute path (/usr/src/...): point it here.
  sed -i "s|/usr/src/|$BUILD/hdr/usr/src/|" "$BUILD/hdr/usr/src/linux-headers-$KVER/Makefile"
  say "extracting gpio-sim sources from linux-source-$KSER"
  dpkg-deb --fsys-tarfile "$SDEB" | tar -x -C "$BUILD/src" --wildcards './usr/src/linux-source-*.tar.xz'
  tar -xJf "$BUILD"/src/usr/src/linux-source-*.tar.xz -C "$BUILD/src" --wildcards \
    '*/drivers/gpio/gpio-sim.c' '*/drivers/gpio/gpiolib.h' '*/kernel/irq/irq_sim.c' '*/scripts/extract-vmlinux'
  rm -rf "$BUILD/src/usr"
  touch "$BUILD/.src"
fi
SRC=$(echo "$BUILD"/src/linux-source-*)

if [[ ! -f "$BUILD/vmlinux" ]]; then
  say "extracting uncompressed vmlinux"
  bash "$SRC/scripts/extract-vmlinux" "$KTREE/boot/vmlinuz-$KVER" > "$BUILD/vmlinux.tmp"
  mv "$BUILD/vmlinux.tmp" "$BUILD/vmlinux"
fi

MODDIR=$KTREE/lib/modules/$KVER
if [[ ! -f "$MODDIR/extra/gpio-sim.ko" ]]; then
  say "building gpio-sim.ko for $KVER (out of tree)"
  M=$BUILD/gpio-sim-build
  rm -rf "$M" && mkdir -p "$M"
  cp "$SRC/drivers/gpio/gpio-sim.c" "$SRC/drivers/gpio/gpiolib.h" "$M/"
  # irq_sim is not built into Debian's kernel for gpio-sim's use; link a private copy into the
  # module. Its exports are dropped (a module must not re-export a kernel symbol), and
  # irq_to_desc() is not exported to modules: generic_handle_irq() does the same dispatch.
  sed -e '/EXPORT_SYMBOL/d' -e 's/handle_simple_irq(irq_to_desc(\([a-z_>.-]*\)))/generic_handle_irq(\1)/' \
    "$SRC/kernel/irq/irq_sim.c" > "$M/irq_sim.c"
  grep -q irq_to_desc "$M/irq_sim.c" && { echo "hil: irq_sim.c still calls irq_to_desc (kernel source changed)" >&2; exit 1; }
  printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio-sim-main.o irq_sim.o\n' > "$M/Kbuild"
  mv "$M/gpio-sim.c" "$M/gpio-sim-main.c"
  make -s -C "$BUILD/hdr/usr/src/linux-headers-$KVER" M="$M" modules >&2
  mkdir -p "$MODDIR/extra"
  cp "$M/gpio-sim.ko" "$MODDIR/extra/gpio-sim.ko"
  depmod -b "$KTREE" "$KVER"
fi
[[ -f "$MODDIR/modules.dep" ]] || depmod -b "$KTREE" "$KVER"

INITRD=$BUILD/initramfs.cpio.gz
if [[ ! -f "$INITRD" || "$REPO/test/hil/init.sh" -nt "$INITRD" ]]; then
  say "building initramfs"
  R=$BUILD/initramfs
  rm -rf "$R" && mkdir -p "$R"/{bin,dev,proc,sys,host,lib/modules}
  cp /bin/busybox "$R/bin/busybox"
  cp "$REPO/test/hil/init.sh" "$R/init" && chmod +x "$R/init"
  : > "$R/modules.order"
  # One module per --show-depends call: further names would be taken as module parameters.
  for m in $(for x in virtio_pci 9pnet_virtio 9p virtio_blk ext4; do modprobe -d "$KTREE" -S "$KVER" --show-depends "$x"; done | awk '$1=="insmod"{print $2}'); do
    b=$(basename "$m")
    case "$m" in
      *.xz) xz -dc "$m" > "$R/lib/modules/${b%.xz}"; b=${b%.xz} ;;
      *.zst) zstd -qdc "$m" > "$R/lib/modules/${b%.zst}"; b=${b%.zst} ;;
      *) cp "$m" "$R/lib/modules/$b" ;;
    esac
    grep -qx "$b" "$R/modules.order" || echo "$b" >> "$R/modules.order"
  done
  (cd "$R" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$INITRD"
fi

cat > "$BUILD/env" <<ENV
KVER=$KVER
VMLINUX=$BUILD/vmlinux
INITRD=$INITRD
KTREE=$KTREE
ENV
echo "$BUILD/env"
