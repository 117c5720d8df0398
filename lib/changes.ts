/**
 * The common kinds of {@link Change}: directories, files, verified downloads and archives, commands,
 * removals, symlinks and notes. Each checks the disk first, so a change already true is dropped.
 */
import { createHash } from "node:crypto";
import { posix } from "node:path";
import { type DownloadSource, downloadVerified, sha256File, sha256Hex, sha256RealFile } from "./download.ts";
import { ChecksumError, ConfigError } from "./errors.ts";
import { rememberWritten } from "./hash_cache.ts";
import type { ExecOptions, Host } from "./host.ts";
import type { Logger } from "./log.ts";
import type { ApplyContext, Change, Owner, RunState } from "./step.ts";
import { ROOT } from "./step.ts";
import { readTar } from "./tar.ts";

/** Mode and owner of something written. */
export interface Attrs {
  mode?: number;
  owner?: Owner;
}

/** `0644` style rendering of a mode. */
export function modeString(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}

function attrsText(mode: number, owner: Owner): string {
  return `${modeString(mode)} ${owner.name}`;
}

function sizeText(n: number): string {
  return n < 1024
    ? `${n} B`
    : n < 1048576
    ? `${(n / 1024).toFixed(1)} KiB`
    : `${(n / 1048576).toFixed(1)} MiB`;
}

/** A directory with mode and owner (parents created 0755 when missing). */
export function dir(path: string, attrs: Attrs = {}): Change {
  const mode = attrs.mode ?? 0o755;
  const owner = attrs.owner ?? ROOT;
  return {
    kind: "dir",
    key: path,
    describe: () => `dir ${path} ${attrsText(mode, owner)}`,
    satisfied: async ({ host }) =>
      (await host.stat(path))?.isDirectory === true && host.attributesMatch(path, attrs),
    apply: ({ host }) => host.mkdir(path, { mode, owner }),
  };
}

/** A file with exact content, mode and owner, written atomically. */
export function file(path: string, content: string | Uint8Array, attrs: Attrs = {}): Change {
  const mode = attrs.mode ?? 0o644;
  const owner = attrs.owner ?? ROOT;
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
  const digest = createHash("sha256").update(bytes).digest("hex");
  return {
    kind: "file",
    key: path,
    describe: () =>
      `file ${path} ${attrsText(mode, owner)} (${sizeText(bytes.length)}, sha256 ${digest.slice(0, 12)})`,
    async satisfied({ host }) {
      const cur = await host.readBytes(path);
      if (!cur || cur.length !== bytes.length || !cur.every((b, i) => b === bytes[i])) return false;
      return host.attributesMatch(path, { mode, owner });
    },
    apply: ({ host }) => host.writeFile(path, bytes, { mode, owner }),
  };
}

/** A file downloaded from `src`, verified against its pinned (and published) SHA-256. */
export function download(src: DownloadSource, to: string, attrs: Attrs = {}): Change {
  const mode = attrs.mode ?? 0o755;
  const owner = attrs.owner ?? ROOT;
  return {
    kind: "download",
    key: to,
    parallel: true,
    describe: () =>
      `download ${src.url} -> ${to} ${attrsText(mode, owner)} sha256 ${src.sha256}${
        src.checksumUrl ? ` (and ${posix.basename(src.checksumUrl)} must agree)` : ""
      }`,
    async satisfied({ host }) {
      return (await sha256File(host, to)) === src.sha256 && host.attributesMatch(to, { mode, owner });
    },
    prefetch: ({ host, log, run }) => prefetchInto(host, src, log, run),
    discardPrefetch: ({ host }) => host.remove(cachePath(src)),
    async apply({ host, log, run }) {
      // A prefetch that failed has used the download's retries: its error is this change's error.
      await run.prefetched?.get(to);
      const cached = cachePath(src);
      if ((await sha256File(host, cached)) === src.sha256) {
        // Prefetched and verified: moved into place atomically (copied when the cache is another file system).
        await host.moveFile(cached, to, { mode, owner });
        await rememberWritten(host.real(to), src.sha256);
        return;
      }
      const r = await downloadVerified(host, src, to, { mode, owner }, { log, ...run.download });
      log.debug(`downloaded ${src.url}: ${r.bytes} bytes in ${r.attempts} attempt(s)`);
    },
  };
}

