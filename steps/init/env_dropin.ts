/**
 * The system files of NodeConfig `instance.environment` and `instance.network` as changes (step 6), in
 * nodeadm's layout (eks/system/environment.ts, eks/system/resolved.ts): each written when it has content
 * and removed otherwise, so emptying a setting converges.
 */
import { environmentFiles } from "../../eks/system/environment.ts";
import { renderResolvedDropIn } from "../../eks/system/resolved.ts";
import { LEGACY_ENV_DROPINS, RESOLVED_DROPIN } from "../../eks/paths/node.ts";
import { exec, file, note, remove } from "../../lib/changes.ts";
import type { Change } from "../../lib/step.ts";
import type { NodeSettings } from "./context.ts";

/**
 * The environment files (default and per service) and the systemd-resolved drop-in. Mode 0600 for the
 * environment: it often carries credentials (`HTTPS_PROXY=http://user:password@proxy`), and systemd, which
 * reads it, runs as root. A changed resolved drop-in restarts systemd-resolved when it runs (nodeadm
 * restarts it too); under --root that is a note.
 */
export function systemConfigChanges(
  node: Pick<NodeSettings, "environment" | "network">,
  isSystemRoot: boolean,
): Change[] {
  const env = environmentFiles(node.environment).map((f) =>
    f.text === undefined ? remove(f.path) : file(f.path, f.text, { mode: 0o600 })
  );
  const resolved = renderResolvedDropIn(node.network);
  return [
    ...env,
    ...LEGACY_ENV_DROPINS.map((p) => remove(p)),
    resolved === undefined ? remove(RESOLVED_DROPIN) : file(RESOLVED_DROPIN, resolved, { mode: 0o644 }),
    ...(isSystemRoot
      ? [exec(["systemctl", "try-restart", "systemd-resolved.service"], {
        why: "its configuration changed",
        key: "unit-restarted:systemd-resolved.service",
        whenChanged: [RESOLVED_DROPIN],
      })]
      : resolved === undefined
      ? []
      : [note("restart of systemd-resolved skipped: --root is not the running system")]),
  ];
}
