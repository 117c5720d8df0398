/**
 * Parses the argv of AL2's `/etc/eks/bootstrap.sh CLUSTER_NAME [flags]` into a NodeConfig part plus
 * the settings NodeConfig has no field for. Flags, value forms and defaults follow
 * awslabs/amazon-eks-ami templates/al2/runtime/bootstrap.sh (commit 029f7c7d751cd352793334fc787473b7a2ab728c)
 * and templates/shared/runtime/bin/setup-local-disks (commit 029ecebc) for `--local-disks`.
 *
 * Differences from bootstrap.sh, on purpose: `--flag=value` is accepted besides `--flag value`;
 * an unknown flag or a second positional argument is an error (bootstrap.sh silently ignored them);
 * docker options fail (docker is gone since Kubernetes 1.24); `--service-ipv4-cidr` is accepted as
 * a flag (bootstrap.sh read it only from the SERVICE_IPV4_CIDR environment variable).
 */
import { hasControlCharacter, UsageError } from "../lib/errors.ts";
import { type IpFamily, parseCidr, parseIpv4, parseIpv6 } from "../lib/cidr.ts";
import { ShellSyntaxError, splitShellWords } from "../lib/shell_words.ts";
import type { ClusterDetails, LocalStorageStrategy, NodeConfigInput } from "../eks/api/nodeconfig.ts";
import {
  apiServerEndpointProblem,
  apiServerEndpointWarning,
  certificateAuthorityContentProblem,
  certificateAuthorityEncodingProblem,
  CLUSTER_ID,
  CLUSTER_ID_PROBLEM,
  CONTROL_CHARACTER_PROBLEM,
  NODECONFIG_API_VERSION,
  NODECONFIG_KIND,
} from "../eks/api/values.ts";

/** bootstrap.sh settings that have no NodeConfig field; absent means "bootstrap.sh's default". */
export interface BootstrapLegacy {
  /** `--aws-api-retry-attempts` (bootstrap.sh default 3): DescribeCluster retries. */
  awsApiRetryAttempts?: number;
  /** `--containerd-config-file`: a file that *replaces* the AMI's containerd config. */
  containerdConfigFile?: string;
  /** `--dns-cluster-ip`: comma-separated list, becomes kubelet `clusterDNS`. */
  dnsClusterIp?: string[];
  /** `--ip-family` (lower-cased), or `ipv6` implied by `--service-ipv6-cidr`. */
  ipFamily?: "ipv4" | "ipv6";
  /** `--local-disks` as given; also mapped to `spec.instance.localStorage.strategy`. */
  localDisks?: "raid0" | "raid10" | "mount" | "none";
  /** `--mount-bpf-fs` (bootstrap.sh default true). */
  mountBpfFs?: boolean;
  /** `--pause-container-account`: 12-digit AWS account of the pause image's ECR registry. */
  pauseContainerAccount?: string;
  /** `--pause-container-version`: tag of the pause image (bootstrap.sh default 3.5). */
  pauseContainerVersion?: string;
  /** `--service-ipv4-cidr`. */
  serviceIpv4Cidr?: string;
  /** `--service-ipv6-cidr`. */
  serviceIpv6Cidr?: string;
  /** `--use-max-pods` (bootstrap.sh default true): set kubelet maxPods from the ENI table. */
  useMaxPods?: boolean;
}

/** The parsed command line: a NodeConfig part (apiVersion, kind, spec) and the legacy settings. */
export interface BootstrapArgs {
  nodeConfig: NodeConfigInput;
  legacy: BootstrapLegacy;
  /** `-h` or `--help` was given (then the cluster name is not required). */
  help: boolean;
  /**
   * What bootstrap.sh accepts but is probably a mistake, one line each (a plain-http endpoint, a CA that is
   * not a PEM certificate): the warnings a NodeConfig with these values gets (eks/api/nodeconfig.ts
   * nodeConfigWarnings), naming the flag.
   */
  warnings: string[];
}

/** One bootstrap.sh flag: its name, value placeholder and help text (from bootstrap.sh print_help). */
export interface BootstrapFlag {
  flag: string;
  value: string;
  help: string;
}

interface Acc {
  cluster: ClusterDetails;
  kubeletFlags?: string[];
  strategy?: LocalStorageStrategy | null;
  legacy: BootstrapLegacy;
  /** By flag: a flag given twice keeps only its last value's warning. */
  warnings: Map<string, string>;
}

type Handler = (value: string, flag: string, acc: Acc) => void;

const DOCKER_GONE = "docker is not supported since Kubernetes 1.24; eksnode always uses containerd";

