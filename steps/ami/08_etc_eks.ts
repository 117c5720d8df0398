/** Step 8: /etc/eks, where the EKS node files live. */
import { dir } from "../../lib/changes.ts";
import type { Step } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";

/** Step 8. */
export const step: Step<AmiContext> = {
  id: "ami.8",
  number: 8,
  title: "Create /etc/eks",
  group: "Linux",
  plan: () => [dir("/etc/eks")],
};
