/**
 * Resolves everything `eksnode init` renders ({@link NodeSettings}) from the gathered inputs: the merged
 * NodeConfig (or its bootstrap.sh equivalent), instance metadata, DescribeCluster / DescribeInstanceTypes
 * answers when they were needed, the Kubernetes version installed on the root and the CPU count.
 * Pure: no I/O; cli/init.ts gathers the inputs and decides which AWS calls are needed with the
 * helpers below ({@link missingClusterFields}, {@link needsInstanceTypeLookup}).
 *
 * Rules (see each module for its upstream source):
 * - endpoint and CA: the NodeConfig's / flags' values; DescribeCluster (or its cache) fills what is missing;
 * - IP family: `--ip-family` → family of `spec.cluster.cidr` → DescribeCluster → ipv4;
 * - service CIDR: `spec.cluster.cidr` (bootstrap.sh `--service-ipv4/6-cidr`) → DescribeCluster's;
 * - cluster DNS: `--dns-cluster-ip` → kubelet config `clusterDNS` → service CIDR + 10 → bootstrap.sh's
 *   VPC heuristic (eks/kubelet/cluster_dns.ts);
 * - max pods: `--max-pods` in kubelet flags → kubelet config `maxPods` → ENI table → DescribeInstanceTypes;
 *   prefix delegation (an eksnode input: neither nodeadm nor bootstrap.sh detect it) switches the
 *   formula; `--use-max-pods false` leaves the kubelet's default (eks/kubelet/max_pods.ts);
 * - vCPUs: DescribeInstanceTypes when it was called, else the caller's CPU count;
 * - max pods expression (NodeConfig `kubelet.maxPodsExpression`, eks/kubelet/max_pods_expression.ts):
 *   evaluated on the instance type's ENI limits; its value is maxPods unless the user's `maxPods` is set,
 *   and kube-reserved is always sized on it; when it fails, a warning and the standard value (nodeadm);
 * - node name: EC2's PrivateDnsName from DescribeInstances (nodeadm `api.GetInstanceDetails`, commit
 *   81fec2e8; bootstrap.sh's private-dns-name helper, amazon-eks-ami#1264), which differs from IMDS
 *   `hostname` in VPCs whose DHCP option set has its own domain name; the instance id with the nodeadm
 *   feature gate `InstanceIdNodeName` (nodeadm/internal/kubelet/config.go `withCloudProvider`). Before
 *   1.26 kubelet names itself (in-tree cloud provider): IMDS `hostname` is only shown then;
 * - max pods for a type neither the table nor EC2 knows: 110, kube-reserved sized for 110 (nodeadm);
 * - Kubernetes version: installed on the root (release file, kubelet) → the cluster's → an error;
 * - containerd: the version found on the root picks the config schema, nvidia-container-runtime on the
 *   root the default runtime, FastImagePull with the node's size the SOCI snapshotter (eks/containerd/).
 */
import { ConfigError } from "../../lib/errors.ts";
import { resolveFeatureGates } from "./feature_gates.ts";
import { evaluateMaxPodsExpression, maxPodsExpressionProblem } from "../kubelet/max_pods_expression.ts";
import type { NodeSettings } from "./node_settings.ts";
import { ipFamilyOfCidr } from "../../lib/cidr.ts";
import { resolveClusterDns } from "../kubelet/cluster_dns.ts";
import type { InstanceTypeInfo } from "../aws/ec2_api.ts";
import { ecrRegistry, partitionOf } from "../aws/ecr_registry.ts";
import type { ClusterInfo } from "../aws/eks_api.ts";
import type { InstanceMetadata } from "../aws/imds.ts";
import { eniLimits } from "../kubelet/eni_limits.ts";
import { evictionHard, kubeReserved } from "../kubelet/reserved.ts";
import { kubeletVersionAtLeast } from "../kubelet/args.ts";
import { maxPods, resolveMaxPods } from "../kubelet/max_pods.ts";
import type { NodeConfigInput } from "./nodeconfig.ts";
import {
  certificateAuthorityEncodingProblem,
  certificateAuthorityPem,
  certificateAuthorityProblem,
} from "./values.ts";
import { nodeIp, providerId } from "../kubelet/node_ip.ts";
import { sandboxImage } from "../containerd/sandbox_image.ts";
import { FAST_IMAGE_PULL_GATE, useSociSnapshotter } from "../containerd/soci.ts";