const SPECS: (BootstrapFlag & { set: Handler })[] = [
  {
    flag: "--apiserver-endpoint",
    value: "URL",
    help: "the EKS cluster API server endpoint; with --b64-cluster-ca, skips DescribeCluster",
    set: (v, f, a) => {
      const problem = apiServerEndpointProblem(v);
      if (problem) usage(f, v, problem);
      const warning = apiServerEndpointWarning(v);
      if (warning) a.warnings.set(f, `${f} ${warning}`);
      else a.warnings.delete(f);
      a.cluster.apiServerEndpoint = v;
    },
  },
  {
    flag: "--aws-api-retry-attempts",
    value: "N",
    help: "tries of each AWS API call (DescribeCluster, EC2) (default: AWS_MAX_ATTEMPTS, else 30)",
    set: (v, f, a) => {
      if (!/^[0-9]{1,3}$/.test(v)) usage(f, v, "must be a whole number of attempts");
      a.legacy.awsApiRetryAttempts = Number(v);
    },
  },
  {
    flag: "--b64-cluster-ca",
    value: "BASE64",
    help: "the base64-encoded cluster CA bundle; with --apiserver-endpoint, skips DescribeCluster",
    set: (v, f, a) => {
      // bootstrap.sh writes whatever `base64 -d` gives to the CA file, as nodeadm does with a NodeConfig's
      // certificateAuthority: what does not decode is refused, what is not a certificate is a warning.
      const problem = certificateAuthorityEncodingProblem(v);
      if (problem) usage(f, undefined, problem);
      const content = certificateAuthorityContentProblem(v);
      if (content) a.warnings.set(f, `${f} ${content}: kubelet will not trust the API server`);
      else a.warnings.delete(f);
      a.cluster.certificateAuthority = v.trim();
    },
  },
  {
    flag: "--cluster-id",
    value: "ID",
    help: "the id of the EKS cluster (needed for local clusters on Outposts)",
    set: (v, f, a) => {
      if (!CLUSTER_ID.test(v)) usage(f, v, CLUSTER_ID_PROBLEM);
      a.cluster.id = v;
    },
  },
  {
    flag: "--container-runtime",
    value: "containerd",
    help: "deprecated; containerd is the only runtime",
    set: (v, f) => {
      if (v === "dockerd") usage(f, v, DOCKER_GONE);
      if (v !== "containerd") usage(f, v, "the only container runtime is containerd");
    },
  },
  {
    flag: "--containerd-config-file",
    value: "PATH",
    help: "a containerd config file used in place of the AMI default",
    set: (v, f, a) => {
      if (v === "") usage(f, v, "must name a file");
      a.legacy.containerdConfigFile = v;
    },
  },
  {
    flag: "--dns-cluster-ip",
    value: "IP[,IP]",
    help: "cluster DNS address(es), overriding the one derived from the service CIDR",
    set: (v, f, a) => {
      const ips = v.split(",").map((s) => s.trim());
      const bad = ips.find((ip) => parseIpv4(ip) === undefined && parseIpv6(ip) === undefined);
      if (bad !== undefined) usage(f, v, `"${bad}" is not an IP address`);
      a.legacy.dnsClusterIp = ips;
    },
  },
  {
    flag: "--docker-config-json",
    value: "JSON",
    help: "obsolete: docker is not supported",
    set: (_v, f) => usage(f, undefined, DOCKER_GONE),
  },
  {
    flag: "--enable-docker-bridge",
    value: "true|false",
    help: "obsolete: only false is accepted",
    set: (v, f) => {
      if (bool(v, f)) usage(f, v, DOCKER_GONE);
    },
  },
  {
    flag: "--enable-local-outpost",
    value: "true|false",
    help: "configure the node for a local EKS cluster on a disconnected Outpost",
    set: (v, f, a) => {
      a.cluster.enableOutpost = bool(v, f);
    },
  },
  {
    flag: "--ip-family",
    value: "ipv4|ipv6",
    help: "the IP family of the cluster",
    set: (v, f, a) => {
      const family = v.toLowerCase();
      if (family !== "ipv4" && family !== "ipv6") usage(f, v, "only ipv4 or ipv6 are allowed");
      a.legacy.ipFamily = family;
    },
  },
  {
    flag: "--kubelet-extra-args",
    value: "ARGS",
    help: "extra kubelet arguments, split like a shell would, e.g. '--node-labels=a=b'",
    set: (v, f, a) => {
      try {
        a.kubeletFlags = splitShellWords(v);
      } catch (err) {
        if (err instanceof ShellSyntaxError) usage(f, undefined, err.message);
        throw err;
      }
      // A quoted newline survives splitting; no kubelet flag holds one.
      const bad = a.kubeletFlags.find(hasControlCharacter);
      if (bad !== undefined) usage(f, bad, CONTROL_CHARACTER_PROBLEM);
    },
  },
  {
    flag: "--local-disks",
    value: "raid0|raid10|mount|none",
    help: "set up instance-store NVMe disks as one RAID or one mount each",
    set: (v, f, a) => {
      const mode = v.toLowerCase();
      const map: Record<string, LocalStorageStrategy | null> = {
        raid0: "RAID0",
        raid10: "RAID10",
        mount: "Mount",
        none: null,
      };
      if (!(mode in map)) usage(f, v, "valid values are raid0, raid10, mount, none");
      a.legacy.localDisks = mode as BootstrapLegacy["localDisks"];
      a.strategy = map[mode];
    },
  },
  {
    flag: "--mount-bpf-fs",
    value: "true|false",
    help: "mount a bpffs at /sys/fs/bpf (default true)",
    set: (v, f, a) => {
      a.legacy.mountBpfFs = bool(v, f);
    },
  },
  {
    flag: "--pause-container-account",
    value: "ACCOUNT",
    help: "the AWS account (12 digits) whose ECR serves the pause image",
    set: (v, f, a) => {
      if (!/^[0-9]{12}$/.test(v)) usage(f, v, "must be a 12-digit AWS account id");
      a.legacy.pauseContainerAccount = v;
    },
  },
  {
    flag: "--pause-container-version",
    value: "TAG",
    help: "the tag of the pause image (default 3.10, the EKS AL2023 pause tag)",
    set: (v, f, a) => {
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(v)) usage(f, v, "must be an image tag such as 3.10");
      a.legacy.pauseContainerVersion = v;
    },
  },
  {
    flag: "--service-ipv4-cidr",
    value: "CIDR",
    help: "the cluster's IPv4 service CIDR (bootstrap.sh read it from SERVICE_IPV4_CIDR)",
    set: (v, f, a) => {
      if (cidrFamily(v) !== "ipv4") usage(f, v, "must be an IPv4 CIDR such as 10.100.0.0/16");
      a.legacy.serviceIpv4Cidr = v;
    },
  },
  {
    flag: "--service-ipv6-cidr",
    value: "CIDR",
    help: "the cluster's IPv6 service CIDR; implies --ip-family ipv6",
    set: (v, f, a) => {
      if (cidrFamily(v) !== "ipv6") usage(f, v, "must be an IPv6 CIDR such as fd00:1234::/108");
      a.legacy.serviceIpv6Cidr = v;
    },
  },
  {
    flag: "--use-max-pods",
    value: "true|false",
    help: "set kubelet maxPods for the instance type (default true)",
    set: (v, f, a) => {
      a.legacy.useMaxPods = bool(v, f);
    },
  },
];

