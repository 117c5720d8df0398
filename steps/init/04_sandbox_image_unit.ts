/** The sandbox-image unit, which pulls the pause image with `eksnode pull-image` (ECR credentials). */
import { EKS_SANDBOX_IMAGE_UNIT, SANDBOX_IMAGE_UNIT } from "../../eks/paths/node.ts";
import { renderSandboxImageUnit } from "../../eks/system/node_units.ts";
import { file } from "../../lib/changes.ts";
import type { InitStepDef } from "./context.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** Writes sandbox-image.service and installs the unit. */
export const step: InitStepDef = {
  title: "Write /etc/eks/containerd/sandbox-image.service",
  leaves: [expectFile(EKS_SANDBOX_IMAGE_UNIT)],
  downloads: false,
  plan(ctx) {
    const unit = renderSandboxImageUnit(ctx.node);
    return [
      file(EKS_SANDBOX_IMAGE_UNIT, unit, { mode: 0o644 }),
      file(SANDBOX_IMAGE_UNIT, unit, { mode: 0o644 }),
    ];
  },
};
