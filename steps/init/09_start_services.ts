/**
 * Enable and start the instance-store disks unit (when instance.localStorage asks for it), the
 * bpffs mount (unless --mount-bpf-fs false), containerd, sandbox-image and kubelet; restart those whose
 * config changed. The CNI cache reset unit is enabled for the next boots, not started.
 */
import {
  BOOTSTRAP_KUBECONFIG,
  BPF_MOUNT_SERVICE,
  BPF_MOUNT_UNIT,
  CA_CERT,
  CNI_CACHE_RESET_SERVICE,
  CNI_CACHE_RESET_UNIT,
  CONTAINERD_BASE_RUNTIME_SPEC,
  CONTAINERD_CONFIG,
  CONTAINERD_ENV_DROPIN,
  CREDENTIAL_PROVIDER_CONFIG,
  KUBECONFIG,
  KUBELET_CONFIG,
  KUBELET_CONFIG_DROPIN,
  KUBELET_ENV_DROPIN,
  KUBELET_UNIT,
  LOCAL_DISKS_SERVICE,
  LOCAL_DISKS_UNIT,
  SANDBOX_IMAGE_ENV_DROPIN,
  SANDBOX_IMAGE_UNIT,
  SOCI_DEPENDENCY_DROPIN,
  SYSTEM_ENV_CONF,
} from "../../eks/paths/node.ts";
import { ConfigError } from "../../lib/errors.ts";
import type { Change } from "../../lib/step.ts";
import { placeOf } from "../../lib/place.ts";
import { enableUnit, startUnit, UNIT_DIRS, unitInstalled } from "../../lib/systemd.ts";
import type { Host } from "../../lib/host.ts";
import type { InitStepDef } from "./context.ts";

/** The daemon (`--daemon`) each service of {@link RESTART_TRIGGERS} belongs to. */
export const SERVICE_DAEMON: Readonly<Record<string, "containerd" | "kubelet">> = {
  "containerd.service": "containerd",
  "sandbox-image.service": "containerd",
  "kubelet.service": "kubelet",
};

/** For each service, in start order: the files whose change in this run makes it restart. */
export const RESTART_TRIGGERS: Readonly<Record<string, readonly string[]>> = {
  "containerd.service": [
    CONTAINERD_CONFIG,
    CONTAINERD_ENV_DROPIN,
    SYSTEM_ENV_CONF,
    CONTAINERD_BASE_RUNTIME_SPEC,
    SOCI_DEPENDENCY_DROPIN,
  ],
  "sandbox-image.service": [SANDBOX_IMAGE_UNIT, SANDBOX_IMAGE_ENV_DROPIN, SYSTEM_ENV_CONF],
  "kubelet.service": [
    KUBELET_UNIT,
    SYSTEM_ENV_CONF,
    KUBELET_ENV_DROPIN,
    KUBELET_CONFIG,
    KUBELET_CONFIG_DROPIN,
    KUBECONFIG,
    BOOTSTRAP_KUBECONFIG,
    CA_CERT,
    CREDENTIAL_PROVIDER_CONFIG,
  ],
};

/**
 * True when something is mounted at /sys/fs/bpf: what the bpffs unit's ConditionPathIsMountPoint tests.
 * The unit then stays inactive (its condition skips it), so "active" cannot be the done check, or every
 * init on a system that mounts bpffs itself would start it again.
 */
export async function bpfFsMounted(host: Host): Promise<boolean> {
  const mounts = (await host.readText("/proc/self/mounts")) ?? "";
  return mounts.split("\n").some((line) => line.split(" ")[1] === "/sys/fs/bpf");
}

/**
 * Restart (when triggered) before start: a stopped unit whose config changed is then started once,
 * and the start check finds it active. startUnit returns start first, so the order is turned here.
 */
function ensureRunning(unit: string, cannot: string | undefined): Change[] {
  return restartThenStart(unit, cannot, [...RESTART_TRIGGERS[unit]]);
}

function restartThenStart(unit: string, cannot: string | undefined, triggers: string[]): Change[] {
  const [start, ...restart] = startUnit(unit, cannot, triggers);
  return [...restart, start];
}

/** Enables the three services (with --root, only the symlinks) and starts or restarts them. */
export const step: InitStepDef = {
  title: "Enable and start containerd, sandbox-image and kubelet",
  enables: [
    // For some inputs only: expected when the unit is there (step 6 writes them).
    { unit: LOCAL_DISKS_SERVICE, ifFile: LOCAL_DISKS_UNIT },
    { unit: BPF_MOUNT_SERVICE, ifFile: BPF_MOUNT_UNIT },
    { unit: CNI_CACHE_RESET_SERVICE, ifFile: CNI_CACHE_RESET_UNIT },
    ...Object.keys(RESTART_TRIGGERS).map((unit) => ({ unit })),
  ],
  downloads: false,
  async plan(ctx) {
    const { host } = ctx;
    const cannot = (await placeOf(host)).systemd;
    if (!(await unitInstalled(host, "containerd.service"))) {
      throw new ConfigError(
        `containerd.service is not installed under ${host.root} (looked in ${UNIT_DIRS.join(", ")})`,
        "run init on an image baked with `eksnode ami`, which installs containerd and its unit",
      );
    }
    const units = Object.keys(RESTART_TRIGGERS).filter((u) =>
      ctx.daemons === undefined || ctx.daemons.includes(SERVICE_DAEMON[u])
    );
    // The bpffs mount first: the VPC CNI's network policy agent expects /sys/fs/bpf when kubelet starts its pods.
    const bpf = ctx.node.mountBpfFs === false ? [] : [
      enableUnit(BPF_MOUNT_SERVICE, host.root),
      ...startUnit(BPF_MOUNT_SERVICE, cannot, [], bpfFsMounted),
    ];
    // The disks first of all: containerd and kubelet keep their state on them (nodeadm set them up
    // before starting either). A changed unit (other arguments) runs again: it keeps what is in place.
    const disks = ctx.node.localStorage
      ? [
        enableUnit(LOCAL_DISKS_SERVICE, host.root),
        ...restartThenStart(LOCAL_DISKS_SERVICE, cannot, [LOCAL_DISKS_UNIT]),
      ]
      : [];
    return [
      ...disks,
      ...bpf,
      // Enabled only: it runs at the next boot, before containerd and kubelet (now the cache is in use).
      enableUnit(CNI_CACHE_RESET_SERVICE, host.root),
      ...units.map((u) => enableUnit(u, host.root)),
      ...units.flatMap((u) => ensureRunning(u, cannot)),
    ];
  },
};
