/**
 * A small, strict tar reader (ustar, GNU long names, pax path/linkpath) over a byte stream, gzip
 * optional. It refuses entries that could escape the extraction directory: absolute names, `..`
 * segments, hard links, symlinks whose target leaves the directory, and any entry or symlink target
 * that passes through a symlink of the same archive (`a -> .` then `a/b -> ..` would otherwise lead
 * out). A malformed archive (bad header checksum or size, broken gzip, truncated) is a
 * {@link ChecksumError}, never an uncaught exception.
 */
import { ChecksumError, ContainmentError, EksnodeError } from "./errors.ts";

/** One archive entry; `data` is set for regular files. */
export interface TarEntry {
  name: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  linkname?: string;
  data?: Uint8Array;
}

const dec = new TextDecoder();

function field(block: Uint8Array, off: number, len: number): string {
  const raw = block.subarray(off, off + len);
  const nul = raw.indexOf(0);
  return dec.decode(nul === -1 ? raw : raw.subarray(0, nul));
}

/** An octal header number; NaN when the field holds anything else. */
function octal(block: Uint8Array, off: number, len: number): number {
  const s = field(block, off, len).trim();
  if (s === "") return 0;
  return /^[0-7]+$/.test(s) ? parseInt(s, 8) : NaN;
}

/** True when the header's checksum field matches its bytes (the field itself counted as spaces). */
function checksumOk(header: Uint8Array): boolean {
  const stored = octal(header, 148, 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return stored === sum;
}

function corrupt(archive: string, detail: string): ChecksumError {
  return new ChecksumError(
    `archive ${archive} is corrupt: ${detail}`,
    "the artifact is not a valid (gzip) tar; check the pinned URL and checksum",
  );
}

/** Reads exactly n bytes from a byte reader, or fewer at end of stream (linear in bytes read). */
class ByteReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private done = false;
  constructor(private reader: ReadableStreamDefaultReader<Uint8Array>) {}
  async read(n: number): Promise<Uint8Array> {
    while (this.buffered < n && !this.done) {
      const { value, done } = await this.reader.read();
      if (done) {
        this.done = true;
        break;
      }
      this.chunks.push(value);
      this.buffered += value.length;
    }
    const want = Math.min(n, this.buffered);
    const out = new Uint8Array(want);
    let off = 0;
    while (off < want) {
      const head = this.chunks[0];
      const take = Math.min(head.length, want - off);
      out.set(head.subarray(0, take), off);
      off += take;
      if (take === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(take);
    }
    this.buffered -= want;
    return out;
  }
}

/** Checks that an entry name is relative and stays inside the extraction directory. */
export function safeEntryName(name: string, archive: string): string {
  const clean = name.replace(/^\.\/+/, "").replace(/\/+$/, "");
  if (clean.startsWith("/")) {
    throw new ContainmentError(`archive ${archive} has an absolute entry ${name}; refused`);
  }
  if (clean.split("/").includes("..")) {
    throw new ContainmentError(`archive ${archive} has an entry with ".." (${name}); refused`);
  }
  return clean;
}

/**
 * Checks that a symlink entry's target resolves inside the extraction directory, without passing
 * through another symlink of the archive (`links`: names of the symlinks seen so far).
 */
export function safeLinkTarget(
  name: string,
  target: string,
  archive: string,
  links: ReadonlySet<string> = new Set(),
): void {
  const refuse = (why: string) =>
    new ContainmentError(`archive ${archive} has a symlink ${name} -> ${target} ${why}; refused`);
  if (target === "" || target.startsWith("/")) throw refuse("leading outside");
  const parts = name.split("/").slice(0, -1);
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) throw refuse("leading outside");
      parts.pop();
      continue;
    }
    parts.push(part);
    if (links.has(parts.join("/"))) throw refuse(`passing through the symlink ${parts.join("/")}`);
  }
}

