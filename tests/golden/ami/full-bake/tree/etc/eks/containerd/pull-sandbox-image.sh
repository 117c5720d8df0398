#!/usr/bin/env bash
# Pulls the sandbox (pause) image named in /etc/containerd/config.toml unless it is cached already.
# Written by eksnode ami (step 18); run by sandbox-image.service. Follows awslabs/amazon-eks-ami
# templates/al2/runtime/pull-sandbox-image.sh and sandbox-image.service @ 64b70169181842c11c8b142bb2d94558ceab5212:
# an ECR image is pulled with a login from `aws ecr get-login-password` for the registry's region.
set -o errexit -o nounset -o pipefail

config=/etc/containerd/config.toml
image="$(sed -n 's/^[[:space:]]*sandbox[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$config" | head -n 1)"
if [[ -z "$image" ]]; then
  echo "no sandbox image in $config: nothing to pull" >&2
  exit 0
fi
if ctr --namespace k8s.io images ls -q | grep -Fxq -- "$image"; then
  exit 0
fi
registry="${image%%/*}"
for attempt in 1 2 3 4 5; do
  if [[ "$registry" =~ \.dkr\.ecr(-fips)?\.([a-z0-9-]+)\. ]]; then
    if password="$(aws ecr get-login-password --region "${BASH_REMATCH[2]}")" &&
      ctr --namespace k8s.io images pull --user "AWS:${password}" "$image" >/dev/null; then
      exit 0
    fi
  elif ctr --namespace k8s.io images pull "$image" >/dev/null; then
    exit 0
  fi
  echo "pulling $image failed (attempt $attempt of 5)" >&2
  sleep $((attempt * 2))
done
exit 1
