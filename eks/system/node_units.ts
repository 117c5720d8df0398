/**
 * systemd units and the helper script `eksnode init` installs: kubelet, sandbox-image, and the
 * environment drop-ins.
 *
 * Sources (awslabs/amazon-eks-ami):
 * - `templates/al2/runtime/kubelet-containerd.service` (as kept in the Vungle/amazon-eks-ami fork,
 *   commit 330b4d5f; same file as `files/kubelet-containerd.service` @ 00afdb70 upstream): After/Requires
 *   containerd and sandbox-image, Slice=runtime.slice, Restart=on-failure, RestartForceExitStatus=SIGPIPE,
 *   RestartSec=5, KillMode=process, CPU/Memory accounting. The arguments are written into ExecStart
 *   instead of `$KUBELET_ARGS $KUBELET_EXTRA_ARGS` drop-ins, so the unit alone says how kubelet runs.
 * - nodeadm's AL2023 unit `templates/al2023/runtime/rootfs/etc/systemd/system/kubelet.service` (commit
 *   81fec2e8): `ExecStartPre=/sbin/iptables -P FORWARD ACCEPT -w 5` (pod traffic is forwarded through the
 *   host; a FORWARD policy of DROP, as Docker or a hardened image sets it, would cut pods off), and
 *   `cni-cache-reset.service` (same folder): `rm -rf /var/lib/cni/results` at every boot, so kubelet does
 *   not find the CNI results of pods from before the reboot (their interfaces are gone).
 * - `templates/al2/runtime/sandbox-image.service` and `pull-sandbox-image.sh` (commit 64b70169):
 *   a oneshot after containerd that gets an ECR password with `aws ecr get-login-password --region`
 *   of the image's own region, retried with backoff, and pulls the image. Here the unit runs
 *   `eksnode pull-image` (cli/pull_image.ts), which does the same with `ctr` (it ships with containerd;
 *   crictl is not installed by `eksnode ami`) and ECR GetAuthorizationToken; the image is an argument (so
 *   the unit changes when the image does), and RemainAfterExit keeps the unit active so a second
 *   `eksnode init` sees it as done.
 */
import { environmentLines, execCommandLine, quoteExecArg } from "../../lib/systemd_quote.ts";
import type { NodeSettings } from "../api/node_settings.ts";
import { KUBELET_BIN, kubeletArgs } from "../kubelet/args.ts";
import { configDirEnvironment } from "../kubelet/config_dir.ts";
import { localDisksArgs, type LocalStorageSettings } from "../disks/local_disks.ts";
import { EKSNODE_BIN } from "../paths/node.ts";
export { ecrRegistryRegion } from "../aws/ecr_registry.ts";

const HEADER = "# Written by eksnode; a later run overwrites changes made here.\n";

/** kubelet.service's ExecStartPre: the FORWARD chain's policy to ACCEPT, waiting up to 5 s for the xtables lock. */
export const IPTABLES_FORWARD_ACCEPT: readonly string[] = [
  "/sbin/iptables",
  "-P",
  "FORWARD",
  "ACCEPT",
  "-w",
  "5",
];

/** Where the CNI plugins cache the results of ADD (libcni's default cache directory). */
export const CNI_RESULTS_CACHE = "/var/lib/cni/results";

/**
 * The unit that empties the CNI results cache at boot (nodeadm's cni-cache-reset.service). Ordered before
 * containerd and kubelet rather than cloud-init.target: here kubelet starts at boot on its own. Only
 * enabled by init (step 9), never started: on a running node the cache belongs to the running pods.
 */
