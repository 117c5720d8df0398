/**
 * Flags shared by the commands that run steps (`ami`, `init`) and how they become a host, a logger
 * and a step selection. The host, logger and runner modules load when a command runs, not when the
 * CLI starts (`eksnode --help` loads only the command modules and commander).
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { UsageError } from "../lib/errors.ts";
import type { Host } from "../lib/host.ts";
import type { LogFormat, Logger } from "../lib/log.ts";
import type { Selection } from "../lib/runner.ts";
import { outputOption } from "./output.ts";

/**
 * Examples of one command's `--only` and `--skip` values, for its help and for the hint of a bad value
 * (e.g. "22,29 or 1-7" for ami, whose 37 steps it names; init's `--skip` also takes its phases).
 */
export interface StepExamples {
  only: string;
  skip: string;
}

/** Adds the run flags to a command; `steps` holds examples of its step numbers. */
export function withRunFlags<Args extends unknown[], Opts extends Record<string, unknown>>(
  cmd: Command<Args, Opts>,
  steps: StepExamples,
) {
  return cmd
    .option("--root <dir>", "every path written, read, enabled or checked lies under DIR", "/")
    .option(
      "--dry-run",
      "print the plan (files with mode and owner, downloads with checksums, commands); change nothing",
    )
    .option("--only <steps>", `run only these step numbers, e.g. ${steps.only}`)
    .option(
      "--skip <steps>",
      "skip these step numbers (repeatable)",
      (value: string, prev: string | undefined) => prev ? `${prev},${value}` : value,
    )
    .option("--from <n>", "start at step N")
    .addOption(
      outputOption("text: lines for people; json: one JSON object a line (every record with an event)"),
    )
    .addOption(
      new Option("--log-format <format>", "old name of --output").choices(["text", "json"] as const)
        .hideHelp(),
    )
    .option("--jobs <n>", "concurrent downloads", "6")
    .option(
      "--yes",
      "change the running system (--root /) without asking first; without a terminal (Packer, cloud-init) " +
        "eksnode never asks",
    )
    .option("--debug", "show debug lines and stack traces");
}

/** The parsed run flags. */
export interface RunFlags {
  root: string;
  dryRun?: boolean;
  only?: string;
  skip?: string;
  from?: string;
  /** `--output`: how the run prints (text lines, or one JSON object a line). */
  output?: LogFormat;
  /** The old name of `--output` (a hidden alias that warns). */
  logFormat?: LogFormat;
  jobs: string;
  debug?: boolean;
  /** `--yes`: no question before changing the running system. */
  yes?: boolean;
}

/** What a command needs to run steps. */
export interface Prepared {
  host: Host;
  log: Logger;
  selection: Selection;
  dryRun: boolean;
  jobs: number;
}

function positiveInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new UsageError(`${flag}: "${text}" is not a positive number`);
  }
  return Number(text);
}

/**
 * Turns run flags into a host (root opened), a logger and a selection; `steps` are the command's examples
 * (those given to {@link withRunFlags}) for the hint of a bad step list.
 */
export async function prepareRun(
  flags: RunFlags,
  steps: StepExamples,
  env = Deno.env.toObject(),
): Promise<Prepared> {
  if (flags.only && (flags.skip || flags.from)) {
    throw new UsageError("--only cannot be combined with --skip or --from", "pick steps with one of them");
  }
  const [{ Host }, { createLogger }, { parseStepList }] = await Promise.all([
    import("../lib/host.ts"),
    import("../lib/log.ts"),
    import("../lib/runner.ts"),
  ]);
  const selection: Selection = {
    only: flags.only ? parseStepList(flags.only, "--only", steps.only) : undefined,
    skip: flags.skip ? parseStepList(flags.skip, "--skip", steps.skip) : undefined,
    from: flags.from ? positiveInt(flags.from, "--from") : undefined,
  };
  const log = createLogger({ format: flags.logFormat ?? flags.output ?? "text", debug: flags.debug });
  if (flags.logFormat !== undefined) {
    log.event(
      "flag.renamed",
      { flag: "--log-format", current: "--output" },
      "warning: --log-format is an old name of --output; it still works, but use --output",
    );
  }
  if (!flags.root.startsWith("/")) {
    throw new UsageError(`--root must be an absolute path, got "${flags.root}"`);
  }
  const host = await Host.open(flags.root, env);
  return { host, log, selection, dryRun: flags.dryRun === true, jobs: positiveInt(flags.jobs, "--jobs") };
}

/** Opens an existing root for the commands that only read or add to one (`verify`, `collect-logs`). */
export async function openExistingRoot(root: string): Promise<Host> {
  if (!root.startsWith("/")) throw new UsageError(`--root must be an absolute path, got "${root}"`);
  try {
    if (!(await Deno.stat(root)).isDirectory) throw new UsageError(`--root ${root} is not a directory`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new UsageError(`--root ${root} does not exist`);
    throw err;
  }
  const { Host } = await import("../lib/host.ts");
  return await Host.open(root);
}

/**
 * True when eksnode talks to a person: stdin and stdout are terminals. `EKSNODE_INTERACTIVE=1` (or `0`)
 * decides instead, for tests and for wrappers that know better.
 */
export function isInteractive(env: Record<string, string | undefined> = Deno.env.toObject()): boolean {
  if (env.EKSNODE_INTERACTIVE === "1") return true;
  if (env.EKSNODE_INTERACTIVE === "0") return false;
  return Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
}

/**
 * Whether a run must show its plan and ask first: it changes the running system (root `/`, not a dry
 * run), a person is at a terminal, and `--yes` was not given.
 */
export function mustAsk(
  flags: Pick<RunFlags, "root" | "dryRun" | "yes">,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): boolean {
  return flags.root.replace(/\/+$/, "") === "" && flags.dryRun !== true && flags.yes !== true &&
    isInteractive(env);
}

/**
 * Asks `question` on stderr and reads one line from stdin: true only for y or yes (any case). The
 * end of stdin is a no.
 */
export async function askYesNo(
  question: string,
  input: ReadableStream<Uint8Array> = Deno.stdin.readable,
  write: (text: string) => void = (t) => Deno.stderr.writeSync(new TextEncoder().encode(t)),
): Promise<boolean> {
  write(question);
  const reader = input.getReader();
  const dec = new TextDecoder();
  let line = "";
  try {
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      line += dec.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return /^\s*y(es)?\s*$/i.test(line.split("\n")[0]);
}

/**
 * On the running system from a terminal (see {@link mustAsk}): prints the plan (`preview`, a dry run)
 * and asks; a no ends the command (exit 2) with nothing changed.
 */
export async function confirmOnRunningSystem(
  flags: Pick<RunFlags, "root" | "dryRun" | "yes">,
  what: string,
  preview: () => Promise<{ changeCount: number }>,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Promise<void> {
  if (!mustAsk(flags, env)) return;
  const { changeCount } = await preview();
  if (changeCount === 0) return;
  const yes = await askYesNo(
    `${what} will make the ${changeCount} change${
      changeCount === 1 ? "" : "s"
    } above to the running system. ` +
      "Go on? [y/N] ",
  );
  if (!yes) {
    throw new UsageError(
      `${what}: not confirmed; nothing was changed`,
      "answer y to go on, or pass --yes to run without the question",
    );
  }
}
