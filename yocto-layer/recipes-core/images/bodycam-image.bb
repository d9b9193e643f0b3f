SUMMARY = "A body-camera image: the agent, its service and the tools a firmware engineer needs"
LICENSE = "MIT"
inherit core-image
IMAGE_FEATURES += "read-only-rootfs"
IMAGE_INSTALL:append = " bodycam-agent v4l-utils i2c-tools libgpiod-tools"
# /var/lib/bodycam lives on the evidence partition (ext4, mounted rw), the rest is read-only.
