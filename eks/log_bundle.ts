/**
 * The log bundle of `eksnode collect-logs`: eksnode's run journals, /etc/eks/release*, kubelet and
 * containerd configuration, sysctl files and (on the running system) the kubelet/containerd journal,
 * as a .tar.gz. It never includes secrets: files that hold credentials (kubeconfigs, tokens, keys,
 * user data) are left out by name, and every text is scrubbed of token-like values before it is added.
 */
import { makeTar, type TarInput } from "../lib/tar_write.ts";
import type { Host } from "../lib/host.ts";

/** Files and directories gathered (in-root paths); directories are walked recursively. */
export const BUNDLE_PATHS: readonly string[] = [
  "/var/lib/eksnode/journal",
  "/etc/eks/release",
  "/etc/eks/release.json",
  "/etc/kubernetes/kubelet",
  "/etc/systemd/system/kubelet.service",
  "/etc/systemd/system/kubelet.service.d",
  "/etc/eks/image-credential-provider/config.json",
  "/etc/containerd",
  "/etc/eks/containerd",
  "/etc/systemd/system/containerd.service.d",
  "/etc/sysctl.conf",
  "/etc/sysctl.d",
];

/** Top directory inside the archive. */
export const BUNDLE_DIR = "eksnode-logs";
/** Files larger than this are listed as skipped rather than added. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

/** File names never collected: they hold or may hold credentials or user data. */
const SECRET_NAME =
  /kubeconfig|token|secret|password|credentials|user-?data|\.key$|\.pem$|\.p12$|\.pfx$|\.env$/i;

/** True when a path's file name suggests it holds credentials or user data. */
export function isSecretPath(path: string): boolean {
  return SECRET_NAME.test(path.split("/").pop() ?? "");
}

const REDACTED = "<redacted by eksnode>";
// A key naming a secret (also as the end of a longer name: AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
// registryToken), then `:` or `=`, then a quoted or bare value.
const KEY_VALUE =
  /(\b(?:auth|[A-Za-z0-9_.-]*?(?:token|password|passwd|secret|secret[_-]?access[_-]?key|access[_-]?key(?:[_-]?id)?|client-key-data|client-certificate-data))\b["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,}"']+)/gi;

/**
 * Replaces secret-looking values in a text: `token: x`, `password = "x"`, `auth = "..."`,
 * `AWS_SECRET_ACCESS_KEY=x`, `Bearer x`, passwords in URLs, JWTs and EKS `k8s-aws-v1.` tokens.
 * @example redactSecrets("token: abc") // "token: <redacted by eksnode>"
 */
export function redactSecrets(text: string): string {
  return text
    .replace(KEY_VALUE, (_m, key: string, value: string) => {
      const q = value[0] === '"' || value[0] === "'" ? value[0] : "";
      return `${key}${q}${REDACTED}${q}`;
    })
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, `$1${REDACTED}@`)
    .replace(/\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, `$1${REDACTED}`)
    .replace(/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED)
    .replace(/\bk8s-aws-v1\.[A-Za-z0-9_-]+/g, REDACTED);
}

/** Options for {@link collectLogBundle}. */
export interface BundleOptions {
  /** Time recorded in the bundle (default now). */
  now?: Date;
  /** eksnode version written into the summary. */
  version?: string;
}

/** The archive and what went into it. */
export interface LogBundle {
  bytes: Uint8Array;
  /** In-root paths (and `journalctl ...` commands) included. */
  included: string[];
  /** What was left out, each with why. */
  skipped: string[];
}

const dec = new TextDecoder("utf-8", { fatal: true });

async function walk(host: Host, path: string, out: string[], skipped: string[]): Promise<void> {
  const st = await host.stat(path);
  if (!st) return;
  if (st.isSymlink) {
    skipped.push(`${path}: symlink, not followed`);
  } else if (st.isDirectory) {
    for (const name of (await host.readDir(path)) ?? []) await walk(host, `${path}/${name}`, out, skipped);
  } else if (st.isFile) {
    out.push(path);
  }
}

/** Gathers the bundle from the host's root (and, on the running system, journalctl). */
export async function collectLogBundle(host: Host, opts: BundleOptions = {}): Promise<LogBundle> {
  const now = opts.now ?? new Date();
  const mtime = Math.floor(now.getTime() / 1000);
  const entries: TarInput[] = [{ name: `${BUNDLE_DIR}/`, type: "dir", mtime }];
  const included: string[] = [];
  const skipped: string[] = [];
  const candidates: string[] = [];
  for (const p of BUNDLE_PATHS) await walk(host, p, candidates, skipped);
  for (const path of candidates) {
    if (isSecretPath(path)) {
      skipped.push(`${path}: may hold credentials, never collected`);
      continue;
    }
    const st = await host.stat(path);
    if (st && st.size > MAX_FILE_BYTES) {
      skipped.push(`${path}: ${st.size} bytes, larger than ${MAX_FILE_BYTES}`);
      continue;
    }
    const bytes = (await host.readBytes(path))!;
    let text: string;
    try {
      text = dec.decode(bytes);
    } catch {
      skipped.push(`${path}: not text`);
      continue;
    }
    if (text.includes("\0")) {
      skipped.push(`${path}: not text`);
      continue;
    }
    entries.push({ name: `${BUNDLE_DIR}${path}`, data: redactSecrets(text), mode: 0o644, mtime });
    included.push(path);
  }
  const journals: [string, string[]][] = [
    ["journal/kubelet-containerd.log", ["-u", "kubelet", "-u", "containerd"]],
    ["journal/eksnode.log", ["-u", "eksnode*"]],
  ];
  const journalctl = host.isSystemRoot ? await host.which("journalctl") : undefined;
  for (const [name, units] of journals) {
    const argv = ["journalctl", ...units, "--no-pager", "-o", "short-iso", "-n", "20000"];
    if (!host.isSystemRoot) {
      skipped.push(`${argv.join(" ")}: --root is not the running system`);
      continue;
    }
    if (!journalctl) {
      skipped.push(`${argv.join(" ")}: journalctl not found`);
      continue;
    }
    const r = await host.exec([journalctl, ...argv.slice(1)], { allowFailure: true, timeoutMs: 60_000 });
    if (r.code !== 0) {
      skipped.push(`${argv.join(" ")}: exited ${r.code}: ${r.stderr.trim().split("\n").at(-1) ?? ""}`);
      continue;
    }
    entries.push({ name: `${BUNDLE_DIR}/${name}`, data: redactSecrets(r.stdout), mode: 0o644, mtime });
    included.push(argv.join(" "));
  }
  const summary = [
    `eksnode collect-logs${
      opts.version ? ` ${opts.version}` : ""
    } at ${now.toISOString()}, root ${host.root}`,
    "Secrets are never collected: kubeconfigs, tokens, keys and user data are left out, and token-like",
    "values in the files below are replaced by <redacted by eksnode>.",
    "",
    "Included:",
    ...included.map((p) => `  ${p}`),
    "",
    "Skipped:",
    ...skipped.map((p) => `  ${p}`),
    "",
  ].join("\n");
  entries.push({ name: `${BUNDLE_DIR}/COLLECTED.txt`, data: summary, mode: 0o644, mtime });
  return { bytes: await makeTar(entries, true), included, skipped };
}
