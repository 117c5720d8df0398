/**
 * The image's software bill of materials: a CycloneDX 1.6 JSON document (`/etc/eks/sbom.cdx.json`,
 * written by `eksnode ami` step 33 beside release.json) of every artifact the bake installed — name,
 * version, upstream URL, the pinned SHA-256 of the download, licence, and each installed file with the
 * SHA-256 of its bytes — and of the distribution packages in the image's package database.
 *
 * Built with @cyclonedx/cyclonedx-library (the OWASP CycloneDX project's own), imported only when a
 * document is rendered so the CLI starts without it. The output is a function of its input: lists are
 * sorted, every bom-ref is derived from what it names, the timestamp is the bake's build time
 * (SOURCE_DATE_EPOCH) and the serial number is a UUID made from the SHA-256 of the rest of the document.
 */
import { createHash } from "node:crypto";
import { ConfigError } from "../../lib/errors.ts";
import type { InstalledPackage, PackageDatabase } from "../../lib/installed_packages.ts";
import type { ManifestFile } from "../../lib/manifest.ts";
import { SBOM_PATH } from "../paths/node.ts";

export { SBOM_PATH };

/** The CycloneDX specification version written. */
export const SBOM_SPEC_VERSION = "1.6";

/**
 * Licences of the downloaded artifacts (SPDX ids), from each project's LICENSE file: kubernetes/kubernetes
 * (kubelet), containerd/containerd, opencontainers/runc, containernetworking/plugins,
 * kubernetes-sigs/aws-iam-authenticator, kubernetes/cloud-provider-aws (ecr-credential-provider).
 */
export const ARTIFACT_LICENCES: Readonly<Record<string, string>> = {
  kubelet: "Apache-2.0",
  containerd: "Apache-2.0",
  runc: "Apache-2.0",
  cniPlugins: "Apache-2.0",
  awsIamAuthenticator: "Apache-2.0",
  ecrCredentialProvider: "Apache-2.0",
};

/** Upstream names of release.json's artifact keys. */
export const ARTIFACT_NAMES: Readonly<Record<string, string>> = {
  eksnode: "eksnode",
  kubelet: "kubelet",
  containerd: "containerd",
  runc: "runc",
  cniPlugins: "cni-plugins",
  awsIamAuthenticator: "aws-iam-authenticator",
  ecrCredentialProvider: "ecr-credential-provider",
};

/** One installed artifact with the files it put on disk. */
export interface SbomArtifact {
  /** release.json's key: kubelet, cniPlugins, ... */
  artifact: string;
  version?: string;
  /** Upstream URL, or a description (`package runc`, `eksnode 0.1.0`). */
  source: string;
  /** Pinned SHA-256 of what was downloaded (the binary, or the archive the files came from). */
  downloadSha256?: string;
  files: ManifestFile[];
}

/** What the document describes. */
export interface SbomInput {
  /** ISO time: the bake's build time. */
  timestamp: string;
  eksnodeVersion: string;
  kubernetesVersion: string;
  arch: string;
  baseImage: string | null;
  /** /etc/os-release ID and VERSION_ID of the image, when it has one. */
  distro?: { id: string; versionId?: string };
  artifacts: SbomArtifact[];
  packageDatabase: PackageDatabase;
  packages: InstalledPackage[];
}

const PROPERTY = (name: string) => `eksnode:${name}`;

