/** /etc/eks/containerd (the sandbox-image pull script of step 18 lives here). */
import { dir } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import { expectDir } from "../../eks/verify/expected_path.ts";

/** The step. */
export const step: AmiStepDef = {
  title: "Create /etc/eks/containerd",
  group: "Containerd",
  leaves: [expectDir("/etc/eks/containerd")],
  plan: () => [dir("/etc/eks/containerd")],
};
