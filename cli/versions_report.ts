/**
 * What `eksnode versions` reports (cli/versions.ts): the versions, download URLs and pinned SHA-256 checksums
 * embedded from assets/versions.json, with a bake config's `[versions]` overrides laid over them.
 */
import {
  type Arch,
  ARTIFACT_NAMES,
  githubArtifact,
  kubernetesArtifact,
  kubernetesRelease,
  type ResolvedArtifact,
  supportedKubernetesVersions,
  type Versions,
  versions as embedded,
  versionsDigest,
} from "../assets/versions.ts";
import { renderTable } from "./output.ts";

/** One downloadable artifact for one architecture. */
export interface VersionRow {
  /** "kubelet", "containerd", ... */
  component: string;
  /** "1.32" for Kubernetes node binaries, null for the shared artifacts. */
  kubernetes: string | null;
  version: string;
  arch: Arch;
  url: string;
  sha256: string | null;
  /** Published checksum file beside the artifact, when upstream publishes one. */
  checksumUrl: string | null;
  /** How `eksnode ami` verifies it. */
  verification: "pinned" | "published checksum" | "must be pinned in the bake config";
}

/** Everything `versions` prints. */
export interface VersionsReport {
  versionsSha256: string;
  defaultKubernetesVersion: string;
  kubernetesVersions: string[];
  artifacts: VersionRow[];
  addons: Record<string, { kubeProxy: Record<string, string | null>; vpcCni: Record<string, string | null> }>;
  pause: { repository: string; tag: string };
}

function row(component: string, kubernetes: string | null, version: string, a: ResolvedArtifact): VersionRow {
  return {
    component,
    kubernetes,
    version,
    arch: a.arch,
    url: a.url,
    sha256: a.sha256,
    checksumUrl: a.checksumUrl,
    verification: a.sha256 !== null
      ? "pinned"
      : a.checksumUrl !== null
      ? "published checksum"
      : "must be pinned in the bake config",
  };
}

/** Builds the report for some Kubernetes versions and architectures. */
export function versionsReport(
  v: Versions = embedded,
  opts: { kubernetesVersion?: string; arch?: Arch } = {},
): VersionsReport {
  const minors = opts.kubernetesVersion
    ? [kubernetesRelease(opts.kubernetesVersion, v).minor]
    : supportedKubernetesVersions(v);
  const arches: Arch[] = opts.arch ? [opts.arch] : ["x86_64", "aarch64"];
  const rows: VersionRow[] = [];
  for (const name of ARTIFACT_NAMES) {
    for (const arch of arches) {
      rows.push(row(name, null, v.artifacts[name].version, githubArtifact(v, name, arch)));
    }
  }
  const addons: VersionsReport["addons"] = {};
  for (const minor of minors) {
    const rel = v.kubernetes[minor];
    for (const name of ["kubelet", "awsIamAuthenticator", "ecrCredentialProvider"] as const) {
      const pin = rel[name];
      if (!pin) continue;
      for (const arch of arches) {
        rows.push(row(name, minor, pin.version, kubernetesArtifact(v, minor, name, arch)));
      }
    }
    addons[minor] = {
      kubeProxy: { default: rel.addons.kubeProxy.default, latest: rel.addons.kubeProxy.latest },
      vpcCni: { default: rel.addons.vpcCni.default, latest: rel.addons.vpcCni.latest },
    };
  }
  return {
    versionsSha256: versionsDigest(v),
    defaultKubernetesVersion: v.defaultKubernetesVersion,
    kubernetesVersions: minors,
    artifacts: rows,
    addons,
    pause: { repository: v.images.pause.repository, tag: v.images.pause.tag },
  };
}

/** The text rendering: a table of artifacts, then add-on versions and the pause image. */
export function renderVersions(r: VersionsReport): string {
  const table = renderTable(
    ["component", "k8s", "version", "arch", "sha256"],
    r.artifacts.map((a) => [
      a.component,
      a.kubernetes ?? "all",
      a.version,
      a.arch,
      a.sha256 ??
        (a.verification === "published checksum"
          ? `not pinned: checked against ${a.checksumUrl!.split("/").pop()} at download`
          : "not pinned: the bake config must pin it"),
    ]),
  );
  const addons = Object.entries(r.addons).map(([minor, a]) =>
    `  ${minor}: kube-proxy default ${a.kubeProxy.default ?? "-"}, latest ${a.kubeProxy.latest ?? "-"}; ` +
    `vpc-cni default ${a.vpcCni.default ?? "-"}, latest ${a.vpcCni.latest ?? "-"}`
  );
  return [
    `versions.json sha256 ${r.versionsSha256}; default Kubernetes ${r.defaultKubernetesVersion}`,
    "",
    table,
    "",
    "add-on images cached at bake time (- : resolved at bake time or not cached):",
    ...addons,
    `pause image: ${r.pause.repository}:${r.pause.tag}`,
  ].join("\n");
}
