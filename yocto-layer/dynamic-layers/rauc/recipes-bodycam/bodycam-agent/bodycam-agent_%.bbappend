# With meta-rauc (BBFILES_DYNAMIC): the agent may update the camera.
# - agent.json gains an `update` section (without one the agent refuses updates as unavailable);
#   its reboot command leaves a request that bodycam-reboot.path, as root, turns into a reboot:
#   the agent's user may not reboot through logind, and the image carries no polkit.
# - /etc/dbus-1/system.d/bodycam-rauc.conf: only root and group bodycam may call RAUC
#   (RAUC's own policy lets every local user install a bundle).
FILESEXTRAPATHS:prepend := "${THISDIR}/files:"
SRC_URI += "file://bodycam-reboot.path file://bodycam-reboot.service file://bodycam-rauc.conf"
RDEPENDS:${PN} += "rauc"

do_install:append() {
    install -m 0644 ${BODYCAM_UNPACKDIR}/bodycam-reboot.path ${BODYCAM_UNPACKDIR}/bodycam-reboot.service ${D}${systemd_system_unitdir}/
    install -d ${D}${sysconfdir}/dbus-1/system.d
    install -m 0644 ${BODYCAM_UNPACKDIR}/bodycam-rauc.conf ${D}${sysconfdir}/dbus-1/system.d/
}

SYSTEMD_SERVICE:${PN} += "bodycam-reboot.path"
FILES:${PN} += "${systemd_system_unitdir}/bodycam-reboot.path ${systemd_system_unitdir}/bodycam-reboot.service \
                ${sysconfdir}/dbus-1/system.d/bodycam-rauc.conf"
