/** Create /etc/kubernetes/kubelet (kubelet config file and its config.json.d drop-ins, written by `eksnode init`). */
// Same directory as awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada (mkdir -p: 0755 root:root).
import { dir } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import { expectDir } from "../../eks/verify/expected_path.ts";

/** Create /etc/kubernetes/kubelet. */
export const step: AmiStepDef = {
  title: "Create /etc/kubernetes/kubelet",
  group: "Kubelet",
  leaves: [expectDir("/etc/kubernetes/kubelet")],
  plan: () => [dir("/etc/kubernetes/kubelet", { mode: 0o755 })],
};
