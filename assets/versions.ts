/**
 * The pinned versions and checksums `eksnode ami` installs, embedded from versions.json and
 * validated when this module loads. A bake config may override any value ({@link applyOverrides});
 * the result is validated again, so a bad override fails before anything is downloaded.
 *
 * A `null` sha256 means no public source gave that checksum: the artifact is unpinned, and
 * {@link requirePinned} refuses it until a bake config pins it (see {@link unpinnedArtifacts}).
 */
import { createHash } from "node:crypto";
import * as z from "../lib/zod.ts";
import { canonicalJson } from "../lib/canonical_json.ts";
import { ConfigError } from "../lib/errors.ts";
import raw from "./versions.json" with { type: "json" };

/** Machine architecture as `uname -m` prints it. */
export type Arch = "x86_64" | "aarch64";
/** Kubernetes node binaries kept per Kubernetes version in the amazon-eks S3 bucket. */
export type KubernetesComponent = "kubelet" | "awsIamAuthenticator" | "ecrCredentialProvider";
/** Artifacts downloaded from GitHub releases, one version for every Kubernetes version. */
export type CoreArtifactName = "containerd" | "runc" | "cniPlugins";
/** Downloads of the AL2023 phase (steps 39-): the SOCI snapshotter and the EFA installer. */
export type Al2023ArtifactName = "sociSnapshotter" | "efaInstaller";
/** Every artifact pinned once for all Kubernetes versions (`artifacts` of the versions data). */
export type ArtifactName = CoreArtifactName | Al2023ArtifactName;
/** The names of {@link ArtifactName}, in the order of the versions data. */
export const ARTIFACT_NAMES: readonly ArtifactName[] = [
  "containerd",
  "runc",
  "cniPlugins",
  "sociSnapshotter",
  "efaInstaller",
];

/** File names in the amazon-eks bucket (awslabs/amazon-eks-ami templates/al2/provisioners/install-worker.sh). */
export const S3_FILE_NAMES: Readonly<Record<KubernetesComponent, string>> = {
  kubelet: "kubelet",
  awsIamAuthenticator: "aws-iam-authenticator",
  ecrCredentialProvider: "ecr-credential-provider",
};

const EMBEDDED = "assets/versions.json";
const PLACEHOLDERS = new Set([
  "version",
  "goarch",
  "url",
  "kubernetesVersion",
  "buildDate",
  "name",
  "bucket",
  "region",
  "domain",
  "layout",
]);

const sha256 = z.string().check(z.regex(/^[0-9a-f]{64}$/, {
  error: "expected a SHA-256: 64 lowercase hex characters",
}));
const perArch = z.strictObject({ x86_64: z.nullable(sha256), aarch64: z.nullable(sha256) });
const minorKey = z.string().check(
  z.regex(/^1\.\d+$/, { error: 'expected a Kubernetes minor version like "1.32"' }),
);
const semver = z.string().check(z.regex(/^\d+\.\d+\.\d+$/, {
  error: 'expected a version like "1.32.3" (no leading v)',
}));
const nonEmpty = () => z.string().check(z.minLength(1));
const source = z.string().check(z.minLength(1, { error: "every value needs its source" }));
const buildDate = z.string().check(
  z.regex(/^\d{4}-\d{2}-\d{2}$/, { error: "expected a build date YYYY-MM-DD" }),
  z.refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
  }, { error: "not a calendar date" }),
);
const addonVersion = z.string().check(z.regex(/^v\d+\.\d+\.\d+-eksbuild\.\d+$/, {
  error: 'expected an add-on version like "v1.32.3-eksbuild.7"',
}));
const template = z.string().check(
  z.minLength(1),
  z.superRefine((s, ctx) => {
    for (const m of s.matchAll(/\{([^}]*)\}/g)) {
      if (!PLACEHOLDERS.has(m[1])) {
        ctx.addIssue({
          code: "custom",
          message: `unknown placeholder {${m[1]}} (known: ${
            [...PLACEHOLDERS].map((p) => `{${p}}`).join(" ")
          })`,
        });
      }
    }
  }),
);

const component = z.strictObject({
  version: semver,
  buildDate,
  sha256: perArch,
  checksumUrl: z.nullable(template),
  source,
});
const addon = z.strictObject({ default: z.nullable(addonVersion), latest: z.nullable(addonVersion), source });
const release = z.strictObject({
  kubelet: component,
  awsIamAuthenticator: z.nullable(component),
  ecrCredentialProvider: component,
  addons: z.strictObject({ kubeProxy: addon, vpcCni: addon }),
});
const githubArtifactSchema = z.strictObject({
  version: semver,
  url: template,
  checksumUrl: z.nullable(template),
  sha256: perArch,
  source,
});

