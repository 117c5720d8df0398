/**
 * Step 36: /etc/eks/bootstrap.sh as a compatibility shim. User data written for AL2 AMIs calls
 * `/etc/eks/bootstrap.sh CLUSTER [flags]`; the shim hands every argument unchanged to `eksnode init`,
 * which parses bootstrap.sh's flags itself (cli/bootstrap_flags.ts). The shell does no parsing.
 */
import { file } from "../../lib/changes.ts";
import type { Step } from "../../lib/step.ts";
import type { AmiContext } from "./context.ts";
import { BOOTSTRAP_SHIM_PATH } from "../../eks/node_paths.ts";

/** The shim's text; `eksnode` is the binary it execs (tests point it at a fake). */
export function renderBootstrapShim(eksnode = "/usr/bin/eksnode"): string {
  return [
    "#!/bin/sh",
    "# /etc/eks/bootstrap.sh: compatibility shim written by `eksnode ami` (step 36).",
    "# Node setup is `eksnode init`; it accepts bootstrap.sh's arguments (cluster name and flags) as they are.",
    `exec ${shellQuote(eksnode)} init "$@"`,
    "",
  ].join("\n");
}

/** Quotes a word for sh: bare when it is plainly safe, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Install the /etc/eks/bootstrap.sh shim. */
export const step: Step<AmiContext> = {
  id: "ami.36",
  number: 36,
  title: "Install /etc/eks/bootstrap.sh (shim to eksnode init)",
  group: "Kubernetes/EKS",
  plan: () => [file(BOOTSTRAP_SHIM_PATH, renderBootstrapShim(), { mode: 0o755 })],
};
