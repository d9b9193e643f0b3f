SUMMARY = "bodycam-agent: control agent of a body-worn evidence camera"
DESCRIPTION = "Shift policy, gapless recording through ffmpeg, hash-chained signed evidence, \
MQTT telemetry and signed commands, offload to an S3-compatible evidence store."
HOMEPAGE = "https://bodycam.invalid/bodycam-agent"
LICENSE = "CLOSED"

# Sources: a pinned revision of the agent's git repository. Point BODYCAM_GIT_URI at your mirror
# and BODYCAM_SRCREV at the release commit in local.conf (README: quick start). No AUTOREV:
# a build must be reproducible and parse without network (BB_NO_NETWORK).
BODYCAM_GIT_URI ?= "git://git.bodycam.invalid/bodycam-agent.git;protocol=https;branch=main"
BODYCAM_SRCREV ?= "403c857c4b09b30b5154576bec05e6a9362f28d6"
SRCREV = "${BODYCAM_SRCREV}"
# "+git" makes BitBake append the revision: every commit gets its own package version.
PV .= "+git"

# scarthgap unpacks into WORKDIR, styhead and later into UNPACKDIR: one name for both.
BODYCAM_UNPACKDIR = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"
S = "${BODYCAM_UNPACKDIR}/git"

# The git source must stay first: its unpack replaces ${S}, the npm tarballs then land inside it.
SRC_URI = "${BODYCAM_GIT_URI};destsuffix=git \
           file://bodycam-agent.service \
           file://bodycam-agent@.service \
           file://var-lib-bodycam.mount \
           file://bodycam-agent.tmpfiles \
           file://90-bodycam.rules \
           file://agent.json \
          "
# npm dependencies as plain https:// tarballs checked by sha512 (generated from package-lock.json:
# scripts/yocto-npm-sources.mjs says why not npmsw://).
require bodycam-agent-npm.inc

inherit npm systemd useradd features_check

# The service, its watchdog and sd_notify are systemd's: INIT_MANAGER = "systemd" (README).
REQUIRED_DISTRO_FEATURES = "systemd"
DEPENDS += "systemd"

# What the agent runs at run time (nodejs itself comes from npm.bbclass). ffmpeg carries the
# "commercial" licence flag: accept it in local.conf (README), a recipe cannot do it for you.
RDEPENDS:${PN} += "ffmpeg v4l-utils libgpiod-tools util-linux-setpriv i2c-tools ttf-dejavu-sans-mono"

# Compile the agent before npm.bbclass packs ${S}: tsc and @types are in ${S}/node_modules (fetched
# above); only agent/ and hal/ are compiled (tests import tools the device build does not fetch).
# npm.bbclass caches the dependencies that ${S}/npm-shrinkwrap.json names: the project's lockfile.
bodycam_compile_typescript() {
    cd ${S}
    cp package-lock.json npm-shrinkwrap.json
    cat > tsconfig.device.json <<'TSCONFIG'
{ "extends": "./tsconfig.json", "include": ["agent/generated/**/*.js", "agent/**/*.ts", "hal/**/*.ts"] }
TSCONFIG
    ${STAGING_BINDIR_NATIVE}/node node_modules/typescript/bin/tsc -p tsconfig.device.json
}
do_configure[prefuncs] += "bodycam_compile_typescript"

# What npm installs next is the packed ${NPM_PACKAGE}: keep what runs on the device (package.json's
# "files"), not the sources, tests, build tools or their node_modules.
bodycam_prune_package() {
    cd ${NPM_PACKAGE}
    find . -mindepth 1 -maxdepth 1 ! -name package.json ! -name npm-shrinkwrap.json ! -name dist ! -name board-configs ! -name profiles -exec rm -rf {} +
    find dist -mindepth 1 -maxdepth 1 ! -name agent ! -name hal -exec rm -rf {} +
    find dist -name '*.map' -delete
}
do_configure[postfuncs] += "bodycam_prune_package"