const VersionsSchema = z.strictObject({
  $comment: z.optional(z.string()),
  defaultKubernetesVersion: minorKey,
  kubernetes: z.record(minorKey, release),
  artifacts: z.strictObject({
    containerd: githubArtifactSchema,
    runc: githubArtifactSchema,
    cniPlugins: githubArtifactSchema,
    sociSnapshotter: githubArtifactSchema,
    efaInstaller: githubArtifactSchema,
  }),
  images: z.strictObject({
    pause: z.strictObject({ repository: nonEmpty(), tag: nonEmpty(), source }),
  }),
  s3: z.strictObject({
    bucket: nonEmpty(),
    region: nonEmpty(),
    domain: nonEmpty(),
    url: template,
    layout: template,
    source,
  }),
}).check(z.superRefine((v, ctx) => {
  if (!Object.hasOwn(v.kubernetes, v.defaultKubernetesVersion)) {
    ctx.addIssue({
      code: "custom",
      path: ["defaultKubernetesVersion"],
      message: `"${v.defaultKubernetesVersion}" has no entry under kubernetes`,
    });
  }
  for (const [minor, rel] of Object.entries(v.kubernetes)) {
    for (const name of ["kubelet", "awsIamAuthenticator", "ecrCredentialProvider"] as const) {
      const c = rel[name];
      if (c && !c.version.startsWith(`${minor}.`)) {
        ctx.addIssue({
          code: "custom",
          path: ["kubernetes", minor, name, "version"],
          message: `"${c.version}" is not a ${minor}.x version`,
        });
      }
    }
  }
}));

/** The validated versions data. */
export type Versions = z.infer<typeof VersionsSchema>;
/** Everything pinned for one Kubernetes minor version. */
export type KubernetesRelease = z.infer<typeof release>;
/** A Kubernetes node binary from the amazon-eks bucket. */
export type KubernetesComponentPin = z.infer<typeof component>;
/** An artifact from a GitHub release. */
export type GithubArtifactPin = z.infer<typeof githubArtifactSchema>;

/** Any subset of {@link Versions}, nested: the shape of a bake config's `[versions]` table. */
export type DeepPartial<T> = T extends readonly unknown[] ? T
  : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> }
  : T;

/** A downloadable file with the values needed to verify it. */
export interface ResolvedArtifact {
  /** Human name, e.g. "kubelet 1.32.3" or "containerd 2.1.4". */
  name: string;
  arch: Arch;
  url: string;
  /** Published checksum file next to the artifact, when upstream publishes one. */
  checksumUrl: string | null;
  /** Pinned SHA-256, or null when unpinned. */
  sha256: string | null;
  /** Where the checksum lives in the versions data, e.g. `kubernetes."1.32".kubelet.sha256.x86_64`. */
  path: string;
}

/** Renders a zod issue path the way a TOML bake config spells it: `kubernetes."1.32".kubelet`. */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(top level)";
  return path.map((seg, i) => {
    if (typeof seg === "number") return `[${seg}]`;
    const s = String(seg);
    const bare = /^[A-Za-z_$][\w$-]*$/.test(s) ? s : JSON.stringify(s);
    return i === 0 ? bare : `.${bare}`;
  }).join("");
}

/**
 * Validates versions data; `where` names its origin in the error ("assets/versions.json", "bake config").
 * @example parseVersions(JSON.parse(text), "mirror/versions.json")
 */
export function parseVersions(data: unknown, where: string): Versions {
  const result = VersionsSchema.safeParse(data);
  if (result.success) return result.data;
  const lines = result.error.issues.slice(0, 5).map((issue) => {
    const message = issue.code === "unrecognized_keys"
      ? `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`
      : issue.message;
    return `${formatPath(issue.path)}: ${message}`;
  });
  const more = result.error.issues.length > 5 ? ` (and ${result.error.issues.length - 5} more)` : "";
  throw new ConfigError(
    `invalid versions in ${where}: ${lines.join("; ")}${more}`,
    where === EMBEDDED
      ? "the embedded versions file is broken: fix assets/versions.json and rebuild eksnode"
      : "fix the [versions] table of the bake config (checksums are 64 lowercase hex characters)",
  );
}

/** The embedded, validated versions (assets/versions.json). */
export const versions: Versions = parseVersions(raw, EMBEDDED);

/** Kubernetes minor versions present in `v`, oldest first. */
export function supportedKubernetesVersions(v: Versions = versions): string[] {
  return Object.keys(v.kubernetes).sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1]));
}

/**
 * The release pinned for a Kubernetes version: "1.32", "1.32.3" or "v1.32.3".
 * A patch version must match the pinned kubelet, since its checksums belong to that build.
 * @example kubernetesRelease("1.32").kubelet.buildDate // "2025-04-17"
 */
