/**
 * containerd's config for the node: containerd 2.x (config `version = 3`, the CRI plugin split into
 * `io.containerd.cri.v1.images` and `io.containerd.cri.v1.runtime`).
 *
 * Sources (awslabs/amazon-eks-ami):
 * - nodeadm `nodeadm/internal/containerd/config2.template.toml` (commit 3477d8f1), the containerd 2
 *   template: root/state, grpc socket, discard_unpacked_layers, pinned sandbox image, registry
 *   config_path, runc with SystemdCgroup, CNI bin/conf dirs. Its `base_runtime_spec` and `BinaryName`
 *   (nodeadm's own base spec file and NVIDIA runtime selection) are left out: eksnode writes neither.
 * - nodeadm `nodeadm/internal/containerd/config.go` (commit ed5cea81): `enable_cdi` from kubelet
 *   1.32; NodeConfig `containerd.config` merged over the generated TOML by nodeadm itself, "because
 *   the logic in containerd's import merge decides to completely overwrite entire sections".
 * - `templates/al2/runtime/containerd-config2.toml` (commit 92d3cbc2): `imports` of
 *   /etc/containerd/config.d/*.toml, kept so the config written at boot offers what the baked one
 *   (`eksnode ami` step 17) does. Whole sections in an imported file replace ours (containerd's
 *   import rule), which is why NodeConfig's containerd.config is merged here instead.
 * - `templates/al2/runtime/bootstrap.sh` (commit 9e910f87): `--containerd-config-file` replaces the
 *   generated file, and the literal `SANDBOX_IMAGE` in it is replaced by the pause image.
 */
import { parse, TomlError } from "smol-toml";
import { isImageReference } from "../lib/container_images.ts";
import { ConfigError } from "../lib/errors.ts";
import type { NodeSettings } from "./api/node_settings.ts";
import { kubeletVersionAtLeast } from "./kubelet_args.ts";
import { mergeToml } from "./nodeconfig_merge.ts";

/** What the generated config depends on: the baked image (ami step 17) and the node (init step 2). */
export interface ContainerdConfigInput {
  sandboxImage: string;
  /** Kubernetes minor version ("1.32"): CDI is enabled from 1.32, as nodeadm does. */
  kubernetesVersion: string;
  /** runc's path for the runc runtime's BinaryName; omitted: containerd finds runc on PATH. */
  runcPath?: string;
}

/**
 * The generated config, before NodeConfig's containerd.config: one renderer for the config the image
 * is baked with and the one init writes for the node.
 */
export function generatedContainerdConfig(node: ContainerdConfigInput): string {
  if (!isImageReference(node.sandboxImage)) {
    throw new ConfigError(`sandbox image ${JSON.stringify(node.sandboxImage)} is not an image reference`);
  }
  return `version = 3
root = "/var/lib/containerd"
state = "/run/containerd"
imports = ["/etc/containerd/config.d/*.toml"]

[grpc]
address = "/run/containerd/containerd.sock"

[plugins.'io.containerd.cri.v1.images']
discard_unpacked_layers = true

[plugins.'io.containerd.cri.v1.images'.pinned_images]
sandbox = ${JSON.stringify(node.sandboxImage)}

[plugins.'io.containerd.cri.v1.images'.registry]
config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"

[plugins.'io.containerd.cri.v1.runtime']
enable_cdi = ${kubeletVersionAtLeast(node.kubernetesVersion, 32)}

[plugins.'io.containerd.cri.v1.runtime'.containerd]
default_runtime_name = "runc"

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
runtime_type = "io.containerd.runc.v2"

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
${node.runcPath ? `BinaryName = ${JSON.stringify(node.runcPath)}\n` : ""}SystemdCgroup = true

[plugins.'io.containerd.cri.v1.runtime'.cni]
bin_dir = "/opt/cni/bin"
conf_dir = "/etc/cni/net.d"
`;
}

/**
 * The config.toml to install: the generated one (or `containerdConfigReplacement` with `SANDBOX_IMAGE`
 * substituted), with `containerdConfigOverride` deep-merged over it. Throws ConfigError on bad TOML.
 */
export function renderContainerdConfig(node: NodeSettings): string {
  let out = generatedContainerdConfig(node);
  if (node.containerdConfigReplacement !== undefined) {
    out = node.containerdConfigReplacement.replaceAll("SANDBOX_IMAGE", node.sandboxImage);
    checkToml(out, "the --containerd-config-file config");
  }
  const override = node.containerdConfigOverride;
  if (override !== undefined && override.trim() !== "") {
    checkToml(override, "NodeConfig containerd.config");
    out = mergeToml(out, override);
  }
  return out.endsWith("\n") ? out : out + "\n";
}

function checkToml(text: string, what: string): void {
  try {
    parse(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const first = err.message.split("\n")[0];
    throw new ConfigError(`${what} is not valid TOML: ${first}`, "check the containerd config you gave");
  }
}
