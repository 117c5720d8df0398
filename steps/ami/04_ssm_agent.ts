/** The SSM agent (Session Manager access to nodes without SSH). */
import { installRole } from "./ami_packages.ts";
import type { AmiStepDef } from "./context.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Install amazon-ssm-agent",
  group: "Linux",
  async plan(ctx) {
    return [await installRole(ctx, "ssmAgent")];
  },
};
