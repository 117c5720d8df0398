/**
 * Child process of bench/hash_bench.ts: hashes one file with one method and prints
 * `{"seconds": …, "sha256": "…"}` (the time from opening the file to the digest, start-up excluded).
 * Usage: deno run -A bench/lib/hash_child.ts METHOD FILE
 */
import { createHash } from "node:crypto";
import { createSHA256 } from "hash-wasm";
import { sha256 } from "@noble/hashes/sha2.js";
import { sha256RealFile } from "../../lib/download.ts";

const hex = (d: Uint8Array) => Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");

/** Feeds `update` from the file in chunks read into one reused buffer. */
async function readInto(path: string, update: (chunk: Uint8Array) => void, size = 1 << 20): Promise<void> {
  using file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(size);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) return;
    update(buf.subarray(0, n));
  }
}

/** Feeds `update` from the file's ReadableStream (a new chunk per read). */
async function readStream(path: string, update: (chunk: Uint8Array) => void): Promise<void> {
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) update(chunk);
}

/** The candidates, by name: each returns the hex digest of the file. */
export const METHODS: Record<string, (path: string) => Promise<string>> = {
  "eksnode": (path) => sha256RealFile(path),
  "node-crypto-buffer": async (path) => {
    const h = createHash("sha256");
    await readInto(path, (c) => h.update(c));
    return h.digest("hex");
  },
  "node-crypto-readable": async (path) => {
    const h = createHash("sha256");
    await readStream(path, (c) => h.update(c));
    return h.digest("hex");
  },
  "hash-wasm": async (path) => {
    const h = await createSHA256();
    await readInto(path, (c) => h.update(c));
    return h.digest("hex");
  },
  "noble": async (path) => {
    const h = sha256.create();
    await readInto(path, (c) => h.update(c));
    return hex(h.digest());
  },
  "webcrypto-whole": async (path) =>
    hex(new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(path)))),
  "node-crypto-whole": async (path) => createHash("sha256").update(await Deno.readFile(path)).digest("hex"),
};

if (import.meta.main) {
  const [method, path] = Deno.args;
  const fn = METHODS[method];
  if (!fn) throw new Error(`unknown method ${method} (known: ${Object.keys(METHODS).join(", ")})`);
  const t0 = performance.now();
  const sha = await fn(path);
  console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, sha256: sha }));
}
