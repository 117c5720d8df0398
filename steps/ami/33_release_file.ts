/**
 * /etc/eks/release, a shell-sourceable KEY='value' file like amazon-eks-ami's (BASE_AMI_ID,
 * BUILD_TIME, BUILD_KERNEL, ARCH: templates/al2/provisioners/install-worker.sh @
 * 0061ba5d332785485ae6622a4ebc2b9a8351bada, "AMI Metadata") with the Kubernetes and eksnode versions,
 * and /etc/eks/release.json: every installed binary with the SHA-256 of its bytes on disk and its source,
 * the manifest `eksnode verify` checks, and /etc/eks/sbom.cdx.json: the same artifacts with versions,
 * upstream URLs, pinned download checksums and licences, plus the distribution packages of the image's
 * package database, as a CycloneDX document (eks/image/sbom.ts, docs/sbom.md). The packages are final
 * here: no later step installs one.
 *
 * Build time is ctx.buildTime (SOURCE_DATE_EPOCH when set). Without SOURCE_DATE_EPOCH a rebake that
 * finds everything else unchanged keeps the recorded build time, so a second run changes nothing.
 */
import { createHash } from "node:crypto";
import { type Arch, versionsDigest } from "../../assets/versions.ts";
import { RELEASE_JSON_PATH } from "../../eks/paths/node.ts";
import { file, modeString, note } from "../../lib/changes.ts";
import { sha256File } from "../../lib/download.ts";
import { ConfigError, ContainmentError, hasControlCharacter } from "../../lib/errors.ts";
import type { Host } from "../../lib/host.ts";
import type { ManifestFile } from "../../lib/manifest.ts";
import { byCodeUnits } from "../../lib/order.ts";
import type { Change } from "../../lib/step.ts";
import { type AmiContext, type AmiStepDef, type InstalledArtifact, runsAl2023Phase } from "./context.ts";
import { type Al2023Variant, DEFAULT_NVIDIA_DRIVER } from "../../eks/image/accelerators.ts";
import { cachedImageNames } from "./image_cache.ts";
import { RELEASE_PATH } from "../../eks/paths/node.ts";
import { renderSbom, SBOM_PATH, type SbomArtifact } from "../../eks/image/sbom.ts";
import { installedPackages } from "../../lib/installed_packages.ts";
import { expectFile } from "../../eks/verify/expected_path.ts";

/** The JSON manifest `eksnode verify` reads (defined beside the other node paths, for `verify`). */
export { RELEASE_JSON_PATH };
/** Where lib/changes.ts `extract` keeps its stamps. */
const STAMP_DIR = "/var/lib/eksnode/extracted";

/** Content of /etc/eks/release.json. */
export interface ReleaseManifest {
  schema: "eksnode.release/v1";
  buildTime: string;
  baseImage: string | null;
  kernel: string;
  arch: Arch;
  kubernetesVersion: string;
  kubernetesBuildDate: string;
  eksnodeVersion: string;
  /** SHA-256 of the versions data used (embedded + bake config overrides). */
  versionsSha256: string;
  containerdSource: string;
  mirror?: string;
  artifacts: ManifestFile[];
  /** Image names steps 19-20 cached in containerd; absent when the bake cached none. */
  cachedImages?: string[];
  /** The AL2023 phase's variant, when the bake runs it (steps 39-54): what `eksnode verify` expects. */
  al2023?: Al2023Variant;
}

/**
 * Quotes a value for a shell-sourceable file: single quotes, `'` written as `'\''`. Control characters
 * (a newline would start a new `KEY=` line for readers that go line by line, as eksnode init does) are
 * refused.
 */
export function shellValue(v: string, key = "value"): string {
  if (hasControlCharacter(v)) {
    throw new ConfigError(
      `${key} for /etc/eks/release holds a control character: ${JSON.stringify(v)}`,
      "release values are one line of printable text",
    );
  }
  return `'${v.replaceAll("'", `'\\''`)}'`;
}

/** Renders /etc/eks/release from the manifest and the SHA-256 of release.json's text. */
export function renderRelease(
  m: ReleaseManifest,
  manifestSha256: string,
  versions: Record<string, string>,
): string {
  const pairs: [string, string][] = [
    ["BASE_AMI_ID", m.baseImage ?? ""],
    ["BUILD_TIME", m.buildTime],
    ["BUILD_KERNEL", m.kernel],
    ["ARCH", m.arch],
    ["KUBERNETES_VERSION", m.kubernetesVersion],
    ["KUBERNETES_BUILD_DATE", m.kubernetesBuildDate],
    ["EKSNODE_VERSION", m.eksnodeVersion],
    ...Object.entries(versions),
    ["RELEASE_MANIFEST", RELEASE_JSON_PATH],
    ["RELEASE_MANIFEST_SHA256", manifestSha256],
  ];
  return [
    "# /etc/eks/release: written by `eksnode ami` (step 33); shell-sourceable.",
    `# Installed binaries and their SHA-256 are listed in ${RELEASE_JSON_PATH}; check them with \`eksnode verify\`.`,
    ...pairs.map(([k, v]) => `${k}=${shellValue(v, k)}`),
    "",
  ].join("\n");
}

