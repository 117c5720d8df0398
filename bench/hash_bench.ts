/**
 * SHA-256 of a 512 MiB file (BENCH_HASH_MIB) against `sha256sum`: the streaming hash eksnode ships
 * (lib/download.ts sha256RealFile) and the candidates (node:crypto with a reused buffer or a stream,
 * hash-wasm, @noble/hashes, whole-buffer Web Crypto and node:crypto), each in a child process of its
 * own so its memory is its own. Throughput ratio = sha256sum's time / the candidate's; RSS growth =
 * the child's peak RSS hashing the file minus hashing an empty file. `openssl dgst` (SHA-NI) is shown
 * as the ceiling. Targets for eksnode's: throughput >= 0.8x, RSS growth <= 64 MiB.
 */
import { available, denoRun, measureOk } from "./lib/proc.ts";
import { markdownTable, type Section } from "./lib/report.ts";
import { fmt, fmtRatio, pairedRatios, type Stats, summarize } from "./lib/stats.ts";

const CHILD = new URL("./lib/hash_child.ts", import.meta.url).pathname;

/** Candidate names (bench/lib/hash_child.ts METHODS) with how they read and hash. */
const CANDIDATES: [string, string][] = [
  ["eksnode", "eksnode's streaming hash (lib/download.ts sha256RealFile)"],
  ["node-crypto-buffer", "node:crypto createHash, 1 MiB reused read buffer (streaming)"],
  ["node-crypto-readable", "node:crypto createHash fed by FsFile.readable (streaming)"],
  ["hash-wasm", "hash-wasm createSHA256, 1 MiB buffer (streaming)"],
  ["noble", "@noble/hashes sha256.create(), 1 MiB buffer (streaming)"],
  ["webcrypto-whole", "Web Crypto crypto.subtle.digest of the whole file in memory"],
  ["node-crypto-whole", "node:crypto createHash of the whole file in memory"],
];

/** Writes `mib` MiB of pseudo-random bytes (64 KiB random blocks repeated with a counter). */
export async function makeFile(path: string, mib: number): Promise<void> {
  using f = await Deno.open(path, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(1 << 20);
  crypto.getRandomValues(chunk.subarray(0, 65536));
  for (let i = 1; i < 16; i++) chunk.copyWithin(i * 65536, 0, 65536);
  for (let i = 0; i < mib; i++) {
    new DataView(chunk.buffer).setUint32(0, i);
    let off = 0;
    while (off < chunk.length) off += await f.write(chunk.subarray(off));
  }
}

/** Hex SHA-256 out of `sha256sum FILE`, and its time. */
async function sha256sum(path: string): Promise<{ seconds: number; sha256: string }> {
  const m = await measureOk(["sha256sum", path]);
  return { seconds: m.seconds, sha256: m.stdout.split(/\s/)[0] };
}

/** Runs the hash figures. */
export async function hashBench(reps: number): Promise<Section> {
  const mib = Number(Deno.env.get("BENCH_HASH_MIB") ?? 512);
  if (!(await available("sha256sum"))) {
    return {
      title: "SHA-256",
      rows: [],
      details: ["sha256sum is not installed: SHA-256 figures not measured."],
    };
  }
  const dir = await Deno.makeTempDir({ prefix: "eksnode-bench-hash-" });
  const path = `${dir}/blob`;
  const emptyPath = `${dir}/empty`;
  try {
    await makeFile(path, mib);
    await Deno.writeFile(emptyPath, new Uint8Array());
    const expected = (await sha256sum(path)).sha256; // also warms the page cache
    const hasOpenssl = await available("openssl");
    const base: number[] = [];
    const ssl: number[] = [];
    const times = new Map<string, number[]>(CANDIDATES.map(([k]) => [k, []]));
    const growth = new Map<string, number[]>(CANDIDATES.map(([k]) => [k, []]));
    for (const [k] of CANDIDATES) await measureOk(denoRun(CHILD, k, emptyPath)); // warm-up
    for (let i = 0; i < reps; i++) {
      base.push((await sha256sum(path)).seconds);
      if (hasOpenssl) ssl.push((await measureOk(["openssl", "dgst", "-sha256", path])).seconds);
      for (const [k] of CANDIDATES) {
        const idle = await measureOk(denoRun(CHILD, k, emptyPath), { rss: true });
        const m = await measureOk(denoRun(CHILD, k, path), { rss: true });
        const out = JSON.parse(m.stdout.trim().split("\n").pop()!);
        if (out.sha256 !== expected) {
          throw new Error(`${k}: sha256 ${out.sha256}, sha256sum says ${expected}`);
        }
        times.get(k)!.push(out.seconds);
        if (m.peakRssMiB !== undefined && idle.peakRssMiB !== undefined) {
          growth.get(k)!.push(m.peakRssMiB - idle.peakRssMiB);
        }
      }
    }
    const throughput = (t: number[]) => pairedRatios(base, t);
    const mibps = (t: number[]) => fmt(summarize(t.map((s) => mib / s)), "", 0);
    const g = (k: string): Stats | undefined => growth.get(k)!.length ? summarize(growth.get(k)!) : undefined;
    const ours = throughput(times.get("eksnode")!);
    const oursGrowth = g("eksnode");
    const table = markdownTable(
      ["SHA-256 of the file", "MiB/s", "throughput vs sha256sum", "RSS growth MiB"],
      [
        ["`sha256sum` (baseline)", mibps(base), "1x", "-"],
        ...(hasOpenssl
          ? [["`openssl dgst -sha256` (SHA-NI, the ceiling)", mibps(ssl), fmtRatio(throughput(ssl)), "-"]]
          : []),
        ...CANDIDATES.map(([k, label]) => {
          const gs = g(k);
          return [
            label,
            mibps(times.get(k)!),
            fmtRatio(throughput(times.get(k)!)),
            gs ? fmt(gs, "", 0) : "n/a",
          ];
        }),
      ],
    );
    return {
      title: "SHA-256",
      rows: [
        {
          figure: `SHA-256 of a ${mib} MiB file, streaming (eksnode's)`,
          baseline: `\`sha256sum\`: ${mibps(base)} MiB/s`,
          result: `throughput ${fmtRatio(ours)}; ${mibps(times.get("eksnode")!)} MiB/s`,
          target: ">= 0.8x",
          met: ours.median >= 0.8,
        },
        {
          figure: "RSS growth of that hash",
          baseline: "same child hashing an empty file",
          result: oursGrowth ? fmt(oursGrowth, " MiB", 0) : "not measured (no /usr/bin/time)",
          target: "<= 64 MiB",
          met: oursGrowth ? oursGrowth.max <= 64 : undefined,
        },
        {
          figure: "same, whole-buffer Web Crypto and each candidate library",
          baseline: "`sha256sum`",
          result: "table in bench/results.md",
          target: "table; downloads use the best streaming one",
        },
      ],
      details: [
        `Each candidate hashes the same ${mib} MiB file (in the page cache) in a child process of its own; MiB/s`,
        "counts from opening the file to the digest (process start-up excluded).",
        "",
        table,
      ],
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const s = await hashBench(Number(Deno.env.get("BENCH_REPS") ?? 3));
  console.log(s.rows);
  console.log(s.details?.join("\n"));
}
