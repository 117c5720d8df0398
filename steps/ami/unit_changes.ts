/**
 * Unit files for the ami steps: install them, reload systemd when they changed, enable some, and check
 * them with `systemd-analyze verify` when they were written in this run (as steps 18 and 36 do).
 */
import { file, note } from "../../lib/changes.ts";
import type { Host } from "../../lib/host.ts";
import type { Change } from "../../lib/step.ts";
import { daemonReload, enableUnit } from "../../lib/systemd.ts";
import { placeOf } from "../../lib/place.ts";
import { verifyChange } from "../../lib/systemd_verify.ts";
import { PHASE_UNIT_DIR as UNIT_DIR } from "../../eks/image/al2023.ts";

/**
 * `units` (name → text) written to /etc/systemd/system, then the `enable` units enabled (names may be
 * instances of a template written here, e.g. `ebs-initialize-bin@kubelet.service`).
 */
export async function unitChanges(
  host: Host,
  units: Readonly<Record<string, string>>,
  enable: readonly string[],
): Promise<Change[]> {
  const names = Object.keys(units);
  const paths = names.map((u) => `${UNIT_DIR}/${u}`);
  const out: Change[] = [
    ...names.map((u, i) => file(paths[i], units[u], { mode: 0o644 })),
    daemonReload(paths, (await placeOf(host)).systemd),
  ];
  if (!(await host.which("systemctl"))) {
    out.push(note(`enabling ${enable.join(", ")} skipped: systemctl not found`));
    return out;
  }
  out.push(...enable.map((u) => enableUnit(u, host.root)));
  // Templates are verified through an instance (systemd-analyze refuses a bare template name).
  const verifiable = names.map((u) => {
    if (!u.endsWith("@.service")) return u;
    const prefix = u.slice(0, -".service".length);
    return enable.find((e) => e.startsWith(prefix));
  }).filter((u): u is string => u !== undefined);
  if (await host.which("systemd-analyze")) out.push(verifyChange(verifiable, paths));
  else out.push(note("systemd-analyze not found: units are not verified"));
  return out;
}