/** The flags bootstrap.sh knew, for help output; values and meanings as in its print_help. */
export const BOOTSTRAP_FLAGS: readonly BootstrapFlag[] = SPECS.map(({ flag, value, help }) => ({
  flag,
  value,
  help,
}));

const BY_NAME = new Map(SPECS.map((s) => [s.flag, s.set]));

/**
 * Parses bootstrap.sh arguments (without the script path itself).
 * @example parseBootstrapArgs(["my-cluster", "--kubelet-extra-args", "--node-labels=a=b"])
 */
export function parseBootstrapArgs(argv: readonly string[]): BootstrapArgs {
  const acc: Acc = { cluster: {}, legacy: {}, warnings: new Map() };
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const set = BY_NAME.get(flag);
    if (!set) {
      throw new UsageError(
        `unknown bootstrap.sh flag ${flag}`,
        `known flags: ${SPECS.map((s) => s.flag).join(", ")}`,
      );
    }
    let value: string;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      // Like bootstrap.sh (`X=$2; shift 2`), the next word is the value even if it starts with "-".
      if (i + 1 >= argv.length) throw new UsageError(`bootstrap.sh flag ${flag} needs a value`);
      value = argv[++i];
    }
    set(value, flag, acc);
  }

  if (positional.length > 1) {
    throw new UsageError(
      `bootstrap.sh takes one cluster name, got ${positional.length} arguments: ${positional.join(" ")}`,
      "quote --kubelet-extra-args values that hold spaces",
    );
  }
  const name = positional[0];
  if (name === undefined && !help) {
    throw new UsageError("bootstrap.sh needs the cluster name as its argument");
  }
  if (name !== undefined) {
    if (!/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/.test(name)) {
      usage("CLUSTER_NAME", name, "must be an EKS cluster name (letters, digits, - and _)");
    }
    acc.cluster.name = name;
  }

  const legacy = acc.legacy;
  if (legacy.serviceIpv6Cidr !== undefined) {
    // bootstrap.sh: "--ip-family should be ipv6 when --service-ipv6-cidr is specified".
    if (legacy.ipFamily === "ipv4") {
      throw new UsageError("--ip-family ipv4 conflicts with --service-ipv6-cidr", "drop one of them");
    }
    legacy.ipFamily = "ipv6";
  }
  const cidr = legacy.ipFamily === "ipv6" ? legacy.serviceIpv6Cidr : legacy.serviceIpv4Cidr;
  if (cidr !== undefined) acc.cluster.cidr = cidr;

  const spec: NonNullable<NodeConfigInput["spec"]> = {};
  if (Object.keys(acc.cluster).length > 0) spec.cluster = acc.cluster;
  if (acc.kubeletFlags && acc.kubeletFlags.length > 0) spec.kubelet = { flags: acc.kubeletFlags };
  if (acc.strategy) spec.instance = { localStorage: { strategy: acc.strategy } };
  const nodeConfig: NodeConfigInput = { apiVersion: NODECONFIG_API_VERSION, kind: NODECONFIG_KIND, spec };
  return { nodeConfig, legacy, help, warnings: [...acc.warnings.values()] };
}

