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
import { ChecksumError, diskProblem, EksnodeError, NetworkError } from "./errors.ts";
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

/** Default of {@link DownloadTuning.idleTimeoutMs}: 30 s without a byte ends a try. */
export const DOWNLOAD_IDLE_TIMEOUT_MS = 30_000;

/**
 * Redirects followed for one request before it is called a loop (curl follows 50, browsers 20; an
 * artifact source needs one or two: GitHub release → object storage).
 */
export const MAX_REDIRECTS = 10;

/** Run-wide download settings (from flags): how long to wait for bytes, which plain-HTTP origins are allowed. */
export interface DownloadTuning {
  /** A try ends when no byte arrives for this long, headers included (ms, default 30 s). */
  idleTimeoutMs?: number;
  /**
   * Origins (`http://host:port`) that may be used over plain HTTP besides loopback, e.g. the mirror
   * of `--insecure-mirror`. Every other URL, redirect targets included, must be HTTPS.
   */
  plainHttpOrigins?: readonly string[];
}

/** Tuning for one download. */
export interface DownloadOptions extends DownloadTuning {
  retry?: BackoffOptions;
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

/** No byte arrived for the idle timeout (headers or body): retried, then reported. */
export class DownloadTimeoutError extends NetworkError {}

/** True for a loopback host name: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Why `url` may not carry an artifact, or undefined when it may: HTTPS always, plain HTTP only on
 * loopback or from an origin in `plainHttpOrigins`; no other scheme.
 */
export function transportProblem(url: string, plainHttpOrigins: readonly string[] = []): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL`;
  }
  if (u.protocol === "https:") return undefined;
  if (u.protocol !== "http:") return `${u.protocol}// is not a download scheme (https:// only)`;
  if (isLoopbackHost(u.hostname) || plainHttpOrigins.includes(u.origin)) return undefined;
  return `plain HTTP to ${u.host} is refused: binaries that run as root are fetched over HTTPS ` +
    `(plain HTTP only from a loopback mirror or with --insecure-mirror)`;
}

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
  if (err instanceof RetryableHttp || err instanceof TruncatedError || err instanceof DownloadTimeoutError) {
    return true;
  }
  // Our own errors are verdicts (404, checksum mismatch, refused transport, redirect loop, disk full);
  // anything else is the network failing: connection refused or reset, DNS.
  return !(err instanceof EksnodeError);
}

const RETRIED_HINT = "check the URL, the network and --mirror; the download was retried with backoff";

/** The file name at the end of a URL: what a download is called in messages (`kubelet`). */
function fileNameOf(url: string): string {
  return new URL(url).pathname.split("/").pop() || url;
}

/** The error a user sees once the retries are over: the last failure, with the number of tries. */
function describeFetchError(url: string, err: unknown, tries: number): EksnodeError {
  const after = `(${tries} ${tries === 1 ? "try" : "tries"})`;
  if (err instanceof TruncatedError) {
    return new TruncatedError(
      `${err.message} ${after}`,
      "the source closed the connection mid-body; " + RETRIED_HINT,
    );
  }
  if (err instanceof RetryableHttp || err instanceof DownloadTimeoutError) {
    return new NetworkError(
      `cannot download ${fileNameOf(url)} from ${url}: ${err.message} ${after}`,
      RETRIED_HINT,
      err,
    );
  }
  if (err instanceof EksnodeError) return err;
  const msg = err instanceof Error ? errorText(err) : String(err);
  return new NetworkError(
    `cannot download ${fileNameOf(url)} from ${url}: ${msg} ${after}`,
    RETRIED_HINT,
    err,
  );
}

/** A fetch error's message with its cause, e.g. "error sending request (Connection refused (os error 111))". */
function errorText(err: Error): string {
  return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
}

/**
 * GET `url`, following at most {@link MAX_REDIRECTS} redirects, each hop checked by
 * {@link transportProblem}; 5xx, 429 and 408 are {@link RetryableHttp}, other non-2xx final.
 */
async function httpGet(url: string, signal: AbortSignal, opts: DownloadTuning): Promise<Response> {
  let current = url;
  for (let hop = 0;; hop++) {
    const problem = transportProblem(current, opts.plainHttpOrigins);
    if (problem) {
      throw new NetworkError(
        current === url
          ? `cannot download ${fileNameOf(url)} from ${url}: ${problem}`
          : `${url} redirected to ${current}: ${problem}`,
        "use an https:// source or mirror",
      );
    }
    const res = await fetch(current, { signal, redirect: "manual" });
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location !== null) {
      await res.body?.cancel();
      if (hop >= MAX_REDIRECTS) {
        throw new NetworkError(
          `cannot download ${fileNameOf(url)} from ${url}: more than ${MAX_REDIRECTS} redirects ` +
            `(a redirect loop; the last went to ${current})`,
          "the source or mirror redirects in a circle; check its configuration",
        );
      }
      current = new URL(location, current).href;
      continue;
    }
    const where = current === url ? url : `${url} (redirected to ${current})`;
    if (res.status >= 500 || res.status === 429 || res.status === 408) {
      await res.body?.cancel();
      throw new RetryableHttp(`HTTP ${res.status}${current === url ? "" : ` from ${current} (redirected)`}`);
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new NetworkError(
        `GET ${where} answered HTTP ${res.status}`,
        "check the URL or the --mirror layout",
      );
    }
    return res;
  }
}

