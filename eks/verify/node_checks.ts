/**
 * What `eksnode verify` checks: a baked image (`--phase ami`) or a joined node (`--phase init`) against
 * what eksnode wrote. Every check reads through the {@link Host} (so `--root` works) and ends as one row:
 * ok, FAIL or skip, with a detail naming the file, value or reason.
 *
 * - artifacts: every file of /etc/eks/release.json re-hashed (lib/manifest.ts), and release.json itself
 *   against the RELEASE_MANIFEST_SHA256 recorded in /etc/eks/release;
 * - sbom: /etc/eks/sbom.cdx.json (eks/image/sbom.ts) lists every file release.json lists with the same
 *   SHA-256 (which the artifacts check compares with the disk), and any other file it lists has the
 *   SHA-256 it records;
 * - files: the directories and files the ami (and init) steps write, with their modes (the image's as its
 *   steps declare them, `leaves`), and on a local Outposts node the API server's host pinned in /etc/hosts;
 * - sysctl: the sysctl files present and, on the running system, every key's live value in /proc/sys
 *   equal to the value the last file (in systemd-sysctl order) sets;
 * - modules: overlay and br_netfilter listed for boot and, on the running system, loaded
 *   (/proc/modules, or /sys/module for built-in modules);
 * - units: enabled, i.e. the `WantedBy=` symlink `systemctl enable` makes exists;
 * - images: the sandbox image containerd's config pins, and every image release.json says the bake
 *   cached, present in containerd's k8s.io namespace (`ctr images ls`).
 */
import { createHash } from "node:crypto";
import { type ExpectedPath, type ExpectedUnit, expectFile, type ImageFacts } from "./expected_path.ts";
import { parse as parseToml } from "smol-toml";
import { modeString } from "../../lib/changes.ts";
import { ctrArgv, K8S_NAMESPACE } from "../../lib/container_images.ts";
import type { Host } from "../../lib/host.ts";
import { checkFiles, type ManifestFile, parseManifestFiles } from "../../lib/manifest.ts";
import { apiServerHostName, HOSTS_FILE, pinnedAddresses } from "../system/api_server_hosts.ts";
import { enabledByLinks, UNIT_DIRS, unitFile } from "../../lib/systemd.ts";
import {
  RELEASE_JSON_PATH,
  RELEASE_PATH,
  SBOM_PATH,
  SYSCTL_CONF_LINK,
  SYSCTL_RESERVED_PORTS_FILE,
} from "../paths/node.ts";
import { moduleNames, MODULES_LOAD_FILE } from "../system/kernel_modules.ts";
import { findLeftovers, needsSshKeygenUnit, SSH_KEYGEN_UNIT } from "../image/hygiene.ts";
import { sbomFiles } from "../image/sbom.ts";
import { parseAl2023Variant } from "../image/al2023_expect.ts";
import { hasArgs, kernelArgs, VERSION_INFO_PATH } from "../image/al2023.ts";
import {
  CRYPTO_POLICY_CONFIG,
  fipsPolicy,
  SELINUX_RELABEL_DIRS,
  selinuxPolicy,
  selinuxRunning,
} from "../image/security.ts";
import type { Al2023Variant } from "../image/accelerators.ts";
import { BOOTSTRAP_KUBECONFIG, CONTAINERD_CONFIG } from "../paths/node.ts";

/** Which process's result is checked. */
export type Phase = "ami" | "init";
/** The outcome of one check. */
export type CheckStatus = "ok" | "fail" | "skip";

/** One row of the verify table. */
export interface CheckResult {
  group: "artifacts" | "sbom" | "files" | "hygiene" | "sysctl" | "modules" | "units" | "images";
  /** What was checked: a path, a sysctl key, a module, a unit, an image. */
  name: string;
  status: CheckStatus;
  detail: string;
}

