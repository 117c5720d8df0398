/** /etc/logrotate.d/kube-proxy, rotation for /var/log/kube-proxy.log (template cites its source). */
import { file } from "../../lib/changes.ts";
import type { StepDef } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";
import text from "../../assets/templates/logrotate-kube-proxy" with { type: "text" };

/** The logrotate config this step writes. */
export const LOGROTATE_KUBE_PROXY: string = text;

/** Write /etc/logrotate.d/kube-proxy. */
export const step: StepDef<AmiContext> = {
  title: "Write /etc/logrotate.d/kube-proxy",
  group: "Kubernetes/EKS",
  plan: () => [file("/etc/logrotate.d/kube-proxy", LOGROTATE_KUBE_PROXY, { mode: 0o644 })],
};
