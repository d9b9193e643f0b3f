#!/usr/bin/env bash
# `make hil` / `make test-hil`: the hardware-in-the-loop stage. Boots a qemu VM whose kernel
# offers real drivers (gpio-sim, i2c-stub, vivid, softdog, RTC) with this machine's root
# filesystem read-only inside, and runs test/hil/guest.sh there, in five boots on one ext4
# virtual disk, four of which end in a hard power-off (kill -9 qemu: the guest's unwritten page
# cache is really lost) at a random moment of a shift (test/hil/powercut.ts):
#   1. main:     backend tests on the drivers, selftest, agent tests; then starts shift A (plain)
#                and arms cut 1;
#   2. recover1: resumes shift A, checks cut 1, arms cut 2;
#   3. recover2: resumes shift A, checks cut 2, ends and verifies A; starts shift B with
#                encryption at rest, arms cut 3;
#   4. recover3: resumes shift B, checks cut 3, ends and verifies B with central's key; restarts
#                the agent in custody mode (duty starts by itself, period 1), arms cut 4;
#   5. recover4: checks the agent resumes the same custody period after cut 4 (short: no new
#                duty, just the checks and an open-period verify).
# A boot "arms" a cut by leaving armed.json in its results share; this script then waits a random
# 3–12 s (drawn from HIL_SEED, printed: set it to replay the same delays) and kills qemu, noting
# its wall clock at the kill in cut.json for the next boot.
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
DRIVES=(-drive file="$DISK",format=raw,if=virtio,cache=writeback)

# The cut delays: a random 3–12 s after a boot arms its cut, from one printed seed (cut 4 drawn
# last: a seed replays cuts 1–3 as before it was added).
SEED=${HIL_SEED:-$(( (RANDOM << 15 | RANDOM) % 1000000 ))}
RANDOM=$SEED
DELAY_MS=()
for n in 1 2 3 4; do DELAY_MS[n]=$(( 3000 + (RANDOM << 15 | RANDOM) % 9001 )); done

boot() { # phase, timeout seconds, [cut number]: boots the VM for one phase; with a cut number, kills it once armed
  local phase=$1 limit=$2 cut=${3:-}
  local res=$OUT/$phase
  mkdir -p "$res"
  echo ">> hil: boot '$phase' (kernel $KVER, ${ACCEL[*]})"
  qemu-system-x86_64 "${ACCEL[@]}" -m 1536 -smp 2 -nographic -no-reboot -nic none \
    -kernel "$VMLINUX" -initrd "$INITRD" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 ${APPEND_EXTRA:-}hil_results=$res hil_repo=$REPO hil_cmd=$REPO/test/hil/guest.sh hil_phase=$phase hil_debug=${HIL_DEBUG:-}" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs local,path="$res",mount_tag=results,security_model=none \
    "${DRIVES[@]}" \
    </dev/null > "$res/console.log" 2>&1 &
  local qpid=$! start=$SECONDS cut_done=0
  tail -n +1 -f "$res/console.log" --pid=$qpid 2>/dev/null | sed -u 's/\r$//' &
  local tpid=$!
  while kill -0 $qpid 2>/dev/null; do
    if [[ -n "$cut" && -f "$res/armed.json" ]]; then
      local seen=$EPOCHREALTIME delay=${DELAY_MS[cut]}
      echo ">> hil: cut $cut armed; cutting the VM's power in $delay ms (kill -9 qemu)"
      sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
      if kill -0 $qpid 2>/dev/null; then
        # EPOCHREALTIME is a shell variable (no fork): the kill lies between these two stamps.
        local before=$EPOCHREALTIME
        kill -9 $qpid
        local after=$EPOCHREALTIME
        printf '{"cut":%d,"seed":%d,"delayMs":%d,"armSeenS":%s,"killBeforeS":%s,"killAfterS":%s}\n' \
          "$cut" "$SEED" "$delay" "$seen" "$before" "$after" > "$res/cut.json"
        cut_done=1
      fi
      break
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
  return 0
}

