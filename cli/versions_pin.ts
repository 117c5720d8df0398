/**
 * `eksnode versions --pin --config bake.toml`: writes into a bake config the SHA-256 of every artifact
 * its bake downloads unpinned, taken from the checksum file upstream publishes beside each (through the
 * bake's mirror, or `--mirror`). The file is edited as text, so the user's settings and comments stay;
 * the result is parsed again and must equal the old config plus the pins, and it replaces the old file
 * atomically (temp file beside it, fsync, rename).
 */
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import {
  type Arch,
  type ArtifactName,
  githubArtifact,
  kubernetesArtifact,
  type KubernetesComponent,
  mirrorUrl,
  type ResolvedArtifact,
  type Versions,
} from "../assets/versions.ts";
import { type DownloadTuning, fetchPublishedChecksum } from "../lib/download.ts";
import { ConfigError } from "../lib/errors.ts";
import type { BakeConfig } from "./bake_config.ts";

/** One artifact of a bake, and what pinning found for it. */
export interface PinResult {
  /** e.g. "kubelet 1.32.3". */
  name: string;
  arch: Arch;
  /** The bake config key, e.g. `versions.kubernetes."1.32".kubelet.sha256.x86_64`. */
  key: string;
  /** `pinned`: already pinned (kept); `written`: pinned now from `source`; `unpublished`: no checksum file. */
  status: "pinned" | "written" | "unpublished";
  sha256?: string;
  /** The checksum file read (written) or the artifact URL to hash by hand (unpublished). */
  source: string;
}

/** The artifacts a bake with these settings downloads (steps 10, 11, 22, 29, 30, 32; 42 and 50 with AL2023). */
export function bakeArtifacts(
  v: Versions,
  kubernetesVersion: string,
  bake: Pick<BakeConfig, "al2023" | "accelerator" | "efa">,
): (KubernetesComponent | ArtifactName)[] {
  const rel = v.kubernetes[kubernetesVersion];
  const out: (KubernetesComponent | ArtifactName)[] = ["runc", "containerd", "kubelet", "cniPlugins"];
  if (rel?.awsIamAuthenticator) out.push("awsIamAuthenticator");
  if (rel?.ecrCredentialProvider) out.push("ecrCredentialProvider");
  const phase = bake.al2023 === true || bake.accelerator !== undefined || bake.efa === true;
  if (phase) out.push("sociSnapshotter");
  if (bake.efa === true) out.push("efaInstaller");
  return out;
}

/**
 * Reads the published checksum of every unpinned artifact of `names` for each arch. Nothing is written;
 * see {@link writePins}.
 */
export async function findPins(
  v: Versions,
  kubernetesVersion: string,
  names: readonly (KubernetesComponent | ArtifactName)[],
  arches: readonly Arch[],
  mirror: string | undefined,
  download: DownloadTuning = {},
): Promise<PinResult[]> {
  const out: PinResult[] = [];
  for (const arch of arches) {
    for (const name of names) {
      const a: ResolvedArtifact = isKubernetesComponent(name)
        ? kubernetesArtifact(v, kubernetesVersion, name, arch)
        : githubArtifact(v, name, arch);
      const key = `versions.${a.path}`;
      const base = { name: a.name, arch, key };
      if (a.sha256) {
        out.push({ ...base, status: "pinned", sha256: a.sha256, source: "bake config or versions data" });
        continue;
      }
      const url = mirror ? mirrorUrl(a.url, mirror) : a.url;
      if (!a.checksumUrl) {
        out.push({ ...base, status: "unpublished", source: url });
        continue;
      }
      const checksumUrl = mirror ? mirrorUrl(a.checksumUrl, mirror) : a.checksumUrl;
      const sha256 = await fetchPublishedChecksum(checksumUrl, url, download);
      if (!sha256) {
        throw new ConfigError(
          `${a.name} (${arch}): the checksum file ${checksumUrl} holds no SHA-256 for it`,
          "check the mirror (it must copy the checksum file beside the artifact) or pin it by hand",
        );
      }
      out.push({ ...base, status: "written", sha256, source: checksumUrl });
    }
  }
  return out;
}

function isKubernetesComponent(name: string): name is KubernetesComponent {
  return name === "kubelet" || name === "awsIamAuthenticator" || name === "ecrCredentialProvider";
}