/** A version-5-shaped UUID URN from a SHA-256 (the form CycloneDX's serialNumber requires). */
export function uuidUrn(sha256hex: string): string {
  const h = sha256hex.slice(0, 32).split("");
  h[12] = "5";
  h[16] = "89ab"[parseInt(h[16], 16) & 3];
  const s = h.join("");
  return `urn:uuid:${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/**
 * The exports of a CommonJS module as `deno run` gives them (named) also in the bundle, where the
 * bundler's interop hands over only a `default` holding them.
 */
function commonJs<T>(mod: T): T {
  const m = mod as Record<string, unknown>;
  const keys = Object.keys(m).filter((k) => k !== "__esModule");
  return keys.length === 1 && keys[0] === "default" && typeof m.default === "object" && m.default !== null
    ? m.default as T
    : mod;
}

/** Renders the document (JSON text ending in a newline). */
export async function renderSbom(input: SbomInput): Promise<string> {
  // The parts needed, not the package's index: that one also loads the validators (and ajv, which
  // prints a deprecation warning under Deno).
  const [M, Enums, Serialize, Spec, { PackageURL }] = await Promise.all([
    import("@cyclonedx/cyclonedx-library/Models").then(commonJs),
    import("@cyclonedx/cyclonedx-library/Enums").then(commonJs),
    import("@cyclonedx/cyclonedx-library/Serialize").then(commonJs),
    import("@cyclonedx/cyclonedx-library/Spec").then(commonJs),
    import("packageurl-js").then(commonJs),
  ]);
  const { ComponentType, HashAlgorithm, ExternalReferenceType } = Enums;
  const bom = new M.Bom();
  const prop = (name: string, value: string) => new M.Property(PROPERTY(name), value);

  bom.metadata.timestamp = new Date(input.timestamp);
  bom.metadata.tools.components.add(
    new M.Component(ComponentType.Application, "eksnode", {
      version: input.eksnodeVersion,
      bomRef: "tool:eksnode",
    }),
  );
  const image = new M.Component(ComponentType.OperatingSystem, "eks-node-image", {
    version: input.kubernetesVersion,
    bomRef: "image",
    description: `EKS worker node image for Kubernetes ${input.kubernetesVersion} baked by eksnode`,
  });
  image.properties.add(prop("arch", input.arch));
  if (input.baseImage) image.properties.add(prop("baseImage", input.baseImage));
  if (input.distro) {
    image.properties.add(prop("distro", [input.distro.id, input.distro.versionId].filter(Boolean).join("-")));
  }
  image.properties.add(prop("packageDatabase", input.packageDatabase));
  bom.metadata.component = image;

  for (const a of input.artifacts) {
    const name = ARTIFACT_NAMES[a.artifact] ?? a.artifact;
    const isUrl = /^https?:\/\//.test(a.source);
    const c = new M.Component(ComponentType.Application, name, {
      version: a.version,
      bomRef: `artifact:${a.artifact}`,
      purl: new PackageURL(
        "generic",
        undefined,
        name,
        a.version,
        isUrl ? { download_url: a.source } : undefined,
      ).toString(),
    });
    c.properties.add(prop("artifact", a.artifact));
    if (!isUrl) c.properties.add(prop("source", a.source));
    else c.externalReferences.add(new M.ExternalReference(a.source, ExternalReferenceType.Distribution));
    if (a.downloadSha256) c.hashes.set(HashAlgorithm["SHA-256"], a.downloadSha256);
    const licence = ARTIFACT_LICENCES[a.artifact];
    if (licence) c.licenses.add(new M.SpdxLicense(licence));
    for (const f of a.files) {
      const file = new M.Component(ComponentType.File, f.path, { bomRef: `file:${f.path}` });
      file.hashes.set(HashAlgorithm["SHA-256"], f.sha256);
      c.components.add(file);
    }
    bom.components.add(c);
  }

  const type = input.packageDatabase === "rpm" ? "rpm" : "deb";
  const distro = input.distro
    ? [input.distro.id, input.distro.versionId].filter(Boolean).join("-")
    : undefined;
  for (const p of input.packages) {
    // purl's rpm type carries the epoch as a qualifier, not in the version (purl-spec PURL-TYPES.rst, rpm);
    // deb keeps dpkg's full version, epoch included.
    const epoch = type === "rpm" ? /^(\d+):/.exec(p.version)?.[1] : undefined;
    const purl = new PackageURL(
      type,
      input.distro?.id,
      p.name,
      epoch ? p.version.slice(epoch.length + 1) : p.version,
      {
        arch: p.arch,
        ...(epoch ? { epoch } : {}),
        ...(distro ? { distro } : {}),
      },
    );
    const c = new M.Component(ComponentType.Library, p.name, {
      version: p.version,
      bomRef: purl.toString(),
      purl: purl.toString(),
    });
    if (p.licence) c.licenses.add(new M.NamedLicense(p.licence));
    c.properties.add(prop("packageDatabase", input.packageDatabase));
    bom.components.add(c);
  }

  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  const text = () => serializer.serialize(bom, { sortLists: true, space: 2 }) + "\n";
  bom.serialNumber = uuidUrn(createHash("sha256").update(text()).digest("hex"));
  return text();
}

/** One file the SBOM lists, with its artifact. */
export interface SbomFile {
  path: string;
  sha256: string;
  artifact: string;
}

/**
 * The installed files an SBOM lists (nested `file` components of the artifacts, with their SHA-256);
 * anything malformed is a ConfigError naming `where`.
 */
export function sbomFiles(text: string, where: string = SBOM_PATH): SbomFile[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      `${where} is not valid JSON: ${(err as Error).message}`,
      "rebake, or restore it from the image",
    );
  }
  type C = {
    type?: string;
    name?: string;
    hashes?: { alg?: string; content?: string }[];
    components?: C[];
    properties?: { name?: string; value?: string }[];
  };
  const d = doc as { bomFormat?: string; components?: C[] };
  if (d?.bomFormat !== "CycloneDX" || !Array.isArray(d.components)) {
    throw new ConfigError(`${where} is not a CycloneDX document with components`, "rebake to write it again");
  }
  const out: SbomFile[] = [];
  for (const a of d.components) {
    const artifact = a.properties?.find((p) => p.name === PROPERTY("artifact"))?.value;
    if (artifact === undefined) continue;
    for (const f of a.components ?? []) {
      const sha256 = f.hashes?.find((h) => h.alg === "SHA-256")?.content;
      if (f.type !== "file" || !f.name?.startsWith("/") || !sha256) {
        throw new ConfigError(
          `${where}: a file of ${artifact} has no path or no SHA-256`,
          "rebake to write it again",
        );
      }
      out.push({ path: f.name, sha256, artifact });
    }
  }
  return out;
}