/** The sysctl files `eksnode ami` writes (steps 15, 34, 35), in systemd-sysctl's order of application. */
export const SYSCTL_FILES: readonly string[] = [
  SYSCTL_RESERVED_PORTS_FILE,
  "/etc/sysctl.d/99-amazon.conf",
  "/etc/sysctl.d/99-kubernetes-cri.conf",
  SYSCTL_CONF_LINK,
];

export type { ExpectedPath };

/** Options of {@link runNodeChecks}. */
export interface NodeCheckOptions {
  phase: Phase;
  /**
   * The directories and files an image has, with their modes, given what release.json records of its
   * bake: what the bake's steps declare they leave (steps/ami/index.ts `imageLeaves`).
   */
  imagePaths: (image: ImageFacts) => readonly ExpectedPath[];
  /** What `eksnode init`'s steps declare they leave on the node (steps/init/index.ts `nodeLeaves`). */
  nodePaths: readonly ExpectedPath[];
  /** The units an image's bake enabled, given release.json (steps/ami/index.ts `imageUnits`). */
  imageUnits: (image: ImageFacts) => readonly string[];
  /** The units `eksnode init`'s steps enable (steps/init/index.ts `nodeUnits`). */
  nodeUnits: readonly ExpectedUnit[];
  /** containerd's socket for the image check; undefined: the default socket on `/`, none under --root. */
  containerdAddress?: string;
  /** Default socket on the running system. */
  defaultContainerdAddress: string;
}

/** Runs every check of a phase; never throws for a failed check (only for I/O errors). */
export async function runNodeChecks(host: Host, opts: NodeCheckOptions): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const manifest = await artifactChecks(host, out);
  await sbomChecks(host, manifest, out);
  await pathChecks(host, opts, manifest, out);
  await outpostHostsCheck(host, opts.phase, out);
  if (opts.phase === "ami") await hygieneChecks(host, out);
  await sysctlChecks(host, out);
  await moduleChecks(host, out);
  await unitChecks(host, opts, manifest ?? {}, out);
  await imageChecks(host, opts, manifest, out);
  return out;
}

/** What release.json says beyond the artifact list (with what decides the bake's paths and units). */
interface ManifestInfo extends ImageFacts {
  artifacts: ManifestFile[];
  /** Image names the bake cached; undefined when it cached none. */
  cachedImages?: string[];
  arch?: string;
}

async function artifactChecks(host: Host, out: CheckResult[]): Promise<ManifestInfo | undefined> {
  const text = await host.readText(RELEASE_JSON_PATH);
  if (text === undefined) {
    out.push({
      group: "artifacts",
      name: RELEASE_JSON_PATH,
      status: "fail",
      detail: "missing: `eksnode ami` writes it (step 33)",
    });
    return undefined;
  }
  let files;
  try {
    files = parseManifestFiles(text, RELEASE_JSON_PATH);
  } catch (err) {
    out.push({ group: "artifacts", name: RELEASE_JSON_PATH, status: "fail", detail: (err as Error).message });
    return undefined;
  }
  const release = await host.readText(RELEASE_PATH);
  const recorded = release === undefined
    ? undefined
    : /^RELEASE_MANIFEST_SHA256='([0-9a-f]{64})'$/m.exec(release)?.[1];
  const actual = createHash("sha256").update(text).digest("hex");
  out.push(
    recorded === undefined
      ? {
        group: "artifacts",
        name: RELEASE_JSON_PATH,
        status: "fail",
        detail: `${RELEASE_PATH} ${
          release === undefined ? "is missing" : "records no RELEASE_MANIFEST_SHA256"
        }`,
      }
      : recorded === actual
      ? {
        group: "artifacts",
        name: RELEASE_JSON_PATH,
        status: "ok",
        detail: `sha256 ${actual.slice(0, 16)}… as ${RELEASE_PATH} records`,
      }
      : {
        group: "artifacts",
        name: RELEASE_JSON_PATH,
        status: "fail",
        detail: `changed: ${RELEASE_PATH} records sha256 ${recorded}, found ${actual}`,
      },
  );
  out.push(...await hashRows(host, files));
  const data = JSON.parse(text) as {
    containerdSource?: unknown;
    cachedImages?: unknown;
    al2023?: unknown;
    arch?: unknown;
  };
  const al2023 = parseAl2023Variant(data.al2023);
  if (al2023) await versionInfoChecks(host, out);
  return {
    al2023,
    arch: typeof data.arch === "string" ? data.arch : undefined,
    artifacts: files,
    containerdSource: typeof data.containerdSource === "string" ? data.containerdSource : undefined,
    cachedImages: Array.isArray(data.cachedImages)
      ? data.cachedImages.filter((i) => typeof i === "string")
      : undefined,
  };
}