# The update sequence: RAUC in the guest, two slot disks, and this script as the bootloader.
RAUC_OUT=$OUT/rauc
BOOTENV=$RAUC_OUT/img/bootenv.img
# Like U-Boot's boot-count logic: the first slot in BOOT_ORDER with attempts left boots, and
# loses one attempt; RAUC's custom backend (test/hil/rauc/bootloader.sh) writes the same block.
pick_slot() {
  local -A v=()
  while IFS='=' read -r k x; do [[ -n "$k" ]] && v[$k]=$x; done < <(tr -d '\0' < "$BOOTENV")
  local s
  for s in ${v[BOOT_ORDER]}; do
    if (( ${v[BOOT_${s}_LEFT]:-0} > 0 )); then
      v[BOOT_${s}_LEFT]=$(( v[BOOT_${s}_LEFT] - 1 ))
      printf 'BOOT_ORDER=%s\nBOOT_A_LEFT=%s\nBOOT_B_LEFT=%s\n' "${v[BOOT_ORDER]}" "${v[BOOT_A_LEFT]}" "${v[BOOT_B_LEFT]}" |
        dd of="$BOOTENV" bs=4096 count=1 conv=sync,notrunc status=none
      echo "$s"; return 0
    fi
  done
  return 1
}
update_boots() { # the four boots of test/hil/upd1..upd4; each after the first follows a reboot the agent asked for
  echo ">> hil: update sequence (RAUC $(rauc --version | awk '{print $2}'), bundles by rauc bundle, test CA by openssl)"
  bash test/hil/rauc/prepare.sh "$RAUC_OUT" "$REPO" | sed 's/^/>> hil: bundle /'
  DRIVES=()
  for d in data slot-a slot-b; do DRIVES+=(-drive file="$RAUC_OUT/img/$d.img",format=raw,if=virtio,cache=writeback); done
  DRIVES+=(-drive file="$BOOTENV",format=raw,if=virtio,cache=writethrough)
  local phase slot
  for phase in upd1 upd2 upd3 upd4; do
    slot=$(pick_slot) || { echo ">> hil: bootloader: no slot has boot attempts left"; break; }
    echo ">> hil: bootloader: booting slot $slot ($(tr -d '\0' < "$BOOTENV" | tr '\n' ' '))"
    APPEND_EXTRA="rauc.slot=$slot " boot "$phase" 420
    echo "$slot" > "$OUT/$phase/slot"
    [[ $phase == upd4 || -f $OUT/$phase/reboot-requested ]] || { echo ">> hil: '$phase' asked for no reboot: sequence ends"; break; }
  done
  APPEND_EXTRA=""
}

if [[ -n "${HIL_DEBUG:-}" ]]; then
  # Developer aid: `HIL_DEBUG=/abs/path/script.mjs make hil` runs one script in the VM, no tests.
  boot main 600
  exit 0
fi
if [[ ${HIL_ONLY:-} == update ]]; then
  # Developer aid: `HIL_ONLY=update make hil` runs the update sequence alone (~4 boots).
  update_boots
  node test/hil/merge-tap.mjs "$OUT" "$TAP" update
  exit $?
fi
echo ">> hil: power cuts at random moments: seed $SEED (replay: HIL_SEED=$SEED make test-hil), ${DELAY_MS[1]}/${DELAY_MS[2]}/${DELAY_MS[3]}/${DELAY_MS[4]} ms after arming"
stage_start=$SECONDS
# main runs every test file of test/hil/main (dock duty, one-key, obstruction and clock-step tests
# added ~3 min under TCG) before it arms cut 1.
boot main 720 1
[[ -f $OUT/main/cut.json ]] && boot recover1 300 2
[[ -f $OUT/recover1/cut.json ]] && boot recover2 360 3
[[ -f $OUT/recover2/cut.json ]] && boot recover3 300 4
[[ -f $OUT/recover3/cut.json ]] && boot recover4 300
update_boots
echo ">> hil: boots took $((SECONDS - stage_start)) s"

node test/hil/merge-tap.mjs "$OUT" "$TAP"
