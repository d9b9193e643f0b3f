# The camera's RAUC configuration: two rootfs slots (A/B) and the keyring bundles are checked
# against. The keyring shipped here is a development CA whose key is not kept anywhere, so it
# verifies nothing a release would sign: set your release CA in local.conf or a distro bbappend,
#   RAUC_KEYRING_FILE = "release-ca.cert.pem" + FILESEXTRAPATHS to where it lives.
FILESEXTRAPATHS:prepend := "${THISDIR}/files:"
RAUC_KEYRING_FILE ?= "bodycam-dev-ca.cert.pem"
