/**
 * Start-up: `eksnode --version` (and `eksnode --help`) against `deno run` of an empty script, each
 * repetition paired with a baseline run beside it. Target: --version <= 1.5x.
 */
import { denoRun, MAIN, measureOk } from "./lib/proc.ts";
import type { Section } from "./lib/report.ts";
import { fmtMs, fmtRatio, pairedRatios, summarize } from "./lib/stats.ts";

/** An empty script in a directory of its own (no deno.json found: the smallest `deno run`). */
export async function emptyScript(): Promise<{ path: string; dispose(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "eksnode-bench-empty-" });
  const path = `${dir}/empty.ts`;
  await Deno.writeTextFile(path, "");
  return { path, dispose: () => Deno.remove(dir, { recursive: true }) };
}

/** Runs the start-up figures. */
export async function startupBench(reps: number): Promise<Section> {
  const empty = await emptyScript();
  try {
    const runs = { empty: [] as number[], version: [] as number[], help: [] as number[] };
    // Warm-up: the first run of changed sources transpiles them into Deno's cache.
    await measureOk(denoRun(MAIN, "--version"));
    await measureOk(denoRun(MAIN, "--help"));
    await measureOk(denoRun(empty.path));
    for (let i = 0; i < reps; i++) {
      runs.empty.push((await measureOk(denoRun(empty.path))).seconds);
      runs.version.push((await measureOk(denoRun(MAIN, "--version"))).seconds);
      runs.help.push((await measureOk(denoRun(MAIN, "--help"))).seconds);
    }
    const version = pairedRatios(runs.version, runs.empty);
    const help = pairedRatios(runs.help, runs.empty);
    return {
      title: "Start-up",
      rows: [
        {
          figure: "`eksnode --version` start-up",
          baseline: `\`deno run\` of an empty script: ${fmtMs(summarize(runs.empty))}`,
          result: `${fmtRatio(version)}; ${fmtMs(summarize(runs.version))}`,
          target: "<= 1.5x",
          met: version.median <= 1.5,
        },
        {
          figure: "`eksnode --help` start-up",
          baseline: "same",
          result: `${fmtRatio(help)}; ${fmtMs(summarize(runs.help))}`,
          target: "-",
        },
      ],
    };
  } finally {
    await empty.dispose();
  }
}

if (import.meta.main) {
  const s = await startupBench(Number(Deno.env.get("BENCH_REPS") ?? 7));
  console.log(s.rows);
}
