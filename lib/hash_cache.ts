/**
 * SHA-256 of files, remembered by file identity so a file is hashed once, not once per check: within
 * a run (a bake checks each artifact when prefetching, when its step runs and when step 33 lists it),
 * and across runs through `/var/lib/eksnode/journal/verified-hashes.json` under the root, so a second
 * (idempotent) bake does not re-read hundreds of MiB it verified before.
 *
 * A remembered hash is used only while the file's identity is unchanged: device, inode, size, mtime and
 * ctime (as git's index does). Any write moves mtime and ctime, a rename or copy changes the inode, and
 * ctime cannot be set from user space. A hash is remembered only when the file was last changed well
 * before the hashing started (2 s: Deno reports ctime in whole seconds), so a write racing with the read
 * is never recorded as verified; or right after eksnode itself wrote the bytes it hashed (downloads).
 * `eksnode verify` never uses it (lib/manifest.ts hashes afresh).
 */
import { createHash } from "node:crypto";
import type { Host } from "./host.ts";
import { byCodeUnits } from "./order.ts";

/** Where the remembered hashes of a root are kept between runs (runner state, like the journal). */
export const HASH_CACHE_PATH = "/var/lib/eksnode/journal/verified-hashes.json";

/** Identity of a file's content as far as stat can tell. */
function identity(st: Deno.FileInfo): string {
  return [st.dev, st.ino, st.size, st.mtime?.getTime() ?? "", st.ctime?.getTime() ?? ""].join(":");
}

/** Seconds a file must be older than the hashing for its hash to be remembered. */
const SETTLED_MS = 2000;

/** Remembered hashes by real path. */
const memo = new Map<string, { id: string; sha256: string }>();

/** Read buffer size: one reused 1 MiB buffer (bench/hash_bench.ts: 2x the throughput of FsFile.readable). */
const CHUNK = 1 << 20;

/** Streaming SHA-256 of a file by its real path (memory independent of its size), never remembered. */
export async function sha256Fresh(realPath: string): Promise<string> {
  const file = await Deno.open(realPath, { read: true });
  try {
    const hash = createHash("sha256");
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      hash.update(buf.subarray(0, n));
    }
    return hash.digest("hex");
  } finally {
    file.close();
  }
}

/** SHA-256 of a file by its real path, from memory when its identity is unchanged since it was hashed. */
export async function sha256Remembered(realPath: string): Promise<string> {
  const before = await Deno.stat(realPath);
  const id = identity(before);
  const hit = memo.get(realPath);
  if (hit?.id === id) return hit.sha256;
  const started = Date.now();
  const sha256 = await sha256Fresh(realPath);
  const settled = (before.mtime?.getTime() ?? Infinity) < started - SETTLED_MS &&
    (before.ctime?.getTime() ?? Infinity) < started - SETTLED_MS;
  if (settled && identity(await Deno.stat(realPath)) === id) memo.set(realPath, { id, sha256 });
  else memo.delete(realPath);
  return sha256;
}

/** Records the hash of bytes eksnode has just written to `realPath` itself (a verified download). */
export async function rememberWritten(realPath: string, sha256: string): Promise<void> {
  memo.set(realPath, { id: identity(await Deno.stat(realPath)), sha256 });
}

/** Forgets every remembered hash (tests). */
export function forgetHashes(): void {
  memo.clear();
  loadedText.clear();
}

/** The cache file's text as loaded, by root: an unchanged cache is not written again. */
const loadedText = new Map<string, string>();

/** Loads the hashes remembered for files under the host's root by an earlier run (a bad file is ignored). */
export async function loadHashCache(host: Host): Promise<void> {
  const text = await host.readText(HASH_CACHE_PATH).catch(() => undefined);
  if (!text) return;
  loadedText.set(host.root, text);
  try {
    const data = JSON.parse(text) as {
      version: number;
      files: Record<string, { id: string; sha256: string }>;
    };
    if (data.version !== 1) return;
    for (const [path, e] of Object.entries(data.files)) {
      const real = host.real(path);
      if (typeof e?.id === "string" && /^[0-9a-f]{64}$/.test(e?.sha256 ?? "") && !memo.has(real)) {
        memo.set(real, { id: e.id, sha256: e.sha256 });
      }
    }
  } catch {
    // Not JSON: every file is hashed again.
  }
}

/** Writes the remembered hashes of files under the host's root (none: nothing written). */
export async function saveHashCache(host: Host): Promise<void> {
  const files: Record<string, { id: string; sha256: string }> = {};
  for (const [real, e] of memo) {
    const path = host.inRoot(real);
    if (path !== undefined && path !== "/") files[path] = e;
  }
  if (Object.keys(files).length === 0 && !(await host.exists(HASH_CACHE_PATH))) return;
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => byCodeUnits(a, b)));
  const text = JSON.stringify({ version: 1, files: sorted }, null, 1) + "\n";
  // An idempotent run remembers exactly what it loaded: rewriting it would cost two fsyncs for nothing.
  if (text === loadedText.get(host.root) && (await host.readText(HASH_CACHE_PATH)) === text) return;
  await host.writeFile(HASH_CACHE_PATH, text, { mode: 0o600 });
  loadedText.set(host.root, text);
}
