/** The KubeletConfiguration, computed then overridden by NodeConfig kubelet.config. */
import { renderKubeletConfig } from "../../eks/kubelet/config.ts";
import { KUBELET_CONFIG } from "../../eks/paths/node.ts";
import { file } from "../../lib/changes.ts";
import type { InitStepDef } from "./context.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** Writes /etc/kubernetes/kubelet/kubelet-config.json (0644). */
export const step: InitStepDef = {
  title: "Write /etc/kubernetes/kubelet/kubelet-config.json",
  leaves: [expectFile(KUBELET_CONFIG)],
  downloads: false,
  plan(ctx) {
    return [file(KUBELET_CONFIG, renderKubeletConfig(ctx.node), { mode: 0o644 })];
  },
};