/** Orders kernel release strings by their numeric parts (6.1.10 after 6.1.9). */
export function compareKernelVersions(a: string, b: string): number {
  const pa = a.split(/[^0-9]+/).filter(Boolean).map(Number);
  const pb = b.split(/[^0-9]+/).filter(Boolean).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return byCodeUnits(a, b);
}

/**
 * The image's kernel: the running kernel's release (what `uname -r` prints, read without a subprocess)
 * on the running system; under another root, the newest /lib/modules/*.
 */
export async function buildKernel(host: Host): Promise<string> {
  if (!host.isSystemRoot) {
    for (const dir of ["/usr/lib/modules", "/lib/modules"]) {
      let names: string[] | undefined;
      try {
        names = await host.readDir(dir);
      } catch (err) {
        if (err instanceof ContainmentError) continue; // e.g. /lib -> /usr/lib as an absolute symlink
        throw err;
      }
      if (names?.length) return names.sort(compareKernelVersions).at(-1)!;
    }
  }
  return host.kernelRelease();
}

interface Stamp {
  archiveSha256: string;
  files: { path: string }[];
}

async function readStamps(host: Host): Promise<Stamp[]> {
  const out: Stamp[] = [];
  for (const name of (await host.readDir(STAMP_DIR)) ?? []) {
    if (!name.endsWith(".json")) continue;
    try {
      const s = JSON.parse((await host.readText(`${STAMP_DIR}/${name}`)) ?? "") as Stamp;
      if (typeof s.archiveSha256 === "string" && Array.isArray(s.files)) out.push(s);
    } catch {
      // An unreadable stamp only means the files it listed are looked for at their usual paths.
    }
  }
  return out;
}

/** The artifacts this bake installs: every step's declaration (AmiStepDef `installs`), in step order. */
function wantedArtifacts(ctx: AmiContext): InstalledArtifact[] {
  return ctx.steps.flatMap((s) => s.installs?.(ctx) ?? []);
}

/**
 * Every installed binary found under the root with the SHA-256 of its bytes, sorted by path, plus
 * notes for artifacts not found (expected in a dry run, before the installing steps ran).
 */
export async function installedArtifacts(
  ctx: AmiContext,
): Promise<{ files: ManifestFile[]; missing: string[] }> {
  const { host } = ctx;
  const stamps = await readStamps(host);
  const files = new Map<string, ManifestFile>();
  const missing: string[] = [];
  for (const w of wantedArtifacts(ctx)) {
    let paths = w.paths;
    const stamp = w.archiveSha256 ? stamps.find((s) => s.archiveSha256 === w.archiveSha256) : undefined;
    if (stamp) paths = stamp.files.map((f) => f.path);
    let found = 0;
    for (const path of paths) {
      const sha256 = await sha256File(host, path);
      if (sha256 === undefined) continue;
      // The mode the installing step gave it, so verify checks it without a list of its own.
      const mode = modeString((await host.stat(path))!.mode);
      files.set(path, { path, sha256, source: w.source, artifact: w.artifact, mode });
      found++;
      if (w.firstOf) break;
    }
    if (found === 0) {
      missing.push(
        w.paths.length
          ? `${w.artifact} (${w.paths[0]})`
          : `${w.artifact} (nothing extracted into ${w.extractedInto})`,
      );
    }
  }
  return { files: [...files.values()].sort((a, b) => byCodeUnits(a.path, b.path)), missing };
}

function withoutBuildTime(m: ReleaseManifest): string {
  return JSON.stringify({ ...m, buildTime: "" });
}