export function kubernetesRelease(
  version: string,
  v: Versions = versions,
): KubernetesRelease & { minor: string } {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/.exec(version.trim());
  if (!m) {
    throw new ConfigError(
      `"${version}" is not a Kubernetes version`,
      `use a minor version like "1.32" or a full one like "1.32.3"`,
    );
  }
  const minor = `${Number(m[1])}.${Number(m[2])}`;
  const rel = Object.hasOwn(v.kubernetes, minor) ? v.kubernetes[minor] : undefined;
  if (!rel) {
    throw new ConfigError(
      `Kubernetes ${minor} is not in the versions data (supported: ${
        supportedKubernetesVersions(v).join(", ")
      })`,
      `pick a supported version, or add a complete [versions.kubernetes."${minor}"] table to the bake config`,
    );
  }
  if (m[3] !== undefined) {
    const full = `${minor}.${Number(m[3])}`;
    if (full !== rel.kubelet.version) {
      throw new ConfigError(
        `Kubernetes ${full} requested, but the versions data pins ${rel.kubelet.version} for ${minor}`,
        `ask for "${minor}", or override kubernetes."${minor}".kubelet (version, buildDate, sha256) in the bake config`,
      );
    }
  }
  return { minor, ...rel };
}

/** Go's name for an architecture: x86_64 → amd64, aarch64 → arm64. */
export function goarch(arch: Arch): "amd64" | "arm64" {
  if (arch === "x86_64") return "amd64";
  if (arch === "aarch64") return "arm64";
  throw new ConfigError(`unsupported architecture "${String(arch)}"`, "eksnode supports x86_64 and aarch64");
}

/**
 * Fills `{name}` placeholders in a URL template; a placeholder without a value is a ConfigError.
 * @example artifactUrl("https://x/v{version}/runc.{goarch}", { version: "1.3.3", goarch: "amd64" })
 */
export function artifactUrl(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(/\{([^}]*)\}/g, (_, key: string) => {
    if (!Object.hasOwn(vars, key)) {
      throw new ConfigError(
        `URL template "${template}" uses {${key}} but no value was given for it`,
        `known placeholders: ${[...PLACEHOLDERS].map((p) => `{${p}}`).join(" ")}`,
      );
    }
    return vars[key];
  });
}

/**
 * Maps an artifact URL onto a mirror that copies upstream files under host, then path:
 *
 *   MIRROR/<upstream host[:port]>/<upstream path>[?query]
 *
 * e.g. with MIRROR = https://mirror.internal/eks
 *   https://github.com/containerd/containerd/releases/download/v2.1.4/containerd-2.1.4-linux-amd64.tar.gz
 *   → https://mirror.internal/eks/github.com/containerd/containerd/releases/download/v2.1.4/containerd-2.1.4-linux-amd64.tar.gz
 *   https://amazon-eks.s3.us-west-2.amazonaws.com/1.32.3/2025-04-17/bin/linux/amd64/kubelet
 *   → https://mirror.internal/eks/amazon-eks.s3.us-west-2.amazonaws.com/1.32.3/2025-04-17/bin/linux/amd64/kubelet
 * Checksum files map the same way, so a mirror is filled by copying each URL to its host/path.
 */
export function mirrorUrl(url: string, mirrorBase: string): string {
  const parse = (s: string, what: string): URL => {
    try {
      return new URL(s);
    } catch {
      throw new ConfigError(`${what} "${s}" is not an absolute URL`, "use a full URL like https://host/path");
    }
  };
  const u = parse(url, "artifact URL");
  const base = parse(mirrorBase, "mirror");
  if (base.protocol !== "https:" && base.protocol !== "http:") {
    throw new ConfigError(
      `mirror "${mirrorBase}" is not an http(s) URL`,
      "use a mirror like https://mirror.internal/eks",
    );
  }
  if (base.search || base.hash) {
    throw new ConfigError(
      `mirror "${mirrorBase}" has a query or fragment`,
      "give the mirror's base path only",
    );
  }
  return `${base.href.replace(/\/+$/, "")}/${u.host}${u.pathname}${u.search}`;
}

/** A deep copy of `target` with every key of `patch` laid over it; objects merge, other values replace. */
function merge(target: unknown, patch: unknown, path: string[]): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === "__proto__" || key === "constructor" || key === "prototype") {
      throw new ConfigError(
        `invalid versions in bake config: ${formatPath([...path, key])}: reserved key`,
        "remove that key from the [versions] table",
      );
    }
    out[key] = merge(out[key], value, [...path, key]);
  }
  return out;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/**
 * Lays a bake config's `[versions]` table over `base` and validates the result; `base` is untouched.
 * Any version, checksum, URL, build date or add-on version can be replaced, and a whole
 * Kubernetes release can be added.
 * @example applyOverrides(versions, { artifacts: { runc: { version: "1.3.4", sha256: { x86_64: "…", aarch64: "…" } } } })
 */
