/**
 * systemd units as changes: daemon-reload, enable, start/restart. Under `--root` other than `/`,
 * units are enabled with `systemctl --root` (which only creates the symlinks) and starting is
 * skipped with a note saying so.
 */
import { exec, note } from "./changes.ts";
import type { Host } from "./host.ts";
import type { Change } from "./step.ts";

/** Where unit files are installed: by an administrator (eksnode), then by packages. */
export const UNIT_DIRS: readonly string[] = [
  "/etc/systemd/system",
  "/usr/lib/systemd/system",
  "/lib/systemd/system",
];

/** True when a unit file `unit` exists in one of the {@link UNIT_DIRS} under the root. */
export async function unitInstalled(host: Host, unit: string): Promise<boolean> {
  for (const d of UNIT_DIRS) if (await host.exists(`${d}/${unit}`)) return true;
  return false;
}

/** `systemctl daemon-reload` when one of the given change keys (unit files) changed in this run. */
export function daemonReload(whenChanged: string[], isSystemRoot: boolean): Change {
  if (!isSystemRoot) return note("systemctl daemon-reload skipped: --root is not the running system");
  return exec(["systemctl", "daemon-reload"], {
    why: "unit files changed",
    whenChanged,
    key: "systemd:daemon-reload",
  });
}

/** `systemctl enable UNIT` (with `--root` when not the running system), checked with is-enabled. */
export function enableUnit(unit: string, root: string): Change {
  const rootArgs = root === "/" ? [] : [`--root=${root}`];
  return exec(["systemctl", ...rootArgs, "enable", unit], {
    why: "start at boot",
    key: `unit-enabled:${unit}`,
    check: async ({ host }) => {
      const r = await host.exec(["systemctl", ...rootArgs, "is-enabled", unit], { allowFailure: true });
      return r.stdout.trim() === "enabled";
    },
  });
}

/** True when `systemctl is-active UNIT` says active. */
async function unitActive(host: Host, unit: string): Promise<boolean> {
  return (await host.exec(["systemctl", "is-active", unit], { allowFailure: true })).stdout.trim() ===
    "active";
}

/**
 * Starts a unit now, or restarts it when one of `restartWhenChanged` was applied in this run.
 * Under `--root` it is a note: nothing can be started in a tree that is not running. `done` says
 * when starting is not needed (default: the unit is active); a oneshot whose condition skips it
 * never becomes active, so it passes what its condition tests instead.
 */
export function startUnit(
  unit: string,
  isSystemRoot: boolean,
  restartWhenChanged: string[] = [],
  done: (host: Host) => Promise<boolean> = (host) => unitActive(host, unit),
): Change[] {
  if (!isSystemRoot) return [note(`start ${unit} skipped: --root is not the running system`)];
  return [
    exec(["systemctl", "start", unit], {
      why: "not running",
      key: `unit-started:${unit}`,
      check: ({ host }) => done(host),
    }),
    ...(restartWhenChanged.length
      ? [exec(["systemctl", "restart", unit], {
        why: "its configuration changed",
        key: `unit-restarted:${unit}`,
        whenChanged: restartWhenChanged,
      })]
      : []),
  ];
}
