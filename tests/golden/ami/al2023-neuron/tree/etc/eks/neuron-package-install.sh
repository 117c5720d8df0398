#!/usr/bin/env bash
# /etc/eks/neuron-package-install.sh: written by `eksnode ami` (Neuron variant), run at boot by
# neuron-package-install.service, after Amazon Linux 2023's templates/al2023/runtime/gpu/neuron-package-install.sh.
# inf1 instances need the 2.21 Neuron driver: on one, the cached aws-neuronx-dkms 2.21 package replaces the
# newer driver the image carries; elsewhere nothing is done.
set -o errexit -o nounset -o pipefail

CACHE=/var/cache/eks/packages
AMAZON_VENDOR=1d0f
# Inferentia 1 device ids (aws-neuron-driver neuron_device.h).
INF1_DEVICES=(7064 7065 7066 7067)

is_inf1() {
  local id
  for id in "${INF1_DEVICES[@]}"; do
    if [ -n "$(lspci -n -d "${AMAZON_VENDOR}:${id}")" ]; then return 0; fi
  done
  return 1
}

installed=$(rpm -q aws-neuronx-dkms --queryformat '%{VERSION}' 2> /dev/null || true)
if is_inf1 && [[ "$installed" != 2.21.* ]]; then
  echo >&2 "neuron-package-install: inf1: installing the 2.21 driver (have ${installed:-none})"
  # The package's scriptlet calls update-pciids, which hangs without internet; the ids of the build suffice.
  update-pciids() { :; }
  export -f update-pciids
  # rpm, not dnf downgrade: the newer package's removal leaves its module loaded, which dnf's downgrade trips on.
  rpm --erase aws-neuronx-dkms || true
  rpm -i "$CACHE"/aws-neuronx-dkms-2.21.*.rpm
else
  echo >&2 "neuron-package-install: nothing to do"
fi