export function applyOverrides(base: Versions, overrides: DeepPartial<Versions> | unknown): Versions {
  if (overrides === undefined) return parseVersions(structuredClone(base), "bake config");
  if (!isPlainObject(overrides)) {
    throw new ConfigError(
      "invalid versions in bake config: the [versions] overrides must be a table",
      "write overrides as [versions.…] tables, e.g. [versions.artifacts.runc]",
    );
  }
  return parseVersions(merge(base, overrides, []), "bake config");
}

export { canonicalJson };

/**
 * SHA-256 hex of the canonical JSON of `v`: records exactly which pins a bake used. (`eksnode --version`
 * computes the same for the embedded file without loading this module: cli/version.ts.)
 */
export function versionsDigest(v: Versions = versions): string {
  return createHash("sha256").update(canonicalJson(v)).digest("hex");
}

/** URL, checksum file and pinned SHA-256 of a node binary from the amazon-eks S3 bucket. */
export function kubernetesArtifact(
  v: Versions,
  kubernetesVersion: string,
  name: KubernetesComponent,
  arch: Arch,
): ResolvedArtifact {
  const rel = kubernetesRelease(kubernetesVersion, v);
  const pin = rel[name];
  if (!pin) {
    throw new ConfigError(
      `${S3_FILE_NAMES[name]} is not pinned for Kubernetes ${rel.minor}`,
      `add [versions.kubernetes."${rel.minor}".${name}] to the bake config if this AMI needs it`,
    );
  }
  const vars = {
    bucket: v.s3.bucket,
    region: v.s3.region,
    domain: v.s3.domain,
    kubernetesVersion: pin.version,
    buildDate: pin.buildDate,
    goarch: goarch(arch),
    name: S3_FILE_NAMES[name],
  };
  const url = artifactUrl(artifactUrl(v.s3.url, { ...vars, layout: v.s3.layout }), vars);
  return {
    name: `${S3_FILE_NAMES[name]} ${pin.version}`,
    arch,
    url,
    checksumUrl: pin.checksumUrl === null ? null : artifactUrl(pin.checksumUrl, { ...vars, url }),
    sha256: pin.sha256[arch],
    path: formatPath(["kubernetes", rel.minor, name, "sha256", arch]),
  };
}

/** URL, checksum file and pinned SHA-256 of one of the {@link ARTIFACT_NAMES} (containerd, runc, CNI plugins, ...). */
export function githubArtifact(v: Versions, name: ArtifactName, arch: Arch): ResolvedArtifact {
  const pin = v.artifacts[name];
  const vars = { version: pin.version, goarch: goarch(arch) };
  const url = artifactUrl(pin.url, vars);
  return {
    name: `${name} ${pin.version}`,
    arch,
    url,
    checksumUrl: pin.checksumUrl === null ? null : artifactUrl(pin.checksumUrl, { ...vars, url }),
    sha256: pin.sha256[arch],
    path: formatPath(["artifacts", name, "sha256", arch]),
  };
}

/**
 * The download source for a pinned artifact; an unpinned one is a ConfigError naming the key to set.
 * The result fits lib/download.ts DownloadSource.
 */
export function requirePinned(a: ResolvedArtifact): { url: string; sha256: string; checksumUrl?: string } {
  if (a.sha256 === null) {
    throw new ConfigError(
      `${a.name} (${a.arch}) has no pinned SHA-256 (${a.path} is null in the versions data)`,
      `pin it in the bake config: ${a.path} = "<64 lowercase hex>"`,
    );
  }
  return a.checksumUrl === null ? { url: a.url, sha256: a.sha256 } : {
    url: a.url,
    sha256: a.sha256,
    checksumUrl: a.checksumUrl,
  };
}

/** Paths of every null checksum in `v`, e.g. `kubernetes."1.32".kubelet.sha256.x86_64`. */
export function unpinnedArtifacts(v: Versions = versions): string[] {
  const out: string[] = [];
  const arches: Arch[] = ["x86_64", "aarch64"];
  for (const minor of supportedKubernetesVersions(v)) {
    const rel = v.kubernetes[minor];
    for (const name of ["kubelet", "awsIamAuthenticator", "ecrCredentialProvider"] as const) {
      const pin = rel[name];
      if (!pin) continue;
      for (const arch of arches) {
        if (pin.sha256[arch] === null) out.push(formatPath(["kubernetes", minor, name, "sha256", arch]));
      }
    }
  }
  for (const name of ARTIFACT_NAMES) {
    for (const arch of arches) {
      if (v.artifacts[name].sha256[arch] === null) out.push(formatPath(["artifacts", name, "sha256", arch]));
    }
  }
  return out;
}
