#!/usr/bin/env bash
# Written by eksnode (ami and init). Pulls the sandbox (pause) image into containerd's k8s.io namespace,
# with ECR credentials when a region is given. Usage: pull-sandbox-image.sh IMAGE [ECR_REGION]
set -o errexit -o nounset -o pipefail

image="$1"
region="${2:-}"

# grep reads the whole list: with pipefail, a grep --quiet that stops at the first match can make ctr die
# of SIGPIPE, and the image would be pulled again although it is there.
if ctr --namespace k8s.io image ls --quiet | grep --fixed-strings --line-regexp -- "$image" >/dev/null; then
  echo "sandbox image $image is already present"
  exit 0
fi

MAX_RETRIES=3
retry() {
  local attempt
  for attempt in $(seq 0 "$MAX_RETRIES"); do
    if "$@"; then return 0; fi
    if [[ $attempt -eq $MAX_RETRIES ]]; then return 1; fi
    echo >&2 "attempt $((attempt + 1)) of $((MAX_RETRIES + 1)) failed: $1; retrying"
    sleep $(((5 << (attempt + 1)) + RANDOM % 10))
  done
}

if [[ -z $region ]]; then
  retry ctr --namespace k8s.io image pull "$image"
  exit 0
fi

password="$(retry aws ecr get-login-password --region "$region")" || password=""
if [[ -z $password ]]; then
  echo >&2 "could not get an ECR password for $region; pulling $image without credentials"
  retry ctr --namespace k8s.io image pull "$image"
else
  retry ctr --namespace k8s.io image pull --user "AWS:$password" "$image"
fi
