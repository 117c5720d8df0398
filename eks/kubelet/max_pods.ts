/**
 * Max pods per node, as the Amazon VPC CNI allows and the EKS AMIs compute it.
 *
 * Sources (awslabs/amazon-eks-ami):
 * - `templates/al2/runtime/max-pods-calculator.sh` (commit 0a6d499e) and its Go port
 *   `nodeadm/internal/kubelet/util.go` `calculateMaxPods` (commit 8a901f62):
 *   secondary IPs `ENIs × (IPs − 1) + 2`; prefix delegation (Nitro, VPC CNI ≥ 1.9.0)
 *   `ENIs × ((IPs − 1) × 16) + 2`; custom networking uses one ENI fewer; `--cni-max-eni` caps the ENIs;
 *   the recommended value is capped at 110, or 250 when the instance has MORE than 30 vCPUs
 *   (`CPU_COUNT -gt 30` / `cpuCount > 30`: exactly 30 vCPUs gets 110).
 * - The same script, moved to `templates/shared/runtime/bin/max-pods-calculator.sh`: its options
 *   (`--cni-version`, `--cni-prefix-delegation-enabled`, `--cni-custom-networking-enabled`, `--cni-max-eni`,
 *   `--show-max-allowed`) are {@link calculatorMaxPods}'s; it reads ENIs, IPs, `Hypervisor` and
 *   `VCpuInfo.DefaultVCpus` from EC2 DescribeInstanceTypes.
 * - `templates/al2/runtime/bootstrap.sh` (commit 029f7c7d) and nodeadm `GetClassicMaxPods`
 *   (`nodeadm/internal/kubelet/config.go`, commit 01375496): the default written to the kubelet is the
 *   uncapped secondary-IP value from the ENI table (m5.24xlarge → 737); an instance type nobody knows
 *   gets the kubelet default, 110.
 */
import { ConfigError } from "../../lib/errors.ts";

/** Pods that use the host network and claim no VPC IP (kube-proxy, aws-node). */
export const HOST_NETWORK_PODS = 2;
/** IPv4 addresses in one /28 prefix handed out under prefix delegation. */
export const IPS_PER_PREFIX = 16;
/** Ceiling for instances with at most {@link HIGH_CPU_MIN_EXCLUSIVE_VCPUS} vCPUs. */
export const LOW_CPU_MAX_PODS_CEILING = 110;
/** Ceiling for instances with more than {@link HIGH_CPU_MIN_EXCLUSIVE_VCPUS} vCPUs. */
export const HIGH_CPU_MAX_PODS_CEILING = 250;
/** The high-CPU ceiling applies strictly above this many vCPUs. */
export const HIGH_CPU_MIN_EXCLUSIVE_VCPUS = 30;
/** The kubelet's own default, and nodeadm's answer for an instance type it cannot look up. */
export const DEFAULT_MAX_PODS = 110;

/** How the pod IPs are handed out by the VPC CNI. */
export type MaxPodsMode = "secondary-ips" | "prefix-delegation";

/** Inputs of {@link maxPods}: the ENI limits plus what the caller knows about CNI and CPUs. */
export interface MaxPodsInput {
  /** Network interfaces on the default network card. */
  enis: number;
  /** IPv4 addresses per interface, the primary included. */
  ipsPerEni: number;
  /**
   * vCPUs of the instance type: `VCpuInfo.DefaultVCpus` from EC2 DescribeInstanceTypes, or failing that
   * the processors in /proc/cpuinfo (nproc; lower when CPU options turn threads off). The ENI table has
   * no vCPU count. Only used for the ceiling; when unknown, the low ceiling (110) is assumed.
   */
  vcpus?: number;
  /** VPC CNI ENABLE_PREFIX_DELEGATION (needs a Nitro instance and VPC CNI ≥ 1.9.0: the caller checks). */
  prefixDelegation?: boolean;
  /** VPC CNI custom networking (AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG): the primary ENI hosts no pods. */
  customNetworking?: boolean;
  /** At most this many ENIs for pods (max-pods-calculator.sh `--cni-max-eni`). */
  maxEnis?: number;
  /**
   * Apply the 110/250 ceiling. Default: on with prefix delegation (its raw numbers run into the
   * thousands), off otherwise, so the default matches the ENI table bootstrap.sh and nodeadm write.
   */
  ceiling?: boolean;
}

