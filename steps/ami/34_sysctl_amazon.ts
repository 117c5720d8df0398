/** /etc/sysctl.d/99-amazon.conf with the kernel settings kubelet's protectKernelDefaults=true requires. */
import { file, note } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";
import text from "../../assets/templates/sysctl-99-amazon.conf" with { type: "text" };

/** The file's content (each value with its reason and source in the template). */
export const SYSCTL_AMAZON: string = text;

/** Write /etc/sysctl.d/99-amazon.conf. */
export const step: StepDef<AmiContext> = {
  title: "Write /etc/sysctl.d/99-amazon.conf (kubelet protectKernelDefaults)",
  group: "Kubernetes/EKS",
  plan: () => [
    file("/etc/sysctl.d/99-amazon.conf", SYSCTL_AMAZON, { mode: 0o644 }),
    note("applied at boot by systemd-sysctl, before kubelet starts"),
  ],
};