/** Which kind of input configured the node. */
export type ConfigKind = "nodeconfig" | "bootstrap-flags";

/**
 * The bootstrap.sh settings that have no NodeConfig field and shape the settings (a subset of
 * cli/bootstrap_flags.ts `BootstrapLegacy`, declared here so eks/ does not depend on cli/).
 */
export interface LegacySettings {
  ipFamily?: "ipv4" | "ipv6";
  dnsClusterIp?: string[];
  useMaxPods?: boolean;
  pauseContainerAccount?: string;
  pauseContainerVersion?: string;
  mountBpfFs?: boolean;
}

/** Everything {@link resolveNodeSettings} needs, gathered by cli/init.ts. */
export interface NodeInputs {
  /** The merged NodeConfig, or the part bootstrap.sh flags translate to. */
  nodeConfig: NodeConfigInput;
  /** Where the NodeConfig came from, for messages (e.g. "user data", "bootstrap.sh flags"). */
  origin: string;
  kind: ConfigKind;
  /** bootstrap.sh settings without a NodeConfig field (bootstrap mode only). */
  legacy?: LegacySettings;
  instance: InstanceMetadata;
  /** DescribeCluster's answer when it was consulted; `fromCache` when read from the on-disk cache. */
  described?: { info: ClusterInfo; fromCache: boolean };
  /** Kubernetes version installed on the root ("1.32.3" or "1.32"), when known. */
  installedKubernetesVersion?: string;
  /** DescribeInstanceTypes' answer when it was called and EC2 knew the type. */
  instanceType?: InstanceTypeInfo;
  /** EC2 DescribeInstances' PrivateDnsName, when it was called ({@link needsPrivateDnsName}). */
  privateDnsName?: string;
  /** An NVIDIA PCI device is attached (eks/kubelet/node_labels.ts). */
  nvidiaGpu?: boolean;
  /** Online CPUs (from /proc/cpuinfo or the runtime): used when DescribeInstanceTypes was not called. */
  cpuCount: number;
  /** Use FIPS endpoints for the sandbox image registry. */
  fips?: boolean;
  /** The VPC CNI hands out /28 prefixes (ENABLE_PREFIX_DELEGATION): the prefix max-pods formula. */
  prefixDelegation?: boolean;
  /** Text of bootstrap.sh `--containerd-config-file`, read by the caller. */
  containerdConfigReplacement?: string;
  /** containerd on the root: its version ("1.7.27") when known (eks/containerd/version.ts). */
  containerdVersion?: string;
  /** /usr/bin/nvidia-container-runtime exists on the root. */
  nvidiaRuntimeInstalled?: boolean;
  /** MemTotal of the node in bytes, when known (FastImagePull's threshold). */
  memoryBytes?: number;
  /** soci-snapshotter.service is installed on the root (FastImagePull). */
  sociInstalled?: boolean;
}

/** The cluster fields DescribeCluster can supply and the inputs lack (empty: no call needed). */
export function missingClusterFields(
  config: NodeConfigInput,
): ("apiServerEndpoint" | "certificateAuthority")[] {
  const c = config.spec?.cluster ?? {};
  return (["apiServerEndpoint", "certificateAuthority"] as const).filter((k) => !c[k]);
}

/**
 * The user's max pods: `--max-pods` in the kubelet flags (the kubelet lets a flag win over its config
 * file), else kubelet config `maxPods`; undefined when neither is set. Throws on a non-positive value.
 * @example maxPodsOverride({ ...cfg, spec: { kubelet: { flags: ["--max-pods=110"] } } }, "user data") // 110
 */
