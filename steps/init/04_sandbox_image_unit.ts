/** The sandbox-image unit, which pulls the pause image with `eksnode pull-image` (ECR credentials). */
import { EKS_SANDBOX_IMAGE_UNIT, SANDBOX_IMAGE_UNIT } from "../../eks/paths/node.ts";
import { renderSandboxImageUnit } from "../../eks/system/node_units.ts";
import { file } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import type { InitContext } from "./context.ts";

/** Writes sandbox-image.service and installs the unit. */
export const step: StepDef<InitContext> = {
  title: "Write /etc/eks/containerd/sandbox-image.service",
  downloads: false,
  plan(ctx) {
    const unit = renderSandboxImageUnit(ctx.node);
    return [
      file(EKS_SANDBOX_IMAGE_UNIT, unit, { mode: 0o644 }),
      file(SANDBOX_IMAGE_UNIT, unit, { mode: 0o644 }),
    ];
  },
};
