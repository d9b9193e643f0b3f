#!/bin/bash
# RAUC's `custom` bootloader backend for the HIL VM (system.conf: bootloader=custom). The boot
# environment is one 4 KiB block on /dev/vdd holding U-Boot-like variables: BOOT_ORDER (slots in
# order of preference) and BOOT_<slot>_LEFT (boot attempts left; 0 = bad). test/hil/run.sh is the
# bootloader: before each boot it picks the first slot in BOOT_ORDER with attempts left,
# decrements them and passes rauc.slot=<slot> on the kernel command line.
# RAUC calls: get-primary | set-primary SLOT | get-state SLOT | set-state SLOT good|bad
set -euo pipefail
ENV_DEV=${HIL_BOOTENV:-/dev/vdd}
ATTEMPTS=3
declare -A V=()
# No process substitution: the VM's devtmpfs has no /dev/fd.
ENV_TEXT=$(tr -d '\0' < "$ENV_DEV")
while IFS='=' read -r k v; do [[ -n "$k" ]] && V[$k]=$v; done <<< "$ENV_TEXT"
save() {
  printf 'BOOT_ORDER=%s\nBOOT_A_LEFT=%s\nBOOT_B_LEFT=%s\n' "${V[BOOT_ORDER]}" "${V[BOOT_A_LEFT]}" "${V[BOOT_B_LEFT]}" |
    dd of="$ENV_DEV" bs=4096 count=1 conv=sync,fsync oflag=direct status=none
}
check() { [[ "$1" == A || "$1" == B ]] || { echo "bootloader.sh: unknown slot '$1'" >&2; exit 1; }; }
case "${1:-}" in
  get-primary)
    for s in ${V[BOOT_ORDER]}; do
      if (( ${V[BOOT_${s}_LEFT]:-0} > 0 )); then echo "$s"; exit 0; fi
    done
    echo "bootloader.sh: no slot has boot attempts left" >&2; exit 1 ;;
  set-primary)
    check "$2"
    order="$2"; for s in ${V[BOOT_ORDER]}; do [[ $s == "$2" ]] || order="$order $s"; done
    V[BOOT_ORDER]=$order; V[BOOT_${2}_LEFT]=$ATTEMPTS; save ;;
  get-state)
    check "$2"
    if (( ${V[BOOT_${2}_LEFT]:-0} > 0 )); then echo good; else echo bad; fi ;;
  set-state)
    check "$2"
    case "$3" in good) V[BOOT_${2}_LEFT]=$ATTEMPTS ;; bad) V[BOOT_${2}_LEFT]=0 ;; *) echo "bootloader.sh: state '$3'?" >&2; exit 1 ;; esac
    save ;;
  get-current)
    sed -n 's/.*rauc\.slot=\([^ ]*\).*/\1/p' /proc/cmdline ;;
  *) echo "bootloader.sh: unknown call '${1:-}'" >&2; exit 1 ;;
esac
