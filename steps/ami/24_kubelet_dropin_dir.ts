/** Create /etc/systemd/system/kubelet.service.d (systemd drop-ins for kubelet.service, written by `eksnode init`). */
// Same directory as awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada (mkdir -p: 0755 root:root).
import { dir } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import { expectDir } from "../../eks/verify/expected_path.ts";

/** Create /etc/systemd/system/kubelet.service.d. */
export const step: AmiStepDef = {
  title: "Create /etc/systemd/system/kubelet.service.d",
  group: "Kubelet",
  leaves: [expectDir("/etc/systemd/system/kubelet.service.d")],
  plan: () => [dir("/etc/systemd/system/kubelet.service.d", { mode: 0o755 })],
};
