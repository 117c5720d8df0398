/** Installs the kubelet unit, the environment files and the other units and drop-ins. */
import {
  BPF_MOUNT_UNIT,
  CNI_CACHE_RESET_UNIT,
  CONTAINERD_ENV_DROPIN,
  KUBELET_ENV_DROPIN,
  KUBELET_UNIT,
  LOCAL_DISKS_SERVICE,
  LOCAL_DISKS_UNIT,
  RESOLVED_DROPIN,
  SANDBOX_IMAGE_ENV_DROPIN,
  SYSTEM_ENV_CONF,
} from "../../eks/paths/node.ts";
import {
  renderBpfMountUnit,
  renderCniCacheResetUnit,
  renderKubeletUnit,
  renderLocalDisksUnit,
} from "../../eks/system/node_units.ts";
import { file, remove } from "../../lib/changes.ts";
import type { InitStepDef } from "./context.ts";
import { systemConfigChanges } from "./env_dropin.ts";
import { expectFile, expectOptionalFile } from "../../eks/verify/expected_path.ts";

/** The link `systemctl enable` made for the local disks unit (removed with the unit). */
export const LOCAL_DISKS_WANTS = `/etc/systemd/system/multi-user.target.wants/${LOCAL_DISKS_SERVICE}`;

/**
 * Writes /etc/systemd/system/kubelet.service (the unit of step 3), NodeConfig instance.environment (the
 * system's DefaultEnvironment in /etc/systemd/system.conf.d/environment.conf and SERVICE.service.d/
 * environment.conf drop-ins) and instance.network (/run/systemd/resolved.conf.d/40-eks.conf),
 * the bpffs mount unit unless `--mount-bpf-fs false` (then a unit of ours is removed), and the local disks
 * unit that empties the CNI results cache at boot (cni-cache-reset.service), the local disks
 * unit when `instance.localStorage` has a strategy (else a unit of ours and its enable link are removed;
 * the mounts it made and their units stay, with the data on them).
 */
export const step: InitStepDef = {
  title: "Install /etc/systemd/system/kubelet.service",
  leaves: [
    expectFile(KUBELET_UNIT),
    // Written for some inputs only: --mount-bpf-fs, the CNI cache reset, local disks, instance.environment
    // and instance.network.
    ...[
      BPF_MOUNT_UNIT,
      CNI_CACHE_RESET_UNIT,
      LOCAL_DISKS_UNIT,
      SYSTEM_ENV_CONF,
      CONTAINERD_ENV_DROPIN,
      KUBELET_ENV_DROPIN,
      SANDBOX_IMAGE_ENV_DROPIN,
      RESOLVED_DROPIN,
    ].map((p) => expectOptionalFile(p)),
  ],
  downloads: false,
  plan(ctx) {
    return [
      file(KUBELET_UNIT, renderKubeletUnit(ctx.node), { mode: 0o644 }),
      ...systemConfigChanges(ctx.node, ctx.host.isSystemRoot),
      file(CNI_CACHE_RESET_UNIT, renderCniCacheResetUnit()),
      ctx.node.mountBpfFs === false ? remove(BPF_MOUNT_UNIT) : file(BPF_MOUNT_UNIT, renderBpfMountUnit()),
      ...(ctx.node.localStorage
        ? [file(LOCAL_DISKS_UNIT, renderLocalDisksUnit(ctx.node.localStorage))]
        : [remove(LOCAL_DISKS_WANTS), remove(LOCAL_DISKS_UNIT)]),
    ];
  },
};
