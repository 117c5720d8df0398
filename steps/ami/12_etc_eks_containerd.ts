/** /etc/eks/containerd (the sandbox-image pull script of step 18 lives here). */
import { dir } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";

/** The step. */
export const step: StepDef<AmiContext> = {
  title: "Create /etc/eks/containerd",
  group: "Containerd",
  plan: () => [dir("/etc/eks/containerd")],
};
