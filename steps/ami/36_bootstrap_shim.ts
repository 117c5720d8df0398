/**
 * How a node runs `eksnode init`.
 *
 * - The boot units (eks/system/boot_units.ts), enabled: eksnode-config.service runs init's config phase
 *   before cloud-init and eksnode-run.service its run phase after cloud-final, at every boot, as
 *   nodeadm-config.service and nodeadm-run.service do on AL2023, so user data holding only a NodeConfig
 *   joins the node; the drop-in directory /etc/eks/nodeadm.d/ they read is made (nodeadm's AMI makes it
 *   too: templates/al2023/provisioners/install-nodeadm.sh, commit 81fec2e8).
 * - /etc/eks/bootstrap.sh as a compatibility shim. User data written for AL2 AMIs calls
 *   `/etc/eks/bootstrap.sh CLUSTER [flags]`; the shim hands every argument unchanged to `eksnode init`,
 *   which parses bootstrap.sh's flags itself (cli/bootstrap_flags.ts). The shell does no parsing.
 */
import {
  BOOT_CONFIG_SERVICE,
  BOOT_RUN_SERVICE,
  BOOTSTRAP_SHIM_PATH,
  NODECONFIG_DROP_IN_DIR,
} from "../../eks/paths/node.ts";
import { renderBootConfigUnit, renderBootRunUnit } from "../../eks/system/boot_units.ts";
import { dir, file, note } from "../../lib/changes.ts";
import type { Change } from "../../lib/step.ts";
import { placeOf } from "../../lib/place.ts";
import { daemonReload, enableUnit } from "../../lib/systemd.ts";
import type { AmiStepDef } from "./context.ts";
import { shellQuote } from "../../lib/shell_quote.ts";
import { verifyChange } from "../../lib/systemd_verify.ts";
import { expectDir, expectFile } from "../../eks/verify/expected_path.ts";

/** The boot units' files, by unit name. */
export const BOOT_UNITS: Readonly<Record<string, () => string>> = {
  [BOOT_CONFIG_SERVICE]: renderBootConfigUnit,
  [BOOT_RUN_SERVICE]: renderBootRunUnit,
};

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

/** Install and enable the boot units, make the drop-in directory, install the /etc/eks/bootstrap.sh shim. */
export const step: AmiStepDef = {
  title: "Install the boot units (eksnode init) and /etc/eks/bootstrap.sh",
  enables: Object.keys(BOOT_UNITS),
  group: "Kubernetes/EKS",
  leaves: [
    expectFile(`/etc/systemd/system/${BOOT_CONFIG_SERVICE}`),
    expectFile(`/etc/systemd/system/${BOOT_RUN_SERVICE}`),
    expectDir(NODECONFIG_DROP_IN_DIR.replace(/\/$/, "")),
    expectFile(BOOTSTRAP_SHIM_PATH, 0o755),
  ],
  async plan(ctx) {
    const { host } = ctx;
    const units = Object.keys(BOOT_UNITS);
    const paths = units.map((u) => `/etc/systemd/system/${u}`);
    const out: Change[] = [
      ...units.map((u, i) => file(paths[i], BOOT_UNITS[u](), { mode: 0o644 })),
      dir(NODECONFIG_DROP_IN_DIR.replace(/\/$/, "")),
      file(BOOTSTRAP_SHIM_PATH, renderBootstrapShim(), { mode: 0o755 }),
      daemonReload(paths, (await placeOf(host)).systemd),
    ];
    if (!(await host.which("systemctl"))) {
      out.push(note(`enabling ${units.join(" and ")} skipped: systemctl not found`));
      return out;
    }
    out.push(...units.map((u) => enableUnit(u, host.root)));
    if (await host.which("systemd-analyze")) out.push(verifyChange(units, paths));
    else out.push(note("systemd-analyze not found: units are not verified"));
    return out;
  },
};
