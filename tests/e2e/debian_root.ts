/**
 * A minimal Debian root for the boot test, built once with debootstrap and cached in a directory keyed
 * by its inputs (suite, variant, package list, mirror, architecture, recipe version). Each test run gets
 * a copy. Debian's containerd and runc binaries are taken out of the root into the cache entry, so the
 * test can serve them as a release tarball from the loopback mirror for `eksnode ami` to install (steps
 * 10–11); the packages themselves are purged, so the root holds only what eksnode installs.
 */
import { createHash } from "node:crypto";

/** What the root is built from. */
export interface RootRecipe {
  suite: string;
  mirror: string;
  /** Packages added to debootstrap's minbase set. */
  include: string[];
}

/** Packages of the root: systemd as init (and dbus for it), procps (sysctl), kmod (modprobe in units),
 * openssh-server (its host keys, made by the package's postinst, are the builder's that hygiene removes),
 * and containerd + runc, whose binaries are kept aside and whose packages are then purged. */
// iptables: kubelet.service runs `/sbin/iptables -P FORWARD ACCEPT -w 5` before kubelet, as nodeadm's unit
// does (AL2023 has the package; the bake's package step only notes it under --root with apt).
export const INCLUDE = [
  "systemd",
  "systemd-sysv",
  "dbus",
  "procps",
  "kmod",
  "iptables",
  "openssh-server",
  "containerd",
  "runc",
];

/** Binaries kept from the containerd and runc packages: name → path in the Debian root. */
export const RUNTIME_BINARIES: Readonly<Record<string, string>> = {
  containerd: "/usr/bin/containerd",
  "containerd-shim": "/usr/bin/containerd-shim",
  "containerd-shim-runc-v1": "/usr/bin/containerd-shim-runc-v1",
  "containerd-shim-runc-v2": "/usr/bin/containerd-shim-runc-v2",
  ctr: "/usr/bin/ctr",
  runc: "/usr/sbin/runc",
};

/** Bump when the way a cache entry is made changes (invalidates old entries). */
const RECIPE_VERSION = 1;

/** A cache entry: the root to copy, the runtime binaries, and their Debian versions. */
export interface CachedRoot {
  dir: string;
  root: string;
  bin: string;
  versions: { containerd: string; runc: string };
  /** True when this call ran debootstrap (a cold cache), with how long it took. */
  built: boolean;
  seconds: number;
}

/**
 * The bookworm root the e2e tests bake: INCLUDE plus `extra` packages, from `$EKSNODE_E2E_DEBIAN_MIRROR` or
 * the mirror apt on this machine uses.
 */
export async function bookwormRecipe(extra: readonly string[] = []): Promise<RootRecipe> {
  return {
    suite: "bookworm",
    mirror: Deno.env.get("EKSNODE_E2E_DEBIAN_MIRROR") ?? await aptMirror(),
    include: [...INCLUDE, ...extra],
  };
}

/** The Debian mirror apt on this machine uses (deb822 or one-line sources), else deb.debian.org. */
export async function aptMirror(): Promise<string> {
  const files = ["/etc/apt/sources.list"];
  try {
    for await (const e of Deno.readDir("/etc/apt/sources.list.d")) {
      files.push(`/etc/apt/sources.list.d/${e.name}`);
    }
  } catch {
    // no sources.list.d
  }
  for (const f of files.sort()) {
    const text = await Deno.readTextFile(f).catch(() => "");
    // One-line format: "deb http://deb.debian.org/debian bookworm main".
    const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+\S+/m.exec(text);
    if (line) return line[1];
    // deb822: "URIs: http://deb.debian.org/debian".
    const uri = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text);
    if (uri) return uri[1];
  }
  return "http://deb.debian.org/debian";
}