/** Builds the manifest for this bake (reading the files on disk and the previous manifest). */
export async function releaseManifest(
  ctx: AmiContext,
): Promise<{ manifest: ReleaseManifest; missing: string[] }> {
  const { host } = ctx;
  const { files, missing } = await installedArtifacts(ctx);
  const manifest: ReleaseManifest = {
    schema: "eksnode.release/v1",
    buildTime: ctx.buildTime.toISOString(),
    baseImage: ctx.bake.baseImage ?? null,
    kernel: await buildKernel(host),
    arch: ctx.arch,
    kubernetesVersion: ctx.release.kubelet.version,
    kubernetesBuildDate: ctx.release.kubelet.buildDate,
    eksnodeVersion: ctx.eksnodeVersion,
    versionsSha256: versionsDigest(ctx.versions),
    containerdSource: ctx.bake.containerdSource,
    ...(ctx.mirror ? { mirror: ctx.mirror } : {}),
    artifacts: files,
  };
  const images = await cachedImageNames(ctx);
  if (images) manifest.cachedImages = images;
  const b = ctx.bake;
  if (runsAl2023Phase(b)) {
    manifest.al2023 = {
      efa: b.efa === true,
      ...(b.fips ? { fips: true } : {}),
      ...(b.accelerator ? { accelerator: b.accelerator } : {}),
      ...(b.accelerator === "nvidia"
        ? { nvidiaDriver: b.nvidiaDriverVersion ?? DEFAULT_NVIDIA_DRIVER.version }
        : {}),
    };
  }
  if (host.env.SOURCE_DATE_EPOCH === undefined) {
    try {
      const prev = JSON.parse((await host.readText(RELEASE_JSON_PATH)) ?? "null") as ReleaseManifest | null;
      if (
        prev && typeof prev.buildTime === "string" && withoutBuildTime(prev) === withoutBuildTime(manifest)
      ) {
        manifest.buildTime = prev.buildTime;
      }
    } catch {
      // A previous manifest that does not parse is simply replaced.
    }
  }
  return { manifest, missing };
}

/** Write /etc/eks/release, /etc/eks/release.json and the SBOM /etc/eks/sbom.cdx.json. */
export const step: AmiStepDef = {
  title: "Write /etc/eks/release and the artifact manifest release.json",
  group: "Kubernetes/EKS",
  leaves: [expectFile(RELEASE_JSON_PATH), expectFile(RELEASE_PATH), expectFile(SBOM_PATH)],
  async plan(ctx) {
    const { manifest, missing } = await releaseManifest(ctx);
    const json = JSON.stringify(manifest, null, 2) + "\n";
    const digest = createHash("sha256").update(json).digest("hex");
    const a = ctx.versions.artifacts;
    const text = renderRelease(manifest, digest, {
      CONTAINERD_VERSION: a.containerd.version,
      RUNC_VERSION: a.runc.version,
      CNI_PLUGIN_VERSION: a.cniPlugins.version,
    });
    const changes: Change[] = [];
    if (missing.length) {
      const why = ctx.dryRun
        ? " (a dry run installs nothing: the real run lists what earlier steps install)"
        : "";
      changes.push(note(`not in the manifest, not found on disk${why}: ${missing.join(", ")}`));
    }
    changes.push(
      file(RELEASE_JSON_PATH, json, { mode: 0o644 }),
      file(RELEASE_PATH, text, { mode: 0o644 }),
      file(SBOM_PATH, await imageSbom(ctx, manifest), { mode: 0o644 }),
    );
    return changes;
  },
};

/** The image's /etc/os-release ID and VERSION_ID, when it has them. */
async function distro(host: Host): Promise<{ id: string; versionId?: string } | undefined> {
  const text = (await host.readText("/etc/os-release")) ?? (await host.readText("/usr/lib/os-release"));
  const field = (k: string) => new RegExp(`^${k}=["']?([^"'\\n]*)["']?$`, "m").exec(text ?? "")?.[1];
  const id = field("ID");
  return id ? { id, versionId: field("VERSION_ID") } : undefined;
}

/** The CycloneDX SBOM of this bake: release.json's artifacts, grouped, and the installed packages. */
export async function imageSbom(ctx: AmiContext, manifest: ReleaseManifest): Promise<string> {
  const artifacts: SbomArtifact[] = [];
  for (const w of wantedArtifacts(ctx)) {
    const files = manifest.artifacts.filter((f) => f.artifact === w.artifact);
    if (!files.length) continue;
    artifacts.push({
      artifact: w.artifact,
      source: w.source,
      ...(w.version ? { version: w.version } : {}),
      ...(w.downloadSha256 ? { downloadSha256: w.downloadSha256 } : {}),
      files,
    });
  }
  const { database, packages } = await installedPackages(ctx.host);
  return renderSbom({
    timestamp: manifest.buildTime,
    eksnodeVersion: manifest.eksnodeVersion,
    kubernetesVersion: manifest.kubernetesVersion,
    arch: manifest.arch,
    baseImage: manifest.baseImage,
    distro: await distro(ctx.host),
    artifacts,
    packageDatabase: database,
    packages,
  });
}
