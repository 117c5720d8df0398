/** The shapes the {@link Host} API speaks in: file information, subprocess options and results, write options. */
import type { Owner } from "../owner.ts";

/** What `stat` reports about a path inside the root. */
export interface FileInfo {
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
}

/** Options for {@link Host.exec}. */
export interface ExecOptions {
  /** Milliseconds before the process is killed (default 120 s). */
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Text written to the process's standard input. */
  stdin?: string;
  /** Return the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  /** Strings masked as `***` in error messages (tokens passed as arguments). */
  redact?: string[];
}

/** Outcome of a subprocess. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for file writes. */
export interface WriteOptions {
  mode?: number;
  owner?: Owner;
}

/** A file that grows by whole lines, opened by {@link Host.createLog}. */
export interface AppendLog {
  /**
   * Appends one line (`text` holds no newline). With `durable`, resolves once the line and every line
   * before it are on disk (fdatasync); without, the line is in the page cache (it survives a kill of
   * this process, not a power cut) and reaches the disk with the next durable one.
   */
  append(text: string, durable: boolean): Promise<void>;
  /** Closes the file (pending durable appends finish first). */
  close(): Promise<void>;
}
