/**
 * Where `eksnode init` reads and writes, one constant a file, so steps, triggers and tests agree. Only
 * constants: the CLI's command modules import them without loading any parser or schema.
 */

/** The config source of `eksnode init` when none is given: the instance's user data, as for nodeadm. */
export const DEFAULT_CONFIG_SOURCE = "imds://user-data";

/** Kubelet's image credential provider config (step 1). */
export const CREDENTIAL_PROVIDER_CONFIG = "/etc/eks/image-credential-provider/config.json";
/** Directory holding `ecr-credential-provider` (installed by `eksnode ami` step 32). */
export const CREDENTIAL_PROVIDER_BIN_DIR = "/etc/eks/image-credential-provider";
/** The rendered containerd config kept under /etc/eks (step 2). */
export const EKS_CONTAINERD_CONFIG = "/etc/eks/containerd/containerd-config.toml";
/** containerd's own config (step 2). */
export const CONTAINERD_CONFIG = "/etc/containerd/config.toml";
/**
 * systemd manager drop-in with NodeConfig `instance.environment.default` as `DefaultEnvironment=` (step 6;
 * nodeadm/internal/system/environment.go, commit 81fec2e8).
 */
export const SYSTEM_ENV_CONF = "/etc/systemd/system.conf.d/environment.conf";
/** The drop-in of a service with its NodeConfig `instance.environment.SERVICE` (step 6; same source). */
export function serviceEnvDropIn(service: string): string {
  return `/etc/systemd/system/${service}.service.d/environment.conf`;
}
/** Drop-in with instance.environment.containerd (step 6). */
export const CONTAINERD_ENV_DROPIN = serviceEnvDropIn("containerd");
/**
 * Drop-in of sandbox-image.service: instance.environment.containerd under instance.environment.sandbox-image
 * (step 6): the unit pulls the pause image over the network as containerd would (eks/system/environment.ts).
 */
export const SANDBOX_IMAGE_ENV_DROPIN = serviceEnvDropIn("sandbox-image");
/** Where eksnode before nodeadm's environment layout wrote the kubelet and containerd drop-ins (removed). */
export const LEGACY_ENV_DROPINS: readonly string[] = [
  "/etc/systemd/system/kubelet.service.d/10-eksnode-env.conf",
  "/etc/systemd/system/containerd.service.d/10-eksnode-env.conf",
];
/**
 * systemd-resolved drop-in with NodeConfig `instance.network` (step 6; nodeadm/internal/system/resolve.go,
 * commit 81fec2e8). Under /run: written again at every boot by init.
 */
export const RESOLVED_DROPIN = "/run/systemd/resolved.conf.d/40-eks.conf";
/** The OCI spec containers start from, which containerd's config names as `base_runtime_spec` (step 2). */
export const CONTAINERD_BASE_RUNTIME_SPEC = "/etc/containerd/base-runtime-spec.json";
/** nodeadm's drop-in that makes containerd require the SOCI snapshotter, with FastImagePull (step 2). */
export const SOCI_DEPENDENCY_DROPIN = "/etc/systemd/system/containerd.service.d/10-soci-snapshotter.conf";
/** The SOCI snapshotter's config, with FastImagePull (step 2). */
export const SOCI_CONFIG = "/etc/soci-snapshotter-grpc/config.toml";
/** The rendered kubelet unit kept under /etc/eks (step 3). */
export const EKS_KUBELET_UNIT = "/etc/eks/containerd/kubelet-containerd.service";
/** The rendered sandbox-image unit kept under /etc/eks (step 4). */
export const EKS_SANDBOX_IMAGE_UNIT = "/etc/eks/containerd/sandbox-image.service";
/** The eksnode binary (installed by `eksnode ami` step 1); sandbox-image.service runs its `pull-image`. */
export const EKSNODE_BIN = "/usr/bin/eksnode";
/** The installed sandbox-image unit (step 4). */
export const SANDBOX_IMAGE_UNIT = "/etc/systemd/system/sandbox-image.service";
/** Cluster CA, referenced by the kubeconfig and the kubelet config (step 5). */
export const CA_CERT = "/etc/kubernetes/pki/ca.crt";
/** Kubelet's kubeconfig (step 5; written by kubelet itself on Outposts). */
export const KUBECONFIG = "/var/lib/kubelet/kubeconfig";
/** Kubelet's TLS-bootstrap kubeconfig on local Outposts clusters (step 5). */
export const BOOTSTRAP_KUBECONFIG = "/var/lib/kubelet/bootstrap-kubeconfig";
/** The installed kubelet unit (step 6). */
export const KUBELET_UNIT = "/etc/systemd/system/kubelet.service";
/** Drop-in with instance.environment.kubelet (step 6). */
export const KUBELET_ENV_DROPIN = serviceEnvDropIn("kubelet");
/** Kubelet's KubeletConfiguration (step 7). */
export const KUBELET_CONFIG = "/etc/kubernetes/kubelet/kubelet-config.json";
/**
 * kubelet's drop-in config directory, `--config-dir` (step 7 makes it, 0755, when kubelet reads it:
 * eks/kubelet/config_dir.ts). nodeadm's path (nodeadm/internal/kubelet/config.go @ 81fec2e8,
 * `kubeletConfigRoot` + `kubeletConfigDir`), so a `*.conf` written there for nodeadm is read here too.
 */
