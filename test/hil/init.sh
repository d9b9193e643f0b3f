#!/bin/busybox sh
# PID 1 of the HIL VM (in the initramfs). Mounts the host's root filesystem read-only over 9p
# (so the project's node, node_modules and ffmpeg run unchanged), a writable results share, the
# data disk's mount point, then runs the test command from the kernel command line in a chroot.
# PID 1 stays here so it can report the exit code and power off: the host reads `rc` from the
# results share.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod /lib/modules/$m 2>/dev/null; done

arg() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" /proc/cmdline | head -1; }
RESULTS=$(arg hil_results)
REPO=$(arg hil_repo)
CMD=$(arg hil_cmd)
PHASE=$(arg hil_phase)
DEBUG=$(arg hil_debug)

fail() { echo "HIL-INIT: $*"; echo 99 > /host$RESULTS/rc 2>/dev/null; poweroff -f; }

mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=loose,ro hostroot /host || fail "cannot mount hostroot"
# Keep a view of the host's /tmp etc. before the guest's own tmpfs covers them: a checkout that
# lives under /tmp (CI clones may) is bound back in, or node, dist and the results share vanish.
mkdir -p /hostraw && mount -o bind /host /hostraw
for d in tmp run var/tmp; do mount -t tmpfs -o mode=1777 tmpfs /host/$d; done
case "$REPO" in
  /tmp/*|/run/*|/var/tmp/*) mkdir -p "/host$REPO" && mount -o bind "/hostraw$REPO" "/host$REPO" || fail "cannot bind $REPO" ;;
esac
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=none results /host$RESULTS || fail "cannot mount results"
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts && mount -t devpts devpts /host/dev/pts
hostname hil-vm
# No NIC (-nic none), but loopback is needed: the tests run mosquitto on 127.0.0.1.
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

chroot /host /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/tmp TERM=dumb \
  BODYCAM_HIL=1 HIL_RESULTS="$RESULTS" HIL_PHASE="$PHASE" HIL_DEBUG="$DEBUG" /bin/bash "$CMD" "$PHASE"
rc=$?
echo "HIL-EXIT $rc"
echo $rc > /host$RESULTS/rc
sync
poweroff -f
