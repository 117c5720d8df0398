/**
 * /etc/eks/log-collector-script/eks-log-collector.sh, where amazon-eks-ami installs its log
 * collector (templates/al2/provisioners/install-worker.sh @ 0061ba5d332785485ae6622a4ebc2b9a8351bada);
 * here a shim that runs `eksnode collect-logs` with the arguments it was given.
 */
import { dir, file } from "../../lib/changes.ts";
import type { AmiStepDef } from "./context.ts";
import { shellQuote } from "../../lib/shell_quote.ts";
import { LOG_COLLECTOR_PATH } from "../../eks/paths/node.ts";
import { expectDir, expectFile } from "../../eks/verify/expected_path.ts";

/** The shim's text; `eksnode` is the binary it execs. */
export function renderLogCollectorShim(eksnode = "/usr/bin/eksnode"): string {
  return [
    "#!/bin/sh",
    "# eks-log-collector.sh: shim written by `eksnode ami` (step 37). Logs are collected by",
    "# `eksnode collect-logs` (options: --output FILE, --root DIR); it never includes tokens or user data.",
    `exec ${shellQuote(eksnode)} collect-logs "$@"`,
    "",
  ].join("\n");
}

/** Install the log collector shim. */
export const step: AmiStepDef = {
  title: "Install eks-log-collector.sh (shim to eksnode collect-logs)",
  group: "Kubernetes/EKS",
  leaves: [expectDir("/etc/eks/log-collector-script"), expectFile(LOG_COLLECTOR_PATH, 0o755)],
  plan: () => [
    dir("/etc/eks/log-collector-script", { mode: 0o755 }),
    file(LOG_COLLECTOR_PATH, renderLogCollectorShim(), { mode: 0o755 }),
  ],
};