# npm.bbclass installs one tree, ${nonarch_libdir}/node_modules/bodycam-agent (package.json, dist,
# board-configs, profiles and its own node_modules), and ${bindir}/bodycam -> its dist/agent/cli/main.js
# with the executable bit (package.json "bin").
BODYCAM_TREE = "${nonarch_libdir}/node_modules/${BPN}"
# The board config baked into the unit (`--board`): a name from board-configs/ or an absolute path
# on the target. No default: an image for a real camera that forgot it would record the sim
# board's test pattern. The machine config or local.conf sets it (BODYCAM_BOARD = "sim" only for
# a demo image); unset, the recipe is skipped and the image build stops naming this variable.
python () {
    import re
    board = (d.getVar('BODYCAM_BOARD') or '').strip()
    if not board:
        raise bb.parse.SkipRecipe('BODYCAM_BOARD is not set: set it in your machine config or local.conf to '
                                  'the board config this image runs with (a name from board-configs/, e.g. '
                                  '"rpi4-uvc", or an absolute path on the target; "sim" records a test pattern, demos only)')
    if not re.fullmatch(r'[A-Za-z0-9._/-]+', board):
        raise bb.parse.SkipRecipe('BODYCAM_BOARD = "%s" is not a board config name or path '
                                  '(letters, digits, ".", "_", "-", "/")' % board)
}

do_install:append() {
    # The unit names Debian's paths (the .deb uses them): rewrite them to this build's.
    install -d ${D}${systemd_system_unitdir}
    sed -e 's,/usr/lib/bodycam-agent/,${BODYCAM_TREE}/,g' \
        -e 's,/usr/bin/node ,${bindir}/node ,g' \
        -e 's,@BOARD@,${BODYCAM_BOARD},g' \
        -e 's,/var/lib/bodycam,${localstatedir}/lib/bodycam,g' \
        -e 's,/etc/bodycam/,${sysconfdir}/bodycam/,g' \
        ${BODYCAM_UNPACKDIR}/bodycam-agent.service > ${D}${systemd_system_unitdir}/bodycam-agent.service
    chmod 0644 ${D}${systemd_system_unitdir}/bodycam-agent.service
    # One agent per camera (bodycam-agent@NAME): board, config and data dir per instance, no board
    # baked in. Not enabled by the image: an instance is enabled per camera (systemctl enable
    # bodycam-agent@NAME) once its files exist (yocto-layer/README.md).
    sed -e 's,/usr/lib/bodycam-agent/,${BODYCAM_TREE}/,g' \
        -e 's,/usr/bin/node ,${bindir}/node ,g' \
        -e 's,/var/lib/bodycam,${localstatedir}/lib/bodycam,g' \
        -e 's,/etc/bodycam/,${sysconfdir}/bodycam/,g' \
        ${BODYCAM_UNPACKDIR}/bodycam-agent@.service > ${D}${systemd_system_unitdir}/bodycam-agent@.service
    chmod 0644 ${D}${systemd_system_unitdir}/bodycam-agent@.service
    install -d ${D}${sysconfdir}/bodycam/cameras
    install -m 0644 ${BODYCAM_UNPACKDIR}/var-lib-bodycam.mount ${D}${systemd_system_unitdir}/

    install -d ${D}${sysconfdir}/bodycam
    install -m 0640 ${BODYCAM_UNPACKDIR}/agent.json ${D}${sysconfdir}/bodycam/agent.json
    install -d ${D}${nonarch_base_libdir}/udev/rules.d
    install -m 0644 ${BODYCAM_UNPACKDIR}/90-bodycam.rules ${D}${nonarch_base_libdir}/udev/rules.d/
    install -d ${D}${nonarch_libdir}/tmpfiles.d
    install -m 0644 ${BODYCAM_UNPACKDIR}/bodycam-agent.tmpfiles ${D}${nonarch_libdir}/tmpfiles.d/bodycam-agent.conf
}

USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system bodycam; --system gpio; --system i2c"
USERADD_PARAM:${PN} = "--system --home-dir ${localstatedir}/lib/bodycam --no-create-home --shell ${sbindir}/nologin \
                       --gid bodycam --groups video,audio,gpio,i2c bodycam"

# The evidence partition's mount is its own package: an image without that partition (a dev board
# booted from one filesystem) installs the agent alone.
PACKAGES =+ "${PN}-evidence-mount"
SYSTEMD_PACKAGES = "${PN} ${PN}-evidence-mount"
SYSTEMD_SERVICE:${PN} = "bodycam-agent.service"
SYSTEMD_SERVICE:${PN}-evidence-mount = "var-lib-bodycam.mount"
SYSTEMD_AUTO_ENABLE = "enable"

FILES:${PN}-evidence-mount = "${systemd_system_unitdir}/var-lib-bodycam.mount"
FILES:${PN} += "${BODYCAM_TREE} ${systemd_system_unitdir}/bodycam-agent.service ${systemd_system_unitdir}/bodycam-agent@.service \
                ${nonarch_libdir}/tmpfiles.d ${nonarch_base_libdir}/udev/rules.d ${sysconfdir}/bodycam"
CONFFILES:${PN} = "${sysconfdir}/bodycam/agent.json"