/** One `artifacts` row a file: its bytes re-hashed against the manifest's SHA-256. */
async function hashRows(host: Host, files: ManifestFile[]): Promise<CheckResult[]> {
  const problems = new Map((await checkFiles(host, files)).map((p) => [p.path, p]));
  return files.map((file): CheckResult => {
    const p = problems.get(file.path);
    return !p
      ? {
        group: "artifacts",
        name: file.path,
        status: "ok",
        detail: `${file.artifact}: sha256 ${file.sha256.slice(0, 16)}…`,
      }
      : p.problem === "missing"
      ? { group: "artifacts", name: file.path, status: "fail", detail: `${file.artifact}: missing` }
      : {
        group: "artifacts",
        name: file.path,
        status: "fail",
        detail: `${file.artifact}: changed: expected sha256 ${p.expected}, found ${p.actual}`,
      };
  });
}

/**
 * The binaries /etc/eks/version-info.json records with a SHA-256 (the AL2023 phase's, step 51) re-hashed,
 * as release.json's are.
 */
async function versionInfoChecks(host: Host, out: CheckResult[]) {
  const text = await host.readText(VERSION_INFO_PATH);
  if (text === undefined) return; // its absence is a failed row of the file checks
  let binaries: Record<string, { path?: unknown; sha256?: unknown }>;
  try {
    binaries = (JSON.parse(text) as { binaries?: typeof binaries }).binaries ?? {};
  } catch (err) {
    out.push({ group: "artifacts", name: VERSION_INFO_PATH, status: "fail", detail: (err as Error).message });
    return;
  }
  const files = Object.entries(binaries).flatMap(([artifact, b]) =>
    typeof b.path === "string" && typeof b.sha256 === "string"
      ? [{ path: b.path, sha256: b.sha256, source: VERSION_INFO_PATH, artifact }]
      : []
  );
  out.push(...await hashRows(host, files));
}

/**
 * The kernel arguments of the AL2023 phase (step 40) in GRUB_CMDLINE_LINUX of /etc/default/grub.
 */
