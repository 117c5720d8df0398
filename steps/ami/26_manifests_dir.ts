/** Create /etc/kubernetes/manifests (kubelet's static pod directory). */
// Same directory as awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada (mkdir -p: 0755 root:root).
import { dir } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import { expectDir } from "../../eks/verify/expected_path.ts";

/** Create /etc/kubernetes/manifests. */
export const step: AmiStepDef = {
  title: "Create /etc/kubernetes/manifests",
  group: "Kubernetes/EKS",
  leaves: [expectDir("/etc/kubernetes/manifests")],
  plan: () => [dir("/etc/kubernetes/manifests", { mode: 0o755 })],
};
