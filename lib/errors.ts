/**
 * The one error family of eksnode. Every failure a user can cause or meet ends as an
 * {@link EksnodeError}: one line of message, an optional hint, and an exit code by class.
 * The exit codes are listed in docs/failures.md ("Exit codes").
 */

/** Exit codes by error class. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  config: 3,
  network: 4,
  checksum: 5,
  command: 6,
  containment: 7,
  metadata: 8,
  awsApi: 9,
  disk: 10,
  device: 11,
  /** SIGINT (128 + 2). */
  interrupted: 130,
  /** SIGTERM (128 + 15). */
  terminated: 143,
} as const;
export type ExitCodeName = keyof typeof ExitCode;

/** Line breaks and other C0/C1 control characters, and the Unicode line separators and bidi overrides. */
function unprintable(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
}

/** True when `text` holds a control character (C0, DEL or C1): a newline, a tab, an escape, NUL... */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/**
 * Text made safe for one line of a log or terminal: control characters (newlines included), line
 * separators and bidirectional overrides are written as escapes. Messages quote user input; this
 * keeps a hostile value from adding lines or escape sequences to what a user reads.
 * @example oneLine("a\nb") // "a\\nb"
 */
export function oneLine(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (!unprintable(code)) out += ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else out += `\\u${code.toString(16).padStart(4, "0")}`;
  }
  return out;
}

/** Base class: message names what and where (always one line); hint says what to do about it. */
export class EksnodeError extends Error {
  readonly exitCode: number;
  readonly hint?: string;
  constructor(message: string, opts: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(oneLine(message), { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode ?? ExitCode.internal;
    this.hint = opts.hint === undefined ? undefined : oneLine(opts.hint);
  }
}

/** Bad flags or arguments. */
export class UsageError extends EksnodeError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.usage, hint });
  }
}

/** Invalid configuration: NodeConfig, user data, bake config, versions file. */
export class ConfigError extends EksnodeError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.config, hint, cause });
  }
}

/**
 * A download has no pinned SHA-256 (and a dry run fetches no published one): a config error naming
 * the bake config key that pins it, so a dry run can list every missing pin in one error.
 */
export class MissingPinError extends ConfigError {
  /** The bake config key to set, e.g. `versions.kubernetes."1.32".kubelet.sha256.x86_64`. */
  readonly key: string;
  constructor(message: string, key: string, hint?: string) {
    super(message, hint ?? `pin it in the bake config: ${key} = "<64 lowercase hex>"`);
    this.key = key;
  }
}

/** A network operation failed after its retries (download, unreachable endpoint). */
export class NetworkError extends EksnodeError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.network, hint, cause });
  }
}

/** Downloaded bytes do not match the pinned or published checksum, or the body was truncated. */
export class ChecksumError extends EksnodeError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.checksum, hint });
  }
}

/** A subprocess exited non-zero, timed out, or could not be started. */
export class CommandError extends EksnodeError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.command, hint, cause });
  }
}

/** A path would lead outside --root (through `..` or a symlink), or an archive entry is unsafe. */
export class ContainmentError extends EksnodeError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.containment, hint });
  }
}

/** The instance metadata service (IMDS) could not be read. */
export class MetadataError extends EksnodeError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.metadata, hint, cause });
  }
}

/** An AWS API call (EKS, EC2, ECR) failed after its retries. */
export class AwsApiError extends EksnodeError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.awsApi, hint, cause });
  }
}

/** A write under --root failed for lack of room or permission to write: disk full, quota, read-only. */
export class DiskError extends EksnodeError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.disk, hint, cause });
  }
}

/**
 * A block device holds data eksnode will not overwrite (a file system or RAID signature it did not make),
 * or is in a state it cannot set up from (mounted elsewhere, an array it did not create).
 */
export class DeviceError extends EksnodeError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.device, hint });
  }
}

/** What an OS error code says about the disk, for the codes that make a {@link DiskError}. */
const DISK_CODES: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
};

/** What is wrong with the disk when `err` is a disk-full, quota or read-only error of the OS, else undefined. */
export function diskProblem(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? DISK_CODES[code] : undefined;
}

/**
 * A {@link DiskError} saying that writing `what` failed, when `err` is a disk-full, quota or read-only
 * error of the OS; otherwise `err` unchanged.
 */
export function asDiskError(err: unknown, what: string): unknown {
  const why = diskProblem(err);
  if (!why) return err;
  return new DiskError(
    `cannot write ${what}: ${why}`,
    "free space (or remount read-write) and run again: the file being written was left as it was",
    err,
  );
}

/** Renders any thrown value as the one line a user sees (plus hint line). */
export function formatError(err: unknown, debug = false): string {
  const lines: string[] = [];
  if (err instanceof EksnodeError) {
    lines.push(`error: ${err.message}`);
    if (err.hint) lines.push(`hint: ${err.hint}`);
  } else if (err instanceof Error) {
    lines.push(`error: internal: ${oneLine(err.message)}`);
    if (!debug) lines.push("hint: rerun with --debug for the stack trace and report it as a bug");
  } else {
    lines.push(`error: internal: ${oneLine(String(err))}`);
  }
  if (debug && err instanceof Error && err.stack) {
    lines.push(err.stack);
    let cause = err.cause;
    while (cause instanceof Error) {
      lines.push(`caused by: ${cause.stack ?? cause.message}`);
      cause = cause.cause;
    }
  }
  return lines.join("\n");
}

/**
 * The final error as one JSON log record (`--output json`), so `2>&1 | jq` still parses when a run
 * fails: `event` "run.error", the message, the hint, the exit code; `--debug` adds the stack.
 */
export function formatErrorJson(err: unknown, debug = false): string {
  const internal = !(err instanceof EksnodeError);
  const message = err instanceof Error ? err.message : String(err);
  return JSON.stringify({
    time: new Date().toISOString(),
    level: "error",
    event: "run.error",
    msg: internal ? `internal: ${oneLine(message)}` : message,
    ...(err instanceof EksnodeError && err.hint ? { hint: err.hint } : {}),
    ...(internal && !debug ? { hint: "rerun with --debug for the stack trace and report it as a bug" } : {}),
    exitCode: exitCodeOf(err),
    ...(debug && err instanceof Error && err.stack ? { stack: err.stack } : {}),
  });
}

/** True when a command line asks for JSON output (`--output json`, or its old names). */
export function wantsJson(argv: readonly string[]): boolean {
  return argv.some((a, i) =>
    ((a === "--output" || a === "--log-format" || a === "--output-format") && argv[i + 1] === "json") ||
    a === "--output=json" || a === "--log-format=json" || a === "--output-format=json"
  );
}

/** The exit code for any thrown value. */
export function exitCodeOf(err: unknown): number {
  return err instanceof EksnodeError ? err.exitCode : ExitCode.internal;
}
