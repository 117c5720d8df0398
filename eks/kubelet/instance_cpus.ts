/**
 * vCPUs and hypervisor per EC2 instance type, the two facts max-pods-calculator.sh reads beyond the ENI
 * table (see the `source` field of `assets/instance_cpus.json`; regenerate it with `tools/gen_instance_cpus.ts`).
 */
import data from "../../assets/instance_cpus.json" with { type: "json" };

/** What EC2 DescribeInstanceTypes says of an instance type's CPUs. */
export interface InstanceCpus {
  /** `VCpuInfo.DefaultVCpus`. */
  vcpus: number;
  /** `Hypervisor`: "nitro" or "xen"; undefined on bare metal. */
  hypervisor?: "nitro" | "xen";
}

/** Where the table came from (repository, path, commit, date). */
export const INSTANCE_CPUS_SOURCE: string = data.source;

const VCPUS: Readonly<Record<string, number>> = data.vcpus;
const XEN = new Set(data.xen);
const BARE_METAL = new Set(data.bareMetal);

/**
 * The vCPUs and hypervisor of `instanceType`, or undefined when the table does not know it (then ask EC2).
 * Example: `instanceCpus("m5.large")` → `{ vcpus: 2, hypervisor: "nitro" }`; `instanceCpus("m5.metal")` →
 * `{ vcpus: 96 }`.
 */
export function instanceCpus(instanceType: string): InstanceCpus | undefined {
  if (!Object.hasOwn(VCPUS, instanceType)) return undefined;
  const vcpus = VCPUS[instanceType];
  if (BARE_METAL.has(instanceType)) return { vcpus };
  return { vcpus, hypervisor: XEN.has(instanceType) ? "xen" : "nitro" };
}

/** How many instance types the table holds (for reports and tests). */
export function instanceCpusTableSize(): number {
  return Object.keys(VCPUS).length;
}
