/** /etc/logrotate.d/kube-proxy, rotation for /var/log/kube-proxy.log (template cites its source). */
import { file } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import text from "../../assets/templates/logrotate-kube-proxy" with { type: "text" };
import { expectFile } from "../../eks/verify/expected_path.ts";

/** The logrotate config this step writes. */
export const LOGROTATE_KUBE_PROXY: string = text;

/** Write /etc/logrotate.d/kube-proxy. */
export const step: AmiStepDef = {
  title: "Write /etc/logrotate.d/kube-proxy",
  group: "Kubernetes/EKS",
  leaves: [expectFile("/etc/logrotate.d/kube-proxy")],
  plan: () => [file("/etc/logrotate.d/kube-proxy", LOGROTATE_KUBE_PROXY, { mode: 0o644 })],
};