/** Where a prefetched artifact waits inside the root, named by its SHA-256. */
function cachePath(src: DownloadSource): string {
  return `/var/cache/eksnode/${src.sha256}.download`;
}

/** Downloads `src` verified into its cache path unless a verified copy is already there. */
async function prefetchInto(host: Host, src: DownloadSource, log: Logger, run: RunState): Promise<void> {
  if ((await sha256File(host, cachePath(src))) === src.sha256) return;
  await downloadVerified(host, src, cachePath(src), { mode: 0o600 }, { log, ...run.download });
}

/** Options for {@link extract}. */
export interface ExtractOptions {
  /** Leading path components to drop (like tar --strip-components). */
  strip?: number;
  /** Keep only entries (after strip) for which this returns true. */
  select?: (name: string) => boolean;
  /** Mode for extracted files; default: the archive's mode. */
  mode?: number;
  owner?: Owner;
  /** Where the stamp of what was extracted is kept (in-root dir). */
  stampDir?: string;
}

interface Stamp {
  archiveSha256: string;
  files: { path: string; sha256: string; mode: number }[];
}

/**
 * A tar.gz archive downloaded, verified, and extracted into `into`. Entries that could escape
 * (`..`, absolute, links outside) are refused. A stamp under /var/lib/eksnode/extracted records the
 * files and their hashes, so a rerun checks the files rather than downloading again.
 */
export function extract(src: DownloadSource, into: string, opts: ExtractOptions = {}): Change {
  const owner = opts.owner ?? ROOT;
  const stampDir = opts.stampDir ?? "/var/lib/eksnode/extracted";
  const stampPath = `${stampDir}/${src.sha256.slice(0, 16)}-${into.replaceAll("/", "_")}.json`;
  return {
    kind: "extract",
    key: `extract:${into}:${src.sha256}`,
    parallel: true,
    describe: () => `extract ${src.url} -> ${into}/ sha256 ${src.sha256}`,
    async satisfied({ host }) {
      const text = await host.readText(stampPath);
      if (!text) return false;
      const stamp = JSON.parse(text) as Stamp;
      if (stamp.archiveSha256 !== src.sha256) return false;
      for (const f of stamp.files) {
        if ((await sha256File(host, f.path)) !== f.sha256) return false;
        if (!(await host.attributesMatch(f.path, { mode: f.mode, owner }))) return false;
      }
      return true;
    },
    prefetch: ({ host, log, run }) => prefetchInto(host, src, log, run),
    discardPrefetch: ({ host }) => host.remove(cachePath(src)),
    async apply({ host, log, run }) {
      await run.prefetched?.get(`extract:${into}:${src.sha256}`);
      const tmp = cachePath(src);
      await prefetchInto(host, src, log, run);
      try {
        const files: Stamp["files"] = [];
        const archive = posix.basename(new URL(src.url).pathname);
        const entries = async function* () {
          const fh = await Deno.open(host.real(tmp), { read: true });
          yield* readTar(fh.readable, { gzip: true, archive });
        };
        // First pass: read the whole archive, so an unsafe entry anywhere refuses it before any file lands.
        for await (const _ of entries()) { /* readTar validates every entry */ }
        if (!(await host.exists(into))) await host.mkdir(into, { mode: 0o755, owner });
        for await (const entry of entries()) {
          const parts = entry.name.split("/").slice(opts.strip ?? 0);
          if (parts.length === 0 || parts.join("") === "") continue;
          const rel = parts.join("/");
          if (opts.select && !opts.select(rel)) continue;
          const target = `${into}/${rel}`;
          // Symlinks already on disk under `into` may not lead an entry elsewhere in the root either.
          await host.assertWithin(target, into);
          if (entry.type === "dir") {
            await host.mkdir(target, { mode: 0o755, owner });
          } else if (entry.type === "symlink") {
            await host.symlink(target, entry.linkname!);
          } else {
            const mode = opts.mode ?? (entry.mode || 0o644);
            await host.writeFile(target, entry.data!, { mode, owner });
            const sha256 = await sha256Hex(entry.data!);
            await rememberWritten(host.real(target), sha256);
            files.push({ path: target, sha256, mode });
          }
        }
        const stamp: Stamp = { archiveSha256: src.sha256, files };
        await host.writeFile(stampPath, JSON.stringify(stamp, null, 2) + "\n", { mode: 0o644 });
      } finally {
        await host.remove(tmp);
      }
    },
  };
}