/** The outcome of {@link maxPods}. */
export interface MaxPodsResult {
  /** The value to use: `uncapped`, limited by `ceiling` when one applies. */
  maxPods: number;
  /** The formula's value before any ceiling. */
  uncapped: number;
  mode: MaxPodsMode;
  /** The ceiling that was applied (110 or 250), undefined when none was. */
  ceiling?: number;
  /** True when a ceiling applied but vCPUs were unknown, so 110 was assumed. */
  vcpusAssumed: boolean;
}

/**
 * Max pods from ENI limits. Example: `maxPods({ enis: 3, ipsPerEni: 10 }).maxPods` → 29 (m5.large);
 * `maxPods({ enis: 3, ipsPerEni: 10, prefixDelegation: true, vcpus: 2 })` → 110 (434 before the ceiling).
 */
export function maxPods(input: MaxPodsInput): MaxPodsResult {
  requireCount("enis", input.enis, 1);
  requireCount("ipsPerEni", input.ipsPerEni, 1);
  if (input.vcpus !== undefined) requireCount("vcpus", input.vcpus, 1);
  if (input.maxEnis !== undefined) requireCount("maxEnis", input.maxEnis, 1);

  let enis = Math.min(input.enis, input.maxEnis ?? input.enis);
  if (input.customNetworking) enis = Math.max(0, enis - 1);
  const mode: MaxPodsMode = input.prefixDelegation ? "prefix-delegation" : "secondary-ips";
  const perEni = mode === "prefix-delegation" ? (input.ipsPerEni - 1) * IPS_PER_PREFIX : input.ipsPerEni - 1;
  const uncapped = enis * perEni + HOST_NETWORK_PODS;

  const applyCeiling = input.ceiling ?? mode === "prefix-delegation";
  if (!applyCeiling) return { maxPods: uncapped, uncapped, mode, vcpusAssumed: false };
  const ceiling = maxPodsCeiling(input.vcpus);
  return {
    maxPods: Math.min(uncapped, ceiling),
    uncapped,
    mode,
    ceiling,
    vcpusAssumed: input.vcpus === undefined,
  };
}

/** The max-pods ceiling for a vCPU count: 250 above 30 vCPUs, else 110 (also when unknown). */
export function maxPodsCeiling(vcpus: number | undefined): number {
  return vcpus !== undefined && vcpus > HIGH_CPU_MIN_EXCLUSIVE_VCPUS
    ? HIGH_CPU_MAX_PODS_CEILING
    : LOW_CPU_MAX_PODS_CEILING;
}

/** Where a resolved max-pods value came from. */
export type MaxPodsSource =
  /** The user set it (NodeConfig kubelet config `maxPods`, or `--max-pods` in extra kubelet args). */
  | "override"
  /** The secondary-IP formula on the instance type's ENI limits. */
  | "eni-table"
  /** The prefix-delegation formula, with its ceiling. */
  | "prefix-delegation"
  /** No ENI limits were found: the kubelet default, 110. */
  | "default"
  /** `--use-max-pods false`: nothing is written, the kubelet keeps its own default (110). */
  | "kubelet-default";

/** Inputs of {@link resolveMaxPods}. */
export interface ResolveMaxPodsInput {
  /** The computed value; undefined when the instance type is unknown and EC2 could not be asked. */
  computed?: MaxPodsResult;
  /** bootstrap.sh `--use-max-pods` (default true): write maxPods into the kubelet config. */
  useMaxPods?: boolean;
  /** An explicit value from the user; wins over everything. */
  kubeletConfigMaxPods?: number;
}

/** The outcome of {@link resolveMaxPods}. */
export interface ResolvedMaxPods {
  /** The value for the kubelet config's `maxPods`; undefined means leave it out. */
  kubeletMaxPods?: number;
  /** The pod count that kube-reserved memory is sized for. */
  reservedForPods: number;
  source: MaxPodsSource;
}

