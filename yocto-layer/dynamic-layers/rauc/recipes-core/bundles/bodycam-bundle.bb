SUMMARY = "Signed RAUC update bundle of bodycam-image (rootfs slot)"
DESCRIPTION = "What a camera installs with `bodycam update` or central's update_firmware command: \
the image's root filesystem, signed; the camera's RAUC checks it against its keyring."
LICENSE = "MIT"

inherit bundle

RAUC_BUNDLE_COMPATIBLE = "bodycam"
# The agent refuses a bundle that is not newer than the running one (docs/updates.md): MAJOR.MINOR.PATCH.
RAUC_BUNDLE_VERSION ?= "${DISTRO_VERSION}"
RAUC_BUNDLE_DESCRIPTION = "bodycam-image"
# verity: RAUC checks every block as it reads the bundle (plain bundles are refused by system.conf).
RAUC_BUNDLE_FORMAT = "verity"
RAUC_BUNDLE_SLOTS = "rootfs"
RAUC_SLOT_rootfs = "bodycam-image"
RAUC_SLOT_rootfs[fstype] = "ext4"
# The release signing key and certificate (chained to the keyring's CA) come from the build
# host's local.conf, never from this layer: RAUC_KEY_FILE, RAUC_CERT_FILE.
