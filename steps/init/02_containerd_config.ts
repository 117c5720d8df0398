/**
 * Containerd's config (generated in the schema of the node's containerd, replaced or merged), the
 * base runtime spec it names, and the SOCI snapshotter's config and drop-in with FastImagePull; its
 * environment drop-in is step 6's.
 */
import { renderBaseRuntimeSpec } from "../../eks/containerd/base_runtime_spec.ts";
import { SOCI_CONFIG_TEXT, SOCI_DEPENDENCY_DROPIN_TEXT } from "../../eks/containerd/soci.ts";
import { renderContainerdConfig } from "../../eks/containerd/config.ts";
import {
  CONTAINERD_BASE_RUNTIME_SPEC,
  CONTAINERD_CONFIG,
  EKS_CONTAINERD_CONFIG,
  SOCI_CONFIG,
  SOCI_DEPENDENCY_DROPIN,
} from "../../eks/paths/node.ts";
import { dir, file, remove } from "../../lib/changes.ts";
import type { InitStepDef } from "./context.ts";
import { expectDir, expectFile, expectOptionalFile } from "../../eks/verify/expected_path.ts";

/** Where the CNI plugin (the VPC CNI) puts its network config; containerd's config names it. */
const CNI_CONF_DIR = "/etc/cni/net.d";

/** Writes /etc/eks/containerd/containerd-config.toml and installs it as /etc/containerd/config.toml. */
export const step: InitStepDef = {
  title: "Write /etc/eks/containerd/containerd-config.toml (installed as containerd's config)",
  leaves: [
    expectFile(EKS_CONTAINERD_CONFIG),
    expectFile(CONTAINERD_BASE_RUNTIME_SPEC),
    expectDir(CNI_CONF_DIR),
    expectOptionalFile(SOCI_CONFIG),
    expectOptionalFile(SOCI_DEPENDENCY_DROPIN),
  ],
  downloads: false,
  plan(ctx) {
    const text = renderContainerdConfig(ctx.node);
    const soci = ctx.node.sociSnapshotter === true;
    return [
      file(EKS_CONTAINERD_CONFIG, text, { mode: 0o644 }),
      file(CONTAINERD_CONFIG, text, { mode: 0o644 }),
      // nodeadm writes it on every node (nodeadm/internal/containerd/base_runtime_spec.go @ 81fec2e8).
      file(CONTAINERD_BASE_RUNTIME_SPEC, renderBaseRuntimeSpec(ctx.node.containerdBaseRuntimeSpec), {
        mode: 0o644,
      }),
      // With FastImagePull: the snapshotter's config, and containerd waits for the snapshotter; without it,
      // what an earlier run wrote goes (containerd would otherwise require a unit it no longer uses).
      soci ? file(SOCI_CONFIG, SOCI_CONFIG_TEXT, { mode: 0o644 }) : remove(SOCI_CONFIG),
      soci
        ? file(SOCI_DEPENDENCY_DROPIN, SOCI_DEPENDENCY_DROPIN_TEXT, { mode: 0o644 })
        : remove(SOCI_DEPENDENCY_DROPIN),
      // bootstrap.sh creates the CNI config directory before containerd starts (templates/al2/runtime/bootstrap.sh).
      dir(CNI_CONF_DIR, { mode: 0o755 }),
    ];
  },
};
