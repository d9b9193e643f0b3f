SUMMARY = "bodycam-agent: control agent of a body-worn evidence camera"
DESCRIPTION = "Shift policy, gapless recording through ffmpeg, hash-chained signed evidence, \
MQTT telemetry and signed commands, offload to an S3-compatible evidence store."
LICENSE = "CLOSED"

# The agent's source tree: point BODYCAM_SRC_URI at your release tarball or git repository.
BODYCAM_SRC_URI ?= "git://git.example.invalid/bodycam-agent.git;protocol=https;branch=main"
SRC_URI = "${BODYCAM_SRC_URI} \
           file://bodycam-agent.service \
           file://bodycam-agent.sysusers \
           file://bodycam-agent.tmpfiles \
           file://90-bodycam.rules \
           file://agent.json \
          "
SRCREV ?= "${AUTOREV}"
S = "${WORKDIR}/git"

# npm.bbclass vendors the dependencies listed in package-lock.json (shrinkwrap) at fetch time,
# so the build itself runs offline; native addons (i2c-bus, epoll, sd-notify) are cross-built.
inherit npm systemd useradd

NPM_SHRINKWRAP = "${S}/package-lock.json"
DEPENDS += "nodejs-native systemd"

# What the agent runs at run time. ffmpeg needs x264 (commercial licence flag) or the SoC encoder.
RDEPENDS:${PN} += "nodejs ffmpeg v4l-utils libgpiod-tools util-linux-setpriv i2c-tools \
                   ttf-dejavu-sans-mono systemd"
LICENSE_FLAGS_ACCEPTED:append = " commercial_ffmpeg commercial_x264"

# The compiled agent: `make build` output only (tests, sources and dev tools stay out of the image).
do_compile:append() {
    cd ${S}
    ${STAGING_BINDIR_NATIVE}/node node_modules/typescript/bin/tsc -p tsconfig.json
}

do_install:append() {
    install -d ${D}${libdir}/bodycam-agent
    cp -R --no-preserve=ownership ${S}/dist/agent ${S}/dist/hal ${S}/board-configs ${S}/package.json ${D}${libdir}/bodycam-agent/
    install -d ${D}${bindir}
    ln -sf ${libdir}/bodycam-agent/agent/cli/main.js ${D}${bindir}/bodycam

    install -d ${D}${systemd_system_unitdir}
    install -m 0644 ${WORKDIR}/bodycam-agent.service ${D}${systemd_system_unitdir}/
    install -d ${D}${sysconfdir}/bodycam
    install -m 0640 ${WORKDIR}/agent.json ${D}${sysconfdir}/bodycam/agent.json
    install -d ${D}${sysconfdir}/udev/rules.d
    install -m 0644 ${WORKDIR}/90-bodycam.rules ${D}${sysconfdir}/udev/rules.d/
    install -d ${D}${nonarch_libdir}/tmpfiles.d
    install -m 0644 ${WORKDIR}/bodycam-agent.tmpfiles ${D}${nonarch_libdir}/tmpfiles.d/bodycam-agent.conf
}

# The board this image is for: set BODYCAM_BOARD in the machine or local.conf.
BODYCAM_BOARD ?= "sim"
do_install:append() {
    sed -i -e 's,@BOARD@,${BODYCAM_BOARD},g' ${D}${systemd_system_unitdir}/bodycam-agent.service
}

USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system bodycam; --system gpio; --system i2c"
USERADD_PARAM:${PN} = "--system --home-dir /var/lib/bodycam --no-create-home --shell /sbin/nologin \
                       --gid bodycam --groups video,audio,gpio,i2c bodycam"

SYSTEMD_SERVICE:${PN} = "bodycam-agent.service"
SYSTEMD_AUTO_ENABLE = "enable"

FILES:${PN} += "${libdir}/bodycam-agent ${systemd_system_unitdir} ${nonarch_libdir}/tmpfiles.d ${sysconfdir}"
CONFFILES:${PN} = "${sysconfdir}/bodycam/agent.json"