async function kernelArgChecks(host: Host, manifest: ManifestInfo, out: CheckResult[]) {
  if (!manifest.al2023 || (manifest.arch !== "x86_64" && manifest.arch !== "aarch64")) return;
  const args = kernelArgs(manifest.arch, manifest.al2023.efa);
  if (!args.length) return;
  const grub = (await host.readText("/etc/default/grub")) ?? "";
  const line = /^GRUB_CMDLINE_LINUX=(["']?)(.*)\1$/m.exec(grub)?.[2] ?? "";
  const ok = hasArgs(line, args);
  out.push({
    group: "files",
    name: "/etc/default/grub",
    status: ok ? "ok" : "fail",
    detail: ok
      ? `GRUB_CMDLINE_LINUX has ${args.join(" ")}`
      : `GRUB_CMDLINE_LINUX lacks ${args.filter((a) => !hasArgs(line, [a])).join(" ")} (step 40)`,
  });
}

/**
 * FIPS mode and SELinux labels of the AL2023 phase (steps 53, 54): with `fips` the FIPS crypto policy;
 * where SELinux runs and the image has a policy, `matchpathcon -V` of what the relabelled directories hold
 * (configure-selinux.sh's validation): one failed row per file whose label is not the policy's.
 */
async function securityChecks(host: Host, v: Al2023Variant, out: CheckResult[]) {
  if (v.fips) {
    const ok = fipsPolicy(await host.readText(CRYPTO_POLICY_CONFIG));
    out.push({
      group: "files",
      name: CRYPTO_POLICY_CONFIG,
      status: ok ? "ok" : "fail",
      detail: ok
        ? "FIPS crypto policy"
        : "not the FIPS policy: `fips-mode-setup --enable` was not run (step 53)",
    });
  }
  if (!(await selinuxPolicy(host)) || !(await selinuxRunning(host)) || !(await host.which("matchpathcon"))) {
    return;
  }
  const paths: string[] = [];
  for (const d of SELINUX_RELABEL_DIRS) {
    for (const name of (await host.readDir(d)) ?? []) paths.push(`${d}/${name}`);
  }
  if (!paths.length) return;
  const r = await host.exec(["matchpathcon", "-V", ...paths], { allowFailure: true, timeoutMs: 120_000 });
  const wrong = r.stdout.split("\n").filter((l) => l.trim() && !/ verified\.?$/.test(l.trim()));
  for (const line of wrong) {
    out.push({
      group: "files",
      name: line.split(/\s/)[0],
      status: "fail",
      detail: `SELinux label: ${line.trim()}`,
    });
  }
  if (!wrong.length) {
    out.push({
      group: "files",
      name: "SELinux labels",
      status: "ok",
      detail: `${paths.length} files under ${SELINUX_RELABEL_DIRS.join(", ")} verified`,
    });
  }
}

/**
 * The SBOM against the disk and release.json: one failed row per file that is missing from it, missing on
 * disk or changed (naming the file); one ok row when all match.
 */
async function sbomChecks(host: Host, manifest: ManifestInfo | undefined, out: CheckResult[]) {
  const fail = (name: string, detail: string): void => {
    out.push({ group: "sbom", name, status: "fail", detail });
  };
  const text = await host.readText(SBOM_PATH);
  if (text === undefined) return fail(SBOM_PATH, "missing: `eksnode ami` writes it (step 33)");
  let files;
  try {
    files = sbomFiles(text);
  } catch (err) {
    return fail(SBOM_PATH, (err as Error).message);
  }
  const listed = new Map(files.map((f) => [f.path, f]));
  const before = out.length;
  for (const a of manifest?.artifacts ?? []) {
    const s = listed.get(a.path);
    if (!s) fail(a.path, `${a.artifact}: in ${RELEASE_JSON_PATH} but not in ${SBOM_PATH}`);
    else if (s.sha256 !== a.sha256) {
      fail(
        a.path,
        `${a.artifact}: ${SBOM_PATH} records sha256 ${s.sha256}, ${RELEASE_JSON_PATH} ${a.sha256}`,
      );
    }
  }
  // A file release.json lists with the same SHA-256 is re-hashed by the artifacts check; the others here.
  const inRelease = new Set((manifest?.artifacts ?? []).map((a) => `${a.path}\0${a.sha256}`));
  const rest = files.filter((f) => !inRelease.has(`${f.path}\0${f.sha256}`));
  for (const p of await checkFiles(host, rest.map((f) => ({ ...f, source: SBOM_PATH })))) {
    fail(
      p.path,
      p.problem === "missing"
        ? `${p.artifact}: listed in ${SBOM_PATH}, missing on disk`
        : `${p.artifact}: changed: ${SBOM_PATH} records sha256 ${p.expected}, found ${p.actual}`,
    );
  }
  if (out.length === before) {
    out.push({
      group: "sbom",
      name: SBOM_PATH,
      status: "ok",
      detail: `${files.length} files of ${
        new Set(files.map((f) => f.artifact)).size
      } artifacts match the disk`,
    });
  }
}

/**
 * A joined node of a local Outposts cluster (it has kubelet's bootstrap kubeconfig): the API server's host
 * name pinned in eksnode's block of /etc/hosts (init step 5, eks/system/api_server_hosts.ts). Without it the node
 * loses the control plane when the Outpost loses its region. An endpoint that is an address needs no pin.
 */
async function outpostHostsCheck(host: Host, phase: Phase, out: CheckResult[]) {
  if (phase !== "init") return;
  const kubeconfig = await host.readText(BOOTSTRAP_KUBECONFIG);
  const server = kubeconfig === undefined
    ? undefined
    : /^\s*server:\s*["']?([^"'\s]+)/m.exec(kubeconfig)?.[1];
  const name = server === undefined ? undefined : apiServerHostName(server);
  if (name === undefined) return;
  const pinned = pinnedAddresses((await host.readText(HOSTS_FILE)) ?? "", name);
  out.push(
    pinned.length > 0
      ? {
        group: "files",
        name: HOSTS_FILE,
        status: "ok",
        detail: `local Outposts cluster: API server ${name} pinned to ${pinned.join(", ")}`,
      }
      : {
        group: "files",
        name: HOSTS_FILE,
        status: "fail",
        detail:
          `local Outposts cluster: no eksnode block pins the API server ${name}; run eksnode init while the name resolves`,
      },
  );
}

/**
 * An image must carry nothing of the instance it was baked on (eks/image/hygiene.ts, after AL2023's
 * validate.sh): one failed row per leftover, naming it; one ok row when there is none.
 */
async function hygieneChecks(host: Host, out: CheckResult[]) {
  const leftovers = await findLeftovers(host);
  for (const l of leftovers) {
    out.push({
      group: "hygiene",
      name: l.path,
      status: "fail",
      detail: `${l.action === "empty" ? "not empty" : "present"}: ${l.why}; \`eksnode ami --hygiene\` ${
        l.action === "empty" ? "empties" : "removes"
      } it`,
    });
  }
  if (!leftovers.length) {
    out.push({ group: "hygiene", name: "build instance leftovers", status: "ok", detail: "none found" });
  }
  // Without the host keys hygiene removes, sshd only starts where something makes new ones at boot.
  if (await needsSshKeygenUnit(host)) {
    const enabled = await enabledByLinks(host, SSH_KEYGEN_UNIT);
    out.push({
      group: "hygiene",
      name: SSH_KEYGEN_UNIT,
      status: enabled ? "ok" : "fail",
      detail: enabled
        ? "enabled: makes the SSH host keys at first boot (this sshd has no sshd-keygen@.service)"
        : "not enabled: this sshd makes no host keys at boot (no sshd-keygen@.service); `eksnode ami --hygiene` installs it",
    });
  }
}

/** The expected paths of a phase, given what release.json says. */
export async function expectedPaths(
  host: Host,
  opts: Pick<NodeCheckOptions, "phase" | "imagePaths" | "nodePaths">,
  manifest: ManifestInfo | undefined,
): Promise<ExpectedPath[]> {
  const declared = [
    ...opts.imagePaths(manifest ?? {}),
    // Every installed file with the mode the bake left it (release.json `mode`).
    ...(manifest?.artifacts ?? []).flatMap((a) => a.mode ? [expectFile(a.path, parseInt(a.mode, 8))] : []),
    ...(opts.phase === "init" ? opts.nodePaths : []),
  ];
  const paths: ExpectedPath[] = [];
  for (const p of declared) {
    if (p.orInstead !== undefined && await host.exists(p.orInstead)) paths.push({ ...p, path: p.orInstead });
    else if (!p.optional || await host.exists(p.path)) paths.push(p);
  }
  return paths;
}

async function pathChecks(
  host: Host,
  opts: Pick<NodeCheckOptions, "phase" | "imagePaths" | "nodePaths">,
  manifest: ManifestInfo | undefined,
  out: CheckResult[],
) {
  if (manifest) await kernelArgChecks(host, manifest, out);
  if (manifest?.al2023) await securityChecks(host, manifest.al2023, out);
  for (const p of await expectedPaths(host, opts, manifest)) {
    const st = await host.stat(p.path);
    const want = p.mode === undefined ? "" : ` ${modeString(p.mode)}`;
    let problem: string | undefined;
    if (!st) problem = `missing (want ${p.kind}${want})`;
    else if (p.kind === "dir" ? !st.isDirectory : !st.isFile) {
      problem = `is not a ${p.kind === "dir" ? "directory" : "regular file"}`;
    } else if (p.mode !== undefined && st.mode !== p.mode) {
      problem = `mode ${modeString(st.mode)}, want ${modeString(p.mode)}`;
    }
    out.push({
      group: "files",
      name: p.path,
      status: problem ? "fail" : "ok",
      detail: problem ?? `${p.kind} ${modeString(st!.mode)}`,
    });
  }
}

/**
 * The final value of every key set by sysctl files applied in order (later files win), each with the file
 * that set it. Lines are `key = value` or `key=value`; `#` and `;` start comments; a leading `-` (ignore
 * errors) is dropped.
 * @example expectedSysctls([{ path: "a.conf", text: "vm.x = 1\n" }]).get("vm.x") // { value: "1", file: "a.conf" }
 */
export function expectedSysctls(
  files: readonly { path: string; text: string }[],
): Map<string, { value: string; file: string }> {
  const out = new Map<string, { value: string; file: string }>();
  for (const { path, text } of files) {
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (!line || line.startsWith("#") || line.startsWith(";")) continue;
      const eq = line.indexOf("=");
      if (eq < 0) continue;
      const key = line.slice(0, eq).trim().replace(/^-/, "").replaceAll("/", ".");
      out.set(key, { value: line.slice(eq + 1).trim(), file: path });
    }
  }
  return out;
}

/**
 * Whitespace-insensitive comparison of sysctl values ("32768 60999" equals "32768\t60999"). Port lists
 * compare as sets of ports: the kernel prints net.ipv4.ip_local_reserved_ports with ranges collapsed
 * ("9808,9809" reads back as "9808-9809").
 */
export function sysctlValuesEqual(a: string, b: string): boolean {
  const words = (v: string) => v.trim().split(/\s+/).join(" ");
  if (words(a) === words(b)) return true;
  const ports = (v: string): string | undefined => {
    const t = v.trim();
    if (!/^\d+(-\d+)?(\s*,\s*\d+(-\d+)?)+$/.test(t) && !/^\d+-\d+$/.test(t)) return undefined;
    const set = new Set<number>();
    for (const part of t.split(",")) {
      const [lo, hi = lo] = part.trim().split("-").map(Number);
      if (hi - lo > 65535) return undefined;
      for (let p = lo; p <= hi; p++) set.add(p);
    }
    return [...set].sort((x, y) => x - y).join(",");
  };
  const pa = ports(a);
  return pa !== undefined && pa === ports(b);
}

async function sysctlChecks(host: Host, out: CheckResult[]) {
  const files: { path: string; text: string }[] = [];
  for (const path of SYSCTL_FILES) {
    const text = await host.readText(path);
    out.push({
      group: "sysctl",
      name: path,
      status: text === undefined ? "fail" : "ok",
      detail: text === undefined ? "missing" : `${expectedSysctls([{ path, text }]).size} keys`,
    });
    if (text !== undefined) files.push({ path, text });
  }
  const expected = expectedSysctls(files);
  if (!host.isSystemRoot) {
    out.push({
      group: "sysctl",
      name: "live values",
      status: "skip",
      detail: `--root is not the running system (${expected.size} keys are applied at the image's boot)`,
    });
    return;
  }
  out.push(
    ...(await compareLiveSysctls(expected, (key) => host.readText(`/proc/sys/${key.replaceAll(".", "/")}`))),
  );
}

/**
 * Compares expected sysctl values with live ones read by `read(key)` (undefined: the key does not exist,
 * e.g. net.bridge.* before br_netfilter is loaded).
 */
export async function compareLiveSysctls(
  expected: Map<string, { value: string; file: string }>,
  read: (key: string) => Promise<string | undefined>,
): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const [key, want] of expected) {
    const live = await read(key).catch(() => undefined);
    out.push(
      live === undefined
        ? {
          group: "sysctl",
          name: key,
          status: "fail",
          detail: `not in /proc/sys (want ${want.value} from ${want.file})`,
        }
        : sysctlValuesEqual(live, want.value)
        ? { group: "sysctl", name: key, status: "ok", detail: `${want.value} (${want.file})` }
        : {
          group: "sysctl",
          name: key,
          status: "fail",
          detail: `live ${live.trim()}, ${want.file} sets ${want.value} (run sysctl --system, or reboot)`,
        },
    );
  }
  return out;
}