export function maxPodsOverride(config: NodeConfigInput, origin: string): number | undefined {
  const flags = config.spec?.kubelet?.flags ?? [];
  let fromFlags: string | undefined;
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i];
    if (f.startsWith("--max-pods=")) fromFlags = f.slice("--max-pods=".length);
    else if (f === "--max-pods" && i + 1 < flags.length) fromFlags = flags[++i];
  }
  if (fromFlags !== undefined) return positiveCount(fromFlags, `kubelet flag --max-pods in ${origin}`);
  const fromConfig = config.spec?.kubelet?.config?.maxPods;
  if (fromConfig === undefined || fromConfig === null) return undefined;
  return positiveCount(fromConfig, `spec.kubelet.config.maxPods in ${origin}`);
}

/** True when max pods needs EC2 DescribeInstanceTypes: no user value and the ENI table lacks the type. */
export function needsInstanceTypeLookup(
  instanceType: string,
  config: NodeConfigInput,
  origin: string,
): boolean {
  return maxPodsOverride(config, origin) === undefined && eniLimits(instanceType) === undefined;
}

/**
 * Checks, without instance metadata or AWS, everything in a (merged) NodeConfig that `eksnode init` would
 * refuse, and returns what init would only warn about. `init` runs it first in {@link resolveNodeSettings};
 * `eksnode config check` runs it too, so check and init agree. Throws one ConfigError.
 * @example checkNodeConfig(config, "user data", "nodeconfig") // [] when all is well
 */
export function checkNodeConfig(config: NodeConfigInput, origin: string, kind: ConfigKind): string[] {
  const cluster = config.spec?.cluster ?? {};
  if (!cluster.name) {
    throw new ConfigError(
      `no cluster name in ${origin}`,
      kind === "bootstrap-flags"
        ? "pass the cluster name as the first argument"
        : "set spec.cluster.name in the NodeConfig",
    );
  }
  if (cluster.certificateAuthority) {
    const problem = certificateAuthorityEncodingProblem(cluster.certificateAuthority);
    if (problem) throw new ConfigError(`spec.cluster.certificateAuthority in ${origin} ${problem}`);
  }
  if (cluster.enableOutpost === true && !cluster.id) {
    throw new ConfigError(
      `cluster ${cluster.name} is a local Outposts cluster but ${origin} gives no cluster id`,
      kind === "bootstrap-flags" ? "pass --cluster-id" : "set spec.cluster.id",
    );
  }
  maxPodsOverride(config, origin);
  stringList(config.spec?.kubelet?.config?.clusterDNS, `spec.kubelet.config.clusterDNS in ${origin}`);
  const warnings: string[] = [];
  const expression = config.spec?.kubelet?.maxPodsExpression;
  if (expression) {
    const problem = maxPodsExpressionProblem(expression);
    if (problem) {
      warnings.push(
        `spec.kubelet.maxPodsExpression ${JSON.stringify(expression)} in ${origin}: ${problem}; ` +
          "init will use the standard max pods, as nodeadm does",
      );
    }
  }
  return warnings;
}

/**
 * True when the node name must come from EC2 DescribeInstances: kubelet 1.26+ (external cloud provider,
 * `--hostname-override`) without the `InstanceIdNodeName` feature gate.
 * @example needsPrivateDnsName("1.32", {}) // true
 */
export function needsPrivateDnsName(kubernetesVersion: string, config: NodeConfigInput): boolean {
  return kubeletVersionAtLeast(kubernetesVersion, 26) &&
    !resolveFeatureGates(config.spec?.featureGates).InstanceIdNodeName;
}

/**
 * The Kubernetes version in an /etc/eks/release text (`KUBERNETES_VERSION=1.32.3`, quotes allowed),
 * or undefined when the line is missing.
 */
