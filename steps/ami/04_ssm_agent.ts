/** Step 4: the SSM agent (Session Manager access to nodes without SSH). */
import type { Step } from "../../lib/step.ts";
import { installRole } from "./ami_packages.ts";
import type { AmiContext } from "./context.ts";

/** Step 4. */
export const step: Step<AmiContext> = {
  id: "ami.4",
  number: 4,
  title: "Install amazon-ssm-agent",
  group: "Linux",
  async plan(ctx) {
    return [await installRole(ctx, "ssmAgent")];
  },
};
