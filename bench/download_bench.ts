/**
 * Verified downloads from a loopback server (a child process serving from memory):
 *
 * - 6 artifacts of 64 MiB (BENCH_ARTIFACT_MIB) through the runner, one download step each (prefetched
 *   in parallel, --jobs as the CLI's default), against the largest single artifact alone through the
 *   same runner. Target: total <= 1.3x. Over loopback this is bound by CPU (the server, hashing and
 *   writing 6x the bytes on 2 cores); the same again with the server paced to 100 MiB/s a stream
 *   (BENCH_RATE_MIBPS), as one TCP stream from a real mirror is, shows the parallelism itself (same
 *   target). Six paced streams ask for 600 MiB/s in all, served, hashed and written on the same 2
 *   cores: it is near the machine's limit, so the client's CPU a byte shows in this figure too.
 * - one 256 MiB (BENCH_BIG_MIB) download + verify (lib/download.ts downloadVerified) against `curl` of
 *   the same file followed by `sha256sum`. Target: throughput >= 0.8x.
 */
import { download } from "../lib/changes.ts";
import { downloadVerified } from "../lib/download.ts";
import { Host } from "../lib/host.ts";
import { createLogger } from "../lib/log.ts";
import { runSteps } from "../lib/runner.ts";
import type { Step, StepContext } from "../lib/step.ts";
import { makeFile } from "./hash_bench.ts";
import { available, type CpuSeconds, denoRun, measureOk, selfCpu } from "./lib/proc.ts";
import { markdownTable, type Row, type Section } from "./lib/report.ts";
import { fmt, fmtMs, fmtRatio, pairedRatios, summarize } from "./lib/stats.ts";

const SERVER = new URL("./lib/serve_child.ts", import.meta.url).pathname;
const DEFAULT_JOBS = 6; // cli/global_flags.ts --jobs default

/** A running server child. */
interface Server {
  url: string;
  close(): Promise<void>;
}

