/** /etc/sysctl.d/99-amazon.conf with the kernel settings kubelet's protectKernelDefaults=true requires. */
import { file, note } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import text from "../../assets/templates/sysctl-99-amazon.conf" with { type: "text" };
import { expectFile } from "../../eks/verify/expected_path.ts";

/** The file's content (each value with its reason and source in the template). */
export const SYSCTL_AMAZON: string = text;

/** Write /etc/sysctl.d/99-amazon.conf. */
export const step: AmiStepDef = {
  title: "Write /etc/sysctl.d/99-amazon.conf (kubelet protectKernelDefaults)",
  group: "Kubernetes/EKS",
  leaves: [expectFile("/etc/sysctl.d/99-amazon.conf")],
  plan: () => [
    file("/etc/sysctl.d/99-amazon.conf", SYSCTL_AMAZON, { mode: 0o644 }),
    note("applied at boot by systemd-sysctl, before kubelet starts"),
  ],
};
