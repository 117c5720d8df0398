/** Create /etc/eks/image-credential-provider (kubelet's image credential provider binaries and config). */
// Same directory as awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada (mkdir -p: 0755 root:root).
import { dir } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";

/** Create /etc/eks/image-credential-provider. */
export const step: StepDef<AmiContext> = {
  title: "Create /etc/eks/image-credential-provider",
  group: "Kubernetes/EKS",
  plan: () => [dir("/etc/eks/image-credential-provider", { mode: 0o755 })],
};
