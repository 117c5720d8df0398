/** Step 2: containerd's config (generated, replaced or merged); its environment drop-in is step 6's. */
import { renderContainerdConfig } from "../../eks/containerd_config.ts";
import { CONTAINERD_CONFIG, EKS_CONTAINERD_CONFIG } from "../../eks/node_paths.ts";
import { dir, file } from "../../lib/changes.ts";
import type { Step } from "../../lib/step.ts";
import type { InitContext } from "./context.ts";

/** Writes /etc/eks/containerd/containerd-config.toml and installs it as /etc/containerd/config.toml. */
export const step: Step<InitContext> = {
  id: "init.2",
  number: 2,
  title: "Write /etc/eks/containerd/containerd-config.toml (installed as containerd's config)",
  downloads: false,
  plan(ctx) {
    const text = renderContainerdConfig(ctx.node);
    return [
      file(EKS_CONTAINERD_CONFIG, text, { mode: 0o644 }),
      file(CONTAINERD_CONFIG, text, { mode: 0o644 }),
      // bootstrap.sh creates the CNI config directory before containerd starts (templates/al2/runtime/bootstrap.sh).
      dir("/etc/cni/net.d", { mode: 0o755 }),
    ];
  },
};