function cidrFamily(value: string): IpFamily | undefined {
  try {
    return parseCidr(value).family;
  } catch {
    return undefined;
  }
}

function bool(value: string, flag: string): boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  return usage(flag, value, "must be true or false");
}

function usage(flag: string, value: string | undefined, problem: string): never {
  const shown = value === undefined ? "" : ` ${JSON.stringify(value)}`;
  throw new UsageError(`bootstrap.sh ${flag}${shown}: ${problem}`);
}

/** A bootstrap.sh command line as a NodeConfig, for `eksnode config dump`, and what it cannot say. */
export interface BootstrapAsNodeConfig {
  nodeConfig: NodeConfigInput;
  /** One line a setting that has no NodeConfig field (init still applies it in bootstrap.sh mode). */
  notCarried: string[];
}

/**
 * The NodeConfig that means what the bootstrap.sh flags mean, as far as NodeConfig can: `--dns-cluster-ip`
 * becomes kubelet config `clusterDNS`, `--local-disks` the local storage strategy, the service CIDR of
 * the IP family `cidr`; every flag NodeConfig has no field for is named in `notCarried`.
 * @example bootstrapAsNodeConfig(parseBootstrapArgs(["c", "--dns-cluster-ip", "10.0.0.10"])).nodeConfig.spec?.kubelet?.config // { clusterDNS: ["10.0.0.10"] }
 */
export function bootstrapAsNodeConfig(
  args: Pick<BootstrapArgs, "nodeConfig" | "legacy">,
): BootstrapAsNodeConfig {
  const nodeConfig = structuredClone(args.nodeConfig);
  const spec = nodeConfig.spec ??= {};
  const l = args.legacy;
  const notCarried: string[] = [];
  const no = (flag: string, why: string) => notCarried.push(`${flag}: ${why}`);
  if (l.dnsClusterIp) {
    spec.kubelet = { ...spec.kubelet, config: { ...spec.kubelet?.config, clusterDNS: [...l.dnsClusterIp] } };
  }
  if (l.useMaxPods === false) {
    no(
      "--use-max-pods false",
      "no NodeConfig field leaves maxPods unset (nodeadm always writes one; set spec.kubelet.config.maxPods)",
    );
  }
  if (l.ipFamily && !spec.cluster?.cidr) {
    no(
      `--ip-family ${l.ipFamily}`,
      "NodeConfig takes the IP family from spec.cluster.cidr; give the service CIDR",
    );
  }
  if (l.ipFamily === "ipv6" && l.serviceIpv4Cidr) {
    no(`--service-ipv4-cidr ${l.serviceIpv4Cidr}`, "NodeConfig holds one service CIDR (the IPv6 one here)");
  }
  if (l.mountBpfFs === false) {
    no("--mount-bpf-fs false", "no NodeConfig field (nodeadm leaves bpffs to the OS)");
  }
  if (l.pauseContainerAccount) no("--pause-container-account", "no NodeConfig field for the pause image");
  if (l.pauseContainerVersion) no("--pause-container-version", "no NodeConfig field for the pause image");
  if (l.containerdConfigFile) {
    no(
      "--containerd-config-file",
      "NodeConfig's spec.containerd.config is merged into the default config, not a replacement",
    );
  }
  if (l.awsApiRetryAttempts !== undefined) {
    no("--aws-api-retry-attempts", "no NodeConfig field (the AWS SDKs read AWS_MAX_ATTEMPTS)");
  }
  return { nodeConfig, notCarried };
}
