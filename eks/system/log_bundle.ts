/**
 * The log bundle of `eksnode collect-logs`, as a .tar.gz: eksnode's run journals, /etc/eks/release*,
 * kubelet, containerd, CNI and sysctl configuration, cloud-init and VPC CNI logs, and on the running
 * system the journals of kubelet, containerd, sandbox-image, eksnode and cloud-init plus system facts
 * (kernel, sysctls, mounts, modules, ip addresses and routes, iptables rules, disk use), as the EKS log
 * collector (amazon-eks-ami log-collector-script/linux/eks-log-collector.sh) gathers them. It never
 * includes secrets: files that hold credentials (kubeconfigs, tokens, keys, user data) are left out by
 * name, and every text is scrubbed of token-like values before it is added.
 */
import { makeTar, type TarInput } from "../../lib/tar_write.ts";
import type { Host } from "../../lib/host.ts";

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
  "/etc/modules-load.d",
  "/etc/systemd/system/sandbox-image.service",
  "/etc/systemd/system/eksnode-mount-bpf-fs.service",
  "/etc/systemd/system/eksnode-local-disks.service",
  "/etc/systemd/system/eksnode-config.service",
  "/etc/systemd/system/eksnode-run.service",
  "/.aws/mdadm.conf",
  "/etc/cni/net.d",
  "/var/log/cloud-init.log",
  "/var/log/cloud-init-output.log",
  "/var/log/eksnode",
  "/var/log/aws-routed-eni",
];

/** One command whose output is collected on the running system. */
export interface FactCommand {
  /** Name inside the archive, under {@link BUNDLE_DIR}. */
  name: string;
  argv: string[];
}

const journal = (
  unit: string,
): string[] => ["journalctl", "-u", unit, "--no-pager", "-o", "short-iso", "-n", "20000"];

/** Journals and system facts gathered with commands, only when --root is the running system. */
export const FACT_COMMANDS: readonly FactCommand[] = [
  { name: "journal/kubelet.log", argv: journal("kubelet") },
  { name: "journal/containerd.log", argv: journal("containerd") },
  { name: "journal/sandbox-image.log", argv: journal("sandbox-image") },
  { name: "journal/eksnode.log", argv: journal("eksnode*") },
  { name: "journal/cloud-init.log", argv: journal("cloud-*") },
  { name: "system/uname.txt", argv: ["uname", "-a"] },
  { name: "system/sysctl.txt", argv: ["sysctl", "-a"] },
  { name: "system/ip-addr.txt", argv: ["ip", "address", "show"] },
  { name: "system/ip-route.txt", argv: ["ip", "route", "show", "table", "all"] },
  { name: "system/ip6-route.txt", argv: ["ip", "-6", "route", "show", "table", "all"] },
  { name: "system/iptables.txt", argv: ["iptables-save"] },
  { name: "system/ip6tables.txt", argv: ["ip6tables-save"] },
  { name: "system/df.txt", argv: ["df", "-h"] },
  { name: "system/df-inodes.txt", argv: ["df", "-i"] },
];

/** Kernel files copied on the running system (they do not exist under another root). */
export const FACT_FILES: readonly [string, string][] = [
  ["system/proc-version.txt", "/proc/version"],
  ["system/cmdline.txt", "/proc/cmdline"],
  ["system/mounts.txt", "/proc/mounts"],
  ["system/modules.txt", "/proc/modules"],
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
  /** Called with one line per item as it is collected (`[3/40] /etc/eks/release`). */
  progress?: (line: string) => void;
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
  let done = 0;
  for (const path of candidates) {
    opts.progress?.(`[${++done}/${candidates.length + FACT_COMMANDS.length + FACT_FILES.length}] ${path}`);
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
  const progress = opts.progress ?? (() => {});
  const total = candidates.length + FACT_COMMANDS.length + FACT_FILES.length;
  let n = candidates.length;
  for (const [name, path] of FACT_FILES) {
    progress(`[${++n}/${total}] ${path}`);
    if (!host.isSystemRoot) {
      skipped.push(`${path}: --root is not the running system`);
      continue;
    }
    const text = await host.readText(path).catch(() => undefined);
    if (text === undefined) {
      skipped.push(`${path}: not readable`);
      continue;
    }
    entries.push({ name: `${BUNDLE_DIR}/${name}`, data: redactSecrets(text), mode: 0o644, mtime });
    included.push(path);
  }
  for (const { name, argv } of FACT_COMMANDS) {
    const shown = argv.join(" ");
    progress(`[${++n}/${total}] ${shown}`);
    if (!host.isSystemRoot) {
      skipped.push(`${shown}: --root is not the running system`);
      continue;
    }
    const bin = await host.which(argv[0]);
    if (!bin) {
      skipped.push(`${shown}: ${argv[0]} not found`);
      continue;
    }
    const r = await host.exec([bin, ...argv.slice(1)], { allowFailure: true, timeoutMs: 60_000 }).catch((
      err,
    ) => ({
      code: -1,
      stdout: "",
      stderr: (err as Error).message,
    }));
    // Partial output (sysctl -a with some keys unreadable) is still worth having.
    if (r.code !== 0 && r.stdout.trim() === "") {
      skipped.push(`${shown}: exited ${r.code}: ${r.stderr.trim().split("\n").at(-1) ?? ""}`);
      continue;
    }
    entries.push({ name: `${BUNDLE_DIR}/${name}`, data: redactSecrets(r.stdout), mode: 0o644, mtime });
    included.push(shown + (r.code !== 0 ? ` (exit ${r.code}, partial)` : ""));
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
