/**
 * Runs a process's numbered steps in order: selection (`--only`, `--skip`, `--from`), planning,
 * dropping changes that are already true, applying the rest (downloads in parallel with a limit),
 * timing, progress events, dry-run, and the journal that makes an interrupted run resumable.
 */
import type { DownloadTuning } from "./download.ts";
import { ConfigError, EksnodeError, MissingPinError, UsageError } from "./errors.ts";
import { loadHashCache, saveHashCache } from "./hash_cache.ts";
import { throwIfInterrupted } from "./interrupt.ts";
import { Journal, readJournal } from "./journal.ts";
import { palette } from "./log.ts";
import type { ApplyContext, Change, RunState, Step, StepContext } from "./step.ts";

/** Which steps to run. */
export interface Selection {
  only?: number[];
  skip?: number[];
  from?: number;
}

/** Options for {@link runSteps}. */
export interface RunOptions extends Selection {
  /** Process name: `ami` or `init` (journal file name, log prefix). */
  process: string;
  dryRun: boolean;
  /** Concurrent downloads (default 6: every download of a bake at once). */
  jobs?: number;
  /** Download timeout and plain-HTTP allowances. */
  download?: DownloadTuning;
  /**
   * Leave this run's changes owed to the next run (journal `pending`): the steps that act on them (a
   * restart when a config changed) are not in this run. `eksnode init --skip run` sets it.
   */
  keepPending?: boolean;
}

/** Outcome of one step. */
export interface StepResult {
  id: string;
  number: number;
  title: string;
  status: "changed" | "unchanged" | "planned" | "skipped" | "failed";
  /** Descriptions of changes applied (or, in a dry run, that would be). */
  changes: string[];
  notes: string[];
  seconds: number;
}

/** Outcome of a run. */
export interface RunSummary {
  process: string;
  dryRun: boolean;
  steps: StepResult[];
  changeCount: number;
  seconds: number;
  resumedFrom?: string;
}

/**
 * Parses a step list like `22,29` or `1-7,33` into numbers; `example` is a value of `flag` for the
 * command at hand, shown in the hint of a bad list (the runner does not know the commands' steps).
 * @example parseStepList("1-3,9", "--only", "22,29 or 1-7") // [1, 2, 3, 9]
 */
export function parseStepList(text: string, flag: string, example: string): number[] {
  const out: number[] = [];
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) {
      throw new UsageError(
        `${flag}: "${part}" is not a step number or range`,
        `use e.g. ${flag} ${example}`,
      );
    }
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    if (b < a) throw new UsageError(`${flag}: range "${part}" runs backwards`);
    for (let n = a; n <= b; n++) out.push(n);
  }
  if (out.length === 0) throw new UsageError(`${flag} needs at least one step number`);
  return out;
}

/** Applies the selection flags, checking that every number names a step. */
export function selectSteps<C extends StepContext>(steps: Step<C>[], sel: Selection): Step<C>[] {
  const numbers = new Set(steps.map((s) => s.number));
  const check = (list: number[] | undefined, flag: string) => {
    for (const n of list ?? []) {
      if (!numbers.has(n)) {
        throw new UsageError(
          `${flag}: there is no step ${n}`,
          `steps are numbered 1-${Math.max(...numbers)}`,
        );
      }
    }
  };
  check(sel.only, "--only");
  check(sel.skip, "--skip");
  if (sel.from !== undefined) check([sel.from], "--from");
  return steps.filter((s) =>
    (!sel.only || sel.only.includes(s.number)) &&
    !(sel.skip ?? []).includes(s.number) &&
    (sel.from === undefined || s.number >= sel.from)
  );
}

/** Runs `fn` on every item, at most `limit` at once; when all have finished, throws the first failure. */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const run = limiter(limit);
  const results = await Promise.allSettled(items.map((item) => run(() => fn(item))));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** Splits a plan into batches: runs of parallel changes, or single sequential changes. */
function batches(changes: Change[]): Change[][] {
  const out: Change[][] = [];
  for (const c of changes) {
    const last = out[out.length - 1];
    if (c.parallel && last?.[0]?.parallel) last.push(c);
    else out.push([c]);
  }
  return out;
}

