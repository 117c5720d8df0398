/**
 * Writes small ustar archives in memory, optionally gzipped: the log bundle of `eksnode collect-logs`
 * and the fake release tarballs of the tests. Names longer than 100 bytes use the ustar prefix field.
 */

/** One entry to write. */
export interface TarInput {
  name: string;
  type?: "file" | "dir" | "symlink" | "hardlink";
  mode?: number;
  data?: Uint8Array | string;
  linkname?: string;
  /** Modification time in seconds since the epoch (default 0, for reproducible archives). */
  mtime?: number;
}

const enc = new TextEncoder();

function octal(n: number, len: number): string {
  return n.toString(8).padStart(len - 1, "0") + "\0";
}

/** Splits a name into ustar (prefix, name) fields: name ≤ 100 bytes, prefix ≤ 155 bytes. */
function splitName(full: string): [string, string] {
  if (enc.encode(full).length <= 100) return ["", full];
  for (let i = full.indexOf("/"); i !== -1; i = full.indexOf("/", i + 1)) {
    const prefix = full.slice(0, i);
    const rest = full.slice(i + 1);
    if (enc.encode(prefix).length <= 155 && enc.encode(rest).length <= 100 && rest !== "") {
      return [prefix, rest];
    }
  }
  throw new RangeError(`tar entry name too long for ustar: ${full}`);
}

/** Writes a tar archive; gzips it when asked. */
export async function makeTar(entries: TarInput[], gzip = true): Promise<Uint8Array> {
  const blocks: Uint8Array[] = [];
  for (const e of entries) {
    const data = typeof e.data === "string" ? enc.encode(e.data) : (e.data ?? new Uint8Array());
    const h = new Uint8Array(512);
    const put = (s: string, off: number) => h.set(enc.encode(s), off);
    const [prefix, name] = splitName(e.name);
    put(name, 0);
    put(octal(e.mode ?? (e.type === "dir" ? 0o755 : 0o644), 8), 100);
    put(octal(0, 8), 108);
    put(octal(0, 8), 116);
    put(octal(e.type === "file" || !e.type ? data.length : 0, 12), 124);
    put(octal(Math.max(0, Math.floor(e.mtime ?? 0)), 12), 136);
    put("        ", 148);
    const flag = { file: "0", dir: "5", symlink: "2", hardlink: "1" }[e.type ?? "file"];
    put(flag, 156);
    if (e.linkname) put(e.linkname, 157);
    put("ustar\x0000", 257);
    if (prefix) put(prefix, 345);
    const sum = h.reduce((a, b) => a + b, 0);
    put(octal(sum, 7) + " ", 148);
    blocks.push(h);
    if (!e.type || e.type === "file") {
      blocks.push(data);
      const pad = (512 - (data.length % 512)) % 512;
      if (pad) blocks.push(new Uint8Array(pad));
    }
  }
  blocks.push(new Uint8Array(1024));
  const tar = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of blocks) {
    tar.set(b, off);
    off += b.length;
  }
  if (!gzip) return tar;
  const gz = new Blob([tar]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(gz).arrayBuffer());
}
