/** Create /var/lib/kubernetes (the cluster CA certificate lives here as ca.crt). */
// Same directory as awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada (mkdir -p: 0755 root:root).
import { dir } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";

/** Create /var/lib/kubernetes. */
export const step: StepDef<AmiContext> = {
  title: "Create /var/lib/kubernetes",
  group: "Kubernetes/EKS",
  plan: () => [dir("/var/lib/kubernetes", { mode: 0o755 })],
};