/** Runs the selected steps; throws the first step's error after logging it (journal stays unfinished). */
export async function runSteps<C extends StepContext>(
  all: Step<C>[],
  ctx: C,
  opts: RunOptions,
): Promise<RunSummary> {
  const { host, log } = ctx;
  const c = palette(log.color);
  const steps = selectSteps(all, opts);
  const total = Math.max(...all.map((s) => s.number));
  const started = performance.now();
  const run: RunState = {
    changed: new Set(),
    dryRun: opts.dryRun,
    prefetched: new Map(),
    download: opts.download,
  };
  const { journal, resumedFrom } = await beginRun(ctx, opts, run);
  // Hashes verified by earlier runs, for files unchanged since (a second bake re-reads nothing).
  await loadHashCache(host);
  const applyCtx: ApplyContext = { host, run, log };
  const results: StepResult[] = [];
  const problems: PlanProblem[] = [];
  log.event(
    "run.start",
    { process: opts.process, dryRun: opts.dryRun, root: host.root, steps: steps.map((s) => s.number) },
    c.bold(
      `eksnode ${opts.process}${
        opts.dryRun ? " --dry-run (nothing is changed)" : ""
      }: ${steps.length} steps, root ${host.root}`,
    ),
  );
  const prefetching = opts.dryRun ? undefined : await startPrefetches(steps, ctx, applyCtx, opts.jobs ?? 6);
  const each: StepRun<C> = { ctx, applyCtx, opts, journal, label: stepLabel(total), problems };
  let succeeded = false;
  try {
    for (const step of steps) {
      throwIfInterrupted();
      await runStep(step, each, results);
    }
    succeeded = true;
  } finally {
    log.scope(undefined);
    // A failed run is resumable as it is; what it renamed is synced all the same, and later writes of
    // this host sync at once again.
    if (!succeeded) await host.syncDirectories(true);
    if (prefetching) await endPrefetches(prefetching, applyCtx, succeeded);
  }
  if (!opts.dryRun) await saveHashCache(host);
  // The "finished" journal is written while the directories are synced: which reaches the disk first
  // does not matter, as a change lost to a power cut is found undone by the next run, which applies it
  // again and fires its triggers. Only a change on disk whose record is not could be missed, and
  // host.landing keeps that from happening.
  await Promise.all([journal?.finish(opts.keepPending === true), host.syncDirectories(true)]);
  const summary: RunSummary = {
    process: opts.process,
    dryRun: opts.dryRun,
    steps: results,
    changeCount: results.reduce((n, r) => n + r.changes.length, 0),
    seconds: (performance.now() - started) / 1000,
    resumedFrom,
  };
  logRunDone(log, opts, summary, problems.length);
  if (problems.length === 1 && !(problems[0].error instanceof MissingPinError)) {
    // One problem: the error a real run would have stopped with, as it would have said it.
    const { step, error } = problems[0];
    error.message = `step ${step.number} (${step.title}): ${error.message}`;
    throw error;
  }
  if (problems.length) throw planProblemsError(problems);
  return summary;
}

/** A problem of the inputs a dry run met in a step, and planned on past. */
interface PlanProblem {
  step: { number: number; title: string };
  error: ConfigError;
}

/**
 * Opens the run's journal (a real run) and carries in what an earlier run left: the changes of an
 * interrupted run, resumed, and the ones whose restarts are still to do. A dry run only reads them, so
 * its plan shows the restarts a real run would do.
 */
async function beginRun(
  ctx: StepContext,
  opts: RunOptions,
  run: RunState,
): Promise<{ journal?: Journal; resumedFrom?: string }> {
  const { host, log } = ctx;
  if (opts.dryRun) {
    const last = await readJournal(host, opts.process);
    for (const k of last?.finished ? last.pending ?? [] : []) run.changed.add(k);
    return {};
  }
  // A rename lost to a power cut is a change the next run finds undone and applies again, so the
  // directories are synced together at the end of the run instead of after every file (on ext4 each
  // such fsync was a journal commit of its own). The journal's log is synced before any change lands.
  host.deferDirectorySyncs();
  const begun = await Journal.begin(host, opts.process);
  for (const k of begun.journal.data.changed) run.changed.add(k);
  if (begun.pending.length && !begun.interrupted) {
    log.event(
      "run.pending",
      { process: opts.process, pending: begun.pending },
      `${begun.pending.length} change${
        begun.pending.length === 1 ? "" : "s"
      } of an earlier run still to act on ` +
        `(it skipped the steps that restart what they changed)`,
    );
  }
  if (!begun.interrupted) return { journal: begun.journal };
  const resumedFrom = begun.interrupted.runId;
  log.event(
    "run.resume",
    { process: opts.process, interruptedRun: resumedFrom, stepsDone: begun.interrupted.stepsDone.length },
    `resuming an interrupted ${opts.process} run from ${begun.interrupted.startedAt} ` +
      `(${begun.interrupted.stepsDone.length} steps had finished); every change is checked again`,
  );
  return { journal: begun.journal, resumedFrom };
}

/** `[07/37]`: a step's number beside the process's last. */
function stepLabel(total: number): (n: number) => string {
  const width = String(total).length;
  return (n) => `[${String(n).padStart(width, "0")}/${total}]`;
}

