# Packer template: bake an Amazon EKS worker AMI with eksnode.
#
#   deno task build                     # writes dist/eksnode-linux-x86_64 (and -aarch64)
#   deno task eksnode -- versions --pin --config examples/packer/bake.toml   # once: the SHA-256 pins
#   packer init examples/packer && packer build \
#     -var kubernetes_version=1.32 examples/packer/eks-node.pkr.hcl
#
# The instance runs the 37 steps of `eksnode ami` (replacing amazon-eks-ami's install-worker.sh), the AL2023
# phase (steps 39-51: what Amazon Linux 2023's EKS image adds, the SOCI snapshotter among it; docs/al2023.md)
# and, with `--hygiene`, step 38, which removes what this build instance leaves (SSH host keys, machine id,
# logs, caches; AL2023's cleanup.sh); then `eksnode verify` re-hashes every installed binary against
# /etc/eks/release.json and fails on any such leftover before the AMI is taken. The image's
# /etc/eks/version-info.json is downloaded beside the manifest, as AL2023's build does.
# A variant build, e.g. NVIDIA with EFA:
#   packer build -var accelerator=nvidia -var efa=true -var bake_config=bake-nvidia.toml examples/packer/eks-node.pkr.hcl
# (bake-nvidia.toml: your bake config; the EFA installer is pinned by eksnode's versions data: docs/al2023.md, "EFA").
# examples/packer/bake.toml (the default bake_config; run from the repository's top directory, as for
# dist/) holds the pins: `versions --pin` writes those of the checksum files published beside the
# artifacts, and it says how to pin the one upstream does not publish (ecr-credential-provider); it can
# set a mirror too; see docs/ami.md, "Bake config". To build many AMIs, run one `packer build` per Kubernetes version and arch
# (e.g. `-only` with a matrix in CI): each build is independent.

packer {
  required_plugins {
    amazon = {
      version = ">= 1.3.0"
      source  = "github.com/hashicorp/amazon"
    }
  }
}

variable "kubernetes_version" {
  type        = string
  default     = "1.32"
  description = "Kubernetes minor version of the node (kubelet and its S3 binaries)."
}

variable "arch" {
  type        = string
  default     = "x86_64"
  description = "x86_64 or aarch64; picks the base AMI, the instance type and the eksnode binary."
  validation {
    condition     = contains(["x86_64", "aarch64"], var.arch)
    error_message = "The arch must be x86_64 or aarch64."
  }
}

variable "region" {
  type    = string
  default = "us-west-2"
}

variable "al2023" {
  type        = bool
  default     = true
  description = "Run the AL2023 phase (steps 39-51; it writes the version-info.json downloaded below); accelerator and efa imply it."
}

variable "accelerator" {
  type        = string
  default     = ""
  description = "Accelerated variant: \"\" (none), nvidia or neuron."
  validation {
    condition     = contains(["", "nvidia", "neuron"], var.accelerator)
    error_message = "The accelerator must be empty, nvidia or neuron."
  }
}

variable "efa" {
  type        = bool
  default     = false
  description = "Install the EFA software (verified installer) and limit C-states."
}

variable "bake_config" {
  type        = string
  default     = "examples/packer/bake.toml"
  description = "Local path of the eksnode bake config (TOML) uploaded to the instance."
}

variable "eksnode_dir" {
  type        = string
  default     = "dist"
  description = "Directory holding eksnode-linux-<arch> as written by `deno task build`."
}

variable "ami_name_prefix" {
  type    = string
  default = "eksnode-node"
}

locals {
  instance_type = var.arch == "aarch64" ? "m7g.large" : "m6i.large"
  ami_arch      = var.arch == "aarch64" ? "arm64" : "x86_64"
  build_stamp   = formatdate("YYYYMMDDhhmmss", timestamp())
  variant_flags = join(" ", compact([
    var.al2023 ? "--al2023" : "",
    var.accelerator != "" ? "--accelerator ${var.accelerator}" : "",
    var.efa ? "--efa" : "",
  ]))
  variant_name = var.accelerator != "" ? "-${var.accelerator}${var.efa ? "-efa" : ""}" : (var.efa ? "-efa" : "")
}

data "amazon-ami" "al2023" {
  region      = var.region
  owners      = ["amazon"]
  most_recent = true
  filters = {
    name                = "al2023-ami-2023.*-kernel-6.1-${local.ami_arch}"
    architecture        = local.ami_arch
    virtualization-type = "hvm"
    root-device-type    = "ebs"
  }
}

source "amazon-ebs" "eks-node" {
  region          = var.region
  source_ami      = data.amazon-ami.al2023.id
  instance_type   = local.instance_type
  ssh_username    = "ec2-user"
  ami_name        = "${var.ami_name_prefix}${local.variant_name}-${var.kubernetes_version}-${var.arch}-${local.build_stamp}"
  ami_description = "EKS worker node, Kubernetes ${var.kubernetes_version} (${var.arch}), baked by eksnode"

  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = 20
    volume_type           = "gp3"
    delete_on_termination = true
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  tags = {
    Name              = "${var.ami_name_prefix}-${var.kubernetes_version}-${var.arch}"
    KubernetesVersion = var.kubernetes_version
    BaseAmi           = data.amazon-ami.al2023.id
    Accelerator       = var.accelerator
    Efa               = var.efa
    BakedBy           = "eksnode"
  }
}

build {
  sources = ["source.amazon-ebs.eks-node"]

  provisioner "file" {
    source      = "${var.eksnode_dir}/eksnode-linux-${var.arch}"
    destination = "/tmp/eksnode"
  }

  provisioner "file" {
    source      = var.bake_config
    destination = "/tmp/eksnode-bake.toml"
  }

  provisioner "shell" {
    inline = [
      "chmod 0755 /tmp/eksnode",
      "sudo /tmp/eksnode ami --kubernetes-version ${var.kubernetes_version} --arch ${var.arch} --region ${var.region} --config /tmp/eksnode-bake.toml --output json ${local.variant_flags} --hygiene",
      "sudo /usr/bin/eksnode verify",
      "rm -f /tmp/eksnode /tmp/eksnode-bake.toml",
    ]
  }

  provisioner "file" {
    direction   = "download"
    source      = "/etc/eks/version-info.json"
    destination = "${var.ami_name_prefix}${local.variant_name}-${var.kubernetes_version}-${var.arch}-version-info.json"
  }

  post-processor "manifest" {
    output     = "packer-manifest.json"
    strip_path = true
  }
}
