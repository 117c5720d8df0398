/**
 * The node's settings as `eksnode init` renders them: every value resolved from instance metadata, user
 * data / NodeConfig / bootstrap.sh flags and the cluster before any step runs (eks/api/resolve_node_settings.ts
 * resolves them; the renderers in eks/ and the init steps read them).
 */
import type { FeatureGates } from "./feature_gates.ts";
import type { InstanceMetadata } from "../aws/imds.ts";
import type { LocalStorageSettings } from "../disks/local_disks.ts";
import type { EnvironmentOptions } from "../system/environment.ts";
import type { NetworkOptions } from "../system/resolved.ts";

/** Every value the init steps render, resolved before any step runs. */
export interface NodeSettings {
  /** Kubernetes minor version of the node ("1.32"): kubelet on the root, else the cluster's. */
  kubernetesVersion: string;
  cluster: {
    name: string;
    endpoint: string;
    /** PEM text of the cluster CA. */
    certificateAuthorityPem: string;
    ipFamily: "ipv4" | "ipv6";
    serviceCidr?: string;
    /** Cluster id (local Outposts clusters). */
    id?: string;
    enableOutpost: boolean;
    /**
     * Local Outposts clusters: the addresses of the API server's host name that step 5 pins in /etc/hosts
     * (resolved by cli/init_inputs.ts, eks/system/api_server_hosts.ts); absent or empty: no block.
     */
    apiServerAddresses?: string[];
    /** Where endpoint/CA came from: "nodeconfig", "bootstrap-flags", "describe-cluster", "cache". */
    source: string;
  };
  instance: InstanceMetadata;
  region: string;
  partition: string;
  /** DNS suffix of the partition (amazonaws.com, amazonaws.com.cn, ...). */
  dnsSuffix: string;
  /** Kubelet --node-ip. */
  nodeIp: string;
  /**
   * Node name kubelet registers (--hostname-override): the private DNS name, or the instance id with the
   * feature gate InstanceIdNodeName.
   */
  nodeName: string;
  /** aws:///ZONE/INSTANCE_ID. */
  providerId: string;
  clusterDns: string[];
  /** Kubelet maxPods, or undefined to leave kubelet's default (--use-max-pods false). */
  maxPods?: number;
  /**
   * How maxPods was chosen: eni-table, ec2-describe-instance-types, prefix-delegation, override,
   * max-pods-expression (NodeConfig kubelet.maxPodsExpression; kube-reserved is sized on its value), ...
   */
  maxPodsSource: string;
  /** kube-reserved: { cpu: "70m", memory: "574Mi", "ephemeral-storage": "1Gi" }. */
  kubeReserved: Record<string, string>;
  /** evictionHard thresholds. */
  evictionHard: Record<string, string>;
  /** The sandbox (pause) image URI for this region/partition/FIPS with overrides. */
  sandboxImage: string;
  /** ECR registry host of the sandbox image (for credentials and the sandbox-image unit). */
  sandboxRegistry: string;
  /** Extra kubelet flags from NodeConfig kubelet.flags and --kubelet-extra-args, in order. */
  kubeletFlags: string[];
  /** NodeConfig kubelet.config: merged over the computed kubelet config (user wins). */
  kubeletConfigOverrides: Record<string, unknown>;
  /** NodeConfig containerd.config TOML merged into the generated config. */
  containerdConfigOverride?: string;
  /** bootstrap.sh --containerd-config-file: a config that replaces the generated one. */
  containerdConfigReplacement?: string;
  /**
   * The node's containerd version ("1.7.27", "2.1.4"; eks/containerd/version.ts): 1.x gets a version-2
   * config, 2.x a version-3 one. Undefined when nothing on the node says: containerd 2 is assumed.
   */
  containerdVersion?: string;
  /** NodeConfig containerd.baseRuntimeSpec: merged over the default base runtime spec (step 2). */
  containerdBaseRuntimeSpec?: Record<string, unknown>;
  /** /usr/bin/nvidia-container-runtime is on the node: containerd's default runtime is `nvidia`. */
  nvidiaRuntimeInstalled?: boolean;
  /** FastImagePull in effect (gate on, node big enough, snapshotter installed): containerd pulls through SOCI. */
  sociSnapshotter?: boolean;
  /** Why FastImagePull is on but the SOCI snapshotter is not used (too small, not installed). */
  sociSnapshotterSkipped?: string;
  /** Mount a bpffs at /sys/fs/bpf at boot (bootstrap.sh `--mount-bpf-fs`, default true). */
  mountBpfFs?: boolean;
  /**
   * NodeConfig instance.environment in nodeadm's form: `default` (systemd DefaultEnvironment, every
   * service) and per-service variables (eks/system/environment.ts writes the files).
   */
  environment: EnvironmentOptions;
  /** NodeConfig instance.network: systemd-resolved name servers and search domains. */
  network?: NetworkOptions;
  /** Every nodeadm feature gate with its effective value (NodeConfig featureGates over the defaults). */
  featureGates: FeatureGates;
  /**
   * What the inputs hold that init goes on with but the user should hear about (e.g. a max pods
   * expression that failed, so the standard value was used, as nodeadm does); init logs each as a warning.
   */
  warnings?: string[];
  /** An NVIDIA PCI device is attached (kubelet 1.35+ gets `--node-labels=nvidia.com/gpu.present=true`). */
  nvidiaGpu?: boolean;
  /** NodeConfig instance.localStorage (bootstrap.sh `--local-disks`) when a strategy is set. */
  localStorage?: LocalStorageSettings;
}
