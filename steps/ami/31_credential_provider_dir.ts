/** Create /etc/eks/image-credential-provider (kubelet's image credential provider binaries and config). */
// Same directory as awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada (mkdir -p: 0755 root:root).
import { dir } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import { expectDir } from "../../eks/verify/expected_path.ts";

/** Create /etc/eks/image-credential-provider. */
export const step: AmiStepDef = {
  title: "Create /etc/eks/image-credential-provider",
  group: "Kubernetes/EKS",
  leaves: [expectDir("/etc/eks/image-credential-provider")],
  plan: () => [dir("/etc/eks/image-credential-provider", { mode: 0o755 })],
};
