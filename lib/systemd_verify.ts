/**
 * `systemd-analyze verify` of unit files under a root: the check and the Change that runs it when units
 * were written in this run (used by every step that installs units).
 */
import { CommandError } from "./errors.ts";
import type { Host } from "./host.ts";
import type { Change } from "./step.ts";
import { rootArgs } from "./systemd.ts";

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

/**
 * Runs `systemd-analyze verify --man=no --root=R UNIT...` and sorts its complaints. `--man=no`: whether
 * the man pages a unit's Documentation= names are installed says nothing about the unit (an image
 * without man-db, as minimal images are, would fail every unit that names one; under --root systemd
 * does not look).
 */
export async function verifyUnits(host: Host, units: string[]): Promise<VerifyOutcome> {
  const r = await host.exec(["systemd-analyze", "verify", "--man=no", ...rootArgs(host.root), ...units], {
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