/** Module names loaded per /proc/modules text (first column). */
export function procModules(text: string): Set<string> {
  return new Set(text.split("\n").map((l) => l.split(" ")[0]).filter(Boolean));
}

async function moduleChecks(host: Host, out: CheckResult[]) {
  const text = await host.readText(MODULES_LOAD_FILE);
  const listed = text === undefined ? [] : moduleNames(text);
  const proc = host.isSystemRoot
    ? procModules((await host.readText("/proc/modules").catch(() => undefined)) ?? "")
    : undefined;
  for (const m of ["overlay", "br_netfilter"]) {
    if (!listed.includes(m)) {
      out.push({ group: "modules", name: m, status: "fail", detail: `not listed in ${MODULES_LOAD_FILE}` });
      continue;
    }
    if (!proc) {
      out.push({
        group: "modules",
        name: m,
        status: "skip",
        detail: `listed in ${MODULES_LOAD_FILE}; loaded state not checked: --root is not the running system`,
      });
      continue;
    }
    const loaded = proc.has(m) || (await host.exists(`/sys/module/${m}`));
    out.push({
      group: "modules",
      name: m,
      status: loaded ? "ok" : "fail",
      detail: loaded
        ? `loaded (${proc.has(m) ? "/proc/modules" : "/sys/module: built in"})`
        : `not loaded (modprobe ${m}, or reboot)`,
    });
  }
}

