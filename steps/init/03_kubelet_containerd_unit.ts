/** The kubelet unit for containerd, rendered with its arguments, kept under /etc/eks. */
import { EKS_KUBELET_UNIT } from "../../eks/paths/node.ts";
import { renderKubeletUnit } from "../../eks/system/node_units.ts";
import { file } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import type { InitContext } from "./context.ts";

/** Writes /etc/eks/containerd/kubelet-containerd.service (step 6 installs it). */
export const step: StepDef<InitContext> = {
  title: "Write /etc/eks/containerd/kubelet-containerd.service",
  downloads: false,
  plan(ctx) {
    return [file(EKS_KUBELET_UNIT, renderKubeletUnit(ctx.node), { mode: 0o644 })];
  },
};
