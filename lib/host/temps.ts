/**
 * The pieces of atomic writes that need no root: temp names beside a target (same directory, so the final
 * rename is atomic), finding and removing the temps a killed run left, synchronous whole writes, and the
 * directory fsync that makes a rename durable.
 */
import { basename, dirname, join } from "node:path";
import { isLiveTemp } from "../interrupt.ts";

/** Infix of every temp name the host makes beside a target: `.NAME.eksnode-XXXXXXXX.tmp`. */
export const TEMP_INFIX = ".eksnode-";
/** What follows the infix in a temp name. */
export const TEMP_SUFFIX = /^[0-9a-f]{8}\.tmp$/;
/** A temp name, whatever its target. */
const TEMP_NAME = /^\..+\.eksnode-[0-9a-f]{8}\.tmp$/;

/** A fresh temp name beside `real` (same directory, so the final rename is atomic). */
export function tempBeside(real: string): string {
  return join(dirname(real), `.${basename(real)}${TEMP_INFIX}${crypto.randomUUID().slice(0, 8)}.tmp`);
}

/** The `.NAME.eksnode-XXXXXXXX.tmp` entries of the real directory `dir` (none when it is missing or unreadable). */
export function listTemps(dir: string): Deno.DirEntry[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => TEMP_NAME.test(e.name));
  } catch {
    return [];
  }
}

/**
 * Removes every temp a killed run left in the real directory `dir` (whatever its target), except those
 * this process is still using.
 */
export function removeAllStaleTemps(dir: string): void {
  for (const e of listTemps(dir)) {
    const stale = join(dir, e.name);
    if (!isLiveTemp(stale)) removeQuietly(stale, e.isDirectory);
  }
}

/** Removes a path if it is there (a temp being cleaned up: a failure leaves nothing worse). */
export function removeQuietly(real: string, recursive = false): void {
  try {
    Deno.removeSync(real, { recursive });
  } catch {
    // already gone, or not ours to worry about
  }
}

/** lstat of a real path, or undefined when it does not exist. */
export function lstatOrUndefined(real: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(real);
  } catch {
    return undefined;
  }
}

/** Writes all of `bytes` into `file` with synchronous calls. */
export function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

/** fsync of a real directory, so the renames in it are durable (a file system that refuses it is let be). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const d = Deno.openSync(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  }
}