/** The units a phase expects enabled: the image's, and for `init` the node's (optional ones when their file is there). */
export async function expectedUnits(
  host: Host,
  opts: Pick<NodeCheckOptions, "phase" | "imageUnits" | "nodeUnits">,
  image: ImageFacts,
): Promise<string[]> {
  const units = new Set(opts.imageUnits(image));
  if (opts.phase === "init") {
    for (const u of opts.nodeUnits) if (!u.ifFile || await host.exists(u.ifFile)) units.add(u.unit);
  }
  return [...units];
}

/** The `WantedBy=` targets of a unit file's [Install] section. */
export function wantedBy(unitText: string): string[] {
  let inInstall = false;
  const out: string[] = [];
  for (const raw of unitText.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) inInstall = line === "[Install]";
    else if (inInstall && /^WantedBy\s*=/.test(line)) {
      out.push(...line.replace(/^WantedBy\s*=/, "").trim().split(/\s+/));
    }
  }
  return out.filter(Boolean);
}

async function unitChecks(
  host: Host,
  opts: Pick<NodeCheckOptions, "phase" | "imageUnits" | "nodeUnits">,
  image: ImageFacts,
  out: CheckResult[],
) {
  const units = await expectedUnits(host, opts, image);
  for (const unit of units) {
    const file = await unitFile(host, unit);
    if (!file) {
      out.push({
        group: "units",
        name: unit,
        status: "fail",
        detail: `no unit file in ${UNIT_DIRS.join(", ")}`,
      });
      continue;
    }
    const targets = wantedBy((await host.readText(file)) ?? "");
    const links = targets.map((t) => `/etc/systemd/system/${t}.wants/${unit}`);
    // The same test `eksnode ami` and `init` use to see that `systemctl enable` was done.
    out.push(
      await enabledByLinks(host, unit)
        ? { group: "units", name: unit, status: "ok", detail: `enabled (${links.join(", ")})` }
        : {
          group: "units",
          name: unit,
          status: "fail",
          detail: targets.length
            ? `not enabled: no ${links.join(" or ")}`
            : `not enabled: ${file} has no WantedBy=`,
        },
    );
  }
}