/** What every step of a run shares. */
interface StepRun<C extends StepContext> {
  ctx: C;
  applyCtx: ApplyContext;
  opts: RunOptions;
  journal: Journal | undefined;
  label: (n: number) => string;
  /** A dry run's problems so far (runStep adds to it instead of stopping). */
  problems: PlanProblem[];
}

/** Plans one step and applies (or, in a dry run, lists) the changes not already true; adds its result. */
async function runStep<C extends StepContext>(
  step: Step<C>,
  r: StepRun<C>,
  results: StepResult[],
): Promise<void> {
  const { log } = r.ctx;
  const { opts } = r;
  const c = palette(log.color);
  const t0 = performance.now();
  log.scope(step.id);
  log.event(
    "step.start",
    { step: step.id, number: step.number, title: step.title },
    `${c.cyan(r.label(step.number))} ${step.title}`,
  );
  const result: StepResult = {
    id: step.id,
    number: step.number,
    title: step.title,
    status: "unchanged",
    changes: [],
    notes: [],
    seconds: 0,
  };
  results.push(result);
  // Applied (or planned) descriptions by plan position, so the result lists them in plan order even
  // when a batch of downloads finishes out of order.
  const done: (string | undefined)[] = [];
  try {
    const plan = await step.plan(r.ctx);
    for (const batch of batches(plan)) {
      // A dry run only checks the disk: one at a time keeps the printed plan in plan order.
      const limit = batch[0].parallel && !opts.dryRun ? (opts.jobs ?? 6) : 1;
      await mapLimit(batch, limit, async (change) => {
        await actOn(change, step, r, result, (text) => done[plan.indexOf(change)] = text);
      });
    }
    result.changes = done.filter((d): d is string => d !== undefined);
    result.status = result.changes.length ? (opts.dryRun ? "planned" : "changed") : "unchanged";
    result.seconds = (performance.now() - t0) / 1000;
    await r.journal?.stepDone(step.id);
    const n = result.changes.length;
    log.event(
      "step.done",
      { step: step.id, status: result.status, changes: n, seconds: round(result.seconds) },
      `      ${
        n ? c.green(`${n} change${n === 1 ? "" : "s"}${opts.dryRun ? " planned" : ""}`) : c.dim("no change")
      }` +
        c.dim(` (${result.seconds.toFixed(2)}s)`),
    );
  } catch (err) {
    result.changes = done.filter((d): d is string => d !== undefined);
    result.status = "failed";
    result.seconds = (performance.now() - t0) / 1000;
    if (opts.dryRun && err instanceof ConfigError) {
      // A dry run plans on through every step: a problem of the inputs (a missing pin, a bad value)
      // is recorded, and all of them end the run together (planProblemsError).
      r.problems.push({ step, error: err });
      log.event(
        "plan.problem",
        { step: step.id, error: err.message, ...(err instanceof MissingPinError ? { pin: err.key } : {}) },
        `      ${c.red("problem:")} ${err.message}`,
      );
      return;
    }
    if (err instanceof EksnodeError && !err.message.startsWith("step ")) {
      err.message = `step ${step.number} (${step.title}): ${err.message}`;
    }
    log.event(
      "step.failed",
      { step: step.id, seconds: round(result.seconds), error: (err as Error).message },
      `      ${c.red("failed")} ${c.dim(`(${result.seconds.toFixed(2)}s)`)}`,
    );
    throw err;
  }
}

/**
 * One change of a step's plan: a note is recorded, a change already true dropped, any other applied
 * (journalled write-ahead) or, in a dry run, listed; `done` receives its description once it is.
 */
async function actOn<C extends StepContext>(
  change: Change,
  step: Step<C>,
  r: StepRun<C>,
  result: StepResult,
  done: (text: string) => void,
): Promise<void> {
  const { applyCtx, opts } = r;
  const { log, run } = applyCtx;
  const c = palette(log.color);
  if (change.informational) {
    result.notes.push(change.describe());
    log.event("step.note", { step: step.id, note: change.describe() }, c.dim(`      ${change.describe()}`));
    return;
  }
  if (await change.satisfied(applyCtx)) {
    log.debug(`      = ${change.describe()} (already true)`);
    return;
  }
  const text = change.describe();
  if (opts.dryRun) {
    run.changed.add(change.key);
    done(text);
    log.event(
      "change.planned",
      { step: step.id, kind: change.kind, key: change.key, change: text },
      `    ${c.yellow("would")} ${text}`,
    );
    return;
  }
  throwIfInterrupted();
  const tc = performance.now();
  // changeApplying writes the write-ahead record before it returns, so before apply starts; its
  // fdatasync then runs while the change does its own work, and the host holds back whatever
  // would land on the disk until the record is there (Host.landing).
  await Promise.all([r.journal!.changeApplying(change.key), change.apply(applyCtx)]);
  run.changed.add(change.key);
  done(text);
  await r.journal!.changeApplied(change.key);
  const secs = (performance.now() - tc) / 1000;
  log.event(
    "change.applied",
    { step: step.id, kind: change.kind, key: change.key, change: text, seconds: round(secs) },
    `    ${c.green("+")} ${text}${secs >= 0.1 ? c.dim(` (${secs.toFixed(2)}s)`) : ""}`,
  );
}

