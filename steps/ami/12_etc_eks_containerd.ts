/** Step 12: /etc/eks/containerd (the sandbox-image pull script of step 18 lives here). */
import { dir } from "../../lib/changes.ts";
import type { Step } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";

/** Step 12. */
export const step: Step<AmiContext> = {
  id: "ami.12",
  number: 12,
  title: "Create /etc/eks/containerd",
  group: "Containerd",
  plan: () => [dir("/etc/eks/containerd")],
};
