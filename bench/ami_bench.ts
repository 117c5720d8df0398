/**
 * A full `eksnode ami --package-manager none` into a fresh temp root from the loopback mirror
 * (fakes/mirror.ts), then the same again (idempotent: nothing to change), per phase and step.
 * Twice: with the mirror's small synthetic artifacts, and with them padded to upstream-like sizes
 * (about 240 MiB of downloads in all, as a real bake fetches). The released form runs (the bundle build.ts
 * compiles), as in an image build. Target: second run <= 0.1x of the first.
 */
import { type MirrorArtifact, startMirror } from "../fakes/mirror.ts";
import { denoRun, eventTime, jsonLines, measureOk, releasedMain, stepPhases } from "./lib/proc.ts";
import { markdownTable, type Row, type Section } from "./lib/report.ts";
import { fmtMs, fmtRatio, pairedRatios, summarize } from "./lib/stats.ts";

/** Approximate sizes (MiB) of the x86_64 upstream artifacts for Kubernetes 1.32 (release pages, 2025). */
const REAL_SIZES: Partial<Record<MirrorArtifact, number>> = {
  kubelet: 75,
  awsIamAuthenticator: 45,
  ecrCredentialProvider: 20,
  runc: 11,
  containerd: 45,
  cniPlugins: 45,
};

/** Phases of one ami run in seconds: start-up and planning, each step, and the end. */
function phases(stdout: string, spawnedAt: number, endedAt: number): Map<string, number> {
  const events = jsonLines(stdout);
  const start = events.find((e) => e.event === "run.start");
  if (!start) throw new Error("ami log lacks run.start");
  return new Map([
    ["start-up, flags, bake config, journal", (eventTime(start) - spawnedAt) / 1000],
    ...stepPhases(events, eventTime(start), endedAt),
  ]);
}

/** First and second runs `reps` times with the given mirror padding; returns rows and a breakdown. */
async function variant(reps: number, label: string, pad?: Partial<Record<MirrorArtifact, number>>) {
  const mirror = await startMirror({ padMiB: pad });
  const work = await Deno.makeTempDir({ prefix: "eksnode-bench-ami-" });
  const bake = `${work}/bake.toml`;
  await Deno.writeTextFile(bake, mirror.bakeToml);
  const env = { SOURCE_DATE_EPOCH: "1767225600", NO_COLOR: "1" };
  const main = await releasedMain();
  const once = async (root: string) => {
    const spawnedAt = Date.now();
    const m = await measureOk(
      denoRun(
        main,
        "ami",
        "--root",
        root,
        "--config",
        bake,
        "--package-manager",
        "none",
        "--output",
        "json",
      ),
      { env },
    );
    return { seconds: m.seconds, phases: phases(m.stdout, spawnedAt, Date.now()) };
  };
  const first: number[] = [];
  const second: number[] = [];
  const p1 = new Map<string, number[]>();
  const p2 = new Map<string, number[]>();
  const add = (to: Map<string, number[]>, from: Map<string, number>) => {
    for (const [k, v] of from) to.set(k, [...(to.get(k) ?? []), v]);
  };
  try {
    await once(`${work}/warm`); // transpile cache
    for (let i = 0; i < reps; i++) {
      const root = `${work}/root-${i}`;
      await Deno.mkdir(root);
      const a = await once(root);
      const b = await once(root);
      first.push(a.seconds);
      second.push(b.seconds);
      add(p1, a.phases);
      add(p2, b.phases);
      await Deno.remove(root, { recursive: true });
    }
  } finally {
    await mirror.close();
    await Deno.remove(work, { recursive: true });
  }
  const ratio = pairedRatios(second, first);
  const rows: Row[] = [
    {
      figure:
        `\`eksnode ami --package-manager none\` (released form) into a temp root from the loopback mirror, ${label}`,
      baseline: "-",
      result: fmtMs(summarize(first)),
      target: "absolute, and per step",
    },
    {
      figure: `second (idempotent) run of the same, ${label}`,
      baseline: `first run: ${fmtMs(summarize(first))}`,
      result: `${fmtRatio(ratio)}; ${fmtMs(summarize(second))}`,
      target: "<= 0.1x",
      met: ratio.median <= 0.1,
    },
  ];
  const ms = (v: number[] | undefined) => v ? fmtMs(summarize(v)).replace(" ms", "") : "-";
  const table = markdownTable(
    [`phase (${label})`, "first run, ms", "second run, ms"],
    [...p1.keys()].map((k) => [k, ms(p1.get(k)), ms(p2.get(k))]),
  );
  return { rows, table };
}

/** Runs the ami figures. */
export async function amiBench(reps: number): Promise<Section> {
  const small = await variant(reps, "small synthetic artifacts");
  const real = await variant(reps, "artifacts of upstream-like sizes (~240 MiB)", REAL_SIZES);
  return {
    title: "eksnode ami",
    rows: [...small.rows, ...real.rows],
    details: [
      "Per phase and step (timestamps of the JSON log; steps 19-20 have no containerd here; step 1 has no",
      "compiled binary under `deno run`; package steps are planned only with `--package-manager none`):",
      "",
      small.table,
      "",
      real.table,
      "",
      `Padded sizes (MiB): ${Object.entries(REAL_SIZES).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    ],
  };
}

if (import.meta.main) {
  const s = await amiBench(Number(Deno.env.get("BENCH_REPS") ?? 3));
  for (const r of s.rows) console.log(r);
  console.log(s.details?.join("\n"));
}
