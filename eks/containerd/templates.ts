/**
 * containerd's config.toml as generated, before NodeConfig's `containerd.config` is merged: one template
 * for each schema, with the same settings.
 *
 * Sources (awslabs/amazon-eks-ami nodeadm @ 81fec2e8): `nodeadm/internal/containerd/config.template.toml`
 * (version 2, containerd 1.x) and `config2.template.toml` (version 3, containerd 2.x): root/state, the
 * gRPC socket, `discard_unpacked_layers`, the sandbox image (v2 `sandbox_image`, v3
 * `pinned_images.sandbox`), `enable_cdi` from kubelet 1.32 (config.go), registry hosts from certs.d, the
 * default runtime with `base_runtime_spec` and its shim's `BinaryName` and `SystemdCgroup`, the CNI
 * directories, and with FastImagePull the SOCI snapshotter and its proxy plugin.
 *
 * One eksnode addition: `imports` of /etc/containerd/config.d/*.toml (amazon-eks-ami
 * `templates/al2/runtime/containerd-config.toml` @ 567ee65c), so an image or an admin can add a section
 * without rewriting the file. With no file there it changes nothing (containerd's dump then lists no
 * import); a whole section in an imported file replaces ours (containerd's import rule).
 */
import { isImageReference } from "../../lib/container_images.ts";
import { ConfigError } from "../../lib/errors.ts";
import { kubeletVersionAtLeast } from "../kubelet/args.ts";
import { BASE_RUNTIME_SPEC_PATH } from "./base_runtime_spec.ts";
import { type ContainerRuntime, RUNC_RUNTIME } from "./runtime.ts";
import { SOCI_ROOT, SOCI_SOCKET } from "./soci.ts";
import type { ContainerdSchema } from "./version.ts";

/** Where containerd reads extra config files. */
export const CONTAINERD_IMPORTS = "/etc/containerd/config.d/*.toml";

/** What the generated config depends on. */
export interface ContainerdTemplateInput {
  /** 2 for containerd 1.x, 3 for containerd 2.x. */
  schema: ContainerdSchema;
  sandboxImage: string;
  /** Kubernetes minor version ("1.32"): CDI is enabled from 1.32, as nodeadm does. */
  kubernetesVersion: string;
  /** The default runtime; runc when omitted. */
  runtime?: ContainerRuntime;
  /** Pull through the SOCI snapshotter (FastImagePull). */
  soci?: boolean;
}

const q = (s: string) => JSON.stringify(s);

/**
 * The generated config.toml for a schema.
 * @example generatedConfig({ schema: 2, sandboxImage: "r.example/pause:3.10", kubernetesVersion: "1.31" })
 */
export function generatedConfig(input: ContainerdTemplateInput): string {
  if (!isImageReference(input.sandboxImage)) {
    throw new ConfigError(`sandbox image ${q(input.sandboxImage)} is not an image reference`);
  }
  const rt = input.runtime ?? RUNC_RUNTIME;
  if (!/^[A-Za-z0-9_-]+$/.test(rt.name)) {
    throw new ConfigError(`runtime name ${q(rt.name)} is not a bare TOML key`);
  }
  const cdi = kubeletVersionAtLeast(input.kubernetesVersion, 32);
  const soci = input.soci
    ? { snapshotter: `snapshotter = "soci"\ndisable_snapshot_annotations = false\n`, proxy: sociProxy() }
    : { snapshotter: "", proxy: "" };
  const head = `version = ${input.schema}
root = "/var/lib/containerd"
state = "/run/containerd"
imports = [${q(CONTAINERD_IMPORTS)}]

[grpc]
address = "/run/containerd/containerd.sock"
`;
  if (input.schema === 2) {
    const cri = `plugins."io.containerd.grpc.v1.cri"`;
    return `${head}
[${cri}]
sandbox_image = ${q(input.sandboxImage)}
enable_cdi = ${cdi}

[${cri}.containerd]
default_runtime_name = ${q(rt.name)}
discard_unpacked_layers = true
${soci.snapshotter}
[${cri}.containerd.runtimes.${rt.name}]
runtime_type = "io.containerd.runc.v2"
base_runtime_spec = ${q(BASE_RUNTIME_SPEC_PATH)}

[${cri}.containerd.runtimes.${rt.name}.options]
BinaryName = ${q(rt.binaryName)}
SystemdCgroup = true

[${cri}.registry]
config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"

[${cri}.cni]
bin_dir = "/opt/cni/bin"
conf_dir = "/etc/cni/net.d"
${soci.proxy}`;
  }
  const images = `plugins.'io.containerd.cri.v1.images'`;
  const runtime = `plugins.'io.containerd.cri.v1.runtime'`;
  return `${head}
[${images}]
discard_unpacked_layers = true
${soci.snapshotter}
[${images}.pinned_images]
sandbox = ${q(input.sandboxImage)}

[${images}.registry]
config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"

[${runtime}]
enable_cdi = ${cdi}

[${runtime}.containerd]
default_runtime_name = ${q(rt.name)}

[${runtime}.containerd.runtimes.${rt.name}]
runtime_type = "io.containerd.runc.v2"
base_runtime_spec = ${q(BASE_RUNTIME_SPEC_PATH)}

[${runtime}.containerd.runtimes.${rt.name}.options]
BinaryName = ${q(rt.binaryName)}
SystemdCgroup = true

[${runtime}.cni]
bin_dir = "/opt/cni/bin"
conf_dir = "/etc/cni/net.d"
${soci.proxy}`;
}

function sociProxy(): string {
  return `
[proxy_plugins.soci]
type = "snapshot"
address = ${q(SOCI_SOCKET)}

[proxy_plugins.soci.exports]
root = ${q(SOCI_ROOT)}
`;
}
