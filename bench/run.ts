/**
 * `deno task bench`: every figure of the benchmark table in one go, each a ratio against a baseline
 * measured in the same run, with min / median / max over repeated runs. Prints the table, writes
 * bench/results.md and puts the table into docs/benchmarks.md (between the bench markers). No timed assertion
 * lives in the test suite; this is where speed is watched.
 *
 * BENCH_REPS (default 5; the long SHA-256 and ami figures use at most 3), BENCH_ONLY=startup,init,hash,
 * download,ami (a partial run prints but writes nothing), BENCH_HASH_MIB, BENCH_ARTIFACT_MIB,
 * BENCH_BIG_MIB, BENCH_RATE_MIBPS.
 */
import { amiBench } from "./ami_bench.ts";
import { downloadBench } from "./download_bench.ts";
import { hashBench } from "./hash_bench.ts";
import { initBench } from "./init_bench.ts";
import { replaceReadmeTable, resultsMarkdown, type Section, summaryTable } from "./lib/report.ts";
import { startupBench } from "./startup_bench.ts";

const reps = Number(Deno.env.get("BENCH_REPS") ?? 5);
const long = Math.min(reps, 3);
const benches: [string, () => Promise<Section>][] = [
  ["startup", () => startupBench(Math.max(reps, 9))],
  ["init", () => initBench(reps)],
  ["hash", () => hashBench(long)],
  ["download", () => downloadBench(long)],
  ["ami", () => amiBench(long)],
];
const only = Deno.env.get("BENCH_ONLY")?.split(",").map((s) => s.trim());

async function cpuModel(): Promise<string> {
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    return /^model name\s*:\s*(.+)$/m.exec(info)?.[1] ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

const sections: Section[] = [];
const t0 = performance.now();
for (const [name, run] of benches) {
  if (only && !only.includes(name)) continue;
  const ts = performance.now();
  console.error(`bench: ${name}...`);
  sections.push(await run());
  console.error(`bench: ${name} done in ${((performance.now() - ts) / 1000).toFixed(0)} s`);
}
const about = [
  `${
    new Date().toISOString().slice(0, 10)
  }, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs (${await cpuModel()}), ${Deno.build.os} ${Deno.build.arch}`,
  `repetitions: ${reps} (SHA-256, downloads, ami: ${long}; start-up: ${
    Math.max(reps, 9)
  }); a ratio is taken run by run against the baseline measured beside it`,
  `total bench time ${((performance.now() - t0) / 1000).toFixed(0)} s`,
];
const table = summaryTable(sections);
console.log(table);
for (const s of sections) if (s.details?.length) console.log(`\n${s.title}\n\n${s.details.join("\n")}`);
if (only) {
  console.error("bench: partial run (BENCH_ONLY): bench/results.md and docs/benchmarks.md left as they were");
} else {
  await Deno.writeTextFile(new URL("./results.md", import.meta.url), resultsMarkdown(sections, about));
  const readmeUrl = new URL("../docs/benchmarks.md", import.meta.url);
  const readme = await Deno.readTextFile(readmeUrl);
  const updated = replaceReadmeTable(readme, `${about[0]}:\n\n${table}`);
  if (updated !== readme) await Deno.writeTextFile(readmeUrl, updated);
  // Written as `deno fmt` would (deno fmt --check is part of CI).
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", new URL("./results.md", import.meta.url).pathname, new URL(readmeUrl).pathname],
  }).output();
  if (!fmt.success) console.error("bench: deno fmt of bench/results.md and docs/benchmarks.md failed");
  console.error("bench: wrote bench/results.md and the table of docs/benchmarks.md");
}
