/** /etc/eks, where the EKS node files live. */
import { dir } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import { expectDir } from "../../eks/verify/expected_path.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Create /etc/eks",
  group: "Linux",
  leaves: [expectDir("/etc/eks")],
  plan: () => [dir("/etc/eks")],
};
