/**
 * A small, strict tar reader (ustar, GNU long names, pax path/linkpath) over a byte stream, gzip
 * optional. It refuses entries that could escape the extraction directory: absolute names, `..`
 * segments, hard links, and symlinks whose target leaves the directory.
 */
import { posix } from "node:path";
import { ContainmentError } from "./errors.ts";

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

function octal(block: Uint8Array, off: number, len: number): number {
  const s = field(block, off, len).trim();
  return s ? parseInt(s, 8) : 0;
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

/** Checks that a symlink entry's target resolves inside the extraction directory. */
export function safeLinkTarget(name: string, target: string, archive: string): void {
  const resolved = posix.normalize(posix.join(posix.dirname(name), target));
  if (target.startsWith("/") || resolved === ".." || resolved.startsWith("../")) {
    throw new ContainmentError(
      `archive ${archive} has a symlink ${name} -> ${target} leading outside; refused`,
    );
  }
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
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const header = await r.read(512);
    if (header.length < 512 || header.every((b) => b === 0)) return;
    const size = octal(header, 124, 12);
    const typeflag = String.fromCharCode(header[156] || 48);
    const prefix = field(header, 345, 155);
    let name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    let linkname = longLink ?? field(header, 157, 100);
    longName = longLink = undefined;
    const body = await r.read(size);
    if (body.length < size) throw new ContainmentError(`archive ${archive} is truncated in entry ${name}`);
    const pad = (512 - (size % 512)) % 512;
    if (pad) await r.read(pad);
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
    if (typeflag === "5") {
      yield { name, type: "dir", mode };
    } else if (typeflag === "0" || typeflag === "7") {
      yield { name, type: "file", mode, data: body };
    } else if (typeflag === "2") {
      safeLinkTarget(name, linkname, archive);
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
    const len = parseInt(text.slice(i, sp), 10);
    if (!len) break;
    const rec = text.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf("=");
    out.push([rec.slice(0, eq), rec.slice(eq + 1)]);
    i += len;
  }
  return out;
}