/** Options for {@link exec}. */
export interface ExecChangeOptions extends ExecOptions {
  /** Why the command runs, shown in the plan. */
  why?: string;
  /** Run only when one of these change keys was applied in this run (a trigger). */
  whenChanged?: string[];
  /** Run only when this returns false (the command's effect is not yet true). */
  check?: (ctx: ApplyContext) => Promise<boolean>;
  /** Identity for the journal (default: the argv). */
  key?: string;
}

/**
 * A command from an argv array. Without `check` or `whenChanged` it always runs, so steps give one
 * of them to stay idempotent.
 */
export function exec(argv: string[], opts: ExecChangeOptions = {}): Change {
  const shown = argv.join(" ");
  return {
    kind: "exec",
    key: opts.key ?? `exec:${shown}`,
    describe: () => `run ${shown}${opts.why ? `  (${opts.why})` : ""}`,
    async satisfied(ctx) {
      if (opts.whenChanged && !opts.whenChanged.some((k) => ctx.run.changed.has(k))) return true;
      if (opts.check) return await opts.check(ctx);
      return false;
    },
    async apply({ host }) {
      await host.exec(argv, opts);
    },
  };
}

/** Removes a file or directory tree when present. */
export function remove(path: string, opts: { recursive?: boolean } = {}): Change {
  return {
    kind: "remove",
    key: path,
    describe: () => `remove ${path}`,
    satisfied: async ({ host }) => !(await host.stat(path)),
    apply: ({ host }) => host.remove(path, opts),
  };
}

/** A symlink `path` -> `target`. */
export function symlink(path: string, target: string): Change {
  return {
    kind: "symlink",
    key: path,
    describe: () => `symlink ${path} -> ${target}`,
    satisfied: async ({ host }) => (await host.readLink(path)) === target,
    apply: ({ host }) => host.symlink(path, target),
  };
}

/** A line in the plan that is not a change: why something is skipped, what was decided. */
export function note(text: string): Change {
  return {
    kind: "note",
    key: `note:${text}`,
    informational: true,
    describe: () => text,
    satisfied: () => Promise.resolve(false),
    apply: () => Promise.resolve(),
  };
}

/**
 * A copy of `src`, a file of the running system (read outside --root, e.g. the eksnode binary
 * itself), to the in-root path `to`. The copy is streamed into a temp file, hashed on the way, and
 * compared with the source's SHA-256 again after the rename; a difference removes it and throws.
 */
