/**
 * The node's settings as `eksnode init` renders them: every value resolved from instance metadata, user
 * data / NodeConfig / bootstrap.sh flags and the cluster before any step runs (eks/node_settings.ts
 * resolves them; the renderers in eks/ and the init steps read them).
 */
import type { InstanceMetadata } from "../imds.ts";
import type { LocalStorageSettings } from "../local_disks.ts";

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
     * (resolved by cli/init_inputs.ts, eks/api_server_hosts.ts); absent or empty: no block.
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
  /** Node name kubelet registers (--hostname-override): the private DNS name. */
  nodeName: string;
  /** aws:///ZONE/INSTANCE_ID. */
  providerId: string;
  clusterDns: string[];
  /** Kubelet maxPods, or undefined to leave kubelet's default (--use-max-pods false). */
  maxPods?: number;
  /** How maxPods was chosen: eni-table, ec2-describe-instance-types, prefix-delegation, override, ... */
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
  /** Mount a bpffs at /sys/fs/bpf at boot (bootstrap.sh `--mount-bpf-fs`, default true). */
  mountBpfFs?: boolean;
  /** NodeConfig instance.environment: exported to kubelet and containerd. */
  environment: Record<string, string>;
  /** NodeConfig instance.localStorage (bootstrap.sh `--local-disks`) when a strategy is set. */
  localStorage?: LocalStorageSettings;
}