/**
 * Decides the kubelet's maxPods and the pod count kube-reserved is sized for, and says why.
 * Unlike bootstrap.sh, which sized kube-reserved on the ENI-table value even when the user passed a
 * different `--max-pods`, an override here also sizes kube-reserved: memory follows the pods the kubelet
 * will really admit. The same holds for `--use-max-pods false` (kubelet's 110) and for an instance type
 * neither the table nor EC2 knows (110 written, as nodeadm's `defaultMaxPods`, and reserved for).
 */
export function resolveMaxPods(input: ResolveMaxPodsInput): ResolvedMaxPods {
  if (input.kubeletConfigMaxPods !== undefined) {
    requireCount("kubeletConfigMaxPods", input.kubeletConfigMaxPods, 1);
    const n = input.kubeletConfigMaxPods;
    return { kubeletMaxPods: n, reservedForPods: n, source: "override" };
  }
  // `--use-max-pods false`: kubelet keeps its own default, and kube-reserved is sized for that, the pods
  // the kubelet will really admit (amazon-eks-ami#1698; bootstrap.sh sized it on the ENI value instead).
  if (input.useMaxPods === false) return { reservedForPods: DEFAULT_MAX_PODS, source: "kubelet-default" };
  const computed = input.computed?.maxPods ?? DEFAULT_MAX_PODS;
  const source: MaxPodsSource = input.computed === undefined
    ? "default"
    : input.computed.mode === "prefix-delegation"
    ? "prefix-delegation"
    : "eni-table";
  return { kubeletMaxPods: computed, reservedForPods: computed, source };
}

function requireCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(
      `max pods: ${name} must be an integer ≥ ${min}, got ${value}`,
      "check the instance type data or the maxPods value in the node configuration",
    );
  }
}

/**
 * True when a VPC CNI version supports prefix delegation (1.9.0 and later), as max-pods-calculator.sh
 * decides it: major > 1, or major 1 and minor > 8. Accepts "1.19.2", "v1.19.2-eksbuild.5", "1.9".
 */
export function cniSupportsPrefixDelegation(cniVersion: string): boolean {
  const [major, minor] = parseCniVersion(cniVersion);
  return major > 1 || (major === 1 && minor > 8);
}

/** Major and minor of a VPC CNI version ("v1.19.2-eksbuild.5" → [1, 19]); anything else is a ConfigError. */
export function parseCniVersion(cniVersion: string): [number, number] {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:-[0-9A-Za-z.-]+)?$/.exec(cniVersion.trim());
  if (!m) {
    throw new ConfigError(
      `VPC CNI version ${JSON.stringify(cniVersion)} is not a version like 1.19.2 or v1.19.2-eksbuild.5`,
    );
  }
  return [Number(m[1]), Number(m[2])];
}

/** What max-pods-calculator.sh reads from EC2 DescribeInstanceTypes, and eksnode from its table or EC2. */
export interface InstanceFacts {
  enis: number;
  ipsPerEni: number;
  /** VCpuInfo.DefaultVCpus; only needed when the ceiling decides the answer. */
  vcpus?: number;
  /** "nitro", "xen", or undefined (bare metal); only needed with prefix delegation. */
  hypervisor?: string;
}

/** The options of max-pods-calculator.sh, plus eksnode's `--max-pods-cap`. */
export interface CalculatorOptions {
  /** `--cni-version`. */
  cniVersion: string;
  /** `--cni-prefix-delegation-enabled`. */
  prefixDelegation?: boolean;
  /** `--cni-custom-networking-enabled`. */
  customNetworking?: boolean;
  /** `--cni-max-eni N`. */
  maxEnis?: number;
  /** `--show-max-allowed`: the formula's value without the 110/250 ceiling. */
  showMaxAllowed?: boolean;
  /** eksnode `--max-pods-cap N`: this ceiling instead of 110/250 (unless showMaxAllowed). */
  cap?: number;
}

/** Which facts a calculation needs beyond the ENI limits. */
export interface FactsNeeded {
  vcpus: boolean;
  hypervisor: boolean;
}

