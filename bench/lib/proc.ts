/** Child processes measured for wall time and peak RSS (bench only). */
import { bundle } from "../../build.ts";

/** What one measured run gave. */
export interface Measured {
  seconds: number;
  /** Peak resident set size of the child in MiB (VmHWM), when it could be read. */
  peakRssMiB?: number;
  code: number;
  stdout: string;
  stderr: string;
}

const TIME = "/usr/bin/time";
let haveTime: boolean | undefined;

/** True when GNU time is installed (it reports the child's peak RSS from wait4). */
async function gnuTime(): Promise<boolean> {
  if (haveTime === undefined) {
    haveTime = await Deno.stat(TIME).then((s) => s.isFile, () => false);
  }
  return haveTime;
}

/**
 * Runs argv and measures its wall time; with `rss`, also its peak RSS through GNU time (which adds a
 * fork and exec of its own to the wall time, so baselines should be measured the same way).
 */
export async function measure(
  argv: string[],
  opts: { env?: Record<string, string>; cwd?: string; rss?: boolean } = {},
): Promise<Measured> {
  let cmd = argv[0];
  let args = argv.slice(1);
  let rssFile: string | undefined;
  if (opts.rss && await gnuTime()) {
    rssFile = await Deno.makeTempFile({ prefix: "eksnode-bench-rss-" });
    cmd = TIME;
    args = ["-f", "%M", "-o", rssFile, ...argv];
  }
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, {
    args,
    env: opts.env,
    cwd: opts.cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - t0) / 1000;
  let peakRssMiB: number | undefined;
  if (rssFile) {
    const kib = Number((await Deno.readTextFile(rssFile)).trim().split("\n").pop());
    if (Number.isFinite(kib)) peakRssMiB = kib / 1024;
    await Deno.remove(rssFile);
  }
  const dec = new TextDecoder();
  return {
    seconds,
    peakRssMiB,
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** Like {@link measure}, but throws with the output's tail when the command fails. */
export async function measureOk(
  argv: string[],
  opts: { env?: Record<string, string>; cwd?: string; rss?: boolean } = {},
): Promise<Measured> {
  const m = await measure(argv, opts);
  if (m.code !== 0) {
    const tail = (m.stderr || m.stdout).trim().split("\n").slice(-5).join("\n");
    throw new Error(`${argv.join(" ")} exited ${m.code}:\n${tail}`);
  }
  return m;
}

/** True when `cmd` can be run (found on PATH). */
export async function available(cmd: string): Promise<boolean> {
  try {
    await new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

/** `deno run -A` argv for a script. */
export function denoRun(script: string, ...args: string[]): string[] {
  return [Deno.execPath(), "run", "--allow-all", "--quiet", script, ...args];
}

/** Path of the repo's main.ts (eksnode run from source). */
export const MAIN = new URL("../../main.ts", import.meta.url).pathname;

let released: Promise<string> | undefined;

/**
 * The released form of the CLI: the bundle build.ts compiles into the binary (`deno task bundle`
 * writes the same into dist/bundle), made once per bench run. Returns its entry module.
 */
export function releasedMain(): Promise<string> {
  released ??= bundle(new URL("../../dist/bundle", import.meta.url).pathname);
  return released;
}

/** The two forms of the CLI the start-up figures compare. */
export async function cliForms(): Promise<{ released: string; source: string }> {
  return { released: await releasedMain(), source: MAIN };
}

/** JSON log lines (`--output json`) of a run, parsed. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

/** When a JSON log event was written (ms since the epoch). */
export function eventTime(e: Record<string, unknown>): number {
  return Date.parse(String(e.time));
}

/**
 * The steps' share of a run from its JSON log: seconds from `fromMs` to each `step.done` (keyed
 * `step N`, the step id without its `process.` prefix), then from the last one to `endedAt` (the
 * parent's clock when the process exited).
 */
export function stepPhases(
  events: Record<string, unknown>[],
  fromMs: number,
  endedAt: number,
): Map<string, number> {
  const out = new Map<string, number>();
  let prev = fromMs;
  for (const e of events) {
    if (e.event !== "step.done") continue;
    out.set(`step ${String(e.step).replace(/^[a-z]+\./, "")}`, (eventTime(e) - prev) / 1000);
    prev = eventTime(e);
  }
  out.set("run end and exit", (endedAt - prev) / 1000);
  return out;
}

/** Seconds of each step from `step.done` events: step number → seconds. */
export function stepSeconds(stdout: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of jsonLines(stdout)) {
    if (e.event === "step.done") out.set(String(e.step), Number(e.seconds));
  }
  return out;
}

/** CPU seconds this process has used so far, user and kernel (system) apart, from /proc/self/stat. */
export interface CpuSeconds {
  user: number;
  sys: number;
}

let clockTicks: number | undefined;

/** This process's CPU time (Linux: fields 14 and 15 of /proc/self/stat, in clock ticks of `getconf CLK_TCK`). */
export async function selfCpu(): Promise<CpuSeconds> {
  if (clockTicks === undefined) {
    const out = await measure(["getconf", "CLK_TCK"]).catch(() => undefined);
    clockTicks = Number(out?.stdout.trim()) || 100;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its ")".
  const fields = (await Deno.readTextFile("/proc/self/stat")).split(") ")[1].split(" ");
  return { user: Number(fields[11]) / clockTicks, sys: Number(fields[12]) / clockTicks };
}
