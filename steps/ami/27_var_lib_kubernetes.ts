/** Create /var/lib/kubernetes (the cluster CA certificate lives here as ca.crt). */
// Same directory as awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada (mkdir -p: 0755 root:root).
import { dir } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import { expectDir } from "../../eks/verify/expected_path.ts";

/** Create /var/lib/kubernetes. */
export const step: AmiStepDef = {
  title: "Create /var/lib/kubernetes",
  group: "Kubernetes/EKS",
  leaves: [expectDir("/var/lib/kubernetes")],
  plan: () => [dir("/var/lib/kubernetes", { mode: 0o755 })],
};
