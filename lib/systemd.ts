/**
 * systemd units as changes: daemon-reload, enable, start/restart. Under `--root` other than `/`,
 * units are enabled with `systemctl --root` (which only creates the symlinks); where systemd is not
 * running (another root, a chroot, a container without systemd as PID 1: lib/place.ts) reloading and
 * starting are skipped with a note saying why, while enabling still works (systemctl does it offline).
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

/**
 * The template an instance unit is made from (`dd@kubelet.service` → `dd@.service`), or undefined for a
 * unit that is not an instance.
 * @example templateOf("ebs-initialize-bin@kubelet.service") // "ebs-initialize-bin@.service"
 */
export function templateOf(unit: string): string | undefined {
  const m = /^([^@]+)@([^@]+)(\.[a-z]+)$/.exec(unit);
  return m ? `${m[1]}@${m[3]}` : undefined;
}

/**
 * The path of the unit file systemd would load for `unit`: the first of the {@link UNIT_DIRS} that has it
 * (for an instance without a file of its own, its template's).
 */
export async function unitFile(host: Host, unit: string): Promise<string | undefined> {
  for (const d of UNIT_DIRS) if (await host.exists(`${d}/${unit}`)) return `${d}/${unit}`;
  const template = templateOf(unit);
  if (template) {
    for (const d of UNIT_DIRS) if (await host.exists(`${d}/${template}`)) return `${d}/${template}`;
  }
  return undefined;
}

/** True when a unit file `unit` exists in one of the {@link UNIT_DIRS} under the root. */
export async function unitInstalled(host: Host, unit: string): Promise<boolean> {
  return (await unitFile(host, unit)) !== undefined;
}

/**
 * `systemctl daemon-reload` when one of the given change keys (unit files) changed in this run; a note
 * when systemd cannot be reached here (`cannot`: why, as `Place.systemd` of lib/place.ts says).
 */
export function daemonReload(whenChanged: string[], cannot: string | undefined): Change {
  if (cannot) return note(`systemctl daemon-reload skipped: ${cannot}`);
  return exec(["systemctl", "daemon-reload"], {
    why: "unit files changed",
    whenChanged,
    key: "systemd:daemon-reload",
  });
}

/**
 * True when the links `systemctl enable` makes for `unit` are all there: the unit file (the first of
 * {@link UNIT_DIRS}, a regular file, so not masked) names targets in `WantedBy=` / `RequiredBy=` of its
 * [Install] section, and `/etc/systemd/system/TARGET.wants/UNIT` (`.requires/`) is a symlink to a file
 * of that name for each. That is what `systemctl is-enabled` reports as "enabled"; false means "not
 * sure" (template, Alias=, Also=, no such links), and systemctl decides. Reading these few files instead
 * of starting systemctl keeps an idempotent run free of subprocesses.
 */
export async function enabledByLinks(host: Host, unit: string): Promise<boolean> {
  // An instance (`name@arg.service`) is enabled by the links of its template's [Install] section, named
  // for the instance; a bare template cannot be enabled.
  const template = templateOf(unit);
  if (unit.includes("@") && !template) return false;
  const fileName = template ?? unit;
  for (const dir of UNIT_DIRS) {
    const st = await host.stat(`${dir}/${fileName}`);
    if (!st) continue;
    if (!st.isFile) return false;
    const text = (await host.readText(`${dir}/${fileName}`)) ?? "";
    const links: string[] = [];
    let section = "";
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line.startsWith("[")) section = line;
      if (section !== "[Install]" || line.startsWith("#") || line.startsWith(";")) continue;
      const m = /^(\w+)\s*=\s*(.*)$/.exec(line);
      if (!m) continue;
      if (m[1] === "WantedBy" || m[1] === "RequiredBy") {
        const suffix = m[1] === "WantedBy" ? "wants" : "requires";
        for (const target of m[2].split(/\s+/).filter(Boolean)) links.push(`${target}.${suffix}`);
      } else if (m[1] === "Alias" || m[1] === "Also" || m[1] === "DefaultInstance") return false;
    }
    if (links.length === 0) return false;
    for (const l of links) {
      const link = `/etc/systemd/system/${l}/${unit}`;
      if (!(await host.stat(link))?.isSymlink) return false;
      const target = (await host.readLink(link))?.split("/").pop();
      if (target !== unit && target !== template) return false;
    }
    return true;
  }
  return false;
}

/** The `--root=DIR` argument of systemctl and systemd-analyze for a root other than the running system's. */
export function rootArgs(root: string): string[] {
  return root === "/" ? [] : [`--root=${root}`];
}

/**
 * `systemctl enable UNIT` (with `--root` when not the running system), checked by its links
 * ({@link enabledByLinks}) and, when they do not settle it, with `systemctl is-enabled`.
 */
export function enableUnit(unit: string, root: string): Change {
  return exec(["systemctl", ...rootArgs(root), "enable", unit], {
    why: "start at boot",
    key: `unit-enabled:${unit}`,
    check: async ({ host }) => {
      if (await enabledByLinks(host, unit)) return true;
      const r = await host.exec(["systemctl", ...rootArgs(root), "is-enabled", unit], { allowFailure: true });
      return r.stdout.trim() === "enabled";
    },
  });
}

/** True when `systemctl is-active UNIT` says active. */
export async function unitActive(host: Host, unit: string): Promise<boolean> {
  return (await host.exec(["systemctl", "is-active", unit], { allowFailure: true })).stdout.trim() ===
    "active";
}

/**
 * Starts a unit now, or restarts it when one of `restartWhenChanged` was applied in this run.
 * Where systemd is not running (`cannot`: why, as `Place.systemd` of lib/place.ts says; e.g. under `--root`) it is
 * a note: nothing can be started in a tree that is not running. `done` says
 * when starting is not needed (default: the unit is active); a oneshot whose condition skips it
 * never becomes active, so it passes what its condition tests instead.
 */
export function startUnit(
  unit: string,
  cannot: string | undefined,
  restartWhenChanged: string[] = [],
  done: (host: Host) => Promise<boolean> = (host) => unitActive(host, unit),
): Change[] {
  if (cannot) return [note(`start ${unit} skipped: ${cannot}`)];
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