/**
 * No download may outlive the run; whatever was fetched for a change that did not apply is removed.
 * After a success every cache entry goes, also one a killed run left behind for a change that is now
 * satisfied (so a resumed run ends in the same tree as a clean one).
 */
async function endPrefetches(
  prefetching: Awaited<ReturnType<typeof startPrefetches>>,
  applyCtx: ApplyContext,
  succeeded: boolean,
): Promise<void> {
  await Promise.allSettled(prefetching.started.map((p) => p.promise));
  for (const change of prefetching.cachers) {
    if (succeeded || !applyCtx.run.changed.has(change.key)) {
      await change.discardPrefetch!(applyCtx).catch(() => {});
    }
  }
}

/** The run's last line. */
function logRunDone(log: StepContext["log"], opts: RunOptions, summary: RunSummary, problems: number): void {
  const c = palette(log.color);
  const steps = summary.steps.length;
  log.event(
    "run.done",
    {
      process: opts.process,
      steps,
      changes: summary.changeCount,
      seconds: round(summary.seconds),
      ...(problems ? { problems } : {}),
    },
    c.bold(
      `${opts.process}: ${steps} step${steps === 1 ? "" : "s"}, ${summary.changeCount} change${
        summary.changeCount === 1 ? "" : "s"
      }${opts.dryRun ? " planned, nothing changed" : ""} in ${summary.seconds.toFixed(2)}s${
        problems ? `, ${problems} step${problems === 1 ? "" : "s"} with a problem` : ""
      }`,
    ),
  );
}

/**
 * The one error that ends a dry run which met problems: every missing pin with the bake config key to
 * set (and its step), then every other problem, in step order.
 */
export function planProblemsError(problems: { step: { number: number }; error: ConfigError }[]): ConfigError {
  const pins = new Map<string, number[]>();
  const others: string[] = [];
  for (const { step, error } of problems) {
    if (error instanceof MissingPinError) pins.set(error.key, [...(pins.get(error.key) ?? []), step.number]);
    else others.push(`step ${step.number}: ${error.message}`);
  }
  const parts: string[] = [];
  if (pins.size) {
    parts.push(
      `${pins.size} missing pin${pins.size === 1 ? "" : "s"} (bake config keys to set): ` +
        [...pins].map(([key, steps]) => `${key} (step ${steps.join(", ")})`).join(", "),
    );
  }
  if (others.length) {
    parts.push(`${others.length} other problem${others.length === 1 ? "" : "s"}: ${others.join("; ")}`);
  }
  return new ConfigError(
    `dry run: ${parts.join("; ")}`,
    pins.size
      ? 'set each to "<64 lowercase hex>" in the bake config (`eksnode versions --pin --config FILE` writes them from the published checksums)'
      : problems.find((p) => p.error.hint)?.error.hint,
  );
}

/** Runs at most `n` of the given tasks at once. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  const next = () => {
    if (active < n) queue.shift()?.();
  };
  return <T>(task: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => {
        active++;
        task().then(resolve, reject).finally(() => {
          active--;
          next();
        });
      });
      next();
    });
}

/**
 * Plans every selected step ahead and starts the downloads of all of them (at most `jobs` at once), so
 * they arrive while earlier steps work; each change's apply awaits its own. A step whose early plan
 * fails is left alone: it reports its error when it runs.
 */
async function startPrefetches<C extends StepContext>(
  steps: Step<C>[],
  ctx: C,
  applyCtx: ApplyContext,
  jobs: number,
): Promise<{ started: { change: Change; promise: Promise<void> }[]; cachers: Change[] }> {
  const wanted: Change[] = [];
  const cachers: Change[] = [];
  for (const step of steps) {
    if (step.downloads === false) continue;
    ctx.log.scope(step.id);
    try {
      for (const c of await step.plan(ctx)) {
        if (c.discardPrefetch) cachers.push(c);
        if (c.prefetch && !(await c.satisfied(applyCtx))) wanted.push(c);
      }
    } catch {
      // reported when the step runs
    } finally {
      ctx.log.scope(undefined);
    }
  }
  const limit = limiter(jobs);
  const started = wanted.map((change) => {
    const promise = limit(() => change.prefetch!(applyCtx));
    promise.catch(() => {}); // apply retries and reports; a failure here is not yet the run's error
    applyCtx.run.prefetched!.set(change.key, promise);
    return { change, promise };
  });
  return { started, cachers };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
