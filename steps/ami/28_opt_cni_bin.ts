/** Create /opt/cni/bin (CNI plugin binaries: step 29 and, at run time, the VPC CNI). */
// Same directory as awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada (mkdir -p: 0755 root:root).
import { dir } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import { expectDir } from "../../eks/verify/expected_path.ts";

/** Create /opt/cni/bin. */
export const step: AmiStepDef = {
  title: "Create /opt/cni/bin",
  group: "Kubernetes/EKS",
  leaves: [expectDir("/opt/cni/bin")],
  plan: () => [dir("/opt/cni/bin", { mode: 0o755 })],
};