export function copyFile(src: string, to: string, attrs: Attrs = {}): Change {
  const mode = attrs.mode ?? 0o644;
  const owner = attrs.owner ?? ROOT;
  let srcHash: Promise<string> | undefined;
  const sourceHash = () => {
    srcHash ??= sha256RealFile(src).catch((err) => {
      throw new ConfigError(`cannot read ${src} to copy it to ${to}: ${(err as Error).message}`);
    });
    return srcHash;
  };
  return {
    kind: "copy",
    key: to,
    describe: () => `copy ${src} -> ${to} ${attrsText(mode, owner)}`,
    async satisfied({ host }) {
      return (await sha256File(host, to)) === (await sourceHash()) &&
        host.attributesMatch(to, { mode, owner });
    },
    async apply({ host }) {
      const want = await sourceHash();
      let copied = "";
      await host.writeFileWith(to, async (out) => {
        const hash = createHash("sha256");
        const input = await Deno.open(src, { read: true });
        for await (const chunk of input.readable) {
          hash.update(chunk);
          let off = 0;
          while (off < chunk.length) off += await out.write(chunk.subarray(off));
        }
        copied = hash.digest("hex");
        if (copied !== want) {
          throw new ChecksumError(`${src} changed while it was copied (sha256 ${copied}, expected ${want})`);
        }
      }, { mode, owner });
      const written = await sha256File(host, to);
      if (written !== want) {
        await host.remove(to);
        throw new ChecksumError(
          `${to} does not match ${src} after the copy (sha256 ${written}, expected ${want}); removed it`,
          "check the disk under --root",
        );
      }
    },
  };
}

/** What a {@link checkedFile} validator reports. */
export interface ValidationResult {
  ok: boolean;
  /** Why it failed (or a caveat when it passed). */
  detail?: string;
}

/**
 * Checks candidate content before it is installed. `candidate` is the real path of a file holding the
 * new content, alone in a scratch directory beside the target inside the root; the validator may write
 * its own files beside it (`dirname(candidate)`): the directory is removed afterwards.
 */
export type Validator = (candidate: string, host: Host) => Promise<ValidationResult>;

/**
 * A {@link file} whose content is validated by a tool (`sshd -t`, `logrotate -d`, ...) before it
 * replaces the target: the content goes to a scratch copy first, the validator runs on it, and only a
 * passing candidate is installed. A failing one leaves the target untouched and throws.
 */
export function checkedFile(
  path: string,
  content: string,
  attrs: Attrs,
  validatorName: string,
  validate: Validator,
): Change {
  const inner = file(path, content, attrs);
  return {
    ...inner,
    describe: () => `${inner.describe()}, checked with ${validatorName}`,
    async apply(ctx) {
      const { host, log } = ctx;
      const result = await host.withScratchBeside(path, async (scratch) => {
        const candidate = posix.join(scratch, posix.basename(path));
        await Deno.writeTextFile(candidate, content, { mode: attrs.mode ?? 0o644 });
        return await validate(candidate, host);
      });
      if (!result.ok) {
        throw new ConfigError(
          `${path}: ${validatorName} rejected the new content: ${result.detail ?? "no detail"}`,
          "the target was left as it was; fix the template or the input it is rendered from",
        );
      }
      if (result.detail) log.info(`      ${path}: ${validatorName}: ${result.detail}`);
      await inner.apply(ctx);
    },
  };
}

/**
 * `change` (a file at `path`), also satisfied while `path` holds the bytes of `copy`: the copy another
 * program keeps of what it installed at `path` (`eksnode init` keeps /etc/eks/containerd/*), so a rerun
 * leaves that program's version in place instead of putting back its own starting value. A file that
 * matches neither (edited by hand, or the copy gone) is written as `change` says.
 * @example satisfiedByCopy(file("/etc/containerd/config.toml", text), "/etc/containerd/config.toml", "/etc/eks/containerd/containerd-config.toml")
 */
export function satisfiedByCopy(change: Change, path: string, copy: string): Change {
  return {
    ...change,
    async satisfied(ctx) {
      if (await change.satisfied(ctx)) return true;
      const [cur, kept] = await Promise.all([ctx.host.readBytes(path), ctx.host.readBytes(copy)]);
      return cur !== undefined && kept !== undefined && cur.length === kept.length &&
        cur.every((b, i) => b === kept[i]);
    },
  };
}
