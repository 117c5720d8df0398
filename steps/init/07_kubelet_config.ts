/** Step 7: the KubeletConfiguration, computed then overridden by NodeConfig kubelet.config. */
import { renderKubeletConfig } from "../../eks/kubelet/config.ts";
import { KUBELET_CONFIG } from "../../eks/paths/node.ts";
import { file } from "../../lib/changes.ts";
import type { Step } from "../../lib/step.ts";
import type { InitContext } from "./context.ts";

/** Writes /etc/kubernetes/kubelet/kubelet-config.json (0644). */
export const step: Step<InitContext> = {
  id: "init.7",
  number: 7,
  title: "Write /etc/kubernetes/kubelet/kubelet-config.json",
  downloads: false,
  plan(ctx) {
    return [file(KUBELET_CONFIG, renderKubeletConfig(ctx.node), { mode: 0o644 })];
  },
};
