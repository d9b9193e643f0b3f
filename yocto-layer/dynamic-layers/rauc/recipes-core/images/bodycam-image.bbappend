# With meta-rauc: RAUC and its configuration in the image, two root slots and the evidence
# partition outside them (bodycam-image-ab.wks), and an ext4 of the root for the bundle's slot.
REQUIRED_DISTRO_FEATURES += "rauc"
IMAGE_INSTALL:append = " rauc libubootenv-bin"
IMAGE_FSTYPES += "ext4"
WKS_FILE = "bodycam-image-ab.wks"