/** The sandbox image a containerd config pins (config version 3 `pinned_images.sandbox`, or version 2 `sandbox_image`). */
export function configSandboxImage(toml: string): string | undefined {
  try {
    // deno-lint-ignore no-explicit-any -- parsed TOML, walked by known keys
    const cfg = parseToml(toml) as any;
    const v3 = cfg?.plugins?.["io.containerd.cri.v1.images"]?.pinned_images?.sandbox;
    const v2 = cfg?.plugins?.["io.containerd.grpc.v1.cri"]?.sandbox_image;
    return typeof v3 === "string" ? v3 : typeof v2 === "string" ? v2 : undefined;
  } catch {
    return undefined;
  }
}

async function imageChecks(
  host: Host,
  opts: NodeCheckOptions,
  manifest: ManifestInfo | undefined,
  out: CheckResult[],
) {
  const wanted: string[] = [];
  const sandbox = configSandboxImage((await host.readText(CONTAINERD_CONFIG)) ?? "");
  // A baked image holds the sandbox image only when the bake cached images; a joined node always does
  // (sandbox-image.service pulls it before kubelet starts).
  const baked = manifest?.cachedImages;
  if (opts.phase === "init" || baked !== undefined) {
    if (sandbox) wanted.push(sandbox);
    else {out.push({
        group: "images",
        name: "sandbox image",
        status: "fail",
        detail: `${CONTAINERD_CONFIG} names none`,
      });}
  }
  for (const name of baked ?? []) if (!wanted.includes(name)) wanted.push(name);
  if (wanted.length === 0) {
    out.push({
      group: "images",
      name: "cached images",
      status: "skip",
      detail: "the bake cached no images (image caching was off or had no containerd)",
    });
    return;
  }
  const address = opts.containerdAddress ?? (host.isSystemRoot ? opts.defaultContainerdAddress : undefined);
  const skipAll = (why: string) => {
    for (const name of wanted) out.push({ group: "images", name, status: "skip", detail: why });
  };
  if (!address) return skipAll("--root is not the running system: pass --containerd-address to check images");
  const ctr = await host.which("ctr");
  if (!ctr) return skipAll("ctr not found on PATH");
  // The socket is a path on the machine running verify (like --containerd-address), not under --root.
  if (!(await Deno.stat(address).then(() => true, () => false))) {
    for (const name of wanted) {
      out.push({
        group: "images",
        name,
        status: "fail",
        detail: `containerd does not answer: no socket ${address}`,
      });
    }
    return;
  }
  const r = await host.exec(ctrArgv({ ctr, address, namespace: K8S_NAMESPACE }, "images", "ls", "-q"), {
    allowFailure: true,
    timeoutMs: 60_000,
  });
  if (r.code !== 0) {
    const why = `containerd does not answer at ${address}: ${
      r.stderr.trim().split("\n").pop() ?? `exit ${r.code}`
    }`;
    for (const name of wanted) out.push({ group: "images", name, status: "fail", detail: why });
    return;
  }
  const present = new Set(r.stdout.split("\n").map((l) => l.trim()).filter(Boolean));
  for (const name of wanted) {
    out.push({
      group: "images",
      name,
      status: present.has(name) ? "ok" : "fail",
      detail: present.has(name)
        ? `in containerd ${K8S_NAMESPACE} (${address})`
        : `not in containerd's ${K8S_NAMESPACE} namespace at ${address}`,
    });
  }
}
