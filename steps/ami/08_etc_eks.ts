/** /etc/eks, where the EKS node files live. */
import { dir } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";

/** The step. */
export const step: StepDef<AmiContext> = {
  title: "Create /etc/eks",
  group: "Linux",
  plan: () => [dir("/etc/eks")],
};
