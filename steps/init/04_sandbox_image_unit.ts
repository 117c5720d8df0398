/** Step 4: the sandbox-image unit and script that pull the pause image with ECR credentials. */
import {
  EKS_SANDBOX_IMAGE_UNIT,
  PULL_SANDBOX_IMAGE_SCRIPT,
  SANDBOX_IMAGE_UNIT,
} from "../../eks/node_paths.ts";
import { PULL_SANDBOX_IMAGE_SH, renderSandboxImageUnit } from "../../eks/node_units.ts";
import { file } from "../../lib/changes.ts";
import type { Step } from "../../lib/step.ts";
import type { InitContext } from "./context.ts";

/** Writes pull-sandbox-image.sh and sandbox-image.service, and installs the unit. */
export const step: Step<InitContext> = {
  id: "init.4",
  number: 4,
  title: "Write /etc/eks/containerd/sandbox-image.service",
  plan(ctx) {
    const unit = renderSandboxImageUnit(ctx.node);
    return [
      file(PULL_SANDBOX_IMAGE_SCRIPT, PULL_SANDBOX_IMAGE_SH, { mode: 0o755 }),
      file(EKS_SANDBOX_IMAGE_UNIT, unit, { mode: 0o644 }),
      file(SANDBOX_IMAGE_UNIT, unit, { mode: 0o644 }),
    ];
  },
};
