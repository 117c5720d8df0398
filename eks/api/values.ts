/**
 * The values NodeConfig fields take, and what is wrong with a bad one: shared by the zod schema
 * (eks/api/nodeconfig.ts) and the bootstrap.sh flags (cli/bootstrap_flags.ts). No zod here, so the CLI's
 * flag tables load without the schema library.
 */
import { ConfigError, hasControlCharacter } from "../../lib/errors.ts";
import { parseCidr } from "../../lib/cidr.ts";

/** The only NodeConfig apiVersion nodeadm (and eksnode) accepts. */
export const NODECONFIG_API_VERSION = "node.eks.aws/v1alpha1";
/** The kind of a NodeConfig document. */
export const NODECONFIG_KIND = "NodeConfig";
/** MIME type of a user-data part holding NodeConfigs (nodeadm configprovider/userdata.go). */
export const NODECONFIG_MEDIA_TYPE = "application/node.eks.aws";
/** Where the API reference lives; used in hints. */
export const NODECONFIG_DOCS = "https://awslabs.github.io/amazon-eks-ami/nodeadm/doc/api/";

/** Values of `spec.instance.localStorage.strategy` (kubebuilder enum in nodeconfig_types.go). */
export const LOCAL_STORAGE_STRATEGIES = ["RAID0", "RAID10", "Mount"] as const;
/**
 * Values of `spec.instance.localStorage.disabledMounts` (kubebuilder enum in nodeconfig_types.go at
 * awslabs/amazon-eks-ami commit 81fec2e8): `/var/lib/containerd`, `/var/log/pods`,
 * `/var/lib/soci-snapshotter-grpc`.
 */
export const DISABLED_MOUNTS = ["Containerd", "PodLogs", "SOCI"] as const;
/** A `spec.instance.localStorage.disabledMounts` value. */
export type DisabledMount = (typeof DISABLED_MOUNTS)[number];

/** The result of {@link normalizeLocalStorage}: the value to validate, and what was changed in it. */
export interface NormalizedLocalStorage {
  value: unknown;
  warnings: string[];
}

/**
 * `spec.instance.localStorage` as nodeadm reads it (awslabs/amazon-eks-ami
 * nodeadm/internal/system/local_disk.go at commit 81fec2e8): the strategy is lowercased before it becomes
 * setup-local-disks' argument (`strings.ToLower(string(...Strategy))`), so `raid0` works as `RAID0` does; here
 * it becomes its canonical spelling. A `disabledMounts` value is compared exactly (a Go `switch` on
 * `DisabledMountContainerd`, `DisabledMountPodLogs`, `DisabledMountSOCI` with no default), so one nodeadm
 * does not know, `podlogs` included, is skipped: here it is dropped with a warning that names it. Anything
 * else (a strategy of no case of RAID0/RAID10/Mount, a value that is not a string) is left for the schema
 * to refuse.
 * @example normalizeLocalStorage({ strategy: "raid0" }).value // { strategy: "RAID0" }
 */
export function normalizeLocalStorage(raw: unknown): NormalizedLocalStorage {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { value: raw, warnings: [] };
  const ls = raw as Record<string, unknown>;
  const out: Record<string, unknown> = { ...ls };
  const warnings: string[] = [];
  if (typeof ls.strategy === "string") {
    const canonical = LOCAL_STORAGE_STRATEGIES.find((s) =>
      s.toLowerCase() === (ls.strategy as string).toLowerCase()
    );
    if (canonical) out.strategy = canonical;
  }
  if (Array.isArray(ls.disabledMounts)) {
    const kept: unknown[] = [];
    ls.disabledMounts.forEach((m, i) => {
      if (typeof m !== "string" || (DISABLED_MOUNTS as readonly string[]).includes(m)) {
        kept.push(m);
        return;
      }
      const near = DISABLED_MOUNTS.find((d) => d.toLowerCase() === m.toLowerCase());
      warnings.push(
        `spec.instance.localStorage.disabledMounts[${i}]: ${
          JSON.stringify(m)
        } is not a mount nodeadm knows ` +
          `(${DISABLED_MOUNTS.join(", ")}; case matters), skipped as nodeadm skips it` +
          (near ? `: did you mean ${near}?` : ""),
      );
    });
    if (kept.length > 0 || ls.disabledMounts.length === 0) out.disabledMounts = kept;
    else delete out.disabledMounts;
  }
  return { value: out, warnings };
}

/**
 * What a local storage mount directory (`localStorage.mountPath`, `setup-local-disks --dir`) may hold: it is written into unit files (`Where=`, `RequiresMountsFor=`, a
 * space-separated list) and the unit names, so only plain path characters.
 */
export const MOUNT_DIR_PATTERN = /^(\/[A-Za-z0-9._@+:-]+)+\/?$/;

/** What is wrong with a mount directory, or undefined. */
export function mountDirProblem(dir: string): string | undefined {
  if (!dir.startsWith("/")) return "must be an absolute path";
  if (dir.split("/").some((p) => p === "." || p === "..")) return "must not contain . or .. components";
  if (dir === "/" || !MOUNT_DIR_PATTERN.test(dir)) {
    return "must be a directory below / of letters, digits and . _ @ + : - (it is written into unit files)";
  }
  return undefined;
}

