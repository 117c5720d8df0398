/**
 * The OCI runtime containerd's CRI plugin runs containers with, by default: runc, or NVIDIA's container
 * runtime on a node that has it.
 *
 * Sources (awslabs/amazon-eks-ami nodeadm @ 81fec2e8):
 * - `nodeadm/internal/containerd/runtime_config.go`: the default runtime is named `runc` with
 *   `BinaryName = "/usr/sbin/runc"`.
 * - `nodeadm/internal/containerd/runtime_config_nvidia.go`: when /usr/bin/nvidia-container-runtime exists,
 *   the runtime is named `nvidia` with that binary (nodeadm looks at the file only, not at the instance
 *   type or its devices: "TODO: use nodeconfig data to discern if necessary").
 * - nodeadm's e2e cases `containerdv*-runtime-config-neuron` expect runc: Neuron (Inferentia/Trainium)
 *   nodes need no runtime of their own, their devices come through the Neuron device plugin.
 */

/** The runtime table's name and the binary the runc shim runs. */
export interface ContainerRuntime {
  /** Key under `containerd.runtimes` and `default_runtime_name`. */
  name: string;
  /** The shim's `BinaryName` option. */
  binaryName: string;
}

/** runc, where `eksnode ami` step 10 and nodeadm's images install it. */
export const RUNC_RUNTIME: ContainerRuntime = { name: "runc", binaryName: "/usr/sbin/runc" };

/** NVIDIA's container runtime, which the NVIDIA container toolkit installs here. */
export const NVIDIA_RUNTIME: ContainerRuntime = {
  name: "nvidia",
  binaryName: "/usr/bin/nvidia-container-runtime",
};

/**
 * The runtime for a node: NVIDIA's when its binary is on the node, else runc.
 * @example containerRuntime({ nvidiaRuntimeInstalled: true }).name // "nvidia"
 */
export function containerRuntime(facts: { nvidiaRuntimeInstalled?: boolean }): ContainerRuntime {
  return facts.nvidiaRuntimeInstalled ? NVIDIA_RUNTIME : RUNC_RUNTIME;
}
