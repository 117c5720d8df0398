/**
 * The only code that touches the system (with its parts in lib/host/: containment, temps, crash hook,
 * processes): files under `--root`, subprocesses, environment, clock.
 * Every path a caller gives is an absolute path *inside* the root (`/etc/eks/release`); the host maps
 * it onto the real file system and refuses anything that would lead outside the root through `..`
 * or a symlink. File writes are atomic: temp file in the same directory, fsync, mode, owner, rename.
 *
 * Calls that only touch the page cache and the file system's metadata (open, write of bytes in memory,
 * chmod, chown, rename, mkdir, readdir, realpath, lstat) are synchronous: on a local disk they take
 * microseconds, while each async call waits for a round trip through Deno's blocking-op thread pool
 * (tens of microseconds, more on a busy machine). Calls that wait for the disk (fsync) and reads whose
 * size is not known stay asynchronous, so parallel downloads keep streaming meanwhile.
 */
import { basename, dirname, join } from "node:path";
import { asDiskError, ContainmentError } from "./errors.ts";
import { isLiveTemp, throwIfInterrupted, trackTemp, untrackTemp } from "./interrupt.ts";
import { inRoot, normalizeInRoot, realPath, resolveInRoot } from "./host/containment.ts";
import { CrashHook } from "./host/crash.ts";
import { abortable, kernelRelease, runCommand, which } from "./host/process.ts";
import {
  listTemps,
  lstatOrUndefined,
  removeAllStaleTemps,
  removeQuietly,
  syncDir,
  TEMP_INFIX,
  TEMP_SUFFIX,
  tempBeside,
  writeAllSync,
} from "./host/temps.ts";
import type { AppendLog, ExecOptions, ExecResult, FileInfo, WriteOptions } from "./host/types.ts";

export type { AppendLog, ExecOptions, ExecResult, FileInfo, WriteOptions } from "./host/types.ts";
export { normalizeInRoot } from "./host/containment.ts";
export { tailLines } from "./host/process.ts";

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();
/** Files up to this size are read synchronously (bytes). */
const SMALL_FILE = 1 << 20;

/** The system as seen from `--root`. Create with {@link Host.open}. */
export class Host {
  /** Real absolute path of the root, symlinks resolved. */
  readonly root: string;
  /** Environment the process runs with (injectable for tests). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** True when the root is the running system's `/` (services may be started, modules loaded). */
  readonly isSystemRoot: boolean;
  /** True when running as uid 0 (ownership can be set). */
  readonly privileged: boolean;
  /** mkdir calls in flight, by in-root path. */
  private readonly pendingDirs = new Map<string, Promise<void>>();
  /**
   * Temps of earlier (killed) runs by real directory, listed at the first write into the directory.
   * A temp made later is this process's own (removed or renamed by whoever made it) or another running
   * process's, which is not ours to remove; so one listing a directory serves the whole run, instead
   * of one a write (a second run of `eksnode ami` on a real root writes dozens of files into /usr/bin).
   */
  private readonly staleTemps = new Map<string, Set<string>>();
  /** While directory syncs are deferred: the real directories whose entries changed since the last sync. */
  private unsyncedDirs: Set<string> | undefined;
  /** The fdatasync of the last durable line appended to a log of this host (see {@link landing}). */
  private announced: Promise<void> = Promise.resolve();
  /** The crash-test hook (lib/host/crash.ts). */
  private readonly crash: CrashHook;

  private constructor(root: string, env: Record<string, string | undefined>) {
    this.root = root;
    this.env = env;
    this.isSystemRoot = root === "/";
    this.privileged = Deno.uid() === 0;
    this.crash = new CrashHook(env);
  }

  /**
   * Opens a root directory, creating it when missing (remembered: a command that then fails removes it
   * again while it is still empty, {@link removeEmptyCreatedRoots}).
   */
  static async open(
    root: string,
    env: Record<string, string | undefined> = Deno.env.toObject(),
  ): Promise<Host> {
    let existed = true;
    try {
      await Deno.lstat(root);
    } catch {
      existed = false;
    }
    await Deno.mkdir(root, { recursive: true });
    const real = await Deno.realPath(root);
    if (!existed) createdRoots.add(real);
    return new Host(real, env);
  }

  /** Maps an in-root path onto the real file system without following symlinks (lexical only). */
  real(path: string): string {
    return realPath(this.root, path);
  }