/** Starts bench/lib/serve_child.ts over `dir`. */
export async function serve(dir: string, rate = 0): Promise<Server> {
  const argv = denoRun(SERVER, dir, ...(rate ? ["--rate", String(rate)] : []));
  const child = new Deno.Command(argv[0], { args: argv.slice(1), stdin: "piped", stdout: "piped" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server child ended before printing its URL");
    text += value;
  }
  reader.releaseLock();
  return {
    url: text.trim(),
    async close() {
      await child.stdin.close();
      await child.stdout.cancel().catch(() => {});
      await child.status;
    },
  };
}

/** SHA-256 of a file via sha256sum. */
async function sha256sumOf(path: string): Promise<string> {
  return (await measureOk(["sha256sum", path])).stdout.split(/\s/)[0];
}

/** Runs `names` through the runner as one download step each into a fresh root; returns seconds. */
export async function runnerDownloads(
  server: Server,
  names: string[],
  sums: Map<string, string>,
  jobs: number,
): Promise<number> {
  const rootDir = await Deno.makeTempDir({ prefix: "eksnode-bench-dl-" });
  try {
    const steps: Step[] = names.map((name, i) => ({
      id: `bench.${i + 1}`,
      number: i + 1,
      title: `download ${name}`,
      plan: () => [download({ url: `${server.url}/${name}`, sha256: sums.get(name)! }, `/usr/bin/${name}`)],
    }));
    const host = await Host.open(rootDir);
    const log = createLogger({ format: "json", color: false, tty: false, write: () => {} });
    const ctx: StepContext = { host, log, dryRun: false };
    const t0 = performance.now();
    await runSteps(steps, ctx, { process: "bench", dryRun: false, jobs });
    return (performance.now() - t0) / 1000;
  } finally {
    await Deno.remove(rootDir, { recursive: true });
  }
}

/** A figure of six artifacts against one: its row, and where this process's CPU time went. */
interface SixVsOne {
  row: Row;
  /** Median CPU of the process (the runner, hashing, writing; not the server) for one artifact and for six. */
  cpu: { one: CpuSeconds; six: CpuSeconds };
}

/** Runs `fn` and returns its result with the CPU time this process used meanwhile. */
async function withCpu<T>(fn: () => Promise<T>): Promise<[T, CpuSeconds]> {
  const before = await selfCpu();
  const value = await fn();
  const after = await selfCpu();
  return [value, { user: after.user - before.user, sys: after.sys - before.sys }];
}

/** Median user and system CPU of several runs. */
function medianCpu(runs: CpuSeconds[]): CpuSeconds {
  return {
    user: summarize(runs.map((r) => r.user)).median,
    sys: summarize(runs.map((r) => r.sys)).median,
  };
}

/** Paired runs of 6 artifacts vs the largest alone. */
async function sixVsOne(
  server: Server,
  names: string[],
  sums: Map<string, string>,
  reps: number,
  jobs: number,
  figure: string,
  target: boolean,
): Promise<SixVsOne> {
  await runnerDownloads(server, names.slice(0, 1), sums, jobs); // warm-up
  const one: number[] = [];
  const six: number[] = [];
  const oneCpu: CpuSeconds[] = [];
  const sixCpu: CpuSeconds[] = [];
  for (let i = 0; i < reps; i++) {
    const [t1, c1] = await withCpu(() => runnerDownloads(server, names.slice(0, 1), sums, jobs));
    one.push(t1);
    oneCpu.push(c1);
    const [t6, c6] = await withCpu(() => runnerDownloads(server, names, sums, jobs));
    six.push(t6);
    sixCpu.push(c6);
  }
  const ratio = pairedRatios(six, one);
  return {
    row: {
      figure,
      baseline: `largest single artifact alone: ${fmtMs(summarize(one))}`,
      result: `${fmtRatio(ratio)}; ${fmtMs(summarize(six))}`,
      target: target ? "<= 1.3x" : "-",
      met: target ? ratio.median <= 1.3 : undefined,
    },
    cpu: { one: medianCpu(oneCpu), six: medianCpu(sixCpu) },
  };
}

/** A row of the CPU table: one artifact and six, user and kernel time in ms. */
function cpuRow(label: string, cpu: SixVsOne["cpu"]): string[] {
  const ms = (s: number) => String(Math.round(s * 1000));
  return [label, ms(cpu.one.user), ms(cpu.one.sys), ms(cpu.six.user), ms(cpu.six.sys)];
}

/** Runs the download figures. */
export async function downloadBench(reps: number): Promise<Section> {
  const artMib = Number(Deno.env.get("BENCH_ARTIFACT_MIB") ?? 64);
  const bigMib = Number(Deno.env.get("BENCH_BIG_MIB") ?? 256);
  const rateMibps = Number(Deno.env.get("BENCH_RATE_MIBPS") ?? 100);
  if (!(await available("sha256sum"))) {
    return {
      title: "Downloads",
      rows: [],
      details: ["sha256sum is not installed: download figures not measured."],
    };
  }
  const dir = await Deno.makeTempDir({ prefix: "eksnode-bench-serve-" });
  const names = [1, 2, 3, 4, 5, 6].map((i) => `artifact-${i}`);
  const sums = new Map<string, string>();
  for (const n of names) {
    await makeFile(`${dir}/${n}`, artMib);
    sums.set(n, await sha256sumOf(`${dir}/${n}`));
  }
  await makeFile(`${dir}/big`, bigMib);
  sums.set("big", await sha256sumOf(`${dir}/big`));
  const rows: Row[] = [];
  const server = await serve(dir);
  const work = await Deno.makeTempDir({ prefix: "eksnode-bench-dl-work-" });
  const cpuRows: string[][] = [];
  try {
    const raw = await sixVsOne(
      server,
      names,
      sums,
      reps,
      DEFAULT_JOBS,
      `6 artifacts of ${artMib} MiB from a loopback server, verified (runner, --jobs ${DEFAULT_JOBS})`,
      true,
    );
    rows.push(raw.row);
    cpuRows.push(cpuRow("loopback, as fast as it goes", raw.cpu));
    // One big download + verify vs curl + sha256sum.
    const hasCurl = await available("curl");
    if (hasCurl) {
      const host = await Host.open(`${work}/root`);
      const url = `${server.url}/big`;
      const ours: number[] = [];
      const theirs: number[] = [];
      const once = async () => {
        const t0 = performance.now();
        await downloadVerified(host, { url, sha256: sums.get("big")! }, "/big", { mode: 0o644 });
        const t = (performance.now() - t0) / 1000;
        await host.remove("/big");
        return t;
      };
      const curlOnce = async () => {
        const t0 = performance.now();
        await measureOk(["curl", "-sS", "--fail", "-o", `${work}/curl-big`, url]);
        const got = await sha256sumOf(`${work}/curl-big`);
        if (got !== sums.get("big")) throw new Error("curl download's sha256 differs");
        const t = (performance.now() - t0) / 1000;
        await Deno.remove(`${work}/curl-big`);
        return t;
      };
      await once();
      await curlOnce();
      for (let i = 0; i < reps; i++) {
        theirs.push(await curlOnce());
        ours.push(await once());
      }
      const ratio = pairedRatios(theirs, ours);
      const mibps = (t: number[]) => fmt(summarize(t.map((s) => bigMib / s)), " MiB/s", 0);
      rows.push({
        figure: `one ${bigMib} MiB download + verify (lib/download.ts)`,
        baseline: `\`curl\` then \`sha256sum\`: ${mibps(theirs)}`,
        result: `throughput ${fmtRatio(ratio)}; ${mibps(ours)}`,
        target: ">= 0.8x",
        met: ratio.median >= 0.8,
      });
    } else {
      rows.push({
        figure: `one ${bigMib} MiB download + verify`,
        baseline: "curl",
        result: "not measured: curl is not installed",
        target: ">= 0.8x",
      });
    }
  } finally {
    await server.close();
    await Deno.remove(work, { recursive: true });
  }
  if (rateMibps > 0) {
    const paced = await serve(dir, rateMibps * 1048576);
    try {
      const figure = await sixVsOne(
        paced,
        names,
        sums,
        Math.min(reps, 3),
        DEFAULT_JOBS,
        `same, server paced to ${rateMibps} MiB/s a stream (as one stream from a real mirror)`,
        true,
      );
      rows.push(figure.row);
      cpuRows.push(cpuRow(`paced to ${rateMibps} MiB/s a stream`, figure.cpu));
    } finally {
      await paced.close();
    }
  }
  await Deno.remove(dir, { recursive: true });
  const details = [
    `CPU time of the downloading process (the runner: receiving, hashing, writing; the server is another`,
    `process), median of the repetitions, ms. Kernel time that grows faster than the bytes is the kernel`,
    `copying into page-cache pages this virtual machine has not touched before (docs/benchmarks.md).`,
    "",
    markdownTable(
      ["six artifacts vs one", "one: user", "one: kernel", "six: user", "six: kernel"],
      cpuRows,
    ),
  ];
  return { title: "Downloads", rows, details };
}

if (import.meta.main) {
  const s = await downloadBench(Number(Deno.env.get("BENCH_REPS") ?? 3));
  for (const r of s.rows) console.log(r);
  console.log(s.details?.join("\n") ?? "");
}
