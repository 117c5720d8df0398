/**
 * The kubelet command line eksnode computes, before the user's own flags.
 *
 * Sources (awslabs/amazon-eks-ami):
 * - nodeadm `nodeadm/internal/kubelet/config.go` (commit e48b98ad): `--node-ip`; from 1.26
 *   `--cloud-provider=external` with `--hostname-override` = the EC2 private DNS name (or the instance
 *   id with the InstanceIdNodeName feature gate), before 1.26 `--cloud-provider=aws`; before 1.27
 *   `--container-runtime=remote` and `--container-runtime-endpoint` (from 1.27 the endpoint lives in
 *   the kubelet config instead, so it is not repeated as a deprecated flag); before 1.29
 *   `--pod-infra-container-image`; user flags last "to give them precedence".
 * - nodeadm `nodeadm/internal/kubelet/kubeconfig.go` (commit 08389f01): local Outposts clusters get
 *   `--bootstrap-kubeconfig` as well as `--kubeconfig`.
 * - `templates/al2/runtime/kubelet.service` (commit bd0f2c97): the image credential provider flags.
 * - nodeadm `nodeadm/internal/kubelet/config.go` (commit 81fec2e8): `--runtime-cgroups=/runtime.slice/
 *   containerd.service` on every version (`withRuntimeCgroups`, so cadvisor's metrics include the
 *   container runtime, amazon-eks-ami#1667), and from 1.35 `--node-labels=nvidia.com/gpu.present=true`
 *   on a node with an NVIDIA GPU (eks/kubelet/node_labels.ts). The user's flags come after; kubelet
 *   adds the labels of every `--node-labels` it is given (a user's label of the same key wins), as under nodeadm.
 * - nodeadm `nodeadm/internal/kubelet/config.go` (commit 81fec2e8) lines 352-354:
 *   `--config-dir=/etc/kubernetes/kubelet/config.json.d` when NodeConfig `kubelet.config` is not empty
 *   (here from kubelet 1.28, which has the flag: eks/kubelet/config_dir.ts). A user `--config-dir` in
 *   `kubelet.flags` comes after it and wins, as under nodeadm.
 */
import type { NodeSettings } from "../api/node_settings.ts";
import {
  BOOTSTRAP_KUBECONFIG,
  CONTAINERD_SOCKET,
  CREDENTIAL_PROVIDER_BIN_DIR,
  CREDENTIAL_PROVIDER_CONFIG,
  KUBECONFIG,
  KUBELET_CONFIG,
  KUBELET_CONFIG_DIR,
} from "../paths/node.ts";
import { readsConfigDir } from "./config_dir.ts";
import { kubeMinorVersion } from "./credential_provider.ts";
import { nodeLabels } from "./node_labels.ts";

/** The cgroup containerd runs in (runtime.slice, `eksnode ami` step 9): kubelet's `--runtime-cgroups`. */
export const RUNTIME_CGROUPS = "/runtime.slice/containerd.service";

/** The kubelet binary the units run. */
export const KUBELET_BIN = "/usr/bin/kubelet";

/**
 * True when a Kubernetes version is at least 1.`minor`.
 * @example kubeletVersionAtLeast("1.28", 27) // true
 */
export function kubeletVersionAtLeast(version: string, minor: number): boolean {
  const v = kubeMinorVersion(version);
  return v.major > 1 || (v.major === 1 && v.minor >= minor);
}

/**
 * The kubelet arguments (without the program): eksnode's flags, then `node.kubeletFlags` in order.
 * @example kubeletArgs(node)[0] // "--config=/etc/kubernetes/kubelet/kubelet-config.json"
 */
export function kubeletArgs(node: NodeSettings): string[] {
  const v = node.kubernetesVersion;
  const args = [`--config=${KUBELET_CONFIG}`];
  if (readsConfigDir(node)) args.push(`--config-dir=${KUBELET_CONFIG_DIR}`);
  args.push(`--kubeconfig=${KUBECONFIG}`);
  if (node.cluster.enableOutpost) args.push(`--bootstrap-kubeconfig=${BOOTSTRAP_KUBECONFIG}`);
  if (!kubeletVersionAtLeast(v, 27)) {
    args.push("--container-runtime=remote", `--container-runtime-endpoint=${CONTAINERD_SOCKET}`);
  }
  args.push(
    `--image-credential-provider-config=${CREDENTIAL_PROVIDER_CONFIG}`,
    `--image-credential-provider-bin-dir=${CREDENTIAL_PROVIDER_BIN_DIR}`,
    `--node-ip=${node.nodeIp}`,
  );
  if (kubeletVersionAtLeast(v, 26)) {
    args.push(`--hostname-override=${node.nodeName}`, "--cloud-provider=external");
  } else {
    args.push("--cloud-provider=aws");
  }
  args.push(`--runtime-cgroups=${RUNTIME_CGROUPS}`);
  const labels = nodeLabels(v, { nvidiaGpu: node.nvidiaGpu });
  if (labels.length > 0) args.push(`--node-labels=${labels.join(",")}`);
  if (!kubeletVersionAtLeast(v, 29)) args.push(`--pod-infra-container-image=${node.sandboxImage}`);
  return [...args, ...node.kubeletFlags];
}
