SUMMARY = "A body-camera image: the agent, its service and the tools a firmware engineer needs"
LICENSE = "MIT"

inherit core-image features_check
REQUIRED_DISTRO_FEATURES = "systemd"

# A read-only root; evidence on its own ext4 partition mounted read-write at /var/lib/bodycam
# (bodycam-image.wks + bodycam-agent-evidence-mount), not on volatile-binds' tmpfs.
IMAGE_FEATURES += "read-only-rootfs"
IMAGE_INSTALL:append = " bodycam-agent bodycam-agent-evidence-mount v4l-utils i2c-tools libgpiod-tools"
IMAGE_FSTYPES += "wic"
WKS_FILE = "bodycam-image.wks"