/**
 * The facts the answer depends on, given the ENI limits: the vCPU count only when the ceiling applies
 * and the formula's value exceeds the low ceiling (110: below it both ceilings give the same answer);
 * the hypervisor only when prefix delegation is asked for with a VPC CNI that supports it.
 */
export function calculatorNeeds(facts: Pick<InstanceFacts, "enis" | "ipsPerEni">, opts: CalculatorOptions): {
  vcpus: boolean;
  hypervisor: boolean;
} {
  const pdPossible = opts.prefixDelegation === true && cniSupportsPrefixDelegation(opts.cniVersion);
  // With prefix delegation still undecided, assume the larger (prefix) value for the vCPU question.
  const largest = maxPods({
    enis: facts.enis,
    ipsPerEni: facts.ipsPerEni,
    prefixDelegation: pdPossible,
    customNetworking: opts.customNetworking,
    maxEnis: opts.maxEnis,
    ceiling: false,
  }).uncapped;
  return {
    vcpus: !opts.showMaxAllowed && opts.cap === undefined && largest > LOW_CPU_MAX_PODS_CEILING,
    hypervisor: pdPossible,
  };
}

/** The outcome of {@link calculatorMaxPods}. */
export interface CalculatorResult extends MaxPodsResult {
  /** ENIs that hold pod addresses after `--cni-max-eni` and custom networking. */
  enisForPods: number;
  /** Prefix delegation was asked for but not used, and why. */
  prefixDelegationSkipped?: string;
}

/**
 * Max pods exactly as awslabs/amazon-eks-ami `templates/shared/runtime/bin/max-pods-calculator.sh`
 * computes it (see the module comment for the formula): prefix delegation only on a Nitro instance
 * (DescribeInstanceTypes `Hypervisor` = "nitro"; bare metal has none, so the script uses secondary IPs
 * there) with VPC CNI ≥ 1.9; the recommended value is capped at 110, or 250 above 30 vCPUs, unless
 * `showMaxAllowed`. Facts the answer depends on (see {@link calculatorNeeds}) must be given.
 * @example calculatorMaxPods({ enis: 3, ipsPerEni: 10, vcpus: 2, hypervisor: "nitro" }, { cniVersion: "1.9.0", prefixDelegation: true }).maxPods // 110
 */
export function calculatorMaxPods(facts: InstanceFacts, opts: CalculatorOptions): CalculatorResult {
  if (opts.cap !== undefined) requireCount("max pods cap", opts.cap, 1);
  const needs = calculatorNeeds(facts, opts);
  if (needs.vcpus && facts.vcpus === undefined) {
    throw new ConfigError("max pods: the vCPU count of the instance type is needed for the ceiling");
  }
  let prefixDelegationSkipped: string | undefined;
  let pd = false;
  if (opts.prefixDelegation) {
    if (!cniSupportsPrefixDelegation(opts.cniVersion)) {
      prefixDelegationSkipped = `VPC CNI ${opts.cniVersion} is older than 1.9.0`;
    } else if (facts.hypervisor !== "nitro") {
      prefixDelegationSkipped = `not a Nitro instance (hypervisor ${facts.hypervisor ?? "none: bare metal"})`;
    } else pd = true;
  }
  const r = maxPods({
    enis: facts.enis,
    ipsPerEni: facts.ipsPerEni,
    vcpus: facts.vcpus,
    prefixDelegation: pd,
    customNetworking: opts.customNetworking,
    maxEnis: opts.maxEnis,
    ceiling: false,
  });
  const enisForPods = Math.max(
    0,
    Math.min(facts.enis, opts.maxEnis ?? facts.enis) - (opts.customNetworking ? 1 : 0),
  );
  const capped = !opts.showMaxAllowed && opts.cap === undefined;
  const base: CalculatorResult = { ...r, enisForPods, vcpusAssumed: capped && facts.vcpus === undefined };
  if (prefixDelegationSkipped) base.prefixDelegationSkipped = prefixDelegationSkipped;
  if (opts.showMaxAllowed) return base;
  const ceiling = opts.cap ?? maxPodsCeiling(facts.vcpus);
  return { ...base, maxPods: Math.min(r.uncapped, ceiling), ceiling };
}
