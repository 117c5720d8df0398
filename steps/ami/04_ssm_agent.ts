/** The SSM agent (Session Manager access to nodes without SSH). */
import type { StepDef } from "../../lib/step.ts";
import { installRole } from "./ami_packages.ts";
import type { AmiContext } from "./context.ts";

/** The step. */
export const step: StepDef<AmiContext> = {
  title: "Install amazon-ssm-agent",
  group: "Linux",
  async plan(ctx) {
    return [await installRole(ctx, "ssmAgent")];
  },
};
