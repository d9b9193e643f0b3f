#!/usr/bin/env bash
# `make hil` / `make test-hil`: the hardware-in-the-loop stage. Boots a qemu VM whose kernel
# offers real drivers (gpio-sim, i2c-stub, vivid, softdog, RTC) with this machine's root
# filesystem read-only inside, and runs test/hil/guest.sh there, in two boots:
#   1. main:    backend tests on the drivers, selftest, agent tests; ends with a shift recording
#               onto an ext4 virtual disk, whose power this script cuts (kill -9 qemu: the guest's
#               unwritten page cache is really lost);
#   2. recover: a new boot on the same disk; the agent must recover and journal the gap.
# HIL_DEBUG=/abs/path/script.mjs runs that script in one boot instead (drivers set up, no tests).
# Writes .cache/results/hil.tap (with `# pass N` / `# fail N`) and exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
CACHE=$REPO/.cache/hil
OUT=$CACHE/out
TAP=$REPO/.cache/results/hil.tap
mkdir -p "$REPO/.cache/results"

ENVFILE=$(bash test/hil/build-vm.sh | tail -1)
# shellcheck disable=SC1090
source "$ENVFILE"

if grep -qE '\b(vmx|svm)\b' /proc/cpuinfo && [[ -w /dev/kvm ]]; then
  ACCEL=(-accel kvm -cpu host)
else
  # /dev/kvm without vmx/svm is a nested software module here: a guest under it barely boots.
  ACCEL=(-accel tcg,thread=multi -cpu max)
fi

rm -rf "$OUT" && mkdir -p "$OUT"
DISK=$OUT/data.img
truncate -s 256M "$DISK"
mkfs.ext4 -q -F -L bodycam-data "$DISK"

boot() { # phase, timeout seconds, [cut]: boots the VM for one phase; with `cut`, kills it on the marker
  local phase=$1 limit=$2 cut=${3:-}
  local res=$OUT/$phase
  mkdir -p "$res"
  echo ">> hil: boot '$phase' (kernel $KVER, ${ACCEL[*]})"
  qemu-system-x86_64 "${ACCEL[@]}" -m 1536 -smp 2 -nographic -no-reboot -nic none \
    -kernel "$VMLINUX" -initrd "$INITRD" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 hil_results=$res hil_repo=$REPO hil_cmd=$REPO/test/hil/guest.sh hil_phase=$phase hil_debug=${HIL_DEBUG:-}" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs local,path="$res",mount_tag=results,security_model=none \
    -drive file="$DISK",format=raw,if=virtio,cache=writeback \
    </dev/null > "$res/console.log" 2>&1 &
  local qpid=$! start=$SECONDS cut_done=0
  tail -n +1 -f "$res/console.log" --pid=$qpid 2>/dev/null | sed -u 's/\r$//' &
  local tpid=$!
  while kill -0 $qpid 2>/dev/null; do
    if [[ -n "$cut" && -f "$res/powerloss-ready" ]]; then
      echo ">> hil: cutting the VM's power mid-shift (kill -9 qemu)"
      kill -9 $qpid; cut_done=1; break
    fi
    if (( SECONDS - start > limit )); then
      echo ">> hil: boot '$phase' exceeded ${limit}s, killing it"
      kill -9 $qpid; echo 98 > "$res/rc"; break
    fi
    sleep 0.2
  done
  wait $qpid 2>/dev/null || true
  sleep 0.3; kill $tpid 2>/dev/null || true; wait $tpid 2>/dev/null || true
  echo ">> hil: boot '$phase' ended after $((SECONDS - start)) s (rc $(cat "$res/rc" 2>/dev/null || echo none), power cut: $cut_done)"
  [[ $cut_done == 1 ]] && touch "$res/cut"
  return 0
}

if [[ -n "${HIL_DEBUG:-}" ]]; then
  # Developer aid: `HIL_DEBUG=/abs/path/script.mjs make hil` runs one script in the VM, no tests.
  boot main 600
  exit 0
fi
boot main 420 cut
if [[ -f $OUT/main/cut ]]; then
  boot recover 240
fi

node test/hil/merge-tap.mjs "$OUT" "$TAP"
