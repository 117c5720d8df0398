/** The kubelet unit for containerd, rendered with its arguments, kept under /etc/eks. */
import { EKS_KUBELET_UNIT } from "../../eks/paths/node.ts";
import { renderKubeletUnit } from "../../eks/system/node_units.ts";
import { file } from "../../lib/changes.ts";
import type { InitStepDef } from "./context.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** Writes /etc/eks/containerd/kubelet-containerd.service (step 6 installs it). */
export const step: InitStepDef = {
  title: "Write /etc/eks/containerd/kubelet-containerd.service",
  leaves: [expectFile(EKS_KUBELET_UNIT)],
  downloads: false,
  plan(ctx) {
    return [file(EKS_KUBELET_UNIT, renderKubeletUnit(ctx.node), { mode: 0o644 })];
  },
};
