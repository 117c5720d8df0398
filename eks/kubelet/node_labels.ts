/**
 * The node labels eksnode adds to kubelet's `--node-labels` on its own.
 *
 * Source: nodeadm `nodeadm/internal/kubelet/config.go` (awslabs/amazon-eks-ami commit 81fec2e8),
 * `generateKubeletConfig`: from kubelet 1.35, `nvidia.com/gpu.present=true` when an NVIDIA PCI device is
 * attached (labels.go `NvidiaGPULabel`; NVIDIA's GPU operator schedules onto that label, see
 * NVIDIA/gpu-operator commit e25291b8). The device test is `nodeadm/internal/system/devices.go`
 * `IsPCIVendorAttached`: any `/sys/bus/pci/devices/<dev>/vendor` reading `0x10de`.
 */
import { kubeMinorVersion } from "./credential_provider.ts";

/** NVIDIA's PCI vendor id, as sysfs prints it. */
export const NVIDIA_PCI_VENDOR_ID = "0x10de";
/** The label NVIDIA's GPU operator looks for. */
export const GPU_PRESENT_LABEL = "nvidia.com/gpu.present";
/** Where the PCI devices are listed (one directory or symlink each). */
export const PCI_DEVICES_DIR = "/sys/bus/pci/devices";

/** Reads under the node's root: names in a directory and file text, undefined when missing. */
export interface SysfsReader {
  readDir(path: string): Promise<string[] | undefined>;
  readText(path: string): Promise<string | undefined>;
}

/**
 * True when a PCI device of NVIDIA's is attached. An unreadable vendor file is skipped, as nodeadm does.
 * @example await nvidiaGpuAttached(host) // false on a machine without NVIDIA cards
 */
export async function nvidiaGpuAttached(fs: SysfsReader): Promise<boolean> {
  const devices = (await fs.readDir(PCI_DEVICES_DIR).catch(() => undefined)) ?? [];
  for (const dev of devices) {
    const vendor = await fs.readText(`${PCI_DEVICES_DIR}/${dev}/vendor`).catch(() => undefined);
    if (vendor?.trim() === NVIDIA_PCI_VENDOR_ID) return true;
  }
  return false;
}

/**
 * The labels for `--node-labels` ("key=value" each) for a Kubernetes version and what is attached.
 * @example nodeLabels("1.35", { nvidiaGpu: true }) // ["nvidia.com/gpu.present=true"]
 */
export function nodeLabels(kubernetesVersion: string, facts: { nvidiaGpu?: boolean }): string[] {
  const v = kubeMinorVersion(kubernetesVersion);
  const from135 = v.major > 1 || (v.major === 1 && v.minor >= 35);
  const labels: string[] = [];
  if (from135 && facts.nvidiaGpu) labels.push(`${GPU_PRESENT_LABEL}=true`);
  return labels;
}
