/** Create /var/lib/kubelet (kubelet's root directory: pods, volumes, plugins, its kubeconfig). */
// Same directory as awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada (mkdir -p: 0755 root:root).
import { dir } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import { expectDir } from "../../eks/verify/expected_path.ts";

/** Create /var/lib/kubelet. */
export const step: AmiStepDef = {
  title: "Create /var/lib/kubelet",
  group: "Kubelet",
  leaves: [expectDir("/var/lib/kubelet")],
  plan: () => [dir("/var/lib/kubelet", { mode: 0o755 })],
};
