/** Builds small ustar (optionally gzipped) archives in memory, for fake release tarballs. */

/** One entry to write. */
export interface TarInput {
  name: string;
  type?: "file" | "dir" | "symlink" | "hardlink";
  mode?: number;
  data?: Uint8Array | string;
  linkname?: string;
}

const enc = new TextEncoder();

function octal(n: number, len: number): string {
  return n.toString(8).padStart(len - 1, "0") + "\0";
}

/** Writes a tar archive; gzips it when asked. */
export async function makeTar(entries: TarInput[], gzip = true): Promise<Uint8Array> {
  const blocks: Uint8Array[] = [];
  for (const e of entries) {
    const data = typeof e.data === "string" ? enc.encode(e.data) : (e.data ?? new Uint8Array());
    const h = new Uint8Array(512);
    const put = (s: string, off: number) => h.set(enc.encode(s), off);
    put(e.name, 0);
    put(octal(e.mode ?? (e.type === "dir" ? 0o755 : 0o644), 8), 100);
    put(octal(0, 8), 108);
    put(octal(0, 8), 116);
    put(octal(e.type === "file" || !e.type ? data.length : 0, 12), 124);
    put(octal(0, 12), 136);
    put("        ", 148);
    const flag = { file: "0", dir: "5", symlink: "2", hardlink: "1" }[e.type ?? "file"];
    put(flag, 156);
    if (e.linkname) put(e.linkname, 157);
    put("ustar\x0000", 257);
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