/** An abort controller that fires a {@link DownloadTimeoutError} when `touch` is not called for `ms`. */
function idleTimer(ms: number) {
  const ctrl = new AbortController();
  const fire = () => ctrl.abort(new DownloadTimeoutError(`no data for ${ms / 1000}s`));
  let timer = setTimeout(fire, ms);
  return {
    signal: ctrl.signal,
    touch() {
      clearTimeout(timer);
      timer = setTimeout(fire, ms);
    },
    stop: () => clearTimeout(timer),
    /** The timeout, when it is what ended the try. */
    reason: (): DownloadTimeoutError | undefined =>
      ctrl.signal.aborted && ctrl.signal.reason instanceof DownloadTimeoutError
        ? ctrl.signal.reason
        : undefined,
  };
}

async function fetchText(url: string, opts: DownloadOptions): Promise<string> {
  let tries = 0;
  return await withBackoff(async () => {
    tries++;
    const idle = idleTimer(opts.idleTimeoutMs ?? DOWNLOAD_IDLE_TIMEOUT_MS);
    try {
      const res = await httpGet(url, idle.signal, opts);
      return await res.text();
    } catch (err) {
      throw idle.reason() ?? err;
    } finally {
      idle.stop();
    }
  }, { ...DOWNLOAD_RETRY, ...opts.retry, isRetryable, sleep: opts.sleep }).catch((e) => {
    throw describeFetchError(url, e, tries);
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
  const label = fileNameOf(src.url);
  const result = await withBackoff(async () => {
    attempts++;
    let got = { bytes: 0, sha256: "" };
    await host.writeFileWith(to, async (file) => {
      got = await streamInto(src.url, file, opts, label);
      if (got.sha256 !== src.sha256) {
        throw new ChecksumError(
          `checksum mismatch for ${src.url}: expected sha256 ${src.sha256}, got ${got.sha256} (${got.bytes} bytes)`,
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
    throw describeFetchError(src.url, e, attempts);
  });
  return { ...result, attempts };
}

/** Bytes gathered from the network before one write and hash update. */
const WRITE_BUFFER_BYTES = 1 << 20;

async function streamInto(
  url: string,
  file: Deno.FsFile,
  opts: DownloadOptions,
  label: string,
): Promise<{ bytes: number; sha256: string }> {
  const idle = idleTimer(opts.idleTimeoutMs ?? DOWNLOAD_IDLE_TIMEOUT_MS);
  let bytes = 0;
  let expected: number | undefined;
  try {
    const res = await httpGet(url, idle.signal, opts);
    const lengthHeader = res.headers.get("content-length");
    expected = lengthHeader === null ? undefined : Number(lengthHeader);
    const hash = createHash("sha256");
    let lastDraw = 0;
    // Network chunks are small (often 16-64 KiB); they are gathered into one reused buffer so the file
    // is written (on Deno's main thread) and hashed in 1 MiB pieces: fewer ops, less CPU a byte.
    const buf = new Uint8Array(WRITE_BUFFER_BYTES);
    let held = 0;
    const flush = async () => {
      const piece = buf.subarray(0, held);
      hash.update(piece);
      let off = 0;
      while (off < piece.length) off += await file.write(piece.subarray(off));
      held = 0;
    };
    for await (const chunk of res.body!) {
      idle.touch();
      let taken = 0;
      while (taken < chunk.length) {
        const n = Math.min(chunk.length - taken, buf.length - held);
        buf.set(chunk.subarray(taken, taken + n), held);
        held += n;
        taken += n;
        if (held === buf.length) await flush();
      }
      bytes += chunk.length;
      if (opts.log && Date.now() - lastDraw > 100) {
        opts.log.progress(label, bytes, expected);
        lastDraw = Date.now();
      }
    }
    if (held > 0) await flush();
    if (expected !== undefined && bytes !== expected) {
      throw new TruncatedError(`download of ${url} truncated: received ${bytes} of ${expected} bytes`);
    }
    return { bytes, sha256: hash.digest("hex") };
  } catch (err) {
    const timeout = idle.reason();
    if (timeout) {
      const got = expected === undefined ? `${bytes} bytes` : `${bytes} of ${expected} bytes`;
      throw new DownloadTimeoutError(`${timeout.message} after ${got}`);
    }
    // A write that failed for lack of room is the disk's fault: the host names the file (DiskError).
    if (diskProblem(err)) throw err;
    if (!(err instanceof EksnodeError) && expected !== undefined && bytes < expected) {
      const why = err instanceof Error ? errorText(err) : String(err);
      throw new TruncatedError(
        `download of ${url} truncated: received ${bytes} of ${expected} bytes (connection lost: ${why})`,
      );
    }
    throw err;
  } finally {
    idle.stop();
  }
}
