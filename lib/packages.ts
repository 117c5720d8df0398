/**
 * Packages as changes, through one adapter over dnf, yum and apt (or `none`, which only records what
 * would be done). Each change asks the package database first (`rpm -q`, `dpkg-query -W`), so an
 * installed package is dropped from the plan. Under `--root` other than `/`, dnf and yum work on the
 * tree with `--installroot` (and rpm with `--root`); apt has no such mode, so its changes become notes.
 * Before the first install a run makes, the package metadata is refreshed (`apt-get update`,
 * `dnf makecache`), as distributions' image build scripts do: an image's lists may be empty or stale.
 * A run that installs nothing refreshes nothing.
 * Knows nothing about EKS: the names come from the caller.
 */
import { note } from "./changes.ts";
import type { Host } from "./host.ts";
import type { Change } from "./step.ts";

/** The package managers the adapter drives. */
export type PackageManager = "dnf" | "yum" | "apt" | "none";

/** One package, optionally at a version (a prefix: "2.1.4" matches "2.1.4-1.amzn2023.0.1"). */
export interface PackageSpec {
  name: string;
  version?: string;
}

/** Where packages are managed: the manager and the root of the tree. */
export interface PackageTarget {
  manager: PackageManager;
  /** Real path of the root ("/" for the running system). */
  root: string;
}

const INSTALL_TIMEOUT_MS = 15 * 60_000;

function specText(p: PackageSpec): string {
  return p.version ? `${p.name} ${p.version}` : p.name;
}

/** The argv that asks the package database about `p` (exit 0 and output tell whether it is installed). */
export function queryArgv(t: PackageTarget, p: PackageSpec): string[] {
  if (t.manager === "apt") {
    return [
      "dpkg-query",
      ...(t.root === "/" ? [] : [`--root=${t.root}`]),
      "-W",
      "-f=${Status}\\t${Version}",
      p.name,
    ];
  }
  return [
    "rpm",
    ...(t.root === "/" ? [] : ["--root", t.root]),
    "-q",
    "--qf",
    "%{VERSION}-%{RELEASE}\\n",
    p.name,
  ];
}

/** The argv that installs `p`. */
export function installArgv(t: PackageTarget, p: PackageSpec): string[] {
  if (t.manager === "apt") {
    return [
      "apt-get",
      "install",
      "-y",
      "--no-install-recommends",
      p.version ? `${p.name}=${p.version}*` : p.name,
    ];
  }
  const root = t.root === "/" ? [] : [`--installroot=${t.root}`];
  return [t.manager, "install", "-y", ...root, p.version ? `${p.name}-${p.version}` : p.name];
}

/** The argv that refreshes the package metadata before installs (`apt-get update`, `dnf makecache`). */
export function refreshArgv(t: PackageTarget): string[] {
  if (t.manager === "apt") return ["apt-get", "update"];
  const root = t.root === "/" ? [] : [`--installroot=${t.root}`];
  return [t.manager, "makecache", ...root];
}

/** Targets whose metadata this process refreshed already, by host (one refresh a run and target). */
const refreshed = new WeakMap<Host, Set<string>>();

/** Runs {@link refreshArgv} for `t` unless this run did already. */
async function refreshOnce(host: Host, t: PackageTarget): Promise<void> {
  const done = refreshed.get(host) ?? new Set<string>();
  refreshed.set(host, done);
  const key = `${t.manager}:${t.root}`;
  if (done.has(key)) return;
  await host.exec(refreshArgv(t), {
    timeoutMs: INSTALL_TIMEOUT_MS,
    env: t.manager === "apt" ? { DEBIAN_FRONTEND: "noninteractive" } : undefined,
  });
  done.add(key);
}

/** The argv that removes `p`. */
export function removeArgv(t: PackageTarget, p: PackageSpec): string[] {
  if (t.manager === "apt") return ["apt-get", "remove", "-y", p.name];
  const root = t.root === "/" ? [] : [`--installroot=${t.root}`];
  return [t.manager, "remove", "-y", ...root, p.name];
}

/**
 * The installed version of `p`, or undefined when it is not installed (or the database tool is
 * missing, which means nothing is installed through it).
 */
export async function installedVersion(
  host: Host,
  t: PackageTarget,
  p: PackageSpec,
): Promise<string | undefined> {
  if (t.manager === "none") return undefined;
  const argv = queryArgv(t, p);
  if (!(await host.which(argv[0]))) return undefined;
  const r = await host.exec(argv, { allowFailure: true, timeoutMs: 60_000 });
  if (r.code !== 0) return undefined;
  if (t.manager === "apt") {
    const [status, version] = r.stdout.split("\t");
    return status?.trim() === "install ok installed" ? (version ?? "").trim() : undefined;
  }
  return r.stdout.trim().split("\n")[0] || undefined;
}

function matches(installed: string | undefined, p: PackageSpec): boolean {
  if (installed === undefined) return false;
  if (!p.version) return true;
  // Versions may carry an epoch ("1:2.1.4-1"); compare past it.
  const bare = installed.replace(/^\d+:/, "");
  return bare === p.version || bare.startsWith(`${p.version}-`) || bare.startsWith(`${p.version}.`) ||
    bare.startsWith(`${p.version}~`) || bare.startsWith(`${p.version}+`);
}

/** Why packages cannot be changed for this target, or undefined when they can. */
export function unsupportedReason(t: PackageTarget): string | undefined {
  if (t.manager === "none") return "package manager none: not run";
  if (t.manager === "apt" && t.root !== "/") {
    return `apt cannot install into --root ${t.root} (it has no installroot mode): not run; install it in the image`;
  }
  return undefined;
}

/** `p` installed (at its version, when given). With `none` or apt under --root: a note saying so. */
export function packageInstalled(t: PackageTarget, p: PackageSpec): Change {
  const why = unsupportedReason(t);
  if (why) return note(`package install ${specText(p)} (${why})`);
  const argv = installArgv(t, p);
  return {
    kind: "package",
    key: `package:${p.name}`,
    describe: () =>
      `package install ${specText(p)} via ${argv.join(" ")} (after ${refreshArgv(t).join(" ")}, once a run)`,
    satisfied: async ({ host }) => matches(await installedVersion(host, t, p), p),
    async apply({ host }) {
      await refreshOnce(host, t);
      await host.exec(argv, {
        timeoutMs: INSTALL_TIMEOUT_MS,
        env: t.manager === "apt" ? { DEBIAN_FRONTEND: "noninteractive" } : undefined,
      });
    },
  };
}

/** `p` not installed. With `none` or apt under --root: a note saying so. */
export function packageRemoved(t: PackageTarget, p: PackageSpec): Change {
  const why = unsupportedReason(t);
  if (why) return note(`package remove ${p.name} (${why})`);
  const argv = removeArgv(t, p);
  return {
    kind: "package",
    key: `package-removed:${p.name}`,
    describe: () => `package remove ${p.name} via ${argv.join(" ")}`,
    satisfied: async ({ host }) => (await installedVersion(host, t, p)) === undefined,
    async apply({ host }) {
      await host.exec(argv, {
        timeoutMs: INSTALL_TIMEOUT_MS,
        env: t.manager === "apt" ? { DEBIAN_FRONTEND: "noninteractive" } : undefined,
      });
    },
  };
}