  /** Maps a real path back to its in-root form, or undefined when it lies outside the root. */
  inRoot(realPath: string): string | undefined {
    return inRoot(this.root, realPath);
  }

  /**
   * Resolves the deepest existing ancestor of `path` (the path itself when `includeSelf`) and
   * throws when a symlink on the way leads outside the root.
   *
   * realpath, readlink and lstat are called synchronously here and in {@link stat}: on a local file
   * system they take microseconds, while each async call waited for a round trip through Deno's
   * blocking-op thread pool, and every host operation guards its path (a second, idempotent `eksnode ami`
   * makes about 225 of them: its steps took 73 ms instead of 52, bench/ami_bench.ts). It stays async so
   * that a refused path reaches every caller as a rejected promise, like any other failure of the host.
   */
  // deno-lint-ignore require-await
  private async guard(path: string, includeSelf: boolean): Promise<string> {
    return this.resolve(path, includeSelf).real;
  }

  /** {@link guard}, telling also whether the path itself exists (followed through symlinks) when `includeSelf`. */
  private resolve(path: string, includeSelf: boolean): { real: string; exists: boolean } {
    return resolveInRoot(this.root, path, includeSelf);
  }

  /**
   * Throws a {@link ContainmentError} unless `path`, resolved through the symlinks that exist on disk
   * (its deepest existing ancestor; a final symlink component is not followed, as writes replace it),
   * lies inside the in-root directory `base`: an archive extracted into `base` stays in it.
   */
  async assertWithin(path: string, base: string): Promise<void> {
    await this.guard(path, false);
    const baseReal = await Deno.realPath(this.real(base));
    let probe = dirname(this.real(path));
    for (;;) {
      try {
        const resolved = await Deno.realPath(probe);
        if (resolved !== baseReal && !resolved.startsWith(baseReal + "/")) {
          throw new ContainmentError(
            `${normalizeInRoot(path)} leads outside ${normalizeInRoot(base)} (through ${
              this.inRoot(probe) ?? probe
            } -> ${this.inRoot(resolved) ?? resolved})`,
            "remove the symlink, or extract into an empty directory",
          );
        }
        return;
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
        probe = dirname(probe);
      }
    }
  }

  /** File information, or undefined when the path does not exist (symlinks not followed). */
  async stat(path: string): Promise<FileInfo | undefined> {
    const real = await this.guard(path, false);
    try {
      const s = Deno.lstatSync(real);
      return {
        isFile: s.isFile,
        isDirectory: s.isDirectory,
        isSymlink: s.isSymlink,
        mode: (s.mode ?? 0) & 0o7777,
        uid: s.uid ?? 0,
        gid: s.gid ?? 0,
        size: s.size,
      };
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
  }

  /** True when the path exists. */
  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== undefined;
  }

