/** Create /opt/cni/bin (CNI plugin binaries: step 29 and, at run time, the VPC CNI). */
// Same directory as awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada (mkdir -p: 0755 root:root).
import { dir } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";

/** Create /opt/cni/bin. */
export const step: StepDef<AmiContext> = {
  title: "Create /opt/cni/bin",
  group: "Kubernetes/EKS",
  plan: () => [dir("/opt/cni/bin", { mode: 0o755 })],
};