/** The suite of this machine (VERSION_CODENAME of /etc/os-release), else bookworm. */
export async function hostSuite(): Promise<string> {
  const text = await Deno.readTextFile("/etc/os-release").catch(() => "");
  return /^VERSION_CODENAME=("?)([a-z]+)\1$/m.exec(text)?.[2] ?? "bookworm";
}

/** Where cache entries live: EKSNODE_E2E_CACHE, else $XDG_CACHE_HOME or ~/.cache /eksnode-e2e. */
export function cacheBase(): string {
  const explicit = Deno.env.get("EKSNODE_E2E_CACHE");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? "/root"}/.cache`;
  return `${xdg}/eksnode-e2e`;
}

/** Runs argv on this machine and returns stdout; a failure throws with `what`, the command and its output tail. */
export async function run(argv: string[], what: string, timeoutMs = 20 * 60_000): Promise<string> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: { DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" },
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    const tail = (dec.decode(out.stderr) + dec.decode(out.stdout)).trim().split("\n").slice(-8).join("\n");
    throw new Error(`${what}: ${argv.join(" ")} exited ${out.code}:\n${tail}`);
  }
  return dec.decode(out.stdout);
}

/** The cache key of a recipe on this machine's architecture. */
export async function cacheKey(recipe: RootRecipe): Promise<string> {
  const arch = (await run(["dpkg", "--print-architecture"], "architecture")).trim();
  const inputs = JSON.stringify({ v: RECIPE_VERSION, arch, variant: "minbase", ...recipe });
  return `${recipe.suite}-${arch}-${createHash("sha256").update(inputs).digest("hex").slice(0, 16)}`;
}

/**
 * The cached root for `recipe`, built when missing: debootstrap into a temp directory beside the entry,
 * runtime binaries copied out, containerd and runc purged, then renamed into place (a half-built entry
 * is never used).
 */
export async function cachedRoot(recipe: RootRecipe): Promise<CachedRoot> {
  const base = cacheBase();
  const dir = `${base}/${await cacheKey(recipe)}`;
  const meta = async (built: boolean, seconds: number): Promise<CachedRoot> => ({
    dir,
    root: `${dir}/root`,
    bin: `${dir}/bin`,
    versions: JSON.parse(await Deno.readTextFile(`${dir}/versions.json`)),
    built,
    seconds,
  });
  if (await Deno.stat(`${dir}/versions.json`).then(() => true, () => false)) return await meta(false, 0);

  const started = performance.now();
  await Deno.mkdir(base, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: base, prefix: ".building-" });
  try {
    const root = `${tmp}/root`;
    await run([
      "debootstrap",
      "--variant=minbase",
      `--include=${recipe.include.join(",")}`,
      recipe.suite,
      root,
      recipe.mirror,
    ], "debootstrap");
    await Deno.mkdir(`${tmp}/bin`);
    for (const [name, path] of Object.entries(RUNTIME_BINARIES)) {
      await Deno.copyFile(`${root}${path}`, `${tmp}/bin/${name}`);
    }
    const version = async (pkg: string) =>
      (await run(["dpkg-query", `--root=${root}`, "-W", "-f=${Version}", pkg], "dpkg-query")).trim();
    const versions = { containerd: await version("containerd"), runc: await version("runc") };
    await run(["dpkg", `--root=${root}`, "--purge", "containerd", "runc"], "purge containerd and runc");
    for await (const e of Deno.readDir(`${root}/var/cache/apt/archives`)) {
      if (e.name.endsWith(".deb")) await Deno.remove(`${root}/var/cache/apt/archives/${e.name}`);
    }
    await Deno.writeTextFile(`${tmp}/versions.json`, JSON.stringify(versions) + "\n");
    await Deno.rename(tmp, dir).catch(async (err) => {
      // Another run finished the same entry first: use it.
      if (!(await Deno.stat(`${dir}/versions.json`).then(() => true, () => false))) throw err;
      await Deno.remove(tmp, { recursive: true });
    });
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
  return await meta(true, (performance.now() - started) / 1000);
}

/** Copies the cached root to `to` (preserving owners, modes, links and special files). */
export async function copyRoot(from: string, to: string): Promise<void> {
  await run(["cp", "-a", "--reflink=auto", from, to], "copy the cached root", 5 * 60_000);
}