export const KUBELET_CONFIG_DIR = "/etc/kubernetes/kubelet/config.json.d";
/**
 * NodeConfig `kubelet.config` as a drop-in of {@link KUBELET_CONFIG_DIR} (step 7), under nodeadm's name so
 * it sorts among a user's drop-ins where nodeadm's does.
 */
export const KUBELET_CONFIG_DROPIN = `${KUBELET_CONFIG_DIR}/40-nodeadm.conf`;
/**
 * The unit that mounts bpffs, for `--mount-bpf-fs` (step 6). A service, not a mount unit: systemd refuses
 * mount units for API file systems such as /sys/fs/bpf.
 */
export const BPF_MOUNT_SERVICE = "eksnode-mount-bpf-fs.service";
/** {@link BPF_MOUNT_SERVICE}'s file. */
export const BPF_MOUNT_UNIT = `/etc/systemd/system/${BPF_MOUNT_SERVICE}`;
/**
 * The unit that runs `eksnode setup-local-disks` at boot, for NodeConfig `instance.localStorage` /
 * bootstrap.sh `--local-disks` (step 6).
 */
export const LOCAL_DISKS_SERVICE = "eksnode-local-disks.service";
/** {@link LOCAL_DISKS_SERVICE}'s file. */
export const LOCAL_DISKS_UNIT = `/etc/systemd/system/${LOCAL_DISKS_SERVICE}`;
/** The unit that empties /var/lib/cni/results at boot (step 6 writes it, step 9 enables it). */
export const CNI_CACHE_RESET_SERVICE = "cni-cache-reset.service";
/** {@link CNI_CACHE_RESET_SERVICE}'s file. */
export const CNI_CACHE_RESET_UNIT = `/etc/systemd/system/${CNI_CACHE_RESET_SERVICE}`;
/** containerd's CRI socket. */
export const CONTAINERD_SOCKET = "unix:///run/containerd/containerd.sock";

/** Unit files and drop-ins the init steps write: a change to any of them needs a daemon-reload. */
export const UNIT_FILES: readonly string[] = [
  SYSTEM_ENV_CONF,
  CONTAINERD_ENV_DROPIN,
  SOCI_DEPENDENCY_DROPIN,
  SANDBOX_IMAGE_ENV_DROPIN,
  SANDBOX_IMAGE_UNIT,
  KUBELET_UNIT,
  KUBELET_ENV_DROPIN,
  BPF_MOUNT_UNIT,
  LOCAL_DISKS_UNIT,
  CNI_CACHE_RESET_UNIT,
];

/** The JSON manifest of installed artifacts that `eksnode ami` step 33 writes and `eksnode verify` reads. */
export const RELEASE_JSON_PATH = "/etc/eks/release.json";

/** The CycloneDX SBOM of the image (`eksnode ami` step 33, beside release.json): docs/sbom.md. */
export const SBOM_PATH = "/etc/eks/sbom.cdx.json";

// Written by `eksnode ami` and checked by `eksnode verify`.
/** The shell-sourceable release file (`eksnode ami` step 33). */
export const RELEASE_PATH = "/etc/eks/release";
/** The eks-log-collector.sh shim (`eksnode ami` step 37). */
export const LOG_COLLECTOR_PATH = "/etc/eks/log-collector-script/eks-log-collector.sh";
/** sshd crypto drop-in (`eksnode ami` step 6); sshd keeps the first value it reads, so it sorts early. */
export const SSHD_DROPIN = "/etc/ssh/sshd_config.d/05-eksnode-crypto.conf";
/** The link through which systemd-sysctl reads /etc/sysctl.conf (`eksnode ami` step 35). */
export const SYSCTL_CONF_LINK = "/etc/sysctl.d/99-sysctl.conf";
/** The bootstrap.sh shim that execs `eksnode init` (`eksnode ami` step 36). */
export const BOOTSTRAP_SHIM_PATH = "/etc/eks/bootstrap.sh";
/** Ports kept out of the ephemeral range for host-network add-ons (`eksnode ami` step 15). */
export const SYSCTL_RESERVED_PORTS_FILE = "/etc/sysctl.d/67-eks-reserved-ports.conf";

/** The boot unit that runs `eksnode init`'s config phase before cloud-init (installed by `eksnode ami` step 36). */
export const BOOT_CONFIG_SERVICE = "eksnode-config.service";
/** The boot unit that runs `eksnode init`'s run phase after cloud-final (installed by `eksnode ami` step 36). */
export const BOOT_RUN_SERVICE = "eksnode-run.service";
/** Where the boot units keep the config phase's settings for the run phase (`--config-cache`, tmpfs: one boot). */
export const BOOT_CONFIG_CACHE = "/run/eks/eksnode/config.json";
/**
 * The drop-in directory of NodeConfig files merged over the user data at boot (nodeadm's, so what is
 * written there for nodeadm-run.service keeps working).
 */
export const NODECONFIG_DROP_IN_DIR = "/etc/eks/nodeadm.d/";
/** The config sources of the boot units, in merge order: user data, then the drop-ins. */
export const BOOT_CONFIG_SOURCES: readonly string[] = [
  DEFAULT_CONFIG_SOURCE,
  `file://${NODECONFIG_DROP_IN_DIR}`,
];
