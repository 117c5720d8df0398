/** The instance.environment drop-in of a unit as a change: written when non-empty, removed otherwise. */
import { renderEnvironmentDropIn } from "../../eks/node_units.ts";
import { file, remove } from "../../lib/changes.ts";
import type { Change } from "../../lib/step.ts";

/**
 * A file change for `path` with `env`, or its removal when `env` is empty (so emptying it converges).
 * Mode 0600: instance.environment often carries credentials (`HTTPS_PROXY=http://user:password@proxy`),
 * and systemd, which reads the drop-in, runs as root.
 */
export function environmentDropIn(path: string, env: Readonly<Record<string, string>>): Change {
  const text = renderEnvironmentDropIn(env);
  return text === undefined ? remove(path) : file(path, text, { mode: 0o600 });
}
