#!/bin/bash
# Runs inside the HIL VM (chrooted into the host's read-only root). Loads the real kernel drivers
# the qemu-hil board uses, configures them like a camera board, runs one phase's tests and
# leaves their TAP in the results share ($HIL_RESULTS).
#   phase main:     driver/backend tests, selftest, agent tests; then starts a shift on the ext4
#                   data disk and arms a power cut: the host kills qemu a random moment later.
#   phase recoverN: a new boot on the same disk after cut N: the agent must resume the shift;
#                   recover1..recover3 arm the next cut (test/hil/powercut.ts); recover3 arms
#                   cut 4 in a custody duty, recover4 checks it.
set -uo pipefail
PHASE=${1:-main}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
KTREE=$REPO/.cache/hil/$(uname -r)/tree
export HIL_REPO=$REPO
MP=(modprobe -d "$KTREE")
log() { echo "HIL[$PHASE]: $*"; }

"${MP[@]}" gpio-sim || { log "cannot load gpio-sim"; exit 90; }
"${MP[@]}" vivid n_devs=1 node_types=0x1 num_inputs=1 input_types=0x0 || { log "cannot load vivid"; exit 90; }
"${MP[@]}" i2c-stub chip_addr=0x36,0x55 || { log "cannot load i2c-stub"; exit 90; }
"${MP[@]}" i2c-dev || { log "cannot load i2c-dev"; exit 90; }
"${MP[@]}" softdog soft_margin=120 || { log "cannot load softdog"; exit 90; }
"${MP[@]}" rtc-cmos 2>/dev/null || true

# configfs is a module on Debian: mountable only now that gpio-sim pulled it in.
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
# gpio-sim: one bank with the board's named lines. Inputs are driven from outside by writing
# pull-up/pull-down to sim_gpioN/pull; outputs are read back from sim_gpioN/value.
G=/sys/kernel/config/gpio-sim/bodycam
mkdir -p $G/bank0
echo bodycam-hil > $G/bank0/label
echo 9 > $G/bank0/num_lines
i=0
for n in shift privacy led_rec led_status haptic buzzer dock spare key; do
  mkdir -p $G/bank0/line$i && echo $n > $G/bank0/line$i/name
  i=$((i + 1))
done
echo 1 > $G/live || { log "cannot bring gpio-sim live"; exit 90; }

mods=$(awk '{print $1}' /proc/modules | grep -E '^(gpio_sim|vivid|i2c_stub|i2c_dev|softdog|rtc_cmos|videobuf2|v4l2|videodev)' | sort | tr '\n' ' ')
log "kernel $(uname -r); drivers loaded: $mods"
log "gpio: $(gpiodetect | tr '\n' ';')"
log "video: $(ls /dev/video* 2>/dev/null | tr '\n' ' ') i2c: $(for d in /sys/class/i2c-dev/*; do printf '%s=%s ' "${d##*/}" "$(cat "$d/name")"; done)"
log "watchdog: $(ls /dev/watchdog* 2>/dev/null | tr '\n' ' ') rtc: $(ls /dev/rtc* 2>/dev/null | tr '\n' ' ')"

# The guest clock against the host's, right after boot (the power-cut checks measure it again,
# test/hil/powercut.ts clockSkew): the host kernel stamps the probe's mtime with the host clock.
probe=$HIL_RESULTS/.clock-at-boot
t0=$EPOCHREALTIME; : > "$probe"; m=$(stat -c %.6Y "$probe"); t1=$EPOCHREALTIME
log "guest clock - host clock at $(cut -d' ' -f1 /proc/uptime) s uptime: $(awk -v a="$t0" -v b="$t1" -v m="$m" 'BEGIN { printf "%+d ms (± %d ms)", ((a + b) / 2 - m) * 1000, (b - a) / 2 * 1000 + 4 }')"

# The evidence data disk (virtio-blk, ext4, formatted by the host before the first boot).
if [[ -b /dev/vda ]]; then
  mkdir -p /var/tmp/data && mount -t ext4 /dev/vda /var/tmp/data && export HIL_DATA=/var/tmp/data
  log "data disk /dev/vda mounted on /var/tmp/data"
fi

# The update sequence (phases upd*): the booted slot read-only on /run/bodycam/slot, a system bus
# and `rauc service` with the run's system.conf (test/hil/rauc/prepare.sh made it on the host).
if [[ $PHASE == upd* ]]; then
  "${MP[@]}" loop && "${MP[@]}" squashfs || { log "cannot load loop/squashfs (RAUC mounts bundles)"; exit 90; }
  RAUC_DIR=$REPO/.cache/hil/out/rauc
  slot=$(sed -n 's/.*rauc\.slot=\([^ ]*\).*/\1/p' /proc/cmdline)
  case "$slot" in A) dev=/dev/vdb ;; B) dev=/dev/vdc ;; *) log "no rauc.slot on the kernel command line"; exit 90 ;; esac
  mkdir -p /run/bodycam/slot /run/rauc/mnt /run/dbus "$HIL_DATA/rauc"
  mount -t ext4 -o ro "$dev" /run/bodycam/slot || { log "cannot mount slot $slot ($dev)"; exit 90; }
  log "booted slot $slot ($dev): $(. /run/bodycam/slot/etc/os-release; echo "$PRETTY_NAME")"
  dbus-daemon --config-file="$REPO/test/hil/rauc/dbus-system.conf" --fork --nopidfile || { log "cannot start dbus-daemon"; exit 90; }
  export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket
  rauc service --conf="$RAUC_DIR/system.conf" > "$HIL_RESULTS/rauc-service.log" 2>&1 &
  for _ in $(seq 1 100); do rauc status --conf="$RAUC_DIR/system.conf" >/dev/null 2>&1 && break; sleep 0.2; done
  log "rauc: $(rauc status --conf="$RAUC_DIR/system.conf" --output-format=json 2>&1 | head -c 600)"
  export HIL_RAUC_DIR=$RAUC_DIR HIL_SLOT=$slot
fi

cd "$REPO"
if [[ -n "${HIL_DEBUG:-}" ]]; then
  log "debug: node $HIL_DEBUG"
  node "$HIL_DEBUG"
  exit $?
fi
shopt -s nullglob
files=(dist/test/hil/"$PHASE"/*.test.js)
rc=0
if ((${#files[@]})); then
  node --test --test-concurrency=1 --test-timeout=300000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$HIL_RESULTS/guest.tap" "${files[@]}" || rc=$?
else
  log "no tests for phase $PHASE"
  rc=1
fi

if [[ $PHASE == main && -f dist/test/hil/powerloss-prepare.js ]]; then
  log "preparing the power cut"
  node dist/test/hil/powerloss-prepare.js || { log "power-loss preparation failed"; echo "prepare-failed" > "$HIL_RESULTS/powerloss-failed"; }
fi
# An agent's reboot request ends the boot here: run.sh, the bootloader, picks the next slot.
[[ -f "$HIL_RESULTS/reboot-requested" ]] && log "reboot requested by the agent: $(cat "$HIL_RESULTS/reboot-requested")"
exit $rc
