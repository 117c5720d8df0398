/** Create /etc/kubernetes/kubelet (kubelet config file and its config.json.d drop-ins, written by `eksnode init`). */
// Same directory as awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada (mkdir -p: 0755 root:root).
import { dir } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";

/** Create /etc/kubernetes/kubelet. */
export const step: StepDef<AmiContext> = {
  title: "Create /etc/kubernetes/kubelet",
  group: "Kubelet",
  plan: () => [dir("/etc/kubernetes/kubelet", { mode: 0o755 })],
};