/** Splits a dotted TOML key (`versions.kubernetes."1.32".kubelet`) into its parts. */
function keyParts(key: string): string[] {
  return [...key.matchAll(/"([^"]*)"|([^.]+)/g)].map((m) => m[1] ?? m[2]);
}

function setIn(data: Record<string, unknown>, parts: string[], value: unknown): void {
  let at = data;
  for (const p of parts.slice(0, -1)) {
    if (typeof at[p] !== "object" || at[p] === null) at[p] = {};
    at = at[p] as Record<string, unknown>;
  }
  at[parts.at(-1)!] = value;
}

function sameData(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortDeep(a)) === JSON.stringify(sortDeep(b));
}

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v instanceof Date) return v.toISOString();
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v).sort().map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/**
 * The bake config text with `pins` (key → SHA-256) added, the rest of the text as it was. Tried in
 * order, each kept only when it parses to the old config plus the pins: dotted keys right after an
 * existing `[versions]` header, then `[versions.….sha256]` tables appended at the end; when neither
 * fits the file's layout (e.g. an inline `versions = {…}`), the whole config is rewritten (comments lost).
 * @example pinnedText('region = "us-west-2"\n', new Map([['versions.artifacts.runc.sha256.x86_64', "ab…"]]))
 */
export function pinnedText(
  text: string,
  pins: ReadonlyMap<string, string>,
  comment = "# SHA-256 pins written by `eksnode versions --pin` from the published checksum files",
): { text: string; rewritten: boolean } {
  const old = parseToml(text) as Record<string, unknown>;
  const want = structuredClone(old);
  for (const [key, sha] of pins) setIn(want, keyParts(key), sha);
  if (pins.size === 0) return { text, rewritten: false };
  const fits = (t: string) => {
    try {
      return sameData(parseToml(t), want);
    } catch {
      return false;
    }
  };
  const eol = text.length === 0 || text.endsWith("\n") ? "" : "\n";
  const candidates: string[] = [];
  const header = /^[ \t]*\[[ \t]*versions[ \t]*\][ \t]*(#.*)?$/m.exec(text);
  if (header) {
    const at = header.index + header[0].length;
    const lines = [...pins].map(([key, sha]) => `${key.slice("versions.".length)} = "${sha}"`);
    candidates.push(`${text.slice(0, at)}\n${comment}\n${lines.join("\n")}${text.slice(at)}`);
  }
  const tables = new Map<string, string[]>();
  for (const [key, sha] of pins) {
    // The last part is the arch (x86_64, aarch64): never quoted, never dotted.
    const table = key.slice(0, key.lastIndexOf("."));
    tables.set(table, [...(tables.get(table) ?? []), `${key.slice(key.lastIndexOf(".") + 1)} = "${sha}"`]);
  }
  candidates.push(
    `${text}${eol}\n${comment}\n` +
      [...tables].map(([t, lines]) => `[${t}]\n${lines.join("\n")}\n`).join("\n"),
  );
  for (const c of candidates) if (fits(c)) return { text: c, rewritten: false };
  const whole =
    `${comment}\n# (the file was rewritten: its layout had no place for them; comments were not kept)\n` +
    stringifyToml(want) + "\n";
  if (!fits(whole)) throw new ConfigError("cannot write the pins into the bake config (internal)");
  return { text: whole, rewritten: true };
}

/**
 * Replaces `path` with `text` atomically: a temp file beside it (same mode), fsync, rename, and the
 * directory synced, so a crash leaves the old file or the new one.
 */
export async function replaceFileAtomically(path: string, text: string): Promise<void> {
  const st = await Deno.stat(path);
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  const tmp = `${dir}/.${path.split("/").pop()}.eksnode-${crypto.randomUUID().slice(0, 8)}.tmp`;
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: (st.mode ?? 0o644) & 0o777 });
  try {
    const bytes = new TextEncoder().encode(text);
    for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
    await Deno.chmod(tmp, (st.mode ?? 0o644) & 0o777);
    await file.sync();
    file.close();
    await Deno.rename(tmp, path);
  } catch (err) {
    try {
      file.close();
    } catch { /* closed already */ }
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  const d = await Deno.open(dir, { read: true });
  try {
    await d.sync().catch(() => {});
  } finally {
    d.close();
  }
}
