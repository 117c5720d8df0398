/**
 * Verified downloads. The SHA-256 is computed while the bytes arrive (one pass, memory independent of
 * file size) and compared with the pinned checksum; when the source also publishes a checksum file,
 * it must agree too. Bytes go to a temp file beside the target and are renamed into place only when
 * verified, so a mismatch or a truncated body leaves the target untouched.
 *
 * Hashing: `crypto.subtle.digest` has no incremental form (it needs the whole object in memory), so
 * streams are hashed with `node:crypto` createHash, the fastest of the candidates bench/hash_bench.ts
 * measures (hash-wasm, @noble/hashes, Web Crypto); files are read into one reused buffer
 * (lib/hash_cache.ts), and a verified download's hash is remembered so later checks do not re-read it.
 */
import { createHash } from "node:crypto";
import { ChecksumError, EksnodeError, NetworkError } from "./errors.ts";
import { rememberWritten, sha256Fresh, sha256Remembered } from "./hash_cache.ts";
import type { Host, WriteOptions } from "./host.ts";
import type { Logger } from "./log.ts";
import { type BackoffOptions, withBackoff } from "./retry.ts";

/** What to fetch and how to verify it. */
export interface DownloadSource {
  url: string;
  /** Pinned SHA-256 (64 lowercase hex). */
  sha256: string;
  /** URL of a published checksum file (`sha256sum` format or a bare hash) that must agree. */
  checksumUrl?: string;
}

/** Retry bounds of downloads: 5 tries, 250 ms base, 8 s cap, 2 minutes in all. */
export const DOWNLOAD_RETRY: BackoffOptions = { attempts: 5, baseMs: 250, maxMs: 8_000, totalMs: 120_000 };

/** Tuning for one download. */
export interface DownloadOptions {
  retry?: BackoffOptions;
  /** Abort when no byte arrives for this long (ms, default 30 s). */
  idleTimeoutMs?: number;
  log?: Logger;
  sleep?: (ms: number) => Promise<void>;
}

/** Result of a verified download. */
export interface DownloadResult {
  bytes: number;
  sha256: string;
  attempts: number;
}

/** A response status worth retrying: 5xx, 429 and 408. */
class RetryableHttp extends NetworkError {}

/** The body ended before Content-Length bytes arrived (connection reset): retried, then reported. */
export class TruncatedError extends ChecksumError {}

/**
 * Lowercase hex SHA-256 of bytes in memory. node:crypto rather than Web Crypto: 2.5x the throughput on
 * large buffers (bench/hash_bench.ts); async to keep the signature callers await.
 */
export function sha256Hex(data: Uint8Array | string): Promise<string> {
  return Promise.resolve(createHash("sha256").update(data).digest("hex"));
}

/** Streaming SHA-256 of a file by its real path (memory independent of its size). */
export async function sha256RealFile(realPath: string): Promise<string> {
  return await sha256Fresh(realPath);
}

/**
 * Streaming SHA-256 of a file inside the root, or undefined when it is missing. A hash remembered for
 * the unchanged file is used unless `fresh` (lib/hash_cache.ts).
 */
export async function sha256File(
  host: Host,
  path: string,
  opts: { fresh?: boolean } = {},
): Promise<string | undefined> {
  const st = await host.stat(path);
  if (!st?.isFile) return undefined;
  const real = host.real(path);
  return opts.fresh ? await sha256Fresh(real) : await sha256Remembered(real);
}

/**
 * Parses a published checksum file: `HASH  name` lines or a bare hash. With several lines, the one
 * naming `fileName` wins.
 */
export function parseChecksumFile(text: string, fileName: string): string | undefined {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const parsed = lines.map((l) => {
    const [hash, name] = l.split(/\s+/, 2);
    return { hash: hash?.toLowerCase(), name: name?.replace(/^[*]/, "").split("/").pop() };
  }).filter((e) => /^[0-9a-f]{64}$/.test(e.hash ?? ""));
  if (parsed.length === 0) return undefined;
  if (parsed.length === 1) return parsed[0].hash;
  return parsed.find((e) => e.name === fileName)?.hash;
}

function isRetryable(err: unknown): boolean {
  if (err instanceof RetryableHttp) return true;
  if (err instanceof TruncatedError) return true;
  // Our own errors are verdicts (404, checksum mismatch); anything else is the network failing:
  // connection refused or reset, DNS, timeouts.
  return !(err instanceof EksnodeError);
}

