/**
 * Start-up: `eksnode --version` (and `eksnode --help`) against `deno run` of an empty script, each
 * repetition paired with a baseline run beside it, for the released form (the bundle build.ts compiles)
 * and from source (main.ts). Target: --version <= 1.5x.
 */
import { cliForms, denoRun, measureOk } from "./lib/proc.ts";
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
  const forms = await cliForms();
  const cases = [
    { form: forms.released, args: ["--version"], label: "`eksnode --version` start-up (released form)" },
    { form: forms.source, args: ["--version"], label: "same, from source (`deno run main.ts`)" },
    { form: forms.released, args: ["--help"], label: "`eksnode --help` start-up (released form)" },
    { form: forms.source, args: ["--help"], label: "same, from source" },
  ];
  try {
    // Warm-up: the first run of changed sources transpiles them into Deno's cache.
    for (const c of cases) await measureOk(denoRun(c.form, ...c.args));
    await measureOk(denoRun(empty.path));
    const base: number[] = [];
    const runs = cases.map(() => [] as number[]);
    for (let i = 0; i < reps; i++) {
      base.push((await measureOk(denoRun(empty.path))).seconds);
      for (const [j, c] of cases.entries()) {
        runs[j].push((await measureOk(denoRun(c.form, ...c.args))).seconds);
      }
    }
    return {
      title: "Start-up",
      rows: cases.map((c, j) => {
        const ratio = pairedRatios(runs[j], base);
        const headline = j === 0;
        return {
          figure: c.label,
          baseline: headline ? `\`deno run\` of an empty script: ${fmtMs(summarize(base))}` : "same",
          result: `${fmtRatio(ratio)}; ${fmtMs(summarize(runs[j]))}`,
          target: headline ? "<= 1.5x" : "-",
          met: headline ? ratio.median <= 1.5 : undefined,
        };
      }),
    };
  } finally {
    await empty.dispose();
  }
}

if (import.meta.main) {
  const s = await startupBench(Number(Deno.env.get("BENCH_REPS") ?? 7));
  console.log(s.rows);
}