export function renderCniCacheResetUnit(): string {
  return `${HEADER}[Unit]
Description=Reset the CNI results cache
DefaultDependencies=no
After=local-fs.target
Before=containerd.service kubelet.service

[Service]
Type=oneshot
ExecStart=${["/bin/rm", "-rf", CNI_RESULTS_CACHE].map(quoteExecArg).join(" ")}

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The kubelet unit (installed as /etc/systemd/system/kubelet.service). `Environment=` carries what kubelet
 * needs for its `--config-dir` on 1.28 and 1.29 (eks/kubelet/config_dir.ts; nodeadm writes the same
 * variable into its /etc/eks/kubelet/environment).
 */
export function renderKubeletUnit(node: NodeSettings): string {
  const env = environmentLines(configDirEnvironment(node)).map((l) => `${l}\n`).join("");
  return `${HEADER}[Unit]
Description=Kubernetes Kubelet
Documentation=https://github.com/kubernetes/kubernetes
After=containerd.service sandbox-image.service
Requires=containerd.service sandbox-image.service

[Service]
Slice=runtime.slice
${env}ExecStartPre=${IPTABLES_FORWARD_ACCEPT.map(quoteExecArg).join(" ")}
ExecStart=${execCommandLine([KUBELET_BIN, ...kubeletArgs(node)])}
Restart=on-failure
RestartForceExitStatus=SIGPIPE
RestartSec=5
KillMode=process
CPUAccounting=true
MemoryAccounting=true

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The unit that mounts bpffs: bootstrap.sh's `--mount-bpf-fs` (default true) mounted a BPF file system at
 * /sys/fs/bpf for the VPC CNI's network policy agent (awslabs/amazon-eks-ami
 * templates/al2/runtime/bootstrap.sh, MOUNT_BPF_FS, and its mount-bpf-fs helper). A oneshot service does
 * it at every boot, before containerd and kubelet, and is skipped where the path is already a mount point
 * (systemd refuses a .mount unit for this API file system).
 */
export function renderBpfMountUnit(): string {
  return `${HEADER}[Unit]
Description=Mount a BPF file system at /sys/fs/bpf (eksnode --mount-bpf-fs)
DefaultDependencies=no
After=local-fs.target
Before=containerd.service kubelet.service
ConditionPathIsMountPoint=!/sys/fs/bpf

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/bin/mount -t bpf -o rw,nosuid,nodev,noexec,relatime,mode=700 bpffs /sys/fs/bpf

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The unit that sets up the instance-store NVMe disks (NodeConfig `instance.localStorage`, bootstrap.sh
 * `--local-disks`): `eksnode setup-local-disks` with the arguments nodeadm gave amazon-eks-ami's
 * setup-local-disks script (eks/disks/local_disks.ts). nodeadm ran it in init's run phase before starting
 * containerd and kubelet (nodeadm/cmd/nodeadm/init/init.go, the local-disk aspect); here it is a oneshot
 * ordered before them, so a reboot finds the disks set up too (its mount units are then in place; the
 * command sees that and changes nothing). Oneshot services have no start timeout: copying a large
 * /var/lib/containerd onto the array may take a while.
 */
export function renderLocalDisksUnit(ls: LocalStorageSettings): string {
  return `${HEADER}[Unit]
Description=Set up EC2 instance-store NVMe disks (eksnode setup-local-disks)
After=local-fs.target
Before=containerd.service kubelet.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${execCommandLine([EKSNODE_BIN, "setup-local-disks", ...localDisksArgs(ls)])}

[Install]
WantedBy=multi-user.target
`;
}

/**
 * The sandbox-image unit (installed as /etc/systemd/system/sandbox-image.service). The bake (ami step 18)
 * renders it for the bake region and init re-renders it for the node's region: one renderer for both.
 */
export function renderSandboxImageUnit(node: Pick<NodeSettings, "sandboxImage" | "sandboxRegistry">): string {
  const argv = [EKSNODE_BIN, "pull-image", "--namespace", "k8s.io", node.sandboxImage];
  // A FIPS registry host: let the ECR GetAuthorizationToken call use the FIPS endpoint too.
  const fipsEnv = /\.dkr\.ecr-fips\./.test(node.sandboxRegistry)
    ? `${environmentLines({ AWS_USE_FIPS_ENDPOINT: "true" }).join("\n")}\n`
    : "";
  return `${HEADER}[Unit]
Description=Pull the sandbox (pause) image into containerd
After=containerd.service network-online.target
Wants=network-online.target
Requires=containerd.service

[Service]
Type=oneshot
RemainAfterExit=yes
${fipsEnv}ExecStart=${execCommandLine(argv)}

[Install]
WantedBy=multi-user.target
`;
}

/** A `[Service]` drop-in exporting `env`, or undefined when `env` is empty. */
export function renderEnvironmentDropIn(env: Readonly<Record<string, string>>): string | undefined {
  const lines = environmentLines(env);
  if (lines.length === 0) return undefined;
  return `# Written by eksnode init from NodeConfig instance.environment.\n[Service]\n${lines.join("\n")}\n`;
}