/** EKS cluster names: 1-100 characters, letters, digits, `-` and `_` (EKS CreateCluster API). */
export const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
/** Environment variable names systemd accepts in `Environment=`. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * Keys of `spec.instance.environment`: `default` (every service) or a systemd service name without
 * `.service` (nodeadm writes `/etc/systemd/system/KEY.service.d/environment.conf`), so no `/`.
 */
export const ENV_SERVICE = /^[A-Za-z0-9:_@.-]+$/;
/** The `spec.instance.environment` key for the whole system (systemd `DefaultEnvironment=`). */
export const ENV_DEFAULT = "default";
/**
 * Cluster ids (local clusters on Outposts: a UUID in DescribeCluster's `id`); kept to the characters an
 * id has, since it reaches kubelet's kubeconfig.
 */
export const CLUSTER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Why a cluster id is refused. */
export const CLUSTER_ID_PROBLEM = "must be a cluster id such as 7f0ee7b8-ca26-4aa4-9a0e-c8e3b2e1cb2f";
/** Why a value holding a control character is refused. */
export const CONTROL_CHARACTER_PROBLEM = "must not contain control characters (newline, tab, escape...)";

export const noControlCharacters = (v: string) => !hasControlCharacter(v);

/**
 * Returns what is wrong with a `certificateAuthority` value, or undefined when it is base64 of a
 * PEM certificate bundle (nodeadm decodes it as `[]byte`, i.e. standard base64).
 */
export function certificateAuthorityProblem(value: string): string | undefined {
  return certificateAuthorityEncodingProblem(value) ?? certificateAuthorityContentProblem(value);
}

/**
 * What nodeadm itself refuses in a `certificateAuthority` (its field is `[]byte`, decoded as standard
 * base64): PEM text or anything that is not base64 (eksnode also wants UTF-8 text). Undefined when the
 * value decodes, whatever it decodes to.
 */
export function certificateAuthorityEncodingProblem(value: string): string | undefined {
  const trimmed = value.trim();
  if (trimmed.includes("-----BEGIN")) {
    return "must be the base64 encoding of the PEM bundle, not the PEM text (e.g. `base64 -w0 ca.crt`)";
  }
  if (decodeBase64Text(trimmed) === undefined) {
    return "must be standard base64 (A-Z, a-z, 0-9, +, /, = padding)";
  }
  return undefined;
}

/**
 * What is wrong with what a base64 `certificateAuthority` decodes to: not a PEM certificate. nodeadm
 * writes such bytes to /etc/kubernetes/pki/ca.crt anyway (kubelet then cannot verify the API server), so
 * for a NodeConfig this is a warning, not an error.
 */
export function certificateAuthorityContentProblem(value: string): string | undefined {
  const pem = decodeBase64Text(value.trim());
  if (pem !== undefined && !pem.includes("-----BEGIN CERTIFICATE-----")) {
    return "decodes to something that is not a PEM certificate (no -----BEGIN CERTIFICATE----- line)";
  }
  return undefined;
}

/** Decodes a validated `certificateAuthority` to its PEM text. */
export function certificateAuthorityPem(value: string): string {
  const pem = decodeBase64Text(value.trim());
  if (pem === undefined) throw new ConfigError("spec.cluster.certificateAuthority is not base64");
  return pem;
}

function decodeBase64Text(text: string): string | undefined {
  const compact = text.replace(/[\r\n]/g, "");
  if (compact.length === 0 || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    return undefined;
  }
  try {
    const bin = atob(compact);
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

export function isCidr(value: string): boolean {
  try {
    parseCidr(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * What is wrong with a NodeConfig `apiServerEndpoint`: like {@link httpsUrlProblem}, but http:// is
 * accepted (nodeadm takes any string; its own e2e cases use `http://localhost`), with the warning of
 * {@link apiServerEndpointWarning}.
 */
export function apiServerEndpointProblem(value: string): string | undefined {
  const problem = httpsUrlProblem(value);
  return problem?.startsWith("must use https:// (got http://)") ? undefined : problem;
}

/** A warning for an endpoint {@link apiServerEndpointProblem} accepts: plain http. */
export function apiServerEndpointWarning(value: string): string | undefined {
  return value.startsWith("http://")
    ? "is plain http://: kubelet will talk to the API server without TLS (EKS endpoints are https://)"
    : undefined;
}

/**
 * Returns what is wrong with an API server endpoint, or undefined for an https:// URL. Whitespace and
 * control characters are refused although URL parsing would drop some of them: the value is written
 * as given.
 */
export function httpsUrlProblem(value: string): string | undefined {
  if (/\s/.test(value) || hasControlCharacter(value)) {
    return "must be a URL without spaces or control characters";
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be a URL such as https://ABCDEF.gr7.us-west-2.eks.amazonaws.com";
  }
  if (url.protocol !== "https:") return `must use https:// (got ${url.protocol}//)`;
  return undefined;
}