export function releaseKubernetesVersion(text: string): string | undefined {
  for (const line of text.split("\n")) {
    const m = /^\s*(?:export\s+)?KUBERNETES_VERSION\s*=\s*["']?v?([0-9][0-9A-Za-z.+-]*)["']?\s*$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/** The version in `kubelet --version` output ("Kubernetes v1.32.3-eks-4096722" → "1.32.3"), or undefined. */
export function kubeletVersionOutput(text: string): string | undefined {
  return /\bv?([0-9]+\.[0-9]+\.[0-9]+)/.exec(text)?.[1];
}

/** The number of `processor` lines in a /proc/cpuinfo text, or undefined when there are none. */
export function countProcessors(cpuinfo: string): number | undefined {
  const n = cpuinfo.split("\n").filter((l) => /^processor\s*:/.test(l)).length;
  return n > 0 ? n : undefined;
}

/** The minor version of a Kubernetes version ("1.32.3" → "1.32"), or undefined when it is not one. */
export function kubernetesMinor(version: string): string | undefined {
  return /^v?([0-9]+)\.([0-9]+)(?:\.[0-9]+)?(?:[-+].*)?$/.exec(version.trim())?.slice(1, 3).join(".");
}

/**
 * Computes the node's settings from its inputs; throws ConfigError (or MetadataError for unusable
 * instance metadata) naming the input that is wrong or missing.
 * @example resolveNodeSettings({ nodeConfig, origin: "user data", kind: "nodeconfig", instance, cpuCount: 2 })
 */
export function resolveNodeSettings(inputs: NodeInputs): NodeSettings {
  const { nodeConfig, origin, instance } = inputs;
  checkNodeConfig(nodeConfig, origin, inputs.kind);
  const legacy = inputs.legacy ?? {};
  const spec = nodeConfig.spec ?? {};
  const given = spec.cluster ?? {};
  const described = inputs.described?.info;
  const warnings: string[] = [];

  const name = given.name!;
  const endpoint = given.apiServerEndpoint ?? described?.endpoint;
  const caBase64 = given.certificateAuthority ?? described?.certificateAuthority;
  if (!endpoint || !caBase64) {
    const missing = !endpoint ? "apiServerEndpoint" : "certificateAuthority";
    throw new ConfigError(
      `cluster ${name}: no ${missing} in ${origin} and DescribeCluster was not consulted`,
      "set spec.cluster.apiServerEndpoint and spec.cluster.certificateAuthority, or allow eks:DescribeCluster",
    );
  }
  // A NodeConfig's CA that decodes to something else than PEM is nodeadm's to write as given (with the
  // warning of nodeConfigWarnings); DescribeCluster's must be a certificate.
  const caProblem = given.certificateAuthority
    ? certificateAuthorityEncodingProblem(caBase64)
    : certificateAuthorityProblem(caBase64);
  if (caProblem) {
    const from = given.certificateAuthority ? origin : "DescribeCluster";
    throw new ConfigError(`certificate authority of cluster ${name} from ${from} ${caProblem}`);
  }
  const source = given.apiServerEndpoint && given.certificateAuthority
    ? inputs.kind
    : inputs.described?.fromCache
    ? "cache"
    : "describe-cluster";

  const ipFamily = legacy.ipFamily ?? (given.cidr ? ipFamilyOfCidr(given.cidr) : described?.ipFamily) ??
    "ipv4";
  const serviceCidr = given.cidr ??
    (ipFamily === "ipv6" ? described?.serviceIpv6Cidr : described?.serviceIpv4Cidr);
  const id = given.id ?? described?.id;
  const enableOutpost = given.enableOutpost ?? (described?.outpost !== undefined && id !== undefined);
  if (enableOutpost && !id) {
    throw new ConfigError(
      `cluster ${name} is a local Outposts cluster but ${origin} gives no cluster id`,
      inputs.kind === "bootstrap-flags" ? "pass --cluster-id" : "set spec.cluster.id",
    );
  }

  const kubernetesVersion = resolveKubernetesVersion(inputs, name);
  const region = instance.region;
  const partition = partitionOf(region);

  const kubeletConfig = spec.kubelet?.config ?? {};
  const dns = resolveClusterDns({
    override: legacy.dnsClusterIp ??
      stringList(kubeletConfig.clusterDNS, `spec.kubelet.config.clusterDNS in ${origin}`),
    serviceCidr,
    ipFamily,
    vpcIpv4CidrBlocks: instance.vpcIpv4Cidrs,
  });

  const vcpus = inputs.instanceType?.vcpus ?? inputs.cpuCount;
  const override = maxPodsOverride(nodeConfig, origin);
  const tableLimits = eniLimits(instance.instanceType);
  const limits = tableLimits ??
    (inputs.instanceType
      ? { enis: inputs.instanceType.enis, ipsPerEni: inputs.instanceType.ipsPerEni }
      : undefined);
  // No limits (neither the table nor EC2 knows the type): kubelet's default of 110, as nodeadm
  // (`withDefaultReservedResources` falls back to `defaultMaxPods`, commit 81fec2e8).
  const computed = limits
    ? maxPods({ ...limits, vcpus, prefixDelegation: inputs.prefixDelegation })
    : undefined;
  let pods: { kubeletMaxPods?: number; reservedForPods: number; source: string } = resolveMaxPods({
    computed,
    useMaxPods: legacy.useMaxPods,
    kubeletConfigMaxPods: override,
  });
  const expression = spec.kubelet?.maxPodsExpression;
  if (expression) {
    const fromExpression = evaluateExpression(expression, limits, override, origin);
    if (fromExpression.ok) pods = fromExpression.pods;
    else warnings.push(fromExpression.warning);
  }

  const fips = inputs.fips === true;
  const image = sandboxImage({
    region,
    fips,
    pauseContainerAccount: legacy.pauseContainerAccount,
    pauseContainerVersion: legacy.pauseContainerVersion,
    dnsSuffix: partition.dnsSuffix,
  });
  const registry = ecrRegistry({
    region,
    fips,
    account: legacy.pauseContainerAccount,
    dnsSuffix: partition.dnsSuffix,
  }).registry;

  const featureGates = resolveFeatureGates(spec.featureGates);
  const byInstanceId = featureGates.InstanceIdNodeName;
  if (!byInstanceId && inputs.privateDnsName === undefined && kubeletVersionAtLeast(kubernetesVersion, 26)) {
    throw new ConfigError(
      `node name: EC2 DescribeInstances was not consulted for the PrivateDnsName of ${instance.instanceId}`,
      `the caller asks EC2 when needsPrivateDnsName() says so`,
    );
  }
  const settings: NodeSettings = {
    kubernetesVersion,
    cluster: {
      name,
      endpoint,
      certificateAuthorityPem: certificateAuthorityPem(caBase64),
      ipFamily,
      enableOutpost,
      source,
    },
    instance,
    region,
    partition: partition.id,
    dnsSuffix: partition.dnsSuffix,
    nodeIp: nodeIp({ ipFamily, localIpv4: instance.localIpv4, ipv6: instance.ipv6 }),
    nodeName: byInstanceId ? instance.instanceId : inputs.privateDnsName ?? instance.hostname,
    providerId: providerId(instance.availabilityZone, instance.instanceId),
    clusterDns: dns.ips,
    // The secondary-IP formula on limits EC2 gave (the type is not in the embedded table): say so.
    mountBpfFs: legacy.mountBpfFs ?? true,
    maxPodsSource: pods.source === "eni-table" && !tableLimits ? "ec2-describe-instance-types" : pods.source,
    kubeReserved: { ...kubeReserved({ maxPods: pods.reservedForPods, vcpus }) },
    evictionHard: evictionHard(),
    sandboxImage: image,
    sandboxRegistry: registry,
    kubeletFlags: [...(spec.kubelet?.flags ?? [])],
    kubeletConfigOverrides: structuredClone(kubeletConfig),
    environment: structuredClone(spec.instance?.environment ?? {}),
    featureGates,
  };
  const network = spec.instance?.network;
  if (network?.nameservers?.length || network?.domains?.length) {
    settings.network = {
      nameservers: [...(network.nameservers ?? [])],
      domains: [...(network.domains ?? [])],
    };
  }
  if (warnings.length > 0) settings.warnings = warnings;
  if (serviceCidr) settings.cluster.serviceCidr = serviceCidr;
  if (id) settings.cluster.id = id;
  if (pods.kubeletMaxPods !== undefined) settings.maxPods = pods.kubeletMaxPods;
  if (inputs.nvidiaGpu) settings.nvidiaGpu = true;
  if (spec.containerd?.config) settings.containerdConfigOverride = spec.containerd.config;
  if (spec.containerd?.baseRuntimeSpec) {
    settings.containerdBaseRuntimeSpec = structuredClone(spec.containerd.baseRuntimeSpec);
  }
  if (inputs.containerdVersion !== undefined) settings.containerdVersion = inputs.containerdVersion;
  if (inputs.nvidiaRuntimeInstalled) settings.nvidiaRuntimeInstalled = true;
  const soci = useSociSnapshotter({
    gate: spec.featureGates?.[FAST_IMAGE_PULL_GATE] === true,
    memoryBytes: inputs.memoryBytes,
    cpus: inputs.cpuCount,
    installed: inputs.sociInstalled === true,
  });
  if (soci.use) settings.sociSnapshotter = true;
  if (soci.why) settings.sociSnapshotterSkipped = soci.why;
  const ls = spec.instance?.localStorage;
  if (ls?.strategy) {
    settings.localStorage = { strategy: ls.strategy };
    if (ls.mountPath) settings.localStorage.mountPath = ls.mountPath;
    if (ls.disabledMounts?.length) settings.localStorage.disabledMounts = [...ls.disabledMounts];
  }
  if (inputs.containerdConfigReplacement !== undefined) {
    settings.containerdConfigReplacement = inputs.containerdConfigReplacement;
  }
  return settings;
}

/**
 * kubelet.maxPodsExpression on the ENI limits (nodeadm CalcMaxPods): its value sizes kube-reserved and is
 * maxPods unless the user set maxPods; a failure is a warning naming the standard value used instead.
 */
function evaluateExpression(
  expression: string,
  limits: { enis: number; ipsPerEni: number } | undefined,
  override: number | undefined,
  origin: string,
): { ok: true; pods: { kubeletMaxPods: number; reservedForPods: number; source: string } } | {
  ok: false;
  warning: string;
} {
  const what = `spec.kubelet.maxPodsExpression ${JSON.stringify(expression)} in ${origin}`;
  if (!limits) {
    return {
      ok: false,
      warning: `${what}: the instance type's ENI limits are unknown, so it was not evaluated`,
    };
  }
  const standard = maxPods({ ...limits, ceiling: false }).uncapped;
  const r = evaluateMaxPodsExpression(expression, {
    defaultEnis: limits.enis,
    ipsPerEni: limits.ipsPerEni,
    maxPods: standard,
  });
  if (!r.ok) return { ok: false, warning: `${what}: ${r.problem}; using the standard max pods ${standard}` };
  return {
    ok: true,
    pods: {
      kubeletMaxPods: override ?? r.value,
      reservedForPods: r.value,
      source: override !== undefined ? "override" : "max-pods-expression",
    },
  };
}

/**
 * The node's Kubernetes minor version: installed on the root, else the cluster's (DescribeCluster); a
 * ConfigError when neither is known.
 */
export function resolveKubernetesVersion(
  inputs: Pick<NodeInputs, "installedKubernetesVersion" | "described">,
  cluster: string,
): string {
  const installed = inputs.installedKubernetesVersion;
  if (installed !== undefined) {
    const minor = kubernetesMinor(installed);
    if (!minor) {
      throw new ConfigError(
        `installed Kubernetes version ${JSON.stringify(installed)} is not a version like 1.32 or 1.32.3`,
        "fix KUBERNETES_VERSION in /etc/eks/release",
      );
    }
    return minor;
  }
  const fromCluster = inputs.described?.info.version;
  const minor = fromCluster ? kubernetesMinor(fromCluster) : undefined;
  if (minor) return minor;
  throw new ConfigError(
    `cannot tell the Kubernetes version of this node (cluster ${cluster}): ` +
      "no KUBERNETES_VERSION in /etc/eks/release, no /usr/bin/kubelet, and DescribeCluster was not called",
    "bake the image with `eksnode ami` (it writes /etc/eks/release), or leave apiServerEndpoint or " +
      "certificateAuthority out so the cluster's version is read with DescribeCluster",
  );
}

function positiveCount(value: unknown, what: string): number {
  const n = typeof value === "string" && /^[0-9]+$/.test(value.trim()) ? Number(value.trim()) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    throw new ConfigError(`${what} must be a whole number of pods ≥ 1, got ${JSON.stringify(value)}`);
  }
  return n;
}

function stringList(value: unknown, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
  throw new ConfigError(`${what} must be a list of IP addresses`, 'write e.g. clusterDNS: ["10.100.0.10"]');
}