function describeFetchError(url: string, err: unknown): EksnodeError {
  if (err instanceof EksnodeError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new NetworkError(
    `cannot download ${url}: ${msg}`,
    "check the URL, the network and --mirror; the download was retried with backoff",
    err,
  );
}

async function fetchText(url: string, opts: DownloadOptions): Promise<string> {
  return await withBackoff(async () => {
    const res = await fetch(url, { signal: AbortSignal.timeout(opts.idleTimeoutMs ?? 30_000) });
    if (res.status >= 500 || res.status === 429 || res.status === 408) {
      await res.body?.cancel();
      throw new RetryableHttp(`GET ${url} answered HTTP ${res.status}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new NetworkError(`GET ${url} answered HTTP ${res.status}`, "check the URL or --mirror layout");
    }
    return await res.text();
  }, { ...DOWNLOAD_RETRY, ...opts.retry, isRetryable, sleep: opts.sleep }).catch((e) => {
    throw describeFetchError(url, e);
  });
}

/**
 * The SHA-256 a published checksum file gives for the artifact at `artifactUrl` (fetched with the
 * download retries), or undefined when the file holds none for it.
 */
export async function fetchPublishedChecksum(
  checksumUrl: string,
  artifactUrl: string,
  opts: DownloadOptions = {},
): Promise<string | undefined> {
  const text = await fetchText(checksumUrl, opts);
  return parseChecksumFile(text, new URL(artifactUrl).pathname.split("/").pop() ?? "");
}

/** Checks a published checksum file against the pinned value. */
export async function verifyPublishedChecksum(
  src: DownloadSource,
  opts: DownloadOptions = {},
): Promise<void> {
  if (!src.checksumUrl) return;
  const fileName = new URL(src.url).pathname.split("/").pop() ?? "";
  const published = await fetchPublishedChecksum(src.checksumUrl, src.url, opts);
  if (!published) {
    throw new ChecksumError(
      `published checksum file ${src.checksumUrl} holds no SHA-256 for ${fileName}`,
      "the mirror must serve the checksum file beside the artifact",
    );
  }
  if (published !== src.sha256) {
    throw new ChecksumError(
      `published checksum for ${src.url} disagrees with the pinned one: expected ${src.sha256}, published ${published}`,
      "the artifact changed upstream or the pin is wrong; check the source and the bake config",
    );
  }
}

/**
 * Downloads `src` to `to` (an in-root path) atomically and verified. Throws {@link ChecksumError} on a
 * mismatch or truncation and {@link NetworkError} when the source cannot be reached; in both cases
 * the target is left as it was.
 */
export async function downloadVerified(
  host: Host,
  src: DownloadSource,
  to: string,
  write: WriteOptions,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  await verifyPublishedChecksum(src, opts);
  let attempts = 0;
  const label = new URL(src.url).pathname.split("/").pop() ?? src.url;
  const result = await withBackoff(async () => {
    attempts++;
    let got = { bytes: 0, sha256: "" };
    await host.writeFileWith(to, async (file) => {
      got = await streamInto(src.url, file, opts, label);
      if (got.sha256 !== src.sha256) {
        throw new ChecksumError(
          `checksum mismatch for ${src.url}: expected sha256 ${src.sha256}, got ${got.sha256} (${got.bytes} bytes); ${to} left untouched`,
          "the download is corrupt or tampered with; check the mirror and the pinned checksum",
        );
      }
    }, write);
    await rememberWritten(host.real(to), got.sha256);
    return got;
  }, {
    ...DOWNLOAD_RETRY,
    ...opts.retry,
    isRetryable,
    sleep: opts.sleep,
    onRetry: (err, attempt, delay) =>
      opts.log?.warn(`retrying ${label} (attempt ${attempt + 1}) in ${delay} ms: ${(err as Error).message}`),
  }).catch((e) => {
    throw describeFetchError(src.url, e);
  });
  return { ...result, attempts };
}

async function streamInto(
  url: string,
  file: Deno.FsFile,
  opts: DownloadOptions,
  label: string,
): Promise<{ bytes: number; sha256: string }> {
  const idleMs = opts.idleTimeoutMs ?? 30_000;
  const ctrl = new AbortController();
  let idle = setTimeout(() => ctrl.abort(new Error(`no data for ${idleMs / 1000}s`)), idleMs);
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => ctrl.abort(new Error(`no data for ${idleMs / 1000}s`)), idleMs);
  };
  try {
    const res = await fetch(url, { signal: ctrl.signal });
    if (res.status >= 500 || res.status === 429 || res.status === 408) {
      await res.body?.cancel();
      throw new RetryableHttp(`GET ${url} answered HTTP ${res.status}`);
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new NetworkError(
        `GET ${url} answered HTTP ${res.status}`,
        "check the URL or the --mirror layout",
      );
    }
    const lengthHeader = res.headers.get("content-length");
    const expected = lengthHeader === null ? undefined : Number(lengthHeader);
    const hash = createHash("sha256");
    let bytes = 0;
    let lastDraw = 0;
    try {
      for await (const chunk of res.body) {
        touch();
        hash.update(chunk);
        let off = 0;
        while (off < chunk.length) off += await file.write(chunk.subarray(off));
        bytes += chunk.length;
        if (opts.log && Date.now() - lastDraw > 100) {
          opts.log.progress(label, bytes, expected);
          lastDraw = Date.now();
        }
      }
    } catch (err) {
      if (expected !== undefined && bytes < expected) {
        throw new TruncatedError(`download of ${url} truncated: received ${bytes} of ${expected} bytes`);
      }
      throw err;
    }
    if (expected !== undefined && bytes !== expected) {
      throw new TruncatedError(`download of ${url} truncated: received ${bytes} of ${expected} bytes`);
    }
    return { bytes, sha256: hash.digest("hex") };
  } finally {
    clearTimeout(idle);
  }
}
