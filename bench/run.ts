/**
 * `deno task bench`: speed and memory goals as ratios measured in one run (never timed tests).
 *
 * 1. SHA-256 of a file: node:crypto createHash fed from a stream (what lib/download.ts uses) against
 *    crypto.subtle.digest (whole file in memory), `sha256sum` and `openssl dgst` (the SHA-NI ceiling).
 *    Goal: streaming is at least as fast as subtle.digest, within 3x of openssl, with flat memory.
 * 2. A verified download over loopback against the same bytes hashed from disk: the download's overhead.
 * 3. CLI start-up: `eksnode steps` against `deno eval 0` (AWS SDK must not load at start-up).
 * Size: BENCH_MIB (default 256).
 */
import { createHash } from "node:crypto";
import { downloadVerified } from "../lib/download.ts";
import { Host } from "../lib/host.ts";

const MIB = Number(Deno.env.get("BENCH_MIB") ?? 256);
const dir = await Deno.makeTempDir({ prefix: "eksnode-bench-" });
const path = `${dir}/blob`;
{
  const f = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < MIB; i++) {
    crypto.getRandomValues(chunk.subarray(0, 65536));
    await f.write(chunk);
  }
  f.close();
}

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await fn();
  return [(performance.now() - t0) / 1000, r];
}
const rss = () => Deno.memoryUsage().rss / 1048576;

const results: Record<string, { seconds: number; mibps: number; rssMiB?: number }> = {};
const record = (name: string, s: number, rssMiB?: number) =>
  results[name] = { seconds: +s.toFixed(3), mibps: +(MIB / s).toFixed(0), rssMiB };

const rss0 = rss();
const [tStream, hStream] = await time(async () => {
  const h = createHash("sha256");
  for await (const c of (await Deno.open(path)).readable) h.update(c);
  return h.digest("hex");
});
record("node:crypto stream", tStream, +(rss() - rss0).toFixed(0));

const [tSubtle, hSubtle] = await time(async () => {
  const buf = await Deno.readFile(path);
  const d = await crypto.subtle.digest("SHA-256", buf);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
});
record("crypto.subtle.digest (in memory)", tSubtle, +(rss() - rss0).toFixed(0));
if (hSubtle !== hStream) throw new Error("hash mismatch between methods");

for (
  const [name, cmd, args] of [["sha256sum", "sha256sum", [path]], ["openssl dgst", "openssl", [
    "dgst",
    "-sha256",
    path,
  ]]] as const
) {
  try {
    const [t, out] = await time(() => new Deno.Command(cmd, { args: [...args], stdout: "piped" }).output());
    if (!new TextDecoder().decode(out.stdout).includes(hStream)) throw new Error(`${cmd} disagrees`);
    record(name, t);
  } catch (e) {
    console.log(`${name}: not measured (${(e as Error).message})`);
  }
}

// Verified download over loopback.
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
  const f = await Deno.open(path);
  return new Response(f.readable, { headers: { "content-length": String(MIB * 1048576) } });
});
const host = await Host.open(`${dir}/root`);
const rssD = rss();
const [tDl] = await time(() =>
  downloadVerified(
    host,
    { url: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/blob`, sha256: hStream },
    "/blob",
    {},
  )
);
record("verified download (loopback)", tDl, +(rss() - rssD).toFixed(0));
await server.shutdown();

// CLI start-up.
const main = new URL("../main.ts", import.meta.url).pathname;
const [tEval] = await time(() => new Deno.Command(Deno.execPath(), { args: ["eval", "0"] }).output());
const [tSteps] = await time(() =>
  new Deno.Command(Deno.execPath(), { args: ["run", "-A", main, "steps"], stdout: "null" }).output()
);
await Deno.remove(dir, { recursive: true });

console.table(results);
const ratio = (
  a: string,
  b: string,
) => (results[a] && results[b] ? (results[a].seconds / results[b].seconds).toFixed(2) : "n/a");
console.log(
  `ratio stream / subtle time:        ${
    ratio("node:crypto stream", "crypto.subtle.digest (in memory)")
  } (goal <= 1)`,
);
console.log(`ratio stream / openssl time:       ${ratio("node:crypto stream", "openssl dgst")} (goal <= 3)`);
console.log(`ratio stream / sha256sum time:     ${ratio("node:crypto stream", "sha256sum")}`);
console.log(
  `ratio download / hash-from-disk:   ${
    ratio("verified download (loopback)", "node:crypto stream")
  } (goal <= 2)`,
);
console.log(
  `memory: stream +${results["node:crypto stream"].rssMiB} MiB, subtle +${
    results["crypto.subtle.digest (in memory)"].rssMiB
  } MiB, download +${results["verified download (loopback)"].rssMiB} MiB for ${MIB} MiB`,
);
console.log(
  `ratio 'eksnode steps' / 'deno eval 0' start-up: ${
    (tSteps / tEval).toFixed(2)
  } (goal <= 6: the AWS SDK clients stay unloaded; partition data, zod and commander load)`,
);
