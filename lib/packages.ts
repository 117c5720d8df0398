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
import { CommandError } from "./errors.ts";
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

/**
 * The list dnf's versionlock plugin reads (`locklist` of /etc/dnf/plugins/versionlock.conf, as
 * dnf-plugins-core and AL2023's python3-dnf-plugin-versionlock ship it).
 */
export const DNF_VERSIONLOCK_LIST = "/etc/dnf/plugins/versionlock.list";

/** An installed package as rpm names it. */
export interface Nevr {
  name: string;
  epoch: string;
  version: string;
  release: string;
}

/**
 * The entry `dnf versionlock add NAME` writes for an installed package: `NAME-EPOCH:VERSION-RELEASE.*`
 * (dnf-plugins-core plugins/versionlock.py, pkgtup2spec; the epoch 0 when the package has none).
 * @example versionlockEntry({ name: "containerd", epoch: "0", version: "1.7.27", release: "1.amzn2023.0.1" })
 * // "containerd-0:1.7.27-1.amzn2023.0.1.*"
 */
export function versionlockEntry(p: Nevr): string {
  return `${p.name}-${p.epoch || "0"}:${p.version}-${p.release}.*`;
}

/**
 * Name and `VERSION-RELEASE.ARCH` of a versionlock.list entry in the `NAME-EPOCH:VERSION-RELEASE.ARCH`
 * form (what `dnf versionlock add` writes), else undefined (comments, excludes, other forms).
 */
function lockEntry(entry: string): { name: string; versionRelease: string } | undefined {
  const m = /^([^!#\s].*)-\d+:([^-\s]+-[^-\s]+)$/.exec(entry.trim());
  return m ? { name: m[1], versionRelease: m[2] } : undefined;
}

/** The comment eksnode writes above its lock of `name`. */
function lockComment(name: string): string {
  return `# eksnode: ${name} locked at the version the bake pins`;
}

/** The installed `name` as rpm records it, or undefined when it is not installed. */
async function installedNevr(host: Host, t: PackageTarget, name: string): Promise<Nevr | undefined> {
  if (!(await host.which("rpm"))) return undefined;
  const r = await host.exec([
    "rpm",
    ...(t.root === "/" ? [] : ["--root", t.root]),
    "-q",
    "--qf",
    "%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\n",
    name,
  ], { allowFailure: true, timeoutMs: 60_000 });
  if (r.code !== 0) return undefined;
  const [n, epoch, version, release] = r.stdout.split("\n")[0].split("\t");
  return n === name && version && release ? { name, epoch, version, release } : undefined;
}

/**
 * The versionlock.list `current` with `name` locked at `nevr` only: entries of other versions of `name`
 * (an earlier bake's pin) and their eksnode comment go, every other line stays; the entry is appended
 * under a comment, as `dnf versionlock add` appends (with a fixed comment instead of its clock time).
 */
export function lockListWith(current: string, nevr: Nevr): string {
  const comment = lockComment(nevr.name);
  const kept = current.split("\n").filter((line) => line !== comment && lockEntry(line)?.name !== nevr.name);
  while (kept.length && kept[kept.length - 1] === "") kept.pop();
  return [...kept, ...(kept.length ? [""] : []), comment, versionlockEntry(nevr), ""].join("\n");
}

/** versionlock.list `current` without the entries that lock `p.name` at a version other than `p.version`. */
export function lockListWithout(current: string, p: PackageSpec): string {
  const stale = (line: string) => {
    const e = lockEntry(line);
    return e !== undefined && e.name === p.name && !matches(e.versionRelease, p);
  };
  const lines = current.split("\n");
  return lines.filter((line, i) =>
    !stale(line) && !(line === lockComment(p.name) && (lines[i + 1] === undefined || stale(lines[i + 1])))
  ).join("\n");
}

/**
 * No lock holding `p.name` at another version than the pin `p.version` in the image's
 * {@link DNF_VERSIONLOCK_LIST} (an earlier bake's lock, or the user's): planned before the pinned install,
 * which such a lock would hide from dnf. Dropped when there is none (always on a first bake). dnf only.
 */
export function packageLockCleared(t: PackageTarget, p: PackageSpec): Change | undefined {
  if (t.manager !== "dnf" || !p.version) return undefined;
  const read = async (host: Host) => {
    const current = (await host.readText(DNF_VERSIONLOCK_LIST)) ?? "";
    return { current, wanted: lockListWithout(current, p) };
  };
  return {
    kind: "package",
    key: `package-lock-cleared:${p.name}`,
    describe: () =>
      `package versionlock of ${p.name} at another version than ${p.version} removed from ${DNF_VERSIONLOCK_LIST}`,
    satisfied: async ({ host }) => {
      const e = await read(host);
      return e.current === e.wanted;
    },
    async apply({ host }) {
      const e = await read(host);
      if (e.current !== e.wanted) await host.writeFile(DNF_VERSIONLOCK_LIST, e.wanted, { mode: 0o644 });
    },
  };
}

/**
 * `p` version-locked at its installed version, as AL2023's build does after a pinned install
 * (`dnf versionlock containerd-*`, amazon-eks-ami templates/al2023/provisioners/install-worker.sh @ 81fec2e8):
 * the entry `dnf versionlock add` would write, in the image's {@link DNF_VERSIONLOCK_LIST}, read from the
 * image's rpm database. Written directly rather than by `dnf versionlock`: under `--installroot` that
 * command writes the build machine's list, not the image's, and the plugin may not be installed yet
 * (the list is read once it is). dnf only; other managers get undefined.
 */
export function packageLocked(t: PackageTarget, p: PackageSpec): Change | undefined {
  if (t.manager !== "dnf") return undefined;
  const expected = async (host: Host) => {
    const nevr = await installedNevr(host, t, p.name);
    if (!nevr) return undefined;
    const current = (await host.readText(DNF_VERSIONLOCK_LIST)) ?? "";
    return { nevr, current, wanted: lockListWith(current, nevr) };
  };
  return {
    kind: "package",
    key: `package-locked:${p.name}`,
    describe: () => `package versionlock ${p.name} at its installed version in ${DNF_VERSIONLOCK_LIST}`,
    satisfied: async ({ host }) => {
      const e = await expected(host);
      return e !== undefined && e.current === e.wanted;
    },
    async apply({ host }) {
      const e = await expected(host);
      if (!e) {
        throw new CommandError(
          `cannot versionlock ${p.name}: it is not installed (rpm -q ${p.name})`,
          `install ${p.name} first`,
        );
      }
      await host.writeFile(DNF_VERSIONLOCK_LIST, e.wanted, { mode: 0o644 });
    },
  };
}
