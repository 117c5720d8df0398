/**
 * kubeReserved and evictionHard for the kubelet config, as the EKS AMIs set them.
 *
 * Sources (awslabs/amazon-eks-ami):
 * - `templates/al2/runtime/bootstrap.sh` (commit 029f7c7d): `get_memory_mebibytes_to_reserve`
 *   (11 × maxPods + 255 Mi), `get_cpu_millicores_to_reserve` (ranges 0/1000/2000/4000/total millicores
 *   at 600/100/50/25 hundredths of a percent, integer arithmetic), ephemeral-storage 1Gi, and
 *   evictionHard `memory.available<100Mi, nodefs.available<10%, nodefs.inodesFree<5%`.
 * - nodeadm `nodeadm/internal/kubelet/config.go` (commit 01375496): the same numbers
 *   (`getCPUMillicoresToReserve`, `GetMemoryMebibytesToReserve`, `defaultKubeletSubConfig`).
 *   Neither sets an `imagefs.*` threshold, so none is set here: the kubelet's own defaults apply.
 * The CPU bands come from GKE's node-allocatable documentation, as bootstrap.sh notes.
 */
import { ConfigError } from "../../lib/errors.ts";

/** The kubelet config `kubeReserved` map, in the units the kubelet reads. */
export interface KubeReserved {
  /** Millicores, e.g. "70m". */
  cpu: string;
  /** Always "1Gi". */
  "ephemeral-storage": string;
  /** Mebibytes, e.g. "574Mi". */
  memory: string;
}

/** Inputs of {@link kubeReserved}. */
export interface KubeReservedInput {
  /** The pod count to size memory for (see `resolveMaxPods().reservedForPods`). */
  maxPods: number;
  /** Online CPUs (nproc / /proc/cpuinfo), as bootstrap.sh and nodeadm count them. */
  vcpus: number;
}

/** Ephemeral storage kept back for the kubelet and container runtime. */
export const EPHEMERAL_STORAGE_RESERVED = "1Gi";

/** evictionHard exactly as bootstrap.sh and nodeadm write it. */
export const EVICTION_HARD: Readonly<Record<string, string>> = Object.freeze({
  "memory.available": "100Mi",
  "nodefs.available": "10%",
  "nodefs.inodesFree": "5%",
});

/** CPU band edges in millicores (the last band runs to the instance's total). */
const CPU_BAND_STARTS = [0, 1000, 2000, 4000];
/** Share of each band to reserve, in hundredths of a percent: 6%, 1%, 0.5%, 0.25%. */
const CPU_BAND_BASIS_POINTS = [600, 100, 50, 25];

/** Memory to reserve in MiB for `maxPods` pods: 11 × maxPods + 255. Example: 29 pods → 574. */
export function memoryMebibytesToReserve(maxPods: number): number {
  requirePositiveInt("maxPods", maxPods);
  return 11 * maxPods + 255;
}

/**
 * CPU to reserve in millicores for `vcpus` cores: 6% of the first core, 1% of the second, 0.5% of
 * cores 3–4 and 0.25% of the rest, each band rounded down. Example: 2 → 70, 96 → 310.
 */
export function cpuMillicoresToReserve(vcpus: number): number {
  requirePositiveInt("vcpus", vcpus);
  const total = vcpus * 1000;
  let reserved = 0;
  for (let i = 0; i < CPU_BAND_STARTS.length; i++) {
    const start = CPU_BAND_STARTS[i];
    const end = CPU_BAND_STARTS[i + 1] ?? total;
    if (total <= start) continue;
    reserved += Math.floor((Math.min(total, end) - start) * CPU_BAND_BASIS_POINTS[i] / 10000);
  }
  return reserved;
}

/** The kubeReserved map for a node. Example: `{ maxPods: 29, vcpus: 2 }` → cpu 70m, memory 574Mi. */
export function kubeReserved(input: KubeReservedInput): KubeReserved {
  return {
    cpu: `${cpuMillicoresToReserve(input.vcpus)}m`,
    "ephemeral-storage": EPHEMERAL_STORAGE_RESERVED,
    memory: `${memoryMebibytesToReserve(input.maxPods)}Mi`,
  };
}

/** A fresh, mutable copy of {@link EVICTION_HARD} to put in a kubelet config. */
export function evictionHard(): Record<string, string> {
  return { ...EVICTION_HARD };
}

function requirePositiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(
      `kube-reserved: ${name} must be a positive integer, got ${value}`,
      "pass the node's CPU count and the resolved max pods",
    );
  }
}
