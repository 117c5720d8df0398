/**
 * What the place eksnode runs in can do: start and reload units (systemd running as PID 1), load kernel
 * modules, turn swap off. `eksnode ami` runs on `/` in a booted instance, in a container (Docker,
 * Podman, systemd-nspawn) or in a chroot (Packer's amazon-chroot builder); under `--root` other than `/`
 * it runs on a tree that is not running at all. Each thing this place cannot do comes with the reason,
 * which the steps turn into a note instead of a command that would fail.
 *
 * The facts are read once per {@link Host} ({@link placeOf}); {@link judgePlace} turns them into reasons
 * and is pure, so every kind of place is tested without being one.
 */
import type { Host } from "./host.ts";

/** What was read about the place. */
export interface PlaceFacts {
  /** True when the root is the running system's `/`. */
  systemRoot: boolean;
  /** True when /run/systemd/system is a directory: systemd runs as PID 1 (sd_booted(3)). */
  systemdRunning: boolean;
  /** The container manager found (`docker`, `podman`, `systemd-nspawn`, ...), or undefined when none. */
  container?: string;
  /** True when the root is not PID 1's root (`systemd-detect-virt --chroot`). */
  chroot: boolean;
  /** The running kernel's release (`uname -r`). */
  kernelRelease: string;
  /** True when /lib/modules/RELEASE of the running kernel exists (modprobe looks there). */
  modulesDir: boolean;
}

/** What this place cannot do, each as the reason why; undefined: it can. */
export interface Place {
  facts: PlaceFacts;
  /** Why units cannot be reloaded, started or restarted here (enabling works offline everywhere). */
  systemd?: string;
  /** Why kernel modules cannot be loaded here (the modules-load.d file loads them at the image's boot). */
  modules?: string;
  /** Why swap cannot be turned off here now (the fstab edit turns it off from the image's boot). */
  swap?: string;
}

/** The reason for everything under `--root` other than `/`. */
export const NOT_RUNNING_SYSTEM = "--root is not the running system";

/**
 * The reasons that follow from the facts.
 * @example judgePlace({ systemRoot: true, systemdRunning: false, chroot: true, ... }).systemd
 *   // "systemd is not running here (a chroot: no /run/systemd/system)"
 */
export function judgePlace(facts: PlaceFacts): Place {
  if (!facts.systemRoot) {
    return { facts, systemd: NOT_RUNNING_SYSTEM, modules: NOT_RUNNING_SYSTEM, swap: NOT_RUNNING_SYSTEM };
  }
  const where = facts.container ? `a container (${facts.container})` : facts.chroot ? "a chroot" : undefined;
  const place: Place = { facts };
  if (!facts.systemdRunning) {
    place.systemd = `systemd is not running here (${
      where ?? "systemd is not PID 1"
    }: no /run/systemd/system)`;
  }
  if (facts.container) {
    place.modules = `in ${where}, which shares the host's kernel and cannot load modules`;
    place.swap = `in ${where}: swap belongs to the host`;
  } else if (facts.chroot) {
    place.modules = "in a chroot: modules would load into the build machine's kernel, not the image's";
    place.swap = "in a chroot: swap belongs to the build machine";
  } else if (!facts.modulesDir) {
    place.modules =
      `/lib/modules/${facts.kernelRelease} is missing: the running kernel's modules are not installed here`;
  }
  return place;
}

/** Names in /proc/1/cgroup that mean PID 1 runs in a container (cgroup v1, or v2 seen from outside). */
const CGROUP_HINTS: readonly [RegExp, string][] = [
  [/\/docker[/-]/, "docker"],
  [/\/libpod[-_]|\/machine\.slice\/libpod/, "podman"],
  [/\/lxc[./]|\/lxc\.payload/, "lxc"],
  [/kubepods/, "kubernetes"],
  [/\/machine\.slice\/systemd-nspawn|\/machine\.slice\/machine-/, "systemd-nspawn"],
];

/**
 * The container manager a /proc/1/cgroup text hints at, or undefined.
 * @example containerFromCgroup("12:pids:/docker/0123abcd\n") // "docker"
 */
export function containerFromCgroup(text: string): string | undefined {
  for (const [re, name] of CGROUP_HINTS) if (re.test(text)) return name;
  return undefined;
}

/** The container manager, from the cheapest signs first: environment, marker files, systemd, cgroups. */
async function detectContainer(host: Host): Promise<string | undefined> {
  // systemd-nspawn, Podman and LXC set `container` for the container's init (and what it starts directly).
  const env = host.env.container?.trim();
  if (env) return env;
  if (await host.exists("/run/.containerenv")) return "podman";
  if (await host.exists("/.dockerenv")) return "docker";
  // nspawn and other managers following systemd's container interface write it for the inside.
  const marker = (await host.readText("/run/systemd/container"))?.trim();
  if (marker) return marker;
  if (await host.which("systemd-detect-virt")) {
    const r = await host.exec(["systemd-detect-virt", "--container"], {
      allowFailure: true,
      timeoutMs: 10_000,
    });
    const name = r.stdout.trim();
    if (r.code === 0 && name && name !== "none") return name;
  }
  return containerFromCgroup((await host.readText("/proc/1/cgroup")) ?? "");
}

/**
 * True when a /proc/self/mountinfo text has no mount at `/`: this process's root is a directory that is
 * not a mount point, which only a chroot makes (a booted system and a container have a root file system).
 * A chroot into a mount point (amazon-chroot's volume) does not show here; systemd-detect-virt tells that.
 * @example chrootByMountinfo("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n") // false
 */
export function chrootByMountinfo(mountinfo: string): boolean {
  const points = mountinfo.split("\n").filter(Boolean).map((l) => l.split(" ")[4]);
  return points.length > 0 && !points.includes("/");
}

/**
 * True when this process's root is not PID 1's: `systemd-detect-virt --chroot` (which needs to read
 * /proc/1/root, denied in some containers), else a root that is no mount point ({@link chrootByMountinfo}).
 */
async function detectChroot(host: Host): Promise<boolean> {
  if (await host.which("systemd-detect-virt")) {
    const r = await host.exec(["systemd-detect-virt", "--chroot"], { allowFailure: true, timeoutMs: 10_000 });
    if (r.code === 0) return true;
  }
  return chrootByMountinfo((await host.readText("/proc/self/mountinfo")) ?? "");
}

/** Reads the facts of the place (on `/` only; under another root nothing needs to be read). */
export async function readPlaceFacts(host: Host): Promise<PlaceFacts> {
  const kernelRelease = host.kernelRelease();
  if (!host.isSystemRoot) {
    return { systemRoot: false, systemdRunning: false, chroot: false, kernelRelease, modulesDir: false };
  }
  return {
    systemRoot: true,
    systemdRunning: (await host.stat("/run/systemd/system"))?.isDirectory ?? false,
    container: await detectContainer(host),
    chroot: await detectChroot(host),
    kernelRelease,
    modulesDir: (await host.stat(`/lib/modules/${kernelRelease}`))?.isDirectory ?? false,
  };
}

const places = new WeakMap<Host, Promise<Place>>();

/** The place of `host`, read once (the steps of a run share it). */
export function placeOf(host: Host): Promise<Place> {
  let p = places.get(host);
  if (!p) {
    p = readPlaceFacts(host).then(judgePlace);
    places.set(host, p);
  }
  return p;
}
