/**
 * What every `eksnode ami` step receives: the bake inputs (Kubernetes version, arch, region,
 * package manager, mirror), the versions data with the bake config's overrides applied, and the
 * resolution of an artifact name into a verified download source.
 */
import {
  type Arch,
  ARTIFACT_NAMES,
  type ArtifactName,
  githubArtifact,
  kubernetesArtifact,
  type KubernetesComponent,
  type KubernetesRelease,
  mirrorUrl,
  type ResolvedArtifact,
  type Versions,
} from "../../assets/versions.ts";
import {
  type DownloadSource,
  type DownloadTuning,
  fetchPublishedChecksum,
  transportProblem,
} from "../../lib/download.ts";
import { ConfigError, MissingPinError } from "../../lib/errors.ts";
import type { Step, StepContext, StepDef } from "../../lib/step.ts";
import type { Leaves } from "../../eks/verify/expected_path.ts";

/** One artifact a step installs, as /etc/eks/release.json and the SBOM record it (step 33 reads every step's). */
export interface InstalledArtifact {
  /** Name in release.json (`kubelet`, `cniPlugins`, ...). */
  artifact: string;
  /** Where it came from: the upstream URL, `package runc`, `eksnode 1.2.3`. */
  source: string;
  /** Upstream version (undefined for a distribution package: the SBOM lists the package itself). */
  version?: string;
  /** Pinned SHA-256 of the download. */
  downloadSha256?: string | null;
  /** Files extracted from this archive (matched by its SHA-256 in the extract stamps). */
  archiveSha256?: string | null;
  /** Paths to hash; with `firstOf`, only the first that exists. */
  paths: string[];
  firstOf?: boolean;
  /** The directory an archive is extracted into, when it has no usual paths (named when nothing is found). */
  extractedInto?: string;
}

/**
 * A bake step as its file defines it. Besides its plan it may declare what the records of the image
 * derive from: the artifacts it installs (release.json and the SBOM, step 33) and the directories and
 * files it leaves on every image (`eksnode verify`).
 */
export interface AmiStepDef extends StepDef<AmiContext> {
  /** The artifacts this step installs, for release.json and the SBOM. */
  installs?(ctx: AmiContext): InstalledArtifact[];
  /**
   * The directories and files this step leaves on the image, with their modes, for `eksnode verify`:
   * a list, or a function of what release.json records of the bake (containerd source, AL2023 variant).
   */
  readonly leaves?: Leaves;
  /** The units this step enables on every image it runs for, for `eksnode verify`. */
  readonly enables?: readonly string[];
}

/** A numbered bake step (steps/ami/index.ts). */
export type AmiStep = AmiStepDef & Step<AmiContext>;

/**
 * The upstream source and pinned SHA-256 of a Kubernetes component from the amazon-eks S3 bucket, as
 * release.json records it (the mirror, when one is used, is not recorded).
 */
export function s3Source(
  ctx: Pick<AmiContext, "versions" | "kubernetesVersion" | "arch">,
  name: KubernetesComponent,
): Pick<InstalledArtifact, "source" | "downloadSha256"> {
  const a = kubernetesArtifact(ctx.versions, ctx.kubernetesVersion, name, ctx.arch);
  return { source: a.url, downloadSha256: a.sha256 };
}

/** Package managers the package steps know. `none` records package changes in the plan only. */
export type PackageManagerName = "dnf" | "yum" | "apt" | "none";

/** Where containerd and runc come from. */
export type ContainerdSource = "tarball" | "package";

/** Accelerated variants (AL2023's `enable_accelerator`). */
export type Accelerator = "nvidia" | "neuron";

/** Bake settings beyond versions (from the TOML bake config and flags). */
export interface BakeSettings {
  /**
   * Run the AL2023 phase (steps 39-, docs/al2023.md): what Amazon Linux 2023's EKS image adds around the
   * worker. Implied by `accelerator` and `efa`.
   */
  al2023?: boolean;
  /** Accelerated variant: NVIDIA or Neuron drivers, units and container runtime pieces. */
  accelerator?: Accelerator;
  /** EFA: the verified EFA installer, and deeper C-states turned off. */
  efa?: boolean;
  /** The NVIDIA driver's full version (default eks/image/accelerators.ts DEFAULT_NVIDIA_DRIVER). */
  nvidiaDriverVersion?: string;
  containerdSource: ContainerdSource;
  /** Keep swap on (kubelet swap support); default false: swap is turned off. */
  keepSwap: boolean;
  /** Use FIPS ECR endpoints where the partition has them. */
  fips: boolean;
  /** Extra image references to cache in containerd's k8s.io namespace. */
  extraImages: string[];
  /** Skip image caching (no containerd at bake time). */
  cacheImages: boolean;
  /** Base image description written into /etc/eks/release (e.g. the source AMI id). */
  baseImage?: string;
  /**
   * containerd socket to cache images into (bake `containerd_address`); default
   * /run/containerd/containerd.sock when --root is /, none otherwise.
   */
  containerdAddress?: string;
  /**
   * Registry host to pull cached images from instead of EKS's ECR (bake `image_registry`, e.g.
   * "127.0.0.1:5000" or a pull-through cache); no ECR login then. Images are still tagged with
   * their ECR names, so a node finds them under the names it asks for.
   */
  imageRegistry?: string;
  /** Pull over plain HTTP (bake `plain_http`, for a loopback or air-gap registry). */
  plainHttp?: boolean;
  /** Regions whose ECR names cached images are tagged with (bake `image_tag_regions`); default: the partition's. */
  imageTagRegions?: string[];
}

