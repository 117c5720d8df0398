/**
 * Step 18: sandbox-image.service, which pulls the sandbox image at boot when it is not cached
 * (`eksnode pull-image`); containerd.service and sandbox-image.service are enabled (`systemctl --root` under
 * another root), and the units are checked with `systemd-analyze verify`.
 */
import { SANDBOX_IMAGE_UNIT } from "../../eks/node_paths.ts";
import { renderSandboxImageUnit } from "../../eks/node_units.ts";
import { file, note } from "../../lib/changes.ts";
import type { Host } from "../../lib/host.ts";
import type { Change, Step } from "../../lib/step.ts";
import { daemonReload, enableUnit, rootArgs, unitInstalled } from "../../lib/systemd.ts";
import { CommandError } from "../../lib/errors.ts";
import type { AmiContext } from "./context.ts";
import { bakeSandboxImage } from "./image_cache.ts";

/**
 * Lines of `systemd-analyze verify` that only say the tree is incomplete, not that a unit is wrong:
 * a root without systemd's own units (no sysinit.target), a command not installed yet.
 */
const ENVIRONMENT_ONLY = [
  /Unit \S+ not found/,
  /Command \S+ is not executable: No such file or directory/,
  /is added as a dependency to a non-existent unit/,
];

/** Outcome of {@link verifyUnits}: problems with the units, and lines about an incomplete tree. */
export interface VerifyOutcome {
  problems: string[];
  caveats: string[];
}

/** Runs `systemd-analyze verify --root=R UNIT...` and sorts its complaints. */
export async function verifyUnits(host: Host, units: string[]): Promise<VerifyOutcome> {
  const r = await host.exec(["systemd-analyze", "verify", ...rootArgs(host.root), ...units], {
    allowFailure: true,
    timeoutMs: 60_000,
  });
  const lines = (r.stderr + "\n" + r.stdout).split("\n").map((l) => l.trim()).filter(Boolean);
  const caveats = lines.filter((l) => ENVIRONMENT_ONLY.some((re) => re.test(l)));
  const problems = lines.filter((l) => !caveats.includes(l));
  if (r.code !== 0 && problems.length === 0 && caveats.length === 0) problems.push(`exit ${r.code}`);
  return { problems, caveats };
}

/** A `systemd-analyze verify` of `units`, run when one of `whenChanged` was applied in this run. */
export function verifyChange(units: string[], whenChanged: string[]): Change {
  return {
    kind: "verify",
    key: `systemd-analyze-verify:${units.join(",")}`,
    describe: () => `run systemd-analyze verify ${units.join(" ")}  (unit files changed)`,
    satisfied: ({ run }) => Promise.resolve(!whenChanged.some((k) => run.changed.has(k))),
    async apply({ host, log }) {
      const out = await verifyUnits(host, units);
      if (out.problems.length) {
        throw new CommandError(
          `systemd-analyze verify ${units.join(" ")}: ${out.problems.join(" | ")}`,
          "fix the unit files",
        );
      }
      if (out.caveats.length) {
        log.info(
          `      systemd-analyze verify: units are sound; the tree is incomplete: ${out.caveats.join(" | ")}`,
        );
      }
    },
  };
}

/** Step 18. */
export const step: Step<AmiContext> = {
  id: "ami.18",
  number: 18,
  title: "Install sandbox-image.service and enable containerd",
  group: "Containerd",
  async plan(ctx) {
    const { host } = ctx;
    // The unit for the bake region's sandbox image; `eksnode init` re-renders it for the node's region.
    const image = bakeSandboxImage(ctx);
    const out: Change[] = [
      file(
        SANDBOX_IMAGE_UNIT,
        renderSandboxImageUnit({ sandboxImage: image, sandboxRegistry: image.split("/")[0] }),
      ),
    ];
    const unitKeys = [
      SANDBOX_IMAGE_UNIT,
      "/etc/systemd/system/containerd.service",
      "/etc/systemd/system/runtime.slice",
    ];
    out.push(daemonReload(unitKeys, host.isSystemRoot));
    if (!(await host.which("systemctl"))) {
      out.push(note("enabling containerd.service and sandbox-image.service skipped: systemctl not found"));
      return out;
    }
    // In a dry run step 11 has only planned the tarball's unit; in a real run it is there by now.
    let containerdUnit = ctx.dryRun && ctx.bake.containerdSource === "tarball";
    if (await unitInstalled(host, "containerd.service")) containerdUnit = true;
    if (containerdUnit) out.push(enableUnit("containerd.service", host.root));
    else {
      out.push(note(
        "enable containerd.service skipped: no containerd.service under the root (step 11 installs it, or its package)",
      ));
    }
    out.push(enableUnit("sandbox-image.service", host.root));
    if (await host.which("systemd-analyze")) {
      out.push(
        verifyChange(
          containerdUnit ? ["containerd.service", "sandbox-image.service"] : ["sandbox-image.service"],
          unitKeys,
        ),
      );
    } else out.push(note("systemd-analyze not found: units are not verified"));
    return out;
  },
};