  /** File bytes, or undefined when missing. */
  async readBytes(path: string): Promise<Uint8Array | undefined> {
    const { real, exists } = this.resolve(path, true);
    // Missing (the usual case of a first run's checks): known from the guard's realpath, without a read.
    if (!exists) return undefined;
    try {
      // A small file (configs, units, stamps) is read with one synchronous call; a large one without
      // holding up the event loop (downloads may be streaming meanwhile).
      if (Deno.statSync(real).size <= SMALL_FILE) return Deno.readFileSync(real);
      return await Deno.readFile(real);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
  }

  /** File text, or undefined when missing. */
  async readText(path: string): Promise<string | undefined> {
    const bytes = await this.readBytes(path);
    return bytes === undefined ? undefined : textDecoder.decode(bytes);
  }

  /** Names in a directory (sorted), or undefined when missing. */
  async readDir(path: string): Promise<string[] | undefined> {
    const real = await this.guard(path, true);
    try {
      const names: string[] = [];
      for await (const e of Deno.readDir(real)) names.push(e.name);
      return names.sort();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
  }

  /**
   * Creates a directory (and missing parents, 0755) with mode and owner. A new directory is made under
   * a temp name beside the target, given its mode and owner, then renamed into place, so a crash never
   * leaves a directory with the wrong mode behind.
   */
  mkdir(path: string, opts: WriteOptions = {}): Promise<void> {
    return this.makeDir(path, opts, true);
  }

  /**
   * Creates the missing parent of the in-root `path` (0755). It does not wait for {@link landing}: a
   * directory made only to hold a file is no change of its own (nothing is triggered by it), and the
   * file's temp can then be filled while the write-ahead record of the file goes to disk.
   */
  private async makeParent(path: string): Promise<void> {
    const parent = dirname(normalizeInRoot(path));
    if (parent !== "/" && !(await this.exists(parent))) await this.makeDir(parent, { mode: 0o755 }, false);
  }

  /** {@link mkdir}; `lands` false for a parent made on the way (see {@link makeParent}). */
  private async makeDir(path: string, opts: WriteOptions, lands: boolean): Promise<void> {
    // Parallel changes often create the same parent at once: one creates it, the others wait and then
    // find it there, so no second temp directory is made (a kill then leaves at most one, which the
    // next mkdir of the path sweeps away).
    const key = normalizeInRoot(path);
    const before = this.pendingDirs.get(key);
    const made = (before ?? Promise.resolve()).catch(() => {}).then(() => this.mkdirOnce(path, opts, lands));
    this.pendingDirs.set(key, made);
    try {
      await made;
    } finally {
      if (this.pendingDirs.get(key) === made) this.pendingDirs.delete(key);
    }
  }

  private async mkdirOnce(path: string, opts: WriteOptions, lands: boolean): Promise<void> {
    throwIfInterrupted();
    const real = await this.guard(path, false);
    if (normalizeInRoot(path) !== "/") await this.makeParent(path);
    if (lands) await this.landing();
    const existing = lstatOrUndefined(real);
    if (existing) {
      if (!existing.isDirectory) {
        throw new ContainmentError(`${normalizeInRoot(path)} exists and is not a directory`);
      }
      this.setAttributes(real, opts);
      this.crash.point(`mkdir-attrs ${normalizeInRoot(path)}`);
      return;
    }
    this.removeStaleTemps(real);
    const tmp = tempBeside(real);
    trackTemp(tmp);
    try {
      Deno.mkdirSync(tmp, { mode: 0o700 });
      this.crash.point(`mkdir-temp ${normalizeInRoot(path)}`);
      this.setAttributes(tmp, { ...opts, mode: opts.mode ?? 0o755 });
      Deno.renameSync(tmp, real);
    } catch (err) {
      removeQuietly(tmp);
      // Made meanwhile by someone else: the rename found a directory there; keep it, set its attributes.
      if (!lstatOrUndefined(real)?.isDirectory) throw asDiskError(err, this.described(path));
      this.setAttributes(real, opts);
    } finally {
      untrackTemp(tmp);
    }
    this.crash.point(`mkdir-renamed ${normalizeInRoot(path)}`);
    await this.dirChanged(dirname(real));
  }

  /**
   * Writes a file atomically: temp file beside the target, fsync, mode, owner, rename.
   * A crash at any point leaves either the old file or the new one, never a half-written file.
   */
  async writeFile(path: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
    const bytes = typeof data === "string" ? textEncoder.encode(data) : data;
    // The bytes are in memory: written with one synchronous call (a page-cache copy), not a round trip.
    (await this.replaceFile(path, (file) => writeAllSync(file, bytes), opts)).close();
  }

  /**
   * Atomic write whose content comes from a callback writing into the temp file (streams, downloads).
   * When the callback throws, the temp file is removed and the target is left untouched.
   */
  async writeFileWith(
    path: string,
    fill: (file: Deno.FsFile) => Promise<void>,
    opts: WriteOptions = {},
  ): Promise<void> {
    // A stop signal abandons the fill (a download may wait on the network for long).
    (await this.replaceFile(path, (file) => abortable(fill(file)), opts)).close();
  }

  /**
   * Creates (or replaces) the in-root file `path` atomically with the line `first`, and returns it open
   * for appending lines: a write-ahead log, where a record costs one write and, when it must be durable,
   * one fdatasync, instead of a whole atomic rewrite. A kill at any point leaves the old file or the new
   * one with `first` in it; the lines appended later may lack a torn last one after a power cut. A line
   * is durable only once the log's directory entries (and those of any parent made for it) are synced
   * too: a log lost to a power cut would hide the changes made after it.
   */
  async createLog(path: string, first: string, opts: WriteOptions = {}): Promise<AppendLog> {
    const inRoot = normalizeInRoot(path);
    const bytes = textEncoder.encode(first + "\n");
    // A log already there may hold a killed run's records: it is replaced atomically, so they stay until
    // the new one is on disk. A new log is written in place, without waiting for an fsync: the first
    // durable append's fdatasync takes its first line to disk too, and nothing lands before that.
    const file = (await this.exists(inRoot))
      ? await this.replaceFile(inRoot, (f) => writeAllSync(f, bytes), opts, true)
      : await this.createFile(inRoot, bytes, opts);
    // Durable appends run one after another: each fdatasync covers every line written before it. The
    // first syncs the directories first (deferred ones; a run that changes nothing never needs them).
    let syncing: Promise<void> | undefined;
    return {
      append: (text, durable) => {
        writeAllSync(file, textEncoder.encode(text + "\n"));
        this.crash.point(`log-appended ${inRoot}`);
        if (!durable) return Promise.resolve();
        const synced = (syncing ?? this.syncDirectories()).catch(() => {}).then(() => file.syncData()).catch(
          (err) => {
            throw asDiskError(err, this.described(inRoot));
          },
        );
        syncing = synced;
        this.announced = synced;
        return synced;
      },
      close: async () => {
        await syncing?.catch(() => {});
        file.close();
      },
    };
  }

  /** Creates the new in-root file `path` with `bytes`, mode and owner, open for appending (see {@link createLog}). */
  private async createFile(inRoot: string, bytes: Uint8Array, opts: WriteOptions): Promise<Deno.FsFile> {
    throwIfInterrupted();
    await this.makeParent(inRoot);
    const real = await this.guard(inRoot, false);
    let file: Deno.FsFile | undefined;
    try {
      file = Deno.openSync(real, { write: true, createNew: true, append: true, mode: 0o600 });
      this.crash.point(`create ${inRoot}`);
      this.setAttributes(real, { ...opts, mode: opts.mode ?? 0o644 });
      writeAllSync(file, bytes);
    } catch (err) {
      if (file) {
        file.close();
        removeQuietly(real);
      }
      throw asDiskError(err, this.described(inRoot));
    }
    this.crash.point(`created ${inRoot}`);
    await this.dirChanged(dirname(real));
    return file;
  }

  /**
   * The atomic replacement every file write shares: a temp file beside the target (mode 0600 while it
   * fills), filled by `fill`, fsynced, given its mode and owner, renamed over the target. Returns the
   * file, renamed into place and still open (the caller closes it). On failure the temp file is
   * removed and the target is left untouched.
   */
  private async replaceFile(
    path: string,
    fill: (file: Deno.FsFile) => void | Promise<void>,
    opts: WriteOptions,
    append = false,
  ): Promise<Deno.FsFile> {
    throwIfInterrupted();
    const inRoot = normalizeInRoot(path);
    await this.makeParent(inRoot);
    const real = await this.guard(inRoot, false);
    this.removeStaleTemps(real);
    const tmp = tempBeside(real);
    const mode = opts.mode ?? 0o644;
    trackTemp(tmp);
    let file: Deno.FsFile | undefined;
    try {
      file = Deno.openSync(tmp, { write: true, createNew: true, append, mode: 0o600 });
      this.crash.point(`write-temp ${inRoot}`);
      await fill(file);
      this.crash.point(`write-filled ${inRoot}`);
      await file.sync();
      this.setAttributes(tmp, { ...opts, mode });
      this.crash.point(`write-attrs ${inRoot}`);
      await this.landing();
      throwIfInterrupted();
      Deno.renameSync(tmp, real);
    } catch (err) {
      file?.close();
      removeQuietly(tmp);
      throw asDiskError(err, this.described(inRoot));
    } finally {
      untrackTemp(tmp);
    }
    this.crash.point(`write-renamed ${inRoot}`);
    await this.dirChanged(dirname(real));
    return file;
  }

  /**
   * Moves the in-root file `from` onto `to` atomically: mode and owner are set on `from`, then it is
   * renamed over `to` (and both directories are synced). Across file systems, where rename cannot, the
   * bytes are copied into a temp file beside `to` and renamed instead, and `from` is removed.
   */
  async moveFile(from: string, to: string, opts: WriteOptions = {}): Promise<void> {
    throwIfInterrupted();
    const src = await this.guard(from, false);
    const inRoot = normalizeInRoot(to);
    await this.makeParent(inRoot);
    const real = await this.guard(inRoot, false);
    await this.landing();
    this.setAttributes(src, { ...opts, mode: opts.mode ?? 0o644 });
    this.crash.point(`move-attrs ${inRoot}`);
    try {
      Deno.renameSync(src, real);
      this.crash.point(`move-renamed ${inRoot}`);
    } catch (err) {
      if ((err as { code?: string }).code !== "EXDEV") throw asDiskError(err, this.described(to));
      await this.writeFileWith(to, async (file) => {
        const input = await Deno.open(src, { read: true });
        await input.readable.pipeTo(file.writable, { preventClose: true });
      }, opts);
      await Deno.remove(src);
      return;
    }
    await this.dirChanged(dirname(real));
    if (dirname(src) !== dirname(real)) await this.dirChanged(dirname(src));
  }

  /** An in-root path as error messages name it: `/usr/bin/kubelet under /mnt/root` (or alone when root is /). */
  private described(path: string): string {
    const p = normalizeInRoot(path);
    return this.root === "/" ? p : `${p} under ${this.root}`;
  }

  /** Creates or replaces a symlink atomically. */
  async symlink(path: string, target: string): Promise<void> {
    throwIfInterrupted();
    const real = await this.guard(path, false);
    this.removeStaleTemps(real);
    const tmp = tempBeside(real);
    trackTemp(tmp);
    try {
      Deno.symlinkSync(target, tmp);
      this.crash.point(`symlink-temp ${normalizeInRoot(path)}`);
      await this.landing();
      Deno.renameSync(tmp, real);
    } catch (err) {
      removeQuietly(tmp);
      throw asDiskError(err, this.described(path));
    } finally {
      untrackTemp(tmp);
    }
    this.crash.point(`symlink-renamed ${normalizeInRoot(path)}`);
  }

  /**
   * Removes the temps a killed run left in the in-root directory `dir`, whatever file they were for.
   * For eksnode's own state directories, where a file may not be written again by the next run (the
   * journal's directory: the remembered hashes are saved only when there is something new).
   */
  async sweepTemps(dir: string): Promise<void> {
    removeAllStaleTemps(await this.guard(dir, true));
  }

  /**
   * Defers the directory fsyncs that make renames and new directories durable until
   * {@link syncDirectories}, which syncs each changed directory once. For the runner, whose changes are
   * each checked against the disk by the next run: a rename lost to a power cut is a change found undone
   * and applied again. A file's own data is still fsynced before its rename: a rename that reached the
   * disk never shows an empty or half file.
   */
  deferDirectorySyncs(): void {
    this.unsyncedDirs ??= new Set();
  }

  /** Syncs the directories changed while syncs were deferred; with `stop`, later changes sync at once again. */
  async syncDirectories(stop = false): Promise<void> {
    const dirs = this.unsyncedDirs;
    if (stop) this.unsyncedDirs = undefined;
    if (!dirs?.size) return;
    const all = [...dirs];
    dirs.clear();
    await Promise.all(all.map(syncDir));
  }

  /**
   * Waits until every durable line appended to a log so far is on disk. Everything that lands on the
   * disk (a rename into place, a new directory, a removal, a mode change, a command) waits for it
   * first, so the runner's write-ahead record of a change reaches the disk before the change can, while
   * its fdatasync runs alongside the change's own work up to that point (filling and fsyncing the temp
   * file): for a small file, one disk wait instead of two.
   */
  private landing(): Promise<void> {
    return this.announced;
  }

  /** Makes a change of the real directory `dir`'s entries durable now, or when deferred syncs are due. */
  private async dirChanged(dir: string): Promise<void> {
    if (this.unsyncedDirs) this.unsyncedDirs.add(dir);
    else await syncDir(dir);
  }

  /**
   * Runs `fn` with a scratch directory (real path) beside the in-root `path`, named like the host's
   * temp files (`.NAME.eksnode-XXXXXXXX.tmp`), and removes it afterwards. Validators put candidates
   * there: a run killed meanwhile leaves it where the next write of `path` sweeps it away.
   */
  async withScratchBeside<T>(path: string, fn: (dir: string) => Promise<T>): Promise<T> {
    throwIfInterrupted();
    const inRoot = normalizeInRoot(path);
    await this.makeParent(inRoot);
    const real = await this.guard(inRoot, false);
    const tmp = tempBeside(real);
    trackTemp(tmp);
    try {
      Deno.mkdirSync(tmp, { mode: 0o700 });
      this.crash.point(`scratch ${inRoot}`);
      return await fn(tmp);
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      untrackTemp(tmp);
    }
  }

  /** Target of a symlink, or undefined. */
  async readLink(path: string): Promise<string | undefined> {
    const real = await this.guard(path, false);
    try {
      return await Deno.readLink(real);
    } catch {
      return undefined;
    }
  }

  /** Removes a file, symlink or (with recursive) a directory; missing is fine. */
  async remove(path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    // No stop check: removing is what a stopped run still does while it cleans up.
    const real = await this.guard(path, false);
    if (real === this.root) throw new ContainmentError("refusing to remove the root itself");
    await this.landing();
    try {
      await Deno.remove(real, { recursive: opts.recursive ?? false });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      return;
    }
    this.crash.point(`removed ${normalizeInRoot(path)}`);
  }

  /** Sets mode and owner on a real path (owner only when privileged). */
  private setAttributes(real: string, opts: WriteOptions): void {
    if (opts.mode !== undefined) Deno.chmodSync(real, opts.mode);
    if (opts.owner && this.privileged) Deno.chownSync(real, opts.owner.uid, opts.owner.gid);
  }

  /** Sets mode and owner on an in-root path. */
  async chmodChown(path: string, opts: WriteOptions): Promise<void> {
    throwIfInterrupted();
    // chmod and chown follow a symlink: the path itself is resolved and must stay inside the root.
    const real = await this.guard(path, true);
    await this.landing();
    this.setAttributes(real, opts);
    this.crash.point(`chmod ${normalizeInRoot(path)}`);
  }

  /**
   * Removes what a run killed midway left beside `real` (`.NAME.eksnode-XXXXXXXX.tmp`: a file, a
   * symlink or a scratch directory), so a resumed run ends in the same tree as a clean one. Temp paths
   * this process is still using are kept.
   */
  private removeStaleTemps(real: string): void {
    const dir = dirname(real);
    let stale = this.staleTemps.get(dir);
    if (!stale) {
      stale = new Set(listTemps(dir).map((e) => e.name));
      this.staleTemps.set(dir, stale);
    }
    if (stale.size === 0) return;
    const prefix = `.${basename(real)}${TEMP_INFIX}`;
    for (const name of stale) {
      if (!name.startsWith(prefix) || !TEMP_SUFFIX.test(name.slice(prefix.length))) continue;
      stale.delete(name);
      const path = join(dir, name);
      if (!isLiveTemp(path)) removeQuietly(path, true);
    }
  }

  /** True when mode (and owner, where it can be set) match. */
  async attributesMatch(path: string, opts: WriteOptions): Promise<boolean> {
    const s = await this.stat(path);
    if (!s) return false;
    if (opts.mode !== undefined && s.mode !== opts.mode) return false;
    if (opts.owner && this.privileged && (s.uid !== opts.owner.uid || s.gid !== opts.owner.gid)) return false;
    return true;
  }

  /**
   * The running kernel's release, as `uname -r` prints it ("unknown" when it cannot be read).
   * `EKSNODE_KERNEL_RELEASE` in the environment takes its place: in a chroot builder the running kernel
   * is the builder's, not the image's, and the tests use it to run as on a machine with another kernel.
   */
  kernelRelease(): string {
    return kernelRelease(this.env);
  }

  /** Finds an executable on PATH of the running system (not under the root). */
  which(command: string): Promise<string | undefined> {
    return which(this.env, command);
  }

  /**
   * Runs a command from an argv array (never a shell string), with a timeout and captured output.
   * A non-zero exit throws a {@link CommandError} naming the command and the tail of its stderr.
   */
  exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return runCommand(argv, opts, {
      landing: () => this.landing(),
      crashPoint: (label) => this.crash.point(label),
      which: (command) => this.which(command),
    });
  }
}

/** Roots {@link Host.open} created in this process. */
const createdRoots = new Set<string>();

/**
 * Removes the roots this process created that are still empty: a command that failed before writing
 * anything (a usage error, a bad config) leaves no directory behind. Returns the paths removed.
 */
export async function removeEmptyCreatedRoots(): Promise<string[]> {
  const removed: string[] = [];
  for (const root of createdRoots) {
    try {
      await Deno.remove(root); // not recursive: fails on a root with anything in it
      removed.push(root);
    } catch {
      // not empty, or gone: leave it
    }
    createdRoots.delete(root);
  }
  return removed;
}