/** The symlink of the archive that `name` would be written through, if any. */
function throughLink(name: string, links: ReadonlySet<string>): string | undefined {
  const parts = name.split("/");
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join("/");
    if (links.has(prefix)) return prefix;
  }
  return undefined;
}

/** Reads all entries of a (optionally gzipped) tar stream, validating every name. */
export async function* readTar(
  stream: ReadableStream<Uint8Array>,
  opts: { gzip?: boolean; archive?: string } = {},
): AsyncGenerator<TarEntry> {
  const archive = opts.archive ?? "archive";
  const source = opts.gzip
    ? stream.pipeThrough(
      new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    )
    : stream;
  const r = new ByteReader(source.getReader());
  const read = async (n: number) => {
    try {
      return await r.read(n);
    } catch (err) {
      if (err instanceof EksnodeError) throw err;
      throw corrupt(archive, `cannot be read: ${(err as Error).message}`);
    }
  };
  const links = new Set<string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const header = await read(512);
    if (header.length === 0 || header.every((b) => b === 0)) return;
    if (header.length < 512) throw corrupt(archive, "it ends inside a header");
    if (!checksumOk(header)) throw corrupt(archive, "a header checksum does not match");
    const size = octal(header, 124, 12);
    if (!Number.isSafeInteger(size)) throw corrupt(archive, "an entry size is not an octal number");
    const typeflag = String.fromCharCode(header[156] || 48);
    const prefix = field(header, 345, 155);
    let name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    let linkname = longLink ?? field(header, 157, 100);
    longName = longLink = undefined;
    const body = await read(size);
    if (body.length < size) throw new ContainmentError(`archive ${archive} is truncated in entry ${name}`);
    const pad = (512 - (size % 512)) % 512;
    if (pad) await read(pad);
    if (typeflag === "L") {
      longName = dec.decode(body).replace(/\0+$/, "");
      continue;
    }
    if (typeflag === "K") {
      longLink = dec.decode(body).replace(/\0+$/, "");
      continue;
    }
    if (typeflag === "x" || typeflag === "g") {
      if (typeflag === "x") {
        for (const rec of parsePax(body)) {
          if (rec[0] === "path") longName = rec[1];
          if (rec[0] === "linkpath") longLink = rec[1];
        }
      }
      continue;
    }
    const mode = octal(header, 100, 8) & 0o7777;
    name = safeEntryName(name, archive);
    if (name === "" || name === ".") continue;
    const via = throughLink(name, links);
    if (via !== undefined) {
      throw new ContainmentError(
        `archive ${archive} has an entry ${name} inside its symlink ${via}; refused`,
      );
    }
    if (typeflag === "5") {
      yield { name, type: "dir", mode };
    } else if (typeflag === "0" || typeflag === "7") {
      yield { name, type: "file", mode, data: body };
    } else if (typeflag === "2") {
      safeLinkTarget(name, linkname, archive, links);
      links.add(name);
      yield { name, type: "symlink", mode, linkname };
    } else if (typeflag === "1") {
      throw new ContainmentError(`archive ${archive} has a hard link ${name} -> ${linkname}; refused`);
    } else {
      throw new ContainmentError(
        `archive ${archive} has an unsupported entry type '${typeflag}' (${name}); refused`,
      );
    }
    linkname = "";
  }
}

function parsePax(body: Uint8Array): [string, string][] {
  const out: [string, string][] = [];
  const text = dec.decode(body);
  let i = 0;
  while (i < text.length) {
    const sp = text.indexOf(" ", i);
    if (sp === -1) break;
    const len = Number(text.slice(i, sp));
    // Each record is "LEN key=value\n" with LEN counting the whole record: anything else ends the list.
    if (!Number.isSafeInteger(len) || len <= sp - i + 1 || i + len > text.length) break;
    const rec = text.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf("=");
    out.push([rec.slice(0, eq), rec.slice(eq + 1)]);
    i += len;
  }
  return out;
}
