#!/usr/bin/env bash
# /etc/eks/nvidia-kmod-load.sh: written by `eksnode ami` (NVIDIA variant), run at boot by
# nvidia-kmod-load.service. Chooses the NVIDIA kernel module for the attached GPUs, as Amazon Linux 2023's
# templates/al2023/runtime/gpu/nvidia-kmod-load.sh does, and loads it from the DKMS archive:
#   - the open module (nvidia-open) when every NVIDIA display/3D controller is in the open module's list of
#     supported devices (/etc/eks/nvidia-open-supported-devices-MAJOR.txt);
#   - otherwise, and always on g4dn, g5 and g5g (their GPU System Processor is turned off, which only the
#     proprietary module can do), the proprietary module (nvidia);
#   - before both, for an L4 vGPU profile (g6f, gr6f: fractional GPUs, PCI subsystem 10de:1733/1735/1737),
#     the GRID module (nvidia-open-grid), as AL2023's script does. eksnode does not build it (NVIDIA's GRID
#     runfile comes from an EC2 S3 bucket that needs AWS credentials and has no published checksum:
#     docs/al2023.md), so it is loaded when an archive of it is on the image; without one the script fails
#     naming the device, since neither other module drives a vGPU profile.
set -o errexit -o nounset -o pipefail

NVIDIA_VENDOR=10de
# PCI classes of NVIDIA GPUs: 0300 VGA controller (g4dn, g5), 0302 3D controller (p4d, p5).
GPU_CLASSES=(0300 0302)
# device:subsystem of the L4's vGPU profiles (AL2023's NVIDIA_GRID_SUBDEVICES): L4-3Q, L4-6Q, L4-12Q.
GRID_SUBDEVICES=(27b8:1733 27b8:1735 27b8:1737)
# Directories and IMDS as on a node; the variables only exist for tests/steps/ami/ami_al2023_test.ts.
ARCHIVE_DIR=${DKMS_ARCHIVE_DIR:-/var/lib/dkms-archive}
LIST_DIR=${EKS_ETC_DIR:-/etc/eks}
MODPROBE_DIR=${MODPROBE_DIR:-/etc/modprobe.d}
IMDS=${IMDS_ENDPOINT:-http://169.254.169.254}

log() { echo >&2 "nvidia-kmod-load: $*"; }

if [ -z "$(lspci -n -d "${NVIDIA_VENDOR}:")" ]; then
  log "no NVIDIA device attached: no module loaded"
  exit 0
fi

# The PCI device ids (upper case hex) of the attached NVIDIA GPUs.
gpu_ids() {
  local class
  for class in "${GPU_CLASSES[@]}"; do
    lspci -n -mm -d "${NVIDIA_VENDOR}::${class}" | awk '{ gsub(/"/, "", $4); print toupper($4) }'
  done
}

# The open module's supported device list, for the archived module's major version.
open_devices_file() {
  local archive major
  archive=$(ls "$ARCHIVE_DIR"/nvidia-open/*.tar.gz 2> /dev/null | head -n 1) || true
  [ -n "$archive" ] || return 1
  major=$(basename "$archive" | sed -E 's/^[^0-9]*([0-9]+)\..*/\1/')
  [ -f "${LIST_DIR}/nvidia-open-supported-devices-${major}.txt" ] || return 1
  echo "${LIST_DIR}/nvidia-open-supported-devices-${major}.txt"
}

all_supported_by_open() {
  local list id
  list=$(open_devices_file) || return 1
  for id in $(gpu_ids); do
    grep -q "^0x${id}[[:space:]]" "$list" || return 1
  done
  return 0
}

# The first attached vGPU profile (device:subsystem, lower case), if any. `lspci -n -mm` fields: slot,
# "class", "vendor", "device", -rREV, "subsystem vendor", "subsystem".
grid_device() {
  local pair grid
  for pair in $(lspci -n -mm -d "${NVIDIA_VENDOR}:" | awk '{ gsub(/"/, ""); print tolower($4 ":" $7) }'); do
    for grid in "${GRID_SUBDEVICES[@]}"; do
      if [ "$pair" = "$grid" ]; then
        echo "$pair"
        return 0
      fi
    done
  done
  return 1
}

token=$(curl -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "${IMDS}/latest/api/token" || true)
instance_type=$(curl -sf -H "X-aws-ec2-metadata-token: ${token}" "${IMDS}/latest/meta-data/instance-type" || true)

module=nvidia
if grid=$(grid_device); then
  if ! ls "$ARCHIVE_DIR"/nvidia-open-grid/*.tar.gz > /dev/null 2>&1; then
    log "vGPU profile ${grid} attached: it needs the GRID module (nvidia-open-grid), which this image has no archive of (eksnode does not build it)"
    exit 1
  fi
  log "vGPU profile ${grid}: GRID module"
  module=nvidia-open-grid
elif all_supported_by_open; then
  module=nvidia-open
fi
case "$instance_type" in
  g4dn.* | g5.* | g5g.*)
    log "$instance_type: GSP firmware off, proprietary module"
    echo "options nvidia NVreg_EnableGpuFirmware=0" > "${MODPROBE_DIR}/nvidia-disable-gsp.conf"
    module=nvidia
    ;;
esac
# Coherent memory in driver mode (GB200 and the like; the 580 driver onwards reads it).
echo "options nvidia NVreg_CoherentGPUMemoryMode=driver" > "${MODPROBE_DIR}/40-eks-nvidia-openrm.conf"

log "loading $module for ${instance_type:-an unknown instance type}"
kmod-util load "$module"