/** True when a bake runs the AL2023 phase (steps 39-54): `al2023`, or a variant that implies it. */
export function runsAl2023Phase(bake: Pick<BakeSettings, "al2023" | "accelerator" | "efa">): boolean {
  return bake.al2023 === true || bake.accelerator !== undefined || bake.efa === true;
}

/** A resolved artifact ready for download: the source plus how its checksum was established. */
export interface ArtifactSource extends DownloadSource {
  name: string;
  /** `pinned` from the versions data / bake config, or `published` (upstream checksum file, not pinned). */
  pinnedBy: "pinned" | "published";
}

/** The `eksnode ami` step context. */
export interface AmiContext extends StepContext {
  versions: Versions;
  kubernetesVersion: string;
  release: KubernetesRelease & { minor: string };
  arch: Arch;
  region: string;
  mirror?: string;
  packageManager: PackageManagerName;
  /** File to install as /usr/bin/eksnode (the compiled binary itself, or --self). */
  selfPath?: string;
  /** Why selfPath is missing, when it is. */
  selfMissingReason?: string;
  bake: BakeSettings;
  /** eksnode version written into the release file. */
  eksnodeVersion: string;
  /** Build time (SOURCE_DATE_EPOCH when set, for reproducible images). */
  buildTime: Date;
  /** Resolves an artifact to a download source (mirror applied, checksum established). */
  artifact(name: KubernetesComponent | ArtifactName): Promise<ArtifactSource>;
  /** Every step of this bake's process (whichever run): what the image's records derive from. */
  steps: readonly AmiStepDef[];
}

/**
 * Resolves `name` from the versions data into a download source; see {@link AmiContext.artifact}. An
 * unpinned artifact with a published checksum file is verified against that file, which is fetched
 * here; with `offline` (a dry run) nothing is fetched and an unpinned artifact is a
 * {@link MissingPinError} naming the bake config key to set.
 */
export async function resolveArtifact(
  v: Versions,
  kubernetesVersion: string,
  name: KubernetesComponent | ArtifactName,
  arch: Arch,
  mirror: string | undefined,
  download: DownloadTuning = {},
  opts: { offline?: boolean } = {},
): Promise<ArtifactSource> {
  const a: ResolvedArtifact = (ARTIFACT_NAMES as readonly string[]).includes(name)
    ? githubArtifact(v, name as ArtifactName, arch)
    : kubernetesArtifact(v, kubernetesVersion, name as KubernetesComponent, arch);
  const url = mirror ? mirrorUrl(a.url, mirror) : a.url;
  const checksumUrl = a.checksumUrl ? (mirror ? mirrorUrl(a.checksumUrl, mirror) : a.checksumUrl) : undefined;
  for (const u of [url, checksumUrl]) {
    const problem = u === undefined ? undefined : transportProblem(u, download.plainHttpOrigins);
    if (problem) {
      throw new ConfigError(
        `${a.name} (${arch}) URL ${u}: ${problem}`,
        "artifact URLs (bake config [versions] overrides included) must be https://, or come from a mirror",
      );
    }
  }
  if (a.sha256) return { name: a.name, url, sha256: a.sha256, checksumUrl, pinnedBy: "pinned" };
  const key = `versions.${a.path}`;
  if (!checksumUrl) {
    throw new MissingPinError(
      `${a.name} (${arch}) has no pinned SHA-256 and upstream publishes no checksum file (${a.path} is null)`,
      key,
    );
  }
  if (opts.offline) {
    throw new MissingPinError(
      `${a.name} (${arch}) has no pinned SHA-256 (a bake would trust the published ${
        checksumUrl.split("/").at(-1)
      }; a dry run fetches nothing)`,
      key,
    );
  }
  // Unpinned but published (the amazon-eks bucket's .sha256 files): the published value becomes the
  // expected checksum, exactly what install-worker.sh verifies; the plan says it is not pinned.
  const published = await fetchPublishedChecksum(checksumUrl, url, download);
  if (!published) {
    throw new MissingPinError(
      `${a.name} (${arch}) is unpinned and its checksum file ${checksumUrl} holds no SHA-256`,
      key,
    );
  }
  return { name: a.name, url, sha256: published, pinnedBy: "published" };
}
